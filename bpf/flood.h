/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flood control for the XDP program: block sets, per-(class, source) rate limits and bans.
 * docs/flood.md specifies it; docs/datapath.md section 4 says where it runs.
 *
 * It runs only for packets the allowlist would pass (a source allowlisted for the class, or any
 * source of a class with policy open): the drop path of a protected class never reaches it, so a
 * flood of strangers costs no more than before. When no set holds entries and the class has no
 * rate, the whole check is one read of vw_flood (an array the verifier inlines: the cost of a
 * global variable) and two bit tests.
 */
#ifndef VW_FLOOD_H
#define VW_FLOOD_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "voipwall.h"

/* One load of tat per attempt: the compare-and-swap below must compare with what was read. */
#define READ_ONCE_TAT(b) (*(volatile __u64 *)&(b)->tat)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vw_flood_state);
} vw_flood SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VW_BUCKETS);
	__type(key, struct vw_flood_key);
	__type(value, struct vw_bucket);
} vw_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VW_BANS);
	__type(key, struct vw_flood_key);
	__type(value, struct vw_ban);
} vw_bans SEC(".maps");

struct exempt_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VW_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct vw_lpm_key));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VW_GENS);
	__type(key, __u32);
	__array(values, struct exempt_inner);
} vw_exempt SEC(".maps");

struct block_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VW_BLOCK_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct vw_lpm_key));
	__uint(value_size, sizeof(struct vw_block_val));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VW_BLOCK_SETS);
	__type(key, __u32);
	__array(values, struct block_inner);
} vw_block SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VW_BLOCK_SETS);
	__type(key, __u32);
	__type(value, struct vw_block_set);
} vw_block_sets SEC(".maps");

/* The clock of rate limits, bans and expiries is CLOCK_MONOTONIC (bpf_ktime_get_ns). Test
 * runners set vw_test_clock before loading, then drive vw_test_now_ns (.bss) to replay seconds of
 * traffic in milliseconds; in every other load the constant is 0 and the verifier removes the
 * branch. */
const volatile __u32 vw_test_clock = 0;
__u64 vw_test_now_ns = 0;

static __always_inline __u64 flood_now(void)
{
	if (vw_test_clock)
		return vw_test_now_ns;
	return bpf_ktime_get_ns();
}

/* Source address (16 bytes, IPv4-mapped for IPv4) as a trie key of its family. */
static __always_inline void lpm_key_of(struct vw_lpm_key *k, const __u8 *addr, int family)
{
	__u32 *d = (__u32 *)k->data;
	const __u32 *a = (const __u32 *)addr;

	d[0] = family;
	if (family == VW_FAMILY_V4) {
		k->prefixlen = VW_LPM_FAMILY_BITS + 32;
		d[1] = a[3];
		d[2] = 0;
		d[3] = 0;
		d[4] = 0;
	} else {
		k->prefixlen = VW_LPM_FAMILY_BITS + 128;
		d[1] = a[0];
		d[2] = a[1];
		d[3] = a[2];
		d[4] = a[3];
	}
}

struct block_walk {
	struct vw_lpm_key key;
	__u64 now;
	__u32 sets;
	__u32 cbit;
	__u32 allowlisted;
	__u32 hit;
};

/* One set: its longest matching entry decides when it applies to this packet; when it does not
 * (expired, other classes, no override for an allowlisted source), the next shorter entry
 * covering the source is looked at, up to VW_BLOCK_TRIES entries. */
static long block_try_set(__u64 i, void *arg)
{
	struct block_walk *w = arg;
	struct vw_lpm_key k;
	struct vw_block_val *v;
	__u32 set = (__u32)i;
	void *trie;
	int t;

	if (set >= VW_BLOCK_SETS)
		return 1;
	if (!(w->sets & (1U << set)))
		return 0;
	trie = bpf_map_lookup_elem(&vw_block, &set);
	if (!trie)
		return 0;
	k = w->key;
#pragma unroll
	for (t = 0; t < VW_BLOCK_TRIES; t++) {
		v = bpf_map_lookup_elem(trie, &k);
		if (!v)
			return 0;
		if ((!v->expires_ns || v->expires_ns > w->now) && (v->mask & w->cbit) &&
		    (!w->allowlisted || (v->flags & VW_BLOCK_OVERRIDE))) {
			w->hit = 1;
			return 1;
		}
		if (!v->plen)
			return 0;
		k.prefixlen = VW_LPM_FAMILY_BITS + v->plen - 1;
	}
	return 0;
}

