// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * voipwall XDP program: traffic to a protected port class passes only from sources allowlisted
 * for that class. docs/datapath.md is the specification this file implements; read it first.
 *
 * Shape of the function: parse (L2, L3, L4), classify (port -> class), decide (source -> class
 * mask), and a single exit that counts every packet, remembers first fragments and records the
 * sources it drops.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "voipwall.h"
#include "parsing.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ---- Maps (layout documented in include/voipwall.h) ---------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} vw_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS);
	__type(key, __u32);
	__type(value, struct vw_gen_cfg);
} vw_gen_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_PORTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vw_port_cls);
} vw_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_V4_TBL24_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} vw_v4_tbl24 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_MAX_MASKS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
} vw_masks SEC(".maps");

struct v4_long_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct vw_v4_key));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VW_GENS);
	__type(key, __u32);
	__array(values, struct v4_long_inner);
} vw_v4_long SEC(".maps");

struct v6_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	/* Sizes, not types: clang emits only a forward declaration for a struct used this way. */
	__uint(key_size, sizeof(struct vw_v6_key));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VW_GENS);
	__type(key, __u32);
	__array(values, struct v6_inner);
} vw_v6 SEC(".maps");

struct v6_f32_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct vw_v6_f32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VW_GENS);
	__type(key, __u32);
	__array(values, struct v6_f32_inner);
} vw_v6_f32 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_V6_BLOOM_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} vw_v6_bloom SEC(".maps");

struct rules_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct vw_rule));
};

/* Userspace-only record of the applied rules; declared here so it is created and pinned with
 * the rest of the state. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VW_GENS);
	__type(key, __u32);
	__array(values, struct rules_inner);
} vw_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_MAX_IFINDEX);
	__type(key, __u32);
	__type(value, __u32);
} vw_ifslot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct vw_iface);
} vw_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VW_COUNTERS);
	__type(key, __u32);
	__type(value, struct vw_counter);
} vw_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VW_FRAG_LRU_SIZE);
	__type(key, struct vw_frag_key);
	__type(value, struct vw_frag_val);
} vw_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VW_SRC_LRU_SIZE);
	__type(key, struct vw_src_key);
	__type(value, struct vw_src_val);
} vw_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vw_src_rate);
} vw_src_rate SEC(".maps");

/* Drops per CPU and window recorded exactly; tests that model vw_sources exactly set it to ~0
 * before load. */
const volatile __u32 vw_src_exact = VW_SRC_EXACT;

/* ---- Helpers ---------------------------------------------------------------------------- */

enum frag_kind {
	FRAG_NONE = 0,
	FRAG_FIRST,
	FRAG_LATER,
};

/* IPv6 source lookup state for bpf_loop. The first hit among the lengths tried holds the union
 * of all covering rules (userspace folds shorter masks into longer prefixes). */
struct v6_walk {
	const struct vw_gen_cfg *cfg;
	void *inner;
	const __u32 *src; /* 4 words, network order */
	__u64 bits[2];    /* lengths still to try under the source's /32 (bit L-1) */
	__u32 mask;
	__u32 found;
};

static __always_inline __u32 prefix_word_mask(__u32 plen, __u32 word)
{
	__u32 bits;

	if (plen <= word * 32)
		return 0;
	bits = plen - word * 32;
	if (bits >= 32)
		return 0xffffffff;
	return bpf_htonl(~0U << (32 - bits));
}

static __always_inline int v6_probe(struct v6_walk *w, __u32 plen)
{
	struct vw_v6_key key;
	__u32 *words = (__u32 *)key.addr;
	__u32 *m;

	key.plen = plen;
	words[0] = w->src[0] & prefix_word_mask(plen, 0);
	words[1] = w->src[1] & prefix_word_mask(plen, 1);
	words[2] = w->src[2] & prefix_word_mask(plen, 2);
	words[3] = w->src[3] & prefix_word_mask(plen, 3);
	m = bpf_map_lookup_elem(w->inner, &key);
	if (!m)
		return 0;
	w->mask = *m;
	w->found = 1;
	return 1;
}

