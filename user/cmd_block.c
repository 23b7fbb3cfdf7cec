// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * voipwall block add|del|list|flush|replace: the named block sets that feeders (fail2ban,
 * APIBAN, CrowdSec, an operator) fill. This command line is their stable interface
 * (docs/feeders.md); the maps behind it are not.
 *
 * Sets live beside the config generations: a reload keeps them (but for the set "config", which
 * the config file's block statements fill), and so does a restart of voipwall: their maps are
 * KEPT (keep.h), left pinned by the unload of the last interface and reused by the next load.
 * With nothing loaded, the commands work on those kept maps. Expired entries stop matching in
 * the data path at once; each change sweeps them out of the tries.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "flood.h"
#include "keep.h"
#include "log.h"
#include "pin.h"

struct entries {
	struct vw_block_entry *e;
	size_t n, cap;
};

static int push(struct entries *l, const struct vw_block_entry *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct vw_block_entry *p = realloc(l->e, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->e = p;
		l->cap = cap;
	}
	l->e[l->n++] = *e;
	return 0;
}

/* Prefixes from a stream, one a line ('#' comments, blank lines skipped). Errors are reported as
 * name:line: what is wrong, all of them; returns an exit code. */
static int read_stream(FILE *f, const char *name, const struct vw_block_entry *proto,
		       struct entries *l)
{
	size_t cap = 0, lineno = 0;
	char *line = NULL;
	int rc = 0;

	while (getline(&line, &cap, f) > 0) {
		struct vw_block_entry e = *proto;
		const char *why;
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
		if (vw_parse_prefix(p, &e.r, &why)) {
			pr_warn("%s:%zu: invalid prefix '%.64s': %s\n", name, lineno, p, why);
			rc = -EINVAL;
			continue;
		}
		e.r.mask = proto->r.mask;
		if (rc == 0 && push(l, &e)) {
			rc = -EIO;
			break;
		}
	}
	free(line);
	return rc;
}

/* The PREFIX arguments (from index first on), '-' reading standard input. */
static int read_args(const struct vw_cli *cli, int first, const struct vw_block_entry *proto,
		     struct entries *l)
{
	int i, rc = 0;

	for (i = first; i < cli->argc; i++) {
		struct vw_block_entry e = *proto;
		const char *why;

		if (!strcmp(cli->argv[i], "-")) {
			int r = read_stream(stdin, "stdin", proto, l);

			if (r)
				rc = r;
			continue;
		}
		if (vw_parse_prefix(cli->argv[i], &e.r, &why)) {
			pr_warn("invalid prefix '%s': %s\n", cli->argv[i], why);
			rc = -EINVAL;
			continue;
		}
		e.r.mask = proto->r.mask;
		if (push(l, &e))
			return -EIO;
	}
	if (!rc && !l->n) {
		pr_warn("no prefix given\n");
		rc = -EINVAL;
	}
	return rc;
}

static __u64 realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* The classes the masks of m's sets name: the live config's, or with nothing loaded (only the
 * kept maps open) those of the last config loaded. */
static int set_classes(const struct vw_maps *m, struct vw_config *cfg)
{
	__u32 gen;
	int err;

	if (m->active < 0)
		return vw_keep_classes(m, cfg);
	err = vw_gen_active(m, &gen);
	return err ? err : vw_gen_read_config(m, gen, cfg);
}

/* --class names against the live config; all classes without --class. */
static int class_mask(const struct vw_cli *cli, const struct vw_maps *m, __u32 *mask)
{
	struct vw_config cfg;
	char *msgs = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	*mask = VW_BLOCK_ALL_CLASSES;
	if (!cli->block_classes)
		return 0;
	err = set_classes(m, &cfg);
	if (err) {
		pr_warn("cannot read the live config: %s\n", vw_bpf_strerror(err));
		return -EIO;
	}
	f = open_memstream(&msgs, &len);
	if (!f) {
		vw_config_free(&cfg);
		return -EIO;
	}
	err = vw_config_class_mask(&cfg, cli->block_classes, mask, f);
	fclose(f);
	vw_config_free(&cfg);
	if (err) {
		char *nl = msgs ? strchr(msgs, '\n') : NULL;

		if (nl)
			*nl = '\0';
		pr_warn("--class: %s\n", msgs && *msgs ? msgs : "unknown class");
	}
	free(msgs);
	return err ? -EINVAL : 0;
}

static const char *set_name(const struct vw_cli *cli)
{
	return cli->block_set ? cli->block_set : VW_BLOCK_SET_MANUAL;
}

/* The pinned maps, or with nothing loaded the kept block sets alone (saying so on stderr). */
static int open_sets(struct vw_cli *cli, struct vw_maps *m)
{
	int err = vw_cli_need_privs(cli);

	if (err)
		return err;
	err = vw_maps_open_pinned(cli->pin_dir, m);
	if (err == -ENOENT) {
		int kerr = vw_keep_open(cli->pin_dir, m);

		if (!kerr) {
			fprintf(stderr,
				"voipwall: not loaded; working on the block sets kept in %s for the "
				"next load\n",
				cli->pin_dir);
			return 0;
		}
		if (kerr != -ENOENT)
			return vw_sys_err(kerr);
	}
	return err ? vw_cli_maps_error(cli, err) : 0;
}

/* Privileges, the lock, the maps; then the expired entries of every set swept out. */
static int begin(struct vw_cli *cli, struct vw_maps *m, int *lock_fd)
{
	size_t swept;
	int rc = vw_cli_need_privs(cli);

	if (rc)
		return rc;
	*lock_fd = vw_cli_lock(cli);
	if (*lock_fd < 0)
		return -EIO;
	rc = open_sets(cli, m);
	if (rc)
		return rc;
	if (vw_block_sweep(m, vw_flood_now(), &swept))
		pr_debug("sweeping expired block entries failed\n");
	else if (swept)
		pr_debug("swept %zu expired block entries\n", swept);
	return 0;
}

static void report(struct vw_cli *cli, const char *action, const char *set, size_t n,
		   size_t changed)
{
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_kv_str(&cli->jw, "action", action);
		vw_json_kv_str(&cli->jw, "set", set);
		vw_json_kv_uint(&cli->jw, "prefixes", n);
		vw_json_kv_uint(&cli->jw, "changed", changed);
		vw_json_obj_end(&cli->jw);
	} else {
		printf("%s: %zu prefix%s, set %s (%zu changed)\n", action, n, n == 1 ? "" : "es", set,
		       changed);
	}
}

