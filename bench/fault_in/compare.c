// SPDX-License-Identifier: GPL-2.0
/*
 * fault_in comparisons on the same work (fault_in.h): the library's vCPU runner
 * against a bare KVM_RUN loop (the harness overhead), and the upstream KVM
 * selftest demand_paging_test.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault_in.h"

/* ---- raw mode: the same guest work under a bare KVM_RUN loop ------------------------ */

struct raw_thread {
	struct pm_vcpu *vcpu;
	int cpu;
	int err;		/* errno of a failed KVM_RUN, -1 for an unexpected exit */
};

/*
 * Nothing but KVM_RUN until the guest's report port is written: no run timer,
 * no report parsing (checked after the clock stops). The guest makes exactly
 * one port exit (DONE), so any other exit is a failure.
 */
static void *raw_vcpu(void *p)
{
	struct raw_thread *t = p;

	pmb_pin_cpu(t->cpu);
	for (;;) {
		if (ioctl(t->vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			t->err = errno;
			return NULL;
		}
		if (pm_vcpu_is_report(t->vcpu))
			return NULL;
		t->err = -1;
		return NULL;
	}
}

/* One first-touch pass, library runner (raw false) or bare loop (raw true): ns. */
static double one_pass_ns(struct cfg *c, bool raw, uint32_t tag)
{
	struct raw_thread t[MAX_VCPUS];
	pthread_t tid[MAX_VCPUS];
	struct setup s;
	char err[320] = "";
	uint64_t t0, t1;
	int started = 0;

	if (setup(c, &s, tag)) {
		pmb_error(c->b, "raw comparison: %s", s.err);
		return -1;
	}
	t0 = pmb_now_ns();
	if (!raw) {
		if (pmb_run_vcpus(s.vcpu, c->vcpus, true, NULL, NULL, err, sizeof(err)))
			goto fail;
		t1 = pmb_now_ns();
	} else {
		for (int v = 0; v < c->vcpus; v++) {
			t[v] = (struct raw_thread){ .vcpu = s.vcpu[v], .cpu = v % pmb_nr_cpus() };
			if (pthread_create(&tid[v], NULL, raw_vcpu, &t[v])) {
				snprintf(err, sizeof(err), "cannot start a vCPU thread");
				break;
			}
			started++;
		}
		for (int v = 0; v < started; v++)
			pthread_join(tid[v], NULL);
		t1 = pmb_now_ns();
		if (err[0])
			goto fail;
		for (int v = 0; v < c->vcpus; v++) {
			const struct pm_report *rep = pm_gpa_to_hva(s.vm, s.vcpu[v]->area_gpa, sizeof(*rep));

			if (t[v].err || !rep || rep->kind != PM_REP_DONE) {
				snprintf(err, sizeof(err), "raw vCPU %d: %s (exit reason %s, report kind %u)", v,
					 t[v].err > 0 ? strerror(t[v].err) : "stopped",
					 pm_exit_reason_name(s.vcpu[v]->run->exit_reason), rep ? rep->kind : 0);
				goto fail;
			}
		}
	}
	if (check_written(c, &s, tag, err, sizeof(err)))
		goto fail;
	teardown(&s);
	return (double)(t1 - t0);
fail:
	pmb_error(c->b, "raw comparison (%s mode): %s", raw ? "raw" : "library", err);
	teardown(&s);
	return -1;
}

/* ---- upstream demand_paging_test -------------------------------------------------- */

static volatile pid_t upstream_pid;

static void kill_upstream(void)
{
	if (upstream_pid > 0)
		kill(upstream_pid, SIGKILL);
}

/*
 * Run PATH -v n -b bytes_per_vcpu -s anonymous -c pins; parse its "Overall
 * demand paging rate: R pgs/sec". 0 and *rate, or -1 and why.
 */
static int run_upstream(const char *path, int n, uint64_t per_vcpu, double *rate, char *why, size_t len)
{
	char bytes[32], pins[4 * MAX_VCPUS + 8] = "", vcpus[16], out[16384], *p, *last;
	char *argv[] = { (char *)path, "-v", vcpus, "-b", bytes, "-s", "anonymous", "-c", pins, NULL };
	size_t used = 0;
	int pipefd[2], status;
	ssize_t got;
	pid_t pid;

	snprintf(vcpus, sizeof(vcpus), "%d", n);
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)per_vcpu);
	/* The same placement as pmb_run_vcpus: vCPU i on CPU i % nproc. */
	for (int i = 0; i < n; i++)
		snprintf(pins + strlen(pins), sizeof(pins) - strlen(pins), "%s%d", i ? "," : "",
			 i % pmb_nr_cpus());
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execv(path, argv);
		_exit(127);
	}
	upstream_pid = pid;
	close(pipefd[1]);
	while (used + 1 < sizeof(out) && (got = read(pipefd[0], out + used, sizeof(out) - 1 - used)) > 0)
		used += got;
	out[used] = '\0';
	/* Drain what did not fit, so the child cannot block on a full pipe. */
	while (read(pipefd[0], bytes, sizeof(bytes)) > 0)
		;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	upstream_pid = 0;
	p = strstr(out, "Overall demand paging rate:");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && p) {
		*rate = strtod(p + strlen("Overall demand paging rate:"), NULL);
		if (*rate > 0)
			return 0;
	}
	/* Why: its last non-empty output line. */
	while (used && (out[used - 1] == '\n' || out[used - 1] == ' '))
		out[--used] = '\0';
	last = strrchr(out, '\n');
	last = last ? last + 1 : out;
	if (WIFEXITED(status))
		snprintf(why, len, "exit %d: %.200s", WEXITSTATUS(status), used ? last : "(no output)");
	else
		snprintf(why, len, "killed by signal %d: %.200s", WTERMSIG(status), used ? last : "(no output)");
	return -1;
}


