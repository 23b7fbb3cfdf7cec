/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Sharing an interface with other XDP programs through libxdp's dispatcher (multi-program XDP):
 * voipwall runs as one component, with its own run priority, and the dispatcher calls the next
 * component when voipwall passes a packet. The component shares the pinned maps, so config,
 * reload and counters work as with a direct attach. libxdp pins the dispatcher and its
 * components under $LIBXDP_BPFFS (default /sys/fs/bpf)/xdp/dispatch-IFINDEX-ID/. */
#ifndef VW_XDP_MULTI_H
#define VW_XDP_MULTI_H

#include <stdbool.h>
#include "tables.h"

/* Run priority in the dispatcher (lower runs first; libxdp's default is 50). After early
 * scrubbers such as xdp-filter (10), before forwarders and counters that keep the default. */
#define VW_XDP_RUN_PRIO 30

/* What runs on an interface. */
struct vw_xdp_occupant {
	bool present;    /* an XDP program is attached (native or skb) */
	bool dispatcher; /* it is libxdp's dispatcher */
	bool frags;      /* the dispatcher runs with multi-buffer (frags) support */
	unsigned int mode; /* VW_MODE_NATIVE or VW_MODE_SKB */
	__u32 prog_id;     /* the program (the dispatcher itself when dispatcher) */
	char name[64];     /* its name; with dispatcher, the names of its components */
};

/* Fill o for ifindex. 0 or -errno. */
int vw_xdp_inspect(unsigned int ifindex, struct vw_xdp_occupant *o);
/* Load the voipwall program as a dispatcher component using the maps of m, and add it to the
 * dispatcher on ifindex (creating the dispatcher when none runs there). want is VW_MODE_NATIVE,
 * VW_MODE_SKB, or 0 (the running dispatcher's mode; else native, falling back to skb). Sets the
 * component's *prog_id and the *mode it runs in (with VW_MODE_MULTIPROG). 0 or -errno after
 * saying why. */
int vw_xdp_multi_attach(const struct vw_maps *m, unsigned int ifindex, const char *ifname,
			unsigned int want, __u32 *prog_id, __u32 *mode);
/* Remove component prog_id from the dispatcher on ifindex (the dispatcher goes when it was the
 * last component). -ENOENT when it is not there. */
int vw_xdp_multi_detach(unsigned int ifindex, __u32 prog_id);
/* Whether an interface of the registry still runs voipwall: its pinned link (direct), or its
 * component in the dispatcher. 1, 0, or -errno. */
int vw_iface_attached(const char *pin_dir, const struct vw_iface *ifc);
/* Detach an interface of the registry, either way. 0, -ENOENT (not attached), or -errno. */
int vw_iface_detach(const char *pin_dir, const struct vw_iface *ifc);

#endif
