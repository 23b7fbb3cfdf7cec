// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * vwbench live traffic generator: sends 64-byte UDP frames (60 bytes plus the FCS a
 * wire would add) out of a veth with bpf_prog_test_run_opts(BPF_F_TEST_XDP_LIVE_FRAMES), each
 * from the next source address of a range. Debian's xdp-trafficgen does not load on this kernel.
 *
 * Run it inside the sender's network namespace (the interface index is looked up there). The
 * peer only receives while it has an XDP program attached (or GRO on). Prints one JSON object:
 * frames generated, seconds, frames per second. Counting at the receiver is the benchmark's job:
 * a veth drops what its ring cannot hold.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "trafficgen.skel.h"

#define PROG "trafficgen"
/* Frames per test run call: long enough to amortise the syscall, short enough to stop on time. */
#define GEN_REPEAT (1U << 18)
/* Frames per batch by default (the kernel's default is 64, its maximum 256). */
#define GEN_BATCH 256
#define FRAME_LEN 60

struct gen_opts {
	const char *ifname;
	unsigned char dst_mac[6], src_mac[6];
	struct in_addr src, dst;
	__u32 nsrc;
	bool spread; /* sources scattered over all unicast IPv4 instead of SRC.. in turn */
	__u16 sport, dport;
	double seconds;
	int cpu;
	__u32 batch;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: " PROG " -i IFACE --dst-mac MAC --src-mac MAC --src IPV4 --sources N [--spread]\n"
	    "       --dst IPV4 [--dport PORT] [--sport PORT] [--seconds S] [--cpu N] [--batch N]\n"
	    "Sends 64-byte UDP frames out of IFACE with BPF_F_TEST_XDP_LIVE_FRAMES for S seconds\n"
	    "(default 3), source addresses SRC .. SRC+N-1 in turn (--spread: scattered over\n"
	    "1.0.0.0 .. 223.255.255.255 instead), destination port PORT (default\n"
	    "5060), N frames per batch (default 256), pinned to CPU N if given.\n"
	    "Prints {\"frames\":..,\"seconds\":..,\"pps\":..}. Needs root.\n");
}

static void build_frame(const struct gen_opts *o, unsigned char *f)
{
	/* Headers built aligned, then copied: the IP header sits 14 bytes into the frame. */
	struct ethhdr eth = {};
	struct iphdr ip = {};
	struct udphdr udp = {};
	unsigned char *p = f;

	memset(f, 0, FRAME_LEN);
	memcpy(eth.h_dest, o->dst_mac, 6);
	memcpy(eth.h_source, o->src_mac, 6);
	eth.h_proto = htons(ETH_P_IP);
	ip.version = 4;
	ip.ihl = 5;
	ip.ttl = 64;
	ip.protocol = IPPROTO_UDP;
	ip.tot_len = htons(FRAME_LEN - sizeof(eth));
	ip.saddr = o->src.s_addr;
	ip.daddr = o->dst.s_addr;
	ip.check = htons(~bench_csum_fold(&ip, sizeof(ip)) & 0xffff);
	udp.source = htons(o->sport);
	udp.dest = htons(o->dport);
	udp.len = htons(FRAME_LEN - sizeof(eth) - sizeof(ip));
	udp.check = 0; /* RFC 768: no checksum */
	memcpy(p, &eth, sizeof(eth));
	p += sizeof(eth);
	memcpy(p, &ip, sizeof(ip));
	p += sizeof(ip);
	memcpy(p, &udp, sizeof(udp));
	p += sizeof(udp);
	memcpy(p, "vwbench", 7);
}

