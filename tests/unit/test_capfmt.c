// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The capture's output formats, read back field by field: pcapng blocks (section header,
 * interface descriptions with name and nanosecond resolution, enhanced packet blocks with
 * lengths, padding, comment and inbound flag; -EPIPE when the reader is gone) and HEPv3 packets
 * (the chunks, their order, values and payload) for UDP, TCP, SCTP, VLAN-tagged, IPv4 and IPv6,
 * first and later fragments, a protocol without ports, a frame cut by the snaplen, and frames
 * that are not IP or whose IP header is broken.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hep.h"
#include "lib/pkt.h"
#include "pcapng.h"

static unsigned int failures;

static void pass(const char *name)
{
	printf("PASS %s\n", name);
}

static void __attribute__((format(printf, 2, 3))) fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

/* ---- pcapng ---------------------------------------------------------------------------------- */

static __u32 rd32(const __u8 *p)
{
	__u32 v;

	memcpy(&v, p, 4);
	return v;
}

static __u16 rd16(const __u8 *p)
{
	__u16 v;

	memcpy(&v, p, 2);
	return v;
}

/* The option `code` of a block's options area [p, end): its value and length, or NULL. */
static const __u8 *find_opt(const __u8 *p, const __u8 *end, __u16 code, __u16 *len)
{
	while (p + 4 <= end) {
		__u16 c = rd16(p), l = rd16(p + 2);

		if (c == 0)
			return NULL;
		if (c == code) {
			*len = l;
			return p + 4;
		}
		p += 4 + ((l + 3) & ~3);
	}
	return NULL;
}

