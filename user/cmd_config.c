// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* voipwall check / reload / allow: validate, apply atomically, edit the live allowlists. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "digest.h"
#include "log.h"
#include "names.h"
#include "pin.h"

/* "50/s burst 200 ban 600s", "-" without a rate. */
static void format_limit(const struct vw_class *c, char *buf, size_t len)
{
	int n;

	if (!c->rate) {
		snprintf(buf, len, "-");
		return;
	}
	n = snprintf(buf, len, "%u/%c burst %u", c->rate, c->rate_unit == 60 ? 'm' : 's',
		     c->burst);
	if (n > 0 && (size_t)n < len && c->v6_plen != VW_V6_RATE_PLEN_DEFAULT)
		n += snprintf(buf + n, len - (size_t)n, " per /%u", c->v6_plen);
	if (n > 0 && (size_t)n < len && c->ban_secs)
		snprintf(buf + n, len - (size_t)n, " ban %us", c->ban_secs);
}

void vw_config_count_rules(const struct vw_config *cfg, size_t v4[VW_MAX_CLASSES],
			   size_t v6[VW_MAX_CLASSES])
{
	memset(v4, 0, VW_MAX_CLASSES * sizeof(*v4));
	memset(v6, 0, VW_MAX_CLASSES * sizeof(*v6));
	for (size_t i = 0; i < cfg->nrules; i++)
		for (unsigned int c = 0; c < VW_MAX_CLASSES; c++)
			if (cfg->rules[i].mask & (1U << c)) {
				if (cfg->rules[i].family == VW_FAMILY_V4)
					v4[c]++;
				else
					v6[c]++;
			}
}

void vw_cli_print_classes(const struct vw_config *cfg)
{
	size_t v4[VW_MAX_CLASSES], v6[VW_MAX_CLASSES];
	char ports[2048];

	vw_config_count_rules(cfg, v4, v6);
	printf("%-16s %3s %-8s %8s %8s  %-30s %s\n", "CLASS", "ID", "POLICY", "ALLOW-V4",
	       "ALLOW-V6", "RATE", "PORTS");
	for (unsigned int i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];
		char limit[96];

		vw_format_ports(c, ports, sizeof(ports));
		format_limit(c, limit, sizeof(limit));
		printf("%-16s %3u %-8s %8zu %8zu  %-30s %s\n", c->name, c->id, vw_policy_name(c->policy),
		       v4[c->id % VW_MAX_CLASSES], v6[c->id % VW_MAX_CLASSES], limit, ports);
	}
}

void vw_cli_json_classes(struct vw_json *w, const struct vw_config *cfg)
{
	size_t v4[VW_MAX_CLASSES], v6[VW_MAX_CLASSES];

	vw_config_count_rules(cfg, v4, v6);
	vw_json_arr_begin(w);
	for (unsigned int i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];

		vw_json_obj_begin(w);
		vw_json_kv_str(w, "name", c->name);
		vw_json_kv_uint(w, "id", c->id);
		vw_json_kv_str(w, "policy", vw_policy_name(c->policy));
		vw_json_key(w, "ports");
		vw_json_arr_begin(w);
		for (unsigned int j = 0; j < c->nranges; j++) {
			vw_json_obj_begin(w);
			vw_json_kv_str(w, "proto", vw_l4_name(c->ranges[j].l4));
			vw_json_kv_uint(w, "from", c->ranges[j].lo);
			vw_json_kv_uint(w, "to", c->ranges[j].hi);
			vw_json_obj_end(w);
		}
		vw_json_arr_end(w);
		vw_json_kv_uint(w, "allow_v4", v4[c->id % VW_MAX_CLASSES]);
		vw_json_kv_uint(w, "allow_v6", v6[c->id % VW_MAX_CLASSES]);
		if (c->rate) {
			vw_json_kv_uint(w, "rate", c->rate);
			vw_json_kv_str(w, "rate_per", c->rate_unit == 60 ? "minute" : "second");
			vw_json_kv_uint(w, "burst", c->burst);
			vw_json_kv_uint(w, "per_v6_prefix", c->v6_plen);
			vw_json_kv_uint(w, "ban_seconds", c->ban_secs);
		}
		vw_json_obj_end(w);
	}
	vw_json_arr_end(w);
}

static void rule_totals(const struct vw_config *cfg, size_t *v4, size_t *v6)
{
	*v4 = *v6 = 0;
	for (size_t i = 0; i < cfg->nrules; i++) {
		if (cfg->rules[i].family == VW_FAMILY_V4)
			(*v4)++;
		else
			(*v6)++;
	}
}

