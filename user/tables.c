// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Building a generation of the lookup tables from a config (docs/tables.md
 * explains the layout).
 *
 * A build writes only the generation it is given, which must not be the live
 * one: the program reads vw_active once per packet and then only that
 * generation's half of every table, so a packet sees either the old config or
 * the new one whole. Inner maps (IPv6 hash, leaves, rule record) are created
 * fresh for each build and swapped into the generation's slot.
 *
 * On a machine with more than one CPU, the IPv6 prefixes are sorted and folded
 * by a second thread while the IPv4 table is built: that step reads the config
 * only. Every step that adds masks, nodes or leaves runs in the calling thread.
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

#include "flood.h"
#include "log.h"
#include "sidejob.h"
#include "tables.h"
#include "trie.h"

/* Elements of an mmapped array map are value_size rounded up to 8 bytes apart. */
#define MMAP_STRIDE(sz)	 (((sz) + 7) & ~7UL)
#define PORTS_HALF_BYTES ((size_t)VW_PORTS * MMAP_STRIDE(sizeof(struct vw_port_cls)))
#define MASKS_HALF_BYTES ((size_t)VW_MAX_MASKS * MMAP_STRIDE(sizeof(__u32)))
#define TBL24_HALF_BYTES ((size_t)VW_V4_TBL24_WORDS * sizeof(__u64))
#define BLOOM_HALF_BYTES ((size_t)VW_V6_BLOOM_WORDS * sizeof(__u64))
#define ROOT16_HALF_BYTES ((size_t)VW_V6_ROOT16 * MMAP_STRIDE(sizeof(__u32)))
#define BUCKETS_HALF_BYTES ((size_t)VW_CUCKOO_BUCKETS * sizeof(struct vw_cuckoo_bucket))
#define NODES_HALF_BYTES ((size_t)VW_MAX_NODES * sizeof(struct vw_node))
#define B16_HALF_BYTES ((size_t)VW_V4_B16_WORDS * sizeof(__u64))
#define B24_HALF_BYTES ((size_t)VW_V4_B24_WORDS * sizeof(__u64))
/* Elements per bpf_map_update_batch call: large enough to amortise the syscall,
 * small enough to report progress on a 1,000,000-prefix apply. */
#define BATCH_CHUNK 65536

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
		pr_debug("membarrier: %s; not waiting for in-flight packets\n", strerror(errno));
}

/* ---- Config validation ---- */

static int validate_config(const struct vw_config *cfg, __u32 *class_mask)
{
	__u32 seen = 0;
	unsigned int i, j;
	size_t r;

	if (cfg->nclasses > VW_MAX_CLASSES) {
		pr_warn("config has %u classes, at most %d are supported\n", cfg->nclasses,
			VW_MAX_CLASSES);
		return -E2BIG;
	}
	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];

		if (c->id >= VW_MAX_CLASSES || (seen & (1U << c->id))) {
			pr_warn("class '%.*s' has an invalid or duplicate id %u\n",
				VW_CLASS_NAME_MAX, c->name, c->id);
			return -EINVAL;
		}
		if (!memchr(c->name, '\0', sizeof(c->name)) || !c->name[0]) {
			pr_warn("class %u has an empty or unterminated name\n", c->id);
			return -EINVAL;
		}
		if (c->nranges > VW_MAX_RANGES) {
			pr_warn("class '%s' lists %u port ranges, at most %d are supported\n",
				c->name, c->nranges, VW_MAX_RANGES);
			return -E2BIG;
		}
		for (j = 0; j < c->nranges; j++) {
			if (c->ranges[j].lo > c->ranges[j].hi || c->ranges[j].l4 >= VW_L4_MAX) {
				pr_warn("class '%s' has an invalid port range\n", c->name);
				return -EINVAL;
			}
		}
		seen |= 1U << c->id;
	}
	if (cfg->nrules > VW_MAX_RULES) {
		pr_warn("config has %zu allow rules, at most %u are supported\n", cfg->nrules,
			VW_MAX_RULES);
		return -E2BIG;
	}
	for (r = 0; r < cfg->nrules; r++) {
		const struct vw_rule *rule = &cfg->rules[r];

		if ((rule->family == VW_FAMILY_V4 && rule->plen > 32) ||
		    (rule->family == VW_FAMILY_V6 && rule->plen > 128) ||
		    (rule->family != VW_FAMILY_V4 && rule->family != VW_FAMILY_V6)) {
			pr_warn("allow rule %zu has an invalid family or prefix length\n", r + 1);
			return -EINVAL;
		}
		if (rule->mask & ~seen) {
			pr_warn("allow rule %zu names a class id that is not defined\n", r + 1);
			return -EINVAL;
		}
	}
	for (r = 0; r < cfg->nexempt; r++) {
		if (cfg->exempt[r].mask & ~seen) {
			pr_warn("exempt rule %zu names a class id that is not defined\n", r + 1);
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
					pr_warn("port %u/%s is in two classes\n", p,
						rg->l4 == VW_L4_UDP   ? "udp"
						: rg->l4 == VW_L4_TCP ? "tcp"
								      : "sctp");
					err = -EINVAL;
					goto out;
				}
				*slot = (c->id + 1) |
					(c->policy == VW_POLICY_MONITOR ? VW_PORT_MONITOR : 0) |
					(c->policy == VW_POLICY_OPEN ? VW_PORT_OPEN : 0);
			}
		}
	}
	base = map_mmap_range(m->ports, PORTS_HALF_BYTES, (off_t)gen * PORTS_HALF_BYTES,
			      PROT_READ | PROT_WRITE);
	if (!base) {
		err = -errno;
		pr_warn("cannot map vw_ports: %s\n", strerror(-err));
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
		pr_warn("cannot create map %s for %zu entries: %s\n", name, n, strerror(-err));
		return err;
	}
	while (done < n) {
		__u32 count = n - done > BATCH_CHUNK ? BATCH_CHUNK : n - done;

		err = bpf_map_update_batch(fd, (const __u8 *)keys + done * key_size,
					   (const __u8 *)vals + done * val_size, &count, NULL);
		if (err) {
			pr_warn("cannot fill map %s (%zu of %zu entries written): %s\n", name,
				done + count, n, strerror(-err));
			goto out;
		}
		done += count;
		progress_report(progress, ctx, stage, done, n);
	}
	err = bpf_map_update_elem(outer, &gen, &fd, BPF_ANY);
	if (err)
		pr_warn("cannot install map %s in generation %u: %s\n", name, gen, strerror(-err));
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
		pr_warn("cannot create the rule record map for %zu rules: %s\n", n, strerror(-err));
		return err;
	}
	if (cfg->nrules) {
		base = map_mmap_range(fd, len, 0, PROT_READ | PROT_WRITE);
		if (!base) {
			err = -errno;
			pr_warn("cannot map the rule record map: %s\n", strerror(-err));
			goto out;
		}
		/* struct vw_rule is 24 bytes: a multiple of 8, so the mmapped array is
		 * packed. */
		memcpy(base, cfg->rules, cfg->nrules * sizeof(struct vw_rule));
		munmap(base, len);
	}
	err = bpf_map_update_elem(m->rules, &gen, &fd, BPF_ANY);
	if (err)
		pr_warn("cannot install the rule record in generation %u: %s\n", gen,
			strerror(-err));
