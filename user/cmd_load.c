// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* voipwall load / unload: create or reuse the pinned state, attach and detach interfaces. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "log.h"
#include "flood.h"
#include "keep.h"
#include "link.h"
#include "pin.h"
#include "state.h"
#include "xdp_multi.h"

/* One interface named on the command line. */
struct target {
	const char *name;
	unsigned int ifindex;
	int slot;    /* vw_ifaces slot */
	bool multi;  /* through libxdp's dispatcher */
	bool raw_ip; /* no link-layer header: the raw-IP entry point */
	struct vw_iface rec;
};

static void print_loaded(struct vw_cli *cli, const struct target *ts, int n, __u32 prog_id,
			 const struct vw_gen_cfg *gc, const char *kept)
{
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_kv_uint(&cli->jw, "prog_id", prog_id);
		vw_json_kv_str(&cli->jw, "pin_dir", cli->pin_dir);
		vw_json_kv_str(&cli->jw, "config", gc->source);
		vw_json_kv_bool(&cli->jw, "builtin", gc->flags & VW_GEN_BUILTIN);
		vw_json_kv_uint(&cli->jw, "serial", gc->serial);
		vw_json_kv_str(&cli->jw, "kept_block_sets", kept ? kept : "");
		vw_json_key(&cli->jw, "interfaces");
		vw_json_arr_begin(&cli->jw);
		for (int i = 0; i < n; i++) {
			vw_json_obj_begin(&cli->jw);
			vw_json_kv_str(&cli->jw, "name", ts[i].name);
			vw_json_kv_uint(&cli->jw, "ifindex", ts[i].ifindex);
			vw_json_kv_str(&cli->jw, "mode", vw_mode_name(ts[i].rec.mode));
			vw_json_kv_uint(&cli->jw, "link_id", ts[i].rec.link_id);
			vw_json_kv_bool(&cli->jw, "multiprog", ts[i].rec.mode & VW_MODE_MULTIPROG);
			vw_json_kv_bool(&cli->jw, "raw_ip", ts[i].raw_ip);
			vw_json_kv_uint(&cli->jw, "prog_id", ts[i].rec.prog_id);
			vw_json_obj_end(&cli->jw);
		}
		vw_json_arr_end(&cli->jw);
		vw_json_obj_end(&cli->jw);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (ts[i].rec.mode & VW_MODE_MULTIPROG)
			printf("loaded on %s (ifindex %u, %s mode, libxdp dispatcher, run priority "
			       "%d, program id %u)\n",
			       ts[i].name, ts[i].ifindex, vw_mode_name(ts[i].rec.mode),
			       VW_XDP_RUN_PRIO, ts[i].rec.prog_id);
		else
			printf("loaded on %s (ifindex %u, %s mode, %s, link id %u, program id %u)\n",
			       ts[i].name, ts[i].ifindex, vw_mode_name(ts[i].rec.mode),
			       ts[i].raw_ip ? "no link-layer header" : "Ethernet",
			       ts[i].rec.link_id, ts[i].rec.prog_id);
	}
	if (gc->flags & VW_GEN_BUILTIN)
		printf("config: built-in default (%s not found), serial %u\n", VW_DEFAULT_CONFIG,
		       gc->serial);
	else
		printf("config: %s, serial %u\n", gc->source, gc->serial);
	if (kept)
		printf("block sets kept from before: %s\n", kept);
}

