/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Crafted frames for tests: Ethernet, VLAN tags (802.1Q, 802.1ad, any stack), IPv4 with options
 * and fragment fields, IPv6 with any extension-header chain, UDP, TCP, SCTP, payload and padding.
 *
 * Layers are appended in wire order; each layer fills in the "next protocol" field of the layer
 * before it (EtherType, IPv4 protocol, IPv6 next header), so a chain needs no bookkeeping.
 * pkt_finish() then fills the lengths (IPv4 total length, IPv6 payload length, UDP length) and
 * checksums (IPv4 header; UDP and TCP when the datagram is not fragmented; SCTP's is left zero),
 * unless a length was fixed on purpose to build a malformed frame.
 *
 * Misuse (a frame past PKT_MAX, a layer in the wrong place) is a bug in the test: it prints what
 * happened and aborts. pkt_build() reports spec errors instead.
 *
 * The same frames as a one-line spec, for test tables (see pkt_build()):
 *   "eth q=10 ad=20 ip4=198.18.2.10>198.18.100.1 opt=8 udp=5060>5060 data=100"
 */
#ifndef VW_TEST_PKT_H
#define VW_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

/* Large enough for a jumbo frame (multi-buffer XDP). */
#define PKT_MAX 16384

struct pkt {
	__u8 data[PKT_MAX];
	size_t len;
	int next_off;	/* the pending next-protocol field (-1: none) ... */
	int next_width; /* ... and its width in bytes (2: EtherType, 1: IP protocol) */
	int l3_off;	/* IPv4/IPv6 header offset, -1 if none */
	int l3_family;	/* 4 or 6 */
	int l4_off;	/* UDP/TCP/SCTP header offset, -1 if none */
	__u8 l4_proto;
	bool frag; /* IPv4 MF/offset set, or an IPv6 fragment header that is not atomic */
	/* Overrides applied by pkt_finish() (-1: computed). */
	int ip4_tot, ip4_ihl, ip_ver, ip6_plen, udp_len;
	int pppoe_off;	/* PPPoE header offset, -1 if none; the next field is then a PPP protocol */
	int pppoe_len;	/* override of the PPPoE length (-1: computed) */
	size_t pad;	       /* link padding appended after the datagram by pkt_finish() */
	__u8 src[16], dst[16]; /* the IP addresses as on the wire (IPv4 in the first 4 bytes) */
};

void pkt_init(struct pkt *p);
/* Ethernet II, fixed MACs; the next layer sets the EtherType (or pkt_set_next()). */
void pkt_eth(struct pkt *p);
/* A VLAN tag: tpid 0x8100 (802.1Q) or 0x88a8 (802.1ad), or anything else on purpose. */
void pkt_vlan(struct pkt *p, __u16 tpid, __u16 vid);
/* PPPoE session header (RFC 2516: version/type 0x11, code 0) and the PPP protocol field, which the
 * next layer sets (0x0021 for IPv4, 0x0057 for IPv6); the EtherType before it becomes 0x8864. */
void pkt_pppoe(struct pkt *p, __u16 session);
/* IPv4 header with opt_len bytes of options (NOPs, a multiple of 4, at most 40). */
void pkt_ipv4(struct pkt *p, const char *src, const char *dst, unsigned int opt_len);
/* Fragment fields of the IPv4 header just added: identification, offset (8-byte units), MF. */
void pkt_ipv4_frag(struct pkt *p, __u16 id, __u16 off8, bool mf);
void pkt_ipv6(struct pkt *p, const char *src, const char *dst);
/* An IPv6 extension header of type nh (0, 43, 60, 135, 139, 140: len a multiple of 8, at least
 * 8; 51 AH: a multiple of 4, at least 8), contents zero but for its length field. */
void pkt_ipv6_ext(struct pkt *p, __u8 nh, unsigned int len);
/* IPv6 fragment header (44): identification, offset (8-byte units), M. */
void pkt_ipv6_frag(struct pkt *p, __u32 id, __u16 off8, bool m);
void pkt_udp(struct pkt *p, __u16 sport, __u16 dport);
/* TCP with opt_len option bytes (multiple of 4); data offset (5 + opt_len / 4) unless doff > 0. */
void pkt_tcp(struct pkt *p, __u16 sport, __u16 dport, __u8 flags, unsigned int opt_len,
	     unsigned int doff);
/* SCTP common header (12 bytes). */
void pkt_sctp(struct pkt *p, __u16 sport, __u16 dport);
/* n payload bytes (a counting pattern). */
void pkt_data(struct pkt *p, size_t n);
/* Write the pending next-protocol field (e.g. the protocol of a later fragment with no L4). */
void pkt_set_next(struct pkt *p, unsigned int v);
/* Fill lengths and checksums, apply overrides, append padding. Call once, last. */
void pkt_finish(struct pkt *p);

/*
 * Build a frame from a spec: space-separated layers in wire order, each followed by its
 * attributes. Numbers are decimal or 0x-hex. Then pkt_finish() is applied.
 *   eth[=TYPE]          Ethernet; TYPE fixes the EtherType (e.g. eth=0x0806 for ARP)
 *   q[=VID]  ad[=VID]   802.1Q / 802.1ad tag;  tag=TPID adds a tag of any other type
 *   type=TYPE           fixes the pending EtherType (after tags: e.g. "eth q=5 type=0x0806")
 *                       or PPP protocol (after pppoe: e.g. "eth pppoe type=0xc021")
 *   pppoe[=SESSION]     PPPoE session header + PPP protocol. len=N overrides the PPPoE
 *                       length, ver=N the version/type byte, code=N the code
 *   (a spec may start at ip4/ip6: a frame without a link-layer header)
 *   ip4=SRC>DST         IPv4. opt=N option bytes, id=N, off=N (8-byte units), mf, df, rb
 *                       (the reserved flag), proto=N, and overrides: ihl=N tot=N ver=N
 *   ip6=SRC>DST         IPv6. nh=N, and overrides: plen=N ver=N
 *   hbh rt dst mh hip shim6 [=LEN]   extension header 0/43/60/135/139/140 (LEN default 8)
 *   ah[=LEN]            AH (LEN default 16);  ext=TYPE:LEN  any header type with a generic length
 *   frag                IPv6 fragment header. id=N, off=N, mf, nh=N
 *   udp=SP>DP           UDP. len=N overrides the UDP length
 *   tcp=SP>DP           TCP. opt=N option bytes, doff=N data offset field, flags=N
 *   sctp=SP>DP          SCTP common header
 *   data=N              N payload bytes
 *   pad=N               N bytes of link padding after the datagram
 * Returns 0, or -EINVAL after printing the offending token to err (when not NULL).
 */
int pkt_build(struct pkt *p, const char *spec, FILE *err);

/* Print len bytes as hex, 32 a line, each line indented by two spaces. */
void pkt_hex(FILE *f, const void *data, size_t len);

#endif
