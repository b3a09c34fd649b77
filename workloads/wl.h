/* SPDX-License-Identifier: GPL-2.0 */
/* What the workloads share: page sizes, and the four costs they report (bench/lib/pmb_costs.h). */
#ifndef PRIVMEM_WL_H
#define PRIVMEM_WL_H

#include "pmb_costs.h"
#include "pmb_util.h"

#define WL_PAGE		4096UL
#define WL_HPAGE	(2UL << 20)
#define WL_PER_HPAGE	(WL_HPAGE / WL_PAGE)

#endif
