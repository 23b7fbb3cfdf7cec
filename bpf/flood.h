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

/* Each set's table is created by userspace with the size it needs (the kernel does not hold a
 * hash table in a map-in-map slot to the template's size), preallocated (user/flood.c). */
struct block_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VW_BLOCK_MIN_CAPACITY);
	__uint(map_flags, 0);
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

/* Never read by the program: the layout and class names of the block sets, for the voipwall that
 * reuses them after a restart (include/voipwall.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vw_block_meta);
} vw_block_meta SEC(".maps");

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

/* The clock read once, and only when needed: *now is FLOOD_UNREAD until then. A clock read costs
 * more than the rest of the check on virtual machines that trap the time-stamp counter. */
#define FLOOD_UNREAD (~0ULL)
static __always_inline __u64 flood_now_lazy(__u64 *now)
{
	if (*now == FLOOD_UNREAD)
		*now = flood_now();
	return *now;
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

/*
 * Branch-free helpers of the block lookup's step: the verifier follows every branch of a step
 * separately, so a step without branches is checked as one path, not as hundreds.
 */

/* 1 when x != 0, else 0. */
static __always_inline __u64 nonzero(__u64 x)
{
	return (((x | (x >> 32)) & 0xffffffffULL) + 0xffffffffULL) >> 32;
}

/* Index of the highest bit set in x (x != 0). */
static __always_inline __u64 high_bit(__u64 x)
{
	__u64 r, s;

	s = nonzero(x >> 32) << 5;
	x >>= s;
	r = s;
	s = (((x >> 16) + 0xffff) >> 16) << 4;
	x >>= s;
	r |= s;
	s = (((x >> 8) + 0xff) >> 8) << 3;
	x >>= s;
	r |= s;
	s = (((x >> 4) + 0xf) >> 4) << 2;
	x >>= s;
	r |= s;
	s = (((x >> 2) + 0x3) >> 2) << 1;
	x >>= s;
	r |= s;
	return r | (x >> 1);
}

/* The network-order mask of word w (0..3) of an address under a prefix of plen bits: the
 * allowlist's prefix_word_mask without its branches, for flood control's keys. */
static __always_inline __u32 plen_word_mask(__u64 plen, __s64 w)
{
	__s64 bits = (__s64)plen - 32 * w, c;

	bits &= ~(bits >> 63); /* below the word: 0 bits */
	c = 32 - bits;
	c &= ~(c >> 63);       /* past the word: 32 bits */
	return bpf_htonl((__u32)((0xffffffffULL << c) & 0xffffffffULL));
}

/* The block lookup of one packet, set after set: the source, the sets not started yet, the
 * lengths of the source's family the current set holds and has not tried (bit L of
 * lens[L / 64]), and what was found. */
struct block_walk {
	struct vw_lpm_key src;
	__u64 lens[3];
	__u64 now; /* FLOOD_UNREAD until read */
	__u32 sets;
	__u32 set;
	__u32 cbit;
	__u32 allowlisted;
	__u32 found;
	__u32 hit;
};

/* Start the next set marked in w->sets: its lengths of the source's family into w->lens.
 * Returns 0 when no set is left. */
static __always_inline int block_next_set(struct block_walk *w)
{
	struct vw_block_set *bs;

	if (!w->sets)
		return 0;
	w->set = (__u32)high_bit(w->sets) & (VW_BLOCK_SETS - 1);
	w->sets &= ~(1U << w->set);
	w->found = 0;
	w->lens[0] = 0;
	w->lens[1] = 0;
	w->lens[2] = 0;
	bs = bpf_map_lookup_elem(&vw_block_sets, &w->set);
	if (!bs)
		return 1;
	if (((__u32 *)w->src.data)[0] == VW_FAMILY_V4) {
		w->lens[0] = bs->lens4 & ((1ULL << 33) - 1);
	} else {
		w->lens[0] = bs->lens6[0];
		w->lens[1] = bs->lens6[1];
		w->lens[2] = bs->lens6[2] & 1;
	}
	return 1;
}

/*
 * One step of the block lookup: the longest length of the current set not tried yet (after
 * starting the next set when the current one is done). The entry of that length covering the
 * source, if any, decides when it applies (in force, lists the class, and an allowlisted source
 * only with the override flag). When it does not, the next shorter length is tried, up to
 * VW_BLOCK_TRIES entries found per set. Returns 1 to end the walk.
 */
static long block_step(__u64 i, void *arg)
{
	struct block_walk *w = arg;
	struct vw_lpm_key k;
	struct vw_block_val *v;
	__u64 n2, n1, m2, m1, m0, cur, hb, bit, plen;
	__u32 *d;
	void *table;

	if (!(w->lens[0] | w->lens[1] | w->lens[2]) && !block_next_set(w))
		return 1;
	/* the highest word holding a length, and its highest length */
	n2 = nonzero(w->lens[2]);
	n1 = nonzero(w->lens[1]);
	m2 = -n2;
	m1 = -(n1 & (n2 ^ 1));
	m0 = ~(m2 | m1);
	cur = (w->lens[2] & m2) | (w->lens[1] & m1) | (w->lens[0] & m0);
	if (!cur)
		return 0; /* a set with no length of this family: on to the next */
	hb = high_bit(cur);
	plen = ((2 & m2) | (1 & m1)) * 64 + hb;
	bit = 1ULL << hb;
	w->lens[2] &= ~(bit & m2);
	w->lens[1] &= ~(bit & m1);
	w->lens[0] &= ~(bit & m0);

	k = w->src;
	d = (__u32 *)k.data;
	k.prefixlen = VW_LPM_FAMILY_BITS + (__u32)plen;
	d[1] &= plen_word_mask(plen, 0);
	d[2] &= plen_word_mask(plen, 1);
	d[3] &= plen_word_mask(plen, 2);
	d[4] &= plen_word_mask(plen, 3);
	table = bpf_map_lookup_elem(&vw_block, &w->set);
	v = table ? bpf_map_lookup_elem(table, &k) : NULL;
	if (v) {
		if ((v->mask & w->cbit) && (!w->allowlisted || (v->flags & VW_BLOCK_OVERRIDE)) &&
		    (!v->expires_ns || v->expires_ns > flood_now_lazy(&w->now))) {
			w->hit = 1;
			return 1;
		}
		if (++w->found >= VW_BLOCK_TRIES) {
			w->lens[0] = 0; /* this set is done */
			w->lens[1] = 0;
			w->lens[2] = 0;
		}
	}
	/* nothing left to try: end here rather than in one more step */
	return !(w->lens[0] | w->lens[1] | w->lens[2]) && !w->sets;
}

/* Steps a lookup can take at most: every length of both families in every set, and a start
 * per set. */
#define BLOCK_MAX_STEPS (VW_BLOCK_SETS * (33 + 129 + 1))

/*
 * Whether any block set marked in sets applies to the source (key: its full-length key) for the
 * class bit cbit. The steps run one length at a time (bpf_loop), so the verifier checks one step,
 * and a packet takes as many as the sets hold lengths of its family. *now is the clock, read only
 * when an entry with an expiry decides.
 */
__noinline int block_hit(__u32 sets, const struct vw_lpm_key *key, __u64 *now, __u32 cbit,
			 int allowlisted)
{
	struct block_walk w = {
		.sets = sets,
		.cbit = cbit,
		.allowlisted = allowlisted,
	};

	if (!key || !now)
		return 0;
	w.src = *key;
	w.now = *now;

	bpf_loop(BLOCK_MAX_STEPS, block_step, &w, 0);
	*now = w.now;
	return w.hit;
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
	const struct vw_class_flood *cf;
	struct vw_lpm_key key;
	struct vw_flood_key fk;
	struct vw_bucket *b;
	__u32 cbit = 1U << (cls & (VW_MAX_CLASSES - 1)), *d, g = gen & 1;
	__u64 now = FLOOD_UNREAD;
	int limited;

	if (!fs || !(fs->block_sets | (fs->rate_mask[g] & cbit)))
		return;
	lpm_key_of(&key, addr, family);

	if (fs->block_sets && block_hit(fs->block_sets, &key, &now, cbit, allowlisted)) {
		*reason = VW_REASON_BLOCKLISTED;
		goto limit;
	}
	if (!(fs->rate_mask[g] & cbit))
		return;
	cf = &fs->cls[g][cls & (VW_MAX_CLASSES - 1)];
	flood_now_lazy(&now);

	/* IPv6: one bucket per /N (a host picks any address of its /64 at will). */
	fk.cls = (__u8)cls;
	fk.family = (__u8)family;
	fk.pad = 0;
	__builtin_memcpy(fk.addr, addr, 16);
	if (family == VW_FAMILY_V6) {
		d = (__u32 *)fk.addr;
		d[0] &= plen_word_mask(cf->v6_plen, 0);
		d[1] &= plen_word_mask(cf->v6_plen, 1);
		d[2] &= plen_word_mask(cf->v6_plen, 2);
		d[3] &= plen_word_mask(cf->v6_plen, 3);
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
		if ((fs->exempt_mask[g] & cbit) && exempt_for(g, cbit, &key))
			return;
		*reason = VW_REASON_BANNED;
		goto limit;
	}
	limited = !bucket_take(b, cf, now);
	if (!limited)
		return;
	if ((fs->exempt_mask[g] & cbit) && exempt_for(g, cbit, &key))
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
