/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Running the real XDP program in tests: open and load the skeleton (maps unpinned, private to the
 * test), get the map fds as a struct vw_maps, run frames with bpf_prog_test_run_opts, and read
 * the per-CPU counters summed over CPUs.
 */
#ifndef VW_TEST_XDPTEST_H
#define VW_TEST_XDPTEST_H

#include <stddef.h>
#include <linux/types.h>
#include "voipwall.h"
#include "tables.h"

struct voipwall_bpf;

struct xdptest {
	struct voipwall_bpf *skel;
	struct vw_maps maps;
	int prog_fd;	/* voipwall_xdp: frames start with an Ethernet header */
	int prog_ip_fd; /* voipwall_xdp_ip: frames start at the IP header (tun, PPP, tunnels) */
	int link_ip;	/* xdptest_run runs prog_ip_fd when set */
	int ncpus;
	struct vw_counter *percpu; /* scratch: VW_COUNTERS * ncpus values */
	__u32 *keys;		   /* scratch: VW_COUNTERS keys */
};

/* Open the skeleton (not loaded). The program is the one built into the skeleton, or the object
 * file VW_TEST_BPF_OBJ names (make mutate: a changed program without rebuilding the tests; its
 * maps and read-only data must be laid out as the skeleton's). NULL with errno set on failure. */
struct voipwall_bpf *xdptest_open_skel(void);
/* Open and load the skeleton with every dropped source recorded (no flood sampling, see
 * VW_SRC_EXACT), so tests can model vw_sources exactly; NULL with errno set on failure. */
struct voipwall_bpf *xdptest_load_exact(void);
/* The same with vw_src_exact set to src_exact (sampling past that many drops per window). */
struct voipwall_bpf *xdptest_load(__u32 src_exact);
/* Open and load the skeleton and fill t->maps. libbpf's messages are shown only when the
 * environment has VW_TEST_VERBOSE set. Returns 0 or -errno (with a message on stderr). */
int xdptest_open(struct xdptest *t);
void xdptest_close(struct xdptest *t);

/* Bytes of a frame that test_run puts in the first buffer; the rest goes to fragments. */
size_t xdptest_linear_size(void);
/* Run one frame through the program once, as received on ingress_ifindex (0: none, or 1: lo;
 * counters land in the slot vw_ifslot gives that ifindex, VW_IFACE_SLOT_OTHER by default).
 * Frames shorter than an Ethernet header are run behind XDP metadata so the program would see
 * exactly len bytes; kernels that refuse a frame under 14 bytes after the metadata (6.18 does)
 * return -EINVAL for them. Returns 0 with the XDP action, or -errno. */
int xdptest_run(struct xdptest *t, const void *frame, size_t len, __u32 ingress_ifindex,
		__u32 *action);

/* All counters, summed over CPUs, into out[VW_COUNTERS]. Returns 0 or -errno. */
int xdptest_counters(struct xdptest *t, struct vw_counter *out);
/* Counters first..first+n-1 (e.g. one interface slot: VW_COUNTER_INDEX(slot, 0, 0, 0) and
 * VW_COUNTERS_PER_SLOT cells) into out[0..n). */
int xdptest_counters_range(struct xdptest *t, __u32 first, __u32 n, struct vw_counter *out);

/* The vw_sources entry of an address (4 bytes for IPv4, mapped to ::ffff:a.b.c.d, or 16 for
 * IPv6). Returns 0, -ENOENT when absent, or another -errno. */
int xdptest_source(struct xdptest *t, const __u8 *addr, int family, struct vw_src_val *out);

/* The name of an XDP action ("XDP_PASS"), for messages. */
const char *xdptest_action_name(__u32 action);

#endif
