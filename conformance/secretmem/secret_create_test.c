// SPDX-License-Identifier: GPL-2.0
/*
 * memfd_secret(2) creation: which flags it takes and what kind of file it
 * returns. Expectations: man memfd_secret(2) ("EINVAL flags included unknown
 * bits"; O_CLOEXEC is the only flag) and mm/secretmem.c (6.12 and newer:
 * SYSCALL_DEFINE1(memfd_secret) masks everything but O_CLOEXEC;
 * secretmem_file_create makes an O_RDWR|O_LARGEFILE file of mode 0600 and
 * size 0 on the "secretmem" pseudo filesystem, SECRETMEM_MAGIC).
 */
#include "secretmem.h"

/* The collection's fixture guarantees the platform (SKIP otherwise). */
SECRET_FIXTURE(secret_create, 0)

/*
 * SECRETMEM_FLAGS_MASK is 0: every bit but O_CLOEXEC is EINVAL, alone and
 * together with O_CLOEXEC (the check precedes fd allocation, so no fd leaks).
 */
TEST_F(secret_create, flags_other_than_cloexec_einval)
{
	for (int bit = 0; bit < 32; bit++) {
		unsigned int flag = 1u << bit;

		if (flag == O_CLOEXEC)
			continue;
		for (int cloexec = 0; cloexec < 2; cloexec++) {
			int fd;

			errno = 0;
			fd = secret_create(flag | (cloexec ? O_CLOEXEC : 0));
			ASSERT_EQ(-1, fd) TH_LOG("flag bit %d%s accepted", bit, cloexec ? " | O_CLOEXEC" : "");
			ASSERT_EQ(EINVAL, errno) TH_LOG("flag bit %d: %s", bit, secret_errname(errno));
		}
	}
	ASSERT_ERRNO(EINVAL, secret_create(~0u));
	ASSERT_ERRNO(EINVAL, secret_create(~(unsigned int)O_CLOEXEC));
}

/* O_CLOEXEC becomes FD_CLOEXEC on the new fd (get_unused_fd_flags); 0 leaves it clear. */
TEST_F(secret_create, cloexec_sets_fd_cloexec)
{
	int fd = secret_create(O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	close(fd);
	ASSERT_EQ(0, fcntl(self->fd, F_GETFD));
}

/*
 * The fd is a secretmem file, not a memfd or tmpfs file: f_type SECRETMEM_MAGIC
 * (init_pseudo in secretmem_init_fs_context), a regular file of mode 0600 owned
 * by the caller, size 0 until ftruncate, opened O_RDWR|O_LARGEFILE.
 */
TEST_F(secret_create, fd_is_secretmem)
{
	/*
	 * The kernel's O_LARGEFILE, which F_GETFL reports: glibc's <fcntl.h> defines
	 * O_LARGEFILE as 0 on 64-bit (x86_64 and aarch64 alike), and the uapi
	 * <asm/fcntl.h> clashes with it (struct flock), so the value is the uapi
	 * header's: arch/arm64/include/uapi/asm/fcntl.h 0400000 on aarch64,
	 * include/uapi/asm-generic/fcntl.h 00100000 on x86 and the other
	 * asm-generic architectures.
	 */
#if defined(__aarch64__)
	const int o_largefile = 0400000;
#else
	const int o_largefile = 00100000;
#endif
	struct statfs sfs;
	struct stat st;

	ASSERT_EQ(0, fstatfs(self->fd, &sfs));
	ASSERT_EQ(SECRETMEM_MAGIC, (unsigned long)sfs.f_type);
	ASSERT_EQ(0, fstat(self->fd, &st));
	ASSERT_EQ(S_IFREG | 0600, st.st_mode);
	ASSERT_EQ(0, st.st_size);
	ASSERT_EQ(geteuid(), st.st_uid);
	ASSERT_EQ(O_RDWR | o_largefile, fcntl(self->fd, F_GETFL));
}

TEST_HARNESS_MAIN