/* Index of the highest set bit of a non-zero word (no count-leading-zeros in BPF). */
static __always_inline __u32 msb64(__u64 x)
{
	__u32 r = 0;

	if (x >> 32) {
		x >>= 32;
		r += 32;
	}
	if (x >> 16) {
		x >>= 16;
		r += 16;
	}
	if (x >> 8) {
		x >>= 8;
		r += 8;
	}
	if (x >> 4) {
		x >>= 4;
		r += 4;
	}
	if (x >> 2) {
		x >>= 2;
		r += 2;
	}
	if (x >> 1)
		r += 1;
	return r;
}

/* Lengths >= 32 present under the source's /32, longest first. */
static long v6_try_long(__u64 i, void *arg)
{
	struct v6_walk *w = arg;
	__u32 b;

	if (w->bits[1]) {
		b = msb64(w->bits[1]);
		w->bits[1] &= ~(1ULL << b);
		b += 64;
	} else if (w->bits[0]) {
		b = msb64(w->bits[0]);
		w->bits[0] &= ~(1ULL << b);
	} else {
		return 1;
	}
	return v6_probe(w, b + 1);
}

/* Lengths < 32 in use, longest first: tried when the source's /32 holds no rule of its own. */
static long v6_try_short(__u64 i, void *arg)
{
	struct v6_walk *w = arg;

	if (i >= VW_V6_LENS)
		return 1;
	return v6_probe(w, w->cfg->v6_lens[i]);
}

static __always_inline __u32 allow_mask_v4(__u32 gen, __be32 saddr)
{
	__u32 a = bpf_ntohl(saddr);
	__u32 word_idx = VW_TBL24_WORD(gen, a);
	__u32 entry, idx, lens;
	struct vw_v4_key key;
	__u64 *word;
	__u32 *m;
	void *inner;
	int i;

	word = bpf_map_lookup_elem(&vw_v4_tbl24, &word_idx);
	if (!word)
		return 0;
	entry = (__u32)(*word >> VW_TBL24_SHIFT(a));
	lens = (entry >> VW_TBL24_LENS_SHIFT) & 0xff;
	if (lens) {
		/* The /24 holds /25../32 rules of these lengths: longest first, the first hit
		 * holds the union (userspace folded the covering rules in). */
		inner = bpf_map_lookup_elem(&vw_v4_long, &gen);
		if (inner) {
#pragma unroll
			for (i = 7; i >= 0; i--) {
				if (!(lens & (1U << i)))
					continue;
				key.plen = 25 + i;
				key.addr = saddr & bpf_htonl(~0U << (7 - i));
				m = bpf_map_lookup_elem(inner, &key);
				if (m)
					return *m;
			}
		}
	}
	idx = gen * VW_MAX_MASKS + (entry & VW_TBL24_MASK_IDX);
	m = bpf_map_lookup_elem(&vw_masks, &idx);
	return m ? *m : 0;
}

static __always_inline __u32 allow_mask_v6(__u32 gen, const __u32 *src)
{
	struct v6_walk w = { .src = src };
	struct vw_v6_f32 *f;
	__u32 n, h, bidx;
	__u64 *bloom;
	void *filter;

	w.inner = bpf_map_lookup_elem(&vw_v6, &gen);
	if (!w.inner)
		return 0;
	h = VW_V6_BLOOM_HASH(src[0]);
	bidx = gen * VW_V6_BLOOM_WORDS + (h >> 6);
	bloom = bpf_map_lookup_elem(&vw_v6_bloom, &bidx);
	f = NULL;
	if (bloom && (*bloom >> (h & 63)) & 1) {
		filter = bpf_map_lookup_elem(&vw_v6_f32, &gen);
		if (filter)
			f = bpf_map_lookup_elem(filter, &src[0]);
	}
	if (f) {
		w.bits[0] = f->lens[0];
		w.bits[1] = f->lens[1];
		bpf_loop(VW_V6_LENS, v6_try_long, &w, 0);
		return w.found ? w.mask : f->mask;
	}
	w.cfg = bpf_map_lookup_elem(&vw_gen_cfg, &gen);
	if (!w.cfg)
		return 0;
	n = w.cfg->v6_nlens;
	if (n > VW_V6_SPLIT)
		n = VW_V6_SPLIT;
	if (n)
		bpf_loop(n, v6_try_short, &w, 0);
	return w.mask;
}