out:
	close(fd);
	return err;
}

/* ---- Sorting ---- */

/* The 16-bit digit d of a prefix's sort key, the address's bytes then its length: digit
 * addr_bytes / 2 is the length, digit i < addr_bytes / 2 the address bytes 2i and 2i + 1. */
static unsigned int pfx_digit(const struct vw_pfx *p, unsigned int d, unsigned int addr_bytes)
{
	if (d == addr_bytes / 2)
		return p->plen;
	return (unsigned int)p->addr[2 * d] << 8 | p->addr[2 * d + 1];
}

/* Sorts prefixes by address, then shorter first (a prefix is then followed directly by all the
 * prefixes it covers), with an LSD radix sort of 16 bits a pass; a pass where every prefix has the same digit is skipped. A million prefixes sort in
 * tens of milliseconds, where qsort with a comparison call per step took most of a second. */
static int pfx_sort(struct vw_pfx *a, size_t n, unsigned int addr_bytes)
{
	struct vw_pfx *tmp, *src = a, *dst;
	size_t *count, i, sum;
	unsigned int d;

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
	for (d = addr_bytes / 2 + 1; d-- > 0;) {
		memset(count, 0, 65536 * sizeof(*count));
		for (i = 0; i < n; i++)
			count[pfx_digit(&src[i], d, addr_bytes)]++;
		if (count[pfx_digit(&src[0], d, addr_bytes)] == n)
			continue;
		for (i = 0, sum = 0; i < 65536; i++) {
			size_t c = count[i];

			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[pfx_digit(&src[i], d, addr_bytes)]++] = src[i];
		dst = src;
		src = src == a ? tmp : a;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	free(tmp);
	free(count);
	return 0;
}

/* ---- Cuckoo tables ---- */

/* A free slot of bucket b, or -1. */
static int bucket_free_slot(const struct vw_cuckoo_bucket *b)
{
	int s;

	for (s = 0; s < (int)VW_CUCKOO_SLOTS; s++)
		if (!(b->used >> s & 1))
			return s;
	return -1;
}

static void bucket_put(struct vw_cuckoo_bucket *b, int s, __u32 key, __u32 val)
{
	b->key[s] = key;
	b->val[s] = val;
	b->used |= 1U << s;
}

/* Steps a key may push others along before the table counts as full. */
#define BUCKET_MAX_KICKS 4096

/* A key goes to the emptier of its two buckets. When both are full, it takes a slot and the key it
 * pushes out moves to its own other bucket, and so on (cuckoo hashing): every key stays in one of
 * its two buckets, which is all the program reads. */
int vw_cuckoo_insert(struct vw_cuckoo_bucket *tab, __u32 key, __u32 val)
{
	__u32 b1 = VW_CUCKOO_H1(key), b2 = VW_CUCKOO_H2(key), b, k;
	int s1 = bucket_free_slot(&tab[b1]), s2 = bucket_free_slot(&tab[b2]), s;

	if (s1 >= 0 && (s2 < 0 || __builtin_popcount(tab[b1].used) <=
					 __builtin_popcount(tab[b2].used))) {
		bucket_put(&tab[b1], s1, key, val);
		return 0;
	}
	if (s2 >= 0) {
		bucket_put(&tab[b2], s2, key, val);
		return 0;
	}
	b = key & 1 ? b2 : b1;
	for (k = 0; k < BUCKET_MAX_KICKS; k++) {
		__u32 vk, vv;

		/* Push out a slot that varies from step to step, so the walk does not cycle. */
		s = (int)((k * 5 + key) % VW_CUCKOO_SLOTS);
		vk = tab[b].key[s];
		vv = tab[b].val[s];
		tab[b].key[s] = key;
		tab[b].val[s] = val;
		key = vk;
		val = vv;
		b = VW_CUCKOO_H1(key) == b ? VW_CUCKOO_H2(key) : VW_CUCKOO_H1(key);
		s = bucket_free_slot(&tab[b]);
		if (s >= 0) {
			bucket_put(&tab[b], s, key, val);
			return 0;
		}
	}
	return -ENOSPC;
}

struct vw_cuckoo_bucket *vw_cuckoo_find(struct vw_cuckoo_bucket *tab, __u32 key,
					unsigned int *slot)
{
	__u32 b[2] = {VW_CUCKOO_H1(key), VW_CUCKOO_H2(key)};
	unsigned int k, s;

	for (k = 0; k < 2; k++)
		for (s = 0; s < VW_CUCKOO_SLOTS; s++)
			if ((tab[b[k]].used >> s & 1) && tab[b[k]].key[s] == key) {
				*slot = s;
				return &tab[b[k]];
			}
	return NULL;
}

/* Maps a generation's half of a cuckoo table, empties it and places n keys with their values:
 * what the half held before goes, so no key of an earlier build can answer a lookup. */
static int write_buckets(int fd, __u32 gen, const char *what, const __u32 *keys,
			 const __u32 *vals, size_t n)
{
	struct vw_cuckoo_bucket *tab;
	size_t i;
	int err = 0;

	if (n > VW_MAX_CUCKOO_KEYS) {
		pr_warn("%zu %s, at most %u fit\n", n, what, VW_MAX_CUCKOO_KEYS);
		return -E2BIG;
	}
	tab = map_mmap_range(fd, BUCKETS_HALF_BYTES, (off_t)gen * BUCKETS_HALF_BYTES,
			     PROT_READ | PROT_WRITE);
	if (!tab) {
		err = -errno;
		pr_warn("cannot map the table of %s: %s\n", what, strerror(-err));
		return err;
	}
	memset(tab, 0, BUCKETS_HALF_BYTES);
	for (i = 0; i < n && !err; i++) {
		/* the buckets of a key ahead load while this one is placed */
		if (i + 8 < n) {
			__builtin_prefetch(&tab[VW_CUCKOO_H1(keys[i + 8])]);
			__builtin_prefetch(&tab[VW_CUCKOO_H2(keys[i + 8])]);
		}
		err = vw_cuckoo_insert(tab, keys[i], vals[i]);
		if (err)
			pr_warn("the table of %s has no room for %zu of them (placed %zu)\n", what,
				n, i);
	}
	munmap(tab, BUCKETS_HALF_BYTES);
	return err;
}

/* ---- IPv4 ---- */

/* netmask of a prefix length, host order */
static __u32 v4_netmask(unsigned int plen)
{
	return plen ? ~0U << (32 - plen) : 0;
}

static void set_bit64(__u64 *words, __u32 bit)
{
	words[bit >> 6] |= 1ULL << (bit & 63);
}

static bool test_bit64(const __u64 *words, __u32 bit)
{
	return words[bit >> 6] >> (bit & 63) & 1;
}

/* A /24 holding longer rules, and the tbl24 entry that replaces its mask entry. */
struct v4_long24 {
	__u32 slash24;
	__u32 entry;
};

struct v4_tables {
	/* The generation's tbl24 half, mapped. While the build paints and folds, a /24's entry holds
	 * the raw union of the rules up to /24 covering it (valid in the /16s of used16 only); the
	 * write turns each into its entry in place. Painting into the map's own pages, which exist
	 * as long as the map does, costs no fresh 64 MiB, whose first touch was a page fault per
	 * 4 KiB. */
	__u64 *tbl;
	__u64 used16[VW_V4_B16_WORDS]; /* the /16s holding any rule: the only ones written */
	struct vw_pfx *longs;	   /* /25../32 prefixes, sorted by address then length, merged */
	size_t nlong;
	struct v4_long24 *long24;  /* the /24s holding longer rules, ascending */
	size_t nlong24;
	__u32 *keys;		   /* vw_v4_long entries: the prefix, network order */
	__u32 *vals;
	size_t nkeys;
};

static void v4_tables_free(struct v4_tables *t)
{
	if (t->tbl)
		munmap(t->tbl, TBL24_HALF_BYTES);
	free(t->longs);
	free(t->long24);
	free(t->keys);
	free(t->vals);
}

static __u32 pfx_v4(const struct vw_pfx *p)
{
	__u32 a;

	memcpy(&a, p->addr, 4);
	return ntohl(a);
}

/* The entry of a /24: half of a 64-bit word, as VW_TBL24_SHIFT reads it. */
static void tbl_set(__u64 *tbl, __u32 s24, __u32 e)
{
	unsigned int sh = 32 * (s24 & 1);

	tbl[s24 >> 1] = (tbl[s24 >> 1] & ~(0xffffffffULL << sh)) | (__u64)e << sh;
}

static __u32 tbl_get(const __u64 *tbl, __u32 s24)
{
	return (__u32)(tbl[s24 >> 1] >> (32 * (s24 & 1)));
}

/* Claims /16 s16 for this build: its 256 entries still hold what an earlier build of the half
 * wrote, so the first claim zeroes them. */
static void v4_claim16(struct v4_tables *t, __u32 s16)
{
	if (test_bit64(t->used16, s16))
		return;
	set_bit64(t->used16, s16);
	memset(&t->tbl[s16 << 7], 0, 128 * sizeof(*t->tbl));
}

/* Paint: rules up to /24 OR their mask into the /24s they cover (the union falls out whatever the
 * order); longer ones are collected, sorted by address then length, identical ones merged. */
static int v4_paint(struct v4_tables *t, const struct vw_maps *m, __u32 gen,
		    const struct vw_config *cfg)
{
	size_t i, n = 0, w;
	int err;

	t->tbl = map_mmap_range(m->v4_tbl24, TBL24_HALF_BYTES, (off_t)gen * TBL24_HALF_BYTES,
				PROT_READ | PROT_WRITE);
	if (!t->tbl) {
		err = -errno;
		pr_warn("cannot map the IPv4 table: %s\n", strerror(-err));
		return err;
	}
	for (i = 0; i < cfg->nrules; i++)
		n += cfg->rules[i].family == VW_FAMILY_V4 && cfg->rules[i].plen > 24;
	t->longs = malloc((n ? n : 1) * sizeof(*t->longs));
	if (!t->longs)
		return -ENOMEM;
	for (i = 0, n = 0; i < cfg->nrules; i++) {
		const struct vw_rule *r = &cfg->rules[i];
		__u32 a, k;

		/* the /24 of a rule ahead loads while this one is painted */
		if (i + 8 < cfg->nrules && cfg->rules[i + 8].family == VW_FAMILY_V4) {
			memcpy(&a, cfg->rules[i + 8].addr, 4);
			__builtin_prefetch(&t->tbl[ntohl(a) >> 9]);
		}
		if (r->family != VW_FAMILY_V4)
			continue;
		memcpy(&a, r->addr, 4);
		a = ntohl(a) & v4_netmask(r->plen);
		if (r->plen > 24) {
			struct vw_pfx *l = &t->longs[n++];

			memset(l, 0, sizeof(*l));
			a = htonl(a);
			memcpy(l->addr, &a, 4);
			l->plen = r->plen;
			l->mask = r->mask;
			continue;
		}
		for (k = 0; k < 1U << (24 - r->plen); k++) {
			__u32 s24 = (a >> 8) + k;

			v4_claim16(t, s24 >> 8);
			tbl_set(t->tbl, s24, tbl_get(t->tbl, s24) | r->mask);
		}
	}
	err = pfx_sort(t->longs, n, 4);
	if (err)
		return err;
	for (i = 0, w = 0; i < n; i++) {
		struct vw_pfx *last = w ? &t->longs[w - 1] : NULL;

		if (last && last->plen == t->longs[i].plen &&
		    !memcmp(last->addr, t->longs[i].addr, 4)) {
			last->mask |= t->longs[i].mask;
			continue;
		}
		t->longs[w++] = t->longs[i];
		v4_claim16(t, pfx_v4(&t->longs[i]) >> 16);
	}
	t->nlong = w;
	return 0;
}

/* Fold: per /24 holding longer rules, either one length (each prefix a vw_v4_long entry holding
 * the union of its rule and the /24's: nothing else of that length can cover it) or several (the
 * /24's 256 addresses expanded into one node, so a source costs one read, not a probe per
 * length). */
static int v4_fold(struct v4_tables *t, struct vw_build *b)
{
	size_t i = 0, j;
	int err;

	t->long24 = malloc((t->nlong ? t->nlong : 1) * sizeof(*t->long24));
	t->keys = malloc((t->nlong ? t->nlong : 1) * sizeof(*t->keys));
	t->vals = malloc((t->nlong ? t->nlong : 1) * sizeof(*t->vals));
	if (!t->long24 || !t->keys || !t->vals)
		return -ENOMEM;
	while (i < t->nlong) {
		__u32 s24 = pfx_v4(&t->longs[i]) >> 8, plen = t->longs[i].plen;
		struct v4_long24 *l = &t->long24[t->nlong24++];
		bool one_len = true;

		for (j = i; j < t->nlong && pfx_v4(&t->longs[j]) >> 8 == s24; j++)
			one_len &= t->longs[j].plen == plen;
		l->slash24 = s24;
		if (one_len) {
			err = vw_mask_entry(b, tbl_get(t->tbl, s24), &l->entry);
			if (err)
				return err;
			l->entry |= VW_ENT(VW_ENT_PROBE, plen << VW_ENT_PLEN_SHIFT);
			for (; i < j; i++) {
				memcpy(&t->keys[t->nkeys], t->longs[i].addr, 4);
				t->vals[t->nkeys++] = t->longs[i].mask | tbl_get(t->tbl, s24);
			}
		} else {
			err = vw_trie_entry(b, &t->longs[i], j - i, 24, tbl_get(t->tbl, s24), 0,
					    &l->entry);
			if (err)
				return err;
			i = j;
		}
	}
	return 0;
}

/* Write: the /16 and /24 bitmaps of the /24s with any rule, their tbl24 entries (mask entries,
 * with the /24s holding longer rules patched in), and the vw_v4_long buckets. The program reads a
 * tbl24 entry only under a set /24 bit, so the bitmaps are rebuilt whole and only the /16s
 * holding a rule are visited: entries left in this half by its previous build are unreachable,
 * and a reload costs what the rules cover, not the 2^24 /24s. */
static int v4_write(const struct v4_tables *t, struct vw_build *b, const struct vw_maps *m,
		    __u32 gen, vw_progress_fn progress, void *ctx)
{
	__u64 *b16 = NULL, *b24 = NULL;
	__u32 s16, s24, last_mask = 0, last_entry = 0;
	size_t l = 0;
	int err = 0;

	b16 = map_mmap_range(m->v4_b16, B16_HALF_BYTES, (off_t)gen * B16_HALF_BYTES,
			     PROT_READ | PROT_WRITE);
	b24 = map_mmap_range(m->v4_b24, B24_HALF_BYTES, (off_t)gen * B24_HALF_BYTES,
			     PROT_READ | PROT_WRITE);
	if (!b16 || !b24) {
		err = -errno;
		pr_warn("cannot map the IPv4 tables: %s\n", strerror(-err));
		goto out;
	}
	memset(b16, 0, B16_HALF_BYTES);
	memset(b24, 0, B24_HALF_BYTES);
	for (s16 = 0; s16 < 1U << 16; s16++) {
		if (!test_bit64(t->used16, s16))
			continue;
		for (s24 = s16 << 8; s24 < (s16 + 1) << 8; s24++) {
			__u32 e = 0, mask = tbl_get(t->tbl, s24);

			if (l < t->nlong24 && t->long24[l].slash24 == s24) {
				e = t->long24[l++].entry;
			} else if (!mask) {
				continue; /* zeroed when its /16 was claimed: stays 0 */
			} else if (mask == last_mask) {
				e = last_entry; /* a short prefix paints a run of /24s alike */
			} else {
				err = vw_mask_entry(b, mask, &e);
				if (err)
					goto out;
				last_mask = mask;
				last_entry = e;
			}
			tbl_set(t->tbl, s24, e);
			set_bit64(b24, s24);
			set_bit64(b16, s16);
		}
	}
	progress_report(progress, ctx, "IPv4 table", 1, 1);
	err = write_buckets(m->v4_long, gen,
			    "IPv4 prefixes longer than /24 in /24s whose longer prefixes have one length",
			    t->keys, t->vals, t->nkeys);
	progress_report(progress, ctx, "IPv4 /25-/32 prefixes", 1, 1);
out:
	if (b16)
		munmap(b16, B16_HALF_BYTES);
	if (b24)
		munmap(b24, B24_HALF_BYTES);
	return err;
}

static int build_v4(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg,
		    struct vw_build *b, vw_progress_fn progress, void *ctx)
{
	struct v4_tables t = {0};
	int err;

	err = v4_paint(&t, m, gen, cfg);
	if (!err) {
		progress_report(progress, ctx, "IPv4 prefixes up to /24", 1, 1);
		err = v4_fold(&t, b);
	}
	if (!err)
		err = v4_write(&t, b, m, gen, progress, ctx);
	v4_tables_free(&t);
	return err;
}

/* ---- IPv6 ---- */

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

static bool pfx_covers(const struct vw_pfx *outer, const struct vw_pfx *inner)
{
	unsigned int full = outer->plen / 8, rem = outer->plen % 8;

	if (outer->plen > inner->plen)
		return false;
	if (memcmp(outer->addr, inner->addr, full))
		return false;
	return !rem || !((outer->addr[full] ^ inner->addr[full]) & (__u8)(0xff00 >> rem));
}

static __u32 pfx_hi32(const struct vw_pfx *p)
{
	__u32 hi;

	memcpy(&hi, p->addr, 4);
	return hi;
}

struct v6_tables {
	struct vw_pfx *items; /* every IPv6 prefix, sorted by address then length, merged */
	__u32 *vals;	      /* folded: the union of the rules covering items[i] */
	__u32 *upto32;	      /* the union of the rules up to /32 covering items[i] */
	size_t n;
	__u32 *root16;	      /* per /16: its entry (rules shorter than /32) */
	struct vw_v6_key *keys; /* vw_v6 entries */
	__u32 *kvals;
	size_t nkeys;
	__u32 *f_keys;	      /* vw_v6_f32 entries: the /32 and its root */
	__u32 *f_roots;
	size_t nf;
};

static void v6_tables_free(struct v6_tables *t)
{
	free(t->items);
	free(t->vals);
	free(t->upto32);
	free(t->root16);
	free(t->keys);
	free(t->kvals);
	free(t->f_keys);
	free(t->f_roots);
}

/* Paint collects the prefixes (sorted, merged); fold gives each its union: walking in order with
 * a stack of the prefixes covering the current one, its value is its own mask OR its nearest
 * cover's value. */
static int v6_paint_fold(struct v6_tables *t, const struct vw_config *cfg)
{
	size_t i, n = 0, w = 0, depth = 0, stack[VW_V6_LENS + 1];

	for (i = 0; i < cfg->nrules; i++)
		n += cfg->rules[i].family == VW_FAMILY_V6;
	t->items = calloc(n ? n : 1, sizeof(*t->items));
	t->vals = calloc(n ? n : 1, sizeof(*t->vals));
	t->upto32 = calloc(n ? n : 1, sizeof(*t->upto32));
	if (!t->items || !t->vals || !t->upto32)
		return -ENOMEM;
	for (i = 0, n = 0; i < cfg->nrules; i++) {
		const struct vw_rule *r = &cfg->rules[i];

		if (r->family != VW_FAMILY_V6)
			continue;
		memcpy(t->items[n].addr, r->addr, 16);
		v6_mask_addr(t->items[n].addr, r->plen);
		t->items[n].plen = r->plen;
		t->items[n++].mask = r->mask;
	}
	if (pfx_sort(t->items, n, 16))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct vw_pfx *it = &t->items[i];

		if (w && t->items[w - 1].plen == it->plen &&
		    !memcmp(t->items[w - 1].addr, it->addr, 16)) {
			/* Same prefix again: it is the top of the stack and nothing has folded
			 * it yet, since the prefixes it covers sort after it. */
			t->items[w - 1].mask |= it->mask;
			t->vals[w - 1] |= it->mask;
			if (it->plen <= VW_V6_SPLIT)
				t->upto32[w - 1] = t->vals[w - 1];
			continue;
		}
		while (depth && !pfx_covers(&t->items[stack[depth - 1]], it))
			depth--;
		t->items[w] = *it;
		t->vals[w] = it->mask | (depth ? t->vals[stack[depth - 1]] : 0);
		t->upto32[w] = it->plen <= VW_V6_SPLIT ? t->vals[w]
			       : depth		       ? t->upto32[stack[depth - 1]]
						       : 0;
		stack[depth++] = w++;
	}
	t->n = w;
	return t->n > VW_MAX_V6 ? -E2BIG : 0;
}

