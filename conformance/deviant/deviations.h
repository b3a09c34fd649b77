/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The deviations the shim can inject, one per run (PRIVMEM_DEVIATION=<name>).
 * Each is a plausible kernel bug or ABI drift; `make check` requires the suite
 * to FAIL under every one of them. X(name, description)
 */
#define PM_DEVIATIONS(X)								\
	/* KVM_CREATE_GUEST_MEMFD / caps */						\
	X(create-unaligned-size,   "KVM_CREATE_GUEST_MEMFD rounds an unaligned size up instead of EINVAL") \
	X(create-size-zero,        "KVM_CREATE_GUEST_MEMFD accepts size 0")		\
	X(create-negative-size,    "KVM_CREATE_GUEST_MEMFD accepts a size with the sign bit set") \
	X(unadvertised-flag,       "KVM_CREATE_GUEST_MEMFD ignores flag bits not in KVM_CAP_GUEST_MEMFD_FLAGS") \
	X(advertised-flag-rejected, "KVM_CREATE_GUEST_MEMFD rejects INIT_SHARED although advertised") \
	X(cap-hides-flags,         "KVM_CAP_GUEST_MEMFD_FLAGS reads 0 while the flags still work") \
	X(reserved-eperm,          "KVM_CREATE_GUEST_MEMFD fails reserved[] != 0 with EPERM")	\
	X(same-inode,              "every guest_memfd reports the same st_ino")		\
	X(wrong-size,              "fstat reports st_size one page short")		\
	X(blksize-512,             "fstat reports st_blksize 512")			\
	X(fd-readonly,             "the guest_memfd is opened O_RDONLY")			\
	/* file operations */								\
	X(read-succeeds,           "read() on guest_memfd returns data")		\
	X(write-succeeds,          "write() on guest_memfd is accepted")		\
	X(pread-succeeds,          "pread()/pwrite() on guest_memfd are accepted")	\
	X(lseek-succeeds,          "lseek() on guest_memfd succeeds")			\
	X(ftruncate-resizes,       "ftruncate() on guest_memfd succeeds")		\
	X(fsync-succeeds,          "fsync() on guest_memfd succeeds")			\
	X(reopen-allowed,          "/proc/self/fd/N of a guest_memfd can be reopened")	\
	X(seals-supported,         "F_GET_SEALS works on guest_memfd")			\
	/* mmap */									\
	X(mmap-without-flag,       "mmap() works on a guest_memfd created without MMAP")	\
	X(mmap-private,            "MAP_PRIVATE mappings of guest_memfd are allowed")	\
	X(no-sigbus-past-eof,      "pages past EOF of a guest_memfd mapping are accessible") \
	X(private-pages-mappable,  "host faults on private (no INIT_SHARED) memory succeed") \
	X(mmap-refused,            "mmap() fails with ENODEV although the guest_memfd has MMAP")	\
	X(mmap-detached,           "MAP_SHARED of guest_memfd gives fresh memory, not the file's")	\
	/* fallocate */									\
	X(alloc-without-keep-size, "fallocate mode 0 is accepted")			\
	X(zero-range,              "FALLOC_FL_ZERO_RANGE|KEEP_SIZE is accepted")	\
	X(alloc-past-eof,          "allocation past EOF is accepted")			\
	X(punch-past-eof-einval,   "PUNCH_HOLE at or past EOF fails with EINVAL")	\
	X(punch-unaligned,         "an unaligned PUNCH_HOLE is rounded and accepted")	\
	X(alloc-unaligned,         "an unaligned allocation is rounded and accepted")	\
	X(alloc-enomem,            "KEEP_SIZE allocation within the file fails with ENOMEM")	\
	X(zero-len-accepted,       "fallocate with len 0 succeeds")			\
	X(punch-noop,              "PUNCH_HOLE succeeds but frees nothing")		\
	X(punch-too-much,          "PUNCH_HOLE frees the whole file")			\
	X(punch-ignored-when-bound, "PUNCH_HOLE on a guest_memfd bound to a memslot leaves the guest's data") \
	/* KVM_RUN */									\
	X(io-exits-lost,           "KVM_RUN swallows the guest's port-I/O exits (guest reports never arrive)") \
	X(run-ignores-timeout,     "KVM_RUN restarts itself after a signal and never returns EINTR")
