// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Crafted frames for tests (see pkt.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "pkt.h"

#define ETH_HLEN  14
#define IP4_HLEN  20
#define IP6_HLEN  40
#define MAX_TOKEN 128

static void __attribute__((noreturn, format(printf, 1, 2))) pkt_bug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pkt: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static __u8 *pkt_put(struct pkt *p, size_t n)
{
	__u8 *h;

	if (p->len + n > PKT_MAX)
		pkt_bug("frame longer than %d bytes", PKT_MAX);
	h = p->data + p->len;
	memset(h, 0, n);
	p->len += n;
	return h;
}

static void put16(__u8 *b, unsigned int v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static void put32(__u8 *b, __u32 v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

void pkt_set_next(struct pkt *p, unsigned int v)
{
	if (p->next_off < 0)
		return;
	if (p->next_width == 2)
		put16(p->data + p->next_off, v);
	else
		p->data[p->next_off] = v;
}

void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->next_off = -1;
	p->l3_off = -1;
	p->l4_off = -1;
	p->ip4_tot = p->ip4_ihl = p->ip_ver = p->ip6_plen = p->udp_len = -1;
	p->pppoe_off = p->pppoe_len = -1;
}

/* The next field for an IP header: an EtherType, or the PPP protocol after PPPoE. */
static void set_next_l3(struct pkt *p, unsigned int ethertype)
{
	if (p->pppoe_off >= 0 && p->next_off == p->pppoe_off + 6)
		ethertype = ethertype == 0x0800 ? 0x0021 : 0x0057;
	pkt_set_next(p, ethertype);
}

void pkt_pppoe(struct pkt *p, __u16 session)
{
	__u8 *h;

	if (p->next_off < 0 || p->next_width != 2)
		pkt_bug("PPPoE must follow an EtherType");
	pkt_set_next(p, 0x8864);
	h = pkt_put(p, 8);
	h[0] = 0x11;
	h[1] = 0;
	put16(h + 2, session);
	p->pppoe_off = h - p->data;
	p->next_off = p->pppoe_off + 6;
	p->next_width = 2;
}

void pkt_eth(struct pkt *p)
{
	static const __u8 macs[12] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
	__u8 *h = pkt_put(p, ETH_HLEN);

	memcpy(h, macs, sizeof(macs));
	p->next_off = h - p->data + 12;
	p->next_width = 2;
}

void pkt_vlan(struct pkt *p, __u16 tpid, __u16 vid)
{
	__u8 *h;

	pkt_set_next(p, tpid);
	h = pkt_put(p, 4);
	put16(h, vid & 0xfff);
	p->next_off = h - p->data + 2;
	p->next_width = 2;
}

static void parse_addr(int family, const char *s, __u8 *out)
{
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, s, out) != 1)
		pkt_bug("bad IPv%d address '%s'", family, s);
}

void pkt_ipv4(struct pkt *p, const char *src, const char *dst, unsigned int opt_len)
{
	__u8 *h;

	if (opt_len % 4 || opt_len > 40)
		pkt_bug("IPv4 options must be a multiple of 4 bytes, at most 40 (got %u)", opt_len);
	set_next_l3(p, 0x0800);
	h = pkt_put(p, IP4_HLEN + opt_len);
	p->l3_off = h - p->data;
	p->l3_family = 4;
	h[0] = 0x40 | ((IP4_HLEN + opt_len) / 4);
	h[8] = 64;
	parse_addr(4, src, h + 12);
	parse_addr(4, dst, h + 16);
	memcpy(p->src, h + 12, 4);
	memcpy(p->dst, h + 16, 4);
	memset(h + IP4_HLEN, 1, opt_len); /* NOP options */
	p->next_off = p->l3_off + 9;
	p->next_width = 1;
}

