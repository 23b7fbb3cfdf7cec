// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flood control state (docs/flood.md): the per-class settings and exempt rules that belong to a
 * generation, and the named block sets that live beside the generations.
 *
 * vw_flood is one mmapable array element the program reads as its flags: settings of the
 * inactive generation are written in place before the flip; block_sets, the sets holding
 * entries, is written after a set is filled and before it is emptied.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "flood.h"
#include "log.h"

/* The kernel's internal "not supported" (524), which map types without batch operations return. */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif
/* Elements per bpf_map_update_batch call of a trie fill. */
#define FILL_CHUNK 65536

__u64 vw_flood_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static size_t state_len(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (sizeof(struct vw_flood_state) + pg - 1) / pg * pg;
}

static struct vw_flood_state *state_map(const struct vw_maps *m)
{
	void *p = mmap(NULL, state_len(), PROT_READ | PROT_WRITE, MAP_SHARED, m->flood, 0);

	if (p == MAP_FAILED) {
		pr_warn("cannot map vw_flood: %s\n", strerror(errno));
		return NULL;
	}
	return p;
}

static void state_unmap(struct vw_flood_state *s)
{
	if (s)
		munmap(s, state_len());
}

/* ---- Prefix tries ---------------------------------------------------------------------------- */

/* The key of a prefix: family, address with the bits past the prefix cleared (the block tables
 * match exactly; the tries ignore those bits). */
static void lpm_key(struct vw_lpm_key *k, const struct vw_rule *r)
{
	__u32 family = r->family;
	unsigned int i, bytes = r->family == VW_FAMILY_V4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	memcpy(k->data, &family, sizeof(family));
	for (i = 0; i < bytes && 8 * i < r->plen; i++)
		k->data[4 + i] = r->plen >= 8 * (i + 1)
				     ? r->addr[i]
				     : (__u8)(r->addr[i] & (0xff << (8 - (r->plen - 8 * i))));
	k->prefixlen = VW_LPM_FAMILY_BITS + r->plen;
}

static int lpm_rule(const struct vw_lpm_key *k, struct vw_rule *r)
{
	__u32 family;

	memcpy(&family, k->data, sizeof(family));
	if ((family != VW_FAMILY_V4 && family != VW_FAMILY_V6) ||
	    k->prefixlen < VW_LPM_FAMILY_BITS ||
	    k->prefixlen - VW_LPM_FAMILY_BITS > (family == VW_FAMILY_V4 ? 32U : 128U))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->family = (__u8)family;
	r->plen = (__u8)(k->prefixlen - VW_LPM_FAMILY_BITS);
	memcpy(r->addr, k->data + 4, family == VW_FAMILY_V4 ? 4 : 16);
	return 0;
}

static int trie_create(const char *name, __u32 value_size, __u32 max_entries)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, name, sizeof(struct vw_lpm_key), value_size,
				max_entries, &opts);

	if (fd < 0)
		pr_warn("cannot create the %s trie: %s\n", name, strerror(-fd));
	return fd;
}