static void test_pcapng(void)
{
	const char *name = "pcapng_blocks";
	struct vw_pcapng w;
	__u8 frame[61], buf[4096];
	const __u8 *b, *o, *end;
	__u16 olen;
	ssize_t n;
	int fd = memfd_create("pcapng", 0), id0, id1;

	for (unsigned int i = 0; i < sizeof(frame); i++)
		frame[i] = (__u8)i;
	if (fd < 0 || vw_pcapng_open(&w, fd, "voipwall capture")) {
		fail(name, "cannot start a section");
		return;
	}
	id0 = vw_pcapng_add_iface(&w, 7, "wan0", "voipwall XDP ingress", 1500);
	id1 = vw_pcapng_add_iface(&w, 9, "wan1", NULL, 1500);
	if (id0 != 0 || id1 != 1 || vw_pcapng_iface_id(&w, 9) != 1 ||
	    vw_pcapng_iface_id(&w, 8) != -1) {
		fail(name, "interface ids %d %d, lookup %d %d; want 0 1 1 -1", id0, id1,
		     vw_pcapng_iface_id(&w, 9), vw_pcapng_iface_id(&w, 8));
		return;
	}
	if (vw_pcapng_packet(&w, 1, 1700000000123456789ULL, frame, 61, 1400,
			     "class=sip verdict=drop reason=not_allowlisted") ||
	    vw_pcapng_packet(&w, 0, 5, frame, 60, 60, NULL) ||
	    vw_pcapng_packet(&w, 2, 5, frame, 60, 60, NULL) != -EINVAL) {
		fail(name, "cannot write the packets (or wrote one for a missing interface)");
		return;
	}
	vw_pcapng_close(&w);
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);

	/* walk the blocks: type, lengths equal at both ends, multiple of 4 */
	{
		__u32 types[8], i = 0, off = 0;

		while (off + 12 <= (size_t)n && i < 8) {
			__u32 len = rd32(buf + off + 4);

			if (len % 4 || len < 12 || off + len > (size_t)n ||
			    rd32(buf + off + len - 4) != len) {
				fail(name, "block %u at %u: bad length %u", i, off, len);
				return;
			}
			types[i++] = rd32(buf + off);
			off += len;
		}
		if (off != (size_t)n || i != 5 || types[0] != 0x0A0D0D0A || types[1] != 1 ||
		    types[2] != 1 || types[3] != 6 || types[4] != 6) {
			fail(name, "blocks %u (want SHB IDB IDB EPB EPB) ending at %u of %zd", i, off,
			     n);
			return;
		}
	}
	b = buf;
	if (rd32(b + 8) != 0x1A2B3C4D || rd16(b + 12) != 1 || rd16(b + 14) != 0) {
		fail(name, "section header magic/version wrong");
		return;
	}
	b += rd32(b + 4); /* first IDB */
	end = b + rd32(b + 4) - 4;
	o = find_opt(b + 16, end, 2, &olen);
	if (rd16(b + 8) != 1 || rd32(b + 12) != 1500 || !o || olen != 4 || memcmp(o, "wan0", 4)) {
		fail(name, "interface block: linktype %u snaplen %u name %.*s", rd16(b + 8),
		     rd32(b + 12), o ? olen : 0, o ? (const char *)o : "");
		return;
	}
	o = find_opt(b + 16, end, 9, &olen);
	if (!o || olen != 1 || *o != 9) {
		fail(name, "interface block: no if_tsresol 9");
		return;
	}
	b += rd32(b + 4);
	b += rd32(b + 4); /* first EPB */
	end = b + rd32(b + 4) - 4;
	if (rd32(b + 8) != 1 || ((__u64)rd32(b + 12) << 32 | rd32(b + 16)) != 1700000000123456789ULL ||
	    rd32(b + 20) != 61 || rd32(b + 24) != 1400 || memcmp(b + 28, frame, 61) ||
	    b[28 + 61] || b[28 + 62] || b[28 + 63]) {
		fail(name, "packet block: interface %u caplen %u origlen %u", rd32(b + 8),
		     rd32(b + 20), rd32(b + 24));
		return;
	}
	o = find_opt(b + 28 + 64, end, 1, &olen);
	if (!o || olen != strlen("class=sip verdict=drop reason=not_allowlisted") ||
	    memcmp(o, "class=sip verdict=drop reason=not_allowlisted", olen)) {
		fail(name, "packet block: comment missing or wrong");
		return;
	}
	o = find_opt(b + 28 + 64, end, 2, &olen);
	if (!o || olen != 4 || (rd32(o) & 3) != 1) {
		fail(name, "packet block: no inbound flag");
		return;
	}
	b += rd32(b + 4);
	end = b + rd32(b + 4) - 4;
	if (find_opt(b + 28 + 60, end, 1, &olen)) {
		fail(name, "packet block without comment has one");
		return;
	}
	pass(name);
}

static void test_pcapng_epipe(void)
{
	struct vw_pcapng w;
	__u8 frame[60] = {};
	int p[2], err;

	signal(SIGPIPE, SIG_IGN);
	if (pipe(p)) {
		fail("pcapng_reader_gone", "pipe: %s", strerror(errno));
		return;
	}
	err = vw_pcapng_open(&w, p[1], "t");
	if (!err)
		err = vw_pcapng_add_iface(&w, 1, "x", NULL, 60) < 0;
	close(p[0]);
	if (!err)
		err = vw_pcapng_packet(&w, 0, 1, frame, 60, 60, "c");
	vw_pcapng_close(&w);
	close(p[1]);
	if (err != -EPIPE)
		fail("pcapng_reader_gone", "writing after the reader left gave %d, want -EPIPE", err);
	else
		pass("pcapng_reader_gone");
}

/* ---- HEP ------------------------------------------------------------------------------------- */

struct hep_dec {
	unsigned int n;
	__u16 order[16];
	const __u8 *val[32];
	__u16 len[32];
};

static int hep_decode(const __u8 *p, size_t n, struct hep_dec *d)
{
	size_t off = 6;

	memset(d, 0, sizeof(*d));
	if (n < 6 || memcmp(p, "HEP3", 4) || ntohs(*(const __u16 *)(p + 4)) != n)
		return -1;
	while (off < n) {
		__u16 vendor, type, len;

		if (off + 6 > n)
			return -1;
		memcpy(&vendor, p + off, 2);
		memcpy(&type, p + off + 2, 2);
		memcpy(&len, p + off + 4, 2);
		vendor = ntohs(vendor), type = ntohs(type), len = ntohs(len);
		if (vendor || len < 6 || off + len > n || type >= 32 || d->n >= 16)
			return -1;
		d->order[d->n++] = type;
		d->val[type] = p + off + 6;
		d->len[type] = len - 6;
		off += len;
	}
	return 0;
}