static __always_inline void map_v4(__u8 *out, __be32 a)
{
	__u32 *w = (__u32 *)out;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0xffff);
	w[3] = a;
}

static __always_inline void copy_v6(__u8 *out, const struct in6_addr *a)
{
	__u32 *w = (__u32 *)out;

	w[0] = a->in6_u.u6_addr32[0];
	w[1] = a->in6_u.u6_addr32[1];
	w[2] = a->in6_u.u6_addr32[2];
	w[3] = a->in6_u.u6_addr32[3];
}

static __always_inline void record_source(const struct vw_src_key *src, __u64 len, __u32 cls,
					  __u32 reason)
{
	struct vw_src_val *v, nv = {};
	struct vw_src_rate *rate;
	__u64 now, weight = 1;

	/* Past the window's exact budget only every VW_SRC_SAMPLE-th drop goes further (and
	 * reads the clock, which is also when an expired window is noticed). */
	rate = bpf_map_lookup_elem(&vw_src_rate, &(__u32){ 0 });
	if (rate && ++rate->drops > vw_src_exact && rate->drops % VW_SRC_SAMPLE)
		return;
	now = bpf_ktime_get_coarse_ns();
	if (rate) {
		if (now - rate->window_start_ns >= VW_SRC_WINDOW_NS) {
			rate->window_start_ns = now;
			rate->drops = 1;
		} else if (rate->drops > vw_src_exact) {
			weight = VW_SRC_SAMPLE;
		}
	}

	v = bpf_map_lookup_elem(&vw_sources, src);
	if (v) {
		__sync_fetch_and_add(&v->packets, weight);
		__sync_fetch_and_add(&v->bytes, len * weight);
		v->last_seen_ns = now;
		v->last_class = cls;
		v->last_reason = reason;
		return;
	}
	nv.packets = weight;
	nv.bytes = len * weight;
	nv.last_seen_ns = now;
	nv.last_class = cls;
	nv.last_reason = reason;
	bpf_map_update_elem(&vw_sources, src, &nv, BPF_NOEXIST);
}

/* ---- The program ------------------------------------------------------------------------ */

