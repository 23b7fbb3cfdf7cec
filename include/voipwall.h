/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * voipwall: definitions shared by the XDP program (bpf/) and the voipwall command (user/).
 *
 * Plain C with fixed-width fields only: both clang --target=bpf and the host compiler build it.
 * The layout of the pinned maps described here is a stable interface (see README, "Pinned state").
 *
 * Numbers in the enums below never change; a retired value keeps its slot.
 */
#ifndef VOIPWALL_H
#define VOIPWALL_H

#include <linux/types.h>

/* ---- Limits (each one a reason) ---------------------------------------------------------- */

/* Classes are bits of a __u32 allow mask. */
#define VW_MAX_CLASSES 32
/* Counter/fragment slot used for "no class" (unprotected, malformed, non-IP). */
#define VW_CLASS_NONE VW_MAX_CLASSES
#define VW_CLASS_SLOTS (VW_MAX_CLASSES + 1)
/* Class names are short words (sip, rtp, mgmt); 15 characters and a NUL. */
#define VW_CLASS_NAME_MAX 16

/* Two generations of config: one live, one being built; a reload flips between them. */
#define VW_GENS 2

/* Interfaces one pin directory can serve; counters are sized for this many. */
#define VW_MAX_IFACES 64
/* Counter slot for traffic on an interface that has no slot (e.g. test runs). */
#define VW_IFACE_SLOT_OTHER VW_MAX_IFACES
#define VW_IFACE_SLOTS (VW_MAX_IFACES + 1)
/* vw_ifslot is an array indexed by ifindex; ifindexes at or above this cannot be loaded. */
#define VW_MAX_IFINDEX 65536

/* Every L4 port, per generation. */
#define VW_PORTS 65536

/* IPv4 DIR-24-8-style table: 2^24 /24 entries of 32 bits, packed two to a __u64 (array map
 * elements are 8 bytes at least), so one generation is 64 MiB. One read answers most sources. */
#define VW_V4_TBL24_WORDS (1U << 23)
/* Table entries (vw_v4_tbl24 entries, trie node slots, IPv6 /16 roots, leaf results) share one
 * encoding: bits 30..31 say what the low 30 bits are. */
#define VW_ENT_KIND_SHIFT 30
#define VW_ENT_KIND(e) ((__u32)(e) >> VW_ENT_KIND_SHIFT)
#define VW_ENT_IDX(e) ((__u32)(e) & 0x3fffffffU)
#define VW_ENT_MASK 0U /* bits 0..14: index into vw_masks (0: the empty mask) */
#define VW_ENT_NODE 1U /* index into the generation's vw_nodes: descend one byte */
#define VW_ENT_LEAF 2U /* index into the generation's vw_leaves: compare one prefix */
/* Probe the family's long-prefix table (vw_v4_long, vw_v6) once, at the length in bits 16..23: a
 * hit holds the union of the rules covering the source; a miss falls back to the mask in bits
 * 0..14. Every prefix below this slot has that one length. */
#define VW_ENT_PROBE 3U
#define VW_ENT_PLEN_SHIFT 16
#define VW_ENT_PLEN(e) (((__u32)(e) >> VW_ENT_PLEN_SHIFT) & 0xffU)
#define VW_ENT(kind, idx) (((__u32)(kind) << VW_ENT_KIND_SHIFT) | (__u32)(idx))
/* Entry bits 0..14 (VW_ENT_MASK, VW_ENT_PROBE): index into vw_masks (0 is the empty mask). */
#define VW_TBL24_MASK_BITS 15
#define VW_TBL24_MASK_IDX ((1U << VW_TBL24_MASK_BITS) - 1)
/* Distinct class masks one generation can hold: every index the entry's mask field can name. */
#define VW_MAX_MASKS (VW_TBL24_MASK_IDX + 1)
#ifndef __bpf__
_Static_assert(VW_TBL24_MASK_BITS <= VW_ENT_PLEN_SHIFT, "mask index overlaps the probe length");
_Static_assert(VW_ENT_PLEN_SHIFT + 8 <= VW_ENT_KIND_SHIFT, "probe length overlaps the kind");
#endif

/* First levels of the IPv4 lookup, small enough to stay in cache under a flood of random
 * sources: one bit per /16 (8 KiB) and one bit per /24 (2 MiB) that holds any rule. A source
 * whose bit is clear is answered without reading the 64 MiB tbl24. */
#define VW_V4_B16_WORDS (1U << 10)
#define VW_V4_B24_WORDS (1U << 18)

/* Trie nodes (vw_nodes): 256 entries, one per value of the next address byte. They hold the
 * IPv4 /24s whose longer rules have several lengths, and the IPv6 rules below their /16 (shorter
 * than /32) or /32 wherever several lengths meet. A node slot holds the union of the rules
 * covering every address below it (controlled prefix expansion), so the walk ends at the first
 * slot that is not a node: a mask, a leaf (one prefix) or a probe (prefixes of one length). */
#define VW_NODE_FANOUT 256
struct vw_node {
	__u32 e[VW_NODE_FANOUT];
};
/* A subtree holding a single prefix is one leaf instead of a chain of nodes: the source matches
 * it (entry in) or not (entry out). */
