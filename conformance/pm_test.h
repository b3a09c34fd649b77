/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What privmem conformance tests share on top of kselftest_harness.h: declared
 * requirements that turn into SKIP-with-reason, the guest_memfd variant sets,
 * fault probes and guest-run assertions.
 */
#ifndef PRIVMEM_PM_TEST_H
#define PRIVMEM_PM_TEST_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "platform.h"
#include "touch.h"
#include "vm.h"

#define PM_MMAP_SHARED (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)

/*
 * Probe the capabilities once, in the harness's parent: every test runs in a
 * forked child and inherits the result instead of re-probing (~17 ms each).
 */
static void __attribute__((constructor)) pm_test_warm_caps(void)
{
	(void)pm_caps();
}

/* In FIXTURE_SETUP: SKIP the test with the reason unless the need is met. */
#define PM_REQUIRE(need_ptr, plat_out) do {					\
	char __why[256];							\
	(plat_out) = pm_need_met((need_ptr), __why, sizeof(__why));		\
	if (!(plat_out))							\
		SKIP(return, "%s", __why);					\
} while (0)

/*
 * PM_REQUIRE for a variant whose guest_memfd is bound in a memslot: also SKIP where the
 * architecture cannot bind a guest_memfd of the variant's flags (pm_need_slot_met).
 */
#define PM_REQUIRE_SLOT(need_ptr, plat_out) do {				\
	char __why[256];							\
	(plat_out) = pm_need_slot_met((need_ptr), __why, sizeof(__why));	\
	if (!(plat_out))							\
		SKIP(return, "%s", __why);					\
} while (0)

/*
 * In FIXTURE_SETUP: platform present (else SKIP), then its VM. A platform whose
 * launch flow privmem lacks (create_vm NULL) is a SKIP with that reason, never a FAIL.
 * PM_SETUP_SLOT_VM: the same for fixtures that bind the variant's guest_memfd in a
 * memslot (PM_REQUIRE_SLOT).
 */
#define PM_SETUP_VM(need_ptr, plat_out, vm_out)					\
	PM_SETUP_VM_(PM_REQUIRE, need_ptr, plat_out, vm_out)
#define PM_SETUP_SLOT_VM(need_ptr, plat_out, vm_out)				\
	PM_SETUP_VM_(PM_REQUIRE_SLOT, need_ptr, plat_out, vm_out)
#define PM_SETUP_VM_(require, need_ptr, plat_out, vm_out) do {			\
	require((need_ptr), (plat_out));					\
	if (!(plat_out)->create_vm)						\
		SKIP(return, "%s: privmem has no launch flow for it", (plat_out)->name); \
	(vm_out) = (plat_out)->create_vm(plat_out);				\
	if (!(vm_out))								\
		TH_LOG("creating a %s VM: %s", (plat_out)->name, strerror(errno)); \
	ASSERT_NE(NULL, (vm_out));						\
} while (0)

/* Same for a test body whose variant does not apply (e.g. needs MMAP). */
#define PM_REQUIRE_FLAGS(have, want) do {					\
	if (((have) & (want)) != (want))					\
		SKIP(return, "not applicable: variant flags 0x%llx lack 0x%llx",	\
		     (unsigned long long)(have), (unsigned long long)(want));	\
} while (0)

/*
 * Variant sets, derived from platforms/list.h: PM_VARIANTS(SET, fixture, args...) expands
 * SET_<gmem>(fixture, name, prefix, args...) for every platform, and each set defines one
 * per guest_memfd family (sw, cvm, no), empty for a family it leaves out (SET is
 * PM_VS_<set>: a token no macro has, since it is expanded on the way). A variant is
 * named <prefix>_vm<suffix> and needs { name, flags }, plus the fixture's own fields.
 * Variant names are KTAP test names: never change one.
 */