/* Inner map of an outer array's slot, or -ENOENT when the slot is empty. */
static int inner_fd(int outer, __u32 slot)
{
	__u32 id;
	int fd;

	if (bpf_map_lookup_elem(outer, &slot, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

/* A set's table, sized for n entries with room to grow. */
static __u32 block_capacity(size_t n)
{
	size_t cap = n + n / 4;

	if (cap < VW_BLOCK_MIN_CAPACITY)
		cap = VW_BLOCK_MIN_CAPACITY;
	return cap > VW_BLOCK_MAX_ENTRIES ? VW_BLOCK_MAX_ENTRIES : (__u32)cap;
}

static int block_table_create(__u32 capacity)
{
	/* preallocated: an insert takes a free element instead of allocating one, several times
	 * faster (a 100,000-entry replace is most of its time inserting) */
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = 0);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "vw_block_in", sizeof(struct vw_lpm_key),
				sizeof(struct vw_block_val), capacity, &opts);

	if (fd < 0)
		pr_warn("cannot create a block set's table of %u entries: %s\n", capacity,
			strerror(-fd));
	return fd;
}

/* Batched update of n keys/values (one by one where the kernel has no batch for tries). */
static int trie_fill(int fd, const struct vw_lpm_key *keys, const void *vals, __u32 value_size,
		     size_t n)
{
	static int batch_ok = 1;
	size_t done = 0;
	int err;

	while (done < n && batch_ok) {
		__u32 count = n - done > FILL_CHUNK ? FILL_CHUNK : (__u32)(n - done);

		err = bpf_map_update_batch(fd, keys + done, (const __u8 *)vals + done * value_size,
					   &count, NULL);
		if (err == -EOPNOTSUPP || err == -ENOTSUPP || err == -EINVAL) {
			batch_ok = 0;
			break;
		}
		if (err)
			return err;
		done += count;
	}
	for (; done < n; done++) {
		err = bpf_map_update_elem(fd, &keys[done], (const __u8 *)vals + done * value_size,
					  BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

/* ---- Generation settings ----------------------------------------------------------------------- */

static int by_plen(const void *pa, const void *pb)
{
	const struct vw_rule *a = pa, *b = pb;

	return (int)a->plen - (int)b->plen;
}

/* The exempt trie of a generation: each prefix holds the union of the exempt rules covering it
 * (the trie answers with the longest match only). Shorter prefixes are inserted first, so a
 * lookup of each new prefix finds the union of those covering it. */
static int build_exempt(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg)
{
	struct vw_rule *rules = NULL;
	struct vw_lpm_key k;
	int fd, err = 0;
	size_t i;

	fd = trie_create("vw_exempt_in", sizeof(__u32), VW_MAX_RULES);
	if (fd < 0)
		return fd;
	if (cfg->nexempt) {
		rules = malloc(cfg->nexempt * sizeof(*rules));
		if (!rules) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(rules, cfg->exempt, cfg->nexempt * sizeof(*rules));
		qsort(rules, cfg->nexempt, sizeof(*rules), by_plen);
	}
	for (i = 0; i < cfg->nexempt; i++) {
		__u32 mask = rules[i].mask, cover;

		lpm_key(&k, &rules[i]);
		if (!bpf_map_lookup_elem(fd, &k, &cover))
			mask |= cover;
		err = bpf_map_update_elem(fd, &k, &mask, BPF_ANY);
		if (err) {
			pr_warn("cannot fill the exempt trie: %s\n", strerror(-err));
			goto out;
		}
	}
	err = bpf_map_update_elem(m->exempt, &gen, &fd, BPF_ANY);
	if (err)
		pr_warn("cannot install the exempt trie in generation %u: %s\n", gen,
			strerror(-err));
out:
	free(rules);
	close(fd);
	return err;
}

int vw_flood_build(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg)
{
	struct vw_flood_state *s;
	__u32 rate_mask = 0, exempt_mask = 0;
	unsigned int i;
	size_t r;
	int err;

	if (gen >= VW_GENS)
		return -EINVAL;
	err = build_exempt(m, gen, cfg);
	if (err)
		return err;
	s = state_map(m);
	if (!s)
		return -errno;
	memset(s->cls[gen], 0, sizeof(s->cls[gen]));
	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];
		struct vw_class_flood *f = &s->cls[gen][c->id % VW_MAX_CLASSES];

		f->flags = c->policy == VW_POLICY_OPEN ? VW_FLOOD_OPEN : 0;
		f->v6_plen = c->v6_plen ? c->v6_plen : VW_V6_RATE_PLEN_DEFAULT;
		if (!c->rate)
			continue;
		f->rate = c->rate;
		f->rate_unit = c->rate_unit ? c->rate_unit : 1;
		f->burst = c->burst ? c->burst : 1;
		f->ban_secs = c->ban_secs;
		/* rounded to the nearest ns: under 0.5% off at the fastest rate allowed */
		f->interval_ns = ((__u64)f->rate_unit * 1000000000ULL + f->rate / 2) / f->rate;
		f->burst_ns = (__u64)(f->burst - 1) * f->interval_ns;
		f->ban_ns = (__u64)c->ban_secs * 1000000000ULL;
		rate_mask |= 1U << c->id;
	}
	for (r = 0; r < cfg->nexempt; r++)
		exempt_mask |= cfg->exempt[r].mask;
	s->rate_mask[gen] = rate_mask;
	s->exempt_mask[gen] = exempt_mask & rate_mask;
	state_unmap(s);
	return 0;
}

int vw_flood_read(const struct vw_maps *m, __u32 gen, struct vw_config *cfg)
{
	struct vw_lpm_key k, next, *prev = NULL;
	struct vw_flood_state *s;
	struct vw_rule r;
	unsigned int i;
	int fd, err = 0;

	if (gen >= VW_GENS)
		return -EINVAL;
	s = state_map(m);
	if (!s)
		return -errno;
	for (i = 0; i < cfg->nclasses; i++) {
		struct vw_class *c = &cfg->classes[i];
		const struct vw_class_flood *f = &s->cls[gen][c->id % VW_MAX_CLASSES];

		if (f->flags & VW_FLOOD_OPEN)
			c->policy = VW_POLICY_OPEN;
		c->v6_plen = f->v6_plen ? f->v6_plen : VW_V6_RATE_PLEN_DEFAULT;
		if (!(s->rate_mask[gen] & (1U << c->id)))
			continue;
		c->rate = f->rate;
		c->rate_unit = f->rate_unit;
		c->burst = f->burst;
		c->ban_secs = f->ban_secs;
	}
	state_unmap(s);

	/* exempt rules: the trie holds folded unions; a rule's own classes are its value minus
	 * what covering rules gave it, which is what the config said (both merge by union). */
	fd = inner_fd(m->exempt, gen);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		__u32 mask;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &mask) || lpm_rule(&k, &r))
			continue;
		r.mask = mask;
		err = vw_rule_list_add(&cfg->exempt, &cfg->nexempt, &cfg->exempt_cap, &r);
		if (err)
			break;
	}
	close(fd);
	return err;
}