/* The IPv6 sort and fold, run by a thread of its own while the IPv4 table is built. */
struct v6_fold_job {
	struct v6_tables t;
	const struct vw_config *cfg;
	int err;
	struct vw_side_job job;
};

static void *v6_fold_run(void *arg)
{
	struct v6_fold_job *j = arg;

	j->err = v6_paint_fold(&j->t, j->cfg);
	return NULL;
}

static void v6_fold_start(struct v6_fold_job *j, const struct vw_config *cfg)
{
	memset(j, 0, sizeof(*j));
	j->cfg = cfg;
	vw_side_start(&j->job, v6_fold_run, j);
}

/* Rules shorter than /32: up to /16 they paint their /16 roots; /17../31 make a trie below
 * their /16 (at most two nodes and a leaf deep). */
static int v6_short(struct v6_tables *t, struct vw_build *b, struct vw_gen_cfg *gc)
{
	bool used[VW_V6_SPLIT] = {false};
	struct vw_pfx *mid = NULL;
	size_t i, j, nmid = 0;
	__u32 *paint;
	int err = 0, len;

	t->root16 = calloc(VW_V6_ROOT16, sizeof(*t->root16));
	paint = calloc(VW_V6_ROOT16, sizeof(*paint));
	mid = malloc((t->n ? t->n : 1) * sizeof(*mid));
	if (!t->root16 || !paint || !mid) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < t->n; i++) {
		const struct vw_pfx *p = &t->items[i];
		__u32 hi = ntohl(pfx_hi32(p)) >> 16, k;

		if (p->plen >= VW_V6_SPLIT)
			continue;
		used[p->plen] = true;
		if (p->plen > 16) {
			mid[nmid++] = *p;
			continue;
		}
		for (k = 0; k < 1U << (16 - p->plen); k++)
			paint[hi + k] |= p->mask;
	}
	for (i = 0, j = 0; i < VW_V6_ROOT16; i++) {
		size_t lo = j;

		while (j < nmid && ntohl(pfx_hi32(&mid[j])) >> 16 == i)
			j++;
		err = vw_trie_entry(b, mid + lo, j - lo, 16, paint[i],
				    VW_TRIE_LEAVES | VW_TRIE_PROBES, &t->root16[i]);
		if (err)
			goto out;
	}
	gc->v6_nlens = 0;
	for (len = VW_V6_SPLIT - 1; len >= 0; len--)
		if (used[len])
			gc->v6_lens[gc->v6_nlens++] = len;
