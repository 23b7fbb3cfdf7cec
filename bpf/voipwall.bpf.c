// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * voipwall XDP program: traffic to a protected port class passes only from sources allowlisted
 * for that class. docs/datapath.md is the specification this file implements; read it first.
 *
 * Shape of voipwall_xdp: parse (L2, L3, L4; the parsers are in parsing.h), classify (port ->
 * class), decide (source -> class mask), then one exit for every path: remember a first
 * fragment's verdict, record a dropped source, count.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "voipwall.h"
#include "parsing.h"
#include "capture.h"

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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_CUCKOO_BUCKETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vw_cuckoo_bucket);
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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_CUCKOO_BUCKETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vw_cuckoo_bucket);
} vw_v6_f32 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_V6_BLOOM_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} vw_v6_bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_V6_ROOT16);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
} vw_v6_root16 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_V4_B16_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} vw_v4_b16 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_V4_B24_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} vw_v4_b24 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_GENS * VW_MAX_NODES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vw_node);
} vw_nodes SEC(".maps");

struct leaves_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct vw_leaf));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VW_GENS);
	__type(key, __u32);
	__array(values, struct leaves_inner);
} vw_leaves SEC(".maps");

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
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct vw_src_key);
	__type(value, struct vw_src_val);
} vw_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vw_src_rate);
} vw_src_rate SEC(".maps");

/* Per CPU: where the current frame's link layer ended (see judge). */
struct vw_link_end {
	__u32 l3_off;
	__u32 avail;
	struct frame_len f;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vw_link_end);
} vw_link_end SEC(".maps");

/* Drops per CPU and window recorded exactly; tests that model vw_sources exactly set it to ~0
 * before load. */
const volatile __u32 vw_src_exact = VW_SRC_EXACT;

/* ---- Helpers ---------------------------------------------------------------------------- */

#ifdef VW_COUNT_LOOKUPS
/* Test build (voipwall_count.bpf.c): the allowlist decision's map lookups, counted so a test can
 * bound them for any config and source. */
__u32 vw_lookups;
#define lookup(map, key) (vw_lookups++, bpf_map_lookup_elem(map, key))
#else
#define lookup(map, key) bpf_map_lookup_elem(map, key)
#endif

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

/* The class mask a VW_ENT_MASK (or a missed VW_ENT_PROBE) entry names; index 0 is the empty mask
 * and costs no read. */
static __always_inline __u32 mask_of(__u32 gen, __u32 e)
{
	__u32 idx = e & VW_TBL24_MASK_IDX, *m;

	if ((VW_ENT_KIND(e) != VW_ENT_MASK && VW_ENT_KIND(e) != VW_ENT_PROBE) || !idx)
		return 0;
	idx += gen * VW_MAX_MASKS;
	m = lookup(&vw_masks, &idx);
	return m ? *m : 0;
}

static __always_inline int leaf_covers(const struct vw_leaf *l, const __u32 *src)
{
	const __u32 *la = (const __u32 *)l->addr;

	return !((src[0] ^ la[0]) & prefix_word_mask(l->plen, 0)) &&
	       !((src[1] ^ la[1]) & prefix_word_mask(l->plen, 1)) &&
	       !((src[2] ^ la[2]) & prefix_word_mask(l->plen, 2)) &&
	       !((src[3] ^ la[3]) & prefix_word_mask(l->plen, 3));
}

/* The union of the IPv6 rules covering src, from a VW_ENT_PROBE entry: one vw_v6 probe at its
 * length, else its mask. */
static __always_inline __u32 v6_probe(__u32 gen, __u32 e, const __u32 *src)
{
	struct vw_v6_key key;
	__u32 *words = (__u32 *)key.addr, *m;
	void *inner;

	inner = lookup(&vw_v6, &gen);
	if (inner) {
		key.plen = VW_ENT_PLEN(e);
		words[0] = src[0] & prefix_word_mask(key.plen, 0);
		words[1] = src[1] & prefix_word_mask(key.plen, 1);
		words[2] = src[2] & prefix_word_mask(key.plen, 2);
		words[3] = src[3] & prefix_word_mask(key.plen, 3);
		m = lookup(inner, &key);
		if (m)
			return *m;
	}
	return mask_of(gen, e);
}