int cmd_check(struct vw_cli *cli)
{
	char why[256], digest[VW_DIGEST_STRLEN];
	struct vw_config cfg;
	size_t v4, v6;
	int rc, err;

	if (cli->argc) {
		pr_warn("check takes no arguments (the config is given with -c)\n");
		return -EINVAL;
	}
	rc = vw_cli_load_config(cli, &cfg);
	if (rc)
		return rc;
	err = vw_config_assign_ids(&cfg, NULL);
	if (err) {
		pr_warn("cannot assign class ids: %s\n", strerror(-err));
		rc = -EINVAL;
		goto out;
	}
	err = vw_policy_digest(&cfg, digest);
	if (err) {
		pr_warn("cannot compute the policy digest: %s\n", strerror(-err));
		rc = -EIO;
		goto out;
	}
	rule_totals(&cfg, &v4, &v6);
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_kv_bool(&cli->jw, "valid", true);
		vw_json_kv_str(&cli->jw, "config", cfg.source);
		vw_json_kv_bool(&cli->jw, "builtin", cfg.builtin);
		vw_json_kv_uint(&cli->jw, "rules", cfg.nrules);
		vw_json_kv_uint(&cli->jw, "rules_v4", v4);
		vw_json_kv_uint(&cli->jw, "rules_v6", v6);
		vw_json_kv_str(&cli->jw, "digest", digest);
		vw_json_key(&cli->jw, "classes");
		vw_cli_json_classes(&cli->jw, &cfg);
		vw_json_obj_end(&cli->jw);
	} else {
		if (cfg.builtin)
			printf("config: built-in default (%s not found)\n", VW_DEFAULT_CONFIG);
		else
			printf("config: %s: OK\n", cfg.source);
		printf("%u classes, %zu allow rules (%zu IPv4, %zu IPv6)\n", cfg.nclasses,
		       cfg.nrules, v4, v6);
		printf("digest: %s (normalized policy)\n", digest);
		vw_cli_print_classes(&cfg);
	}
	if (vw_lockout_find(&cfg, why, sizeof(why)))
		fprintf(stderr,
			"voipwall: warning: load and reload would refuse this config "
			"without --force: %s\n",
			why);
out:
	vw_config_free(&cfg);
	return rc;
}

/* The start of a command that changes the live state: privileges, the pin directory's lock
 * (*lock_fd, -1 when not taken), the pinned maps and the live generation. Returns an exit code. */
static int begin_change(struct vw_cli *cli, struct vw_maps *m, int *lock_fd, __u32 *gen,
			struct vw_gen_cfg *gc)
{
	int rc = vw_cli_need_privs(cli);

	if (rc)
		return rc;
	*lock_fd = vw_cli_lock(cli);
	if (*lock_fd < 0)
		return -EIO;
	rc = vw_cli_open_maps(cli, m);
	if (rc)
		return rc;
	return vw_cli_live_gen(m, gen, gc);
}

int cmd_reload(struct vw_cli *cli)
{
	char source[VW_SOURCE_MAX];
	struct vw_config cfg = {};
	struct vw_gen_cfg gc;
	struct vw_maps m;
	int lock_fd = -1, rc, err;
	size_t v4, v6;
	__u32 gen;

	vw_maps_init(&m);
	if (cli->argc) {
		pr_warn("reload takes no arguments (the config is given with -c)\n");
		return -EINVAL;
	}
	if (cli->config) {
		/* a broken config is reported before anything else is looked at */
		vw_cli_absolute_config(cli);
		rc = vw_cli_load_config(cli, &cfg);
		if (rc)
			return rc;
	}
	rc = begin_change(cli, &m, &lock_fd, &gen, &gc);
	if (rc)
		goto out;
	if (!cli->config) {
		/* without -c: the file the live config came from (the default when that was the
		 * built-in config: it may exist by now) */
		if (!(gc.flags & VW_GEN_BUILTIN) && gc.source[0] == '/') {
			snprintf(source, sizeof(source), "%.*s", VW_SOURCE_MAX - 1, gc.source);
			cli->config = source;
		}
		rc = vw_cli_load_config(cli, &cfg);
		if (rc)
			goto out;
	}
	err = vw_config_assign_ids(&cfg, &gc);
	if (err) {
		pr_warn("cannot assign class ids: %s\n", strerror(-err));
		rc = -EINVAL;
		goto out;
	}
	rc = vw_cli_lockout_check(cli, &cfg);
	if (rc)
		goto out;
	rc = vw_cli_apply(cli, &m, &cfg, &gen, &gc);
	if (rc)
		goto out;
	rc = vw_cli_config_blocks(&m, &cfg);
	if (rc)
		goto out;
	rule_totals(&cfg, &v4, &v6);
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_kv_str(&cli->jw, "config", gc.source);
		vw_json_kv_bool(&cli->jw, "builtin", gc.flags & VW_GEN_BUILTIN);
		vw_json_kv_uint(&cli->jw, "generation", gen);
		vw_json_kv_uint(&cli->jw, "serial", gc.serial);
		vw_json_kv_uint(&cli->jw, "classes", cfg.nclasses);
		vw_json_kv_uint(&cli->jw, "rules", cfg.nrules);
		vw_json_obj_end(&cli->jw);
	} else {
		printf("reloaded %s: %u classes, %zu allow rules (%zu IPv4, %zu IPv6), serial %u\n",
		       gc.flags & VW_GEN_BUILTIN ? "the built-in default config" : gc.source,
		       cfg.nclasses, cfg.nrules, v4, v6, gc.serial);
	}