/* ---- Block sets ---------------------------------------------------------------------------- */

bool vw_block_set_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < VW_BLOCK_SET_NAME_MAX && name[0] >= 'a' && name[0] <= 'z' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int vw_block_set_names(const struct vw_maps *m, char names[VW_BLOCK_SETS][VW_BLOCK_SET_NAME_MAX])
{
	struct vw_block_set set;
	__u32 i;

	for (i = 0; i < VW_BLOCK_SETS; i++) {
		if (bpf_map_lookup_elem(m->block_sets, &i, &set))
			return -errno;
		memcpy(names[i], set.name, VW_BLOCK_SET_NAME_MAX);
		names[i][VW_BLOCK_SET_NAME_MAX - 1] = '\0';
	}
	return 0;
}

int vw_block_set_slot(const struct vw_maps *m, const char *name, bool create, __u32 *slot)
{
	char names[VW_BLOCK_SETS][VW_BLOCK_SET_NAME_MAX];
	struct vw_block_set set = {};
	struct timespec ts;
	__u32 i, free_slot = VW_BLOCK_SETS;
	int err;

	err = vw_block_set_names(m, names);
	if (err)
		return err;
	for (i = 0; i < VW_BLOCK_SETS; i++) {
		if (!strcmp(names[i], name)) {
			*slot = i;
			return 0;
		}
		if (!names[i][0] && free_slot == VW_BLOCK_SETS)
			free_slot = i;
	}
	if (!create)
		return -ENOENT;
	if (free_slot == VW_BLOCK_SETS)
		return -ENOSPC;
	snprintf(set.name, sizeof(set.name), "%s", name);
	clock_gettime(CLOCK_REALTIME, &ts);
	set.created_realtime_ns = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	if (bpf_map_update_elem(m->block_sets, &free_slot, &set, BPF_ANY))
		return -errno;
	*slot = free_slot;
	return 0;
}

