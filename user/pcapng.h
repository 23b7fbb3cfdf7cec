/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A pcapng writer (draft-ietf-opsawg-pcapng): one section, one interface description block per
 * interface, one enhanced packet block per frame with a comment. Every block is one write(2),
 * so a reader at the other end of a pipe sees each packet as soon as it is written. */
#ifndef VW_PCAPNG_H
#define VW_PCAPNG_H

#include <stddef.h>
#include <linux/types.h>

#define VW_PCAPNG_MAX_IFACES 128
/* Link type of the interfaces (LINKTYPE_ETHERNET). */
#define VW_PCAPNG_LINKTYPE_ETHERNET 1

struct vw_pcapng {
	int fd;
	unsigned int nifaces;
	__u32 ifindex[VW_PCAPNG_MAX_IFACES]; /* interface id -> ifindex */
	unsigned char *buf;                  /* one block */
	size_t cap;
};

/* Start a section on fd (application name in the section header). Returns 0 or -errno. */
int vw_pcapng_open(struct vw_pcapng *w, int fd, const char *appl);
/* Describe an interface (name, description may be NULL; timestamps in nanoseconds). Returns its
 * interface id, or -errno (-ENOSPC past VW_PCAPNG_MAX_IFACES). */
int vw_pcapng_add_iface(struct vw_pcapng *w, __u32 ifindex, const char *name, const char *descr,
			__u32 snaplen);
/* The interface id of ifindex, or -1 when it has none yet. */
int vw_pcapng_iface_id(const struct vw_pcapng *w, __u32 ifindex);
/* One received frame: cap_len bytes of a frame orig_len long, at ts_ns (Unix time, ns), with a
 * comment (NULL: none). Returns 0 or -errno (-EPIPE when the reader went away). */
int vw_pcapng_packet(struct vw_pcapng *w, int iface_id, __u64 ts_ns, const void *data,
		     __u32 cap_len, __u32 orig_len, const char *comment);
/* Free the block buffer (the fd is the caller's). */
void vw_pcapng_close(struct vw_pcapng *w);

#endif
