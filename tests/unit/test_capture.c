// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The capture sampler on the real XDP object (bpf/capture.h), with frames run through
 * bpf_prog_test_run and the ring read back: the flag off copies nothing, each filter (verdict,
 * class, reason, interface) selects exactly its packets, every sample carries the packet's
 * interface, class, verdict, reason, lengths and bytes, snaplen cuts, multi-buffer frames are
 * copied across their buffers, the per-CPU rate limit and its clock-read stride count exactly,
 * an expired flag is turned off by the data path, a full ring counts samples as lost, and the
 * packet's verdict never changes. The process is pinned to one CPU: the state is per CPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "voipwall.skel.h"
#include "capture.h"
#include "config.h"
#include "lib/pkt.h"
#include "lib/xdptest.h"
#include "tables.h"

#define MAX_SAMPLES 8192

static const char conf[] = "class sip 5060/udp\n"
			   "class rtp 10000-20000/udp policy monitor\n"
			   "allow sip 198.18.1.10\n";

/* class ids as assigned in order */
#define SIP 0
#define RTP 1

struct sample {
	struct vw_capture_hdr h;
	__u8 data[VW_CAPTURE_SNAP_MAX];
};

static struct xdptest T;
static struct vw_capture_maps CM;
static struct ring_buffer *RB;
static struct sample *samples;
static unsigned int nsamples, failures;

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

static int on_sample(void *ctx, void *data, size_t size)
{
	const struct vw_capture_hdr *h = data;

	if (nsamples < MAX_SAMPLES && size >= sizeof(*h) && size - sizeof(*h) >= h->cap_len) {
		memcpy(&samples[nsamples].h, h, sizeof(*h));
		memcpy(samples[nsamples].data, h + 1, h->cap_len);
	}
	nsamples++;
	return 0;
}

/* Read what the ring holds now. */
static unsigned int drain(void)
{
	nsamples = 0;
	ring_buffer__consume(RB);
	return nsamples;
}

static struct vw_capture_ctl ctl_all(__u32 session)
{
	struct vw_capture_ctl c = {
		.until_ns = vw_mono_ns() + 60ULL * 1000000000ULL,
		.iface_mask = { ~0ULL, ~0ULL },
		.class_mask = ~0ULL,
		.verdict_mask = ~0U,
		.reason_mask = ~0U,
		.snaplen = VW_CAPTURE_SNAP_MAX,
		.rate = 1000000,
		.session = session,
	};
	return c;
}

/* Arm with c after clearing the per-CPU state and the ring. */
static int arm(const char *name, const struct vw_capture_ctl *c)
{
	int err = vw_capture_cpu_reset(&CM);

	if (!err)
		err = vw_capture_ctl_write(&CM, c);
	drain();
	if (err)
		fail(name, "cannot arm: %s", strerror(-err));
	return err;
}

static int run(const struct pkt *p, __u32 repeat, __u32 *action)
{
	struct xdp_md ctx = { .data = 0, .data_end = (__u32)p->len, .ingress_ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = (__u32)p->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);
	int err = bpf_prog_test_run_opts(T.prog_fd, &opts);

	if (!err && action)
		*action = opts.retval;
	return err;
}

static struct pkt F_DROP, F_ALLOW, F_MON, F_UNP, F_MAL, F_BIG, F_JUMBO;

static void build(struct pkt *p, const char *spec)
{
	if (pkt_build(p, spec, stderr)) {
		fprintf(stderr, "bad spec %s\n", spec);
		exit(1);
	}
}

/* Each frame once; the sample count per frame into got[]. */
static void run_set(const char *name, struct pkt **set, unsigned int n, unsigned int *got)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		__u32 act;

		if (run(set[i], 1, &act))
			fail(name, "test run %u failed: %s", i, strerror(errno));
		got[i] = drain();
	}
}