/* Walk a trie from entry e, which covers the address bytes before pos: one node per byte (at
 * most 12, from /32 to /128), then a leaf or a probe; returns the union of the covering rules. */
static __always_inline __u32 trie_walk(__u32 gen, __u32 e, const __u32 *src, __u32 pos)
{
	const __u8 *addr = (const __u8 *)src;
	struct vw_node *node;
	struct vw_leaf *leaf;
	void *inner;
	__u32 i, idx;

	/* Unrolled: pos is a constant in each copy (the callers pass one), so each level reads its
	 * address byte at a fixed offset. */
#pragma unroll
	for (i = 0; i < 12; i++) {
		if (VW_ENT_KIND(e) != VW_ENT_NODE || pos > 15)
			break;
		idx = gen * VW_MAX_NODES + VW_ENT_IDX(e);
		node = lookup(&vw_nodes, &idx);
		if (!node)
			return 0;
		e = node->e[addr[pos]];
		pos++;
	}
	if (VW_ENT_KIND(e) == VW_ENT_PROBE)
		return v6_probe(gen, e, src);
	if (VW_ENT_KIND(e) == VW_ENT_LEAF) {
		inner = lookup(&vw_leaves, &gen);
		if (!inner)
			return 0;
		idx = VW_ENT_IDX(e);
		leaf = lookup(inner, &idx);
		if (!leaf)
			return 0;
		e = leaf_covers(leaf, src) ? leaf->in : leaf->out;
	}
	return mask_of(gen, e);
}

/* The value of key in a cuckoo table (vw_v4_long, vw_v6_f32), from its two buckets of the
 * generation's half: plain array reads, inlined by the verifier, so a lookup costs no call. */
static __always_inline int cuckoo_find(void *table, __u32 gen, __u32 key, __u32 *val)
{
	struct vw_cuckoo_bucket *bk;
	__u32 idx, k, s;

#pragma unroll
	for (k = 0; k < 2; k++) {
		idx = gen * VW_CUCKOO_BUCKETS + (k ? VW_CUCKOO_H2(key) : VW_CUCKOO_H1(key));
		bk = lookup(table, &idx);
		if (!bk)
			return 0;
		/* the key first: in nearly every slot it differs, and that ends the slot's test */
#pragma unroll
		for (s = 0; s < VW_CUCKOO_SLOTS; s++)
			if (bk->key[s] == key && ((bk->used >> s) & 1)) {
				*val = bk->val[s];
				return 1;
			}
	}
	return 0;
}

/* IPv4: the /16 and /24 bitmaps answer most sources from cache; then one tbl24 entry: a mask, a
 * probe (the /24 holds longer rules of one length) or a node holding the /24's 256 addresses. */
static __always_inline __u32 allow_mask_v4(__u32 gen, __be32 saddr)
{
	__u32 a = bpf_ntohl(saddr), i, e, len, m;
	struct vw_node *node;
	__u64 *w;

	i = gen * VW_V4_B16_WORDS + (a >> 22);
	w = lookup(&vw_v4_b16, &i);
	if (!w || !((*w >> ((a >> 16) & 63)) & 1))
		return 0;
	i = gen * VW_V4_B24_WORDS + (a >> 14);
	w = lookup(&vw_v4_b24, &i);
	if (!w || !((*w >> ((a >> 8) & 63)) & 1))
		return 0;
	i = VW_TBL24_WORD(gen, a);
	w = lookup(&vw_v4_tbl24, &i);
	if (!w)
		return 0;
	e = (__u32)(*w >> VW_TBL24_SHIFT(a));
	if (VW_ENT_KIND(e) == VW_ENT_NODE) {
		i = gen * VW_MAX_NODES + VW_ENT_IDX(e);
		node = lookup(&vw_nodes, &i);
		if (!node)
			return 0;
		return mask_of(gen, node->e[a & 0xff]);
	}
	if (VW_ENT_KIND(e) == VW_ENT_PROBE) {
		/* The /24's longer rules have one length: a hit holds the union (userspace folded
		 * the covering rules in). */
		len = VW_ENT_PLEN(e);
		if (len > 24 && len <= 32 &&
		    cuckoo_find(&vw_v4_long, gen, saddr & bpf_htonl(~0U << (32 - len)), &m))
			return m;
	}
	return mask_of(gen, e);
}

