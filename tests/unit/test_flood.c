// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flood control on the real XDP program: policy open, rate limits, bans, exempt rules and block
 * sets (docs/flood.md). The program is loaded with its test clock (bpf/flood.h), so ten seconds
 * of traffic run in a fraction of a second and expiries happen when the test says.
 *
 * Every frame checks the XDP action and the exact counter delta (one cell +1 packet, +len bytes,
 * every other cell of the slot unchanged). Prints "PASS name" / "FAIL name: why".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "voipwall.skel.h"
#include "config.h"
#include "flood.h"
#include "lib/pkt.h"
#include "lib/xdptest.h"
#include "names.h"
#include "tables.h"

#define NS 1000000000ULL
#define SLOT_FIRST VW_COUNTER_INDEX(VW_IFACE_SLOT_OTHER, 0, 0, 0)
#define SLOT_CELLS VW_COUNTERS_PER_SLOT

/* Class ids: the order of the config below. */
enum { SIP, MGMT, PROV, RTP, V6, V6N };

static const char config_text[] =
    "class sip  5060/udp 5060/tcp rate 10/s burst 5 ban 1m\n"
    "class mgmt 22/tcp\n"
    "class prov 8088/tcp 69/udp policy open rate 5/s burst 3\n"
    "class rtp  10000-20000/udp policy monitor rate 100/s burst 2\n"
    "class v6   5070/udp policy open rate 10/s burst 2\n"
    "class v6n  5071/udp policy open rate 10/s burst 2 per /128\n"
    "allow sip,mgmt,rtp 198.18.1.0/24\n"
    "allow sip 198.18.9.9 exempt\n"
    "allow sip 2001:db8:1::/48\n";

#define GW4 "198.18.100.1"
#define GW6 "2001:db8:ffff::1"
#define A "198.18.1.10"	  /* allowlisted for sip, mgmt, rtp */
#define E "198.18.9.9"	  /* allowlisted and exempt for sip */
#define S "203.0.113.5"	  /* a stranger */

static struct xdptest T;
static struct vw_counter before[SLOT_CELLS], after[SLOT_CELLS];
static int failures, passes;

static void pass(const char *name)
{
	printf("PASS %s\n", name);
	passes++;
}

static void __attribute__((format(printf, 2, 3))) fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failures++;
}

static void set_clock(__u64 ns)
{
	T.skel->bss->vw_test_now_ns = ns;
}

static __u64 clock_now(void)
{
	return T.skel->bss->vw_test_now_ns;
}

/* Run spec once; 0 when the action and the counter delta are as expected. */
static int frame(const char *name, const char *spec, int verdict, int reason, int cls)
{
	static struct pkt p;
	__u32 action, want = VW_COUNTER_INDEX(VW_IFACE_SLOT_OTHER, cls, verdict, reason) - SLOT_FIRST;
	unsigned int i;
	int err;

	if (pkt_build(&p, spec, stdout)) {
		fail(name, "bad spec %s", spec);
		return -1;
	}
	if (xdptest_counters_range(&T, SLOT_FIRST, SLOT_CELLS, before) ||
	    (err = xdptest_run(&T, p.data, p.len, 0, &action)) ||
	    xdptest_counters_range(&T, SLOT_FIRST, SLOT_CELLS, after)) {
		fail(name, "cannot run %s", spec);
		return -1;
	}
	if (action != (verdict == VW_VERDICT_DROP ? XDP_DROP : XDP_PASS)) {
		fail(name, "%s: action %s, want %s/%s", spec, xdptest_action_name(action),
		     vw_verdict_name(verdict), vw_reason_name(reason));
		return -1;
	}
	for (i = 0; i < SLOT_CELLS; i++) {
		__u64 dp = after[i].packets - before[i].packets;
		__u64 db = after[i].bytes - before[i].bytes;

		if (dp == (i == want) && db == (i == want ? p.len : 0))
			continue;
		fail(name, "%s: counter (class %u, %s, %s) +%llu, want (class %d, %s, %s) +1", spec,
		     VW_COUNTER_CLASS(i), vw_verdict_name(VW_COUNTER_VERDICT(i)),
		     vw_reason_name(VW_COUNTER_REASON(i)), (unsigned long long)dp, cls,
		     vw_verdict_name(verdict), vw_reason_name(reason));
		return -1;
	}
	return 0;
}

/* A named group of frames: PASS once when all held. */
struct step {
	const char *spec;
	int verdict, reason, cls;
	__u64 advance_ns; /* clock moved on before the frame */
};