static void test_filters(void)
{
	struct pkt *set[] = { &F_DROP, &F_ALLOW, &F_MON, &F_UNP, &F_MAL };
	static const struct {
		const char *name;
		__u32 verdicts, reasons;
		__u64 classes;
		__u64 iface0, iface1;
		unsigned int want[5];
	} cases[] = {
		{ "capture_flag_off", 0, 0, 0, 0, 0, { 0, 0, 0, 0, 0 } },
		{ "capture_verdict_drop", 1U << VW_VERDICT_DROP, ~0U, ~0ULL, ~0ULL, ~0ULL,
		  { 1, 0, 0, 0, 1 } },
		{ "capture_verdict_monitor", 1U << VW_VERDICT_MONITOR, ~0U, ~0ULL, ~0ULL, ~0ULL,
		  { 0, 0, 1, 0, 0 } },
		{ "capture_verdict_pass", 1U << VW_VERDICT_PASS, ~0U, ~0ULL, ~0ULL, ~0ULL,
		  { 0, 1, 0, 1, 0 } },
		{ "capture_class_sip", ~0U, ~0U, 1ULL << SIP, ~0ULL, ~0ULL, { 1, 1, 0, 0, 0 } },
		{ "capture_class_none", ~0U, ~0U, 1ULL << VW_CLASS_NONE, ~0ULL, ~0ULL,
		  { 0, 0, 0, 1, 1 } },
		{ "capture_reason_malformed", ~0U, 1U << VW_REASON_MALFORMED, ~0ULL, ~0ULL, ~0ULL,
		  { 0, 0, 0, 0, 1 } },
		{ "capture_reason_not_allowlisted", ~0U, 1U << VW_REASON_NOT_ALLOWLISTED, ~0ULL,
		  ~0ULL, ~0ULL, { 1, 0, 1, 0, 0 } },
		/* the frames run on an interface with no slot: VW_IFACE_SLOT_OTHER (bit 64) */
		{ "capture_iface_other_slot", ~0U, ~0U, ~0ULL, 0, 1, { 1, 1, 1, 1, 1 } },
		{ "capture_iface_excluded", ~0U, ~0U, ~0ULL, ~0ULL, 0, { 0, 0, 0, 0, 0 } },
	};

	for (unsigned int k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct vw_capture_ctl c = ctl_all(7);
		unsigned int got[5];
		int bad = 0;

		if (!cases[k].verdicts)
			c.until_ns = 0;
		c.verdict_mask = cases[k].verdicts ? cases[k].verdicts : ~0U;
		c.reason_mask = cases[k].reasons ? cases[k].reasons : ~0U;
		c.class_mask = cases[k].classes ? cases[k].classes : ~0ULL;
		c.iface_mask[0] = cases[k].verdicts ? cases[k].iface0 : ~0ULL;
		c.iface_mask[1] = cases[k].verdicts ? cases[k].iface1 : ~0ULL;
		if (arm(cases[k].name, &c))
			continue;
		run_set(cases[k].name, set, 5, got);
		for (unsigned int i = 0; i < 5; i++)
			bad |= got[i] != cases[k].want[i];
		if (bad)
			fail(cases[k].name,
			     "samples per frame (drop allow monitor unprotected malformed) %u %u %u %u "
			     "%u, want %u %u %u %u %u",
			     got[0], got[1], got[2], got[3], got[4], cases[k].want[0],
			     cases[k].want[1], cases[k].want[2], cases[k].want[3], cases[k].want[4]);
		else
			pass(cases[k].name);
	}
}

/* One sample's header and bytes against the frame that made it. */
static int check_sample(const char *name, const struct sample *s, const struct pkt *p,
			__u32 cap_len, __u32 cls, __u32 verdict, __u32 reason, __u32 session)
{
	const struct vw_capture_hdr *h = &s->h;
	__u64 now = vw_mono_ns();

	if (h->session != session || h->ifindex != 1 || h->slot != VW_IFACE_SLOT_OTHER ||
	    h->cls != cls || h->verdict != verdict || h->reason != reason ||
	    h->pkt_len != p->len || h->cap_len != cap_len || !h->ts_ns || h->ts_ns > now ||
	    now - h->ts_ns > 60ULL * 1000000000ULL) {
		fail(name,
		     "header session %u ifindex %u slot %u class %u verdict %u reason %u pkt_len %u "
		     "cap_len %u ts %llu; want %u 1 %u %u %u %u %zu %u (now %llu)",
		     h->session, h->ifindex, h->slot, h->cls, h->verdict, h->reason, h->pkt_len,
		     h->cap_len, (unsigned long long)h->ts_ns, session, VW_IFACE_SLOT_OTHER, cls,
		     verdict, reason, p->len, cap_len, (unsigned long long)now);
		return -1;
	}
	if (memcmp(s->data, p->data, cap_len)) {
		fail(name, "the sample's bytes differ from the frame's");
		return -1;
	}
	return 0;
}

