// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Frame dissection and HEPv3 encoding (see hep.h). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include "hep.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define MAX_VLAN 2
#define MAX_IPV6_EXT 12

/* HEPv3 generic chunk types (vendor 0). */
enum {
	HEP_IP_FAMILY = 1,
	HEP_IP_PROTO = 2,
	HEP_IPV4_SRC = 3,
	HEP_IPV4_DST = 4,
	HEP_IPV6_SRC = 5,
	HEP_IPV6_DST = 6,
	HEP_SRC_PORT = 7,
	HEP_DST_PORT = 8,
	HEP_TS_SEC = 9,
	HEP_TS_USEC = 10,
	HEP_PROTO_TYPE = 11,
	HEP_CAPTURE_ID = 12,
	HEP_PAYLOAD = 15,
};
/* IP family chunk values: the specification uses the BSD socket numbers. */
#define HEP_FAMILY_IPV4 2
#define HEP_FAMILY_IPV6 10

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static int parse_l4(const __u8 *f, size_t off, size_t end, struct vw_frame_info *fi, bool later)
{
	size_t hl = 0;

	fi->payload_off = off;
	fi->payload_len = end > off ? end - off : 0;
	if (later)
		return 0; /* a later fragment: data only, no header */
	switch (fi->proto) {
	case 17: /* UDP */
		hl = 8;
		break;
	case 6: /* TCP */
		if (off + 13 <= end)
			hl = (size_t)(f[off + 12] >> 4) * 4;
		if (hl < 20)
			hl = 20;
		break;
	case 132: /* SCTP common header */
		hl = 12;
		break;
	default:
		return 0;
	}
	if (off + 4 <= end) {
		fi->sport = get16(f + off);
		fi->dport = get16(f + off + 2);
		fi->has_ports = true;
	}
	off += hl;
	fi->payload_off = off < end ? off : end;
	fi->payload_len = end > off ? end - off : 0;
	return 0;
}

static int parse_v4(const __u8 *f, size_t off, size_t len, struct vw_frame_info *fi)
{
	size_t hl, tot, end;
	__u16 fo;

	if (off + 20 > len || f[off] >> 4 != 4)
		return -EBADMSG;
	hl = (size_t)(f[off] & 0xf) * 4;
	tot = get16(f + off + 2);
	if (hl < 20 || tot < hl || off + hl > len)
		return -EBADMSG;
	fi->family = 4;
	fi->proto = f[off + 9];
	memcpy(fi->src, f + off + 12, 4);
	memcpy(fi->dst, f + off + 16, 4);
	fo = get16(f + off + 6);
	fi->fragment = (fo & 0x3fff) != 0; /* MF or an offset (RFC 791) */
	end = off + tot < len ? off + tot : len;
	return parse_l4(f, off + hl, end, fi, (fo & 0x1fff) != 0);
}

static int parse_v6(const __u8 *f, size_t off, size_t len, struct vw_frame_info *fi)
{
	size_t end, pos;
	bool later = false;
	__u8 nh;

	if (off + 40 > len || f[off] >> 4 != 6)
		return -EBADMSG;
	fi->family = 6;
	memcpy(fi->src, f + off + 8, 16);
	memcpy(fi->dst, f + off + 24, 16);
	end = off + 40 + get16(f + off + 4);
	if (end > len)
		end = len;
	nh = f[off + 6];
	pos = off + 40;
	for (int i = 0; i < MAX_IPV6_EXT; i++) {
		size_t hl;

		if (nh == 44) { /* fragment header (RFC 8200 4.5) */
			if (pos + 8 > end)
				return -EBADMSG;
			fi->fragment = (get16(f + pos + 2) & 0xfff9) != 0;
			later = (get16(f + pos + 2) >> 3) != 0;
			hl = 8;
		} else if (nh == 51) { /* AH (RFC 4302) */
			if (pos + 2 > end)
				return -EBADMSG;
			hl = ((size_t)f[pos + 1] + 2) * 4;
		} else if (nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 ||
			   nh == 140) {
			if (pos + 2 > end)
				return -EBADMSG;
			hl = ((size_t)f[pos + 1] + 1) * 8;
		} else {
			break;
		}
		if (pos + hl > end)
			return -EBADMSG;
		nh = f[pos];
		pos += hl;
		if (later)
			break; /* what follows a later fragment's header is data */
	}
	fi->proto = nh;
	return parse_l4(f, pos, end, fi, later);
}