void pkt_ipv4_frag(struct pkt *p, __u16 id, __u16 off8, bool mf)
{
	__u8 *h;

	if (p->l3_off < 0 || p->l3_family != 4)
		pkt_bug("IPv4 fragment fields without an IPv4 header");
	h = p->data + p->l3_off;
	put16(h + 4, id);
	put16(h + 6, (mf ? 0x2000 : 0) | (off8 & 0x1fff));
	p->frag = off8 || mf;
}

void pkt_ipv6(struct pkt *p, const char *src, const char *dst)
{
	__u8 *h;

	set_next_l3(p, 0x86dd);
	h = pkt_put(p, IP6_HLEN);
	p->l3_off = h - p->data;
	p->l3_family = 6;
	h[0] = 0x60;
	h[7] = 64;
	parse_addr(6, src, h + 8);
	parse_addr(6, dst, h + 24);
	memcpy(p->src, h + 8, 16);
	memcpy(p->dst, h + 24, 16);
	h[6] = 59; /* no next header, until a layer follows */
	p->next_off = p->l3_off + 6;
	p->next_width = 1;
}

void pkt_ipv6_ext(struct pkt *p, __u8 nh, unsigned int len)
{
	__u8 *h;

	if (p->l3_family != 6)
		pkt_bug("IPv6 extension header without an IPv6 header");
	if (nh == 51) {
		if (len < 8 || len % 4 || len > 1024)
			pkt_bug("AH length must be a multiple of 4 in 8..1024 (got %u)", len);
	} else if (len < 8 || len % 8 || len > 2048) {
		pkt_bug("extension header length must be a multiple of 8 in 8..2048 (got %u)", len);
	}
	pkt_set_next(p, nh);
	h = pkt_put(p, len);
	h[0] = 59;
	h[1] = nh == 51 ? len / 4 - 2 : len / 8 - 1;
	if (nh == 0 || nh == 60) { /* a PadN option filling the header: a valid TLV chain */
		h[2] = 1;
		h[3] = len - 4;
	}
	p->next_off = h - p->data;
	p->next_width = 1;
}

void pkt_ipv6_frag(struct pkt *p, __u32 id, __u16 off8, bool m)
{
	__u8 *h;

	if (p->l3_family != 6)
		pkt_bug("IPv6 fragment header without an IPv6 header");
	pkt_set_next(p, 44);
	h = pkt_put(p, 8);
	h[0] = 59;
	put16(h + 2, (off8 & 0x1fff) << 3 | (m ? 1 : 0));
	put32(h + 4, id);
	p->frag = off8 || m;
	p->next_off = h - p->data;
	p->next_width = 1;
}

static __u8 *l4_start(struct pkt *p, __u8 proto, size_t hlen)
{
	__u8 *h;

	if (p->l3_off < 0)
		pkt_bug("L4 header without an IP header");
	pkt_set_next(p, proto);
	h = pkt_put(p, hlen);
	p->l4_off = h - p->data;
	p->l4_proto = proto;
	p->next_off = -1;
	return h;
}

void pkt_udp(struct pkt *p, __u16 sport, __u16 dport)
{
	__u8 *h = l4_start(p, 17, 8);

	put16(h, sport);
	put16(h + 2, dport);
}

void pkt_tcp(struct pkt *p, __u16 sport, __u16 dport, __u8 flags, unsigned int opt_len,
	     unsigned int doff)
{
	__u8 *h;

	if (opt_len % 4 || opt_len > 40)
		pkt_bug("TCP options must be a multiple of 4 bytes, at most 40 (got %u)", opt_len);
	h = l4_start(p, 6, 20 + opt_len);
	put16(h, sport);
	put16(h + 2, dport);
	put32(h + 4, 1000);
	h[12] = (doff ? doff : 5 + opt_len / 4) << 4;
	h[13] = flags;
	put16(h + 14, 65535);
	memset(h + 20, 1, opt_len); /* NOP options */
}

void pkt_sctp(struct pkt *p, __u16 sport, __u16 dport)
{
	__u8 *h = l4_start(p, 132, 12);

	put16(h, sport);
	put16(h + 2, dport);
	put32(h + 4, 0x1234abcd); /* verification tag */
}