out:
	free(paint);
	free(mid);
	return err;
}

/* Rules of /32 and longer, per /32: a vw_v6_f32 entry whose root holds the union of the rules up
 * to /32 covering it (a mask), or leads to its longer rules: a leaf (one), a probe (one length)
 * or a trie (several lengths meet). */
static int v6_long(struct v6_tables *t, struct vw_build *b)
{
	struct vw_pfx *group = NULL;
	size_t i = 0, j;
	int err = 0;

	t->f_keys = malloc((t->n ? t->n : 1) * sizeof(*t->f_keys));
	t->f_roots = calloc(t->n ? t->n : 1, sizeof(*t->f_roots));
	group = malloc((t->n ? t->n : 1) * sizeof(*group));
	if (!t->f_keys || !t->f_roots || !group) {
		err = -ENOMEM;
		goto out;
	}
	while (i < t->n) {
		__u32 hi = pfx_hi32(&t->items[i]);
		size_t ng = 0;

		if (t->items[i].plen < VW_V6_SPLIT) {
			i++;
			continue;
		}
		/* The /32's prefixes are adjacent: nothing shorter than /32 sorts among them. */
		for (j = i; j < t->n && pfx_hi32(&t->items[j]) == hi; j++)
			if (t->items[j].plen > VW_V6_SPLIT)
				group[ng++] = t->items[j];
		t->f_keys[t->nf] = hi;
		err = vw_trie_entry(b, group, ng, VW_V6_SPLIT, t->upto32[i],
				    VW_TRIE_LEAVES | VW_TRIE_PROBES, &t->f_roots[t->nf]);
		if (err)
			goto out;
		t->nf++;
		i = j;
	}
out:
	free(group);
	return err;
}