static void steps(const char *name, const struct step *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		set_clock(clock_now() + s[i].advance_ns);
		if (frame(name, s[i].spec, s[i].verdict, s[i].reason, s[i].cls)) {
			printf("  (step %zu)\n", i + 1);
			return;
		}
	}
	pass(name);
}

#define NSTEPS(a) (sizeof(a) / sizeof((a)[0]))
#define P VW_VERDICT_PASS
#define D VW_VERDICT_DROP
#define M VW_VERDICT_MONITOR
#define R_ALLOW VW_REASON_ALLOWLISTED
#define R_NOT VW_REASON_NOT_ALLOWLISTED
#define R_OPEN VW_REASON_OPEN
#define R_RATE VW_REASON_RATE_LIMITED
#define R_BAN VW_REASON_BANNED
#define R_BLOCK VW_REASON_BLOCKLISTED
#define R_FRAG VW_REASON_FRAGMENT

#define SIP4(src) "eth ip4=" src ">" GW4 " udp=5060>5060 data=40"
#define MGMT4(src) "eth ip4=" src ">" GW4 " tcp=40000>22"
#define PROV4(src) "eth ip4=" src ">" GW4 " udp=1000>69 data=20"
#define RTP4(src) "eth ip4=" src ">" GW4 " udp=30000>12000 data=160"

static int load_config(const char *text, struct vw_config *cfg)
{
	int err = vw_config_parse_buf(cfg, "test_flood.conf", text, strlen(text), stderr);

	if (!err)
		err = vw_config_assign_ids(cfg, NULL);
	if (!err)
		err = vw_apply(&T.maps, cfg, NULL, NULL);
	return err;
}

/* ---- reasons ---- */

static void test_open_and_attack_path(void)
{
	static const struct step s[] = {
	    {PROV4(S), P, R_OPEN, PROV, NS},
	    {SIP4(S), D, R_NOT, SIP, 0},
	    {MGMT4(S), D, R_NOT, MGMT, 0},
	};
	struct vw_flood_key k = {.cls = SIP, .family = VW_FAMILY_V4};
	struct vw_bucket b;

	steps("open_passes_strangers_protected_drops", s, NSTEPS(s));
	/* the attack path never reaches the buckets */
	k.addr[10] = k.addr[11] = 0xff;
	inet_pton(AF_INET, S, k.addr + 12);
	if (!bpf_map_lookup_elem(T.maps.buckets, &k, &b))
		fail("attack_path_creates_no_bucket", "a bucket exists for (sip, %s)", S);
	else
		pass("attack_path_creates_no_bucket");
}

static void test_rate_and_ban(void)
{
	static const struct step s[] = {
	    {SIP4(A), P, R_ALLOW, SIP, NS}, {SIP4(A), P, R_ALLOW, SIP, 0},
	    {SIP4(A), P, R_ALLOW, SIP, 0},  {SIP4(A), P, R_ALLOW, SIP, 0},
	    {SIP4(A), P, R_ALLOW, SIP, 0},  /* burst 5 */
	    {SIP4(A), D, R_RATE, SIP, 0},   /* over: rate_limited, and banned for 1m */
	    {SIP4(A), D, R_BAN, SIP, 0},
	    {MGMT4(A), P, R_ALLOW, MGMT, 0}, /* banned from sip only */
	    {SIP4(A), D, R_BAN, SIP, 59 * NS},
	    {SIP4(A), P, R_ALLOW, SIP, NS},  /* the ban ended by itself */
	    {SIP4(A), P, R_ALLOW, SIP, 0},
	};
	static const struct step mon[] = {
	    {RTP4(A), P, R_ALLOW, RTP, NS},
	    {RTP4(A), P, R_ALLOW, RTP, 0},
	    {RTP4(A), M, R_RATE, RTP, 0}, /* policy monitor: counted, passed */
	    {RTP4(A), P, R_ALLOW, RTP, 10 * NS / 1000},
	};
	static const struct step open[] = {
	    {PROV4("203.0.113.6"), P, R_OPEN, PROV, NS},
	    {PROV4("203.0.113.6"), P, R_OPEN, PROV, 0},
	    {PROV4("203.0.113.6"), P, R_OPEN, PROV, 0},
	    {PROV4("203.0.113.6"), D, R_RATE, PROV, 0}, /* no ban in prov */
	    {PROV4("203.0.113.6"), D, R_RATE, PROV, 0},
	    {PROV4("203.0.113.6"), P, R_OPEN, PROV, NS / 5}, /* 5/s: one token per 200 ms */
	    {PROV4("203.0.113.6"), D, R_RATE, PROV, NS / 10},
	};
	struct vw_flood_key k = {.cls = SIP, .family = VW_FAMILY_V4};
	__u64 until;

	steps("rate_burst_then_limited_then_banned_then_free", s, NSTEPS(s));
	steps("rate_under_monitor_counts_only", mon, NSTEPS(mon));
	steps("rate_open_class", open, NSTEPS(open));
	k.addr[10] = k.addr[11] = 0xff;
	inet_pton(AF_INET, A, k.addr + 12);
	until = vw_ban_until(&T.maps, &k, 0);
	if (!until)
		fail("ban_recorded_in_vw_bans", "no vw_bans entry for (sip, %s)", A);
	else
		pass("ban_recorded_in_vw_bans");
}

