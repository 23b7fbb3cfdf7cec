/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsers for the XDP program, in wire order: parse_eth (Ethernet and VLAN tags),
 * parse_ipv4 / parse_ipv6 (L3, the fragment key, the IPv6 extension-header chain) and parse_l4
 * (the destination port). Each one bounds-checks against data_end before it reads, advances the
 * cursor past its header and records what it found in struct pkt_meta; a negative return
 * (PARSE_MALFORMED) means the header is truncated or inconsistent, which the caller counts as
 * malformed. docs/datapath.md is the specification.
 */
#ifndef VW_PARSING_H
#define VW_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "voipwall.h"

#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)
#define ETH_P_PPP_SES_BE bpf_htons(0x8864)

/* PPP protocol numbers (RFC 1661, IANA ppp-numbers). */
#define PPP_IP 0x0021
#define PPP_IPV6 0x0057
/* Payloads the kernel's PPP layer may turn into IP but the program cannot read: VJ compressed
 * and uncompressed TCP/IP (RFC 1144), multilink fragments (RFC 1990), compressed datagrams
 * (RFC 1962). */
#define PPP_VJC_COMP 0x002d
#define PPP_VJC_UNCOMP 0x002f
#define PPP_MP 0x003d
#define PPP_COMPFRAG 0x00fb
#define PPP_COMP 0x00fd

/* How a frame starts: the link type of the interface the program is attached to. */
#define LINK_ETHER 0 /* Ethernet header, VLAN tags, PPPoE */
#define LINK_IP 1    /* no link-layer header: the IP header (tun, WireGuard, PPP, IP tunnels) */

/* IPv6 extension headers the kernel headers do not name (RFC 7401, RFC 5533). */
#ifndef IPPROTO_HIP
#define IPPROTO_HIP 139
#endif
#ifndef IPPROTO_SHIM6
#define IPPROTO_SHIM6 140
#endif

/* Results of the parsers. */
#define PARSE_MALFORMED (-1)
#define PARSE_OK 0
#define PARSE_LATER_FRAGMENT 1 /* L3: a later fragment, no L4 header to read */
#define PARSE_NO_PORTS 2       /* L4: a protocol without ports we classify */
#define PARSE_NON_IP 3         /* L2: neither IPv4 nor IPv6 */

struct hdr_cursor {
	void *pos;
};

struct vlan_tag {
	__be16 tci;
	__be16 encap_proto;
};

/* PPPoE session header (RFC 2516 section 4) and the PPP protocol field that follows it. */
struct pppoe_ppp_hdr {
	__u8 ver_type; /* version 1, type 1: 0x11 */
	__u8 code;     /* 0 for session data */
	__be16 session;
	__be16 length; /* PPPoE payload: the PPP protocol field and what follows */
	__be16 ppp_proto;
};

/* IPv6 fragment header (RFC 8200 section 4.5). */
struct frag6_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units << 3 | res | M */
	__be32 identification;
};

_Static_assert(sizeof(struct vlan_tag) == 4, "vlan tag layout");
_Static_assert(sizeof(struct pppoe_ppp_hdr) == 8, "PPPoE and PPP header layout");
_Static_assert(sizeof(struct frag6_hdr) == 8, "fragment header layout");

enum frag_kind {
	FRAG_NONE = 0,
	FRAG_FIRST,
	FRAG_LATER,
};

/* What the parsers found. Offsets are from the first byte of the IP header. fk is filled only
 * for fragments (frag != FRAG_NONE); src only once have_src is set. The small fields get 8 bytes
 * each: the verifier tracks stack liveness per 8-byte slot, and a field read only early (dport)
 * sharing a slot with one read at the end (frag) would keep apart states that could be pruned
 * (measured: a third more instructions verified with __u32 fields). */
struct pkt_meta {
	struct vw_frag_key fk;
	struct vw_src_key src; /* 4-byte aligned: map_v4 and copy_v6 write words */
	void *l4;	       /* L4 header: a packet pointer, the verifier bounds pointers */
	__u32 l3_off;	       /* offset of the IP header from the frame's first byte */
	__u32 l4_off;	       /* offset of the L4 header */
	__u32 l4_end;	       /* end of the L4 data: the IP datagram's length, not the frame's */
	__u64 dport;	       /* host order */
	__u64 l4_kind;	       /* enum vw_l4 */
	__u64 family;	       /* VW_FAMILY_V4 or VW_FAMILY_V6 once the IP header was read */
	__u64 proto;	       /* IPv4 protocol, or the upper-layer next header */
	__u64 frag;	       /* enum frag_kind */
	__u64 have_src;	       /* src is set */
};

