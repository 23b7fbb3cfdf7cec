// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Class-mask indexes and trie nodes of a generation being built (see trie.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "trie.h"

/* Open-addressing table that dedupes class masks into vw_masks indexes (load factor <= 1/2). */
#define MASK_HASH_SIZE (2 * VW_MAX_MASKS)
_Static_assert(MASK_HASH_SIZE == 1 << 16, "mask_index hashes to 16 bits");
_Static_assert(VW_MAX_MASKS - 1 <= VW_TBL24_MASK_IDX, "a mask index fits an entry");

struct vw_mask_set {
	__u32 keys[MASK_HASH_SIZE];
	__u16 idx[MASK_HASH_SIZE];
	__u32 masks[VW_MAX_MASKS]; /* index -> mask; 0 is the empty mask */
	__u32 n;		   /* indexes used, including 0 */
	__u32 last_mask, last_idx; /* runs of one mask are common (tbl24, node slots) */
};

int vw_build_init(struct vw_build *b)
{
	memset(b, 0, sizeof(*b));
	b->ms = calloc(1, sizeof(*b->ms));
	if (!b->ms)
		return -ENOMEM;
	b->ms->n = 1;
	b->nnodes = b->nleaves = 1;
	return 0;
}

void vw_build_free(struct vw_build *b)
{
	free(b->ms);
	free(b->nodes);
	free(b->leaves);
	free(b->probes);
	memset(b, 0, sizeof(*b));
}

const __u32 *vw_build_masks(const struct vw_build *b, size_t *n)
{
	*n = b->ms->n;
	return b->ms->masks;
}

static int mask_index(struct vw_mask_set *s, __u32 mask)
{
	__u32 h;

	if (!mask)
		return 0;
	if (mask == s->last_mask)
		return s->last_idx;
	h = (mask * 2654435761U) >> 16;
	for (;; h = (h + 1) & (MASK_HASH_SIZE - 1)) {
		if (!s->keys[h])
			break;
		if (s->keys[h] == mask)
			goto found;
	}
	if (s->n >= VW_MAX_MASKS) {
		pr_warn("the allowlists combine into more than %d distinct class sets\n",
			VW_MAX_MASKS - 1);
		return -E2BIG;
	}
	s->keys[h] = mask;
	s->idx[h] = s->n;
	s->masks[s->n++] = mask;
found:
	s->last_mask = mask;
	s->last_idx = s->idx[h];
	return s->last_idx;
}

int vw_mask_entry(struct vw_build *b, __u32 mask, __u32 *ent)
{
	int idx = mask_index(b->ms, mask);

	if (idx < 0)
		return idx;
	*ent = VW_ENT(VW_ENT_MASK, idx);
	return 0;
}

/* Room for one more element in a pool; -E2BIG past its limit. */
static int pool_grow(void **pool, size_t *cap, size_t n, size_t size, size_t limit,
		     const char *what)
{
	void *p;
	size_t c;

	if (n < *cap)
		return 0;
	if (n >= limit) {
		pr_warn("the allowlists need more than %zu %s; nest fewer prefix lengths under one "
			"IPv4 /24 or IPv6 /32\n",
			limit - 1, what);
		return -E2BIG;
	}
	c = *cap ? *cap * 2 : 64;
	if (c > limit)
		c = limit;
	p = realloc(*pool, c * size);
	if (!p)
		return -ENOMEM;
	if (!*cap)
		memset(p, 0, size); /* element 0, never used, is written to the maps too */
	*pool = p;
	*cap = c;
	return 0;
}

static int new_leaf(struct vw_build *b, const struct vw_pfx *p, __u32 cover, __u32 *ent)
{
	struct vw_leaf *l;
	__u32 in, out;
	int err;

	err = vw_mask_entry(b, cover | p->mask, &in);
	if (!err)
		err = vw_mask_entry(b, cover, &out);
	if (!err)
		err = pool_grow((void **)&b->leaves, &b->cap_leaves, b->nleaves, sizeof(*l),
				VW_MAX_LEAVES, "trie leaves");
	if (err)
		return err;
	l = &b->leaves[b->nleaves];
	memset(l, 0, sizeof(*l));
	memcpy(l->addr, p->addr, 16);
	l->plen = p->plen;
	l->in = in;
	l->out = out;
	*ent = VW_ENT(VW_ENT_LEAF, b->nleaves++);
	return 0;
}

/* Prefixes of one length below a slot: hash entries (each its own mask and the slot's covering
 * rules: nothing else of that length can cover it) behind one probe. */
static int new_probe(struct vw_build *b, const struct vw_pfx *it, size_t n, __u32 cover,
		     __u32 *ent)
{
	size_t i;
	int err;

	err = vw_mask_entry(b, cover, ent);
	for (i = 0; !err && i < n; i++) {
		err = pool_grow((void **)&b->probes, &b->cap_probes, b->nprobes, sizeof(*it),
				(size_t)VW_MAX_V6 + 1, "probed prefixes");
		if (!err) {
			b->probes[b->nprobes] = it[i];
			b->probes[b->nprobes++].mask |= cover;
		}
	}
	*ent |= VW_ENT(VW_ENT_PROBE, it->plen << VW_ENT_PLEN_SHIFT);
	return err;
}

static bool one_length(const struct vw_pfx *it, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (it[i].plen != it[0].plen)
			return false;
	return true;
}

int vw_trie_entry(struct vw_build *b, const struct vw_pfx *it, size_t n, unsigned int base,
		  __u32 cover, unsigned int flags, __u32 *ent)
{
	unsigned int byte = base / 8, end = base + 8;
	__u32 paint[VW_NODE_FANOUT];
	size_t i, j, node;
	int err;

	if (!n)
		return vw_mask_entry(b, cover, ent);
	if (n == 1 && (flags & VW_TRIE_LEAVES))
		return new_leaf(b, it, cover, ent);
	if ((flags & VW_TRIE_PROBES) && one_length(it, n))
		return new_probe(b, it, n, cover, ent);
	err = pool_grow((void **)&b->nodes, &b->cap_nodes, b->nnodes, sizeof(struct vw_node),
			VW_MAX_NODES, "trie nodes");
	if (err)
		return err;
	node = b->nnodes++;

	/* Paint: a prefix ending in this byte covers a run of slots (controlled prefix
	 * expansion); OR keeps the union whatever the order. */
	for (j = 0; j < VW_NODE_FANOUT; j++)
		paint[j] = cover;
	for (i = 0; i < n; i++) {
		if (it[i].plen > end)
			continue;
		for (j = 0; j < 1U << (end - it[i].plen); j++)
			paint[it[i].addr[byte] + j] |= it[i].mask;
	}
	/* Each slot: the subtree of the longer prefixes under it (adjacent, since sorted by
	 * address; the slot's own shorter prefixes sort first and are painted already). */
	for (i = 0, j = 0; j < VW_NODE_FANOUT; j++) {
		size_t lo, hi;
		__u32 e;

		while (i < n && (it[i].addr[byte] < j || it[i].plen <= end))
			i++;
		lo = i;
		while (i < n && it[i].addr[byte] == j)
			i++;
		hi = i;
		/* Shorter prefixes can only lead the run: none is left inside it. */
		err = vw_trie_entry(b, it + lo, hi - lo, end, paint[j], flags, &e);
		if (err)
			return err;
		b->nodes[node].e[j] = e;
	}
	*ent = VW_ENT(VW_ENT_NODE, node);
	return 0;
}
