// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The config file parser (see docs/config.md for the syntax) and the rule set it builds.
 *
 * Parsing is one pass over each file, line by line. Allow statements may name classes defined
 * later, so their prefixes are kept aside with their class list and resolved once everything is
 * read. Errors are collected (file, line, text), sorted, and printed together at the end; any
 * error leaves the config empty. Identical prefixes merge their masks through a hash index, so
 * a million-line allow file costs a million O(1) steps. A long buffer is read by two threads: a
 * second one parses the allow statements of its second half (see parse_text).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrtext.h"
#include "config.h"
#include "names.h"
#include "sidejob.h"

/* A config (with its includes) larger than this is refused rather than read into memory. */
#define MAX_FILE_SIZE (1UL << 30)
/* Files one config may read, includes counted each time: a file including another several
 * times, at every level, would otherwise read an exponential number of files. */
#define MAX_FILES_READ 10000
/* Buffers at least this long are parsed by two threads (see parse_text); 0: never. */
size_t vw_config_split_min = 1UL << 20;
/* Buffers cut in two so far (each half parsed by its own thread on a machine with two CPUs). */
unsigned long vw_config_splits;
/* Tokens quoted in messages are cut to this many characters (a hostile line can be huge). */
#define QUOTE_MAX 64

static const char builtin_text[] = "class sip 5060/udp 5060/tcp 5061/tcp\n"
				   "class mgmt 22/tcp 23/tcp 80/tcp 443/tcp 8080/tcp 8443/tcp "
				   "69/udp 161/udp 7547/tcp\n";

/* ---- Prefixes -------------------------------------------------------------------------------- */

enum prefix_err {
	PFX_OK = 0,
	PFX_BAD_V4,
	PFX_BAD_V6,
	PFX_BAD_LEN_V4,
	PFX_BAD_LEN_V6,
	PFX_HOST_BITS,
};

static const char *const prefix_why[] = {
    [PFX_OK] = "ok",
    [PFX_BAD_V4] = "not an IPv4 address",
    [PFX_BAD_V6] = "not an IPv6 address",
    [PFX_BAD_LEN_V4] = "prefix length must be 0-32",
    [PFX_BAD_LEN_V6] = "prefix length must be 0-128",
    [PFX_HOST_BITS] = "host bits set",
};

static unsigned int family_bytes(__u8 family)
{
	return family == VW_FAMILY_V4 ? 4 : 16;
}

static unsigned int family_bits(__u8 family)
{
	return family == VW_FAMILY_V4 ? 32 : 128;
}

/* True when some bit of addr past plen is set. */
static bool host_bits(const __u8 *addr, unsigned int nbytes, unsigned int plen)
{
	unsigned int i;

	for (i = plen / 8; i < nbytes; i++) {
		__u8 keep = i == plen / 8 ? (__u8)(0xff00U >> (plen % 8)) : 0;

		if (addr[i] & ~keep)
			return true;
	}
	return false;
}

static void clear_host_bits(__u8 *addr, unsigned int nbytes, unsigned int plen)
{
	unsigned int i;

	for (i = plen / 8; i < nbytes; i++)
		addr[i] &= i == plen / 8 ? (__u8)(0xff00U >> (plen % 8)) : 0;
}

/* Parses s into r (mask 0). On PFX_HOST_BITS, r holds the address and length as written. */
static enum prefix_err parse_prefix(const char *s, struct vw_rule *r)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	bool v6 = memchr(s, ':', alen) != NULL;
	unsigned int max = v6 ? 128 : 32, plen = max;

	memset(r, 0, sizeof(*r));
	if (alen == 0 || alen > INET6_ADDRSTRLEN ||
	    !(v6 ? vw_text_v6(s, alen, r->addr) : vw_text_v4(s, alen, r->addr))) {
		memset(r->addr, 0, sizeof(r->addr));
		return v6 ? PFX_BAD_V6 : PFX_BAD_V4;
	}
	r->family = v6 ? VW_FAMILY_V6 : VW_FAMILY_V4;
	if (slash) {
		const char *p = slash + 1;
		size_t n;

		/* plain decimal, at most 3 digits: no sign, no spaces, no hex */
		for (n = 0, plen = 0; n < 4 && p[n] >= '0' && p[n] <= '9'; n++)
			plen = plen * 10 + (unsigned int)(p[n] - '0');
		if (n == 0 || n > 3 || p[n] || plen > max)
			return v6 ? PFX_BAD_LEN_V6 : PFX_BAD_LEN_V4;
	}
	r->plen = (__u8)plen;
	if (host_bits(r->addr, family_bytes(r->family), plen))
		return PFX_HOST_BITS;
	return PFX_OK;
}

int vw_parse_prefix(const char *s, struct vw_rule *r, const char **why)
{
	enum prefix_err e = parse_prefix(s, r);

	if (why)
		*why = e == PFX_OK ? NULL : prefix_why[e];
	return e == PFX_OK ? 0 : -EINVAL;
}

static bool rule_valid(const struct vw_rule *r)
{
	if (r->family != VW_FAMILY_V4 && r->family != VW_FAMILY_V6)
		return false;
	if (r->plen > family_bits(r->family))
		return false;
	return !host_bits(r->addr, family_bytes(r->family), r->plen);
}

const char *vw_format_prefix(const struct vw_rule *r, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	if (!rule_valid(r)) {
		errno = EINVAL;
		return NULL;
	}
	if (!inet_ntop(r->family == VW_FAMILY_V4 ? AF_INET : AF_INET6, r->addr, addr, sizeof(addr)))
		return NULL;
	n = snprintf(buf, len, "%s/%u", addr, r->plen);
	if (n < 0 || (size_t)n >= len) {
		errno = ENOSPC;
		return NULL;
	}
	return buf;
}

/* ---- Rule set with a hash index -------------------------------------------------------------- */

/* The key of a rule: family, length and the address bytes that belong to the family. */
static __u64 rule_hash(const struct vw_rule *r)
{
	__u8 key[16] = {};
	__u64 a, b, h;

	memcpy(key, r->addr, family_bytes(r->family));
	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	h = a * 0x9e3779b97f4a7c15ULL;
	h ^= (b + ((__u64)r->plen << 8 | r->family)) * 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return h;
}

static bool rule_same(const struct vw_rule *a, const struct vw_rule *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, family_bytes(a->family));
}

/* An index slot: the high 32 bits of the rule's hash (compared before the rule itself, which
 * saves a cache miss per occupied slot probed), and the rule's index + 1 (0: empty slot). */
#define SLOT_TAG(h)  ((h)&0xffffffff00000000ULL)
#define SLOT_RULE(v) ((size_t)(__u32)(v)-1)

/* Slot holding rule r (found) or the empty slot where it would go; *hash gets r's hash. */
static size_t idx_find(const struct vw_config *cfg, const struct vw_rule *r, bool *found,
		       __u64 *hash)
{
	__u64 h = rule_hash(r), tag = SLOT_TAG(h);
	size_t m = cfg->idx_cap - 1, i = h & m;

	*hash = h;
	for (;; i = (i + 1) & m) {
		__u64 v = cfg->idx_slots[i];

		if (!v) {
			*found = false;
			return i;
		}
		if (SLOT_TAG(v) == tag && rule_same(&cfg->rules[SLOT_RULE(v)], r)) {
			*found = true;
			return i;
		}
	}
}