void pkt_data(struct pkt *p, size_t n)
{
	__u8 *h = pkt_put(p, n);
	size_t i;

	for (i = 0; i < n; i++)
		h[i] = 'a' + i % 26;
}

static __u32 csum_add(__u32 sum, const __u8 *b, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (__u32)b[n - 1] << 8;
	return sum;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static void l4_checksum(struct pkt *p)
{
	size_t l4len = p->len - p->l4_off, csum_off;
	__u32 sum = 0;
	__u8 tail[4];
	__u16 c;

	if (p->l4_proto == 17)
		csum_off = 6;
	else if (p->l4_proto == 6)
		csum_off = 16;
	else
		return;
	if (p->frag || l4len < csum_off + 2)
		return;
	if (p->l3_family == 4) {
		sum = csum_add(sum, p->src, 4);
		sum = csum_add(sum, p->dst, 4);
	} else {
		sum = csum_add(sum, p->src, 16);
		sum = csum_add(sum, p->dst, 16);
	}
	put32(tail, l4len);
	sum = csum_add(sum, tail, 4);
	sum += p->l4_proto;
	put16(p->data + p->l4_off + csum_off, 0);
	sum = csum_add(sum, p->data + p->l4_off, l4len);
	c = csum_fold(sum);
	if (p->l4_proto == 17 && !c)
		c = 0xffff;
	put16(p->data + p->l4_off + csum_off, c);
}

void pkt_finish(struct pkt *p)
{
	__u8 *h;

	if (p->l4_off >= 0 && p->l4_proto == 17)
		put16(p->data + p->l4_off + 4,
		      p->udp_len >= 0 ? (unsigned int)p->udp_len : p->len - p->l4_off);
	if (p->l4_off >= 0)
		l4_checksum(p);
	if (p->l3_off >= 0 && p->l3_family == 4) {
		size_t hlen;

		h = p->data + p->l3_off;
		hlen = (h[0] & 0xf) * 4;
		put16(h + 2, p->ip4_tot >= 0 ? (unsigned int)p->ip4_tot : p->len - p->l3_off);
		if (p->ip4_ihl >= 0)
			h[0] = (h[0] & 0xf0) | (p->ip4_ihl & 0xf);
		if (p->ip_ver >= 0)
			h[0] = (h[0] & 0x0f) | (p->ip_ver << 4);
		put16(h + 10, 0);
		put16(h + 10, csum_fold(csum_add(0, h, hlen)));
	} else if (p->l3_off >= 0) {
		h = p->data + p->l3_off;
		put16(h + 4,
		      p->ip6_plen >= 0 ? (unsigned int)p->ip6_plen : p->len - p->l3_off - IP6_HLEN);
		if (p->ip_ver >= 0)
			h[0] = (h[0] & 0x0f) | (p->ip_ver << 4);
	}
	if (p->pppoe_off >= 0)
		put16(p->data + p->pppoe_off + 4, p->pppoe_len >= 0 ? (unsigned int)p->pppoe_len
								  : p->len - p->pppoe_off - 6);
	if (p->pad)
		memset(pkt_put(p, p->pad), 0, p->pad);
}

/* ---- The spec language ---- */

struct attrs {
	long opt, id, off, proto, nh, len, doff, flags, ihl, tot, ver, plen, code;
	bool mf, df, rb;
};

static int parse_num(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 0);
	return errno || end == s || *end || *out < 0 ? -EINVAL : 0;
}

static int parse_ports(const char *s, long *sp, long *dp)
{
	char buf[MAX_TOKEN], *gt;

	snprintf(buf, sizeof(buf), "%s", s);
	gt = strchr(buf, '>');
	if (!gt)
		return -EINVAL;
	*gt = '\0';
	if (parse_num(buf, sp) || parse_num(gt + 1, dp) || *sp > 65535 || *dp > 65535)
		return -EINVAL;
	return 0;
}

