// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Building a generation of the lookup tables from a config (docs/tables.md
 * explains the layout).
 *
 * A build writes only the generation it is given, which must not be the live
 * one: the program reads vw_active once per packet and then only that
 * generation's half of every table, so a packet sees either the old config or
 * the new one whole. Inner maps (IPv4 /25../32 hash, IPv6 hash, rule record)
 * are created fresh for each build and swapped into the generation's slot.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/membarrier.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tables.h"

/* Elements of an mmapped array map are value_size rounded up to 8 bytes apart. */
#define MMAP_STRIDE(sz)	 (((sz) + 7) & ~7UL)
#define PORTS_HALF_BYTES ((size_t)VW_PORTS * MMAP_STRIDE(sizeof(struct vw_port_cls)))
#define MASKS_HALF_BYTES ((size_t)VW_MAX_MASKS * MMAP_STRIDE(sizeof(__u32)))
#define TBL24_HALF_BYTES ((size_t)VW_V4_TBL24_WORDS * sizeof(__u64))
#define TBL24_ENTRIES	 (1U << 24)
#define BLOOM_HALF_BYTES ((size_t)VW_V6_BLOOM_WORDS * sizeof(__u64))
/* Elements per bpf_map_update_batch call: large enough to amortise the syscall,
 * small enough to report progress on a 1,000,000-prefix apply. */
#define BATCH_CHUNK 65536
/* Open-addressing table that dedupes class masks into vw_masks indexes (load
 * factor <= 1/2). */
#define MASK_HASH_SIZE (2 * VW_MAX_MASKS)

static void progress_report(vw_progress_fn progress, void *ctx, const char *stage, size_t done,
			    size_t total)
{
	if (progress)
		progress(stage, done, total, ctx);
}

static void *map_mmap_range(int fd, size_t len, off_t off, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

/* Wait until no packet can still be using the generation that was live before
 * the last flip: the program reads vw_active once per packet inside an RCU
 * read-side section (NAPI or the generic XDP path), and MEMBARRIER_CMD_GLOBAL
 * returns after synchronize_rcu(). Best effort: without membarrier (or with
 * nohz_full CPUs) the window it closes is a packet's lifetime, microseconds,
 * against the milliseconds an apply takes before writing. */
static void wait_for_readers(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		pr_debug("membarrier: %s; not waiting for in-flight packets", strerror(errno));
}

/* ---- Config validation ---- */

static int validate_config(const struct vw_config *cfg, __u32 *class_mask)
{
	__u32 seen = 0;
	unsigned int i, j;
	size_t r;

	if (cfg->nclasses > VW_MAX_CLASSES) {
		pr_warn("config has %u classes, at most %d are supported", cfg->nclasses,
			VW_MAX_CLASSES);
		return -E2BIG;
	}
	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];

		if (c->id >= VW_MAX_CLASSES || (seen & (1U << c->id))) {
			pr_warn("class '%.*s' has an invalid or duplicate id %u", VW_CLASS_NAME_MAX,
				c->name, c->id);
			return -EINVAL;
		}
		if (!memchr(c->name, '\0', sizeof(c->name)) || !c->name[0]) {
			pr_warn("class %u has an empty or unterminated name", c->id);
			return -EINVAL;
		}
		if (c->nranges > VW_MAX_RANGES) {
			pr_warn("class '%s' lists %u port ranges, at most %d are supported",
				c->name, c->nranges, VW_MAX_RANGES);
			return -E2BIG;
		}
		for (j = 0; j < c->nranges; j++) {
			if (c->ranges[j].lo > c->ranges[j].hi || c->ranges[j].l4 >= VW_L4_MAX) {
				pr_warn("class '%s' has an invalid port range", c->name);
				return -EINVAL;
			}
		}
		seen |= 1U << c->id;
	}
	if (cfg->nrules > VW_MAX_RULES) {
		pr_warn("config has %zu allow rules, at most %u are supported", cfg->nrules,
			VW_MAX_RULES);
		return -E2BIG;
	}
	for (r = 0; r < cfg->nrules; r++) {
		const struct vw_rule *rule = &cfg->rules[r];

		if ((rule->family == VW_FAMILY_V4 && rule->plen > 32) ||
		    (rule->family == VW_FAMILY_V6 && rule->plen > 128) ||
		    (rule->family != VW_FAMILY_V4 && rule->family != VW_FAMILY_V6)) {
			pr_warn("allow rule %zu has an invalid family or prefix length", r + 1);
			return -EINVAL;
		}
		if (rule->mask & ~seen) {
			pr_warn("allow rule %zu names a class id that is not defined", r + 1);
			return -EINVAL;
		}
	}
	*class_mask = seen;
	return 0;
}