static void test_ban_survives_bucket_eviction(void)
{
	struct vw_flood_key k = {.cls = SIP, .family = VW_FAMILY_V4};
	static const struct step s[] = {
	    {SIP4("198.18.1.20"), P, R_ALLOW, SIP, NS}, {SIP4("198.18.1.20"), P, R_ALLOW, SIP, 0},
	    {SIP4("198.18.1.20"), P, R_ALLOW, SIP, 0},  {SIP4("198.18.1.20"), P, R_ALLOW, SIP, 0},
	    {SIP4("198.18.1.20"), P, R_ALLOW, SIP, 0},  {SIP4("198.18.1.20"), D, R_RATE, SIP, 0},
	};
	static const struct step after_evict[] = {
	    {SIP4("198.18.1.20"), D, R_BAN, SIP, NS},
	};

	steps("ban_setup", s, NSTEPS(s));
	k.addr[10] = k.addr[11] = 0xff;
	inet_pton(AF_INET, "198.18.1.20", k.addr + 12);
	bpf_map_delete_elem(T.maps.buckets, &k);
	steps("ban_survives_bucket_eviction", after_evict, NSTEPS(after_evict));
}

static void test_exempt(void)
{
	char name[] = "exempt_never_limited";
	int i;

	set_clock(clock_now() + NS);
	for (i = 0; i < 200; i++)
		if (frame(name, SIP4(E), P, R_ALLOW, SIP))
			return;
	/* and never banned: 2 minutes on, still the same */
	set_clock(clock_now() + 120 * NS);
	for (i = 0; i < 20; i++)
		if (frame(name, SIP4(E), P, R_ALLOW, SIP))
			return;
	pass(name);
}

static void test_v6_prefix(void)
{
	static const struct step s[] = {
	    {"eth ip6=2001:db8:1::1>" GW6 " udp=1>5070", P, R_OPEN, V6, NS},
	    {"eth ip6=2001:db8:1::2>" GW6 " udp=1>5070", P, R_OPEN, V6, 0},
	    {"eth ip6=2001:db8:1::3>" GW6 " udp=1>5070", D, R_RATE, V6, 0}, /* same /64 */
	    {"eth ip6=2001:db8:1:0:ffff::9>" GW6 " udp=1>5070", D, R_RATE, V6, 0},
	    {"eth ip6=2001:db8:1:1::1>" GW6 " udp=1>5070", P, R_OPEN, V6, 0}, /* next /64 */
	    {"eth ip6=2001:db8:1::1>" GW6 " udp=1>5071", P, R_OPEN, V6N, 0},
	    {"eth ip6=2001:db8:1::1>" GW6 " udp=1>5071", P, R_OPEN, V6N, 0},
	    {"eth ip6=2001:db8:1::1>" GW6 " udp=1>5071", D, R_RATE, V6N, 0},
	    {"eth ip6=2001:db8:1::2>" GW6 " udp=1>5071", P, R_OPEN, V6N, 0}, /* per /128 */
	};

	steps("rate_ipv6_per_64_and_per_128", s, NSTEPS(s));
}

/* An IPv6 source is never the IPv4 source its last 32 bits spell: ::ffff:198.18.77.7 per /128 has
 * a bucket of its own, apart from 198.18.77.7's. */
static void test_families_apart(void)
{
	static const struct step s[] = {
	    {"eth ip4=198.18.77.7>" GW4 " udp=1>5071", P, R_OPEN, V6N, NS},
	    {"eth ip4=198.18.77.7>" GW4 " udp=1>5071", P, R_OPEN, V6N, 0},
	    {"eth ip4=198.18.77.7>" GW4 " udp=1>5071", D, R_RATE, V6N, 0},
	    {"eth ip6=::ffff:198.18.77.7>" GW6 " udp=1>5071", P, R_OPEN, V6N, 0},
	    {"eth ip6=::ffff:198.18.77.7>" GW6 " udp=1>5071", P, R_OPEN, V6N, 0},
	    {"eth ip6=::ffff:198.18.77.7>" GW6 " udp=1>5071", D, R_RATE, V6N, 0},
	};

	steps("rate_ipv4_and_ipv4_mapped_ipv6_apart", s, NSTEPS(s));
}

