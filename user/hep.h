/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* HEPv3 (the sipcapture HEP/EEP specification) encoding of captured frames, for HOMER,
 * heplify-server or sngrep collectors. */
#ifndef VW_HEP_H
#define VW_HEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* HEP "protocol type" chunk values (the specification's table; voipwall sends SIP). */
#define VW_HEP_PROTO_SIP 1
/* A HEP packet's length field is 16 bits. */
#define VW_HEP_MAX 65535

/* What a captured Ethernet frame carries, as far as its captured bytes tell. */
struct vw_frame_info {
	int family;        /* 4 or 6 */
	__u8 proto;        /* the datagram's IP protocol (a fragment's too) */
	__u8 src[16];      /* IPv4 in src[0..3] */
	__u8 dst[16];
	__u16 sport, dport; /* 0 when there are none (a later fragment, a protocol without ports) */
	bool fragment;     /* one fragment of a datagram */
	bool has_ports;
	size_t payload_off; /* what follows the L4 header (or the IP header when there is none) */
	size_t payload_len; /* within the captured bytes and the IP length */
};

/* Dissect Ethernet (up to two VLAN tags), IPv4 or IPv6 (extension headers, fragments), then UDP,
 * TCP or SCTP. Returns 0, -EPROTONOSUPPORT for a frame that is not IP, -EBADMSG for an IP header
 * cut short or inconsistent. */
int vw_frame_parse(const __u8 *frame, size_t len, struct vw_frame_info *fi);

struct vw_hep_meta {
	__u64 ts_ns;      /* Unix time */
	__u32 capture_id; /* capture agent id (--hep-id) */
	__u8 proto_type;  /* VW_HEP_PROTO_* */
};

/* Encode one HEPv3 packet for fi (payload taken from frame) into out. Chunk order follows the
 * reference senders (family, protocol, ports, time, type, agent id, addresses, payload), which
 * some collectors rely on. Returns its length, or -EMSGSIZE when it does not fit in cap or in
 * HEP's 16-bit length. */
ssize_t vw_hep_encode(const struct vw_frame_info *fi, const __u8 *frame,
		      const struct vw_hep_meta *m, __u8 *out, size_t cap);

#endif
