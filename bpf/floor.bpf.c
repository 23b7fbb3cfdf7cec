// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The floor: the cheapest XDP programs that still do what any filter must do at the very least,
 * so the benchmark (`make bench`) can state voipwall's cost as a ratio to them.
 *
 * Each program checks that an Ethernet header is there and reads its EtherType (so the packet's
 * first cache line is touched, as any parser must), counts the frame in a per-CPU counter (so the
 * receiver of a live benchmark can count what it handled, as voipwall does with its own
 * counters), and returns a fixed action: floor_drop drops, floor_pass passes.
 *
 * They are declared xdp.frags like voipwall, so both attach to the same interfaces.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

/* Counter slots: one per program, so a receiver reads only its own program's frames. */
#define FLOOR_SLOT_DROP 0
#define FLOOR_SLOT_PASS 1
#define FLOOR_SLOTS	2

struct floor_counter {
	__u64 packets;
	__u64 bytes;
	__u64 ethertype_sum; /* keeps the EtherType read from being optimised away */
	__u64 short_frames;  /* frames shorter than an Ethernet header */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOOR_SLOTS);
	__type(key, __u32);
	__type(value, struct floor_counter);
} floor_counters SEC(".maps");

static __always_inline int floor_count(struct xdp_md *ctx, __u32 slot, int action)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct floor_counter *c;

	c = bpf_map_lookup_elem(&floor_counters, &slot);
	if (!c)
		return action;
	c->packets++;
	c->bytes += data_end - data;
	if ((void *)(eth + 1) > data_end) {
		c->short_frames++;
		return action;
	}
	c->ethertype_sum += eth->h_proto;
	return action;
}

SEC("xdp.frags")
int floor_drop(struct xdp_md *ctx)
{
	return floor_count(ctx, FLOOR_SLOT_DROP, XDP_DROP);
}

SEC("xdp.frags")
int floor_pass(struct xdp_md *ctx)
{
	return floor_count(ctx, FLOOR_SLOT_PASS, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