/* IPv6: a bitmap of hashed /32s rules most sources out; a /32 with rules of its own walks from
 * its entry; any other source walks the trie of the rules shorter than /32 from its /16. */
static __always_inline __u32 allow_mask_v6(__u32 gen, const __u32 *src)
{
	__u32 h, idx, *root, f32;
	__u64 *bloom;

	h = VW_V6_BLOOM_HASH(src[0]);
	idx = gen * VW_V6_BLOOM_WORDS + (h >> 6);
	bloom = lookup(&vw_v6_bloom, &idx);
	if (bloom && (*bloom >> (h & 63)) & 1 && cuckoo_find(&vw_v6_f32, gen, src[0], &f32))
		return trie_walk(gen, f32, src, 4);
	idx = gen * VW_V6_ROOT16 + (bpf_ntohl(src[0]) >> 16);
	root = lookup(&vw_v6_root16, &idx);
	if (!root)
		return 0;
	return trie_walk(gen, *root, src, 2);
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

/* Block sets, rate limits and bans: after the helpers above, which it uses. */
#include "flood.h"

/* ---- The program ------------------------------------------------------------------------ */

/* What the frame gets: a verdict, why, and the class it was judged for. */
struct judgement {
	__u32 verdict;
	__u32 reason;
	__u32 cls;
};

/* The link layer, for a frame that starts as link says: returns the EtherType of what follows
 * (network order; negative: malformed), with l3_off where it starts and avail the bytes a PPPoE
 * length leaves the packet (~0U without PPPoE: the frame alone bounds it). */
static __always_inline int parse_link(struct xdp_md *ctx, struct frame_len *f, int link,
				      __u32 *l3_off, __u32 *avail)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor c = { .pos = data };
	__u32 off;
	int proto;

	*avail = ~0U;
	if (link == LINK_IP)
		proto = parse_raw_ip(&c, data_end);
	else
		proto = parse_eth(&c, data_end);
	if (proto < 0)
		return proto;
	/* An offset, not pointer arithmetic: the verifier refuses 32-bit maths on pointers. */
	off = c.pos - data;
	barrier_var(off);
	if (link == LINK_ETHER && proto == ETH_P_PPP_SES_BE) {
		proto = parse_pppoe(ctx, &c, data_end, f, off, avail);
		if (proto < 0)
			return proto;
		off = c.pos - data;
		barrier_var(off);
	}
	*l3_off = off;
	return proto;
}

/* L3 and L4 from l3_off. Returns PARSE_OK (ports read), PARSE_NO_PORTS, PARSE_LATER_FRAGMENT,
 * PARSE_NON_IP or PARSE_MALFORMED. */
static __always_inline int parse_l3(struct xdp_md *ctx, struct frame_len *f, int proto,
				    __u32 l3_off, __u32 avail, struct pkt_meta *m)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor c;
	int r;

	if (proto < 0 || l3_off > VW_MAX_LINK_BYTES)
		return PARSE_MALFORMED;
	c.pos = data + l3_off;
	m->l3_off = l3_off;
	if (proto == bpf_htons(ETH_P_IP))
		r = parse_ipv4(ctx, &c, data_end, f, avail, m);
	else if (proto == bpf_htons(ETH_P_IPV6))
		r = parse_ipv6(ctx, &c, data_end, f, avail, m);
	else
		return PARSE_NON_IP;
	if (r != PARSE_OK)
		return r;
	return parse_l4(ctx, data_end, m);
}

/* The destination port's class in the live generation; 0 when the port is in no class. pcls
 * gets the port entry (class + 1 and the policy bit, see vw_port_cls). */
static __always_inline int classify(const struct pkt_meta *m, __u32 *gen, __u8 *pcls,
				    struct judgement *j)
{
	struct vw_port_cls *pc;
	__u32 port_idx, *active;

