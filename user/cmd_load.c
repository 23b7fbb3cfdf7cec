// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* voipwall load / unload: create or reuse the pinned state, attach and detach interfaces. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "log.h"
#include "link.h"
#include "pin.h"
#include "xdp_multi.h"
#include "voipwall.skel.h"

/* One interface named on the command line. */
struct target {
	const char *name;
	unsigned int ifindex;
	int slot;    /* vw_ifaces slot */
	int link_fd; /* -1 until attached */
	bool multi;  /* through libxdp's dispatcher */
	bool raw_ip; /* no link-layer header: the raw-IP entry point */
	struct vw_iface rec;
};

static __u64 now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Zero slot's counters so a new interface does not inherit an old one's. */
static void clear_slot_counters(const struct vw_maps *m, unsigned int slot)
{
	int ncpus = libbpf_num_possible_cpus();
	struct vw_counter *zero;
	__u32 first = VW_COUNTER_INDEX(slot, 0, 0, 0);

	if (ncpus <= 0)
		return;
	zero = calloc(ncpus, sizeof(*zero));
	if (!zero)
		return;
	for (__u32 k = first; k < first + VW_COUNTERS_PER_SLOT; k++)
		bpf_map_update_elem(m->counters, &k, zero, BPF_ANY);
	free(zero);
}

/* Register t in vw_ifaces and vw_ifslot (before attaching, so the first packet counts under it). */
static int register_iface(const struct vw_maps *m, struct target *t)
{
	__u32 slot = t->slot, v = slot + 1, idx = t->ifindex;

	clear_slot_counters(m, slot);
	if (bpf_map_update_elem(m->ifaces, &slot, &t->rec, BPF_ANY) ||
	    bpf_map_update_elem(m->ifslot, &idx, &v, BPF_ANY))
		return -errno;
	return 0;
}

static void unregister_iface(const struct vw_maps *m, __u32 slot, __u32 ifindex)
{
	struct vw_iface empty = {};
	__u32 zero = 0;

	bpf_map_update_elem(m->ifslot, &ifindex, &zero, BPF_ANY);
	bpf_map_update_elem(m->ifaces, &slot, &empty, BPF_ANY);
}

/* Forget interfaces whose link is gone (the interface was deleted, or a load died between
 * registering and pinning): their slot and ifindex may be reused. */
static void prune_gone(const struct vw_cli *cli, const struct vw_maps *m, struct vw_iface *ifs)
{
	for (__u32 j = 0; j < VW_MAX_IFACES; j++) {
		if (!ifs[j].ifindex || vw_iface_attached(cli->pin_dir, &ifs[j]) != 0)
			continue;
		fprintf(stderr,
			"voipwall: %.*s (ifindex %u) is no longer attached (interface "
			"removed?); forgetting it\n",
			VW_IFNAME_MAX, ifs[j].name, ifs[j].ifindex);
		vw_iface_detach(cli->pin_dir, &ifs[j]);
		unregister_iface(m, j, ifs[j].ifindex);
		memset(&ifs[j], 0, sizeof(ifs[j]));
	}
}

static int link_create(int prog_fd, unsigned int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);

	return fd < 0 ? -errno : fd;
}

static const char *attach_strerror(int err)
{
	switch (-err) {
	case EBUSY:
	case EEXIST:
		return "another XDP program is attached";
	case EOPNOTSUPP:
		return "XDP is not supported here";
	case EINVAL:
		return "invalid argument (kernel or driver without XDP in this mode?)";
	default:
		return vw_bpf_strerror(err);
	}
}

