// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP data-path unit tests: the real program from the skeleton,
 * configs applied with vw_apply(), crafted frames run with
 * bpf_prog_test_run_opts. Each case asserts the XDP action and the exact
 * counter delta: the one expected (slot, class, verdict, reason) cell gains one
 * packet and the frame's length in bytes, every other cell is unchanged; drops
 * and monitors also update vw_sources. Expected results follow
 * docs/datapath.md.
 *
 * Prints "PASS name" / "FAIL name: what differed" per case (the frame in hex
 * follows a failure).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <sched.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "voipwall.skel.h"
#include "config.h"
#include "lib/pkt.h"
#include "lib/xdptest.h"
#include "names.h"
#include "tables.h"
#include "voipwall.h"

/* ---- Addresses and ports of the main config ---- */

#define GW4 "198.18.100.1"
#define GW6 "2001:db8:ffff::1"

/* Class ids: mgmt deliberately not next to the others, so ids and positions
 * differ. */
#define SIP  0
#define RTP  1
#define MGMT 5
#define NONE VW_CLASS_NONE

#define P VW_VERDICT_PASS
#define D VW_VERDICT_DROP
#define M VW_VERDICT_MONITOR

#define R_ALLOW VW_REASON_ALLOWLISTED
#define R_NOT	VW_REASON_NOT_ALLOWLISTED
#define R_UNP	VW_REASON_UNPROTECTED
#define R_MAL	VW_REASON_MALFORMED
#define R_FRAG	VW_REASON_FRAGMENT
#define R_FUNK	VW_REASON_FRAGMENT_UNKNOWN
#define R_NONIP VW_REASON_NON_IP

/* Case flags. */
#define NOSRC                                                                                      \
	0x1	      /* the IP header is invalid: the source is unknown, vw_sources unchanged     \
		       */
#define MAYREFUSE 0x2 /* shorter than Ethernet: bpf_prog_test_run may refuse it (-EINVAL) */

/* Expected verdict, reason, class (and flags). */
#define E(v, r, c)                                                                                 \
	{                                                                                          \
		(v), (r), (c), 0                                                                   \
	}
/* Counter cells of one interface slot. */
#define SLOT_CELLS VW_COUNTERS_PER_SLOT
#define EN(v, r, c)                                                                                \
	{                                                                                          \
		(v), (r), (c), NOSRC                                                               \
	}

static struct xdptest T;
static struct vw_counter *cnt_now, *cnt_next;
static int failures, passes;
static unsigned int refused; /* frames the kernel would not run (MAYREFUSE) */
static __u32 ifindex_run;    /* ingress ifindex used for runs (0 or 1) */
static __u32 slot_run = VW_IFACE_SLOT_OTHER;
/* The bytes a frame is expected to count; 0: its length. */
static size_t bytes_run;

/* ---- Reporting ---- */

static void pass(const char *name)
{
	printf("PASS %s\n", name);
	passes++;
}

static void __attribute__((format(printf, 4, 5)))
fail(const char *name, const void *frame, size_t len, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (frame) {
		printf("  frame (%zu bytes):\n", len);
		pkt_hex(stdout, frame, len);
	}
	failures++;
	/* VW_TEST_FAILFAST (make mutate): the first failure is the answer. */
	if (getenv("VW_TEST_FAILFAST")) {
		printf("# test_xdp: stopped at the first failure (VW_TEST_FAILFAST)\n");
		exit(1);
	}
}

static const char *class_label(unsigned int cls, char *buf, size_t n)
{
	if (cls == VW_CLASS_NONE)
		return "none";
	snprintf(buf, n, "class%u", cls);
	return buf;
}

static void describe_cell(unsigned int idx, char *buf, size_t n)
{
	char cbuf[16];

	snprintf(buf, n, "(slot %u, %s, %s, %s)", VW_COUNTER_SLOT(idx),
		 class_label(VW_COUNTER_CLASS(idx), cbuf, sizeof(cbuf)),
		 vw_verdict_name(VW_COUNTER_VERDICT(idx)), vw_reason_name(VW_COUNTER_REASON(idx)));
}

/* ---- Config building (no parser: the config is constructed in code) ---- */

static void cfg_init(struct vw_config *c, const char *source)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->source, sizeof(c->source), "%s", source);
}

static void cfg_free(struct vw_config *c)
{
	free(c->rules);
	memset(c, 0, sizeof(*c));
}

/* ports: "5060/udp 10000-20000/udp 22/tcp". */
static void cfg_class(struct vw_config *c, const char *name, unsigned int id, int policy,
		      const char *ports)
{
	struct vw_class *cl = &c->classes[c->nclasses++];
	char buf[256], *tok, *save = NULL;

	memset(cl, 0, sizeof(*cl));
	snprintf(cl->name, sizeof(cl->name), "%s", name);
	cl->id = id;
	cl->policy = policy;
	snprintf(buf, sizeof(buf), "%s", ports);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		struct vw_port_range *r = &cl->ranges[cl->nranges++];
		unsigned int lo, hi;
		char proto[8];

		if (sscanf(tok, "%u-%u/%7s", &lo, &hi, proto) != 3) {
			if (sscanf(tok, "%u/%7s", &lo, proto) != 2) {
				fprintf(stderr, "bad port spec %s\n", tok);
				abort();
			}
			hi = lo;
		}
		r->lo = lo;
		r->hi = hi;
		r->l4 = !strcmp(proto, "udp")	? VW_L4_UDP
			: !strcmp(proto, "tcp") ? VW_L4_TCP
						: VW_L4_SCTP;
	}
}

static void rule_from_prefix(struct vw_rule *r, const char *prefix, __u32 mask)
{
	char buf[64], *slash;
	int family;

	memset(r, 0, sizeof(*r));
	snprintf(buf, sizeof(buf), "%s", prefix);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	family = strchr(buf, ':') ? 6 : 4;
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, buf, r->addr) != 1) {
		fprintf(stderr, "bad prefix %s\n", prefix);
		abort();
	}
	r->family = family;
	r->plen = slash ? atoi(slash + 1) : (family == 4 ? 32 : 128);
	r->mask = mask;
}

static void cfg_add(struct vw_config *c, const struct vw_rule *r)
{
	if (c->nrules == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->rules = realloc(c->rules, c->cap * sizeof(*c->rules));
		if (!c->rules)
			abort();
	}
	c->rules[c->nrules++] = *r;
}

static void cfg_allow(struct vw_config *c, __u32 mask, const char *prefix)
{
	struct vw_rule r;

	rule_from_prefix(&r, prefix, mask);
	cfg_add(c, &r);
}

#define BIT(c) (1U << (c))

/* The main config: the union example plus prefixes of many lengths. */
static void config_main(struct vw_config *c)
{
	cfg_init(c, "test_xdp main");
	cfg_class(c, "sip", SIP, VW_POLICY_DROP, "5060/udp 5060/tcp 5061/tcp 5060/sctp");
	cfg_class(c, "rtp", RTP, VW_POLICY_MONITOR, "10000-20000/udp");
	cfg_class(c, "mgmt", MGMT, VW_POLICY_DROP, "22/tcp 80/tcp 443/tcp 161/udp 2905/sctp");
	cfg_allow(c, BIT(SIP), "198.18.0.0/15");
	cfg_allow(c, BIT(MGMT), "198.18.2.0/24");
	cfg_allow(c, BIT(RTP), "198.19.0.0/16");
	cfg_allow(c, BIT(MGMT), "198.18.3.64/26");
	cfg_allow(c, BIT(RTP), "203.0.113.128/25");
	cfg_allow(c, BIT(SIP), "203.0.113.200/29");
	cfg_allow(c, BIT(MGMT), "203.0.113.77/32");
	cfg_allow(c, BIT(SIP) | BIT(MGMT), "192.0.2.1/32");
	cfg_allow(c, BIT(SIP), "2001:db8::/32");
	cfg_allow(c, BIT(MGMT), "2001:db8:10::/48");
	cfg_allow(c, BIT(RTP), "2001:db8:10:20::/64");
	cfg_allow(c, BIT(MGMT), "3fff::77/128");
	cfg_allow(c, BIT(RTP), "3fff:0:0:ab00::/56");
}

static int apply(const struct vw_config *c, const char *what)
{
	int err = vw_apply(&T.maps, c, NULL, NULL);

	if (err)
		fail(what, NULL, 0, "vw_apply failed: %s", strerror(-err));
	return err;
}

/* ---- Running frames and checking the effects ---- */

struct expect {
	int verdict, reason, cls;
	unsigned int flags;
};

/* Run one frame; check the action, the exact counter delta and vw_sources.
 * src/family: the frame's source address when it has an IP header (family 0:
 * none). Returns 0 when all held. */
static int check_frame(const char *name, const void *frame, size_t len, const __u8 *src, int family,
		       const struct expect *e)
{
	__u32 want_action = e->verdict == D ? XDP_DROP : XDP_PASS, action = 0;
	__u32 want_idx = VW_COUNTER_INDEX(slot_run, e->cls, e->verdict, e->reason);
	__u32 base = VW_COUNTER_INDEX(slot_run, 0, 0, 0);
	struct vw_src_val sb = {}, sa = {};
	char msg[1024] = "", cell[96];
	bool had_src = false, want_src;
	size_t used = 0, ndiff = 0, want_bytes = bytes_run ? bytes_run : len;
	unsigned int i;
	int err;

	want_src = family && e->verdict != P && !(e->flags & NOSRC);
	if (family)
		had_src = !xdptest_source(&T, src, family, &sb);
	err = xdptest_run(&T, frame, len, ifindex_run, &action);
	if (err == -EINVAL && (e->flags & MAYREFUSE) && len < 14) {
		refused++;
		return 0;
	}
	if (err) {
		fail(name, frame, len, "bpf_prog_test_run_opts: %s", strerror(-err));
		return -1;
	}
	/* The slot's cells after every frame; the other slots at the end of each
	 * group (check_elsewhere), which keeps a run of thousands of frames fast. */
	err = xdptest_counters_range(&T, base, SLOT_CELLS, cnt_next + base);
	if (err) {
		fail(name, frame, len, "reading counters: %s", strerror(-err));
		return -1;
	}
	if (action != want_action)
		used += snprintf(msg + used, sizeof(msg) - used, "action %s, want %s; ",
				 xdptest_action_name(action), xdptest_action_name(want_action));
	for (i = base; i < base + SLOT_CELLS; i++) {
		__u64 dp = cnt_next[i].packets - cnt_now[i].packets;
		__u64 db = cnt_next[i].bytes - cnt_now[i].bytes;
		__u64 wp = i == want_idx ? 1 : 0, wb = i == want_idx ? want_bytes : 0;

		if (dp == wp && db == wb)
			continue;
		if (++ndiff > 4 || used >= sizeof(msg) - 200)
			continue;
		describe_cell(i, cell, sizeof(cell));
		used += snprintf(msg + used, sizeof(msg) - used,
				 "counter %s +%llu pkts +%llu bytes, want +%llu +%llu; ", cell,
				 (unsigned long long)dp, (unsigned long long)db,
				 (unsigned long long)wp, (unsigned long long)wb);
	}
	memcpy(cnt_now + base, cnt_next + base, SLOT_CELLS * sizeof(*cnt_now));

	if (family) {
		bool has = !xdptest_source(&T, src, family, &sa);
		__u64 dp = has ? sa.packets - (had_src ? sb.packets : 0) : 0;
		__u64 db = has ? sa.bytes - (had_src ? sb.bytes : 0) : 0;

		if (want_src && (dp != 1 || db != want_bytes || sa.last_class != (__u32)e->cls ||
				 sa.last_reason != (__u32)e->reason))
			used +=
			    snprintf(msg + used, sizeof(msg) - used,
				     "vw_sources +%llu pkts +%llu bytes class %u reason %u, want "
				     "+1 +%zu class %d reason %d; ",
				     (unsigned long long)dp, (unsigned long long)db, sa.last_class,
				     sa.last_reason, want_bytes, e->cls, e->reason);
		if (!want_src && (dp || db))
			used += snprintf(msg + used, sizeof(msg) - used,
					 "vw_sources changed (+%llu pkts), want unchanged; ",
					 (unsigned long long)dp);
	}
	if (used) {
		char wcell[96];

		describe_cell(want_idx, wcell, sizeof(wcell));
		fail(name, frame, len, "%swanted %s", msg, wcell);
		return -1;
	}
	return 0;
}

/* The whole counter table must match what the per-frame checks accounted for:
 * no cell of any other slot moved. */
static void check_elsewhere(const char *group)
{
	char name[128], cell[96];
	unsigned int i, ndiff = 0;
	int err;

	snprintf(name, sizeof(name), "%s_no_other_counter_moved", group);
	err = xdptest_counters(&T, cnt_next);
	if (err) {
		fail(name, NULL, 0, "reading counters: %s", strerror(-err));
		return;
	}
	for (i = 0; i < VW_COUNTERS; i++) {
		if (cnt_next[i].packets == cnt_now[i].packets &&
		    cnt_next[i].bytes == cnt_now[i].bytes)
			continue;
		if (ndiff++ < 4) {
			describe_cell(i, cell, sizeof(cell));
			printf("  %s: counter %s moved by %lld packets outside the checked cases\n",
			       group, cell, (long long)(cnt_next[i].packets - cnt_now[i].packets));
		}
	}
	memcpy(cnt_now, cnt_next, VW_COUNTERS * sizeof(*cnt_now));
	if (ndiff)
		fail(name, NULL, 0, "%u counter cells changed that no case expected", ndiff);
	else
		pass(name);
}

static int run_spec(const char *name, const char *spec, const struct expect *e, bool report)
{
	static struct pkt p;
	int err;

	if (pkt_build(&p, spec, stdout)) {
		fail(name, NULL, 0, "bad spec '%s'", spec);
		return -1;
	}
	/* A spec that does not start with Ethernet is a frame of an interface without a
	 * link-layer header: the program's raw-IP entry point judges it. */
	T.link_ip = strncmp(spec, "eth", 3) != 0;
	err = check_frame(name, p.data, p.len, p.src, p.l3_off >= 0 ? p.l3_family : 0, e);
	T.link_ip = 0;
	if (err)
		printf("  spec: %s\n", spec);
	else if (report)
		pass(name);
	return err;
}

/* ---- The case table ---- */

struct xcase {
	const char *name;
	const char *spec;
	struct expect e;
};

/* Sources (see config_main):
 *   198.18.5.5     sip                     198.18.2.10    sip, mgmt (union: /15
 * + /24) 198.19.1.1     sip, rtp                198.18.3.65    sip, mgmt (/26
 * inside the /15) 198.18.3.1     sip (long /24, miss)    203.0.113.130  rtp
 * (/25) 203.0.113.201  rtp, sip (/29 in /25)   203.0.113.77   mgmt (/32)
 *   203.0.113.66   nothing (long /24)      192.0.2.1      sip, mgmt (/32, two
 * classes) 192.0.2.99     nothing (long /24)      198.51.100.9   nothing
 *   2001:db8:1::1  sip                     2001:db8:10::1 sip, mgmt (/48 in
 * /32) 2001:db8:10:20::1 sip, mgmt, rtp       3fff::77       mgmt (/128)
 *   3fff:0:0:ab12::1 rtp (/56)             3fff::1        nothing
 */
#define SCAN4 "203.0.113.66"
#define SCAN6 "3fff::1"
#define PBX4  "198.18.5.5"
#define PBX6  "2001:db8:1::5"