/*
 * Harness overhead: paired samples of the library runner and the bare loop
 * on anonymous 4K memory, alternating which goes first.
 */
bool measure_overhead(struct pmb *b, uint64_t size, int vcpus, int reps, int warmup,
		      struct pmb_table *tab, double *overhead)
{
	struct cfg c = { .b = b, .k = PMB_ANON, .gpage = PM_PAGE_4K, .vcpus = vcpus, .size = size,
			 .guest = FI_ONE_PASS };
	double *ratio = calloc(reps, sizeof(double)), *raw_rate = calloc(reps, sizeof(double));
	double *lib_rate = calloc(reps, sizeof(double)), pages = (double)size / PM_PAGE_4K;
	struct pmb_stats rs, ls, qs;
	char vc[16], sz[32];
	json_t *m;
	int n = 0;

	snprintf(vc, sizeof(vc), "%d", vcpus);
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	for (int i = -warmup; i < reps; i++) {
		bool raw_first = i & 1;
		double t_lib, t_raw;

		t_lib = raw_first ? 0 : one_pass_ns(&c, false, TAG + 7);
		t_raw = one_pass_ns(&c, true, TAG + 9);
		if (raw_first)
			t_lib = one_pass_ns(&c, false, TAG + 7);
		if (t_lib <= 0 || t_raw <= 0)
			break;
		if (i < 0)
			continue;
		ratio[n] = t_lib / t_raw;
		raw_rate[n] = pages / (t_raw / 1e9);
		lib_rate[n] = pages / (t_lib / 1e9);
		n++;
	}
	if (n < reps) {
		free(ratio);
		free(raw_rate);
		free(lib_rate);
		return false;
	}
	{
		struct pmb_spec s = { .metric = "raw_rate", .unit = "pages/s", .cv_max = 0.03 };

		m = pmb_record(b, &s, pmb_params("backing", "anon", "guest_page", "4K", "vcpus", vc,
						 "bytes", sz, "runner", "raw KVM_RUN loop", NULL),
			       raw_rate, n, &rs);
		if (m)
			pmb_ref_inverse(b, m, PMB_REF_FAULT_4K,
					   "raw-loop first-touch pages/s / host anon 4K first-touch faults/s on one thread");
	}
	{
		struct pmb_spec s = { .metric = "lib_rate_one_pass", .unit = "pages/s", .cv_max = 0.03 };

		pmb_record(b, &s, pmb_params("backing", "anon", "guest_page", "4K", "vcpus", vc,
					     "bytes", sz, "runner", "pmb_run_vcpus", NULL), lib_rate, n, &ls);
	}
	{
		struct pmb_spec s = { .metric = "harness_time_ratio", .unit = "x", .cv_max = 0.03 };

		m = pmb_record(b, &s, pmb_params("backing", "anon", "guest_page", "4K", "vcpus", vc,
						 "bytes", sz, NULL), ratio, n, &qs);
		if (m) {
			pmb_ref_local(m, "raw_kvm_run_loop", "ns", 1e9 * pages / rs.median, qs.median,
					 "library-runner time / raw KVM_RUN-loop time, paired samples on the same work");
			json_object_set_new(m, "overhead", json_real(qs.median - 1));
			json_object_set_new(m, "overhead_target", json_real(0.05));
			json_object_set_new(m, "overhead_within_target", json_boolean(qs.median - 1 <= 0.05));
		}
	}
	pmb_row(tab, "%d,%llu,%.6g,%.6g,%.4f", vcpus, (unsigned long long)(size / PM_PAGE_4K), ls.median,
		rs.median, 100 * (qs.median - 1));
	free(ratio);
	free(raw_rate);
	free(lib_rate);
	*overhead = qs.median - 1;
	return true;
}

/*
 * demand_paging_test on the work of privmem's anon/4K/vcpus configuration c. Each upstream
 * run follows one privmem sample of c taken right before it: the pairs give
 * privmem_over_upstream_paired, which a change of the machine's load between the sweep
 * and this comparison cannot move (the ratio of medians moved 1.00 -> 1.18-1.20 when
 * another job took a CPU in between).
 */
