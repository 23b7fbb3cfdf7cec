/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The voipwall command: options shared by all commands, the commands, and their helpers. */
#ifndef VW_CLI_H
#define VW_CLI_H

#include <errno.h>
#include <stdbool.h>
#include "config.h"
#include "json.h"
#include "tables.h"

/* Errors (libbpf's convention): commands and their helpers say why they failed (pr_warn) and
 * return 0 or -errno. main() turns that into the exit code (documented in docs/cli.md):
 * -EINVAL (bad arguments or config) and -ECANCELED (an unsafe change refused) exit
 * VW_EXIT_USAGE, any other error VW_EXIT_FAIL. */
#define VW_EXIT_OK    0
#define VW_EXIT_FAIL  1 /* runtime failure */
#define VW_EXIT_USAGE 2 /* usage or config error, or a refused unsafe change */
int vw_exit_code(int err);
/* A failure of the system or the kernel passed on as itself, unless its errno would read as a
 * usage error (a kernel's EINVAL): that one becomes -EIO. */
static inline int vw_sys_err(int err)
{
	return err == -EINVAL || err == -ECANCELED ? -EIO : err;
}

#define VW_DEFAULT_WAIT 30
#define VW_DEFAULT_TOP	10
/* The exporter's address: loopback only unless told otherwise. 9725 lies in the range where
 * exporters take their ports (9100-9999; Prometheus's registry of it has no free number left, so
 * any choice is shared with some exporter), away from node_exporter's 9100 and Prometheus's own
 * 9090-9094; --listen changes it where it collides. */
#define VW_EXPORTER_LISTEN "127.0.0.1:9725"

enum vw_attach_mode {
	VW_ATTACH_AUTO = 0,
	VW_ATTACH_NATIVE = VW_MODE_NATIVE,
	VW_ATTACH_SKB = VW_MODE_SKB,
};

/* Options given anywhere on the command line; opt bits say which were given. */
enum vw_opt {
	VW_OPT_MODE = 1 << 0,
	VW_OPT_FORCE = 1 << 1,
	VW_OPT_ALL = 1 << 2,
	VW_OPT_PROMETHEUS = 1 << 3,
	VW_OPT_WATCH = 1 << 4,
	VW_OPT_TOP_N = 1 << 5,
	VW_OPT_WAIT = 1 << 6,
	VW_OPT_LISTEN = 1 << 7,
	VW_OPT_MULTIPROG = 1 << 8,
	VW_OPT_CAPTURE = 1 << 9, /* any of capture's own options */
	VW_OPT_BLOCK = 1 << 10, /* --set, --for, --override-allowlist */
	VW_OPT_CLASS = 1 << 11, /* --class: capture's filter, block add's classes */
	VW_OPT_PURGE = 1 << 12, /* unload --all --purge: the kept block sets too */
};

/* capture's options. */
struct vw_capture_args {
	const char *write;   /* -w FILE, or "-": standard output */
	const char *hep;     /* --hep udp:HOST:PORT */
	const char *verdict; /* --verdict, comma-separated (default drop) */
	const char *cls;     /* --class, comma-separated (default any) */
	const char *reason;  /* --reason, comma-separated (default any) */
	const char *count_arg; /* -c COUNT, parsed once the command is known */
	unsigned long long count; /* 0: until interrupted */
	unsigned int snaplen, rate, hep_id;
};

struct vw_cli {
	const char *config;   /* -c; NULL: VW_DEFAULT_CONFIG, or the built-in one when missing */
	const char *pin_dir;  /* --pin-dir, $VOIPWALL_PIN_DIR, or VW_DEFAULT_PIN_DIR */
	bool pin_dir_default; /* the default: bpffs may be mounted for it */
	bool json, verbose, force, all, prometheus;
	bool purge; /* unload --all --purge */
	bool multiprog; /* load --multiprog: through libxdp's dispatcher even when alone */
	enum vw_attach_mode mode;
	double watch; /* seconds; 0: no --watch */
	unsigned int top_n;
	int wait_secs;
	const char *listen;   /* exporter --listen ADDR:PORT */
	unsigned int opts; /* enum vw_opt bits given */
	const char *block_set;	   /* --set */
	const char *block_classes; /* --class */
	unsigned long long block_for; /* --for, seconds; 0: no expiry */
	bool block_override;	   /* --override-allowlist */
	const char *cmd;   /* command word */
	int argc;	   /* arguments after the command word */
	char **argv;
	struct vw_json jw; /* stdout writer for -j */
	bool json_done;	   /* the command printed its JSON, errors included */
	struct vw_capture_args capture;
};