static __always_inline void map_v4(__u8 *out, __be32 a)
{
	__u32 *w = (__u32 *)out;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0xffff);
	w[3] = a;
}

static __always_inline void copy_v6(__u8 *out, const struct in6_addr *a)
{
	__u32 *w = (__u32 *)out;

	w[0] = a->in6_u.u6_addr32[0];
	w[1] = a->in6_u.u6_addr32[1];
	w[2] = a->in6_u.u6_addr32[2];
	w[3] = a->in6_u.u6_addr32[3];
}

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

/* The frame's length, as far as the length checks below need it: len counts the first buffer
 * until a check needs more bytes than that; only then are all buffers counted, with a helper call
 * (bpf_xdp_get_buff_len) that a frame within its first buffer never pays. */
struct frame_len {
	__u32 len;
	__u32 all; /* len counts every buffer */
};

static __always_inline __u32 frame_len_all(struct xdp_md *ctx, struct frame_len *f)
{
	if (!f->all) {
		f->len = bpf_xdp_get_buff_len(ctx);
		f->all = 1;
	}
	return f->len;
}

/* Does the frame hold need bytes from offset off on? */
static __always_inline int frame_holds(struct xdp_md *ctx, struct frame_len *f, __u32 off,
				       __u32 need)
{
	__u64 end = (__u64)off + need;

	return end <= f->len || end <= frame_len_all(ctx, f);
}

/* A PPPoE session frame (RFC 2516) carrying PPP (RFC 1661), its header at offset off of the frame
 * f. avail gets the bytes of the PPP payload (the PPPoE length bounds the IP packet: the kernel
 * trims the frame to it). Returns the EtherType of the payload (IPv4, IPv6),
 * 0 for a PPP protocol that is not IP (control protocols: LCP, IPCP, IPV6CP, ...), or
 * PARSE_MALFORMED when a header is truncated, the PPPoE length disagrees with the frame, or the
 * payload is one the kernel may turn into IP that the program cannot read. */
static __always_inline int parse_pppoe(struct xdp_md *ctx, struct hdr_cursor *c, void *data_end,
				       struct frame_len *f, __u32 off, __u32 *avail)
{
	struct pppoe_ppp_hdr *h = c->pos;
	__u32 len;

	if ((void *)(h + 1) > data_end)
		return PARSE_MALFORMED;
	if (h->ver_type != 0x11 || h->code != 0)
		return PARSE_MALFORMED;
	len = bpf_ntohs(h->length);
	if (len < sizeof(h->ppp_proto) || !frame_holds(ctx, f, off, len + 6))
		return PARSE_MALFORMED;
	*avail = len - sizeof(h->ppp_proto);
	c->pos = h + 1;
	switch (bpf_ntohs(h->ppp_proto)) {
	case PPP_IP:
		return bpf_htons(ETH_P_IP);
	case PPP_IPV6:
		return bpf_htons(ETH_P_IPV6);
	case PPP_VJC_COMP:
	case PPP_VJC_UNCOMP:
	case PPP_MP:
	case PPP_COMPFRAG:
	case PPP_COMP:
		return PARSE_MALFORMED;
	default:
		return 0;
	}
}

/* A frame without a link-layer header: the version nibble says IPv4 or IPv6, as the kernel's
 * tun driver reads it; anything else cannot be IP and is malformed. */
static __always_inline int parse_raw_ip(struct hdr_cursor *c, void *data_end)
{
	__u8 *v = c->pos;

	if ((void *)(v + 1) > data_end)
		return PARSE_MALFORMED;
	if ((*v >> 4) == 4)
		return bpf_htons(ETH_P_IP);
	if ((*v >> 4) == 6)
		return bpf_htons(ETH_P_IPV6);
	return PARSE_MALFORMED;
}

/* IPv4 (RFC 791), at offset m->l3_off of the frame f. avail: the bytes a PPPoE length leaves the
 * packet (~0U without PPPoE); the frame must hold the packet too. */
static __always_inline int parse_ipv4(struct xdp_md *ctx, struct hdr_cursor *c, void *data_end,
				      struct frame_len *f, __u32 avail, struct pkt_meta *m)
{
	struct iphdr *iph = c->pos;
	__u32 hlen, tot;
	__u16 fo;