void measure_upstream(struct pmb *b, const char *path, const struct cfg *c, int reps,
		      int warmup, double privmem_rate, struct pmb_table **tab, double *ratio_out)
{
	double *v = calloc(reps, sizeof(double)), *pair = calloc(reps, sizeof(double)), rate, own;
	struct pmb_spec s = { .metric = "upstream_rate", .unit = "pages/s", .cv_max = 0.05 };
	struct pmb_spec ps = { .metric = "privmem_over_upstream_paired", .unit = "ratio", .cv_max = 0.05,
			       .better = PMB_NEITHER };
	/* Its -b is per vCPU; whole 4K pages, as privmem splits the slot. */
	uint64_t per_vcpu = c->size / c->vcpus / PM_PAGE_4K * PM_PAGE_4K;
	int total = warmup + reps;
	struct cfgrun own_run = { .c = *c, .rate = calloc(total, sizeof(double)),
				  .retouch_ns = calloc(total, sizeof(double)),
				  .setup_ms = calloc(total, sizeof(double)) };
	struct pmb_stats st;
	char vc[16], sz[32], why[300];
	json_t *m;
	int n = 0;

	if (!v || !pair || !own_run.rate || !own_run.retouch_ns || !own_run.setup_ms)
		pmb_die(b, "out of memory");
	snprintf(vc, sizeof(vc), "%d", c->vcpus);
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)per_vcpu);
	for (int i = -warmup; i < reps; i++) {
		own = sample_two_pass(&own_run);
		if (own < 0 || run_upstream(path, c->vcpus, per_vcpu, &rate, why, sizeof(why))) {
			if (own >= 0)
				pmb_note(b, "skipped: upstream demand_paging_test (%d vCPUs) failed here: %s", c->vcpus, why);
			goto out;
		}
		if (i >= 0) {
			pair[n] = own / rate;
			v[n++] = rate;
		}
	}
	m = pmb_record(b, &s, pmb_params("backing", "anon", "guest_page", "4K", "vcpus", vc,
					 "bytes_per_vcpu", sz, "program", "demand_paging_test", NULL), v, n, &st);
	if (m && privmem_rate > 0) {
		pmb_ref_local(m, "privmem_fault_in_rate", "pages/s", privmem_rate, st.median / privmem_rate,
				 "upstream demand_paging_test pages/s / privmem fault_in pages/s on the same work (anon, 4K guest pages, same bytes and vCPUs)");
		json_object_set_new(m, "privmem_over_upstream", json_real(privmem_rate / st.median));
		*ratio_out = privmem_rate / st.median;
		if (!*tab)
			*tab = pmb_table(b, "upstream", "vcpus,pages,upstream_rate_pps,privmem_rate_pps,privmem_over_upstream");
		pmb_row(*tab, "%d,%llu,%.6g,%.6g,%.4f", c->vcpus, (unsigned long long)(c->size / PM_PAGE_4K),
			st.median, privmem_rate, privmem_rate / st.median);
	}
	m = pmb_record(b, &ps, pmb_params("backing", "anon", "guest_page", "4K", "vcpus", vc,
					  "bytes_per_vcpu", sz, "program", "demand_paging_test", NULL), pair, n, NULL);
	if (m)
		json_object_set_new(m, "what", json_string("per pair: privmem fault_in pages/s of one sample / "
			"demand_paging_test pages/s of the run right after it, on the same work"));
out:
	free(own_run.rate);
	free(own_run.retouch_ns);
	free(own_run.setup_ms);
	free(pair);
	free(v);
}


/* The upstream program's build record, and the cleanup that kills it on a signal. */
void upstream_describe(struct pmb *b, const char *path, bool same_work)
{
	char info[600], line[300];
	FILE *f;

	snprintf(info, sizeof(info), "%s.info", path);
	f = fopen(info, "re");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "build_seconds=", 14))
			pmb_config(b, "upstream_build_seconds", json_integer(atol(line + 14)));
		if (!strncmp(line, "source=", 7))
			pmb_config(b, "upstream_source", json_string(line + 7));
	}
	if (f)
		fclose(f);
	pmb_on_cleanup(kill_upstream);
	pmb_note(b, "upstream demand_paging_test: -v N -b bytes/N -s anonymous -c <vCPU i on CPU i %% nproc>; both time vCPU thread start to the end of the guest's first pass over fresh anon memory and count 4K pages over all vCPUs; %s",
		 same_work ? "guest_loop=memstress and image_page_kib=4: privmem's guest does the same per-page work from the same 4K mappings, so the ratio compares the same work" :
			     "its guest runs 35 instructions per page (argument reads, a random draw through a call) to privmem's 6, from 4K-mapped code and stack where privmem's are 2M-mapped: on a backend that emulates guest instructions (kvm_pvm) that, not the fault, sets the ratio; --set guest_loop=memstress --set image_page_kib=4 runs the same guest work");
}
