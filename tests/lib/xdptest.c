// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Running the real XDP program in tests (see xdptest.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "voipwall.skel.h"
#include "xdptest.h"

#define ETH_HLEN 14
/* bpf_prog_test_run takes at most 32 bytes of metadata, in 4-byte steps. */
#define XDP_META_MAX 32

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!getenv("VW_TEST_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The object file named by VW_TEST_BPF_OBJ, read once and kept (libbpf reads the ELF from it
 * until the object is loaded). */
static const void *obj_override(size_t *len)
{
	static void *buf;
	static size_t n;
	const char *path = getenv("VW_TEST_BPF_OBJ");
	FILE *f;
	long sz;

	if (!path || !*path)
		return NULL;
	if (buf) {
		*len = n;
		return buf;
	}
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (sz = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc((size_t)sz)) || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		fprintf(stderr, "xdptest: cannot read VW_TEST_BPF_OBJ %s\n", path);
		exit(2);
	}
	fclose(f);
	n = (size_t)sz;
	*len = n;
	return buf;
}

struct voipwall_bpf *xdptest_open_skel(void)
{
	struct voipwall_bpf *obj;
	const void *data;
	size_t len;
	int err;

	data = obj_override(&len);
	if (!data)
		return voipwall_bpf__open();
	obj = calloc(1, sizeof(*obj));
	if (!obj)
		return NULL;
	err = voipwall_bpf__create_skeleton(obj);
	if (!err) {
		obj->skeleton->data = data;
		obj->skeleton->data_sz = len;
		err = bpf_object__open_skeleton(obj->skeleton, NULL);
	}
	if (err) {
		voipwall_bpf__destroy(obj);
		errno = -err;
		return NULL;
	}
	return obj;
}

struct voipwall_bpf *xdptest_load_exact(void)
{
	return xdptest_load(~0U);
}

struct voipwall_bpf *xdptest_load(__u32 src_exact)
{
	struct voipwall_bpf *skel = xdptest_open_skel();
	int err;

	if (!skel)
		return NULL;
	skel->rodata->vw_src_exact = src_exact;
	/* rate limits, bans and expiries follow skel->bss->vw_test_now_ns (see bpf/flood.h) */
	skel->rodata->vw_test_clock = 1;
	err = voipwall_bpf__load(skel);
	if (err) {
		voipwall_bpf__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

int xdptest_open(struct xdptest *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	libbpf_set_print(quiet_print);
	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0) {
		err = t->ncpus ? t->ncpus : -EINVAL;
		fprintf(stderr, "xdptest: cannot count CPUs: %s\n", strerror(-err));
		return err;
	}
	t->percpu = calloc((size_t)VW_COUNTERS * t->ncpus, sizeof(*t->percpu));
	t->keys = calloc(VW_COUNTERS, sizeof(*t->keys));
	if (!t->percpu || !t->keys) {
		err = -ENOMEM;
		goto out;
	}
	t->skel = xdptest_load_exact();
	if (!t->skel) {
		err = -errno;
		fprintf(stderr, "xdptest: cannot open and load the XDP program: %s%s\n",
			strerror(-err),
			getenv("VW_TEST_VERBOSE") ? "" : " (VW_TEST_VERBOSE=1 for the log)");
		goto out;
	}
	t->prog_fd = bpf_program__fd(t->skel->progs.voipwall_xdp);
	t->prog_ip_fd = bpf_program__fd(t->skel->progs.voipwall_xdp_ip);
	err = vw_maps_from_obj(t->skel->obj, &t->maps);
out:
	if (err)
		xdptest_close(t);
	return err;
}

void xdptest_close(struct xdptest *t)
{
	voipwall_bpf__destroy(t->skel);
	free(t->percpu);
	free(t->keys);
	memset(t, 0, sizeof(*t));
}

/* test_run puts a frame in one page after XDP_PACKET_HEADROOM and before the aligned
 * skb_shared_info; the rest goes to fragments. Read the struct's size from the kernel's BTF. */
size_t xdptest_linear_size(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct btf *btf = btf__load_vmlinux_btf();
	size_t shinfo = 320;

	if (btf) {
		int id = btf__find_by_name_kind(btf, "skb_shared_info", BTF_KIND_STRUCT);

		if (id > 0)
			shinfo = btf__type_by_id(btf, id)->size;
		btf__free(btf);
	}
	return (size_t)page - 256 - ((shinfo + 63) / 64 * 64);
}

int xdptest_run(struct xdptest *t, const void *frame, size_t len, __u32 ingress_ifindex,
		__u32 *action)
{
	/* Frames shorter than an Ethernet header go behind metadata; kernels that check the data
	 * after the metadata (6.18 does) refuse them with -EINVAL, as they refuse a short frame. */
	size_t meta = len < ETH_HLEN ? (ETH_HLEN - len + 3) & ~3UL : 0;
	struct xdp_md ctx = {};
	__u8 *buf;
	int err;

	if (meta > XDP_META_MAX)
		return -EINVAL;
	buf = calloc(1, meta + len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf + meta, frame, len);
	ctx.data = meta;
	ctx.data_end = meta + len;
	ctx.ingress_ifindex = ingress_ifindex;
	{
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = meta + len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

		err = bpf_prog_test_run_opts(t->link_ip ? t->prog_ip_fd : t->prog_fd, &opts);
		if (!err)
			*action = opts.retval;
	}
	free(buf);
	return err;
}

int xdptest_counters_range(struct xdptest *t, __u32 first, __u32 n, struct vw_counter *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 done = 0, prev = first ? first - 1 : 0, next = 0;
	int err = 0;

	if (first > VW_COUNTERS || n > VW_COUNTERS - first)
		return -EINVAL;
	memset(out, 0, sizeof(*out) * n);
	/* For arrays, the batch starts at the key after in_batch (NULL: at key 0). */
	while (done < n) {
		__u32 count = n - done, i;
		int cpu;

		err = bpf_map_lookup_batch(t->maps.counters, (first || done) ? &prev : NULL, &next,
					   t->keys, t->percpu, &count, &opts);
		if (err && err != -ENOENT)
			return err;
		for (i = 0; i < count; i++) {
			__u32 k = t->keys[i];

			if (k < first + done || k >= first + n)
				return -EINVAL;
			for (cpu = 0; cpu < t->ncpus; cpu++) {
				const struct vw_counter *c = &t->percpu[(size_t)i * t->ncpus + cpu];

				out[k - first].packets += c->packets;
				out[k - first].bytes += c->bytes;
			}
		}
		done += count;
		if (!count || err == -ENOENT)
			break;
		prev = first + done - 1;
	}
	return done == n ? 0 : -EIO;
}

int xdptest_counters(struct xdptest *t, struct vw_counter *out)
{
	return xdptest_counters_range(t, 0, VW_COUNTERS, out);
}

int xdptest_source(struct xdptest *t, const __u8 *addr, int family, struct vw_src_val *out)
{
	struct vw_src_key key = {};

	if (family == 4) {
		key.addr[10] = key.addr[11] = 0xff;
		memcpy(key.addr + 12, addr, 4);
	} else {
		memcpy(key.addr, addr, 16);
	}
	return bpf_map_lookup_elem(t->maps.sources, &key, out);
}

const char *xdptest_action_name(__u32 action)
{
	static const char *const names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					    "XDP_REDIRECT"};

	return action < sizeof(names) / sizeof(names[0]) ? names[action] : "XDP_(unknown)";
}
