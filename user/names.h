/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Names of the shared enums, for output and parsing. */
#ifndef VW_NAMES_H
#define VW_NAMES_H

#include <stddef.h>
#include "voipwall.h"

/* Declared without a size, so the _Static_asserts in names.c check the real lengths. */
extern const char *const vw_verdict_names[];
extern const char *const vw_reason_names[];
extern const char *const vw_l4_names[];
extern const char *const vw_policy_names[];

/* Name of an enum value, or "unknown" when out of range. */
const char *vw_verdict_name(unsigned int v);
const char *vw_reason_name(unsigned int r);
const char *vw_l4_name(unsigned int p);
const char *vw_policy_name(unsigned int p);

/* The policy called name, or -1. */
int vw_policy_parse(const char *name);
/* The policy names as a list for messages ("drop, monitor or open"), in buf. */
const char *vw_policy_list(char *buf, size_t len);

#endif
