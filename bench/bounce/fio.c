// SPDX-License-Identifier: GPL-2.0
/*
 * bounce fio variant (bounce.h): fio psync on a tmpfs file with its buffer in
 * malloc'ed memory or in a memfd this benchmark created.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounce.h"

/* Everything fio leaves behind, removable from a signal handler (async-signal-safe). */
static char fio_dir[64], fio_data[96], fio_json[96], fio_log[96], fio_bwlog[112];
static volatile pid_t fio_pid;

static void fio_cleanup(void)
{
	if (fio_pid > 0)
		kill(fio_pid, SIGTERM);
	if (!fio_dir[0])
		return;
	unlink(fio_data);
	unlink(fio_json);
	unlink(fio_bwlog);
	rmdir(fio_dir);
}

struct fio_result {
	double samples[4096];
	int n;
	double bw_bytes, iops, p50_us, p99_us, p999_us, usr_cpu, sys_cpu;
};

static bool find_fio(char *path, size_t len)
{
	const char *env = getenv("PATH");
	char dirs[4096], *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s", env ? env : "/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%.4000s/fio", d);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

/* Does d hold the job files? Then copy it to dir. */
static bool jobs_in(const char *d, char *dir, size_t len)
{
	char probe[4200];

	snprintf(probe, sizeof(probe), "%.4000s/bounce-read.fio", d);
	if (access(probe, R_OK))
		return false;
	snprintf(dir, len, "%.4000s", d);
	return true;
}

/* workloads/fio: --set fio_jobs, $PRIVMEM_WORKLOADS/fio, <binary>/../../workloads/fio, ./workloads/fio */
static bool find_jobs(const char *given, char *dir, size_t len)
{
	const char *env = getenv("PRIVMEM_WORKLOADS");
	char exe[4096], cand[4200], *slash;
	ssize_t n;

	if (given && *given)
		return jobs_in(given, dir, len);	/* an explicit directory is not second-guessed */
	if (env) {
		snprintf(cand, sizeof(cand), "%.4000s/fio", env);
		if (jobs_in(cand, dir, len))
			return true;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(cand, sizeof(cand), "%.4000s/../../workloads/fio", exe);
			if (jobs_in(cand, dir, len))
				return true;
		}
	}
	return jobs_in("workloads/fio", dir, len);
}

static double pct_us(json_t *clat, const char *key)
{
	return json_number_value(json_object_get(json_object_get(clat, "percentile"), key)) / 1e3;
}

/*
 * Run one fio job file; 0 and the result, or -1 with a reason. memfd < 0: fio's
 * buffer is malloc'ed; otherwise it is the memfd, reopened through /proc/self/fd.
 */