struct vw_leaf {
	__u8 addr[16]; /* network order, host bits zero */
	__u32 plen;
	__u32 in;  /* VW_ENT_MASK entry: the union of the rules covering the prefix */
	__u32 out; /* VW_ENT_MASK entry: the union of the rules covering the slot it hangs from */
	__u32 pad;
};
/* Nodes one generation can hold: a fixed array (32 MiB a generation), so the program reads a node
 * with an inlined array access, not a call, and a 12-node walk stays cheap. Leaves are sized per
 * build; their limit bounds a hostile config's kernel memory at 128 MiB. Index 0 is never used. */
#define VW_MAX_NODES (1U << 15)
#define VW_MAX_LEAVES (4U << 20)

/* vw_v6_root16: per generation, one entry per /16 for the IPv6 rules shorter than /32: a mask
 * (rules up to /16), or a node or leaf for /17../31 below it. */
#define VW_V6_ROOT16 65536

/* The most map lookups the allowlist decision makes for one source, whatever the config (a
 * test counts them), and never more than one hash probe: IPv4 /16 bit, /24 bit, tbl24, then a
 * node or a probe (the two buckets of vw_v4_long, no hash), then the mask. IPv6: bitmap, /32
 * filter (its two buckets), up to 12 nodes, a leaf or a probe (with its outer map), the mask; a
 * source without a /32 entry: /16 root, up to 2 nodes, a leaf or a probe, the mask. */
#define VW_V4_MAX_LOOKUPS 6
#define VW_V6_MAX_LOOKUPS (3 + 12 + 2 + 1)

/* IPv6 prefix lengths 0..128. */
#define VW_V6_LENS 129

/* Rules (allow statements, one prefix each) one generation can hold: 4M keeps a generation's
 * rule record at 96 MiB while leaving room beyond the 1,000,000 prefixes we promise. */
#define VW_MAX_RULES (4U << 20)
/* vw_v6 entries one generation can hold. */
#define VW_MAX_V6 (4U << 20)

/* Fragments whose first fragment was seen: enough for ~64k datagrams in flight. */
#define VW_FRAG_LRU_SIZE 65536
/* A remembered first-fragment verdict lives as long as the kernel keeps the datagram's fragments
 * for reassembly: the defaults of net.ipv4.ipfrag_time (30 s) and net.ipv6.ip6frag_time (60 s).
 * A later fragment arriving after that cannot join the old first fragment in the kernel. */
#define VW_FRAG_TIMEOUT_V4_NS (30ULL * 1000000000ULL)
#define VW_FRAG_TIMEOUT_V6_NS (60ULL * 1000000000ULL)
/* Sources seen dropped/monitored, read by `voipwall top`. */
#define VW_SRC_LRU_SIZE 65536
/* Recording a dropped source is a hash update, the costliest step of the drop path: a new source
 * is an LRU insert, which under a flood of random sources also evicts. Each CPU records every drop
 * up to VW_SRC_EXACT drops per VW_SRC_WINDOW_NS (10k drops/s: a scanner, which sends tens to
 * hundreds of requests a second, is counted exactly); past that, one drop in VW_SRC_SAMPLE is
 * recorded with weight VW_SRC_SAMPLE, so `top` still ranks a flood's sources while the filter
 * keeps line rate. The LRU lists are per CPU (BPF_F_NO_COMMON_LRU): a CPU that inserts or evicts
 * takes no lock another CPU waits on. */
#define VW_SRC_WINDOW_NS 100000000ULL
#define VW_SRC_EXACT 1000
#define VW_SRC_SAMPLE 64

/* IPv6 extension headers walked before giving up (RFC 8200 places no limit; RFC 9098 notes
 * long chains are an evasion tool). A chain longer than this is dropped as malformed. */
#define VW_MAX_IPV6_EXT 12
/* VLAN tags parsed (802.1Q 0x8100 and 802.1ad 0x88a8 in any order); a third tag is malformed. */
#define VW_MAX_VLAN 2
/* The longest link-layer header judged: Ethernet (14), two VLAN tags (8), PPPoE (6) and PPP (2). */
#define VW_MAX_LINK_BYTES (14 + 4 * VW_MAX_VLAN + 6 + 2)

/* ---- Verdicts and reasons ------------------------------------------------------------------ */

enum vw_verdict {
	VW_VERDICT_PASS = 0,
	VW_VERDICT_DROP = 1,
	VW_VERDICT_MONITOR = 2, /* would drop, passed because the class policy is monitor */
	VW_VERDICT_MAX
};

enum vw_reason {
	VW_REASON_ALLOWLISTED = 0,      /* protected class, source allowlisted for it */
	VW_REASON_NOT_ALLOWLISTED = 1,  /* protected class, source not allowlisted for it */
	VW_REASON_UNPROTECTED = 2,      /* IP, but no class (port not protected, or no ports) */
	VW_REASON_MALFORMED = 3,        /* truncated or inconsistent L2/L3/L4 header, tiny fragment */
	VW_REASON_FRAGMENT = 4,         /* later fragment following its first fragment's verdict */
	VW_REASON_FRAGMENT_UNKNOWN = 5, /* later fragment whose first fragment was not seen */
	VW_REASON_NON_IP = 6,           /* neither IPv4 nor IPv6 */
	VW_REASON_OPEN = 7,             /* class with policy open: every source passes */
	VW_REASON_RATE_LIMITED = 8,     /* over the class's rate for this source */
	VW_REASON_BANNED = 9,           /* source banned from the class after going over the rate */
	VW_REASON_BLOCKLISTED = 10,     /* source in a block set for the class */
	VW_REASON_MAX
};

