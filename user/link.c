// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Interface link types and the list of interfaces up but not protected. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_arp.h>
#include "link.h"

int vw_link_arphrd(const char *ifname, unsigned int *type)
{
	char path[128];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/type", ifname);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fscanf(f, "%u", type);
	fclose(f);
	return n == 1 ? 0 : -EINVAL;
}

/* Ethernet: veth, bridge, macvlan, vxlan, bond, tap, wireless. No link-layer header: the kernel
 * hands XDP the IP header first (tun in IFF_TUN mode and WireGuard are ARPHRD_NONE, ppp is
 * ARPHRD_PPP, ipip/gre/sit/ip6tnl/ip6gre the tunnel types, rmnet/qmi ARPHRD_RAWIP). */
enum vw_link_kind vw_link_kind(unsigned int type)
{
	switch (type) {
	case ARPHRD_ETHER:
		return VW_LINK_ETHER;
	case ARPHRD_NONE:
	case ARPHRD_PPP:
	case ARPHRD_RAWIP:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
		return VW_LINK_RAW_IP;
	default:
		return VW_LINK_UNSUPPORTED;
	}
}

const char *vw_link_type_name(unsigned int type, char *buf, unsigned long len)
{
	static const struct {
		unsigned int type;
		const char *name;
	} names[] = {
	    {ARPHRD_ETHER, "ether"},	 {ARPHRD_NONE, "none"},	    {ARPHRD_PPP, "ppp"},
	    {ARPHRD_RAWIP, "rawip"},	 {ARPHRD_TUNNEL, "ipip"},   {ARPHRD_TUNNEL6, "ip6tnl"},
	    {ARPHRD_SIT, "sit"},	 {ARPHRD_IPGRE, "gre"},	    {ARPHRD_IP6GRE, "ip6gre"},
	    {ARPHRD_LOOPBACK, "loopback"}, {ARPHRD_INFINIBAND, "infiniband"},
	    {ARPHRD_CAN, "can"},	 {ARPHRD_IEEE80211_RADIOTAP, "radiotap"},
	};

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(buf, len, "type %u", type);
	return buf;
}

const char *vw_iface_link_type(const char *ifname, bool raw_ip, char *buf, unsigned long len)
{
	unsigned int type;

	if (vw_link_arphrd(ifname, &type))
		return raw_ip ? "raw-ip" : "ether";
	return vw_link_type_name(type, buf, len);
}

static void append_addr(char *out, size_t len, const struct sockaddr *sa)
{
	char a[INET6_ADDRSTRLEN];
	const void *p = sa->sa_family == AF_INET
			    ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
			    : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	size_t used = strlen(out);

	if (!inet_ntop(sa->sa_family, p, a, sizeof(a)))
		return;
	snprintf(out + used, len - used, "%s%s", used ? "," : "", a);
}

void vw_link_each_unprotected(const unsigned int *skip, int n,
			      void (*fn)(const char *name, const char *type, const char *addrs,
					 void *arg),
			      void *arg)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	struct ifaddrs *addrs = NULL, *a;

	if (!ifs)
		return;
	getifaddrs(&addrs);
	for (i = ifs; i->if_index; i++) {
		char list[512] = "", tbuf[32];
		unsigned int type = 0, flags = 0;
		bool up = false, skipped = false;

		for (int k = 0; k < n; k++)
			skipped |= skip[k] == i->if_index;
		for (a = addrs; a; a = a->ifa_next) {
			if (strcmp(a->ifa_name, i->if_name))
				continue;
			flags = a->ifa_flags;
			up |= flags & IFF_UP;
			if (a->ifa_addr && (a->ifa_addr->sa_family == AF_INET ||
					    a->ifa_addr->sa_family == AF_INET6))
				append_addr(list, sizeof(list), a->ifa_addr);
		}
		/* loopback carries no traffic from outside (and cannot be loaded) */
		if (skipped || !up || vw_link_arphrd(i->if_name, &type) || type == ARPHRD_LOOPBACK)
			continue;
		fn(i->if_name, vw_link_type_name(type, tbuf, sizeof(tbuf)), list, arg);
	}
	freeifaddrs(addrs);
	if_freenameindex(ifs);
}
