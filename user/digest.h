/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The policy digest: a short hash of a config in normalized form, equal on every node that
 * applies the same policy however its files are written (order, includes, spelling of prefixes,
 * class ids). Normalized form (one line each, '\n'-terminated; docs/cli.md describes it):
 *
 *   voipwall-policy 1
 *   class NAME POLICY                 classes sorted by name; POLICY drop or monitor
 *   port NAME PROTO LO-HI             per class (by name), per protocol (udp, tcp, sctp), the
 *                                     maximal runs of its ports, ascending
 *   allow PREFIX CLASS[,CLASS...]     rules sorted by family (IPv4 first), address, length;
 *                                     canonical prefix text with its length; class names sorted
 *
 * Class ids, the source path and rules with no class left are not part of it. */
#ifndef VW_DIGEST_H
#define VW_DIGEST_H

#include <stdio.h>
#include "config.h"

/* 16 hex digits (the first 64 bits of the SHA-256 of the normalized form) and a NUL. */
#define VW_DIGEST_STRLEN 17

/* Write cfg's normalized form to f. -errno on failure. */
int vw_policy_write_normalized(const struct vw_config *cfg, FILE *f);
/* cfg's digest into out. -errno on failure. */
int vw_policy_digest(const struct vw_config *cfg, char out[VW_DIGEST_STRLEN]);

#endif
