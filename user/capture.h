/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The capture maps of a loaded program: the control variable (vw_capture in the .data.capture
 * map), the sample ring (vw_cap_ring) and the per-CPU rate and outcome counters (vw_cap_cpu).
 * They are reached through the pinned program (its map ids), so the pin directory's layout does
 * not change. */
#ifndef VW_USER_CAPTURE_H
#define VW_USER_CAPTURE_H

#include <stdbool.h>
#include "voipwall.h"

#define VW_CAPTURE_CTL_MAP ".data.capture"
#define VW_CAPTURE_RING_MAP "vw_cap_ring"
#define VW_CAPTURE_CPU_MAP "vw_cap_cpu"

struct vw_capture_maps {
	int ctl, ring, cpu;
};

/* Open the capture maps of the program pinned in pin_dir. -ENOENT: nothing loaded there;
 * -ENOTSUP: the loaded program has no capture maps (loaded by a voipwall without capture). */
int vw_capture_maps_open(const char *pin_dir, struct vw_capture_maps *cm);
void vw_capture_maps_close(struct vw_capture_maps *cm);
int vw_capture_ctl_read(const struct vw_capture_maps *cm, struct vw_capture_ctl *ctl);
int vw_capture_ctl_write(const struct vw_capture_maps *cm, const struct vw_capture_ctl *ctl);
/* The per-CPU counters summed (window fields left zero), or zeroed on every CPU. */
int vw_capture_cpu_sum(const struct vw_capture_maps *cm, struct vw_capture_cpu *sum);
int vw_capture_cpu_reset(const struct vw_capture_maps *cm);
/* CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns() and of until_ns. */
__u64 vw_mono_ns(void);
/* Whether the data path copies right now: until_ns set and still ahead. */
bool vw_capture_active(const struct vw_capture_ctl *ctl, __u64 now_mono_ns);
/* Take the one-capture-per-pin-directory lock (flock on the directory; the kernel drops it when
 * the process dies, kill -9 included). Returns the fd, -EBUSY when another capture holds it, or
 * -errno. */
int vw_capture_lock(const char *pin_dir);

#endif