out:
	vw_maps_close(&m);
	vw_pin_unlock(cli->pin_dir, lock_fd);
	vw_config_free(&cfg);
	return rc;
}

static int allow_list(struct vw_cli *cli)
{
	struct vw_config cfg = {};
	struct vw_gen_cfg gc;
	const struct vw_class *only = NULL;
	char prefix[64], classes[VW_MAX_CLASSES * (VW_CLASS_NAME_MAX + 1)];
	struct vw_maps m;
	int rc, err;
	__u32 gen;

	vw_maps_init(&m);
	if (cli->argc > 2) {
		pr_warn("allow list takes at most one class\n");
		return -EINVAL;
	}
	rc = vw_cli_open_maps(cli, &m);
	if (rc)
		return rc;
	rc = vw_cli_live_gen(&m, &gen, &gc);
	if (rc)
		goto out;
	err = vw_gen_read_config(&m, gen, &cfg);
	if (err) {
		pr_warn("cannot read the live config: %s\n", vw_bpf_strerror(err));
		rc = -EIO;
		goto out;
	}
	if (cli->argc == 2) {
		only = vw_config_class(&cfg, cli->argv[1]);
		if (!only) {
			pr_warn("unknown class '%s'\n", cli->argv[1]);
			rc = -EINVAL;
			goto out;
		}
	}
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_kv_uint(&cli->jw, "serial", gc.serial);
		vw_json_key(&cli->jw, "rules");
		vw_json_arr_begin(&cli->jw);
	} else {
		printf("%-44s %s\n", "PREFIX", "CLASSES");
	}
	for (size_t i = 0; i < cfg.nrules; i++) {
		const struct vw_rule *r = &cfg.rules[i];

		if (only && !(r->mask & (1U << only->id)))
			continue;
		vw_format_prefix(r, prefix, sizeof(prefix));
		if (!cli->json) {
			vw_format_mask(&cfg, r->mask, classes, sizeof(classes));
			printf("%-44s %s\n", prefix, classes);
			continue;
		}
		vw_json_obj_begin(&cli->jw);
		vw_json_kv_str(&cli->jw, "prefix", prefix);
		vw_json_key(&cli->jw, "classes");
		vw_json_arr_begin(&cli->jw);
		for (unsigned int c = 0; c < cfg.nclasses; c++)
			if (r->mask & (1U << cfg.classes[c].id))
				vw_json_str(&cli->jw, cfg.classes[c].name);
		vw_json_arr_end(&cli->jw);
		vw_json_obj_end(&cli->jw);
	}
	if (cli->json) {
		vw_json_arr_end(&cli->jw);
		vw_json_obj_end(&cli->jw);
	}
out:
	vw_maps_close(&m);
	vw_config_free(&cfg);
	return rc;
}

static int push_rule(struct vw_rule **rules, size_t *n, size_t *cap, const struct vw_rule *r)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct vw_rule *nr = realloc(*rules, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		*rules = nr;
		*cap = ncap;
	}
	(*rules)[(*n)++] = *r;
	return 0;
}

/* The PREFIX arguments of allow add|del; "-" reads more from standard input, one a line ('#'
 * starts a comment, blank lines are skipped), for lists too long for a command line.
 * Returns an exit code; on success *rules holds *n prefixes. */
static int read_prefixes(const struct vw_cli *cli, struct vw_rule **rules, size_t *n)
{
	size_t cap = 0, llen = 0, lineno = 0;
	char *line = NULL;
	struct vw_rule r;
	const char *why;
	int i, rc = 0;

	*rules = NULL;
	*n = 0;
	for (i = 2; i < cli->argc && !rc; i++) {
		const char *arg = cli->argv[i];

		if (strcmp(arg, "-")) {
			if (vw_parse_prefix(arg, &r, &why)) {
				pr_warn("invalid prefix '%s': %s\n", arg, why);
				rc = -EINVAL;
			} else if (push_rule(rules, n, &cap, &r)) {
				rc = -EIO;
			}
			continue;
		}
		while (!rc && getline(&line, &llen, stdin) > 0) {
			char *p = line, *end;

			lineno++;
			end = strchr(p, '#');
			if (end)
				*end = '\0';
			while (isspace((unsigned char)*p))
				p++;
			end = p + strlen(p);
			while (end > p && isspace((unsigned char)end[-1]))
				*--end = '\0';
			if (!*p)
				continue;
			if (vw_parse_prefix(p, &r, &why)) {
				pr_warn("stdin:%zu: invalid prefix '%s': %s\n", lineno, p, why);
				rc = -EINVAL;
			} else if (push_rule(rules, n, &cap, &r)) {
				rc = -EIO;
			}
		}
	}
	free(line);
	if (!rc && !*n) {
		pr_warn("no prefix given\n");
		rc = -EINVAL;
	}
	if (rc) {
		free(*rules);
		*rules = NULL;
	}
	return rc;
}

