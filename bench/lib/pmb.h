/* SPDX-License-Identifier: GPL-2.0 */
/*
 * privmem benchmark measurement layer (pmb): what every benchmark under bench/
 * shares, so that all of them measure and report the same way.
 *
 *   struct pmb *b = pmb_init(argc, argv, "fault_in", "guest first-touch cost");
 *   long vcpus = pmb_param_long(b, "vcpus", 2);   ... pmb_params_done(b);
 *   struct pmb_spec s = { .metric = "rate", .unit = "pages/s", .cv_max = 0.03,
 *                         .ref = PMB_REF_FAULT_4K };
 *   pmb_measure(b, &s, params, one_sample, &arg);  (warm-up + repetitions)
 *   return pmb_finish(b);                           (JSON + CSV, atomically)
 *
 * Modes: --smoke (make check: seconds, validates output, not timing), --quick
 * (make bench QUICK=1: all five benchmarks in <= 3 min), --full (default).
 *
 * Output in --out DIR: <name>.json (schema privmem-bench/1), <name>.csv (one row
 * per metric), and <name>-<table>.csv per pmb_table() (the plot data).
 * Files appear only complete (written as .tmp, renamed by pmb_finish).
 *
 * Invalid data is refused, not reported: a metric sample that is zero, negative
 * or not finite fails the run; a counter that must have moved but reads zero is
 * reported as "unavailable" (pmb_counter_require), never as 0.
 *
 * System state a benchmark changes goes through pmb_knob_set() (and tracefs
 * through pmb_tracefs()); it is restored at exit, on SIGINT/SIGTERM/SIGHUP and on
 * the --timeout alarm.
 */
#ifndef PRIVMEM_PMB_H
#define PRIVMEM_PMB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

enum pmb_mode { PMB_SMOKE, PMB_QUICK, PMB_FULL };

struct pmb;

/*
 * Parse the common command line; exits 2 with a one-line error on bad input.
 * Options: --smoke | --quick | --full, --out DIR, --reps N, --warmup N,
 * --set KEY=VALUE (benchmark parameters, repeatable), --timeout SECONDS, --help.
 */
struct pmb *pmb_init(int argc, char **argv, const char *name, const char *summary);
enum pmb_mode pmb_mode(const struct pmb *b);
const char *pmb_mode_name(const struct pmb *b);
/* Pick a value by mode: pmb_by_mode(b, smoke, quick, full). */
long pmb_by_mode(const struct pmb *b, long smoke, long quick, long full);
int pmb_nr_cpus(void);
/* Repetitions and warm-up runs of this run (--reps/--warmup, else by mode). */
int pmb_reps(const struct pmb *b);
int pmb_warmup(const struct pmb *b);

/* Benchmark parameters from --set; each call also documents the key for --help. */
long pmb_param_long(struct pmb *b, const char *key, long def);
const char *pmb_param_str(struct pmb *b, const char *key, const char *def);
/* After the last pmb_param_*: a --set key no parameter read is a one-line error. */
void pmb_params_done(struct pmb *b);

