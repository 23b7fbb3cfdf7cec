/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Building a generation of the lookup tables from a config, and flipping to it. */
#ifndef VW_TABLES_H
#define VW_TABLES_H

#include <stddef.h>
#include <stdio.h>
#include "config.h"
#include "maps.h"

/* Progress callback for large builds (done/total items); may be NULL. */
typedef void (*vw_progress_fn)(const char *stage, size_t done, size_t total, void *ctx);

/* Build cfg completely into generation gen (the inactive one): ports, tbl24, masks, cuckoo
 * tables, new inner maps for v6/leaves/rules, then the gen_cfg entry. Nothing the program reads
 * from the live generation is touched. Returns 0 or -errno. */
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

/* Place key with its value in one of its two buckets of a generation's half of a cuckoo table
 * (vw_v4_long, vw_v6_f32: VW_CUCKOO_BUCKETS buckets), moving others to their other bucket to make
 * room; -ENOSPC when the walk finds none (the table is left holding every other key but one). */
int vw_cuckoo_insert(struct vw_cuckoo_bucket *tab, __u32 key, __u32 val);
/* The slot holding key in its two buckets, as the program reads them: NULL when none does, else
 * its bucket and *slot. */
struct vw_cuckoo_bucket *vw_cuckoo_find(struct vw_cuckoo_bucket *tab, __u32 key,
					unsigned int *slot);

#endif
