// SPDX-License-Identifier: GPL-2.0
/* References a benchmark attaches to a metric itself (pmb_util.h). */
#include "pmb_util.h"

void pmb_ref_inverse(struct pmb *b, json_t *metric, enum pmb_ref r, const char *ratio_means)
{
	const struct pmb_stats *rs = pmb_ref(b, r);
	double med = json_number_value(json_object_get(json_object_get(metric, "stats"), "median"));
	json_t *ref = json_pack("{s:s, s:s, s:s, s:s}", "name", pmb_ref_name(r), "unit", pmb_ref_unit(r),
				"ratio_means", ratio_means, "inverse", "ratio = median * ref_median / 1e9");

	json_object_set_new(ref, "median", rs->n ? json_real(rs->median) : json_null());
	json_object_set_new(ref, "ratio", rs->n && rs->median > 0 ? json_real(med * rs->median / 1e9)
							: json_null());
	json_object_set_new(metric, "reference", ref);
}

void pmb_ref_local(json_t *metric, const char *name, const char *unit, double ref_median,
		   double ratio, const char *ratio_means)
{
	json_object_set_new(metric, "reference", json_pack("{s:s, s:s, s:f, s:f, s:s}", "name", name,
		"unit", unit, "median", ref_median, "ratio", ratio, "ratio_means", ratio_means));
}
