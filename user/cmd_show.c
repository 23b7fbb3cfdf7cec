// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* voipwall status / stats / top: read the pinned state, change nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "flood.h"
#include "log.h"
#include "names.h"
#include "pin.h"
#include "counters.h"
#include "digest.h"
#include "link.h"
#include "prom.h"
#include "xdp_multi.h"

/* ---- status --------------------------------------------------------------------------------- */

/* The link type of an attached interface as the kernel reports it now. */
static const char *iface_link_type(const struct vw_iface *i, char *buf, size_t len)
{
	char name[VW_IFNAME_MAX + 1];

	snprintf(name, sizeof(name), "%.*s", VW_IFNAME_MAX, i->name);
	return vw_iface_link_type(name, i->mode & VW_MODE_RAW_IP, buf, len);
}

static void json_unprotected(const char *name, const char *type, const char *addrs, void *arg)
{
	struct vw_json *w = arg;

	vw_json_obj_begin(w);
	vw_json_kv_str(w, "name", name);
	vw_json_kv_str(w, "link_type", type);
	vw_json_key(w, "addresses");
	vw_json_arr_begin(w);
	for (const char *a = addrs; *a;) {
		const char *comma = strchr(a, ',');
		char one[64];

		snprintf(one, sizeof(one), "%.*s", comma ? (int)(comma - a) : (int)strlen(a), a);
		vw_json_str(w, one);
		a = comma ? comma + 1 : a + strlen(a);
	}
	vw_json_arr_end(w);
	vw_json_obj_end(w);
}

static void print_unprotected(const char *name, const char *type, const char *addrs, void *arg)
{
	(*(int *)arg)++;
	printf("\n  %-16s link %-8s %s", name, type, *addrs ? addrs : "(no address)");
}

/* What status shows, read from the pinned state. */
struct status {
	struct bpf_prog_info pinfo;
	struct vw_iface ifs[VW_MAX_IFACES];
	unsigned int protected[VW_MAX_IFACES]; /* ifindexes of ifs */
	int n;				       /* entries of protected */
	__u32 gen;
	struct vw_gen_cfg gc, other;
	struct vw_config cfg;
	char when[64], digest[VW_DIGEST_STRLEN];
};

static int status_read(const struct vw_cli *cli, const struct vw_maps *m, struct status *st)
{
	__u32 plen = sizeof(st->pinfo);
	int err, prog_fd = vw_pin_open_prog(cli->pin_dir);

	if (prog_fd < 0 || bpf_obj_get_info_by_fd(prog_fd, &st->pinfo, &plen)) {
		pr_warn("cannot open the pinned program in %s: %s\n", cli->pin_dir,
			vw_bpf_strerror(prog_fd < 0 ? prog_fd : -errno));
		if (prog_fd >= 0)
			close(prog_fd);
		return -EIO;
	}
	close(prog_fd);
	err = vw_read_gens(m, &st->gen, &st->gc, &st->other);
	if (err)
		return err;
	if (vw_cli_read_ifaces(m, st->ifs))
		return -EIO;
	err = vw_gen_read_config(m, st->gen, &st->cfg);
	if (err) {
		pr_warn("cannot read the live config: %s\n", vw_bpf_strerror(err));
		return -EIO;
	}
	err = vw_policy_digest(&st->cfg, st->digest);
	if (err) {
		pr_warn("cannot compute the policy digest: %s\n", strerror(-err));
		return -EIO;
	}
	vw_format_time(st->gc.applied_realtime_ns, st->when, sizeof(st->when));
	for (int i = 0; i < VW_MAX_IFACES; i++)
		if (st->ifs[i].ifindex)
			st->protected[st->n++] = st->ifs[i].ifindex;
	return 0;
}