static int split_addrs(const char *s, char *src, char *dst, size_t n)
{
	const char *gt = strchr(s, '>');

	if (!gt || (size_t)(gt - s) >= n || strlen(gt + 1) >= n)
		return -EINVAL;
	memcpy(src, s, gt - s);
	src[gt - s] = '\0';
	strcpy(dst, gt + 1);
	return 0;
}

static bool valid_addr(int family, const char *s)
{
	__u8 buf[16];

	return inet_pton(family == 4 ? AF_INET : AF_INET6, s, buf) == 1;
}

static int parse_attr(struct attrs *a, const char *key, const char *val)
{
	static const struct {
		const char *name;
		size_t off;
	} nums[] = {
	    {"opt", offsetof(struct attrs, opt)},   {"id", offsetof(struct attrs, id)},
	    {"off", offsetof(struct attrs, off)},   {"proto", offsetof(struct attrs, proto)},
	    {"nh", offsetof(struct attrs, nh)},	    {"len", offsetof(struct attrs, len)},
	    {"doff", offsetof(struct attrs, doff)}, {"flags", offsetof(struct attrs, flags)},
	    {"ihl", offsetof(struct attrs, ihl)},   {"tot", offsetof(struct attrs, tot)},
	    {"ver", offsetof(struct attrs, ver)},   {"plen", offsetof(struct attrs, plen)},
	    {"code", offsetof(struct attrs, code)},
	};
	unsigned int i;

	if (!val && (!strcmp(key, "mf") || !strcmp(key, "df") || !strcmp(key, "rb"))) {
		if (key[0] == 'm')
			a->mf = true;
		else if (key[0] == 'd')
			a->df = true;
		else
			a->rb = true;
		return 0;
	}
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (strcmp(key, nums[i].name))
			continue;
		if (!val)
			return -EINVAL;
		return parse_num(val, (long *)((char *)a + nums[i].off));
	}
	return -EINVAL;
}

static int layer_ext_type(const char *name)
{
	static const struct {
		const char *name;
		int type;
	} exts[] = {{"hbh", 0},	  {"rt", 43},	  {"dst", 60}, {"mh", 135},
		    {"hip", 139}, {"shim6", 140}, {"ah", 51}};
	unsigned int i;

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (!strcmp(name, exts[i].name))
			return exts[i].type;
	return -1;
}

static bool is_layer(const char *name)
{
	static const char *const layers[] = {"eth", "q",    "ad",  "tag", "ip4",  "ip6",  "frag",
					     "ext", "type", "udp", "tcp", "sctp", "data", "pad", "pppoe"};
	unsigned int i;

	for (i = 0; i < sizeof(layers) / sizeof(layers[0]); i++)
		if (!strcmp(name, layers[i]))
			return true;
	return layer_ext_type(name) >= 0;
}

/* An IP header follows an EtherType (or PPP protocol), or starts the frame (no link layer). */
static bool l3_may_follow(const struct pkt *p)
{
	return p->len == 0 || (p->next_width == 2 && p->next_off >= 0);
}