static int block_change(struct vw_cli *cli, const char *sub)
{
	bool add = !strcmp(sub, "add"), replace = !strcmp(sub, "replace");
	struct vw_block_entry proto = {};
	struct entries l = {};
	struct vw_maps m;
	size_t changed = 0;
	int lock_fd = -1, rc, err;
	__u32 slot;

	vw_maps_init(&m);
	if (!vw_block_set_name_ok(set_name(cli))) {
		pr_warn("bad set name '%s' (1-15 of a-z 0-9 _ -, starting with a letter)\n",
			set_name(cli));
		return -EINVAL;
	}
	if (!add && (cli->block_for || cli->block_classes || cli->block_override)) {
		pr_warn("--for, --class and --override-allowlist go with block add only\n");
		return -EINVAL;
	}
	if (replace && !cli->block_set) {
		pr_warn("block replace needs --set NAME (it replaces the whole set)\n");
		return -EINVAL;
	}
	if (replace && cli->argc != 2) {
		pr_warn("usage: block replace --set NAME FILE|-\n");
		return -EINVAL;
	}
	proto.added_realtime_ns = realtime_ns();
	proto.flags = cli->block_override ? VW_BLOCK_OVERRIDE : 0;
	/* the prefixes first: a bad list changes nothing, and needs no privileges to be told so */
	if (replace) {
		const char *path = cli->argv[1];
		FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;

		if (!f) {
			pr_warn("cannot read %s: %s\n", path, strerror(errno));
			return -EINVAL;
		}
		rc = read_stream(f, strcmp(path, "-") ? path : "stdin", &proto, &l);
		if (f != stdin)
			fclose(f);
	} else {
		rc = read_args(cli, 1, &proto, &l);
	}
	if (rc) {
		if (rc == -EINVAL && !cli->json)
			fprintf(stderr, "voipwall: nothing changed\n");
		goto out;
	}
	rc = begin(cli, &m, &lock_fd);
	if (rc)
		goto out;
	if (add) {
		__u32 mask;
		__u64 expires = cli->block_for ? vw_flood_now() + cli->block_for * 1000000000ULL : 0;

		rc = class_mask(cli, &m, &mask);
		if (rc)
			goto out;
		for (size_t i = 0; i < l.n; i++) {
			l.e[i].r.mask = mask;
			l.e[i].expires_ns = expires;
		}
	} else {
		for (size_t i = 0; i < l.n; i++)
			l.e[i].r.mask = VW_BLOCK_ALL_CLASSES;
	}
	err = vw_block_set_slot(&m, set_name(cli), add || replace, &slot);
	if (err == -ENOENT) {
		if (!strcmp(sub, "del")) {
			report(cli, "deleted", set_name(cli), l.n, 0);
			rc = 0;
		} else {
			pr_warn("no block set '%s'\n", set_name(cli));
			rc = -EINVAL;
		}
		goto out;
	}
	if (err == -ENOSPC) {
		pr_warn("no room for another block set (at most %d); flush one first\n",
			VW_BLOCK_SETS);
		rc = -EIO;
		goto out;
	}
	if (err) {
		pr_warn("cannot read the block sets: %s\n", vw_bpf_strerror(err));
		rc = -EIO;
		goto out;
	}
	if (add)
		err = vw_block_add(&m, slot, l.e, l.n);
	else if (replace)
		err = vw_block_replace(&m, slot, l.e, l.n);
	else
		err = vw_block_del(&m, slot, l.e, l.n, &changed);
	if (err) {
		pr_warn("cannot change block set '%s': %s\n", set_name(cli), vw_bpf_strerror(err));
		rc = -EIO;
		goto out;
	}
	report(cli, add ? "added" : replace ? "replaced" : "deleted", set_name(cli), l.n,
	       add || replace ? l.n : changed);
out:
	vw_maps_close(&m);
	vw_pin_unlock(cli->pin_dir, lock_fd);
	free(l.e);
	return rc;
}