/* The prefixes behind probes, as vw_v6 entries. */
static int v6_probe_keys(struct v6_tables *t, const struct vw_build *b)
{
	size_t i;

	t->keys = malloc((b->nprobes ? b->nprobes : 1) * sizeof(*t->keys));
	t->kvals = malloc((b->nprobes ? b->nprobes : 1) * sizeof(*t->kvals));
	if (!t->keys || !t->kvals)
		return -ENOMEM;
	for (i = 0; i < b->nprobes; i++) {
		t->keys[i].plen = b->probes[i].plen;
		memcpy(t->keys[i].addr, b->probes[i].addr, 16);
		t->kvals[i] = b->probes[i].mask;
	}
	t->nkeys = b->nprobes;
	return 0;
}

static int v6_write(const struct v6_tables *t, const struct vw_maps *m, __u32 gen,
		    vw_progress_fn progress, void *ctx)
{
	__u32 *root16 = NULL;
	__u64 *bloom = NULL;
	size_t i;
	int err;

	err = install_hash(m->v6, gen, "vw_v6_in", "IPv6 prefixes", sizeof(struct vw_v6_key),
			   t->keys, sizeof(__u32), t->kvals, t->nkeys, progress, ctx);
	if (err)
		return err;
	bloom = map_mmap_range(m->v6_bloom, BLOOM_HALF_BYTES, (off_t)gen * BLOOM_HALF_BYTES,
			       PROT_READ | PROT_WRITE);
	root16 = map_mmap_range(m->v6_root16, ROOT16_HALF_BYTES, (off_t)gen * ROOT16_HALF_BYTES,
				PROT_READ | PROT_WRITE);
	if (!bloom || !root16) {
		err = -errno;
		pr_warn("cannot map the IPv6 tables: %s\n", strerror(-err));
		goto out;
	}
	err = write_buckets(m->v6_f32, gen, "IPv6 /32s holding rules of /32 or longer", t->f_keys,
			    t->f_roots, t->nf);
	if (err)
		goto out;
	memset(bloom, 0, BLOOM_HALF_BYTES);
	for (i = 0; i < t->nf; i++)
		set_bit64(bloom, VW_V6_BLOOM_HASH(t->f_keys[i]));
	for (i = 0; i < VW_V6_ROOT16; i++)
		memcpy((__u8 *)root16 + i * MMAP_STRIDE(sizeof(__u32)), &t->root16[i],
		       sizeof(__u32));
out:
	if (bloom)
		munmap(bloom, BLOOM_HALF_BYTES);
	if (root16)
		munmap(root16, ROOT16_HALF_BYTES);
	return err;
}

