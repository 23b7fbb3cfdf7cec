// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * vwbench receiver helper: attaches the floor program (bpf/floor.bpf.c) to an
 * interface with its link and counters pinned in a directory of a bpffs, and reads the
 * receivers' own per-CPU counters (floor's, voipwall's) so the benchmark counts at the receiver.
 *
 *   rx attach IFACE drop|pass DIR   attach floor_drop/floor_pass, pin DIR/floor_link and
 *                                   DIR/floor_counters (rm the link pin to detach)
 *   rx count floor DIR drop|pass    packets the floor program counted
 *   rx count voipwall PINDIR [IFINDEX]
 *                                   packets voipwall dropped (every class and reason), on the
 *                                   interface IFINDEX only when given (a read of its counters
 *                                   alone takes milliseconds, of all of them a few tenths of a s)
 *   rx count voipwall-all PINDIR [IFINDEX]
 *                                   packets voipwall counted, whatever the verdict
 */
#include <net/if.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "voipwall.h"
#include "floor.skel.h"

#define PROG "rx"

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len) {
		fprintf(stderr, PROG ": path too long: %s/%s\n", dir, name);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int cmd_attach(const char *ifname, const char *which, const char *dir)
{
	struct bpf_program *prog;
	struct bpf_link *link = NULL;
	struct floor_bpf *skel;
	char path[4096];
	int ifindex, err;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, PROG ": no interface %s: %s\n", ifname, strerror(errno));
		return -ENODEV;
	}
	skel = floor_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		fprintf(stderr, PROG ": loading the floor program: %s\n", strerror(errno));
		return err;
	}
	if (bpf_map__value_size(skel->maps.floor_counters) != sizeof(struct floor_counter)) {
		fprintf(stderr, PROG ": floor_counters value size %u, expected %zu\n",
			bpf_map__value_size(skel->maps.floor_counters),
			sizeof(struct floor_counter));
		err = -EPROTO;
		goto out;
	}
	if (!strcmp(which, "drop")) {
		prog = skel->progs.floor_drop;
	} else if (!strcmp(which, "pass")) {
		prog = skel->progs.floor_pass;
	} else {
		fprintf(stderr, PROG ": attach: drop or pass, not %s\n", which);
		err = -EINVAL;
		goto out;
	}
	link = bpf_program__attach_xdp(prog, ifindex);
	if (!link) {
		err = -errno;
		fprintf(stderr, PROG ": attaching to %s: %s\n", ifname, strerror(errno));
		goto out;
	}
	err = pin_path(path, sizeof(path), dir, "floor_counters");
	if (err)
		goto out;
	err = bpf_map__pin(skel->maps.floor_counters, path);
	if (err) {
		fprintf(stderr, PROG ": pinning %s: %s\n", path, strerror(-err));
		goto out;
	}
	err = pin_path(path, sizeof(path), dir, "floor_link");
	if (err)
		goto out;
	err = bpf_link__pin(link, path);
	if (err) {
		fprintf(stderr, PROG ": pinning %s: %s\n", path, strerror(-err));
		goto out;
	}
out:
	bpf_link__destroy(link); /* the pin keeps it attached */
	floor_bpf__destroy(skel);
	return err;
}

/* Entries read per batch: voipwall's counters are some tens of thousands, and a lookup per entry
 * took 0.3-0.6 s, long enough for a window's closing count to land after the traffic ended. */
#define COUNT_BATCH 8192

/* Sum packets over CPUs of entries [first, end) of a per-CPU array whose values start with a __u64
 * packet count, keeping entries for which keep(index) says so (all when keep is NULL). */
