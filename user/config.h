/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The parsed configuration: classes (ports, policy) and allow rules. Pure userspace, no BPF. */
#ifndef VW_CONFIG_H
#define VW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "voipwall.h"

#define VW_DEFAULT_CONFIG "/etc/voipwall/voipwall.conf"
#define VW_BUILTIN_SOURCE "(built-in)"
/* include nesting depth: deep enough for any sane layout, shallow enough to stop a loop. */
#define VW_MAX_INCLUDE_DEPTH 8
/* Port ranges one class can list. */
#define VW_MAX_RANGES 64

struct vw_port_range {
	__u16 lo, hi; /* inclusive, host order */
	__u8 l4;      /* enum vw_l4 */
};

struct vw_class {
	char name[VW_CLASS_NAME_MAX];
	__u8 id;     /* bit in allow masks, 0..31; see vw_config_assign_ids() */
	__u8 policy; /* enum vw_policy */
	__u8 rate_unit; /* rate per 1 (N/s) or 60 (N/m) seconds */
	__u8 v6_plen;   /* per /N: IPv6 sources share a bucket per this prefix (default 64) */
	__u32 rate;     /* packets per rate_unit seconds; 0: no rate limit */
	__u32 burst;    /* bucket size (default: rate) */
	__u32 ban_secs; /* 0: no ban */
	unsigned int nranges;
	struct vw_port_range ranges[VW_MAX_RANGES];
};

struct vw_config {
	unsigned int nclasses;
	struct vw_class classes[VW_MAX_CLASSES]; /* in order of first definition */
	struct vw_rule *rules;                   /* mask uses class ids */
	size_t nrules, cap;
	/* allow rules marked exempt (mask: the classes they are exempt for), also in rules */
	struct vw_rule *exempt;
	size_t nexempt, exempt_cap;
	/* block statements (mask VW_BLOCK_ALL_CLASSES): the block set "config" */
	struct vw_rule *blocks;
	size_t nblocks, blocks_cap;
	char source[VW_SOURCE_MAX]; /* path given, or VW_BUILTIN_SOURCE */
	bool builtin;
	/* Private to config.c: hash index of rules by prefix (open addressing; hash tag and rule
	 * index + 1). Rebuilt when rules/nrules change behind its back, so code that fills rules
	 * directly (malloc'd, cap set) may then use vw_config_add_rule/del_rule. */
	__u64 *idx_slots;
	size_t idx_cap;
	const struct vw_rule *idx_rules;
	size_t idx_n;
};

/* Room for any vw_format_prefix() output: an IPv6 address, '/' and 3 digits. */
#define VW_PREFIX_STRLEN 52

/* Parse a config file (and its includes). On error, prints "file:line: message" lines to err
 * (every error found, not just the first) and returns -EINVAL; cfg is then empty. Other -errno
 * for I/O failures on the top file (a missing include is a file:line error); those print nothing,
 * the caller reports them (e.g. falls back to the built-in config on -ENOENT).
 * cfg is overwritten, not freed: pass a zeroed or vw_config_free()d config. err may be NULL. */
int vw_config_load(struct vw_config *cfg, const char *path, FILE *err);
/* Buffers (a file, an include) at least this many bytes long are parsed by two threads, with the
 * result of one pass; 0 parses every buffer in one thread. Default 1 MiB; tests lower it. */
extern size_t vw_config_split_min;
/* How many buffers this process has cut in two (tests check that a split happened). */
extern unsigned long vw_config_splits;
/* Parse from a memory buffer; name is used in messages (fuzzing, tests), and relative includes
 * are relative to name's directory. */
int vw_config_parse_buf(struct vw_config *cfg, const char *name, const char *buf, size_t len,
			FILE *err);
/* Like vw_config_parse_buf, but includes are confined to dir: an include must be a relative path
 * without "..", and is opened under dir (fuzzing: no input can read other files). */
int vw_config_parse_buf_confined(struct vw_config *cfg, const char *name, const char *buf,
				 size_t len, const char *dir, FILE *err);
/* Write cfg as config text that parses back to the same classes, ids (in order) and rules. */
int vw_config_write(const struct vw_config *cfg, FILE *out);
/* The built-in default: sip and mgmt classes as in the README, empty allowlists. */
int vw_config_builtin(struct vw_config *cfg);
void vw_config_free(struct vw_config *cfg);

/* Find a class by name; NULL if none. */
const struct vw_class *vw_config_class(const struct vw_config *cfg, const char *name);
/* Parse "a,b,c" into a class-id mask against cfg; on an unknown name, prints it to err and
 * returns -EINVAL. */
int vw_config_class_mask(const struct vw_config *cfg, const char *list, __u32 *mask, FILE *err);
/* Parse one prefix ("198.51.100.0/24", "2001:db8::1", host bits must be zero).
 * Returns 0, or -EINVAL with a short reason in *why. */
int vw_parse_prefix(const char *s, struct vw_rule *r, const char **why);
/* Format a rule's prefix into buf ("198.51.100.0/24", always with the length); NULL when the rule
 * is not a valid prefix or buf is too short (VW_PREFIX_STRLEN is always enough). */
const char *vw_format_prefix(const struct vw_rule *r, char *buf, size_t len);
/* Append a rule; merges masks of identical prefixes (hash index: O(1) per rule). -EINVAL for an
 * invalid prefix (bad family or length, host bits set), -E2BIG beyond VW_MAX_RULES. */
int vw_config_add_rule(struct vw_config *cfg, const struct vw_rule *r);
/* Remove class bits from identical prefixes (drops rules left with no class: the last rule takes
 * the removed one's place). Returns the number of rules changed. */
size_t vw_config_del_rule(struct vw_config *cfg, const struct vw_rule *r);

/* "30s", "10m", "1h", "7d" (a number and one unit) into seconds, 1 s to max_secs. Returns 0 or
 * -EINVAL. */
int vw_parse_duration(const char *s, __u64 max_secs, __u64 *secs);
/* Append to a plain rule list (exempt, blocks): merges the masks of identical prefixes. */
int vw_rule_list_add(struct vw_rule **list, size_t *n, size_t *cap, const struct vw_rule *r);

/* Give class ids that keep the ids of same-named classes in prev (the live generation), so
 * counters keep their meaning across reloads; new classes take free ids. Rewrites rule masks.
 * prev may be NULL (ids in order). */
int vw_config_assign_ids(struct vw_config *cfg, const struct vw_gen_cfg *prev);

#endif
