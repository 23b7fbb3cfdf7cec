/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Names of the shared enums, for output and parsing. */
#ifndef VW_NAMES_H
#define VW_NAMES_H

#include "voipwall.h"

extern const char *const vw_verdict_names[VW_VERDICT_MAX];
extern const char *const vw_reason_names[VW_REASON_MAX];
extern const char *const vw_l4_names[VW_L4_MAX];

/* Name of an enum value, or "unknown" when out of range. */
const char *vw_verdict_name(unsigned int v);
const char *vw_reason_name(unsigned int r);
const char *vw_l4_name(unsigned int p);

#endif
