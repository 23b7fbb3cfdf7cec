// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * vwbench capture cost: what `voipwall capture` costs the drop path, measured with
 * bpf_prog_test_run_opts on a dropped 64-byte SIP-port frame (the frame of a flood), in rounds
 * that interleave the modes:
 *
 *   nocap      the program built without the capture hook (bench/voipwall_nocap.bpf.c)
 *   off        the real program, no capture running: the hook is one load and a branch
 *   nomatch    a capture running whose filter the frame does not match (--class rtp)
 *   flood      a capture running that wants the frame, at the default 1,000 samples/s per CPU:
 *              past the budget a packet costs a counter increment (and a clock read every 64th)
 *   sample     a capture taking every frame (rate unlimited): what one sample costs (clock, copy,
 *              ring). Run 1,000 at a time and read from the ring in between, so none is lost.
 *
 * The cost of a flood at P packets/s on one CPU is then flood + 1,000 x (sample - off) / P per
 * packet; the output gives it for P = 10 Mpps next to the measured flood figure (which samples
 * its 1,000 per window at the test run's own, higher, packet rate).
 * Output: one JSON object on stdout (medians and means per mode, ratios); a summary on stderr.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <sched.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "capture.h"
#include "config.h"
#include "tables.h"

#define PROG "capcost"
#define MAX_ROUNDS 200
/* Samples per test run in the "sample" mode: far fewer than the ring holds (4 MiB / ~112 B). */
#define SAMPLE_BATCH 1000
#define FLOOD_PPS 10e6

static const char bench_conf[] = "class sip 5060/udp 5060/tcp 5061/tcp\n"
				 "class rtp 10000-20000/udp policy monitor\n"
				 "allow sip,rtp 198.18.1.10\n";

enum { M_NOCAP, M_OFF, M_NOMATCH, M_FLOOD, M_SAMPLE, M_N };
static const char *const mode_names[M_N] = { "nocap", "off", "nomatch", "flood", "sample" };

struct prog {
	struct bpf_object *obj;
	struct vw_maps maps;
	struct vw_capture_maps cm;
	int fd;
};

static unsigned char frame[64];
static unsigned long long ring_samples;

static int on_sample(void *ctx, void *data, size_t size)
{
	ring_samples++;
	return 0;
}

/* Ethernet, IPv4 198.18.3.30 -> 198.18.0.1, UDP 5099 -> 5060, zero payload to 64 bytes. */
static void build_frame(void)
{
	unsigned char *ip = frame + 14, *udp = ip + 20;
	__u32 src = htonl(0xc612031e), dst = htonl(0xc6120001);
	__u16 tot = htons(sizeof(frame) - 14), ulen = htons(sizeof(frame) - 34), c;

	memset(frame, 0, sizeof(frame));
	memcpy(frame, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	ip[0] = 0x45;
	memcpy(ip + 2, &tot, 2);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	c = htons(~bench_csum_fold(ip, 20) & 0xffff);
	memcpy(ip + 10, &c, 2);
	udp[0] = 5099 >> 8, udp[1] = 5099 & 0xff;
	udp[2] = 5060 >> 8, udp[3] = 5060 & 0xff;
	memcpy(udp + 4, &ulen, 2);
}

static void prog_open(struct prog *p, const char *path, const struct vw_config *cfg)
{
	struct bpf_program *ip;
	int err;

	p->obj = bpf_object__open_file(path, NULL);
	if (!p->obj)
		bench_die(PROG, "opening %s: %s", path, strerror(errno));
	/* Only the Ethernet entry point is run; the raw-IP one stays unloaded. */
	ip = bpf_object__find_program_by_name(p->obj, "voipwall_xdp_ip");
	if (ip)
		bpf_program__set_autoload(ip, false);
	err = bpf_object__load(p->obj);
	if (err)
		bench_die(PROG, "loading %s: %s", path, strerror(-err));
	p->fd = bpf_program__fd(bpf_object__find_program_by_name(p->obj, "voipwall_xdp"));
	if (p->fd < 0 || vw_maps_from_obj(p->obj, &p->maps))
		bench_die(PROG, "%s: no voipwall_xdp or maps", path);
	err = vw_apply(&p->maps, cfg, NULL, NULL);
	if (err)
		bench_die(PROG, "applying the config: %s", strerror(-err));
	p->cm.ctl = bpf_object__find_map_fd_by_name(p->obj, VW_CAPTURE_CTL_MAP);
	p->cm.ring = bpf_object__find_map_fd_by_name(p->obj, VW_CAPTURE_RING_MAP);
	p->cm.cpu = bpf_object__find_map_fd_by_name(p->obj, VW_CAPTURE_CPU_MAP);
	if (p->cm.ctl < 0 || p->cm.ring < 0 || p->cm.cpu < 0)
		bench_die(PROG, "%s has no capture maps", path);
}

static double run(int fd, __u32 repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o))
		bench_die(PROG, "test run: %s", strerror(errno));
	if (o.retval != XDP_DROP)
		bench_die(PROG, "the frame got action %u, not XDP_DROP", o.retval);
	return o.duration;
}

