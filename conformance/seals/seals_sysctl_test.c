// SPDX-License-Identifier: GPL-2.0
/*
 * vm.memfd_noexec (Linux 6.3): the default and the policy for executable
 * memfds, per PID namespace. 0: memfds default to executable (MFD_EXEC);
 * 1: they default to MFD_NOEXEC_SEAL, MFD_EXEC still allowed; 2: MFD_EXEC is
 * refused (EACCES). A child namespace starts with its parent's value and may
 * not go below it (EINVAL), but may lower its own value down to the parent's
 * (6.6); values above 2: EINVAL.
 *
 * Sources: Documentation/admin-guide/sysctl/vm.rst "memfd_noexec";
 * mm/memfd.c check_sysctl_memfd_noexec (EACCES); kernel/pid_sysctl.h
 * pid_mfd_noexec_dointvec_minmax (parent's value as minimum, 2 as maximum:
 * proc_dointvec_minmax -> EINVAL); observed upstream in memfd_test.c
 * test_sysctl_simple / test_sysctl_nested.
 *
 * Every write happens in PID 1 of a throw-away PID namespace (the handler acts
 * on the writer's active namespace), after checking it is one. The value of
 * this process's namespace is saved first, checked after every test, and put
 * back if it ever changed: in teardown, on SIGINT/SIGTERM and at exit.
 */
#include <signal.h>

#include "pm_test.h"
#include "seals.h"

static int saved_host = -1;

static void restore(int host)
{
	char val[4] = { (char)('0' + host), '\n', 0 };

	if (host >= 0 && seals_sysctl_read() != host)
		seals_sysctl_write(val);
}

static void restore_at_exit(void)
{
	restore(saved_host);
}

static void restore_on_signal(int sig)
{
	restore(saved_host);
	signal(sig, SIG_DFL);
	raise(sig);
}

FIXTURE(seals_sysctl) {
	int host;
};

FIXTURE_SETUP(seals_sysctl)
{
	self->host = seals_sysctl_read();
	if (self->host < 0 && errno == ENOENT)
		SKIP(return, "vm.memfd_noexec absent (before 6.3, or CONFIG_SYSCTL=n)");
	ASSERT_LE(0, self->host);
	ASSERT_GE(2, self->host);
	saved_host = self->host;
	atexit(restore_at_exit);
	signal(SIGINT, restore_on_signal);
	signal(SIGTERM, restore_on_signal);
}

/*
 * In the harness's parent process, so it runs however the test ended (a failed
 * ASSERT aborts the test process without its teardown).
 */
FIXTURE_TEARDOWN_PARENT(seals_sysctl)
{
	int now = seals_sysctl_read();

	if (self->host >= 0 && now != self->host) {
		TH_LOG("vm.memfd_noexec of this namespace changed to %d: restoring %d",
		       now, self->host);
		restore(self->host);
	}
}

/* A namespace cannot go below its parent: levels under the host's cannot be tested here. */
#define REQUIRE_HOST_AT_MOST(level) do {					\
	if (self->host > (level))						\
		SKIP(return, "vm.memfd_noexec=%d here: a child PID namespace cannot "	\
		     "lower it to %d", self->host, (level));				\
} while (0)

/* fn's result in a new PID namespace; SKIP where this process cannot make one. */
#define IN_NEW_PIDNS(fn, arg) ({						\
	int __r = seals_in_new_pidns((fn), (arg));				\
	if (__r == SEALS_NO_PIDNS)						\
		SKIP(return, "unshare(CLONE_NEWPID) refused (needs CAP_SYS_ADMIN, CONFIG_PID_NS)"); \
	__r;									\
})

/* The value belongs to the namespace that wrote it: ours is never touched. */
#define ASSERT_HOST_UNCHANGED() ASSERT_EQ(self->host, seals_sysctl_read())

/* memfd_create(flags) must give exactly this mode and these seals. */
static int expect_memfd(int step, unsigned int flags, int mode, int seals)
{
	int fd = memfd_create("seals_sysctl", MFD_CLOEXEC | flags);
	int got_mode, got_seals;

	if (fd < 0)
		return SEALS_STEP_FAIL(step, "memfd_create(0x%x): %s", flags, strerror(errno));
	got_mode = seals_mode(fd);
	got_seals = seals_get(fd);
	close(fd);
	if (got_mode != mode || got_seals != seals)
		return SEALS_STEP_FAIL(step, "memfd_create(0x%x): mode 0%o seals 0x%x, want 0%o 0x%x",
				       flags, got_mode, got_seals, mode, seals);
	return 0;
}