/* Add one layer with its attributes; -EINVAL when they do not make sense. */
static int add_layer(struct pkt *p, const char *name, const char *val, const struct attrs *a)
{
	char src[64], dst[64];
	long sp, dp, n;
	int ext;

	if (!strcmp(name, "eth")) {
		pkt_eth(p);
		if (val) {
			if (parse_num(val, &n) || n > 0xffff)
				return -EINVAL;
			pkt_set_next(p, n);
			p->next_off = -1;
		}
	} else if (!strcmp(name, "q") || !strcmp(name, "ad") || !strcmp(name, "tag")) {
		long vid = 1;
		unsigned int tpid = name[0] == 'q' ? 0x8100 : 0x88a8;

		if (!strcmp(name, "tag")) {
			if (!val || parse_num(val, &vid) || vid > 0xffff)
				return -EINVAL;
			tpid = vid;
			vid = 1;
		} else if (val && (parse_num(val, &vid) || vid > 4095)) {
			return -EINVAL;
		}
		if (p->next_off < 0 || p->next_width != 2)
			return -EINVAL;
		pkt_vlan(p, tpid, vid);
	} else if (!strcmp(name, "ip4")) {
		if (!val || split_addrs(val, src, dst, sizeof(src)) || !valid_addr(4, src) ||
		    !valid_addr(4, dst) || a->opt % 4 || a->opt > 40 || !l3_may_follow(p) ||
		    a->id > 0xffff || a->off > 0x1fff || a->proto > 255)
			return -EINVAL;
		pkt_ipv4(p, src, dst, a->opt);
		if (a->id || a->off || a->mf)
			pkt_ipv4_frag(p, a->id, a->off, a->mf);
		p->data[p->l3_off + 6] |= (a->df ? 0x40 : 0) | (a->rb ? 0x80 : 0);
		if (a->proto >= 0)
			p->data[p->l3_off + 9] = a->proto;
		p->ip4_ihl = a->ihl;
		p->ip4_tot = a->tot;
		p->ip_ver = a->ver;
	} else if (!strcmp(name, "ip6")) {
		if (!val || split_addrs(val, src, dst, sizeof(src)) || !valid_addr(6, src) ||
		    !valid_addr(6, dst) || !l3_may_follow(p))
			return -EINVAL;
		pkt_ipv6(p, src, dst);
		if (a->nh >= 0)
			pkt_set_next(p, a->nh);
		p->ip6_plen = a->plen;
		p->ip_ver = a->ver;
	} else if ((ext = layer_ext_type(name)) >= 0 || !strcmp(name, "ext")) {
		long len = ext == 51 ? 16 : 8;

		if (p->l3_family != 6 || p->l4_off >= 0)
			return -EINVAL;
		if (ext < 0) { /* ext=TYPE:LEN */
			char buf[MAX_TOKEN], *colon;

			if (!val)
				return -EINVAL;
			snprintf(buf, sizeof(buf), "%s", val);
			colon = strchr(buf, ':');
			if (!colon)
				return -EINVAL;
			*colon = '\0';
			if (parse_num(buf, &n) || n > 255 || parse_num(colon + 1, &len) ||
			    len < 8 || len % 8 || len > 2048)
				return -EINVAL;
			ext = n;
		} else if (val && parse_num(val, &len)) {
			return -EINVAL;
		}
		if (ext == 51 ? (len < 8 || len % 4 || len > 1024)
			      : (len < 8 || len % 8 || len > 2048))
			return -EINVAL;
		/* pkt_ipv6_ext() applies the AH rule to type 51 only; ext=51:LEN is fine too. */
		pkt_ipv6_ext(p, ext, len);
		if (a->nh >= 0)
			pkt_set_next(p, a->nh);
	} else if (!strcmp(name, "frag")) {
		if (p->l3_family != 6 || p->l4_off >= 0 || a->off > 0x1fff || a->id > 0xffffffffL)
			return -EINVAL;
		pkt_ipv6_frag(p, a->id, a->off, a->mf);
		if (a->nh >= 0)
			pkt_set_next(p, a->nh);
	} else if (!strcmp(name, "udp") || !strcmp(name, "tcp") || !strcmp(name, "sctp")) {
		if (!val || parse_ports(val, &sp, &dp) || p->l3_off < 0 || p->l4_off >= 0)
			return -EINVAL;
		if (name[0] == 'u') {
			pkt_udp(p, sp, dp);
			p->udp_len = a->len;
		} else if (name[0] == 't') {
			if (a->opt % 4 || a->opt > 40 || a->doff > 15 || a->flags > 255)
				return -EINVAL;
			pkt_tcp(p, sp, dp, a->flags >= 0 ? a->flags : 0x02, a->opt,
				a->doff >= 0 ? a->doff : 0);
			if (a->doff == 0)
				p->data[p->l4_off + 12] = 0;
		} else {
			pkt_sctp(p, sp, dp);
		}
	} else if (!strcmp(name, "pppoe")) {
		if ((val && (parse_num(val, &n) || n > 0xffff)) || p->next_off < 0 ||
		    p->next_width != 2 || a->ver > 0xff || a->code > 0xff || a->len > 0xffff)
			return -EINVAL;
		pkt_pppoe(p, val ? n : 1);
		if (a->ver >= 0)
			p->data[p->pppoe_off] = a->ver;
		if (a->code >= 0)
			p->data[p->pppoe_off + 1] = a->code;
		p->pppoe_len = a->len;
	} else if (!strcmp(name, "type")) {
		if (!val || parse_num(val, &n) || n > 0xffff || p->next_off < 0 ||
		    p->next_width != 2)
			return -EINVAL;
		pkt_set_next(p, n);
		p->next_off = -1;
	} else if (!strcmp(name, "data")) {
		if (!val || parse_num(val, &n) || p->len + n > PKT_MAX)
			return -EINVAL;
		pkt_data(p, n);
	} else if (!strcmp(name, "pad")) {
		if (!val || parse_num(val, &n) || p->len + n > PKT_MAX)
			return -EINVAL;
		p->pad = n;
	} else {
		return -EINVAL;
	}
	return 0;
}

