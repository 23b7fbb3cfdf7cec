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

struct nodes_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct vw_node));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VW_GENS);
	__type(key, __u32);
	__array(values, struct nodes_inner);
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

/* The class mask a VW_ENT_MASK entry names; index 0 is the empty mask and costs no read. */
static __always_inline __u32 mask_of(__u32 gen, __u32 e)
{
	__u32 idx = e & VW_TBL24_MASK_IDX, *m;

	if (VW_ENT_KIND(e) != VW_ENT_MASK || !idx)
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

/* Walk a trie from entry e, which covers the address bytes before pos: one node per byte (at
 * most 12, from /32 to /128), then at most one leaf. Returns the VW_ENT_MASK entry reached. */
static __always_inline __u32 trie_walk(__u32 gen, __u32 e, const __u32 *src, __u32 pos)
{
	const __u8 *addr = (const __u8 *)src;
	struct vw_node *node;
	struct vw_leaf *leaf;
	void *inner;
	__u32 i, idx;

	if (VW_ENT_KIND(e) == VW_ENT_NODE) {
		inner = lookup(&vw_nodes, &gen);
		if (!inner)
			return 0;
		for (i = 0; i < 12; i++) {
			if (VW_ENT_KIND(e) != VW_ENT_NODE || pos > 15)
				break;
			idx = VW_ENT_IDX(e);
			node = lookup(inner, &idx);
			if (!node)
				return 0;
			e = node->e[addr[pos & 15]];
			pos++;
		}
	}
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
	return e;
}

/* A /32 with few lengths: probe vw_v6 at each, longest first (at most VW_V6_MAX_PROBES); the
 * first hit holds the union of the covering rules. */
static __always_inline __u32 v6_probe_lens(__u32 gen, const struct vw_v6_f32 *f, const __u32 *src)
{
	struct vw_v6_key key;
	__u32 *words = (__u32 *)key.addr;
	__u32 i, *m;
	void *inner;

	inner = lookup(&vw_v6, &gen);
	if (!inner)
		return f->mask;
	for (i = 0; i < VW_V6_MAX_PROBES; i++) {
		key.plen = f->lens[i];
		if (!key.plen)
			break;
		words[0] = src[0] & prefix_word_mask(key.plen, 0);
		words[1] = src[1] & prefix_word_mask(key.plen, 1);
		words[2] = src[2] & prefix_word_mask(key.plen, 2);
		words[3] = src[3] & prefix_word_mask(key.plen, 3);
		m = lookup(inner, &key);
		if (m)
			return *m;
	}
	return f->mask;
}

/* IPv4: the /16 and /24 bitmaps answer most sources from cache; then one tbl24 entry: a mask
 * (and at most one vw_v4_long probe, when the /24 holds longer rules of one length), or a node
 * holding the /24's 256 addresses. */
static __always_inline __u32 allow_mask_v4(__u32 gen, __be32 saddr)
{
	__u32 a = bpf_ntohl(saddr), i, e, len, *m;
	struct vw_v4_key key;
	struct vw_node *node;
	__u64 *w;
	void *inner;

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
		inner = lookup(&vw_nodes, &gen);
		if (!inner)
			return 0;
		i = VW_ENT_IDX(e);
		node = lookup(inner, &i);
		if (!node)
			return 0;
		return mask_of(gen, node->e[a & 0xff]);
	}
	len = VW_TBL24_LEN(e);
	if (len && len <= 8) {
		/* The first hit holds the union (userspace folded the covering rules in). */
		inner = lookup(&vw_v4_long, &gen);
		if (inner) {
			key.plen = 24 + len;
			key.addr = saddr & bpf_htonl(~0U << (8 - len));
			m = lookup(inner, &key);
			if (m)
				return *m;
		}
	}
	return mask_of(gen, e);
}

/* IPv6: a bitmap of hashed /32s rules most sources out; a /32 with rules of its own probes a few
 * lengths or walks its trie; any other source walks the trie of the rules shorter than /32 from
 * its /16. */
static __always_inline __u32 allow_mask_v6(__u32 gen, const __u32 *src)
{
	struct vw_v6_f32 *f = NULL;
	__u32 h, idx, *root;
	__u64 *bloom;
	void *filter;

	h = VW_V6_BLOOM_HASH(src[0]);
	idx = gen * VW_V6_BLOOM_WORDS + (h >> 6);
	bloom = lookup(&vw_v6_bloom, &idx);
	if (bloom && (*bloom >> (h & 63)) & 1) {
		filter = lookup(&vw_v6_f32, &gen);
		if (filter)
			f = lookup(filter, &src[0]);
	}
	if (f) {
		if (f->root)
			return mask_of(gen, trie_walk(gen, f->root, src, 4));
		return v6_probe_lens(gen, f, src);
	}
	idx = gen * VW_V6_ROOT16 + (bpf_ntohl(src[0]) >> 16);
	root = lookup(&vw_v6_root16, &idx);
	if (!root)
		return 0;
	return mask_of(gen, trie_walk(gen, *root, src, 2));
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
