// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-fuzz: model-based fuzzing of private guest memory (fuzz.h).
 *
 *   privmem-fuzz [--platform NAME] [--seed N] [--ops N] [--episode N] [--race]
 *                [--no-guest] [--only-episode K] [--repro FILE] [--json FILE]
 *
 * --ops counts executed operations (the model skips those it would not run: a handle
 * that names nothing, a known deviation), in episodes of --episode of them, each on a
 * fresh VM with seed (seed, episode): any episode replays alone (--only-episode). On the first
 * divergence the episode is shrunk to a minimal sequence that still diverges at the
 * same kind of operation, and written as a C reproducer (--repro).
 * Exit: 0 no divergence, 1 divergence, 4 platform absent (KSFT_SKIP), 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "platform.h"

struct fz_run {
	const struct fz_caps *caps;
	bool race, guest;
	uint64_t executed, skipped, guest_ops;
	uint64_t exec_kind[FZ_NR_OPS], skip_kind[FZ_NR_OPS];
	double secs_kind[FZ_NR_OPS];
	/* races: run, readers saw the punch land (old then zeros), torn passes */
	uint64_t races, races_overlap, torn;
	/* drift: which documented alternative each drift point answered */
	struct { const char *src; uint64_t n; } drift[8];
	int ndrift;
};

struct fz_div {
	int at;				/* index of the diverging op, -1: none */
	struct fz_op op;
	struct fz_expect exp;
	struct fz_obs got;
};

static double fz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fz_record_drift(struct fz_run *run, const char *src)
{
	int i;

	for (i = 0; i < run->ndrift && run->drift[i].src != src; i++)
		;
	if (i == run->ndrift && run->ndrift < 8)
		run->drift[run->ndrift++] = (typeof(run->drift[0])){ src, 0 };
	if (i < 8)
		run->drift[i].n++;
}

/*
 * Run ops[0..n) on a fresh world. gen: generate them instead (n of them, from rng),
 * storing the executed ones back into ops. exps (optional) receives each executed
 * op's expectation. Returns the number of executed ops; div->at is the divergence.
 */
static int fz_episode(struct fz_run *run, struct fz_op *ops, struct fz_expect *exps, int n,
		      struct fz_rng *gen, struct fz_div *div)
{
	struct fz_world w;
	struct fz_model m;
	int done = 0;
	double t;

	div->at = -1;
	if (fz_world_init(&w, run->caps->vm_type)) {
		fprintf(stderr, "privmem-fuzz: cannot set up the VM: %s\n", strerror(errno));
		exit(3);
	}
	fz_model_init(&m, run->caps);
	/* Generating: n executed operations (the model skips some it would not run), at most 4n drawn. */
	for (int i = 0; gen ? done < n && i < 4 * n : i < n; i++) {
		struct fz_op op = gen ? fz_gen(gen, &m, run->race, run->guest) : ops[i];
		struct fz_expect e = fz_model_expect(&m, &op);
		struct fz_obs o;
		int alt;

		if (e.skip) {
			run->skipped++;
			run->skip_kind[op.kind]++;
			continue;
		}
		t = fz_now();
		o = fz_exec(&w, &op);
		run->secs_kind[op.kind] += fz_now() - t;
		run->executed++;
		run->exec_kind[op.kind]++;
		if (e.race) {
			run->races++;
			run->races_overlap += FZ_RACE_OLD(&o) && (FZ_RACE_ZERO(&o) > 1 || FZ_RACE_TORN(&o));
			run->torn += FZ_RACE_TORN(&o);
		}
		run->guest_ops += op.kind == FZ_GUEST_READ || op.kind == FZ_GUEST_WRITE ||
				  op.kind == FZ_PREFAULT || op.kind == FZ_RACE_PUNCH;
		ops[done] = op;
		if (exps)
			exps[done] = e;
		done++;
		alt = fz_match(&e, &o);
		if (alt < 0) {
			*div = (struct fz_div){ .at = done - 1, .op = op, .exp = e, .got = o };
			break;
		}
		if (e.n > 1)
			fz_record_drift(run, e.src[alt]);
		if (e.v0_ignore & o.v[0])
			fz_record_drift(run, "mincore: fallocate()d, unused guest_memfd pages resident");
		if (e.v0_ignore & ~o.v[0])
			fz_record_drift(run, "mincore: fallocate()d, unused guest_memfd pages not resident");
		fz_model_apply(&m, &op, &e, alt);
	}
	fz_world_free(&w);
	return done;
}