static const struct xcase cases[] = {
    /* Each protocol and class. */
    {"udp_sip_allowlisted", "eth ip4=198.18.5.5>" GW4 " udp=5060>5060 data=100",
     E(P, R_ALLOW, SIP)},
    {"udp_sip_not_allowlisted", "eth ip4=" SCAN4 ">" GW4 " udp=5060>5060 data=100",
     E(D, R_NOT, SIP)},
    {"tcp_sip_allowlisted", "eth ip4=198.18.5.5>" GW4 " tcp=40000>5060", E(P, R_ALLOW, SIP)},
    {"tcp_sip_tls_not_allowlisted", "eth ip4=" SCAN4 ">" GW4 " tcp=40000>5061", E(D, R_NOT, SIP)},
    {"sctp_sip_allowlisted", "eth ip4=198.18.5.5>" GW4 " sctp=5060>5060 data=16",
     E(P, R_ALLOW, SIP)},
    {"sctp_sip_not_allowlisted", "eth ip4=" SCAN4 ">" GW4 " sctp=5060>5060 data=16",
     E(D, R_NOT, SIP)},
    {"tcp_mgmt_ssh_allowlisted", "eth ip4=198.18.2.10>" GW4 " tcp=40000>22", E(P, R_ALLOW, MGMT)},
    {"tcp_mgmt_ssh_other_class", "eth ip4=198.18.5.5>" GW4 " tcp=40000>22", E(D, R_NOT, MGMT)},
    {"udp_mgmt_snmp_not_allowlisted", "eth ip4=" SCAN4 ">" GW4 " udp=1000>161 data=30",
     E(D, R_NOT, MGMT)},
    {"sctp_mgmt_allowlisted", "eth ip4=203.0.113.77>" GW4 " sctp=1>2905", E(P, R_ALLOW, MGMT)},
    {"sctp_mgmt_other_class", "eth ip4=198.18.5.5>" GW4 " sctp=1>2905", E(D, R_NOT, MGMT)},
    {"udp_rtp_allowlisted", "eth ip4=198.19.1.1>" GW4 " udp=30000>10000 data=160",
     E(P, R_ALLOW, RTP)},
    {"udp_rtp_monitor_other_class", "eth ip4=198.18.5.5>" GW4 " udp=30000>15000 data=160",
     E(M, R_NOT, RTP)},
    {"udp_rtp_monitor_range_end", "eth ip4=" SCAN4 ">" GW4 " udp=30000>20000 data=160",
     E(M, R_NOT, RTP)},
    {"udp_past_rtp_range_unprotected", "eth ip4=" SCAN4 ">" GW4 " udp=30000>20001",
     E(P, R_UNP, NONE)},
    {"udp_before_rtp_range_unprotected", "eth ip4=" SCAN4 ">" GW4 " udp=30000>9999",
     E(P, R_UNP, NONE)},
    {"tcp_on_udp_only_port_unprotected", "eth ip4=" SCAN4 ">" GW4 " tcp=1>10000",
     E(P, R_UNP, NONE)},
    {"udp_on_tcp_only_port_unprotected", "eth ip4=" SCAN4 ">" GW4 " udp=1>22", E(P, R_UNP, NONE)},
    {"sctp_unprotected_port", "eth ip4=" SCAN4 ">" GW4 " sctp=1>9", E(P, R_UNP, NONE)},
    {"icmp_unprotected", "eth ip4=" SCAN4 ">" GW4 " proto=1 data=8", E(P, R_UNP, NONE)},
    {"gre_unprotected", "eth ip4=" SCAN4 ">" GW4 " proto=47 data=24", E(P, R_UNP, NONE)},
    {"arp_non_ip", "eth=0x0806 data=28", E(P, R_NONIP, NONE)},
    {"vlan_arp_non_ip", "eth q=5 type=0x0806 data=28", E(P, R_NONIP, NONE)},
    {"ethertype_ipx_non_ip", "eth=0x8137 data=46", E(P, R_NONIP, NONE)},

    /* Union semantics and prefix lengths (IPv4). */
    {"union_sip_via_15", "eth ip4=198.18.2.10>" GW4 " udp=5060>5060", E(P, R_ALLOW, SIP)},
    {"union_mgmt_via_24", "eth ip4=198.18.2.10>" GW4 " tcp=1>443", E(P, R_ALLOW, MGMT)},
    {"union_rtp_not_in_either", "eth ip4=198.18.2.10>" GW4 " udp=1>12000", E(M, R_NOT, RTP)},
    {"v4_16_in_15_both", "eth ip4=198.19.1.1>" GW4 " udp=1>5060", E(P, R_ALLOW, SIP)},
    {"v4_16_rtp", "eth ip4=198.19.1.1>" GW4 " udp=1>12000", E(P, R_ALLOW, RTP)},
    {"v4_16_no_mgmt", "eth ip4=198.19.1.1>" GW4 " tcp=1>80", E(D, R_NOT, MGMT)},
    {"v4_26_long_hit_mgmt", "eth ip4=198.18.3.65>" GW4 " tcp=1>22", E(P, R_ALLOW, MGMT)},
    {"v4_26_long_hit_keeps_15_sip", "eth ip4=198.18.3.65>" GW4 " udp=1>5060", E(P, R_ALLOW, SIP)},
    {"v4_26_long_miss_falls_back_sip", "eth ip4=198.18.3.1>" GW4 " udp=1>5060", E(P, R_ALLOW, SIP)},
    {"v4_26_long_miss_no_mgmt", "eth ip4=198.18.3.1>" GW4 " tcp=1>22", E(D, R_NOT, MGMT)},
    {"v4_25_rtp", "eth ip4=203.0.113.130>" GW4 " udp=1>10500", E(P, R_ALLOW, RTP)},
    {"v4_25_no_sip", "eth ip4=203.0.113.130>" GW4 " udp=1>5060", E(D, R_NOT, SIP)},
    {"v4_29_in_25_sip", "eth ip4=203.0.113.201>" GW4 " udp=1>5060", E(P, R_ALLOW, SIP)},
    {"v4_29_in_25_keeps_rtp", "eth ip4=203.0.113.201>" GW4 " udp=1>10500", E(P, R_ALLOW, RTP)},
    {"v4_29_edge_207", "eth ip4=203.0.113.207>" GW4 " udp=1>5060", E(P, R_ALLOW, SIP)},
    {"v4_29_edge_208_outside", "eth ip4=203.0.113.208>" GW4 " udp=1>5060", E(D, R_NOT, SIP)},
    {"v4_32_port_in_no_class", "eth ip4=203.0.113.77>" GW4 " tcp=1>8443", E(P, R_UNP, NONE)},
    {"v4_32_mgmt_port80", "eth ip4=203.0.113.77>" GW4 " tcp=1>80", E(P, R_ALLOW, MGMT)},
    {"v4_32_neighbour_76", "eth ip4=203.0.113.76>" GW4 " tcp=1>80", E(D, R_NOT, MGMT)},
    {"v4_32_two_classes_sip", "eth ip4=192.0.2.1>" GW4 " udp=1>5060", E(P, R_ALLOW, SIP)},
    {"v4_32_two_classes_mgmt", "eth ip4=192.0.2.1>" GW4 " tcp=1>22", E(P, R_ALLOW, MGMT)},
    {"v4_32_two_classes_no_rtp", "eth ip4=192.0.2.1>" GW4 " udp=1>10000", E(M, R_NOT, RTP)},
    {"v4_long_24_miss_nothing", "eth ip4=192.0.2.99>" GW4 " udp=1>5060", E(D, R_NOT, SIP)},
    {"v4_no_rule_at_all", "eth ip4=198.51.100.9>" GW4 " tcp=1>22", E(D, R_NOT, MGMT)},

    /* IPv6 prefixes of several lengths. */
    {"v6_32_sip", "eth ip6=2001:db8:1::1>" GW6 " udp=5060>5060 data=50", E(P, R_ALLOW, SIP)},
    {"v6_32_no_mgmt", "eth ip6=2001:db8:1::1>" GW6 " tcp=1>22", E(D, R_NOT, MGMT)},
    {"v6_48_mgmt", "eth ip6=2001:db8:10::1>" GW6 " tcp=1>22", E(P, R_ALLOW, MGMT)},
    {"v6_48_keeps_32_sip", "eth ip6=2001:db8:10::1>" GW6 " tcp=1>5060", E(P, R_ALLOW, SIP)},
    {"v6_48_no_rtp", "eth ip6=2001:db8:10::1>" GW6 " udp=1>10000", E(M, R_NOT, RTP)},
    {"v6_64_rtp", "eth ip6=2001:db8:10:20::1>" GW6 " udp=1>10000", E(P, R_ALLOW, RTP)},
    {"v6_64_keeps_48_mgmt", "eth ip6=2001:db8:10:20::1>" GW6 " tcp=1>80", E(P, R_ALLOW, MGMT)},
    {"v6_64_keeps_32_sip", "eth ip6=2001:db8:10:20:ffff::1>" GW6 " sctp=1>5060",
     E(P, R_ALLOW, SIP)},
    {"v6_128_mgmt", "eth ip6=3fff::77>" GW6 " tcp=1>22", E(P, R_ALLOW, MGMT)},
    {"v6_128_neighbour", "eth ip6=3fff::76>" GW6 " tcp=1>22", E(D, R_NOT, MGMT)},
    {"v6_56_rtp", "eth ip6=3fff:0:0:ab12::1>" GW6 " udp=1>10000", E(P, R_ALLOW, RTP)},
    {"v6_56_outside", "eth ip6=3fff:0:0:ac00::1>" GW6 " udp=1>10000", E(M, R_NOT, RTP)},
    {"v6_not_allowlisted_sip", "eth ip6=" SCAN6 ">" GW6 " udp=5060>5060", E(D, R_NOT, SIP)},
    {"v6_unprotected", "eth ip6=" SCAN6 ">" GW6 " udp=1>9999", E(P, R_UNP, NONE)},
    {"v6_icmpv6_unprotected", "eth ip6=" SCAN6 ">" GW6 " nh=58 data=8", E(P, R_UNP, NONE)},
    {"v6_esp_unprotected", "eth ip6=" SCAN6 ">" GW6 " nh=50 data=24", E(P, R_UNP, NONE)},
    {"v6_no_next_header_unprotected", "eth ip6=" SCAN6 ">" GW6, E(P, R_UNP, NONE)},

    /* VLAN tags. */
    {"vlan_8021q", "eth q=10 ip4=" SCAN4 ">" GW4 " udp=5060>5060", E(D, R_NOT, SIP)},
    {"vlan_8021q_allowlisted", "eth q=10 ip4=198.18.5.5>" GW4 " udp=5060>5060", E(P, R_ALLOW, SIP)},
    {"vlan_8021ad_alone", "eth ad=10 ip4=" SCAN4 ">" GW4 " tcp=1>22", E(D, R_NOT, MGMT)},
    {"vlan_qinq_ad_q", "eth ad=100 q=10 ip4=" SCAN4 ">" GW4 " udp=5060>5060", E(D, R_NOT, SIP)},
    {"vlan_qinq_q_ad", "eth q=10 ad=100 ip4=" SCAN4 ">" GW4 " udp=5060>5060", E(D, R_NOT, SIP)},
    {"vlan_qinq_q_q", "eth q=10 q=11 ip6=" SCAN6 ">" GW6 " tcp=1>5061", E(D, R_NOT, SIP)},
    {"vlan_qinq_ad_ad_allowlisted", "eth ad=1 ad=2 ip6=2001:db8:1::1>" GW6 " tcp=1>5061",
     E(P, R_ALLOW, SIP)},
    {"vlan_third_tag", "eth ad=100 q=10 q=20 ip4=198.18.5.5>" GW4 " udp=5060>5060",
     EN(D, R_MAL, NONE)},
    {"vlan_third_tag_ad", "eth q=1 q=2 ad=3 ip4=198.18.5.5>" GW4 " udp=5060>5060",
     EN(D, R_MAL, NONE)},

    /* IPv4 options and header checks. */
    {"ipv4_options_4", "eth ip4=" SCAN4 ">" GW4 " opt=4 udp=5060>5060 data=20", E(D, R_NOT, SIP)},
    {"ipv4_options_40", "eth ip4=" SCAN4 ">" GW4 " opt=40 udp=5060>5060 data=20", E(D, R_NOT, SIP)},
    {"ipv4_options_40_allowlisted", "eth ip4=198.18.5.5>" GW4 " opt=40 tcp=1>5060",
     E(P, R_ALLOW, SIP)},
    {"ipv4_options_qinq", "eth ad=1 q=2 ip4=" SCAN4 ">" GW4 " opt=12 tcp=1>22", E(D, R_NOT, MGMT)},
    {"ipv4_ihl_4", "eth ip4=198.18.5.5>" GW4 " ihl=4 udp=5060>5060 data=20", EN(D, R_MAL, NONE)},
    {"ipv4_ihl_0", "eth ip4=198.18.5.5>" GW4 " ihl=0 udp=5060>5060 data=20", EN(D, R_MAL, NONE)},
    {"ipv4_ihl_15_past_end", "eth ip4=198.18.5.5>" GW4 " ihl=15 udp=5060>5060 data=10",
     EN(D, R_MAL, NONE)},
    {"ipv4_ihl_6_past_total", "eth ip4=198.18.5.5>" GW4 " ihl=6 tot=20 udp=5060>5060 data=10",
     EN(D, R_MAL, NONE)},
    {"ipv4_version_6", "eth ip4=198.18.5.5>" GW4 " ver=6 udp=5060>5060 data=20",
     EN(D, R_MAL, NONE)},
    {"ipv4_total_below_header", "eth ip4=198.18.5.5>" GW4 " tot=19 udp=5060>5060 data=20",
     EN(D, R_MAL, NONE)},
    {"ipv4_total_past_frame", "eth ip4=198.18.5.5>" GW4 " tot=200 udp=5060>5060 data=20",
     EN(D, R_MAL, NONE)},
    {"ipv4_total_cuts_udp_header", "eth ip4=" SCAN4 ">" GW4 " tot=24 udp=5060>5060 data=20",
     E(D, R_MAL, NONE)},
    {"ipv4_total_cuts_tcp_header", "eth ip4=" SCAN4 ">" GW4 " tot=36 tcp=1>22", E(D, R_MAL, NONE)},
    {"ipv4_link_padding_ignored", "eth ip4=198.18.5.5>" GW4 " udp=5060>5060 data=2 pad=20",
     E(P, R_ALLOW, SIP)},
    {"ipv4_link_padding_not_allowlisted", "eth ip4=" SCAN4 ">" GW4 " tcp=1>22 pad=6",
     E(D, R_NOT, MGMT)},
    {"ipv4_total_leaves_udp_as_padding",
     "eth ip4=" SCAN4 ">" GW4 " tot=28 udp=5060>5060 len=8 data=40", E(D, R_NOT, SIP)},

    /* DF and the reserved flag are ignored (not fragments). */
    {"ipv4_df_not_a_fragment", "eth ip4=" SCAN4 ">" GW4 " df id=7 udp=5060>5060", E(D, R_NOT, SIP)},
    {"ipv4_reserved_flag_ignored", "eth ip4=198.18.5.5>" GW4 " rb df udp=5060>5060",
     E(P, R_ALLOW, SIP)},

    /* L4 header checks. */
    {"udp_length_7", "eth ip4=" SCAN4 ">" GW4 " udp=5060>5060 len=7 data=20", E(D, R_MAL, NONE)},
    {"udp_length_0", "eth ip4=198.18.5.5>" GW4 " udp=5060>5060 len=0 data=20", E(D, R_MAL, NONE)},
    /* IPv6 UDP length 0: the kernel takes the payload length, so the ports decide. */
    {"udp6_length_0_allowlisted", "eth ip6=" PBX6 ">" GW6 " udp=5060>5060 len=0 data=20",
     E(P, R_ALLOW, SIP)},
    {"udp6_length_0_not_allowlisted", "eth ip6=" SCAN6 ">" GW6 " udp=5060>5060 len=0 data=20",
     E(D, R_NOT, SIP)},
    {"udp6_length_0_unprotected", "eth ip6=" SCAN6 ">" GW6 " udp=1>1234 len=0", E(P, R_UNP, NONE)},
    {"udp_length_past_data", "eth ip4=198.18.5.5>" GW4 " udp=5060>5060 len=29 data=20",
     E(D, R_MAL, NONE)},
    {"udp_length_short_ok", "eth ip4=198.18.5.5>" GW4 " udp=5060>5060 len=8 data=20",
     E(P, R_ALLOW, SIP)},
    {"udp_zero_payload", "eth ip4=" SCAN4 ">" GW4 " udp=5060>5060", E(D, R_NOT, SIP)},
    {"udp_v6_length_past_data", "eth ip6=2001:db8:1::1>" GW6 " udp=5060>5060 len=100 data=20",
     E(D, R_MAL, NONE)},
    {"tcp_doff_4", "eth ip4=198.18.5.5>" GW4 " tcp=1>5060 doff=4", E(D, R_MAL, NONE)},
    {"tcp_doff_0", "eth ip4=" SCAN4 ">" GW4 " tcp=1>22 doff=0", E(D, R_MAL, NONE)},
    {"tcp_doff_past_data", "eth ip4=198.18.5.5>" GW4 " tcp=1>5060 doff=6", E(D, R_MAL, NONE)},
    {"tcp_doff_15_with_options", "eth ip4=" SCAN4 ">" GW4 " tcp=1>22 opt=40", E(D, R_NOT, MGMT)},
    {"tcp_odd_flags", "eth ip4=" SCAN4 ">" GW4 " tcp=1>22 flags=0xff", E(D, R_NOT, MGMT)},
    {"tcp_v6_doff_past_data", "eth ip6=" SCAN6 ">" GW6 " tcp=1>22 doff=7 data=4",
     E(D, R_MAL, NONE)},
    {"sctp_short", "eth ip4=" SCAN4 ">" GW4 " proto=132 data=11", E(D, R_MAL, NONE)},
    /* The IP length bounds the L4 header, not the frame: link padding after a datagram that
     * ends inside a header holds bytes that look like the rest of it (an allowlisted source,
     * so a header read past the datagram would pass). */
    {"sctp_cut_by_ipv4_total_padded", "eth ip4=" PBX4 ">" GW4 " tot=28 sctp=1>5060",
     E(D, R_MAL, NONE)},
    {"sctp_cut_by_ipv6_payload_padded", "eth ip6=2001:db8:1::1>" GW6 " plen=11 sctp=1>5060 data=8",
     E(D, R_MAL, NONE)},
    {"sctp_ipv4_total_exact", "eth ip4=" PBX4 ">" GW4 " tot=32 sctp=1>5060 data=8",
     E(P, R_ALLOW, SIP)},
    {"tcp_doff_cut_by_ipv4_total_padded",
     "eth ip4=" PBX4 ">" GW4 " tot=40 tcp=1>5060 doff=8 data=12", E(D, R_MAL, NONE)},
    {"tcp_doff_cut_by_ipv6_payload_padded",
     "eth ip6=2001:db8:1::1>" GW6 " plen=23 tcp=1>5061 doff=6 data=8", E(D, R_MAL, NONE)},
    {"tcp_doff_ipv4_total_exact", "eth ip4=" PBX4 ">" GW4 " tot=52 tcp=1>5060 doff=8 data=12",
     E(P, R_ALLOW, SIP)},
    {"tcp_header_cut_by_ipv4_total_padded", "eth ip4=" PBX4 ">" GW4 " tot=39 tcp=1>5060",
     E(D, R_MAL, NONE)},
    {"udp_length_past_ipv4_total_padded",
     "eth ip4=" PBX4 ">" GW4 " tot=28 udp=5060>5060 len=48 data=40", E(D, R_MAL, NONE)},
    {"udp_header_cut_by_ipv6_payload_padded",
     "eth ip6=2001:db8:1::1>" GW6 " plen=7 udp=5060>5060 data=8", E(D, R_MAL, NONE)},
    {"udp_short", "eth ip4=" SCAN4 ">" GW4 " proto=17 data=7", E(D, R_MAL, NONE)},
    {"tcp_short", "eth ip6=" SCAN6 ">" GW6 " nh=6 data=19", E(D, R_MAL, NONE)},

    /* IPv6 header checks and extension headers. */
    {"ipv6_version_4", "eth ip6=2001:db8:1::1>" GW6 " ver=4 udp=5060>5060", EN(D, R_MAL, NONE)},
    {"ipv6_payload_past_frame", "eth ip6=2001:db8:1::1>" GW6 " plen=100 udp=5060>5060",
     EN(D, R_MAL, NONE)},
    {"ipv6_payload_cuts_udp", "eth ip6=" SCAN6 ">" GW6 " plen=4 udp=5060>5060 data=20",
     E(D, R_MAL, NONE)},
    {"ipv6_link_padding_ignored", "eth ip6=2001:db8:1::1>" GW6 " udp=5060>5060 data=4 pad=10",
     E(P, R_ALLOW, SIP)},
    {"ext_hbh", "eth ip6=" SCAN6 ">" GW6 " hbh udp=5060>5060", E(D, R_NOT, SIP)},
    {"ext_routing", "eth ip6=" SCAN6 ">" GW6 " rt=24 udp=5060>5060", E(D, R_NOT, SIP)},
    {"ext_dstopts", "eth ip6=" SCAN6 ">" GW6 " dst=16 tcp=1>22", E(D, R_NOT, MGMT)},
    {"ext_ah", "eth ip6=" SCAN6 ">" GW6 " ah=24 udp=5060>5060", E(D, R_NOT, SIP)},
    {"ext_ah_min", "eth ip6=" SCAN6 ">" GW6 " ah=8 udp=5060>5060", E(D, R_NOT, SIP)},
    {"ext_ah_odd_words", "eth ip6=" SCAN6 ">" GW6 " ah=20 tcp=1>5061", E(D, R_NOT, SIP)},
    {"ext_atomic_fragment", "eth ip6=" SCAN6 ">" GW6 " frag id=0x3001 udp=5060>5060",
     E(D, R_NOT, SIP)},
    {"ext_atomic_fragment_allowlisted",
     "eth ip6=2001:db8:1::1>" GW6 " frag id=0x3002 udp=5060>5060", E(P, R_ALLOW, SIP)},
    {"ext_mobility", "eth ip6=" SCAN6 ">" GW6 " mh udp=5060>5060", E(D, R_NOT, SIP)},
    {"ext_hip", "eth ip6=" SCAN6 ">" GW6 " hip udp=5060>5060", E(D, R_NOT, SIP)},
    {"ext_shim6", "eth ip6=" SCAN6 ">" GW6 " shim6 udp=5060>5060", E(D, R_NOT, SIP)},
    {"ext_hbh_allowlisted", "eth ip6=2001:db8:10::1>" GW6 " hbh tcp=1>22", E(P, R_ALLOW, MGMT)},
    {"ext_chain_8", "eth ip6=" SCAN6 ">" GW6 " hbh dst rt ah dst mh hip shim6 udp=5060>5060",
     E(D, R_NOT, SIP)},
    {"ext_chain_8_allowlisted",
     "eth ip6=2001:db8:1::1>" GW6 " hbh dst rt ah frag id=0x3003 dst mh hip udp=5060>5060",
     E(P, R_ALLOW, SIP)},
    {"ext_chain_12",
     "eth ip6=" SCAN6 ">" GW6 " hbh dst rt ah dst rt dst rt dst mh hip shim6 udp=5060>5060",
     E(D, R_NOT, SIP)},
    {"ext_chain_12_allowlisted",
     "eth ip6=2001:db8:1::1>" GW6 " hbh dst rt ah dst rt dst rt dst mh hip shim6 udp=5060>5060",
     E(P, R_ALLOW, SIP)},
    {"ext_chain_13_too_long",
     "eth ip6=2001:db8:1::1>" GW6 " hbh dst rt ah dst rt dst rt dst mh hip shim6 dst udp=5060>5060",
     E(D, R_MAL, NONE)},
    {"ext_chain_13_to_unprotected",
     "eth ip6=2001:db8:1::1>" GW6 " hbh dst rt ah dst rt dst rt dst mh hip shim6 dst udp=1>9999",
     E(D, R_MAL, NONE)},
    {"ext_past_payload", "eth ip6=" SCAN6 ">" GW6 " plen=8 hbh=16 udp=5060>5060",
     E(D, R_MAL, NONE)},
    {"ext_ah_past_payload", "eth ip6=" SCAN6 ">" GW6 " plen=12 ah=16 udp=5060>5060",
     E(D, R_MAL, NONE)},
    /* A header that ends past the payload length by up to 8 bytes, followed by a protocol
     * without ports: only the header's own bound can drop it; one that ends exactly at the
     * payload's end is whole. */
    {"ext_past_payload_by_8_padded", "eth ip6=" PBX6 ">" GW6 " plen=8 hbh=16 nh=59",
     E(D, R_MAL, NONE)},
    {"ext_past_payload_by_1_padded", "eth ip6=" PBX6 ">" GW6 " plen=15 dst=16 nh=59",
     E(D, R_MAL, NONE)},
    {"ext_ah_past_payload_by_4_padded", "eth ip6=" PBX6 ">" GW6 " plen=12 ah=16 nh=59",
     E(D, R_MAL, NONE)},
    {"ext_second_past_payload_by_8_padded", "eth ip6=" PBX6 ">" GW6 " plen=16 hbh rt=16 nh=59",
     E(D, R_MAL, NONE)},
    {"ext_ends_at_payload_end", "eth ip6=" PBX6 ">" GW6 " plen=16 hbh=16 nh=59", E(P, R_UNP, NONE)},
    {"ext_frag_past_payload_padded", "eth ip6=" PBX6 ">" GW6 " plen=4 frag id=0x3005 nh=59",
     E(D, R_MAL, NONE)},
    {"ext_two_fragment_headers",
     "eth ip6=2001:db8:1::1>" GW6 " frag id=0x3004 dst frag id=0x3004 udp=5060>5060",
     E(D, R_MAL, NONE)},
    {"ext_unknown_type_unprotected", "eth ip6=" SCAN6 ">" GW6 " nh=253 data=16", E(P, R_UNP, NONE)},
    {"ext_then_esp_unprotected", "eth ip6=" SCAN6 ">" GW6 " hbh nh=50 data=16", E(P, R_UNP, NONE)},
    {"ext_vlan_qinq_chain", "eth ad=7 q=8 ip6=" SCAN6 ">" GW6 " hbh rt dst tcp=1>5061",
     E(D, R_NOT, SIP)},
    /* Extension headers and the L4 header past the first buffer (3520 bytes on 4 KiB pages) of a
     * multi-buffer frame are read from the later buffers: judged like any other. */
    {"ext_past_first_buffer", "eth ip6=" SCAN6 ">" GW6 " hbh=2048 dst=2048 udp=5060>5060 data=64",
     E(D, R_NOT, SIP)},
    {"ext_past_first_buffer_allowlisted",
     "eth ip6=2001:db8:1::1>" GW6 " hbh=2048 dst=2048 udp=5060>5060 data=64", E(P, R_ALLOW, SIP)},
    {"ext_straddles_first_buffer", "eth ip6=" SCAN6 ">" GW6 " hbh=2048 dst=1416 rt udp=5060>5060",
     E(D, R_NOT, SIP)},
    {"ext_udp_straddles_first_buffer",
     "eth ip6=" SCAN6 ">" GW6 " hbh=2048 dst=1400 ah=12 udp=5060>5060 data=32", E(D, R_NOT, SIP)},
    {"ext_tcp_straddles_first_buffer", "eth ip6=" SCAN6 ">" GW6 " hbh=2048 dst=1408 tcp=1>5061",
     E(D, R_NOT, SIP)},
    {"ext_sctp_straddles_first_buffer",
     "eth ip6=" SCAN6 ">" GW6 " hbh=2048 dst=1408 sctp=1>5060 data=16", E(D, R_NOT, SIP)},
    {"ext_past_first_buffer_unprotected_port",
     "eth ip6=" SCAN6 ">" GW6 " hbh=2048 dst=2048 udp=5060>9999 data=8", E(P, R_UNP, NONE)},
    {"ext_past_first_buffer_beyond_payload",
     "eth ip6=" SCAN6 ">" GW6 " plen=4000 hbh=2048 dst=2048 udp=5060>5060 data=64",
     E(D, R_MAL, NONE)},
    {"ext_past_first_buffer_udp_len_over_payload",
     "eth ip6=" SCAN6 ">" GW6 " hbh=2048 dst=2048 udp=5060>5060 len=200 data=64",
     E(D, R_MAL, NONE)},
    {"ext_past_first_buffer_tcp_doff_over_payload",
     "eth ip6=2001:db8:1::1>" GW6 " hbh=2048 dst=2040 tcp=1>5060 doff=15", E(D, R_MAL, NONE)},
    {"ext_past_first_buffer_13_headers",
     "eth ip6=" SCAN6 ">" GW6
     " hbh=512 dst=512 rt=512 dst=512 rt=512 dst=512 rt=512 dst=512 rt=512 dst=512 rt=512 dst=512"
     " dst=8 udp=5060>5060",
     E(D, R_MAL, NONE)},
    {"ext_past_first_buffer_pppoe_vlan",
     "eth q=5 pppoe ip6=" SCAN6 ">" GW6 " hbh=2048 dst=2048 udp=5060>5060 data=8",
     E(D, R_NOT, SIP)},
    {"ext_past_first_buffer_raw_ip", "ip6=" SCAN6 ">" GW6 " hbh=2048 dst=2048 udp=5060>5060",
     E(D, R_NOT, SIP)},
    {"ext_past_first_buffer_raw_ip_allowlisted",
     "ip6=2001:db8:1::1>" GW6 " hbh=2048 dst=2048 udp=5060>5060", E(P, R_ALLOW, SIP)},

    /* PPPoE sessions (RFC 2516): the inner packet is judged like any other. */
    {"pppoe_v4_sip_not_allowlisted", "eth pppoe=7 ip4=" SCAN4 ">" GW4 " udp=5060>5060 data=100",
     E(D, R_NOT, SIP)},
    {"pppoe_v4_sip_allowlisted", "eth pppoe=7 ip4=" PBX4 ">" GW4 " udp=5060>5060 data=100",
     E(P, R_ALLOW, SIP)},
    {"pppoe_v4_rtp_monitor", "eth pppoe ip4=" PBX4 ">" GW4 " udp=30000>15000 data=160",
     E(M, R_NOT, RTP)},
    {"pppoe_v4_unprotected", "eth pppoe ip4=" SCAN4 ">" GW4 " udp=1>1234", E(P, R_UNP, NONE)},
    {"pppoe_v6_sip_not_allowlisted", "eth pppoe ip6=" SCAN6 ">" GW6 " udp=5060>5060 data=100",
     E(D, R_NOT, SIP)},
    {"pppoe_v6_sip_allowlisted", "eth pppoe ip6=" PBX6 ">" GW6 " tcp=40000>5060",
     E(P, R_ALLOW, SIP)},
    {"pppoe_v6_ext_chain", "eth pppoe ip6=" SCAN6 ">" GW6 " hbh dst tcp=1>5061", E(D, R_NOT, SIP)},
    {"pppoe_vlan_v4_not_allowlisted", "eth q=10 pppoe ip4=" SCAN4 ">" GW4 " udp=5060>5060",
     E(D, R_NOT, SIP)},
    {"pppoe_vlan_v6_allowlisted", "eth q=10 pppoe ip6=" PBX6 ">" GW6 " udp=5060>5060",
     E(P, R_ALLOW, SIP)},
    {"pppoe_qinq_v4_not_allowlisted", "eth ad=1 q=2 pppoe ip4=" SCAN4 ">" GW4 " sctp=1>5060",
     E(D, R_NOT, SIP)},
    {"pppoe_qinq_v6_not_allowlisted", "eth ad=1 q=2 pppoe ip6=" SCAN6 ">" GW6 " udp=5060>5060",
     E(D, R_NOT, SIP)},
    {"pppoe_qinq_v6_allowlisted", "eth q=1 q=2 pppoe ip6=" PBX6 ">" GW6 " udp=5060>5060",
     E(P, R_ALLOW, SIP)},
    {"pppoe_three_tags", "eth q=1 q=2 q=3 pppoe ip4=" SCAN4 ">" GW4 " udp=5060>5060",
     EN(D, R_MAL, NONE)},
    /* Link padding after the PPPoE payload is ignored. */
    {"pppoe_padded", "eth pppoe ip4=" SCAN4 ">" GW4 " udp=5060>5060 pad=20", E(D, R_NOT, SIP)},
    /* Discovery and PPP control protocols carry no IP. */
    {"pppoe_discovery_padi", "eth=0x8863 data=30", E(P, R_NONIP, NONE)},
    {"pppoe_lcp", "eth pppoe type=0xc021 data=20", E(P, R_NONIP, NONE)},
    {"pppoe_ipcp", "eth pppoe type=0x8021 data=20", E(P, R_NONIP, NONE)},
    {"pppoe_ipv6cp", "eth q=5 pppoe type=0x8057 data=20", E(P, R_NONIP, NONE)},
    {"pppoe_chap", "eth pppoe type=0xc223 data=20", E(P, R_NONIP, NONE)},
    /* PPP payloads the kernel may turn into IP, unreadable here: dropped. */
    {"pppoe_vj_compressed", "eth pppoe type=0x002d data=40", E(D, R_MAL, NONE)},
    {"pppoe_vj_uncompressed", "eth pppoe type=0x002f data=40", E(D, R_MAL, NONE)},
    {"pppoe_multilink", "eth pppoe type=0x003d data=40", E(D, R_MAL, NONE)},
    {"pppoe_compressed", "eth pppoe type=0x00fd data=40", E(D, R_MAL, NONE)},
    /* Headers that disagree. */
    {"pppoe_length_beyond_frame", "eth pppoe len=200 ip4=" SCAN4 ">" GW4 " udp=5060>5060 data=4",
     EN(D, R_MAL, NONE)},
    {"pppoe_length_beyond_frame_by_1",
     "eth pppoe len=40 ip4=" PBX4 ">" GW4 " udp=5060>5060 data=9", EN(D, R_MAL, NONE)},
    {"pppoe_length_exact", "eth pppoe len=39 ip4=" PBX4 ">" GW4 " udp=5060>5060 data=9",
     E(P, R_ALLOW, SIP)},
    {"pppoe_length_cuts_ip", "eth pppoe len=30 ip4=" PBX4 ">" GW4 " udp=5060>5060 data=100",
     EN(D, R_MAL, NONE)},
    {"pppoe_length_cuts_ip6", "eth pppoe len=60 ip6=" PBX6 ">" GW6 " udp=5060>5060 data=100",
     EN(D, R_MAL, NONE)},
    {"pppoe_length_1", "eth pppoe len=1 ip4=" SCAN4 ">" GW4 " udp=5060>5060", EN(D, R_MAL, NONE)},
    {"pppoe_length_0", "eth pppoe len=0 ip4=" SCAN4 ">" GW4 " udp=5060>5060", EN(D, R_MAL, NONE)},
    {"pppoe_length_exact_with_padding",
     "eth pppoe len=38 ip4=" SCAN4 ">" GW4 " udp=5060>5060 data=8 pad=30", E(D, R_NOT, SIP)},
    {"pppoe_version_2", "eth pppoe ver=0x21 ip4=" SCAN4 ">" GW4 " udp=5060>5060",
     EN(D, R_MAL, NONE)},
    {"pppoe_type_2", "eth pppoe ver=0x12 ip4=" PBX4 ">" GW4 " udp=5060>5060", EN(D, R_MAL, NONE)},
    {"pppoe_code_padt", "eth pppoe code=0xa7 ip4=" SCAN4 ">" GW4 " udp=5060>5060",
     EN(D, R_MAL, NONE)},

    /* Interfaces without a link-layer header (tun, WireGuard, PPP, IP tunnels): the frame
     * starts at the IP header and the version nibble picks the family. */
    {"raw_v4_sip_not_allowlisted", "ip4=" SCAN4 ">" GW4 " udp=5060>5060 data=100",
     E(D, R_NOT, SIP)},
    {"raw_v4_sip_allowlisted", "ip4=" PBX4 ">" GW4 " udp=5060>5060 data=100", E(P, R_ALLOW, SIP)},
    {"raw_v4_mgmt_tcp", "ip4=198.18.2.10>" GW4 " opt=8 tcp=1>22", E(P, R_ALLOW, MGMT)},
    {"raw_v4_rtp_monitor", "ip4=" SCAN4 ">" GW4 " udp=1>10000 data=20", E(M, R_NOT, RTP)},
    {"raw_v4_unprotected", "ip4=" SCAN4 ">" GW4 " udp=1>1234 data=20", E(P, R_UNP, NONE)},
    {"raw_v4_icmp", "ip4=" SCAN4 ">" GW4 " proto=1 data=20", E(P, R_UNP, NONE)},
    {"raw_v6_sip_not_allowlisted", "ip6=" SCAN6 ">" GW6 " udp=5060>5060 data=100",
     E(D, R_NOT, SIP)},
    {"raw_v6_sip_allowlisted", "ip6=" PBX6 ">" GW6 " udp=5060>5060 data=100", E(P, R_ALLOW, SIP)},
    {"raw_v6_ext_chain", "ip6=" SCAN6 ">" GW6 " hbh rt dst sctp=1>5060", E(D, R_NOT, SIP)},
    {"raw_v4_total_length_cut", "ip4=" PBX4 ">" GW4 " tot=60 udp=5060>5060 data=8",
     EN(D, R_MAL, NONE)},
    {"raw_v4_padded", "ip4=" SCAN4 ">" GW4 " udp=5060>5060 pad=12", E(D, R_NOT, SIP)},
    {"raw_version_5", "ip4=" PBX4 ">" GW4 " ver=5 udp=5060>5060 data=8", EN(D, R_MAL, NONE)},
    {"raw_version_0", "ip6=" PBX6 ">" GW6 " ver=0 udp=5060>5060 data=8", EN(D, R_MAL, NONE)},
};

