/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flood control state: per-class rates, bans and exempt rules of a generation (built with the
 * rest of a generation), and the named block sets (changed in place, outside generations). */
#ifndef VW_FLOOD_USER_H
#define VW_FLOOD_USER_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "tables.h"

#define VW_BLOCK_SET_CONFIG "config" /* the config file's block statements */
#define VW_BLOCK_SET_MANUAL "manual" /* `block add` without --set */

/* The data path's clock (CLOCK_MONOTONIC), in ns. */
__u64 vw_flood_now(void);

/* Write cfg's class rates, bans, policy open and exempt rules into generation gen (not live). */
int vw_flood_build(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg);
/* Read them back into cfg (classes already read, by id). */
int vw_flood_read(const struct vw_maps *m, __u32 gen, struct vw_config *cfg);

/* One block entry: prefix (family, plen, addr) and classes (mask) in r. */
struct vw_block_entry {
	struct vw_rule r;
	__u64 expires_ns; /* vw_flood_now() clock; 0: never */
	__u64 added_realtime_ns;
	__u8 flags; /* VW_BLOCK_* */
};

/* A set's name is 1-15 of a-z 0-9 _ -, starting with a letter. */
bool vw_block_set_name_ok(const char *name);
/* The slot of set name; with create, a free slot is claimed for it. -ENOENT (no such set),
 * -ENOSPC (no free slot). */
int vw_block_set_slot(const struct vw_maps *m, const char *name, bool create, __u32 *slot);
/* The names of the sets (empty for a free slot). */
int vw_block_set_names(const struct vw_maps *m, char names[VW_BLOCK_SETS][VW_BLOCK_SET_NAME_MAX]);

/* Add (or update) entries in the live set. */
int vw_block_add(const struct vw_maps *m, __u32 slot, const struct vw_block_entry *e, size_t n);
/* Delete entries (exact prefixes); *removed counts those that were there. */
int vw_block_del(const struct vw_maps *m, __u32 slot, const struct vw_block_entry *e, size_t n,
		 size_t *removed);
/* Build a new trie with exactly these entries and swap it in with one update: a packet sees the
 * whole old set or the whole new one. n == 0 empties the set. */
int vw_block_replace(const struct vw_maps *m, __u32 slot, const struct vw_block_entry *e,
		     size_t n);
/* Empty the set and free its slot. */
int vw_block_flush(const struct vw_maps *m, __u32 slot);
/* Every entry of a set (malloc'd into *out). */
int vw_block_read(const struct vw_maps *m, __u32 slot, struct vw_block_entry **out, size_t *n);
/* Delete the entries of every set that expired before now; *swept counts them. */
int vw_block_sweep(const struct vw_maps *m, __u64 now, size_t *swept);
/* The longest entry of any set covering a source (16 bytes, IPv4 in addr[0..3]) that is in force
 * at now; *slot gets its set. -ENOENT when none. */
int vw_block_match(const struct vw_maps *m, int family, const __u8 *addr, __u64 now, __u32 *slot,
		   struct vw_block_entry *out);

/* The ban of a (class, source) key in force at now: its end, or 0. */
__u64 vw_ban_until(const struct vw_maps *m, const struct vw_flood_key *key, __u64 now);

/* The gauges: block set sizes (sets with an empty name are free slots) and bans per class. */
struct vw_flood_gauges {
	char sets[VW_BLOCK_SETS][VW_BLOCK_SET_NAME_MAX];
	__u64 entries[VW_BLOCK_SETS]; /* expired entries count until swept */
	__u32 bans[VW_MAX_CLASSES];   /* in force now */
};
int vw_flood_gauges_read(const struct vw_maps *m, struct vw_flood_gauges *g);

/* Sources banned now, per class. */
int vw_bans_count(const struct vw_maps *m, __u64 now, __u32 counts[VW_MAX_CLASSES]);
/* The longest ban in force of a source (16 bytes, IPv4-mapped for IPv4) in any class of
 * generation gen: its class and end. -ENOENT when none. */
int vw_ban_find(const struct vw_maps *m, __u32 gen, const __u8 *addr, __u64 now, __u32 *cls,
		__u64 *until);

#endif
