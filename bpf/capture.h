/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Sampling frames for `voipwall capture`: while a capture runs, the exit hands each packet's
 * interface slot, class, verdict and reason to capture_sample(), which checks the capture's
 * filters, a per-CPU rate limit, and copies up to snaplen bytes of the frame into a ring buffer
 * the capture reads.
 *
 * When no capture runs the data path pays one load of vw_capture.until_ns (a global variable:
 * its address is part of the instruction, no helper call) and a branch: capture_hook() below.
 * A capture that dies without cleaning up stops costing anything when until_ns, which it keeps
 * pushing ahead, passes: the first matching packet after that clears it.
 */
#ifndef VW_CAPTURE_H
#define VW_CAPTURE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "voipwall.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, VW_CAPTURE_RING_BYTES);
} vw_cap_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vw_capture_cpu);
} vw_cap_cpu SEC(".maps");

/* A sample is assembled here, then copied into the ring in one bpf_ringbuf_output: the ring's own
 * reservations must have a constant size, and samples are as long as their frames. */
struct vw_capture_buf {
	struct vw_capture_hdr hdr;
	__u8 data[VW_CAPTURE_SNAP_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vw_capture_buf);
} vw_cap_buf SEC(".maps");

/* Its own section, so it is its own map (".data.capture") whatever other globals appear. */
struct vw_capture_ctl vw_capture SEC(".data.capture");

#ifndef VW_NO_CAPTURE
static __always_inline int capture_sample(struct xdp_md *ctx, __u32 slot, __u32 cls, __u32 verdict,
				     __u32 reason)
{
	volatile struct vw_capture_ctl *c = &vw_capture;
	struct vw_capture_cpu *st;
	struct vw_capture_buf *b;
	__u32 zero = 0, len;
	__u64 now, until;

	/* Filters first: packets a capture does not want cost a few loads. */
	if (!((c->verdict_mask >> (verdict & 31)) & 1) || !((c->reason_mask >> (reason & 31)) & 1) ||
	    !((c->class_mask >> (cls & 63)) & 1) ||
	    !((c->iface_mask[(slot >> 6) & 1] >> (slot & 63)) & 1))
		return 0;
	st = bpf_map_lookup_elem(&vw_cap_cpu, &zero);
	if (!st)
		return 0;
	if (st->used >= c->rate) {
		/* Over budget (a flood): count it, and only now and then look at the clock. */
		if (++st->ratelimited % VW_CAPTURE_CLOCK_EVERY)
			return 0;
		now = bpf_ktime_get_ns();
		until = c->until_ns;
		if (now >= until)
			goto expired;
		if (now - st->window_start_ns >= VW_CAPTURE_WINDOW_NS) {
			st->window_start_ns = now;
			st->used = 0;
		}
		return 0;
	}
	now = bpf_ktime_get_ns();
	until = c->until_ns;
	if (now >= until)
		goto expired;
	if (now - st->window_start_ns >= VW_CAPTURE_WINDOW_NS) {
		st->window_start_ns = now;
		st->used = 0;
	}
	st->used++;

	b = bpf_map_lookup_elem(&vw_cap_buf, &zero);
	if (!b)
		return 0;
	len = bpf_xdp_get_buff_len(ctx);
	b->hdr.pkt_len = len;
	if (len > c->snaplen)
		len = c->snaplen;
	if (len < 1 || len > VW_CAPTURE_SNAP_MAX)
		return 0;
	/* Multi-buffer frames too: bpf_xdp_load_bytes reads across the fragments. */
	if (bpf_xdp_load_bytes(ctx, 0, b->data, len)) {
		st->lost++;
		return 0;
	}
	b->hdr.ts_ns = now;
	b->hdr.session = c->session;
	b->hdr.ifindex = ctx->ingress_ifindex;
	b->hdr.cap_len = len;
	b->hdr.slot = slot;
	b->hdr.cls = cls;
	b->hdr.verdict = verdict;
	b->hdr.reason = reason;
	b->hdr.pad = 0;
	if (bpf_ringbuf_output(&vw_cap_ring, b, sizeof(b->hdr) + len, 0))
		st->lost++;
	else
		st->captured++;
	return 0;

expired:
	/* Nobody refreshed it: the capture is gone. Turn the flag off unless a new capture has
	 * armed it meanwhile. */
	if (until)
		__sync_val_compare_and_swap(&vw_capture.until_ns, until, 0);
	return 0;
}
#endif

/* Called at the single exit with the packet's final slot, class, verdict and reason. */
static __always_inline void capture_hook(struct xdp_md *ctx, __u32 slot, __u32 cls, __u32 verdict,
					 __u32 reason)
{
#ifndef VW_NO_CAPTURE
	if (vw_capture.until_ns)
		capture_sample(ctx, slot, cls, verdict, reason);
#endif
}

#endif /* VW_CAPTURE_H */
