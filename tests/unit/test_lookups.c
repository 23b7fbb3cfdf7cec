// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The allowlist decision's work is bounded: for any config within the limits and any source, the
 * program makes at most VW_V4_MAX_LOOKUPS (IPv4) or VW_V6_MAX_LOOKUPS (IPv6) map lookups to find
 * the source's classes. Counted, not timed: the test build of the program
 * (bpf/voipwall_count.bpf.c) counts the decision's lookups in vw_lookups, and every source here
 * is run through it once.
 *
 * Configs: the hostile ones (every length /25../32 inside one /24, nested and spread; every
 * length /33../128 under one /32, nested and spread; every length below /32 over one address;
 * hosts probed below a nested chain), and random overlapping ones. Sources: every
 * address of the hostile /24s, each IPv6 rule's address with every bit below /32 flipped in turn
 * (the walks that go deepest before they miss), and random ones. Each verdict is also checked
 * against the union of the covering rules, so a walk cut short would fail too.
 *
 * Prints PASS/FAIL per config with the largest count seen and the count of a typical source.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "voipwall_count.skel.h"
#include "config.h"
#include "lib/pkt.h"
#include "tables.h"
#include "voipwall.h"

#define NCLASSES 4
#define PORT0 6000

static struct voipwall_count_bpf *skel;
static struct vw_maps maps;
static int prog_fd, failures, passes;

static __u64 rng_state = 0x6c6f6f6b75707321ULL;

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return getenv("VW_TEST_VERBOSE") ? vfprintf(stderr, fmt, ap) : 0;
}

static void mask_addr(__u8 *a, unsigned int plen, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++) {
		unsigned int keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * i : 0;

		a[i] &= (__u8)(0xff00 >> keep);
	}
}

static void cfg_init(struct vw_config *c)
{
	static const char classes[] = "class c0 6000/udp\nclass c1 6001/udp\n"
				      "class c2 6002/udp\nclass c3 6003/udp\n";

	memset(c, 0, sizeof(*c));
	if (vw_config_parse_buf(c, "test_lookups", classes, strlen(classes), stderr) ||
	    vw_config_assign_ids(c, NULL))
		abort();
}

static void add(struct vw_config *c, int family, const __u8 *addr, unsigned int plen, __u32 mask)
{
	struct vw_rule r = {.family = family, .plen = plen, .mask = mask};

	memcpy(r.addr, addr, family == 4 ? 4 : 16);
	mask_addr(r.addr, plen, family == 4 ? 4 : 16);
	if (vw_config_add_rule(c, &r))
		abort();
}

static void add_str(struct vw_config *c, const char *prefix, __u32 mask)
{
	char buf[64], *slash;
	__u8 a[16] = {0};
	int family;

	snprintf(buf, sizeof(buf), "%s", prefix);
	slash = strchr(buf, '/');
	*slash = '\0';
	family = strchr(buf, ':') ? 6 : 4;
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, buf, a) != 1)
		abort();
	add(c, family, a, atoi(slash + 1), mask);
}

static __u32 rnd_mask(void)
{
	__u32 m = 1U << (rnd() % NCLASSES);

	return rnd() & 1 ? m | 1U << (rnd() % NCLASSES) : m;
}

/* The union of the masks of the rules covering addr. */
static __u32 ref_mask(const struct vw_config *c, int family, const __u8 *addr)
{
	unsigned int bytes = family == 4 ? 4 : 16;
	__u32 mask = 0;
	size_t i;

	for (i = 0; i < c->nrules; i++) {
		const struct vw_rule *r = &c->rules[i];
		__u8 a[16];

		if (r->family != family)
			continue;
		memcpy(a, addr, bytes);
		mask_addr(a, r->plen, bytes);
		if (!memcmp(a, r->addr, bytes))
			mask |= r->mask;
	}
	return mask;
}

struct tally {
	const char *name;
	int family;
	unsigned int sources, max, bad;
	__u8 worst[16];
};

