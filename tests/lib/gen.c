// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Random configs and hostile frames for the differential fuzzer; see gen.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gen.h"
#include "refmodel.h"
#include "pkt.h"

/* ---- PRNG: splitmix64 (tiny, full period, good enough to fuzz with) ---------------------- */

void gen_rng_seed(struct gen_rng *r, __u64 seed)
{
	r->s = seed;
}

__u64 gen_rand(struct gen_rng *r)
{
	__u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

__u64 gen_below(struct gen_rng *r, __u64 n)
{
	return n ? gen_rand(r) % n : 0;
}

bool gen_chance(struct gen_rng *r, unsigned int pct)
{
	return gen_below(r, 100) < pct;
}

__u64 gen_range_u(struct gen_rng *r, __u64 lo, __u64 hi)
{
	return lo + gen_below(r, hi - lo + 1);
}

/* ---- Random configs ------------------------------------------------------------------------- */

/* Ports an operator would protect, and edges of the port space. */
static const __u16 common_ports[] = {5060, 5061, 22,   23, 80, 443,   8080,  8443,
				     69,   161,	 7547, 0,  1,  65535, 10000, 20000};

/* Ports already taken per protocol: a port belongs to at most one class per protocol. */
struct port_use {
	__u8 used[VW_L4_MAX][VW_PORTS / 8];
};

static bool range_free(const struct port_use *u, __u8 l4, unsigned int lo, unsigned int hi)
{
	for (unsigned int p = lo; p <= hi; p++)
		if (u->used[l4][p / 8] & (1U << (p % 8)))
			return false;
	return true;
}

static void range_take(struct port_use *u, __u8 l4, unsigned int lo, unsigned int hi)
{
	for (unsigned int p = lo; p <= hi; p++)
		u->used[l4][p / 8] |= (__u8)(1U << (p % 8));
}

static void gen_class_ports(struct gen_rng *r, struct vw_class *k, struct port_use *u)
{
	unsigned int want = (unsigned int)gen_range_u(r, 1, gen_chance(r, 10) ? 12 : 4);

	for (unsigned int tries = 0; k->nranges < want && tries < 50; tries++) {
		unsigned int x = (unsigned int)gen_below(r, 100), lo, hi;
		__u8 l4 = x < 45 ? VW_L4_UDP : x < 85 ? VW_L4_TCP : VW_L4_SCTP;

		if (gen_chance(r, 60))
			lo = common_ports[gen_below(r, sizeof(common_ports) /
							   sizeof(common_ports[0]))];
		else
			lo = (unsigned int)gen_below(r, VW_PORTS);
		hi = lo;
		if (gen_chance(r, 25))
			hi = lo + (unsigned int)gen_below(r, gen_chance(r, 10) ? VW_PORTS : 2000);
		if (hi > 65535)
			hi = 65535;
		if (!range_free(u, l4, lo, hi))
			continue;
		range_take(u, l4, lo, hi);
		k->ranges[k->nranges].lo = (__u16)lo;
		k->ranges[k->nranges].hi = (__u16)hi;
		k->ranges[k->nranges].l4 = l4;
		k->nranges++;
	}
}

/* Flood options of a class (docs/config.md, "Flood control on a class"), small enough that the
 * frames of a run go over them: a few packets a second or a minute, short bursts, bans from a
 * second to a week, IPv6 sources shared per /N at and around /64. */
static void gen_class_flood(struct gen_rng *r, struct vw_class *k, bool rate)
{
	static const __u8 pers[] = {1, 16, 32, 48, 56, 60, 63, 65, 72, 96, 104, 112, 127, 128};
	unsigned int x;

	if (gen_chance(r, 25))
		k->policy = VW_POLICY_OPEN;
	if (!gen_chance(r, 65) && !rate)
		return;
	if (gen_chance(r, 70)) {
		k->rate_unit = 1;
		k->rate = (__u32)gen_range_u(r, 1, 20);
	} else {
		k->rate_unit = 60;
		k->rate = (__u32)gen_range_u(r, 1, 600);
	}
	k->burst = gen_chance(r, 30) ? k->rate : (__u32)gen_range_u(r, 1, 8);
	if (gen_chance(r, 45))
		k->v6_plen = gen_chance(r, 70) ? pers[gen_below(r, sizeof(pers))]
					       : (__u8)gen_range_u(r, 1, 128);
	x = (unsigned int)gen_below(r, 100);
	if (x < 35)
		k->ban_secs = (__u32)gen_range_u(r, 1, 120);
	else if (x < 45)
		k->ban_secs = (__u32)gen_range_u(r, 121, 3600);
	else if (x < 50)
		k->ban_secs = (__u32)gen_range_u(r, 3601, 7 * 86400);
}

void gen_mask_prefix(__u8 *addr, unsigned int plen, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int bit = i * 8;

		if (bit >= plen)
			addr[i] = 0;
		else if (plen - bit < 8)
			addr[i] &= (__u8)(0xff << (8 - (plen - bit)));
	}
}

static unsigned int gen_plen(struct gen_rng *r, bool v6)
{
	unsigned int x = (unsigned int)gen_below(r, 100);

	if (!v6) {
		if (x < 25)
			return 32;
		if (x < 55)
			return (unsigned int)gen_range_u(r, 25, 31);
		if (x < 75)
			return 24;
		if (x < 98)
			return (unsigned int)gen_range_u(r, 8, 23);
		return (unsigned int)gen_range_u(r, 0, 7);
	}
	if (x < 25)
		return 128;
	if (x < 60)
		return (unsigned int)gen_range_u(r, 48, 127);
	if (x < 97)
		return (unsigned int)gen_range_u(r, 16, 47);
	return (unsigned int)gen_range_u(r, 0, 15);
}

static int add_rule(struct vw_config *cfg, const struct vw_rule *nr)
{
	for (size_t i = 0; i < cfg->nrules; i++) {
		struct vw_rule *o = &cfg->rules[i];

		if (o->family == nr->family && o->plen == nr->plen &&
		    !memcmp(o->addr, nr->addr, sizeof(o->addr))) {
			o->mask |= nr->mask;
			return 0;
		}
	}
	if (cfg->nrules == cfg->cap) {
		size_t cap = cfg->cap ? cfg->cap * 2 : 32;
		void *p = realloc(cfg->rules, cap * sizeof(*cfg->rules));

		if (!p)
			return -ENOMEM;
		cfg->rules = p;
		cfg->cap = cap;
	}
	cfg->rules[cfg->nrules++] = *nr;
	return 0;
}

/* Some allow rules marked exempt (for all their classes or one), and `block` statements: around
 * the rules (a rule's prefix, shortened or not) or in the zones. */
static int gen_config_flood_rules(struct gen_rng *r, struct vw_config *cfg, const __u32 *zones4,
				  __u8 (*zones6)[16])
{
	unsigned int nblocks = gen_chance(r, 50) ? (unsigned int)gen_range_u(r, 1, 6) : 0;
	int err = 0;

	for (size_t i = 0; i < cfg->nrules && !err; i++) {
		struct vw_rule e = cfg->rules[i];

		if (!gen_chance(r, 12))
			continue;
		if (gen_chance(r, 50))
			e.mask &= -e.mask;
		err = vw_rule_list_add(&cfg->exempt, &cfg->nexempt, &cfg->exempt_cap, &e);
	}
	for (unsigned int i = 0; i < nblocks && !err; i++) {
		struct vw_rule b = {.mask = VW_BLOCK_ALL_CLASSES};
		bool v6 = gen_chance(r, 50);

		b.family = v6 ? VW_FAMILY_V6 : VW_FAMILY_V4;
		if (cfg->nrules && gen_chance(r, 70)) {
			const struct vw_rule *o = &cfg->rules[gen_below(r, cfg->nrules)];

			memcpy(b.addr, o->addr, 16);
			b.family = o->family;
			b.plen = o->plen;
			if (gen_chance(r, 40))
				b.plen = (__u8)(b.plen - gen_below(r, b.plen < 8 ? b.plen + 1 : 9));
		} else {
			__u32 a = htonl(zones4[gen_below(r, 3)] ^ (__u32)gen_below(r, 256));

			if (v6)
				memcpy(b.addr, zones6[gen_below(r, 3)], 16);
			else
				memcpy(b.addr, &a, 4);
			b.plen = (__u8)gen_plen(r, v6);
		}
		gen_mask_prefix(b.addr, b.plen, b.family == VW_FAMILY_V6 ? 16 : 4);
		if (b.family == VW_FAMILY_V4)
			memset(b.addr + 4, 0, 12);
		err = vw_rule_list_add(&cfg->blocks, &cfg->nblocks, &cfg->blocks_cap, &b);
	}
	return err;
}

int gen_config(struct gen_rng *r, struct vw_config *cfg)
{
	return gen_config_flood(r, cfg, -1);
}

