// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * vwbench program cost: what voipwall's XDP program costs per packet next to the floor
 * program (bpf/floor.bpf.c), measured with bpf_prog_test_run_opts.
 *
 * - Shapes: one frame per packet shape, run with a large repeat count (the kernel times the
 *   loop; ns per packet is its duration).
 * - Allowlist scale: configs of 10 .. 1,000,000 generated prefixes (a realistic mix, see
 *   gen_rules), each applied with vw_apply (timed), then many frames with distinct sources, each
 *   run once (repeat=1), so the lookups miss the caches as a scan would. The floor runs the same
 *   frames the same way, so the fixed cost of a test run is in both figures.
 *
 * Every run's return code is checked against the verdict the path must give; the count of
 * frames that got another one is in the output ("unexpected"), so a figure measured on a wrong
 * path is visible. Output: one JSON object on stdout with the raw per-round figures;
 * bench/report.py turns rounds into medians.
 *
 * The generated prefixes are drawn from the whole unicast space: they never leave this process
 * and the kernel (test runs send nothing), and a realistic table needs more room than the
 * documentation ranges have.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <unistd.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "common.h"
#include "config.h"
#include "flood.h"
#include "tables.h"
#include "floor.skel.h"
#include "voipwall.skel.h"
#include "voipwall_count.skel.h"

#define PROG "cost"

/* Classes of the benchmark configs: the README's example. */
#define BENCH_CLASSES                                                                              \
	"class sip 5060/udp 5060/tcp 5061/tcp\n"                                                   \
	"class rtp 10000-20000/udp policy monitor\n"                                               \
	"class mgmt 22/tcp 23/tcp 80/tcp 443/tcp 8080/tcp 8443/tcp 69/udp 161/udp 7547/tcp\n"
static const char bench_classes[] = BENCH_CLASSES;

#define FRAME_MAX 128
#define SCALE_MAX 8

struct frame {
	unsigned char data[FRAME_MAX];
	__u32 len;
};

struct opts {
	const char *build;
	__u32 xf_prog; /* xdp-filter's program id, 0: none */
	unsigned int rounds, packets, repeat, nscales, flood_packets;
	unsigned long block_entries; /* the large block set of the block-set figures */
	unsigned long scales[SCALE_MAX];
	__u64 seed;
};

/* ---- Pseudo-random numbers (splitmix64: fixed seed, same tables every run) ------------------ */

static __u64 rng_state;

static __u64 rng(void)
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u32 rng_range(__u32 lo, __u32 hi) /* inclusive */
{
	return lo + rng() % ((__u64)hi - lo + 1);
}

/* ---- Prefixes ------------------------------------------------------------------------------ */

/* The network bits of byte i of an address under a prefix of length plen. */
static __u8 byte_mask(unsigned int plen, unsigned int i)
{
	if (plen >= 8 * (i + 1))
		return 0xff;
	if (plen <= 8 * i)
		return 0;
	return (__u8)(0xff << (8 - (plen - 8 * i)));
}

static void mask_addr(__u8 *addr, unsigned int plen, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++)
		addr[i] &= byte_mask(plen, i);
}

/* A random IPv4 unicast address (1.0.0.0 .. 223.255.255.255), network order in addr[0..3]. */
static void rand_v4(__u8 *addr)
{
	__u32 a = htonl(rng_range(0x01000000, 0xdfffffff));

	memset(addr, 0, 16);
	memcpy(addr, &a, 4);
}

/* A random global unicast IPv6 address (2000::/3). */
static void rand_v6(__u8 *addr)
{
	__u64 hi = rng(), lo = rng();

	memcpy(addr, &hi, 8);
	memcpy(addr + 8, &lo, 8);
	addr[0] = 0x20 | (addr[0] & 0x1f);
}

/*
 * n distinct prefixes, a mix a carrier's allowlist might have: 60% IPv4, 40% IPv6; of each, 90%
 * hosts (/32, /128) and 10% networks (/16../29, /32../64, lengths uniform). Class masks: 70% sip,
 * 20% sip+rtp, 10% mgmt. The first two are a sip rule of each family, so that even the smallest
 * table has an allowlisted path to measure in both.
 */
static int gen_rules(struct vw_config *cfg, size_t n, __u32 sip, __u32 rtp, __u32 mgmt)
{
	struct vw_rule r;
	__u32 pick;
	int err;

	while (cfg->nrules < n) {
		memset(&r, 0, sizeof(r));
		if (cfg->nrules < 2 ? cfg->nrules == 0 : rng() % 10 < 6) {
			r.family = VW_FAMILY_V4;
			r.plen = rng() % 10 < 9 ? 32 : rng_range(16, 29);
			rand_v4(r.addr);
			mask_addr(r.addr, r.plen, 4);
		} else {
			r.family = VW_FAMILY_V6;
			r.plen = rng() % 10 < 9 ? 128 : rng_range(32, 64);
			rand_v6(r.addr);
			mask_addr(r.addr, r.plen, 16);
		}
		pick = rng() % 10;
		r.mask = pick < 7 || cfg->nrules < 2 ? sip : pick < 9 ? sip | rtp : mgmt;
		err = vw_config_add_rule(cfg, &r);
		if (err) {
			fprintf(stderr, PROG ": adding a generated rule: %s\n", strerror(-err));
			return err;
		}
	}
	return 0;
}

/* The union of the masks of the rules covering an address: an independent model of the lookup,
 * used to pick sources that are (not) allowlisted. Rules sorted by family, length, address. */
struct model {
	struct vw_rule *rules;
	size_t n;
	struct {
		size_t start, end;
	} len[2][VW_V6_LENS];
};

static int rule_cmp(const void *pa, const void *pb)
{
	const struct vw_rule *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return memcmp(a->addr, b->addr, 16);
}

static int model_build(struct model *m, const struct vw_config *cfg)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->rules = malloc(cfg->nrules * sizeof(*m->rules) + 1);
	if (!m->rules)
		return -ENOMEM;
	memcpy(m->rules, cfg->rules, cfg->nrules * sizeof(*m->rules));
	m->n = cfg->nrules;
	qsort(m->rules, m->n, sizeof(*m->rules), rule_cmp);
	for (i = 0; i < m->n; i++) {
		int f = m->rules[i].family == VW_FAMILY_V6;
		unsigned int p = m->rules[i].plen;

		if (m->len[f][p].end == 0)
			m->len[f][p].start = i;
		m->len[f][p].end = i + 1;
	}
	return 0;
}

static __u32 model_mask(const struct model *m, int family, const __u8 *addr)
{
	int f = family == VW_FAMILY_V6;
	unsigned int p, maxlen = f ? 128 : 32;
	struct vw_rule key;
	const struct vw_rule *hit;
	__u32 mask = 0;

	for (p = 0; p <= maxlen; p++) {
		if (m->len[f][p].end == 0)
			continue;
		memset(&key, 0, sizeof(key));
		key.family = family;
		key.plen = p;
		memcpy(key.addr, addr, f ? 16 : 4);
		mask_addr(key.addr, p, f ? 16 : 4);
		hit = bsearch(&key, m->rules + m->len[f][p].start,
			      m->len[f][p].end - m->len[f][p].start, sizeof(key), rule_cmp);
		if (hit)
			mask |= hit->mask;
	}
	return mask;
}

/* A source of the family whose allow mask has (want) or lacks (!want) the class bit. */
static void pick_source(const struct model *m, int family, __u32 cls_bit, bool want, __u8 *addr)
{
	unsigned int bytes = family == VW_FAMILY_V6 ? 16 : 4;

	for (;;) {
		if (want) {
			const struct vw_rule *r;
			__u8 host[16];
			unsigned int i;

			/* A random address inside a random rule of the family with the class. */
			r = &m->rules[rng() % m->n];
			if (r->family != family || !(r->mask & cls_bit))
				continue;
			family == VW_FAMILY_V6 ? rand_v6(host) : rand_v4(host);
			memset(addr, 0, 16);
			for (i = 0; i < bytes; i++) {
				__u8 mask = byte_mask(r->plen, i);

				addr[i] = (r->addr[i] & mask) | (host[i] & ~mask);
			}
		} else {
			family == VW_FAMILY_V6 ? rand_v6(addr) : rand_v4(addr);
		}
		if (!!(model_mask(m, family, addr) & cls_bit) == want)
			return;
	}
}