static void run_table(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_spec(cases[i].name, cases[i].spec, &cases[i].e, true);
}

/* ---- Fragments ---- */

static int frag_entry(const struct pkt *p, __u32 id, __u8 proto, struct vw_frag_val *out)
{
	struct vw_frag_key k = {};

	k.family = p->l3_family;
	k.proto = proto;
	k.id = id;
	if (p->l3_family == 4) {
		k.saddr[10] = k.saddr[11] = k.daddr[10] = k.daddr[11] = 0xff;
		memcpy(k.saddr + 12, p->src, 4);
		memcpy(k.daddr + 12, p->dst, 4);
	} else {
		memcpy(k.saddr, p->src, 16);
		memcpy(k.daddr, p->dst, 16);
	}
	return bpf_map_lookup_elem(T.maps.frags, &k, out);
}

struct fstep {
	const char *spec;
	struct expect e;
	/* For a first fragment: the vw_frags entry expected after it (0: none
	 * expected). */
	bool remembered;
};

/* Where the test clock stands when a fragment sequence starts: not 0, so an
 * expiry computed from a zero clock shows. A step whose spec starts "@N " runs
 * with the clock N ms after that start; other steps leave it where it is. */
#define FRAG_T0_NS (1000ULL * 1000000000ULL)

static void run_frag_seq(const char *name, __u32 id, __u8 proto, const struct fstep *steps,
			 unsigned int n)
{
	static struct pkt p;
	__u64 clock_before = T.skel->bss->vw_test_now_ns, timeout;
	struct vw_frag_val fv;
	char step[160];
	unsigned int i;

	T.skel->bss->vw_test_now_ns = FRAG_T0_NS;
	for (i = 0; i < n; i++) {
		const struct fstep *s = &steps[i];
		const char *spec = s->spec;
		int has;

		snprintf(step, sizeof(step), "%s (step %u)", name, i + 1);
		if (*spec == '@') {
			char *end;

			T.skel->bss->vw_test_now_ns =
			    FRAG_T0_NS + strtoull(spec + 1, &end, 10) * 1000000ULL;
			spec = end + 1;
		}
		if (pkt_build(&p, spec, stdout)) {
			fail(name, NULL, 0, "bad spec '%s'", s->spec);
			goto out;
		}
		if (check_frame(step, p.data, p.len, p.src, p.l3_family, &s->e)) {
			printf("  spec: %s\n", s->spec);
			goto out;
		}
		has = !frag_entry(&p, id, proto, &fv);
		timeout = p.l3_family == 4 ? VW_FRAG_TIMEOUT_V4_NS : VW_FRAG_TIMEOUT_V6_NS;
		if (s->remembered && (!has || fv.verdict != s->e.verdict || fv.cls != s->e.cls ||
				      fv.reason != s->e.reason ||
				      fv.expires_ns != T.skel->bss->vw_test_now_ns + timeout)) {
			fail(step, p.data, p.len,
			     "vw_frags entry %s (verdict %u class %u reason %u expires %llu), want "
			     "%d/%d/%d expiring %llu",
			     has ? "differs" : "missing", has ? fv.verdict : 0, has ? fv.cls : 0,
			     has ? fv.reason : 0, has ? (unsigned long long)fv.expires_ns : 0ULL,
			     s->e.verdict, s->e.cls, s->e.reason,
			     (unsigned long long)(T.skel->bss->vw_test_now_ns + timeout));
			goto out;
		}
	}
	pass(name);
out:
	T.skel->bss->vw_test_now_ns = clock_before;
}

