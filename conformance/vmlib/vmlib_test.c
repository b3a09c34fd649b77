// SPDX-License-Identifier: GPL-2.0
/*
 * The VM library's own contract. Every guest-side check in privmem relies on
 * these reports reaching the host intact: a guest assertion that the host could
 * not see, or a stuck vCPU that hung the run, would make guest checks unable to
 * fail.
 */
#include <pthread.h>
#include <time.h>

#include "pm_test.h"

#define SLOT	PM_SLOT_FIRST_FREE
#define SIZE	(4ULL << 20)

FIXTURE(vmlib) {
	const struct pm_platform *p;
	struct pm_vm *vm;
};

FIXTURE_VARIANT(vmlib) {
	struct pm_need need;
};

/* The library needs plain KVM only: no guest_memfd, no private memory. */
FIXTURE_VARIANT_ADD(vmlib, default_vm) { .need = { "kvm", 0 } };

FIXTURE_SETUP(vmlib)
{
	PM_SETUP_VM(&variant->need, self->p, self->vm);
}

FIXTURE_TEARDOWN(vmlib)
{
	pm_vm_free(self->vm);
}

static PM_GUEST void guest_sync_args(uint64_t a, uint64_t b, uint64_t c)
{
	GUEST_SYNC_VALS(11, a, b, c);
	GUEST_SYNC_VALS(12, a + b + c, 0, 0);
}

TEST_F(vmlib, sync_carries_stage_and_values)
{
	struct pm_vcpu *vcpu = pm_vcpu_add(self->vm, guest_sync_args, 1, 20, 300);
	struct pm_exit e;

	ASSERT_NE(NULL, vcpu);
	ASSERT_EQ(PM_RUN_SYNC, pm_vcpu_run(vcpu, &e));
	ASSERT_EQ(11, e.rep.vals[0]);
	ASSERT_EQ(1, e.rep.vals[1]);
	ASSERT_EQ(20, e.rep.vals[2]);
	ASSERT_EQ(300, e.rep.vals[3]);
	ASSERT_EQ(PM_RUN_SYNC, pm_vcpu_run(vcpu, &e));
	ASSERT_EQ(12, e.rep.vals[0]);
	ASSERT_EQ(321, e.rep.vals[1]);
	ASSERT_EQ(PM_RUN_DONE, pm_vcpu_run(vcpu, &e));
}

static PM_GUEST void guest_fails_assert(uint64_t a, uint64_t b, uint64_t c)
{
	(void)c;
	GUEST_ASSERT_EQ(a, b);
}

TEST_F(vmlib, guest_assert_reports_file_line_and_values)
{
	struct pm_vcpu *vcpu = pm_vcpu_add(self->vm, guest_fails_assert, 5, 6, 0);
	struct pm_exit e;

	ASSERT_NE(NULL, vcpu);
	ASSERT_EQ(PM_RUN_ASSERT, pm_vcpu_run(vcpu, &e));
	TH_LOG("%s", e.msg);
	ASSERT_NE(NULL, strstr(e.msg, "vmlib_test.c:"));
	ASSERT_NE(NULL, strstr(e.msg, "a == b"));
	ASSERT_EQ(5, e.rep.vals[0]);
	ASSERT_EQ(6, e.rep.vals[1]);
}

#define UNMAPPED_GVA 0x7000000000ULL

static PM_GUEST void guest_page_faults(uint64_t a, uint64_t b, uint64_t c)
{
	(void)a, (void)b, (void)c;
	pm_guest_read64((void *)UNMAPPED_GVA);
}

TEST_F(vmlib, guest_exception_reports_vector_and_address)
{
	struct pm_vcpu *vcpu = pm_vcpu_add(self->vm, guest_page_faults, 0, 0, 0);
	struct pm_exit e;

	ASSERT_NE(NULL, vcpu);
	ASSERT_EQ(PM_RUN_EXCEPTION, pm_vcpu_run(vcpu, &e));
	ASSERT_EQ(PM_EXC_PAGE_FAULT, e.rep.vals[0]);
	ASSERT_EQ(UNMAPPED_GVA, e.rep.vals[3]);		/* CR2, FAR_EL1 */
}