static int block_flush(struct vw_cli *cli)
{
	struct vw_maps m;
	int lock_fd = -1, rc, err;
	__u32 slot;

	vw_maps_init(&m);
	if (!cli->block_set || cli->argc != 1) {
		pr_warn("usage: block flush --set NAME\n");
		return -EINVAL;
	}
	rc = begin(cli, &m, &lock_fd);
	if (rc)
		goto out;
	err = vw_block_set_slot(&m, cli->block_set, false, &slot);
	if (!err)
		err = vw_block_flush(&m, slot);
	if (err && err != -ENOENT) {
		pr_warn("cannot flush block set '%s': %s\n", cli->block_set, vw_bpf_strerror(err));
		rc = -EIO;
		goto out;
	}
	report(cli, "flushed", cli->block_set, 0, 0);
out:
	vw_maps_close(&m);
	vw_pin_unlock(cli->pin_dir, lock_fd);
	return rc;
}

static void print_left(__u64 expires, __u64 now, char *buf, size_t len)
{
	__u64 s;

	if (!expires) {
		snprintf(buf, len, "never");
		return;
	}
	s = expires > now ? (expires - now + 999999999ULL) / 1000000000ULL : 0;
	if (s >= 86400)
		snprintf(buf, len, "%llud%02lluh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(buf, len, "%llus", s);
}

void vw_format_left(__u64 expires_ns, __u64 now_ns, char *buf, size_t len)
{
	print_left(expires_ns, now_ns, buf, len);
}

static int block_list(struct vw_cli *cli)
{
	char names[VW_BLOCK_SETS][VW_BLOCK_SET_NAME_MAX];
	struct vw_config cfg = {};
	struct vw_maps m;
	__u64 now = vw_flood_now();
	bool found = false;
	int rc;

	vw_maps_init(&m);
	if (cli->argc != 1 || cli->block_for || cli->block_classes || cli->block_override) {
		pr_warn("usage: block list [--set NAME]\n");
		return -EINVAL;
	}
	rc = open_sets(cli, &m);
	if (rc)
		return rc;
	if (set_classes(&m, &cfg) || vw_block_set_names(&m, names)) {
		pr_warn("cannot read the live state\n");
		rc = -EIO;
		goto out;
	}
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_key(&cli->jw, "entries");
		vw_json_arr_begin(&cli->jw);
	} else {
		printf("%-15s %-44s %-9s %-20s %s\n", "SET", "PREFIX", "LEFT", "CLASSES", "FLAGS");
	}
	for (__u32 s = 0; s < VW_BLOCK_SETS; s++) {
		struct vw_block_entry *e;
		size_t n;

		if (!names[s][0] || (cli->block_set && strcmp(names[s], cli->block_set)))
			continue;
		found = true;
		if (vw_block_read(&m, s, &e, &n)) {
			pr_warn("cannot read block set '%s'\n", names[s]);
			rc = -EIO;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			char prefix[VW_PREFIX_STRLEN], left[32], cls[VW_MAX_CLASSES * 17];

			if (e[i].expires_ns && e[i].expires_ns <= now)
				continue; /* expired: no longer matches, swept by the next change */
			vw_format_prefix(&e[i].r, prefix, sizeof(prefix));
			print_left(e[i].expires_ns, now, left, sizeof(left));
			if (e[i].r.mask == VW_BLOCK_ALL_CLASSES)
				snprintf(cls, sizeof(cls), "all");
			else
				vw_format_mask(&cfg, e[i].r.mask, cls, sizeof(cls));
			if (!cli->json) {
				printf("%-15s %-44s %-9s %-20s %s\n", names[s], prefix, left, cls,
				       e[i].flags & VW_BLOCK_OVERRIDE ? "override-allowlist" : "");
				continue;
			}
			vw_json_obj_begin(&cli->jw);
			vw_json_kv_str(&cli->jw, "set", names[s]);
			vw_json_kv_str(&cli->jw, "prefix", prefix);
			vw_json_kv_str(&cli->jw, "classes", cls);
			vw_json_kv_bool(&cli->jw, "override_allowlist",
					e[i].flags & VW_BLOCK_OVERRIDE);
			vw_json_key(&cli->jw, "seconds_left");
			if (e[i].expires_ns)
				vw_json_double(&cli->jw, (e[i].expires_ns - now) / 1e9);
			else
				vw_json_null(&cli->jw);
			vw_json_obj_end(&cli->jw);
		}
		free(e);
	}
	if (cli->json) {
		vw_json_arr_end(&cli->jw);
		vw_json_obj_end(&cli->jw);
	}
	if (cli->block_set && !found && !rc) {
		pr_warn("no block set '%s'\n", cli->block_set);
		rc = -EINVAL;
		cli->json_done = false;
	}
out:
	vw_maps_close(&m);
	vw_config_free(&cfg);
	return rc;
}