/* ---- Ports ---- */

static int build_ports(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg)
{
	struct vw_port_cls *ports = NULL;
	__u8 *base = NULL;
	unsigned int i, j;
	int err = 0;
	__u32 p;

	ports = calloc(VW_PORTS, sizeof(*ports));
	if (!ports)
		return -ENOMEM;
	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];

		for (j = 0; j < c->nranges; j++) {
			const struct vw_port_range *rg = &c->ranges[j];

			for (p = rg->lo; p <= rg->hi; p++) {
				__u8 *slot = &ports[p].cls[rg->l4];

				if (*slot && (*slot & VW_PORT_CLS) != (unsigned int)c->id + 1) {
					pr_warn("port %u/%s is in two classes", p,
						rg->l4 == VW_L4_UDP   ? "udp"
						: rg->l4 == VW_L4_TCP ? "tcp"
								      : "sctp");
					err = -EINVAL;
					goto out;
				}
				*slot = (c->id + 1) |
					(c->policy == VW_POLICY_MONITOR ? VW_PORT_MONITOR : 0);
			}
		}
	}
	base = map_mmap_range(m->ports, PORTS_HALF_BYTES, (off_t)gen * PORTS_HALF_BYTES,
			      PROT_READ | PROT_WRITE);
	if (!base) {
		err = -errno;
		pr_warn("cannot map vw_ports: %s", strerror(-err));
		goto out;
	}
	for (p = 0; p < VW_PORTS; p++)
		memcpy(base + (size_t)p * MMAP_STRIDE(sizeof(*ports)), &ports[p], sizeof(*ports));
out:
	if (base)
		munmap(base, PORTS_HALF_BYTES);
	free(ports);
	return err;
}

/* ---- Inner maps ---- */

/* Create a hash inner map like the program's template (flags 0) sized for n
 * entries, fill it with batch updates, and put it into the outer map's
 * generation slot. */
static int install_hash(int outer, __u32 gen, const char *name, const char *stage, __u32 key_size,
			const void *keys, __u32 val_size, const void *vals, size_t n,
			vw_progress_fn progress, void *ctx)
{
	size_t done = 0;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, name, key_size, val_size, n ? n : 1, NULL);
	if (fd < 0) {
		err = fd;
		pr_warn("cannot create map %s for %zu entries: %s", name, n, strerror(-err));
		return err;
	}
	while (done < n) {
		__u32 count = n - done > BATCH_CHUNK ? BATCH_CHUNK : n - done;

		err = bpf_map_update_batch(fd, (const __u8 *)keys + done * key_size,
					   (const __u8 *)vals + done * val_size, &count, NULL);
		if (err) {
			pr_warn("cannot fill map %s (%zu of %zu entries written): %s", name,
				done + count, n, strerror(-err));
			goto out;
		}
		done += count;
		progress_report(progress, ctx, stage, done, n);
	}
	err = bpf_map_update_elem(outer, &gen, &fd, BPF_ANY);
	if (err)
		pr_warn("cannot install map %s in generation %u: %s", name, gen, strerror(-err));
out:
	close(fd);
	return err;
}

static int install_rules(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	size_t n = cfg->nrules ? cfg->nrules : 1;
	size_t len = page_round(n * sizeof(struct vw_rule));
	void *base = NULL;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "vw_rules_in", sizeof(__u32),
			    sizeof(struct vw_rule), n, &opts);
	if (fd < 0) {
		err = fd;
		pr_warn("cannot create the rule record map for %zu rules: %s", n, strerror(-err));
		return err;
	}
	if (cfg->nrules) {
		base = map_mmap_range(fd, len, 0, PROT_READ | PROT_WRITE);
		if (!base) {
			err = -errno;
			pr_warn("cannot map the rule record map: %s", strerror(-err));
			goto out;
		}
		/* struct vw_rule is 24 bytes: a multiple of 8, so the mmapped array is
		 * packed. */
		memcpy(base, cfg->rules, cfg->nrules * sizeof(struct vw_rule));
		munmap(base, len);
	}
	err = bpf_map_update_elem(m->rules, &gen, &fd, BPF_ANY);
	if (err)
		pr_warn("cannot install the rule record in generation %u: %s", gen, strerror(-err));
out:
	close(fd);
	return err;
}

/* ---- IPv4 ---- */