/* L4 protocols that carry ports we classify. */
enum vw_l4 {
	VW_L4_UDP = 0,
	VW_L4_TCP = 1,
	VW_L4_SCTP = 2,
	VW_L4_MAX
};

/* What a class does with a packet from a source not allowlisted for it (the config's
 * `policy NAME`; names in user/names.c). */
enum vw_policy {
	VW_POLICY_DROP = 0,
	VW_POLICY_MONITOR = 1, /* count it as monitor, pass it */
	VW_POLICY_OPEN = 2,    /* every source passes (reason open), subject to rate and block sets */
	VW_POLICY_MAX
};

/* ---- Maps ---------------------------------------------------------------------------------- */

/* Every map of the program, named vw_<name>, in one list:
 *   PINNED(name)   a map of the pinned state: pinned as DIR/vw_<name>, kept across loads (its
 *                  fd is a field of userspace's struct vw_maps);
 *   KEPT(name)     a PINNED map that also outlives the unload of the last interface (the block
 *                  sets the feeders fill): unload --all leaves it in DIR, the next load reuses
 *                  it, unload --all --purge removes it (docs/cli.md, "Pinned state");
 *   PROGRAM(name)  a map only the program holds, never pinned: it lives as long as the program
 *                  (capture finds its maps through the pinned program).
 * struct vw_maps, vw_map_descs and VW_NUM_MAPS are generated from it; the build checks it against
 * the skeleton both ways (user/maps.c) and a unit test checks the pin directory table of
 * docs/cli.md against it. A new map is added here. */
#define VW_MAPS(PINNED, KEPT, PROGRAM)                                                             \
	PINNED(active)                                                                             \
	PINNED(gen_cfg)                                                                            \
	PINNED(ports)                                                                              \
	PINNED(v4_tbl24)                                                                           \
	PINNED(masks)                                                                              \
	PINNED(v4_long)                                                                            \
	PINNED(v6)                                                                                 \
	PINNED(v6_f32)                                                                             \
	PINNED(v6_bloom)                                                                           \
	PINNED(rules)                                                                              \
	PINNED(ifslot)                                                                             \
	PINNED(ifaces)                                                                             \
	PINNED(counters)                                                                           \
	PINNED(frags)                                                                              \
	PINNED(sources)                                                                            \
	PINNED(v6_root16)                                                                          \
	PINNED(v4_b16)                                                                             \
	PINNED(v4_b24)                                                                             \
	PINNED(nodes)                                                                              \
	PINNED(leaves)                                                                             \
	PINNED(flood)                                                                              \
	PINNED(buckets)                                                                            \
	PINNED(bans)                                                                               \
	PINNED(exempt)                                                                             \
	KEPT(block)                                                                                \
	KEPT(block_sets)                                                                           \
	KEPT(block_meta)                                                                           \
	PROGRAM(src_rate)                                                                          \
	PROGRAM(link_end)                                                                          \
	PROGRAM(cap_ring)                                                                          \
	PROGRAM(cap_cpu)                                                                           \
	PROGRAM(cap_buf)
#define VW_MAP_NONE(name)
#define VW_MAP_ONE(name) +1
/* Maps of the pinned state (kept ones included). */
#define VW_NUM_MAPS (0 VW_MAPS(VW_MAP_ONE, VW_MAP_ONE, VW_MAP_NONE))
/* Maps of the pinned state that outlive the unload of the last interface. */
#define VW_NUM_KEPT_MAPS (0 VW_MAPS(VW_MAP_NONE, VW_MAP_ONE, VW_MAP_NONE))
/* Every map of the program. */
#define VW_NUM_PROGRAM_MAPS (0 VW_MAPS(VW_MAP_ONE, VW_MAP_ONE, VW_MAP_ONE))

/* ---- Map values and keys ------------------------------------------------------------------- */

/* vw_counters: PERCPU_ARRAY of struct vw_counter, indexed by VW_COUNTER_INDEX(). */
struct vw_counter {
	__u64 packets;
	__u64 bytes;
};
#define VW_COUNTER_INDEX(slot, cls, verdict, reason)                                               \
	((((slot) * VW_CLASS_SLOTS + (cls)) * VW_VERDICT_MAX + (verdict)) * VW_REASON_MAX + (reason))