static void block_val(struct vw_block_val *v, const struct vw_block_entry *e)
{
	memset(v, 0, sizeof(*v));
	v->expires_ns = e->expires_ns;
	v->mask = e->r.mask;
	v->plen = e->r.plen;
	v->flags = e->flags;
	v->added_realtime_ns = e->added_realtime_ns;
}

/* The earliest expiry among entries (0: none expires), folded into *next. */
static void earliest_expiry(__u64 *next, const struct vw_block_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (e[i].expires_ns && (!*next || e[i].expires_ns < *next))
			*next = e[i].expires_ns;
}

/* The prefix lengths of e[0..n) as vw_block_set.lens4/lens6 bits, folded into lens4/lens6. */
static void lens_of(const struct vw_block_entry *e, size_t n, __u64 *lens4, __u64 lens6[3])
{
	for (size_t i = 0; i < n; i++) {
		unsigned int L = e[i].r.plen;

		if (e[i].r.family == VW_FAMILY_V4)
			*lens4 |= 1ULL << (L & 63);
		else
			lens6[L / 64] |= 1ULL << (L % 64);
	}
}

/* Tell the program which lengths to try in a set: lens4/lens6 added to the recorded ones, or
 * (exact) in their place. A length is added before entries of that length go in and dropped
 * only after the last one is gone, so a lookup never skips an entry. */
static int set_lens(const struct vw_maps *m, __u32 slot, __u64 lens4, const __u64 lens6[3],
		    bool exact)
{
	struct vw_block_set set;

	if (bpf_map_lookup_elem(m->block_sets, &slot, &set))
		return -errno;
	if (exact) {
		set.lens4 = lens4;
		memcpy(set.lens6, lens6, sizeof(set.lens6));
	} else {
		set.lens4 |= lens4;
		for (int i = 0; i < 3; i++)
			set.lens6[i] |= lens6[i];
	}
	return bpf_map_update_elem(m->block_sets, &slot, &set, BPF_ANY) ? -errno : 0;
}

/* Record the set's entry count: set to n, or moved by delta when absolute is false; and its
 * earliest expiry: the one of e[0..ne) alone when absolute, else folded into the recorded one. */
static void set_count(const struct vw_maps *m, __u32 slot, long long n, bool absolute,
		      const struct vw_block_entry *e, size_t ne)
{
	struct vw_block_set set;

	if (bpf_map_lookup_elem(m->block_sets, &slot, &set))
		return;
	if (absolute) {
		set.entries = (__u64)n;
		set.next_expiry_ns = 0;
	} else if (n < 0 && (__u64)-n > set.entries) {
		set.entries = 0;
	} else {
		set.entries += (__u64)n;
	}
	earliest_expiry(&set.next_expiry_ns, e, ne);
	bpf_map_update_elem(m->block_sets, &slot, &set, BPF_ANY);
}

/* Say whether the set holds entries in vw_flood.block_sets (the program skips empty sets). With
 * nothing loaded (the kept sets alone, no vw_flood) there is nothing to say: the next load sets
 * the bits of the kept sets that hold entries. */