/* ---- block sets ---- */

static void entry(struct vw_block_entry *e, const char *prefix, __u32 mask, __u64 expires,
		  __u8 flags)
{
	const char *why;

	memset(e, 0, sizeof(*e));
	if (vw_parse_prefix(prefix, &e->r, &why)) {
		fprintf(stderr, "bad prefix %s: %s\n", prefix, why);
		abort();
	}
	e->r.mask = mask;
	e->expires_ns = expires;
	e->flags = flags;
}

static int block(const char *set, const char *prefix, __u32 mask, __u64 expires, __u8 flags)
{
	struct vw_block_entry e;
	__u32 slot;
	int err;

	entry(&e, prefix, mask, expires, flags);
	err = vw_block_set_slot(&T.maps, set, true, &slot);
	if (!err)
		err = vw_block_add(&T.maps, slot, &e, 1);
	if (err)
		fail("block_add", "%s %s: %s", set, prefix, strerror(-err));
	return err;
}

#define ALL VW_BLOCK_ALL_CLASSES
#define OVR VW_BLOCK_OVERRIDE
#define BIT(c) (1U << (c))

static void test_blocks(void)
{
	static const struct step basic[] = {
	    {PROV4(S), D, R_BLOCK, PROV, NS},         /* open class: blocked */
	    {SIP4(S), D, R_NOT, SIP, 0},              /* protected: the allowlist drops first */
	    {SIP4(A), P, R_ALLOW, SIP, 0},            /* allowlisted: a plain block never applies */
	    {PROV4(A), D, R_BLOCK, PROV, 0},          /* ... but A is not allowlisted for prov */
	    {MGMT4(A), D, R_BLOCK, MGMT, 0},          /* override, mgmt only */
	    {"eth ip4=" A ">" GW4 " tcp=1>5060", P, R_ALLOW, SIP, 0}, /* union: sip still passes */
	    {PROV4("203.0.114.7"), D, R_BLOCK, PROV, 0},
	    {PROV4("203.0.114.7"), P, R_OPEN, PROV, 10 * NS}, /* expired by itself */
	    {PROV4("203.0.113.9"), D, R_BLOCK, PROV, 0},       /* its /32 expired: the /24 holds */
	    {PROV4("198.51.100.7"), D, R_BLOCK, PROV, 0}, /* /32 for sip only: the /24 holds */
	    {"eth ip4=198.51.100.8>" GW4 " udp=1>5060", D, R_NOT, SIP, 0},
	    {PROV4("203.0.114.8"), P, R_OPEN, PROV, 0},   /* ::/0 does not cover IPv4 */
	    {"eth ip6=2001:db8:bad::5>" GW6 " udp=1>5070", D, R_BLOCK, V6, 0},
	    {"eth ip6=2001:db8:bae::5>" GW6 " udp=1>5070", D, R_BLOCK, V6, 0}, /* ::/0, v6 only */
	};
	/* Evasion: the blocked source through every encapsulation the parser knows. */
	static const struct step evasion[] = {
	    {"eth q=10 ip4=" S ">" GW4 " udp=1000>69 data=20", D, R_BLOCK, PROV, 0},
	    {"eth ad=10 q=20 ip4=" S ">" GW4 " tcp=1>8088", D, R_BLOCK, PROV, 0},
	    {"eth q=1 q=2 ip4=" S ">" GW4 " opt=12 udp=1000>69 data=20", D, R_BLOCK, PROV, 0},
	    {"eth ip4=" S ">" GW4 " id=77 mf udp=1000>69 len=3000 data=1472", D, R_BLOCK, PROV, 0},
	    {"eth ip4=" S ">" GW4 " id=77 off=185 proto=17 data=1480", D, R_FRAG, PROV, 0},
	    {"eth ip6=2001:db8:bad::5>" GW6 " hbh dst rt ah udp=1>5070", D, R_BLOCK, V6, 0},
	    {"eth ad=3 ip6=2001:db8:bad::5>" GW6 " hbh frag id=9 mf udp=1>5070 len=3000 data=64",
	     D, R_BLOCK, V6, 0},
	    {"eth ip6=2001:db8:bad::5>" GW6 " frag id=9 off=100 nh=17 data=64", D, R_FRAG, V6, 0},
	};
	__u64 t = clock_now() + NS;

	if (block("manual", "203.0.113.0/24", ALL, 0, 0) ||
	    block("manual", "203.0.113.9/32", ALL, t + 5 * NS, 0) ||
	    block("manual", A "/32", ALL, 0, 0) || block("f2b", A "/32", BIT(MGMT), 0, OVR) ||
	    block("f2b", "203.0.114.7/32", ALL, t + 10 * NS, 0) ||
	    block("s3", "198.51.100.0/24", ALL, 0, 0) ||
	    block("s3", "198.51.100.7/32", BIT(SIP), 0, 0) ||
	    block("s4", "2001:db8:bad::/48", ALL, 0, 0) || block("s5", "::/0", BIT(V6), 0, 0))
		return;
	steps("block_reasons_union_expiry_nesting", basic, NSTEPS(basic));
	steps("block_evasion_vlan_qinq_options_fragments_ext", evasion, NSTEPS(evasion));
}

