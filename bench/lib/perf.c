// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoint counts through perf: `perf stat -a -x';'` started with events
 * disabled (-D -1) and switched on/off through its control fifo, so the counts
 * cover exactly the operation between pmb_perf_begin() and pmb_perf_end().
 * tracefs is mounted when it is not, and unmounted again at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pmb_int.h"

#define TRACEFS "/sys/kernel/tracing"
#define MAX_EVENTS 24

static bool we_mounted;
static volatile pid_t perf_child;

static void unmount_tracefs(void)
{
	if (we_mounted && !umount2(TRACEFS, MNT_DETACH))
		we_mounted = false;
}

static void kill_perf(void)
{
	if (perf_child > 0)
		kill(perf_child, SIGKILL);
}

const char *pmb_tracefs(struct pmb *b, char *why, size_t len)
{
	static bool registered;
	struct stat st;

	if (!stat(TRACEFS "/events", &st))
		return TRACEFS;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL)) {
		snprintf(why, len, "tracefs not mounted and mount failed: %s", strerror(errno));
		return NULL;
	}
	we_mounted = true;
	if (!registered) {
		pmb_on_cleanup(unmount_tracefs);
		registered = true;
	}
	json_object_set_new(b->config, "tracefs_mounted_for_run", json_true());
	return TRACEFS;
}

struct pmb_perf {
	struct pmb *b;
	pid_t pid;
	char dir[64], ctl[96], ack[96], out[96];
	int ctl_fd, ack_fd;
	int n;
	char ev[MAX_EVENTS][96];
	bool present[MAX_EVENTS];
};

static bool tracepoint_exists(const char *event)
{
	char path[256], sys[64], name[64];
	const char *colon = strchr(event, ':');
	size_t nl;

	if (!colon || colon - event >= (long)sizeof(sys))
		return false;
	memcpy(sys, event, colon - event);
	sys[colon - event] = '\0';
	nl = strcspn(colon + 1, "/");
	if (nl >= sizeof(name))
		return false;
	memcpy(name, colon + 1, nl);
	name[nl] = '\0';
	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s", sys, name);
	return !access(path, F_OK);
}

