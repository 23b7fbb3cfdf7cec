// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Sharing an interface through libxdp's dispatcher. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "cli.h"
#include "log.h"
#include "pin.h"
#include "xdp_multi.h"
#include "voipwall.skel.h"

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list args)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, args);
	pr_debug("libxdp: %s", buf);
	return 0;
}

/* libxdp's messages go to pr_debug (-v); called by every entry point below */
static void quiet_libxdp(void)
{
	static bool done;

	if (!done)
		libxdp_set_print(libxdp_print);
	done = true;
}

static unsigned int mode_of(enum xdp_attach_mode m)
{
	return m == XDP_MODE_SKB ? VW_MODE_SKB : VW_MODE_NATIVE;
}

int vw_xdp_inspect(unsigned int ifindex, struct vw_xdp_occupant *o)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	size_t used = 0;
	long err;

	quiet_libxdp();
	memset(o, 0, sizeof(*o));
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(mp);
	if (err == -ENOENT || !mp)
		return 0; /* nothing attached */
	if (err)
		return (int)err;
	p = xdp_multiprog__main_prog(mp);
	if (!p) {
		xdp_multiprog__close(mp);
		return 0; /* only a hardware-offloaded program, which does not see our packets */
	}
	o->present = true;
	o->dispatcher = !xdp_multiprog__is_legacy(mp);
	o->mode = mode_of(xdp_multiprog__attach_mode(mp));
	o->prog_id = xdp_program__id(p);
	if (!o->dispatcher) {
		snprintf(o->name, sizeof(o->name), "%s", xdp_program__name(p));
	} else {
		o->frags = xdp_multiprog__xdp_frags_support(mp);
		for (p = xdp_multiprog__next_prog(NULL, mp); p && used < sizeof(o->name);
		     p = xdp_multiprog__next_prog(p, mp)) {
			int n = snprintf(o->name + used, sizeof(o->name) - used, "%s%s",
					 used ? "," : "", xdp_program__name(p));
			if (n < 0)
				break;
			used += (size_t)n;
		}
	}
	xdp_multiprog__close(mp);
	return 0;
}

/* Whether the dispatcher on ifindex runs component prog_id. */
static int dispatcher_runs(unsigned int ifindex, __u32 prog_id)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;
	int found = 0;
	long err;

	quiet_libxdp();
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(mp);
	if (err == -ENOENT || !mp)
		return 0;
	if (err)
		return (int)err;
	if (!xdp_multiprog__is_legacy(mp))
		while (!found && (p = xdp_multiprog__next_prog(p, mp)))
			found = xdp_program__id(p) == prog_id;
	xdp_multiprog__close(mp);
	return found;
}

/* The voipwall program of a fresh skeleton, its maps being m's (the pinned ones). */
static int component(const struct vw_maps *m, struct voipwall_bpf **skel_out,
		     struct xdp_program **prog_out)
{
	struct voipwall_bpf *skel = voipwall_bpf__open();
	struct xdp_program *prog;
	struct bpf_program *p;
	int err;

	if (!skel)
		return -errno;
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, .obj = skel->obj,
			    .prog_name = bpf_program__name(skel->progs.voipwall_xdp));
	for (unsigned int i = 0; i < VW_NUM_MAPS; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, vw_map_descs[i].name);

		err = map ? bpf_map__reuse_fd(map, *vw_maps_fd((struct vw_maps *)m, i)) : -ENOENT;
		if (err) {
			pr_warn("cannot share map %s with the dispatcher component: %s\n",
				vw_map_descs[i].name, strerror(-err));
			goto fail;
		}
	}
	/* by name: the object may hold other entry points, which stay unloaded */
	bpf_object__for_each_program(p, skel->obj)
		if (p != skel->progs.voipwall_xdp)
			bpf_program__set_autoload(p, false);
	prog = xdp_program__create(&xopts);
	err = (int)libxdp_get_error(prog);
	if (err)
		goto fail;
	xdp_program__set_run_prio(prog, VW_XDP_RUN_PRIO);
	for (unsigned int a = XDP_ABORTED; a <= XDP_REDIRECT; a++)
		xdp_program__set_chain_call_enabled(prog, a, a == XDP_PASS);
	*skel_out = skel;
	*prog_out = prog;
	return 0;
fail:
	voipwall_bpf__destroy(skel);
	return err;
}

