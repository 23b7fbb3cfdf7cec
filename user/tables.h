/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Building a generation of the lookup tables from a config, and flipping to it. */
#ifndef VW_TABLES_H
#define VW_TABLES_H

#include <stddef.h>
#include <stdio.h>
#include "config.h"

/* File descriptors of the program's maps (from a skeleton, or opened from the pin dir). */
struct vw_maps {
	int active, gen_cfg, ports, v4_tbl24, masks, v4_long, v6, v6_f32, v6_bloom, rules;
	int ifslot, counters, frags, sources, ifaces;
	int v6_root16, v4_b16, v4_b24, nodes, leaves;
	int flood, buckets, bans, exempt, block, block_sets; /* flood control (user/flood.c) */
};

/* Map names (also their pinned names) and where their fd goes in struct vw_maps: the one list
 * every way of opening the maps (object, skeleton, pin directory) walks. */
#define VW_NUM_MAPS 26
struct vw_map_desc {
	const char *name;
	size_t off; /* offsetof(struct vw_maps, ...) */
};
extern const struct vw_map_desc vw_map_descs[VW_NUM_MAPS];

static inline int *vw_maps_fd(struct vw_maps *m, unsigned int i)
{
	return (int *)((char *)m + vw_map_descs[i].off);
}

/* Progress callback for large builds (done/total items); may be NULL. */
typedef void (*vw_progress_fn)(const char *stage, size_t done, size_t total, void *ctx);

/* Build cfg completely into generation gen (the inactive one): ports, tbl24, masks, new inner
 * maps for v4_long/v6/rules, then the gen_cfg entry. Nothing the program reads from the live
 * generation is touched. Returns 0 or -errno. */
int vw_gen_build(const struct vw_maps *m, __u32 gen, const struct vw_config *cfg,
		 vw_progress_fn progress, void *ctx);
/* Make gen the live generation (one 4-byte map write). */
int vw_gen_activate(const struct vw_maps *m, __u32 gen);
/* The live generation's number. */
int vw_gen_active(const struct vw_maps *m, __u32 *gen);
/* Read a generation's description. */
int vw_gen_cfg_read(const struct vw_maps *m, __u32 gen, struct vw_gen_cfg *out);
/* Reconstruct the config a generation was built from (classes with ports, policy and ids;
 * rules) into cfg, so allow add/del can change it and build the other generation. */
int vw_gen_read_config(const struct vw_maps *m, __u32 gen, struct vw_config *cfg);
/* Build into the inactive generation and flip: the whole apply. */
int vw_apply(const struct vw_maps *m, const struct vw_config *cfg, vw_progress_fn progress,
	     void *ctx);

struct bpf_object;
/* Fill m with the fds of a loaded object's maps, found by name (the pinned names too).
 * Returns 0, or -ENOENT naming the first map missing. */
int vw_maps_from_obj(struct bpf_object *obj, struct vw_maps *m);

#endif
