// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Block sets kept across restarts (keep.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "flood.h"
#include "keep.h"
#include "log.h"
#include "pin.h"

static const __u32 zero;

/* A map's type, key and value sizes and entries, against what this voipwall builds. */
static bool map_is(int fd, __u32 type, __u32 key_size, __u32 value_size, __u32 max_entries)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return false;
	return info.type == type && info.key_size == key_size && info.value_size == value_size &&
	       info.max_entries == max_entries;
}

/* Whether every table of vw_block is one this voipwall reads (their sizes follow their sets). */
static bool tables_ok(int outer)
{
	for (__u32 s = 0; s < VW_BLOCK_SETS; s++) {
		struct bpf_map_info info = {};
		__u32 id, len = sizeof(info);
		int fd;
		bool ok;

		if (bpf_map_lookup_elem(outer, &s, &id))
			continue; /* an empty slot */
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			return false;
		ok = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_MAP_TYPE_HASH &&
		     info.key_size == sizeof(struct vw_lpm_key) &&
		     info.value_size == sizeof(struct vw_block_val);
		close(fd);
		if (!ok)
			return false;
	}
	return true;
}

/* Why the kept maps of m cannot be read by this voipwall, or NULL. */
static const char *layout_problem(const struct vw_maps *m, struct vw_block_meta *meta)
{
	if (!map_is(m->block_meta, BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(*meta), 1) ||
	    bpf_map_lookup_elem(m->block_meta, &zero, meta))
		return "vw_block_meta is not the one this voipwall writes";
	if (meta->layout != VW_BLOCK_LAYOUT)
		return "they were written in another layout";
	if (!map_is(m->block_sets, BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct vw_block_set),
		    VW_BLOCK_SETS))
		return "vw_block_sets has another layout";
	if (!map_is(m->block, BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(__u32), sizeof(__u32),
		    VW_BLOCK_SETS) ||
	    !tables_ok(m->block))
		return "vw_block or its tables have another layout";
	return NULL;
}

/* Open dir's kept maps and check their layout: 0, -ENOENT (none), another -errno, or -ESTALE
 * with *why and meta set (nothing of them may then be read as this voipwall's structs). */
static int open_checked(const char *dir, struct vw_maps *m, const char **why,
			struct vw_block_meta *meta)
{
	int err = vw_maps_open_kept(dir, m);

	*why = NULL;
	if (err == -EBADF)
		*why = "some of their maps are missing";
	else if (!err)
		*why = layout_problem(m, meta);
	else
		return err;
	if (!*why)
		return 0;
	vw_maps_close(m);
	return -ESTALE;
}

int vw_keep_open(const char *dir, struct vw_maps *m)
{
	struct vw_block_meta meta = {};
	const char *why;
	int err = open_checked(dir, m, &why, &meta);

	if (err != -ESTALE) {
		if (err && err != -ENOENT)
			pr_warn("cannot open the block sets kept in %s: %s\n", dir, strerror(-err));
		return err;
	}
	pr_warn("%s holds block sets this voipwall cannot read: %s (layout %u; this voipwall reads "
		"layout %u). Nothing was changed. List them with the voipwall that wrote them "
		"('block list -j'), then remove them with 'voipwall unload --all --purge' and load "
		"again\n",
		dir, why, meta.layout, VW_BLOCK_LAYOUT);
	return -ESTALE;
}

int vw_keep_prev_classes(const struct vw_maps *m, struct vw_gen_cfg *gc)
{
	struct vw_block_meta meta;

	memset(gc, 0, sizeof(*gc));
	if (bpf_map_lookup_elem(m->block_meta, &zero, &meta))
		return -errno;
	gc->class_mask = meta.class_mask;
	for (unsigned int c = 0; c < VW_MAX_CLASSES; c++) {
		memcpy(gc->class_names[c], meta.class_names[c], VW_CLASS_NAME_MAX);
		gc->class_names[c][VW_CLASS_NAME_MAX - 1] = '\0';
	}
	return 0;
}