static void test_contents(void)
{
	struct vw_capture_ctl c = ctl_all(0x5eed);
	__u32 act = 0;

	if (!arm("capture_sample_fields", &c) && !run(&F_DROP, 1, &act) && drain() == 1 &&
	    !check_sample("capture_sample_fields", &samples[0], &F_DROP, F_DROP.len, SIP,
			  VW_VERDICT_DROP, VW_REASON_NOT_ALLOWLISTED, 0x5eed)) {
		if (act != XDP_DROP)
			fail("capture_sample_fields", "the frame got action %u, want XDP_DROP", act);
		else
			pass("capture_sample_fields");
	} else if (!failures) {
		fail("capture_sample_fields", "no single sample");
	}

	if (!arm("capture_monitor_fields", &c) && !run(&F_MON, 1, &act) && drain() == 1 &&
	    !check_sample("capture_monitor_fields", &samples[0], &F_MON, F_MON.len, RTP,
			  VW_VERDICT_MONITOR, VW_REASON_NOT_ALLOWLISTED, 0x5eed)) {
		if (act != XDP_PASS)
			fail("capture_monitor_fields", "the frame got action %u, want XDP_PASS",
			     act);
		else
			pass("capture_monitor_fields");
	}

	c.snaplen = 60;
	if (!arm("capture_snaplen", &c) && !run(&F_BIG, 1, &act) && drain() == 1 &&
	    !check_sample("capture_snaplen", &samples[0], &F_BIG, 60, SIP, VW_VERDICT_DROP,
			  VW_REASON_NOT_ALLOWLISTED, 0x5eed))
		pass("capture_snaplen");

	c.snaplen = VW_CAPTURE_SNAP_MAX;
	if (arm("capture_multibuffer", &c))
		return;
	if (run(&F_JUMBO, 1, &act)) {
		fail("capture_multibuffer", "the kernel would not run a %zu-byte frame: %s",
		     F_JUMBO.len, strerror(errno));
	} else if (drain() != 1) {
		fail("capture_multibuffer", "%u samples, want 1", nsamples);
	} else if (!check_sample("capture_multibuffer", &samples[0], &F_JUMBO, F_JUMBO.len, SIP,
				 VW_VERDICT_DROP, VW_REASON_NOT_ALLOWLISTED, 0x5eed)) {
		pass("capture_multibuffer");
	}
}