/* The IPv6 tables from the job's sorted and folded prefixes. */
static int build_v6(const struct vw_maps *m, __u32 gen, struct v6_fold_job *j, struct vw_build *b,
		    struct vw_gen_cfg *gc, vw_progress_fn progress, void *ctx)
{
	struct v6_tables *t = &j->t;
	int err;

	vw_side_join(&j->job);
	err = j->err;
	if (err == -E2BIG)
		pr_warn("%zu distinct IPv6 prefixes, at most %u fit\n", t->n, VW_MAX_V6);
	if (!err)
		err = v6_short(t, b, gc);
	if (!err)
		err = v6_long(t, b);
	if (!err)
		err = v6_probe_keys(t, b);
	if (!err) {
		progress_report(progress, ctx, "IPv6 prefixes folded", 1, 1);
		err = v6_write(t, m, gen, progress, ctx);
	}
	return err;
}

/* ---- What both families share: masks, nodes, leaves ---- */

/* An ARRAY inner map (BPF_F_INNER_MAP | BPF_F_MMAPABLE) sized for n elements, filled through
 * mmap, put into the outer map's generation slot. */
static int install_array(int outer, __u32 gen, const char *name, __u32 val_size, const void *vals,
			 size_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	size_t len = page_round((n ? n : 1) * MMAP_STRIDE(val_size));
	void *base;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32), val_size, n ? n : 1, &opts);
	if (fd < 0) {
		pr_warn("cannot create map %s for %zu entries: %s\n", name, n, strerror(-fd));
		return fd;
	}
	base = map_mmap_range(fd, len, 0, PROT_READ | PROT_WRITE);
	if (!base) {
		err = -errno;
		pr_warn("cannot map %s: %s\n", name, strerror(-err));
		goto out;
	}
	/* Values are multiples of 8 bytes: the mmapped array is packed. */
	memcpy(base, vals, n * val_size);
	munmap(base, len);
	err = bpf_map_update_elem(outer, &gen, &fd, BPF_ANY);
	if (err)
		pr_warn("cannot install map %s in generation %u: %s\n", name, gen, strerror(-err));
