/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Interface link types: which entry point of the XDP program judges an interface's frames, and the
 * interfaces that are up but not protected (status).
 */
#ifndef VW_LINK_H
#define VW_LINK_H

#include <stdbool.h>

enum vw_link_kind {
	VW_LINK_ETHER,	     /* Ethernet header first: voipwall_xdp */
	VW_LINK_RAW_IP,	     /* no link-layer header, IP first: voipwall_xdp_ip */
	VW_LINK_UNSUPPORTED, /* anything else (loopback, ...): refused */
};

/* The ARPHRD_* type of interface ifname (from /sys/class/net/IFNAME/type). 0 or -errno. */
int vw_link_arphrd(const char *ifname, unsigned int *type);
enum vw_link_kind vw_link_kind(unsigned int type);
/* "ether", "none", "ppp", "ipip", "loopback", ... or "type N" (into buf). */
const char *vw_link_type_name(unsigned int type, char *buf, unsigned long len);
/* The link type name of attached interface ifname as the kernel reports it now; when it cannot be
 * read (the interface is gone, or lives in another network namespace), what voipwall attached:
 * "raw-ip" (raw_ip: the program without a link-layer header) or "ether". */
const char *vw_iface_link_type(const char *ifname, bool raw_ip, char *buf, unsigned long len);

/* Calls fn for every interface that is up and not in skip (ifindexes, n of them), with its name,
 * link type name and its addresses (comma-separated, "" when none). */
void vw_link_each_unprotected(const unsigned int *skip, int n,
			      void (*fn)(const char *name, const char *type, const char *addrs,
					 void *arg),
			      void *arg);

#endif
