// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reference classifier: docs/datapath.md, section by section, and docs/flood.md for what follows
 * the allowlist (block sets, bans, rate limits). Each decision below cites the section it
 * implements. Offsets are from the start of the frame; "avail" is the end of the first
 * buffer, "len" the end of the whole frame.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include "refmodel.h"

#define ETH_HLEN_    14
#define ETHTYPE_VLAN 0x8100
#define ETHTYPE_QINQ 0x88a8
#define ETHTYPE_IPV4 0x0800
#define ETHTYPE_IPV6 0x86dd
#define ETHTYPE_PPPOE_SESSION 0x8864

void rm_state_init(struct rm_state *st)
{
	memset(st, 0, sizeof(*st));
	st->rate.exact = ~0ULL;
}

void rm_state_reset(struct rm_state *st)
{
	st->nfrags = 0;
	st->nsrcs = 0;
}

void rm_flood_reset(struct rm_state *st)
{
	st->nbuckets = 0;
	st->nbans = 0;
}

void rm_state_free(struct rm_state *st)
{
	free(st->frags);
	free(st->srcs);
	free(st->buckets);
	free(st->bans);
	free(st->blocks);
	memset(st, 0, sizeof(*st));
}

/* Room for one more element of a table (doubling). */
static int table_room(void **v, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 256;
	p = realloc(*v, ncap * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

const struct rm_frag_entry *rm_frag_find(const struct rm_state *st, const struct vw_frag_key *k)
{
	for (size_t i = 0; i < st->nfrags; i++)
		if (!memcmp(&st->frags[i].key, k, sizeof(*k)))
			return &st->frags[i];
	return NULL;
}

const struct rm_src_entry *rm_src_find(const struct rm_state *st, const struct vw_src_key *k)
{
	for (size_t i = 0; i < st->nsrcs; i++)
		if (!memcmp(&st->srcs[i].key, k, sizeof(*k)))
			return &st->srcs[i];
	return NULL;
}

static int frag_store(struct rm_state *st, const struct vw_frag_key *k, const struct vw_frag_val *v,
		      long origin)
{
	struct rm_frag_entry *e = (struct rm_frag_entry *)rm_frag_find(st, k);

	if (!e) {
		if (st->nfrags == st->frags_cap) {
			size_t cap = st->frags_cap ? st->frags_cap * 2 : 256;
			void *p = realloc(st->frags, cap * sizeof(*st->frags));

			if (!p)
				return -ENOMEM;
			st->frags = p;
			st->frags_cap = cap;
		}
		e = &st->frags[st->nfrags++];
		e->key = *k;
	}
	e->val = *v;
	e->origin = origin;
	return 0;
}

static int src_update(struct rm_state *st, const struct vw_src_key *k, __u64 weight, __u64 bytes,
		      __u8 cls, __u8 reason)
{
	struct rm_src_entry *e = (struct rm_src_entry *)rm_src_find(st, k);

	if (!e) {
		if (st->nsrcs == st->srcs_cap) {
			size_t cap = st->srcs_cap ? st->srcs_cap * 2 : 256;
			void *p = realloc(st->srcs, cap * sizeof(*st->srcs));

			if (!p)
				return -ENOMEM;
			st->srcs = p;
			st->srcs_cap = cap;
		}
		e = &st->srcs[st->nsrcs++];
		memset(e, 0, sizeof(*e));
		e->key = *k;
	}
	e->packets += weight;
	e->bytes += bytes;
	e->last_class = cls;
	e->last_reason = reason;
	return 0;
}

static bool fkey_eq(const struct rm_flood_key *a, const struct rm_flood_key *b)
{
	return a->cls == b->cls && a->family == b->family && !memcmp(a->addr, b->addr, 16);
}

const struct rm_bucket *rm_bucket_find(const struct rm_state *st, const struct rm_flood_key *k)
{
	for (size_t i = 0; i < st->nbuckets; i++)
		if (fkey_eq(&st->buckets[i].key, k))
			return &st->buckets[i];
	return NULL;
}

const struct rm_ban *rm_ban_find(const struct rm_state *st, const struct rm_flood_key *k)
{
	for (size_t i = 0; i < st->nbans; i++)
		if (fkey_eq(&st->bans[i].key, k))
			return &st->bans[i];
	return NULL;
}

static bool same_prefix(const struct rm_block *a, const struct rm_block *b)
{
	return a->set == b->set && a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, 16);
}

int rm_block_add(struct rm_state *st, const struct rm_block *e)
{
	for (size_t i = 0; i < st->nblocks; i++) {
		if (same_prefix(&st->blocks[i], e)) {
			st->blocks[i] = *e;
			return 0;
		}
	}
	if (table_room((void **)&st->blocks, st->nblocks, &st->blocks_cap, sizeof(*e)))
		return -ENOMEM;
	st->blocks[st->nblocks++] = *e;
	return 0;
}

bool rm_block_del(struct rm_state *st, const struct rm_block *e)
{
	for (size_t i = 0; i < st->nblocks; i++) {
		if (same_prefix(&st->blocks[i], e)) {
			st->blocks[i] = st->blocks[--st->nblocks];
			return true;
		}
	}
	return false;
}

void rm_block_flush(struct rm_state *st, unsigned int set)
{
	size_t k = 0;

	for (size_t i = 0; i < st->nblocks; i++)
		if (set < VW_BLOCK_SETS && st->blocks[i].set != set)
			st->blocks[k++] = st->blocks[i];
	st->nblocks = k;
}

size_t rm_block_sweep(struct rm_state *st, __u64 now)
{
	size_t k = 0, n = st->nblocks;

	for (size_t i = 0; i < n; i++)
		if (!st->blocks[i].expires_ns || st->blocks[i].expires_ns > now)
			st->blocks[k++] = st->blocks[i];
	st->nblocks = k;
	return n - k;
}

static unsigned int be16(const __u8 *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static __u32 be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/* IPv4 address as IPv4-mapped IPv6 (::ffff:a.b.c.d), the form vw_frags and vw_sources use. */
static void v4_mapped(__u8 out[16], const __u8 *a4)
{
	memset(out, 0, 16);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, a4, 4);
}

void rm_flood_key_bpf(const struct rm_flood_key *k, struct vw_flood_key *out)
{
	memset(out, 0, sizeof(*out));
	out->cls = k->cls;
	out->family = k->family;
	if (k->family == VW_FAMILY_V4)
		v4_mapped(out->addr, k->addr);
	else
		memcpy(out->addr, k->addr, 16);
}

__u8 rm_port_class(const struct vw_config *cfg, __u8 l4, __u16 port)
{
	for (unsigned int c = 0; c < cfg->nclasses; c++) {
		const struct vw_class *k = &cfg->classes[c];

		for (unsigned int r = 0; r < k->nranges; r++)
			if (k->ranges[r].l4 == l4 && port >= k->ranges[r].lo &&
			    port <= k->ranges[r].hi)
				return k->id;
	}
	return VW_CLASS_NONE;
}

/* Whether the first plen bits of a and b agree. */
static bool prefix_covers(const __u8 *pfx, unsigned int plen, const __u8 *addr)
{
	unsigned int full = plen / 8, rest = plen % 8;

	if (memcmp(pfx, addr, full))
		return false;
	if (rest) {
		__u8 m = (__u8)(0xff << (8 - rest));

		if ((pfx[full] & m) != (addr[full] & m))
			return false;
	}
	return true;
}

bool rm_allowed(const struct vw_config *cfg, __u8 cls, __u8 family, const __u8 *addr)
{
	/* Section 4: union over every allow rule for the class. */
	for (size_t i = 0; i < cfg->nrules; i++) {
		const struct vw_rule *r = &cfg->rules[i];

		if (r->family != family || cls >= VW_MAX_CLASSES || !(r->mask & (1U << cls)))
			continue;
		if (prefix_covers(r->addr, r->plen, addr))
			return true;
	}
	return false;
}

static const struct vw_class *class_by_id(const struct vw_config *cfg, __u8 id)
{
	for (unsigned int c = 0; c < cfg->nclasses; c++)
		if (cfg->classes[c].id == id)
			return &cfg->classes[c];
	return NULL;
}

static void decide(struct rm_result *res, __u8 verdict, __u8 reason, __u8 cls, const char *why)
{
	res->verdict = verdict;
	res->reason = reason;
	res->cls = cls;
	snprintf(res->why, sizeof(res->why), "%s", why);
}

/* ---- Flood control (docs/flood.md, docs/datapath.md section 4) --------------------------------
 */

/* The first plen bits of addr (alen bytes), the rest zero. */
static void mask_bits(__u8 *addr, unsigned int plen, unsigned int alen)
{
	for (unsigned int i = 0; i < alen; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		addr[i] = plen > 8 * i ? (__u8)(addr[i] & (0xff << (8 - (plen - 8 * i)))) : 0;
	}
}

/* Step 1, one named set: its entries covering the source, longest first; the first one that
 * applies (in force, for the class, and with the override flag when the source is allowlisted)
 * blocks. Only the first VW_BLOCK_TRIES covering entries are looked at ("up to 4 entries per
 * set"). */
static bool set_blocks(const struct rm_state *st, unsigned int set, __u8 cls, __u8 family,
		       const __u8 *addr, bool allowlisted)
{
	unsigned int below = 129;

	for (unsigned int t = 0; t < VW_BLOCK_TRIES; t++) {
		const struct rm_block *best = NULL;

		for (size_t i = 0; i < st->nblocks; i++) {
			const struct rm_block *b = &st->blocks[i];

			if (b->set != set || b->family != family || b->plen >= below ||
			    (best && b->plen <= best->plen) ||
			    !prefix_covers(b->addr, b->plen, addr))
				continue;
			best = b;
		}
		if (!best)
			return false;
		if ((!best->expires_ns || best->expires_ns > st->now_ns) &&
		    (best->mask & (1U << cls)) &&
		    (!allowlisted || (best->flags & VW_BLOCK_OVERRIDE)))
			return true;
		below = best->plen;
	}
	return false;
}

/* Step 1: the config's `block` statements (the set "config": every class, no expiry, no
 * override) and the named sets. */
static bool blocked(const struct vw_config *cfg, const struct rm_state *st, __u8 cls, __u8 family,
		    const __u8 *addr, bool allowlisted)
{
	for (size_t i = 0; i < cfg->nblocks && !allowlisted; i++)
		if (cfg->blocks[i].family == family &&
		    prefix_covers(cfg->blocks[i].addr, cfg->blocks[i].plen, addr))
			return true;
	for (unsigned int set = 0; set < VW_BLOCK_SETS; set++)
		if (set_blocks(st, set, cls, family, addr, allowlisted))
			return true;
	return false;
}

/* An allow rule marked exempt for the class covers the source (union over the rules). */
static bool exempt_for(const struct vw_config *cfg, __u8 cls, __u8 family, const __u8 *addr)
{
	for (size_t i = 0; i < cfg->nexempt; i++) {
		const struct vw_rule *r = &cfg->exempt[i];

		if (r->family == family && (r->mask & (1U << cls)) &&
		    prefix_covers(r->addr, r->plen, addr))
			return true;
	}
	return false;
}

static int bucket_get(struct rm_state *st, const struct rm_flood_key *k, struct rm_bucket **out)
{
	*out = (struct rm_bucket *)rm_bucket_find(st, k);
	if (*out)
		return 0;
	if (table_room((void **)&st->buckets, st->nbuckets, &st->buckets_cap, sizeof(**out)))
		return -ENOMEM;
	*out = &st->buckets[st->nbuckets++];
	(*out)->key = *k;
	(*out)->tat = st->now_ns; /* a new bucket is full */
	(*out)->edge_ns = 0;
	return 0;
}

static int ban_set(struct rm_state *st, const struct rm_flood_key *k, __u64 until, __u64 since)
{
	struct rm_ban *b = (struct rm_ban *)rm_ban_find(st, k);

	if (!b) {
		if (table_room((void **)&st->bans, st->nbans, &st->bans_cap, sizeof(*b)))
			return -ENOMEM;
		b = &st->bans[st->nbans++];
		b->key = *k;
	}
	b->until_ns = until;
	b->since_ns = since;
	return 0;
}

/*
 * A packet of class k that the allowlist passed (allowlisted: by an allow rule, else by policy
 * open): block sets, ban, rate, in that order; drops become monitor under policy monitor.
 */
static int flood(const struct vw_config *cfg, struct rm_state *st, const struct vw_class *k,
		 __u8 family, const __u8 *saddr, bool allowlisted, struct rm_result *res)
{
	__u8 drop = k->policy == VW_POLICY_MONITOR ? VW_VERDICT_MONITOR : VW_VERDICT_DROP;
	__u64 now = st->now_ns, unit, interval, tolerance, base;
	struct rm_flood_key key = {.cls = k->id, .family = family};
	const struct rm_ban *ban;
	struct rm_bucket *b;
	bool exempt;

	if (blocked(cfg, st, k->id, family, saddr, allowlisted)) {
		decide(res, drop, VW_REASON_BLOCKLISTED, k->id,
		       allowlisted ? "flood 1: blocked, override of the allowlist"
				   : "flood 1: blocked");
		return 0;
	}
	if (!k->rate)
		return 0;
	/* IPv4 per address, IPv6 per /N of the class's per (64 by default) */
	memcpy(key.addr, saddr, family == VW_FAMILY_V4 ? 4 : 16);
	if (family == VW_FAMILY_V6)
		mask_bits(key.addr, k->v6_plen ? k->v6_plen : VW_V6_RATE_PLEN_DEFAULT, 16);
	res->flood = true;
	res->fkey = key;
	if (bucket_get(st, &key, &b))
		return -ENOMEM;
	exempt = exempt_for(cfg, k->id, family, saddr);
	ban = rm_ban_find(st, &key);
	if (ban && ban->until_ns > now) { /* step 2 */
		if (exempt)
			snprintf(res->why, sizeof(res->why), "flood 2: exempt, passes a ban");
		else
			decide(res, drop, VW_REASON_BANNED, k->id, "flood 2: banned");
		return 0;
	}
	/* Step 3, GCRA: the interval is 1 s (or 60 s for N/m) / rate, rounded to the nanosecond. */
	unit = (k->rate_unit == 60 ? 60ULL : 1ULL) * 1000000000ULL;
	interval = (2 * unit + k->rate) / (2ULL * k->rate);
	tolerance = (__u64)((k->burst ? k->burst : k->rate) - 1) * interval;
	base = b->tat > now ? b->tat : now;
	if (base - now <= tolerance) {
		b->tat = base + interval;
		b->edge_ns = b->tat > tolerance ? b->tat - tolerance : 0;
		return 0;
	}
	if (exempt) {
		snprintf(res->why, sizeof(res->why), "flood 3: exempt, passes over the rate");
		return 0;
	}
	decide(res, drop, VW_REASON_RATE_LIMITED, k->id,
	       k->ban_secs ? "flood 3: over the rate, banned" : "flood 3: over the rate");
	if (k->ban_secs)
		return ban_set(st, &key, now + (__u64)k->ban_secs * 1000000000ULL, now);
	return 0;
}

#define MALFORMED(res, why) decide(res, VW_VERDICT_DROP, VW_REASON_MALFORMED, VW_CLASS_NONE, why)

/* What the IP layer found, handed to the transport section. */
struct l3_info {
	__u8 family;
	const __u8 *saddr; /* 4 or 16 bytes, network order */
	size_t l4_off;	   /* first byte of the upper-layer header */
	size_t l4_end;	   /* end of the L4 data (total length / payload length) */
	bool first_frag;
};

/* Section 4: transport header checks and the class decision. */
static int transport(const struct vw_config *cfg, struct rm_state *st, const __u8 *f, __u8 proto,
		     const struct l3_info *l3, struct rm_result *res)
{
	size_t l4len = l3->l4_end > l3->l4_off ? l3->l4_end - l3->l4_off : 0;
	size_t need;
	__u8 l4;
	__u16 dport;
	__u8 cls;

	switch (proto) {
	case 17:
		l4 = VW_L4_UDP;
		need = 8;
		break;
	case 6:
		l4 = VW_L4_TCP;
		need = 20;
		break;
	default: /* 132 */
		l4 = VW_L4_SCTP;
		need = 12;
		break;
	}
	if (l4len < need) {
		MALFORMED(res, "4: L4 header beyond the L4 data");
		return 0;
	}
	if (l4 == VW_L4_UDP) {
		unsigned int ulen = be16(f + l3->l4_off + 4);

		if (!ulen && l3->family == VW_FAMILY_V6) /* length from the payload */
			ulen = (unsigned int)l4len;

		if (ulen < 8) {
			MALFORMED(res, "4: UDP length < 8");
			return 0;
		}
		if (!l3->first_frag && ulen > l4len) {
			MALFORMED(res, "4: UDP length beyond the L4 data");
			return 0;
		}
	} else if (l4 == VW_L4_TCP) {
		unsigned int doff = f[l3->l4_off + 12] >> 4;

		if (doff < 5) {
			MALFORMED(res, "4: TCP data offset < 5");
			return 0;
		}
		if (doff * 4 > l4len) {
			MALFORMED(res, "4: TCP header beyond the L4 data");
			return 0;
		}
	}
	dport = (__u16)be16(f + l3->l4_off + 2);
	cls = rm_port_class(cfg, l4, dport);
	if (cls == VW_CLASS_NONE) {
		decide(res, VW_VERDICT_PASS, VW_REASON_UNPROTECTED, VW_CLASS_NONE,
		       "4: port in no class");
		return 0;
	}
	const struct vw_class *k = class_by_id(cfg, cls);

	if (rm_allowed(cfg, cls, l3->family, l3->saddr)) {
		decide(res, VW_VERDICT_PASS, VW_REASON_ALLOWLISTED, cls, "4: source allowlisted");
		return k ? flood(cfg, st, k, l3->family, l3->saddr, true, res) : 0;
	}
	if (k && k->policy == VW_POLICY_OPEN) {
		decide(res, VW_VERDICT_PASS, VW_REASON_OPEN, cls,
		       "4: not allowlisted, policy open");
		return flood(cfg, st, k, l3->family, l3->saddr, false, res);
	}
	if (k && k->policy == VW_POLICY_MONITOR)
		decide(res, VW_VERDICT_MONITOR, VW_REASON_NOT_ALLOWLISTED, cls,
		       "4: not allowlisted, policy monitor");
	else
		decide(res, VW_VERDICT_DROP, VW_REASON_NOT_ALLOWLISTED, cls,
		       "4: not allowlisted, policy drop");
	return 0;
}

static bool is_transport(__u8 proto)
{
	return proto == 17 || proto == 6 || proto == 132;
}

/* Section 5, later fragment: follow the remembered first fragment, if any. */
static void later_fragment(const struct rm_state *st, struct rm_result *res)
{
	const struct rm_frag_entry *e = rm_frag_find(st, &res->frag_key);

	res->frag = RM_FRAG_LATER;
	if (!e) {
		decide(res, VW_VERDICT_PASS, VW_REASON_FRAGMENT_UNKNOWN, VW_CLASS_NONE,
		       "5: later fragment, first not seen");
		return;
	}
	if (st->now_ns >= e->val.expires_ns) {
		decide(res, VW_VERDICT_PASS, VW_REASON_FRAGMENT_UNKNOWN, VW_CLASS_NONE,
		       "5: later fragment, its first's verdict expired");
		return;
	}
	res->frag_hit = true;
	res->frag_origin = e->origin;
	decide(res, e->val.verdict, VW_REASON_FRAGMENT, e->val.cls,
	       "5: later fragment follows its first");
}

/* Section 2: IPv4. */
static int ipv4(const struct vw_config *cfg, struct rm_state *st, const __u8 *f, size_t len,
		size_t avail, size_t off, bool pppoe, struct rm_result *res)
{
	const __u8 *ip = f + off;
	unsigned int ihl, tot, fragw, fofs;
	struct l3_info l3 = {.family = VW_FAMILY_V4};

	if (off + 16 <= avail) {
		res->src_peek = true;
		v4_mapped(res->src_bytes.addr, ip + 12);
	}
	if (avail < off + 20) {
		MALFORMED(res, "2.1: fewer than 20 bytes");
		return 0;
	}
	ihl = ip[0] & 0x0f;
	tot = be16(ip + 2);
	if (ip[0] >> 4 != 4) {
		MALFORMED(res, "2.1: version not 4");
		return 0;
	}
	if (ihl < 5) {
		MALFORMED(res, "2.1: IHL < 5");
		return 0;
	}
	if (off + ihl * 4 > avail) {
		MALFORMED(res, "2.1: IHL*4 beyond the first buffer");
		return 0;
	}
	if (tot < ihl * 4) {
		MALFORMED(res, "2.1: total length < IHL*4");
		return 0;
	}
	/* A PPPoE length is compared first; the frame's buffers are counted only past the first */
	if (tot > len - off) {
		res->len_all |= !pppoe;
		MALFORMED(res, "2.1: total length beyond the packet");
		return 0;
	}
	res->len_all |= off + tot > avail;
	res->src_known = true;
	v4_mapped(res->src.addr, ip + 12);

	l3.saddr = ip + 12;
	l3.l4_off = off + ihl * 4;
	l3.l4_end = off + tot;

	fragw = be16(ip + 6);
	fofs = fragw & 0x1fff;
	if (fofs || (fragw & 0x2000)) {
		res->frag_key.family = VW_FAMILY_V4;
		res->frag_key.proto = ip[9];
		res->frag_key.id = be16(ip + 4);
		v4_mapped(res->frag_key.saddr, ip + 12);
		v4_mapped(res->frag_key.daddr, ip + 16);
	}
	if (fofs) {
		later_fragment(st, res);
		return 0;
	}
	if (fragw & 0x2000) {
		res->frag = RM_FRAG_FIRST;
		l3.first_frag = true;
	}
	if (!is_transport(ip[9])) {
		decide(res, VW_VERDICT_PASS, VW_REASON_UNPROTECTED, VW_CLASS_NONE,
		       "2.4: protocol without ports");
		return 0;
	}
	return transport(cfg, st, f, ip[9], &l3, res);
}

static bool is_v6_ext(__u8 nh)
{
	switch (nh) {
	case 0:
	case 43:
	case 44:
	case 51:
	case 60:
	case 135:
	case 139:
	case 140:
		return true;
	default:
		return false;
	}
}

/* Section 3: IPv6. */
static int ipv6(const struct vw_config *cfg, struct rm_state *st, const __u8 *f, size_t len,
		size_t avail, size_t off, bool pppoe, struct rm_result *res)
{
	const __u8 *ip = f + off;
	struct l3_info l3 = {.family = VW_FAMILY_V6};
	size_t end, pos;
	unsigned int walked = 0;
	bool seen_frag = false;
	__u8 nh;

	if (off + 24 <= avail) {
		res->src_peek = true;
		memcpy(res->src_bytes.addr, ip + 8, 16);
	}
	if (avail < off + 40) {
		MALFORMED(res, "3.1: fewer than 40 bytes");
		return 0;
	}
	if (ip[0] >> 4 != 6) {
		MALFORMED(res, "3.1: version not 6");
		return 0;
	}
	if (40 + (size_t)be16(ip + 4) > len - off) {
		res->len_all |= !pppoe; /* as for IPv4 */
		MALFORMED(res, "3.1: payload length beyond the packet");
		return 0;
	}
	res->len_all |= off + 40 + (size_t)be16(ip + 4) > avail;
	res->src_known = true;
	memcpy(res->src.addr, ip + 8, 16);
	l3.saddr = ip + 8;
	end = off + 40 + be16(ip + 4);

	nh = ip[6];
	pos = off + 40;
	while (is_v6_ext(nh)) {
		size_t hl;

		if (walked == VW_MAX_IPV6_EXT) {
			MALFORMED(res, "3.4: a 13th extension header");
			return 0;
		}
		walked++;
		if (pos + 8 > end) {
			MALFORMED(res, "3.2: extension header beyond the payload");
			return 0;
		}
		if (nh == 44)
			hl = 8;
		else if (nh == 51)
			hl = ((size_t)f[pos + 1] + 2) * 4;
		else
			hl = ((size_t)f[pos + 1] + 1) * 8;
		if (pos + hl > end) {
			MALFORMED(res, "3.2: extension header beyond the payload");
			return 0;
		}
		if (nh == 44) {
			unsigned int fragw = be16(f + pos + 2);

			if (seen_frag) {
				MALFORMED(res, "3.3: a second fragment header");
				return 0;
			}
			seen_frag = true;
			res->frag_key.family = VW_FAMILY_V6;
			res->frag_key.proto = f[pos];
			res->frag_key.id = be32(f + pos + 4);
			memcpy(res->frag_key.saddr, ip + 8, 16);
			memcpy(res->frag_key.daddr, ip + 24, 16);
			if (fragw >> 3) {
				later_fragment(st, res);
				return 0;
			}
			if (fragw & 1) {
				res->frag = RM_FRAG_FIRST;
				l3.first_frag = true;
			}
		}
		nh = f[pos];
		pos += hl;
	}
	if (!is_transport(nh)) {
		decide(res, VW_VERDICT_PASS, VW_REASON_UNPROTECTED, VW_CLASS_NONE,
		       "3.5: upper layer without ports");
		return 0;
	}
	l3.l4_off = pos;
	l3.l4_end = end;
	return transport(cfg, st, f, nh, &l3, res);
}

/* Section 1.4: a PPPoE session header and the PPP protocol field at off. Returns the EtherType
 * that stands for the payload (0 for a non-IP protocol), or -1 after deciding malformed; *len
 * becomes the end of the PPP payload (the PPPoE length bounds the IP packet). */
static int pppoe(const __u8 *f, size_t *len, size_t avail, size_t *off, struct rm_result *res)
{
	size_t plen;

	if (*off + 8 > avail) {
		MALFORMED(res, "1.4: PPPoE or PPP header does not fit");
		return -1;
	}
	if (f[*off] != 0x11 || f[*off + 1] != 0) {
		MALFORMED(res, "1.4: PPPoE version/type not 1/1 or code not 0");
		return -1;
	}
	plen = be16(f + *off + 4);
	if (plen >= 2)
		res->len_all |= *off + 6 + plen > avail;
	if (plen < 2 || *off + 6 + plen > *len) {
		MALFORMED(res, "1.4: PPPoE length disagrees with the frame");
		return -1;
	}
	*len = *off + 6 + plen;
	*off += 8;
	switch (be16(f + *off - 2)) {
	case 0x0021:
		return ETHTYPE_IPV4;
	case 0x0057:
		return ETHTYPE_IPV6;
	case 0x002d:
	case 0x002f:
	case 0x003d:
	case 0x00fb:
	case 0x00fd:
		MALFORMED(res, "1.4: PPP payload that may carry IP, unreadable");
		return -1;
	default:
		return 0;
	}
}

int rm_classify(const struct vw_config *cfg, struct rm_state *st, const __u8 *frame, size_t len,
		size_t avail, long origin, struct rm_result *res)
{
	return rm_classify_link(cfg, st, RM_LINK_ETHER, frame, len, avail, origin, res);
}

int rm_classify_link(const struct vw_config *cfg, struct rm_state *st, int link, const __u8 *frame,
		     size_t len, size_t avail, long origin, struct rm_result *res)
{
	size_t off = 12, iplen = len;
	bool pppoe_seen = false;
	unsigned int tags = 0;
	int type, err = 0;

	memset(res, 0, sizeof(*res));
	res->frag_origin = -1;
	if (!len)
		return -EINVAL;
	if (avail > len)
		avail = len;

	if (link == RM_LINK_IP) {
		/* Section 1.5: no link-layer header; the version nibble picks the family. */
		off = 0;
		type = frame[0] >> 4 == 4 ? ETHTYPE_IPV4 : frame[0] >> 4 == 6 ? ETHTYPE_IPV6 : -1;
		if (type < 0) {
			MALFORMED(res, "1.5: version neither 4 nor 6");
			goto out;
		}
		goto l3;
	}
	/* Section 1: Ethernet and VLAN. */
	if (len < ETH_HLEN_ || avail < ETH_HLEN_) {
		MALFORMED(res, "1.1: fewer than 14 bytes");
		goto out;
	}
	type = (int)be16(frame + off);
	off += 2;
	while (type == ETHTYPE_VLAN || type == ETHTYPE_QINQ) {
		if (tags == VW_MAX_VLAN) {
			MALFORMED(res, "1.2: a third VLAN tag");
			goto out;
		}
		if (off + 4 > avail) {
			MALFORMED(res, "1.2: VLAN tag does not fit");
			goto out;
		}
		type = (int)be16(frame + off + 2);
		off += 4;
		tags++;
	}
	if (type == ETHTYPE_PPPOE_SESSION) {
		pppoe_seen = true;
		type = pppoe(frame, &iplen, avail, &off, res);
		if (type < 0)
			goto out;
	}
l3:
	if (type == ETHTYPE_IPV4)
		err = ipv4(cfg, st, frame, iplen, avail, off, pppoe_seen, res);
	else if (type == ETHTYPE_IPV6)
		err = ipv6(cfg, st, frame, iplen, avail, off, pppoe_seen, res);
	else
		decide(res, VW_VERDICT_PASS, VW_REASON_NON_IP, VW_CLASS_NONE, "1.3: not IP");
	if (err)
		goto out;

	/* Section 5: a first fragment's outcome is remembered, whatever it is, for the kernel's
	 * reassembly timeout of its family; a malformed one never replaces a verdict in force. */
	if (res->frag == RM_FRAG_FIRST) {
		const struct rm_frag_entry *old = rm_frag_find(st, &res->frag_key);
		struct vw_frag_val v = {
		    .verdict = res->verdict, .cls = res->cls, .reason = res->reason};

		v.expires_ns = st->now_ns + (res->frag_key.family == VW_FAMILY_V4
						 ? VW_FRAG_TIMEOUT_V4_NS
						 : VW_FRAG_TIMEOUT_V6_NS);
		res->frag_kept = res->reason == VW_REASON_MALFORMED && old &&
				 st->now_ns < old->val.expires_ns;
		if (!res->frag_kept)
			err = frag_store(st, &res->frag_key, &v, origin);
		if (err)
			goto out;
	}
	/* Section 6: sources seen dropped or monitored. Every such frame counts in the CPU's
	 * window; past the window's exact budget only every VW_SRC_SAMPLE-th count reads the clock
	 * and is recorded (rm_src_record()); the others leave vw_sources as it is. */
	if (res->src_known && res->verdict != VW_VERDICT_PASS) {
		st->rate.drops++;
		if (st->rate.drops > st->rate.exact && st->rate.drops % VW_SRC_SAMPLE) {
			res->src_peek = true;
			res->src_bytes = res->src;
		} else {
			res->src_clock = true;
		}
	}
out:
	res->len = res->verdict == VW_VERDICT_DROP && !res->len_all ? avail : len;
	res->action = res->verdict == VW_VERDICT_DROP ? XDP_DROP : XDP_PASS;
	return err;
}

int rm_src_record(struct rm_state *st, struct rm_result *res, bool window_expired, __u64 now_ns)
{
	__u64 weight = 1;

	if (!res->src_clock || res->src_updated)
		return 0;
	if (window_expired) { /* a new window, this frame its first count */
		st->rate.window_start_ns = now_ns;
		st->rate.drops = 1;
	} else if (st->rate.drops > st->rate.exact) {
		weight = VW_SRC_SAMPLE;
	}
	res->src_updated = true;
	res->src_weight = weight;
	return src_update(st, &res->src, weight, (__u64)res->len * weight, res->cls, res->reason);
}