static int expect_eacces(int step, unsigned int flags)
{
	int fd = memfd_create("seals_sysctl", MFD_CLOEXEC | flags);

	if (fd >= 0 || errno != EACCES) {
		int err = fd >= 0 ? 0 : errno;

		if (fd >= 0)
			close(fd);
		return SEALS_STEP_FAIL(step, "memfd_create(0x%x): want -1/EACCES, got %d/%s",
				       flags, fd, err ? strerror(err) : "0");
	}
	return 0;
}

static int set_level(int step, int level)
{
	char val[4] = { (char)('0' + level), '\n', 0 };

	if (seals_sysctl_write(val))
		return SEALS_STEP_FAIL(step, "writing %d: %s", level, strerror(errno));
	if (seals_sysctl_read() != level)
		return SEALS_STEP_FAIL(step, "wrote %d, reads %d", level, seals_sysctl_read());
	return 0;
}

static int level0(void *arg)
{
	(void)arg;
	return set_level(1, 0) ?:
	       /* The default is executable and, without ALLOW_SEALING, unsealable. */
	       expect_memfd(2, 0, 0777, F_SEAL_SEAL) ?:
	       expect_memfd(3, MFD_ALLOW_SEALING, 0777, 0) ?:
	       expect_memfd(4, MFD_EXEC, 0777, F_SEAL_SEAL) ?:
	       expect_memfd(5, MFD_NOEXEC_SEAL, 0666, F_SEAL_EXEC);
}

TEST_F(seals_sysctl, level0_default_exec)
{
	REQUIRE_HOST_AT_MOST(0);
	ASSERT_EQ(0, IN_NEW_PIDNS(level0, NULL));
	ASSERT_HOST_UNCHANGED();
}

static int level1(void *arg)
{
	(void)arg;
	return set_level(1, 1) ?:
	       /* The default becomes MFD_NOEXEC_SEAL, with or without ALLOW_SEALING. */
	       expect_memfd(2, 0, 0666, F_SEAL_EXEC) ?:
	       expect_memfd(3, MFD_ALLOW_SEALING, 0666, F_SEAL_EXEC) ?:
	       /* ...but asking for MFD_EXEC still works. */
	       expect_memfd(4, MFD_EXEC, 0777, F_SEAL_SEAL) ?:
	       expect_memfd(5, MFD_EXEC | MFD_ALLOW_SEALING, 0777, 0);
}

TEST_F(seals_sysctl, level1_default_noexec_seal)
{
	REQUIRE_HOST_AT_MOST(1);
	ASSERT_EQ(0, IN_NEW_PIDNS(level1, NULL));
	ASSERT_HOST_UNCHANGED();
}

static int level2(void *arg)
{
	(void)arg;
	return set_level(1, 2) ?:
	       expect_memfd(2, 0, 0666, F_SEAL_EXEC) ?:
	       expect_eacces(3, MFD_EXEC) ?:
	       expect_eacces(4, MFD_EXEC | MFD_ALLOW_SEALING) ?:
	       expect_memfd(5, MFD_NOEXEC_SEAL, 0666, F_SEAL_EXEC);
}

TEST_F(seals_sysctl, level2_exec_eacces)
{
	ASSERT_EQ(0, IN_NEW_PIDNS(level2, NULL));
	ASSERT_HOST_UNCHANGED();
}

static int expect_write_einval(int step, const char *val, int keep)
{
	if (!seals_sysctl_write(val) || errno != EINVAL)
		return SEALS_STEP_FAIL(step, "writing \"%s\": want -1/EINVAL, got %s", val,
				       seals_sysctl_write(val) ? strerror(errno) : "success");
	if (seals_sysctl_read() != keep)
		return SEALS_STEP_FAIL(step, "after the refused \"%s\" it reads %d, want %d", val,
				       seals_sysctl_read(), keep);
	return 0;
}