/* The cells of one interface slot are consecutive: VW_COUNTER_INDEX(slot, 0, 0, 0) onwards. */
#define VW_COUNTERS_PER_SLOT (VW_CLASS_SLOTS * VW_VERDICT_MAX * VW_REASON_MAX)
#define VW_COUNTERS (VW_IFACE_SLOTS * VW_COUNTERS_PER_SLOT)
/* The inverse of VW_COUNTER_INDEX: the parts of cell k (a unit test checks every cell). */
#define VW_COUNTER_REASON(k) ((k) % VW_REASON_MAX)
#define VW_COUNTER_VERDICT(k) ((k) / VW_REASON_MAX % VW_VERDICT_MAX)
#define VW_COUNTER_CLASS(k) ((k) / (VW_REASON_MAX * VW_VERDICT_MAX) % VW_CLASS_SLOTS)
#define VW_COUNTER_SLOT(k) ((k) / VW_COUNTERS_PER_SLOT)
#ifndef __bpf__
_Static_assert(VW_COUNTER_INDEX(1, 0, 0, 0) == VW_COUNTERS_PER_SLOT, "slot cells not consecutive");
_Static_assert(VW_COUNTER_SLOT(VW_COUNTERS - 1) == VW_IFACE_SLOT_OTHER &&
		       VW_COUNTER_CLASS(VW_COUNTERS - 1) == VW_CLASS_NONE &&
		       VW_COUNTER_VERDICT(VW_COUNTERS - 1) == VW_VERDICT_MAX - 1 &&
		       VW_COUNTER_REASON(VW_COUNTERS - 1) == VW_REASON_MAX - 1,
	       "VW_COUNTER_SLOT/CLASS/VERDICT/REASON do not invert VW_COUNTER_INDEX");
#endif

/* vw_ifslot: ARRAY[VW_MAX_IFINDEX] of __u32, ifindex -> counter slot + 1 (0: no slot). */

/* vw_active: ARRAY[1] of __u32, the live generation (0 or 1). */

/* vw_gen_cfg: ARRAY[VW_GENS] of struct vw_gen_cfg. The program reads monitor_mask and the IPv6
 * lengths; the rest describes the generation to userspace (status, allow list). */
#define VW_GEN_BUILTIN 0x1U /* built from the built-in default config */
#define VW_SOURCE_MAX 256
struct vw_gen_cfg {
	__u32 class_mask;   /* bit c: class c is defined */
	__u32 monitor_mask; /* bit c: class c has policy monitor (else drop) */
	__u32 flags;        /* VW_GEN_* */
	__u32 nrules;       /* entries used in this generation's vw_rules inner map */
	__u32 nrules_v4;
	__u32 nrules_v6;
	__u32 v6_nlens;     /* entries used in v6_lens (informational) */
	__u32 serial;       /* incremented by every apply (load, reload, allow add/del) */
	__u64 applied_realtime_ns;
	__u8 v6_lens[VW_V6_LENS + 3]; /* lengths < VW_V6_SPLIT in vw_v6, longest first */
	char source[VW_SOURCE_MAX];   /* config file path, or "(built-in)" */
	char class_names[VW_MAX_CLASSES][VW_CLASS_NAME_MAX];
};

/* vw_ports: ARRAY[VW_GENS * VW_PORTS], index gen * VW_PORTS + destination port (host order).
 * cls[l4] & VW_PORT_CLS is class + 1 for that protocol, 0 when the port is in no class;
 * VW_PORT_MONITOR is set when that class's policy is monitor (the drop path then needs no
 * other lookup to decide). */
#define VW_PORT_CLS 0x3fU
#define VW_PORT_OPEN 0x40U /* policy open: sources not allowlisted pass (reason open) */
#define VW_PORT_MONITOR 0x80U
struct vw_port_cls {
	__u8 cls[4]; /* indexed by enum vw_l4; cls[3] unused */
};

/* vw_v4_tbl24: ARRAY[VW_GENS * VW_V4_TBL24_WORDS] of __u64, mmapable.
 * For source address a (host order): word = gen * VW_V4_TBL24_WORDS + (a >> 9),
 * entry = (__u32)(word >> (32 * ((a >> 8) & 1))). */
#define VW_TBL24_WORD(gen, a) ((gen) * VW_V4_TBL24_WORDS + ((a) >> 9))
#define VW_TBL24_SHIFT(a) (32 * (((a) >> 8) & 1))

/* vw_masks: ARRAY[VW_GENS * VW_MAX_MASKS] of __u32, mmapable: gen * VW_MAX_MASKS + index ->
 * class mask. Index 0 always holds 0. */

/* A cuckoo table (vw_v4_long, vw_v6_f32): a fixed, mmapable ARRAY of 64-byte buckets,
 * VW_CUCKOO_BUCKETS per generation. A key sits in one of its two buckets, VW_CUCKOO_H1 or
 * VW_CUCKOO_H2 of its generation's half; userspace moves keys between their two buckets to make
 * room (cuckoo hashing). The program reads both buckets as plain array elements, inlined, so a
 * lookup costs two cache lines and no call (a hash map probe is a call into the kernel). */
#define VW_CUCKOO_BUCKETS_LOG 18
#define VW_CUCKOO_BUCKETS (1U << VW_CUCKOO_BUCKETS_LOG)
#define VW_CUCKOO_SLOTS 7
struct vw_cuckoo_bucket {
	__u32 key[VW_CUCKOO_SLOTS];
	__u32 val[VW_CUCKOO_SLOTS];
	__u32 used; /* bit s: slot s holds a key */
	__u32 pad;
};
/* Two multiplicative hashes of a 32-bit key, independent of each other and of
 * VW_V6_BLOOM_HASH. */