static unsigned int u8v(const struct hep_dec *d, int t)
{
	return d->len[t] == 1 ? d->val[t][0] : 0xffff;
}

static unsigned int u16v(const struct hep_dec *d, int t)
{
	return d->len[t] == 2 ? (unsigned int)(d->val[t][0] << 8 | d->val[t][1]) : 0xfffff;
}

static unsigned long long u32v(const struct hep_dec *d, int t)
{
	return d->len[t] == 4 ? (unsigned long long)ntohl(*(const __u32 *)d->val[t]) : ~0ULL;
}

struct hep_case {
	const char *name, *spec;
	size_t snap;        /* 0: the whole frame */
	int want_err;       /* of vw_frame_parse */
	unsigned int family, proto, sport, dport;
	int payload_from;   /* offset in the frame of the payload: -1 l4 + hl, -2 after IP header */
	size_t l4hl;        /* L4 header length skipped (UDP 8, TCP 20 + options, SCTP 12, 0) */
};

static void test_hep_case(const struct hep_case *c)
{
	static struct pkt p;
	struct vw_frame_info fi;
	struct vw_hep_meta m = { .ts_ns = 1700000000123456789ULL, .capture_id = 42,
				 .proto_type = VW_HEP_PROTO_SIP };
	__u16 want_order[] = { 1, 2, 7, 8, 9, 10, 11, 12, 3, 4, 15 };
	__u8 out[VW_HEP_MAX];
	struct hep_dec d;
	size_t len, poff, plen, ipend;
	ssize_t n;
	int err;

	if (pkt_build(&p, c->spec, stdout)) {
		fail(c->name, "bad spec");
		return;
	}
	len = c->snap && c->snap < p.len ? c->snap : p.len;
	err = vw_frame_parse(p.data, len, &fi);
	if (err != c->want_err) {
		fail(c->name, "vw_frame_parse gave %d, want %d", err, c->want_err);
		return;
	}
	if (err) {
		pass(c->name);
		return;
	}
	n = vw_hep_encode(&fi, p.data, &m, out, sizeof(out));
	if (n < 0 || hep_decode(out, (size_t)n, &d)) {
		fail(c->name, "encode gave %zd, or it does not decode", n);
		return;
	}
	if (c->family == 10) {
		want_order[8] = 5;
		want_order[9] = 6;
	}
	if (d.n != 11 || memcmp(d.order, want_order, sizeof(want_order))) {
		fail(c->name, "%u chunks or not in the reference order", d.n);
		return;
	}
	if (u8v(&d, 1) != c->family || u8v(&d, 2) != c->proto || u16v(&d, 7) != c->sport ||
	    u16v(&d, 8) != c->dport || u32v(&d, 9) != 1700000000ULL || u32v(&d, 10) != 123456 ||
	    u8v(&d, 11) != 1 || u32v(&d, 12) != 42) {
		fail(c->name,
		     "family %u proto %u ports %u>%u time %llu.%06llu type %u id %llu; want %u %u "
		     "%u>%u 1700000000.123456 1 42",
		     u8v(&d, 1), u8v(&d, 2), u16v(&d, 7), u16v(&d, 8), u32v(&d, 9), u32v(&d, 10),
		     u8v(&d, 11), u32v(&d, 12), c->family, c->proto, c->sport, c->dport);
		return;
	}
	if (c->family == 2 ? (d.len[3] != 4 || d.len[4] != 4 || memcmp(d.val[3], p.src, 4) ||
			      memcmp(d.val[4], p.dst, 4))
			   : (d.len[5] != 16 || d.len[6] != 16 || memcmp(d.val[5], p.src, 16) ||
			      memcmp(d.val[6], p.dst, 16))) {
		fail(c->name, "addresses wrong");
		return;
	}
	/* the payload: from after the L4 header (or the IP header) to the end of the IP datagram,
	 * cut at the captured length */
	if (c->family == 2)
		ipend = p.l3_off + ntohs(*(__u16 *)(p.data + p.l3_off + 2));
	else
		ipend = p.l3_off + 40 + ntohs(*(__u16 *)(p.data + p.l3_off + 4));
	poff = c->payload_from == -1 ? p.l4_off + c->l4hl : (size_t)c->payload_from;
	if (ipend > len)
		ipend = len;
	plen = ipend > poff ? ipend - poff : 0;
	if (d.len[15] != plen || memcmp(d.val[15], p.data + poff, plen)) {
		fail(c->name, "payload of %u bytes, want %zu from offset %zu", d.len[15], plen, poff);
		return;
	}
	if (vw_hep_encode(&fi, p.data, &m, out, (size_t)n - 1) != -EMSGSIZE) {
		fail(c->name, "a buffer one byte short was not refused");
		return;
	}
	pass(c->name);
}