int vw_frame_parse(const __u8 *f, size_t len, struct vw_frame_info *fi)
{
	size_t off = ETH_HLEN;
	__u16 type;

	memset(fi, 0, sizeof(*fi));
	if (len < ETH_HLEN)
		return -EPROTONOSUPPORT;
	type = get16(f + 12);
	for (int i = 0; i < MAX_VLAN && (type == ETH_P_8021Q || type == ETH_P_8021AD); i++) {
		if (off + 4 > len)
			return -EPROTONOSUPPORT;
		type = get16(f + off + 2);
		off += 4;
	}
	if (type == ETH_P_IP)
		return parse_v4(f, off, len, fi);
	if (type == ETH_P_IPV6)
		return parse_v6(f, off, len, fi);
	return -EPROTONOSUPPORT;
}

struct hep_buf {
	__u8 *p;
	size_t len, cap;
	bool overflow;
};

static void chunk(struct hep_buf *b, __u16 type, const void *val, size_t len)
{
	__u16 v[3] = { 0, htons(type), htons((__u16)(6 + len)) };

	if (b->overflow || b->len + 6 + len > b->cap || 6 + len > VW_HEP_MAX) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, v, 6);
	memcpy(b->p + b->len + 6, val, len);
	b->len += 6 + len;
}

static void chunk8(struct hep_buf *b, __u16 type, __u8 v)
{
	chunk(b, type, &v, 1);
}

static void chunk16(struct hep_buf *b, __u16 type, __u16 v)
{
	v = htons(v);
	chunk(b, type, &v, 2);
}

static void chunk32(struct hep_buf *b, __u16 type, __u32 v)
{
	v = htonl(v);
	chunk(b, type, &v, 4);
}

ssize_t vw_hep_encode(const struct vw_frame_info *fi, const __u8 *frame,
		      const struct vw_hep_meta *m, __u8 *out, size_t cap)
{
	struct hep_buf b = { .p = out, .len = 6, .cap = cap < VW_HEP_MAX ? cap : VW_HEP_MAX };
	size_t alen = fi->family == 4 ? 4 : 16;
	__u16 total;

	if (cap < 6)
		return -EMSGSIZE;
	chunk8(&b, HEP_IP_FAMILY, fi->family == 4 ? HEP_FAMILY_IPV4 : HEP_FAMILY_IPV6);
	chunk8(&b, HEP_IP_PROTO, fi->proto);
	chunk16(&b, HEP_SRC_PORT, fi->sport);
	chunk16(&b, HEP_DST_PORT, fi->dport);
	chunk32(&b, HEP_TS_SEC, (__u32)(m->ts_ns / 1000000000ULL));
	chunk32(&b, HEP_TS_USEC, (__u32)(m->ts_ns % 1000000000ULL / 1000));
	chunk8(&b, HEP_PROTO_TYPE, m->proto_type);
	chunk32(&b, HEP_CAPTURE_ID, m->capture_id);
	chunk(&b, fi->family == 4 ? HEP_IPV4_SRC : HEP_IPV6_SRC, fi->src, alen);
	chunk(&b, fi->family == 4 ? HEP_IPV4_DST : HEP_IPV6_DST, fi->dst, alen);
	chunk(&b, HEP_PAYLOAD, frame + fi->payload_off, fi->payload_len);
	if (b.overflow)
		return -EMSGSIZE;
	memcpy(out, "HEP3", 4);
	total = htons((__u16)b.len);
	memcpy(out + 4, &total, 2);
	return (ssize_t)b.len;
}