static void status_json_ifaces(const struct vw_cli *cli, struct vw_json *w, const struct status *st)
{
	vw_json_key(w, "interfaces");
	vw_json_arr_begin(w);
	for (int i = 0; i < VW_MAX_IFACES; i++) {
		const struct vw_iface *ifc = &st->ifs[i];
		char since[64], tbuf[32];

		if (!ifc->ifindex)
			continue;
		vw_format_time(ifc->attached_realtime_ns, since, sizeof(since));
		vw_json_obj_begin(w);
		vw_json_kv_str(w, "name", ifc->name);
		vw_json_kv_uint(w, "ifindex", ifc->ifindex);
		vw_json_kv_str(w, "mode", vw_mode_name(ifc->mode));
		vw_json_kv_uint(w, "link_id", ifc->link_id);
		vw_json_kv_uint(w, "prog_id", ifc->prog_id);
		vw_json_kv_str(w, "attached", since);
		vw_json_kv_bool(w, "multiprog", ifc->mode & VW_MODE_MULTIPROG);
		vw_json_kv_str(w, "link_type", iface_link_type(ifc, tbuf, sizeof(tbuf)));
		vw_json_kv_bool(w, "raw_ip", ifc->mode & VW_MODE_RAW_IP);
		vw_json_kv_bool(w, "gone", vw_iface_attached(cli->pin_dir, ifc) == 0);
		vw_json_obj_end(w);
	}
	vw_json_arr_end(w);
	vw_json_key(w, "unprotected");
	vw_json_arr_begin(w);
	vw_link_each_unprotected(st->protected, st->n, json_unprotected, w);
	vw_json_arr_end(w);
}

static void status_json(struct vw_cli *cli, const struct status *st)
{
	struct vw_json *w = &cli->jw;

	vw_json_obj_begin(w);
	vw_json_kv_str(w, "pin_dir", cli->pin_dir);
	vw_json_kv_uint(w, "prog_id", st->pinfo.id);
	vw_json_kv_str(w, "prog_name", st->pinfo.name);
	status_json_ifaces(cli, w, st);
	vw_json_kv_str(w, "config", st->gc.source);
	vw_json_kv_bool(w, "builtin", st->gc.flags & VW_GEN_BUILTIN);
	vw_json_kv_uint(w, "generation", st->gen);
	vw_json_kv_uint(w, "serial", st->gc.serial);
	vw_json_kv_str(w, "applied", st->when);
	vw_json_kv_uint(w, "applied_unix_ns", st->gc.applied_realtime_ns);
	vw_json_kv_str(w, "digest", st->digest);
	vw_json_kv_uint(w, "rules", st->gc.nrules);
	vw_json_kv_uint(w, "rules_v4", st->gc.nrules_v4);
	vw_json_kv_uint(w, "rules_v6", st->gc.nrules_v6);
	vw_json_key(w, "classes");
	vw_cli_json_classes(w, &st->cfg);
	vw_cli_capture_status(cli);
	vw_json_obj_end(w);
}

static void status_print_ifaces(const struct vw_cli *cli, const struct status *st)
{
	int unprotected = 0;

	printf("interfaces: %d\n", st->n);
	for (int i = 0; i < VW_MAX_IFACES; i++) {
		const struct vw_iface *ifc = &st->ifs[i];
		char since[64], how[64], tbuf[32];

		if (!ifc->ifindex)
			continue;
		vw_format_time(ifc->attached_realtime_ns, since, sizeof(since));
		if (ifc->mode & VW_MODE_MULTIPROG)
			snprintf(how, sizeof(how), "libxdp dispatcher, program id %u",
				 ifc->prog_id);
		else
			snprintf(how, sizeof(how), "link id %u", ifc->link_id);
		printf("  %-16s ifindex %-5u link %-8s %-6s %-14s since %s%s\n", ifc->name,
		       ifc->ifindex, iface_link_type(ifc, tbuf, sizeof(tbuf)),
		       vw_mode_name(ifc->mode), how, since,
		       vw_iface_attached(cli->pin_dir, ifc) == 0
			   ? " (GONE: interface removed or detached; unload it)"
			   : "");
	}
	printf("unprotected interfaces (up, not loaded):");
	vw_link_each_unprotected(st->protected, st->n, print_unprotected, &unprotected);
	printf("%s\n", unprotected ? "" : " none");
}