/* Which entry point judges t's frames; interfaces of other link types are refused. */
static int check_link_type(const struct vw_cli *cli, struct target *t)
{
	unsigned int type;
	char buf[32];
	int err = vw_link_arphrd(t->name, &type);

	if (err) {
		pr_warn("cannot read the link type of %s: %s\n", t->name, strerror(-err));
		return vw_sys_err(err);
	}
	switch (vw_link_kind(type)) {
	case VW_LINK_ETHER:
		return 0;
	case VW_LINK_RAW_IP:
		t->raw_ip = true;
		t->rec.mode |= VW_MODE_RAW_IP;
		if (cli->mode == VW_ATTACH_NATIVE) {
			pr_warn("%s (link type %s) has no link-layer header: voipwall attaches "
				"there in skb mode only, not native\n",
				t->name, vw_link_type_name(type, buf, sizeof(buf)));
			return -EINVAL;
		}
		if (cli->multiprog) {
			pr_warn("%s (link type %s): the libxdp dispatcher is not supported on "
				"interfaces without a link-layer header\n",
				t->name, vw_link_type_name(type, buf, sizeof(buf)));
			return -EINVAL;
		}
		return 0;
	default:
		pr_warn("cannot load on %s: link type %s is not supported (voipwall judges "
			"Ethernet interfaces and interfaces without a link-layer header)\n",
			t->name, vw_link_type_name(type, buf, sizeof(buf)));
		return -EINVAL;
	}
}