static int allow_change(struct vw_cli *cli, bool add)
{
	struct vw_config cfg = {};
	struct vw_rule *rules = NULL;
	struct vw_gen_cfg gc;
	struct vw_maps m;
	char text[VW_PREFIX_STRLEN];
	int lock_fd = -1, rc, err;
	size_t nprefix, i;
	__u32 gen, mask;

	vw_maps_init(&m);
	if (cli->argc < 3) {
		pr_warn("usage: allow %s CLASS[,CLASS...] PREFIX...|-\n", add ? "add" : "del");
		return -EINVAL;
	}
	rc = read_prefixes(cli, &rules, &nprefix);
	if (rc)
		return rc;
	rc = begin_change(cli, &m, &lock_fd, &gen, &gc);
	if (rc)
		goto out;
	err = vw_gen_read_config(&m, gen, &cfg);
	if (err) {
		pr_warn("cannot read the live config: %s\n", vw_bpf_strerror(err));
		rc = -EIO;
		goto out;
	}
	{
		char *msgs = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&msgs, &len);

		if (!f) {
			rc = -EIO;
			goto out;
		}
		err = vw_config_class_mask(&cfg, cli->argv[1], &mask, f);
		fclose(f);
		if (err) {
			char *nl = msgs ? strchr(msgs, '\n') : NULL;

			if (nl)
				*nl = '\0';
			pr_warn("%s\n", msgs && *msgs ? msgs : "unknown class");
			free(msgs);
			rc = -EINVAL;
			goto out;
		}
		free(msgs);
	}
	for (i = 0; i < nprefix; i++) {
		rules[i].mask = mask;
		if (add) {
			err = vw_config_add_rule(&cfg, &rules[i]);
			if (err) {
				pr_warn("cannot add %s: %s\n",
					vw_format_prefix(&rules[i], text, sizeof(text)), strerror(-err));
				rc = -EIO;
				goto out;
			}
		} else if (!vw_config_del_rule(&cfg, &rules[i])) {
			pr_warn("%s is not allowlisted for %s; nothing changed\n",
				vw_format_prefix(&rules[i], text, sizeof(text)), cli->argv[1]);
			rc = -EIO;
			goto out;
		}
	}
	if (!add) {
		rc = vw_cli_lockout_check(cli, &cfg);
		if (rc)
			goto out;
	}
	rc = vw_cli_apply(cli, &m, &cfg, &gen, &gc);
	if (rc)
		goto out;
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_kv_str(&cli->jw, "action", add ? "add" : "del");
		vw_json_kv_str(&cli->jw, "classes", cli->argv[1]);
		vw_json_kv_uint(&cli->jw, "prefixes", nprefix);
		vw_json_kv_uint(&cli->jw, "rules", cfg.nrules);
		vw_json_kv_uint(&cli->jw, "serial", gc.serial);
		vw_json_obj_end(&cli->jw);
	} else {
		printf(
		    "%s %zu prefix%s %s %s (%zu allow rules, serial %u); this lasts until the next "
		    "reload\n",
		    add ? "allowed" : "removed", nprefix, nprefix == 1 ? "" : "es",
		    add ? "for" : "from", cli->argv[1], cfg.nrules, gc.serial);
	}
out:
	vw_maps_close(&m);
	vw_pin_unlock(cli->pin_dir, lock_fd);
	vw_config_free(&cfg);
	free(rules);
	return rc;
}

int cmd_allow(struct vw_cli *cli)
{
	const char *sub = cli->argc ? cli->argv[0] : NULL;

	if (sub && !strcmp(sub, "list")) {
		if (cli->opts & (VW_OPT_FORCE | VW_OPT_WAIT)) {
			pr_warn("allow list takes no --force or --wait\n");
			return -EINVAL;
		}
		return allow_list(cli);
	}
	if (sub && !strcmp(sub, "add"))
		return allow_change(cli, true);
	if (sub && (!strcmp(sub, "del") || !strcmp(sub, "delete")))
		return allow_change(cli, false);
	pr_warn("allow: expected add, del or list%s%s\n", sub ? ", not " : "", sub ? sub : "");
	return -EINVAL;
}
