// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The Prometheus text format of voipwall's state. Every family has HELP and TYPE lines, label
 * values are escaped as the format requires, and series of one family are written together. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "counters.h"
#include "digest.h"
#include "flood.h"
#include "link.h"
#include "log.h"
#include "prom.h"

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name="value" with \, " and newline escaped; a comma first unless first. */
static void label(FILE *f, const char *name, const char *v, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

static void write_counters(FILE *f, const struct vw_stats_ctx *x, const struct vw_snapshot *s)
{
	static const struct {
		const char *name, *help;
		bool bytes;
	} fam[] = {
	    {"voipwall_packets_total",
	     "Packets seen by voipwall by interface, class, verdict and reason.", false},
	    {"voipwall_bytes_total",
	     "Bytes (whole frames) seen by voipwall by interface, class, verdict and reason.",
	     true},
	};
	struct vw_labels l;

	for (unsigned int i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		family(f, fam[i].name, "counter", fam[i].help);
		for (__u32 k = 0; k < VW_COUNTERS; k++) {
			if (!s->packets[k])
				continue;
			vw_labels_of(x, k, &l);
			fprintf(f, "%s{", fam[i].name);
			label(f, "interface", l.iface, true);
			label(f, "class", l.cls, false);
			label(f, "verdict", l.verdict, false);
			label(f, "reason", l.reason, false);
			fprintf(f, "} %llu\n",
				(unsigned long long)(fam[i].bytes ? s->bytes[k] : s->packets[k]));
		}
	}
}

/* What the metrics say of the live policy. */
struct summary {
	char digest[VW_DIGEST_STRLEN];
	unsigned int nclasses;
	char names[VW_MAX_CLASSES][VW_CLASS_NAME_MAX];
	size_t v4[VW_MAX_CLASSES], v6[VW_MAX_CLASSES]; /* by index in names */
};

/* The live generation's summary, kept while its serial and apply time stay the same, so that a
 * scrape reads no allowlist (a million rules take a while to read and normalize). */
static int live_summary(const struct vw_maps *m, __u32 gen, const struct vw_gen_cfg *gc,
			struct summary *out)
{
	static struct {
		bool valid;
		__u32 gen, serial;
		__u64 applied_ns;
		struct summary sum;
	} cache;
	size_t v4[VW_MAX_CLASSES], v6[VW_MAX_CLASSES];
	struct vw_config cfg;
	int err;

	if (cache.valid && cache.gen == gen && cache.serial == gc->serial &&
	    cache.applied_ns == gc->applied_realtime_ns) {
		*out = cache.sum;
		return 0;
	}
	err = vw_gen_read_config(m, gen, &cfg);
	if (err) {
		pr_warn("cannot read the live config: %s\n", vw_bpf_strerror(err));
		return err;
	}
	err = vw_policy_digest(&cfg, out->digest);
	if (err) {
		pr_warn("cannot compute the policy digest: %s\n", strerror(-err));
		goto out;
	}
	vw_config_count_rules(&cfg, v4, v6);
	out->nclasses = cfg.nclasses;
	for (unsigned int i = 0; i < cfg.nclasses; i++) {
		unsigned int id = cfg.classes[i].id % VW_MAX_CLASSES;

		memcpy(out->names[i], cfg.classes[i].name, VW_CLASS_NAME_MAX);
		out->v4[i] = v4[id];
		out->v6[i] = v6[id];
	}
	cache.valid = true;
	cache.gen = gen;
	cache.serial = gc->serial;
	cache.applied_ns = gc->applied_realtime_ns;
	cache.sum = *out;
out:
	vw_config_free(&cfg);
	return err;
}

static void write_config(FILE *f, const struct vw_gen_cfg *gc, const struct summary *sum)
{
	family(f, "voipwall_config_info", "gauge",
	       "The applied policy: digest of its normalized form (equal on nodes with equal "
	       "policies) and the file it was read from. Always 1.");
	fprintf(f, "voipwall_config_info{");
	label(f, "digest", sum->digest, true);
	label(f, "source", gc->source, false);
	fprintf(f, "} 1\n");
	family(f, "voipwall_config_reload_timestamp_seconds", "gauge",
	       "When the running config was last applied (load, reload, allow add/del), in "
	       "seconds since the Epoch.");
	fprintf(f, "voipwall_config_reload_timestamp_seconds %llu.%03llu\n",
		(unsigned long long)(gc->applied_realtime_ns / 1000000000ULL),
		(unsigned long long)(gc->applied_realtime_ns % 1000000000ULL / 1000000ULL));
	family(f, "voipwall_config_serial", "gauge",
	       "Serial number of the running config, incremented by every apply.");
	fprintf(f, "voipwall_config_serial %u\n", gc->serial);
	family(f, "voipwall_allow_rules", "gauge",
	       "Allow rules (prefixes) in the running config, by class and address family.");
	for (unsigned int i = 0; i < sum->nclasses; i++) {
		for (int fam = 0; fam < 2; fam++) {
			fprintf(f, "voipwall_allow_rules{");
			label(f, "class", sum->names[i], true);
			label(f, "family", fam ? "ipv6" : "ipv4", false);
			fprintf(f, "} %zu\n", fam ? sum->v6[i] : sum->v4[i]);
		}
	}
}

static void write_ifaces(FILE *f, const struct vw_iface *ifs)
{
	family(f, "voipwall_interface_info", "gauge",
	       "Interfaces voipwall is attached to: XDP mode, link type, and whether directly or as a "
	       "component of libxdp's dispatcher. Always 1.");
	for (int i = 0; i < VW_MAX_IFACES; i++) {
		char name[VW_IFNAME_MAX + 1], tbuf[32];

		if (!ifs[i].ifindex)
			continue;
		snprintf(name, sizeof(name), "%.*s", VW_IFNAME_MAX, ifs[i].name);
		fprintf(f, "voipwall_interface_info{");
		label(f, "interface", name, true);
		label(f, "mode", vw_mode_name(ifs[i].mode), false);
		label(f, "link_type",
		      vw_iface_link_type(name, ifs[i].mode & VW_MODE_RAW_IP, tbuf, sizeof(tbuf)),
		      false);
		label(f, "attach", ifs[i].mode & VW_MODE_MULTIPROG ? "libxdp" : "direct", false);
		fprintf(f, "} 1\n");
	}
}

static void write_flood(FILE *f, const struct vw_stats_ctx *x, const struct vw_flood_gauges *g)
{
	char cls[VW_CLASS_NAME_MAX + 8];

	family(f, "voipwall_block_entries", "gauge",
	       "Entries in each block set (expired ones until the next block command sweeps them).");
	for (unsigned int i = 0; i < VW_BLOCK_SETS; i++) {
		if (!g->sets[i][0])
			continue;
		fprintf(f, "voipwall_block_entries{");
		label(f, "set", g->sets[i], true);
		fprintf(f, "} %llu\n", (unsigned long long)g->entries[i]);
	}
	family(f, "voipwall_bans_active", "gauge", "Sources banned from each class now.");
	for (unsigned int c = 0; c < VW_MAX_CLASSES; c++) {
		if (!(x->gc.class_mask & (1U << c)))
			continue;
		fprintf(f, "voipwall_bans_active{");
		label(f, "class", vw_class_name(&x->gc, &x->other, c, cls, sizeof(cls)), true);
		fprintf(f, "} %u\n", g->bans[c]);
	}
}

int vw_prom_write(FILE *f, const struct vw_maps *m)
{
	struct vw_snapshot *s = NULL;
	struct vw_stats_ctx *x = NULL;
	struct summary sum;
	__u32 gen;
	int err;

	family(f, "voipwall_up", "gauge",
	       "Whether voipwall's pinned state could be read (1), or nothing is loaded (0).");
	fprintf(f, "voipwall_up %d\n", m ? 1 : 0);
	if (!m)
		return ferror(f) ? -EIO : 0;

	s = malloc(sizeof(*s));
	x = malloc(sizeof(*x));
	if (!s || !x) {
		err = -ENOMEM;
		goto out;
	}
	if (vw_stats_context(m, x) || vw_gen_active(m, &gen)) {
		err = -EIO;
		goto out;
	}
	err = vw_counters_read(m->counters, s, x->ifs);
	if (err) {
		pr_warn("cannot read vw_counters: %s\n", vw_bpf_strerror(err));
		goto out;
	}
	err = live_summary(m, gen, &x->gc, &sum);
	if (err)
		goto out;
	{
		struct vw_flood_gauges g;

		err = vw_flood_gauges_read(m, &g);
		if (err) {
			pr_warn("cannot read the block sets and bans: %s\n", vw_bpf_strerror(err));
			goto out;
		}
		write_counters(f, x, s);
		write_config(f, &x->gc, &sum);
		write_ifaces(f, x->ifs);
		write_flood(f, x, &g);
	}
	err = ferror(f) ? -EIO : 0;
out:
	free(s);
	free(x);
	return err;
}
