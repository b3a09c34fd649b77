// SPDX-License-Identifier: GPL-2.0
/*
 * Reproducers: a standalone C file per divergence, on the VM library only. It holds
 * runtime.h and runtime.c verbatim (embedded at build time, so they cannot drift
 * from what the fuzzer ran) and a table of the shrunk operations with the
 * observation the model expected of each; it exits 1 at the first difference.
 */
#include <inttypes.h>
#include <string.h>

#include "fuzz.h"

/* The runtime's sources, as the fuzzer was built from them (FZ_SRC_DIR: Makefile). */
#define FZ_EMBED(sym, file)							\
	__asm__(".pushsection .rodata\n.global " #sym "\n" #sym ":\n"		\
		".incbin \"" FZ_SRC_DIR "/" file "\"\n.byte 0\n.popsection\n")
FZ_EMBED(fz_runtime_h_src, "runtime.h");
FZ_EMBED(fz_runtime_c_src, "runtime.c");
extern const char fz_runtime_h_src[], fz_runtime_c_src[];

static const char *const fz_descs[] = {
#define FZ_DESC(n, d) d,
	FZ_OP_LIST(FZ_DESC)
#undef FZ_DESC
};

void fz_op_str(const struct fz_op *op, char *buf, size_t len)
{
	snprintf(buf, len, "%s h=%u m=%u s=%u v=%u a=0x%x b=0x%x x=0x%" PRIx64 " y=0x%" PRIx64
		 " z=0x%" PRIx64 "%s", fz_op_name(op->kind), op->h, op->m, op->s, op->v, op->a, op->b,
		 op->x, op->y, op->z, op->kind == FZ_RACE_PUNCH ? " (race)" : "");
}

void fz_obs_str(const struct fz_obs *o, char *buf, size_t len)
{
	snprintf(buf, len, "ret %d errno %d (%s) exit_reason %u signal %d code %d v {0x%" PRIx64
		 ", 0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 "}", o->ret, o->err,
		 o->err ? strerror(o->err) : "-", o->exit_reason, o->signo, o->code,
		 o->v[0], o->v[1], o->v[2], o->v[3]);
}

static void fz_emit_obs(FILE *f, const struct fz_obs *o)
{
	fprintf(f, "{ .ret = %d, .err = %d, .exit_reason = %u, .signo = %d, .code = %d, "
		   ".v = { 0x%" PRIx64 "ULL, 0x%" PRIx64 "ULL, 0x%" PRIx64 "ULL, 0x%" PRIx64 "ULL } }",
		o->ret, o->err, o->exit_reason, o->signo, o->code, o->v[0], o->v[1], o->v[2], o->v[3]);
}