out:
	close(fd);
	return err;
}

static int build_shared(const struct vw_maps *m, __u32 gen, const struct vw_build *b)
{
	const __u32 *masks;
	__u8 *base;
	size_t i, n;
	int err;

	_Static_assert(sizeof(struct vw_node) % 8 == 0 && sizeof(struct vw_leaf) % 8 == 0,
		       "node and leaf arrays are packed when mmapped");
	masks = vw_build_masks(b, &n);
	base = map_mmap_range(m->masks, MASKS_HALF_BYTES, (off_t)gen * MASKS_HALF_BYTES,
			      PROT_READ | PROT_WRITE);
	if (!base) {
		err = -errno;
		pr_warn("cannot map vw_masks: %s\n", strerror(-err));
		return err;
	}
	memset(base, 0, MASKS_HALF_BYTES);
	for (i = 0; i < n; i++)
		memcpy(base + i * MMAP_STRIDE(sizeof(__u32)), &masks[i], sizeof(__u32));
	munmap(base, MASKS_HALF_BYTES);
	pr_debug("trie: %zu nodes, %zu leaves, %zu probed prefixes\n", b->nnodes - 1,
		 b->nleaves - 1, b->nprobes);
	if (b->nnodes > 1) {
		base = map_mmap_range(m->nodes, NODES_HALF_BYTES, (off_t)gen * NODES_HALF_BYTES,
				      PROT_READ | PROT_WRITE);
		if (!base) {
			err = -errno;
			pr_warn("cannot map vw_nodes: %s\n", strerror(-err));
			return err;
		}
		memcpy(base, b->nodes, b->nnodes * sizeof(struct vw_node));
		munmap(base, NODES_HALF_BYTES);
	}
	return install_array(m->leaves, gen, "vw_leaves_in", sizeof(struct vw_leaf), b->leaves,
			     b->nleaves > 1 ? b->nleaves : 0);
}

