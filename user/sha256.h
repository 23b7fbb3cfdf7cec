/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* SHA-256 (FIPS 180-4), for the policy digest: small, no library needed. */
#ifndef VW_SHA256_H
#define VW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define VW_SHA256_LEN 32

struct vw_sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	uint8_t buf[64];
	size_t used;
};

void vw_sha256_init(struct vw_sha256 *s);
void vw_sha256_update(struct vw_sha256 *s, const void *data, size_t len);
void vw_sha256_final(struct vw_sha256 *s, uint8_t out[VW_SHA256_LEN]);

#endif