static void test_hep(void)
{
	/* Ethernet 14 + IPv4 20 = 34; + VLAN 4 = 38; IPv6 header ends at 54, + fragment header 62 */
	static const struct hep_case cases[] = {
		{ "hep_ipv4_udp", "eth ip4=198.18.3.30>198.18.0.1 udp=5099>5060 data=300", 0, 0, 2,
		  17, 5099, 5060, -1, 8 },
		{ "hep_ipv4_udp_vlan_padding", "eth q=10 ip4=198.18.3.30>198.18.0.1 udp=1>5060 data=3 pad=9",
		  0, 0, 2, 17, 1, 5060, -1, 8 },
		{ "hep_ipv6_tcp_options", "eth ip6=2001:db8:3::30>2001:db8::1 tcp=40000>5061 opt=12 data=77",
		  0, 0, 10, 6, 40000, 5061, -1, 32 },
		{ "hep_ipv6_ext_sctp", "eth ip6=2001:db8:3::30>2001:db8::1 hbh dst=16 sctp=5060>5060 data=20",
		  0, 0, 10, 132, 5060, 5060, -1, 12 },
		{ "hep_ipv4_first_fragment", "eth ip4=198.18.3.30>198.18.0.1 id=7 mf udp=5099>5060 data=64",
		  0, 0, 2, 17, 5099, 5060, -1, 8 },
		{ "hep_ipv4_later_fragment", "eth ip4=198.18.3.30>198.18.0.1 id=7 off=9 proto=17 data=40",
		  0, 0, 2, 17, 0, 0, 34, 0 },
		{ "hep_ipv6_later_fragment", "eth ip6=2001:db8:3::30>2001:db8::1 frag id=9 off=3 nh=17 data=24",
		  0, 0, 10, 17, 0, 0, 62, 0 },
		{ "hep_ipv4_icmp_no_ports", "eth ip4=198.18.3.30>198.18.0.1 proto=1 data=16", 0, 0, 2, 1,
		  0, 0, 34, 0 },
		{ "hep_snaplen_cut", "eth ip4=198.18.3.30>198.18.0.1 udp=5099>5060 data=300", 100, 0, 2,
		  17, 5099, 5060, -1, 8 },
		{ "hep_not_ip", "eth=0x0806 data=28", 0, -EPROTONOSUPPORT, 0, 0, 0, 0, 0, 0 },
		{ "hep_broken_ip_header", "eth ip4=198.18.3.30>198.18.0.1 udp=5099>5060 data=10", 20,
		  -EBADMSG, 0, 0, 0, 0, 0, 0 },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_hep_case(&cases[i]);
}

int main(void)
{
	test_pcapng();
	test_pcapng_epipe();
	test_hep();
	printf("# test_capfmt: %u failed\n", failures);
	return failures ? 1 : 0;
}