static int set_active(const struct vw_maps *m, __u32 slot, bool on)
{
	struct vw_flood_state *s;

	if (m->flood < 0)
		return 0;
	s = state_map(m);
	if (!s)
		return -errno;
	if (on)
		__atomic_fetch_or(&s->block_sets, 1U << slot, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(&s->block_sets, ~(1U << slot), __ATOMIC_SEQ_CST);
	state_unmap(s);
	return 0;
}

static int fill_entries(int fd, const struct vw_block_entry *e, size_t n)
{
	struct vw_lpm_key *keys;
	struct vw_block_val *vals;
	size_t i;
	int err;

	keys = malloc((n ? n : 1) * sizeof(*keys));
	vals = malloc((n ? n : 1) * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		lpm_key(&keys[i], &e[i].r);
		block_val(&vals[i], &e[i]);
	}
	err = trie_fill(fd, keys, vals, sizeof(*vals), n);
	if (err)
		pr_warn("cannot fill the block set: %s\n", strerror(-err));
out:
	free(keys);
	free(vals);
	return err;
}

static int lpm_key_cmp(const void *pa, const void *pb)
{
	return memcmp(pa, pb, sizeof(struct vw_lpm_key));
}

/* The distinct prefixes of a list (the trie holds a prefix named twice once), counted here
 * rather than by walking the trie: one syscall per entry saved. */
static int count_unique(const struct vw_block_entry *e, size_t n, size_t *unique)
{
	struct vw_lpm_key *keys;
	size_t i;

	*unique = 0;
	if (!n)
		return 0;
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		lpm_key(&keys[i], &e[i].r);
	qsort(keys, n, sizeof(*keys), lpm_key_cmp);
	*unique = 1;
	for (i = 1; i < n; i++)
		if (memcmp(&keys[i], &keys[i - 1], sizeof(*keys)))
			(*unique)++;
	free(keys);
	return 0;
}

int vw_block_replace(const struct vw_maps *m, __u32 slot, const struct vw_block_entry *e,
		     size_t n)
{
	__u64 lens4 = 0, lens6[3] = {0, 0, 0};
	size_t nuniq = 0;
	int fd, err;

	if (slot >= VW_BLOCK_SETS)
		return -EINVAL;
	if (n > VW_BLOCK_MAX_ENTRIES) {
		pr_warn("%zu entries, a set holds at most %u\n", n, VW_BLOCK_MAX_ENTRIES);
		return -E2BIG;
	}
	fd = block_table_create(block_capacity(n));
	if (fd < 0)
		return fd;
	err = fill_entries(fd, e, n);
	if (err)
		goto out;
	/* a list may name a prefix twice: the table holds it once */
	err = count_unique(e, n, &nuniq);
	if (err)
		goto out;
	lens_of(e, n, &lens4, lens6);
	/* the new lengths with the old ones while either table may be read, then the new table
	 * whole, then the program told to look, then only the new lengths */
	err = set_lens(m, slot, lens4, lens6, false);
	if (!err && nuniq) {
		err = bpf_map_update_elem(m->block, &slot, &fd, BPF_ANY);
		if (!err)
			err = set_active(m, slot, true);
	} else if (!err) {
		err = set_active(m, slot, false);
		if (!err)
			err = bpf_map_update_elem(m->block, &slot, &fd, BPF_ANY);
	}
	if (!err)
		err = set_lens(m, slot, lens4, lens6, true);
	if (!err)
		set_count(m, slot, (long long)nuniq, true, e, n);
	if (err)
		pr_warn("cannot swap the block set in: %s\n", strerror(-err));
out:
	close(fd);
	return err;
}

/* Room in a set's table for added more entries, or -ENOSPC. */
static int table_room(int fd, const struct vw_maps *m, __u32 slot, size_t added)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct vw_block_set set;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
	    bpf_map_lookup_elem(m->block_sets, &slot, &set))
		return -errno;
	return set.entries + added <= info.max_entries ? 0 : -ENOSPC;
}