/* Sort 64-bit items by their upper 32 bits (the address), LSD radix in two
 * 16-bit passes: a million /32 rules sort in a few milliseconds. */
static int radix_sort_hi32(__u64 *a, size_t n)
{
	__u64 *tmp, *src = a, *dst;
	size_t *count;
	int pass;

	if (n < 2)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	count = malloc(65536 * sizeof(*count));
	if (!tmp || !count) {
		free(tmp);
		free(count);
		return -ENOMEM;
	}
	dst = tmp;
	for (pass = 0; pass < 2; pass++) {
		unsigned int shift = 32 + 16 * pass;
		size_t i, sum = 0;

		memset(count, 0, 65536 * sizeof(*count));
		for (i = 0; i < n; i++)
			count[(src[i] >> shift) & 0xffff]++;
		for (i = 0; i < 65536; i++) {
			size_t c = count[i];

			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0xffff]++] = src[i];
		src = dst;
		dst = src == a ? tmp : a;
	}
	/* Two passes: the result is back in a. */
	free(tmp);
	free(count);
	return 0;
}

struct mask_set {
	__u32 keys[MASK_HASH_SIZE];
	__u16 idx[MASK_HASH_SIZE];
	__u32 masks[VW_MAX_MASKS]; /* index -> mask; 0 is the empty mask */
	__u32 n;		   /* indexes used, including 0 */
};

/* Index of a mask in vw_masks, adding it if new; -E2BIG when the generation is
 * full. */
static int mask_index(struct mask_set *s, __u32 mask)
{
	__u32 h;

	if (!mask)
		return 0;
	h = (mask * 2654435761U) >> (32 - 16); /* MASK_HASH_SIZE is 2^16 */
	for (;; h = (h + 1) & (MASK_HASH_SIZE - 1)) {
		if (!s->keys[h])
			break;
		if (s->keys[h] == mask)
			return s->idx[h];
	}
	if (s->n >= VW_MAX_MASKS) {
		pr_warn("the allowlists combine into more than %d distinct class sets",
			VW_MAX_MASKS - 1);
		return -E2BIG;
	}
	s->keys[h] = mask;
	s->idx[h] = s->n;
	s->masks[s->n] = mask;
	return s->n++;
}

/* netmask of a prefix length, host order */
static __u32 v4_netmask(unsigned int plen)
{
	return plen ? ~0U << (32 - plen) : 0;
}