static int fio_run(const char *fio, const char *job, bool read, const char *bs, int memfd,
		   const char *const env[][2], struct fio_result *res, char *why, size_t wlen)
{
	char memopt[64], outopt[128];
	json_error_t jerr;
	json_t *doc, *j, *d, *clat;
	int status;
	FILE *f;
	pid_t pid;

	if (memfd >= 0)
		snprintf(memopt, sizeof(memopt), "--mem=mmapshared:/proc/self/fd/%d", memfd);
	else
		snprintf(memopt, sizeof(memopt), "--mem=malloc");
	snprintf(outopt, sizeof(outopt), "--output=%s", fio_json);
	unlink(fio_json);
	unlink(fio_bwlog);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(why, wlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		/* Single-threaded here: no worker thread outlives its sample. */
		for (int i = 0; env[i][0]; i++)
			setenv(env[i][0], env[i][1], 1);
		setenv("FIO_BS", bs, 1);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execl(fio, "fio", "--output-format=json", outopt, memopt, job, (char *)NULL);
		_exit(127);
	}
	fio_pid = pid;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	fio_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(why, wlen, "fio exited with status %d",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	doc = json_load_file(fio_json, 0, &jerr);
	j = json_array_get(json_object_get(doc, "jobs"), 0);
	d = json_object_get(j, read ? "read" : "write");
	if (!d || json_integer_value(json_object_get(j, "error"))) {
		snprintf(why, wlen, "fio JSON: %.160s", doc ? "no job result or a job error" : jerr.text);
		json_decref(doc);
		return -1;
	}
	clat = json_object_get(d, "clat_ns");
	res->bw_bytes = json_number_value(json_object_get(d, "bw_bytes"));
	res->iops = json_number_value(json_object_get(d, "iops"));
	res->p50_us = pct_us(clat, "50.000000");
	res->p99_us = pct_us(clat, "99.000000");
	res->p999_us = pct_us(clat, "99.900000");
	res->usr_cpu = json_number_value(json_object_get(j, "usr_cpu"));
	res->sys_cpu = json_number_value(json_object_get(j, "sys_cpu"));
	json_decref(doc);

	/* Bandwidth log: one line per log_avg_msec window, "msec, KiB/s, ddir, bs, offset". */
	res->n = 0;
	f = fopen(fio_bwlog, "re");
	if (!f) {
		snprintf(why, wlen, "no bandwidth log %s", fio_bwlog);
		return -1;
	}
	while (res->n < (int)(sizeof(res->samples) / sizeof(res->samples[0]))) {
		long ms, kib, ddir;

		if (fscanf(f, "%ld, %ld, %ld%*[^\n]", &ms, &kib, &ddir) != 3)
			break;
		if (ddir == (read ? 0 : 1))
			res->samples[res->n++] = kib * 1024.0 / 1e9;
	}
	fclose(f);
	if (res->n < 2) {
		snprintf(why, wlen, "the bandwidth log has %d window(s): raise fio_runtime_ms", res->n);
		return -1;
	}
	return 0;
}

void run_fio(struct pmb *b, const char *jobs_param, const char *bs_list, long runtime_ms,
		    long ramp_ms, long log_ms, long file_mib)
{
	static const char *const bufname[2] = { "malloc", "memfd" };
	static const char *const dirname[2] = { "read", "write" };
	/* fio's 100 ms windows are noisier than the model's samples; smoke: not judged. */
	double fio_cv_max = pmb_mode(b) == PMB_SMOKE ? 1.0 : 0.05;
	char fio[4096], jobs[4096], job[2][4200], why[256], rt[32], rp[32], lm[32], sz[32];
	double gbps[MAX_LIST][2][2];	/* [bs][buffer][dir], NaN if not run */
	long bs[MAX_LIST], max_bs = 0;
	struct fio_result *res;
	struct pmb_table *t;
	int nbs, memfd;

	if (!find_fio(fio, sizeof(fio))) {
		pmb_note(b, "skipped: fio variant: fio is not installed (Debian package fio)");
		return;
	}
	if (!find_jobs(jobs_param, jobs, sizeof(jobs))) {
		pmb_note(b, "skipped: fio variant: job files bounce-{read,write}.fio not found (--set fio_jobs=DIR)");
		return;
	}
	nbs = parse_sizes(bs_list, bs, MAX_LIST, 512, 64L << 20);
	if (nbs <= 0)
		pmb_die(b, "--set fio_bs wants a list of sizes such as 4k,64k,1m, got '%s'", bs_list);
	for (int i = 0; i < nbs; i++)
		max_bs = bs[i] > max_bs ? bs[i] : max_bs;
	for (int d = 0; d < 2; d++)
		snprintf(job[d], sizeof(job[d]), "%.4000s/bounce-%s.fio", jobs, dirname[d]);

	/* fio does not truncate an mmapshared file: the memfd is sized here, with slack. */
	memfd = memfd_create("privmem-bounce-fio", 0);	/* no CLOEXEC: fio reopens it */
	if (memfd < 0 || ftruncate(memfd, max_bs + (2L << 20)))
		pmb_die(b, "cannot create the fio buffer memfd: %s", strerror(errno));
	snprintf(fio_dir, sizeof(fio_dir), "/dev/shm/privmem-bounce-XXXXXX");
	if (!mkdtemp(fio_dir))
		pmb_die(b, "cannot create a directory in /dev/shm: %s", strerror(errno));
	snprintf(fio_data, sizeof(fio_data), "%s/data", fio_dir);
	snprintf(fio_json, sizeof(fio_json), "%s/fio.json", fio_dir);
	snprintf(fio_log, sizeof(fio_log), "%s/fio", fio_dir);
	snprintf(fio_bwlog, sizeof(fio_bwlog), "%s_bw.1.log", fio_log);
	pmb_on_cleanup(fio_cleanup);
	snprintf(rt, sizeof(rt), "%ldms", runtime_ms);
	snprintf(rp, sizeof(rp), "%ldms", ramp_ms);
	snprintf(lm, sizeof(lm), "%ld", log_ms);
	snprintf(sz, sizeof(sz), "%ldm", file_mib);
	const char *const env[][2] = {
		{ "FIO_FILE", fio_data }, { "FIO_SIZE", sz }, { "FIO_RUNTIME", rt },
		{ "FIO_RAMP", rp }, { "FIO_LOG", fio_log }, { "FIO_LOG_MSEC", lm }, { NULL, NULL },
	};

	res = calloc(1, sizeof(*res));
	if (!res)
		pmb_die(b, "out of memory");
	for (int i = 0; i < nbs; i++)
		for (int k = 0; k < 2; k++)
			for (int d = 0; d < 2; d++)
				gbps[i][k][d] = NAN;
	/* Writes first: the first one lays out the tmpfs file the reads then read. */
	for (int d = 1; d >= 0; d--) {
		for (int i = 0; i < nbs; i++) {
			for (int k = 0; k < 2; k++) {
				struct pmb_spec s = { .metric = "fio_bw", .unit = "GB/s", .cv_max = fio_cv_max,
					.ref = PMB_REF_MEMCPY_1T,
					.ref_ratio = "fio psync GB/s (one kernel copy per byte between the tmpfs "
						     "page cache and the buffer, plus a syscall per I/O) / memcpy GB/s" };
				struct pmb_stats st;
				char bsbuf[24];
				json_t *m;

				snprintf(bsbuf, sizeof(bsbuf), "%ld", bs[i]);
				pmb_progress(b, "fio %s bs=%s buffer=%s", dirname[d], bsbuf, bufname[k]);
				if (fio_run(fio, job[d], d == 0, bsbuf, k ? memfd : -1, env, res, why, sizeof(why))) {
					pmb_error(b, "fio %s bs=%s buffer=%s: %s", dirname[d], bsbuf, bufname[k], why);
					continue;
				}
				m = pmb_record(b, &s, pmb_params("dir", dirname[d], "bs", bsbuf,
						"buffer", bufname[k], "engine", "psync", NULL),
					       res->samples, res->n, &st);
				if (!m)
					continue;
				json_object_set_new(m, "fio", json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:i}",
					"bw_bytes", res->bw_bytes, "iops", res->iops,
					"clat_p50_us", res->p50_us, "clat_p99_us", res->p99_us,
					"clat_p99.9_us", res->p999_us, "usr_cpu_pct", res->usr_cpu,
					"sys_cpu_pct", res->sys_cpu, "bw_log_msec", (int)log_ms));
				gbps[i][k][d] = st.median;
			}
		}
	}
	t = pmb_table(b, "fio", "bs_bytes,read malloc buffer,read memfd buffer,"
		      "write malloc buffer,write memfd buffer");
	for (int i = 0; i < nbs; i++) {
		char row[256];
		size_t off = snprintf(row, sizeof(row), "%ld", bs[i]);

		for (int d = 0; d < 2; d++)
			for (int k = 0; k < 2; k++)
				pmb_cell(row, sizeof(row), &off, "%.4f", gbps[i][k][d]);
		pmb_row(t, "%s", row);
	}
	pmb_config(b, "fio", json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:I, s:s}", "binary", fio,
		"jobs", jobs, "file", "tmpfs (/dev/shm)", "runtime_ms", (int)runtime_ms,
		"ramp_ms", (int)ramp_ms, "log_ms", (int)log_ms, "file_mib", (int)file_mib,
		"memfd_bytes", (json_int_t)(max_bs + (2L << 20)), "bs", bs_list));
	pmb_note(b, "fio_bw: fio psync sequential I/O on a tmpfs file, buffer=malloc (private, "
		 "page-aligned by the job files' iomem_align) vs buffer=memfd (a memfd created here, "
		 "reopened by fio through /proc/self/fd: the shared-pool stand-in). Samples are fio's %ld ms bandwidth-log windows after ramp_time. "
		 "It is the I/O path cost with the buffer in shared memory, not a swiotlb measurement: "
		 "nothing is bounced. Bouncing inside fio's I/O would need an external ioengine, which "
		 "Debian's fio cannot load without its version-matched source tree; memfd_secret and "
		 "guest_memfd cannot be fio buffers (ENXIO through /proc/self/fd).", log_ms);
	free(res);
	close(memfd);
	fio_cleanup();
	fio_dir[0] = '\0';
}