static int ctl_cmd(struct pmb_perf *p, const char *cmd)
{
	struct pollfd pfd = { .fd = p->ack_fd, .events = POLLIN };
	char buf[16];

	if (write(p->ctl_fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return -1;
	if (poll(&pfd, 1, 15000) != 1)
		return -1;
	return read(p->ack_fd, buf, sizeof(buf)) > 0 && !strncmp(buf, "ack", 3) ? 0 : -1;
}

static void perf_discard(struct pmb_perf *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	perf_child = 0;
	if (p->ctl_fd >= 0)
		close(p->ctl_fd);
	if (p->ack_fd >= 0)
		close(p->ack_fd);
	unlink(p->ctl);
	unlink(p->ack);
	unlink(p->out);
	rmdir(p->dir);
	free(p);
}

struct pmb_perf *pmb_perf_begin(struct pmb *b, const char *const *events, int n)
{
	static bool registered;
	struct pmb_perf *p;
	char why[160];
	char *argv[16 + 4 * MAX_EVENTS];
	char evarg[MAX_EVENTS][sizeof(p->ev[0])];	/* "-e" arguments, split at '/' */
	int argc = 0, usable = 0;

	if (access("/usr/bin/perf", X_OK)) {
		pmb_note(b, "tracepoint counts unavailable: perf not installed");
		return NULL;
	}
	if (!pmb_tracefs(b, why, sizeof(why))) {
		pmb_note(b, "tracepoint counts unavailable: %s", why);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	p->b = b;
	p->ctl_fd = p->ack_fd = -1;
	snprintf(p->dir, sizeof(p->dir), "/tmp/pmb-perf-XXXXXX");
	if (!mkdtemp(p->dir)) {
		free(p);
		return NULL;
	}
	snprintf(p->ctl, sizeof(p->ctl), "%s/ctl", p->dir);
	snprintf(p->ack, sizeof(p->ack), "%s/ack", p->dir);
	snprintf(p->out, sizeof(p->out), "%s/out", p->dir);
	if (mkfifo(p->ctl, 0600) || mkfifo(p->ack, 0600)) {
		perf_discard(p);
		return NULL;
	}
	static char ctlarg[256];
	snprintf(ctlarg, sizeof(ctlarg), "fifo:%s,%s", p->ctl, p->ack);
	argv[argc++] = "perf";
	argv[argc++] = "stat";
	argv[argc++] = "-a";
	argv[argc++] = "-x;";
	argv[argc++] = "--no-big-num";
	argv[argc++] = "-D";
	argv[argc++] = "-1";
	argv[argc++] = "--control";
	argv[argc++] = ctlarg;
	argv[argc++] = "-o";
	argv[argc++] = p->out;
	for (int i = 0; i < n && p->n < MAX_EVENTS; i++) {
		char *slash;

		snprintf(p->ev[p->n], sizeof(p->ev[0]), "%s", events[i]);
		p->present[p->n] = tracepoint_exists(events[i]);
		if (p->present[p->n]) {
			char *e = evarg[p->n];

			snprintf(e, sizeof(evarg[0]), "%s", events[i]);
			slash = strchr(e, '/');
			argv[argc++] = "-e";
			if (slash) {
				*slash = '\0';
				argv[argc++] = e;
				argv[argc++] = "--filter";
				argv[argc++] = slash + 1;
			} else {
				argv[argc++] = e;
			}
			usable++;
		}
		p->n++;
	}
	argv[argc] = NULL;
	if (!usable) {
		pmb_note(b, "tracepoint counts unavailable: none of the requested tracepoints exist");
		perf_discard(p);
		return NULL;
	}
	if (!registered) {
		pmb_on_cleanup(kill_perf);
		registered = true;
	}
	/* O_RDWR on both fifos: opening never blocks, even if perf dies before opening them. */
	p->ctl_fd = open(p->ctl, O_RDWR | O_CLOEXEC);
	p->ack_fd = open(p->ack, O_RDWR | O_CLOEXEC);
	p->pid = fork();
	if (p->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execvp("perf", argv);
		_exit(127);
	}
	perf_child = p->pid;
	if (p->pid < 0 || p->ctl_fd < 0 || p->ack_fd < 0 || ctl_cmd(p, "enable\n")) {
		pmb_note(b, "tracepoint counts unavailable: perf stat did not start counting");
		perf_discard(p);
		return NULL;
	}
	return p;
}

json_t *pmb_perf_end(struct pmb_perf *p)
{
	json_t *o;
	char line[512];
	FILE *f;
	int i = 0, status;

	if (!p)
		return NULL;
	if (ctl_cmd(p, "disable\n")) {
		pmb_note(p->b, "tracepoint counts unavailable: perf stat did not acknowledge disable");
		perf_discard(p);
		return NULL;
	}
	kill(p->pid, SIGINT);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
	perf_child = 0;
	o = json_object();
	f = fopen(p->out, "re");
	/* One line per -e, in order (filtered instances all print the bare event name). */
	while (f && fgets(line, sizeof(line), f)) {
		char *val = line, *semi;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		while (i < p->n && !p->present[i])
			i++;
		if (i >= p->n)
			break;
		semi = strchr(val, ';');
		if (semi)
			*semi = '\0';
		if (val[0] == '<' || !semi)
			json_object_set_new(o, p->ev[i], json_string("unavailable"));
		else
			json_object_set_new(o, p->ev[i], json_integer(atoll(val)));
		i++;
	}
	if (f)
		fclose(f);
	for (int k = 0; k < p->n; k++)
		if (!json_object_get(o, p->ev[k]))
			json_object_set_new(o, p->ev[k], json_string("unavailable"));
	perf_discard(p);
	return o;
}

int pmb_tlb_flush_reasons(struct pmb *b, char names[][48], int max)
{
	char why[160], buf[8192];
	const char *p;
	int fd, n = 0;
	ssize_t len;

	if (!pmb_tracefs(b, why, sizeof(why)))
		return 0;
	fd = open(TRACEFS "/events/tlb/tlb_flush/format", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	/* print fmt: ... __print_symbolic(REC->reason, { 0, "flush on task switch" }, ...) */
	p = strstr(buf, "__print_symbolic");
	while (p && n < max && (p = strchr(p, '{'))) {
		int idx;
		const char *q1, *q2;

		if (sscanf(p, "{ %d ,", &idx) != 1 || !(q1 = strchr(p, '"')) || !(q2 = strchr(q1 + 1, '"')))
			break;
		if (idx >= 0 && idx < max) {
			snprintf(names[idx], 48, "%.*s", (int)(q2 - q1 - 1), q1 + 1);
			if (idx + 1 > n)
				n = idx + 1;
		}
		p = q2;
	}
	return n;
}