static int run(const struct gen_opts *o)
{
	unsigned char frame[FRAME_LEN];
	struct trafficgen_bpf *skel;
	struct xdp_md ctx = {};
	double t0, t1;
	int err = 0, fd;

	ctx.data_end = FRAME_LEN; /* the kernel wants the frame length here */
	ctx.ingress_ifindex = if_nametoindex(o->ifname);
	if (!ctx.ingress_ifindex) {
		err = -errno;
		fprintf(stderr, PROG ": no interface %s in this namespace: %s\n", o->ifname,
			strerror(errno));
		return err;
	}
	build_frame(o, frame);

	skel = trafficgen_bpf__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, PROG ": opening the program: %s\n", strerror(errno));
		return err;
	}
	skel->rodata->src_base = ntohl(o->src.s_addr);
	skel->rodata->src_count = o->nsrc;
	if (o->spread) {
		/* A Fibonacci-hash walk of the unicast range: each frame a new, scattered source. */
		skel->rodata->src_base = 0x01000000;
		skel->rodata->src_count = 0xdf000000;
		skel->rodata->src_mult = 2654435761U;
	}
	err = trafficgen_bpf__load(skel);
	if (err) {
		fprintf(stderr, PROG ": loading the program: %s\n", strerror(-err));
		goto out;
	}
	fd = bpf_program__fd(skel->progs.trafficgen);

	if (o->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			err = -errno;
			fprintf(stderr, PROG ": pinning to CPU %d: %s\n", o->cpu, strerror(errno));
			goto out;
		}
	}

	t0 = bench_now();
	do {
		LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = frame, .data_size_in = FRAME_LEN,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = GEN_REPEAT,
			    .batch_size = o->batch, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(fd, &topts)) {
			err = -errno;
			fprintf(stderr, PROG ": live test run on %s: %s\n", o->ifname,
				strerror(errno));
			goto out;
		}
		t1 = bench_now();
	} while (t1 - t0 < o->seconds);

	if (skel->bss->bad_frames) {
		fprintf(stderr, PROG ": %llu frames were not the template\n",
			(unsigned long long)skel->bss->bad_frames);
		err = -EPROTO;
		goto out;
	}
	printf("{\"frames\":%llu,\"seconds\":%.6f,\"pps\":%.0f}\n",
	       (unsigned long long)skel->bss->frames, t1 - t0, skel->bss->frames / (t1 - t0));
out:
	trafficgen_bpf__destroy(skel);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {{"iface", required_argument, NULL, 'i'},
					      {"dst-mac", required_argument, NULL, 'D'},
					      {"src-mac", required_argument, NULL, 'S'},
					      {"src", required_argument, NULL, 's'},
					      {"sources", required_argument, NULL, 'n'},
					      {"dst", required_argument, NULL, 'd'},
					      {"dport", required_argument, NULL, 'p'},
					      {"sport", required_argument, NULL, 'P'},
					      {"seconds", required_argument, NULL, 't'},
					      {"cpu", required_argument, NULL, 'c'},
					      {"batch", required_argument, NULL, 'b'},
					      {"spread", no_argument, NULL, 'x'},
					      {"help", no_argument, NULL, 'h'},
					      {}};
	struct gen_opts o = {
	    .nsrc = 1, .sport = 40000, .dport = 5060, .seconds = 3, .cpu = -1, .batch = GEN_BATCH};
	bool have_dmac = false, have_smac = false, have_src = false, have_dst = false;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "i:t:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.ifname = optarg;
			break;
		case 'D':
			if (bench_parse_mac(optarg, o.dst_mac))
				goto bad;
			have_dmac = true;
			break;
		case 'S':
			if (bench_parse_mac(optarg, o.src_mac))
				goto bad;
			have_smac = true;
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &o.src) != 1)
				goto bad;
			have_src = true;
			break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &o.dst) != 1)
				goto bad;
			have_dst = true;
			break;
		case 'n':
			o.nsrc = strtoul(optarg, &end, 0);
			if (*end || !o.nsrc)
				goto bad;
			break;
		case 'p':
		case 'P': {
			unsigned long v = strtoul(optarg, &end, 0);

			if (*end || !v || v > 65535)
				goto bad;
			if (c == 'p')
				o.dport = v;
			else
				o.sport = v;
			break;
		}
		case 't':
			o.seconds = strtod(optarg, &end);
			if (*end || o.seconds <= 0)
				goto bad;
			break;
		case 'c':
			o.cpu = strtol(optarg, &end, 0);
			if (*end || o.cpu < 0)
				goto bad;
			break;
		case 'b':
			o.batch = strtoul(optarg, &end, 0);
			if (*end || !o.batch || o.batch > 256)
				goto bad;
			break;
		case 'x':
			o.spread = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !o.ifname || !have_dmac || !have_smac || !have_src || !have_dst) {
		usage(stderr);
		return 2;
	}
	return run(&o) ? 1 : 0;
bad:
	fprintf(stderr, PROG ": bad value for --%s: %s\n",
		c == 'D'   ? "dst-mac"
		: c == 'S' ? "src-mac"
		: c == 's' ? "src"
		: c == 'd' ? "dst"
		: c == 'n' ? "sources"
		: c == 't' ? "seconds"
		: c == 'c' ? "cpu"
		: c == 'b' ? "batch"
			   : "port",
		optarg);
	return 2;
}
