/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by the pmb source files; benchmarks include pmb.h only. */
#ifndef PRIVMEM_PMB_INT_H
#define PRIVMEM_PMB_INT_H

#include <limits.h>

#include "pmb.h"

#define PMB_MAX_PARAMS 32

struct pmb_param {
	const char *kv;		/* "key=value" from --set */
	bool used;
};

struct pmb_table {
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	long rows;
	struct pmb_table *next;
};

struct pmb {
	const char *name, *summary;
	enum pmb_mode mode;
	const char *out_dir;
	int reps, warmup, timeout_s;
	bool warmup_given;
	uint64_t t0;
	struct pmb_param sets[PMB_MAX_PARAMS];
	int nr_sets;
	json_t *root, *config, *metrics, *refs, *notes, *warnings, *errors, *counters, *results;
	struct pmb_stats ref_stats[PMB_NR_REFS];
	bool ref_done[PMB_NR_REFS];
	struct pmb_table *tables;
};

void pmb_signals_init(struct pmb *b);
/* Run cleanups and restore knobs now (idempotent). */
void pmb_cleanup_now(void);
void pmb_tables_discard(struct pmb *b);
/* Track a .tmp result file (on) until renamed (off); signals unlink tracked files. */
void pmb_tmp_track(const char *path, bool on);
json_t *pmb_machine_json(void);

#endif