/* (Re)builds the index for cfg->rules with room for at least want rules. */
static int idx_build(struct vw_config *cfg, size_t want)
{
	size_t cap = 64, i;
	bool found;
	__u64 h;

	if (want < cfg->nrules)
		want = cfg->nrules;
	while (cap < 2 * want + 2)
		cap *= 2;
	free(cfg->idx_slots);
	cfg->idx_slots = calloc(cap, sizeof(*cfg->idx_slots));
	if (!cfg->idx_slots) {
		cfg->idx_cap = 0;
		cfg->idx_rules = NULL;
		return -ENOMEM;
	}
	cfg->idx_cap = cap;
	for (i = 0; i < cfg->nrules; i++) {
		size_t s = idx_find(cfg, &cfg->rules[i], &found, &h);

		/* a duplicate filled in directly: the first copy stays the one found */
		if (!found)
			cfg->idx_slots[s] = SLOT_TAG(h) | (i + 1);
	}
	cfg->idx_rules = cfg->rules;
	cfg->idx_n = cfg->nrules;
	return 0;
}

static int idx_fresh(struct vw_config *cfg)
{
	if (cfg->idx_slots && cfg->idx_rules == cfg->rules && cfg->idx_n == cfg->nrules)
		return 0;
	return idx_build(cfg, cfg->nrules);
}

/* Makes room for n more rules in both the array and the index. */
static int rules_reserve(struct vw_config *cfg, size_t n)
{
	size_t want = cfg->nrules + n;
	int err;

	/* fresh first: the index then stays valid across the move below */
	err = idx_fresh(cfg);
	if (err)
		return err;
	if (want > cfg->cap) {
		size_t cap = cfg->cap ? cfg->cap : 64;
		struct vw_rule *p;

		while (cap < want)
			cap *= 2;
		p = realloc(cfg->rules, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		cfg->rules = p;
		cfg->cap = cap;
		cfg->idx_rules = p; /* same contents, moved */
	}
	if (2 * want + 2 > cfg->idx_cap)
		return idx_build(cfg, want);
	return 0;
}

/* r as a rule set holds it: the family's address bytes only, nothing else set, with mask. */
static void rule_normal(struct vw_rule *n, const struct vw_rule *r, __u32 mask)
{
	memset(n, 0, sizeof(*n));
	n->family = r->family;
	n->plen = r->plen;
	n->mask = mask;
	memcpy(n->addr, r->addr, family_bytes(r->family));
}

int vw_config_add_rule(struct vw_config *cfg, const struct vw_rule *r)
{
	struct vw_rule n;
	bool found;
	size_t s;
	__u64 h;
	int err;

	if (!rule_valid(r))
		return -EINVAL;
	rule_normal(&n, r, r->mask);
	err = idx_fresh(cfg);
	if (err)
		return err;
	s = idx_find(cfg, &n, &found, &h);
	if (found) {
		cfg->rules[SLOT_RULE(cfg->idx_slots[s])].mask |= n.mask;
		return 0;
	}
	if (cfg->nrules >= VW_MAX_RULES)
		return -E2BIG;
	if (cfg->nrules + 1 > cfg->cap || 2 * (cfg->nrules + 1) + 2 > cfg->idx_cap) {
		err = rules_reserve(cfg, 1);
		if (err)
			return err;
		s = idx_find(cfg, &n, &found, &h);
	}
	cfg->rules[cfg->nrules] = n;
	cfg->idx_slots[s] = SLOT_TAG(h) | (cfg->nrules + 1);
	cfg->nrules++;
	cfg->idx_n = cfg->nrules;
	return 0;
}

/* Empties slot i of the index, moving later entries of its probe run back (no tombstones). */
static void idx_delete_slot(struct vw_config *cfg, size_t i)
{
	size_t m = cfg->idx_cap - 1, j = i;

	for (;;) {
		size_t k;

		j = (j + 1) & m;
		if (!cfg->idx_slots[j])
			break;
		k = rule_hash(&cfg->rules[SLOT_RULE(cfg->idx_slots[j])]) & m;
		/* an entry whose home lies cyclically in (i, j] stays where it is */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		cfg->idx_slots[i] = cfg->idx_slots[j];
		i = j;
	}
	cfg->idx_slots[i] = 0;
}

size_t vw_config_del_rule(struct vw_config *cfg, const struct vw_rule *r)
{
	size_t s, at, last;
	__u32 mask;
	bool found;
	__u64 h;

	if (!rule_valid(r) || idx_fresh(cfg))
		return 0;
	s = idx_find(cfg, r, &found, &h);
	if (!found)
		return 0;
	at = SLOT_RULE(cfg->idx_slots[s]);
	mask = cfg->rules[at].mask & ~r->mask;
	if (mask == cfg->rules[at].mask)
		return 0;
	if (mask) {
		cfg->rules[at].mask = mask;
		return 1;
	}
	idx_delete_slot(cfg, s);
	last = cfg->nrules - 1;
	if (at != last) {
		s = idx_find(cfg, &cfg->rules[last], &found, &h);
		cfg->idx_slots[s] = SLOT_TAG(h) | (at + 1);
		cfg->rules[at] = cfg->rules[last];
	}
	cfg->nrules--;
	cfg->idx_n = cfg->nrules;
	return 1;
}

void vw_config_free(struct vw_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->rules);
	free(cfg->idx_slots);
	free(cfg->exempt);
	free(cfg->blocks);
	memset(cfg, 0, sizeof(*cfg));
}

int vw_rule_list_add(struct vw_rule **list, size_t *n, size_t *cap, const struct vw_rule *r)
{
	struct vw_rule *l;

	if (!rule_valid(r))
		return -EINVAL;
	/* a repeat of the last prefix merges at once; others when the list is finished */
	if (*n && rule_same(&(*list)[*n - 1], r)) {
		(*list)[*n - 1].mask |= r->mask;
		return 0;
	}
	if (*n >= VW_MAX_RULES)
		return -E2BIG;
	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 16;

		l = realloc(*list, ncap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		*list = l;
		*cap = ncap;
	}
	l = &(*list)[(*n)++];
	memset(l, 0, sizeof(*l));
	l->family = r->family;
	l->plen = r->plen;
	l->mask = r->mask;
	memcpy(l->addr, r->addr, family_bytes(r->family));
	return 0;
}

static int rule_order(const void *pa, const void *pb)
{
	const struct vw_rule *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family - b->family;
	if (a->plen != b->plen)
		return a->plen - b->plen;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* Sorts a rule list and merges the masks of identical prefixes. */
static void rule_list_finish(struct vw_rule *list, size_t *n)
{
	size_t i, w = 0;

	if (*n < 2)
		return;
	qsort(list, *n, sizeof(*list), rule_order);
	for (i = 1; i < *n; i++) {
		if (rule_same(&list[w], &list[i]))
			list[w].mask |= list[i].mask;
		else
			list[++w] = list[i];
	}
	*n = w + 1;
}

int vw_parse_duration(const char *s, __u64 max_secs, __u64 *secs)
{
	static const struct {
		char unit;
		__u64 mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	size_t n = strspn(s, "0123456789");
	unsigned long long v;
	unsigned int i;

	if (n == 0 || n > 9 || strlen(s) != n + 1)
		return -EINVAL;
	v = strtoull(s, NULL, 10);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (s[n] != units[i].unit)
			continue;
		if (v == 0 || v > max_secs / units[i].mult)
			return -EINVAL;
		*secs = v * units[i].mult;
		return 0;
	}
	return -EINVAL;
}

/* ---- Classes --------------------------------------------------------------------------------- */

static const struct vw_class *class_find(const struct vw_config *cfg, const char *name, size_t len)
{
	unsigned int i;

	if (len >= VW_CLASS_NAME_MAX)
		return NULL;
	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];

		if (!strncmp(c->name, name, len) && c->name[len] == '\0')
			return c;
	}
	return NULL;
}

const struct vw_class *vw_config_class(const struct vw_config *cfg, const char *name)
{
	return class_find(cfg, name, strlen(name));
}

typedef void (*bad_name_fn)(void *ctx, const char *list, const char *name, size_t len);