static void test_rate(void)
{
	struct vw_capture_ctl c = ctl_all(9);
	struct vw_capture_cpu st;
	struct timespec a, b;
	__u32 act;
	double secs;

	/* 5 per window, then 200 more within the same window: exactly 5 copied, 200 counted */
	c.rate = 5;
	if (arm("capture_rate_limit", &c))
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (run(&F_DROP, 205, &act)) {
		fail("capture_rate_limit", "test run failed: %s", strerror(errno));
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	drain();
	vw_capture_cpu_sum(&CM, &st);
	if (secs >= 0.9)
		printf("SKIP capture_rate_limit: the 205 runs took %.2f s, past the window\n", secs);
	else if (nsamples != 5 || st.captured != 5 || st.ratelimited != 200 || st.lost)
		fail("capture_rate_limit",
		     "%u samples, captured %llu, ratelimited %llu, lost %llu; want 5 5 200 0",
		     nsamples, (unsigned long long)st.captured,
		     (unsigned long long)st.ratelimited, (unsigned long long)st.lost);
	else
		pass("capture_rate_limit");
}

static void test_expiry(void)
{
	struct vw_capture_ctl c = ctl_all(11), now;
	struct vw_capture_cpu st;

	/* under budget: the first matching packet past the expiry turns the flag off */
	c.until_ns = vw_mono_ns() - 1;
	if (arm("capture_expired_flag_cleared", &c))
		return;
	run(&F_DROP, 1, NULL);
	vw_capture_ctl_read(&CM, &now);
	if (drain() || now.until_ns)
		fail("capture_expired_flag_cleared", "%u samples, until_ns %llu after; want 0 0",
		     nsamples, (unsigned long long)now.until_ns);
	else
		pass("capture_expired_flag_cleared");

	/* over budget: the clock (and so the expiry) is read every VW_CAPTURE_CLOCK_EVERY-th
	 * packet; the flag goes off at that packet, not before */
	c = ctl_all(12);
	c.rate = 1;
	if (arm("capture_expired_over_budget", &c))
		return;
	run(&F_DROP, 1, NULL);
	c.until_ns = vw_mono_ns() - 1;
	vw_capture_ctl_write(&CM, &c);
	run(&F_DROP, VW_CAPTURE_CLOCK_EVERY - 1, NULL);
	vw_capture_ctl_read(&CM, &now);
	if (!now.until_ns) {
		fail("capture_expired_over_budget", "flag off after %d packets, want %d",
		     VW_CAPTURE_CLOCK_EVERY - 1, VW_CAPTURE_CLOCK_EVERY);
		return;
	}
	run(&F_DROP, 1, NULL);
	vw_capture_ctl_read(&CM, &now);
	vw_capture_cpu_sum(&CM, &st);
	if (now.until_ns || drain() != 1 || st.ratelimited != VW_CAPTURE_CLOCK_EVERY)
		fail("capture_expired_over_budget",
		     "until_ns %llu, %u samples, ratelimited %llu; want 0, 1, %d",
		     (unsigned long long)now.until_ns, nsamples, (unsigned long long)st.ratelimited,
		     VW_CAPTURE_CLOCK_EVERY);
	else
		pass("capture_expired_over_budget");
}

static void test_lost(void)
{
	struct vw_capture_ctl c = ctl_all(13);
	struct vw_capture_cpu st;
	const __u32 n = 4000; /* 1,400-byte samples: the 4 MiB ring holds about 2,900 */
	__u32 act;

	if (arm("capture_ring_full_counts_lost", &c))
		return;
	if (run(&F_BIG, n, &act)) {
		fail("capture_ring_full_counts_lost", "test run failed: %s", strerror(errno));
		return;
	}
	vw_capture_cpu_sum(&CM, &st);
	drain();
	if (act != XDP_DROP || !st.lost || st.captured + st.lost != n || nsamples != st.captured)
		fail("capture_ring_full_counts_lost",
		     "action %u, captured %llu, lost %llu, read %u; want XDP_DROP, captured + lost "
		     "= %u with lost > 0, read = captured",
		     act, (unsigned long long)st.captured, (unsigned long long)st.lost, nsamples, n);
	else
		pass("capture_ring_full_counts_lost");
}

int main(void)
{
	struct vw_config cfg = {};
	cpu_set_t one;
	int err;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
	samples = calloc(MAX_SAMPLES, sizeof(*samples));
	if (!samples)
		return 1;
	err = xdptest_open(&T);
	if (err) {
		printf("FAIL capture_load: cannot load the XDP program: %s\n", strerror(-err));
		return 1;
	}
	if (vw_config_parse_buf(&cfg, "capture.conf", conf, sizeof(conf) - 1, stderr) ||
	    vw_config_assign_ids(&cfg, NULL) || vw_apply(&T.maps, &cfg, NULL, NULL)) {
		printf("FAIL capture_load: cannot apply the config\n");
		return 1;
	}
	CM.ctl = bpf_map__fd(T.skel->maps.data_capture);
	CM.ring = bpf_map__fd(T.skel->maps.vw_cap_ring);
	CM.cpu = bpf_map__fd(T.skel->maps.vw_cap_cpu);
	RB = ring_buffer__new(CM.ring, on_sample, NULL, NULL);
	if (!RB) {
		printf("FAIL capture_load: cannot read the ring\n");
		return 1;
	}
	build(&F_DROP, "eth ip4=198.18.3.30>198.18.0.1 udp=5099>5060 data=100");
	build(&F_ALLOW, "eth ip4=198.18.1.10>198.18.0.1 udp=5099>5060 data=100");
	build(&F_MON, "eth ip4=198.18.3.30>198.18.0.1 udp=5099>10000 data=50");
	build(&F_UNP, "eth ip4=198.18.3.30>198.18.0.1 udp=5099>9999 data=20");
	build(&F_MAL, "eth ip4=198.18.3.30>198.18.0.1 tot=2000 udp=5099>5060 data=20");
	build(&F_BIG, "eth ip4=198.18.3.30>198.18.0.1 udp=5099>5060 data=1358");
	build(&F_JUMBO, "eth ip4=198.18.3.30>198.18.0.1 udp=5099>5060 data=8958");

	test_filters();
	test_contents();
	test_rate();
	test_expiry();
	test_lost();

	ring_buffer__free(RB);
	vw_config_free(&cfg);
	xdptest_close(&T);
	free(samples);
	printf("# test_capture: %u failed\n", failures);
	return failures ? 1 : 0;
}