/* ---- Frames -------------------------------------------------------------------------------- */

static const unsigned char mac_dst[6] = {0x02, 0, 0, 0, 0, 0x02};
static const unsigned char mac_src[6] = {0x02, 0, 0, 0, 0, 0x01};
#define DST_V4 "198.18.0.2"
#define DST_V6 "2001:db8::2"

static unsigned char *put_eth(unsigned char *p, __u16 proto)
{
	memcpy(p, mac_dst, 6);
	memcpy(p + 6, mac_src, 6);
	p[12] = proto >> 8;
	p[13] = proto & 0xff;
	return p + 14;
}

static unsigned char *put_vlan(unsigned char *p, __u16 tci, __u16 next)
{
	p[0] = tci >> 8;
	p[1] = tci & 0xff;
	p[2] = next >> 8;
	p[3] = next & 0xff;
	return p + 4;
}

/* IPv4 header without options; frag_off in host order (flags and offset). */
static unsigned char *put_ip4(unsigned char *p, const __u8 *src, __u8 proto, __u16 l4len,
			      __u16 frag_off)
{
	struct iphdr ip = {}; /* built aligned, copied: p is 2 bytes past a 4-byte boundary */

	ip.version = 4;
	ip.ihl = 5;
	ip.ttl = 64;
	ip.protocol = proto;
	ip.id = htons(0x1234);
	ip.frag_off = htons(frag_off);
	ip.tot_len = htons(sizeof(ip) + l4len);
	memcpy(&ip.saddr, src, 4);
	inet_pton(AF_INET, DST_V4, &ip.daddr);
	ip.check = htons(~bench_csum_fold(&ip, sizeof(ip)) & 0xffff);
	memcpy(p, &ip, sizeof(ip));
	return p + sizeof(ip);
}

static unsigned char *put_ip6(unsigned char *p, const __u8 *src, __u8 nexthdr, __u16 paylen)
{
	struct ipv6hdr ip6 = {};

	ip6.version = 6;
	ip6.nexthdr = nexthdr;
	ip6.hop_limit = 64;
	ip6.payload_len = htons(paylen);
	memcpy(&ip6.saddr, src, 16);
	inet_pton(AF_INET6, DST_V6, &ip6.daddr);
	memcpy(p, &ip6, sizeof(ip6));
	return p + sizeof(ip6);
}

/* An 8-byte IPv6 extension header (hop-by-hop or destination options) holding a PadN option. */
static unsigned char *put_ext8(unsigned char *p, __u8 nexthdr)
{
	memset(p, 0, 8);
	p[0] = nexthdr;
	p[1] = 0; /* (0 + 1) * 8 bytes */
	p[2] = 1; /* PadN */
	p[3] = 4;
	return p + 8;
}

#define UDP_PAYLOAD 18 /* 64-byte frames on the wire for IPv4 (60 + FCS) */

static unsigned char *put_udp(unsigned char *p, __u16 dport, __u16 len)
{
	struct udphdr u = {};

	u.source = htons(40000);
	u.dest = htons(dport);
	u.len = htons(len);
	u.check = 0;
	memcpy(p, &u, sizeof(u));
	memset(p + sizeof(u), 0x5a, len - sizeof(u));
	return p + len;
}

static unsigned char *put_tcp_syn(unsigned char *p, __u16 dport)
{
	struct tcphdr t = {};

	t.source = htons(40000);
	t.dest = htons(dport);
	t.seq = htonl(1);
	t.doff = 5;
	t.syn = 1;
	t.window = htons(65535);
	memcpy(p, &t, sizeof(t));
	return p + sizeof(t);
}

static void frame_udp(struct frame *f, int family, const __u8 *src, __u16 dport)
{
	unsigned char *p = f->data;
	__u16 ulen = sizeof(struct udphdr) + UDP_PAYLOAD;

	if (family == VW_FAMILY_V4) {
		p = put_eth(p, ETH_P_IP);
		p = put_ip4(p, src, IPPROTO_UDP, ulen, 0);
	} else {
		p = put_eth(p, ETH_P_IPV6);
		p = put_ip6(p, src, IPPROTO_UDP, ulen);
	}
	p = put_udp(p, dport, ulen);
	f->len = p - f->data;
}

/* ---- Running programs ---------------------------------------------------------------------- */

/* Run fd on the frame repeat times; *ns gets the kernel's time per run, *ret the action. */
static int test_run(int fd, const struct frame *f, __u32 repeat, __u32 *ns, __u32 *ret)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = f->data, .data_size_in = f->len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &topts)) {
		int err = -errno;

		fprintf(stderr, PROG ": test run: %s\n", strerror(errno));
		return err;
	}
	*ns = topts.duration;
	*ret = topts.retval;
	return 0;
}

struct progs {
	struct voipwall_bpf *vw;
	struct voipwall_count_bpf *cnt;
	struct floor_bpf *floor;
	struct vw_maps maps, cmaps;
	int vw_fd, cnt_fd, floor_drop_fd, floor_pass_fd;
	/* xdp-filter's loaded program and its source maps (-1: not given) */
	int xf_fd, xf_v4, xf_v6, ncpus;
	__u64 *xf_val; /* one value per possible CPU: 1, "match source" */
};

/* xdp-filter's maps of filtered addresses, found among its program's maps by name. */
static int xf_open(struct progs *p, __u32 prog_id)
{
	__u32 ids[64], n = 64, i;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int err;

	p->xf_fd = bpf_prog_get_fd_by_id(prog_id);
	if (p->xf_fd < 0) {
		err = -errno;
		fprintf(stderr, PROG ": no program with id %u: %s\n", prog_id, strerror(errno));
		return err;
	}
	info.nr_map_ids = n;
	info.map_ids = (__u64)(unsigned long)ids;
	err = bpf_obj_get_info_by_fd(p->xf_fd, &info, &len);
	if (err)
		return err;
	for (i = 0; i < info.nr_map_ids && i < n; i++) {
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &mi, &ml)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (!strcmp(mi.name, "filter_ipv4") && mi.key_size == 4 && mi.value_size == 8)
			p->xf_v4 = fd;
		else if (!strcmp(mi.name, "filter_ipv6") && mi.key_size == 16 && mi.value_size == 8)
			p->xf_v6 = fd;
		else
			close(fd);
	}
	if (p->xf_v4 < 0 || p->xf_v6 < 0) {
		fprintf(stderr, PROG ": program %u has no filter_ipv4/filter_ipv6 maps (xdp-filter "
			"loaded with --features ipv4,ipv6?)\n", prog_id);
		return -ENOENT;
	}
	p->xf_val = calloc(p->ncpus, sizeof(__u64));
	if (!p->xf_val)
		return -ENOMEM;
	for (i = 0; i < (__u32)p->ncpus; i++)
		p->xf_val[i] = 1; /* xdp-filter's MAP_FLAG_SRC, hit counter 0 */
	return 0;
}

/* Empty xdp-filter's address maps. */
static void xf_clear(struct progs *p)
{
	int fds[2] = {p->xf_v4, p->xf_v6};
	__u8 key[16], next[16];
	unsigned int i;

	for (i = 0; i < 2; i++)
		while (!bpf_map_get_next_key(fds[i], NULL, next)) {
			memcpy(key, next, 16);
			if (bpf_map_delete_elem(fds[i], key))
				break;
		}
}