#define NSTEPS(a) (sizeof(a) / sizeof(a[0]))

static void test_fragments(void)
{
	/* A 3000-byte SIP INVITE in three IPv4 fragments (1480 + 1480 + 40 bytes of
	 * UDP data). */
	static const struct fstep invite_pbx[] = {
	    {"eth ip4=" PBX4 ">" GW4 " id=101 mf udp=5060>5060 len=3000 data=1472",
	     E(P, R_ALLOW, SIP), true},
	    {"eth ip4=" PBX4 ">" GW4 " id=101 off=185 mf proto=17 data=1480", E(P, R_FRAG, SIP),
	     false},
	    {"eth ip4=" PBX4 ">" GW4 " id=101 off=370 proto=17 data=40", E(P, R_FRAG, SIP), false},
	};
	static const struct fstep invite_scan[] = {
	    {"eth ip4=" SCAN4 ">" GW4 " id=101 mf udp=5060>5060 len=3000 data=1472",
	     E(D, R_NOT, SIP), true},
	    {"eth ip4=" SCAN4 ">" GW4 " id=101 off=185 mf proto=17 data=1480", E(D, R_FRAG, SIP),
	     false},
	    {"eth ip4=" SCAN4 ">" GW4 " id=101 off=370 proto=17 data=40", E(D, R_FRAG, SIP), false},
	    /* an overlapping rewrite of the header (RFC 1858) follows the first's
	       verdict too */
	    {"eth ip4=" SCAN4 ">" GW4 " id=101 off=1 proto=17 data=64", E(D, R_FRAG, SIP), false},
	};
	static const struct fstep invite6_pbx[] = {
	    {"eth ip6=" PBX6 ">" GW6 " frag id=0x10001 mf udp=5060>5060 len=3000 data=1440",
	     E(P, R_ALLOW, SIP), true},
	    {"eth ip6=" PBX6 ">" GW6 " frag id=0x10001 off=181 mf nh=17 data=1448",
	     E(P, R_FRAG, SIP), false},
	    {"eth ip6=" PBX6 ">" GW6 " frag id=0x10001 off=362 nh=17 data=104", E(P, R_FRAG, SIP),
	     false},
	};
	static const struct fstep invite6_scan[] = {
	    {"eth ip6=" SCAN6 ">" GW6
	     " hbh frag id=0x10001 mf dst udp=5060>5060 len=3000 data=1440",
	     E(D, R_NOT, SIP), true},
	    {"eth ip6=" SCAN6 ">" GW6 " hbh frag id=0x10001 off=181 mf nh=60 data=1448",
	     E(D, R_FRAG, SIP), false},
	    {"eth ip6=" SCAN6 ">" GW6 " frag id=0x10001 off=362 nh=60 data=104", E(D, R_FRAG, SIP),
	     false},
	};
	static const struct fstep unknown4[] = {
	    {"eth ip4=" SCAN4 ">" GW4 " id=4242 off=185 proto=17 data=100", E(P, R_FUNK, NONE),
	     false},
	};
	static const struct fstep unknown6[] = {
	    {"eth ip6=" SCAN6 ">" GW6 " frag id=0x4242 off=10 nh=17 data=100", E(P, R_FUNK, NONE),
	     false},
	};
	/* A later fragment whose key differs in protocol or destination is not the
	 * same datagram.
	 */
	static const struct fstep other_key4[] = {
	    {"eth ip4=" SCAN4 ">" GW4 " id=102 mf udp=5060>5060 len=2000 data=1000",
	     E(D, R_NOT, SIP), true},
	    {"eth ip4=" SCAN4 ">" GW4 " id=102 off=126 proto=6 data=100", E(P, R_FUNK, NONE),
	     false},
	    {"eth ip4=" SCAN4 ">198.18.100.2 id=102 off=126 proto=17 data=100", E(P, R_FUNK, NONE),
	     false},
	    {"eth ip4=" SCAN4 ">" GW4 " id=103 off=126 proto=17 data=100", E(P, R_FUNK, NONE),
	     false},
	    {"eth ip4=" SCAN4 ">" GW4 " id=102 off=126 proto=17 data=100", E(D, R_FRAG, SIP),
	     false},
	};
	/* RFC 1858: a first fragment too short for the L4 header is dropped and
	 * remembered. */
	static const struct fstep tiny_udp4[] = {
	    {"eth ip4=" PBX4 ">" GW4 " id=201 mf proto=17 data=4", E(D, R_MAL, NONE), true},
	    {"eth ip4=" PBX4 ">" GW4 " id=201 off=1 proto=17 data=60", E(D, R_FRAG, NONE), false},
	};
	static const struct fstep tiny_tcp4[] = {
	    {"eth ip4=" SCAN4 ">" GW4 " id=202 mf proto=6 data=16", E(D, R_MAL, NONE), true},
	    {"eth ip4=" SCAN4 ">" GW4 " id=202 off=2 proto=6 data=40", E(D, R_FRAG, NONE), false},
	};
	/* TCP header with options split across fragments: the first must hold it all. */
	static const struct fstep tiny_tcp_opts4[] = {
	    {"eth ip4=" PBX4 ">" GW4 " id=203 mf tcp=1>5060 doff=8", E(D, R_MAL, NONE), true},
	    {"eth ip4=" PBX4 ">" GW4 " id=203 off=3 proto=6 data=16", E(D, R_FRAG, NONE), false},
	};
	static const struct fstep tiny_sctp4[] = {
	    {"eth ip4=" SCAN4 ">" GW4 " id=204 mf proto=132 data=8", E(D, R_MAL, NONE), true},
	};
	static const struct fstep tiny_udp6[] = {
	    {"eth ip6=" PBX6 ">" GW6 " frag id=0x201 mf nh=17 data=4", E(D, R_MAL, NONE), true},
	    {"eth ip6=" PBX6 ">" GW6 " frag id=0x201 off=1 nh=17 data=60", E(D, R_FRAG, NONE),
	     false},
	};
	static const struct fstep tiny_tcp6[] = {
	    {"eth ip6=" SCAN6 ">" GW6 " frag id=0x202 mf nh=6 data=8", E(D, R_MAL, NONE), true},
	};
	/* First fragment of a protocol without ports: remembered as pass/unprotected. */
	static const struct fstep icmp4[] = {
	    {"eth ip4=" SCAN4 ">" GW4 " id=301 mf proto=1 data=1480", E(P, R_UNP, NONE), true},
	    {"eth ip4=" SCAN4 ">" GW4 " id=301 off=185 proto=1 data=100", E(P, R_FRAG, NONE),
	     false},
	};
	/* Monitor policy carries over to later fragments. */
	static const struct fstep rtp_monitor[] = {
	    {"eth ip4=" PBX4 ">" GW4 " id=401 mf udp=1>12000 len=1600 data=1000", E(M, R_NOT, RTP),
	     true},
	    {"eth ip4=" PBX4 ">" GW4 " id=401 off=126 proto=17 data=592", E(M, R_FRAG, RTP), false},
	};
	/* A first fragment over VLAN tags and IPv4 options. */
	static const struct fstep qinq_opts[] = {
	    {"eth ad=3 q=4 ip4=" SCAN4 ">" GW4 " opt=8 id=501 mf tcp=1>22 data=100",
	     E(D, R_NOT, MGMT), true},
	    {"eth q=4 ip4=" SCAN4 ">" GW4 " id=501 off=15 proto=6 data=100", E(D, R_FRAG, MGMT),
	     false},
	};

	/* A remembered verdict lives as long as the kernel keeps fragments for
	 * reassembly (ipfrag_time 30 s, ip6frag_time 60 s), then a later fragment is
	 * unknown. */
	static const struct fstep expiry4_pbx[] = {
	    {"eth ip4=" PBX4 ">" GW4 " id=601 mf udp=5060>5060 len=3000 data=1472",
	     E(P, R_ALLOW, SIP), true},
	    {"@29999 eth ip4=" PBX4 ">" GW4 " id=601 off=185 mf proto=17 data=1480",
	     E(P, R_FRAG, SIP), false},
	    {"@30000 eth ip4=" PBX4 ">" GW4 " id=601 off=370 proto=17 data=40", E(P, R_FUNK, NONE),
	     false},
	};
	static const struct fstep expiry4_scan[] = {
	    {"eth ip4=" SCAN4 ">" GW4 " id=602 mf udp=5060>5060 len=3000 data=1472",
	     E(D, R_NOT, SIP), true},
	    {"@29999 eth ip4=" SCAN4 ">" GW4 " id=602 off=185 mf proto=17 data=1480",
	     E(D, R_FRAG, SIP), false},
	    {"@30001 eth ip4=" SCAN4 ">" GW4 " id=602 off=370 proto=17 data=40", E(P, R_FUNK, NONE),
	     false},
	    /* a new first fragment with the key starts a new datagram */
	    {"@45000 eth ip4=" SCAN4 ">" GW4 " id=602 mf udp=5060>5060 len=3000 data=1472",
	     E(D, R_NOT, SIP), true},
	    {"@74999 eth ip4=" SCAN4 ">" GW4 " id=602 off=370 proto=17 data=40", E(D, R_FRAG, SIP),
	     false},
	};
	static const struct fstep expiry6_scan[] = {
	    {"eth ip6=" SCAN6 ">" GW6 " frag id=0x602 mf udp=5060>5060 len=3000 data=1440",
	     E(D, R_NOT, SIP), true},
	    {"@30001 eth ip6=" SCAN6 ">" GW6 " frag id=0x602 off=181 mf nh=17 data=1448",
	     E(D, R_FRAG, SIP), false},
	    {"@59999 eth ip6=" SCAN6 ">" GW6 " frag id=0x602 off=181 mf nh=17 data=1448",
	     E(D, R_FRAG, SIP), false},
	    {"@60000 eth ip6=" SCAN6 ">" GW6 " frag id=0x602 off=362 nh=17 data=104",
	     E(P, R_FUNK, NONE), false},
	};
	/* A spoofed malformed first fragment with a genuine datagram's key leaves its
	 * verdict alone (else the rest of a call's INVITE would be dropped); once the
	 * verdict has expired it is remembered like any first fragment. */
	static const struct fstep spoof4[] = {
	    {"eth ip4=" PBX4 ">" GW4 " id=603 mf udp=5060>5060 len=3000 data=1472",
	     E(P, R_ALLOW, SIP), true},
	    {"@10 eth ip4=" PBX4 ">" GW4 " id=603 mf proto=17 data=4", E(D, R_MAL, NONE), false},
	    {"@20 eth ip4=" PBX4 ">" GW4 " id=603 mf udp=5060>5060 len=4 data=1472",
	     E(D, R_MAL, NONE), false},
	    {"@30 eth ip4=" PBX4 ">" GW4 " id=603 off=185 mf proto=17 data=1480", E(P, R_FRAG, SIP),
	     false},
	    {"@30030 eth ip4=" PBX4 ">" GW4 " id=603 mf proto=17 data=4", E(D, R_MAL, NONE), true},
	    {"@30040 eth ip4=" PBX4 ">" GW4 " id=603 off=370 proto=17 data=40", E(D, R_FRAG, NONE),
	     false},
	};
	static const struct fstep spoof6[] = {
	    {"eth ip6=" PBX6 ">" GW6 " frag id=0x603 mf udp=5060>5060 len=3000 data=1440",
	     E(P, R_ALLOW, SIP), true},
	    {"@10 eth ip6=" PBX6 ">" GW6 " frag id=0x603 mf nh=17 data=4", E(D, R_MAL, NONE),
	     false},
	    {"@20 eth ip6=" PBX6 ">" GW6 " frag id=0x603 off=181 mf nh=17 data=1448",
	     E(P, R_FRAG, SIP), false},
	    {"@60020 eth ip6=" PBX6 ">" GW6 " frag id=0x603 mf nh=17 data=4", E(D, R_MAL, NONE),
	     true},
	    {"@60030 eth ip6=" PBX6 ">" GW6 " frag id=0x603 off=362 nh=17 data=104",
	     E(D, R_FRAG, NONE), false},
	};
	/* A well-formed first fragment with the key is a new datagram: it replaces
	 * the verdict. */
	static const struct fstep refirst4[] = {
	    {"eth ip4=" SCAN4 ">" GW4 " id=604 mf udp=5060>5060 len=3000 data=1472",
	     E(D, R_NOT, SIP), true},
	    {"@10 eth ip4=" SCAN4 ">" GW4 " id=604 mf udp=5060>9999 len=3000 data=1472",
	     E(P, R_UNP, NONE), true},
	    {"@20 eth ip4=" SCAN4 ">" GW4 " id=604 off=185 proto=17 data=1480", E(P, R_FRAG, NONE),
	     false},
	};

	run_frag_seq("frag_v4_invite_from_pbx_passes_whole", 101, 17, invite_pbx,
		     NSTEPS(invite_pbx));
	run_frag_seq("frag_v4_invite_from_scanner_all_dropped", 101, 17, invite_scan,
		     NSTEPS(invite_scan));
	run_frag_seq("frag_v6_invite_from_pbx_passes_whole", 0x10001, 17, invite6_pbx,
		     NSTEPS(invite6_pbx));
	run_frag_seq("frag_v6_invite_from_scanner_all_dropped", 0x10001, 60, invite6_scan,
		     NSTEPS(invite6_scan));
	run_frag_seq("frag_v4_later_unknown", 4242, 17, unknown4, NSTEPS(unknown4));
	run_frag_seq("frag_v6_later_unknown", 0x4242, 17, unknown6, NSTEPS(unknown6));
	run_frag_seq("frag_v4_key_fields", 102, 17, other_key4, NSTEPS(other_key4));
	run_frag_seq("frag_v4_tiny_udp", 201, 17, tiny_udp4, NSTEPS(tiny_udp4));
	run_frag_seq("frag_v4_tiny_tcp", 202, 6, tiny_tcp4, NSTEPS(tiny_tcp4));
	run_frag_seq("frag_v4_tcp_options_split", 203, 6, tiny_tcp_opts4, NSTEPS(tiny_tcp_opts4));
	run_frag_seq("frag_v4_tiny_sctp", 204, 132, tiny_sctp4, NSTEPS(tiny_sctp4));
	run_frag_seq("frag_v6_tiny_udp", 0x201, 17, tiny_udp6, NSTEPS(tiny_udp6));
	run_frag_seq("frag_v6_tiny_tcp", 0x202, 6, tiny_tcp6, NSTEPS(tiny_tcp6));
	run_frag_seq("frag_v4_icmp_first_remembered", 301, 1, icmp4, NSTEPS(icmp4));
	run_frag_seq("frag_v4_monitor_policy", 401, 17, rtp_monitor, NSTEPS(rtp_monitor));
	run_frag_seq("frag_v4_qinq_options", 501, 6, qinq_opts, NSTEPS(qinq_opts));
	run_frag_seq("frag_v4_verdict_expires_after_ipfrag_time", 601, 17, expiry4_pbx,
		     NSTEPS(expiry4_pbx));
	run_frag_seq("frag_v4_drop_expires_then_new_datagram", 602, 17, expiry4_scan,
		     NSTEPS(expiry4_scan));
	run_frag_seq("frag_v6_verdict_expires_after_ip6frag_time", 0x602, 17, expiry6_scan,
		     NSTEPS(expiry6_scan));
	run_frag_seq("frag_v4_malformed_first_keeps_verdict", 603, 17, spoof4, NSTEPS(spoof4));
	run_frag_seq("frag_v6_malformed_first_keeps_verdict", 0x603, 17, spoof6, NSTEPS(spoof6));
	run_frag_seq("frag_v4_new_first_replaces_verdict", 604, 17, refirst4, NSTEPS(refirst4));
}