static void status_print(struct vw_cli *cli, const struct status *st)
{
	const struct vw_gen_cfg *gc = &st->gc;

	printf("program:    id %u (%s), pinned in %s\n", st->pinfo.id, st->pinfo.name,
	       cli->pin_dir);
	status_print_ifaces(cli, st);
	if (gc->flags & VW_GEN_BUILTIN)
		printf("config:     built-in default (%s was not found)\n", VW_DEFAULT_CONFIG);
	else
		printf("config:     %s\n", gc->source);
	printf("applied:    %s (serial %u, generation %u)\n", st->when, gc->serial, st->gen);
	printf("digest:     %s (normalized policy)\n", st->digest);
	printf("allowlist:  %u rules (%u IPv4, %u IPv6)\n", gc->nrules, gc->nrules_v4,
	       gc->nrules_v6);
	vw_cli_capture_status(cli);
	printf("classes:    %u\n", st->cfg.nclasses);
	vw_cli_print_classes(&st->cfg);
}

int cmd_status(struct vw_cli *cli)
{
	struct status *st;
	struct vw_maps m;
	int err;

	if (cli->argc) {
		pr_warn("status takes no arguments\n");
		return -EINVAL;
	}
	err = vw_cli_open_maps(cli, &m);
	if (err)
		return err;
	st = calloc(1, sizeof(*st));
	err = st ? status_read(cli, &m, st) : -ENOMEM;
	if (!err && cli->json)
		status_json(cli, st);
	else if (!err)
		status_print(cli, st);
	vw_maps_close(&m);
	if (st)
		vw_config_free(&st->cfg);
	free(st);
	return err;
}

/* ---- stats ---------------------------------------------------------------------------------- */

/* Block set sizes and bans after the counters; g NULL when they could not be read. */
static void print_gauges(struct vw_cli *cli, const struct vw_stats_ctx *x,
			 const struct vw_flood_gauges *g)
{
	char cls[VW_CLASS_NAME_MAX + 8];

	if (!g)
		return;
	if (cli->json) {
		vw_json_key(&cli->jw, "block_entries");
		vw_json_obj_begin(&cli->jw);
		for (unsigned int i = 0; i < VW_BLOCK_SETS; i++)
			if (g->sets[i][0])
				vw_json_kv_uint(&cli->jw, g->sets[i], g->entries[i]);
		vw_json_obj_end(&cli->jw);
		vw_json_key(&cli->jw, "bans_active");
		vw_json_obj_begin(&cli->jw);
		for (unsigned int c = 0; c < VW_MAX_CLASSES; c++)
			if (x->gc.class_mask & (1U << c))
				vw_json_kv_uint(&cli->jw,
						vw_class_name(&x->gc, &x->other, c, cls, sizeof(cls)),
						g->bans[c]);
		vw_json_obj_end(&cli->jw);
		return;
	}
	for (unsigned int i = 0; i < VW_BLOCK_SETS; i++)
		if (g->sets[i][0])
			printf("block set %-15s %llu entries\n", g->sets[i],
			       (unsigned long long)g->entries[i]);
	for (unsigned int c = 0; c < VW_MAX_CLASSES; c++)
		if ((x->gc.class_mask & (1U << c)) && g->bans[c])
			printf("bans in class %-11s %u sources\n",
			       vw_class_name(&x->gc, &x->other, c, cls, sizeof(cls)), g->bans[c]);
}

