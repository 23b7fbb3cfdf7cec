/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the IPv4 and IPv6 builds of one generation share: the distinct class masks (vw_masks) and
 * the pools of trie nodes and leaves (vw_nodes, vw_leaves), with the builder of a trie below an
 * anchor (docs/tables.md, "Tries").
 */
#ifndef VW_TRIE_H
#define VW_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include "voipwall.h"

struct vw_mask_set;

struct vw_build {
	struct vw_mask_set *ms;
	struct vw_node *nodes; /* nodes[0] unused: entry index 0 means "none" */
	size_t nnodes, cap_nodes;
	struct vw_leaf *leaves; /* leaves[0] unused */
	size_t nleaves, cap_leaves;
	struct vw_pfx *probes; /* the prefixes below VW_ENT_PROBE slots, mask folded */
	size_t nprobes, cap_probes;
};

/* A prefix with its own classes (not folded): IPv4 in addr[0..3], host bits zero. */
struct vw_pfx {
	__u8 addr[16];
	__u32 plen;
	__u32 mask;
};

int vw_build_init(struct vw_build *b);
void vw_build_free(struct vw_build *b);
/* The distinct masks, index 0 the empty one: masks[0..*n). */
const __u32 *vw_build_masks(const struct vw_build *b, size_t *n);

/* The VW_ENT_MASK entry of a class mask (its vw_masks index, added if new). Returns 0 or -E2BIG
 * when the generation holds VW_MAX_MASKS distinct masks already. */
int vw_mask_entry(struct vw_build *b, __u32 mask, __u32 *ent);

#define VW_TRIE_LEAVES 0x1 /* a subtree of one prefix is a leaf */
#define VW_TRIE_PROBES 0x2 /* a subtree of prefixes of one length is a probe (b->probes) */

/* The entry for the subtree of it[0..n): prefixes longer than base bits that share their first
 * base bits, sorted by address then length, under a slot whose covering rules give cover. An empty
 * subtree is a mask entry; one prefix a leaf and several of one length a probe, as flags allow;
 * otherwise a node for the next byte whose slots hold the union of the rules covering them, with
 * subtrees for the longer prefixes below each slot. Returns 0, -E2BIG past VW_MAX_NODES,
 * VW_MAX_LEAVES or VW_MAX_V6 probed prefixes, or -ENOMEM. */
int vw_trie_entry(struct vw_build *b, const struct vw_pfx *it, size_t n, unsigned int base,
		  __u32 cover, unsigned int flags, __u32 *ent);

#endif