int gen_config_flood(struct gen_rng *r, struct vw_config *cfg, int with_flood)
{
	struct port_use *use;
	__u32 idmask = 0, zones4[3];
	__u8 zones6[3][16];
	unsigned int nrules;
	bool flood, rates = false;
	int err = 0;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->source, sizeof(cfg->source), "(fuzz)");
	use = calloc(1, sizeof(*use));
	if (!use)
		return -ENOMEM;
	/* Half the configs use flood control: open classes, rates, bans, exempt rules, blocks. */
	flood = gen_chance(r, 50);
	if (with_flood >= 0)
		flood = with_flood;

	if (gen_chance(r, 3))
		cfg->nclasses = 0; /* no ports protected: everything IP is unprotected */
	else if (gen_chance(r, 5))
		cfg->nclasses = (unsigned int)gen_range_u(r, 6, VW_MAX_CLASSES);
	else
		cfg->nclasses = (unsigned int)gen_range_u(r, 1, 5);
	for (unsigned int c = 0; c < cfg->nclasses; c++) {
		struct vw_class *k = &cfg->classes[c];
		__u8 id;

		do
			id = (__u8)gen_below(r, VW_MAX_CLASSES);
		while (idmask & (1U << id));
		idmask |= 1U << id;
		k->id = id;
		snprintf(k->name, sizeof(k->name), "k%u", id);
		k->policy = gen_chance(r, 30) ? VW_POLICY_MONITOR : VW_POLICY_DROP;
		k->v6_plen = VW_V6_RATE_PLEN_DEFAULT;
		if (flood) /* the last class has a rate when no other has */
			gen_class_flood(r, k, c + 1 == cfg->nclasses && !rates);
		rates |= k->rate != 0;
		gen_class_ports(r, k, use);
	}
	free(use);

	/* A few zones per config, so that rules nest and overlap (union semantics). */
	for (int z = 0; z < 3; z++) {
		zones4[z] = (__u32)gen_rand(r);
		for (int i = 0; i < 16; i++)
			zones6[z][i] = (__u8)gen_rand(r);
		if (gen_chance(r, 50)) {
			zones6[z][0] = 0x20;
			zones6[z][1] = 0x01;
			zones6[z][2] = 0x0d;
			zones6[z][3] = 0xb8;
		}
	}
	if (gen_chance(r, 2))
		nrules = (unsigned int)gen_range_u(r, 500, 3000); /* many masks and lengths */
	else if (gen_chance(r, 10))
		nrules = (unsigned int)gen_range_u(r, 0, 200);
	else
		nrules = (unsigned int)gen_range_u(r, 0, 24);
	for (unsigned int i = 0; i < nrules && !err; i++) {
		struct vw_rule nr = {0};
		bool v6 = gen_chance(r, 50);
		unsigned int z = (unsigned int)gen_below(r, 3), keep;

		nr.family = v6 ? VW_FAMILY_V6 : VW_FAMILY_V4;
		nr.plen = (__u8)gen_plen(r, v6);
		/* Random address sharing the zone's first `keep` bits. */
		for (int b = 0; b < 16; b++)
			nr.addr[b] = (__u8)gen_rand(r);
		keep = (unsigned int)gen_below(r, v6 ? 129 : 33);
		if (gen_chance(r, 80)) {
			__u8 za[16];

			if (v6) {
				memcpy(za, zones6[z], 16);
			} else {
				__u32 n = htonl(zones4[z]);

				memcpy(za, &n, 4);
			}
			for (unsigned int bit = 0; bit < keep; bit++) {
				__u8 m = (__u8)(0x80 >> (bit % 8));

				nr.addr[bit / 8] =
				    (__u8)((nr.addr[bit / 8] & ~m) | (za[bit / 8] & m));
			}
		}
		if (!v6)
			memset(nr.addr + 4, 0, 12);
		gen_mask_prefix(nr.addr, nr.plen, v6 ? 16 : 4);
		if (!idmask)
			break; /* no class to allow anything for */
		do
			nr.mask = (__u32)gen_rand(r) & idmask;
		while (!nr.mask);
		if (gen_chance(r, 60)) { /* mostly one class per rule */
			__u32 m = nr.mask;

			nr.mask = m & -m;
		}
		err = add_rule(cfg, &nr);
	}
	if (flood && !err)
		err = gen_config_flood_rules(r, cfg, zones4, zones6);
	if (err)
		gen_config_free(cfg);
	return err;
}

void gen_config_free(struct vw_config *cfg)
{
	free(cfg->exempt);
	free(cfg->blocks);
	cfg->exempt = cfg->blocks = NULL;
	cfg->nexempt = cfg->exempt_cap = cfg->nblocks = cfg->blocks_cap = 0;
	free(cfg->rules);
	free(cfg->idx_slots); /* config.c's index, if vw_config_add_rule() ever built one */
	cfg->idx_slots = NULL;
	cfg->rules = NULL;
	cfg->nrules = cfg->cap = 0;
}

const char *gen_class_name(const struct vw_config *cfg, __u8 cls)
{
	for (unsigned int c = 0; c < cfg->nclasses; c++)
		if (cfg->classes[c].id == cls)
			return cfg->classes[c].name;
	return "none";
}

static const char *l4_word(__u8 l4)
{
	return l4 == VW_L4_UDP ? "udp" : l4 == VW_L4_TCP ? "tcp" : "sctp";
}

/* "allow CLASSES PREFIX/LEN[tail]", or "block PREFIX/LEN" (every class) */
static void print_rule(const struct vw_config *cfg, const char *what, const struct vw_rule *rl,
		       const char *tail, FILE *out)
{
	char buf[INET6_ADDRSTRLEN];
	const char *sep = " ";

	fprintf(out, "%s", what);
	for (unsigned int c = 0; c < cfg->nclasses && strcmp(what, "block"); c++) {
		if (rl->mask & (1U << cfg->classes[c].id)) {
			fprintf(out, "%s%s", sep, cfg->classes[c].name);
			sep = ",";
		}
	}
	inet_ntop(rl->family == VW_FAMILY_V6 ? AF_INET6 : AF_INET, rl->addr, buf, sizeof(buf));
	fprintf(out, " %s/%u%s\n", buf, rl->plen, tail);
}

void gen_config_print(const struct vw_config *cfg, FILE *out)
{

	for (unsigned int c = 0; c < cfg->nclasses; c++) {
		const struct vw_class *k = &cfg->classes[c];

		fprintf(out, "class %s", k->name);
		for (unsigned int i = 0; i < k->nranges; i++) {
			const struct vw_port_range *p = &k->ranges[i];

			if (p->lo == p->hi)
				fprintf(out, " %u/%s", p->lo, l4_word(p->l4));
			else
				fprintf(out, " %u-%u/%s", p->lo, p->hi, l4_word(p->l4));
		}
		fprintf(out, " policy %s",
			k->policy == VW_POLICY_MONITOR ? "monitor"
			: k->policy == VW_POLICY_OPEN  ? "open"
						       : "drop");
		if (k->rate) {
			fprintf(out, " rate %u/%c burst %u", k->rate,
				k->rate_unit == 60 ? 'm' : 's', k->burst);
			if (k->v6_plen != VW_V6_RATE_PLEN_DEFAULT)
				fprintf(out, " per /%u", k->v6_plen);
			if (k->ban_secs)
				fprintf(out, " ban %us", k->ban_secs);
		}
		fputc('\n', out);
	}
	for (size_t i = 0; i < cfg->nrules; i++)
		print_rule(cfg, "allow", &cfg->rules[i], "", out);
	for (size_t i = 0; i < cfg->nexempt; i++)
		print_rule(cfg, "allow", &cfg->exempt[i], " exempt", out);
	for (size_t i = 0; i < cfg->nblocks; i++)
		print_rule(cfg, "block", &cfg->blocks[i], "", out);
}

/* Next whitespace-separated word of *s into buf; false at the end of the line. */
static bool next_word(const char **s, char *buf, size_t cap)
{
	size_t n = 0;

	while (**s && isspace((unsigned char)**s))
		(*s)++;
	if (!**s || **s == '#')
		return false;
	while (**s && !isspace((unsigned char)**s)) {
		if (n + 1 < cap)
			buf[n++] = **s;
		(*s)++;
	}
	buf[n] = '\0';
	return true;
}

static int parse_ports(struct vw_class *k, const char *w, const char **why)
{
	unsigned long lo, hi;
	char *end, *slash = strchr(w, '/');
	__u8 l4;

	if (!slash) {
		*why = "port without /proto";
		return -EINVAL;
	}
	if (!strcmp(slash + 1, "udp"))
		l4 = VW_L4_UDP;
	else if (!strcmp(slash + 1, "tcp"))
		l4 = VW_L4_TCP;
	else if (!strcmp(slash + 1, "sctp"))
		l4 = VW_L4_SCTP;
	else {
		*why = "unknown protocol";
		return -EINVAL;
	}
	lo = strtoul(w, &end, 10);
	hi = lo;
	if (*end == '-')
		hi = strtoul(end + 1, &end, 10);
	if (end != slash || lo > hi || hi > 65535 || k->nranges == VW_MAX_RANGES) {
		*why = "bad port range";
		return -EINVAL;
	}
	k->ranges[k->nranges].lo = (__u16)lo;
	k->ranges[k->nranges].hi = (__u16)hi;
	k->ranges[k->nranges].l4 = l4;
	k->nranges++;
	return 0;
}

/* "policy drop|monitor|open" */
static int parse_policy(struct vw_class *k, const char *w, const char **why)
{
	if (!strcmp(w, "drop"))
		k->policy = VW_POLICY_DROP;
	else if (!strcmp(w, "monitor"))
		k->policy = VW_POLICY_MONITOR;
	else if (!strcmp(w, "open"))
		k->policy = VW_POLICY_OPEN;
	else {
		*why = "bad policy";
		return -EINVAL;
	}
	return 0;
}

/* "rate N/s|N/m", "burst M", "per /N", "ban DURATION" */
static int parse_flood_option(struct vw_class *k, const char *opt, const char *v, const char **why)
{
	unsigned long n;
	__u64 secs;
	char *end;

	n = strtoul(v[0] == '/' ? v + 1 : v, &end, 10);
	if (!strcmp(opt, "rate") && n && n <= 0xffffffffUL && end[0] == '/' &&
	    (end[1] == 's' || end[1] == 'm') && !end[2]) {
		k->rate = (__u32)n;
		k->rate_unit = end[1] == 'm' ? 60 : 1;
	} else if (!strcmp(opt, "burst") && n && n <= VW_BURST_MAX && !*end) {
		k->burst = (__u32)n;
	} else if (!strcmp(opt, "per") && v[0] == '/' && n >= 1 && n <= 128 && !*end) {
		k->v6_plen = (__u8)n;
	} else if (!strcmp(opt, "ban") && !vw_parse_duration(v, VW_BAN_MAX_SECS, &secs)) {
		k->ban_secs = (__u32)secs;
	} else {
		*why = "bad rate, burst, per or ban";
		return -EINVAL;
	}
	return 0;
}