/* Attach in the requested mode; returns the link fd and sets t->rec.mode. */
static int attach(const struct vw_cli *cli, int prog_fd, struct target *t)
{
	int fd;

	/* Interfaces without a link-layer header attach in skb (generic) mode only: a tun device
	 * accepts a native program but runs it only for frames on its IFF_TAP path, never for the
	 * IP packets written to an IFF_TUN device, which would pass unjudged. */
	if (cli->mode != VW_ATTACH_SKB && !t->raw_ip) {
		fd = link_create(prog_fd, t->ifindex, XDP_FLAGS_DRV_MODE);
		if (fd >= 0) {
			t->rec.mode = VW_MODE_NATIVE;
			return fd;
		}
		if (cli->mode == VW_ATTACH_NATIVE) {
			pr_warn("cannot attach to %s in native mode: %s\n", t->name,
				attach_strerror(fd));
			return fd;
		}
		fprintf(stderr, "voipwall: %s: native XDP failed (%s), falling back to skb mode\n",
			t->name, attach_strerror(fd));
	}
	fd = link_create(prog_fd, t->ifindex, XDP_FLAGS_SKB_MODE);
	if (fd < 0) {
		if (fd == -EINVAL || fd == -EOPNOTSUPP)
			pr_warn("cannot attach to %s: this kernel has no XDP support (%s)\n",
				t->name, strerror(-fd));
		else
			pr_warn("cannot attach to %s in skb mode: %s\n", t->name,
				attach_strerror(fd));
		return fd;
	}
	t->rec.mode = VW_MODE_SKB;
	return fd;
}

