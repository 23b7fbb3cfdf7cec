// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The capture maps of a loaded program (see capture.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "capture.h"
#include "pin.h"

/* The program's map ids: at most this many (the program has about twenty). */
#define MAX_PROG_MAPS 64

int vw_capture_maps_open(const char *pin_dir, struct vw_capture_maps *cm)
{
	struct bpf_prog_info info = {};
	__u32 ids[MAX_PROG_MAPS], len = sizeof(info);
	int prog_fd, err = 0;

	cm->ctl = cm->ring = cm->cpu = -1;
	prog_fd = vw_pin_open_prog(pin_dir);
	if (prog_fd < 0)
		return prog_fd;
	info.nr_map_ids = MAX_PROG_MAPS;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	for (__u32 i = 0; i < info.nr_map_ids && i < MAX_PROG_MAPS; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		int *slot = NULL;

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &mlen)) {
			if (!strcmp(mi.name, VW_CAPTURE_CTL_MAP) &&
			    mi.value_size == sizeof(struct vw_capture_ctl))
				slot = &cm->ctl;
			else if (!strcmp(mi.name, VW_CAPTURE_RING_MAP) &&
				 mi.type == BPF_MAP_TYPE_RINGBUF)
				slot = &cm->ring;
			else if (!strcmp(mi.name, VW_CAPTURE_CPU_MAP) &&
				 mi.value_size == sizeof(struct vw_capture_cpu))
				slot = &cm->cpu;
		}
		if (slot && *slot < 0)
			*slot = fd;
		else
			close(fd);
	}
	if (cm->ctl < 0 || cm->ring < 0 || cm->cpu < 0) {
		vw_capture_maps_close(cm);
		err = -ENOTSUP;
	}
out:
	close(prog_fd);
	return err;
}

void vw_capture_maps_close(struct vw_capture_maps *cm)
{
	int *fds[] = { &cm->ctl, &cm->ring, &cm->cpu };

	for (unsigned int i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int vw_capture_ctl_read(const struct vw_capture_maps *cm, struct vw_capture_ctl *ctl)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(cm->ctl, &zero, ctl) ? -errno : 0;
}

int vw_capture_ctl_write(const struct vw_capture_maps *cm, const struct vw_capture_ctl *ctl)
{
	__u32 zero = 0;

	return bpf_map_update_elem(cm->ctl, &zero, ctl, BPF_ANY) ? -errno : 0;
}

int vw_capture_cpu_sum(const struct vw_capture_maps *cm, struct vw_capture_cpu *sum)
{
	int ncpus = libbpf_num_possible_cpus(), err = 0;
	struct vw_capture_cpu *v;
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	v = calloc(ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(cm->cpu, &zero, v)) {
		err = -errno;
		goto out;
	}
	for (int i = 0; i < ncpus; i++) {
		sum->captured += v[i].captured;
		sum->lost += v[i].lost;
		sum->ratelimited += v[i].ratelimited;
	}
out:
	free(v);
	return err;
}

int vw_capture_cpu_reset(const struct vw_capture_maps *cm)
{
	int ncpus = libbpf_num_possible_cpus(), err = 0;
	struct vw_capture_cpu *v;
	__u32 zero = 0;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	v = calloc(ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_update_elem(cm->cpu, &zero, v, BPF_ANY))
		err = -errno;
	free(v);
	return err;
}

__u64 vw_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

bool vw_capture_active(const struct vw_capture_ctl *ctl, __u64 now_mono_ns)
{
	return ctl->until_ns && now_mono_ns < ctl->until_ns;
}

int vw_capture_lock(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return err;
	}
	return fd;
}