static void print_stats(struct vw_cli *cli, const struct vw_stats_ctx *x, const struct vw_snapshot *s,
			const struct vw_snapshot *prev, const struct vw_flood_gauges *g)
{
	double dt = 0;
	struct vw_labels l;

	if (prev)
		dt = (s->at.tv_sec - prev->at.tv_sec) + (s->at.tv_nsec - prev->at.tv_nsec) / 1e9;
	if (cli->json) {
		struct vw_json *w = &cli->jw;

		vw_json_obj_begin(w);
		if (prev)
			vw_json_kv_double(w, "interval", dt);
		vw_json_key(w, "counters");
		vw_json_arr_begin(w);
		for (__u32 k = 0; k < VW_COUNTERS; k++) {
			if (!s->packets[k])
				continue;
			vw_labels_of(x, k, &l);
			vw_json_obj_begin(w);
			vw_json_kv_str(w, "interface", l.iface);
			vw_json_kv_str(w, "class", l.cls);
			vw_json_kv_str(w, "verdict", l.verdict);
			vw_json_kv_str(w, "reason", l.reason);
			vw_json_kv_uint(w, "packets", s->packets[k]);
			vw_json_kv_uint(w, "bytes", s->bytes[k]);
			if (prev && dt > 0) {
				vw_json_kv_double(w, "packets_per_sec",
						  (s->packets[k] - prev->packets[k]) / dt);
				vw_json_kv_double(w, "bytes_per_sec",
						  (s->bytes[k] - prev->bytes[k]) / dt);
			}
			vw_json_obj_end(w);
		}
		vw_json_arr_end(w);
		print_gauges(cli, x, g);
		vw_json_obj_end(w);
		fflush(stdout);
		return;
	}
	printf("%-16s %-16s %-8s %-17s %12s %14s", "INTERFACE", "CLASS", "VERDICT", "REASON",
	       "PACKETS", "BYTES");
	if (prev)
		printf(" %12s %14s", "PKTS/S", "BYTES/S");
	putchar('\n');
	for (__u32 k = 0; k < VW_COUNTERS; k++) {
		if (!s->packets[k])
			continue;
		vw_labels_of(x, k, &l);
		printf("%-16s %-16s %-8s %-17s %12llu %14llu", l.iface, l.cls, l.verdict, l.reason,
		       (unsigned long long)s->packets[k], (unsigned long long)s->bytes[k]);
		if (prev && dt > 0)
			printf(" %12.1f %14.1f", (s->packets[k] - prev->packets[k]) / dt,
			       (s->bytes[k] - prev->bytes[k]) / dt);
		putchar('\n');
	}
	print_gauges(cli, x, g);
	fflush(stdout);
}

/* stats --prometheus: all of it or nothing, except that when nothing is loaded (open_rc set)
 * voipwall_up 0 is printed still (and the exit code says the failure), so that a textfile
 * collector publishes "not loaded" rather than keeping an old file. */
static int stats_prometheus(const struct vw_maps *m, int open_rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f) {
		pr_warn("out of memory\n");
		return -EIO;
	}
	err = vw_prom_write(f, m);
	if (fclose(f))
		err = err ? err : -ENOMEM;
	if (!err)
		fwrite(buf, 1, len, stdout);
	free(buf);
	if (err || fflush(stdout))
		return -EIO;
	return open_rc;
}

static volatile sig_atomic_t stop_watch;

static void on_signal(int sig)
{
	stop_watch = 1;
}