/* The reproducer's main(): runs the table, compares as fz_match() does. */
static const char fz_repro_main[] =
"static int fz_same_obs(const struct fz_obs *a, const struct fz_obs *b, uint64_t ignore)\n"
"{\n"
"	struct fz_obs x = *a, y = *b;\n"
"\n"
"	x.v[0] &= ~ignore;\n"
"	y.v[0] &= ~ignore;\n"
"	return !memcmp(&x, &y, sizeof(x));\n"
"}\n"
"\n"
"int main(void)\n"
"{\n"
"	struct fz_world w;\n"
"\n"
"	if (fz_world_init(&w, FZ_VM_TYPE)) {\n"
"		perror(\"fz_world_init\");\n"
"		return 2;\n"
"	}\n"
"	for (unsigned int i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {\n"
"		struct fz_obs o = fz_exec(&w, &steps[i].op);\n"
"		int ok = steps[i].race ? fz_race_admissible(&o) :\n"
"			 fz_same_obs(&o, &steps[i].exp[0], steps[i].ignore) ||\n"
"			 (steps[i].n > 1 && fz_same_obs(&o, &steps[i].exp[1], steps[i].ignore));\n"
"\n"
"		if (!ok) {\n"
"			printf(\"DIVERGENCE at step %u (%s): ret %d errno %d exit_reason %u signal %d code %d \"\n"
"			       \"v {0x%llx, 0x%llx, 0x%llx, 0x%llx}; expected %s ret %d errno %d exit_reason %u \"\n"
"			       \"signal %d code %d v {0x%llx, 0x%llx, 0x%llx, 0x%llx}\\n\", i,\n"
"			       fz_op_name(steps[i].op.kind), o.ret, o.err, o.exit_reason, o.signo, o.code,\n"
"			       (unsigned long long)o.v[0], (unsigned long long)o.v[1],\n"
"			       (unsigned long long)o.v[2], (unsigned long long)o.v[3],\n"
"			       steps[i].race ? \"(old data or zeros)\" : \"\", steps[i].exp[0].ret,\n"
"			       steps[i].exp[0].err, steps[i].exp[0].exit_reason, steps[i].exp[0].signo,\n"
"			       steps[i].exp[0].code, (unsigned long long)steps[i].exp[0].v[0],\n"
"			       (unsigned long long)steps[i].exp[0].v[1], (unsigned long long)steps[i].exp[0].v[2],\n"
"			       (unsigned long long)steps[i].exp[0].v[3]);\n"
"			return 1;\n"
"		}\n"
"	}\n"
"	fz_world_free(&w);\n"
"	printf(\"no divergence in %u steps\\n\", (unsigned int)(sizeof(steps) / sizeof(steps[0])));\n"
"	return 0;\n"
"}\n";

int fz_write_repro(FILE *f, const struct fz_op *ops, const struct fz_expect *exp, int n,
		   const struct fz_caps *caps, const char *title)
{
	const char *rt = strstr(fz_runtime_c_src, "#include <errno.h>");

	fprintf(f, "// SPDX-License-Identifier: GPL-2.0\n"
		   "/*\n * privmem fuzz reproducer: %s, %d operations.\n"
		   " * Standalone on privmem's VM library (lib/): scripts/fuzz.sh --build-repro <this file>\n"
		   " * builds it; it exits 1 at the operation whose result differs from the model's.\n */\n"
		   "#define FZ_STANDALONE\n#include <stdio.h>\n#include <string.h>\n\n"
		   "/* ---- conformance/fuzz/runtime.h ---- */\n%s\n"
		   "/* ---- conformance/fuzz/runtime.c ---- */\n%s\n"
		   "#define FZ_VM_TYPE %luUL\n\n"
		   "static const struct {\n\tstruct fz_op op;\n\tint n, race;\n\tuint64_t ignore;\t\t/* v[0] bits the model admits either way */\n\tstruct fz_obs exp[2];\n"
		   "} steps[] = {\n", title, n, fz_runtime_h_src, rt ? rt : fz_runtime_c_src,
		caps->vm_type);
	for (int i = 0; i < n; i++) {
		const struct fz_op *op = &ops[i];

		fprintf(f, "\t/* %d: %s */\n\t{ { .kind = FZ_%s, .h = %u, .m = %u, .s = %u, .v = %u, "
			   ".a = 0x%x, .b = 0x%x, .x = 0x%" PRIx64 "ULL, .y = 0x%" PRIx64 "ULL, .z = 0x%" PRIx64
			   "ULL, .t = 0x%" PRIx64 "ULL },\n\t  %d, %d, 0x%" PRIx64 "ULL, { ",
			i, fz_descs[op->kind], fz_op_name(op->kind), op->h, op->m, op->s, op->v, op->a,
			op->b, op->x, op->y, op->z, op->t, exp[i].n, exp[i].race, exp[i].v0_ignore);
		fz_emit_obs(f, &exp[i].o[0]);
		if (exp[i].n > 1) {
			fputs(", ", f);
			fz_emit_obs(f, &exp[i].o[1]);
		}
		fputs(" } },\n", f);
	}
	fprintf(f, "};\n\n%s", fz_repro_main);
	return ferror(f) ? -1 : 0;
}