/* Same divergence: same kind of operation, same fields off. */
static bool fz_same(const struct fz_div *a, const struct fz_div *b)
{
	const struct fz_obs *ea = &a->exp.o[0], *eb = &b->exp.o[0];

	if (a->at < 0 || b->at < 0 || a->op.kind != b->op.kind)
		return false;
	return (ea->ret != a->got.ret) == (eb->ret != b->got.ret) &&
	       (ea->err != a->got.err) == (eb->err != b->got.err) &&
	       (ea->signo != a->got.signo) == (eb->signo != b->got.signo) &&
	       (ea->exit_reason != a->got.exit_reason) == (eb->exit_reason != b->got.exit_reason);
}

/*
 * Delta debugging (ddmin by chunk removal): drop chunks of the prefix, keep a
 * candidate when it still diverges the same way, until no single op can go.
 */
static int fz_shrink(struct fz_run *run, struct fz_op *ops, int n, struct fz_div *div, int *replays)
{
	struct fz_op *cand = calloc(n, sizeof(*cand));
	int chunk = n / 2 > 0 ? n / 2 : 1;

	while (chunk >= 1) {
		bool progress = false;

		for (int start = 0; start < n - 1; start += chunk) {
			int len = start + chunk > n - 1 ? n - 1 - start : chunk, cn = 0;
			struct fz_div d;

			if (len <= 0)
				break;
			for (int i = 0; i < n; i++)
				if (i < start || i >= start + len)
					cand[cn++] = ops[i];
			cn = fz_episode(run, cand, NULL, cn, NULL, &d);
			(*replays)++;
			if (fz_same(div, &d)) {
				memcpy(ops, cand, (d.at + 1) * sizeof(*ops));
				n = d.at + 1;
				*div = d;
				progress = true;
				start -= chunk;
			}
		}
		if (!progress)
			chunk /= 2;
		if (chunk > n / 2 && n > 1)
			chunk = n / 2;
	}
	free(cand);
	return n;
}

static void fz_usage(void)
{
	fprintf(stderr, "usage: privmem-fuzz [--platform NAME] [--seed N] [--ops N] [--episode N] "
			"[--race] [--no-guest] [--only-episode K] [--repro FILE] [--json FILE]\n");
}