/* "ADDRESS/LEN" into r (family, addr, plen; mask untouched) */
static int parse_prefix(char *pfx, struct vw_rule *r, const char **why)
{
	char *slash = strchr(pfx, '/');
	unsigned long plen;

	if (!slash) {
		*why = "prefix without length";
		return -EINVAL;
	}
	*slash = '\0';
	plen = strtoul(slash + 1, NULL, 10);
	if (inet_pton(AF_INET, pfx, r->addr) == 1 && plen <= 32) {
		r->family = VW_FAMILY_V4;
	} else if (inet_pton(AF_INET6, pfx, r->addr) == 1 && plen <= 128) {
		r->family = VW_FAMILY_V6;
	} else {
		*why = "bad prefix";
		return -EINVAL;
	}
	r->plen = (__u8)plen;
	return 0;
}

int gen_config_parse_line(struct vw_config *cfg, const char *line, const char **why)
{
	char w[128], cls_tail[16];
	const char *s = line;

	if (!next_word(&s, w, sizeof(w)))
		return 0;
	if (!strcmp(w, "class")) {
		struct vw_class *k;

		if (cfg->nclasses == VW_MAX_CLASSES || !next_word(&s, w, sizeof(w)) ||
		    strlen(w) >= VW_CLASS_NAME_MAX) {
			*why = "bad class statement";
			return -EINVAL;
		}
		k = &cfg->classes[cfg->nclasses];
		memset(k, 0, sizeof(*k));
		snprintf(k->name, sizeof(k->name), "%s", w);
		k->id = (__u8)cfg->nclasses;
		k->v6_plen = VW_V6_RATE_PLEN_DEFAULT;
		while (next_word(&s, w, sizeof(w))) {
			int err = 0;

			if (!strcmp(w, "policy"))
				err = parse_policy(k, next_word(&s, w, sizeof(w)) ? w : "", why);
			else if (!strcmp(w, "rate") || !strcmp(w, "burst") || !strcmp(w, "per") ||
				 !strcmp(w, "ban")) {
				char v[64];

				err = parse_flood_option(k, w, next_word(&s, v, sizeof(v)) ? v : "",
							 why);
			} else
				err = parse_ports(k, w, why);
			if (err)
				return err;
		}
		if (k->rate && !k->burst)
			k->burst = k->rate; /* the default: the rate's N */
		cfg->nclasses++;
		return 0;
	}
	if (!strcmp(w, "block")) {
		struct vw_rule r = {.mask = VW_BLOCK_ALL_CLASSES};
		char pfx[128];

		if (!next_word(&s, pfx, sizeof(pfx)) || parse_prefix(pfx, &r, why))
			return -EINVAL;
		if (vw_rule_list_add(&cfg->blocks, &cfg->nblocks, &cfg->blocks_cap, &r)) {
			*why = "out of memory";
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(w, "allow")) {
		struct vw_rule r = {0};
		char pfx[128], *tok, *save = NULL;
		bool exempt;

		if (!next_word(&s, w, sizeof(w)) || !next_word(&s, pfx, sizeof(pfx))) {
			*why = "bad allow statement";
			return -EINVAL;
		}
		exempt = next_word(&s, cls_tail, sizeof(cls_tail));
		if (exempt && strcmp(cls_tail, "exempt")) {
			*why = "one prefix per allow line, then only 'exempt'";
			return -EINVAL;
		}
		for (tok = strtok_r(w, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			unsigned int c;

			for (c = 0; c < cfg->nclasses; c++)
				if (!strcmp(cfg->classes[c].name, tok))
					break;
			if (c == cfg->nclasses) {
				*why = "unknown class";
				return -EINVAL;
			}
			r.mask |= 1U << cfg->classes[c].id;
		}
		if (parse_prefix(pfx, &r, why))
			return -EINVAL;
		/* an exempt rule is an allow rule too (docs/config.md, "allow ... exempt") */
		if (add_rule(cfg, &r) || (exempt && vw_rule_list_add(&cfg->exempt, &cfg->nexempt,
								     &cfg->exempt_cap, &r))) {
			*why = "out of memory";
			return -EINVAL;
		}
		return 0;
	}
	*why = "unknown statement";
	return -EINVAL;
}

/* ---- Captures: classic pcap (either byte order, us or ns) and pcapng, Ethernet only -------- */

struct pframe {
	__u8 *data;
	size_t len;
};

struct gen {
	struct gen_rng rng;
	const struct vw_config *cfg;
	struct pframe *pcap;
	size_t npcap, pcap_cap;
	/* Queued frames (fragment series), emitted before anything new. */
	struct pframe *queue;
	size_t nqueue, queue_cap;
	char queue_desc[80];
	__u16 ids[8]; /* a small pool of IP ids so unrelated fragments collide */
	size_t linear;
	/* Sources used lately, per family (0: IPv4, 1: IPv6): sent again, so that one source's
	 * packets come close enough together to go over a rate. */
	__u8 recent[2][16][16];
	unsigned int nrecent[2], recent_at[2];
	/* Prefixes frames should hit besides the config's (block set entries). */
	struct vw_rule extra[64];
	size_t nextra;
	bool rates; /* some class of the config has a rate */
	/* gen_aim(): the next decision frame's source prefix and class */
	bool aim_on;
	struct vw_rule aim;
	__u8 aim_cls;
};

static int pool_add(struct pframe **v, size_t *n, size_t *cap, const __u8 *d, size_t len, size_t at)
{
	__u8 *copy;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *p = realloc(*v, nc * sizeof(**v));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = nc;
	}
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, d, len);
	if (at > *n)
		at = *n;
	memmove(*v + at + 1, *v + at, (*n - at) * sizeof(**v));
	(*v)[at].data = copy;
	(*v)[at].len = len;
	(*n)++;
	return 0;
}