	active = bpf_map_lookup_elem(&vw_active, &(__u32){ 0 });
	*gen = active ? *active & 1 : 0;
	port_idx = *gen * VW_PORTS + m->dport;
	pc = bpf_map_lookup_elem(&vw_ports, &port_idx);
	if (!pc)
		return 0;
	*pcls = pc->cls[m->l4_kind & 3];
	if (!(*pcls & VW_PORT_CLS))
		return 0;
	j->cls = ((*pcls & VW_PORT_CLS) - 1) & (VW_MAX_CLASSES - 1);
	return 1;
}

/* Is the source allowlisted for the class? The port entry carries the class's policy. */
static __always_inline void decide(const struct pkt_meta *m, __u32 gen, __u8 pcls,
				   struct judgement *j)
{
	__u32 mask;

	if (m->family == VW_FAMILY_V4)
		mask = allow_mask_v4(gen, ((__u32 *)m->src.addr)[3]);
	else
		mask = allow_mask_v6(gen, (const __u32 *)m->src.addr);
	if (mask & (1U << j->cls)) {
		j->reason = VW_REASON_ALLOWLISTED;
	} else if (pcls & VW_PORT_OPEN) {
		j->reason = VW_REASON_OPEN;
	} else {
		j->reason = VW_REASON_NOT_ALLOWLISTED;
		j->verdict = (pcls & VW_PORT_MONITOR) ? VW_VERDICT_MONITOR : VW_VERDICT_DROP;
		return;
	}
	/* Only what the allowlist lets through pays for block sets and rate limits. */
	flood_decide(gen, j->cls, m->src.addr, m->family, j->reason == VW_REASON_ALLOWLISTED,
		     pcls & VW_PORT_MONITOR, &j->verdict, &j->reason);
}

/* RFC 791 / RFC 8200: later fragments carry no ports; they follow the first's verdict while the
 * kernel would still reassemble them with it (VW_FRAG_TIMEOUT_*). The clock is flood.h's (the
 * test clock in unit runs). */
static __always_inline void follow_first_fragment(const struct pkt_meta *m, struct judgement *j)
{
	struct vw_frag_val *fv = bpf_map_lookup_elem(&vw_frags, &m->fk);

	if (fv && flood_now() < fv->expires_ns) {
		j->verdict = fv->verdict;
		j->cls = fv->cls;
		j->reason = VW_REASON_FRAGMENT;
	} else {
		j->reason = VW_REASON_FRAGMENT_UNKNOWN;
	}
}

/* A malformed first fragment never replaces a verdict still in force: anyone can spoof one with
 * the key of a genuine datagram, whose later fragments would then be dropped. */
static __always_inline void remember_first_fragment(const struct pkt_meta *m,
						    const struct judgement *j)
{
	struct vw_frag_val nv = { .verdict = j->verdict, .cls = j->cls, .reason = j->reason }, *old;
	__u64 now;

	if (m->frag != FRAG_FIRST)
		return;
	now = flood_now();
	if (j->reason == VW_REASON_MALFORMED) {
		old = bpf_map_lookup_elem(&vw_frags, &m->fk);
		if (old && now < old->expires_ns)
			return;
	}
	nv.expires_ns = now + (m->fk.family == VW_FAMILY_V4 ? VW_FRAG_TIMEOUT_V4_NS
							    : VW_FRAG_TIMEOUT_V6_NS);
	bpf_map_update_elem(&vw_frags, &m->fk, &nv, BPF_ANY);
}

/* One counter cell per (interface slot, class, verdict, reason); returns the XDP action. */
static __always_inline int count(struct xdp_md *ctx, __u64 pkt_len, struct judgement *j)
{
	__u32 slot = VW_IFACE_SLOT_OTHER, ifindex = ctx->ingress_ifindex, idx, *p32;
	struct vw_counter *ctr;

	if (ifindex < VW_MAX_IFINDEX) {
		p32 = bpf_map_lookup_elem(&vw_ifslot, &ifindex);
		if (p32 && *p32 && *p32 <= VW_MAX_IFACES)
			slot = *p32 - 1;
	}
	if (j->cls > VW_CLASS_NONE)
		j->cls = VW_CLASS_NONE;
	if (j->verdict >= VW_VERDICT_MAX)
		j->verdict = VW_VERDICT_DROP;
	idx = VW_COUNTER_INDEX(slot, j->cls, j->verdict, j->reason);
	ctr = bpf_map_lookup_elem(&vw_counters, &idx);
	if (ctr) {
		ctr->packets++;
		ctr->bytes += pkt_len;
	}
	capture_hook(ctx, slot, j->cls, j->verdict, j->reason);
	return j->verdict == VW_VERDICT_DROP ? XDP_DROP : XDP_PASS;
}