int vw_cli_config_blocks(const struct vw_maps *m, const struct vw_config *cfg)
{
	struct vw_block_entry *e = calloc(cfg->nblocks ? cfg->nblocks : 1, sizeof(*e));
	__u64 now = realtime_ns();
	__u32 slot;
	int err;

	if (!e)
		return -EIO;
	for (size_t i = 0; i < cfg->nblocks; i++) {
		e[i].r = cfg->blocks[i];
		e[i].added_realtime_ns = now;
	}
	err = vw_block_set_slot(m, VW_BLOCK_SET_CONFIG, cfg->nblocks > 0, &slot);
	if (!err)
		err = cfg->nblocks ? vw_block_replace(m, slot, e, cfg->nblocks)
				   : vw_block_flush(m, slot);
	free(e);
	if (err && err != -ENOENT) {
		pr_warn("cannot apply the config's block statements: %s\n", vw_bpf_strerror(err));
		return -EIO;
	}
	/* what the entries' class masks mean, for the load that reuses the sets after a restart */
	err = vw_keep_record(m, cfg);
	if (err) {
		pr_warn("cannot record the classes of the block sets: %s\n", vw_bpf_strerror(err));
		return -EIO;
	}
	return 0;
}

int cmd_block(struct vw_cli *cli)
{
	const char *sub = cli->argc ? cli->argv[0] : NULL;

	if (sub && !strcmp(sub, "list"))
		return block_list(cli);
	if (sub && !strcmp(sub, "flush"))
		return block_flush(cli);
	if (sub && (!strcmp(sub, "add") || !strcmp(sub, "del") || !strcmp(sub, "replace")))
		return block_change(cli, sub);
	pr_warn("block: expected add, del, list, flush or replace%s%s\n", sub ? ", not " : "",
		sub ? sub : "");
	return -EINVAL;
}