	if ((void *)(iph + 1) > data_end)
		return PARSE_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_MALFORMED;
	hlen = iph->ihl * 4;
	if (c->pos + hlen > data_end)
		return PARSE_MALFORMED;
	tot = bpf_ntohs(iph->tot_len);
	/* Bytes past tot_len are link padding; fewer bytes than tot_len: truncated. */
	if (tot < hlen || tot > avail || !frame_holds(ctx, f, m->l3_off, tot))
		return PARSE_MALFORMED;
	m->family = VW_FAMILY_V4;
	m->have_src = 1;
	m->proto = iph->protocol;
	map_v4(m->src.addr, iph->saddr);
	m->l4 = c->pos + hlen;
	m->l4_off = hlen;
	m->l4_end = tot;

	/* Offset in 8-byte units; MF says more fragments follow. */
	fo = bpf_ntohs(iph->frag_off);
	if (!(fo & 0x3fff))
		return PARSE_OK;
	/* The key is built only for fragments (its padding must be zero). */
	__builtin_memset(&m->fk, 0, sizeof(m->fk));
	m->fk.family = VW_FAMILY_V4;
	m->fk.proto = m->proto;
	m->fk.id = bpf_ntohs(iph->id);
	map_v4(m->fk.saddr, iph->saddr);
	map_v4(m->fk.daddr, iph->daddr);
	if (fo & 0x1fff) {
		m->frag = FRAG_LATER;
		return PARSE_LATER_FRAGMENT;
	}
	m->frag = FRAG_FIRST;
	return PARSE_OK;
}

/* Extension headers that share the (hdr_ext_len + 1) * 8 length rule (RFC 8200 4.3-4.6,
 * RFC 6275 mobility, RFC 7401 HIP, RFC 5533 shim6). AH and the fragment header are separate. */
static __always_inline int ipv6_is_generic_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_MH || nh == IPPROTO_HIP || nh == IPPROTO_SHIM6;
}

static __always_inline int ipv6_is_ext(__u8 nh)
{
	return ipv6_is_generic_ext(nh) || nh == IPPROTO_AH || nh == IPPROTO_FRAGMENT;
}

/* IPv6 (RFC 8200) and its extension-header chain. f and avail as for parse_ipv4. The fixed header
 * must lie in the first buffer; extension headers are copied out with bpf_xdp_load_bytes, so a
 * chain that runs past the first buffer of a multi-buffer frame is read like any other. */
static __always_inline int parse_ipv6(struct xdp_md *ctx, struct hdr_cursor *c, void *data_end,
				      struct frame_len *f, __u32 avail, struct pkt_meta *m)
{
	struct ipv6hdr *ip6h = c->pos;
	__u32 i, off, payload_end;
	int frag_hdrs = 0;
	__u8 h[8];
	__u8 nh;

	if ((void *)(ip6h + 1) > data_end)
		return PARSE_MALFORMED;
	if (ip6h->version != 6)
		return PARSE_MALFORMED;
	payload_end = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	if (payload_end > avail || !frame_holds(ctx, f, m->l3_off, payload_end))
		return PARSE_MALFORMED;
	m->family = VW_FAMILY_V6;
	m->have_src = 1;
	copy_v6(m->src.addr, &ip6h->saddr);
	nh = ip6h->nexthdr;
	off = sizeof(*ip6h);