/* Mask of the classes in "a,b,c"; each unknown or empty name is passed to bad. */
static int list_mask(const struct vw_config *cfg, const char *list, __u32 *mask, bad_name_fn bad,
		     void *ctx)
{
	const char *p = list;
	int err = 0;

	*mask = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		const struct vw_class *c = class_find(cfg, p, len);

		if (c) {
			*mask |= 1U << c->id;
		} else {
			bad(ctx, list, p, len);
			err = -EINVAL;
		}
		if (p[len] != ',')
			break;
		p += len + 1;
	}
	return err;
}

/* Copies a token for a message: control and non-ASCII bytes escaped, long tokens cut. */
static const char *quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < len && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o >= QUOTE_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

#define QBUF (QUOTE_MAX * 4 + 8)

static void print_bad_name(void *ctx, const char *list, const char *name, size_t len)
{
	char q[QBUF];

	if (len == 0)
		fprintf(ctx, "empty class name in '%s'\n", quote(q, sizeof(q), list, strlen(list)));
	else
		fprintf(ctx, "unknown class '%s'\n", quote(q, sizeof(q), name, len));
}

static void ignore_bad_name(void *ctx, const char *list, const char *name, size_t len)
{
}

int vw_config_class_mask(const struct vw_config *cfg, const char *list, __u32 *mask, FILE *err)
{
	return list_mask(cfg, list, mask, err ? print_bad_name : ignore_bad_name, err);
}

/* ---- Class ids ------------------------------------------------------------------------------- */

/* The mask of the classes of mask, each class id c moved to the bits of remap[c]. */
static __u32 remap_mask(const __u32 *remap, __u32 mask)
{
	__u32 out = 0;

	for (; mask; mask &= mask - 1)
		out |= remap[__builtin_ctz(mask)];
	return out;
}

int vw_config_assign_ids(struct vw_config *cfg, const struct vw_gen_cfg *prev)
{
	__u8 newid[VW_MAX_CLASSES];
	__u32 used = 0, prev_used = 0, named = 0, remap[VW_MAX_CLASSES] = {};
	unsigned int i, j;
	bool moved = false;
	size_t r;

	if (cfg->nclasses > VW_MAX_CLASSES)
		return -EINVAL;
	for (i = 0; i < cfg->nclasses; i++) {
		newid[i] = VW_MAX_CLASSES;
		if (!prev)
			continue;
		for (j = 0; j < VW_MAX_CLASSES; j++) {
			if (!(prev->class_mask & (1U << j)) || (used & (1U << j)))
				continue;
			if (!strncmp(prev->class_names[j], cfg->classes[i].name,
				     VW_CLASS_NAME_MAX)) {
				newid[i] = (__u8)j;
				used |= 1U << j;
				break;
			}
		}
	}
	if (prev)
		prev_used = prev->class_mask;
	/* New classes take the lowest id no class uses now and, while there is one, that no class
	 * of prev used either, so a removed class's counters are not inherited by a new class. */
	for (i = 0; i < cfg->nclasses; i++) {
		if (newid[i] != VW_MAX_CLASSES)
			continue;
		for (j = 0; j < VW_MAX_CLASSES && ((used | prev_used) & (1U << j)); j++)
			;
		if (j == VW_MAX_CLASSES)
			for (j = 0; used & (1U << j); j++)
				;
		newid[i] = (__u8)j;
		used |= 1U << j;
	}
	for (i = 0; i < cfg->nclasses; i++) {
		if (cfg->classes[i].id < VW_MAX_CLASSES)
			remap[cfg->classes[i].id] = 1U << newid[i];
	}
	/* When every class the rules name keeps its id (a reload of the same classes), the masks
	 * stay as they are: a pass that only reads instead of one that rewrites a million rules. */
	for (r = 0; r < cfg->nrules; r++)
		named |= cfg->rules[r].mask;
	for (r = 0; r < cfg->nexempt; r++)
		named |= cfg->exempt[r].mask;
	for (j = 0; j < VW_MAX_CLASSES; j++)
		moved |= (named >> j & 1) && remap[j] != 1U << j;
	for (r = 0; moved && r < cfg->nrules; r++)
		cfg->rules[r].mask = remap_mask(remap, cfg->rules[r].mask);
	for (r = 0; moved && r < cfg->nexempt; r++)
		cfg->exempt[r].mask = remap_mask(remap, cfg->exempt[r].mask);
	for (i = 0; i < cfg->nclasses; i++)
		cfg->classes[i].id = newid[i];
	return 0;
}

/* ---- Writing --------------------------------------------------------------------------------- */

static void write_mask(const struct vw_config *cfg, __u32 mask, FILE *out)
{
	const char *sep = "";
	unsigned int i;

	for (i = 0; i < cfg->nclasses; i++) {
		if (mask & (1U << cfg->classes[i].id)) {
			fprintf(out, "%s%s", sep, cfg->classes[i].name);
			sep = ",";
		}
	}
}

