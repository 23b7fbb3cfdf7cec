/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Addresses in text, as a config or a block feed writes them: the same answers as inet_pton(3),
 * without its per-call costs, for the million prefixes of a large config. */
#ifndef VW_ADDRTEXT_H
#define VW_ADDRTEXT_H

#include <linux/types.h>
#include <stddef.h>

/* Parse s[0..len) as an IPv4 dotted quad (four decimal parts of 0..255, no leading zeros) into
 * out[0..3], network order. 1 when it is one, else 0; the same as inet_pton(AF_INET). */
int vw_text_v4(const char *s, size_t len, __u8 *out);
/* Parse s[0..len) as an IPv6 address into out[0..15]. 1 when it is one, else 0; the same as
 * inet_pton(AF_INET6), which it calls for the rare form with an IPv4 tail (::ffff:1.2.3.4). */
int vw_text_v6(const char *s, size_t len, __u8 *out);

#endif