static int build_v4(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg,
		    vw_progress_fn progress, void *ctx)
{
	__u32 *mask24 = NULL, *long_vals = NULL;
	struct vw_v4_key *long_keys = NULL;
	__u8 *lens24 = NULL; /* per /24: the lengths 25..32 present in it (bit L-25) */
	struct mask_set *ms = NULL;
	__u64 *pairs = NULL, *tbl = NULL;
	__u8 *masks_base = NULL;
	size_t i, npairs = 0, nlong = 0, depth = 0, stack[8];
	__u32 last_mask = 0;
	unsigned int plen;
	int last_idx = 0, err = 0;

	mask24 = calloc(TBL24_ENTRIES, sizeof(*mask24));
	lens24 = calloc(TBL24_ENTRIES, 1);
	ms = calloc(1, sizeof(*ms));
	if (!mask24 || !lens24 || !ms) {
		err = -ENOMEM;
		goto out;
	}
	ms->n = 1;

	/* Prefixes up to /24 paint their /24 entries (OR: the union of covering
	 * rules); longer ones are counted. */
	for (i = 0; i < cfg->nrules; i++) {
		const struct vw_rule *r = &cfg->rules[i];
		__u32 a, start, cnt, k;

		if (r->family != VW_FAMILY_V4)
			continue;
		if (r->plen > 24) {
			npairs++;
			continue;
		}
		memcpy(&a, r->addr, 4);
		a = ntohl(a) & v4_netmask(r->plen);
		start = a >> 8;
		cnt = 1U << (24 - r->plen);
		for (k = 0; k < cnt; k++)
			mask24[start + k] |= r->mask;
	}
	if (npairs > VW_MAX_V4_LONG) {
		pr_warn("%zu IPv4 prefixes longer than /24, at most %u fit", npairs, VW_MAX_V4_LONG);
		err = -E2BIG;
		goto out;
	}
	progress_report(progress, ctx, "IPv4 prefixes up to /24", 1, 1);

	/* /25../32: one entry per prefix (no expansion). Items are (address << 32 |
	 * rule index), emitted shortest length first and sorted stably by address, so
	 * each prefix directly follows the prefixes covering it. */
	if (npairs) {
		pairs = malloc(npairs * sizeof(*pairs));
		long_keys = malloc(npairs * sizeof(*long_keys));
		long_vals = malloc(npairs * sizeof(*long_vals));
		if (!pairs || !long_keys || !long_vals) {
			err = -ENOMEM;
			goto out;
		}
	}
	npairs = 0;
	for (plen = 25; plen <= 32; plen++) {
		for (i = 0; i < cfg->nrules; i++) {
			const struct vw_rule *r = &cfg->rules[i];
			__u32 a;

			if (r->family != VW_FAMILY_V4 || r->plen != plen)
				continue;
			memcpy(&a, r->addr, 4);
			a = ntohl(a) & v4_netmask(plen);
			pairs[npairs++] = (__u64)a << 32 | i;
		}
	}
	err = radix_sort_hi32(pairs, npairs);
	if (err)
		goto out;

	/* Merge identical prefixes and fold: each prefix's value is its own mask, the
	 * value of its nearest covering long prefix (the stack) and its /24's mask (the
	 * rules up to /24 covering it), so the longest match holds the union. */
	for (i = 0; i < npairs; i++) {
		const struct vw_rule *r = &cfg->rules[(__u32)pairs[i]];
		__u32 a = pairs[i] >> 32;

		if (nlong && long_keys[nlong - 1].plen == r->plen &&
		    long_keys[nlong - 1].addr == htonl(a)) {
			long_vals[nlong - 1] |= r->mask;
			continue;
		}
		while (depth) {
			const struct vw_v4_key *c = &long_keys[stack[depth - 1]];

			if (c->plen <= r->plen && (a & v4_netmask(c->plen)) == ntohl(c->addr))
				break;
			depth--;
		}
		long_keys[nlong].addr = htonl(a);
		long_keys[nlong].plen = r->plen;
		long_vals[nlong] = r->mask | mask24[a >> 8] |
				   (depth ? long_vals[stack[depth - 1]] : 0);
		lens24[a >> 8] |= 1U << (r->plen - 25);
		if (depth < sizeof(stack) / sizeof(stack[0]))
			stack[depth++] = nlong;
		nlong++;
	}
	free(pairs);
	pairs = NULL;

	/* tbl24: mask index of each /24 (the fallback when no longer prefix matches)
	 * and the lengths 25..32 to probe in vw_v4_long. */
	tbl = map_mmap_range(m->v4_tbl24, TBL24_HALF_BYTES, (off_t)gen * TBL24_HALF_BYTES,
			     PROT_READ | PROT_WRITE);
	if (!tbl) {
		err = -errno;
		pr_warn("cannot map vw_v4_tbl24: %s", strerror(-err));
		goto out;
	}
	for (i = 0; i < VW_V4_TBL24_WORDS; i++) {
		__u64 word = 0;
		unsigned int j;

		for (j = 0; j < 2; j++) {
			size_t e = i * 2 + j;
			__u32 entry;

			if (mask24[e] != last_mask) {
				last_idx = mask_index(ms, mask24[e]);
				if (last_idx < 0) {
					err = last_idx;
					goto out;
				}
				last_mask = mask24[e];
			}
			entry = last_mask ? (__u32)last_idx : 0;
			entry |= (__u32)lens24[e] << VW_TBL24_LENS_SHIFT;
			word |= (__u64)entry << (32 * j);
		}
		tbl[i] = word;
	}
	progress_report(progress, ctx, "IPv4 table", 1, 1);

	masks_base = map_mmap_range(m->masks, MASKS_HALF_BYTES, (off_t)gen * MASKS_HALF_BYTES,
				    PROT_READ | PROT_WRITE);
	if (!masks_base) {
		err = -errno;
		pr_warn("cannot map vw_masks: %s", strerror(-err));
		goto out;
	}
	memset(masks_base, 0, MASKS_HALF_BYTES);
	for (i = 0; i < ms->n; i++)
		memcpy(masks_base + i * MMAP_STRIDE(sizeof(__u32)), &ms->masks[i], sizeof(__u32));

	err = install_hash(m->v4_long, gen, "vw_v4_long_in", "IPv4 /25-/32 prefixes",
			   sizeof(struct vw_v4_key), long_keys, sizeof(__u32), long_vals, nlong,
			   progress, ctx);
out:
	if (masks_base)
		munmap(masks_base, MASKS_HALF_BYTES);
	if (tbl)
		munmap(tbl, TBL24_HALF_BYTES);
	free(pairs);
	free(long_keys);
	free(long_vals);
	free(lens24);
	free(mask24);
	free(ms);
	return err;
}