int vw_config_write(const struct vw_config *cfg, FILE *out)
{
	__u32 known = 0;
	unsigned int i, k;
	size_t r, run;

	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];

		if (c->id >= VW_MAX_CLASSES)
			return -EINVAL;
		known |= 1U << c->id;
		fprintf(out, "class %s", c->name);
		for (k = 0; k < c->nranges; k++) {
			const struct vw_port_range *p = &c->ranges[k];

			if (p->lo == p->hi)
				fprintf(out, " %u/%s", p->lo, vw_l4_name(p->l4));
			else
				fprintf(out, " %u-%u/%s", p->lo, p->hi, vw_l4_name(p->l4));
		}
		if (c->policy != VW_POLICY_DROP)
			fprintf(out, " policy %s", vw_policy_name(c->policy));
		if (c->rate) {
			fprintf(out, " rate %u/%c burst %u", c->rate, c->rate_unit == 60 ? 'm' : 's',
				c->burst);
			if (c->v6_plen != VW_V6_RATE_PLEN_DEFAULT)
				fprintf(out, " per /%u", c->v6_plen);
			if (c->ban_secs)
				fprintf(out, " ban %us", c->ban_secs);
		}
		fputc('\n', out);
	}
	/* consecutive rules with the same mask share a line, at most 8 to a line */
	for (r = 0; r < cfg->nrules; r += run) {
		char buf[VW_PREFIX_STRLEN];
		__u32 mask = cfg->rules[r].mask;

		if (!mask || (mask & ~known))
			return -EINVAL;
		fputs("allow ", out);
		write_mask(cfg, mask, out);
		for (run = 0; r + run < cfg->nrules && run < 8 && cfg->rules[r + run].mask == mask;
		     run++) {
			if (!vw_format_prefix(&cfg->rules[r + run], buf, sizeof(buf)))
				return -EINVAL;
			fprintf(out, " %s", buf);
		}
		fputc('\n', out);
	}
	for (r = 0; r < cfg->nexempt; r++) {
		char buf[VW_PREFIX_STRLEN];
		__u32 mask = cfg->exempt[r].mask;

		if (!mask || (mask & ~known) || !vw_format_prefix(&cfg->exempt[r], buf, sizeof(buf)))
			return -EINVAL;
		fputs("allow ", out);
		write_mask(cfg, mask, out);
		fprintf(out, " %s exempt\n", buf);
	}
	for (r = 0; r < cfg->nblocks; r++) {
		char buf[VW_PREFIX_STRLEN];

		if (!vw_format_prefix(&cfg->blocks[r], buf, sizeof(buf)))
			return -EINVAL;
		fprintf(out, "block %s\n", buf);
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- The parser ------------------------------------------------------------------------------ */

struct perr {
	unsigned int file, line;
	size_t seq;
	char *text;
};

/* An allow prefix waiting for its class list to be resolved; rule.mask holds the list's index. */
struct pending {
	struct vw_rule rule;
	unsigned int file, line;
	bool exempt;
};

struct class_list {
	char *text;
	__u64 hash;
	__u32 mask;
	bool bad;
};

struct parser {
	struct vw_config *cfg;
	const char *confine; /* includes must stay under this dir, or NULL */
	int fatal;	     /* -ENOMEM: stop, report it */

	char **files; /* names of the files read, for messages */
	size_t nfiles, files_cap;
	struct perr *errs;
	size_t nerrs, errs_cap;

	struct class_list *lists; /* distinct class lists of allow statements */
	size_t nlists, lists_cap;
	__u32 *list_slots; /* hash of lists: index + 1 */
	size_t list_slots_cap;
	struct pending *pend;
	size_t npend, pend_cap;

	struct {
		unsigned int file, line;
	} class_at[VW_MAX_CLASSES];

	struct {
		dev_t dev;
		ino_t ino;
	} stack[VW_MAX_INCLUDE_DEPTH + 1]; /* files being read: the top one, then includes */
	unsigned int depth;
	bool too_many_files; /* reported once */

	bool halved; /* a second thread is parsing the rest of a buffer: no other split */
	char *line; /* current line, split into tokens in place */
	size_t line_cap;
	char **tok;
	size_t tok_cap;
};

static void *grow(void *p, size_t *cap, size_t want, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (want <= *cap)
		return p;
	while (n < want)
		n *= 2;
	q = realloc(p, n * size);
	if (q)
		*cap = n;
	return q;
}

__attribute__((format(printf, 4, 5))) static void perr(struct parser *p, unsigned int file,
						       unsigned int line, const char *fmt, ...)
{
	struct perr *e;
	va_list ap;
	int n;

	if (p->fatal)
		return;
	e = grow(p->errs, &p->errs_cap, p->nerrs + 1, sizeof(*p->errs));
	if (!e) {
		p->fatal = -ENOMEM;
		return;
	}
	p->errs = e;
	e = &p->errs[p->nerrs];
	va_start(ap, fmt);
	n = vasprintf(&e->text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->fatal = -ENOMEM;
		return;
	}
	e->file = file;
	e->line = line;
	e->seq = p->nerrs++;
}

static int perr_cmp(const void *a, const void *b)
{
	const struct perr *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int add_file(struct parser *p, const char *name, unsigned int *idx)
{
	char **f, *s = strdup(name);

	if (!s)
		return -ENOMEM;
	f = grow(p->files, &p->files_cap, p->nfiles + 1, sizeof(*f));
	if (!f) {
		free(s);
		return -ENOMEM;
	}
	p->files = f;
	f[p->nfiles] = s;
	*idx = (unsigned int)p->nfiles++;
	return 0;
}

static bool class_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= VW_CLASS_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

enum port_err {
	PORT_OK = 0,
	PORT_SYNTAX,
	PORT_PROTO,
	PORT_RANGE,
	PORT_ORDER,
};

/* Decimal digits at *s into *v (capped just above 65535, so overflow cannot happen). */
static bool port_num(const char **s, unsigned int *v)
{
	const char *p = *s;

	*v = 0;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		*v = *v * 10 + (unsigned int)(*p - '0');
		if (*v > 65536)
			*v = 65536;
	}
	*s = p;
	return true;
}

/* "N/proto" or "LO-HI/proto" */
static enum port_err parse_port(const char *s, struct vw_port_range *r)
{
	const char *p = s;
	unsigned int lo, hi, l4;

	if (!port_num(&p, &lo))
		return PORT_SYNTAX;
	hi = lo;
	if (*p == '-') {
		p++;
		if (!port_num(&p, &hi))
			return PORT_SYNTAX;
	}
	if (*p != '/')
		return PORT_SYNTAX;
	p++;
	for (l4 = 0; l4 < VW_L4_MAX; l4++)
		if (!strcmp(p, vw_l4_names[l4]))
			break;
	if (l4 == VW_L4_MAX)
		return PORT_PROTO;
	if (lo < 1 || lo > 65535 || hi < 1 || hi > 65535)
		return PORT_RANGE;
	if (lo > hi)
		return PORT_ORDER;
	r->lo = (__u16)lo;
	r->hi = (__u16)hi;
	r->l4 = (__u8)l4;
	return PORT_OK;
}

/* Reports every earlier class sharing a port with range r of the class being defined. */
static void check_overlap(struct parser *p, unsigned int file, unsigned int line, const char *name,
			  const struct vw_port_range *r)
{
	const struct vw_config *cfg = p->cfg;
	unsigned int i, k;

	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];

		for (k = 0; k < c->nranges; k++) {
			const struct vw_port_range *q = &c->ranges[k];
			unsigned int lo, hi;

			if (q->l4 != r->l4 || q->hi < r->lo || q->lo > r->hi)
				continue;
			lo = q->lo > r->lo ? q->lo : r->lo;
			hi = q->hi < r->hi ? q->hi : r->hi;
			if (lo == hi)
				perr(p, file, line, "port %u/%s in classes %s and %s", lo,
				     vw_l4_name(r->l4), c->name, name);
			else
				perr(p, file, line, "ports %u-%u/%s in classes %s and %s", lo, hi,
				     vw_l4_name(r->l4), c->name, name);
			break; /* one message per class */
		}
	}
}

/* Which flood options a class line gave (each at most once). */
struct flood_opts {
	bool rate, burst, per, ban;
};

/* "N/s" or "N/m" */
static bool parse_rate(const char *s, struct vw_class *c)
{
	size_t n = strspn(s, "0123456789");
	unsigned long v;

	if (n == 0 || n > 10 || s[n] != '/' || (s[n + 1] != 's' && s[n + 1] != 'm') || s[n + 2])
		return false;
	v = strtoul(s, NULL, 10);
	c->rate_unit = s[n + 1] == 'm' ? 60 : 1;
	/* at most VW_RATE_MAX_PER_SEC per second, whatever the unit */
	if (v == 0 || v > (unsigned long)VW_RATE_MAX_PER_SEC * c->rate_unit)
		return false;
	c->rate = (__u32)v;
	return true;
}

/* rate N/s|N/m, burst M, per /N, ban DURATION: true when tok[*i] was one (its value consumed). */
static bool flood_option(struct parser *p, unsigned int file, unsigned int line, char **tok,
			 size_t n, size_t *i, struct vw_class *c, struct flood_opts *fo)
{
	static const char *const names[] = {"rate", "burst", "per", "ban"};
	bool *given[] = {&fo->rate, &fo->burst, &fo->per, &fo->ban};
	const char *v;
	char q[QBUF];
	unsigned int k;
	__u64 secs;

	for (k = 0; k < 4 && strcmp(tok[*i], names[k]); k++)
		;
	if (k == 4)
		return false;
	if (*i + 1 == n) {
		perr(p, file, line, "missing value after '%s'", names[k]);
		return true;
	}
	v = tok[++*i];
	quote(q, sizeof(q), v, strlen(v));
	if (*given[k]) {
		perr(p, file, line, "%s given twice", names[k]);
		return true;
	}
	*given[k] = true;
	switch (k) {
	case 0:
		if (!parse_rate(v, c))
			perr(p, file, line, "bad rate '%s' (N/s or N/m, 1 to %u a second)", q,
			     VW_RATE_MAX_PER_SEC);
		break;
	case 1:
		if (strspn(v, "0123456789") != strlen(v) || strlen(v) > 9 ||
		    (c->burst = (__u32)strtoul(v, NULL, 10)) == 0 || c->burst > VW_BURST_MAX)
			perr(p, file, line, "bad burst '%s' (1 to %u packets)", q, VW_BURST_MAX);
		break;
	case 2:
		if (v[0] != '/' || !v[1] || strspn(v + 1, "0123456789") != strlen(v + 1) ||
		    strlen(v + 1) > 3 || strtoul(v + 1, NULL, 10) < 1 ||
		    strtoul(v + 1, NULL, 10) > 128)
			perr(p, file, line, "bad per '%s' (/1 to /128: the IPv6 prefix sharing a "
			     "bucket)", q);
		else
			c->v6_plen = (__u8)strtoul(v + 1, NULL, 10);
		break;
	default:
		if (vw_parse_duration(v, VW_BAN_MAX_SECS, &secs))
			perr(p, file, line, "bad duration '%s' (e.g. 30s, 10m, 1h, 7d; at most 365d)",
			     q);
		else
			c->ban_secs = (__u32)secs;
		break;
	}
	return true;
}