/* Arm p's capture for class_mask at rate per CPU (its per-CPU state is left as it is). */
static void arm(struct prog *p, __u64 class_mask, __u32 rate)
{
	struct vw_capture_ctl c = {
		.until_ns = vw_mono_ns() + 3600ULL * 1000000000ULL,
		.iface_mask = { ~0ULL, ~0ULL },
		.class_mask = class_mask,
		.verdict_mask = ~0U,
		.reason_mask = ~0U,
		.snaplen = VW_CAPTURE_SNAP_MAX,
		.rate = rate,
		.session = 1,
	};

	if (vw_capture_ctl_write(&p->cm, &c))
		bench_die(PROG, "cannot arm the capture");
}

static void disarm(struct prog *p)
{
	struct vw_capture_ctl c = {};

	if (vw_capture_ctl_write(&p->cm, &c))
		bench_die(PROG, "cannot disarm the capture");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, unsigned int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double mean(const double *v, unsigned int n)
{
	double t = 0;

	for (unsigned int i = 0; i < n; i++)
		t += v[i];
	return t / n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "build", required_argument, NULL, 'b' },
					      { "rounds", required_argument, NULL, 'r' },
					      { "repeat", required_argument, NULL, 'n' },
					      { NULL, 0, NULL, 0 } };
	const char *build = "build";
	unsigned int rounds = 20, repeat = 2000000;
	double ns[M_N][MAX_ROUNDS], med[M_N], avg[M_N], at10;
	struct vw_capture_cpu flood_st = {}, sample_st = {};
	unsigned long long flood_read;
	struct prog cap, nocap;
	struct vw_config cfg = {};
	struct ring_buffer *rb;
	char path[4096];
	cpu_set_t one;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'b')
			build = optarg;
		else if (o == 'r')
			rounds = (unsigned int)atoi(optarg);
		else if (o == 'n')
			repeat = (unsigned int)atoi(optarg);
		else
			bench_die(PROG, "usage: capcost [--build DIR] [--rounds N] [--repeat N]");
	}
	if (!rounds || rounds > MAX_ROUNDS || repeat < SAMPLE_BATCH)
		bench_die(PROG, "--rounds 1..%d, --repeat at least %d", MAX_ROUNDS, SAMPLE_BATCH);
	/* one CPU: the capture's rate state and budget are per CPU */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
	libbpf_set_print(NULL);
	build_frame();
	if (vw_config_parse_buf(&cfg, "capcost.conf", bench_conf, sizeof(bench_conf) - 1, stderr) ||
	    vw_config_assign_ids(&cfg, NULL))
		bench_die(PROG, "bad config");
	snprintf(path, sizeof(path), "%s/voipwall.bpf.o", build);
	prog_open(&cap, path, &cfg);
	snprintf(path, sizeof(path), "%s/bench/voipwall_nocap.bpf.o", build);
	prog_open(&nocap, path, &cfg);
	rb = ring_buffer__new(cap.cm.ring, on_sample, NULL, NULL);
	if (!rb)
		bench_die(PROG, "cannot read the ring");

	/* phase 1, interleaved: the flood's per-CPU rate state runs on across rounds, as in a
	 * flood that lasts */
	vw_capture_cpu_reset(&cap.cm);
	for (unsigned int r = 0; r < rounds; r++) {
		ns[M_NOCAP][r] = run(nocap.fd, repeat);
		disarm(&cap);
		ns[M_OFF][r] = run(cap.fd, repeat);
		arm(&cap, 1ULL << 1 /* rtp only */, VW_CAPTURE_RATE_DEFAULT);
		ns[M_NOMATCH][r] = run(cap.fd, repeat);
		arm(&cap, ~0ULL, VW_CAPTURE_RATE_DEFAULT);
		ns[M_FLOOD][r] = run(cap.fd, repeat);
		ring_buffer__consume(rb);
	}
	vw_capture_cpu_sum(&cap.cm, &flood_st);
	flood_read = ring_samples;
	/* phase 2: every frame sampled, SAMPLE_BATCH at a time, the ring read in between */
	vw_capture_cpu_reset(&cap.cm);
	arm(&cap, ~0ULL, 1000000000U);
	for (unsigned int r = 0; r < rounds; r++) {
		double t = 0;
		unsigned int k;

		for (k = 0; k < 10; k++) {
			t += run(cap.fd, SAMPLE_BATCH);
			ring_buffer__consume(rb);
		}
		ns[M_SAMPLE][r] = t / k;
	}
	vw_capture_cpu_sum(&cap.cm, &sample_st);
	disarm(&cap);
	for (int m = 0; m < M_N; m++) {
		med[m] = median(ns[m], rounds);
		avg[m] = mean(ns[m], rounds);
	}
	at10 = avg[M_FLOOD] + VW_CAPTURE_RATE_DEFAULT * (med[M_SAMPLE] - med[M_OFF]) / FLOOD_PPS;

	printf("{\"frame_bytes\": %zu, \"rounds\": %u, \"repeat\": %u, \"ns_per_packet\": {",
	       sizeof(frame), rounds, repeat);
	for (int m = 0; m < M_N; m++)
		printf("%s\"%s\": {\"median\": %.3f, \"mean\": %.3f}", m ? ", " : "", mode_names[m],
		       med[m], avg[m]);
	printf("}, \"flood_at_10mpps_ns\": %.3f, \"ratios\": {\"off_vs_nocap\": %.4f, "
	       "\"nomatch_vs_off\": %.4f, \"flood_vs_off\": %.4f, \"flood_at_10mpps_vs_off\": %.4f}, "
	       "\"flood\": {\"packets\": %llu, \"samples\": %llu, \"ratelimited\": %llu, "
	       "\"lost\": %llu}, \"sample\": {\"samples\": %llu, \"lost\": %llu}}\n",
	       at10, med[M_OFF] / med[M_NOCAP], med[M_NOMATCH] / med[M_OFF],
	       avg[M_FLOOD] / avg[M_OFF], at10 / avg[M_OFF], (unsigned long long)rounds * repeat,
	       flood_read, (unsigned long long)flood_st.ratelimited,
	       (unsigned long long)flood_st.lost, (unsigned long long)sample_st.captured,
	       (unsigned long long)sample_st.lost);
	fprintf(stderr,
		PROG ": drop path ns/packet (medians of %u rounds x %u): no hook %.2f, capture off "
		"%.2f (x%.3f), capture on not matching %.2f (x%.3f), capture on during a flood "
		"%.2f (mean, x%.3f), one sample %.1f; at 10 Mpps on one CPU %.2f (x%.3f)\n",
		rounds, repeat, med[M_NOCAP], med[M_OFF], med[M_OFF] / med[M_NOCAP], med[M_NOMATCH],
		med[M_NOMATCH] / med[M_OFF], avg[M_FLOOD], avg[M_FLOOD] / avg[M_OFF], med[M_SAMPLE],
		at10, at10 / avg[M_OFF]);
	ring_buffer__free(rb);
	bpf_object__close(cap.obj);
	bpf_object__close(nocap.obj);
	vw_config_free(&cfg);
	return 0;
}
