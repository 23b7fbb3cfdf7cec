// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The policy digest: normalized form of a config (see digest.h), hashed with SHA-256. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "digest.h"
#include "names.h"
#include "sha256.h"

/* Classes by name; rules by family, address, length. qsort has no context argument: the
 * class table is passed by a static for the one sort that needs it. */
static const struct vw_config *sort_cfg;

static int by_class_name(const void *a, const void *b)
{
	const unsigned int *x = a, *y = b;

	return strcmp(sort_cfg->classes[*x].name, sort_cfg->classes[*y].name);
}

static int by_prefix(const void *a, const void *b)
{
	const struct vw_rule *x = *(const struct vw_rule *const *)a;
	const struct vw_rule *y = *(const struct vw_rule *const *)b;
	int d;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	d = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (d)
		return d;
	return (int)x->plen - (int)y->plen;
}

/* "a.b.c.d/len" of an IPv4 rule into buf (at least 19 bytes); returns its length. The same text
 * as vw_format_prefix, without stdio: a million rules are formatted per digest. */
static size_t format_v4(const struct vw_rule *r, char *buf)
{
	char *p = buf;

	for (int i = 0; i < 5; i++) {
		unsigned int v = i < 4 ? r->addr[i] : r->plen;

		if (i)
			*p++ = i < 4 ? '.' : '/';
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
	}
	return (size_t)(p - buf);
}

/* Mark every port of class index ci for protocol l4 in own (65536 bytes). */
static void class_ports(const struct vw_class *c, unsigned int l4, __u8 *own)
{
	memset(own, 0, VW_PORTS);
	for (unsigned int r = 0; r < c->nranges; r++)
		if (c->ranges[r].l4 == l4)
			memset(own + c->ranges[r].lo, 1,
			       (size_t)c->ranges[r].hi - c->ranges[r].lo + 1);
}

int vw_policy_write_normalized(const struct vw_config *cfg, FILE *f)
{
	unsigned int order[VW_MAX_CLASSES], n = cfg->nclasses;
	__u32 defined = 0;
	const struct vw_rule **rules = NULL;
	size_t nr = 0;
	__u8 *own;
	int err = 0;

	own = malloc(VW_PORTS);
	if (cfg->nrules)
		rules = malloc(cfg->nrules * sizeof(*rules));
	if (!own || (cfg->nrules && !rules)) {
		err = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; i < n; i++)
		order[i] = i;
	sort_cfg = cfg;
	qsort(order, n, sizeof(order[0]), by_class_name);
	for (unsigned int i = 0; i < n; i++)
		defined |= 1U << (cfg->classes[i].id % VW_MAX_CLASSES);

	fprintf(f, "voipwall-policy 1\n");
	for (unsigned int i = 0; i < n; i++) {
		const struct vw_class *c = &cfg->classes[order[i]];

		fprintf(f, "class %s %s\n", c->name, vw_policy_name(c->policy));
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct vw_class *c = &cfg->classes[order[i]];

		for (unsigned int l4 = 0; l4 < VW_L4_MAX; l4++) {
			class_ports(c, l4, own);
			for (__u32 p = 0; p < VW_PORTS; p++) {
				__u32 lo = p;

				if (!own[p])
					continue;
				while (p + 1 < VW_PORTS && own[p + 1])
					p++;
				fprintf(f, "port %s %s %u-%u\n", c->name, vw_l4_name(l4), lo, p);
			}
		}
	}

	for (size_t i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].mask & defined)
			rules[nr++] = &cfg->rules[i];
	if (nr)
		qsort(rules, nr, sizeof(*rules), by_prefix);
	for (size_t i = 0; i < nr; i++) {
		/* one fwrite a line: a million rules are a million lines */
		char line[8 + VW_PREFIX_STRLEN + VW_MAX_CLASSES * VW_CLASS_NAME_MAX];
		bool first = true;
		size_t used;

		memcpy(line, "allow ", 6);
		if (rules[i]->family == VW_FAMILY_V4 && rules[i]->plen <= 32) {
			used = 6 + format_v4(rules[i], line + 6);
		} else if (vw_format_prefix(rules[i], line + 6, VW_PREFIX_STRLEN)) {
			used = 6 + strlen(line + 6);
		} else {
			err = -EINVAL;
			goto out;
		}
		/* class names in name order */
		for (unsigned int k = 0; k < n; k++) {
			const struct vw_class *c = &cfg->classes[order[k]];
			size_t len = strnlen(c->name, VW_CLASS_NAME_MAX);

			if (!(rules[i]->mask & (1U << (c->id % VW_MAX_CLASSES))))
				continue;
			line[used++] = first ? ' ' : ',';
			first = false;
			memcpy(line + used, c->name, len);
			used += len;
		}
		line[used++] = '\n';
		fwrite(line, 1, used, f);
	}
	if (ferror(f))
		err = -EIO;
out:
	free(own);
	free(rules);
	return err;
}

/* A stdio stream that hashes what is written to it. */
static ssize_t hash_write(void *cookie, const char *buf, size_t len)
{
	vw_sha256_update(cookie, buf, len);
	return (ssize_t)len;
}

int vw_policy_digest(const struct vw_config *cfg, char out[VW_DIGEST_STRLEN])
{
	cookie_io_functions_t io = {.write = hash_write};
	__u8 sum[VW_SHA256_LEN];
	struct vw_sha256 s;
	FILE *f;
	int err;

	vw_sha256_init(&s);
	f = fopencookie(&s, "w", io);
	if (!f)
		return -errno;
	err = vw_policy_write_normalized(cfg, f);
	if (fclose(f) && !err)
		err = -EIO;
	if (err)
		return err;
	vw_sha256_final(&s, sum);
	for (int i = 0; i < (VW_DIGEST_STRLEN - 1) / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", sum[i]);
	return 0;
}