/* Run one source: count the decision's lookups and check the verdict for class k. */
static void run_source(const struct vw_config *c, struct tally *t, const __u8 *addr)
{
	char src[64], dst[64];
	unsigned int k = rnd() % NCLASSES;
	__u32 want = ref_mask(c, t->family, addr) >> k & 1 ? XDP_PASS : XDP_DROP;
	struct pkt p;

	LIBBPF_OPTS(bpf_test_run_opts, opts);
	inet_ntop(t->family == 4 ? AF_INET : AF_INET6, addr, src, sizeof(src));
	snprintf(dst, sizeof(dst), "%s", t->family == 4 ? "198.18.100.1" : "2001:db8:ffff::1");
	pkt_init(&p);
	pkt_eth(&p);
	if (t->family == 4)
		pkt_ipv4(&p, src, dst, 0);
	else
		pkt_ipv6(&p, src, dst);
	pkt_udp(&p, 40000, PORT0 + k);
	pkt_data(&p, 16);
	pkt_finish(&p);
	opts.data_in = p.data;
	opts.data_size_in = p.len;
	skel->bss->vw_lookups = 0;
	t->sources++;
	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		if (t->bad++ < 3)
			printf("  %s: test run of %s failed: %s\n", t->name, src, strerror(errno));
		return;
	}
	if (opts.retval != want) {
		if (t->bad++ < 3)
			printf("  %s: %s to class c%u got action %u, the rules give %u\n", t->name,
			       src, k, opts.retval, want);
	}
	if (skel->bss->vw_lookups > t->max) {
		t->max = skel->bss->vw_lookups;
		memcpy(t->worst, addr, 16);
	}
}

/* Apply c, run the sources, report against the family's bound. */
static void check(const char *name, struct vw_config *c, int family, const __u8 (*srcs)[16],
		  size_t n)
{
	unsigned int bound = family == 4 ? VW_V4_MAX_LOOKUPS : VW_V6_MAX_LOOKUPS, typical;
	struct tally t = {.name = name, .family = family};
	__u8 a[16] = {0};
	char buf[64];
	size_t i;
	int err;

	err = vw_apply(&maps, c, NULL, NULL);
	if (err) {
		printf("FAIL %s: vw_apply failed: %s\n", name, strerror(-err));
		failures++;
		return;
	}
	/* A typical attack source: one no rule covers (the documentation range of the other
	 * family's test net, far from every rule here). */
	if (family == 4)
		inet_pton(AF_INET, "203.0.113.9", a);
	else
		inet_pton(AF_INET6, "3fff:1234::9", a);
	run_source(c, &t, a);
	typical = t.max;
	for (i = 0; i < n; i++)
		run_source(c, &t, srcs[i]);
	inet_ntop(family == 4 ? AF_INET : AF_INET6, t.worst, buf, sizeof(buf));
	if (t.bad || t.max > bound) {
		printf("FAIL %s: %u sources, at most %u lookups (bound %u, at %s), %u wrong "
		       "verdicts\n",
		       name, t.sources, t.max, bound, buf, t.bad);
		failures++;
	} else {
		printf("PASS %s: %u sources, at most %u lookups (bound %u, at %s), typical %u\n",
		       name, t.sources, t.max, bound, buf, typical);
		passes++;
	}
}

/* Sources for an IPv4 config: every address of the given /24s and random ones near them. */
static size_t v4_sources(__u8 (*s)[16], const char *const *s24, size_t n24, size_t nrand)
{
	size_t i, j, n = 0;

	for (i = 0; i < n24; i++) {
		__u8 a[16] = {0};

		inet_pton(AF_INET, s24[i], a);
		for (j = 0; j < 256; j++) {
			memcpy(s[n], a, 16);
			s[n++][3] = j;
		}
	}
	for (i = 0; i < nrand; i++) {
		__u32 x = htonl(0xc6120000 | (rnd() & 0x1ffff)); /* 198.18.0.0/15 */

		memset(s[n], 0, 16);
		memcpy(s[n++], &x, 4);
	}
	return n;
}