static __u32 rd32(const __u8 *p, bool swap)
{
	__u32 v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static __u16 rd16(const __u8 *p, bool swap)
{
	__u16 v;

	memcpy(&v, p, 2);
	return swap ? __builtin_bswap16(v) : v;
}

static int add_capture_frame(struct gen *g, const __u8 *d, size_t len)
{
	if (len < GEN_MIN_FRAME || len > GEN_MAX_FRAME)
		return 0;
	return pool_add(&g->pcap, &g->npcap, &g->pcap_cap, d, len, g->npcap);
}

static int read_pcap(struct gen *g, const __u8 *buf, size_t n)
{
	__u32 magic = rd32(buf, false);
	bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	size_t pos = 24;
	int err = 0;

	if (rd32(buf + 20, swap) != 1) /* LINKTYPE_ETHERNET */
		return 0;
	while (!err && pos + 16 <= n) {
		__u32 incl = rd32(buf + pos + 8, swap);

		pos += 16;
		if (incl > n - pos)
			break;
		err = add_capture_frame(g, buf + pos, incl);
		pos += incl;
	}
	return err;
}

static int read_pcapng(struct gen *g, const __u8 *buf, size_t n)
{
	__u16 linktypes[16];
	unsigned int nif = 0;
	bool swap = false;
	size_t pos = 0;
	int err = 0;

	while (!err && pos + 12 <= n) {
		__u32 type = rd32(buf + pos, swap), blen;

		if (type == 0x0a0d0d0a) { /* section header: byte order from its magic */
			swap = rd32(buf + pos + 8, false) != 0x1a2b3c4d;
			nif = 0;
		}
		blen = rd32(buf + pos + 4, swap);
		if (blen < 12 || blen > n - pos)
			break;
		if (type == 1 && blen >= 20 && nif < 16) { /* interface description */
			linktypes[nif++] = rd16(buf + pos + 8, swap);
		} else if (type == 6 && blen >= 32) { /* enhanced packet */
			__u32 ifc = rd32(buf + pos + 8, swap), cap = rd32(buf + pos + 20, swap);

			if (ifc < nif && linktypes[ifc] == 1 && cap <= blen - 32)
				err = add_capture_frame(g, buf + pos + 28, cap);
		}
		pos += blen;
	}
	return err;
}

static int read_capture(struct gen *g, const char *path)
{
	FILE *f = fopen(path, "rb");
	__u8 *buf = NULL;
	long n;
	int err = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		err = -errno;
		goto out;
	}
	buf = malloc((size_t)n + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		err = -EIO;
		goto out;
	}
	if (n >= 24 && (rd32(buf, false) == 0xa1b2c3d4 || rd32(buf, false) == 0xd4c3b2a1 ||
			rd32(buf, false) == 0xa1b23c4d || rd32(buf, false) == 0x4d3cb2a1))
		err = read_pcap(g, buf, (size_t)n);
	else if (n >= 12 && rd32(buf, false) == 0x0a0d0d0a)
		err = read_pcapng(g, buf, (size_t)n);
out:
	free(buf);
	fclose(f);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read every capture in dir, in name order (so a seed means the same frames everywhere). */
static int load_captures(struct gen *g, const char *dir)
{
	char *names[256];
	size_t nn = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && nn < 256) {
		size_t l = strlen(de->d_name);

		if ((l > 5 && !strcmp(de->d_name + l - 5, ".pcap")) ||
		    (l > 7 && !strcmp(de->d_name + l - 7, ".pcapng")))
			names[nn++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, nn, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < nn; i++) {
		char path[4096];

		if (!names[i]) {
			err = -ENOMEM;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (!err)
			err = read_capture(g, path);
		free(names[i]);
	}
	return err;
}

struct gen *gen_new(__u64 seed, const char *pcap_dir)
{
	struct gen *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return NULL;
	gen_rng_seed(&g->rng, seed);
	if (pcap_dir) {
		err = load_captures(g, pcap_dir);
		if (err) {
			gen_free(g);
			errno = -err;
			return NULL;
		}
	}
	return g;
}

static void pool_clear(struct pframe *v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free(v[i].data);
	*n = 0;
}

void gen_free(struct gen *g)
{
	if (!g)
		return;
	pool_clear(g->pcap, &g->npcap);
	pool_clear(g->queue, &g->nqueue);
	free(g->pcap);
	free(g->queue);
	free(g);
}

size_t gen_pcap_frames(const struct gen *g)
{
	return g->npcap;
}

void gen_set_linear(struct gen *g, size_t linear)
{
	g->linear = linear;
}

struct gen_rng *gen_rng(struct gen *g)
{
	return &g->rng;
}

void gen_set_extra(struct gen *g, const struct vw_rule *r, size_t n)
{
	g->nextra = n < 64 ? n : 64;
	memcpy(g->extra, r, g->nextra * sizeof(*r));
}

void gen_aim(struct gen *g, const struct vw_rule *src, __u8 cls)
{
	g->aim_on = true;
	g->aim = *src;
	g->aim_cls = cls;
}

void gen_set_config(struct gen *g, const struct vw_config *cfg, bool keep_queue)
{
	g->aim_on = false;
	g->cfg = cfg;
	g->nrecent[0] = g->nrecent[1] = 0;
	g->nextra = 0;
	g->rates = false;
	for (unsigned int c = 0; cfg && c < cfg->nclasses; c++)
		g->rates |= cfg->classes[c].rate != 0;
	if (!keep_queue)
		pool_clear(g->queue, &g->nqueue);
	for (int i = 0; i < 8; i++)
		g->ids[i] = (__u16)gen_rand(&g->rng);
}

/* ---- Frame builders -------------------------------------------------------------------------- */

/* A frame under construction, with the offsets of its length/offset fields (mutation targets). */
struct fb {
	__u8 b[GEN_MAX_FRAME];
	size_t len;
	size_t hot[48];
	unsigned int nhot;
};

static void fb_hot(struct fb *f, size_t off)
{
	if (f->nhot < sizeof(f->hot) / sizeof(f->hot[0]))
		f->hot[f->nhot++] = off;
}

static __u8 *fb_put(struct fb *f, size_t n)
{
	__u8 *p;

	if (f->len + n > GEN_MAX_FRAME)
		n = GEN_MAX_FRAME - f->len;
	p = f->b + f->len;
	memset(p, 0, n);
	f->len += n;
	return p;
}

static void put16(__u8 *p, unsigned int v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* What one IP datagram carries: the parts generated before fragmentation. */
struct dgram {
	bool v6;
	__u8 src[16], dst[16];
	__u8 proto; /* upper-layer protocol number (IPv4 protocol / last next header) */
	__u8 l4[GEN_MAX_FRAME];
	size_t l4len;  /* upper-layer header + payload */
	__u16 vlan[3]; /* TPIDs of the VLAN stack */
	unsigned int nvlan;
	__u8 v4opt[40];
	unsigned int v4optlen;
	/* IPv6 extension chain: types and lengths, before (unfragmentable) and after the
	 * fragment header (fragmentable part, sent in the first fragment). */
	__u8 ext_type[16];
	__u8 ext_len[16];	      /* hdr_ext_len / AH payload len byte */
	unsigned int next, next_frag; /* count; index where a fragment header goes */
};

/* The first plen bits of out become the prefix's. */
static void put_prefix(__u8 *out, const struct vw_rule *rl)
{
	for (unsigned int bit = 0; bit < rl->plen; bit++) {
		__u8 m = (__u8)(0x80 >> (bit % 8));

		out[bit / 8] = (__u8)((out[bit / 8] & ~m) | (rl->addr[bit / 8] & m));
	}
}

/* Pick a source: inside an allow rule of the family (mostly), just outside one, or anywhere. */
static void pick_source(struct gen *g, bool v6, __u8 *out)
{
	const struct vw_config *cfg = g->cfg;
	struct gen_rng *r = &g->rng;
	unsigned int alen = v6 ? 16 : 4;
	const struct vw_rule *cand[64];
	size_t nc = 0;

	for (unsigned int i = 0; i < alen; i++)
		out[i] = (__u8)gen_rand(r);
	if (!cfg || gen_chance(r, 20))
		return;
	if (v6 && gen_chance(r, 4)) {
		/* An IPv4-mapped IPv6 source (::ffff:a.b.c.d) taken from an IPv4 rule: IPv4 rules
		 * must not allow it, and its fragments must not meet IPv4 ones in vw_frags. */
		__u8 a4[4];

		pick_source(g, false, a4);
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, a4, 4);
		return;
	}
	for (size_t i = 0; i < cfg->nrules && nc < 48; i++) {
		size_t k = cfg->nrules <= 48 ? i : gen_below(r, cfg->nrules);

		if (cfg->rules[k].family == (v6 ? VW_FAMILY_V6 : VW_FAMILY_V4))
			cand[nc++] = &cfg->rules[k];
	}
	for (size_t i = 0; i < cfg->nblocks && nc < 56; i++)
		if (cfg->blocks[i].family == (v6 ? VW_FAMILY_V6 : VW_FAMILY_V4))
			cand[nc++] = &cfg->blocks[i];
	for (size_t i = 0; i < g->nextra && nc < 64; i++) {
		size_t k = g->nextra <= 8 ? i : gen_below(r, g->nextra);

		if (g->extra[k].family == (v6 ? VW_FAMILY_V6 : VW_FAMILY_V4))
			cand[nc++] = &g->extra[k];
	}
	if (!nc)
		return;
	const struct vw_rule *rl = cand[gen_below(r, nc)];

	put_prefix(out, rl);
	if (rl->plen && gen_chance(r, 20)) { /* just outside: flip the last prefix bit */
		unsigned int bit = rl->plen - 1;

		out[bit / 8] ^= (__u8)(0x80 >> (bit % 8));
	}
	if (gen_chance(r, 10)) /* the prefix's own first or last address */
		for (unsigned int bit = rl->plen; bit < alen * 8; bit++) {
			__u8 m = (__u8)(0x80 >> (bit % 8));

			out[bit / 8] =
			    (__u8)(gen_chance(r, 50) ? out[bit / 8] | m : out[bit / 8] & ~m);
		}
}

/* pick_source(), or one of the last 16 sources of the family again (an IPv6 one often with new
 * bits past a random length from /48: the same /64, or the same per /N of a class). */
static void pick_recent_source(struct gen *g, bool v6, __u8 *out)
{
	unsigned int f = v6, n = g->nrecent[f];

	if (n && gen_chance(&g->rng, 30)) {
		memcpy(out, g->recent[f][gen_below(&g->rng, n)], 16);
		if (v6 && gen_chance(&g->rng, 40))
			for (unsigned int bit = (unsigned int)gen_range_u(&g->rng, 48, 127);
			     bit < 128; bit++)
				if (gen_chance(&g->rng, 50))
					out[bit / 8] ^= (__u8)(0x80 >> (bit % 8));
		return;
	}
	pick_source(g, v6, out);
	memcpy(g->recent[f][g->recent_at[f]], out, 16);
	g->recent_at[f] = (g->recent_at[f] + 1) % 16;
	if (n < 16)
		g->nrecent[f]++;
}

/* Pick a destination port for l4: in a class range (mostly, edges included), or anywhere. */
static __u16 pick_port(struct gen *g, __u8 l4)
{
	const struct vw_config *cfg = g->cfg;
	struct gen_rng *r = &g->rng;
	const struct vw_port_range *c[64];
	unsigned int nc = 0;

	if (cfg && !gen_chance(r, 25)) {
		for (unsigned int k = 0; k < cfg->nclasses; k++)
			for (unsigned int i = 0; i < cfg->classes[k].nranges && nc < 64; i++)
				if (cfg->classes[k].ranges[i].l4 == l4 || gen_chance(r, 10))
					c[nc++] = &cfg->classes[k].ranges[i];
	}
	if (!nc)
		return (__u16)(gen_chance(r, 50) ? gen_below(r, 65536)
						 : common_ports[gen_below(r, 16)]);
	const struct vw_port_range *p = c[gen_below(r, nc)];

	switch (gen_below(r, 6)) {
	case 0:
		return p->lo;
	case 1:
		return p->hi;
	case 2:
		return (__u16)(p->lo - 1);
	case 3:
		return (__u16)(p->hi + 1);
	default:
		return (__u16)gen_range_u(r, p->lo, p->hi);
	}
}

/* A destination port inside one of the config's ranges for l4 (edges often), or pick_port()'s
 * choice when no class has a range for l4. */
static __u16 pick_class_port(struct gen *g, __u8 l4)
{
	const struct vw_config *cfg = g->cfg;
	const struct vw_port_range *c[64];
	unsigned int nc = 0;

	for (unsigned int k = 0; cfg && k < cfg->nclasses; k++)
		for (unsigned int i = 0; i < cfg->classes[k].nranges && nc < 64; i++)
			if (cfg->classes[k].ranges[i].l4 == l4 &&
			    (!g->aim_on || g->aim_cls == VW_CLASS_NONE ||
			     cfg->classes[k].id == g->aim_cls))
				c[nc++] = &cfg->classes[k].ranges[i];
	if (!nc)
		return pick_port(g, l4);
	const struct vw_port_range *p = c[gen_below(&g->rng, nc)];

	switch (gen_below(&g->rng, 4)) {
	case 0:
		return p->lo;
	case 1:
		return p->hi;
	default:
		return (__u16)gen_range_u(&g->rng, p->lo, p->hi);
	}
}

static size_t pick_payload_len(struct gen_rng *r)
{
	unsigned int x = (unsigned int)gen_below(r, 100);

	if (x < 60)
		return gen_below(r, 64);
	if (x < 90)
		return gen_below(r, 600);
	if (x < 97)
		return gen_range_u(r, 600, 1500);
	return gen_range_u(r, 3000, 9000); /* jumbo: spills into a second buffer */
}

static __u16 pick_class_port(struct gen *g, __u8 l4);

/* The upper-layer header and payload, into d->l4. clean: consistent lengths and a port in one of
 * the config's ranges for the protocol (when it has one). */
static void build_l4_as(struct gen *g, struct dgram *d, size_t min_pay, bool clean)
{
	struct gen_rng *r = &g->rng;
	size_t pay = pick_payload_len(r), hl;
	__u8 *h = d->l4;
	__u8 l4;

	if (d->proto == 17) {
		l4 = VW_L4_UDP;
		hl = 8;
	} else if (d->proto == 6) {
		l4 = VW_L4_TCP;
		hl = gen_chance(r, 70) ? 20 : 4 * gen_range_u(r, 5, 15);
	} else if (d->proto == 132) {
		l4 = VW_L4_SCTP;
		hl = 12;
	} else {
		l4 = VW_L4_MAX;
		hl = 0;
	}
	if (pay < min_pay)
		pay = min_pay;
	if (hl + pay > GEN_MAX_FRAME - 200)
		pay = GEN_MAX_FRAME - 200 - hl;
	for (size_t i = 0; i < hl + pay; i++)
		h[i] = (__u8)gen_rand(r);
	d->l4len = hl + pay;
	if (l4 == VW_L4_MAX)
		return;
	put16(h, (unsigned int)gen_below(r, 65536));
	put16(h + 2, clean ? pick_class_port(g, l4) : pick_port(g, l4));
	if (l4 == VW_L4_UDP) {
		size_t ulen = hl + pay;

		if (!clean && gen_chance(r, 5))
			ulen = gen_below(r, 16); /* zero and short UDP lengths */
		put16(h + 4, (unsigned int)(ulen & 0xffff));
	} else if (l4 == VW_L4_TCP) {
		h[12] = (__u8)((hl / 4) << 4);
		if (!clean && gen_chance(r, 5))
			h[12] = (__u8)(gen_below(r, 16) << 4);
		h[13] = (__u8)gen_rand(r); /* any flags, odd ones included */
	}
}

static void build_l4(struct gen *g, struct dgram *d, size_t min_pay)
{
	build_l4_as(g, d, min_pay, false);
}

static void build_eth(struct gen *g, struct fb *f, const struct dgram *d, unsigned int ethertype)
{
	__u8 *p = fb_put(f, 12);

	for (int i = 0; i < 12; i++)
		p[i] = (__u8)gen_rand(&g->rng);
	for (unsigned int i = 0; i < d->nvlan; i++) {
		p = fb_put(f, 4);
		put16(p, d->vlan[i]);
		put16(p + 2, (unsigned int)gen_below(&g->rng, 65536));
		fb_hot(f, f->len - 4);
	}
	p = fb_put(f, 2);
	put16(p, ethertype);
	fb_hot(f, f->len - 2);
}

/* An IPv4 frame carrying l4 bytes [from, from + n) at fragment offset `from` (bytes). */
static void build_v4(struct gen *g, struct fb *f, const struct dgram *d, size_t from, size_t n,
		     bool more, __u16 id)
{
	size_t ihl = 20 + d->v4optlen;
	__u8 *ip;

	build_eth(g, f, d, 0x0800);
	ip = fb_put(f, ihl);
	ip[0] = (__u8)(0x40 | (ihl / 4));
	put16(ip + 2, (unsigned int)((ihl + n) & 0xffff));
	put16(ip + 4, id);
	put16(ip + 6, (unsigned int)(((from / 8) & 0x1fff) | (more ? 0x2000 : 0) |
				     (gen_chance(&g->rng, 10) ? 0x4000 : 0)));
	ip[8] = 64;
	ip[9] = d->proto;
	memcpy(ip + 12, d->src, 4);
	memcpy(ip + 16, d->dst, 4);
	memcpy(ip + 20, d->v4opt, d->v4optlen);
	fb_hot(f, (size_t)(ip - f->b));
	fb_hot(f, (size_t)(ip - f->b) + 2);
	fb_hot(f, (size_t)(ip - f->b) + 6);
	memcpy(fb_put(f, n), d->l4 + from, n);
	if (from == 0 && n >= 6)
		fb_hot(f, (size_t)(ip - f->b) + ihl + 4);
	if (from == 0 && n >= 13)
		fb_hot(f, (size_t)(ip - f->b) + ihl + 12);
}

static bool is_l4_proto(__u8 p)
{
	return p == 17 || p == 6 || p == 132;
}

static size_t ext_bytes(__u8 type, __u8 lenb)
{
	if (type == 44)
		return 8;
	if (type == 51)
		return ((size_t)lenb + 2) * 4;
	return ((size_t)lenb + 1) * 8;
}

/*
 * An IPv6 frame. Extension headers [0, next_frag) are the unfragmentable part; with frag,
 * a fragment header follows (offset from, M more, identification id), then the fragmentable
 * part: headers [next_frag, next) and the l4 bytes, of which [from, from + n) are sent. Without
 * frag, every header and all n bytes are sent.
 */
static void build_v6(struct gen *g, struct fb *f, const struct dgram *d, bool frag, size_t from,
		     size_t n, bool more, __u32 id)
{
	struct gen_rng *r = &g->rng;
	size_t ipoff, start;
	__u8 *ip, *prev_nh;

	build_eth(g, f, d, 0x86dd);
	ipoff = f->len;
	ip = fb_put(f, 40);
	ip[0] = 0x60;
	memcpy(ip + 8, d->src, 16);
	memcpy(ip + 24, d->dst, 16);
	ip[7] = 64;
	fb_hot(f, ipoff + 4);
	prev_nh = ip + 6;
	start = f->len;
	for (unsigned int i = 0; i < d->next; i++) {
		size_t hl;
		__u8 *h;

		if (frag && i == d->next_frag) {
			h = fb_put(f, 8);
			*prev_nh = 44;
			prev_nh = h;
			put16(h + 2, (unsigned int)(((from / 8) << 3) | (more ? 1 : 0)));
			put32(h + 4, id);
			fb_hot(f, (size_t)(h - f->b) + 2);
			fb_hot(f, (size_t)(h - f->b) + 3);
			if (from) /* later fragment: what follows is the datagram's middle */
				break;
		}
		hl = ext_bytes(d->ext_type[i], d->ext_len[i]);
		if (f->len + hl + 64 > GEN_MAX_FRAME)
			break;
		h = fb_put(f, hl);
		*prev_nh = d->ext_type[i];
		prev_nh = h;
		h[1] = d->ext_len[i];
		for (size_t k = 2; k < hl; k++)
			h[k] = (__u8)(gen_chance(r, 70) ? 0 : gen_rand(r));
		fb_hot(f, (size_t)(h - f->b) + 1);
	}
	if (frag && d->next_frag >= d->next) {
		__u8 *h = fb_put(f, 8);

		*prev_nh = 44;
		prev_nh = h;
		put16(h + 2, (unsigned int)(((from / 8) << 3) | (more ? 1 : 0)));
		put32(h + 4, id);
		fb_hot(f, (size_t)(h - f->b) + 2);
		fb_hot(f, (size_t)(h - f->b) + 3);
	}
	*prev_nh = d->proto;
	if (f->len + n > GEN_MAX_FRAME)
		n = GEN_MAX_FRAME - f->len;
	memcpy(fb_put(f, n), d->l4 + from, n);
	if (from == 0 && n >= 6)
		fb_hot(f, f->len - n + 4);
	put16(f->b + ipoff + 4, (unsigned int)((f->len - start) & 0xffff));
}

/* A datagram's VLAN stack, family and addresses (the rest zeroed). A third tag (malformed) only
 * when third_tag. */
static void dgram_start(struct gen *g, struct dgram *d, bool third_tag)
{
	struct gen_rng *r = &g->rng;
	unsigned int x;

	memset(d, 0, sizeof(*d));
	x = (unsigned int)gen_below(r, 100);
	d->nvlan = x < 60 ? 0 : x < 80 ? 1 : x < 95 || !third_tag ? 2 : 3;
	for (unsigned int i = 0; i < d->nvlan; i++)
		d->vlan[i] = gen_chance(r, 50) ? 0x8100 : 0x88a8;
	d->v6 = gen_chance(r, 50);
	pick_recent_source(g, d->v6, d->src);
	for (int i = 0; i < 16; i++)
		d->dst[i] = (__u8)gen_rand(r);
}

/* Everything about a datagram but its fragmentation. */
static void gen_dgram(struct gen *g, struct dgram *d)
{
	struct gen_rng *r = &g->rng;
	unsigned int x;

	dgram_start(g, d, true);
	x = (unsigned int)gen_below(r, 100);
	d->proto = x < 35 ? 17 : x < 65 ? 6 : x < 80 ? 132 : (__u8)gen_below(r, 256);
	if (!d->v6 && gen_chance(r, 20)) {
		d->v4optlen = 4 * (unsigned int)gen_range_u(r, 1, 10);
		for (unsigned int i = 0; i < d->v4optlen; i++)
			d->v4opt[i] = gen_chance(r, 50) ? 1 : (__u8)gen_rand(r);
	}
	if (d->v6 && gen_chance(r, 45)) {
		static const __u8 types[] = {0, 43, 60, 135, 139, 140, 51, 60, 43, 0, 253, 59, 44};

		d->next = (unsigned int)(gen_chance(r, 15) ? gen_range_u(r, 9, 14)
							   : gen_range_u(r, 1, 4));
		for (unsigned int i = 0; i < d->next; i++) {
			d->ext_type[i] = types[gen_below(r, sizeof(types))];
			if (gen_chance(r, 3))
				d->ext_type[i] = (__u8)gen_rand(r); /* any number at all */
			d->ext_len[i] =
			    (__u8)(gen_chance(r, 3) ? gen_range_u(r, 100, 255) : gen_below(r, 3));
		}
	}
	d->next_frag = (unsigned int)gen_below(r, d->next + 1);
	build_l4(g, d, 0);
}

/* One frame of a datagram (not fragmented, or the part [from, from+n) of a fragment series). */
static void dgram_frame(struct gen *g, struct fb *f, const struct dgram *d, bool frag, size_t from,
			size_t n, bool more, __u32 id)
{
	f->len = 0;
	f->nhot = 0;
	if (d->v6)
		build_v6(g, f, d, frag, from, n, more, id);
	else if (frag)
		build_v4(g, f, d, from, n, more, (__u16)id);
	else
		build_v4(g, f, d, 0, n, gen_chance(&g->rng, 2), (__u16)id);
}

/* ---- Mutations ----------------------------------------------------------------------------- */

static void mutate(struct gen *g, struct fb *f, char *desc, size_t dlen)
{
	struct gen_rng *r = &g->rng;
	unsigned int rounds = (unsigned int)gen_range_u(r, 1, 3);
	size_t used = strlen(desc);

	for (unsigned int i = 0; i < rounds; i++) {
		unsigned int what = (unsigned int)gen_below(r, 100);
		const char *tag;

		if (what < 25 && f->len > GEN_MIN_FRAME) {
			f->len = gen_range_u(r, GEN_MIN_FRAME, f->len - 1);
			tag = " trunc";
		} else if (what < 55 && f->nhot) {
			size_t off = f->hot[gen_below(r, f->nhot)] + gen_below(r, 2);

			if (off < f->len)
				f->b[off] ^= (__u8)(1U << gen_below(r, 8));
			tag = " flip-field";
		} else if (what < 70 && f->nhot) {
			size_t off = f->hot[gen_below(r, f->nhot)] + gen_below(r, 2);
			static const __u8 vals[] = {0, 0xff, 0x80, 0x01, 0x7f, 0x3f};

			if (off < f->len)
				f->b[off] = vals[gen_below(r, sizeof(vals))];
			tag = " set-field";
		} else if (what < 85) {
			size_t off = gen_below(r, f->len < 96 ? f->len : 96);

			f->b[off] = (__u8)gen_rand(r);
			tag = " byte";
		} else if (f->len + 64 <= GEN_MAX_FRAME) {
			size_t n = gen_range_u(r, 1, 64);

			for (size_t k = 0; k < n; k++)
				f->b[f->len + k] = (__u8)gen_rand(r);
			f->len += n;
			tag = " pad";
		} else {
			tag = "";
		}
		if (used + strlen(tag) < dlen) {
			strcpy(desc + used, tag);
			used += strlen(tag);
		}
	}
}

/* ---- Frame kinds ---------------------------------------------------------------------------- */

static void emit(struct gen_frame *out, const struct fb *f, const char *desc)
{
	memcpy(out->data, f->b, f->len);
	out->len = f->len;
	if (out->len < GEN_MIN_FRAME) { /* a builder gave up: a zero-filled Ethernet header */
		memset(out->data + out->len, 0, GEN_MIN_FRAME - out->len);
		out->len = GEN_MIN_FRAME;
	}
	snprintf(out->desc, sizeof(out->desc), "%s", desc);
}

static int queue_add(struct gen *g, const struct fb *f, bool shuffle)
{
	size_t at = shuffle ? gen_below(&g->rng, g->nqueue + 1) : g->nqueue;

	return pool_add(&g->queue, &g->nqueue, &g->queue_cap, f->b,
			f->len < GEN_MIN_FRAME ? GEN_MIN_FRAME : f->len, at);
}

/*
 * A fragment series: the datagram split at multiples of 8, optionally with a tiny first fragment,
 * overlapping pieces, a missing first fragment, duplicates and shuffled order. Queued.
 */
static void gen_fragments(struct gen *g, struct fb *f)
{
	struct gen_rng *r = &g->rng;
	struct dgram *d = malloc(sizeof(*d));
	size_t total, step, from;
	bool shuffle = gen_chance(r, 30), skip_first = gen_chance(r, 10);
	__u32 id;

	if (!d)
		return;
	gen_dgram(g, d);
	if (d->l4len < 24) { /* room for at least three pieces */
		for (size_t i = d->l4len; i < 24; i++)
			d->l4[i] = (__u8)gen_rand(r);
		d->l4len = 24;
	}
	total = d->l4len;
	id = gen_chance(r, 50) ? g->ids[gen_below(r, 8)] : (__u32)gen_rand(r);
	if (!d->v6)
		id &= 0xffff;
	step = 8 * gen_range_u(r, 1, total / 8 > 1 ? total / 8 - 1 : 1);
	if (gen_chance(r, 20))
		step = 8;		    /* tiny pieces */
	if (gen_chance(r, 20) && step > 48) /* mid-sized pieces */
		step = 8 * gen_range_u(r, 6, step / 8);
	from = 0;
	for (unsigned int i = 0; from < total && i < 12; i++) {
		size_t n = from + step < total ? step : total - from;
		bool more = from + n < total;

		if (i == 0 && gen_chance(r, 15))
			n = gen_chance(r, 50) ? 8 : 16 < total ? 16 : total; /* tiny first */
		more = from + n < total;
		if (!(i == 0 && skip_first)) {
			dgram_frame(g, f, d, true, from, n, more, id);
			if (gen_chance(r, 10))
				mutate(g, f, g->queue_desc, sizeof(g->queue_desc));
			queue_add(g, f, shuffle);
		}
		if (gen_chance(r, 10) && from >= 8) { /* overlapping piece, one unit back */
			size_t back = from - 8;

			dgram_frame(g, f, d, true, back, n + 8 <= total - back ? n + 8 : n, more,
				    id);
			queue_add(g, f, true);
		}
		from += n;
	}
	free(d);
}

/* A frame from a capture, its source rewritten to one of ours and its port often too. */
static void gen_from_capture(struct gen *g, struct fb *f)
{
	struct gen_rng *r = &g->rng;
	const struct pframe *p = &g->pcap[gen_below(r, g->npcap)];
	size_t off = 12;
	unsigned int type;

	f->nhot = 0;
	f->len = p->len;
	memcpy(f->b, p->data, p->len);
	type = (unsigned int)f->b[off] << 8 | f->b[off + 1];
	while ((type == 0x8100 || type == 0x88a8) && off + 6 <= f->len) {
		fb_hot(f, off);
		off += 4;
		type = (unsigned int)f->b[off] << 8 | f->b[off + 1];
	}
	off += 2;
	if (type == 0x0800 && off + 20 <= f->len && gen_chance(r, 85)) {
		size_t ihl = (size_t)(f->b[off] & 15) * 4;

		pick_source(g, false, f->b + off + 12);
		fb_hot(f, off);
		fb_hot(f, off + 2);
		fb_hot(f, off + 6);
		if (ihl >= 20 && off + ihl + 4 <= f->len && !(f->b[off + 6] & 0x1f) &&
		    !f->b[off + 7] && gen_chance(r, 60)) {
			__u8 l4 = f->b[off + 9] == 6	 ? VW_L4_TCP
				  : f->b[off + 9] == 132 ? VW_L4_SCTP
							 : VW_L4_UDP;

			put16(f->b + off + ihl + 2, pick_port(g, l4));
			fb_hot(f, off + ihl + 4);
		}
	} else if (type == 0x86dd && off + 40 <= f->len && gen_chance(r, 85)) {
		pick_source(g, true, f->b + off + 8);
		fb_hot(f, off + 4);
		if (off + 44 <= f->len && (f->b[off + 6] == 17 || f->b[off + 6] == 6) &&
		    gen_chance(r, 60))
			put16(f->b + off + 42,
			      pick_port(g, f->b[off + 6] == 6 ? VW_L4_TCP : VW_L4_UDP));
	}
}

/* An IP (or VLAN) EtherType followed by random bytes: the parsers on garbage. */
static void gen_noise(struct gen *g, struct fb *f)
{
	static const __u16 types[] = {0x0800, 0x86dd, 0x8100, 0x88a8};
	struct gen_rng *r = &g->rng;
	size_t n = gen_below(r, gen_chance(r, 80) ? 100 : 1600);
	__u8 *p = fb_put(f, 14);

	for (int i = 0; i < 12; i++)
		p[i] = (__u8)gen_rand(r);
	put16(p + 12, types[gen_below(r, 4)]);
	fb_hot(f, 12);
	p = fb_put(f, n);
	for (size_t i = 0; i < n; i++)
		p[i] = (__u8)gen_rand(r);
	if (n && gen_chance(r, 60)) /* a plausible version nibble */
		p[0] = (__u8)((f->b[12] == 0x86 ? 0x60 : 0x40) | (p[0] & 0x0f));
}

/*
 * An IPv6 frame whose extension chain ends near the end of the first buffer, so that the last
 * extension header or the L4 header lies just inside, across, or just past it (read from the
 * later buffers, datapath.md section 3.2), with enough payload behind it to need a second buffer.
 */
static void gen_boundary(struct gen *g, struct fb *f)
{
	struct gen_rng *r = &g->rng;
	struct dgram *d = malloc(sizeof(*d));
	size_t l3off, want, fixed, fill;

	if (!d)
		return;
	gen_dgram(g, d);
	d->v6 = true;
	pick_source(g, true, d->src);
	d->next = 3;
	d->next_frag = 3;
	d->ext_type[0] = gen_chance(r, 50) ? 0 : 60;
	d->ext_type[1] = gen_chance(r, 50) ? 43 : 60;
	d->ext_type[2] = gen_chance(r, 20) ? 51 : 60;
	d->ext_len[0] = 255;
	d->ext_len[2] = (__u8)gen_below(r, 3);
	l3off = 14 + 4 * d->nvlan;
	/* where the upper-layer header should start: around linear - 20 */
	want = g->linear - 20 + gen_below(r, 48) - 24;
	fixed = l3off + 40 + 2048 + ext_bytes(d->ext_type[2], d->ext_len[2]);
	fill = want > fixed + 8 ? (want - fixed) / 8 : 1;
	d->ext_len[1] = (__u8)(fill - 1 > 255 ? 255 : fill - 1);
	if (!is_l4_proto(d->proto) && gen_chance(r, 80))
		d->proto = 17;
	build_l4(g, d, 1500);
	dgram_frame(g, f, d, gen_chance(r, 20), 0, d->l4len, gen_chance(r, 50), (__u32)gen_rand(r));
	free(d);
}

/*
 * A well-formed datagram to a protected port, so that it reaches the allowlist decision (its
 * source mostly inside a rule, sometimes just outside one or anywhere). One in eight has an IP
 * length that ends inside the transport header (or a TCP header's options, or before the UDP
 * length's end) while the rest of the frame stays as link padding: only the IP length tells that
 * it is malformed.
 */
static void gen_decision(struct gen *g, struct fb *f, char *desc, size_t dlen)
{
	static const __u8 protos[] = {17, 6, 132};
	static const __u8 exts[] = {0, 43, 60, 135, 139, 140, 51};
	struct gen_rng *r = &g->rng;
	struct dgram *d = malloc(sizeof(*d));
	size_t l3off, hl, ext = 0, keep;

	snprintf(desc, dlen, "decision");
	if (!d)
		return;
	dgram_start(g, d, false);
	if (g->aim_on) { /* gen_aim(): this source, this class */
		snprintf(desc, dlen, "decision, aimed");
		d->v6 = g->aim.family == VW_FAMILY_V6;
		put_prefix(d->src, &g->aim);
	}
	d->proto = protos[gen_below(r, 3)];
	/* a protocol some class (the aimed one) has ports for, when there is one */
	for (unsigned int tries = 0; tries < 8 && g->cfg; tries++) {
		__u8 l4 = d->proto == 17 ? VW_L4_UDP : d->proto == 6 ? VW_L4_TCP : VW_L4_SCTP;
		bool has = false;

		for (unsigned int k = 0; k < g->cfg->nclasses && !has; k++)
			for (unsigned int i = 0; i < g->cfg->classes[k].nranges && !has; i++)
				has = g->cfg->classes[k].ranges[i].l4 == l4 &&
				      (!g->aim_on || g->aim_cls == VW_CLASS_NONE ||
				       g->cfg->classes[k].id == g->aim_cls);
		if (has)
			break;
		d->proto = protos[gen_below(r, 3)];
	}
	if (!d->v6 && gen_chance(r, 15)) {
		d->v4optlen = 4 * (unsigned int)gen_range_u(r, 1, 10);
		memset(d->v4opt, 1, d->v4optlen);
	}
	if (d->v6 && gen_chance(r, 30)) {
		d->next = (unsigned int)gen_range_u(r, 1, 3);
		for (unsigned int i = 0; i < d->next; i++) {
			d->ext_type[i] = exts[gen_below(r, sizeof(exts))];
			d->ext_len[i] = (__u8)gen_below(r, 3);
			ext += ext_bytes(d->ext_type[i], d->ext_len[i]);
		}
	}
	d->next_frag = d->next;
	build_l4_as(g, d, 0, true);
	g->aim_on = false;
	dgram_frame(g, f, d, false, 0, d->l4len, false, (__u32)gen_rand(r));
	l3off = 14 + 4 * (size_t)d->nvlan;
	hl = d->proto == 17 ? 8 : d->proto == 132 ? 12 : (size_t)(d->l4[12] >> 4) * 4;
	if (gen_chance(r, 12) && d->l4len > 1) {
		/* Keep `keep` bytes of the upper layer inside the IP length. */
		if (d->proto == 6 && hl > 20 && gen_chance(r, 60))
			keep = gen_range_u(r, 20, hl - 1); /* inside the options */
		else if (d->proto == 17 && d->l4len > 8 && gen_chance(r, 40))
			keep = gen_range_u(r, 8, d->l4len - 1); /* short of the UDP length */
		else
			keep = gen_below(r, hl);
		if (keep >= d->l4len)
			keep = d->l4len - 1;
		if (d->v6)
			put16(f->b + l3off + 4, (unsigned int)(ext + keep));
		else
			put16(f->b + l3off + 2, (unsigned int)(20 + d->v4optlen + keep));
		snprintf(desc, dlen, "decision, IP length ends %zu bytes into L4", keep);
	}
	free(d);
}

/* Frames in the unit tests' style, through tests/lib/pkt.h's spec builder. */
static const char *const pkt_specs[] = {
    "eth ip4=%s>%s udp=40000>%u data=40",
    "eth q=10 ip4=%s>%s tcp=40000>%u flags=2",
    "eth q=10 ad=20 ip4=%s>%s opt=8 udp=40000>%u data=200",
    "eth ad=5 q=6 ip4=%s>%s sctp=40000>%u data=16",
    "eth ip4=%s>%s id=77 mf udp=40000>%u data=1400",
    "eth ip4=%s>%s id=77 mf tcp=40000>%u opt=40",
    "eth ip4=%s>%s udp=40000>%u len=0",
    "eth ip4=%s>%s tcp=40000>%u doff=4",
    "eth ip4=%s>%s opt=40 tcp=40000>%u opt=40 flags=63 data=3",
    "eth ip6=%s>%s udp=40000>%u data=100",
    "eth ip6=%s>%s hbh rt dst mh hip shim6 ah frag udp=40000>%u data=8",
    "eth q=1 ip6=%s>%s hbh=16 dst=24 frag id=5 mf tcp=40000>%u",
    "eth ip6=%s>%s frag id=9 udp=40000>%u data=20",
    "eth ip6=%s>%s ah=12 sctp=40000>%u",
    "eth ip6=%s>%s dst dst dst dst dst dst dst dst udp=40000>%u data=4",
    "eth ip6=%s>%s hbh hbh hbh hbh hbh hbh hbh hbh hbh hbh hbh hbh udp=40000>%u",
    "eth ip6=%s>%s hbh hbh hbh hbh hbh hbh hbh hbh hbh hbh hbh hbh hbh udp=40000>%u",
    "eth ip6=%s>%s frag id=3 mf frag id=3 udp=40000>%u",
    "eth ip6=%s>%s ext=253:8 udp=40000>%u",
    "eth ip4=%s>%s udp=40000>%u data=8000",
    "eth ip6=%s>%s tcp=40000>%u data=5000 pad=30",
};

static void gen_from_pkt(struct gen *g, struct fb *f)
{
	struct gen_rng *r = &g->rng;
	const char *fmt = pkt_specs[gen_below(r, sizeof(pkt_specs) / sizeof(pkt_specs[0]))];
	bool v6 = strstr(fmt, "ip6=") != NULL;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], spec[256];
	__u8 a[16], b[16];
	struct pkt *p = malloc(sizeof(*p));
	__u8 l4 = strstr(fmt, "tcp=") ? VW_L4_TCP : strstr(fmt, "sctp=") ? VW_L4_SCTP : VW_L4_UDP;

	if (!p)
		return;
	pick_source(g, v6, a);
	for (int i = 0; i < 16; i++)
		b[i] = (__u8)gen_rand(r);
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, src, sizeof(src));
	inet_ntop(v6 ? AF_INET6 : AF_INET, b, dst, sizeof(dst));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(spec, sizeof(spec), fmt, src, dst, pick_port(g, l4));
#pragma GCC diagnostic pop
	if (!pkt_build(p, spec, NULL) && p->len <= GEN_MAX_FRAME) {
		memcpy(f->b, p->data, p->len);
		f->len = p->len;
		if (p->l3_off >= 0) {
			fb_hot(f, (size_t)p->l3_off + 2);
			fb_hot(f, (size_t)p->l3_off + 4);
			fb_hot(f, (size_t)p->l3_off + 6);
		}
		if (p->l4_off >= 0) {
			fb_hot(f, (size_t)p->l4_off + 4);
			fb_hot(f, (size_t)p->l4_off + 12);
		}
	}
	free(p);
}

