// SPDX-License-Identifier: GPL-2.0
/*
 * System knobs a benchmark changes (THP mode, nr_hugepages, tracefs mounted) and
 * their restoration: at exit, on SIGINT/SIGTERM/SIGHUP, and when --timeout fires.
 * The restore path uses only async-signal-safe calls on static storage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmb_int.h"

#define MAX_KNOBS 16
#define MAX_CLEANUPS 16

static struct {
	char path[256];
	char old[128];
} knobs[MAX_KNOBS];
static int nr_knobs;
static void (*cleanups[MAX_CLEANUPS])(void);
static int nr_cleanups;
static volatile sig_atomic_t cleaning;
/* Result files being written (.tmp): removed if a signal ends the run. */
#define MAX_TMP 32
static char tmp_paths[MAX_TMP][PATH_MAX + 8];

/* "always [madvise] never" -> "madvise"; plain values lose their newline. */
static void selected_word(char *buf)
{
	char *l = strchr(buf, '['), *r = l ? strchr(l, ']') : NULL;

	if (l && r) {
		memmove(buf, l + 1, r - l - 1);
		buf[r - l - 1] = '\0';
	}
	buf[strcspn(buf, "\n")] = '\0';
}

int pmb_knob_get(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	selected_word(buf);
	return 0;
}

static int write_str(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

int pmb_knob_set(struct pmb *b, const char *path, const char *value)
{
	int i;

	for (i = 0; i < nr_knobs; i++)
		if (!strcmp(knobs[i].path, path))
			break;
	if (i == nr_knobs) {
		if (nr_knobs == MAX_KNOBS) {
			errno = ENOSPC;
			return -1;
		}
		if (pmb_knob_get(path, knobs[i].old, sizeof(knobs[i].old)))
			return -1;
		snprintf(knobs[i].path, sizeof(knobs[i].path), "%s", path);
		nr_knobs++;
		json_t *k = json_object_get(b->config, "knobs_changed");

		if (!k)
			json_object_set_new(b->config, "knobs_changed", k = json_object());
		json_object_set_new(k, path, json_pack("{s:s, s:s}", "was", knobs[i].old, "set", value));
	}
	if (write_str(path, value))
		return -1;
	/*
	 * Said on stderr as it happens: whoever watches the run (make check's SIGINT
	 * check) synchronises on this line instead of guessing when a knob changed.
	 */
	if (strcmp(knobs[i].old, value))
		fprintf(stderr, "pmb: changed knob %s: %s -> %s (restored at exit)\n", path,
			knobs[i].old, value);
	return 0;
}

void pmb_on_cleanup(void (*fn)(void))
{
	if (nr_cleanups < MAX_CLEANUPS)
		cleanups[nr_cleanups++] = fn;
}

void pmb_cleanup_now(void)
{
	if (cleaning)
		return;
	cleaning = 1;
	for (int i = nr_cleanups - 1; i >= 0; i--)
		cleanups[i]();
	nr_cleanups = 0;
	/* Newest first, so a knob set twice ends at its first saved value. */
	for (int i = nr_knobs - 1; i >= 0; i--) {
		if (write_str(knobs[i].path, knobs[i].old)) {
			static const char msg[] = "pmb: could not restore a system knob: ";

			(void)!write(2, msg, sizeof(msg) - 1);
			(void)!write(2, knobs[i].path, strlen(knobs[i].path));
			(void)!write(2, "\n", 1);
		}
	}
	nr_knobs = 0;
	cleaning = 0;
}

void pmb_tmp_track(const char *path, bool on)
{
	for (int i = 0; i < MAX_TMP; i++) {
		if (on && !tmp_paths[i][0]) {
			snprintf(tmp_paths[i], sizeof(tmp_paths[i]), "%s", path);
			return;
		}
		if (!on && !strcmp(tmp_paths[i], path)) {
			tmp_paths[i][0] = '\0';
			return;
		}
	}
}

static void on_signal(int sig)
{
	static const char msg[] = "pmb: interrupted; system knobs restored, no result written\n";
	static const char tmo[] = "pmb: --timeout reached; system knobs restored, no result written\n";

	pmb_cleanup_now();
	if (sig == SIGALRM)
		(void)!write(2, tmo, sizeof(tmo) - 1);
	else
		(void)!write(2, msg, sizeof(msg) - 1);
	/* Result files appear only by rename in pmb_finish: remove the partial .tmp ones. */
	for (int i = 0; i < MAX_TMP; i++)
		if (tmp_paths[i][0])
			unlink(tmp_paths[i]);
	signal(sig, SIG_DFL);
	if (sig == SIGALRM)
		_exit(124);
	raise(sig);
}

static void at_exit(void)
{
	pmb_cleanup_now();
}

void pmb_signals_init(struct pmb *b)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };

	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(at_exit);
	if (b->timeout_s)
		alarm(b->timeout_s);
}
