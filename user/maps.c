// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The map list in its userspace forms, checked against the program's skeleton. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "maps.h"
#include "voipwall.skel.h"

const struct vw_map_desc vw_map_descs[VW_NUM_MAPS] = {
#define VW_MAP_DESC(name) {"vw_" #name, offsetof(struct vw_maps, name), false},
#define VW_MAP_DESC_KEPT(name) {"vw_" #name, offsetof(struct vw_maps, name), true},
    VW_MAPS(VW_MAP_DESC, VW_MAP_DESC_KEPT, VW_MAP_NONE)
#undef VW_MAP_DESC
#undef VW_MAP_DESC_KEPT
};

const char *const vw_program_map_names[VW_NUM_PROGRAM_MAPS - VW_NUM_MAPS] = {
#define VW_MAP_NAME(name) "vw_" #name,
    VW_MAPS(VW_MAP_NONE, VW_MAP_NONE, VW_MAP_NAME)
#undef VW_MAP_NAME
};

/* The build holds VW_MAPS against the skeleton both ways: every listed map is a map of the
 * program (or this fails to compile), and the skeleton has no map beyond the list and the
 * program's global data sections (or the count differs). */
#define VW_SKEL_DATA_MAPS(X) X(rodata) X(bss) X(data_capture)
#define SKEL_HAS_MAP(name)                                                                         \
	_Static_assert(sizeof(((struct voipwall_bpf *)0)->maps.name) == sizeof(struct bpf_map *),  \
		       #name " is not a map of the program");
#define SKEL_HAS_VW_MAP(name) SKEL_HAS_MAP(vw_##name)
VW_MAPS(SKEL_HAS_VW_MAP, SKEL_HAS_VW_MAP, SKEL_HAS_VW_MAP)
VW_SKEL_DATA_MAPS(SKEL_HAS_MAP)
_Static_assert(sizeof(((struct voipwall_bpf *)0)->maps) ==
		   (VW_NUM_PROGRAM_MAPS VW_SKEL_DATA_MAPS(VW_MAP_ONE)) * sizeof(struct bpf_map *),
	       "the program has a map missing from VW_MAPS (include/voipwall.h), or a global data "
	       "section missing from VW_SKEL_DATA_MAPS");

void vw_maps_init(struct vw_maps *m)
{
	for (unsigned int i = 0; i < VW_NUM_MAPS; i++)
		*vw_maps_fd(m, i) = -1;
}

void vw_maps_close(struct vw_maps *m)
{
	for (unsigned int i = 0; i < VW_NUM_MAPS; i++) {
		int *fd = vw_maps_fd(m, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

int vw_maps_check_layout(struct vw_maps *m)
{
	struct voipwall_bpf *skel = voipwall_bpf__open();
	int err = 0;

	if (!skel) {
		err = -errno;
		pr_warn("cannot open this voipwall's BPF object: %s\n", strerror(-err));
		return err;
	}
	for (unsigned int i = 0; i < VW_NUM_MAPS && !err; i++) {
		const struct bpf_map *want;
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		/* The kept maps carry their own layout record (user/keep.c). */
		if (vw_map_descs[i].kept)
			continue;
		want = bpf_object__find_map_by_name(skel->obj, vw_map_descs[i].name);
		if (!want || bpf_obj_get_info_by_fd(*vw_maps_fd(m, i), &info, &len)) {
			err = -errno ? -errno : -ENOENT;
			pr_warn("cannot check the pinned map %s: %s\n", vw_map_descs[i].name,
				strerror(-err));
			break;
		}
		if (info.type == bpf_map__type(want) && info.key_size == bpf_map__key_size(want) &&
		    info.value_size == bpf_map__value_size(want))
			continue;
		pr_warn("the pinned map %s is %s (%u-byte keys, %u-byte values) where this voipwall "
			"has %s (%u, %u)\n",
			vw_map_descs[i].name, libbpf_bpf_map_type_str(info.type), info.key_size,
			info.value_size, libbpf_bpf_map_type_str(bpf_map__type(want)),
			bpf_map__key_size(want), bpf_map__value_size(want));
		err = -EPROTO;
	}
	voipwall_bpf__destroy(skel);
	return err;
}

int vw_maps_from_obj(struct bpf_object *obj, struct vw_maps *m)
{
	for (unsigned int i = 0; i < VW_NUM_MAPS; i++) {
		int fd = bpf_object__find_map_fd_by_name(obj, vw_map_descs[i].name);

		if (fd < 0) {
			pr_warn("the BPF object has no loaded map %s\n", vw_map_descs[i].name);
			return -ENOENT;
		}
		*vw_maps_fd(m, i) = fd;
	}
	return 0;
}