/* ---- IPv6 ---- */

struct v6_item {
	struct vw_v6_key key;
	__u32 mask;
};

static void v6_mask_addr(__u8 *addr, unsigned int plen)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		if (plen >= 8) {
			plen -= 8;
			continue;
		}
		addr[i] &= (__u8)(0xff00 >> plen);
		plen = 0;
	}
}

/* Order by address, then shorter prefix first: a prefix is then followed
 * directly by all the prefixes it covers. */
static int v6_cmp(const void *pa, const void *pb)
{
	const struct v6_item *a = pa, *b = pb;
	int c = memcmp(a->key.addr, b->key.addr, 16);

	if (c)
		return c;
	return (int)a->key.plen - (int)b->key.plen;
}

static bool v6_covers(const struct vw_v6_key *outer, const struct vw_v6_key *inner)
{
	unsigned int full = outer->plen / 8, rem = outer->plen % 8;

	if (outer->plen > inner->plen)
		return false;
	if (memcmp(outer->addr, inner->addr, full))
		return false;
	return !rem || !((outer->addr[full] ^ inner->addr[full]) & (__u8)(0xff00 >> rem));
}

static int build_v6(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg,
		    struct vw_gen_cfg *gc, vw_progress_fn progress, void *ctx)
{
	struct v6_item *items = NULL;
	struct vw_v6_key *keys = NULL;
	struct vw_v6_f32 *f_vals = NULL;
	size_t stack[VW_V6_LENS + 1];
	bool used[VW_V6_LENS] = {false};
	size_t i, d, n = 0, w = 0, depth = 0, nf = 0;
	__u32 *vals = NULL, *cover32 = NULL, *f_keys = NULL;
	__u64 *bloom;
	int err = 0, len;

	for (i = 0; i < cfg->nrules; i++)
		n += cfg->rules[i].family == VW_FAMILY_V6;
	if (n) {
		items = calloc(n, sizeof(*items));
		keys = calloc(n, sizeof(*keys));
		vals = calloc(n, sizeof(*vals));
		cover32 = calloc(n, sizeof(*cover32));
		f_keys = calloc(n, sizeof(*f_keys));
		f_vals = calloc(n, sizeof(*f_vals));
		if (!items || !keys || !vals || !cover32 || !f_keys || !f_vals) {
			err = -ENOMEM;
			goto out;
		}
	}
	n = 0;
	for (i = 0; i < cfg->nrules; i++) {
		const struct vw_rule *r = &cfg->rules[i];

		if (r->family != VW_FAMILY_V6)
			continue;
		items[n].key.plen = r->plen;
		memcpy(items[n].key.addr, r->addr, 16);
		v6_mask_addr(items[n].key.addr, r->plen);
		items[n].mask = r->mask;
		n++;
	}
	if (n > 1)
		qsort(items, n, sizeof(*items), v6_cmp);

	/* Merge identical prefixes (adjacent after the sort) and fold: walking in
	 * order with a stack of the prefixes covering the current one, each prefix's
	 * value is its own mask OR the value of its nearest cover, so the longest
	 * match holds the union of all covering rules. */
	for (i = 0; i < n; i++) {
		const struct v6_item *it = &items[i];

		if (w && keys[w - 1].plen == it->key.plen &&
		    !memcmp(keys[w - 1].addr, it->key.addr, 16)) {
			/* Same prefix again: it is the top of the stack and nothing has folded it
			 * yet, since the prefixes it covers sort after it. */
			vals[w - 1] |= it->mask;
			continue;
		}
		while (depth && !v6_covers(&keys[stack[depth - 1]], &it->key))
			depth--;
		/* The union of the rules shorter than /32 covering this prefix: the /32
		 * filter's fallback when no prefix of its lengths matches. */
		cover32[w] = 0;
		for (d = depth; d > 0; d--) {
			if (keys[stack[d - 1]].plen < VW_V6_SPLIT) {
				cover32[w] = vals[stack[d - 1]];
				break;
			}
		}
		keys[w] = it->key;
		vals[w] = it->mask | (depth ? vals[stack[depth - 1]] : 0);
		used[it->key.plen] = true;
		stack[depth++] = w;
		w++;
	}
	n = w;
	if (n > VW_MAX_V6) {
		pr_warn("%zu distinct IPv6 prefixes, at most %u fit", n, VW_MAX_V6);
		err = -E2BIG;
		goto out;
	}
	/* v6_lens: the lengths below /32, tried for sources whose /32 has no filter entry. */
	gc->v6_nlens = 0;
	for (len = VW_V6_SPLIT - 1; len >= 0; len--)
		if (used[len])
			gc->v6_lens[gc->v6_nlens++] = len;