#define PM_VARIANTS(set, fixture, ...)						\
	PM_PLATFORM_LIST(PM_VARIANTS_ONE, set, fixture, __VA_ARGS__)		\
	_Static_assert(1, #set)		/* takes the caller's ';' */
#define PM_VARIANTS_ONE(ident, name, prefix, gmem, set, fixture, ...)		\
	set##_##gmem(fixture, name, prefix, __VA_ARGS__)
#define PM_VARIANT(fixture, variant, name, flags, ...)				\
	FIXTURE_VARIANT_ADD(fixture, variant) { .need = { name, flags }, __VA_ARGS__ };

/*
 * Every guest_memfd platform (sw and cvm): <prefix>_vm<suffix> needing `flags`, with the
 * fixture's own initialisers after (e.g. `.guest_page = PM_PAGE_4K`).
 */
#define PM_GMEM_VARIANTS(fixture, suffix, flags, ...)				\
	PM_VARIANTS(PM_VS_GMEM, fixture, suffix, flags, __VA_ARGS__)
#define PM_VS_GMEM_sw(fixture, name, prefix, suffix, flags, ...)		\
	PM_VARIANT(fixture, prefix##_vm##suffix, name, flags, __VA_ARGS__)
#define PM_VS_GMEM_cvm PM_VS_GMEM_sw
#define PM_VS_GMEM_no(...)

/*
 * The confidential platforms alone, the same way: for lists whose software-VM variants
 * are the fixture's own (written out beside it), this is the rest of the list.
 */
#define PM_CVM_VARIANTS(fixture, suffix, flags, ...)				\
	PM_VARIANTS(PM_VS_CVM, fixture, suffix, flags, __VA_ARGS__)
#define PM_VS_CVM_sw(...)
#define PM_VS_CVM_cvm PM_VS_GMEM_sw
#define PM_VS_CVM_no(...)

/* One variant per VM type, for rows that do not depend on creation flags. */
#define PM_GMEM_VM_VARIANTS(fixture) PM_GMEM_VARIANTS(fixture, , 0)

/*
 * The guest_memfd flag sets every fixture with a `struct pm_need need` variant runs: each
 * software VM type with no flag, MMAP and MMAP|INIT_SHARED; a confidential one with none.
 */
#define PM_GMEM_FLAG_VARIANTS(fixture) PM_VARIANTS(PM_VS_FLAG, fixture)
#define PM_VS_FLAG_sw(fixture, name, prefix, ...)				\
	PM_VARIANT(fixture, prefix##_vm, name, 0)				\
	PM_VARIANT(fixture, prefix##_vm_mmap, name, GUEST_MEMFD_FLAG_MMAP)	\
	PM_VARIANT(fixture, prefix##_vm_shared, name, PM_MMAP_SHARED)
#define PM_VS_FLAG_cvm(fixture, name, prefix, ...) PM_VARIANT(fixture, prefix##_vm, name, 0)
#define PM_VS_FLAG_no(...)

/*
 * Guest-access fixtures: a `struct pm_need need` and the guest page size; the
 * guest_memfd is host-mapped (MMAP|INIT_SHARED) so both sides can be checked.
 * Software VM types run 4K and 2M guest pages, confidential ones 4K.
 */
#define PM_GMEM_GUEST_VARIANTS(fixture) PM_VARIANTS(PM_VS_GUEST, fixture)
#define PM_VS_GUEST_sw(fixture, name, prefix, ...)				\
	PM_VARIANT(fixture, prefix##_vm_4k, name, PM_MMAP_SHARED, .guest_page = PM_PAGE_4K) \
	PM_VARIANT(fixture, prefix##_vm_2m, name, PM_MMAP_SHARED, .guest_page = PM_PAGE_2M)
#define PM_VS_GUEST_cvm(fixture, name, prefix, ...)				\
	PM_VARIANT(fixture, prefix##_vm, name, PM_MMAP_SHARED, .guest_page = PM_PAGE_4K)
#define PM_VS_GUEST_no(...)

/*
 * In FIXTURE_SETUP: a guest_memfd of `size` from the platform, and its host
 * mapping (MAP_SHARED). Bind a slot with userspace_addr = that mapping for one
 * memory with two views, whichever path the backend faults it through.
 */
#define PM_MAPPED_GMEM(plat, vm, flags, size, fd_out, host_out) do {		\
	(fd_out) = pm_platform_private_mem((plat), (vm), (size), (flags));	\
	ASSERT_LE(0, (fd_out));							\
	(host_out) = mmap(NULL, (size), PROT_READ | PROT_WRITE, MAP_SHARED, (fd_out), 0); \
	ASSERT_NE(MAP_FAILED, (host_out));					\
} while (0)

/*
 * A fixture whose guest runs on one guest_memfd of `size` bytes, mapped in the host
 * (self->host) and bound as memslot `slot` at `gpa` with the variant's guest page size:
 * the slot's userspace address is the gmem mapping itself, one memory with two views.
 * Variants: PM_GMEM_GUEST_VARIANTS.
 */
#define PM_GMEM_GUEST_FIXTURE(name, size, slot, gpa)				\
	FIXTURE(name) {								\
		const struct pm_platform *p;					\
		struct pm_vm *vm;						\
		int fd;								\
		uint64_t *host;							\
	};									\
	FIXTURE_VARIANT(name) {							\
		struct pm_need need;						\
		uint64_t guest_page;						\
	};									\
	PM_GMEM_GUEST_VARIANTS(name);						\
	FIXTURE_SETUP(name)							\
	{									\
		self->fd = -1;							\
		self->host = MAP_FAILED;					\
		PM_SETUP_VM(&variant->need, self->p, self->vm);			\
		PM_MAPPED_GMEM(self->p, self->vm, variant->need.gmem_flags, (size), \
			       self->fd, self->host);				\
		ASSERT_EQ(0, pm_vm_add_memory(self->vm, (slot), (gpa), (size), self->host, \
					      self->fd, 0, variant->guest_page)); \
	}									\
	FIXTURE_TEARDOWN(name)							\
	{									\
		pm_vm_free(self->vm);						\
		if (self->host != MAP_FAILED)					\
			munmap(self->host, (size));				\
		if (self->fd >= 0)						\
			close(self->fd);					\
	}

/*
 * A fixture with a VM and one guest_memfd of `pages` pages, created with the
 * variant's flags, run for every flag set in PM_GMEM_FLAG_VARIANTS.
 */
#define PM_GMEM_FIXTURE(name, pages)						\
	FIXTURE(name) {								\
		const struct pm_platform *p;					\
		struct pm_vm *vm;						\
		int fd;								\
		uint64_t flags;							\
		long page;							\
		size_t size;							\
	};									\
	FIXTURE_VARIANT(name) { struct pm_need need; };				\
	PM_GMEM_FLAG_VARIANTS(name);						\
	FIXTURE_SETUP(name)							\
	{									\
		self->fd = -1;							\
		self->page = getpagesize();					\
		self->size = (pages) * self->page;				\
		self->flags = variant->need.gmem_flags;				\
		PM_SETUP_VM(&variant->need, self->p, self->vm);			\
		self->fd = pm_platform_private_mem(self->p, self->vm, self->size, self->flags); \
		ASSERT_LE(0, self->fd);						\
	}									\
	FIXTURE_TEARDOWN(name)							\
	{									\
		if (self->fd >= 0)						\
			close(self->fd);					\
		pm_vm_free(self->vm);						\
	}

/*
 * The rows.tsv id of the running test, "<fixture>.<test>" (the name shared by all
 * its variants): the one name of a behaviour, used by platforms/known.c too.
 */
#define PM_ROW_ID(buf) snprintf((buf), sizeof(buf), "%s.%s", _metadata->fixture->name, \
				_metadata->name)

/*
 * Verdict for the running test's behaviour row, which a KVM backend may be known
 * to break (platforms/known.c, keyed by the row id): correct -> PASS; broken and
 * listed -> XFAIL with the listed reason; correct but listed -> XPASS (a failure:
 * the list is stale); broken and not listed -> FAIL with the observation.
 */
#define PM_VERDICT(ok, fmt, ...) do {						\
	char __row[128];							\
	const char *__known;							\
	bool __ok = (ok);							\
	PM_ROW_ID(__row);							\
	__known = pm_known_deviation(pm_caps(), __row);				\
	if (__ok && !__known)							\
		break;								\
	TH_LOG(fmt, ##__VA_ARGS__);						\
	if (!__known)								\
		ASSERT_TRUE(__ok);						\
	snprintf(_metadata->results->reason, sizeof(_metadata->results->reason), \
		 "%s%s", __ok ? "known deviation no longer observed, update platforms/known.c: " : "", \
		 __known ? __known : "");					\
	_metadata->exit_code = __ok ? KSFT_XPASS : KSFT_XFAIL;			\
	return;									\
} while (0)

/* Run a vCPU and require a specific outcome; the guest's message on mismatch. */
#define ASSERT_GUEST_SYNC(vcpu, stage) do {					\
	struct pm_exit __e;							\
	pm_vcpu_run((vcpu), &__e);						\
	if (__e.result != PM_RUN_SYNC || __e.rep.vals[0] != (uint64_t)(stage))	\
		TH_LOG("expected guest sync %llu, got: %s",			\
		       (unsigned long long)(stage), __e.msg);			\
	ASSERT_EQ(PM_RUN_SYNC, __e.result);					\
	ASSERT_EQ((uint64_t)(stage), __e.rep.vals[0]);				\
} while (0)

#define ASSERT_GUEST_DONE(vcpu) do {						\
	struct pm_exit __e;							\
	pm_vcpu_run((vcpu), &__e);						\
	if (__e.result != PM_RUN_DONE)						\
		TH_LOG("expected guest done, got: %s", __e.msg);		\
	ASSERT_EQ(PM_RUN_DONE, __e.result);					\
} while (0)

/* Expect a syscall-style call to fail with exactly `err`. */
#define ASSERT_ERRNO(err, call) do {						\
	long __r;								\
	errno = 0;								\
	__r = (long)(call);							\
	if (__r != -1 || errno != (err))					\
		TH_LOG("%s: expected -1/%s, got %ld/%s", #call,			\
		       strerrorname_np(err), __r, errno ? strerrorname_np(errno) : "0"); \
	ASSERT_EQ(-1, __r);							\
	ASSERT_EQ((err), errno);						\
} while (0)

/*
 * Log which of a row's documented behaviours this kernel showed, when upstream changed the
 * behaviour without a capability to tell the variants apart: <seen> is what the kernel did
 * (an errno name, a value), <commit> the upstream commit that introduced that behaviour.
 * privmem-report parses exactly "drift <what>: <seen> (<commit>)" from the test's output
 * into results.json, summary.md, JUnit and --diff: keep the form stable.
 */
#define PM_DRIFT_SEEN(what, seen, commit)					\
	TH_LOG("drift %s: %s (%s)", (what), (seen), (commit))

/*
 * Upstream changed a failure's errno without a capability to tell the two apart: both
 * documented errnos pass (each tied to the commit that introduced it), the one this kernel
 * gave is logged by PM_DRIFT_SEEN as "drift <what>: <ERRNO> (<commit>)", anything else FAILs.
 */
#define ASSERT_ERRNO_DRIFT(what, call, err_a, commit_a, err_b, commit_b) do {	\
	long __r;								\
	int __e;								\
	errno = 0;								\
	__r = (long)(call);							\
	__e = __r == -1 ? errno : 0;						\
	if (__e == (err_a) || __e == (err_b))					\
		PM_DRIFT_SEEN(what, strerrorname_np(__e),			\
			      __e == (err_a) ? commit_a : commit_b);		\
	else									\
		TH_LOG("%s: expected -1/%s or -1/%s, got %ld/%s", #call,	\
		       strerrorname_np(err_a), strerrorname_np(err_b), __r,	\
		       __e ? strerrorname_np(__e) : "0");			\
	ASSERT_EQ(-1, __r);							\
	ASSERT_TRUE(__e == (err_a) || __e == (err_b));				\
} while (0)

/*
 * A hang bound for race rows: a kernel bug that deadlocks (a lost wakeup, a lock held
 * across a retry loop) must FAIL the test with a reason, not leave it to the harness or
 * the lab timeout. The watchdog thread waits `seconds` for PM_WATCHDOG_STOP, re-armed
 * whenever the test publishes a new round; if a round outlasts it, it prints a harness-style "file:line:test:" diagnostic naming the
 * step and round the test last published, and ends the test process (its other threads
 * die with it, so an interruptible kernel wait returns): KSFT_FAIL, or KSFT_XFAIL with
 * the reason when platforms/known.c lists the hang for this row, as PM_VERDICT does.
 * The bound is never reached on a correct kernel: it is not a timing check.
 */
struct pm_watchdog {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopped;
	unsigned int seconds;
	struct __test_metadata *md;
	const char *file;
	int line;
	char row[128];
	const char *volatile step;	/* what the test is doing now */
	volatile long round;
};

/*
 * In-place conversion (queued upstream for 7.4: shared/private state per page in the
 * guest_memfd inode, KVM_SET_MEMORY_ATTRIBUTES2 on its fd) sits behind the read-only
 * module parameter kvm.gmem_in_place_conversion. Rows that check the model without it
 * (private state only in the VM's attributes, INIT_SHARED file-wide) SKIP when it is on,
 * printing its value; absent (7.3 and older) or off, they run.
 */
static inline const char *pm_gmem_in_place(char *buf, size_t len)
{
	FILE *f = fopen("/sys/module/kvm/parameters/gmem_in_place_conversion", "r");

	if (!f)
		return "absent";
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

#define PM_SKIP_IF_GMEM_IN_PLACE(why) do {						\
	char __v[8];									\
	const char *__m = pm_gmem_in_place(__v, sizeof(__v));				\
											\
	if (!strcmp(__m, "Y") || !strcmp(__m, "1"))					\
		SKIP(return, "kvm.gmem_in_place_conversion=%s: shared/private state lives "	\
		     "in guest_memfd; %s", __m, (why));					\
} while (0)

static inline void *pm_watchdog_main(void *arg)
{
	struct pm_watchdog *w = arg;
	struct timespec until;
	const char *known;
	int r = 0;

	long seen = -1;

	pthread_mutex_lock(&w->lock);
	/* The bound is per round: a round that moved on re-arms it. */
	while (!w->stopped && seen != w->round) {
		seen = w->round;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += w->seconds;
		r = 0;
		while (!w->stopped && r != ETIMEDOUT)
			r = pthread_cond_timedwait(&w->cond, &w->lock, &until);
	}
	if (w->stopped) {
		pthread_mutex_unlock(&w->lock);
		return NULL;
	}
	fprintf(stderr, "# %s:%d:%s:hung: %s did not return within %u s (round %ld)\n",
		w->file, w->line, w->md->name, w->step ? w->step : "the test", w->seconds, w->round);
	fflush(stderr);
	known = pm_known_deviation(pm_caps(), w->row);
	if (known) {
		snprintf(w->md->results->reason, sizeof(w->md->results->reason), "%s", known);
		_exit(KSFT_XFAIL);
	}
	_exit(KSFT_FAIL);
}

#define PM_WATCHDOG_START(w, secs) do {						\
	*(w) = (struct pm_watchdog){ .seconds = (secs), .md = _metadata,	\
		.file = __FILE__, .line = __LINE__ };				\
	PM_ROW_ID((w)->row);							\
	pthread_mutex_init(&(w)->lock, NULL);					\
	pthread_cond_init(&(w)->cond, NULL);					\
	ASSERT_EQ(0, pthread_create(&(w)->thread, NULL, pm_watchdog_main, (w)));	\
} while (0)

#define PM_WATCHDOG_STOP(w) do {							pthread_mutex_lock(&(w)->lock);							(w)->stopped = true;								pthread_cond_signal(&(w)->cond);						pthread_mutex_unlock(&(w)->lock);						pthread_join((w)->thread, NULL);					} while (0)

#endif