/* Add to a set whose table is full: the set rebuilt, old entries then new, in a larger table. */
static int block_grow(const struct vw_maps *m, __u32 slot, const struct vw_block_entry *e,
		      size_t n)
{
	struct vw_block_entry *old = NULL, *all;
	size_t nold = 0;
	int err;

	err = vw_block_read(m, slot, &old, &nold);
	if (err)
		return err;
	if (nold + n > VW_BLOCK_MAX_ENTRIES) {
		pr_warn("%zu entries, a set holds at most %u\n", nold + n, VW_BLOCK_MAX_ENTRIES);
		free(old);
		return -E2BIG;
	}
	all = realloc(old, (nold + n + 1) * sizeof(*all));
	if (!all) {
		free(old);
		return -ENOMEM;
	}
	memcpy(all + nold, e, n * sizeof(*e));
	err = vw_block_replace(m, slot, all, nold + n);
	free(all);
	return err;
}

int vw_block_add(const struct vw_maps *m, __u32 slot, const struct vw_block_entry *e, size_t n)
{
	__u64 lens4 = 0, lens6[3] = {0, 0, 0};
	size_t i, added = 0;
	int fd, err;

	if (slot >= VW_BLOCK_SETS)
		return -EINVAL;
	fd = inner_fd(m->block, slot);
	if (fd == -ENOENT)
		return vw_block_replace(m, slot, e, n);
	if (fd < 0)
		return fd;
	for (i = 0; i < n; i++) {
		struct vw_block_val v;
		struct vw_lpm_key k;

		lpm_key(&k, &e[i].r);
		if (bpf_map_lookup_elem(fd, &k, &v))
			added++;
	}
	err = table_room(fd, m, slot, added);
	if (err == -ENOSPC) {
		close(fd);
		return block_grow(m, slot, e, n);
	}
	lens_of(e, n, &lens4, lens6);
	if (!err)
		err = set_lens(m, slot, lens4, lens6, false);
	if (!err)
		err = fill_entries(fd, e, n);
	if (!err) {
		set_count(m, slot, (long long)added, false, e, n);
		err = set_active(m, slot, true);
	}
	close(fd);
	return err;
}

int vw_block_del(const struct vw_maps *m, __u32 slot, const struct vw_block_entry *e, size_t n,
		 size_t *removed)
{
	struct vw_block_set set;
	struct vw_lpm_key k;
	size_t i;
	int fd, err = 0;

	*removed = 0;
	fd = inner_fd(m->block, slot);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	for (i = 0; i < n; i++) {
		lpm_key(&k, &e[i].r);
		if (!bpf_map_delete_elem(fd, &k))
			(*removed)++;
		else if (errno != ENOENT)
			err = -errno;
	}
	set_count(m, slot, -(long long)*removed, false, NULL, 0);
	if (*removed && !bpf_map_lookup_elem(m->block_sets, &slot, &set) && !set.entries) {
		static const __u64 none[3];

		set_active(m, slot, false);
		set_lens(m, slot, 0, none, true);
	}
	close(fd);
	return err;
}

int vw_block_flush(const struct vw_maps *m, __u32 slot)
{
	struct vw_block_set empty = {};
	int err;

	err = set_active(m, slot, false);
	if (err)
		return err;
	if (bpf_map_delete_elem(m->block, &slot) && errno != ENOENT)
		return -errno;
	if (bpf_map_update_elem(m->block_sets, &slot, &empty, BPF_ANY))
		return -errno;
	return 0;
}

/* Append a table entry to *list (growing it). -ENOMEM, or 0. */
static int entry_push(struct vw_block_entry **list, size_t *n, size_t *cap,
		      const struct vw_lpm_key *k, const struct vw_block_val *v)
{
	struct vw_block_entry *e;

	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 1024;

		e = realloc(*list, ncap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		*list = e;
		*cap = ncap;
	}
	e = &(*list)[*n];
	memset(e, 0, sizeof(*e));
	if (lpm_rule(k, &e->r))
		return 0;
	e->r.mask = v->mask;
	e->expires_ns = v->expires_ns;
	e->added_realtime_ns = v->added_realtime_ns;
	e->flags = v->flags;
	(*n)++;
	return 0;
}

