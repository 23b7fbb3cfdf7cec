/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The pin directory: the program, its maps and one bpf_link per interface, pinned in a bpffs
 * directory that later voipwall processes (and bpftool) open. Its layout is a stable interface:
 *
 *   DIR/                mode 0700
 *   DIR/prog            the XDP program (voipwall_xdp)
 *   DIR/vw_<map>        each PINNED and KEPT map of VW_MAPS (include/voipwall.h), by its name;
 *                       with nothing loaded, DIR may hold the KEPT maps alone
 *   DIR/link_<ifindex>  the XDP bpf_link of each attached interface; removing it detaches
 *
 * Pinned objects are mode 0600. State-changing commands hold a lock (flock) on
 * <lock dir>/voipwall-<escaped DIR>.lock, which holds the owner's pid; the lock dir is
 * $VOIPWALL_LOCK_DIR, or VW_LOCK_DIR. */
#ifndef VW_PIN_H
#define VW_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include "tables.h"

#define VW_DEFAULT_PIN_DIR "/sys/fs/bpf/voipwall"
#define VW_PIN_DIR_ENV	   "VOIPWALL_PIN_DIR"
#define VW_BPFFS_ROOT	   "/sys/fs/bpf"
#define VW_LOCK_DIR	   "/run/lock"
#define VW_LOCK_DIR_ENV	   "VOIPWALL_LOCK_DIR"
/* "DIR/name" into buf; -ENAMETOOLONG when it does not fit. */
int vw_pin_path(char *buf, size_t len, const char *dir, const char *name);
/* Open every pinned map of dir. -ENOENT when nothing is pinned there, or only the KEPT maps (not
 * loaded), -EBADF when only some maps are (a damaged pin dir), else the errno of the failing
 * bpf_obj_get. */
int vw_maps_open_pinned(const char *dir, struct vw_maps *m);
/* Open the KEPT maps of dir only (the other fds stay -1): -ENOENT when none is pinned, -EBADF
 * when only some are. */
int vw_maps_open_kept(const char *dir, struct vw_maps *m);
/* Open the pinned program; returns an fd or -errno. */
int vw_pin_open_prog(const char *dir);
/* The pinned program called name (VW_PIN_PROG, VW_PIN_PROG_IP): an fd or -errno. */
int vw_pin_open_prog_named(const char *dir, const char *name);
/* Whether dir holds a pinned program (voipwall is loaded there). */
bool vw_pin_loaded(const char *dir);

/* Make sure dir's parent lies on a bpf filesystem. When it does not and mount_default is set
 * (dir is the default pin dir), mount one on VW_BPFFS_ROOT; else -ENOTSUP. */
int vw_pin_ensure_bpffs(const char *dir, bool mount_default);
/* Pin the maps and the program into a fresh temporary directory beside dir, then rename it
 * into place, so dir appears complete or not at all. dir must not exist (or be empty), or, with
 * over_kept, hold the KEPT maps that m reuses: the two directories are then swapped in one step
 * (RENAME_EXCHANGE) and the old one removed. */
int vw_pin_create(const char *dir, const struct vw_maps *m, int prog_fd, int prog_ip_fd,
		  bool over_kept);
/* Pin a link as DIR/link_<ifindex> (mode 0600). */
int vw_pin_link(const char *dir, unsigned int ifindex, int link_fd);
/* Remove DIR/link_<ifindex> (which detaches the link when nothing else holds it). */
int vw_pin_unlink_link(const char *dir, unsigned int ifindex);
/* Whether DIR/link_<ifindex> holds a link still attached to that interface: 1 yes, 0 no (no such
 * pin, or the interface went away and left the link defunct), or -errno. */
int vw_pin_link_attached(const char *dir, unsigned int ifindex);
/* Remove every object voipwall pins under dir, then dir itself. */
int vw_pin_remove_all(const char *dir);
/* Remove every object voipwall pins under dir but the KEPT maps; dir stays. */
int vw_pin_remove_keep(const char *dir);
/* Remove temporary directories left beside dir by voipwall processes that died mid-pin. */
void vw_pin_clean_stale(const char *dir);

/* Take the lock serializing state changes on dir, waiting up to wait_secs seconds (saying so on
 * stderr). Returns the lock fd (close it to unlock), -ETIMEDOUT, or -errno. */
int vw_pin_lock(const char *dir, int wait_secs);
/* Release the lock (fd from vw_pin_lock, or -1); its file goes too when dir no longer exists. */
void vw_pin_unlock(const char *dir, int fd);

#endif