/* An atomic fragment (offset 0, M clear) is a whole datagram: classified, not
 * remembered. */
static void test_atomic_fragment(void)
{
	static const char *spec = "eth ip6=" SCAN6 ">" GW6 " frag id=0x5151 udp=5060>5060 data=8";
	const struct expect e = E(D, R_NOT, SIP);
	static struct pkt p;
	struct vw_frag_val fv;

	pkt_build(&p, spec, stdout);
	if (check_frame("frag_v6_atomic_not_remembered", p.data, p.len, p.src, 6, &e))
		return;
	if (!frag_entry(&p, 0x5151, 17, &fv)) {
		fail("frag_v6_atomic_not_remembered", p.data, p.len,
		     "an atomic fragment left a vw_frags entry");
		return;
	}
	pass("frag_v6_atomic_not_remembered");
}

/* ---- Truncation ---- */

/* Every prefix of a valid frame shorter than the frame cuts a header or the
 * datagram: each must be dropped as malformed (and so can never pass to a
 * protected port from a stranger). */
static void test_truncation(void)
{
	static const char *const bases[] = {
	    "eth ip4=" SCAN4 ">" GW4 " udp=5060>5060 data=4",
	    "eth ip4=198.18.5.5>" GW4 " udp=5060>5060 data=4",
	    "eth ip4=" SCAN4 ">" GW4 " opt=8 tcp=1>22 opt=4",
	    "eth ip4=" SCAN4 ">" GW4 " sctp=1>5060",
	    "eth ad=1 q=2 ip4=" SCAN4 ">" GW4 " udp=1>10000 data=2",
	    "eth q=2 ip6=" SCAN6 ">" GW6 " udp=5060>5060 data=2",
	    "eth ip6=" SCAN6 ">" GW6 " hbh rt=16 dst ah frag id=77 mh hip shim6 tcp=1>22",
	    "eth ip6=2001:db8:1::1>" GW6 " ah=12 sctp=1>5060",
	    "eth ip4=" SCAN4 ">" GW4 " id=900 mf udp=5060>5060 len=1000 data=4",
	    "eth ip6=" SCAN6 ">" GW6 " frag id=901 mf udp=5060>5060 len=1000 data=4",
	    "eth ip4=" SCAN4 ">" GW4 " id=902 off=100 proto=17 data=8",
	    "eth ip4=" SCAN4 ">" GW4 " proto=1 data=8",
	    /* Every byte of the PPPoE and PPP headers, and of the packet they carry. */
	    "eth pppoe ip4=" SCAN4 ">" GW4 " udp=5060>5060 data=4",
	    "eth pppoe ip4=198.18.5.5>" GW4 " udp=5060>5060 data=4",
	    "eth q=3 pppoe ip6=" SCAN6 ">" GW6 " udp=5060>5060 data=2",
	    "eth ad=1 q=2 pppoe ip6=2001:db8:1::1>" GW6 " tcp=1>5060",
	    /* Frames without a link-layer header (the raw-IP entry point); under 14 bytes
	     * bpf_prog_test_run refuses them, so those cuts are not run. */
	    "ip4=" SCAN4 ">" GW4 " udp=5060>5060 data=4",
	    "ip4=198.18.5.5>" GW4 " opt=4 tcp=1>5060",
	    "ip6=" SCAN6 ">" GW6 " hbh udp=5060>5060 data=2",
	    "ip6=2001:db8:1::1>" GW6 " sctp=1>5060",
	};
	const struct expect mal = {D, R_MAL, NONE, NOSRC | MAYREFUSE};
	static struct pkt p;
	unsigned int b, runs = 0, refused_before = refused;
	char name[128];
	size_t len;

	for (b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		int bad = 0;

		if (pkt_build(&p, bases[b], stdout)) {
			fail("truncation", NULL, 0, "bad spec '%s'", bases[b]);
			continue;
		}
		T.link_ip = strncmp(bases[b], "eth", 3) != 0;
		for (len = 0; len < p.len; len++) {
			/* The source is known once the IP header's own checks can pass: never for
			 * a cut frame, whose IP length always exceeds what is left. */
			snprintf(name, sizeof(name), "truncation_%u_at_%zu", b, len);
			runs++;
			if (check_frame(name, p.data, len, p.src, p.l3_off >= 0 ? p.l3_family : 0,
					&mal)) {
				printf("  base: %s (full length %zu)\n", bases[b], p.len);
				bad = 1;
				break;
			}
		}
		T.link_ip = 0;
		if (!bad) {
			snprintf(name, sizeof(name), "truncation_every_offset_%u", b);
			pass(name);
		}
	}
	printf("  truncation: %u cut frames, %u of them (under 14 bytes) refused by "
	       "bpf_prog_test_run, the rest dropped as malformed\n",
	       runs, refused - refused_before);
}

/* ---- Slots, multi-buffer frames ---- */

static void test_iface_slot(void)
{
	const struct expect e = E(D, R_NOT, SIP);
	__u32 key = 1, val = 3, zero = 0;
	int err;

	err = bpf_map_update_elem(T.maps.ifslot, &key, &val, BPF_ANY);
	if (err) {
		fail("iface_slot_lo", NULL, 0, "vw_ifslot update: %s", strerror(-err));
		return;
	}
	ifindex_run = 1;
	slot_run = 2;
	run_spec("iface_slot_lo", "eth ip4=" SCAN4 ">" GW4 " udp=5060>5060", &e, true);
	bpf_map_update_elem(T.maps.ifslot, &key, &zero, BPF_ANY);
	slot_run = VW_IFACE_SLOT_OTHER;
	run_spec("iface_lo_without_slot", "eth ip4=" SCAN4 ">" GW4 " udp=5060>5060", &e, true);
	ifindex_run = 0;
}

/* vw_ifslot holds slot + 1: 1 and 64 are the first and the last of the 64 slots, anything past
 * them counts as "other". Literal numbers: a change of VW_MAX_IFACES must show here. */
static void test_iface_slot_edges(void)
{
	static const struct {
		const char *name;
		__u32 val, slot;
	} edges[] = {
	    {"iface_slot_first", 1, 0},
	    {"iface_slot_64th", 64, 63},
	    {"iface_slot_65_is_other", 65, 64},
	    {"iface_slot_huge_is_other", 0xffffffffU, 64},
	};
	const struct expect e = E(D, R_NOT, SIP);
	__u32 key = 1, zero = 0;
	unsigned int i;

	if (VW_MAX_IFACES != 64 || VW_IFACE_SLOT_OTHER != 64) {
		fail("iface_slot_edges", NULL, 0, "VW_MAX_IFACES %u, slot other %u: want 64, 64",
		     VW_MAX_IFACES, VW_IFACE_SLOT_OTHER);
		return;
	}
	ifindex_run = 1;
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		if (bpf_map_update_elem(T.maps.ifslot, &key, &edges[i].val, BPF_ANY)) {
			fail(edges[i].name, NULL, 0, "vw_ifslot update: %s", strerror(errno));
			continue;
		}
		slot_run = edges[i].slot;
		run_spec(edges[i].name, "eth ip4=" SCAN4 ">" GW4 " udp=5060>5060", &e, true);
	}
	bpf_map_update_elem(T.maps.ifslot, &key, &zero, BPF_ANY);
	slot_run = VW_IFACE_SLOT_OTHER;
	ifindex_run = 0;
}

static void test_jumbo(void)
{
	const struct expect ok = E(P, R_ALLOW, SIP), no = E(D, R_NOT, SIP);

	run_spec("jumbo_multibuffer_allowlisted",
		 "eth ip4=" PBX4 ">" GW4 " udp=5060>5060 data=9000", &ok, true);
	run_spec("jumbo_multibuffer_not_allowlisted",
		 "eth ip6=" SCAN6 ">" GW6 " hbh udp=5060>5060 data=12000", &no, true);
	/* Bytes past the IP packet in later buffers: a dropped frame counts its first buffer (the
	 * drop path reads no more), a passed one every buffer. */
	bytes_run = xdptest_linear_size();
	run_spec("jumbo_trailing_bytes_dropped_counts_first_buffer",
		 "eth ip4=" SCAN4 ">" GW4 " udp=5060>5060 data=20 pad=9000", &no, true);
	run_spec("jumbo_trailing_bytes_v6_dropped_counts_first_buffer",
		 "eth ip6=" SCAN6 ">" GW6 " udp=5060>5060 data=20 pad=9000", &no, true);
	bytes_run = 0;
	run_spec("jumbo_trailing_bytes_passed_counts_every_buffer",
		 "eth ip4=" PBX4 ">" GW4 " udp=5060>5060 data=20 pad=9000", &ok, true);
}

/* Under a flood the program records one dropped source in VW_SRC_SAMPLE (weighted) once a CPU has
 * recorded vw_src_exact drops in its window; the counters stay exact. A second instance of the
 * object with a small budget (3) shows both halves, and that an expired window starts again
 * exactly. Runs use repeat on one CPU (the thread is pinned) inside one window; a batch that
 * took nearly a window on a busy machine is retried rather than judged.
 *
 * Window 1 (starts at the first drop): drops 1..3 exact, then 64, 128, 192 with weight 64:
 * 3 + 3 * 64 = 195. The window is then made to expire (its start moved back). Window 2: drops
 * 201..255 go unrecorded (the expiry is noticed at the next sampled drop), drop 256 starts the
 * window (weight 1, count 1), then counts 2, 3 exact and 64, 128 with weight 64: 1 + 2 + 128 =
 * 131, and the window holds 145 drops at the end. */
struct flood_run {
	__u64 pkts1, pkts2, drops_end, counted;
	bool slow; /* a batch took nearly a window: no verdict */
};

static __u64 coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* Run the frame `runs` times in one test run; false (with *slow set) if it took too long. */
static int flood_batch(int prog_fd, struct pkt *p, __u32 runs, bool *slow)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = p->len,
		    .repeat = runs);
	__u64 t0 = coarse_now_ns();
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	/* Two coarse ticks (HZ=100) short of a window. */
	if (coarse_now_ns() - t0 >= VW_SRC_WINDOW_NS - 20000000ULL)
		*slow = true;
	if (err)
		return -errno;
	return opts.retval == XDP_DROP ? 0 : -EPROTO;
}

static int flood_run(struct pkt *p, int cpu, struct flood_run *out)
{
	const __u32 exact = 3, runs = 200;
	int ncpus = libbpf_num_possible_cpus(), rate_fd, err, i;
	__u32 idx =
	    VW_COUNTER_INDEX(VW_IFACE_SLOT_OTHER, SIP, VW_VERDICT_DROP, VW_REASON_NOT_ALLOWLISTED);
	struct vw_src_rate *rates = NULL;
	struct vw_counter *cells = NULL;
	struct voipwall_bpf *skel;
	struct vw_src_key key = {};
	struct vw_src_val v = {};
	struct vw_config c = {};
	struct vw_maps m;

	memset(out, 0, sizeof(*out));
	skel = xdptest_open_skel();
	if (!skel)
		return -errno;
	skel->rodata->vw_src_exact = exact;
	err = voipwall_bpf__load(skel);
	if (!err)
		err = vw_maps_from_obj(skel->obj, &m);
	config_main(&c);
	if (!err)
		err = vw_apply(&m, &c, NULL, NULL);
	rates = calloc(ncpus, sizeof(*rates));
	cells = calloc(ncpus, sizeof(*cells));
	if (!err && (!rates || !cells))
		err = -ENOMEM;
	if (err)
		goto out;
	rate_fd = bpf_map__fd(skel->maps.vw_src_rate);
	key.addr[10] = key.addr[11] = 0xff;
	memcpy(key.addr + 12, p->src, 4);

	err = flood_batch(bpf_program__fd(skel->progs.voipwall_xdp), p, runs, &out->slow);
	if (err || bpf_map_lookup_elem(m.sources, &key, &v)) {
		err = err ? err : -ENOENT;
		goto out;
	}
	out->pkts1 = v.packets;
	/* Expire every CPU's window, keeping its drop count. */
	if (bpf_map_lookup_elem(rate_fd, &(__u32){0}, rates)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < ncpus; i++)
		rates[i].window_start_ns = coarse_now_ns() - 2 * VW_SRC_WINDOW_NS;
	if (bpf_map_update_elem(rate_fd, &(__u32){0}, rates, BPF_ANY)) {
		err = -errno;
		goto out;
	}
	err = flood_batch(bpf_program__fd(skel->progs.voipwall_xdp), p, runs, &out->slow);
	if (err || bpf_map_lookup_elem(m.sources, &key, &v) ||
	    bpf_map_lookup_elem(rate_fd, &(__u32){0}, rates) ||
	    bpf_map_lookup_elem(m.counters, &idx, cells)) {
		err = err ? err : -ENOENT;
		goto out;
	}
	out->pkts2 = v.packets - out->pkts1;
	out->drops_end = rates[cpu].drops;
	for (i = 0; i < ncpus; i++)
		out->counted += cells[i].packets;
	if (v.bytes != v.packets * p->len)
		err = -EBADMSG;
out:
	free(rates);
	free(cells);
	vw_config_free(&c);
	voipwall_bpf__destroy(skel);
	return err;
}