/* Every entry of a table, READ_CHUNK at a time (one key at a time where the kernel has no batch
 * lookup). */
#define READ_CHUNK 8192
static int table_read(int fd, struct vw_block_entry **list, size_t *n, size_t *cap)
{
	struct vw_lpm_key *keys = malloc(READ_CHUNK * sizeof(*keys)), k, next, *prev = NULL;
	struct vw_block_val *vals = malloc(READ_CHUNK * sizeof(*vals));
	__u64 batch = 0;
	bool first = true;
	int err = -ENOMEM;

	while (keys && vals) {
		__u32 count = READ_CHUNK, i;

		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &count,
					   NULL);
		if (err && err != -ENOENT)
			break;
		for (i = 0; i < count; i++)
			if (entry_push(list, n, cap, &keys[i], &vals[i])) {
				err = -ENOMEM;
				break;
			}
		first = false;
		if (err)
			break; /* -ENOENT: that was the last of them */
	}
	free(keys);
	free(vals);
	if (err == -ENOENT)
		return 0;
	if (!first || (err != -EINVAL && err != -ENOTSUPP && err != -EOPNOTSUPP))
		return err;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct vw_block_val v;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		if (entry_push(list, n, cap, &k, &v))
			return -ENOMEM;
	}
	return 0;
}

int vw_block_read(const struct vw_maps *m, __u32 slot, struct vw_block_entry **out, size_t *n)
{
	struct vw_block_entry *list = NULL;
	size_t cap = 0;
	int fd, err;

	*out = NULL;
	*n = 0;
	fd = inner_fd(m->block, slot);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	err = table_read(fd, &list, n, &cap);
	close(fd);
	if (err) {
		free(list);
		*n = 0;
		return err;
	}
	*out = list;
	return 0;
}

int vw_block_sweep(const struct vw_maps *m, __u64 now, size_t *swept)
{
	struct vw_block_entry *list = NULL;
	size_t n, i, removed;
	__u32 slot;
	int err = 0;

	*swept = 0;
	for (slot = 0; slot < VW_BLOCK_SETS && !err; slot++) {
		struct vw_block_set set;
		struct vw_block_entry *old;
		size_t nold = 0;
		__u64 next = 0;

		/* Only a set with an entry already expired is read (a whole walk of the trie). */
		if (bpf_map_lookup_elem(m->block_sets, &slot, &set) || !set.name[0] ||
		    !set.next_expiry_ns || set.next_expiry_ns > now)
			continue;
		err = vw_block_read(m, slot, &list, &n);
		if (err)
			continue;
		old = list;
		for (i = 0; i < n; i++) {
			if (list[i].expires_ns && list[i].expires_ns <= now)
				old[nold++] = list[i];
			else if (list[i].expires_ns && (!next || list[i].expires_ns < next))
				next = list[i].expires_ns;
		}
		if (nold) {
			err = vw_block_del(m, slot, old, nold, &removed);
			*swept += removed;
		}
		if (!err && !bpf_map_lookup_elem(m->block_sets, &slot, &set)) {
			set.next_expiry_ns = next;
			bpf_map_update_elem(m->block_sets, &slot, &set, BPF_ANY);
		}
		free(list);
		list = NULL;
	}
	return err;
}

int vw_block_match(const struct vw_maps *m, int family, const __u8 *addr, __u64 now, __u32 *slot,
		   struct vw_block_entry *out)
{
	struct vw_rule r = {.family = (__u8)family};
	struct vw_block_set set;
	struct vw_block_val v;
	struct vw_lpm_key k;
	int best_len = -1, L, top = family == VW_FAMILY_V4 ? 32 : 128;
	__u32 s;