SEC("xdp.frags")
int voipwall_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 pkt_len = bpf_xdp_get_buff_len(ctx);
	struct hdr_cursor c = { .pos = data };
	struct vw_frag_key fk;
	struct vw_src_key src;
	struct vw_frag_val *fv;
	struct vw_port_cls *pc;
	__u32 verdict = VW_VERDICT_PASS, reason = VW_REASON_UNPROTECTED, cls = VW_CLASS_NONE;
	__u32 gen = 0, l3_off, l4_off, l4_end, idx, slot, mask, port_idx, ifindex, *p32;
	void *l4p; /* kept as a packet pointer: the verifier bounds pointers, not offsets */
	enum frag_kind frag = FRAG_NONE;
	int have_src = 0, frag_hdrs = 0, family, l4;
	__u16 dport;
	__u8 proto, pcls;
	int eth_proto;

	/* --- L2 --- */
	eth_proto = parse_eth(&c, data_end);
	if (eth_proto < 0)
		goto malformed;
	l3_off = c.pos - data;

	/* --- L3 --- */
	if (eth_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = c.pos;
		__u32 hlen, tot;
		__u16 fo;

		if ((void *)(iph + 1) > data_end)
			goto malformed;
		if (iph->version != 4 || iph->ihl < 5)
			goto malformed;
		hlen = iph->ihl * 4;
		if (c.pos + hlen > data_end)
			goto malformed;
		tot = bpf_ntohs(iph->tot_len);
		/* Bytes past tot_len are link padding; fewer bytes than tot_len: truncated. */
		if (tot < hlen || tot > pkt_len - l3_off)
			goto malformed;
		family = VW_FAMILY_V4;
		proto = iph->protocol;
		map_v4(src.addr, iph->saddr);
		have_src = 1;
		l4p = c.pos + hlen;
		l4_end = l3_off + tot;

		/* RFC 791: offset in 8-byte units; MF says more fragments follow. */
		fo = bpf_ntohs(iph->frag_off);
		if (fo & 0x3fff) {
			/* The key is built only for fragments (its padding must be zero). */
			__builtin_memset(&fk, 0, sizeof(fk));
			fk.family = VW_FAMILY_V4;
			fk.proto = proto;
			fk.id = bpf_ntohs(iph->id);
			map_v4(fk.saddr, iph->saddr);
			map_v4(fk.daddr, iph->daddr);
			frag = (fo & 0x1fff) ? FRAG_LATER : FRAG_FIRST;
			if (frag == FRAG_LATER)
				goto later_fragment;
		}
	} else if (eth_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = c.pos;
		__u32 i, payload_end;
		__u8 *h;
		__u8 nh;

		if ((void *)(ip6h + 1) > data_end)
			goto malformed;
		if (ip6h->version != 6)
			goto malformed;
		payload_end = l3_off + sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
		if (payload_end > pkt_len)
			goto malformed;
		family = VW_FAMILY_V6;
		copy_v6(src.addr, &ip6h->saddr);
		have_src = 1;
		nh = ip6h->nexthdr;
		h = (void *)(ip6h + 1);

		/* RFC 8200 section 4: walk the chain. Every header must lie whole inside the payload
		 * and the first buffer; a chain too long to walk is dropped, never passed. */
		for (i = 0; i < VW_MAX_IPV6_EXT; i++) {
			__u32 off = (void *)h - data;
			__u32 hl;

			if (!ipv6_is_ext(nh))
				break;
			if ((void *)(h + 8) > data_end)
				goto malformed;
			if (nh == 44) {
				struct frag6_hdr *fh = (void *)h;
				__u16 fo = bpf_ntohs(fh->frag_off);

				hl = 8;
				if (off + hl > payload_end)
					goto malformed;
				if (frag_hdrs++) /* two fragment headers in one chain */
					goto malformed;
				__builtin_memset(&fk, 0, sizeof(fk));
				fk.family = VW_FAMILY_V6;
				fk.proto = fh->nexthdr;
				fk.id = bpf_ntohl(fh->identification);
				copy_v6(fk.saddr, &ip6h->saddr);
				copy_v6(fk.daddr, &ip6h->daddr);
				if (fo >> 3) {
					frag = FRAG_LATER;
					goto later_fragment;
				}
				/* Offset 0 with M clear is an atomic fragment (RFC 6946): the whole
				 * datagram, classified like any other; nothing to remember. */
				if (fo & 1)
					frag = FRAG_FIRST;
			} else if (nh == 51) {
				hl = ((__u32)h[1] + 2) * 4; /* RFC 4302: 32-bit words, minus 2 */
			} else {
				hl = ((__u32)h[1] + 1) * 8;
			}
			if (off + hl > payload_end || (void *)(h + hl) > data_end)
				goto malformed;
			nh = h[0];
			h += hl;
		}
		if (ipv6_is_ext(nh))
			goto malformed;
		proto = nh;
		l4p = h;
		l4_end = payload_end;
	} else {
		reason = VW_REASON_NON_IP;
		goto out;
	}

	/* --- L4 --- */
	l4_off = l4p - data;
	if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4p;
		__u32 ulen;

		if (l4_off + sizeof(*uh) > l4_end || (void *)(uh + 1) > data_end)
			goto malformed;
		ulen = bpf_ntohs(uh->len);
		if (ulen < sizeof(*uh) || (frag != FRAG_FIRST && ulen > l4_end - l4_off))
			goto malformed;
		dport = bpf_ntohs(uh->dest);
		l4 = VW_L4_UDP;
	} else if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4p;

		if (l4_off + sizeof(*th) > l4_end || (void *)(th + 1) > data_end)
			goto malformed;
		/* RFC 1858 / RFC 3128: the first fragment must carry the whole TCP header. */
		if (th->doff < 5 || l4_off + th->doff * 4 > l4_end)
			goto malformed;
		dport = bpf_ntohs(th->dest);
		l4 = VW_L4_TCP;
	} else if (proto == IPPROTO_SCTP) {
		__be16 *sh = l4p; /* common header: sport, dport, vtag, checksum */

		if (l4_off + 12 > l4_end || (void *)(sh + 6) > data_end)
			goto malformed;
		dport = bpf_ntohs(sh[1]);
		l4 = VW_L4_SCTP;
	} else {
		goto out; /* no ports: unprotected */
	}

	/* --- classify --- */
	p32 = bpf_map_lookup_elem(&vw_active, &(__u32){ 0 });
	if (p32)
		gen = *p32 & 1;
	port_idx = gen * VW_PORTS + dport;
	pc = bpf_map_lookup_elem(&vw_ports, &port_idx);
	if (!pc)
		goto out;
	pcls = pc->cls[l4 & 3];
	if (!(pcls & VW_PORT_CLS))
		goto out;
	cls = ((pcls & VW_PORT_CLS) - 1) & (VW_MAX_CLASSES - 1);

	/* --- decide --- */
	if (family == VW_FAMILY_V4) {
		mask = allow_mask_v4(gen, ((__u32 *)src.addr)[3]);
	} else {
		mask = allow_mask_v6(gen, (const __u32 *)src.addr);
	}
	if (mask & (1U << cls)) {
		reason = VW_REASON_ALLOWLISTED;
	} else {
		reason = VW_REASON_NOT_ALLOWLISTED;
		verdict = (pcls & VW_PORT_MONITOR) ? VW_VERDICT_MONITOR : VW_VERDICT_DROP;
	}
	goto out;