/* The commands: each returns 0 or -errno. */
int cmd_load(struct vw_cli *cli);
int cmd_unload(struct vw_cli *cli);
int cmd_reload(struct vw_cli *cli);
int cmd_check(struct vw_cli *cli);
int cmd_allow(struct vw_cli *cli);
int cmd_status(struct vw_cli *cli);
int cmd_stats(struct vw_cli *cli);
int cmd_top(struct vw_cli *cli);
int cmd_exporter(struct vw_cli *cli);
int cmd_capture(struct vw_cli *cli);
/* status's capture line (or "capture" JSON member): on or off, owner, expiry, counts. */
void vw_cli_capture_status(struct vw_cli *cli);
int cmd_block(struct vw_cli *cli);
/* Make the block set "config" hold exactly cfg's block statements (load, reload). */
int vw_cli_config_blocks(const struct vw_maps *m, const struct vw_config *cfg);
/* "4m12s", "1h05m", "never" for an expiry on the data path's clock. */
void vw_format_left(__u64 expires_ns, __u64 now_ns, char *buf, size_t len);

/* ---- helpers (cmd_common.c) ---- */

/* Parse the config named by -c (or the default, or the built-in one when the default file is
 * missing). Errors are printed as "file:line: ..." lines; -EINVAL when the config is wrong. */
int vw_cli_load_config(struct vw_cli *cli, struct vw_config *cfg);
/* Make -c absolute (it is recorded in the pinned state, and 'reload' reads it again). */
void vw_cli_absolute_config(struct vw_cli *cli);
/* Root, or CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN; else one line and -EPERM. */
int vw_cli_need_privs(const struct vw_cli *cli);
/* Open the pinned maps; says "not loaded" (or why not) and returns -errno on failure. */
int vw_cli_open_maps(const struct vw_cli *cli, struct vw_maps *m);
/* Say why vw_maps_open_pinned failed with err (not loaded, incomplete, ...); returns err. */
int vw_cli_maps_error(const struct vw_cli *cli, int err);
/* Take the state-change lock; returns the fd, or -errno after saying why. */
int vw_cli_lock(const struct vw_cli *cli);
/* The live generation's description. */
int vw_cli_live_gen(const struct vw_maps *m, __u32 *gen, struct vw_gen_cfg *gc);
/* All VW_MAX_IFACES entries of vw_ifaces (names NUL-terminated); -errno after saying why. */
int vw_cli_read_ifaces(const struct vw_maps *m, struct vw_iface *ifs);
/* "native", "skb" for VW_MODE_*. */
const char *vw_mode_name(unsigned int mode);
/* Anti-lockout: when $SSH_CONNECTION's server port (tcp) is in a drop class of cfg for which
 * its client address is not allowlisted, say so and return -ECANCELED (unless --force). */
int vw_cli_lockout_check(const struct vw_cli *cli, const struct vw_config *cfg);
/* Whether cfg would cut off $SSH_CONNECTION; why says how. */
bool vw_lockout_find(const struct vw_config *cfg, char *why, size_t len);
/* Progress callback for vw_apply: a line on stderr, only when it is a terminal. */
void vw_cli_progress(const char *stage, size_t done, size_t total, void *ctx);
/* Apply cfg with progress; says why on failure. With gc, then reads the new live generation
 * (its number into *gen) for reporting. */
int vw_cli_apply(const struct vw_cli *cli, const struct vw_maps *m, const struct vw_config *cfg,
		 __u32 *gen, struct vw_gen_cfg *gc);
/* Whether cfg's rule r covers address addr (16 bytes; IPv4 in addr[0..3]) of family. */
bool vw_rule_covers(const struct vw_rule *r, int family, const __u8 *addr);
/* Name of class id c: from gc (or alt) when defined there, "none" for VW_CLASS_NONE, else
 * "class<c>". buf holds at least VW_CLASS_NAME_MAX + 8 bytes. */
const char *vw_class_name(const struct vw_gen_cfg *gc, const struct vw_gen_cfg *alt, unsigned int c,
			  char *buf, size_t len);
/* "5060/udp 5061-5062/tcp" for a class. */
void vw_format_ports(const struct vw_class *cls, char *buf, size_t len);
/* Local time as "2026-11-26 16:40:00 UTC". */
void vw_format_time(__u64 realtime_ns, char *buf, size_t len);
/* The classes of cfg (ports, policy, allow rule counts), as a table or as a JSON array. */
void vw_cli_print_classes(const struct vw_config *cfg);
void vw_cli_json_classes(struct vw_json *w, const struct vw_config *cfg);
/* Allow rules per class id and family. */
void vw_config_count_rules(const struct vw_config *cfg, size_t v4[VW_MAX_CLASSES],
			   size_t v6[VW_MAX_CLASSES]);
/* "sip,rtp" for a class-id mask of cfg. */
void vw_format_mask(const struct vw_config *cfg, __u32 mask, char *buf, size_t len);
/* A text for an errno returned by bpf(), hinting at the usual causes. */
const char *vw_bpf_strerror(int err);

#endif