int pkt_build(struct pkt *p, const char *spec, FILE *err)
{
	char buf[1024], *tok, *save = NULL;
	char name[MAX_TOKEN] = "", val[MAX_TOKEN];
	const char *valp = NULL;
	struct attrs a;
	int ret;

	pkt_init(p);
	if (strlen(spec) >= sizeof(buf)) {
		if (err)
			fprintf(err, "pkt: spec too long\n");
		return -EINVAL;
	}
	strcpy(buf, spec);
	memset(&a, 0, sizeof(a));
	a.proto = a.nh = a.len = a.doff = a.flags = a.ihl = a.tot = a.ver = a.plen = a.code = -1;
	for (tok = strtok_r(buf, " \t", &save);; tok = strtok_r(NULL, " \t", &save)) {
		char key[MAX_TOKEN], *eq = NULL;

		if (tok) {
			snprintf(key, sizeof(key), "%s", tok);
			eq = strchr(key, '=');
			if (eq)
				*eq++ = '\0';
		}
		/* A new layer (or the end) completes the layer before it. */
		if (!tok || is_layer(key)) {
			if (name[0]) {
				ret = add_layer(p, name, valp, &a);
				if (ret) {
					if (err)
						fprintf(err, "pkt: bad layer '%s%s%s' in '%s'\n",
							name, valp ? "=" : "", valp ? valp : "",
							spec);
					return ret;
				}
			}
			if (!tok)
				break;
			snprintf(name, sizeof(name), "%s", key);
			valp = NULL;
			if (eq) {
				snprintf(val, sizeof(val), "%s", eq);
				valp = val;
			}
			memset(&a, 0, sizeof(a));
			a.proto = a.nh = a.len = a.doff = a.flags = a.ihl = a.tot = a.ver = a.plen =
			    a.code = -1;
			continue;
		}
		if (!name[0] || parse_attr(&a, key, eq)) {
			if (err)
				fprintf(err, "pkt: bad attribute '%s' in '%s'\n", tok, spec);
			return -EINVAL;
		}
	}
	pkt_finish(p);
	return 0;
}

void pkt_hex(FILE *f, const void *data, size_t len)
{
	const __u8 *b = data;
	size_t i;

	for (i = 0; i < len; i++)
		fprintf(f, "%s%02x%s", i % 32 ? "" : "  ", b[i],
			(i % 32 == 31 || i == len - 1) ? "\n" : (i % 4 == 3 ? " " : ""));
	if (!len)
		fprintf(f, "  (empty)\n");
}