/* burst, per and ban only mean something with a rate; burst defaults to the rate's N. */
static void flood_finish(struct parser *p, unsigned int file, unsigned int line,
			 struct vw_class *c, const struct flood_opts *fo)
{
	if (!fo->rate) {
		if (fo->burst)
			perr(p, file, line, "burst without a rate (rate N/s or N/m)");
		if (fo->per)
			perr(p, file, line, "per without a rate (rate N/s or N/m)");
		if (fo->ban)
			perr(p, file, line,
			     "ban without a rate (a source is banned when it goes over its rate)");
		c->burst = c->ban_secs = 0;
		c->v6_plen = VW_V6_RATE_PLEN_DEFAULT;
		return;
	}
	if (!c->rate)
		return; /* a bad rate, already reported */
	if (!fo->burst || !c->burst)
		c->burst = c->rate > VW_BURST_MAX ? VW_BURST_MAX : c->rate;
}

/* "policy NAME" at tok[*i] of a class statement; false when the name is missing. */
static bool policy_option(struct parser *p, unsigned int file, unsigned int line, char **tok,
			  size_t n, size_t *i, struct vw_class *c, bool given)
{
	char q[QBUF], names[64];
	int policy;

	if (*i + 1 == n) {
		perr(p, file, line, "missing policy after 'policy' (%s)",
		     vw_policy_list(names, sizeof(names)));
		return false;
	}
	policy = vw_policy_parse(tok[++*i]);
	if (given)
		perr(p, file, line, "policy given twice");
	else if (policy >= 0)
		c->policy = (__u8)policy;
	else
		perr(p, file, line, "bad policy '%s' (%s)", quote(q, sizeof(q), tok[*i], strlen(tok[*i])),
		     vw_policy_list(names, sizeof(names)));
	return true;
}

/* class NAME PORT... [policy drop|monitor|open] [rate N/s|N/m [burst M] [per /N] [ban DURATION]] */
static void st_class(struct parser *p, unsigned int file, unsigned int line, char **tok, size_t n)
{
	struct vw_config *cfg = p->cfg;
	struct vw_class c;
	char q[QBUF], q2[QBUF];
	bool name_ok, policy_set = false, too_many = false;
	struct flood_opts fo = {};
	unsigned int nports = 0, k;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.v6_plen = VW_V6_RATE_PLEN_DEFAULT;
	if (n < 2) {
		perr(p, file, line, "missing class name");
		return;
	}
	name_ok = class_name_ok(tok[1]) && strcmp(tok[1], "none");
	if (!strcmp(tok[1], "none"))
		perr(p, file, line, "class name 'none' is reserved (traffic of no class)");
	else if (!name_ok)
		perr(p, file, line,
		     "bad class name '%s' (1-15 of a-z 0-9 _ -, starting with a letter)",
		     quote(q, sizeof(q), tok[1], strlen(tok[1])));
	if (name_ok)
		memcpy(c.name, tok[1], strlen(tok[1]) + 1);

	for (i = 2; i < n; i++) {
		struct vw_port_range r;
		const char *t = quote(q, sizeof(q), tok[i], strlen(tok[i]));

		if (!strcmp(tok[i], "policy")) {
			if (!policy_option(p, file, line, tok, n, &i, &c, policy_set))
				break;
			policy_set = true;
			continue;
		}
		if (flood_option(p, file, line, tok, n, &i, &c, &fo))
			continue;
		nports++;
		switch (parse_port(tok[i], &r)) {
		case PORT_OK:
			break;
		case PORT_SYNTAX:
			perr(p, file, line,
			     "bad port '%s' (PORT/PROTO or LO-HI/PROTO, e.g. 5060/udp)", t);
			continue;
		case PORT_PROTO:
			perr(p, file, line, "bad protocol in '%s' (udp, tcp or sctp)", t);
			continue;
		case PORT_RANGE:
			perr(p, file, line, "port out of range '%s' (1-65535)", t);
			continue;
		case PORT_ORDER:
			perr(p, file, line, "bad port range '%s' (start above end)", t);
			continue;
		}
		if (c.nranges == VW_MAX_RANGES) {
			if (!too_many)
				perr(p, file, line,
				     "too many port ranges in class '%s' (more than %u)",
				     quote(q2, sizeof(q2), tok[1], strlen(tok[1])), VW_MAX_RANGES);
			too_many = true;
			continue;
		}
		/* field by field: the array is zeroed, padding included, and stays so */
		c.ranges[c.nranges].lo = r.lo;
		c.ranges[c.nranges].hi = r.hi;
		c.ranges[c.nranges].l4 = r.l4;
		c.nranges++;
	}
	if (!nports)
		perr(p, file, line, "missing ports for class '%s'",
		     quote(q, sizeof(q), tok[1], strlen(tok[1])));
	flood_finish(p, file, line, &c, &fo);
	if (!name_ok)
		return;
	for (k = 0; k < cfg->nclasses; k++) {
		if (!strcmp(cfg->classes[k].name, c.name)) {
			perr(p, file, line, "duplicate class '%s' (first defined at %s:%u)", c.name,
			     p->files[p->class_at[k].file], p->class_at[k].line);
			return;
		}
	}
	if (cfg->nclasses == VW_MAX_CLASSES) {
		perr(p, file, line, "too many classes (more than %u): '%s'", VW_MAX_CLASSES,
		     c.name);
		return;
	}
	for (k = 0; k < c.nranges; k++)
		check_overlap(p, file, line, c.name, &c.ranges[k]);
	/* kept even when its line had errors, so allow statements naming it do not cascade */
	c.id = (__u8)cfg->nclasses;
	p->class_at[cfg->nclasses].file = file;
	p->class_at[cfg->nclasses].line = line;
	memcpy(&cfg->classes[cfg->nclasses++], &c, sizeof(c)); /* padding too */
}

static __u64 str_hash(const char *s)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* Index of class list text (interned), or -1 on ENOMEM. */
static long intern_list(struct parser *p, const char *text)
{
	__u64 h = str_hash(text);
	size_t m, i;

	if (2 * (p->nlists + 1) > p->list_slots_cap) {
		size_t cap = p->list_slots_cap ? 2 * p->list_slots_cap : 64, k;
		__u32 *s = calloc(cap, sizeof(*s));

		if (!s)
			return -1;
		for (k = 0; k < p->nlists; k++) {
			for (i = p->lists[k].hash & (cap - 1); s[i]; i = (i + 1) & (cap - 1))
				;
			s[i] = (__u32)(k + 1);
		}
		free(p->list_slots);
		p->list_slots = s;
		p->list_slots_cap = cap;
	}
	m = p->list_slots_cap - 1;
	for (i = h & m; p->list_slots[i]; i = (i + 1) & m) {
		struct class_list *l = &p->lists[p->list_slots[i] - 1];

		if (l->hash == h && !strcmp(l->text, text))
			return (long)(p->list_slots[i] - 1);
	}
	if (p->nlists >= UINT32_MAX - 1)
		return -1;
	{
		struct class_list *l = grow(p->lists, &p->lists_cap, p->nlists + 1, sizeof(*l));

		if (!l)
			return -1;
		p->lists = l;
		l = &p->lists[p->nlists];
		memset(l, 0, sizeof(*l));
		l->text = strdup(text);
		if (!l->text)
			return -1;
		l->hash = h;
	}
	p->list_slots[i] = (__u32)(p->nlists + 1);
	return (long)p->nlists++;
}