int cmd_stats(struct vw_cli *cli)
{
	struct vw_snapshot *s = NULL, *prev = NULL;
	struct vw_flood_gauges g;
	struct vw_stats_ctx x;
	struct vw_maps m;
	int rc, err;

	vw_maps_init(&m);
	if (cli->argc) {
		pr_warn("stats takes no arguments\n");
		return -EINVAL;
	}
	if (cli->prometheus && (cli->json || cli->watch > 0)) {
		pr_warn("--prometheus goes with neither -j nor --watch\n");
		return -EINVAL;
	}
	rc = vw_cli_open_maps(cli, &m);
	if (cli->prometheus) {
		rc = stats_prometheus(rc ? NULL : &m, rc);
		vw_maps_close(&m);
		return rc;
	}
	if (rc)
		return rc;
	s = malloc(sizeof(*s));
	prev = malloc(sizeof(*prev));
	if (!s || !prev) {
		rc = -EIO;
		goto out;
	}
	rc = vw_stats_context(&m, &x);
	if (rc)
		goto out;
	err = vw_counters_read(m.counters, s, x.ifs);
	if (err) {
		pr_warn("cannot read vw_counters: %s\n", vw_bpf_strerror(err));
		rc = -EIO;
		goto out;
	}
	if (cli->watch <= 0) {
		print_stats(cli, &x, s, NULL, vw_flood_gauges_read(&m, &g) ? NULL : &g);
		goto out;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop_watch) {
		struct timespec ts = {.tv_sec = (time_t)cli->watch,
				      .tv_nsec = (long)((cli->watch - (time_t)cli->watch) * 1e9)};
		struct vw_snapshot *t;
		char now[64];

		while (nanosleep(&ts, &ts) && errno == EINTR && !stop_watch)
			;
		if (stop_watch)
			break;
		t = prev;
		prev = s;
		s = t;
		/* interfaces may come and go while watching */
		rc = vw_stats_context(&m, &x);
		if (rc)
			goto out;
		err = vw_counters_read(m.counters, s, x.ifs);
		if (err) {
			pr_warn("cannot read vw_counters: %s\n", vw_bpf_strerror(err));
			rc = -EIO;
			goto out;
		}
		if (!cli->json) {
			struct timespec rt;

			clock_gettime(CLOCK_REALTIME, &rt);
			vw_format_time((__u64)rt.tv_sec * 1000000000ULL + rt.tv_nsec, now,
				       sizeof(now));
			if (isatty(STDOUT_FILENO))
				printf("\033[H\033[2J");
			printf("voipwall stats, every %g s, %s (Ctrl-C to stop)\n", cli->watch,
			       now);
		}
		print_stats(cli, &x, s, prev, vw_flood_gauges_read(&m, &g) ? NULL : &g);
		if (!cli->json)
			putchar('\n');
	}
	rc = 0;
out:
	free(s);
	free(prev);
	vw_maps_close(&m);
	return rc;
}

/* ---- top ------------------------------------------------------------------------------------ */

struct source {
	struct vw_src_key key;
	struct vw_src_val val;
};

