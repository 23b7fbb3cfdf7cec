// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the config parser (built by `make fuzz-config`, see the Makefile).
 *
 * Each input is parsed as a config whose includes are confined to a private temporary directory
 * holding a few fixed files (an empty file, classes, allow rules, a self-include, a two-file loop,
 * a file with errors, a nested file), so includes are exercised but nothing outside that directory
 * can be read. Besides the sanitizers, each accepted config must satisfy the parser's promises,
 * checked here (any violation aborts, which libFuzzer reports as a crash):
 *   - classes: valid unique names, ids in order, ranges inside 1..65535, no port in two classes;
 *   - rules: valid prefixes without host bits, non-empty masks of defined classes, no duplicate;
 *   - its canonical text (vw_config_write) parses back to the same classes and rules;
 *   - vw_config_assign_ids against a generation with other ids keeps each rule's classes;
 *   - every prefix formats and parses back to itself.
 * A rejected config must come back empty. Every input is also parsed in one pass and cut in two
 * threads (each buffer split, see vw_config_split_min): both give the same errors and rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char dir[] = "/tmp/vw-fuzz-config.XXXXXX";
static FILE *sink;

static const struct {
	const char *path, *text;
} files[] = {
    {"empty.conf", ""},
    {"classes.conf", "class sip 5060/udp 5060/tcp 5061/tcp\n"
		     "class rtp 10000-20000/udp policy monitor\n"},
    {"allow.conf", "allow sip,rtp 198.18.0.0/15 2001:db8::/32 # carrier\n"},
    {"self.conf", "include self.conf\n"},
    {"loop-a.conf", "include loop-b.conf\n"},
    {"loop-b.conf", "include loop-a.conf\n"},
    {"bad.conf", "alow x\nclass sip 70000/udp\nallow nosuch 1.2.3/8\n"},
    {"sub/nested.conf", "include deeper.conf\nclass mgmt 22/tcp\n"},
    {"sub/deeper.conf", "allow mgmt 198.18.4.0/24 2001:db8:4::/48\n"},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_config: check failed at line %d: %s\n", __LINE__,    \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(void)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (sink)
		fclose(sink);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[sizeof(dir) + 64];
	size_t i;

	if (!mkdtemp(dir)) {
		perror("fuzz_config: mkdtemp");
		exit(1);
	}
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/sub", dir);
	if (mkdir(path, 0700)) {
		perror("fuzz_config: mkdir");
		exit(1);
	}
	for (i = 0; i < ARRAY_LEN(files); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i].path);
		f = fopen(path, "w");
		if (!f || fputs(files[i].text, f) < 0 || fclose(f)) {
			perror("fuzz_config: writing the include files");
			exit(1);
		}
	}
	/* messages are formatted and written (that code is fuzzed too), then thrown away */
	sink = fopen("/dev/null", "w");
	if (!sink) {
		perror("fuzz_config: /dev/null");
		exit(1);
	}
	return 0;
}

static bool name_ok(const char *s)
{
	size_t n = strnlen(s, VW_CLASS_NAME_MAX);

	return n > 0 && n < VW_CLASS_NAME_MAX && s[0] >= 'a' && s[0] <= 'z' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n && strcmp(s, "none");
}

static void check_classes(const struct vw_config *cfg)
{
	unsigned int i, j, a, b;

	CHECK(cfg->nclasses <= VW_MAX_CLASSES);
	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];

		CHECK(name_ok(c->name));
		CHECK(c->id == i);
		CHECK(c->policy == VW_POLICY_DROP || c->policy == VW_POLICY_MONITOR);
		CHECK(c->nranges >= 1 && c->nranges <= VW_MAX_RANGES);
		for (a = 0; a < c->nranges; a++) {
			CHECK(c->ranges[a].lo >= 1 && c->ranges[a].lo <= c->ranges[a].hi);
			CHECK(c->ranges[a].l4 < VW_L4_MAX);
		}
		for (j = 0; j < i; j++) {
			const struct vw_class *d = &cfg->classes[j];

			CHECK(strcmp(c->name, d->name));
			for (a = 0; a < c->nranges; a++)
				for (b = 0; b < d->nranges; b++)
					CHECK(c->ranges[a].l4 != d->ranges[b].l4 ||
					      c->ranges[a].hi < d->ranges[b].lo ||
					      c->ranges[a].lo > d->ranges[b].hi);
		}
	}
}