/* Allow the sources of cfg's host rules in xdp-filter too (it matches exact addresses). */
static int xf_allow_hosts(struct progs *p, const struct vw_config *cfg)
{
	size_t i;

	xf_clear(p);
	for (i = 0; i < cfg->nrules; i++) {
		const struct vw_rule *r = &cfg->rules[i];
		int fd = r->family == VW_FAMILY_V4 ? p->xf_v4 : p->xf_v6;

		if (r->plen != (r->family == VW_FAMILY_V4 ? 32 : 128))
			continue;
		if (bpf_map_update_elem(fd, r->addr, p->xf_val, BPF_ANY)) {
			fprintf(stderr, PROG ": adding a host to xdp-filter: %s\n", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int progs_open(struct progs *p, __u32 xf_prog)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->xf_fd = p->xf_v4 = p->xf_v6 = -1;
	p->ncpus = libbpf_num_possible_cpus();
	/* The flood regime, as in production under any flood: one dropped source in
	 * VW_SRC_SAMPLE recorded (weighted), the rest only counted. */
	/* Only the Ethernet entry point is run: the raw-IP one is left unloaded (its verification
	 * would double the load time). */
	p->vw = voipwall_bpf__open();
	if (p->vw) {
		p->vw->rodata->vw_src_exact = 0;
		bpf_program__set_autoload(p->vw->progs.voipwall_xdp_ip, false);
		err = voipwall_bpf__load(p->vw);
	} else {
		err = -errno;
	}
	if (err) {
		fprintf(stderr, PROG ": loading voipwall's program: %s\n", strerror(-err));
		return err;
	}
	p->vw_fd = bpf_program__fd(p->vw->progs.voipwall_xdp);
	err = vw_maps_from_obj(p->vw->obj, &p->maps);
	if (err)
		return err;
	/* The lookup-counting build, to find the sources with the longest walks. */
	p->cnt = voipwall_count_bpf__open();
	if (p->cnt) {
		bpf_program__set_autoload(p->cnt->progs.voipwall_xdp_ip, false);
		if (voipwall_count_bpf__load(p->cnt)) {
			voipwall_count_bpf__destroy(p->cnt);
			p->cnt = NULL;
		}
	}
	if (!p->cnt) {
		err = -errno;
		fprintf(stderr, PROG ": loading the counting program: %s\n", strerror(errno));
		return err;
	}
	p->cnt_fd = bpf_program__fd(p->cnt->progs.voipwall_xdp);
	err = vw_maps_from_obj(p->cnt->obj, &p->cmaps);
	if (err)
		return err;
	p->floor = floor_bpf__open_and_load();
	if (!p->floor) {
		err = -errno;
		fprintf(stderr, PROG ": loading the floor program: %s\n", strerror(errno));
		return err;
	}
	p->floor_drop_fd = bpf_program__fd(p->floor->progs.floor_drop);
	p->floor_pass_fd = bpf_program__fd(p->floor->progs.floor_pass);
	if (xf_prog)
		return xf_open(p, xf_prog);
	return 0;
}

static void progs_close(struct progs *p)
{
	floor_bpf__destroy(p->floor);
	voipwall_bpf__destroy(p->vw);
	voipwall_count_bpf__destroy(p->cnt);
	if (p->xf_fd >= 0)
		close(p->xf_fd);
	if (p->xf_v4 >= 0)
		close(p->xf_v4);
	if (p->xf_v6 >= 0)
		close(p->xf_v6);
	free(p->xf_val);
}

static void json_array_u32(const char *name, const __u32 *v, unsigned int n)
{
	unsigned int i;

	printf("\"%s\":[", name);
	for (i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", v[i]);
	printf("]");
}

static void json_array_dbl(const char *name, const double *v, unsigned int n)
{
	unsigned int i;

	printf("\"%s\":[", name);
	for (i = 0; i < n; i++)
		printf("%s%.3f", i ? "," : "", v[i]);
	printf("]");
}

/* A config of the given classes, no rules; class ids in order. */
static int classes_config(struct vw_config *cfg, const char *classes, __u32 *sip, __u32 *rtp,
			  __u32 *mgmt)
{
	int err;

	memset(cfg, 0, sizeof(*cfg));
	err = vw_config_parse_buf(cfg, "bench-classes", classes, strlen(classes), stderr);
	if (err)
		return err;
	err = vw_config_assign_ids(cfg, NULL);
	if (err)
		return err;
	*sip = 1U << vw_config_class(cfg, "sip")->id;
	*rtp = 1U << vw_config_class(cfg, "rtp")->id;
	*mgmt = 1U << vw_config_class(cfg, "mgmt")->id;
	return 0;
}

/* Base config: the README's classes, no rules. */
static int base_config(struct vw_config *cfg, __u32 *sip, __u32 *rtp, __u32 *mgmt)
{
	return classes_config(cfg, bench_classes, sip, rtp, mgmt);
}

static int apply_timed(struct progs *p, const struct vw_config *cfg, double *seconds)
{
	double t0 = bench_now();
	int err = vw_apply(&p->maps, cfg, NULL, NULL);

	*seconds = bench_now() - t0;
	if (err)
		fprintf(stderr, PROG ": vw_apply of %zu prefixes: %s\n", cfg->nrules,
			strerror(-err));
	return err;
}

/* ---- Shapes -------------------------------------------------------------------------------- */

enum { SHAPES = 7 };

struct shape {
	const char *name, *desc;
	struct frame f;
	__u32 expect; /* XDP action voipwall must return */
	bool floor_pass;
};

static int build_shapes(struct shape *s, const struct model *m, __u32 sip, __u32 mgmt,
			struct frame *first_frag)
{
	__u8 bad4[16], good4[16], bad6[16], badm4[16];
	__u16 ulen = sizeof(struct udphdr) + UDP_PAYLOAD;
	unsigned char *p;

	pick_source(m, VW_FAMILY_V4, sip, false, bad4);
	pick_source(m, VW_FAMILY_V4, sip, true, good4);
	pick_source(m, VW_FAMILY_V6, sip, false, bad6);
	pick_source(m, VW_FAMILY_V4, mgmt, false, badm4);

	s[0] = (struct shape){"udp5060_attack", "UDP 5060, IPv4 source not allowlisted",
			      .expect = XDP_DROP};
	frame_udp(&s[0].f, VW_FAMILY_V4, bad4, 5060);
	s[1] = (struct shape){"udp5060_allowed", "UDP 5060, IPv4 source allowlisted",
			      .expect = XDP_PASS, .floor_pass = true};
	frame_udp(&s[1].f, VW_FAMILY_V4, good4, 5060);
	s[2] = (struct shape){"udp_unprotected", "UDP 9999 (no class)", .expect = XDP_PASS,
			      .floor_pass = true};
	frame_udp(&s[2].f, VW_FAMILY_V4, bad4, 9999);

	s[3] = (struct shape){"tcp_syn_22", "TCP SYN to 22 (mgmt), not allowlisted",
			      .expect = XDP_DROP};
	p = put_eth(s[3].f.data, ETH_P_IP);
	p = put_ip4(p, badm4, IPPROTO_TCP, sizeof(struct tcphdr), 0);
	p = put_tcp_syn(p, 22);
	s[3].f.len = p - s[3].f.data;

	s[4] = (struct shape){"ipv6_2ext", "IPv6, hop-by-hop + dest options, UDP 5060, attack",
			      .expect = XDP_DROP};
	p = put_eth(s[4].f.data, ETH_P_IPV6);
	p = put_ip6(p, bad6, 0 /* hop-by-hop */, 16 + ulen);
	p = put_ext8(p, 60 /* destination options */);
	p = put_ext8(p, IPPROTO_UDP);
	p = put_udp(p, 5060, ulen);
	s[4].f.len = p - s[4].f.data;

	s[5] =
	    (struct shape){"qinq", "QinQ (802.1ad + 802.1Q), UDP 5060, attack", .expect = XDP_DROP};
	p = put_eth(s[5].f.data, 0x88a8);
	p = put_vlan(p, 100, 0x8100);
	p = put_vlan(p, 200, ETH_P_IP);
	p = put_ip4(p, bad4, IPPROTO_UDP, ulen, 0);
	p = put_udp(p, 5060, ulen);
	s[5].f.len = p - s[5].f.data;

	/* A datagram whose first fragment (offset 0, MF) was seen; the later one (offset 8 bytes)
	 * follows its verdict: the LRU lookup path. */
	s[6] = (struct shape){"later_fragment", "IPv4 later fragment of a dropped datagram",
			      .expect = XDP_DROP};
	p = put_eth(first_frag->data, ETH_P_IP);
	p = put_ip4(p, bad4, IPPROTO_UDP, 16, 0x2000 /* MF */);
	p = put_udp(p, 5060, 16);
	/* The UDP length is the whole datagram's. */
	memcpy(p - 16 + offsetof(struct udphdr, len), &(__be16){htons(16 + 26)}, 2);
	first_frag->len = p - first_frag->data;
	p = put_eth(s[6].f.data, ETH_P_IP);
	p = put_ip4(p, bad4, IPPROTO_UDP, 26, 2 /* offset 2 * 8 = 16 bytes */);
	memset(p, 0x5a, 26);
	s[6].f.len = p + 26 - s[6].f.data;
	return 0;
}

static int run_shapes(struct progs *p, const struct opts *o, const struct model *m, __u32 sip,
		      __u32 mgmt)
{
	struct shape s[SHAPES];
	struct frame first_frag;
	__u32 *vw_ns = NULL, *fl_ns = NULL, ret, ns;
	unsigned int i, r, unexpected;
	int err;

	err = build_shapes(s, m, sip, mgmt, &first_frag);
	if (err)
		return err;
	vw_ns = calloc(o->rounds, sizeof(*vw_ns));
	fl_ns = calloc(o->rounds, sizeof(*fl_ns));
	if (!vw_ns || !fl_ns) {
		err = -ENOMEM;
		goto out;
	}
	printf("\"program_cost\":[");
	for (i = 0; i < SHAPES; i++) {
		int floor_fd = s[i].floor_pass ? p->floor_pass_fd : p->floor_drop_fd;

		unexpected = 0;
		for (r = 0; r < o->rounds; r++) {
			if (i ==
			    6) { /* the first fragment, so the later one has a verdict to follow */
				err = test_run(p->vw_fd, &first_frag, 1, &ns, &ret);
				if (err)
					goto out;
				unexpected += ret != XDP_DROP;
			}
			err = test_run(p->vw_fd, &s[i].f, o->repeat, &vw_ns[r], &ret);
			if (err)
				goto out;
			unexpected += ret != s[i].expect;
			err = test_run(floor_fd, &s[i].f, o->repeat, &fl_ns[r], &ret);
			if (err)
				goto out;
		}
		if (unexpected)
			fprintf(stderr,
				PROG ": shape %s: voipwall returned another action than %s\n",
				s[i].name, s[i].expect == XDP_DROP ? "XDP_DROP" : "XDP_PASS");
		printf("%s{\"shape\":\"%s\",\"desc\":\"%s\",\"frame_bytes\":%u,\"repeat\":%u,"
		       "\"expect\":\"%s\",\"unexpected\":%u,",
		       i ? "," : "", s[i].name, s[i].desc, s[i].f.len, o->repeat,
		       s[i].expect == XDP_DROP ? "drop" : "pass", unexpected);
		json_array_u32("voipwall_ns", vw_ns, o->rounds);
		printf(",\"floor\":\"%s\",", s[i].floor_pass ? "floor_pass" : "floor_drop");
		json_array_u32("floor_ns", fl_ns, o->rounds);
		printf("}");
	}
	printf("],\n");
out:
	free(vw_ns);
	free(fl_ns);
	return err;
}

/* ---- Allowlist scale ----------------------------------------------------------------------- */

struct path {
	const char *name;
	int family;
	bool allowed;
};

static const struct path scale_paths[] = {
    {"attack_v4", VW_FAMILY_V4, false},
    {"allowed_v4", VW_FAMILY_V4, true},
    {"attack_v6", VW_FAMILY_V6, false},
    {"allowed_v6", VW_FAMILY_V6, true},
};
#define NPATHS (sizeof(scale_paths) / sizeof(scale_paths[0]))

static int run_scale_one(struct progs *p, const struct opts *o, const struct model *m, __u32 sip,
			 const struct path *path, unsigned long prefixes, bool first)
{
	struct frame *frames = NULL;
	double *vw_avg = NULL, *fl_avg = NULL, *vw_known = NULL;
	__u32 ns, ret, expect = path->allowed ? XDP_PASS : XDP_DROP;
	int floor_fd = path->allowed ? p->floor_pass_fd : p->floor_drop_fd;
	unsigned int i, r, unexpected = 0;
	int err = 0;

	/* Fresh sources for every round: a scan brings new addresses (new vw_sources entries,
	 * cold table lines), not the last round's again. */
	frames = calloc((size_t)o->packets * o->rounds, sizeof(*frames));
	vw_avg = calloc(o->rounds, sizeof(*vw_avg));
	fl_avg = calloc(o->rounds, sizeof(*fl_avg));
	vw_known = calloc(o->rounds, sizeof(*vw_known));
	if (!frames || !vw_avg || !fl_avg || !vw_known) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < o->packets * o->rounds; i++) {
		__u8 src[16];

		pick_source(m, path->family, sip, path->allowed, src);
		frame_udp(&frames[i], path->family, src, 5060);
	}
	for (r = 0; r < o->rounds; r++) {
		__u64 vw_sum = 0, fl_sum = 0;

		for (i = 0; i < o->packets; i++) {
			const struct frame *f = &frames[(size_t)r * o->packets + i];

			err = test_run(p->vw_fd, f, 1, &ns, &ret);
			if (err)
				goto out;
			vw_sum += ns;
			unexpected += ret != expect;
			err = test_run(floor_fd, f, 1, &ns, &ret);
			if (err)
				goto out;
			fl_sum += ns;
		}
		vw_avg[r] = (double)vw_sum / o->packets;
		fl_avg[r] = (double)fl_sum / o->packets;
		/* The same sources again: the attack path once vw_sources knows them (an update,
		 * not an insert), to tell the table lookups' cost from the LRU insert's. */
		vw_sum = 0;
		for (i = 0; i < o->packets; i++) {
			err = test_run(p->vw_fd, &frames[(size_t)r * o->packets + i], 1, &ns, &ret);
			if (err)
				goto out;
			vw_sum += ns;
			unexpected += ret != expect;
		}
		vw_known[r] = (double)vw_sum / o->packets;
	}
	if (unexpected)
		fprintf(stderr,
			PROG ": %lu prefixes, %s: %u runs returned another action than %s\n",
			prefixes, path->name, unexpected, path->allowed ? "XDP_PASS" : "XDP_DROP");
	printf("%s{\"prefixes\":%lu,\"path\":\"%s\",\"packets\":%u,\"unexpected\":%u,",
	       first ? "" : ",", prefixes, path->name, o->packets, unexpected);
	json_array_dbl("voipwall_ns", vw_avg, o->rounds);
	printf(",");
	json_array_dbl("floor_ns", fl_avg, o->rounds);
	printf(",");
	json_array_dbl("voipwall_seen_ns", vw_known, o->rounds);
	printf("}");
out:
	free(vw_known);
	free(frames);
	free(vw_avg);
	free(fl_avg);
	return err;
}

/* ---- Program cost against xdp-filter, worst-case sources, random-source floods ------------- */

static void addr_parse(int family, const char *s, __u8 *addr)
{
	memset(addr, 0, 16);
	if (inet_pton(family == VW_FAMILY_V4 ? AF_INET : AF_INET6, s, addr) != 1)
		bench_die(PROG, "bad address %s", s);
}

static int add_rule(struct vw_config *cfg, int family, const __u8 *addr, unsigned int plen,
		    __u32 mask)
{
	struct vw_rule r = {.family = family, .plen = plen, .mask = mask};

	memcpy(r.addr, addr, 16);
	mask_addr(r.addr, plen, family == VW_FAMILY_V4 ? 4 : 16);
	return vw_config_add_rule(cfg, &r);
}

/* The live benchmark's allowlist: eight IPv4 and eight IPv6 hosts (sip and rtp). */
static int hosts_config(struct vw_config *cfg, __u32 *sip)
{
	__u32 rtp, mgmt;
	__u8 a[16];
	int i, err;

	err = base_config(cfg, sip, &rtp, &mgmt);
	for (i = 0; !err && i < 8; i++) {
		char buf[48];

		snprintf(buf, sizeof(buf), "198.19.%d.%d", 200 + i / 4, 1 + i % 4);
		addr_parse(VW_FAMILY_V4, buf, a);
		err = add_rule(cfg, VW_FAMILY_V4, a, 32, *sip | rtp);
		snprintf(buf, sizeof(buf), "2001:db8:200::%d", 1 + i);
		addr_parse(VW_FAMILY_V6, buf, a);
		if (!err)
			err = add_rule(cfg, VW_FAMILY_V6, a, 128, *sip | rtp);
	}
	return err;
}

/* Run each of the programs fds[0..n) on frame f repeat times per round, interleaved; ns[k][r]. */
static int run_progs(const int *fds, unsigned int n, const struct frame *f, const struct opts *o,
		     __u32 (*ns)[64], const __u32 *expect, unsigned int *unexpected)
{
	unsigned int r, k;
	__u32 ret;
	int err;

	for (r = 0; r < o->rounds && r < 64; r++)
		for (k = 0; k < n; k++) {
			err = test_run(fds[k], f, o->repeat, &ns[k][r], &ret);
			if (err)
				return err;
			if (expect && expect[k] != ~0U && ret != expect[k])
				(*unexpected)++;
		}
	return 0;
}

/* Hot attack path: UDP to 5060 from a source outside every allowlisted /16 (IPv4) or /32
 * (IPv6), the same frame through voipwall, xdp-filter and the floor, repeat N. */
static int run_hot(struct progs *p, const struct opts *o)
{
	static const char *const src[2] = {"198.18.0.7", "3fff:0:1::7"};
	struct vw_config cfg;
	__u32 sip, ns[3][64];
	unsigned int fam, unexpected, n;
	int err, fds[3];
	__u32 expect[3] = {XDP_DROP, XDP_DROP, ~0U};

	err = hosts_config(&cfg, &sip);
	if (!err)
		err = vw_apply(&p->maps, &cfg, NULL, NULL);
	if (!err && p->xf_fd >= 0)
		err = xf_allow_hosts(p, &cfg);
	vw_config_free(&cfg);
	if (err)
		return err;
	printf("\"hot_path\":[");
	for (fam = 0; fam < 2; fam++) {
		int family = fam ? VW_FAMILY_V6 : VW_FAMILY_V4;
		struct frame f;
		__u8 a[16];

		addr_parse(family, src[fam], a);
		frame_udp(&f, family, a, 5060);
		fds[0] = p->vw_fd;
		fds[1] = p->floor_drop_fd;
		fds[2] = p->xf_fd;
		expect[1] = ~0U;
		expect[2] = XDP_DROP;
		n = p->xf_fd >= 0 ? 3 : 2;
		unexpected = 0;
		err = run_progs(fds, n, &f, o, ns, expect, &unexpected);
		if (err)
			return err;
		printf("%s{\"family\":%d,\"source\":\"%s\",\"repeat\":%u,\"unexpected\":%u,",
		       fam ? "," : "", family, src[fam], o->repeat, unexpected);
		json_array_u32("voipwall_ns", ns[0], o->rounds);
		printf(",");
		json_array_u32("floor_ns", ns[1], o->rounds);
		if (n == 3) {
			printf(",");
			json_array_u32("xdp_filter_ns", ns[2], o->rounds);
		}
		printf("}");
	}
	printf("],\n");
	return 0;
}

/* The hostile config: every length /25../32 in one IPv4 /24 (nested) and in another (spread);
 * every length /33../128 under one IPv6 /32, nested along one address and spread, with two hosts
 * beside the chain's bottom; and the live benchmark's hosts. */
#define HOSTILE_PROBED "2001:db8:a5a5:5a5a:a5a5:5a5a:a5a5:5b00"
static int hostile_config(struct vw_config *cfg, __u32 *sip)
{
	unsigned int L, i;
	__u8 a[16];
	int err;

	err = hosts_config(cfg, sip);
	for (L = 25; !err && L <= 32; L++) {
		addr_parse(VW_FAMILY_V4, "198.18.7.0", a);
		err = add_rule(cfg, VW_FAMILY_V4, a, L, *sip);
		a[2] = 8;
		a[3] = 256 - (512 >> (L - 24));
		if (!err)
			err = add_rule(cfg, VW_FAMILY_V4, a, L, *sip);
	}
	/* Two hosts beside the nested chain below its /112: a probe at the bottom of 11 nodes. */
	for (L = 1; !err && L <= 2; L++) {
		addr_parse(VW_FAMILY_V6, HOSTILE_PROBED, a);
		a[15] = L;
		err = add_rule(cfg, VW_FAMILY_V6, a, 128, *sip);
	}
	for (L = 33; !err && L <= 128; L++) {
		addr_parse(VW_FAMILY_V6, "2001:db8:a5a5:5a5a:a5a5:5a5a:a5a5:5a5a", a);
		err = add_rule(cfg, VW_FAMILY_V6, a, L, *sip);
		for (i = 4; i < 16; i++)
			a[i] = rng();
		if (!err)
			err = add_rule(cfg, VW_FAMILY_V6, a, L, *sip);
	}
	return err;
}

/* Lookups the counting build makes for a frame. */
static int count_lookups(struct progs *p, const struct frame *f, __u32 *lookups)
{
	__u32 ns, ret;
	int err;

	p->cnt->bss->vw_lookups = 0;
	err = test_run(p->cnt_fd, f, 1, &ns, &ret);
	*lookups = p->cnt->bss->vw_lookups;
	return err;
}

#define WORST_PICK 4

/* Worst-case sources: in the hostile config, the WORST_PICK sources whose walks make the most
 * lookups (found with the counting build among every address of the hostile /24s, and each
 * IPv6 rule's address with each of its last 8 prefix bits flipped; for IPv6 the last one is the probe
 * path's longest miss instead), against WORST_PICK typical attack sources (random, not
 * allowlisted). Each frame with repeat N; per round the worst source's
 * cost over the typical sources' median. */
static int run_worst(struct progs *p, const struct opts *o)
{
	/* Three times the rounds at a third of the repeat: the same work, and more rounds for the
	 * fastest-round figure, which a burst of other load on the machine then rarely spoils. */
	unsigned int rounds = o->rounds * 3 < 64 ? o->rounds * 3 : 64;
	__u32 repeat = o->repeat / 3 ? o->repeat / 3 : 1;
	struct vw_config cfg;
	struct model m;
	__u32 sip;
	unsigned int fam, i, k, r;
	int err;

	err = hostile_config(&cfg, &sip);
	if (!err)
		err = model_build(&m, &cfg);
	if (!err)
		err = vw_apply(&p->maps, &cfg, NULL, NULL);
	if (!err)
		err = vw_apply(&p->cmaps, &cfg, NULL, NULL);
	if (err)
		goto out;
	printf("\"worst_case\":[");
	for (fam = 0; fam < 2; fam++) {
		int family = fam ? VW_FAMILY_V6 : VW_FAMILY_V4;
		struct frame worst[WORST_PICK], typical[WORST_PICK];
		__u32 best[WORST_PICK] = {0}, typ_lookups = 0, lk;
		__u32 wns[WORST_PICK][64], tns[WORST_PICK][64], ret;
		double ratio[64];
		__u8 a[16];

		/* Candidates: each walk the counting build makes; keep the longest. */
		for (i = 0; i < (fam ? cfg.nrules * 9 : 512); i++) {
			struct frame f;
			unsigned int slot;

			if (fam) {
				/* The rule's address, and with each of its last 8 prefix bits
				 * flipped: the walks that go deepest before they leave it. */
				const struct vw_rule *rl = &cfg.rules[i / 9];
				unsigned int back = i % 9;

				if (rl->family != VW_FAMILY_V6 || back > rl->plen)
					continue;
				memcpy(a, rl->addr, 16);
				if (back)
					a[(rl->plen - back) / 8] ^= 0x80 >> ((rl->plen - back) % 8);
			} else {
				addr_parse(VW_FAMILY_V4, i < 256 ? "198.18.7.0" : "198.18.8.0", a);
				a[3] = i % 256;
			}
			frame_udp(&f, family, a, 5060);
			err = count_lookups(p, &f, &lk);
			if (err)
				goto out;
			for (slot = 0; slot < WORST_PICK && best[slot] >= lk; slot++)
				;
			if (slot == WORST_PICK)
				continue;
			memmove(&best[slot + 1], &best[slot], (WORST_PICK - 1 - slot) * sizeof(*best));
			memmove(&worst[slot + 1], &worst[slot],
				(WORST_PICK - 1 - slot) * sizeof(*worst));
			best[slot] = lk;
			worst[slot] = f;
		}
		if (fam) {
			/* The probe path's longest miss: 11 nodes down the chain, then a probe
			 * that misses. Measured too: a probe costs more than a node. */
			addr_parse(VW_FAMILY_V6, HOSTILE_PROBED, a);
			a[15] = 3;
			frame_udp(&worst[WORST_PICK - 1], family, a, 5060);
		}
		for (k = 0; k < WORST_PICK; k++) {
			pick_source(&m, family, sip, false, a);
			frame_udp(&typical[k], family, a, 5060);
			err = count_lookups(p, &typical[k], &lk);
			if (err)
				goto out;
			typ_lookups = lk > typ_lookups ? lk : typ_lookups;
		}
		for (r = 0; r < rounds; r++) {
			double wmax = 0, t[WORST_PICK];

			for (k = 0; k < WORST_PICK; k++) {
				err = test_run(p->vw_fd, &worst[k], repeat, &wns[k][r], &ret);
				if (!err)
					err = test_run(p->vw_fd, &typical[k], repeat, &tns[k][r],
						       &ret);
				if (err)
					goto out;
				wmax = wns[k][r] > wmax ? wns[k][r] : wmax;
				t[k] = tns[k][r];
			}
			/* median of the typical sources (WORST_PICK is 4: mean of the middle two) */
			for (i = 0; i < WORST_PICK; i++)
				for (k = i + 1; k < WORST_PICK; k++)
					if (t[k] < t[i]) {
						double x = t[i];

						t[i] = t[k];
						t[k] = x;
					}
			ratio[r] = wmax / ((t[1] + t[2]) / 2);
		}
		printf("%s{\"family\":%d,\"repeat\":%u,\"worst_lookups\":%u,\"typical_lookups\":%u,"
		       "\"bound_lookups\":%u,",
		       fam ? "," : "", family, repeat, best[0], typ_lookups,
		       family == VW_FAMILY_V4 ? VW_V4_MAX_LOOKUPS : VW_V6_MAX_LOOKUPS);
		json_array_u32("worst_ns", wns[0], rounds);
		printf(",");
		json_array_u32("typical_ns", tns[0], rounds);
		printf(",");
		json_array_dbl("ratio", ratio, rounds);
		/* Every frame's rounds: the report also takes each frame's fastest round, which the
		 * machine's other load does not move. */
		for (i = 0; i < 2; i++) {
			printf(",\"%s_frames_ns\":[", i ? "typical" : "worst");
			for (k = 0; k < WORST_PICK; k++)
				for (r = 0; r < rounds; r++)
					printf("%s%u%s", r ? "," : k ? ",[" : "[",
					       i ? tns[k][r] : wns[k][r],
					       r + 1 == rounds ? "]" : "");
			printf("]");
		}
		printf("}");
	}
	printf("],\n");
out:
	vw_config_free(&cfg);
	free(m.rules);
	return err;
}

/* Each of n frames run once through voipwall, the floor of the same verdict and (xf) xdp-filter,
 * in turn; the mean ns per frame of each. Frames that do not get the action expect are counted
 * in *unexpected (xdp-filter is held to it only for drops: it passes what it does not filter). */
static int once_each(struct progs *p, const struct frame *frames, unsigned int n, __u32 expect,
		     bool xf, double *vw, double *fl, double *xs, unsigned int *unexpected)
{
	int floor_fd = expect == XDP_DROP ? p->floor_drop_fd : p->floor_pass_fd;
	__u64 sv = 0, sf = 0, sx = 0;
	unsigned int i;
	__u32 ns, ret;
	int err = 0;

	for (i = 0; !err && i < n; i++) {
		err = test_run(p->vw_fd, &frames[i], 1, &ns, &ret);
		sv += ns;
		*unexpected += !err && ret != expect;
		if (!err)
			err = test_run(floor_fd, &frames[i], 1, &ns, &ret);
		sf += ns;
		if (!err && xf) {
			err = test_run(p->xf_fd, &frames[i], 1, &ns, &ret);
			sx += ns;
			*unexpected += !err && expect == XDP_DROP && ret != XDP_DROP;
		}
	}
	*vw = (double)sv / n;
	*fl = (double)sf / n;
	*xs = (double)sx / n;
	return err;
}

/* The per-round figures of a once_each series: ",voipwall_ns:[..],floor_ns:[..]" and
 * xdp-filter's when it ran, then the closing brace. */
static void json_once_each(const double *vw, const double *fl, const double *xs, bool xf,
			   unsigned int rounds)
{
	json_array_dbl("voipwall_ns", vw, rounds);
	printf(",");
	json_array_dbl("floor_ns", fl, rounds);
	if (xf) {
		printf(",");
		json_array_dbl("xdp_filter_ns", xs, rounds);
	}
	printf("}");
}

/* n distinct hosts of a family, uniform over unicast IPv4 or 2000::/3, class sip. */
static int random_hosts(struct vw_config *cfg, int family, size_t n, __u32 sip)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < n; i++) {
		__u8 a[16];

		family == VW_FAMILY_V4 ? rand_v4(a) : rand_v6(a);
		err = add_rule(cfg, family, a, family == VW_FAMILY_V4 ? 32 : 128, sip);
	}
	return err;
}

/* Random-source floods: each frame a new source, uniform over unicast IPv4 (1.0.0.0 ..
 * 223.255.255.255) or 2000::/3, UDP to 5060, each run once (repeat 1) through voipwall,
 * xdp-filter and the floor in turn; the floor (run the same way) carries the test run's own
 * cost, which is subtracted. Allowlists: 10,000 hosts per family in both tools. (The same flood
 * at 1,000,000 prefixes is the allowlist scale's attack rows: random sources, each run once.) */
static int run_floods(struct progs *p, const struct opts *o)
{
	static const unsigned long sizes[1] = {10000};
	unsigned int si, fam, r, i;
	int err = 0;

	printf("\"floods\":[");
	for (si = 0; si < 1; si++) {
		struct vw_config cfg;
		struct model m = {};
		__u32 sip, rtp, mgmt;

		err = base_config(&cfg, &sip, &rtp, &mgmt);
		if (!err && si == 0)
			err = random_hosts(&cfg, VW_FAMILY_V4, sizes[0], sip);
		if (!err && si == 0)
			err = random_hosts(&cfg, VW_FAMILY_V6, sizes[0], sip);
		if (!err)
			err = model_build(&m, &cfg);
		if (!err)
			err = vw_apply(&p->maps, &cfg, NULL, NULL);
		if (!err && si == 0 && p->xf_fd >= 0)
			err = xf_allow_hosts(p, &cfg);
		for (fam = 0; !err && fam < 2; fam++) {
			int family = fam ? VW_FAMILY_V6 : VW_FAMILY_V4;
			bool xf = si == 0 && p->xf_fd >= 0;
			double vw[64], fl[64], xs[64];
			unsigned int unexpected = 0;
			struct frame *frames;

			frames = calloc(o->flood_packets, sizeof(*frames));
			if (!frames) {
				err = -ENOMEM;
				break;
			}
			for (r = 0; !err && r < o->rounds && r < 64; r++) {
				for (i = 0; i < o->flood_packets; i++) {
					__u8 a[16];

					pick_source(&m, family, sip, false, a);
					frame_udp(&frames[i], family, a, 5060);
				}
				err = once_each(p, frames, o->flood_packets, XDP_DROP, xf, &vw[r],
						&fl[r], &xs[r], &unexpected);
			}
			free(frames);
			if (err)
				break;
			printf("%s{\"prefixes\":%zu,\"family\":%d,\"packets\":%u,\"unexpected\":%u,",
			       si || fam ? "," : "", cfg.nrules, family, o->flood_packets,
			       unexpected);
			json_once_each(vw, fl, xs, xf, o->rounds);
		}
		vw_config_free(&cfg);
		free(m.rules);
		if (err)
			return err;
	}
	printf("],\n");
	/* xdp-filter's maps outlive its program (pinned by name): leave them as they were. */
	if (p->xf_fd >= 0)
		xf_clear(p);
	return 0;
}

/* ---- Block sets ---------------------------------------------------------------------------- */

/* The block-set figures' classes: the README's, and one open to every source. */
static const char block_classes[] = BENCH_CLASSES "class prov 8088/udp policy open\n";
#define PROV_PORT 8088

enum { BLOCK_OPEN, BLOCK_BLOCKED, BLOCK_ATTACK, BLOCK_PATHS };
static const char *const block_path_names[BLOCK_PATHS] = {"open", "blocked", "attack"};

/* n entries (n >= 2), a feed's mix: 70% IPv4 hosts, 5% IPv4 /24, 20% IPv6 /128, 5% IPv6 /48,
 * the first two an IPv4 and an IPv6 host; every class, no expiry. */
static struct vw_block_entry *block_entries(size_t n)
{
	struct vw_block_entry *e = calloc(n ? n : 1, sizeof(*e));
	size_t i;

	for (i = 0; e && i < n; i++) {
		struct vw_rule *r = &e[i].r;
		unsigned int pick = i < 2 ? 18 * i : rng() % 20;

		r->family = pick < 15 ? VW_FAMILY_V4 : VW_FAMILY_V6;
		r->plen = pick < 14 ? 32 : pick < 15 ? 24 : pick < 19 ? 128 : 48;
		r->family == VW_FAMILY_V4 ? rand_v4(r->addr) : rand_v6(r->addr);
		mask_addr(r->addr, r->plen, r->family == VW_FAMILY_V4 ? 4 : 16);
		r->mask = VW_BLOCK_ALL_CLASSES;
	}
	return e;
}

/* The frames of one path: open (a random source no entry covers, to the open class: passes),
 * blocked (a random address of a random entry of the family, to the open class: dropped as
 * blocklisted) and attack (a random source not allowlisted, to sip: dropped before any block
 * lookup, as any stranger). */
static void block_frames(struct progs *p, const struct model *m, __u32 sip, int path, int family,
			const struct vw_block_entry *e, size_t n, struct frame *frames,
			unsigned int count)
{
	struct vw_block_entry hit;
	unsigned int i, k, bytes = family == VW_FAMILY_V6 ? 16 : 4;
	__u32 slot;
	__u8 a[16], host[16];

	for (i = 0; i < count; i++) {
		switch (path) {
		case BLOCK_OPEN:
			do
				family == VW_FAMILY_V6 ? rand_v6(a) : rand_v4(a);
			while (!vw_block_match(&p->maps, family, a, vw_flood_now(), &slot, &hit));
			frame_udp(&frames[i], family, a, PROV_PORT);
			break;
		case BLOCK_BLOCKED: {
			const struct vw_rule *r;

			do
				r = &e[rng() % n].r;
			while (r->family != family);
			family == VW_FAMILY_V6 ? rand_v6(host) : rand_v4(host);
			memset(a, 0, sizeof(a));
			for (k = 0; k < bytes; k++)
				a[k] = (r->addr[k] & byte_mask(r->plen, k)) |
				       (host[k] & ~byte_mask(r->plen, k));
			frame_udp(&frames[i], family, a, PROV_PORT);
			break;
		}
		default:
			pick_source(m, family, sip, false, a);
			frame_udp(&frames[i], family, a, 5060);
		}
	}
}

/*
 * Block sets: 10,000 allowlisted hosts a family (in xdp-filter too), and a block set of 2 entries,
 * then of o->block_entries (the replace timed in process). Per size, family and path, N distinct
 * frames each run once through voipwall, the floor and, on the attack path, xdp-filter: the
 * open class's cost per source as the set grows, and the attack path with the set loaded.
 */
static int run_blocks(struct progs *p, const struct opts *o)
{
	const unsigned long sizes[3] = {0, 2, o->block_entries};
	struct vw_block_entry *e = NULL;
	struct vw_config cfg;
	struct model m = {};
	__u32 sip, rtp, mgmt, slot;
	unsigned int si, fam, path, r, first = 1;
	double replace_s[3] = {0, 0, 0};
	int err;

	err = classes_config(&cfg, block_classes, &sip, &rtp, &mgmt);
	if (!err)
		err = random_hosts(&cfg, VW_FAMILY_V4, 10000, sip);
	if (!err)
		err = random_hosts(&cfg, VW_FAMILY_V6, 10000, sip);
	if (!err)
		err = model_build(&m, &cfg);
	if (!err)
		err = vw_apply(&p->maps, &cfg, NULL, NULL);
	if (!err && p->xf_fd >= 0)
		err = xf_allow_hosts(p, &cfg);
	if (!err)
		err = vw_block_set_slot(&p->maps, "bench", true, &slot);
	if (err)
		goto out;
	printf("\"blocks\":[");
	for (si = 0; !err && si < 3; si++) {
		double t0;

		free(e);
		e = block_entries(sizes[si]);
		if (!e) {
			err = -ENOMEM;
			break;
		}
		t0 = bench_now();
		err = vw_block_replace(&p->maps, slot, e, sizes[si]);
		replace_s[si] = bench_now() - t0;
		for (fam = 0; !err && fam < 2; fam++) {
			int family = fam ? VW_FAMILY_V6 : VW_FAMILY_V4;

			for (path = 0; !err && path < BLOCK_PATHS; path++) {
				if (path == BLOCK_BLOCKED && !sizes[si])
					continue;
				bool xf = path == BLOCK_ATTACK && p->xf_fd >= 0;
				__u32 expect = path == BLOCK_OPEN ? XDP_PASS : XDP_DROP;
				double vw[64], fl[64], xs[64];
				unsigned int unexpected = 0;
				struct frame *frames = calloc(o->flood_packets, sizeof(*frames));

				if (!frames) {
					err = -ENOMEM;
					break;
				}
				for (r = 0; !err && r < o->rounds && r < 64; r++) {
					block_frames(p, &m, sip, path, family, e, sizes[si], frames,
						     o->flood_packets);
					err = once_each(p, frames, o->flood_packets, expect, xf,
							&vw[r], &fl[r], &xs[r], &unexpected);
				}
				free(frames);
				if (err)
					break;
				printf("%s{\"entries\":%lu,\"family\":%d,\"path\":\"%s\",\"packets\":%u,"
				       "\"unexpected\":%u,",
				       first ? "" : ",", sizes[si], family, block_path_names[path],
				       o->flood_packets, unexpected);
				first = 0;
				json_once_each(vw, fl, xs, xf, o->rounds);
			}
		}
	}
	printf("],\n\"block_replace\":[");
	for (si = 0; si < 3; si++)
		printf("%s{\"entries\":%lu,\"seconds\":%.4f}", si ? "," : "", sizes[si],
		       replace_s[si]);
	printf("],\n");
	if (!err)
		err = vw_block_flush(&p->maps, slot);
	if (p->xf_fd >= 0)
		xf_clear(p);
out:
	if (err)
		fprintf(stderr, PROG ": block sets: %s\n", strerror(-err));
	free(e);
	vw_config_free(&cfg);
	free(m.rules);
	return err;
}

static int run_all(const struct opts *o)
{
	double apply_s[SCALE_MAX];
	size_t nrules[SCALE_MAX];
	struct vw_config cfg;
	struct model m = {};
	struct progs p;
	__u32 sip, rtp, mgmt;
	unsigned int s, k;
	int err;

	err = progs_open(&p, o->xf_prog);
	if (err)
		goto out_progs;

	printf("{");
	rng_state = o->seed;
	err = run_hot(&p, o);
	if (!err)
		err = run_worst(&p, o);
	if (!err)
		err = run_floods(&p, o);
	if (!err)
		err = run_blocks(&p, o);
	if (err)
		goto out_progs;
	rng_state = o->seed;
	/* Shapes: against a 10,000-prefix config. */
	err = base_config(&cfg, &sip, &rtp, &mgmt);
	if (err)
		goto out_progs;
	err = gen_rules(&cfg, 10000, sip, rtp, mgmt);
	if (!err)
		err = model_build(&m, &cfg);
	if (!err)
		err = apply_timed(&p, &cfg, &apply_s[0]);
	if (!err)
		err = run_shapes(&p, o, &m, sip, mgmt);
	vw_config_free(&cfg);
	free(m.rules);
	if (err)
		goto out_progs;

	printf("\"allowlist_scale\":[");
	for (s = 0; s < o->nscales; s++) {
		rng_state = o->seed + s + 1;
		err = base_config(&cfg, &sip, &rtp, &mgmt);
		if (err)
			goto out_progs;
		err = gen_rules(&cfg, o->scales[s], sip, rtp, mgmt);
		if (!err)
			err = model_build(&m, &cfg);
		if (!err)
			err = apply_timed(&p, &cfg, &apply_s[s]);
		nrules[s] = cfg.nrules;
		for (k = 0; !err && k < NPATHS; k++)
			err = run_scale_one(&p, o, &m, sip, &scale_paths[k], o->scales[s],
					    s == 0 && k == 0);
		vw_config_free(&cfg);
		free(m.rules);
		m.rules = NULL;
		if (err)
			goto out_progs;
	}
	printf("],\n\"apply\":[");
	for (s = 0; s < o->nscales; s++)
		printf("%s{\"prefixes\":%zu,\"seconds\":%.4f}", s ? "," : "", nrules[s],
		       apply_s[s]);
	printf("]}\n");
out_progs:
	progs_close(&p);
	return err;
}

/* ---- Config files for the command-line control-plane figures -------------------------------- */

static int write_config(const char *path, unsigned long n, __u64 seed)
{
	struct vw_config cfg;
	__u32 sip, rtp, mgmt;
	FILE *f;
	int err;

	rng_state = seed;
	err = base_config(&cfg, &sip, &rtp, &mgmt);
	if (err)
		return err;
	err = gen_rules(&cfg, n, sip, rtp, mgmt);
	if (err)
		goto out;
	f = fopen(path, "w");
	if (!f) {
		err = -errno;
		fprintf(stderr, PROG ": creating %s: %s\n", path, strerror(errno));
		goto out;
	}
	err = vw_config_write(&cfg, f);
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		fprintf(stderr, PROG ": writing %s: %s\n", path, strerror(-err));
out:
	vw_config_free(&cfg);
	return err;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: " PROG " --build DIR [--rounds N] [--packets N] [--repeat N] [--scales N,N..]\n"
	    "            [--xdp-filter-prog ID] [--flood-packets N] [--block-entries N]\n"
	    "       " PROG " --write-config FILE --prefixes N\n"
	    "Measures voipwall's XDP program (the one built with this program, loaded with the\n"
	    "flood sampling of sources in effect) against the floor program and, given the id of\n"
	    "xdp-filter's loaded program (--features ipv4,ipv6), against xdp-filter, with test runs:\n"
	    "the hot attack path and the worst-case sources of a hostile config (repeat N, default\n"
	    "1000000), random-source floods (N distinct frames each run once, default 20000),\n"
	    "per packet shape, and per allowlist size (default 10,10000,100000,1000000; N distinct\n"
	    "packets, default 20000, each run once), with block sets of 1 and N entries (default\n"
	    "1000000, at least 2) against a class open to all, N rounds (default 5, at most 64). Prints\n"
	    "JSON. --write-config writes a config with N generated prefixes (the same mix).\n"
	    "Options: --seed N. Needs root.\n");
}