/* ---- Link types ------------------------------------------------------------------------------ */

/* Offset of the EtherType after the VLAN stack of an Ethernet frame (up to three tags). */
static size_t ethertype_at(const struct gen_frame *f)
{
	size_t at = 12;

	for (int i = 0; i < 3 && at + 6 <= f->len; i++) {
		unsigned int t = (unsigned int)f->data[at] << 8 | f->data[at + 1];

		if (t != 0x8100 && t != 0x88a8)
			break;
		at += 4;
	}
	return at;
}

/* Carry an Ethernet frame's payload in a PPPoE session: mostly sane headers, sometimes a wrong
 * version, code, length, PPP protocol, a discovery EtherType or a truncated header. */
static void to_pppoe(struct gen *g, struct gen_frame *f)
{
	static const __u16 protos[] = {0xc021, 0x8021, 0x8057, 0xc023, 0xc223, 0x002d, 0x002f,
				       0x003d, 0x00fb, 0x00fd, 0x0021, 0x0057, 0x0281, 0x0001};
	struct gen_rng *r = &g->rng;
	size_t at = ethertype_at(f), l3 = at + 2, plen;
	unsigned int type, proto;
	__u8 *h;

	if (l3 > f->len || f->len + 8 > GEN_MAX_FRAME)
		return;
	type = (unsigned int)f->data[at] << 8 | f->data[at + 1];
	proto = type == 0x0800 ? 0x0021 : type == 0x86dd ? 0x0057 : (unsigned int)gen_rand(r);
	if (gen_chance(r, 10))
		proto = protos[gen_below(r, sizeof(protos) / sizeof(protos[0]))];
	memmove(f->data + l3 + 8, f->data + l3, f->len - l3);
	plen = f->len - l3 + 2;
	f->len += 8;
	put16(f->data + at, gen_chance(r, 4) ? 0x8863 : 0x8864);
	h = f->data + l3;
	h[0] = gen_chance(r, 4) ? (__u8)gen_rand(r) : 0x11;
	h[1] = gen_chance(r, 4) ? (__u8)gen_rand(r) : 0;
	put16(h + 2, (unsigned int)gen_below(r, 65536));
	if (gen_chance(r, 8))
		plen = gen_below(r, 65536);
	else if (gen_chance(r, 8))
		plen = plen + gen_below(r, 5) - 2;
	else if (gen_chance(r, 8) && plen > 2)
		plen -= gen_below(r, plen - 1); /* shorter: the rest is padding, or cuts the IP */
	put16(h + 4, (unsigned int)plen);
	put16(h + 6, proto);
	if (gen_chance(r, 4)) /* cut inside the PPPoE or PPP header */
		f->len = l3 + gen_below(r, 8);
	snprintf(f->desc + strlen(f->desc), sizeof(f->desc) - strlen(f->desc), " in pppoe");
}

