// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The pinned state: lock, open or create, apply, attach and detach, remove (see state.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "keep.h"
#include "log.h"
#include "pin.h"
#include "state.h"
#include "xdp_multi.h"
#include "voipwall.skel.h"

void vw_state_init(struct vw_state *st, const struct vw_cli *cli)
{
	memset(st, 0, sizeof(*st));
	st->cli = cli;
	st->lock_fd = st->prog_fd = st->prog_ip_fd = -1;
	vw_maps_init(&st->maps);
	vw_maps_init(&st->kept);
}

int vw_state_lock(struct vw_state *st)
{
	int err = vw_cli_need_privs(st->cli);

	if (err)
		return err;
	st->lock_fd = vw_pin_lock(st->cli->pin_dir, st->cli->wait_secs);
	if (st->lock_fd < 0)
		return st->lock_fd;
	vw_pin_clean_stale(st->cli->pin_dir);
	return 0;
}

bool vw_state_loaded(const struct vw_state *st)
{
	return vw_pin_loaded(st->cli->pin_dir);
}

int vw_state_open(struct vw_state *st)
{
	int err = vw_cli_open_maps(st->cli, &st->maps);

	return err ? err : vw_cli_live_gen(&st->maps, &st->gen, &st->live);
}

/* The skeleton opened, its KEPT maps being kept's (when given): the program then uses them. */
static struct voipwall_bpf *open_reusing(const struct vw_maps *kept)
{
	struct voipwall_bpf *skel = voipwall_bpf__open();
	int err = 0;