#define VW_CUCKOO_H1(key) (((__u32)(key) * 0x85EBCA6BU) >> (32 - VW_CUCKOO_BUCKETS_LOG))
#define VW_CUCKOO_H2(key)                                                                          \
	((((__u32)(key) ^ 0x5BD1E995U) * 0xC2B2AE35U) >> (32 - VW_CUCKOO_BUCKETS_LOG))
/* Keys one generation of a cuckoo table holds: at most 57% of the slots (16 MiB a
 * generation). */
#define VW_MAX_CUCKOO_KEYS (1U << 20)

/* vw_v4_long: a cuckoo table, one key per /25../32 prefix in a /24 whose longer rules all have
 * one length (a VW_ENT_PROBE tbl24 entry, which gives the length; /24s with several lengths are
 * nodes). Key: the address masked to that length, network order, as loaded; value: the class
 * mask, the union of the masks of all rules covering that prefix. Under one /24 every key has the
 * probe's length, so the masked address alone names the prefix. */

/* vw_v6: ARRAY_OF_MAPS[VW_GENS] -> HASH, key struct vw_v6_key (address masked to plen), one per
 * prefix below a VW_ENT_PROBE slot, value __u32 class mask: the union of the masks of all rules
 * covering that prefix. */
struct vw_v6_key {
	__u32 plen;
	__u8 addr[16];
};

/* vw_v6_f32: a cuckoo table, one key per /32 that holds rules of length >= 32: the address's
 * first 4 bytes, as loaded; value: the VW_ENT_* root entry for the bytes after the /32. A source
 * whose /32 has no entry is answered by vw_v6_root16 (rules shorter than /32); one whose /32 has
 * an entry walks from its root: a mask (rules up to /32 only), a probe (its longer rules have one
 * length), a leaf (one longer rule) or the node of a trie. */
#define VW_V6_SPLIT 32 /* vw_v6_f32 keys are /32s; v6_lens lists the lengths below this */

/* vw_v6_root16: ARRAY[VW_GENS * VW_V6_ROOT16] of __u32 entries, mmapable, index gen *
 * VW_V6_ROOT16 + the address's first 16 bits. vw_nodes: ARRAY[VW_GENS * VW_MAX_NODES] of struct
 * vw_node, mmapable, index gen * VW_MAX_NODES + node. vw_leaves: ARRAY_OF_MAPS[VW_GENS] -> ARRAY
 * (BPF_F_INNER_MAP, sized per generation) of struct vw_leaf.
 * vw_v4_b16, vw_v4_b24: ARRAY[VW_GENS * VW_V4_B16_WORDS / B24_WORDS] of __u64, mmapable: bit
 * (a >> 16) and (a >> 8) of the generation's half. */

/* vw_v6_bloom: ARRAY[VW_GENS * VW_V6_BLOOM_WORDS] of __u64, mmapable: one bit per hash of a /32,
 * set for every vw_v6_f32 key. A source whose bit is clear skips the vw_v6_f32 probe, so the miss
 * path reads one cache line of a fixed 2 MiB table whatever the allowlist's size. */
#define VW_V6_BLOOM_BITS_LOG 24
#define VW_V6_BLOOM_WORDS (1U << (VW_V6_BLOOM_BITS_LOG - 6))
/* hi32: the address's first 4 bytes loaded as a __u32 (the vw_v6_f32 key). */
#define VW_V6_BLOOM_HASH(hi32) (((__u32)(hi32) * 0x9E3779B1U) >> (32 - VW_V6_BLOOM_BITS_LOG))

/* vw_rules: ARRAY_OF_MAPS[VW_GENS] -> ARRAY (BPF_F_INNER_MAP | BPF_F_MMAPABLE, sized per
 * generation) of struct vw_rule: the allow statements as applied, for userspace only. */
#define VW_FAMILY_V4 4
#define VW_FAMILY_V6 6
struct vw_rule {
	__u8 family; /* VW_FAMILY_V4 or VW_FAMILY_V6 */
	__u8 plen;
	__u16 pad;
	__u32 mask; /* classes this prefix is allowed for */
	__u8 addr[16]; /* IPv4 in addr[0..3], network order; host bits zero */
};

/* vw_frags: LRU_HASH, first-fragment verdicts. Addresses are IPv4-mapped IPv6 for IPv4. */
struct vw_frag_key {
	__u8 family; /* VW_FAMILY_V4 or VW_FAMILY_V6 */
	__u8 proto;  /* IPv4 protocol, or the IPv6 fragment header's next header */
	__u16 pad;
	__u32 id;    /* IPv4 identification (16 bits) or IPv6 fragment identification */
	__u8 saddr[16];
	__u8 daddr[16];
};
struct vw_frag_val {
	__u8 verdict; /* enum vw_verdict */
	__u8 cls;     /* class, or VW_CLASS_NONE */
	__u8 reason;  /* the first fragment's reason */
	__u8 pad[5];
	__u64 expires_ns; /* CLOCK_MONOTONIC: first fragment + VW_FRAG_TIMEOUT_V4_NS / _V6_NS */
};