static uint64_t fz_num(const char *opt, const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "privmem-fuzz: %s wants a number, got '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

/* A boolean module parameter: "Y". */
static bool fz_sysfs_yes(const char *path)
{
	FILE *f = fopen(path, "r");
	int ch = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	return ch == 'Y';
}

/* The model's view of the platform: capabilities of its VM type and known deviations. */
static int fz_caps_of(const char *name, struct fz_caps *fc)
{
	const struct pm_caps *c = pm_caps();
	const struct pm_platform *p = pm_platform_find(name);
	char why[256];

	if (!p) {
		fprintf(stderr, "privmem-fuzz: unknown platform '%s'\n", name);
		exit(2);
	}
	if (!pm_platform_present(p, why, sizeof(why))) {
		printf("SKIP platform %s absent: %s\n", name, why);
		return 4;
	}
	if (p->create_private_mem != pm_plat_gmem_create || !p->create_vm) {
		printf("SKIP platform %s keeps no private memory in guest_memfd (platforms/list.h): "
		       "nothing for the guest_memfd model\n", name);
		return 4;
	}
	fc->vm_type = p->vm_type;
	fc->gmem_flags = pm_platform_gmem_flags(p, c);
	fc->attrs = (pm_vm_type_supported(c, p->vm_type) ?
		     pm_vm_cap(c, p->vm_type, PM_KVM_CAP_MEMORY_ATTRIBUTES) :
		     c->cap[PM_KVM_CAP_MEMORY_ATTRIBUTES]) & KVM_MEMORY_ATTRIBUTE_PRIVATE;
	fc->prefault = (pm_vm_type_supported(c, p->vm_type) ?
			pm_vm_cap(c, p->vm_type, PM_KVM_CAP_PRE_FAULT_MEMORY) :
			c->cap[PM_KVM_CAP_PRE_FAULT_MEMORY]) > 0;
	fc->slot_flags = pm_slot_gmem_flags(c);
	fc->gmem_via_hva = pm_known_deviation(c, "guest.gmem_only_slot_serves_guest_memfd");
	fc->bind_offset_known = pm_known_deviation(c, "memslot_bind.offset_signed_overflow_einval");
	fc->mmio_caching = fz_sysfs_yes("/sys/module/kvm/parameters/mmio_caching");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "platform", 1, 0, 'p' }, { "seed", 1, 0, 's' }, { "ops", 1, 0, 'n' },
		{ "episode", 1, 0, 'e' }, { "race", 0, 0, 'r' }, { "no-guest", 0, 0, 'G' },
		{ "only-episode", 1, 0, 'k' }, { "repro", 1, 0, 'o' }, { "json", 1, 0, 'j' },
		{ 0 },
	};
	const char *platform = "sw-default", *repro = NULL, *json = NULL;
	uint64_t seed = 1, nops = 10000, per = 1000, only = UINT64_MAX;
	struct fz_run run = { .guest = true };
	struct fz_run stats;
	bool diverged = false, recurs = false;
	struct fz_caps fc = { 0 };
	struct fz_div div = { .at = -1 };
	struct fz_op *ops;
	struct fz_expect *exps;
	uint64_t ep, episodes;
	double t0, secs;
	int c, rc, n = 0, replays = 0, shrunk = 0;
	char buf[512];

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': platform = optarg; break;
		case 's': seed = fz_num("--seed", optarg); break;
		case 'n': nops = fz_num("--ops", optarg); break;
		case 'e': per = fz_num("--episode", optarg); break;
		case 'r': run.race = true; break;
		case 'G': run.guest = false; break;
		case 'k': only = fz_num("--only-episode", optarg); break;
		case 'o': repro = optarg; break;
		case 'j': json = optarg; break;
		default: fz_usage(); return 2;
		}
	}
	if (optind != argc || !per || per > 100000 || !nops) {
		fz_usage();
		return 2;
	}
	rc = fz_caps_of(platform, &fc);
	if (rc)
		return rc;
	run.caps = &fc;
	ops = calloc(per, sizeof(*ops));
	exps = calloc(per, sizeof(*exps));
	episodes = (nops + per - 1) / per;
	printf("privmem-fuzz: platform %s (VM type %lu), seed %" PRIu64 ", %" PRIu64 " ops in episodes of %"
	       PRIu64 "%s%s; caps: gmem flags 0x%" PRIx64 ", attributes %s, pre-fault %s%s%s\n",
	       platform, fc.vm_type, seed, nops, per, run.guest ? ", guest entries" : ", no guest entries",
	       run.race ? ", races" : "", fc.gmem_flags, fc.attrs ? "PRIVATE" : "none",
	       fc.prefault ? "yes" : "no", fc.gmem_via_hva ? "; avoiding known deviation: " : "",
	       fc.gmem_via_hva ? "guest.gmem_only_slot_serves_guest_memfd" : "");
	fflush(stdout);
	t0 = fz_now();
	for (ep = only == UINT64_MAX ? 0 : only; ep < (only == UINT64_MAX ? episodes : only + 1); ep++) {
		struct fz_rng rng = { seed * 0x2545f4914f6cdd1dULL ^ (ep + 1) * 0x9e3779b97f4a7c15ULL };

		fz_rand(&rng);
		n = fz_episode(&run, ops, exps, ep + 1 == episodes && nops % per ? nops % per : per, &rng, &div);
		if (div.at >= 0)
			break;
	}
	secs = fz_now() - t0;
	stats = run;		/* the figures of the run itself; shrinking replays more */
	printf("ops %" PRIu64 " executed, %" PRIu64 " skipped by the model, %" PRIu64
	       " with guest entries, %.2f s, %.0f ops/s\n",
	       run.executed, run.skipped, run.guest_ops, secs, run.executed / (secs > 0 ? secs : 1));
	printf("mix (executed/skipped, mean time):");
	for (int k = 0; k < FZ_NR_OPS; k++)
		if (run.exec_kind[k] || run.skip_kind[k])
			printf(" %s %" PRIu64 "/%" PRIu64 " (%.0f us)", fz_op_name(k), run.exec_kind[k], run.skip_kind[k],
			       run.exec_kind[k] ? 1e6 * run.secs_kind[k] / run.exec_kind[k] : 0.0);
	printf("\n");
	if (run.races)
		printf("races: %" PRIu64 ", %" PRIu64 " saw the punch land mid-read (old data, then zeros), %" PRIu64
		       " torn passes\n", run.races, run.races_overlap, run.torn);
	for (int i = 0; i < run.ndrift; i++)
		printf("drift: %s: %" PRIu64 " times\n", run.drift[i].src, run.drift[i].n);
	diverged = div.at >= 0;
	if (diverged) {
		struct fz_div first = div;
		uint64_t before = run.executed;

		fz_op_str(&div.op, buf, sizeof(buf));
		printf("DIVERGENCE seed %" PRIu64 " episode %" PRIu64 " op %d: %s\n", seed, ep, div.at, buf);
		fz_obs_str(&div.exp.o[0], buf, sizeof(buf));
		printf("  expected %s%s\n", div.exp.race ? "a read racing a punch to see old data or zeros: " : "", buf);
		fz_obs_str(&div.got, buf, sizeof(buf));
		printf("  observed %s\n", buf);
		n = div.at + 1;
		shrunk = fz_shrink(&run, ops, n, &div, &replays);
		/* The expectations of the shrunk sequence, for the reproducer. */
		n = fz_episode(&run, ops, exps, shrunk, NULL, &div);
		recurs = fz_same(&first, &div);
		printf("shrunk: %d -> %d ops in %d replays (%" PRIu64 " ops)%s\n", first.at + 1, n, replays,
		       run.executed - before, recurs ? "" : "; NOT REPRODUCED: a replay on a fresh VM does not diverge "
		       "(a race, or state outside the model: the reproducer holds the sequence as run)");
		for (int i = 0; i < n; i++) {
			fz_op_str(&ops[i], buf, sizeof(buf));
			printf("  %3d %s\n", i, buf);
		}
		if (repro) {
			FILE *f = fopen(repro, "w");
			char title[160];

			snprintf(title, sizeof(title), "seed %" PRIu64 " episode %" PRIu64 ", platform %s",
				 seed, ep, platform);
			if (!f || fz_write_repro(f, ops, exps, n, &fc, title) || fclose(f)) {
				fprintf(stderr, "privmem-fuzz: cannot write %s: %s\n", repro, strerror(errno));
				return 3;
			}
			printf("reproducer: %s\n", repro);
		}
	}
	if (json) {
		FILE *f = fopen(json, "w");

		if (!f) {
			fprintf(stderr, "privmem-fuzz: cannot write %s: %s\n", json, strerror(errno));
			return 3;
		}
		fprintf(f, "{\"platform\": \"%s\", \"seed\": %" PRIu64 ", \"ops\": %" PRIu64
			", \"executed\": %" PRIu64 ", \"skipped\": %" PRIu64 ", \"guest_ops\": %" PRIu64
			", \"race\": %s, \"guest\": %s, \"seconds\": %.3f, \"ops_per_s\": %.0f"
			", \"races\": %" PRIu64 ", \"races_overlap\": %" PRIu64 ", \"torn\": %" PRIu64
			", \"divergence\": %s, \"reproduced\": %s, \"episode\": %" PRIu64 ", \"shrunk_ops\": %d, \"drift\": [",
			platform, seed, nops, stats.executed, stats.skipped, stats.guest_ops,
			stats.race ? "true" : "false", stats.guest ? "true" : "false", secs,
			stats.executed / (secs > 0 ? secs : 1), stats.races, stats.races_overlap, stats.torn,
			diverged ? "true" : "false", recurs ? "true" : "false", diverged ? ep : 0,
			diverged ? shrunk : 0);
		for (int i = 0; i < stats.ndrift; i++)
			fprintf(f, "%s{\"what\": \"%s\", \"seen\": %" PRIu64 "}", i ? ", " : "",
				stats.drift[i].src, stats.drift[i].n);
		fprintf(f, "]}\n");
		fclose(f);
	}
	free(ops);
	free(exps);
	return diverged ? 1 : 0;
}