static void check_rules(const struct vw_config *cfg)
{
	__u32 all = cfg->nclasses == 32 ? ~0U : (1U << cfg->nclasses) - 1;
	char buf[VW_PREFIX_STRLEN];
	size_t i, j;

	for (i = 0; i < cfg->nrules; i++) {
		const struct vw_rule *r = &cfg->rules[i];
		struct vw_rule back;

		CHECK(r->mask && !(r->mask & ~all));
		CHECK(vw_format_prefix(r, buf, sizeof(buf)));
		CHECK(vw_parse_prefix(buf, &back, NULL) == 0);
		back.mask = r->mask;
		CHECK(!memcmp(&back, r, sizeof(back)));
		/* inputs are at most a few KiB: quadratic is fine here */
		for (j = 0; j < i && j < 4096; j++)
			CHECK(cfg->rules[j].family != r->family || cfg->rules[j].plen != r->plen ||
			      memcmp(cfg->rules[j].addr, r->addr, sizeof(r->addr)));
	}
}

static void check_round_trip(const struct vw_config *cfg)
{
	struct vw_config again;
	char *text = NULL;
	size_t len = 0;
	unsigned int i, j;
	FILE *f = open_memstream(&text, &len);

	CHECK(f);
	CHECK(vw_config_write(cfg, f) == 0);
	CHECK(fclose(f) == 0);
	CHECK(vw_config_parse_buf(&again, "canonical", text, len, stderr) == 0);
	CHECK(again.nclasses == cfg->nclasses && again.nrules == cfg->nrules);
	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *a = &cfg->classes[i], *b = &again.classes[i];

		CHECK(!strcmp(a->name, b->name) && a->id == b->id && a->policy == b->policy);
		CHECK(a->nranges == b->nranges);
		for (j = 0; j < a->nranges; j++)
			CHECK(a->ranges[j].lo == b->ranges[j].lo &&
			      a->ranges[j].hi == b->ranges[j].hi &&
			      a->ranges[j].l4 == b->ranges[j].l4);
	}
	CHECK(!cfg->nrules || !memcmp(cfg->rules, again.rules, cfg->nrules * sizeof(*cfg->rules)));
	vw_config_free(&again);
	free(text);
}

/* A live generation that lists the classes under other ids (rotated by seed), plus a class of
 * another name; assignment must keep every rule's set of classes. */
static void check_assign_ids(struct vw_config *cfg, unsigned int seed)
{
	__u32 *before = NULL;
	struct vw_gen_cfg prev = {};
	unsigned int i, j, used = 0;
	size_t r;

	if (cfg->nrules) {
		before = malloc(cfg->nrules * sizeof(*before));
		CHECK(before);
	}
	for (r = 0; r < cfg->nrules; r++)
		before[r] = cfg->rules[r].mask; /* bit i: class index i (ids are in order) */
	for (i = 0; i < cfg->nclasses; i++) {
		if ((seed >> (i % 8)) & 1)
			continue; /* this one is "new" */
		j = (i + seed) % VW_MAX_CLASSES;
		prev.class_mask |= 1U << j;
		memcpy(prev.class_names[j], cfg->classes[i].name, VW_CLASS_NAME_MAX);
	}
	j = (seed >> 8) % VW_MAX_CLASSES;
	if (!(prev.class_mask & (1U << j))) {
		prev.class_mask |= 1U << j;
		strcpy(prev.class_names[j], "gone");
	}
	CHECK(vw_config_assign_ids(cfg, &prev) == 0);
	for (i = 0; i < cfg->nclasses; i++) {
		CHECK(cfg->classes[i].id < VW_MAX_CLASSES && !(used & (1U << cfg->classes[i].id)));
		used |= 1U << cfg->classes[i].id;
		if (!((seed >> (i % 8)) & 1))
			CHECK(cfg->classes[i].id == (i + seed) % VW_MAX_CLASSES);
	}
	for (r = 0; r < cfg->nrules; r++) {
		__u32 want = 0;

		for (i = 0; i < cfg->nclasses; i++)
			if (before[r] & (1U << i))
				want |= 1U << cfg->classes[i].id;
		CHECK(cfg->rules[r].mask == want);
	}
	free(before);
}