/* vw_sources: LRU_HASH, sources whose packets got verdict drop or monitor (sampled under a flood,
 * see VW_SRC_EXACT). vw_src_rate: PERCPU_ARRAY[1] of struct vw_src_rate, the per-CPU window. */
struct vw_src_rate {
	__u64 window_start_ns;
	__u64 drops; /* in this window */
};
struct vw_src_key {
	__u8 addr[16]; /* IPv4-mapped IPv6 for IPv4 */
};
struct vw_src_val {
	__u64 packets;
	__u64 bytes;
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC_COARSE */
	__u32 last_class;   /* class, or VW_CLASS_NONE */
	__u32 last_reason;
};

#ifndef __bpf__
_Static_assert(sizeof(struct vw_counter) == 16, "vw_counter layout");
_Static_assert(sizeof(struct vw_port_cls) == 4, "vw_port_cls layout");
_Static_assert(sizeof(struct vw_v6_key) == 20, "vw_v6_key layout");
_Static_assert(sizeof(struct vw_cuckoo_bucket) == 64, "vw_cuckoo_bucket layout");
_Static_assert(sizeof(struct vw_node) == 1024, "vw_node layout");
_Static_assert(sizeof(struct vw_leaf) == 32, "vw_leaf layout");
_Static_assert(sizeof(struct vw_rule) == 24, "vw_rule layout");
_Static_assert(sizeof(struct vw_frag_key) == 40, "vw_frag_key layout");
_Static_assert(sizeof(struct vw_frag_val) == 16, "vw_frag_val layout");
_Static_assert(sizeof(struct vw_src_val) == 32, "vw_src_val layout");
#endif

/* ---- Flood control: rate limits, bans, block sets (docs/flood.md) ------------------------- */

/* Token buckets of (class, source): enough for the sources a gateway talks to at once; an
 * evicted bucket comes back full, which only errs towards letting a source in. */
#define VW_BUCKETS 131072
/* Bans in force, kept apart from the buckets so a flood of fresh sources cannot evict them. */
#define VW_BANS 65536
/* Named block sets (fail2ban, apiban, crowdsec, config, manual, ...): one hash table each. */
#define VW_BLOCK_SETS 16
#define VW_BLOCK_SET_NAME_MAX 16
/* Entries one block set can hold. */
#define VW_BLOCK_MAX_ENTRIES (4U << 20)
/* A set's table is allocated whole when the set is filled (about 100 bytes an entry, so that
 * adding costs no allocation), sized for its entries and a quarter more, at least this many; a
 * set that outgrows it is rebuilt larger. */
#define VW_BLOCK_MIN_CAPACITY 4096U
/* Entries of one set looked at per packet: the longest match, then shorter covering entries
 * when the longer one does not apply (expired, other classes), this many in all. */
#define VW_BLOCK_TRIES 4
/* Fastest rate: one packet per 100 ns keeps the rounding of the interval under 0.5%. */
#define VW_RATE_MAX_PER_SEC 10000000U
#define VW_BURST_MAX 10000000U
/* Longest ban: a year. */
#define VW_BAN_MAX_SECS (365U * 86400U)
#define VW_V6_RATE_PLEN_DEFAULT 64

/* Per class and generation, in vw_flood. A bucket follows GCRA (the virtual-scheduling form of a
 * token bucket): tat is the time the bucket would be full again; a packet passes when
 * tat - now <= burst_ns and then moves tat on by interval_ns. burst B means B packets may pass at
 * once, then one per interval. */
#define VW_FLOOD_OPEN 0x1U /* policy open */
struct vw_class_flood {
	__u64 interval_ns; /* 0: no rate limit */
	__u64 burst_ns;    /* (burst - 1) * interval_ns */
	__u64 ban_ns;      /* 0: no ban */
	__u32 rate;        /* as configured: packets per rate_unit seconds */
	__u32 burst;
	__u32 ban_secs;
	__u8 rate_unit;    /* 1 (N/s) or 60 (N/m) */
	__u8 v6_plen;      /* IPv6 sources share a bucket per this prefix */
	__u8 flags;        /* VW_FLOOD_* */
	__u8 pad;
};

/* vw_flood: ARRAY[1] of struct vw_flood_state, mmapable: the program's flags and per-class
 * settings in one inlined array read (the cost of a global variable), written in place by
 * userspace. block_sets says which vw_block slots hold entries (0: no block lookup at all);
 * rate_mask/exempt_mask[gen] say which classes of a generation have a rate, exempt rules. */
struct vw_flood_state {
	__u32 block_sets;
	__u32 pad;
	__u32 rate_mask[VW_GENS];
	__u32 exempt_mask[VW_GENS];
	struct vw_class_flood cls[VW_GENS][VW_MAX_CLASSES];
};

/* vw_buckets (LRU_HASH) and vw_bans (LRU_HASH) keys: the class and the source, IPv4 as
 * IPv4-mapped IPv6, IPv6 masked to the class's rate prefix. The family keeps an IPv6 source
 * apart from an IPv4 one whatever its bits (::ffff:a.b.c.d per /96 or longer is not a.b.c.d). */