static int parse_scales(const char *s, struct opts *o)
{
	char *end;

	o->nscales = 0;
	while (*s) {
		if (o->nscales == SCALE_MAX)
			return -E2BIG;
		o->scales[o->nscales] = strtoul(s, &end, 10);
		if (end == s || !o->scales[o->nscales] || o->scales[o->nscales] > VW_MAX_RULES)
			return -EINVAL;
		o->nscales++;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return o->nscales ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {{"build", required_argument, NULL, 'b'},
					      {"rounds", required_argument, NULL, 'r'},
					      {"packets", required_argument, NULL, 'p'},
					      {"repeat", required_argument, NULL, 'R'},
					      {"scales", required_argument, NULL, 's'},
					      {"seed", required_argument, NULL, 'S'},
					      {"xdp-filter-prog", required_argument, NULL, 'x'},
					      {"flood-packets", required_argument, NULL, 'f'},
					      {"block-entries", required_argument, NULL, 'B'},
					      {"write-config", required_argument, NULL, 'w'},
					      {"prefixes", required_argument, NULL, 'n'},
					      {"help", no_argument, NULL, 'h'},
					      {}};
	struct opts o = {.rounds = 5,
			 .packets = 20000,
			 .repeat = 1000000,
			 .flood_packets = 20000,
			 .block_entries = 1000000,
			 .seed = 0x766f6970};
	const char *write = NULL;
	unsigned long prefixes = 0;
	char *end;
	int c;

	parse_scales("10,10000,100000,1000000", &o);
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.build = optarg;
			break;
		case 'r':
		case 'p':
		case 'R':
		case 'n':
		case 'x':
		case 'f':
		case 'B':
		case 'S': {
			unsigned long long v = strtoull(optarg, &end, 0);

			if (*end || !v || (c != 'S' && v > 100000000)) {
				fprintf(stderr, PROG ": bad number: %s\n", optarg);
				return 2;
			}
			if (c == 'r')
				o.rounds = v;
			else if (c == 'p')
				o.packets = v;
			else if (c == 'R')
				o.repeat = v;
			else if (c == 'n')
				prefixes = v;
			else if (c == 'x')
				o.xf_prog = v;
			else if (c == 'f')
				o.flood_packets = v;
			else if (c == 'B')
				o.block_entries = v;
			else
				o.seed = v;
			break;
		}
		case 's':
			if (parse_scales(optarg, &o)) {
				fprintf(stderr, PROG ": bad --scales: %s\n", optarg);
				return 2;
			}
			break;
		case 'w':
			write = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (!write && !o.build) || (write && !prefixes) || o.rounds > 64 ||
	    o.block_entries < 2 || o.block_entries > VW_BLOCK_MAX_ENTRIES) {
		usage(stderr);
		return 2;
	}
	if (write)
		return write_config(write, prefixes, o.seed) ? 1 : 0;
	return run_all(&o) ? 1 : 0;
}