static void test_src_sampling(void)
{
	const char *name = "sources_sampled_under_flood";
	cpu_set_t old, one;
	struct flood_run r;
	struct pkt p;
	int err = 0, cpu, tries;

	if (pkt_build(&p, "eth ip4=" SCAN4 ">" GW4 " udp=5060>5060", stderr)) {
		fail(name, NULL, 0, "bad spec");
		return;
	}
	if (sched_getaffinity(0, sizeof(old), &old)) {
		fail(name, NULL, 0, "sched_getaffinity: %s", strerror(errno));
		return;
	}
	for (tries = 0; tries < 10; tries++) {
		cpu = sched_getcpu();
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (cpu < 0 || sched_setaffinity(0, sizeof(one), &one)) {
			fail(name, NULL, 0, "pinning to CPU %d: %s", cpu, strerror(errno));
			return;
		}
		err = flood_run(&p, cpu, &r);
		sched_setaffinity(0, sizeof(old), &old);
		if (err || !r.slow)
			break;
		printf("  %s: a batch took nearly a window, run again\n", name);
	}
	if (err) {
		fail(name, p.data, p.len, "set-up or run: %s", strerror(-err));
		return;
	}
	if (r.slow) {
		fail(name, NULL, 0, "every try had a batch that took nearly a window");
		return;
	}
	if (r.counted != 400 || r.pkts1 != 195 || r.pkts2 != 131 || r.drops_end != 145)
		fail(name, p.data, p.len,
		     "counter %llu packets (want 400); vw_sources +%llu in the first window (want "
		     "195), +%llu in the second (want 131); %llu drops in the window at the end "
		     "(want 145)",
		     (unsigned long long)r.counted, (unsigned long long)r.pkts1,
		     (unsigned long long)r.pkts2, (unsigned long long)r.drops_end);
	else
		pass(name);
}

/* ---- Userspace view of the tables (independent of the program) ---- */

struct tview {
	__u32 gen;
	__u64 *tbl;
	__u8 *masks, *root16;
	struct vw_cuckoo_bucket *f32, *v4_long;
	int v6_fd, nodes_fd, leaves_fd;
	struct vw_gen_cfg gc;
};

static int inner_fd(int outer, __u32 gen)
{
	__u32 id;

	if (bpf_map_lookup_elem(outer, &gen, &id))
		return -1;
	return bpf_map_get_fd_by_id(id);
}

static int tview_open(struct tview *v)
{
	memset(v, 0, sizeof(*v));
	v->v6_fd = v->nodes_fd = v->leaves_fd = -1;
	if (vw_gen_active(&T.maps, &v->gen) || vw_gen_cfg_read(&T.maps, v->gen, &v->gc))
		return -1;
	v->tbl = mmap(NULL, (size_t)VW_V4_TBL24_WORDS * 8, PROT_READ, MAP_SHARED, T.maps.v4_tbl24,
		      (off_t)v->gen * VW_V4_TBL24_WORDS * 8);
	v->masks = mmap(NULL, (size_t)VW_MAX_MASKS * 8, PROT_READ, MAP_SHARED, T.maps.masks,
			(off_t)v->gen * VW_MAX_MASKS * 8);
	v->root16 = mmap(NULL, (size_t)VW_V6_ROOT16 * 8, PROT_READ, MAP_SHARED, T.maps.v6_root16,
			 (off_t)v->gen * VW_V6_ROOT16 * 8);
	v->v6_fd = inner_fd(T.maps.v6, v->gen);
	v->f32 = mmap(NULL, (size_t)VW_CUCKOO_BUCKETS * sizeof(*v->f32), PROT_READ, MAP_SHARED,
		      T.maps.v6_f32, (off_t)v->gen * VW_CUCKOO_BUCKETS * sizeof(*v->f32));
	v->v4_long = mmap(NULL, (size_t)VW_CUCKOO_BUCKETS * sizeof(*v->v4_long), PROT_READ, MAP_SHARED,
			  T.maps.v4_long, (off_t)v->gen * VW_CUCKOO_BUCKETS * sizeof(*v->v4_long));
	v->nodes_fd = T.maps.nodes;
	v->leaves_fd = inner_fd(T.maps.leaves, v->gen);
	if (v->tbl == MAP_FAILED || v->masks == MAP_FAILED || v->root16 == MAP_FAILED ||
	    v->f32 == MAP_FAILED || v->v4_long == MAP_FAILED || v->v6_fd < 0 || v->nodes_fd < 0 ||
	    v->leaves_fd < 0)
		return -1;
	return 0;
}

static void tview_close(struct tview *v)
{
	if (v->tbl && v->tbl != MAP_FAILED)
		munmap(v->tbl, (size_t)VW_V4_TBL24_WORDS * 8);
	if (v->masks && v->masks != MAP_FAILED)
		munmap(v->masks, (size_t)VW_MAX_MASKS * 8);
	if (v->root16 && v->root16 != MAP_FAILED)
		munmap(v->root16, (size_t)VW_V6_ROOT16 * 8);
	if (v->v6_fd >= 0)
		close(v->v6_fd);
	if (v->f32 && v->f32 != MAP_FAILED)
		munmap(v->f32, (size_t)VW_CUCKOO_BUCKETS * sizeof(*v->f32));
	if (v->v4_long && v->v4_long != MAP_FAILED)
		munmap(v->v4_long, (size_t)VW_CUCKOO_BUCKETS * sizeof(*v->v4_long));
	if (v->leaves_fd >= 0)
		close(v->leaves_fd);
}

static void mask_addr(__u8 *a, unsigned int plen, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++) {
		unsigned int keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * i : 0;

		a[i] &= (__u8)(0xff00 >> keep);
	}
}

static __u32 tview_mask(const struct tview *v, __u32 e)
{
	__u32 mask;

	if (VW_ENT_KIND(e) != VW_ENT_MASK)
		return 0xdeadbeef; /* a walk that does not end at a mask: never a rule's */
	memcpy(&mask, v->masks + (size_t)(e & VW_TBL24_MASK_IDX) * 8, 4);
	return mask;
}

static int tview_v6_probe(const struct tview *v, const __u8 *addr, unsigned int plen, __u32 *mask)
{
	struct vw_v6_key k = {.plen = plen};

	memcpy(k.addr, addr, 16);
	mask_addr(k.addr, k.plen, 16);
	return bpf_map_lookup_elem(v->v6_fd, &k, mask);
}

/* The program's trie walk: nodes down the address bytes from pos, then a leaf. */
static __u32 tview_walk(const struct tview *v, __u32 e, const __u8 *addr, unsigned int pos)
{
	struct vw_node node;
	struct vw_leaf leaf;
	__u32 idx;
	__u8 a[16];

	while (VW_ENT_KIND(e) == VW_ENT_NODE && pos < 16) {
		idx = v->gen * VW_MAX_NODES + VW_ENT_IDX(e);
		if (bpf_map_lookup_elem(v->nodes_fd, &idx, &node))
			return 0xdeadbeef;
		e = node.e[addr[pos++]];
	}
	if (VW_ENT_KIND(e) == VW_ENT_PROBE) {
		if (!tview_v6_probe(v, addr, VW_ENT_PLEN(e), &idx))
			return idx;
		e &= VW_TBL24_MASK_IDX;
	}
	if (VW_ENT_KIND(e) == VW_ENT_LEAF) {
		idx = VW_ENT_IDX(e);
		if (bpf_map_lookup_elem(v->leaves_fd, &idx, &leaf))
			return 0xdeadbeef;
		memcpy(a, addr, 16);
		mask_addr(a, leaf.plen, 16);
		e = memcmp(a, leaf.addr, 16) ? leaf.out : leaf.in;
	}
	return tview_mask(v, e);
}

static __u32 tview_v4(const struct tview *v, __u32 a)
{
	__u32 entry = (__u32)(v->tbl[a >> 9] >> VW_TBL24_SHIFT(a)), len, key;
	struct vw_cuckoo_bucket *bk;
	__u8 addr[16] = {0};
	unsigned int s;

	if (VW_ENT_KIND(entry) == VW_ENT_NODE) {
		a = htonl(a);
		memcpy(addr, &a, 4);
		return tview_walk(v, entry, addr, 3);
	}
	if (VW_ENT_KIND(entry) == VW_ENT_PROBE) {
		len = VW_ENT_PLEN(entry);
		key = htonl(a & (~0U << (32 - len)));
		bk = vw_cuckoo_find(v->v4_long, key, &s);
		if (bk)
			return bk->val[s];
	}
	return tview_mask(v, entry & VW_TBL24_MASK_IDX);
}


/* The program's walk: the /32 filter's trie, or its lengths longest first, then its fallback
 * mask; for a /32 without an entry, the trie of its /16. */
static __u32 tview_v6(const struct tview *v, const __u8 *addr)
{
	struct vw_cuckoo_bucket *bk;
	unsigned int s;
	__u32 hi, r16;

	memcpy(&hi, addr, 4);
	bk = vw_cuckoo_find(v->f32, hi, &s);
	if (bk)
		return tview_walk(v, bk->val[s], addr, 4);
	memcpy(&r16, v->root16 + (size_t)(ntohl(hi) >> 16) * 8, 4);
	return tview_walk(v, r16, addr, 2);
}

/* The reference: the union of the masks of every rule covering the address. */
static __u32 ref_mask(const struct vw_config *c, int family, const __u8 *addr)
{
	__u32 mask = 0;
	size_t i;

	for (i = 0; i < c->nrules; i++) {
		const struct vw_rule *r = &c->rules[i];
		__u8 a[16];

		if (r->family != family)
			continue;
		memcpy(a, addr, 16);
		mask_addr(a, r->plen, family == 4 ? 4 : 16);
		if (!memcmp(a, r->addr, family == 4 ? 4 : 16))
			mask |= r->mask;
	}
	return mask;
}

static __u64 rng_state = 0x9e3779b97f4a7c15ULL;

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Addresses near a few bases so that random prefixes overlap a lot. */
static void rnd_addr(int family, __u8 *a)
{
	static const __u8 bases4[][4] = {{198, 18, 0, 0}, {198, 19, 7, 0}, {203, 0, 113, 0}};
	static const __u8 bases6[][16] = {
	    {0x20, 0x01, 0x0d, 0xb8}, {0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, 0x20}, {0x3f, 0xff}};
	__u64 r = rnd();
	unsigned int b = r % 3, i;

	if (family == 4) {
		memcpy(a, bases4[b], 4);
		a[2] ^= (r >> 8) & (b == 0 ? 0x0f : 0x01);
		a[3] = r >> 16;
		return;
	}
	memcpy(a, bases6[b], 16);
	for (i = 8; i < 16; i++)
		a[i] = (r >> (i * 4)) & (i < 14 ? 0x01 : 0xff);
	a[7] ^= (r >> 60) & 1;
}

/* Random overlapping rules: the built tables must give the union of covering
 * rules for every address, checked against a brute-force reference in userspace
 * and through the program. */
static void test_tables_random(void)
{
	struct vw_config c;
	struct tview v;
	unsigned int i, bad = 0, checked = 0, prog_checked = 0;
	__u8 a[16];

	cfg_init(&c, "test_xdp random");
	for (i = 0; i < 8; i++) {
		char name[16], ports[32];

		snprintf(name, sizeof(name), "c%u", i);
		snprintf(ports, sizeof(ports), "%u/udp", 6000 + i);
		cfg_class(&c, name, i * 3, VW_POLICY_DROP, ports);
	}
	for (i = 0; i < 3000; i++) {
		struct vw_rule r = {};
		int family = i % 2 ? 6 : 4;
		unsigned int plen;
		__u64 x = rnd();

		memset(a, 0, sizeof(a));
		rnd_addr(family, a);
		if (family == 4)
			plen = 14 + x % 19; /* /14../32 */
		else
			plen = (unsigned int[]){32, 48, 56, 60, 63, 64, 96, 120, 127, 128}[x % 10];
		mask_addr(a, plen, family == 4 ? 4 : 16);
		r.family = family;
		r.plen = plen;
		memcpy(r.addr, a, 16);
		r.mask = BIT(((x >> 32) % 8) * 3);
		if (x >> 40 & 1)
			r.mask |= BIT(((x >> 44) % 8) * 3);
		cfg_add(&c, &r);
	}
	if (apply(&c, "tables_random_union"))
		goto out;
	if (tview_open(&v)) {
		fail("tables_random_union", NULL, 0, "cannot read the built tables");
		tview_close(&v);
		goto out;
	}
	/* VW_TEST_QUICK: a fifth of the addresses. */
	for (i = 0; i < (getenv("VW_TEST_QUICK") ? 8000U : 40000U) && bad < 5; i++) {
		int family = i % 2 ? 6 : 4;
		__u32 want, got;

		memset(a, 0, sizeof(a));
		rnd_addr(family, a);
		want = ref_mask(&c, family, a);
		got = family == 4 ? tview_v4(&v, ntohl(*(__u32 *)a)) : tview_v6(&v, a);
		checked++;
		if (want != got) {
			char buf[64];

			inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf));
			fail("tables_random_union", NULL, 0, "%s: table mask 0x%x, rules give 0x%x",
			     buf, got, want);
			bad++;
			continue;
		}
		/* Every 20th address also through the program, for one class it has or
		 * lacks. */
		if (i % 20 == 0) {
			unsigned int k = (i / 20) % 8;
			struct expect e = {(want & BIT(k * 3)) ? P : D,
					   (want & BIT(k * 3)) ? R_ALLOW : R_NOT, k * 3, 0};
			char spec[200], buf[64];

			inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf));
			snprintf(spec, sizeof(spec), "eth %s=%s>%s udp=1>%u",
				 family == 4 ? "ip4" : "ip6", buf, family == 4 ? GW4 : GW6,
				 6000 + k);
			prog_checked++;
			if (run_spec("tables_random_union", spec, &e, false))
				bad++;
		}
	}
	tview_close(&v);
	printf("  tables_random_union: %zu rules, %u addresses checked, %u through "
	       "the program\n",
	       c.nrules, checked, prog_checked);
	if (!bad)
		pass("tables_random_union");
out:
	cfg_free(&c);
}

/* ---- IPv6 lookups past the /32 filter ---- */

/* Set the /32 filter's pre-check bit of addr's /32 in the live generation, as a hash collision
 * with another /32 would: the program must then find no filter entry and go on as for any /32
 * without one. */
static int v6_bloom_set(const char *addr)
{
	__u32 gen, hi, h, idx;
	__u8 a[16];
	__u64 word;

	if (inet_pton(AF_INET6, addr, a) != 1 || vw_gen_active(&T.maps, &gen))
		return -EINVAL;
	memcpy(&hi, a, 4);
	h = VW_V6_BLOOM_HASH(hi);
	idx = gen * VW_V6_BLOOM_WORDS + (h >> 6);
	if (bpf_map_lookup_elem(T.maps.v6_bloom, &idx, &word))
		return -errno;
	word |= 1ULL << (h & 63);
	return bpf_map_update_elem(T.maps.v6_bloom, &idx, &word, BPF_ANY) ? -errno : 0;
}

/* Rules shorter than /32 and their union with longer ones: a /12 for rtp, a /16 for mgmt in it,
 * a /24 for sip, a /48 for mgmt under that, and a /48 alone in 2001:db8::/32. A source in a /32
 * that holds longer rules but matches none of them still has what the /24 gives; a /32 whose
 * pre-check bit is set by a collision but has no filter entry too. */
static void test_v6_short_rules(void)
{
	static const struct xcase cases6[] = {
	    {"v6_48_hit_keeps_24", "eth ip6=3fff:100:5::1>" GW6 " udp=1>5060", E(P, R_ALLOW, SIP)},
	    {"v6_48_hit_mgmt", "eth ip6=3fff:100:5::1>" GW6 " tcp=1>22", E(P, R_ALLOW, MGMT)},
	    {"v6_48_miss_falls_back_to_24", "eth ip6=3fff:100:6::1>" GW6 " udp=1>5060",
	     E(P, R_ALLOW, SIP)},
	    {"v6_48_miss_no_mgmt", "eth ip6=3fff:100:6::1>" GW6 " tcp=1>22", E(D, R_NOT, MGMT)},
	    {"v6_24_without_filter_entry", "eth ip6=3fff:1ff::1>" GW6 " udp=1>5060",
	     E(P, R_ALLOW, SIP)},
	    {"v6_outside_24", "eth ip6=3fff:200::1>" GW6 " udp=1>5060", E(D, R_NOT, SIP)},
	    {"v6_48_miss_nothing_shorter", "eth ip6=2001:db8:8::1>" GW6 " tcp=1>22",
	     E(D, R_NOT, MGMT)},
	    {"v6_48_alone_hit", "eth ip6=2001:db8:7::1>" GW6 " tcp=1>22", E(P, R_ALLOW, MGMT)},
	    /* /12 and /16: both paint the /16's root, the union must stay */
	    {"v6_16_in_12_mgmt", "eth ip6=3ffe:1::1>" GW6 " tcp=1>22", E(P, R_ALLOW, MGMT)},
	    {"v6_16_in_12_keeps_12_rtp", "eth ip6=3ffe:1::1>" GW6 " udp=1>10000",
	     E(P, R_ALLOW, RTP)},
	    {"v6_12_only_rtp", "eth ip6=3ff1::1>" GW6 " udp=1>10000", E(P, R_ALLOW, RTP)},
	    {"v6_12_only_no_mgmt", "eth ip6=3ff1::1>" GW6 " tcp=1>22", E(D, R_NOT, MGMT)},
	    {"v6_48_miss_keeps_12_rtp", "eth ip6=3fff:100:6::1>" GW6 " udp=1>10000",
	     E(P, R_ALLOW, RTP)},
	    {"v6_48_hit_keeps_12_rtp", "eth ip6=3fff:100:5::1>" GW6 " udp=1>10000",
	     E(P, R_ALLOW, RTP)},
	    {"v6_outside_12", "eth ip6=2001:db8:8::1>" GW6 " udp=1>10000", E(D, R_NOT, RTP)},
	};
	static const struct xcase collided[] = {
	    {"v6_precheck_collision_keeps_24", "eth ip6=3fff:1ff::1>" GW6 " udp=1>5060",
	     E(P, R_ALLOW, SIP)},
	    {"v6_precheck_collision_mgmt_not", "eth ip6=3fff:1ff::1>" GW6 " tcp=1>22",
	     E(D, R_NOT, MGMT)},
	    {"v6_precheck_collision_outside", "eth ip6=3fff:2ff::1>" GW6 " udp=1>5060",
	     E(D, R_NOT, SIP)},
	};
	struct vw_config c;
	unsigned int i;

	cfg_init(&c, "test_xdp v6 short rules");
	cfg_class(&c, "sip", SIP, VW_POLICY_DROP, "5060/udp");
	cfg_class(&c, "mgmt", MGMT, VW_POLICY_DROP, "22/tcp");
	cfg_class(&c, "rtp", RTP, VW_POLICY_DROP, "10000/udp");
	cfg_allow(&c, BIT(RTP), "3ff0::/12");
	cfg_allow(&c, BIT(MGMT), "3ffe::/16");
	cfg_allow(&c, BIT(SIP), "3fff:100::/24");
	cfg_allow(&c, BIT(MGMT), "3fff:100:5::/48");
	cfg_allow(&c, BIT(MGMT), "2001:db8:7::/48");
	if (apply(&c, "v6_short_rules"))
		goto out;
	for (i = 0; i < sizeof(cases6) / sizeof(cases6[0]); i++)
		run_spec(cases6[i].name, cases6[i].spec, &cases6[i].e, true);
	if (v6_bloom_set("3fff:1ff::") || v6_bloom_set("3fff:2ff::")) {
		fail("v6_precheck_collision", NULL, 0, "cannot set the pre-check bits");
		goto out;
	}
	for (i = 0; i < sizeof(collided) / sizeof(collided[0]); i++)
		run_spec(collided[i].name, collided[i].spec, &collided[i].e, true);
out:
	cfg_free(&c);
}