/* Queues a prefix of an allow statement; family 0 marks a line that had no valid prefix. */
static void add_pending(struct parser *p, const struct vw_rule *r, unsigned int file,
			unsigned int line, bool exempt)
{
	struct pending *pe = grow(p->pend, &p->pend_cap, p->npend + 1, sizeof(*pe));

	if (!pe) {
		p->fatal = -ENOMEM;
		return;
	}
	p->pend = pe;
	pe += p->npend++;
	pe->rule = *r;
	pe->file = file;
	pe->line = line;
	pe->exempt = exempt;
}

/* One prefix word of an allow or block statement: false after reporting why it is not one. */
static bool prefix_word(struct parser *p, unsigned int file, unsigned int line, const char *w,
			struct vw_rule *r)
{
	enum prefix_err e = parse_prefix(w, r);
	char q[QBUF], net[VW_PREFIX_STRLEN];

	if (e == PFX_OK)
		return true;
	quote(q, sizeof(q), w, strlen(w));
	if (e == PFX_HOST_BITS) {
		clear_host_bits(r->addr, family_bytes(r->family), r->plen);
		perr(p, file, line, "host bits set in '%s' (the network is %s)", q,
		     vw_format_prefix(r, net, sizeof(net)));
	} else {
		perr(p, file, line, "bad prefix '%s' (%s)", q, prefix_why[e]);
	}
	return false;
}

/* allow CLASS[,CLASS...] PREFIX... [exempt] */
static void st_allow(struct parser *p, unsigned int file, unsigned int line, char **tok, size_t n)
{
	size_t i, valid = 0;
	bool exempt = false;
	struct vw_rule r;
	long list;

	if (n < 2) {
		perr(p, file, line, "missing class list and prefixes");
		return;
	}
	if (n > 2 && !strcmp(tok[n - 1], "exempt")) {
		exempt = true;
		n--;
	}
	if (n < 3)
		perr(p, file, line, "missing prefixes");
	list = intern_list(p, tok[1]);
	if (list < 0) {
		p->fatal = -ENOMEM;
		return;
	}
	for (i = 2; i < n; i++) {
		if (!prefix_word(p, file, line, tok[i], &r))
			continue;
		r.mask = (__u32)list;
		add_pending(p, &r, file, line, exempt);
		valid++;
	}
	/* a line without valid prefixes still has its class list checked */
	if (!valid) {
		memset(&r, 0, sizeof(r));
		r.mask = (__u32)list;
		add_pending(p, &r, file, line, false);
	}
}

/* block PREFIX...: static entries of the block set "config", for every class */
static void st_block(struct parser *p, unsigned int file, unsigned int line, char **tok, size_t n)
{
	struct vw_config *cfg = p->cfg;
	struct vw_rule r;
	size_t i;
	int err;

	if (n < 2)
		perr(p, file, line, "missing prefixes");
	for (i = 1; i < n; i++) {
		if (!prefix_word(p, file, line, tok[i], &r))
			continue;
		r.mask = VW_BLOCK_ALL_CLASSES;
		err = vw_rule_list_add(&cfg->blocks, &cfg->nblocks, &cfg->blocks_cap, &r);
		if (err == -E2BIG) {
			perr(p, file, line, "too many block prefixes (more than %u)", VW_MAX_RULES);
			return;
		}
		if (err)
			p->fatal = err;
	}
}

static int read_fd(int fd, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	struct stat st;
	int err = 0;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		if ((unsigned long long)st.st_size > MAX_FILE_SIZE)
			return -EFBIG;
		/* room for the contents, a NUL, and the read that sees the end */
		cap = (size_t)st.st_size + 2;
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *b;

			cap = cap ? 2 * cap : 65536;
			if (cap > MAX_FILE_SIZE + 1) {
				err = -EFBIG;
				goto out;
			}
			b = realloc(buf, cap);
			if (!b) {
				err = -ENOMEM;
				goto out;
			}
			buf = b;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf) {
			err = -ENOMEM;
			goto out;
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
out:
	free(buf);
	return err;
}

/* Directory part of a path ("." for a bare name), malloc'd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static char *join(const char *dir, const char *path)
{
	char *s;

	if (path[0] == '/' || !strcmp(dir, "."))
		return strdup(path);
	if (asprintf(&s, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path) < 0)
		return NULL;
	return s;
}

/* An include path allowed in confined mode: relative, no ".." component. */
static bool confined_ok(const char *path)
{
	const char *s = path;

	if (path[0] == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return false;
		s += n;
		if (*s == '/')
			s++;
	}
	return true;
}

static void parse_text(struct parser *p, unsigned int file, const char *buf, size_t len,
		       const char *dir);
static void parser_free(struct parser *p);

/* include PATH */
static void st_include(struct parser *p, unsigned int file, unsigned int line, char **tok, size_t n,
		       const char *dir)
{
	char q[QBUF], *path = NULL, *sub = NULL, *buf = NULL;
	unsigned int idx, d;
	struct stat st;
	size_t len;
	int fd = -1, err;

	if (n < 2) {
		perr(p, file, line, "missing include path");
		return;
	}
	quote(q, sizeof(q), tok[1], strlen(tok[1]));
	if (n > 2) {
		perr(p, file, line, "include takes one path, not %zu", n - 1);
		return;
	}
	if (p->confine && !confined_ok(tok[1])) {
		perr(p, file, line, "include '%s' leaves %s (relative paths without '..' only)", q,
		     p->confine);
		return;
	}
	/* the stack holds the top file and VW_MAX_INCLUDE_DEPTH levels of includes */
	if (p->depth > VW_MAX_INCLUDE_DEPTH) {
		perr(p, file, line, "include '%s' nested too deeply (more than %u levels)", q,
		     VW_MAX_INCLUDE_DEPTH);
		return;
	}
	if (p->nfiles >= MAX_FILES_READ) {
		if (!p->too_many_files)
			perr(p, file, line, "include '%s': too many files read (more than %u)", q,
			     MAX_FILES_READ);
		p->too_many_files = true;
		return;
	}
	path = join(dir, tok[1]);
	if (!path)
		goto nomem;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			perr(p, file, line, "missing include '%s': %s", q, strerror(err));
		else
			perr(p, file, line, "cannot read include '%s': %s", q, strerror(err));
		goto out;
	}
	if (fstat(fd, &st)) {
		perr(p, file, line, "cannot read include '%s': %s", q, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		perr(p, file, line, "cannot read include '%s': not a regular file", q);
		goto out;
	}
	for (d = 0; d < p->depth; d++) {
		if (p->stack[d].dev == st.st_dev && p->stack[d].ino == st.st_ino) {
			perr(p, file, line, "include loop: '%s' is already being read", q);
			goto out;
		}
	}
	err = read_fd(fd, &buf, &len);
	if (err == -ENOMEM)
		goto nomem;
	if (err) {
		perr(p, file, line, "cannot read include '%s': %s", q, strerror(-err));
		goto out;
	}
	sub = dir_of(path);
	if (!sub || add_file(p, path, &idx))
		goto nomem;
	p->stack[p->depth].dev = st.st_dev;
	p->stack[p->depth].ino = st.st_ino;
	p->depth++;
	parse_text(p, idx, buf, len, sub);
	p->depth--;
	goto out;
nomem:
	p->fatal = -ENOMEM;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(sub);
	free(path);
}

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parses the line in p->line. With allow_only, a statement other than allow is left unparsed and
 * the answer is false. */
