/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reading the counters and naming their slots, for stats, the metrics and the exporter. */
#ifndef VW_COUNTERS_H
#define VW_COUNTERS_H

#include <time.h>
#include "tables.h"

/* The per-CPU counters summed, and when they were read (CLOCK_MONOTONIC). */
struct vw_snapshot {
	__u64 packets[VW_COUNTERS];
	__u64 bytes[VW_COUNTERS];
	struct timespec at;
};

/* The labels of one counter slot. */
struct vw_labels {
	char iface[VW_IFNAME_MAX + 8];
	char cls[VW_CLASS_NAME_MAX + 8];
	const char *verdict, *reason;
};

/* What naming the slots needs: the interfaces, and both generations' class names. */
struct vw_stats_ctx {
	struct vw_iface ifs[VW_MAX_IFACES];
	struct vw_gen_cfg gc, other;
};

/* Both generations' descriptions: the live one, and the other for names of retired classes.
 * 0 or -errno (says why on failure). */
int vw_read_gens(const struct vw_maps *m, __u32 *gen, struct vw_gen_cfg *live,
		 struct vw_gen_cfg *other);
/* Sum vw_counters (fd) into s: the slots of the registered interfaces ifs[VW_MAX_IFACES] and
 * the slot "other" (the others hold zeros, and are zero in s). 0 or -errno. */
int vw_counters_read(int fd, struct vw_snapshot *s, const struct vw_iface *ifs);
/* Labels of counter index k. */
void vw_labels_of(const struct vw_stats_ctx *x, __u32 k, struct vw_labels *l);
/* Fill x from the maps; 0 or -errno. */
int vw_stats_context(const struct vw_maps *m, struct vw_stats_ctx *x);

#endif