/* The interfaces named on the command line: each once, each name short enough. */
static int parse_targets(const struct vw_cli *cli, struct target **out)
{
	struct target *ts = calloc(cli->argc, sizeof(*ts));

	*out = ts;
	if (!ts)
		return -ENOMEM;
	for (int i = 0; i < cli->argc; i++) {
		ts[i].name = cli->argv[i];
		for (int j = 0; j < i; j++) {
			if (!strcmp(ts[j].name, ts[i].name)) {
				pr_warn("interface %s is named twice\n", ts[i].name);
				return -EINVAL;
			}
		}
		if (strlen(ts[i].name) >= IF_NAMESIZE) {
			pr_warn("interface name too long: %s\n", ts[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

/* Each interface exists, has an ifindex voipwall can count under and a link type it judges. */
static int resolve_targets(const struct vw_cli *cli, struct target *ts)
{
	for (int i = 0; i < cli->argc; i++) {
		int err;

		ts[i].ifindex = if_nametoindex(ts[i].name);
		if (!ts[i].ifindex) {
			pr_warn("interface %s does not exist\n", ts[i].name);
			return -ENODEV;
		}
		if (ts[i].ifindex >= VW_MAX_IFINDEX) {
			pr_warn("interface %s has ifindex %u; voipwall handles ifindexes below %u\n",
				ts[i].name, ts[i].ifindex, VW_MAX_IFINDEX);
			return -ERANGE;
		}
		err = check_link_type(cli, &ts[i]);
		if (err)
			return err;
	}
	return 0;
}

/* The interfaces already attached (none when nothing is loaded yet), and cfg's class ids: those
 * of the live generation kept, or on a first load those the kept block sets' classes had. */
static int read_state(struct vw_state *st, bool fresh, struct vw_iface *ifs,
		      struct vw_config *cfg)
{
	struct vw_gen_cfg *prev = fresh ? NULL : &st->live;
	int err;

	memset(ifs, 0, VW_MAX_IFACES * sizeof(*ifs));
	if (!fresh) {
		err = vw_state_open(st);
		if (!err)
			err = vw_state_read_ifaces(st, ifs, true);
		if (err)
			return err;
	} else {
		err = vw_state_open_kept(st);
		if (err)
			return err;
		if (st->has_kept) {
			/* st->live is free until the state is created */
			err = vw_keep_prev_classes(&st->kept, &st->live);
			if (err) {
				pr_warn("cannot read the kept block sets' classes: %s\n",
					strerror(-err));
				return err;
			}
			prev = &st->live;
		}
	}
	err = vw_config_assign_ids(cfg, prev);
	if (err) {
		pr_warn("cannot assign class ids: %s\n", strerror(-err));
		return -EINVAL;
	}
	return 0;
}

/* Refuse before changing anything: an interface loaded already, or running another program
 * without the dispatcher; no free slot. Picks each interface's way in and its slot. */
static int check_targets(const struct vw_cli *cli, struct target *ts, const struct vw_iface *ifs)
{
	int i, j, err;

	for (i = 0; i < cli->argc; i++) {
		struct vw_xdp_occupant occ;

		for (j = 0; j < VW_MAX_IFACES; j++) {
			if (ifs[j].ifindex == ts[i].ifindex) {
				pr_warn("%s is already loaded (link id %u); use 'voipwall reload' to "
					"change the config, 'voipwall unload %s' to detach\n",
					ts[i].name, ifs[j].link_id, ts[i].name);
				return -EEXIST;
			}
		}
		err = vw_xdp_inspect(ts[i].ifindex, &occ);
		if (err && err != -EOPNOTSUPP) {
			pr_warn("cannot query XDP on %s: %s\n", ts[i].name, vw_bpf_strerror(err));
			return vw_sys_err(err);
		}
		if (!err && occ.present && !occ.dispatcher) {
			pr_warn("%s already runs another XDP program, '%s' (id %u), attached without "
				"the libxdp dispatcher; detach it first (e.g. ip link set dev %s xdp "
				"off), or attach it through libxdp (xdp-loader) to share the "
				"interface\n",
				ts[i].name, occ.name, occ.prog_id, ts[i].name);
			return -EBUSY;
		}
		/* another program runs through the dispatcher: join it */
		ts[i].multi = cli->multiprog || (!err && occ.dispatcher);
	}
	for (i = 0, j = 0; i < cli->argc; i++) {
		while (j < VW_MAX_IFACES && ifs[j].ifindex)
			j++;
		if (j == VW_MAX_IFACES) {
			pr_warn("no free interface slot: voipwall serves at most %d interfaces\n",
				VW_MAX_IFACES);
			return -ENOSPC;
		}
		ts[i].slot = j++;
	}
	return 0;
}

/* All or nothing: create the state on a first load, attach every interface, then (a later load)
 * apply cfg, so that a failure leaves the running config as it was; on failure, detach what
 * this attached, and a first load leaves nothing behind. */
static int attach_all(struct vw_state *st, bool fresh, struct target *ts, int n,
		      const struct vw_config *cfg)
{
	bool raw_ip = false;
	int i, attached = 0, err;

	if (fresh) {
		err = vw_state_create(st, cfg);
		if (err)
			return vw_sys_err(err);
	}
	for (i = 0; i < n; i++)
		raw_ip |= ts[i].raw_ip;
	err = vw_state_open_progs(st, raw_ip);
	for (i = 0; i < n && !err; i++) {
		ts[i].rec.ifindex = ts[i].ifindex;
		snprintf(ts[i].rec.name, sizeof(ts[i].rec.name), "%s", ts[i].name);
		err = vw_state_attach(st, ts[i].slot, &ts[i].rec, ts[i].multi, ts[i].raw_ip);
		if (!err)
			attached++;
	}
	if (!err && !fresh)
		err = vw_state_apply(st, cfg);
	if (!err)
		return 0;
	for (i = 0; i < attached; i++) {
		vw_state_detach(st, ts[i].slot, &ts[i].rec, true);
		fprintf(stderr, "voipwall: detached %s again\n", ts[i].name);
	}
	if (fresh)
		vw_state_remove(st, st->has_kept);
	return vw_sys_err(err);
}

int cmd_load(struct vw_cli *cli)
{
	struct vw_iface ifs[VW_MAX_IFACES];
	struct vw_config cfg = {};
	struct target *ts = NULL;
	char kept[96] = "";
	struct vw_state st;
	bool fresh;
	int err;

	vw_state_init(&st, cli);
	if (cli->argc < 1) {
		pr_warn("load: name at least one interface\n");
		return -EINVAL;
	}
	vw_cli_absolute_config(cli);
	err = vw_cli_load_config(cli, &cfg);
	if (err)
		return err;
	err = parse_targets(cli, &ts);
	if (!err)
		err = vw_cli_need_privs(cli);
	if (!err)
		err = resolve_targets(cli, ts);
	if (!err)
		err = vw_state_lock(&st);
	if (err)
		goto out;
	fresh = !vw_state_loaded(&st);
	if (fresh)
		vw_keep_describe(cli->pin_dir, kept, sizeof(kept));
	err = read_state(&st, fresh, ifs, &cfg);
	if (!err)
		err = check_targets(cli, ts, ifs);
	if (!err)
		err = vw_cli_lockout_check(cli, &cfg);
	if (!err)
		err = attach_all(&st, fresh, ts, cli->argc, &cfg);
	if (!err)
		err = vw_cli_config_blocks(&st.maps, &cfg);
	if (!err && !vw_cli_live_gen(&st.maps, &st.gen, &st.live))
		print_loaded(cli, ts, cli->argc, st.prog_id, &st.live,
			     st.has_kept && kept[0] ? kept : NULL);
out:
	vw_state_close(&st);
	vw_config_free(&cfg);
	free(ts);
	return err;
}

/* With every interface gone: whether the block sets of m (the whole state, or the kept maps
 * alone) stay for the next load: not with --purge, and only when a named set other than
 * "config", which the config file fills, is left. The set "config" is emptied either way. */
static bool keep_sets(const struct vw_cli *cli, const struct vw_maps *m, char *desc, size_t len)
{
	__u32 slot;

	if (cli->purge)
		return false;
	if (!vw_block_set_slot(m, VW_BLOCK_SET_CONFIG, false, &slot))
		vw_block_flush(m, slot);
	return vw_keep_summary(m, desc, len);
}

/* The same for a pin dir that is not loaded (its kept maps). Kept maps this voipwall cannot read
 * stay as they are unless --purge: the next load refuses them, saying why. */
static bool keep_dir_sets(const struct vw_cli *cli, char *desc, size_t len)
{
	struct vw_maps kept;
	bool keep;
	int err;

	if (cli->purge)
		return false;
	err = vw_keep_open(cli->pin_dir, &kept);
	if (err == -ESTALE) {
		snprintf(desc, len, "block sets this voipwall cannot read");
		return !cli->purge;
	}
	if (err)
		return false;
	keep = keep_sets(cli, &kept, desc, len);
	vw_maps_close(&kept);
	return keep;
}

/* unload --all with nothing loaded: remove what a crashed load or unload may have left, but for
 * the kept block sets (unless --purge). */
static int unload_leftovers(struct vw_cli *cli)
{
	char desc[96] = "";
	bool kept, keep;

	if (access(cli->pin_dir, F_OK)) {
		pr_warn("voipwall is not loaded (nothing pinned in %s)\n", cli->pin_dir);
		return -ENOENT;
	}
	kept = vw_keep_describe(cli->pin_dir, desc, sizeof(desc));
	keep = keep_dir_sets(cli, desc, sizeof(desc));
	if (keep ? vw_pin_remove_keep(cli->pin_dir) : vw_pin_remove_all(cli->pin_dir))
		return -EIO;
	if (keep) {
		pr_warn("voipwall is not loaded (%s holds only %s, kept for the next load; "
			"'voipwall unload --all --purge' removes them)\n",
			cli->pin_dir, desc);
		return -ENOENT;
	}
	if (!kept || !cli->purge) {
		pr_warn("voipwall is not loaded (nothing pinned in %s)\n", cli->pin_dir);
		return -ENOENT;
	}
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_key(&cli->jw, "unloaded");
		vw_json_arr_begin(&cli->jw);
		vw_json_arr_end(&cli->jw);
		vw_json_kv_bool(&cli->jw, "removed_pin_dir", true);
		vw_json_kv_str(&cli->jw, "kept_block_sets", "");
		vw_json_obj_end(&cli->jw);
	} else {
		printf("removed the block sets kept in %s: %s\n", cli->pin_dir, desc);
	}
	return 0;
}

/* The vw_ifaces slots of the interfaces named, by ifindex, or by name when the interface is
 * gone. */
static int pick_ifaces(const struct vw_cli *cli, const struct vw_iface *ifs, bool *pick)
{
	for (int i = 0; i < cli->argc; i++) {
		unsigned int ifindex = if_nametoindex(cli->argv[i]);
		int j;

		for (j = 0; j < VW_MAX_IFACES; j++) {
			if (!ifs[j].ifindex)
				continue;
			if (ifindex ? ifs[j].ifindex == ifindex
				    : !strncmp(ifs[j].name, cli->argv[i], VW_IFNAME_MAX))
				break;
		}
		if (j == VW_MAX_IFACES) {
			if (!ifindex)
				pr_warn("interface %s does not exist\n", cli->argv[i]);
			else
				pr_warn("%s is not loaded\n", cli->argv[i]);
			return -ENOENT;
		}
		pick[j] = true;
	}
	return 0;
}

/* Detach the picked interfaces (every one with --all), each said as it goes; *left counts those
 * still attached. Returns the first failure, after trying them all. */
static int detach_picked(struct vw_cli *cli, struct vw_state *st, const struct vw_iface *ifs,
			 const bool *pick, int *left)
{
	int err, first = 0;

	for (int j = 0; j < VW_MAX_IFACES; j++) {
		if (!ifs[j].ifindex)
			continue;
		if (!cli->all && !pick[j]) {
			(*left)++;
			continue;
		}
		err = vw_state_detach(st, j, &ifs[j], false);
		if (err && err != -ENOENT) {
			pr_warn("cannot detach %s: %s\n", ifs[j].name, strerror(-err));
			first = first ? first : vw_sys_err(err);
			(*left)++;
			continue;
		}
		if (cli->json)
			vw_json_str(&cli->jw, ifs[j].name);
		else
			printf("unloaded %s\n", ifs[j].name);
	}
	return first;
}

int cmd_unload(struct vw_cli *cli)
{
	struct vw_iface ifs[VW_MAX_IFACES];
	bool pick[VW_MAX_IFACES] = {}, keep = false;
	char kept[96] = "";
	struct vw_state st;
	int err, left = 0;

	vw_state_init(&st, cli);
	if (cli->all == (cli->argc > 0)) {
		pr_warn("unload: name the interfaces, or give --all\n");
		return -EINVAL;
	}
	if (cli->purge && !cli->all) {
		pr_warn("unload: --purge goes with --all\n");
		return -EINVAL;
	}
	err = vw_state_lock(&st);
	if (err)
		goto out;
	if (!vw_state_loaded(&st) && cli->all) {
		err = unload_leftovers(cli);
		goto out;
	}
	err = vw_maps_open_pinned(cli->pin_dir, &st.maps);
	if ((err == -EBADF || err == -EPROTO) && cli->all) {
		/* damaged (maps missing) or another version's: removing every pin detaches every
		 * link */
		keep = keep_dir_sets(cli, kept, sizeof(kept));
		fprintf(stderr, "voipwall: %s is %s; removing all of it%s%s\n", cli->pin_dir,
			err == -EBADF ? "incomplete" : "another version's", keep ? " but " : "",
			keep ? kept : "");
		err = vw_state_remove(&st, keep) ? -EIO : 0;
		if (!err && !cli->json)
			printf("removed the pinned state in %s\n", cli->pin_dir);
		goto out;
	}
	if (err)
		err = vw_cli_maps_error(cli, err);
	if (!err)
		err = vw_state_read_ifaces(&st, ifs, false);
	if (!err)
		err = pick_ifaces(cli, ifs, pick);
	if (err)
		goto out;
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_key(&cli->jw, "unloaded");
		vw_json_arr_begin(&cli->jw);
	}
	err = detach_picked(cli, &st, ifs, pick, &left);
	if (!left && !err) {
		keep = keep_sets(cli, &st.maps, kept, sizeof(kept));
		if (vw_state_remove(&st, keep))
			err = -EIO;
		else if (!cli->json && keep)
			printf("removed the pinned state in %s but %s, kept for the next load "
			       "('voipwall unload --all --purge' removes them)\n",
			       cli->pin_dir, kept);
		else if (!cli->json)
			printf("removed the pinned state in %s\n", cli->pin_dir);
	}
	if (cli->json) {
		vw_json_arr_end(&cli->jw);
		vw_json_kv_bool(&cli->jw, "removed_pin_dir", !left && !err && !keep);
		vw_json_kv_str(&cli->jw, "kept_block_sets", keep ? kept : "");
		if (err)
			vw_json_kv_str(&cli->jw, "error", vw_log_errors());
		vw_json_obj_end(&cli->jw);
		cli->json_done = true;
	}
out:
	vw_state_close(&st);
	return err;
}
