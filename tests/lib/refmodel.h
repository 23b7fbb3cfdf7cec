/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reference classifier for differential fuzzing: docs/datapath.md restated as plain, linear C.
 *
 * Written from the specification only, never from bpf/voipwall.bpf.c: when the two disagree, one
 * of them is wrong and the fuzzer says so. Clarity over speed: headers are parsed byte by byte,
 * ports and prefixes are found by scanning the config, and the program's LRU maps (vw_frags,
 * vw_sources, vw_buckets, vw_bans) and block sets are modelled as plain tables fed by the same
 * frames in the same order, with the same clock.
 */
#ifndef VW_REFMODEL_H
#define VW_REFMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include "voipwall.h"
#include "config.h"

/* How frames start on the interface (docs/datapath.md section 1): an Ethernet header, or the IP
 * header on interfaces without a link layer (tun, WireGuard, PPP, IP tunnels). */
enum rm_link {
	RM_LINK_ETHER = 0,
	RM_LINK_IP = 1,
};

/* What a frame is, as far as fragmentation goes. */
enum rm_frag_kind {
	RM_FRAG_NONE = 0,  /* not a fragment (or not known to be one) */
	RM_FRAG_FIRST = 1, /* offset 0, more-fragments set: its verdict is remembered */
	RM_FRAG_LATER = 2, /* offset > 0: follows the remembered verdict, if in force */
};

/* One remembered first fragment (model of a vw_frags entry). */
struct rm_frag_entry {
	struct vw_frag_key key;
	struct vw_frag_val val;
	long origin; /* caller's number of the frame that stored it (see rm_classify) */
};

/* One source seen dropped or monitored (model of a vw_sources entry, without the timestamp). */
struct rm_src_entry {
	struct vw_src_key key;
	__u64 packets;
	__u64 bytes;
	__u32 last_class;
	__u32 last_reason;
};

/* The flood-sampling window of the one CPU that runs the frames (model of vw_src_rate). */
struct rm_rate {
	__u64 exact;	       /* the program's vw_src_exact: drops a window records exactly */
	__u64 window_start_ns; /* CLOCK_MONOTONIC_COARSE */
	__u64 drops;	       /* drops and monitors counted in this window */
};

/* Flood control (docs/flood.md): what a bucket and a ban belong to. The family is part of it: an
 * IPv6 source is never the same source as an IPv4 one, whatever its bits. */
struct rm_flood_key {
	__u8 cls;
	__u8 family;   /* VW_FAMILY_V4 or VW_FAMILY_V6 */
	__u8 addr[16]; /* IPv4 in addr[0..3]; IPv6 masked to the class's per /N */
};

/* One GCRA bucket (model of a vw_buckets entry): the theoretical arrival time. */
struct rm_bucket {
	struct rm_flood_key key;
	__u64 tat;
	__u64 edge_ns; /* the first time a packet fits again: tat - (burst - 1) x interval (for
			* tests that put the clock on the edge) */
};

/* One ban (model of a vw_bans entry). */
struct rm_ban {
	struct rm_flood_key key;
	__u64 until_ns, since_ns;
};

/* One entry of a named block set (the sets commands fill; the config's `block` statements are
 * read from the config itself). */
struct rm_block {
	unsigned int set; /* slot, 0..VW_BLOCK_SETS-1 */
	__u8 family;
	__u8 plen;
	__u8 flags;	  /* VW_BLOCK_OVERRIDE */
	__u32 mask;	  /* class ids, or VW_BLOCK_ALL_CLASSES */
	__u8 addr[16];	  /* host bits zero */
	__u64 expires_ns; /* the program's clock; 0: never */
};

/* The model's copy of the program's state that outlives a frame. */
struct rm_state {
	struct rm_frag_entry *frags;
	size_t nfrags, frags_cap;
	struct rm_src_entry *srcs;
	size_t nsrcs, srcs_cap;
	struct rm_bucket *buckets;
	size_t nbuckets, buckets_cap;
	struct rm_ban *bans;
	size_t nbans, bans_cap;
	struct rm_block *blocks;
	size_t nblocks, blocks_cap;
	struct rm_rate rate; /* kept by rm_state_reset(): the caller sets it */
	__u64 now_ns;	     /* the program's clock (vw_test_now_ns in test runs); kept by
			      * rm_state_reset(): the caller sets it */
};

