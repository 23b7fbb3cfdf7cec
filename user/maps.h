/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The pinned maps as userspace holds them: one fd per PINNED and KEPT entry of VW_MAPS
 * (include/voipwall.h). */
#ifndef VW_MAPS_H
#define VW_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include "voipwall.h"

/* File descriptors of the pinned maps (from a skeleton, or opened from the pin dir): one int per
 * PINNED and KEPT entry of VW_MAPS, by its name without "vw_". */
struct vw_maps {
#define VW_MAP_FD(name) int name;
	VW_MAPS(VW_MAP_FD, VW_MAP_FD, VW_MAP_NONE)
#undef VW_MAP_FD
};

/* Map names (also their pinned names) and where their fd goes in struct vw_maps, generated from
 * VW_MAPS: the list every way of opening the maps (object, skeleton, pin directory) walks. */
struct vw_map_desc {
	const char *name;
	size_t off; /* offsetof(struct vw_maps, ...) */
	bool kept;  /* a KEPT map: outlives the unload of the last interface */
};
extern const struct vw_map_desc vw_map_descs[VW_NUM_MAPS];
/* The maps only the program holds (PROGRAM entries of VW_MAPS), by name. */
extern const char *const vw_program_map_names[VW_NUM_PROGRAM_MAPS - VW_NUM_MAPS];

static inline int *vw_maps_fd(struct vw_maps *m, unsigned int i)
{
	return (int *)((char *)m + vw_map_descs[i].off);
}

/* Set every fd to -1. */
void vw_maps_init(struct vw_maps *m);
/* Close the fds that are open and set them to -1. */
void vw_maps_close(struct vw_maps *m);

struct bpf_object;
/* Fill m with the fds of a loaded object's maps, found by name (the pinned names too).
 * Returns 0, or -ENOENT naming the first map missing. */
/* Whether the pinned maps in m have this voipwall's layout (type, key and value sizes of every map
 * but the kept ones); -EPROTO, with the first that differs named, when another version pinned
 * them. */
int vw_maps_check_layout(struct vw_maps *m);
int vw_maps_from_obj(struct bpf_object *obj, struct vw_maps *m);

#endif
