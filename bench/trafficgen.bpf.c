// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The live traffic generator's XDP program (bench/trafficgen.c runs it with
 * bpf_prog_test_run_opts and BPF_F_TEST_XDP_LIVE_FRAMES on the sender veth).
 *
 * Every run gets the template frame (Ethernet, IPv4 without options, UDP), gives it the next
 * source address of a range from a counter (so the receiver sees many distinct sources, like a
 * scan, not one address a cache would keep warm), fixes the IPv4 header checksum and returns
 * XDP_TX, which the test-run code turns into a redirect out of the same interface: the frame
 * reaches the veth peer.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Set by the loader before load: sources are src_base + (n * src_mult % src_count), host order:
 * consecutive with src_mult 1, scattered over the range with an odd multiplier. */
const volatile __u32 src_base = 0;
const volatile __u32 src_count = 1;
const volatile __u32 src_mult = 1;

/* Frames generated; one generator runs on one CPU, so a plain counter is enough. */
__u64 frames = 0;
/* Frames that were not the expected template (left unchanged and dropped). */
__u64 bad_frames = 0;

SEC("xdp")
int trafficgen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u16 *w = (__u16 *)ip;
	__u32 sum = 0, n;
	int i;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5) {
		bad_frames++;
		return XDP_DROP;
	}
	n = frames++;
	ip->saddr = bpf_htonl(src_base + (n * src_mult) % src_count);
	ip->check = 0;
	/* RFC 791 header checksum over the 20-byte header. */
	for (i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = ~sum & 0xffff;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