/* ---- Bucketed tables: the IPv6 /32 filter and the IPv4 long prefixes ---- */

/* Move the live generation's entry for key in a cuckoo table from the bucket it sits in to its
 * other bucket (as the build does when the first is full), or, with drop set, clear its slot's
 * used bit. */
static int bucket_move(int fd, __u32 key, bool drop)
{
	size_t half = (size_t)VW_CUCKOO_BUCKETS * sizeof(struct vw_cuckoo_bucket);
	struct vw_cuckoo_bucket *tab, *from, *to;
	__u32 gen, s;
	unsigned int fs = 0;
	int free_s = -1, err = 0;

	if (vw_gen_active(&T.maps, &gen))
		return -EINVAL;
	tab = mmap(NULL, half, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)gen * half);
	if (tab == MAP_FAILED)
		return -errno;
	from = vw_cuckoo_find(tab, key, &fs);
	to = from == &tab[VW_CUCKOO_H1(key)] ? &tab[VW_CUCKOO_H2(key)] : &tab[VW_CUCKOO_H1(key)];
	if (!from || from == to) {
		err = -ENOENT;
		goto out;
	}
	if (!drop) {
		for (s = 0; s < VW_CUCKOO_SLOTS && free_s < 0; s++)
			if (!(to->used >> s & 1))
				free_s = (int)s;
		if (free_s < 0) {
			err = -ENOSPC;
			goto out;
		}
		to->key[free_s] = key;
		to->val[free_s] = from->val[fs];
		to->used |= 1U << free_s;
	}
	/* The key stays behind: a slot whose used bit is clear must not match. */
	from->used &= ~(1U << fs);
out:
	munmap(tab, half);
	return err;
}

/* The key of a table entry: an IPv6 /32's first 4 bytes, or an IPv4 prefix's address, as
 * loaded. */
static int bucket_key(const char *addr, __u32 *key)
{
	__u8 a[16];

	if (inet_pton(AF_INET6, addr, a) != 1 && inet_pton(AF_INET, addr, a) != 1)
		return -EINVAL;
	memcpy(key, a, 4);
	return 0;
}

struct bucket_table {
	const char *name;
	int fd;
	const char *keys[2]; /* the entries the cases hit */
};

/* An entry is found in either of its two buckets, and only in a used slot: for each table, the
 * cases as built, with every entry moved to its other bucket, and with every entry's slot unused
 * (the hits then fall back to what the covering shorter rules give: nothing). */
static void test_buckets(void)
{
	static const struct xcase cases[2][4] = {
	    {
		{"v6_f32_48_hit", "eth ip6=3fff:100:5::1>" GW6 " udp=1>5060", E(P, R_ALLOW, SIP)},
		{"v6_f32_48_miss", "eth ip6=3fff:100:6::1>" GW6 " udp=1>5060", E(D, R_NOT, SIP)},
		{"v6_f32_host_hit", "eth ip6=3fff:101::7>" GW6 " tcp=1>22", E(P, R_ALLOW, MGMT)},
		{"v6_f32_host_miss", "eth ip6=3fff:101::8>" GW6 " tcp=1>22", E(D, R_NOT, MGMT)},
	    },
	    {
		{"v4_long_26_hit", "eth ip4=198.51.100.200>" GW4 " udp=1>5060", E(P, R_ALLOW, SIP)},
		{"v4_long_26_miss", "eth ip4=198.51.100.100>" GW4 " udp=1>5060", E(D, R_NOT, SIP)},
		{"v4_long_host_hit", "eth ip4=192.0.2.7>" GW4 " tcp=1>22", E(P, R_ALLOW, MGMT)},
		{"v4_long_host_miss", "eth ip4=192.0.2.8>" GW4 " tcp=1>22", E(D, R_NOT, MGMT)},
	    },
	};
	const struct bucket_table tables[2] = {
	    {"v6_f32", T.maps.v6_f32, {"3fff:100::", "3fff:101::"}},
	    {"v4_long", T.maps.v4_long, {"198.51.100.192", "192.0.2.7"}},
	};
	char name[96];
	struct vw_config c;
	unsigned int t, i, k, pass_no;
	__u32 key;
	int err;

	cfg_init(&c, "test_xdp cuckoo tables");
	cfg_class(&c, "sip", SIP, VW_POLICY_DROP, "5060/udp");
	cfg_class(&c, "mgmt", MGMT, VW_POLICY_DROP, "22/tcp");
	cfg_allow(&c, BIT(SIP), "3fff:100:5::/48");
	cfg_allow(&c, BIT(MGMT), "3fff:101::7/128");
	/* one length under each /24: probes of vw_v4_long */
	cfg_allow(&c, BIT(SIP), "198.51.100.192/26");
	cfg_allow(&c, BIT(SIP), "198.51.100.0/26");
	cfg_allow(&c, BIT(MGMT), "192.0.2.7/32");
	if (apply(&c, "cuckoo_tables"))
		goto out;
	/* As built, then with each entry in its other bucket, then with each slot unused. */
	for (pass_no = 0; pass_no < 3; pass_no++) {
		for (t = 0; t < 2; t++) {
			for (k = 0; pass_no && k < 2; k++) {
				err = bucket_key(tables[t].keys[k], &key);
				if (!err)
					err = bucket_move(tables[t].fd, key, pass_no == 2);
				if (err) {
					fail(tables[t].name, NULL, 0, "cannot %s the entry of %s: %s",
					     pass_no == 2 ? "clear" : "move", tables[t].keys[k],
					     strerror(-err));
					goto out;
				}
			}
			for (i = 0; i < 4; i++) {
				struct xcase x = cases[t][i];

				snprintf(name, sizeof(name), "%s%s", x.name,
					 pass_no == 1 ? "_other_bucket" :
					 pass_no == 2 ? "_unused_slot" : "");
				x.name = name;
				if (pass_no == 2 && x.e.verdict == P)
					x.e = (struct expect)E(D, R_NOT, x.e.cls);
				run_spec(x.name, x.spec, &x.e, true);
			}
		}
	}
out:
	cfg_free(&c);
}

/* The build's placement: a full generation's worth of keys (random ones, and the host addresses
 * of a dense IPv4 block, as loaded), and keys that all want one bucket, are each found in one of
 * their two buckets, once. */
static void test_bucket_placement(void)
{
	size_t half = (size_t)VW_CUCKOO_BUCKETS * sizeof(struct vw_cuckoo_bucket);
	struct vw_cuckoo_bucket *tab = calloc(1, half);
	__u32 *keys = malloc(VW_MAX_CUCKOO_KEYS * sizeof(*keys)), n = 0, i, k, s, x = 0x12345678;
	const char *name = "buckets_full_generation";
	__u32 round, found = 0;
	int err = 0;

	if (!tab || !keys) {
		fail(name, NULL, 0, "out of memory");
		goto out;
	}
	for (round = 0; round < 3; round++) {
		memset(tab, 0, half);
		n = 0;
		err = 0;
		if (round == 0) {
			/* VW_MAX_CUCKOO_KEYS distinct keys (an odd multiplier is a bijection). */
			for (i = 0; i < VW_MAX_CUCKOO_KEYS; i++)
				keys[n++] = (i + 1) * 0x9E3779B1U ^ x;
		} else if (round == 1) {
			/* Every address of 16.0.0.0/12, in network order as loaded. */
			name = "buckets_dense_ipv4_hosts";
			for (i = 0; i < VW_MAX_CUCKOO_KEYS; i++)
				keys[n++] = htonl(0x10000000U + i);
		} else {
			/* Four buckets' worth of keys with one first bucket. */
			name = "buckets_crowded_bucket";
			for (i = 1; n < 4 * VW_CUCKOO_SLOTS; i++)
				if (VW_CUCKOO_H1(i) == VW_CUCKOO_H1(0x20010db8U))
					keys[n++] = i;
		}
		for (i = 0; i < n && !err; i++)
			err = vw_cuckoo_insert(tab, keys[i], i + 1);
		if (err) {
			fail(name, NULL, 0, "placing key %u of %u: %s", i, n, strerror(-err));
			continue;
		}
		for (i = 0; i < n; i++) {
			__u32 b[2] = {VW_CUCKOO_H1(keys[i]), VW_CUCKOO_H2(keys[i])};

			found = 0;
			for (k = 0; k < (b[0] == b[1] ? 1U : 2U); k++)
				for (s = 0; s < VW_CUCKOO_SLOTS; s++)
					if ((tab[b[k]].used >> s & 1) && tab[b[k]].key[s] == keys[i])
						found += tab[b[k]].val[s] == i + 1 ? 1 : 100;
			if (found != 1)
				break;
		}
		if (i < n)
			fail(name, NULL, 0, "key %u (%#x) found %u times in its buckets", i, keys[i],
			     found);
		else
			pass(name);
	}
out:
	free(tab);
	free(keys);
}

/* ---- Generations ---- */

static bool class_eq(const struct vw_class *a, const struct vw_class *b)
{
	unsigned int i;

	if (strcmp(a->name, b->name) || a->id != b->id || a->policy != b->policy ||
	    a->nranges != b->nranges)
		return false;
	for (i = 0; i < a->nranges; i++)
		if (a->ranges[i].lo != b->ranges[i].lo || a->ranges[i].hi != b->ranges[i].hi ||
		    a->ranges[i].l4 != b->ranges[i].l4)
			return false;
	return true;
}

/* B changes everything A had: ports, policies, allowlists. A packet must see B
 * whole. */
static void config_b(struct vw_config *c)
{
	cfg_init(c, "test_xdp B");
	/* Ranges listed as the read-back gives them: by protocol, then port. */
	cfg_class(c, "sip", SIP, VW_POLICY_DROP, "5070/udp");
	cfg_class(c, "rtp", RTP, VW_POLICY_DROP, "10000-10010/udp");
	cfg_class(c, "voicemail", 7, VW_POLICY_MONITOR, "8000-8001/tcp 9/sctp");
	cfg_allow(c, BIT(SIP), "203.0.113.0/24");
	cfg_allow(c, BIT(RTP) | BIT(7), "198.18.5.5/32");
	cfg_allow(c, BIT(SIP), "3fff::/16");
}

static void test_generations(void)
{
	static const struct xcase after_b[] = {
	    {"gen_b_old_sip_port_unprotected", "eth ip4=" SCAN4 ">" GW4 " udp=5060>5060",
	     E(P, R_UNP, NONE)},
	    {"gen_b_new_sip_port_allowlisted", "eth ip4=" SCAN4 ">" GW4 " udp=5060>5070",
	     E(P, R_ALLOW, SIP)},
	    {"gen_b_old_pbx_not_allowlisted", "eth ip4=" PBX4 ">" GW4 " udp=5060>5070",
	     E(D, R_NOT, SIP)},
	    {"gen_b_rtp_policy_now_drop", "eth ip4=198.19.1.1>" GW4 " udp=1>10005",
	     E(D, R_NOT, RTP)},
	    {"gen_b_rtp_range_shrunk", "eth ip4=198.19.1.1>" GW4 " udp=1>12000", E(P, R_UNP, NONE)},
	    {"gen_b_rtp_allowlisted", "eth ip4=" PBX4 ">" GW4 " udp=1>10010", E(P, R_ALLOW, RTP)},
	    {"gen_b_mgmt_gone", "eth ip4=" SCAN4 ">" GW4 " tcp=1>22", E(P, R_UNP, NONE)},
	    {"gen_b_new_class_monitor", "eth ip4=" SCAN4 ">" GW4 " tcp=1>8001", E(M, R_NOT, 7)},
	    {"gen_b_new_class_allowlisted", "eth ip4=" PBX4 ">" GW4 " sctp=1>9", E(P, R_ALLOW, 7)},
	    {"gen_b_v6_old_prefix_gone", "eth ip6=2001:db8:1::1>" GW6 " udp=1>5070",
	     E(D, R_NOT, SIP)},
	    {"gen_b_v6_new_prefix", "eth ip6=3fff:1::1>" GW6 " udp=1>5070", E(P, R_ALLOW, SIP)},
	    {"gen_b_v4_long_gone", "eth ip4=203.0.113.130>" GW4 " udp=1>5070", E(P, R_ALLOW, SIP)},
	};
	static const struct xcase after_a[] = {
	    {"gen_a_again_sip", "eth ip4=" PBX4 ">" GW4 " udp=5060>5060", E(P, R_ALLOW, SIP)},
	    {"gen_a_again_5070_unprotected", "eth ip4=" SCAN4 ">" GW4 " udp=5060>5070",
	     E(P, R_UNP, NONE)},
	    {"gen_a_again_v4_long", "eth ip4=203.0.113.130>" GW4 " udp=1>10500",
	     E(P, R_ALLOW, RTP)},
	    {"gen_a_again_v6", "eth ip6=2001:db8:10::1>" GW6 " tcp=1>22", E(P, R_ALLOW, MGMT)},
	};
	static const struct xcase reuse[] = {
	    {"gen_reuse_v4_old_16_gone", "eth ip4=10.1.1.1>" GW4 " udp=1>5060", E(D, R_NOT, SIP)},
	    {"gen_reuse_v4_old_25_gone", "eth ip4=10.3.3.3>" GW4 " udp=1>5060", E(D, R_NOT, SIP)},
	    {"gen_reuse_v6_old_48_gone", "eth ip6=2001:db8:1::1>" GW6 " udp=1>5060",
	     E(D, R_NOT, SIP)},
	    {"gen_reuse_v4_new_16", "eth ip4=10.2.1.1>" GW4 " udp=1>5060", E(P, R_ALLOW, SIP)},
	    {"gen_reuse_v4_new_25", "eth ip4=10.4.4.4>" GW4 " udp=1>5060", E(P, R_ALLOW, SIP)},
	    {"gen_reuse_v6_new_48", "eth ip6=2001:db8:2::1>" GW6 " udp=1>5060",
	     E(P, R_ALLOW, SIP)},
	};
	struct vw_config a, b, back;
	struct vw_gen_cfg g0, g1;
	__u32 gen_a, gen_b, gen_a2;
	unsigned int i;
	bool ok;

	config_main(&a);
	config_b(&b);
	memset(&back, 0, sizeof(back));
	if (apply(&a, "gen_flip") || vw_gen_active(&T.maps, &gen_a) ||
	    vw_gen_cfg_read(&T.maps, gen_a, &g0))
		goto out;
	if (apply(&b, "gen_flip") || vw_gen_active(&T.maps, &gen_b) ||
	    vw_gen_cfg_read(&T.maps, gen_b, &g1))
		goto out;
	if (gen_a == gen_b || g1.serial != g0.serial + 1 || g1.monitor_mask != BIT(7) ||
	    g1.class_mask != (BIT(SIP) | BIT(RTP) | BIT(7)) || g1.nrules != 3 ||
	    g1.nrules_v4 != 2 || g1.nrules_v6 != 1 || g1.v6_nlens != 1 || g1.v6_lens[0] != 16 ||
	    strcmp(g1.source, "test_xdp B") || strcmp(g1.class_names[7], "voicemail"))
		fail("gen_flip_cfg", NULL, 0,
		     "gen %u -> %u, serial %u -> %u, class_mask 0x%x, monitor 0x%x, nrules "
		     "%u",
		     gen_a, gen_b, g0.serial, g1.serial, g1.class_mask, g1.monitor_mask, g1.nrules);
	else
		pass("gen_flip_cfg");

	for (i = 0; i < sizeof(after_b) / sizeof(after_b[0]); i++)
		run_spec(after_b[i].name, after_b[i].spec, &after_b[i].e, true);

	/* Read B back: classes (ports collapsed to ranges) and rules as given. */
	if (vw_gen_read_config(&T.maps, gen_b, &back)) {
		fail("gen_read_config", NULL, 0, "vw_gen_read_config failed");
	} else {
		ok = back.nclasses == b.nclasses && back.nrules == b.nrules &&
		     !memcmp(back.rules, b.rules, b.nrules * sizeof(*b.rules)) &&
		     !strcmp(back.source, b.source) && !back.builtin;
		for (i = 0; ok && i < b.nclasses; i++)
			ok = class_eq(&back.classes[i], &b.classes[i]);
		if (ok)
			pass("gen_read_config");
		else
			fail("gen_read_config", NULL, 0,
			     "read-back differs (%u classes, %zu rules)", back.nclasses,
			     back.nrules);
	}

	/* The live generation cannot be built into. */
	if (vw_gen_build(&T.maps, gen_b, &a, NULL, NULL) != -EBUSY)
		fail("gen_build_refuses_live", NULL, 0,
		     "building the live generation did not fail");
	else
		pass("gen_build_refuses_live");

	if (apply(&a, "gen_flip_back") || vw_gen_active(&T.maps, &gen_a2))
		goto out;
	if (gen_a2 != gen_a)
		fail("gen_flip_back", NULL, 0, "generation %u after two flips, want %u", gen_a2,
		     gen_a);
	for (i = 0; i < sizeof(after_a) / sizeof(after_a[0]); i++)
		run_spec(after_a[i].name, after_a[i].spec, &after_a[i].e, true);

	/* B built twice more: the second lands in the half that held A. Nothing of A's may
	 * survive there (a reload writes only what the rules cover and clears what the half's
	 * previous build covered). */
	if (apply(&b, "gen_reuse") || apply(&b, "gen_reuse") || vw_gen_active(&T.maps, &gen_b))
		goto out;
	if (gen_b != gen_a)
		fail("gen_reuse", NULL, 0, "generation %u after four flips, want %u", gen_b, gen_a);
	for (i = 0; i < sizeof(after_b) / sizeof(after_b[0]); i++) {
		char name[96];

		snprintf(name, sizeof(name), "gen_reuse_%s", after_b[i].name + 6);
		run_spec(name, after_b[i].spec, &after_b[i].e, true);
	}

	/* Two configs alike but for their prefixes: a /24 or /48 left allowlisted in a reused
	 * half would read as the same class in the new one, and pass. */
	cfg_free(&a);
	cfg_free(&b);
	cfg_init(&a, "test_xdp reuse 1");
	cfg_class(&a, "sip", SIP, VW_POLICY_DROP, "5060/udp");
	cfg_allow(&a, BIT(SIP), "10.1.0.0/16");
	cfg_allow(&a, BIT(SIP), "10.3.3.0/25");
	cfg_allow(&a, BIT(SIP), "2001:db8:1::/48");
	cfg_init(&b, "test_xdp reuse 2");
	cfg_class(&b, "sip", SIP, VW_POLICY_DROP, "5060/udp");
	cfg_allow(&b, BIT(SIP), "10.2.0.0/16");
	cfg_allow(&b, BIT(SIP), "10.4.4.0/25");
	cfg_allow(&b, BIT(SIP), "2001:db8:2::/48");
	if (apply(&a, "gen_reuse_prefixes") || apply(&b, "gen_reuse_prefixes") ||
	    apply(&b, "gen_reuse_prefixes"))
		goto out;
	for (i = 0; i < sizeof(reuse) / sizeof(reuse[0]); i++)
		run_spec(reuse[i].name, reuse[i].spec, &reuse[i].e, true);
out:
	cfg_free(&a);
	cfg_free(&b);
	free(back.rules);
}