	/* vw_v6_f32: one entry per /32 holding prefixes of length >= 32, with their lengths.
	 * Keys are sorted by address, so the prefixes of one /32 are adjacent. */
	for (i = 0; i < n; i++) {
		const struct vw_v6_key *k = &keys[i];
		__u32 hi;

		if (k->plen < VW_V6_SPLIT)
			continue;
		memcpy(&hi, k->addr, sizeof(hi));
		if (!nf || f_keys[nf - 1] != hi) {
			f_keys[nf] = hi;
			memset(&f_vals[nf], 0, sizeof(f_vals[nf]));
			f_vals[nf].mask = cover32[i];
			nf++;
		}
		f_vals[nf - 1].lens[(k->plen - 1) / 64] |= 1ULL << ((k->plen - 1) % 64);
	}
	progress_report(progress, ctx, "IPv6 prefixes folded", 1, 1);

	err = install_hash(m->v6, gen, "vw_v6_in", "IPv6 prefixes", sizeof(struct vw_v6_key), keys,
			   sizeof(__u32), vals, n, progress, ctx);
	if (err)
		goto out;
	err = install_hash(m->v6_f32, gen, "vw_v6_f32_in", "IPv6 /32 filter", sizeof(__u32),
			   f_keys, sizeof(struct vw_v6_f32), f_vals, nf, progress, ctx);
	if (err)
		goto out;
	bloom = map_mmap_range(m->v6_bloom, BLOOM_HALF_BYTES, (off_t)gen * BLOOM_HALF_BYTES,
			       PROT_READ | PROT_WRITE);
	if (!bloom) {
		err = -errno;
		pr_warn("cannot map vw_v6_bloom: %s", strerror(-err));
		goto out;
	}
	memset(bloom, 0, BLOOM_HALF_BYTES);
	for (i = 0; i < nf; i++) {
		__u32 h = VW_V6_BLOOM_HASH(f_keys[i]);

		bloom[h >> 6] |= 1ULL << (h & 63);
	}
	munmap(bloom, BLOOM_HALF_BYTES);
out:
	free(items);
	free(keys);
	free(vals);
	free(cover32);
	free(f_keys);
	free(f_vals);
	return err;
}

/* ---- Generations ---- */

int vw_gen_active(const struct vw_maps *m, __u32 *gen)
{
	__u32 key = 0, val;
	int err;

	err = bpf_map_lookup_elem(m->active, &key, &val);
	if (err) {
		pr_warn("cannot read vw_active: %s", strerror(-err));
		return err;
	}
	/* The program uses the low bit the same way, so a stray value cannot split
	 * the two. */
	*gen = val % VW_GENS;
	return 0;
}

int vw_gen_activate(const struct vw_maps *m, __u32 gen)
{
	__u32 key = 0;
	int err;

	if (gen >= VW_GENS)
		return -EINVAL;
	err = bpf_map_update_elem(m->active, &key, &gen, BPF_ANY);
	if (err)
		pr_warn("cannot switch to generation %u: %s", gen, strerror(-err));
	return err;
}

int vw_gen_cfg_read(const struct vw_maps *m, __u32 gen, struct vw_gen_cfg *out)
{
	int err;

	if (gen >= VW_GENS)
		return -EINVAL;
	err = bpf_map_lookup_elem(m->gen_cfg, &gen, out);
	if (err)
		pr_warn("cannot read generation %u: %s", gen, strerror(-err));
	return err;
}