/* Strip the link-layer header: the frame as an interface without one (tun, WireGuard, PPP)
 * hands it to XDP. Frames that would end up shorter than bpf_prog_test_run accepts stay. */
static void to_raw_ip(struct gen *g, struct gen_frame *f)
{
	size_t l3 = ethertype_at(f) + 2;

	if (l3 > f->len || f->len - l3 < GEN_MIN_FRAME)
		return;
	memmove(f->data, f->data + l3, f->len - l3);
	f->len -= l3;
	f->link = RM_LINK_IP;
	if (gen_chance(&g->rng, 3))
		f->data[0] = (__u8)gen_rand(&g->rng);
	snprintf(f->desc + strlen(f->desc), sizeof(f->desc) - strlen(f->desc), " as raw ip");
}

static void gen_link(struct gen *g, struct gen_frame *f)
{
	unsigned int x = (unsigned int)gen_below(&g->rng, 100);

	f->link = RM_LINK_ETHER;
	if (x < 12)
		to_pppoe(g, f);
	else if (x < 24)
		to_raw_ip(g, f);
	if (f->len < GEN_MIN_FRAME) {
		memset(f->data + f->len, 0, GEN_MIN_FRAME - f->len);
		f->len = GEN_MIN_FRAME;
	}
}

static void gen_next_ether(struct gen *g, struct gen_frame *out);