/* ---- Generations ---- */

int vw_gen_active(const struct vw_maps *m, __u32 *gen)
{
	__u32 key = 0, val;
	int err;

	err = bpf_map_lookup_elem(m->active, &key, &val);
	if (err) {
		pr_warn("cannot read vw_active: %s\n", strerror(-err));
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
		pr_warn("cannot switch to generation %u: %s\n", gen, strerror(-err));
	return err;
}

int vw_gen_cfg_read(const struct vw_maps *m, __u32 gen, struct vw_gen_cfg *out)
{
	int err;

	if (gen >= VW_GENS)
		return -EINVAL;
	err = bpf_map_lookup_elem(m->gen_cfg, &gen, out);
	if (err)
		pr_warn("cannot read generation %u: %s\n", gen, strerror(-err));
	return err;
}

int vw_gen_build(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg,
		 vw_progress_fn progress, void *ctx)
{
	struct vw_gen_cfg *gc = NULL;
	struct vw_gen_cfg other;
	struct v6_fold_job v6;
	struct vw_build b;
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
		pr_warn("generation %u is live; a build must go to the other one\n", gen);
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
		pr_warn("cannot write generation %u: %s\n", gen, strerror(-err));
		goto out;
	}

	err = build_ports(m, gen, cfg);
	if (err)
		goto out;
	progress_report(progress, ctx, "Ports", 1, 1);
	v6_fold_start(&v6, cfg);
	err = vw_build_init(&b);
	if (!err)
		err = build_v4(m, gen, cfg, &b, progress, ctx);
	if (!err)
		err = build_v6(m, gen, &v6, &b, gc, progress, ctx);
	vw_side_join(&v6.job); /* whatever failed first */
	v6_tables_free(&v6.t);
	if (!err)
		err = build_shared(m, gen, &b);
	vw_build_free(&b);
	if (err)
		goto out;
	err = install_rules(m, gen, cfg);
	if (err)
		goto out;
	err = vw_flood_build(m, gen, cfg);
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
		pr_warn("cannot write generation %u: %s\n", gen, strerror(-err));
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
		pr_warn("generation %u lists %zu rules but has no rule record: %s\n", gen, nrules,
			strerror(-err));
		return err;
	}
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0) {
		err = fd;
		pr_warn("cannot open the rule record of generation %u: %s\n", gen, strerror(-err));
		return err;
	}
	err = bpf_obj_get_info_by_fd(fd, &info, &info_len);
	if (err)
		goto out;
	if (info.max_entries < nrules || info.value_size != sizeof(struct vw_rule)) {
		pr_warn("the rule record of generation %u is smaller than its rule count\n", gen);
		err = -EINVAL;
		goto out;
	}
	base = map_mmap_range(fd, len, 0, PROT_READ);
	if (!base) {
		err = -errno;
		pr_warn("cannot map the rule record of generation %u: %s\n", gen, strerror(-err));
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
		pr_warn("cannot map vw_ports: %s\n", strerror(-err));
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
				pr_warn("generation %u maps port %u to undefined class id %u\n",
					gen, lo, v - 1);
				err = -EINVAL;
				goto out;
			}
			cl = &cfg->classes[class_of_id[v - 1]];
			if (cl->nranges >= VW_MAX_RANGES) {
				pr_warn("class '%s' has more than %d port ranges\n", cl->name,
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
	err = vw_flood_read(m, gen, cfg);
	if (err)
		goto out;
	snprintf(cfg->source, sizeof(cfg->source), "%.*s", VW_SOURCE_MAX - 1, gc->source);
	cfg->builtin = gc->flags & VW_GEN_BUILTIN;
out:
	if (ports)
		munmap((void *)ports, PORTS_HALF_BYTES);
	if (err)
		vw_config_free(cfg);
	free(gc);
	return err;
}
