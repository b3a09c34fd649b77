// SPDX-License-Identifier: GPL-2.0
/* Machine, kernel, caps and tool versions: carried by every benchmark result. */
#include <stdlib.h>
#include <string.h>

#include "caps_json.h"
#include "pmb_int.h"

static json_t *first_line_of(const char *cmd)
{
	char line[256] = "";
	FILE *p = popen(cmd, "r");

	if (!p)
		return json_null();
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	return line[0] ? json_string(line) : json_null();
}

static json_t *cpuinfo_model(void)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "re");
	json_t *v = json_null();

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			char *m = strchr(line, ':') + 2;

			m[strcspn(m, "\n")] = '\0';
			json_decref(v);
			v = json_string(m);
			break;
		}
	}
	if (f)
		fclose(f);
	return v;
}

json_t *pmb_machine_json(void)
{
	static json_t *cached;
	const char *env;

	if (cached)
		return json_deep_copy(cached);
	cached = json_object();
	json_object_set_new(cached, "cpu_model", cpuinfo_model());
	json_object_set_new(cached, "caps", pm_caps_json(pm_caps()));
	json_object_set_new(cached, "tools", json_pack("{s:s, s:o, s:o, s:o, s:o}",
		"gcc", __VERSION__,
		"perf", first_line_of("perf --version 2>/dev/null"),
		"fio", first_line_of("fio --version 2>/dev/null"),
		"stress-ng", first_line_of("stress-ng --version 2>/dev/null"),
		"gnuplot", first_line_of("gnuplot --version 2>/dev/null")));
	env = getenv("PRIVMEM_COMMIT");
	json_object_set_new(cached, "privmem_commit", env ? json_string(env) : json_null());
	env = getenv("PRIVMEM_BACKGROUND");
	json_object_set_new(cached, "background", env && *env ? json_string(env) : json_null());
	return json_deep_copy(cached);
}