later_fragment:
	/* RFC 791 / RFC 8200: later fragments carry no ports; they follow the first's verdict. */
	fv = bpf_map_lookup_elem(&vw_frags, &fk);
	if (fv) {
		verdict = fv->verdict;
		cls = fv->cls;
		reason = VW_REASON_FRAGMENT;
	} else {
		reason = VW_REASON_FRAGMENT_UNKNOWN;
	}
	goto out;

malformed:
	verdict = VW_VERDICT_DROP;
	reason = VW_REASON_MALFORMED;
	cls = VW_CLASS_NONE;

out:
	if (frag == FRAG_FIRST) {
		struct vw_frag_val nv = { .verdict = verdict, .cls = cls, .reason = reason };

		bpf_map_update_elem(&vw_frags, &fk, &nv, BPF_ANY);
	}
	if (verdict != VW_VERDICT_PASS && have_src)
		record_source(&src, pkt_len, cls, reason);

	slot = VW_IFACE_SLOT_OTHER;
	ifindex = ctx->ingress_ifindex;
	if (ifindex < VW_MAX_IFINDEX) {
		p32 = bpf_map_lookup_elem(&vw_ifslot, &ifindex);
		if (p32 && *p32 && *p32 <= VW_MAX_IFACES)
			slot = *p32 - 1;
	}
	if (cls > VW_CLASS_NONE)
		cls = VW_CLASS_NONE;
	if (verdict >= VW_VERDICT_MAX)
		verdict = VW_VERDICT_DROP;
	idx = VW_COUNTER_INDEX(slot, cls, verdict, reason);
	{
		struct vw_counter *ctr = bpf_map_lookup_elem(&vw_counters, &idx);

		if (ctr) {
			ctr->packets++;
			ctr->bytes += pkt_len;
		}
	}
	return verdict == VW_VERDICT_DROP ? XDP_DROP : XDP_PASS;
}