/* ---- Scale: 1,000,000 prefixes ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Stage timings of an apply, from its progress callback (printed, never
 * asserted). */
struct stage_times {
	unsigned int n;
	const char *name[16];
	double start[16];
};

static void stage_progress(const char *stage, size_t done, size_t total, void *ctx)
{
	struct stage_times *st = ctx;

	if (st->n && !strcmp(st->name[st->n - 1], stage))
		return;
	if (st->n < 16) {
		st->name[st->n] = stage;
		st->start[st->n++] = now_s();
	}
}

/* A realistic mix: mostly /32 and /128 hosts, some /16../29 and /32../64
 * networks. Correctness is asserted on samples; the apply time is printed
 * (timings are not asserted). */
static void test_million(void)
{
	static const unsigned int v6_lens[] = {32, 40, 48, 56, 64};
	struct stage_times st = {0};
	struct vw_config c;
	struct tview v;
	unsigned int i, bad = 0;
	double t0, t1;
	int err;

	cfg_init(&c, "test_xdp 1M");
	cfg_class(&c, "sip", SIP, VW_POLICY_DROP, "5060/udp");
	cfg_class(&c, "mgmt", MGMT, VW_POLICY_DROP, "22/tcp");
	c.cap = 1000000;
	c.rules = calloc(c.cap, sizeof(*c.rules));
	if (!c.rules)
		abort();
	for (i = 0; i < 1000000; i++) {
		struct vw_rule *r = &c.rules[c.nrules++];
		__u64 x = rnd();
		__u32 a4 = 0;

		r->mask = x >> 63 ? BIT(SIP) : BIT(MGMT) | BIT(SIP);
		if (i % 10 < 6) { /* IPv4 hosts in 10.0.0.0/8-sized space (distinct, spread) */
			r->family = 4;
			r->plen = 32;
			a4 = htonl(0x0a000000 | (i * 2654435761U) >> 8);
		} else if (i % 10 < 7) { /* IPv4 networks /16../29 in 100.64.0.0/10 and up */
			r->family = 4;
			r->plen = 16 + x % 14;
			a4 =
			    htonl((0x64400000 + ((x >> 8) & 0x3fffffff)) & (~0U << (32 - r->plen)));
		} else if (i % 10 < 9) { /* IPv6 hosts */
			r->family = 6;
			r->plen = 128;
			r->addr[0] = 0x20;
			r->addr[1] = 0x01;
			r->addr[2] = 0x0d;
			r->addr[3] = 0xb8;
			memcpy(r->addr + 8, &x, 8);
			memcpy(r->addr + 4, &i, 4);
		} else { /* IPv6 networks */
			r->family = 6;
			r->plen = v6_lens[x % 5];
			r->addr[0] = 0x3f;
			r->addr[1] = 0xff;
			memcpy(r->addr + 2, &x, 8);
			mask_addr(r->addr, r->plen, 16);
		}
		if (r->family == 4)
			memcpy(r->addr, &a4, 4);
	}
	t0 = now_s();
	err = vw_apply(&T.maps, &c, stage_progress, &st);
	t1 = now_s();
	if (err) {
		fail("tables_1m_prefixes", NULL, 0, "vw_apply failed: %s", strerror(-err));
		goto out;
	}
	printf("  apply of %zu prefixes: %.3f s; stages ended at:", c.nrules, t1 - t0);
	for (i = 0; i < st.n; i++)
		printf(" %s %.3f s%s", st.name[i], (i + 1 < st.n ? st.start[i + 1] : t1) - t0,
		       i + 1 < st.n ? "," : "\n");
	fprintf(stderr, "test_xdp: apply of %zu prefixes took %.3f s\n", c.nrules, t1 - t0);

	if (tview_open(&v)) {
		fail("tables_1m_prefixes", NULL, 0, "cannot read the built tables");
		tview_close(&v);
		goto out;
	}
	{
		struct bpf_map_info i6 = {};
		__u32 l6 = sizeof(i6), n4 = 0, b;

		for (b = 0; b < VW_CUCKOO_BUCKETS; b++)
			n4 += (__u32)__builtin_popcount(v.v4_long[b].used);
		if (!bpf_obj_get_info_by_fd(v.v6_fd, &i6, &l6))
			printf("  1M tables: %u IPv4 /25-/32 prefixes in vw_v4_long, %u IPv6 "
			       "prefixes in %u lengths\n",
			       n4, i6.max_entries, v.gc.v6_nlens);
	}
	/* Sampled rules: an address inside each must carry at least the rule's
	 * classes. */
	for (i = 0; i < 1000000 && bad < 5; i += 997) {
		const struct vw_rule *r = &c.rules[i];
		__u8 a[16];
		__u32 got;

		memcpy(a, r->addr, 16);
		if (r->family == 4) {
			__u32 h = ntohl(*(__u32 *)a) | (r->plen < 32 ? 1 : 0);

			got = tview_v4(&v, h);
		} else {
			a[15] |= r->plen < 128 ? 1 : 0;
			got = tview_v6(&v, a);
		}
		if ((got & r->mask) != r->mask) {
			fail("tables_1m_prefixes", NULL, 0, "rule %u: mask 0x%x lacks 0x%x", i, got,
			     r->mask);
			bad++;
		}
	}
	/* Addresses no rule covers. */
	{
		static const __u8 none6[16] = {0x3f, 0xfe};

		if (tview_v4(&v, 0xc0000263) || tview_v6(&v, none6)) {
			fail("tables_1m_prefixes", NULL, 0, "an uncovered address has classes");
			bad++;
		}
	}
	tview_close(&v);
	if (!bad) {
		const struct expect ok = E(P, R_ALLOW, SIP), no = E(D, R_NOT, SIP);
		char spec[160], buf[64];

		inet_ntop(AF_INET, c.rules[0].addr, buf, sizeof(buf));
		snprintf(spec, sizeof(spec), "eth ip4=%s>" GW4 " udp=1>5060", buf);
		bad += !!run_spec("tables_1m_prefixes", spec, &ok, false);
		bad += !!run_spec("tables_1m_prefixes", "eth ip4=192.0.2.99>" GW4 " udp=1>5060",
				  &no, false);
	}
	if (!bad)
		pass("tables_1m_prefixes");
out:
	cfg_free(&c);
}

/* A config with classes and no rules: nobody is allowlisted, and it reads back empty. */
static void test_empty_config(void)
{
	const struct expect no = E(D, R_NOT, SIP), no6 = E(M, R_NOT, RTP);
	struct vw_config c, back;
	__u32 gen;

	cfg_init(&c, VW_BUILTIN_SOURCE);
	c.builtin = true;
	cfg_class(&c, "sip", SIP, VW_POLICY_DROP, "5060/udp 5060/tcp");
	cfg_class(&c, "rtp", RTP, VW_POLICY_MONITOR, "10000/udp");
	if (apply(&c, "empty_config"))
		goto out;
	run_spec("empty_config_v4_dropped", "eth ip4=" PBX4 ">" GW4 " udp=1>5060", &no, true);
	run_spec("empty_config_v6_monitored", "eth ip6=" PBX6 ">" GW6 " udp=1>10000", &no6, true);
	if (vw_gen_active(&T.maps, &gen) || vw_gen_read_config(&T.maps, gen, &back)) {
		fail("empty_config_read_back", NULL, 0, "vw_gen_read_config failed");
		goto out;
	}
	if (back.nrules || back.nclasses != 2 || !back.builtin ||
	    strcmp(back.source, VW_BUILTIN_SOURCE) || !class_eq(&back.classes[0], &c.classes[0]) ||
	    !class_eq(&back.classes[1], &c.classes[1]))
		fail("empty_config_read_back", NULL, 0, "%zu rules, %u classes, builtin %d",
		     back.nrules, back.nclasses, back.builtin);
	else
		pass("empty_config_read_back");
	free(back.rules);
out:
	cfg_free(&c);
}

/* ---- Errors ---- */

/* A config with VW_MAX_CUCKOO_KEYS + 1 keys of one cuckoo table (prefixes of family and plen
 * whose first 4 bytes count up from base): refused with -E2BIG, and the live generation still
 * the one it was. */
static void expect_cuckoo_limit(const char *name, __u8 family, __u8 plen, __u32 base)
{
	__u32 gen_before = ~0U, gen_after = ~1U, i;
	struct vw_config c;
	int err;

	cfg_init(&c, name);
	cfg_class(&c, "sip", SIP, VW_POLICY_DROP, "5060/udp");
	for (i = 0; i <= VW_MAX_CUCKOO_KEYS; i++) {
		struct vw_rule r = {.family = family, .plen = plen, .mask = BIT(SIP)};
		__u32 a = htonl(base + i);

		memcpy(r.addr, &a, 4);
		cfg_add(&c, &r);
	}
	vw_gen_active(&T.maps, &gen_before);
	err = vw_apply(&T.maps, &c, NULL, NULL);
	vw_gen_active(&T.maps, &gen_after);
	if (err != -E2BIG || gen_after != gen_before)
		fail(name, NULL, 0, "vw_apply gave %d (want -E2BIG), live generation %u then %u", err,
		     gen_before, gen_after);
	else
		pass(name);
	cfg_free(&c);
}

static void test_build_errors(void)
{
	struct vw_config c;
	int err;

	/* More distinct masks than vw_masks holds: 32768 /24s with distinct class
	 * sets. */
	cfg_init(&c, "test_xdp masks");
	{
		unsigned int i;

		for (i = 0; i < 32; i++) {
			char name[16], ports[16];

			snprintf(name, sizeof(name), "k%u", i);
			snprintf(ports, sizeof(ports), "%u/udp", 7000 + i);
			cfg_class(&c, name, i, VW_POLICY_DROP, ports);
		}
		for (i = 0; i < VW_MAX_MASKS; i++) {
			struct vw_rule r = {.family = 4, .plen = 24, .mask = i + 1};
			__u32 a = htonl(0x0a000000 | i << 8);

			memcpy(r.addr, &a, 4);
			cfg_add(&c, &r);
		}
	}
	err = vw_apply(&T.maps, &c, NULL, NULL);
	if (err != -E2BIG)
		fail("build_error_too_many_masks", NULL, 0, "vw_apply gave %d, want -E2BIG", err);
	else
		pass("build_error_too_many_masks");
	cfg_free(&c);

	/* One key more than a cuckoo table takes: IPv6 /32s holding rules of /32 or longer (the /32
	 * filter), and IPv4 hosts of one-length /24s (every host of a /12, and one more). */
	expect_cuckoo_limit("build_error_too_many_v6_32s", 6, 48, 0x20000000U);
	expect_cuckoo_limit("build_error_too_many_v4_long", 4, 32, 0x10000000U);

	/* A rule for an undefined class, and a port in two classes. */
	cfg_init(&c, "test_xdp bad");
	cfg_class(&c, "sip", SIP, VW_POLICY_DROP, "5060/udp");
	cfg_allow(&c, BIT(3), "198.18.0.0/16");
	err = vw_apply(&T.maps, &c, NULL, NULL);
	if (err != -EINVAL)
		fail("build_error_undefined_class", NULL, 0, "vw_apply gave %d, want -EINVAL", err);
	else
		pass("build_error_undefined_class");
	cfg_free(&c);

	cfg_init(&c, "test_xdp overlap");
	cfg_class(&c, "sip", SIP, VW_POLICY_DROP, "5060/udp");
	cfg_class(&c, "rtp", RTP, VW_POLICY_DROP, "5000-6000/udp");
	err = vw_apply(&T.maps, &c, NULL, NULL);
	if (err != -EINVAL)
		fail("build_error_port_in_two_classes", NULL, 0, "vw_apply gave %d, want -EINVAL",
		     err);
	else
		pass("build_error_port_in_two_classes");
	cfg_free(&c);
}

int main(void)
{
	struct vw_config main_cfg;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP test_xdp: needs root (BPF)\n");
		return 0;
	}
	err = xdptest_open(&T);
	if (err) {
		printf("FAIL test_xdp_open: cannot load the XDP program: %s\n", strerror(-err));
		return 1;
	}
	cnt_now = calloc(VW_COUNTERS, sizeof(*cnt_now));
	cnt_next = calloc(VW_COUNTERS, sizeof(*cnt_next));
	if (!cnt_now || !cnt_next || xdptest_counters(&T, cnt_now)) {
		printf("FAIL test_xdp_open: cannot read counters\n");
		return 1;
	}

	config_main(&main_cfg);
	if (apply(&main_cfg, "apply_main_config"))
		return 1;
	run_table();
	check_elsewhere("table");
	test_fragments();
	test_atomic_fragment();
	check_elsewhere("fragments");
	test_truncation();
	check_elsewhere("truncation");
	test_iface_slot();
	test_iface_slot_edges();
	test_jumbo();
	test_src_sampling();
	check_elsewhere("slots");
	test_v6_short_rules();
	check_elsewhere("v6_short_rules");
	test_buckets();
	check_elsewhere("cuckoo_tables");
	test_bucket_placement();
	test_generations();
	test_empty_config();
	test_build_errors();
	check_elsewhere("generations");
	test_tables_random();
	/* VW_TEST_QUICK (make mutate): the 1,000,000-prefix build takes most of the run. */
	if (getenv("VW_TEST_QUICK"))
		printf("SKIP tables_1m_prefixes: VW_TEST_QUICK is set\n");
	else
		test_million();
	check_elsewhere("tables");

	cfg_free(&main_cfg);
	free(cnt_now);
	free(cnt_next);
	xdptest_close(&T);
	printf("# test_xdp: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