	memcpy(r.addr, addr, family == VW_FAMILY_V4 ? 4 : 16);
	for (s = 0; s < VW_BLOCK_SETS; s++) {
		int fd;

		if (bpf_map_lookup_elem(m->block_sets, &s, &set) || !set.name[0])
			continue;
		fd = inner_fd(m->block, s);
		if (fd < 0)
			continue;
		/* the longest entry in force, past expired ones as the program goes */
		for (L = top; L > best_len; L--) {
			__u64 bits = family == VW_FAMILY_V4 ? set.lens4 : set.lens6[L / 64];

			if (!(bits >> (L % 64) & 1))
				continue;
			r.plen = (__u8)L;
			lpm_key(&k, &r);
			if (bpf_map_lookup_elem(fd, &k, &v) || (v.expires_ns && v.expires_ns <= now))
				continue;
			best_len = L;
			*slot = s;
			memset(out, 0, sizeof(*out));
			lpm_rule(&k, &out->r);
			out->r.mask = v.mask;
			out->expires_ns = v.expires_ns;
			out->flags = v.flags;
			out->added_realtime_ns = v.added_realtime_ns;
			break;
		}
		close(fd);
	}
	return best_len < 0 ? -ENOENT : 0;
}

__u64 vw_ban_until(const struct vw_maps *m, const struct vw_flood_key *key, __u64 now)
{
	struct vw_ban b;

	if (bpf_map_lookup_elem(m->bans, key, &b) || b.until_ns <= now)
		return 0;
	return b.until_ns;
}

int vw_bans_count(const struct vw_maps *m, __u64 now, __u32 counts[VW_MAX_CLASSES])
{
	struct vw_flood_key k, next, *prev = NULL;
	struct vw_ban b;

	memset(counts, 0, VW_MAX_CLASSES * sizeof(*counts));
	while (bpf_map_get_next_key(m->bans, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(m->bans, &k, &b) && b.until_ns > now &&
		    k.cls < VW_MAX_CLASSES)
			counts[k.cls]++;
	}
	return 0;
}

int vw_ban_find(const struct vw_maps *m, __u32 gen, const __u8 *addr, __u64 now, __u32 *cls,
		__u64 *until)
{
	static const __u8 mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	struct vw_flood_state *s = state_map(m);
	bool v4 = !memcmp(addr, mapped, sizeof(mapped));
	__u32 c;

	if (!s)
		return -errno;
	*until = 0;
	for (c = 0; c < VW_MAX_CLASSES; c++) {
		const struct vw_class_flood *f = &s->cls[gen % VW_GENS][c];
		struct vw_flood_key k = {.cls = (__u8)c,
					 .family = v4 ? VW_FAMILY_V4 : VW_FAMILY_V6};
		unsigned int i, plen = v4 ? 128 : f->v6_plen;
		__u64 u;

		if (!f->ban_ns)
			continue;
		for (i = 0; i < 16; i++) {
			unsigned int bits = plen > i * 8 ? plen - i * 8 : 0;

			k.addr[i] = addr[i] & (bits >= 8 ? 0xff : (__u8)(0xff00 >> bits));
		}
		u = vw_ban_until(m, &k, now);
		if (u > *until) {
			*until = u;
			*cls = c;
		}
	}
	state_unmap(s);
	return *until ? 0 : -ENOENT;
}

int vw_flood_gauges_read(const struct vw_maps *m, struct vw_flood_gauges *g)
{
	struct vw_block_set set;

	memset(g, 0, sizeof(*g));
	for (__u32 i = 0; i < VW_BLOCK_SETS; i++) {
		if (bpf_map_lookup_elem(m->block_sets, &i, &set) || !set.name[0])
			continue;
		memcpy(g->sets[i], set.name, VW_BLOCK_SET_NAME_MAX);
		g->sets[i][VW_BLOCK_SET_NAME_MAX - 1] = '\0';
		g->entries[i] = set.entries;
	}
	return vw_bans_count(m, vw_flood_now(), g->bans);
}