/* Everything after the link layer, for both entry points: parse L3 and L4, classify, decide,
 * remember, count. proto is the EtherType from parse_link (negative: malformed).
 *
 * The bytes counted: the frame's length, all buffers, for a frame passed or monitored, and for a
 * dropped one whose length checks read past its first buffer; a dropped frame within its first
 * buffer counts that buffer, which is the whole frame unless later buffers hold bytes past the IP
 * packet (no sender makes those; the drop path does not pay a helper call to count them). */
static __always_inline int judge_l3(struct xdp_md *ctx, struct frame_len *f, int proto,
				    __u32 l3_off, __u32 avail)
{
	struct judgement j = { VW_VERDICT_PASS, VW_REASON_UNPROTECTED, VW_CLASS_NONE };
	struct pkt_meta m = {};
	__u64 pkt_len;
	__u32 gen;
	__u8 pcls;

	m.frag = FRAG_NONE;
	switch (parse_l3(ctx, f, proto, l3_off, avail, &m)) {
	case PARSE_OK:
		if (classify(&m, &gen, &pcls, &j))
			decide(&m, gen, pcls, &j);
		break;
	case PARSE_LATER_FRAGMENT:
		follow_first_fragment(&m, &j);
		break;
	case PARSE_NON_IP:
		j.reason = VW_REASON_NON_IP;
		break;
	case PARSE_NO_PORTS:
		break;
	default:
		j = (struct judgement){ VW_VERDICT_DROP, VW_REASON_MALFORMED, VW_CLASS_NONE };
	}
	remember_first_fragment(&m, &j);
	pkt_len = j.verdict == VW_VERDICT_DROP ? f->len : frame_len_all(ctx, f);
	if (j.verdict != VW_VERDICT_PASS && m.have_src)
		record_source(&m.src, pkt_len, j.cls, j.reason);
	return count(ctx, pkt_len, &j);
}

/* The whole program; link is a constant, so each entry point below carries only its own parser.
 * Where the link layer ended goes through vw_link_end and is read back: the verifier then knows
 * only its bounds, and checks the rest of the program once for every link-layer path (plain,
 * VLAN tags, PPPoE) instead of once per path, which keeps `load` quick and the program far below
 * the verifier's instruction limit, at the cost of one per-CPU store and load. */
static __always_inline int judge(struct xdp_md *ctx, int link)
{
	struct frame_len f = { .len = ctx->data_end - ctx->data };
	__u32 l3_off = 0, avail = 0;
	struct vw_link_end *le;
	int proto;

	proto = parse_link(ctx, &f, link, &l3_off, &avail);
	le = bpf_map_lookup_elem(&vw_link_end, &(__u32){ 0 });
	if (!le)
		return XDP_DROP;
	le->l3_off = l3_off;
	le->avail = avail;
	le->f = f;
	l3_off = *(volatile __u32 *)&le->l3_off;
	avail = *(volatile __u32 *)&le->avail;
	f.len = *(volatile __u32 *)&le->f.len;
	f.all = *(volatile __u32 *)&le->f.all;
	return judge_l3(ctx, &f, proto, l3_off, avail);
}

/* Interfaces with an Ethernet header (Ethernet, VLAN tags, PPPoE). */
SEC("xdp.frags")
int voipwall_xdp(struct xdp_md *ctx)
{
	return judge(ctx, LINK_ETHER);
}

/* Interfaces without a link-layer header (tun, WireGuard, PPP, IP tunnels): frames start at the
 * IP header. */
SEC("xdp.frags")
int voipwall_xdp_ip(struct xdp_md *ctx)
{
	return judge(ctx, LINK_IP);
}