static int parse_split(const uint8_t *data, size_t size, size_t split_min, struct vw_config *cfg,
		       char **errs)
{
	size_t len = 0, saved = vw_config_split_min;
	FILE *f = open_memstream(errs, &len);
	int rc;

	CHECK(f);
	vw_config_split_min = split_min;
	rc = vw_config_parse_buf_confined(cfg, "fuzz.conf", (const char *)data, size, dir, f);
	vw_config_split_min = saved;
	CHECK(fclose(f) == 0);
	return rc;
}

static bool same_rules(const struct vw_rule *a, size_t na, const struct vw_rule *b, size_t nb)
{
	return na == nb && (!na || !memcmp(a, b, na * sizeof(*a)));
}

static void check_split(const uint8_t *data, size_t size)
{
	struct vw_config one, two;
	char *e1 = NULL, *e2 = NULL;
	int rc1, rc2;

	unsigned long splits;

	rc1 = parse_split(data, size, 0, &one, &e1);
	splits = vw_config_splits;
	rc2 = parse_split(data, size, 1, &two, &e2);
	/* an input with a line break past its middle is cut */
	CHECK(vw_config_splits > splits || !memchr(data + size / 2, '\n', size - size / 2) ||
	      (data[size - 1] == '\n' && !memchr(data + size / 2, '\n', size - size / 2 - 1)));
	CHECK(rc1 == rc2);
	CHECK(!strcmp(e1, e2));
	CHECK(same_rules(one.rules, one.nrules, two.rules, two.nrules));
	CHECK(same_rules(one.exempt, one.nexempt, two.exempt, two.nexempt));
	CHECK(same_rules(one.blocks, one.nblocks, two.blocks, two.nblocks));
	CHECK(one.nclasses == two.nclasses &&
	      !memcmp(one.classes, two.classes, one.nclasses * sizeof(one.classes[0])));
	vw_config_free(&one);
	vw_config_free(&two);
	free(e1);
	free(e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vw_config cfg;
	unsigned int seed = size ? data[0] | (unsigned int)data[size - 1] << 8 : 0;
	int rc;

	check_split(data, size);
	rc = vw_config_parse_buf_confined(&cfg, "fuzz.conf", (const char *)data, size, dir, sink);
	if (rc) {
		CHECK(rc == -EINVAL || rc == -ENOMEM);
		CHECK(cfg.nclasses == 0 && cfg.nrules == 0 && !cfg.rules && !cfg.source[0]);
		return 0;
	}
	CHECK(!strcmp(cfg.source, "fuzz.conf") && !cfg.builtin);
	check_classes(&cfg);
	check_rules(&cfg);
	check_round_trip(&cfg);
	if (cfg.nclasses) {
		char list[64];
		__u32 mask;

		/* the first class names (and any junk after them) as an allow-add class list */
		snprintf(list, sizeof(list), "%s,%.*s", cfg.classes[0].name, (int)(size % 40),
			 (const char *)data);
		vw_config_class_mask(&cfg, list, &mask, sink);
	}
	check_assign_ids(&cfg, seed);
	vw_config_free(&cfg);
	return 0;
}