/* The run's configuration (sizes, lists), as recorded in the JSON "config". */
void pmb_config(struct pmb *b, const char *key, json_t *value);
/* A derived answer of the benchmark (e.g. "sizing"), in the JSON "results" (value stolen). */
void pmb_result(struct pmb *b, const char *key, json_t *value);
void pmb_note(struct pmb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pmb_warn(struct pmb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Something that makes the result invalid: recorded, printed, and the run exits 1. */
void pmb_error(struct pmb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fatal setup failure: one line on stderr, knobs restored, exit 2 (nothing written). */
void pmb_die(struct pmb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/*
 * This benchmark cannot run here: "<name>: <reason>" on stderr (bench.sh reports SKIP with
 * that line), knobs restored, nothing written, exit 4. exit() rather than a return from
 * main keeps what main holds reachable, so a sanitized skip reports no leak.
 */
void pmb_skip(struct pmb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Progress on stderr, prefixed with the benchmark name and elapsed seconds. */
void pmb_progress(struct pmb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- time and statistics --------------------------------------------------- */

uint64_t pmb_now_ns(void);

struct pmb_stats {
	int n;
	double median, min, max, mean, stddev, cv;	/* cv = stddev / mean */
	double p10, p90, p99, p999;			/* nearest-rank percentiles */
};

void pmb_stats_of(const double *v, int n, struct pmb_stats *s);
json_t *pmb_stats_json(const struct pmb_stats *s);

/* ---- physical references (measured once per process, in this run) ------------ */

enum pmb_ref {
	PMB_REF_NONE = 0,
	PMB_REF_MEMCPY_1T,	/* GB/s, one thread, buffers well beyond the LLC */
	PMB_REF_MEMCPY_ALL,	/* GB/s, one thread per CPU, aggregate */
	PMB_REF_FAULT_4K,	/* ns per first-touch write fault, anonymous 4K, no THP */
	PMB_REF_SHOOTDOWN,	/* ns per madvise(DONTNEED) of one page while the mm runs on another CPU */
	PMB_REF_LOCAL_FLUSH,	/* ns per the same madvise with the mm on this CPU only */
	PMB_NR_REFS
};

const char *pmb_ref_name(enum pmb_ref r);
const char *pmb_ref_unit(enum pmb_ref r);
/* Measure (once) and record the reference in the JSON "references"; its stats. */
const struct pmb_stats *pmb_ref(struct pmb *b, enum pmb_ref r);

/* ---- metrics ------------------------------------------------------------------ */

struct pmb_spec {
	const char *metric;	/* "rate"; the JSON name is "<bench>.<metric>" */
	const char *unit;	/* "pages/s", "ns", "GB/s" */
	int warmup, reps;	/* 0: the run's defaults (by mode, or --warmup/--reps) */
	double cv_max;		/* above it the metric is flagged unstable (0: 0.05) */
	enum pmb_ref ref;	/* same-run reference it is read against */
	/*
	 * How the metric relates to the reference, recorded next to the ratio
	 * median/ref_median, e.g. "guest fault cost / host anon 4K fault cost".
	 */
	const char *ref_ratio;
	/*
	 * Which way the metric improves, for comparisons (privmem-report --bench-compare):
	 * PMB_BETTER_UNIT leaves it to the unit (rates up, times and cost ratios down);
	 * PMB_NEITHER marks a state figure (where the allocator placed pages), compared
	 * but never a regression.
	 */
	enum pmb_better { PMB_BETTER_UNIT, PMB_HIGHER, PMB_LOWER, PMB_NEITHER } better;
	bool latency;		/* samples are a latency distribution: percentiles matter */
	bool keep_samples;	/* store every sample in the JSON (default: up to 64) */
	/*
	 * A headline figure of the benchmark: listed first in summary.md, and the one
	 * whose CV (<= 3% wanted) and run-to-run agreement the benchmark is judged by.
	 */
	bool core;
};

/* One sample: returns the metric value (> 0) or a negative value on failure. */
typedef double (*pmb_sample_fn)(void *arg);

/*
 * Warm-up runs (discarded), then reps samples; records the metric with params
 * (a JSON object, reference stolen; may be NULL) and returns its JSON object, which
 * stays owned by the run (attach counters to it). NULL if a sample failed (the
 * error is recorded). out may be NULL.
 */
json_t *pmb_measure(struct pmb *b, const struct pmb_spec *spec, json_t *params,
		    pmb_sample_fn fn, void *arg, struct pmb_stats *out);
/* The same for samples collected by the benchmark itself. */
json_t *pmb_record(struct pmb *b, const struct pmb_spec *spec, json_t *params,
		   const double *samples, int n, struct pmb_stats *out);

/* "key=value" pairs → a params object: pmb_params("backing", "gmem", "vcpus", "2", NULL). */
json_t *pmb_params(const char *key, ...) __attribute__((sentinel));

/* ---- plot / data tables ------------------------------------------------------ */

struct pmb_table;
/* <out>/<bench>-<suffix>.csv with the given header line (comma separated). */
struct pmb_table *pmb_table(struct pmb *b, const char *suffix, const char *header);
void pmb_row(struct pmb_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- host counters ------------------------------------------------------------ */

/*
 * A snapshot of the counters private memory moves: /proc/vmstat direct-map and
 * THP counters, /proc/meminfo DirectMap*, *HugePages, HugePages_*, and the
 * /proc/interrupts TLB and CAL rows summed over CPUs.
 */
#define PMB_SNAP_MAX 48
struct pmb_snap {
	int n;
	const char *key[PMB_SNAP_MAX];
	long long val[PMB_SNAP_MAX];	/* -1: not present on this kernel */
	uint64_t t_ns;
};

void pmb_snap(struct pmb_snap *s);
/* Value of one key in a snapshot, -1 if absent. */
long long pmb_snap_get(const struct pmb_snap *s, const char *key);
/* after - before for every key both have: {"direct_map_level2_splits": 3, ...}. */
json_t *pmb_snap_delta(const struct pmb_snap *before, const struct pmb_snap *after);
/* The snapshot's absolute values (for state such as DirectMap4k). */
json_t *pmb_snap_json(const struct pmb_snap *s);

/*
 * The operation must have moved counters[key]: if it reads 0 or is absent, replace
 * it with "unavailable" and record why (a warning), so no reader takes it for 0.
 * The run's notes say it once per key; every counters object carries the marking.
 * Returns true when the counter moved.
 */
bool pmb_counter_require(struct pmb *b, json_t *counters, const char *key, const char *why);

/* KVM binary stats (KVM_GET_STATS_FD) of a VM or vCPU fd. */
struct pmb_kvm_stats;
struct pmb_kvm_stats *pmb_kvm_stats_open(int vm_or_vcpu_fd);
/* 0 and *val, or -1 (errno ENOENT when the kernel has no such stat). */
int pmb_kvm_stat(struct pmb_kvm_stats *s, const char *name, uint64_t *val);
void pmb_kvm_stats_close(struct pmb_kvm_stats *s);

/* ---- host helpers ---------------------------------------------------------------- */

/* Pin the calling thread to CPU cpu % nr_cpus. */
int pmb_pin_cpu(int cpu);
/* A /proc/meminfo value (kB, or a count for HugePages_*), -1 if absent. */
long pmb_meminfo(const char *key);
/*
 * Make `need` free 2M hugetlb pages exist, growing nr_hugepages through
 * pmb_knob_set (restored at exit). 0, or -1 with the reason in why.
 */
int pmb_hugetlb_reserve(struct pmb *b, long need, char *why, size_t len);
/*
 * Page faults of this process, all threads (getrusage). Unlike /proc/vmstat pgfault
 * no other process moves it, and it includes the faults KVM takes through GUP on
 * the vCPU threads' behalf.
 */
long long pmb_process_faults(void);

/* ---- tracepoints through perf ----------------------------------------------- */

/*
 * Mount tracefs if it is not mounted (unmounted again at exit). Returns the mount
 * point or NULL with a reason in why.
 */
const char *pmb_tracefs(struct pmb *b, char *why, size_t len);

/*
 * System-wide `perf stat -x` of tracepoints around one operation. An event is
 * "sys:name" or "sys:name/filter" (e.g. "tlb:tlb_flush/reason == 4"); the JSON key
 * is the event string. Started disabled and enabled through perf's control fifo,
 * so the counts cover exactly begin..end. NULL (with a note) when perf or the
 * tracepoints are not available; pmb_perf_end(NULL) returns NULL.
 */
struct pmb_perf;
struct pmb_perf *pmb_perf_begin(struct pmb *b, const char *const *events, int n);
json_t *pmb_perf_end(struct pmb_perf *p);
/* The tlb:tlb_flush reasons of this kernel's tracepoint format, for pmb_perf_begin. */
int pmb_tlb_flush_reasons(struct pmb *b, char names[][48], int max);

/* ---- system knobs --------------------------------------------------------------- */

/*
 * Write value to a sysfs/procfs file, remembering the old value (for bracketed
 * sysfs selectors such as THP's "always [madvise] never", the selected word).
 * Restored at exit and on SIGINT/SIGTERM/SIGHUP/--timeout. 0 or -1 with errno.
 */
int pmb_knob_set(struct pmb *b, const char *path, const char *value);
/* Current value (the selected word for bracketed selectors); 0 or -1. */
int pmb_knob_get(const char *path, char *buf, size_t len);
/* Run fn at exit and on those signals (before knobs are restored); async-signal-safe fns only. */
void pmb_on_cleanup(void (*fn)(void));

/* ---- finish ------------------------------------------------------------------- */

/*
 * Write JSON + CSV + tables, print a summary, release b (and what it holds);
 * 0 ok, 1 if anything was refused.
 */
int pmb_finish(struct pmb *b);

#endif