	/* Section 4: walk the chain. Every header must lie whole inside the payload; a chain too
	 * long to walk is dropped, never passed. */
	for (i = 0; i < VW_MAX_IPV6_EXT; i++) {
		__u32 hl;

		if (!ipv6_is_ext(nh))
			break;
		if (off + 8 > payload_end || bpf_xdp_load_bytes(ctx, m->l3_off + off, h, 8))
			return PARSE_MALFORMED;
		if (nh == IPPROTO_FRAGMENT) {
			struct frag6_hdr *fh = (void *)h;
			__u16 fo = bpf_ntohs(fh->frag_off);

			hl = sizeof(*fh);
			if (frag_hdrs++) /* two fragment headers in one chain */
				return PARSE_MALFORMED;
			__builtin_memset(&m->fk, 0, sizeof(m->fk));
			m->fk.family = VW_FAMILY_V6;
			m->fk.proto = fh->nexthdr;
			m->fk.id = bpf_ntohl(fh->identification);
			copy_v6(m->fk.saddr, &ip6h->saddr);
			copy_v6(m->fk.daddr, &ip6h->daddr);
			if (fo >> 3) {
				m->frag = FRAG_LATER;
				return PARSE_LATER_FRAGMENT;
			}
			/* Offset 0 with M clear is an atomic fragment (RFC 6946): the whole
			 * datagram, classified like any other; nothing to remember. */
			if (fo & 1)
				m->frag = FRAG_FIRST;
		} else if (nh == IPPROTO_AH) {
			hl = ((__u32)h[1] + 2) * 4; /* RFC 4302: 32-bit words, minus 2 */
		} else {
			hl = ((__u32)h[1] + 1) * 8;
		}
		if (off + hl > payload_end)
			return PARSE_MALFORMED;
		nh = h[0];
		off += hl;
	}
	if (ipv6_is_ext(nh))
		return PARSE_MALFORMED;
	/* At most 40 + 12 * 2048 bytes: a bound the verifier can see for the pointer below. */
	if (off > 0x7fff)
		return PARSE_MALFORMED;
	m->proto = nh;
	m->l4 = (void *)ip6h + off;
	m->l4_off = off;
	m->l4_end = payload_end;
	return PARSE_OK;
}

/* The L4 header's fields, from its first bytes at h: in the packet, or a copy (one inlined
 * copy of each per caller). The caller made sure the bytes read here lie inside the L4 data. */
static __always_inline int l4_udp(const struct udphdr *uh, struct pkt_meta *m)
{
	__u32 ulen = bpf_ntohs(uh->len);

	/* IPv6 UDP with length 0: Linux takes the length from the payload (RFC 2675). */
	if (!ulen && m->family == VW_FAMILY_V6)
		ulen = m->l4_end - m->l4_off;
	if (ulen < sizeof(*uh) || (m->frag != FRAG_FIRST && ulen > m->l4_end - m->l4_off))
		return PARSE_MALFORMED;
	m->dport = bpf_ntohs(uh->dest);
	m->l4_kind = VW_L4_UDP;
	return PARSE_OK;
}

static __always_inline int l4_tcp(const struct tcphdr *th, struct pkt_meta *m)
{
	/* RFC 1858 / RFC 3128: the first fragment must carry the whole TCP header. */
	if (th->doff < 5 || m->l4_off + th->doff * 4 > m->l4_end)
		return PARSE_MALFORMED;
	m->dport = bpf_ntohs(th->dest);
	m->l4_kind = VW_L4_TCP;
	return PARSE_OK;
}

static __always_inline int l4_sctp(const __be16 *sh, struct pkt_meta *m)
{
	m->dport = bpf_ntohs(sh[1]); /* common header: sport, dport, vtag, checksum */
	m->l4_kind = VW_L4_SCTP;
	return PARSE_OK;
}

/* Read the L4 header of type T (n bytes) and judge it with fn: in place when it lies in the first
 * buffer, else copied out of the later buffers. It must lie inside the L4 data (bounded by the
 * IP length, not the frame). */
#define L4_READ(T, n, fn)                                                                          \
	do {                                                                                       \
		T *hp_ = m->l4;                                                                    \
		__u8 buf_[n];                                                                      \
                                                                                                   \
		if (m->l4_off + (n) > m->l4_end)                                                   \
			return PARSE_MALFORMED;                                                    \
		if ((void *)hp_ + (n) <= data_end)                                                 \
			return fn(hp_, m);                                                         \
		if (bpf_xdp_load_bytes(ctx, m->l3_off + m->l4_off, buf_, (n)))                     \
			return PARSE_MALFORMED;                                                    \
		return fn((T *)buf_, m);                                                           \
	} while (0)

/* UDP, TCP, SCTP: the destination port. */
static __always_inline int parse_l4(struct xdp_md *ctx, void *data_end, struct pkt_meta *m)
{
	if (m->proto == IPPROTO_UDP)
		L4_READ(struct udphdr, sizeof(struct udphdr), l4_udp);
	if (m->proto == IPPROTO_TCP)
		L4_READ(struct tcphdr, sizeof(struct tcphdr), l4_tcp);
	if (m->proto == IPPROTO_SCTP)
		L4_READ(__be16, 12, l4_sctp);
	return PARSE_NO_PORTS;
}

#endif /* VW_PARSING_H */