static int attach_in(const struct vw_maps *m, unsigned int ifindex, enum xdp_attach_mode xmode,
		     __u32 *prog_id)
{
	struct voipwall_bpf *skel = NULL;
	struct xdp_program *prog = NULL;
	int err = component(m, &skel, &prog);

	if (err)
		return err;
	err = xdp_program__attach(prog, ifindex, xmode, 0);
	if (!err) {
		*prog_id = xdp_program__id(prog);
		/* libxdp falls back to a direct attach when the kernel cannot run a dispatcher:
		 * that is not sharing, and its unload would not find us */
		if (dispatcher_runs(ifindex, *prog_id) != 1) {
			xdp_program__detach(prog, ifindex, xmode, 0);
			err = -EOPNOTSUPP;
		}
	}
	xdp_program__close(prog);
	voipwall_bpf__destroy(skel);
	return err;
}

int vw_xdp_multi_attach(const struct vw_maps *m, unsigned int ifindex, const char *ifname,
			unsigned int want, __u32 *prog_id, __u32 *mode)
{
	struct vw_xdp_occupant o;
	enum xdp_attach_mode xmode;
	int err = vw_xdp_inspect(ifindex, &o);

	if (err) {
		pr_warn("cannot query XDP on %s: %s\n", ifname, vw_bpf_strerror(err));
		return err;
	}
	if (o.present && !o.dispatcher) {
		pr_warn("%s runs XDP program '%s' (id %u) without the libxdp dispatcher\n", ifname,
			o.name, o.prog_id);
		return -EBUSY;
	}
	if (o.present && want && want != o.mode) {
		pr_warn("the libxdp dispatcher on %s runs in %s mode; voipwall can join it in that "
			"mode only (--mode %s or auto)\n",
			ifname, vw_mode_name(o.mode), vw_mode_name(o.mode));
		return -EINVAL;
	}
	if (o.present)
		want = o.mode;
	xmode = want == VW_MODE_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	err = attach_in(m, ifindex, xmode, prog_id);
	if (err && !want && !o.present) {
		fprintf(stderr,
			"voipwall: %s: native XDP through the dispatcher failed (%s), falling back "
			"to skb mode\n",
			ifname, strerror(-err));
		xmode = XDP_MODE_SKB;
		err = attach_in(m, ifindex, xmode, prog_id);
	}
	if (err == -EOPNOTSUPP) {
		pr_warn("cannot attach to %s through the libxdp dispatcher: this kernel or libxdp "
			"cannot run it (see 'xdp-loader features')\n",
			ifname);
		return err;
	}
	if (err) {
		pr_warn("cannot attach to %s through the libxdp dispatcher: %s (is $LIBXDP_BPFFS, "
			"default " VW_BPFFS_ROOT ", a mounted bpffs?)\n",
			ifname, strerror(-err));
		return err;
	}
	*mode = mode_of(xmode) | VW_MODE_MULTIPROG;
	/* voipwall declares multi-buffer support (xdp.frags); libxdp loads components without
	 * the flag and gives it to the dispatcher only when every component declares it */
	if (!vw_xdp_inspect(ifindex, &o) && o.dispatcher && !o.frags)
		fprintf(stderr,
			"voipwall: %s: the libxdp dispatcher runs without multi-buffer (frags) "
			"support, as not every program in it (%s) declares it: frames larger "
			"than a page (jumbo MTU) cannot be handled there\n",
			ifname, o.name);
	return 0;
}

int vw_xdp_multi_detach(unsigned int ifindex, __u32 prog_id)
{
	struct xdp_program *prog;
	int err;

	if (dispatcher_runs(ifindex, prog_id) != 1)
		return -ENOENT;
	prog = xdp_program__from_id(prog_id);
	err = (int)libxdp_get_error(prog);
	if (err)
		return err;
	err = xdp_program__detach(prog, ifindex, XDP_MODE_UNSPEC, 0);
	xdp_program__close(prog);
	return err;
}

int vw_iface_attached(const char *pin_dir, const struct vw_iface *ifc)
{
	if (ifc->mode & VW_MODE_MULTIPROG)
		return dispatcher_runs(ifc->ifindex, ifc->prog_id);
	return vw_pin_link_attached(pin_dir, ifc->ifindex);
}

int vw_iface_detach(const char *pin_dir, const struct vw_iface *ifc)
{
	if (ifc->mode & VW_MODE_MULTIPROG)
		return vw_xdp_multi_detach(ifc->ifindex, ifc->prog_id);
	return vw_pin_unlink_link(pin_dir, ifc->ifindex);
}