static bool parse_line(struct parser *p, unsigned int file, unsigned int line, const char *dir,
		       bool allow_only)
{
	char q[QBUF], *s = p->line;
	size_t n = 0;

	for (;;) {
		char **t;

		while (is_blank(*s))
			s++;
		if (!*s)
			break;
		t = grow(p->tok, &p->tok_cap, n + 1, sizeof(*t));
		if (!t) {
			p->fatal = -ENOMEM;
			return true;
		}
		p->tok = t;
		p->tok[n++] = s;
		while (*s && !is_blank(*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
	if (!n)
		return true;
	if (allow_only && strcmp(p->tok[0], "allow"))
		return false;
	if (!strcmp(p->tok[0], "class"))
		st_class(p, file, line, p->tok, n);
	else if (!strcmp(p->tok[0], "allow"))
		st_allow(p, file, line, p->tok, n);
	else if (!strcmp(p->tok[0], "include"))
		st_include(p, file, line, p->tok, n, dir);
	else if (!strcmp(p->tok[0], "block"))
		st_block(p, file, line, p->tok, n);
	else
		perr(p, file, line, "unknown keyword '%s' (class, allow, block or include)",
		     quote(q, sizeof(q), p->tok[0], strlen(p->tok[0])));
	return true;
}

/* Parses the lines of buf, numbered from line + 1, and returns the number of the last one. With
 * stop, only allow statements are taken: *stop gets the offset of the first other statement's
 * line (len if none), which is left unparsed. */
static unsigned int parse_lines(struct parser *p, unsigned int file, const char *buf, size_t len,
				const char *dir, unsigned int line, size_t *stop)
{
	const char *s = buf, *end = buf + len;

	if (stop)
		*stop = len;
	while (s < end && !p->fatal) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		const char *hash = memchr(s, '#', (size_t)(e - s));
		size_t n = (size_t)((hash ? hash : e) - s);
		char *l;

		if (line == UINT_MAX) {
			perr(p, file, line, "too many lines");
			break;
		}
		l = grow(p->line, &p->line_cap, n + 1, 1);
		if (!l) {
			p->fatal = -ENOMEM;
			break;
		}
		p->line = l;
		if (memchr(s, '\0', n)) {
			perr(p, file, ++line, "NUL byte in line");
		} else {
			memcpy(l, s, n);
			l[n] = '\0';
			if (!parse_line(p, file, line + 1, dir, stop != NULL)) {
				*stop = (size_t)(s - buf);
				break;
			}
			line++;
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	return line;
}

/* The second half of a long buffer, parsed by a thread of its own into a parser of its own. */
struct parse_half {
	struct parser p;
	unsigned int file;
	const char *buf;
	size_t len, stop;  /* stop: where a statement other than allow ends the half's part */
	unsigned int lines; /* lines parsed, numbered from 1 */
};

static void *parse_half_run(void *arg)
{
	struct parse_half *h = arg;

	h->lines = parse_lines(&h->p, h->file, h->buf, h->len, NULL, 0, &h->stop);
	return NULL;
}

/* Appends what the half parsed to p, as if p had parsed it after line base: its class lists
 * interned into p's, its pending prefixes and errors renumbered. */
static void parse_half_merge(struct parser *p, struct parse_half *h, unsigned int base)
{
	struct parser *w = &h->p;
	__u32 *remap = NULL;
	struct pending *pe;
	struct perr *e;
	size_t i;

	if (w->fatal && !p->fatal)
		p->fatal = w->fatal;
	if (p->fatal)
		return;
	remap = malloc((w->nlists ? w->nlists : 1) * sizeof(*remap));
	if (!remap)
		goto nomem;
	if (w->npend) {
		pe = grow(p->pend, &p->pend_cap, p->npend + w->npend, sizeof(*p->pend));
		if (!pe)
			goto nomem;
		p->pend = pe;
	}
	if (w->nerrs) {
		e = grow(p->errs, &p->errs_cap, p->nerrs + w->nerrs, sizeof(*p->errs));
		if (!e)
			goto nomem;
		p->errs = e;
	}
	for (i = 0; i < w->nlists; i++) {
		long k = intern_list(p, w->lists[i].text);

		if (k < 0)
			goto nomem;
		remap[i] = (__u32)k;
	}
	for (i = 0; i < w->npend; i++) {
		pe = &p->pend[p->npend++];
		*pe = w->pend[i];
		pe->line += base;
		pe->rule.mask = remap[pe->rule.mask];
	}
	for (i = 0; i < w->nerrs; i++) {
		e = &p->errs[p->nerrs];
		*e = w->errs[i];
		e->line += base;
		e->seq = p->nerrs++;
	}
	w->nerrs = 0; /* the texts are p's now */
	free(remap);
	return;
nomem:
	p->fatal = -ENOMEM;
	free(remap);
}

/* Parses a buffer. A long one is cut in two at a line boundary and a side job (a second thread
 * where there are two CPUs) parses the allow statements of the second half while this one parses
 * the first; that part is appended
 * as if read in order, and whatever follows it (from the half's first other statement on) is
 * parsed here. Allow statements keep no state but the parser's own, so the result, errors
 * included, is the one a single pass gives. */
static void parse_text(struct parser *p, unsigned int file, const char *buf, size_t len,
		       const char *dir)
{
	struct vw_side_job job;
	struct parse_half h;
	const char *mid = NULL;
	unsigned int line;

	/* (a buffer of more than 4 Gi lines would number them past what a single pass reports) */
	if (!p->halved && vw_config_split_min && len >= vw_config_split_min && len <= MAX_FILE_SIZE)
		mid = memchr(buf + len / 2, '\n', len - len / 2);
	if (!mid || mid + 1 == buf + len) {
		parse_lines(p, file, buf, len, dir, 0, NULL);
		return;
	}
	memset(&h, 0, sizeof(h));
	h.file = file;
	h.buf = mid + 1;
	h.len = (size_t)(buf + len - h.buf);
	__atomic_fetch_add(&vw_config_splits, 1, __ATOMIC_RELAXED);
	vw_side_start(&job, parse_half_run, &h);
	p->halved = true;
	line = parse_lines(p, file, buf, (size_t)(h.buf - buf), dir, 0, NULL);
	vw_side_join(&job);
	p->halved = false;
	parse_half_merge(p, &h, line);
	parser_free(&h.p);
	if (!p->fatal && h.stop < h.len)
		parse_lines(p, file, h.buf + h.stop, h.len - h.stop, dir, line + h.lines, NULL);
}

/* A rule's hash (32 bits) and its position among the rules added, sorted by hash to find
 * identical rules: equal hashes are then compared rule by rule. */
struct rule_key {
	__u32 hash;
	__u32 pos;
};

#define KEY_DIGIT_BITS 11 /* three passes cover 32 bits; 2,048 counters stay in L1 */

/* Sorts by hash: LSD radix, stable (equal hashes keep their order). */
static int rule_keys_sort(struct rule_key *a, size_t n)
{
	struct rule_key *tmp = malloc((n ? n : 1) * sizeof(*tmp)), *src = a, *dst = tmp, *t;
	size_t count[1U << KEY_DIGIT_BITS], i, sum;
	unsigned int shift;

	if (!tmp)
		return -ENOMEM;
	for (shift = 0; shift < 32; shift += KEY_DIGIT_BITS) {
		const __u32 dmask = (1U << KEY_DIGIT_BITS) - 1;

		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[src[i].hash >> shift & dmask]++;
		for (i = 0, sum = 0; i <= dmask; i++) {
			size_t c = count[i];

			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[src[i].hash >> shift & dmask]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	/* an odd number of passes: the result is in tmp */
	memcpy(a, src, n * sizeof(*a));
	free(tmp);
	return 0;
}

/* Adds the pending rules of a config without errors to its rule set, empty until now (parse_top
 * starts from a cleared config), as
 * vw_config_add_rule one by one would (identical prefixes merged into the first, in the order
 * written), but by sorting hashes: a million adds through the index cost a cache miss each. */
static void add_pending_rules(struct parser *p)
{
	struct vw_config *cfg = p->cfg;
	struct rule_key *keys = NULL;
	unsigned int *from = NULL; /* the pending entry of each rule */
	size_t i, j, n = 0, w;
	__u8 *dup = NULL;
	int err;

	cfg->rules = malloc((p->npend ? p->npend : 1) * sizeof(*cfg->rules));
	from = malloc((p->npend ? p->npend : 1) * sizeof(*from));
	if (!cfg->rules || !from) {
		p->fatal = -ENOMEM;
		goto out;
	}
	cfg->cap = p->npend ? p->npend : 1;
	for (i = 0; i < p->npend; i++) {
		const struct pending *pe = &p->pend[i];
		struct vw_rule *r = &cfg->rules[n];

		if (!pe->rule.family)
			continue; /* a line without a valid prefix */
		if (!rule_valid(&pe->rule)) {
			p->fatal = -EINVAL;
			goto out;
		}
		rule_normal(r, &pe->rule, p->lists[pe->rule.mask].mask);
		if (pe->exempt) {
			err = vw_rule_list_add(&cfg->exempt, &cfg->nexempt, &cfg->exempt_cap, r);
			if (err) {
				p->fatal = err;
				goto out;
			}
		}
		from[n++] = (unsigned int)i;
	}
	keys = malloc((n ? n : 1) * sizeof(*keys));
	dup = calloc(n ? n : 1, 1);
	if (!keys || !dup) {
		p->fatal = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		__u64 h = rule_hash(&cfg->rules[i]);

		keys[i].hash = (__u32)(h ^ h >> 32);
		keys[i].pos = (__u32)i;
	}
	err = rule_keys_sort(keys, n);
	if (err) {
		p->fatal = err;
		goto out;
	}
	/* Within a run of one hash, positions ascend: each rule merges into the first identical one
	 * before it. */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && keys[j].hash == keys[i].hash; j++) {
			size_t k;

			for (k = i; k < j; k++) {
				struct vw_rule *first = &cfg->rules[keys[k].pos];

				if (!dup[keys[k].pos] && rule_same(first, &cfg->rules[keys[j].pos])) {
					first->mask |= cfg->rules[keys[j].pos].mask;
					dup[keys[j].pos] = 1;
					break;
				}
			}
		}
	}
	for (i = 0, w = 0; i < n; i++) {
		if (dup[i])
			continue;
		if (w == VW_MAX_RULES) {
			perr(p, p->pend[from[i]].file, p->pend[from[i]].line,
			     "too many allow rules (more than %u)", VW_MAX_RULES);
			break;
		}
		cfg->rules[w++] = cfg->rules[i];
	}
	cfg->nrules = w;
out:
	free(keys);
	free(dup);
	free(from);
}

/* Resolves the class lists of allow statements and adds their rules. */
static void resolve(struct parser *p)
{
	struct vw_config *cfg = p->cfg;
	unsigned int last_file = UINT_MAX, last_line = 0;
	char q[QBUF];
	size_t i;

	for (i = 0; i < p->nlists; i++)
		p->lists[i].bad =
		    list_mask(cfg, p->lists[i].text, &p->lists[i].mask, ignore_bad_name, NULL) != 0;
	/* Unknown classes first: each statement naming one is reported. */
	for (i = 0; i < p->npend; i++) {
		struct pending *pe = &p->pend[i];
		struct class_list *l = &p->lists[pe->rule.mask];
		const char *s;

		if (!l->bad || (pe->file == last_file && pe->line == last_line))
			continue;
		last_file = pe->file;
		last_line = pe->line;
		for (s = l->text;; s++) {
			size_t len = strcspn(s, ",");

			if (len == 0)
				perr(p, pe->file, pe->line, "empty class name in '%s'",
				     quote(q, sizeof(q), l->text, strlen(l->text)));
			else if (!class_find(cfg, s, len))
				perr(p, pe->file, pe->line, "unknown class '%s'",
				     quote(q, sizeof(q), s, len));
			s += len;
			if (!*s)
				break;
		}
	}
	if (!p->nerrs) /* a rejected config adds nothing */
		add_pending_rules(p);
}

static void parser_free(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	for (i = 0; i < p->nerrs; i++)
		free(p->errs[i].text);
	free(p->errs);
	for (i = 0; i < p->nlists; i++)
		free(p->lists[i].text);
	free(p->lists);
	free(p->list_slots);
	free(p->pend);
	free(p->line);
	free(p->tok);
}

/* Parses a top-level buffer; st identifies its file for include loops (NULL for a buffer). */
static int parse_top(struct vw_config *cfg, const char *name, const char *buf, size_t len,
		     const struct stat *st, const char *confine, FILE *err_out)
{
	struct parser p = {.cfg = cfg, .confine = confine};
	unsigned int idx;
	char *dir = NULL;
	size_t i;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	if (!name)
		name = "(buffer)";
	dir = confine ? strdup(confine) : dir_of(name);
	if (!dir) {
		err = -ENOMEM;
		goto out;
	}
	err = add_file(&p, name, &idx);
	if (err)
		goto out;
	/* a buffer has no inode: dev 0, ino 0 match no file */
	if (st) {
		p.stack[0].dev = st->st_dev;
		p.stack[0].ino = st->st_ino;
	}
	p.depth = 1;
	parse_text(&p, idx, buf, len, dir);
	if (!p.fatal)
		resolve(&p);
	if (p.fatal) {
		err = p.fatal;
		goto out;
	}
	if (p.nerrs) {
		qsort(p.errs, p.nerrs, sizeof(*p.errs), perr_cmp);
		for (i = 0; err_out && i < p.nerrs; i++)
			fprintf(err_out, "%s:%u: %s\n", p.files[p.errs[i].file], p.errs[i].line,
				p.errs[i].text);
		err = -EINVAL;
		goto out;
	}
	rule_list_finish(cfg->exempt, &cfg->nexempt);
	rule_list_finish(cfg->blocks, &cfg->nblocks);
	snprintf(cfg->source, sizeof(cfg->source), "%s", name);
	err = 0;
out:
	if (err == -ENOMEM && err_out)
		fprintf(err_out, "%s: out of memory while parsing\n", name);
	if (err)
		vw_config_free(cfg);
	parser_free(&p);
	free(dir);
	return err;
}

int vw_config_parse_buf(struct vw_config *cfg, const char *name, const char *buf, size_t len,
			FILE *err)
{
	return parse_top(cfg, name, buf, len, NULL, NULL, err);
}

int vw_config_parse_buf_confined(struct vw_config *cfg, const char *name, const char *buf,
				 size_t len, const char *dir, FILE *err)
{
	if (!dir) {
		memset(cfg, 0, sizeof(*cfg));
		return -EINVAL;
	}
	return parse_top(cfg, name, buf, len, NULL, dir, err);
}

int vw_config_load(struct vw_config *cfg, const char *path, FILE *err_out)
{
	char *buf = NULL;
	struct stat st;
	size_t len;
	int fd, err;

	memset(cfg, 0, sizeof(*cfg));
	if (strlen(path) >= VW_SOURCE_MAX)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	err = read_fd(fd, &buf, &len);
	if (err)
		goto out;
	err = parse_top(cfg, path, buf, len, &st, NULL, err_out);
out:
	close(fd);
	free(buf);
	return err;
}

int vw_config_builtin(struct vw_config *cfg)
{
	int err = vw_config_parse_buf(cfg, VW_BUILTIN_SOURCE, builtin_text,
				      sizeof(builtin_text) - 1, NULL);

	if (err)
		return err;
	cfg->builtin = true;
	return 0;
}