static __always_inline int exempt_for(__u32 gen, __u32 cbit, const struct vw_lpm_key *key)
{
	void *trie = bpf_map_lookup_elem(&vw_exempt, &gen);
	__u32 *m;

	if (!trie)
		return 0;
	m = bpf_map_lookup_elem(trie, key);
	return m && (*m & cbit);
}

/* GCRA with a compare-and-swap, so CPUs sharing a bucket never lose or double-count a token: a
 * CPU that loses the race reads the new tat and decides again. Returns 1 when the packet fits. */
static __always_inline int bucket_take(struct vw_bucket *b, const struct vw_class_flood *cf,
				       __u64 now)
{
	__u64 tat, base;
	int i;

#pragma unroll
	for (i = 0; i < 8; i++) {
		tat = READ_ONCE_TAT(b);
		base = tat > now ? tat : now;
		if (base - now > cf->burst_ns)
			return 0;
		if (__sync_val_compare_and_swap(&b->tat, tat, base + cf->interval_ns) == tat)
			return 1;
	}
	return 0; /* eight CPUs in a row took this source's tokens first: it is over the rate */
}

/*
 * Flood verdict for a packet the allowlist passes: allowlisted says it passed by an allow rule
 * (else by policy open). May turn the verdict and reason into drop (monitor under policy monitor) with
 * reason blocklisted, banned or rate_limited.
 */
static __always_inline void flood_decide(__u32 gen, __u32 cls, const __u8 *addr, int family,
					 int allowlisted, int monitor, __u32 *verdict,
					 __u32 *reason)
{
	struct vw_flood_state *fs = bpf_map_lookup_elem(&vw_flood, &(__u32){ 0 });
	struct block_walk w = {};
	const struct vw_class_flood *cf;
	struct vw_flood_key fk;
	struct vw_bucket *b;
	__u32 cbit = 1U << (cls & (VW_MAX_CLASSES - 1)), *d, g = gen & 1;
	__u64 now;
	int limited;

	if (!fs || !(fs->block_sets | (fs->rate_mask[g] & cbit)))
		return;
	now = flood_now();
	lpm_key_of(&w.key, addr, family);

	if (fs->block_sets) {
		w.now = now;
		w.sets = fs->block_sets;
		w.cbit = cbit;
		w.allowlisted = allowlisted;
		bpf_loop(VW_BLOCK_SETS, block_try_set, &w, 0);
		if (w.hit) {
			*reason = VW_REASON_BLOCKLISTED;
			goto limit;
		}
	}
	if (!(fs->rate_mask[g] & cbit))
		return;
	cf = &fs->cls[g][cls & (VW_MAX_CLASSES - 1)];

	/* IPv6: one bucket per /N (a host picks any address of its /64 at will). */
	fk.cls = cls;
	__builtin_memcpy(fk.addr, addr, 16);
	if (family == VW_FAMILY_V6) {
		d = (__u32 *)fk.addr;
		d[0] &= prefix_word_mask(cf->v6_plen, 0);
		d[1] &= prefix_word_mask(cf->v6_plen, 1);
		d[2] &= prefix_word_mask(cf->v6_plen, 2);
		d[3] &= prefix_word_mask(cf->v6_plen, 3);
	}
	b = bpf_map_lookup_elem(&vw_buckets, &fk);
	if (!b) {
		struct vw_bucket nb = { .tat = now };

		/* A source seen again after its bucket was evicted keeps its ban. */
		if (cf->ban_ns) {
			struct vw_ban *ban = bpf_map_lookup_elem(&vw_bans, &fk);

			if (ban)
				nb.banned_until = ban->until_ns;
		}
		bpf_map_update_elem(&vw_buckets, &fk, &nb, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&vw_buckets, &fk);
		if (!b)
			return; /* no bucket to be had: the packet keeps its verdict */
	}
	if (b->banned_until > now) {
		if ((fs->exempt_mask[g] & cbit) && exempt_for(g, cbit, &w.key))
			return;
		*reason = VW_REASON_BANNED;
		goto limit;
	}
	limited = !bucket_take(b, cf, now);
	if (!limited)
		return;
	if ((fs->exempt_mask[g] & cbit) && exempt_for(g, cbit, &w.key))
		return;
	*reason = VW_REASON_RATE_LIMITED;
	if (cf->ban_ns) {
		struct vw_ban ban = { .until_ns = now + cf->ban_ns, .since_ns = now };

		b->banned_until = ban.until_ns;
		bpf_map_update_elem(&vw_bans, &fk, &ban, BPF_ANY);
	}
limit:
	*verdict = monitor ? VW_VERDICT_MONITOR : VW_VERDICT_DROP;
}

#endif /* VW_FLOOD_H */
