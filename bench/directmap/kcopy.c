// SPDX-License-Identifier: GPL-2.0
/*
 * directmap kernel copy (directmap.h): process_vm_readv() from a buffer of this
 * process, which the kernel reads through the direct map.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "directmap.h"

char *kdst;
int kpasses;

static double kcopy_sample(void *arg)
{
	struct kbuf *k = arg;
	pid_t self = getpid();
	uint64_t t0 = pmb_now_ns(), t1;

	for (int pass = 0; pass < kpasses; pass++) {
		for (size_t off = 0; off < k->mem.size; off += KCOPY_IO) {
			struct iovec l = { kdst, KCOPY_IO }, r = { k->mem.p + off, KCOPY_IO };

			if (process_vm_readv(self, &l, 1, &r, 1, 0) != (ssize_t)KCOPY_IO)
				return -1;
		}
	}
	t1 = pmb_now_ns();
	return (double)k->mem.size * kpasses / (t1 - t0);	/* bytes/ns == GB/s */
}
/*
 * A tmpfs file (memfd: movable page-cache pages) or a guest_memfd (unmovable
 * pages, like memfd_secret's), mapped and filled.
 */
bool kbuf_make(struct kbuf *k, const char *source, const char *buffer, size_t size)
{
	char why[200];

	memset(k, 0, sizeof(*k));
	k->source = source;
	k->buffer = buffer;
	k->path = "process_vm_readv";
	if (pmb_mem_open(&k->mem, !strcmp(source, "tmpfs") ? PMB_SHMEM : PMB_GMEM, vm, size, why, sizeof(why)))
		return false;
	memset(k->mem.p, 0x5a, size);
	return true;
}

void kbuf_free(struct kbuf *k)
{
	pmb_mem_close(&k->mem);
}

/* Where its pages are, after the sweep. */
void kbuf_locate(struct kbuf *k)
{
	k->pct_split = pct_in_split_regions(k->mem.p, k->mem.size);
}

void kcopy_measure(struct kbuf *k, const char *when, struct pmb_stats *out)
{
	struct pmb_spec s = {
		.metric = "kcopy", .unit = "GB/s", .cv_max = 0.03, .ref = PMB_REF_MEMCPY_1T,
		.ref_ratio = "kernel copy reading its source through the direct map / user-space memcpy, one thread",
	};
	json_t *m;

	pmb_progress(b, "kernel copy %s %s (%s buffer) %s", k->source, k->path, k->buffer, when);
	m = pmb_measure(b, &s, pmb_params("source", k->source, "path", k->path, "buffer", k->buffer,
					  "when", when, NULL), kcopy_sample, k, out);
	if (m && !strcmp(when, "after")) {
		json_t *c = json_object();

		/* A lower bound: regions split before this run are not known. */
		if (k->pct_split >= 0)
			json_object_set_new(c, "pct_pages_in_regions_split_by_this_run", json_real(k->pct_split));
		else
			pmb_counter_require(b, c, "pct_pages_in_regions_split_by_this_run",
					    "no PFNs from /proc/self/pagemap (needs CAP_SYS_ADMIN)");
		json_object_set_new(m, "counters", c);
	}
}