static int sum_percpu(const char *path, __u32 first, __u32 end, size_t value_size,
		      bool (*keep)(__u32), unsigned long long *total)
{
	int ncpus = libbpf_num_possible_cpus();
	size_t stride = (value_size + 7) & ~(size_t)7;
	unsigned char *vals = NULL;
	__u32 *keys = NULL, in = first - 1, out = 0, n, j;
	bool started = first > 0; /* the batch cursor is the key before the next one read */
	int fd, c, err = 0;

	*total = 0;
	if (ncpus < 0)
		return ncpus;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, PROG ": opening %s: %s\n", path, strerror(errno));
		return err;
	}
	keys = calloc(COUNT_BATCH, sizeof(*keys));
	vals = calloc((size_t)COUNT_BATCH * ncpus, stride);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!started || in + 1 < end) {
		n = end - (started ? in + 1 : 0) < COUNT_BATCH ? end - (started ? in + 1 : 0)
							      : COUNT_BATCH;
		if (bpf_map_lookup_batch(fd, started ? &in : NULL, &out, keys, vals, &n, NULL) &&
		    errno != ENOENT) { /* ENOENT: this batch ends the map */
			err = -errno;
			fprintf(stderr, PROG ": reading %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (!n)
			break;
		for (j = 0; j < n; j++) {
			if (keys[j] < first || keys[j] >= end || (keep && !keep(keys[j])))
				continue;
			for (c = 0; c < ncpus; c++)
				*total += *(__u64 *)(vals + ((size_t)j * ncpus + c) * stride);
		}
		in = keys[n - 1];
		started = true;
	}
out:
	free(keys);
	free(vals);
	close(fd);
	return err;
}

static bool vw_is_drop(__u32 idx)
{
	return VW_COUNTER_VERDICT(idx) == VW_VERDICT_DROP;
}

/* The counter entries [*first, *end) of the interface whose ifindex is the text ifx. */
static int iface_counters(const char *dir, const char *ifx, __u32 *first, __u32 *end)
{
	char path[4096], *e;
	unsigned long v = strtoul(ifx, &e, 10);
	__u32 ifindex = (__u32)v, slot = 0;
	int fd, err;

	if (!*ifx || *e || v == 0 || v >= VW_MAX_IFINDEX) {
		fprintf(stderr, PROG ": not an ifindex: %s\n", ifx);
		return -EINVAL;
	}
	err = pin_path(path, sizeof(path), dir, "vw_ifslot");
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &ifindex, &slot) || !slot) {
		err = fd < 0 || !slot ? -ENOENT : -errno;
		fprintf(stderr, PROG ": no counter slot for ifindex %u in %s\n", ifindex, dir);
		if (fd >= 0)
			close(fd);
		return err;
	}
	close(fd);
	*first = (slot - 1) * VW_COUNTERS_PER_SLOT;
	*end = *first + VW_COUNTERS_PER_SLOT;
	return 0;
}

static int cmd_count(const char *kind, const char *dir, const char *which)
{
	unsigned long long total;
	char path[4096];
	int err;

	if (!strcmp(kind, "floor")) {
		__u32 slot;

		if (!which || (strcmp(which, "drop") && strcmp(which, "pass"))) {
			fprintf(stderr, PROG ": count floor DIR drop|pass\n");
			return -EINVAL;
		}
		slot = !strcmp(which, "drop") ? FLOOR_SLOT_DROP : FLOOR_SLOT_PASS;
		err = pin_path(path, sizeof(path), dir, "floor_counters");
		if (err)
			return err;
		err = sum_percpu(path, slot, slot + 1, sizeof(struct floor_counter), NULL, &total);
	} else if (!strcmp(kind, "voipwall") || !strcmp(kind, "voipwall-all")) {
		__u32 first = 0, end = VW_COUNTERS;

		if (which) {
			err = iface_counters(dir, which, &first, &end);
			if (err)
				return err;
		}
		err = pin_path(path, sizeof(path), dir, "vw_counters");
		if (err)
			return err;
		err = sum_percpu(path, first, end, sizeof(struct vw_counter),
				 !strcmp(kind, "voipwall") ? vw_is_drop : NULL, &total);
	} else {
		fprintf(stderr, PROG ": count floor|voipwall|voipwall-all, not %s\n", kind);
		return -EINVAL;
	}
	if (err)
		return err;
	printf("%llu\n", total);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "attach"))
		return cmd_attach(argv[2], argv[3], argv[4]) ? 1 : 0;
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "count"))
		return cmd_count(argv[2], argv[3], argc == 5 ? argv[4] : NULL) ? 1 : 0;
	fprintf(stderr, "Usage: " PROG " attach IFACE drop|pass DIR\n"
			"       " PROG " count floor DIR drop|pass\n"
			"       " PROG " count voipwall|voipwall-all PINDIR [IFINDEX]\n");
	return 2;
}
