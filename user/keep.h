/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Block sets kept across restarts: the KEPT maps of VW_MAPS (vw_block, vw_block_sets,
 * vw_block_meta) outlive the unload of the last interface, and the next load reuses them
 * (docs/cli.md, "Pinned state"). */
#ifndef VW_KEEP_H
#define VW_KEEP_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "tables.h"

/* Open dir's kept maps into m (the other fds stay -1) and check that this voipwall reads them:
 * 0; -ENOENT when none is kept; -ESTALE, after saying why and what to do, when they are
 * incomplete or in another layout (an older or newer voipwall wrote them). */
int vw_keep_open(const char *dir, struct vw_maps *m);
/* The classes the kept sets' class masks mean, as a generation's class ids and names (for
 * vw_config_assign_ids: a class keeps its id by name across a restart). */
int vw_keep_prev_classes(const struct vw_maps *m, struct vw_gen_cfg *gc);
/* The same as a config holding only those classes (for --class and block list while nothing is
 * loaded); cfg is overwritten, nothing to free. */
int vw_keep_classes(const struct vw_maps *m, struct vw_config *cfg);
/* Record cfg's class names (ids assigned) and this layout in vw_block_meta (load, reload). The
 * names of classes no longer in cfg stay: kept entries may still name their ids. */
int vw_keep_record(const struct vw_maps *m, const struct vw_config *cfg);
/* Set the vw_flood.block_sets bits of the named sets with a trie (a load reusing kept sets). */
int vw_keep_activate(const struct vw_maps *m);
/* The sets an unload keeps (every named set but "config", which the config file fills) and their
 * entries (expired ones included until swept). */
int vw_keep_count(const struct vw_maps *m, unsigned int *sets, unsigned long long *entries);
/* "3 block sets (12 entries)": the sets of vw_keep_count into buf; false when there is none. */
bool vw_keep_summary(const struct vw_maps *m, char *buf, size_t len);
/* The same of dir's kept maps; false when nothing is kept. Kept maps this voipwall cannot read
 * are described as such, never read. */
bool vw_keep_describe(const char *dir, char *buf, size_t len);

#endif