static void test_block_replace_flush(void)
{
	static const struct step s1[] = {
	    {PROV4("203.0.113.77"), D, R_BLOCK, PROV, NS},
	};
	static const struct step s2[] = {
	    {PROV4("203.0.113.77"), P, R_OPEN, PROV, NS},
	    {PROV4("192.0.2.1"), D, R_BLOCK, PROV, 0},
	};
	static const struct step s3[] = {
	    {PROV4("192.0.2.1"), P, R_OPEN, PROV, NS},
	};
	struct vw_block_entry e[2];
	struct vw_block_entry *list;
	size_t n;
	__u32 slot;

	steps("block_replace_before", s1, NSTEPS(s1));
	entry(&e[0], "192.0.2.0/24", ALL, 0, 0);
	entry(&e[1], "198.18.1.10/32", ALL, 0, 0);
	if (vw_block_set_slot(&T.maps, "manual", false, &slot) ||
	    vw_block_replace(&T.maps, slot, e, 2)) {
		fail("block_replace", "replace failed");
		return;
	}
	if (vw_block_read(&T.maps, slot, &list, &n) || n != 2)
		fail("block_replace_exact_contents", "%zu entries after replace, want 2", n);
	else
		pass("block_replace_exact_contents");
	free(list);
	steps("block_replace_after", s2, NSTEPS(s2));
	vw_block_flush(&T.maps, slot);
	steps("block_flush", s3, NSTEPS(s3));
}

static void test_sweep(void)
{
	struct vw_block_entry e[2], *list = NULL;
	size_t swept = 0, n = 0;
	__u32 slot;

	entry(&e[0], "203.0.113.200/32", ALL, clock_now() + NS, 0);
	entry(&e[1], "203.0.113.201/32", ALL, 0, 0);
	if (vw_block_set_slot(&T.maps, "sweep", true, &slot) || vw_block_add(&T.maps, slot, e, 2) ||
	    vw_block_sweep(&T.maps, clock_now(), &swept) || vw_block_read(&T.maps, slot, &list, &n) ||
	    n != 2) {
		fail("block_sweep_removes_expired_only", "%zu entries left before expiry", n);
		goto out;
	}
	free(list);
	list = NULL;
	if (vw_block_sweep(&T.maps, clock_now() + 2 * NS, &swept) ||
	    vw_block_read(&T.maps, slot, &list, &n) || n != 1 || list[0].expires_ns)
		fail("block_sweep_removes_expired_only", "%zu entries left after expiry", n);
	else
		pass("block_sweep_removes_expired_only");
	free(list);
	list = NULL;

	/* Three entries expiring at 1, 3 and 5 s: each sweep removes what has expired and records
	 * the next expiry, so the next sweep finds the rest. */
	entry(&e[0], "203.0.113.202/32", ALL, clock_now() + 3 * NS, 0);
	entry(&e[1], "203.0.113.203/32", ALL, clock_now() + 5 * NS, 0);
	if (vw_block_flush(&T.maps, slot) || vw_block_set_slot(&T.maps, "sweep", true, &slot) ||
	    vw_block_replace(&T.maps, slot, e, 2)) {
		fail("block_sweep_follows_next_expiry", "cannot fill the set");
		goto out;
	}
	entry(&e[0], "203.0.113.204/32", ALL, clock_now() + NS, 0);
	if (vw_block_add(&T.maps, slot, e, 1) ||
	    vw_block_sweep(&T.maps, clock_now() + 2 * NS, &swept) || swept != 1 ||
	    vw_block_sweep(&T.maps, clock_now() + 4 * NS, &swept) || swept != 1 ||
	    vw_block_sweep(&T.maps, clock_now() + 6 * NS, &swept) || swept != 1 ||
	    vw_block_read(&T.maps, slot, &list, &n) || n != 0)
		fail("block_sweep_follows_next_expiry", "swept %zu, %zu entries left", swept, n);
	else
		pass("block_sweep_follows_next_expiry");
out:
	free(list);
	vw_block_flush(&T.maps, slot);
}