static PM_GUEST void guest_spins(uint64_t a, uint64_t b, uint64_t c)
{
	(void)a, (void)b, (void)c;
	for (;;)
		pm_guest_cpu_relax();
}

struct stuck_run {
	struct pm_vcpu *vcpu;
	struct pm_exit e;
	int result;
};

static void *run_stuck(void *arg)
{
	struct stuck_run *s = arg;

	s->result = pm_vcpu_run(s->vcpu, &s->e);
	return NULL;
}

/*
 * The run timer (vm->timeout_ms) ends a run whose guest never exits: its signal makes
 * KVM_RUN return EINTR. The run happens on its own thread so that a KVM_RUN deaf to
 * the signal is an assertion failure here, not a harness timeout. The 10 s cap (50x
 * the 200 ms timer) only bounds the wait for an event a correct kernel delivers.
 */
TEST_F_TIMEOUT(vmlib, stuck_vcpu_times_out, 30)
{
	struct stuck_run s = { .vcpu = pm_vcpu_add(self->vm, guest_spins, 0, 0, 0) };
	struct timespec cap;
	pthread_t t;
	int err;

	ASSERT_NE(NULL, s.vcpu);
	self->vm->timeout_ms = 200;
	ASSERT_EQ(0, pthread_create(&t, NULL, run_stuck, &s));
	ASSERT_EQ(0, clock_gettime(CLOCK_REALTIME, &cap));
	cap.tv_sec += 10;
	err = pthread_timedjoin_np(t, NULL, &cap);
	if (err == ETIMEDOUT) {
		TH_LOG("KVM_RUN of a spinning guest still running 10 s after its 200 ms run timer fired");
		self->vm = NULL;	/* still in KVM_RUN on the other thread: leave it to exit() */
	}
	ASSERT_EQ(0, err);
	ASSERT_EQ(PM_RUN_TIMEOUT, s.result);
}

static PM_GUEST void guest_fill(uint64_t gpa, uint64_t size, uint64_t c)
{
	(void)c;
	for (uint64_t a = gpa; a < gpa + size; a += 4096)
		pm_guest_write64((void *)a, a ^ 0xfeed);
}

/*
 * The host sees what the guest wrote through 4K and 2M guest mappings alike. Every
 * vCPU exists before the first run: pKVM hosts (kvm-arm.mode=protected) fix a VM's
 * vCPUs when it first runs, for every VM type.
 */
TEST_F(vmlib, guest_writes_reach_host_4k_and_2m)
{
	static const uint64_t pages[] = { PM_PAGE_4K, PM_PAGE_2M };
	struct pm_vcpu *vcpu[2];

	for (int i = 0; i < 2; i++) {
		uint64_t gpa = PM_TEST_GPA + i * (1ULL << 30);

		ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT + i, gpa, SIZE, NULL, -1, 0, pages[i]));
		vcpu[i] = pm_vcpu_add(self->vm, guest_fill, gpa, SIZE, 0);
		ASSERT_NE(NULL, vcpu[i]);
	}
	for (int i = 0; i < 2; i++) {
		uint64_t gpa = PM_TEST_GPA + i * (1ULL << 30);

		ASSERT_GUEST_DONE(vcpu[i]);
		for (uint64_t a = gpa; a < gpa + SIZE; a += 4096)
			ASSERT_EQ(a ^ 0xfeed, *(uint64_t *)pm_gpa_to_hva(self->vm, a, 8));
	}
}

/* Bad arguments to the page-table builder are refused, not silently misapplied. */
TEST_F(vmlib, map_rejects_misaligned_ranges)
{
	ASSERT_ERRNO(EINVAL, pm_vm_map(self->vm, PM_TEST_GPA + 4096, PM_PAGE_2M, PM_PAGE_2M));
	ASSERT_ERRNO(EINVAL, pm_vm_map(self->vm, PM_TEST_GPA, 4096 + 1, PM_PAGE_4K));
	ASSERT_ERRNO(EINVAL, pm_vm_map(self->vm, PM_TEST_GPA, 4096, 8192));
}

TEST_HARNESS_MAIN
