/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Hostile frame and random config generator for differential fuzzing (tests/fuzz/diff.c).
 *
 * Everything is drawn from one seeded PRNG, so a seed reproduces a run. Frames are built from
 * small builders (Ethernet, VLAN stacks, IPv4 with options, IPv6 with extension chains, UDP, TCP,
 * SCTP, fragments) or taken from real captures, then mutated: truncation, bit flips in length and
 * offset fields, random bytes, link padding. Some frames are then carried in PPPoE (sane or
 * hostile PPPoE/PPP headers) or stripped of their link-layer header for interfaces without one.
 */
#ifndef VW_GEN_H
#define VW_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "voipwall.h"
#include "config.h"

/* Largest frame generated: a 9000-byte jumbo payload plus headers. */
#define GEN_MAX_FRAME 9400
/* Smallest frame generated: bpf_prog_test_run refuses frames shorter than an Ethernet header. */
#define GEN_MIN_FRAME 14

struct gen_rng {
	__u64 s;
};

void gen_rng_seed(struct gen_rng *r, __u64 seed);
__u64 gen_rand(struct gen_rng *r);
/* Uniform in [0, n); 0 when n == 0. */
__u64 gen_below(struct gen_rng *r, __u64 n);
/* Uniform in [lo, hi]. */
__u64 gen_range_u(struct gen_rng *r, __u64 lo, __u64 hi);
/* True with probability pct/100. */
bool gen_chance(struct gen_rng *r, unsigned int pct);

struct gen_frame {
	size_t len;
	int link;      /* enum rm_link: RM_LINK_ETHER, or RM_LINK_IP (the frame starts at IP) */
	char desc[80]; /* how it was made, for reproducers */
	__u64 wait_ns; /* the program's clock moves on this much before the frame (fragment
			* verdicts expire, docs/datapath.md section 5) */
	__u8 data[GEN_MAX_FRAME];
};

struct gen;

/* A generator seeded with seed; pcap_dir (may be NULL) is scanned for *.pcap / *.pcapng files
 * whose Ethernet frames seed mutations. Returns NULL and sets errno on failure. */
struct gen *gen_new(__u64 seed, const char *pcap_dir);
void gen_free(struct gen *g);
/* Frames read from captures. */
size_t gen_pcap_frames(const struct gen *g);
/* The generator's PRNG (also drives config generation). */
struct gen_rng *gen_rng(struct gen *g);

/* Fill cfg (zeroed first) with a random config: classes with random ids, port ranges and policy,
 * and v4/v6 allow rules of random lengths around a few shared zones (nested prefixes); in half
 * the configs flood control too: policy open, rates (N/s, N/m, burst, per /N, ban), exempt allow
 * rules and block statements. rules, exempt and blocks are malloc'ed: release with
 * gen_config_free(). Returns 0 or -ENOMEM. */
int gen_config(struct gen_rng *r, struct vw_config *cfg);
/* The same, with flood control in the config (with_flood 1: at least one class with a rate), not
 * (0), or in half of them (-1). */
int gen_config_flood(struct gen_rng *r, struct vw_config *cfg, int with_flood);
void gen_config_free(struct vw_config *cfg);
/* Write cfg as config-file text (class, allow and block statements). */
void gen_config_print(const struct vw_config *cfg, FILE *out);
/* Parse one line of gen_config_print() output ("class NAME PORT/PROTO... policy
 * drop|monitor|open [rate N/s|N/m burst M [per /N] [ban Ds]]", "allow NAME[,NAME...] PREFIX/LEN
 * [exempt]", "block PREFIX/LEN") into cfg; classes take ids in order of definition. Blank lines
 * and '#' comments are ignored. Returns 0, or -EINVAL with a reason in *why. */
int gen_config_parse_line(struct vw_config *cfg, const char *line, const char **why);
/* Clear the bits of addr (bytes long) past plen. */
void gen_mask_prefix(__u8 *addr, unsigned int plen, unsigned int bytes);
/* The name of class id cls in cfg, or "none". */
const char *gen_class_name(const struct vw_config *cfg, __u8 cls);

/* Frames are drawn against this config (sources from its rules, ports from its classes). Frames
 * still queued (the rest of fragment series) are dropped, or kept with keep_queue (a reload in
 * the middle of fragmented datagrams). */
void gen_set_config(struct gen *g, const struct vw_config *cfg, bool keep_queue);
/* Prefixes (n at most 64 are kept) that frames should hit besides the config's rules and blocks:
 * the entries of block sets filled apart from the config. gen_set_config() forgets them. */
void gen_set_extra(struct gen *g, const struct vw_rule *r, size_t n);
/* The next well-formed frame to a protected port comes from inside src (a prefix) and goes to a
 * port of class id cls (VW_CLASS_NONE: any class). */
void gen_aim(struct gen *g, const struct vw_rule *src, __u8 cls);
/* Bytes of a frame the program sees in its first buffer (bpf_prog_test_run puts the rest in
 * fragments): some frames are built so that a header ends just before or after this point. */
void gen_set_linear(struct gen *g, size_t linear);
/* The next frame. Fragment series are queued and interleaved with other frames. */
void gen_next(struct gen *g, struct gen_frame *f);

/* Hex helpers for reproducers and the regression file. */
void gen_hex_print(FILE *out, const __u8 *data, size_t len);
/* Parse hex (whitespace ignored) into out (cap bytes); returns the length or -EINVAL. */
long gen_hex_parse(const char *s, __u8 *out, size_t cap);

#endif