/* ---- token-bucket accuracy ---- */

static int run_repeat(const struct pkt *p, __u32 repeat)
{
	struct xdp_md ctx = {.data = 0, .data_end = (__u32)p->len};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = (__u32)p->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);

	return bpf_prog_test_run_opts(T.prog_fd, &opts);
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* A second CPU sending the same source as fast as it can while the first drives the clock. */
struct helper {
	pthread_t th;
	const struct pkt *p;
	__u32 repeat;
	volatile int stop;
	volatile __u64 sent;
	volatile int err;
};

static void *helper_main(void *arg)
{
	struct helper *h = arg;

	pin_cpu(1);
	while (!h->stop && !h->err) {
		if (run_repeat(h->p, h->repeat))
			h->err = -errno;
		else
			h->sent += h->repeat;
	}
	return NULL;
}

static __u64 cell(__u32 cls, int verdict, int reason)
{
	struct vw_counter c;

	if (xdptest_counters_range(&T, VW_COUNTER_INDEX(VW_IFACE_SLOT_OTHER, cls, verdict, reason),
				   1, &c))
		return ~0ULL;
	return c.packets;
}

/* Rounds of the clock: it moves 50 ms between rounds, half a burst's worth of tokens, so the
 * bucket never overflows between two rounds and batching the packets of a round at one instant
 * changes nothing the test measures. */
#define ACC_ROUNDS 201

/* rate/s with a burst of 0.1 s: 10 s of traffic at twice the rate from the first CPU (the second
 * CPU, when asked, sends the same source flat out meanwhile). The packets passed must be within
 * 5% of rate x 10 s + burst. */
static void accuracy(unsigned int rate, unsigned int burst, bool two_cpus)
{
	char name[96], text[256], spec[128];
	static struct pkt p;
	static unsigned int run;
	struct vw_config cfg;
	struct helper h = {};
	__u64 step_ns, t0, pass0, drop0, passed, dropped, want, sent;
	unsigned int per_round, k;
	double err_pct;

	snprintf(name, sizeof(name), "token_bucket_%u_per_s_%s", rate, two_cpus ? "2_cpus" : "1_cpu");
	snprintf(text, sizeof(text), "class acc 9000/udp policy open rate %u/s burst %u\n", rate,
		 burst);
	if (load_config(text, &cfg)) {
		fail(name, "cannot apply the config");
		return;
	}
	vw_config_free(&cfg);
	snprintf(spec, sizeof(spec), "eth ip4=198.18.200.%u>" GW4 " udp=1>9000 data=20", ++run);
	if (pkt_build(&p, spec, stdout)) {
		fail(name, "bad spec");
		return;
	}
	step_ns = 10 * NS / (ACC_ROUNDS - 1);
	per_round = (unsigned int)(2ULL * rate * step_ns / NS);
	if (!per_round)
		per_round = 1;
	pass0 = cell(0, P, R_OPEN);
	drop0 = cell(0, D, R_RATE);
	t0 = clock_now() + 1000 * NS;
	set_clock(t0);
	pin_cpu(0);
	if (two_cpus) {
		h.p = &p;
		h.repeat = per_round > 1 ? per_round / 2 : 1;
		pthread_create(&h.th, NULL, helper_main, &h);
		/* the rounds start once the second CPU is sending */
		while (!h.sent && !h.err)
			sched_yield();
	}
	for (k = 0; k < ACC_ROUNDS; k++) {
		set_clock(t0 + (__u64)k * step_ns);
		if (run_repeat(&p, per_round)) {
			fail(name, "test run: %s", strerror(errno));
			break;
		}
	}
	if (two_cpus) {
		h.stop = 1;
		pthread_join(h.th, NULL);
	}
	sent = (__u64)ACC_ROUNDS * per_round + h.sent;
	passed = cell(0, P, R_OPEN) - pass0;
	dropped = cell(0, D, R_RATE) - drop0;
	want = (__u64)rate * 10 + burst;
	err_pct = 100.0 * ((double)passed - (double)want) / (double)want;
	printf("# %s: sent %llu (%llu from the second CPU), passed %llu, rate-limited %llu, "
	       "rate x 10 s + burst = %llu: %+.3f%%\n",
	       name, (unsigned long long)sent, (unsigned long long)h.sent,
	       (unsigned long long)passed, (unsigned long long)dropped, (unsigned long long)want,
	       err_pct);
	if (k < ACC_ROUNDS || h.err)
		fail(name, "a test run failed");
	else if (passed + dropped != sent)
		fail(name, "%llu packets counted, %llu sent", (unsigned long long)(passed + dropped),
		     (unsigned long long)sent);
	else if (two_cpus && !h.sent)
		fail(name, "the second CPU sent nothing");
	else if (err_pct < -5 || err_pct > 5)
		fail(name, "passed %llu, want %llu within 5%%", (unsigned long long)passed,
		     (unsigned long long)want);
	else
		pass(name);
}