/* Sources for an IPv6 config: each rule's address with host bits random, and with each bit from
 * 32 to its length flipped in turn (each a walk that leaves the rule at that depth). */
static size_t v6_sources(__u8 (*s)[16], const struct vw_config *c, size_t cap)
{
	size_t i, n = 0;
	unsigned int b;

	for (i = 0; i < c->nrules && n + 130 < cap; i++) {
		const struct vw_rule *r = &c->rules[i];
		__u8 a[16];

		if (r->family != 6)
			continue;
		memcpy(a, r->addr, 16);
		for (b = r->plen; b < 128; b++)
			if (rnd() & 1)
				a[b / 8] |= 0x80 >> (b % 8);
		memcpy(s[n++], a, 16);
		for (b = 32; b < r->plen && b < 128; b++) {
			memcpy(s[n], r->addr, 16);
			s[n++][b / 8] ^= 0x80 >> (b % 8);
		}
	}
	return n;
}

#define MAX_SOURCES 200000

int main(void)
{
	static const char *const hostile24[] = {"198.18.7.0", "198.18.8.0", "198.18.9.0",
						"198.18.10.0"};
	__u8(*srcs)[16] = calloc(MAX_SOURCES, 16);
	struct vw_config c;
	size_t n, i;
	unsigned int L;
	__u8 x[16];
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP test_lookups: needs root (BPF)\n");
		return 0;
	}
	libbpf_set_print(quiet_print);
	skel = voipwall_count_bpf__open_and_load();
	if (!skel || !srcs) {
		printf("FAIL test_lookups_open: cannot load the counting program: %s\n",
		       strerror(errno));
		return 1;
	}
	prog_fd = bpf_program__fd(skel->progs.voipwall_xdp);
	err = vw_maps_from_obj(skel->obj, &maps);
	if (err) {
		printf("FAIL test_lookups_open: %s\n", strerror(-err));
		return 1;
	}

	/* IPv4: every length /25../32 in one /24, nested (one chain) and spread (disjoint), a /24
	 * of /32 hosts only, one of /29s and /32s, under covering shorter rules. */
	cfg_init(&c);
	add_str(&c, "198.18.0.0/16", 1);
	add_str(&c, "198.18.7.0/24", 2);
	for (L = 25; L <= 32; L++) {
		__u8 a[4] = {198, 18, 7, 0}, b[4] = {198, 18, 8, (__u8)(256 - (512 >> (L - 24)))};

		add(&c, 4, a, L, 1U << (L % NCLASSES));
		add(&c, 4, b, L, rnd_mask());
	}
	for (i = 0; i < 40; i++) {
		__u8 h[4] = {198, 18, 9, (__u8)(rnd() & 0xff)}, m[4] = {198, 18, 10, (__u8)rnd()};

		add(&c, 4, h, 32, rnd_mask());
		add(&c, 4, m, i % 2 ? 29 : 32, rnd_mask());
	}
	n = v4_sources(srcs, hostile24, 4, 4000);
	check("lookups_v4_every_length_in_one_24", &c, 4, (const __u8(*)[16])srcs, n);
	vw_config_free(&c);

	/* IPv6: every length /33../128 under one /32, nested along one address. */
	cfg_init(&c);
	inet_pton(AF_INET6, "2001:db8:a5a5:5a5a:a5a5:5a5a:a5a5:5a5a", x);
	for (L = 33; L <= 128; L++)
		add(&c, 6, x, L, 1U << (L % NCLASSES));
	n = v6_sources(srcs, &c, MAX_SOURCES);
	check("lookups_v6_every_length_nested_under_one_32", &c, 6, (const __u8(*)[16])srcs, n);
	vw_config_free(&c);

	/* IPv6: every length /33../128 under one /32, each at its own random place, and hosts. */
	cfg_init(&c);
	for (L = 33; L <= 128; L++) {
		for (i = 0; i < 16; i++)
			x[i] = rnd();
		x[0] = 0x20, x[1] = 0x01, x[2] = 0x0d, x[3] = 0xb8;
		add(&c, 6, x, L, rnd_mask());
		add(&c, 6, x, 128, rnd_mask());
	}
	n = v6_sources(srcs, &c, MAX_SOURCES);
	check("lookups_v6_every_length_spread_under_one_32", &c, 6, (const __u8(*)[16])srcs, n);
	vw_config_free(&c);

	/* IPv6: every length /1../31 over one address (the /16 root trie), with a /32 below. */
	cfg_init(&c);
	inet_pton(AF_INET6, "2001:db8:ffff::", x);
	for (L = 1; L <= 31; L++)
		add(&c, 6, x, L, 1U << (L % NCLASSES));
	add_str(&c, "2001:db8::/32", 1);
	n = 0;
	for (L = 0; L < 32; L++) {
		memcpy(srcs[n], x, 16);
		srcs[n++][L / 8] ^= 0x80 >> (L % 8);
	}
	n += v6_sources(srcs + n, &c, MAX_SOURCES - n);
	check("lookups_v6_every_length_below_32", &c, 6, (const __u8(*)[16])srcs, n);
	vw_config_free(&c);

	/* IPv6: hosts below a nested chain (probes at the bottom of the trie), and a /32 of hosts. */
	cfg_init(&c);
	inet_pton(AF_INET6, "2001:db8:a5a5:5a5a:a5a5:5a5a:a5a5:5a5a", x);
	for (L = 33; L <= 112; L++)
		add(&c, 6, x, L, 1U << (L % NCLASSES));
	for (i = 0; i < 64; i++) {
		x[14] = 0x5b + i % 4;
		x[15] = rnd();
		add(&c, 6, x, 128, rnd_mask());
		x[0] = 0x3f, x[1] = 0xff;
		add(&c, 6, x, 128, rnd_mask());
		x[0] = 0x20, x[1] = 0x01;
	}
	n = v6_sources(srcs, &c, MAX_SOURCES);
	check("lookups_v6_probes_below_a_chain", &c, 6, (const __u8(*)[16])srcs, n);
	vw_config_free(&c);

	/* Random overlapping rules of both families near a few bases. */
	cfg_init(&c);
	for (i = 0; i < 4000; i++) {
		__u8 a[16] = {0x20, 0x01, 0x0d, 0xb8};
		__u64 r = rnd();

		if (i % 2) {
			a[0] = 198, a[1] = 18 + (r & 1), a[2] = r >> 8 & 3, a[3] = r >> 16;
			add(&c, 4, a, 14 + r % 19, rnd_mask());
		} else {
			a[4] = r >> 8 & 1, a[5] = r >> 16 & 3;
			for (L = 6; L < 16; L++)
				a[L] = rnd() & (L < 14 ? 1 : 0xff);
			add(&c, 6, a, (unsigned int[]){20, 32, 40, 48, 56, 63, 64, 96, 127, 128}[r % 10],
			    rnd_mask());
		}
	}
	n = v6_sources(srcs, &c, MAX_SOURCES);
	check("lookups_v6_random_overlapping", &c, 6, (const __u8(*)[16])srcs, n);
	n = 0;
	for (i = 0; i < c.nrules && n < MAX_SOURCES; i++) {
		if (c.rules[i].family != 4)
			continue;
		memcpy(srcs[n], c.rules[i].addr, 16);
		srcs[n++][3] ^= rnd() & 0xff;
	}
	check("lookups_v4_random_overlapping", &c, 4, (const __u8(*)[16])srcs, n);
	vw_config_free(&c);

	voipwall_count_bpf__destroy(skel);
	free(srcs);
	printf("# test_lookups: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
