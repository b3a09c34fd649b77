// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-kmsg: the kernel log as the runners need it, from /dev/kmsg (one record
 * per read, with a sequence number, so "what was logged while this binary ran" is
 * exact and independent of timestamps or of the ring's size).
 *
 *   privmem-kmsg mark        print the sequence number the next record will get
 *   privmem-kmsg since SEQ   print the splats logged from record SEQ on, one per
 *                            line: "<seq> <facility>.<level> <message>"
 *
 * A splat is a record whose message starts the way the kernel starts a warning, a
 * BUG, an oops, a KASAN/UBSAN report, a lockdep report, a soft lockup, a hung task
 * or an RCU stall (the patterns below). Records from any facility count: userspace
 * can write to /dev/kmsg too (make check injects one that way to prove detection),
 * and the facility is printed so a reader can tell. Exit 0, or 2 with one line on
 * stderr when the log cannot be read (e.g. EPERM under kernel.dmesg_restrict).
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first line of each kind of kernel splat (kernel/panic.c, lib/bug.c,
 * arch/x86/kernel/dumpstack.c, mm/kasan/report.c, lib/ubsan.c, kernel/locking/lockdep.c,
 * kernel/watchdog.c, kernel/hung_task.c, kernel/rcu/tree_stall.h). */
static const char splat_re[] =
	"^(WARNING: |BUG: |kernel BUG at |Oops|general protection fault|UBSAN: |"
	"watchdog: BUG: soft lockup|INFO: task .* blocked for more than |"
	"(rcu: )?INFO: rcu_[a-z_]+ (self-)?detected stall)";

static void die(const char *what)
{
	fprintf(stderr, "privmem-kmsg: %s: %s\n", what, strerror(errno));
	exit(2);
}

/*
 * Walk every record still in the ring, oldest first: fn(prio, seq, message).
 * Returns the sequence number after the last record.
 */
static unsigned long long walk(void (*fn)(unsigned, unsigned long long, const char *, void *),
			       void *arg)
{
	static char rec[8192 + 1];
	unsigned long long seq, next = 0;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		die("/dev/kmsg");
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		unsigned prio;
		char *msg, *nl;

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten while reading: go on with the next */
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			die("reading /dev/kmsg");
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (!msg || sscanf(rec, "%u,%llu,", &prio, &seq) != 2)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		next = seq + 1;
		if (fn)
			fn(prio, seq, msg, arg);
	}
	close(fd);
	return next;
}

struct since {
	unsigned long long from;
	regex_t re;
};

static void print_splat(unsigned prio, unsigned long long seq, const char *msg, void *arg)
{
	struct since *s = arg;

	if (seq >= s->from && !regexec(&s->re, msg, 0, NULL, 0))
		printf("%llu %s.%u %s\n", seq, prio >> 3 ? "user" : "kern", prio & 7, msg);
}

int main(int argc, char **argv)
{
	struct since s;
	char *end;

	if (argc == 2 && !strcmp(argv[1], "mark")) {
		printf("%llu\n", walk(NULL, NULL));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "since")) {
		errno = 0;
		s.from = strtoull(argv[2], &end, 10);
		if (errno || !*argv[2] || *end) {
			fprintf(stderr, "privmem-kmsg: since wants a sequence number, not '%s'\n", argv[2]);
			return 2;
		}
		if (regcomp(&s.re, splat_re, REG_EXTENDED | REG_NOSUB)) {
			fprintf(stderr, "privmem-kmsg: internal error: bad pattern\n");
			return 2;
		}
		walk(print_splat, &s);
		regfree(&s.re);
		return fflush(stdout) ? 2 : 0;
	}
	fprintf(stderr, "usage: privmem-kmsg mark | privmem-kmsg since SEQ\n");
	return 2;
}