/* ---- replace under traffic, kill -9 during a large replace ---- */

static volatile int stop_traffic;
static __u64 leaked;

static void *traffic(void *arg)
{
	struct pkt *p = arg;
	struct xdp_md ctx = {.data = 0, .data_end = (__u32)p->len};

	while (!stop_traffic) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
			    .data_size_in = (__u32)p->len, .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

		if (bpf_prog_test_run_opts(T.prog_fd, &opts) == 0 && opts.retval != XDP_DROP)
			leaked++;
	}
	return NULL;
}

static struct vw_block_entry *bulk(size_t n, __u32 seed, const char *keep)
{
	struct vw_block_entry *e = calloc(n + 1, sizeof(*e));
	size_t i;

	if (!e)
		abort();
	for (i = 0; i < n; i++) {
		__u32 a = htonl(0x0a000000U | ((seed * 2654435761U + (__u32)i * 7) & 0xffffffU));

		e[i].r.family = VW_FAMILY_V4;
		e[i].r.plen = 32;
		e[i].r.mask = ALL;
		memcpy(e[i].r.addr, &a, 4);
	}
	if (keep)
		entry(&e[n], keep, ALL, 0, 0);
	return e;
}

static double secs_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) + (b.tv_nsec - a->tv_nsec) / 1e9;
}

/* Large enough that a replace spans many packets of the traffic thread. */
#define REPLACE_ENTRIES 20000

static void test_replace_under_traffic(void)
{
	const char *name = "block_replace_under_traffic_never_passes";
	const size_t n = REPLACE_ENTRIES;
	struct vw_block_entry *a = bulk(n, 1, "203.0.113.250/32");
	struct vw_block_entry *b = bulk(n, 2, "203.0.113.250/32");
	static struct pkt p;
	struct timespec ts;
	pthread_t th;
	double worst = 0;
	__u32 slot;
	int i;

	if (pkt_build(&p, PROV4("203.0.113.250"), stdout) ||
	    vw_block_set_slot(&T.maps, "feed", true, &slot) ||
	    vw_block_replace(&T.maps, slot, a, n + 1)) {
		fail(name, "setup failed");
		goto out;
	}
	stop_traffic = 0;
	leaked = 0;
	pthread_create(&th, NULL, traffic, &p);
	for (i = 0; i < 6; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (vw_block_replace(&T.maps, slot, i % 2 ? a : b, n + 1)) {
			fail(name, "replace %d failed", i);
			break;
		}
		if (secs_since(&ts) > worst)
			worst = secs_since(&ts);
	}
	stop_traffic = 1;
	pthread_join(th, NULL);
	printf("# block replace of %zu prefixes: slowest of 6 took %.3f s (under traffic)\n", n + 1,
	       worst);
	if (leaked)
		fail(name, "%llu packets of a source in both sets passed", (unsigned long long)leaked);
	else if (i == 6)
		pass(name);
	vw_block_flush(&T.maps, slot);
out:
	free(a);
	free(b);
}

static void test_kill_during_replace(void)
{
	const char *name = "kill_9_during_1m_replace_leaves_one_whole_set";
	const size_t big = 1000000;
	struct vw_block_entry *old = bulk(1000, 3, NULL), *neu = bulk(big, 4, NULL), *list;
	int killed = 0, finished = 0, round;
	size_t n;
	__u32 slot;

	if (vw_block_set_slot(&T.maps, "killed", true, &slot) ||
	    vw_block_replace(&T.maps, slot, old, 1000)) {
		fail(name, "setup failed");
		goto out;
	}
	for (round = 0; round < 2; round++) {
		pid_t pid = fork();
		int st;

		if (pid == 0)
			_exit(vw_block_replace(&T.maps, slot, neu, big) ? 1 : 0);
		usleep(100000 + round * 150000);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		if (WIFSIGNALED(st))
			killed++;
		else
			finished++;
		if (vw_block_read(&T.maps, slot, &list, &n)) {
			fail(name, "cannot read the set");
			goto out;
		}
		free(list);
		if (n != 1000 && n != big) {
			fail(name, "round %d: the set holds %zu entries (old 1000, new %zu)", round,
			     n, big);
			goto out;
		}
		/* back to the old set for the next round */
		if (n == big && vw_block_replace(&T.maps, slot, old, 1000)) {
			fail(name, "cannot restore the old set");
			goto out;
		}
	}
	printf("# kill -9 during a 1,000,000-entry replace: %d killed mid-way, %d had finished\n",
	       killed, finished);
	if (!killed)
		fail(name, "no replace was killed mid-way (machine too fast for the delays?)");
	else
		pass(name);
out:
	vw_block_flush(&T.maps, slot);
	free(old);
	free(neu);
}