static __u32 link_id_of(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static __u32 prog_id_of(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Open and load the skeleton; when the kernel refuses the multi-buffer (xdp.frags) program,
 * load it again without BPF_F_XDP_HAS_FRAGS. */
static int open_skel(struct voipwall_bpf **out)
{
	struct voipwall_bpf *skel;
	__u32 flags;
	int err;

	skel = voipwall_bpf__open();
	if (!skel)
		return -errno;
	flags = bpf_program__flags(skel->progs.voipwall_xdp);
	err = voipwall_bpf__load(skel);
	if (err && (flags & BPF_F_XDP_HAS_FRAGS) && err != -EPERM) {
		voipwall_bpf__destroy(skel);
		skel = voipwall_bpf__open();
		if (!skel)
			return -errno;
		bpf_program__set_flags(skel->progs.voipwall_xdp, flags & ~BPF_F_XDP_HAS_FRAGS);
		bpf_program__set_flags(skel->progs.voipwall_xdp_ip, flags & ~BPF_F_XDP_HAS_FRAGS);
		err = voipwall_bpf__load(skel);
		if (!err)
			fprintf(stderr,
				"voipwall: kernel refused the multi-buffer (xdp.frags) program; "
				"loaded it without frags (jumbo-MTU interfaces may not attach)\n");
	}
	if (err) {
		voipwall_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

/* First load: load the program, build the config into it, pin everything atomically. */
static int create_state(const struct vw_cli *cli, const struct vw_config *cfg)
{
	struct voipwall_bpf *skel = NULL;
	struct vw_maps m;
	int err, rc;

	err = vw_pin_ensure_bpffs(cli->pin_dir, cli->pin_dir_default);
	if (err)
		return VW_EXIT_FAIL;
	err = open_skel(&skel);
	if (err) {
		pr_warn("cannot load the XDP program: %s\n", vw_bpf_strerror(err));
		return VW_EXIT_FAIL;
	}
	err = vw_maps_from_obj(skel->obj, &m);
	if (err) {
		rc = VW_EXIT_FAIL;
		goto out;
	}
	rc = vw_cli_apply(cli, &m, cfg, NULL, NULL);
	if (rc)
		goto out;
	err = vw_pin_create(cli->pin_dir, &m, bpf_program__fd(skel->progs.voipwall_xdp),
			    bpf_program__fd(skel->progs.voipwall_xdp_ip));
	if (err == -ENOTEMPTY || err == -EEXIST) {
		pr_warn("%s exists and holds no complete voipwall state; remove it (voipwall "
			"unload --all removes what voipwall pinned there)\n",
			cli->pin_dir);
		rc = VW_EXIT_FAIL;
	} else if (err) {
		pr_warn("cannot pin the program and maps in %s: %s\n", cli->pin_dir,
			vw_bpf_strerror(err));
		rc = VW_EXIT_FAIL;
	}
out:
	voipwall_bpf__destroy(skel);
	return rc;
}

static void print_loaded(struct vw_cli *cli, const struct target *ts, int n, __u32 prog_id,
			 const struct vw_gen_cfg *gc)
{
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_kv_uint(&cli->jw, "prog_id", prog_id);
		vw_json_kv_str(&cli->jw, "pin_dir", cli->pin_dir);
		vw_json_kv_str(&cli->jw, "config", gc->source);
		vw_json_kv_bool(&cli->jw, "builtin", gc->flags & VW_GEN_BUILTIN);
		vw_json_kv_uint(&cli->jw, "serial", gc->serial);
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
}

/* Which entry point judges t's frames; interfaces of other link types are refused. */
static int check_link_type(const struct vw_cli *cli, struct target *t)
{
	unsigned int type;
	char buf[32];
	int err = vw_link_arphrd(t->name, &type);

	if (err) {
		pr_warn("cannot read the link type of %s: %s\n", t->name, strerror(-err));
		return VW_EXIT_FAIL;
	}
	switch (vw_link_kind(type)) {
	case VW_LINK_ETHER:
		return VW_EXIT_OK;
	case VW_LINK_RAW_IP:
		t->raw_ip = true;
		t->rec.mode |= VW_MODE_RAW_IP;
		if (cli->mode == VW_ATTACH_NATIVE) {
			pr_warn("%s (link type %s) has no link-layer header: voipwall attaches "
				"there in skb mode only, not native\n",
				t->name, vw_link_type_name(type, buf, sizeof(buf)));
			return VW_EXIT_USAGE;
		}
		if (cli->multiprog) {
			pr_warn("%s (link type %s): the libxdp dispatcher is not supported on "
				"interfaces without a link-layer header\n",
				t->name, vw_link_type_name(type, buf, sizeof(buf)));
			return VW_EXIT_USAGE;
		}
		return VW_EXIT_OK;
	default:
		pr_warn("cannot load on %s: link type %s is not supported (voipwall judges "
			"Ethernet interfaces and interfaces without a link-layer header)\n",
			t->name, vw_link_type_name(type, buf, sizeof(buf)));
		return VW_EXIT_USAGE;
	}
}

int cmd_load(struct vw_cli *cli)
{
	struct vw_iface ifs[VW_MAX_IFACES];
	struct vw_config cfg = {};
	struct vw_gen_cfg gc;
	struct target *ts = NULL;
	struct vw_maps m;
	bool fresh = false, ok;
	int lock_fd = -1, prog_fd = -1, prog_ip_fd = -1, rc, err, i, j, attached = 0;
	__u32 gen, prog_id, prog_ip_id = 0;

	vw_maps_init(&m);
	if (cli->argc < 1) {
		pr_warn("load: name at least one interface\n");
		return VW_EXIT_USAGE;
	}
	vw_cli_absolute_config(cli);
	rc = vw_cli_load_config(cli, &cfg);
	if (rc)
		return rc;
	ts = calloc(cli->argc, sizeof(*ts));
	if (!ts) {
		rc = VW_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < cli->argc; i++) {
		ts[i].name = cli->argv[i];
		ts[i].link_fd = -1;
		for (j = 0; j < i; j++) {
			if (!strcmp(ts[j].name, ts[i].name)) {
				pr_warn("interface %s is named twice\n", ts[i].name);
				rc = VW_EXIT_USAGE;
				goto out;
			}
		}
		if (strlen(ts[i].name) >= IF_NAMESIZE) {
			pr_warn("interface name too long: %s\n", ts[i].name);
			rc = VW_EXIT_USAGE;
			goto out;
		}
	}
	rc = vw_cli_need_privs(cli);
	if (rc)
		goto out;
	for (i = 0; i < cli->argc; i++) {
		ts[i].ifindex = if_nametoindex(ts[i].name);
		if (!ts[i].ifindex) {
			pr_warn("interface %s does not exist\n", ts[i].name);
			rc = VW_EXIT_FAIL;
			goto out;
		}
		if (ts[i].ifindex >= VW_MAX_IFINDEX) {
			pr_warn(
			    "interface %s has ifindex %u; voipwall handles ifindexes below %u\n",
			    ts[i].name, ts[i].ifindex, VW_MAX_IFINDEX);
			rc = VW_EXIT_FAIL;
			goto out;
		}
		rc = check_link_type(cli, &ts[i]);
		if (rc)
			goto out;
	}

	lock_fd = vw_cli_lock(cli);
	if (lock_fd < 0) {
		rc = VW_EXIT_FAIL;
		goto out;
	}
	vw_pin_clean_stale(cli->pin_dir);

	fresh = !vw_pin_loaded(cli->pin_dir);
	memset(ifs, 0, sizeof(ifs));
	if (!fresh) {
		rc = vw_cli_open_maps(cli, &m);
		if (rc)
			goto out;
		rc = vw_cli_live_gen(&m, &gen, &gc);
		if (rc)
			goto out;
		err = vw_cli_read_ifaces(&m, ifs);
		if (err) {
			rc = VW_EXIT_FAIL;
			goto out;
		}
		prune_gone(cli, &m, ifs);
		err = vw_config_assign_ids(&cfg, &gc);
	} else {
		err = vw_config_assign_ids(&cfg, NULL);
	}
	if (err) {
		pr_warn("cannot assign class ids: %s\n", strerror(-err));
		rc = VW_EXIT_USAGE;
		goto out;
	}

	/* Refuse before changing anything. */
	for (i = 0; i < cli->argc; i++) {
		struct vw_xdp_occupant occ;

		for (j = 0; j < VW_MAX_IFACES; j++) {
			if (ifs[j].ifindex == ts[i].ifindex) {
				pr_warn(
				    "%s is already loaded (link id %u); use 'voipwall reload' to "
				    "change the config, 'voipwall unload %s' to detach\n",
				    ts[i].name, ifs[j].link_id, ts[i].name);
				rc = VW_EXIT_FAIL;
				goto out;
			}
		}
		err = vw_xdp_inspect(ts[i].ifindex, &occ);
		if (err && err != -EOPNOTSUPP) {
			pr_warn("cannot query XDP on %s: %s\n", ts[i].name, vw_bpf_strerror(err));
			rc = VW_EXIT_FAIL;
			goto out;
		}
		if (!err && occ.present && !occ.dispatcher) {
			pr_warn(
			    "%s already runs another XDP program, '%s' (id %u), attached without the "
			    "libxdp dispatcher; detach it first (e.g. ip link set dev %s xdp off), or "
			    "attach it through libxdp (xdp-loader) to share the interface\n",
			    ts[i].name, occ.name, occ.prog_id, ts[i].name);
			rc = VW_EXIT_FAIL;
			goto out;
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
			rc = VW_EXIT_FAIL;
			goto out;
		}
		ts[i].slot = j++;
	}
	rc = vw_cli_lockout_check(cli, &cfg);
	if (rc)
		goto out;

	if (fresh) {
		rc = create_state(cli, &cfg);
		if (rc)
			goto out;
		rc = vw_cli_open_maps(cli, &m);
		if (rc)
			goto out_remove;
	}
	prog_fd = vw_pin_open_prog(cli->pin_dir);
	if (prog_fd < 0) {
		pr_warn("cannot open the pinned program in %s: %s\n", cli->pin_dir,
			vw_bpf_strerror(prog_fd));
		rc = VW_EXIT_FAIL;
		goto out_remove;
	}
	prog_id = prog_id_of(prog_fd);
	for (i = 0; i < cli->argc && prog_ip_fd < 0; i++) {
		if (!ts[i].raw_ip)
			continue;
		prog_ip_fd = vw_pin_open_prog_named(cli->pin_dir, VW_PIN_PROG_IP);
		if (prog_ip_fd < 0) {
			pr_warn("cannot open the pinned raw-IP program in %s: %s (state pinned by "
				"an older voipwall: unload --all, then load again)\n",
				cli->pin_dir, vw_bpf_strerror(prog_ip_fd));
			rc = VW_EXIT_FAIL;
			goto out_remove;
		}
		prog_ip_id = prog_id_of(prog_ip_fd);
	}

	for (i = 0; i < cli->argc; i++) {
		struct target *t = &ts[i];

		t->rec.ifindex = t->ifindex;
		t->rec.prog_id = t->raw_ip ? prog_ip_id : prog_id;
		t->rec.attached_realtime_ns = now_realtime_ns();
		snprintf(t->rec.name, sizeof(t->rec.name), "%s", t->name);
		err = register_iface(&m, t);
		if (err) {
			pr_warn("cannot register %s: %s\n", t->name, vw_bpf_strerror(err));
			break;
		}
		if (t->multi) {
			err = vw_xdp_multi_attach(&m, t->ifindex, t->name, cli->mode, &t->rec.prog_id,
						  &t->rec.mode);
			if (err) {
				unregister_iface(&m, t->slot, t->ifindex);
				break;
			}
			bpf_map_update_elem(m.ifaces, &(__u32){t->slot}, &t->rec, BPF_ANY);
			attached++;
			continue;
		}
		t->link_fd = attach(cli, t->raw_ip ? prog_ip_fd : prog_fd, t);
		if (t->link_fd < 0) {
			unregister_iface(&m, t->slot, t->ifindex);
			break;
		}
		if (t->raw_ip)
			t->rec.mode |= VW_MODE_RAW_IP;
		err = vw_pin_link(cli->pin_dir, t->ifindex, t->link_fd);
		if (err) {
			pr_warn("cannot pin the link of %s: %s\n", t->name, vw_bpf_strerror(err));
			close(t->link_fd);
			t->link_fd = -1;
			unregister_iface(&m, t->slot, t->ifindex);
			break;
		}
		t->rec.link_id = link_id_of(t->link_fd);
		bpf_map_update_elem(m.ifaces, &(__u32){t->slot}, &t->rec, BPF_ANY);
		attached++;
	}
	/* a later load applies the config once every interface is attached, so that a failure
	 * leaves the running config as it was */
	ok = attached == cli->argc;
	if (ok && !fresh && vw_cli_apply(cli, &m, &cfg, NULL, NULL))
		ok = false;
	if (!ok) {
		/* all or nothing: detach what this command attached */
		for (i = 0; i < attached; i++) {
			vw_iface_detach(cli->pin_dir, &ts[i].rec);
			if (ts[i].link_fd >= 0)
				close(ts[i].link_fd);
			ts[i].link_fd = -1;
			unregister_iface(&m, ts[i].slot, ts[i].ifindex);
			clear_slot_counters(&m, ts[i].slot);
			fprintf(stderr, "voipwall: detached %s again\n", ts[i].name);
		}
		rc = VW_EXIT_FAIL;
		goto out_remove;
	}
	if (vw_cli_config_blocks(&m, &cfg)) {
		rc = VW_EXIT_FAIL;
		goto out;
	}
	if (vw_cli_live_gen(&m, &gen, &gc) == 0)
		print_loaded(cli, ts, attached, prog_id, &gc);
	rc = VW_EXIT_OK;
	goto out;

out_remove:
	/* a first load that attached nothing leaves nothing behind */
	if (fresh) {
		vw_maps_close(&m);
		if (prog_fd >= 0)
			close(prog_fd);
		if (prog_ip_fd >= 0)
			close(prog_ip_fd);
		prog_fd = prog_ip_fd = -1;
		vw_pin_remove_all(cli->pin_dir);
	}
out:
	if (ts)
		for (i = 0; i < cli->argc; i++)
			if (ts[i].link_fd >= 0)
				close(ts[i].link_fd);
	if (prog_fd >= 0)
		close(prog_fd);
	if (prog_ip_fd >= 0)
		close(prog_ip_fd);
	vw_maps_close(&m);
	vw_pin_unlock(cli->pin_dir, lock_fd);
	vw_config_free(&cfg);
	free(ts);
	return rc;
}

int cmd_unload(struct vw_cli *cli)
{
	struct vw_iface ifs[VW_MAX_IFACES];
	bool pick[VW_MAX_IFACES] = {};
	struct vw_maps m;
	int lock_fd = -1, rc, i, j, left = 0, err;

	vw_maps_init(&m);
	if (cli->all == (cli->argc > 0)) {
		pr_warn("unload: name the interfaces, or give --all\n");
		return VW_EXIT_USAGE;
	}
	rc = vw_cli_need_privs(cli);
	if (rc)
		return rc;
	lock_fd = vw_cli_lock(cli);
	if (lock_fd < 0)
		return VW_EXIT_FAIL;
	if (!vw_pin_loaded(cli->pin_dir) && cli->all) {
		/* nothing to detach; remove what a crashed load may have left */
		vw_pin_clean_stale(cli->pin_dir);
		if (access(cli->pin_dir, F_OK) == 0 && vw_pin_remove_all(cli->pin_dir)) {
			rc = VW_EXIT_FAIL;
			goto out;
		}
		pr_warn("voipwall is not loaded (nothing pinned in %s)\n", cli->pin_dir);
		rc = VW_EXIT_FAIL;
		goto out;
	}
	err = vw_maps_open_pinned(cli->pin_dir, &m);
	if (err == -EBADF && cli->all) {
		/* damaged (maps missing): removing every pin detaches every link */
		fprintf(stderr, "voipwall: %s is incomplete; removing all of it\n", cli->pin_dir);
		rc = vw_pin_remove_all(cli->pin_dir) ? VW_EXIT_FAIL : VW_EXIT_OK;
		if (!rc && !cli->json)
			printf("removed the pinned state in %s\n", cli->pin_dir);
		goto out;
	}
	vw_maps_close(&m);
	rc = vw_cli_open_maps(cli, &m);
	if (rc)
		goto out;
	if (vw_cli_read_ifaces(&m, ifs)) {
		rc = VW_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < cli->argc; i++) {
		unsigned int ifindex = if_nametoindex(cli->argv[i]);

		for (j = 0; j < VW_MAX_IFACES; j++) {
			if (!ifs[j].ifindex)
				continue;
			/* by ifindex, or by name when the interface is gone */
			if (ifindex ? ifs[j].ifindex == ifindex
				    : !strncmp(ifs[j].name, cli->argv[i], VW_IFNAME_MAX))
				break;
		}
		if (j == VW_MAX_IFACES) {
			if (!ifindex)
				pr_warn("interface %s does not exist\n", cli->argv[i]);
			else
				pr_warn("%s is not loaded\n", cli->argv[i]);
			rc = VW_EXIT_FAIL;
			goto out;
		}
		pick[j] = true;
	}
	if (cli->json) {
		vw_json_obj_begin(&cli->jw);
		vw_json_key(&cli->jw, "unloaded");
		vw_json_arr_begin(&cli->jw);
	}
	for (j = 0; j < VW_MAX_IFACES; j++) {
		if (!ifs[j].ifindex)
			continue;
		if (!cli->all && !pick[j]) {
			left++;
			continue;
		}
		err = vw_iface_detach(cli->pin_dir, &ifs[j]);
		if (err && err != -ENOENT) {
			pr_warn("cannot detach %s: %s\n", ifs[j].name, strerror(-err));
			rc = VW_EXIT_FAIL;
			left++;
			continue;
		}
		unregister_iface(&m, j, ifs[j].ifindex);
		clear_slot_counters(&m, j);
		if (cli->json)
			vw_json_str(&cli->jw, ifs[j].name);
		else
			printf("unloaded %s\n", ifs[j].name);
	}
	vw_maps_close(&m);
	if (!left && !rc) {
		if (vw_pin_remove_all(cli->pin_dir))
			rc = VW_EXIT_FAIL;
		else if (!cli->json)
			printf("removed the pinned state in %s\n", cli->pin_dir);
	}
	if (cli->json) {
		vw_json_arr_end(&cli->jw);
		vw_json_kv_bool(&cli->jw, "removed_pin_dir", !left && !rc);
		if (rc)
			vw_json_kv_str(&cli->jw, "error", vw_log_errors());
		vw_json_obj_end(&cli->jw);
		cli->json_done = true;
	}
out:
	vw_maps_close(&m);
	vw_pin_unlock(cli->pin_dir, lock_fd);
	return rc;
}
