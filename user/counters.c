// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading the counters and naming their slots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "counters.h"
#include "log.h"
#include "names.h"

/* Both generations' descriptions: the live one, and the other for names of retired classes. */
int vw_read_gens(const struct vw_maps *m, __u32 *gen, struct vw_gen_cfg *live,
		  struct vw_gen_cfg *other)
{
	int rc = vw_cli_live_gen(m, gen, live);

	if (rc)
		return rc;
	if (vw_gen_cfg_read(m, !*gen, other))
		memset(other, 0, sizeof(*other));
	return 0;
}

/* Add cells [first, first + count) of the per-CPU counters into s: batch lookups (one by one on
 * kernels without batch support for them). vals holds count * ncpus values, keys count keys. */
static int read_range(int fd, int ncpus, __u32 first, __u32 count, __u32 *keys,
		      struct vw_counter *vals, struct vw_snapshot *s)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 done = 0, in = first - 1, out = 0;
	int err = 0;

	while (done < count) {
		__u32 n = count - done;

		/* an array's batch resumes after the key given: first - 1, or from the start */
		err = bpf_map_lookup_batch(fd, done || first ? &in : NULL, &out, keys + done,
					   vals + (size_t)done * ncpus, &n, &opts);
		if (err && errno != ENOENT) {
			err = -errno;
			break;
		}
		done += n;
		in = out;
		if (err || !n) {
			err = 0;
			break;
		}
	}
	if (err) {
		pr_debug("batch lookup of vw_counters failed (%s); reading one by one\n",
			 strerror(-err));
		for (done = 0; done < count; done++) {
			keys[done] = first + done;
			if (bpf_map_lookup_elem(fd, &keys[done], vals + (size_t)done * ncpus))
				return -errno;
		}
	}
	for (__u32 i = 0; i < done; i++) {
		__u32 k = keys[i];

		if (k < first || k >= first + count)
			continue;
		for (int c = 0; c < ncpus; c++) {
			s->packets[k] += vals[(size_t)i * ncpus + c].packets;
			s->bytes[k] += vals[(size_t)i * ncpus + c].bytes;
		}
	}
	return 0;
}

/* Sum the per-CPU counters of the slots in use into s. A slot's counters are zeroed when its
 * interface is registered and when it is removed, so the slots of no interface hold nothing to
 * read (reading all 65 slots took 40 times as long as one interface's and "other"). */
int vw_counters_read(int fd, struct vw_snapshot *s, const struct vw_iface *ifs)
{
	int ncpus = libbpf_num_possible_cpus(), err = 0;
	struct vw_counter *vals = NULL;
	__u32 *keys = NULL;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	vals = calloc((size_t)VW_COUNTERS_PER_SLOT * ncpus, sizeof(*vals));
	keys = calloc(VW_COUNTERS_PER_SLOT, sizeof(*keys));
	if (!vals || !keys) {
		err = -ENOMEM;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->at);
	memset(s->packets, 0, sizeof(s->packets));
	memset(s->bytes, 0, sizeof(s->bytes));
	for (__u32 slot = 0; slot < VW_IFACE_SLOTS && !err; slot++)
		if (slot == VW_IFACE_SLOT_OTHER || ifs[slot].ifindex)
			err = read_range(fd, ncpus, VW_COUNTER_INDEX(slot, 0, 0, 0),
					 VW_COUNTERS_PER_SLOT, keys, vals, s);
out:
	free(vals);
	free(keys);
	return err;
}

void vw_labels_of(const struct vw_stats_ctx *x, __u32 k, struct vw_labels *l)
{
	unsigned int slot = VW_COUNTER_SLOT(k);

	if (slot == VW_IFACE_SLOT_OTHER)
		snprintf(l->iface, sizeof(l->iface), "other");
	else if (x->ifs[slot].ifindex)
		snprintf(l->iface, sizeof(l->iface), "%.*s", VW_IFNAME_MAX, x->ifs[slot].name);
	else
		snprintf(l->iface, sizeof(l->iface), "slot%u", slot);
	vw_class_name(&x->gc, &x->other, VW_COUNTER_CLASS(k), l->cls, sizeof(l->cls));
	l->verdict = vw_verdict_name(VW_COUNTER_VERDICT(k));
	l->reason = vw_reason_name(VW_COUNTER_REASON(k));
}

int vw_stats_context(const struct vw_maps *m, struct vw_stats_ctx *x)
{
	__u32 gen;
	int rc = vw_read_gens(m, &gen, &x->gc, &x->other);

	if (rc)
		return rc;
	return vw_cli_read_ifaces(m, x->ifs) ? -EIO : 0;
}