/* The decision for one frame, and what it did to the state. */
struct rm_result {
	__u8 verdict;		     /* enum vw_verdict */
	__u8 reason;		     /* enum vw_reason */
	__u8 cls;		     /* class id, or VW_CLASS_NONE */
	int action;		     /* XDP_PASS or XDP_DROP */
	__u8 frag;		     /* enum rm_frag_kind */
	bool frag_hit;		     /* RM_FRAG_LATER: its first fragment was remembered */
	bool frag_kept;		     /* RM_FRAG_FIRST, malformed: an entry in force was kept */
	long frag_origin;	     /* frag_hit: origin of the entry consulted */
	struct vw_frag_key frag_key; /* frag != RM_FRAG_NONE: the key stored or looked up */
	bool src_known;		     /* the IP header was valid: src holds the source */
	bool src_clock;		     /* drop/monitor that reads the clock: rm_src_record() decides
				      * (the window may have ended) and records it */
	bool src_updated;	     /* vw_sources[src] was updated (by rm_src_record()) */
	__u64 src_weight;	     /* src_updated: packets it counted for (1 or VW_SRC_SAMPLE) */
	size_t len;		     /* the bytes counted for the frame (see rm_classify) */
	bool len_all;		     /* a length check counted every buffer of the frame */
	struct vw_src_key src;
	bool src_peek;		     /* src_bytes holds whatever sits where a source would be */
	struct vw_src_key src_bytes; /* (even in an invalid header): must not be touched unless
				      * src_updated */
	bool flood;		     /* the frame reached the rate stage: key is its bucket */
	struct rm_flood_key fkey;
	char why[96];		     /* which rule of the spec decided, for reproducers */
};

void rm_state_init(struct rm_state *st);
/* Forget every entry (vw_frags and vw_sources cleared). */
void rm_state_reset(struct rm_state *st);
void rm_state_free(struct rm_state *st);
/* Forget every bucket and ban (vw_buckets and vw_bans cleared). */
void rm_flood_reset(struct rm_state *st);
const struct rm_bucket *rm_bucket_find(const struct rm_state *st, const struct rm_flood_key *k);
const struct rm_ban *rm_ban_find(const struct rm_state *st, const struct rm_flood_key *k);
/* The key of the program's maps (vw_buckets, vw_bans) for a model key: IPv4 as IPv4-mapped. */
void rm_flood_key_bpf(const struct rm_flood_key *k, struct vw_flood_key *out);

/* Named block sets, as `voipwall block add|del|flush` and the sweep change them. An entry for a
 * prefix already in the set replaces it. Returns 0 or -ENOMEM. */
int rm_block_add(struct rm_state *st, const struct rm_block *e);
/* Removes the set's entry for e's prefix; true when there was one. */
bool rm_block_del(struct rm_state *st, const struct rm_block *e);
/* Empties one set, or every set with set == VW_BLOCK_SETS. */
void rm_block_flush(struct rm_state *st, unsigned int set);
/* Removes the entries that expired at or before now; returns how many. */
size_t rm_block_sweep(struct rm_state *st, __u64 now);
const struct rm_frag_entry *rm_frag_find(const struct rm_state *st, const struct vw_frag_key *k);
const struct rm_src_entry *rm_src_find(const struct rm_state *st, const struct vw_src_key *k);

/*
 * Classify one frame of len bytes, of which the first avail are in the first buffer (avail ==
 * len for a single-buffer frame), under cfg, updating st as the program updates its maps. The
 * bytes counted (res->len) are len, but avail for a dropped frame whose length checks (PPPoE,
 * IPv4, IPv6) all fit in the first buffer: the program counts later buffers only when a check
 * or a pass needs them.
 * origin is recorded with any fragment entry stored. Returns 0, or -EINVAL for len == 0.
 */
int rm_classify(const struct vw_config *cfg, struct rm_state *st, const __u8 *frame, size_t len,
		size_t avail, long origin, struct rm_result *res);
/* The same for a frame received on an interface of link type link (enum rm_link). */
int rm_classify_link(const struct vw_config *cfg, struct rm_state *st, int link, const __u8 *frame,
		     size_t len, size_t avail, long origin, struct rm_result *res);

/*
 * Section 6 for a frame whose result has src_clock set: the program read the clock, and
 * window_expired says whether the window had ended (then now_ns is the clock it read, the new
 * window's start). Records the source with its weight (src_updated, src_weight). Returns 0 or
 * -ENOMEM.
 */
int rm_src_record(struct rm_state *st, struct rm_result *res, bool window_expired, __u64 now_ns);

/* The class a destination port maps to for l4 (enum vw_l4), or VW_CLASS_NONE. */
__u8 rm_port_class(const struct vw_config *cfg, __u8 l4, __u16 port);
/* Whether some allow rule for class id cls covers the source (family VW_FAMILY_V4/V6;
 * addr in network order, 4 or 16 bytes). */
bool rm_allowed(const struct vw_config *cfg, __u8 cls, __u8 family, const __u8 *addr);

#endif
