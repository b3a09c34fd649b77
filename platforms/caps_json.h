/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PRIVMEM_CAPS_JSON_H
#define PRIVMEM_CAPS_JSON_H

#include <jansson.h>

#include "caps.h"

/* The probe result as a JSON object (schema privmem-caps/1), platforms included. */
json_t *pm_caps_json(const struct pm_caps *c);

#endif