static void test_scale(void)
{
	const char *name = "block_sets_hold_1m_entries";
	struct vw_block_entry *e = bulk(250000, 5, NULL);
	static const struct step s[] = {
	    {PROV4("203.0.113.5"), D, R_BLOCK, PROV, NS},
	    {PROV4("203.0.113.251"), P, R_OPEN, PROV, 0},
	};
	struct timespec ts;
	char set[16];
	__u32 slot;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (i = 0; i < 4; i++) {
		snprintf(set, sizeof(set), "big%d", i);
		free(e);
		e = bulk(250000, 10 + i, NULL);
		if (vw_block_set_slot(&T.maps, set, true, &slot) ||
		    vw_block_replace(&T.maps, slot, e, 250000)) {
			fail(name, "cannot fill set %s", set);
			goto out;
		}
	}
	printf("# 4 sets of 250,000 entries filled in %.3f s\n", secs_since(&ts));
	if (block("manual", "203.0.113.5/32", ALL, 0, 0))
		goto out;
	steps(name, s, NSTEPS(s));
out:
	for (i = 0; i < 4; i++) {
		snprintf(set, sizeof(set), "big%d", i);
		if (!vw_block_set_slot(&T.maps, set, false, &slot))
			vw_block_flush(&T.maps, slot);
	}
	free(e);
}

/* The config round trip: what a generation holds reads back as the config it came from. */
static void test_read_back(const struct vw_config *cfg)
{
	const char *name = "flood_settings_read_back_from_generation";
	struct vw_config back;
	__u32 gen;
	unsigned int i;

	if (vw_gen_active(&T.maps, &gen) || vw_gen_read_config(&T.maps, gen, &back)) {
		fail(name, "cannot read the live generation");
		return;
	}
	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *a = &cfg->classes[i];
		const struct vw_class *b = vw_config_class(&back, a->name);

		if (!b || a->policy != b->policy || a->rate != b->rate || a->burst != b->burst ||
		    a->ban_secs != b->ban_secs || a->rate_unit != b->rate_unit ||
		    a->v6_plen != b->v6_plen) {
			fail(name, "class %s differs", a->name);
			goto out;
		}
	}
	if (back.nexempt != cfg->nexempt || back.exempt[0].mask != cfg->exempt[0].mask)
		fail(name, "%zu exempt rules read back, want %zu", back.nexempt, cfg->nexempt);
	else
		pass(name);
out:
	vw_config_free(&back);
}

int main(void)
{
	struct vw_config cfg;
	int ncpus;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP test_flood: needs root (BPF)\n");
		return 0;
	}
	if (xdptest_open(&T)) {
		printf("FAIL test_flood_open: cannot load the XDP program\n");
		return 1;
	}
	if (load_config(config_text, &cfg)) {
		printf("FAIL test_flood_config: cannot apply\n");
		return 1;
	}
	test_read_back(&cfg);
	vw_config_free(&cfg);
	test_open_and_attack_path();
	test_rate_and_ban();
	test_ban_survives_bucket_eviction();
	test_exempt();
	test_v6_prefix();
	test_families_apart();
	test_blocks();
	test_block_replace_flush();
	test_sweep();
	test_replace_under_traffic();
	test_kill_during_replace();
	/* a minute or more on a busy 2-core machine: measured on demand (docs/flood.md) */
	if (getenv("VW_TEST_SCALE"))
		test_scale();

	ncpus = libbpf_num_possible_cpus();
	accuracy(10, 5, false);
	accuracy(1000, 100, false);
	accuracy(100000, 10000, false);
	if (ncpus > 1) {
		accuracy(10, 5, true);
		accuracy(1000, 100, true);
		accuracy(100000, 10000, true);
	} else {
		printf("SKIP token_bucket_2_cpus: one CPU\n");
	}

	xdptest_close(&T);
	printf("# test_flood: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
