/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The pinned state as the commands change it: lock it, open or create it, apply a generation to
 * it, attach and detach interfaces, remove it. A command calls these in sequence and reads as
 * its steps; the mechanics of privileges, locking, pinning and attaching live here once. Every
 * function says why it failed (pr_warn) and returns 0 or -errno (cli.h: vw_exit_code). */
#ifndef VW_STATE_H
#define VW_STATE_H

#include <stdbool.h>
#include "cli.h"

struct vw_state {
	const struct vw_cli *cli; /* pin directory, attach mode, --wait */
	/* what is held; vw_state_close() lets it all go */
	int lock_fd; /* -1: the lock is not held */
	int prog_fd; /* the pinned programs, -1 until opened */
	int prog_ip_fd;
	__u32 prog_id, prog_ip_id;
	bool created; /* this command pinned the state (vw_state_create) */
	struct vw_maps maps;
	/* the block sets a first load reuses (vw_state_open_kept); has_kept: they are open */
	struct vw_maps kept;
	bool has_kept;
	/* the live generation, after vw_state_open, vw_state_create and vw_state_apply */
	__u32 gen;
	struct vw_gen_cfg live;
};

void vw_state_init(struct vw_state *st, const struct vw_cli *cli);
/* Check privileges, take the state-change lock of the pin directory (waiting up to --wait),
 * and remove what voipwall processes that died mid-pin left beside it. */
int vw_state_lock(struct vw_state *st);
/* Whether voipwall is loaded in the pin directory (its program is pinned there). */
bool vw_state_loaded(const struct vw_state *st);
/* Open the pinned maps and read the live generation. */
int vw_state_open(struct vw_state *st);
/* Before a first load: open the block sets an earlier unload kept in the pin directory, if any
 * (has_kept then says so). -ESTALE, said, when they are there but this voipwall cannot read
 * them (another layout, maps missing): nothing may be loaded over them. */
int vw_state_open_kept(struct vw_state *st);
/* First load: load the program (reusing the kept block sets), apply cfg to it and pin it all
 * under the pin directory at once (it appears complete or not at all: swapped in one step with a
 * directory holding kept sets); then the state is open as after vw_state_open. */
int vw_state_create(struct vw_state *st, const struct vw_config *cfg);
/* Open the pinned programs: the Ethernet one, and the raw-IP one when raw_ip is set. */
int vw_state_open_progs(struct vw_state *st, bool raw_ip);
/* Build cfg into the inactive generation and make it the live one (st->gen, st->live). */
int vw_state_apply(struct vw_state *st, const struct vw_config *cfg);
/* All VW_MAX_IFACES entries of vw_ifaces (names NUL-terminated); with prune, forget the
 * interfaces whose link is gone (the interface was deleted, or a load died between registering
 * and pinning), so that their slot and ifindex may be reused. */
int vw_state_read_ifaces(struct vw_state *st, struct vw_iface *ifs, bool prune);
/* Attach to rec->ifindex (named rec->name) in counter slot `slot`: zero the slot's counters,
 * register it in vw_ifaces and vw_ifslot (before attaching, so the first packet counts under
 * it), then attach in the mode asked for, with a pinned link of its own or (multi) as a
 * component of libxdp's dispatcher, raw_ip: the entry point for interfaces without a link-layer
 * header. rec gets the mode, link and program ids. Undoes itself on failure. */
int vw_state_attach(struct vw_state *st, unsigned int slot, struct vw_iface *rec, bool multi,
		    bool raw_ip);
/* Detach the interface registered in slot (its link pin removed, or its dispatcher component);
 * unless that fails (but for -ENOENT: not attached any more) and forget is unset, unregister it
 * and zero its counters. Returns what the detach returned. */
int vw_state_detach(struct vw_state *st, unsigned int slot, const struct vw_iface *rec,
		    bool forget);
/* Close what the state holds, then remove every object voipwall pinned and the directory; with
 * keep, the KEPT maps (the block sets) and the directory stay. */
int vw_state_remove(struct vw_state *st, bool keep);
/* Close what the state holds and release the lock. */
void vw_state_close(struct vw_state *st);

#endif