struct vw_flood_key {
	__u8 cls;
	__u8 family; /* VW_FAMILY_V4 or VW_FAMILY_V6 */
	__u16 pad;
	__u8 addr[16];
};
struct vw_bucket {
	__u64 tat;          /* GCRA theoretical arrival time, ns */
	__u64 banned_until; /* copy of the vw_bans entry, ns; 0: not banned */
};
struct vw_ban {
	__u64 until_ns; /* clock of the data path (CLOCK_MONOTONIC) */
	__u64 since_ns;
};

/* Keys of the exempt tries (vw_exempt) and the block tables (vw_block): one map for both
 * families. data[0] is the family (4 or 6), data[4..] the address (4 or 16 bytes, bits past the
 * prefix zero); prefixlen = 32 + prefix length, so an IPv6 prefix never covers an IPv4 address. */
#define VW_LPM_FAMILY_BITS 32
struct vw_lpm_key {
	__u32 prefixlen;
	__u8 data[20];
};

/* vw_exempt: ARRAY_OF_MAPS[VW_GENS] -> LPM_TRIE of struct vw_lpm_key -> __u32 class mask: the
 * allow rules marked exempt (never rate-limited or banned for those classes). */

/* vw_block: ARRAY_OF_MAPS[VW_BLOCK_SETS] -> HASH of struct vw_lpm_key -> struct vw_block_val,
 * one table per set, keyed by exact prefix (the address masked to its length; data and
 * prefixlen as in the tries). A lookup tries the lengths the set holds (vw_block_set.lens),
 * longest first: its cost follows the number of lengths, not of entries. `block replace` swaps a
 * whole table in one update. */
#define VW_BLOCK_OVERRIDE 0x1U /* also blocks sources allowlisted for the class */
#define VW_BLOCK_ALL_CLASSES 0xffffffffU
struct vw_block_val {
	__u64 expires_ns; /* data-path clock; 0: never */
	__u32 mask;       /* classes (ids), or VW_BLOCK_ALL_CLASSES */
	__u8 plen;        /* the key's prefixlen - 32, so a lookup can step to shorter entries */
	__u8 flags;       /* VW_BLOCK_* */
	__u16 pad;
	__u64 added_realtime_ns;
};

/* vw_block_sets: ARRAY[VW_BLOCK_SETS] of struct vw_block_set, the sets' names and the prefix
 * lengths each holds (an empty name is a free slot). The program reads only lens4/lens6. */
struct vw_block_set {
	char name[VW_BLOCK_SET_NAME_MAX];
	__u64 created_realtime_ns;
	__u64 entries; /* kept by the commands that change the set */
	/* vw_flood_now() clock: no entry of the set expires before this; 0: none expires. A
	 * command sweeps a set only once this has passed, not on every change. */
	__u64 next_expiry_ns;
	/* Prefix lengths the set may hold, bit L for /L: IPv4 /0../32 in lens4, IPv6 /0../128 in
	 * lens6 (bit L of word L / 64). A bit may outlive its last entry (a lookup that misses);
	 * a length with entries always has its bit. */
	__u64 lens4;
	__u64 lens6[3];
};

/* vw_block_meta: ARRAY[1] of struct vw_block_meta, what a later voipwall needs to read the kept
 * block sets (userspace only): the layout they were written in, and the class names their masks
 * mean (bit c: class_names[c], as the last config loaded named class id c). */
/* Bump when struct vw_block_val, vw_block_set, vw_block_meta or vw_lpm_key, the way a set's table
 * is keyed, or the type or size of vw_block, its tables or vw_block_sets change: a load then refuses the sets kept by an older
 * voipwall instead of misreading them. */
#define VW_BLOCK_LAYOUT 1
struct vw_block_meta {
	__u32 layout;     /* VW_BLOCK_LAYOUT of the voipwall that wrote the sets */
	__u32 class_mask; /* bit c: class_names[c] is set */
	char class_names[VW_MAX_CLASSES][VW_CLASS_NAME_MAX];
};

#ifndef __bpf__
_Static_assert(sizeof(struct vw_block_meta) == 8 + VW_MAX_CLASSES * VW_CLASS_NAME_MAX,
	       "vw_block_meta layout");
_Static_assert(sizeof(struct vw_class_flood) == 40, "vw_class_flood layout");
_Static_assert(sizeof(struct vw_flood_key) == 20, "vw_flood_key layout");
_Static_assert(sizeof(struct vw_lpm_key) == 24, "vw_lpm_key layout");
_Static_assert(sizeof(struct vw_block_val) == 24, "vw_block_val layout");
_Static_assert(sizeof(struct vw_block_set) == 72, "vw_block_set layout");
#endif

/* vw_ifaces: ARRAY[VW_MAX_IFACES] of struct vw_iface, the attached interfaces (userspace
 * registry; the program only reads vw_ifslot). ifindex 0 marks a free slot. */