/* A class of the config with a rate, or NULL. */
static const struct vw_class *rate_class(struct gen *g)
{
	const struct vw_config *cfg = g->cfg;
	unsigned int n = 0, pick;

	for (unsigned int c = 0; cfg && c < cfg->nclasses; c++)
		n += cfg->classes[c].rate != 0;
	if (!n)
		return NULL;
	pick = (unsigned int)gen_below(&g->rng, n);
	for (unsigned int c = 0;; c++)
		if (cfg->classes[c].rate && !pick--)
			return &cfg->classes[c];
}

/* Now and then time passes before a frame: often just around the reassembly timeouts (30 s
 * IPv4, 60 s IPv6), where a fragment series' later fragments stop following their first. Under
 * a config with rates: often a fraction of a class's interval to a few of them (tokens come
 * back one by one), sometimes to just around the end of a ban, now and then nothing but 1 ns. */
static void gen_wait(struct gen *g, struct gen_frame *f)
{
	static const __u64 edges[] = {VW_FRAG_TIMEOUT_V4_NS, VW_FRAG_TIMEOUT_V6_NS};
	unsigned int x = (unsigned int)gen_below(&g->rng, 100);
	const struct vw_class *k;
	__u64 interval;

	f->wait_ns = 0;
	if (g->aim_on)
		return; /* the aimed frame comes at the time aimed at */
	if (g->rates && x < 6 && gen_chance(&g->rng, 75))
		return; /* long waits would refill every bucket */
	if (x < 3)
		f->wait_ns = edges[gen_below(&g->rng, 2)] - 1 + gen_below(&g->rng, 3);
	else if (x < 6)
		f->wait_ns = gen_below(&g->rng, VW_FRAG_TIMEOUT_V6_NS);
	else if (x < 30 && (k = rate_class(g))) {
		interval = (k->rate_unit == 60 ? 60000000000ULL : 1000000000ULL) / k->rate;
		if (x < 8)
			f->wait_ns = 1;
		else if (x < 27)
			f->wait_ns =
			    gen_below(&g->rng, 3 * interval / (k->burst ? k->burst : 1) + 2);
		else if (k->ban_secs)
			f->wait_ns = (__u64)k->ban_secs * 1000000000ULL - 2 + gen_below(&g->rng, 5);
		else
			f->wait_ns = interval - 1 + gen_below(&g->rng, 3);
	}
}