	for (unsigned int i = 0; skel && kept && i < VW_NUM_MAPS && !err; i++) {
		struct bpf_map *map;

		if (!vw_map_descs[i].kept)
			continue;
		map = bpf_object__find_map_by_name(skel->obj, vw_map_descs[i].name);
		err = map ? bpf_map__reuse_fd(map, *vw_maps_fd((struct vw_maps *)kept, i)) : -ENOENT;
		if (err)
			pr_warn("cannot reuse the kept map %s: %s\n", vw_map_descs[i].name,
				strerror(-err));
	}
	if (err) {
		voipwall_bpf__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

/* Open and load the skeleton (reusing the kept maps, when given); when the kernel refuses the
 * multi-buffer (xdp.frags) program, load it again without BPF_F_XDP_HAS_FRAGS. */
static int open_skel(struct voipwall_bpf **out, const struct vw_maps *kept)
{
	struct voipwall_bpf *skel;
	__u32 flags;
	int err;

	skel = open_reusing(kept);
	if (!skel)
		return -errno;
	flags = bpf_program__flags(skel->progs.voipwall_xdp);
	err = voipwall_bpf__load(skel);
	if (err && (flags & BPF_F_XDP_HAS_FRAGS) && err != -EPERM) {
		voipwall_bpf__destroy(skel);
		skel = open_reusing(kept);
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

/* Load the program (with the kept block sets, when given), build cfg into it, pin everything
 * atomically. */
static int create_pinned(const struct vw_cli *cli, const struct vw_config *cfg,
			 const struct vw_maps *kept)
{
	struct voipwall_bpf *skel = NULL;
	struct vw_maps m;
	int err;

	err = vw_pin_ensure_bpffs(cli->pin_dir, cli->pin_dir_default);
	if (err)
		return err;
	err = open_skel(&skel, kept);
	if (err) {
		pr_warn("cannot load the XDP program: %s\n", vw_bpf_strerror(err));
		return err;
	}
	err = vw_maps_from_obj(skel->obj, &m);
	if (!err)
		err = vw_cli_apply(cli, &m, cfg, NULL, NULL);
	/* before anything is attached: the first packet already meets the kept sets */
	if (!err && kept) {
		err = vw_keep_activate(&m);
		if (err)
			pr_warn("cannot turn the kept block sets on: %s\n", vw_bpf_strerror(err));
	}
	if (err)
		goto out;
	err = vw_pin_create(cli->pin_dir, &m, bpf_program__fd(skel->progs.voipwall_xdp),
			    bpf_program__fd(skel->progs.voipwall_xdp_ip), kept != NULL);
	if (err == -ENOTEMPTY || err == -EEXIST)
		pr_warn("%s exists and holds no complete voipwall state; remove it (voipwall "
			"unload --all removes what voipwall pinned there)\n",
			cli->pin_dir);
	else if (err)
		pr_warn("cannot pin the program and maps in %s: %s\n", cli->pin_dir,
			vw_bpf_strerror(err));
out:
	voipwall_bpf__destroy(skel);
	return err;
}

int vw_state_open_kept(struct vw_state *st)
{
	int err = vw_keep_open(st->cli->pin_dir, &st->kept);

	st->has_kept = !err;
	return err == -ENOENT ? 0 : err;
}

int vw_state_create(struct vw_state *st, const struct vw_config *cfg)
{
	int err = create_pinned(st->cli, cfg, st->has_kept ? &st->kept : NULL);

	if (err)
		return err;
	st->created = true;
	err = vw_state_open(st);
	if (err)
		vw_state_remove(st, st->has_kept);
	return err;
}

static __u32 prog_id_of(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static __u32 link_id_of(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

int vw_state_open_progs(struct vw_state *st, bool raw_ip)
{
	const char *dir = st->cli->pin_dir;

	st->prog_fd = vw_pin_open_prog(dir);
	if (st->prog_fd < 0) {
		pr_warn("cannot open the pinned program in %s: %s\n", dir,
			vw_bpf_strerror(st->prog_fd));
		return st->prog_fd;
	}
	st->prog_id = prog_id_of(st->prog_fd);
	if (!raw_ip)
		return 0;
	st->prog_ip_fd = vw_pin_open_prog_named(dir, VW_PIN_PROG_IP);
	if (st->prog_ip_fd < 0) {
		pr_warn("cannot open the pinned raw-IP program in %s: %s (state pinned by an older "
			"voipwall: unload --all, then load again)\n",
			dir, vw_bpf_strerror(st->prog_ip_fd));
		return st->prog_ip_fd;
	}
	st->prog_ip_id = prog_id_of(st->prog_ip_fd);
	return 0;
}

int vw_state_apply(struct vw_state *st, const struct vw_config *cfg)
{
	return vw_cli_apply(st->cli, &st->maps, cfg, &st->gen, &st->live);
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

static int register_iface(const struct vw_maps *m, __u32 slot, const struct vw_iface *rec)
{
	__u32 v = slot + 1, idx = rec->ifindex;

	clear_slot_counters(m, slot);
	if (bpf_map_update_elem(m->ifaces, &slot, rec, BPF_ANY) ||
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

int vw_state_read_ifaces(struct vw_state *st, struct vw_iface *ifs, bool prune)
{
	int err = vw_cli_read_ifaces(&st->maps, ifs);

	for (__u32 j = 0; !err && prune && j < VW_MAX_IFACES; j++) {
		if (!ifs[j].ifindex || vw_iface_attached(st->cli->pin_dir, &ifs[j]) != 0)
			continue;
		fprintf(stderr,
			"voipwall: %.*s (ifindex %u) is no longer attached (interface "
			"removed?); forgetting it\n",
			VW_IFNAME_MAX, ifs[j].name, ifs[j].ifindex);
		vw_iface_detach(st->cli->pin_dir, &ifs[j]);
		unregister_iface(&st->maps, j, ifs[j].ifindex);
		memset(&ifs[j], 0, sizeof(ifs[j]));
	}
	return err;
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

/* Attach prog_fd in the mode asked for (or native, falling back to skb); returns the link fd
 * and sets rec->mode. */
static int attach_link(enum vw_attach_mode want, int prog_fd, bool raw_ip, struct vw_iface *rec)
{
	const char *name = rec->name;
	int fd;

	/* Interfaces without a link-layer header attach in skb (generic) mode only: a tun device
	 * accepts a native program but runs it only for frames on its IFF_TAP path, never for the
	 * IP packets written to an IFF_TUN device, which would pass unjudged. */
	if (want != VW_ATTACH_SKB && !raw_ip) {
		fd = link_create(prog_fd, rec->ifindex, XDP_FLAGS_DRV_MODE);
		if (fd >= 0) {
			rec->mode = VW_MODE_NATIVE;
			return fd;
		}
		if (want == VW_ATTACH_NATIVE) {
			pr_warn("cannot attach to %s in native mode: %s\n", name,
				attach_strerror(fd));
			return fd;
		}
		fprintf(stderr, "voipwall: %s: native XDP failed (%s), falling back to skb mode\n",
			name, attach_strerror(fd));
	}
	fd = link_create(prog_fd, rec->ifindex, XDP_FLAGS_SKB_MODE);
	if (fd < 0) {
		if (fd == -EINVAL || fd == -EOPNOTSUPP)
			pr_warn("cannot attach to %s: this kernel has no XDP support (%s)\n", name,
				strerror(-fd));
		else
			pr_warn("cannot attach to %s in skb mode: %s\n", name, attach_strerror(fd));
		return fd;
	}
	rec->mode = VW_MODE_SKB;
	return fd;
}

/* Attach directly, through a link pinned as DIR/link_<ifindex>. */
static int attach_pinned_link(struct vw_state *st, struct vw_iface *rec, bool raw_ip)
{
	int link_fd, err;

	link_fd = attach_link(st->cli->mode, raw_ip ? st->prog_ip_fd : st->prog_fd, raw_ip, rec);
	if (link_fd < 0)
		return link_fd;
	if (raw_ip)
		rec->mode |= VW_MODE_RAW_IP;
	err = vw_pin_link(st->cli->pin_dir, rec->ifindex, link_fd);
	if (err)
		pr_warn("cannot pin the link of %s: %s\n", rec->name, vw_bpf_strerror(err));
	else
		rec->link_id = link_id_of(link_fd);
	/* the pin holds the link from here on */
	close(link_fd);
	return err;
}

static __u64 now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int vw_state_attach(struct vw_state *st, unsigned int slot, struct vw_iface *rec, bool multi,
		    bool raw_ip)
{
	const struct vw_maps *m = &st->maps;
	int err;

	rec->prog_id = raw_ip ? st->prog_ip_id : st->prog_id;
	rec->attached_realtime_ns = now_realtime_ns();
	err = register_iface(m, slot, rec);
	if (err) {
		pr_warn("cannot register %s: %s\n", rec->name, vw_bpf_strerror(err));
		return err;
	}
	if (multi)
		err = vw_xdp_multi_attach(m, rec->ifindex, rec->name, st->cli->mode, &rec->prog_id,
					  &rec->mode);
	else
		err = attach_pinned_link(st, rec, raw_ip);
	if (err) {
		/* a link pinned and not recorded: its pin goes with the detach */
		unregister_iface(m, slot, rec->ifindex);
		return err;
	}
	/* the record with what the attach found: mode, link and program ids */
	if (bpf_map_update_elem(m->ifaces, &slot, rec, BPF_ANY)) {
		err = -errno;
		pr_warn("cannot record %s in vw_ifaces: %s\n", rec->name, vw_bpf_strerror(err));
		vw_iface_detach(st->cli->pin_dir, rec);
		unregister_iface(m, slot, rec->ifindex);
		return err;
	}
	return 0;
}

int vw_state_detach(struct vw_state *st, unsigned int slot, const struct vw_iface *rec, bool forget)
{
	int err = vw_iface_detach(st->cli->pin_dir, rec);

	if (err && err != -ENOENT && !forget)
		return err;
	unregister_iface(&st->maps, slot, rec->ifindex);
	clear_slot_counters(&st->maps, slot);
	return err;
}

static void close_fds(struct vw_state *st)
{
	vw_maps_close(&st->maps);
	vw_maps_close(&st->kept);
	if (st->prog_fd >= 0)
		close(st->prog_fd);
	if (st->prog_ip_fd >= 0)
		close(st->prog_ip_fd);
	st->prog_fd = st->prog_ip_fd = -1;
}

int vw_state_remove(struct vw_state *st, bool keep)
{
	close_fds(st);
	return keep ? vw_pin_remove_keep(st->cli->pin_dir) : vw_pin_remove_all(st->cli->pin_dir);
}

void vw_state_close(struct vw_state *st)
{
	close_fds(st);
	vw_pin_unlock(st->cli->pin_dir, st->lock_fd);
	st->lock_fd = -1;
}