static int by_packets(const void *a, const void *b)
{
	const struct source *x = a, *y = b;

	if (x->val.packets != y->val.packets)
		return x->val.packets < y->val.packets ? 1 : -1;
	if (x->val.bytes != y->val.bytes)
		return x->val.bytes < y->val.bytes ? 1 : -1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

static void format_addr(const __u8 *a, char *buf, size_t len)
{
	static const __u8 mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (!memcmp(a, mapped, sizeof(mapped)))
		inet_ntop(AF_INET, a + 12, buf, len);
	else
		inet_ntop(AF_INET6, a, buf, len);
}

/* Whether a source is blocked or banned now, and for how long. */
struct src_state {
	bool blocked;
	char set[VW_BLOCK_SET_NAME_MAX];
	__u64 now, block_until, ban_until;
	char ban_class[VW_CLASS_NAME_MAX + 8];
	char text[128];
};

static void source_state(const struct vw_maps *m, __u32 gen, const struct vw_gen_cfg *gc,
			 const struct vw_gen_cfg *other, const __u8 *addr, struct src_state *st)
{
	static const __u8 mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char names[VW_BLOCK_SETS][VW_BLOCK_SET_NAME_MAX], left[32];
	bool v4 = !memcmp(addr, mapped, sizeof(mapped));
	struct vw_block_entry e;
	__u32 slot, cls;
	size_t n = 0;

	memset(st, 0, sizeof(*st));
	st->now = vw_flood_now();
	if (!vw_block_match(m, v4 ? VW_FAMILY_V4 : VW_FAMILY_V6, v4 ? addr + 12 : addr, st->now,
			    &slot, &e)) {
		st->blocked = true;
		st->block_until = e.expires_ns;
		if (!vw_block_set_names(m, names))
			snprintf(st->set, sizeof(st->set), "%s", names[slot]);
		vw_format_left(e.expires_ns, st->now, left, sizeof(left));
		n += (size_t)snprintf(st->text + n, sizeof(st->text) - n, "blocked (%s, %s left) ",
				      st->set, left);
	}
	if (!vw_ban_find(m, gen, addr, st->now, &cls, &st->ban_until)) {
		vw_class_name(gc, other, cls, st->ban_class, sizeof(st->ban_class));
		vw_format_left(st->ban_until, st->now, left, sizeof(left));
		snprintf(st->text + n, sizeof(st->text) - n, "banned from %s (%s left)",
			 st->ban_class, left);
	}
}

int cmd_top(struct vw_cli *cli)
{
	struct src_state st;
	struct vw_src_key key, next;
	struct source *src = NULL;
	struct vw_gen_cfg gc, other;
	struct timespec now;
	size_t n = 0, cap = 0, shown;
	struct vw_maps m;
	int rc;
	__u32 gen;
	void *prev_key = NULL;

	vw_maps_init(&m);
	if (cli->argc) {
		pr_warn("top takes no arguments (-n N sets how many sources)\n");
		return -EINVAL;
	}
	rc = vw_cli_open_maps(cli, &m);
	if (rc)
		return rc;
	rc = vw_read_gens(&m, &gen, &gc, &other);
	if (rc)
		goto out;
	while (bpf_map_get_next_key(m.sources, prev_key, &next) == 0) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct source *t = realloc(src, ncap * sizeof(*src));

			if (!t) {
				rc = -EIO;
				goto out;
			}
			src = t;
			cap = ncap;
		}
		key = next;
		prev_key = &key;
		if (bpf_map_lookup_elem(m.sources, &key, &src[n].val))
			continue; /* evicted meanwhile */
		src[n++].key = key;
	}
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (n)
		qsort(src, n, sizeof(*src), by_packets);
	shown = cli->top_n && cli->top_n < n ? cli->top_n : n;

	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_kv_uint(&cli->jw, "sources", n);
		vw_json_key(&cli->jw, "top");
		vw_json_arr_begin(&cli->jw);
	} else {
		printf("%-40s %12s %14s %-16s %-17s %10s  %s\n", "SOURCE", "PACKETS", "BYTES",
		       "CLASS", "REASON", "LAST-SEEN", "STATE");
	}
	for (size_t i = 0; i < shown; i++) {
		const struct vw_src_val *v = &src[i].val;
		__u64 now_ns = (__u64)now.tv_sec * 1000000000ULL + now.tv_nsec;
		double ago = now_ns > v->last_seen_ns ? (now_ns - v->last_seen_ns) / 1e9 : 0;
		char addr[INET6_ADDRSTRLEN], cls[VW_CLASS_NAME_MAX + 8];

		format_addr(src[i].key.addr, addr, sizeof(addr));
		vw_class_name(&gc, &other, v->last_class, cls, sizeof(cls));
		source_state(&m, gen, &gc, &other, src[i].key.addr, &st);
		if (cli->json) {
			vw_json_obj_begin(&cli->jw);
			vw_json_kv_str(&cli->jw, "source", addr);
			vw_json_kv_uint(&cli->jw, "packets", v->packets);
			vw_json_kv_uint(&cli->jw, "bytes", v->bytes);
			vw_json_kv_str(&cli->jw, "class", cls);
			vw_json_kv_str(&cli->jw, "reason", vw_reason_name(v->last_reason));
			vw_json_kv_double(&cli->jw, "last_seen_secs_ago", ago);
			if (st.blocked) {
				vw_json_kv_str(&cli->jw, "blocked_set", st.set);
				vw_json_key(&cli->jw, "blocked_seconds_left");
				if (st.block_until)
					vw_json_double(&cli->jw, (st.block_until - st.now) / 1e9);
				else
					vw_json_null(&cli->jw);
			}
			if (st.ban_until) {
				vw_json_kv_str(&cli->jw, "banned_class", st.ban_class);
				vw_json_kv_double(&cli->jw, "banned_seconds_left",
						  (st.ban_until - st.now) / 1e9);
			}
			vw_json_obj_end(&cli->jw);
		} else {
			printf("%-40s %12llu %14llu %-16s %-17s %9.1fs  %s\n", addr,
			       (unsigned long long)v->packets, (unsigned long long)v->bytes, cls,
			       vw_reason_name(v->last_reason), ago, st.text);
		}
	}
	if (cli->json) {
		vw_json_arr_end(&cli->jw);
		vw_json_obj_end(&cli->jw);
	} else if (!n) {
		printf("(no source dropped or monitored yet)\n");
	}
out:
	free(src);
	vw_maps_close(&m);
	return rc;
}