int vw_gen_build(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg,
		 vw_progress_fn progress, void *ctx)
{
	struct vw_gen_cfg *gc = NULL;
	struct vw_gen_cfg other;
	struct timespec ts;
	__u32 class_mask, active, serial = 0, g;
	unsigned int i;
	size_t r;
	int err;

	if (gen >= VW_GENS)
		return -EINVAL;
	err = validate_config(cfg, &class_mask);
	if (err)
		return err;
	err = vw_gen_active(m, &active);
	if (err)
		return err;
	if (gen == active) {
		pr_warn("generation %u is live; a build must go to the other one", gen);
		return -EBUSY;
	}
	gc = calloc(1, sizeof(*gc));
	if (!gc)
		return -ENOMEM;
	wait_for_readers();
	for (g = 0; g < VW_GENS; g++) {
		err = vw_gen_cfg_read(m, g, &other);
		if (err)
			goto out;
		if (other.serial > serial)
			serial = other.serial;
	}

	/* Mark the generation empty while it is rebuilt, so an interrupted build
	 * never looks like a complete one to `status` or to the next allow add/del.
	 */
	gc->serial = serial;
	err = bpf_map_update_elem(m->gen_cfg, &gen, gc, BPF_ANY);
	if (err) {
		pr_warn("cannot write generation %u: %s", gen, strerror(-err));
		goto out;
	}

	err = build_ports(m, gen, cfg);
	if (err)
		goto out;
	progress_report(progress, ctx, "Ports", 1, 1);
	err = build_v4(m, gen, cfg, progress, ctx);
	if (err)
		goto out;
	err = build_v6(m, gen, cfg, gc, progress, ctx);
	if (err)
		goto out;
	err = install_rules(m, gen, cfg);
	if (err)
		goto out;

	gc->class_mask = class_mask;
	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];

		if (c->policy == VW_POLICY_MONITOR)
			gc->monitor_mask |= 1U << c->id;
		memcpy(gc->class_names[c->id], c->name, VW_CLASS_NAME_MAX);
		gc->class_names[c->id][VW_CLASS_NAME_MAX - 1] = '\0';
	}
	gc->flags = cfg->builtin ? VW_GEN_BUILTIN : 0;
	gc->nrules = cfg->nrules;
	for (r = 0; r < cfg->nrules; r++) {
		if (cfg->rules[r].family == VW_FAMILY_V4)
			gc->nrules_v4++;
		else
			gc->nrules_v6++;
	}
	gc->serial = serial + 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	gc->applied_realtime_ns = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	snprintf(gc->source, sizeof(gc->source), "%s", cfg->source);
	err = bpf_map_update_elem(m->gen_cfg, &gen, gc, BPF_ANY);
	if (err)
		pr_warn("cannot write generation %u: %s", gen, strerror(-err));
out:
	free(gc);
	return err;
}

int vw_apply(const struct vw_maps *m, const struct vw_config *cfg, vw_progress_fn progress,
	     void *ctx)
{
	__u32 active, gen;
	int err;

	err = vw_gen_active(m, &active);
	if (err)
		return err;
	gen = (active + 1) % VW_GENS;
	err = vw_gen_build(m, gen, cfg, progress, ctx);
	if (err)
		return err;
	return vw_gen_activate(m, gen);
}

/* ---- Reading a generation back ---- */

static int read_rules(const struct vw_maps *m, __u32 gen, size_t nrules, struct vw_config *cfg)
{
	size_t len = page_round((nrules ? nrules : 1) * sizeof(struct vw_rule));
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	void *base = NULL;
	int fd = -1, err;
	__u32 id;

	if (!nrules)
		return 0;
	err = bpf_map_lookup_elem(m->rules, &gen, &id);
	if (err) {
		pr_warn("generation %u lists %zu rules but has no rule record: %s", gen, nrules,
			strerror(-err));
		return err;
	}
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0) {
		err = fd;
		pr_warn("cannot open the rule record of generation %u: %s", gen, strerror(-err));
		return err;
	}
	err = bpf_obj_get_info_by_fd(fd, &info, &info_len);
	if (err)
		goto out;
	if (info.max_entries < nrules || info.value_size != sizeof(struct vw_rule)) {
		pr_warn("the rule record of generation %u is smaller than its rule count", gen);
		err = -EINVAL;
		goto out;
	}
	base = map_mmap_range(fd, len, 0, PROT_READ);
	if (!base) {
		err = -errno;
		pr_warn("cannot map the rule record of generation %u: %s", gen, strerror(-err));
		goto out;
	}
	cfg->rules = malloc(nrules * sizeof(struct vw_rule));
	if (!cfg->rules) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(cfg->rules, base, nrules * sizeof(struct vw_rule));
	cfg->nrules = cfg->cap = nrules;
out:
	if (base)
		munmap(base, len);
	close(fd);
	return err;
}