static int nested_child(void *arg)
{
	(void)arg;
	/* Inherited from the parent namespace, which may not be undercut. */
	if (seals_sysctl_read() != 1)
		return SEALS_STEP_FAIL(11, "nested namespace starts at %d, want 1", seals_sysctl_read());
	return expect_write_einval(12, "0", 1) ?:
	       expect_memfd(13, 0, 0666, F_SEAL_EXEC) ?:
	       /* Tightening is allowed. */
	       set_level(14, 2) ?:
	       expect_eacces(15, MFD_EXEC);
}

static int nested_parent(void *arg)
{
	int ret;

	(void)arg;
	ret = set_level(1, 1);
	if (ret)
		return ret;
	ret = seals_in_new_pidns(nested_child, NULL);
	if (ret)
		return ret;
	/* The child's tightening stayed in the child. */
	if (seals_sysctl_read() != 1)
		return SEALS_STEP_FAIL(2, "parent namespace reads %d after its child set 2",
				       seals_sysctl_read());
	return expect_memfd(3, MFD_EXEC, 0777, F_SEAL_SEAL);
}

TEST_F(seals_sysctl, child_cannot_lower)
{
	REQUIRE_HOST_AT_MOST(1);
	ASSERT_EQ(0, IN_NEW_PIDNS(nested_parent, NULL));
	ASSERT_HOST_UNCHANGED();
}

/*
 * What memfd_create gives at each level, checked after each step down: the
 * value read back is not enough, the policy must follow it.
 */
static int expect_level(int step, int level)
{
	switch (level) {
	case 2:
		return expect_eacces(step, MFD_EXEC);
	case 1:
		return expect_memfd(step, 0, 0666, F_SEAL_EXEC) ?:
		       expect_memfd(step, MFD_EXEC, 0777, F_SEAL_SEAL);
	default:
		return expect_memfd(step, 0, 0777, F_SEAL_SEAL) ?:
		       expect_memfd(step, MFD_EXEC, 0777, F_SEAL_SEAL);
	}
}

static int lower_own(void *arg)
{
	int floor = *(int *)arg, ret;

	/* Up to the strictest level, then down one step at a time to the parent's value. */
	ret = set_level(1, 2) ?: expect_level(2, 2);
	for (int level = 1, step = 3; !ret && level >= floor; level--, step += 2)
		ret = set_level(step, level) ?: expect_level(step + 1, level);
	return ret;
}

/*
 * Since 9876cfe8ec1c ("memfd: replace ratcheting feature from vm.memfd_noexec
 * with hierarchy", v6.6) the floor of a namespace's value is its parent's value,
 * not its own: a namespace may lower what it raised, 2 -> 1 -> 0 as far as the
 * parent allows (kernel/pid_sysctl.h pid_mfd_noexec_dointvec_minmax, extra1 =
 * &parent_scope), and MFD_EXEC works again once it is below 2. Before it (6.3-6.5)
 * every lower value was -1/EINVAL until the namespace died. memfd_test.c
 * test_sysctl_simple (0, 1, 0, 2, 1, 0).
 */
TEST_F(seals_sysctl, namespace_lowers_own_value)
{
	REQUIRE_HOST_AT_MOST(1);
	ASSERT_EQ(0, IN_NEW_PIDNS(lower_own, &self->host));
	ASSERT_HOST_UNCHANGED();
}

static int out_of_range(void *arg)
{
	int host = *(int *)arg;

	return expect_write_einval(1, "3", host) ?:
	       expect_write_einval(2, "-1", host) ?:
	       expect_write_einval(3, "2147483648", host);
}

TEST_F(seals_sysctl, out_of_range_einval)
{
	ASSERT_EQ(0, IN_NEW_PIDNS(out_of_range, &self->host));
	ASSERT_HOST_UNCHANGED();
}

static int read_level(void *arg)
{
	int want = *(int *)arg;

	if (seals_sysctl_read() != want)
		return SEALS_STEP_FAIL(1, "a new namespace reads %d, want its parent's %d",
				       seals_sysctl_read(), want);
	return 0;
}

/* The strictest level set in one namespace reaches neither its parent nor a later sibling. */
TEST_F(seals_sysctl, value_stays_in_namespace)
{
	ASSERT_EQ(0, IN_NEW_PIDNS(level2, NULL));
	ASSERT_HOST_UNCHANGED();
	ASSERT_EQ(0, IN_NEW_PIDNS(read_level, &self->host));
	ASSERT_HOST_UNCHANGED();
}

TEST_HARNESS_MAIN