void gen_next(struct gen *g, struct gen_frame *out)
{
	gen_next_ether(g, out);
	gen_link(g, out);
	gen_wait(g, out);
}

static void gen_next_ether(struct gen *g, struct gen_frame *out)
{
	struct gen_rng *r = &g->rng;
	struct fb *f;
	char desc[80];
	unsigned int kind;

	if (g->nqueue) {
		struct pframe p = g->queue[0];

		memmove(g->queue, g->queue + 1, (g->nqueue - 1) * sizeof(*g->queue));
		g->nqueue--;
		out->len = p.len;
		memcpy(out->data, p.data, p.len);
		snprintf(out->desc, sizeof(out->desc), "%s", g->queue_desc);
		free(p.data);
		return;
	}
	f = malloc(sizeof(*f));
	if (!f) { /* out of memory: a plain non-IP frame keeps the run going */
		memset(out->data, 0, 60);
		out->len = 60;
		snprintf(out->desc, sizeof(out->desc), "oom filler");
		return;
	}
	f->len = 0;
	f->nhot = 0;
	kind = (unsigned int)gen_below(r, 100);
	if (kind < 8) {
		snprintf(g->queue_desc, sizeof(g->queue_desc), "fragment series");
		gen_fragments(g, f);
		free(f);
		if (g->nqueue) {
			gen_next_ether(g, out);
			return;
		}
		/* nothing queued (allocation failure): fall back to a plain frame */
		f = malloc(sizeof(*f));
		if (!f) {
			memset(out->data, 0, 60);
			out->len = 60;
			snprintf(out->desc, sizeof(out->desc), "oom filler");
			return;
		}
		f->len = 0;
		f->nhot = 0;
		kind = 80;
	}
	if (kind < 18 && g->npcap) {
		snprintf(desc, sizeof(desc), "capture");
		gen_from_capture(g, f);
	} else if (kind < 26) {
		snprintf(desc, sizeof(desc), "pkt.h spec");
		gen_from_pkt(g, f);
	} else if (kind < 29 && g->linear > 2400) {
		snprintf(desc, sizeof(desc), "ipv6 chain at the first buffer's end");
		gen_boundary(g, f);
	} else if (kind < 31) {
		gen_noise(g, f);
		snprintf(desc, sizeof(desc), "noise after ethertype %02x%02x", f->b[12], f->b[13]);
	} else if (kind < 72) {
		/* not mutated: a mutation would mostly turn it into a malformed frame */
		gen_decision(g, f, desc, sizeof(desc));
		if (g->rates && gen_chance(r, 12)) {
			/* a flood: the same datagram again and again, to go over the rate */
			snprintf(g->queue_desc, sizeof(g->queue_desc), "flood burst, %.60s", desc);
			for (unsigned int n = (unsigned int)gen_range_u(r, 2, 12); n; n--)
				queue_add(g, f, false);
		}
		emit(out, f, desc);
		free(f);
		return;
	} else if (kind < 75) {
		struct dgram *d = malloc(sizeof(*d));
		unsigned int et = gen_chance(r, 50) ? 0x0806 : (unsigned int)gen_below(r, 65536);

		snprintf(desc, sizeof(desc), "ethertype %04x", et);
		if (d) {
			gen_dgram(g, d);
			build_eth(g, f, d, et);
			free(d);
		}
		for (size_t n = gen_below(r, 80); n; n--)
			*fb_put(f, 1) = (__u8)gen_rand(r);
	} else {
		struct dgram *d = malloc(sizeof(*d));

		if (d) {
			gen_dgram(g, d);
			snprintf(desc, sizeof(desc), "%s proto %u vlans %u ext %u",
				 d->v6 ? "ipv6" : "ipv4", d->proto, d->nvlan, d->next);
			dgram_frame(g, f, d, false, 0, d->l4len, false, (__u32)gen_rand(r));
			if (gen_chance(r, 8) && !d->v6)
				/* a stray later fragment: offset set, first never seen */
				put16(f->b + 12 + 4 * d->nvlan + 2 + 6,
				      (unsigned int)gen_range_u(r, 1, 0x3fff));
			free(d);
		} else {
			snprintf(desc, sizeof(desc), "oom filler");
			f->len = 60;
			memset(f->b, 0, 60);
		}
	}
	if (gen_chance(r, 35))
		mutate(g, f, desc, sizeof(desc));
	emit(out, f, desc);
	free(f);
}

/* ---- Hex ------------------------------------------------------------------------------------- */

void gen_hex_print(FILE *out, const __u8 *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(out, "%02x", data[i]);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

long gen_hex_parse(const char *s, __u8 *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (isspace((unsigned char)*s))
			continue;
		v = hexval((unsigned char)*s);
		if (v < 0)
			return -EINVAL;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			return -EINVAL;
		out[n++] = (__u8)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? (long)n : -EINVAL;
}