int vw_gen_read_config(const struct vw_maps *m, __u32 gen, struct vw_config *cfg)
{
	int class_of_id[VW_MAX_CLASSES];
	struct vw_gen_cfg *gc = NULL;
	const __u8 *ports = NULL;
	unsigned int c, l4;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	gc = calloc(1, sizeof(*gc));
	if (!gc)
		return -ENOMEM;
	err = vw_gen_cfg_read(m, gen, gc);
	if (err)
		goto out;
	for (c = 0; c < VW_MAX_CLASSES; c++) {
		struct vw_class *cl;

		class_of_id[c] = -1;
		if (!(gc->class_mask & (1U << c)))
			continue;
		class_of_id[c] = cfg->nclasses;
		cl = &cfg->classes[cfg->nclasses++];
		memcpy(cl->name, gc->class_names[c], VW_CLASS_NAME_MAX);
		cl->name[VW_CLASS_NAME_MAX - 1] = '\0';
		cl->id = c;
		cl->policy = (gc->monitor_mask & (1U << c)) ? VW_POLICY_MONITOR : VW_POLICY_DROP;
	}

	/* Port ranges: runs of consecutive ports with the same class, per protocol. */
	ports =
	    map_mmap_range(m->ports, PORTS_HALF_BYTES, (off_t)gen * PORTS_HALF_BYTES, PROT_READ);
	if (!ports) {
		err = -errno;
		pr_warn("cannot map vw_ports: %s", strerror(-err));
		goto out;
	}
	for (l4 = 0; l4 < VW_L4_MAX; l4++) {
		__u32 p = 0;

		while (p < VW_PORTS) {
			__u8 v = ports[(size_t)p * MMAP_STRIDE(sizeof(struct vw_port_cls)) + l4] &
				 VW_PORT_CLS;
			struct vw_class *cl;
			__u32 lo = p;

			while (
			    p + 1 < VW_PORTS &&
			    (ports[(size_t)(p + 1) * MMAP_STRIDE(sizeof(struct vw_port_cls)) + l4] &
			     VW_PORT_CLS) == v)
				p++;
			p++;
			if (!v)
				continue;
			if (v > VW_MAX_CLASSES || class_of_id[v - 1] < 0) {
				pr_warn("generation %u maps port %u to undefined class id %u", gen,
					lo, v - 1);
				err = -EINVAL;
				goto out;
			}
			cl = &cfg->classes[class_of_id[v - 1]];
			if (cl->nranges >= VW_MAX_RANGES) {
				pr_warn("class '%s' has more than %d port ranges", cl->name,
					VW_MAX_RANGES);
				err = -E2BIG;
				goto out;
			}
			cl->ranges[cl->nranges++] =
			    (struct vw_port_range){.lo = lo, .hi = p - 1, .l4 = l4};
		}
	}

	err = read_rules(m, gen, gc->nrules, cfg);
	if (err)
		goto out;
	snprintf(cfg->source, sizeof(cfg->source), "%.*s", VW_SOURCE_MAX - 1, gc->source);
	cfg->builtin = gc->flags & VW_GEN_BUILTIN;
out:
	if (ports)
		munmap((void *)ports, PORTS_HALF_BYTES);
	if (err) {
		free(cfg->rules);
		memset(cfg, 0, sizeof(*cfg));
	}
	free(gc);
	return err;
}

/* ---- Map fds from an object ---- */

const struct vw_map_desc vw_map_descs[VW_NUM_MAPS] = {
	{ "vw_active", offsetof(struct vw_maps, active) },
	{ "vw_gen_cfg", offsetof(struct vw_maps, gen_cfg) },
	{ "vw_ports", offsetof(struct vw_maps, ports) },
	{ "vw_v4_tbl24", offsetof(struct vw_maps, v4_tbl24) },
	{ "vw_masks", offsetof(struct vw_maps, masks) },
	{ "vw_v4_long", offsetof(struct vw_maps, v4_long) },
	{ "vw_v6", offsetof(struct vw_maps, v6) },
	{ "vw_v6_f32", offsetof(struct vw_maps, v6_f32) },
	{ "vw_v6_bloom", offsetof(struct vw_maps, v6_bloom) },
	{ "vw_rules", offsetof(struct vw_maps, rules) },
	{ "vw_ifslot", offsetof(struct vw_maps, ifslot) },
	{ "vw_ifaces", offsetof(struct vw_maps, ifaces) },
	{ "vw_counters", offsetof(struct vw_maps, counters) },
	{ "vw_frags", offsetof(struct vw_maps, frags) },
	{ "vw_sources", offsetof(struct vw_maps, sources) },
};

int vw_maps_from_obj(struct bpf_object *obj, struct vw_maps *m)
{
	unsigned int i;

	for (i = 0; i < VW_NUM_MAPS; i++) {
		int fd = bpf_object__find_map_fd_by_name(obj, vw_map_descs[i].name);

		if (fd < 0) {
			pr_warn("the BPF object has no loaded map %s", vw_map_descs[i].name);
			return -ENOENT;
		}
		*vw_maps_fd(m, i) = fd;
	}
	return 0;
}