int vw_keep_classes(const struct vw_maps *m, struct vw_config *cfg)
{
	struct vw_gen_cfg gc;
	int err = vw_keep_prev_classes(m, &gc);

	memset(cfg, 0, sizeof(*cfg));
	if (err)
		return err;
	for (unsigned int c = 0; c < VW_MAX_CLASSES; c++) {
		if (!(gc.class_mask & (1U << c)))
			continue;
		memcpy(cfg->classes[cfg->nclasses].name, gc.class_names[c], VW_CLASS_NAME_MAX);
		cfg->classes[cfg->nclasses++].id = (__u8)c;
	}
	return 0;
}

int vw_keep_record(const struct vw_maps *m, const struct vw_config *cfg)
{
	struct vw_block_meta meta = {};

	if (bpf_map_lookup_elem(m->block_meta, &zero, &meta) || meta.layout != VW_BLOCK_LAYOUT)
		memset(&meta, 0, sizeof(meta));
	meta.layout = VW_BLOCK_LAYOUT;
	for (unsigned int i = 0; i < cfg->nclasses; i++) {
		__u8 id = cfg->classes[i].id;

		if (id >= VW_MAX_CLASSES)
			continue;
		memset(meta.class_names[id], 0, VW_CLASS_NAME_MAX);
		snprintf(meta.class_names[id], VW_CLASS_NAME_MAX, "%s", cfg->classes[i].name);
		meta.class_mask |= 1U << id;
	}
	return bpf_map_update_elem(m->block_meta, &zero, &meta, BPF_ANY) ? -errno : 0;
}

int vw_keep_activate(const struct vw_maps *m)
{
	struct vw_flood_state *fs = calloc(1, sizeof(*fs));
	int err = 0;

	if (!fs)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->flood, &zero, fs)) {
		err = -errno;
		goto out;
	}
	/* every named set with a trie, whatever its recorded count: a set wrongly left out would
	 * let its sources in, one wrongly put in costs a lookup */
	for (__u32 s = 0; s < VW_BLOCK_SETS; s++) {
		struct vw_block_set set;
		__u32 id;

		if (!bpf_map_lookup_elem(m->block_sets, &s, &set) && set.name[0] &&
		    !bpf_map_lookup_elem(m->block, &s, &id))
			fs->block_sets |= 1U << s;
	}
	if (bpf_map_update_elem(m->flood, &zero, fs, BPF_ANY))
		err = -errno;
out:
	free(fs);
	return err;
}

int vw_keep_count(const struct vw_maps *m, unsigned int *sets, unsigned long long *entries)
{
	*sets = 0;
	*entries = 0;
	for (__u32 s = 0; s < VW_BLOCK_SETS; s++) {
		struct vw_block_set set;

		if (bpf_map_lookup_elem(m->block_sets, &s, &set))
			return -errno;
		if (!set.name[0] || !strncmp(set.name, VW_BLOCK_SET_CONFIG, sizeof(set.name)))
			continue;
		(*sets)++;
		*entries += set.entries;
	}
	return 0;
}

bool vw_keep_summary(const struct vw_maps *m, char *buf, size_t len)
{
	unsigned long long entries;
	unsigned int sets;

	if (vw_keep_count(m, &sets, &entries) || !sets)
		return false;
	snprintf(buf, len, "%u block set%s (%llu entr%s)", sets, sets == 1 ? "" : "s", entries,
		 entries == 1 ? "y" : "ies");
	return true;
}

bool vw_keep_describe(const char *dir, char *buf, size_t len)
{
	struct vw_block_meta meta;
	const char *why;
	struct vw_maps m;
	bool ok;

	if (open_checked(dir, &m, &why, &meta) == -ESTALE) {
		snprintf(buf, len, "block sets this voipwall cannot read (%s)", why);
		return true;
	}
	if (m.block_sets < 0)
		return false;
	ok = vw_keep_summary(&m, buf, len);
	vw_maps_close(&m);
	return ok;
}