#define VW_MODE_NATIVE 1
#define VW_MODE_SKB 2
/* mode flag: attached as a component of libxdp's dispatcher, sharing the interface with other
 * XDP programs; link_id is then 0 and prog_id the component's id */
#define VW_MODE_MULTIPROG 0x100U
/* The interface has no link-layer header: the raw-IP entry point (voipwall_xdp_ip) judges it. */
#define VW_MODE_RAW_IP 0x200U
#define VW_MODE_BASE(m) ((m) & 0xffU) /* VW_MODE_NATIVE or VW_MODE_SKB */
#define VW_IFNAME_MAX 16
struct vw_iface {
	__u32 ifindex;
	__u32 mode; /* VW_MODE_* */
	__u32 link_id;
	__u32 prog_id;
	__u64 attached_realtime_ns;
	char name[VW_IFNAME_MAX];
};

#ifndef __bpf__
_Static_assert(sizeof(struct vw_iface) == 40, "vw_iface layout");
#endif

/* ---- Capture (voipwall capture) ------------------------------------------------------------ */

/* Bytes of a frame one sample can carry (the longest --snaplen): a 9000-byte jumbo frame with its
 * headers fits, and the per-CPU scratch value stays under the 32 KiB per-CPU allocation limit. */
#define VW_CAPTURE_SNAP_MAX 16384
/* The ring the samples travel through: at the default rate, seconds of samples even on many CPUs,
 * while costing 4 MiB of kernel memory whether a capture runs or not. */
#define VW_CAPTURE_RING_BYTES (4U << 20)
/* Samples per second per CPU unless --rate says otherwise. */
#define VW_CAPTURE_RATE_DEFAULT 1000
/* The rate limit's window: budget `rate` samples per CPU per window. */
#define VW_CAPTURE_WINDOW_NS 1000000000ULL
/* Past its budget, a CPU reads the clock (to notice a new window or the expiry) once every this
 * many matching packets: a flood costs a counter increment per packet, not a clock read. */
#define VW_CAPTURE_CLOCK_EVERY 64
/* A running capture pushes the expiry this far ahead every VW_CAPTURE_REFRESH_NS; one that dies
 * without cleaning up (kill -9) stops the data path from copying within VW_CAPTURE_TTL_NS. */
#define VW_CAPTURE_TTL_NS 5000000000ULL
#define VW_CAPTURE_REFRESH_NS 1000000000ULL

/* vw_capture (global variable, section .data.capture, map ".data.capture"): what the data path
 * copies. The program tests until_ns on every packet (one load and a branch); everything else is
 * read only while it is non-zero. Userspace writes the filters with until_ns = 0, then the whole
 * value again with until_ns set. */
struct vw_capture_ctl {
	__u64 until_ns;      /* bpf_ktime_get_ns() expiry; 0: no capture */
	__u64 iface_mask[2]; /* bit s: interface slot s (VW_IFACE_SLOT_OTHER included) */
	__u64 class_mask;    /* bit c: class c, bit VW_CLASS_NONE: no class */
	__u32 verdict_mask;  /* bit v: enum vw_verdict */
	__u32 reason_mask;   /* bit r: enum vw_reason */
	__u32 snaplen;       /* 1..VW_CAPTURE_SNAP_MAX */
	__u32 rate;          /* samples per CPU per VW_CAPTURE_WINDOW_NS */
	__u32 session;       /* copied into every sample: a capture skips older ones */
	__u32 owner_pid;     /* the capture's process, for messages */
};

/* vw_cap_ring: RINGBUF of samples, each a struct vw_capture_hdr and cap_len frame bytes. */
struct vw_capture_hdr {
	__u64 ts_ns;   /* bpf_ktime_get_ns() */
	__u32 session;
	__u32 ifindex;
	__u32 pkt_len; /* the whole frame, all buffers */
	__u32 cap_len; /* bytes that follow: min(pkt_len, snaplen) */
	__u8 slot;     /* interface slot */
	__u8 cls;      /* class, or VW_CLASS_NONE */
	__u8 verdict;
	__u8 reason;
	__u32 pad;
};

/* vw_cap_cpu: PERCPU_ARRAY[1], each CPU's rate window and what became of matching packets. */
struct vw_capture_cpu {
	__u64 window_start_ns;
	__u64 used;        /* samples in this window */
	__u64 captured;    /* samples written to the ring */
	__u64 lost;        /* samples the ring had no room for */
	__u64 ratelimited; /* matching packets past the budget */
};

#ifndef __bpf__
_Static_assert(sizeof(struct vw_capture_ctl) == 56, "vw_capture_ctl layout");
_Static_assert(sizeof(struct vw_capture_hdr) == 32, "vw_capture_hdr layout");
_Static_assert(sizeof(struct vw_capture_cpu) == 40, "vw_capture_cpu layout");
#endif

/* Names of the pinned objects under the pin directory. */
#define VW_PIN_LINK_FMT "link_%u" /* one bpf_link per attached ifindex */
#define VW_PIN_PROG "prog"	  /* voipwall_xdp: interfaces with an Ethernet header */
#define VW_PIN_PROG_IP "prog_ip" /* voipwall_xdp_ip: interfaces without a link-layer header */

#endif /* VOIPWALL_H */
