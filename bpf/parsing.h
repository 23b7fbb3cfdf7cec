/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsers for the XDP program. Each one bounds-checks against data_end before it reads,
 * advances the cursor past the header and returns the next protocol, or a negative value when the
 * header is truncated or inconsistent (the caller counts that as malformed).
 */
#ifndef VW_PARSING_H
#define VW_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)

#define PARSE_MALFORMED (-1)

struct hdr_cursor {
	void *pos;
};

struct vlan_tag {
	__be16 tci;
	__be16 encap_proto;
};

/* IPv6 fragment header (RFC 8200 section 4.5). */
struct frag6_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units << 3 | res | M */
	__be32 identification;
};

_Static_assert(sizeof(struct vlan_tag) == 4, "vlan tag layout");
_Static_assert(sizeof(struct frag6_hdr) == 8, "fragment header layout");

/* Ethernet plus up to VW_MAX_VLAN tags (802.1Q and 802.1ad in any order). Returns the inner
 * EtherType in network order. A third tag cannot be classified: malformed, never passed. */
static __always_inline int parse_eth(struct hdr_cursor *c, void *data_end)
{
	struct ethhdr *eth = c->pos;
	struct vlan_tag *tag;
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return PARSE_MALFORMED;
	proto = eth->h_proto;
	c->pos = eth + 1;

#pragma unroll
	for (i = 0; i < VW_MAX_VLAN; i++) {
		if (proto != ETH_P_8021Q_BE && proto != ETH_P_8021AD_BE)
			return proto;
		tag = c->pos;
		if ((void *)(tag + 1) > data_end)
			return PARSE_MALFORMED;
		proto = tag->encap_proto;
		c->pos = tag + 1;
	}
	if (proto == ETH_P_8021Q_BE || proto == ETH_P_8021AD_BE)
		return PARSE_MALFORMED;
	return proto;
}

/* Extension headers that share the (hdr_ext_len + 1) * 8 length rule (RFC 8200 4.3-4.6,
 * RFC 6275 mobility, RFC 7401 HIP, RFC 5533 shim6). AH (51) and fragment (44) are separate. */
static __always_inline int ipv6_is_generic_ext(__u8 nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 || nh == 140;
}

static __always_inline int ipv6_is_ext(__u8 nh)
{
	return ipv6_is_generic_ext(nh) || nh == 51 || nh == 44;
}

#endif /* VW_PARSING_H */
