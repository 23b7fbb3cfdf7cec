// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Differential packet fuzzer: every frame runs through the real XDP program
 * (bpf_prog_test_run_opts) and through the reference model (tests/lib/refmodel.c), under random
 * configs applied with vw_apply(). The XDP action, the one counter cell that moved (which gives
 * verdict, reason and class), the vw_frags entry a first fragment stores, the vw_sources entry a
 * drop/monitor updates, and the vw_buckets/vw_bans entries of a source that reaches the rate
 * stage must all agree. Flood control starts afresh with each config: the config's block
 * statements go to the set "config" as load puts them there, named sets are filled and changed
 * between frames through the block commands' C API, and the test clock moves between frames
 * (bpf/flood.h). Regression cases (tests/fuzz/regressions.txt) are replayed first. A mismatch
 * prints a reproducer in the regression-file format.
 *
 * Usage: diff [--frames N] [--seed S] [--configs K] [--regressions FILE|--no-regressions]
 *             [--pcaps DIR|--no-pcaps] [--max-mismatches M] [--self-check] [--strict]
 *             [--min-decision-share PERCENT] [-v]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "voipwall.skel.h"
#include "cli.h"
#include "flood.h"
#include "names.h"
#include "tables.h"
#include "lib/gen.h"
#include "lib/refmodel.h"
#include "lib/xdptest.h"

/* Test runs arrive on the loopback device; each config gives it a random counter slot through
 * vw_ifslot (or none: VW_IFACE_SLOT_OTHER). Its counters are one row of class x verdict x reason.
 */
#define ROW_CELLS		   VW_COUNTERS_PER_SLOT
#define CELL(cls, verdict, reason) VW_COUNTER_INDEX(0, cls, verdict, reason)
/* A coarse clock tick at HZ=100, the slowest common configuration. */
#define SEEN_SLACK_NS 10000000ULL
/* The program is loaded with this budget of exactly recorded drops per window (not the default
 * VW_SRC_EXACT), so that configs can start in the middle of a flood (see set_window). */
#define FUZZ_SRC_EXACT 1000
/* Named block sets a run fills through the C API of `voipwall block` (user/flood.c), beside the
 * set "config" of the config's block statements. */
#define FUZZ_SETS 2
static const char *const fuzz_set_names[FUZZ_SETS] = {"fuzz-a", "fuzz-b"};
/* The reasons flood control gives (docs/flood.md), for the summary. */
static const __u8 flood_reasons[] = {VW_REASON_OPEN, VW_REASON_RATE_LIMITED, VW_REASON_BANNED,
				     VW_REASON_BLOCKLISTED};
#define NFLOOD_REASONS (sizeof(flood_reasons) / sizeof(flood_reasons[0]))

/* A change of the named block sets, logged so that a replay makes it again before the same
 * frame: create the set, add, delete, replace its entries, or sweep every set. */
enum { SETOP_CREATE, SETOP_ADD, SETOP_DEL, SETOP_REPLACE, SETOP_SWEEP };
struct setop {
	size_t at; /* before the frame of this index in the history */
	unsigned int op, set;
	size_t n;
	struct vw_block_entry e[8];
	struct rm_block m[8]; /* the same entries for the model */
};

/* A frame of the current config, kept for reproducers. */
struct hist {
	__u8 *data;
	size_t len;
	int link;     /* enum rm_link */
	__u64 now_ns; /* the program's clock when it ran */
	struct rm_result exp;
};

struct runner {
	struct voipwall_bpf *skel;
	struct vw_maps maps;
	int prog_fd;
	int prog_ip_fd; /* the entry point for interfaces without a link-layer header */
	int ncpus;
	int cpu; /* the CPU every run is pinned to: its vw_src_rate value is the one in play */
	int rate_fd;
	struct vw_src_rate *rates; /* ncpus values */
	size_t linear; /* bytes test_run puts in the first buffer */
	__u32 lo_ifindex;
	__u32 slot; /* counter slot of the loopback device in this config */
	struct vw_counter *percpu;
	struct vw_counter *rowvals; /* ROW_CELLS * ncpus, for batch lookups */
	__u32 *rowkeys;
	__u64 cur_pk[ROW_CELLS], cur_by[ROW_CELLS]; /* the row as last read */
	struct rm_state st;
	const struct vw_config *cfg;
	__u64 exp_pk[ROW_CELLS], exp_by[ROW_CELLS]; /* expected absolute counter row */
	struct hist *hist;
	size_t nhist, hist_cap;
	/* reporting */
	__u64 seed;
	unsigned int cfg_no;
	long mismatches, max_mismatches;
	/* --self-check: every inject_every-th frame the model's answer is altered on purpose; each
	 * such frame must be reported, and no other. */
	long inject_every, injected, frame_no;
	bool injecting;
	bool verbose;
	bool strict;  /* read the whole counter row after every frame */
	bool carried; /* this config kept the previous one's vw_frags/vw_sources (a reload) */
	__u64 run_t0, run_t1; /* CLOCK_MONOTONIC_COARSE around the last test run */
	__u64 seen[VW_VERDICT_MAX]
		  [VW_REASON_MAX]; /* model outcomes of every frame run (coverage) */
	long frames_run;
	long decisions; /* random frames whose verdict came from the allowlist */
	/* flood control: the slots of the named sets in use (nsets of them), and coverage */
	__u32 set_slot[FUZZ_SETS];
	unsigned int nsets;
	struct setop *ops; /* this config's changes of the sets */
	size_t nops, ops_cap;
	long flood_configs, block_changes, set_configs;
	__u64 injected_flood[NFLOOD_REASONS];
	__u64 seen_first, seen_later_hit, seen_multibuf, seen_kept;
	char why[64][96]; /* which rule of the spec decided, and how often (coverage) */
	__u64 why_n[64];
	unsigned int nwhy;
	char ctx[64]; /* "seed S config C" or "regression NAME" */
};

/* What the program did with one frame. */
struct actual {
	int action;
	int moved;	/* counter cells that moved (vs the model's row) */
	int cell;	/* the cell that moved, when moved == 1 */
	__u64 dpk, dby; /* its delta */
};

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}


static __u64 coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static int read_cell(struct runner *rn, int cell, __u64 *pk, __u64 *by)
{
	__u32 key = (__u32)(VW_COUNTER_INDEX(rn->slot, 0, 0, 0) + cell);

	*pk = *by = 0;
	if (bpf_map_lookup_elem(rn->maps.counters, &key, rn->percpu))
		return -errno;
	for (int c = 0; c < rn->ncpus; c++) {
		*pk += rn->percpu[c].packets;
		*by += rn->percpu[c].bytes;
	}
	return 0;
}

/* The loopback device's whole counter row into cur_pk/cur_by: one BPF_MAP_LOOKUP_BATCH (an
 * array's keys are visited in order, starting after in_batch), or cell by cell if that fails. */
static int read_row(struct runner *rn)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 base = (__u32)VW_COUNTER_INDEX(rn->slot, 0, 0, 0), in = base - 1, out;
	__u32 count = ROW_CELLS;
	int err;

	err = bpf_map_lookup_batch(rn->maps.counters, base ? &in : NULL, &out, rn->rowkeys,
				   rn->rowvals, &count, &opts);
	if ((!err || errno == ENOENT) && count == ROW_CELLS && rn->rowkeys[0] == base) {
		for (int i = 0; i < ROW_CELLS; i++) {
			rn->cur_pk[i] = rn->cur_by[i] = 0;
			for (int c = 0; c < rn->ncpus; c++) {
				rn->cur_pk[i] += rn->rowvals[i * rn->ncpus + c].packets;
				rn->cur_by[i] += rn->rowvals[i * rn->ncpus + c].bytes;
			}
		}
		return 0;
	}
	for (int i = 0; i < ROW_CELLS; i++) {
		err = read_cell(rn, i, &rn->cur_pk[i], &rn->cur_by[i]);
		if (err)
			return err;
	}
	return 0;
}

/* Load the whole row as the expectation (start of a config). */
static int sync_row(struct runner *rn)
{
	int err = read_row(rn);

	if (err)
		return err;
	memcpy(rn->exp_pk, rn->cur_pk, sizeof(rn->exp_pk));
	memcpy(rn->exp_by, rn->cur_by, sizeof(rn->exp_by));
	return 0;
}

/* Read the row; count the cells that differ from the expectation, the first one into *cell with
 * its delta; then take the row as the new expectation. */
static int diff_row(struct runner *rn, int *cell, __u64 *dpk, __u64 *dby)
{
	int n = 0;

	if (read_row(rn))
		return -1;
	for (int i = 0; i < ROW_CELLS; i++) {
		if (rn->cur_pk[i] == rn->exp_pk[i] && rn->cur_by[i] == rn->exp_by[i])
			continue;
		if (!n++) {
			*cell = i;
			*dpk = rn->cur_pk[i] - rn->exp_pk[i];
			*dby = rn->cur_by[i] - rn->exp_by[i];
		}
	}
	memcpy(rn->exp_pk, rn->cur_pk, sizeof(rn->exp_pk));
	memcpy(rn->exp_by, rn->cur_by, sizeof(rn->exp_by));
	return n;
}

static void cell_split(int cell, unsigned int *cls, unsigned int *verdict, unsigned int *reason)
{
	*reason = VW_COUNTER_REASON(cell);
	*verdict = VW_COUNTER_VERDICT(cell);
	*cls = VW_COUNTER_CLASS(cell);
}

static int clear_map(int fd, size_t key_size)
{
	__u8 key[64];

	if (key_size > sizeof(key))
		return -EINVAL;
	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	return 0;
}

static void print_expect(FILE *o, const struct vw_config *cfg, unsigned int verdict,
			 unsigned int reason, unsigned int cls)
{
	fprintf(o, "%s %s %s", vw_verdict_name(verdict), vw_reason_name(reason),
		gen_class_name(cfg, (__u8)cls));
}

static void print_frame_case(FILE *o, const struct vw_config *cfg, int link, const __u8 *d,
			     size_t len, __u64 now_ns, const struct rm_result *e)
{
	fprintf(o, "clock %llu\n", (unsigned long long)now_ns);
	fprintf(o, link == RM_LINK_IP ? "ipframe " : "frame ");
	gen_hex_print(o, d, len);
	fprintf(o, "\nexpect ");
	print_expect(o, cfg, e->verdict, e->reason, e->cls);
	fprintf(o, "\n");
}

/* An entry of a named block set as a regression-file line: "blockset NAME PREFIX/LEN
 * CLASSES|all EXPIRES_NS|never override|-". */
static void print_blockset(FILE *o, const struct vw_config *cfg, const struct rm_block *b)
{
	struct vw_rule r = {.family = b->family, .plen = b->plen};
	char buf[VW_PREFIX_STRLEN];
	const char *sep = "";

	memcpy(r.addr, b->addr, 16);
	fprintf(o, "blockset %s %s ", fuzz_set_names[b->set % FUZZ_SETS],
		vw_format_prefix(&r, buf, sizeof(buf)) ? buf : "?");
	if (b->mask == VW_BLOCK_ALL_CLASSES)
		fprintf(o, "all");
	for (unsigned int c = 0; c < cfg->nclasses && b->mask != VW_BLOCK_ALL_CLASSES; c++) {
		if (b->mask & (1U << cfg->classes[c].id)) {
			fprintf(o, "%s%s", sep, cfg->classes[c].name);
			sep = ",";
		}
	}
	if (b->mask != VW_BLOCK_ALL_CLASSES && !*sep)
		fprintf(o, "none"); /* only classes the config does not define */
	if (b->expires_ns)
		fprintf(o, " %llu", (unsigned long long)b->expires_ns);
	else
		fprintf(o, " never");
	fprintf(o, " %s\n", b->flags & VW_BLOCK_OVERRIDE ? "override" : "-");
}

/* A reproducer in the regression-file format: the config, every earlier frame of this config
 * that stored a fragment entry under the same key, and the frame. */
static void reproducer(struct runner *rn, int link, const __u8 *d, size_t len,
		       const struct rm_result *e, const char *what)
{
	if (rn->inject_every) { /* self-check: count, do not print */
		rn->mismatches++;
		if (!rn->injecting)
			printf("# MISMATCH %s on a frame not altered: %s\n", rn->ctx, what);
		return;
	}
	char *cfgtext = NULL;
	size_t cfglen = 0;
	FILE *m = open_memstream(&cfgtext, &cfglen);
	const char *line;

	fprintf(stdout, "# MISMATCH %s frame %zu: %s\n", rn->ctx, rn->nhist ? rn->nhist - 1 : 0,
		what);
	fprintf(stdout, "# model: ");
	print_expect(stdout, rn->cfg, e->verdict, e->reason, e->cls);
	fprintf(stdout, " (%s)\n", e->why);
	if (rn->carried)
		fprintf(stdout,
			"# note: this config was applied as a reload, keeping vw_frags and "
			"vw_sources from the previous one; earlier frames below were judged "
			"under their own config\n");
	fprintf(stdout, "case %s-frame-%zu\n", rn->ctx, rn->nhist ? rn->nhist - 1 : 0);
	if (m) {
		gen_config_print(rn->cfg, m);
		fclose(m);
		for (line = cfgtext; line && *line;) {
			const char *nl = strchr(line, '\n');
			int n = nl ? (int)(nl - line) : (int)strlen(line);

			fprintf(stdout, "config %.*s\n", n, line);
			line = nl ? nl + 1 : NULL;
		}
		free(cfgtext);
	}
	if (rn->st.nblocks)
		fprintf(stdout, "# note: the named block sets as they stand at this frame\n");
	for (size_t i = 0; i < rn->st.nblocks; i++)
		print_blockset(stdout, rn->cfg, &rn->st.blocks[i]);
	/* earlier frames that stored a fragment entry under the same key, or met the same bucket */
	for (size_t i = 0; i + 1 < rn->nhist; i++) {
		const struct hist *h = &rn->hist[i];

		if ((e->frag != RM_FRAG_NONE && h->exp.frag == RM_FRAG_FIRST &&
		     !memcmp(&h->exp.frag_key, &e->frag_key, sizeof(e->frag_key))) ||
		    (e->flood && h->exp.flood && !memcmp(&h->exp.fkey, &e->fkey, sizeof(e->fkey))))
			print_frame_case(stdout, rn->cfg, h->link, h->data, h->len, h->now_ns,
					 &h->exp);
	}
	print_frame_case(stdout, rn->cfg, link, d, len, rn->st.now_ns, e);
	fprintf(stdout, "end\n");
	fflush(stdout);
	rn->mismatches++;
}

static int hist_add(struct runner *rn, int link, const __u8 *d, size_t len)
{
	struct hist *h;

	if (rn->nhist == rn->hist_cap) {
		size_t cap = rn->hist_cap ? rn->hist_cap * 2 : 1024;
		void *p = realloc(rn->hist, cap * sizeof(*rn->hist));

		if (!p)
			return -ENOMEM;
		rn->hist = p;
		rn->hist_cap = cap;
	}
	h = &rn->hist[rn->nhist];
	h->data = malloc(len);
	if (!h->data)
		return -ENOMEM;
	memcpy(h->data, d, len);
	h->len = len;
	h->link = link;
	h->now_ns = rn->st.now_ns;
	rn->nhist++;
	return 0;
}

/* The program's clock (the test clock, bpf/flood.h) and the model's, moved together. */
static void set_clock(struct runner *rn, __u64 now_ns)
{
	rn->st.now_ns = now_ns;
	rn->skel->bss->vw_test_now_ns = now_ns;
}

static void hist_clear(struct runner *rn)
{
	for (size_t i = 0; i < rn->nhist; i++)
		free(rn->hist[i].data);
	rn->nhist = 0;
}

/* The program's flood-sampling window of the pinned CPU. */
static int read_window(struct runner *rn, __u64 *start, __u64 *drops)
{
	if (bpf_map_lookup_elem(rn->rate_fd, &(__u32){0}, rn->rates))
		return -errno;
	*start = rn->rates[rn->cpu].window_start_ns;
	*drops = rn->rates[rn->cpu].drops;
	return 0;
}

/* Put every CPU's window (and the model's) at start, with drops counted in it. */
static int set_window(struct runner *rn, __u64 start, __u64 drops)
{
	for (int c = 0; c < rn->ncpus; c++) {
		rn->rates[c].window_start_ns = start;
		rn->rates[c].drops = drops;
	}
	if (bpf_map_update_elem(rn->rate_fd, &(__u32){0}, rn->rates, BPF_ANY))
		return -errno;
	rn->st.rate.window_start_ns = start;
	rn->st.rate.drops = drops;
	return 0;
}

/*
 * After the run of a frame the model counts as a drop or monitor of a known source: finish the
 * model's section 6 (did the window end when the program read the clock?) and compare the
 * window. The clock read lies between run_t0 and run_t1; when the window's end falls inside that
 * span either answer is right, and the program's own window start tells which it took. Returns
 * NULL or a description of the difference.
 */
static const char *check_window(struct runner *rn, struct rm_result *truth, char *buf, size_t len)
{
	__u64 ws = rn->st.rate.window_start_ns, pws = 0, pdrops = 0;
	bool expired = false;

	if (read_window(rn, &pws, &pdrops))
		return "cannot read vw_src_rate";
	if (truth->src_clock) {
		if (rn->run_t0 >= ws + VW_SRC_WINDOW_NS + SEEN_SLACK_NS)
			expired = true;
		else if (rn->run_t1 + SEEN_SLACK_NS >= ws + VW_SRC_WINDOW_NS)
			expired = pws != ws;
		if (expired &&
		    (pws + SEEN_SLACK_NS < rn->run_t0 || pws > rn->run_t1 + SEEN_SLACK_NS))
			pws = rn->run_t0; /* not a clock read of this run: reported below */
		if (rm_src_record(&rn->st, truth, expired, pws))
			return "out of memory";
	}
	if (pws == rn->st.rate.window_start_ns && pdrops == rn->st.rate.drops)
		return NULL;
	snprintf(buf, len,
		 "vw_src_rate window start %llu with %llu drops, expected start %llu with %llu "
		 "(run between %llu and %llu)",
		 (unsigned long long)pws, (unsigned long long)pdrops,
		 (unsigned long long)rn->st.rate.window_start_ns,
		 (unsigned long long)rn->st.rate.drops, (unsigned long long)rn->run_t0,
		 (unsigned long long)rn->run_t1);
	return buf;
}

/* Flood control starts afresh with each config: no bucket, no ban, every block set empty, then
 * the config's block statements in the set "config" (as `load` and `reload` put them there). */
static int flood_reset(struct runner *rn, const struct vw_config *cfg)
{
	int err;

	err = clear_map(rn->maps.buckets, sizeof(struct vw_flood_key));
	if (!err)
		err = clear_map(rn->maps.bans, sizeof(struct vw_flood_key));
	for (__u32 slot = 0; !err && slot < VW_BLOCK_SETS; slot++)
		err = vw_block_flush(&rn->maps, slot);
	if (!err)
		err = vw_cli_config_blocks(&rn->maps, cfg);
	rm_flood_reset(&rn->st);
	rm_block_flush(&rn->st, VW_BLOCK_SETS);
	rn->nsets = 0;
	rn->nops = 0;
	return err;
}

/* Make a change of the sets in the program (through the block commands' C API) and in the model;
 * what del and the sweep report removed must agree. */
static int setop_apply(struct runner *rn, const struct setop *o)
{
	__u32 slot = rn->set_slot[o->set % FUZZ_SETS];
	size_t done = 0, want = 0;
	int err = 0;

	switch (o->op) {
	case SETOP_CREATE:
		err = vw_block_set_slot(&rn->maps, fuzz_set_names[o->set], true,
					&rn->set_slot[o->set]);
		if (rn->nsets <= o->set)
			rn->nsets = o->set + 1;
		return err;
	case SETOP_REPLACE:
		err = vw_block_replace(&rn->maps, slot, o->e, o->n);
		rm_block_flush(&rn->st, o->set);
		/* fall through */
	case SETOP_ADD:
		if (o->op == SETOP_ADD)
			err = vw_block_add(&rn->maps, slot, o->e, o->n);
		for (size_t i = 0; !err && i < o->n; i++)
			err = rm_block_add(&rn->st, &o->m[i]);
		return err;
	case SETOP_DEL:
		err = vw_block_del(&rn->maps, slot, o->e, o->n, &done);
		for (size_t i = 0; i < o->n; i++)
			want += rm_block_del(&rn->st, &o->m[i]);
		break;
	default:
		err = vw_block_sweep(&rn->maps, rn->st.now_ns, &done);
		want = rm_block_sweep(&rn->st, rn->st.now_ns);
		break;
	}
	if (!err && done != want) {
		printf("# MISMATCH %s: block %s removed %zu entries, the model %zu\n", rn->ctx,
		       o->op == SETOP_DEL ? "del" : "sweep", done, want);
		rn->mismatches++;
	}
	return err;
}

/* The model's copy of an entry of named set s. */
static void block_model(const struct vw_block_entry *e, unsigned int s, struct rm_block *m)
{
	memset(m, 0, sizeof(*m));
	m->set = s;
	m->family = e->r.family;
	m->plen = e->r.plen;
	m->flags = e->flags;
	m->mask = e->r.mask;
	memcpy(m->addr, e->r.addr, 16);
	m->expires_ns = e->expires_ns;
}

/* Log the change (before the next frame) and make it. */
static int setop(struct runner *rn, struct setop *o)
{
	if (rn->nops == rn->ops_cap) {
		size_t cap = rn->ops_cap ? 2 * rn->ops_cap : 64;
		void *p = realloc(rn->ops, cap * sizeof(*rn->ops));

		if (!p)
			return -ENOMEM;
		rn->ops = p;
		rn->ops_cap = cap;
	}
	o->at = rn->nhist;
	rn->ops[rn->nops++] = *o;
	return setop_apply(rn, o);
}

/* Start a config: apply it, give the loopback device counter slot slot_plus1 - 1 (0: none), empty
 * the LRU maps and the model's state unless carry (a reload: vw_frags and vw_sources live on
 * across generations, in the program and in the model), read the counter row. */
static int begin_config(struct runner *rn, const struct vw_config *cfg, __u32 slot_plus1,
			bool carry)
{
	int err;

	rn->cfg = cfg;
	rn->carried = carry;
	rn->slot = slot_plus1 ? slot_plus1 - 1 : VW_IFACE_SLOT_OTHER;
	if (bpf_map_update_elem(rn->maps.ifslot, &rn->lo_ifindex, &slot_plus1, BPF_ANY)) {
		err = -errno;
		fprintf(stderr, "vw_ifslot: %s\n", strerror(-err));
		return err;
	}
	err = vw_apply(&rn->maps, cfg, NULL, NULL);
	if (err) {
		fprintf(stderr, "vw_apply: %s\n", strerror(-err));
		return err;
	}
	if (!carry) {
		err = clear_map(rn->maps.frags, sizeof(struct vw_frag_key));
		if (!err)
			err = clear_map(rn->maps.sources, sizeof(struct vw_src_key));
	}
	if (!err)
		err = flood_reset(rn, cfg);
	if (!err)
		err = sync_row(rn);
	if (err) {
		fprintf(stderr, "resetting maps: %s\n", strerror(-err));
		return err;
	}
	if (!carry) {
		rm_state_reset(&rn->st);
		hist_clear(rn);
		err = set_window(rn, coarse_ns(), 0); /* a fresh window */
		if (err) {
			fprintf(stderr, "vw_src_rate: %s\n", strerror(-err));
			return err;
		}
	}
	return 0;
}

static bool src_equal(const struct rm_src_entry *m, const struct vw_src_val *k)
{
	return m->packets == k->packets && m->bytes == k->bytes && m->last_class == k->last_class &&
	       m->last_reason == k->last_reason;
}

/* Check what the frame did to vw_frags and vw_sources; returns a description of the first
 * difference, or NULL. */
static const char *check_state(struct runner *rn, const struct rm_result *e, char *buf, size_t len)
{
	if (e->frag == RM_FRAG_FIRST) {
		struct vw_frag_val kv;
		const struct rm_frag_entry *me = rm_frag_find(&rn->st, &e->frag_key);

		if (bpf_map_lookup_elem(rn->maps.frags, &e->frag_key, &kv))
			return "first fragment: no vw_frags entry under the expected key";
		if (me && (kv.verdict != me->val.verdict || kv.cls != me->val.cls ||
			   kv.reason != me->val.reason || kv.expires_ns != me->val.expires_ns)) {
			snprintf(buf, len,
				 "vw_frags entry %s/%s/%s expiring %llu, expected %s/%s/%s expiring "
				 "%llu",
				 vw_verdict_name(kv.verdict), vw_reason_name(kv.reason),
				 gen_class_name(rn->cfg, kv.cls), (unsigned long long)kv.expires_ns,
				 vw_verdict_name(me->val.verdict), vw_reason_name(me->val.reason),
				 gen_class_name(rn->cfg, me->val.cls),
				 (unsigned long long)me->val.expires_ns);
			return buf;
		}
	}
	if (e->flood) {
		const struct rm_bucket *mb = rm_bucket_find(&rn->st, &e->fkey);
		const struct rm_ban *mban = rm_ban_find(&rn->st, &e->fkey);
		struct vw_flood_key k;
		struct vw_bucket kb;
		struct vw_ban kban;
		bool have;

		rm_flood_key_bpf(&e->fkey, &k);
		if (bpf_map_lookup_elem(rn->maps.buckets, &k, &kb))
			return "no vw_buckets entry for the source";
		if (mb && (kb.tat != mb->tat || kb.banned_until != (mban ? mban->until_ns : 0))) {
			snprintf(buf, len,
				 "vw_buckets entry tat %llu banned until %llu, expected tat %llu "
				 "banned until %llu",
				 (unsigned long long)kb.tat, (unsigned long long)kb.banned_until,
				 (unsigned long long)mb->tat,
				 (unsigned long long)(mban ? mban->until_ns : 0));
			return buf;
		}
		have = !bpf_map_lookup_elem(rn->maps.bans, &k, &kban);
		if (have != !!mban || (mban && (kban.until_ns != mban->until_ns ||
						kban.since_ns != mban->since_ns))) {
			snprintf(buf, len,
				 "vw_bans entry %s%llu since %llu, expected %s%llu since %llu",
				 have ? "until " : "none ",
				 (unsigned long long)(have ? kban.until_ns : 0),
				 (unsigned long long)(have ? kban.since_ns : 0),
				 mban ? "until " : "none ",
				 (unsigned long long)(mban ? mban->until_ns : 0),
				 (unsigned long long)(mban ? mban->since_ns : 0));
			return buf;
		}
	}
	if (e->src_updated || e->src_peek) {
		const struct vw_src_key *key = e->src_updated ? &e->src : &e->src_bytes;
		const struct rm_src_entry *me = rm_src_find(&rn->st, key);
		struct vw_src_val kv;
		bool have = !bpf_map_lookup_elem(rn->maps.sources, key, &kv);

		if (!me && have) {
			snprintf(buf, len,
				 "vw_sources has an entry (%llu packets) the model has not",
				 (unsigned long long)kv.packets);
			return buf;
		}
		if (me && !have)
			return "vw_sources lacks the source's entry";
		if (me && !src_equal(me, &kv)) {
			snprintf(
			    buf, len,
			    "vw_sources entry %llu pkts %llu bytes class %u reason %u, expected "
			    "%llu pkts %llu bytes class %u reason %u",
			    (unsigned long long)kv.packets, (unsigned long long)kv.bytes,
			    kv.last_class, kv.last_reason, (unsigned long long)me->packets,
			    (unsigned long long)me->bytes, me->last_class, me->last_reason);
			return buf;
		}
		/* last_seen_ns is bpf_ktime_get_coarse_ns(), CLOCK_MONOTONIC_COARSE: it must lie
		 * between the clock read before and after the run (one tick of slack). */
		if (e->src_updated && (kv.last_seen_ns + SEEN_SLACK_NS < rn->run_t0 ||
				       kv.last_seen_ns > rn->run_t1 + SEEN_SLACK_NS)) {
			snprintf(buf, len,
				 "vw_sources last_seen_ns %llu outside the run's [%llu, %llu] "
				 "(CLOCK_MONOTONIC_COARSE)",
				 (unsigned long long)kv.last_seen_ns,
				 (unsigned long long)rn->run_t0, (unsigned long long)rn->run_t1);
			return buf;
		}
	}
	return NULL;
}

/*
 * Run one frame through both. Returns 1 on a mismatch (reproducer printed), 0 when they agree,
 * -errno when the frame could not be run. *exp_out receives the model's result.
 */
static int run_frame(struct runner *rn, int link, const __u8 *d, size_t len,
		     struct rm_result *exp_out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = d, .data_size_in = (__u32)len, .repeat = 1);
	struct rm_result e, truth;
	struct actual a = {0};
	char why[256], buf[200], wbuf[256];
	const char *state, *window = NULL;
	int cell, err;

	err = hist_add(rn, link, d, len);
	if (err)
		return err;
	err = rm_classify_link(rn->cfg, &rn->st, link, d, len, len < rn->linear ? len : rn->linear,
			       (long)rn->nhist - 1, &e);
	if (err)
		return err;
	truth = e;
	/* every inject_every-th frame, and the first of each flood control reason */
	rn->injecting = rn->inject_every && ++rn->frame_no % rn->inject_every == 0;
	for (size_t i = 0; i < NFLOOD_REASONS && rn->inject_every; i++)
		rn->injecting |= e.reason == flood_reasons[i] && !rn->injected_flood[i];
	if (rn->injecting) { /* a wrong answer the comparison must catch */
		for (size_t i = 0; i < NFLOOD_REASONS; i++)
			rn->injected_flood[i] += e.reason == flood_reasons[i];
		e.reason = (__u8)((e.reason + 1) % VW_REASON_MAX);
		rn->injected++;
	}
	rn->seen[e.verdict][e.reason]++;
	rn->seen_first += e.frag == RM_FRAG_FIRST;
	rn->seen_later_hit += e.frag_hit;
	rn->seen_kept += e.frag_kept;
	rn->seen_multibuf += len > rn->linear;
	for (unsigned int i = 0; i <= rn->nwhy && i < 64; i++) {
		if (i == rn->nwhy) {
			snprintf(rn->why[i], sizeof(rn->why[i]), "%s", e.why);
			rn->nwhy++;
		}
		if (!strcmp(rn->why[i], e.why)) {
			rn->why_n[i]++;
			break;
		}
	}
	cell = CELL(e.cls, e.verdict, e.reason);

	rn->run_t0 = coarse_ns();
	err = bpf_prog_test_run_opts(link == RM_LINK_IP ? rn->prog_ip_fd : rn->prog_fd, &o);
	rn->run_t1 = coarse_ns();
	if (err) {
		err = -errno;
		fprintf(stderr, "bpf_prog_test_run_opts (%zu bytes): %s\n", len, strerror(-err));
		return err;
	}
	/* Section 6 needs the clock of the run (with the model's true answer, even when a wrong
	 * one is being injected). */
	if (truth.src_known && truth.verdict != VW_VERDICT_PASS) {
		window = check_window(rn, &truth, wbuf, sizeof(wbuf));
		e.src_updated = truth.src_updated;
		e.src_weight = truth.src_weight;
	}
	rn->hist[rn->nhist - 1].exp = e;
	if (exp_out)
		*exp_out = e;
	a.action = (int)o.retval;
	if (!rn->strict) {
		/* Fast path: the model's cell moved by one packet and its counted bytes. That no other cell
		 * moved is checked on the whole row at the end of the config (counters only grow),
		 * which replays the config in strict mode to find the frame if one did. */
		__u64 pk, by;

		rn->exp_pk[cell] += 1;
		rn->exp_by[cell] += e.len;
		err = read_cell(rn, cell, &pk, &by);
		if (err)
			return err;
		if (a.action == e.action && pk == rn->exp_pk[cell] && by == rn->exp_by[cell]) {
			state = window ? window : check_state(rn, &e, buf, sizeof(buf));
			if (!state)
				return 0;
			reproducer(rn, link, d, len, &e, state);
			return 1;
		}
		rn->exp_pk[cell] -= 1;
		rn->exp_by[cell] -= e.len;
	}
	/* Exactly one counter cell moved, by one packet and the bytes the model counts: the
	 * model's. */
	a.moved = diff_row(rn, &a.cell, &a.dpk, &a.dby);
	if (a.moved < 0)
		return -EIO;
	if (a.action == e.action && a.moved == 1 && a.cell == cell && a.dpk == 1 && a.dby == e.len) {
		state = window ? window : check_state(rn, &e, buf, sizeof(buf));
		if (!state)
			return 0;
		reproducer(rn, link, d, len, &e, state);
		return 1;
	}
	if (a.moved == 1) {
		unsigned int kc, kv, kr;

		cell_split(a.cell, &kc, &kv, &kr);
		snprintf(why, sizeof(why),
			 "program: action %d, counted %s %s %s (+%llu pkt +%llu bytes); model: "
			 "action %d",
			 a.action, vw_verdict_name(kv), vw_reason_name(kr),
			 gen_class_name(rn->cfg, (__u8)kc), (unsigned long long)a.dpk,
			 (unsigned long long)a.dby, e.action);
	} else {
		snprintf(why, sizeof(why),
			 "program: action %d, %d counter cells moved; model: "
			 "action %d",
			 a.action, a.moved, e.action);
	}
	reproducer(rn, link, d, len, &e, why);
	return 1;
}

static size_t map_entries(int fd)
{
	struct vw_flood_key k, *prev = NULL;
	size_t n = 0;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		n++;
		prev = &k;
	}
	return n;
}

/* End of a config, flood control: every bucket and ban of the model in the program's maps with
 * the same times, nothing more; the named sets hold the model's entries. */
static int end_flood(struct runner *rn)
{
	size_t nb = map_entries(rn->maps.buckets), nban = map_entries(rn->maps.bans);
	int bad = 0;

	for (size_t i = 0; i < rn->st.nbuckets; i++) {
		const struct rm_bucket *mb = &rn->st.buckets[i];
		struct vw_flood_key k;
		struct vw_bucket kb;

		rm_flood_key_bpf(&mb->key, &k);
		if (bpf_map_lookup_elem(rn->maps.buckets, &k, &kb) || kb.tat != mb->tat) {
			struct vw_rule r = {.family = mb->key.family,
					    .plen = mb->key.family == VW_FAMILY_V4 ? 32 : 128};
			char buf[VW_PREFIX_STRLEN];

			memcpy(r.addr, mb->key.addr, 16);
			printf("# MISMATCH %s: vw_buckets entry of class %s, source %s, missing or "
			       "with another tat than %llu\n",
			       rn->ctx, gen_class_name(rn->cfg, mb->key.cls),
			       vw_format_prefix(&r, buf, sizeof(buf)) ? buf : "?",
			       (unsigned long long)mb->tat);
			bad++;
		}
	}
	for (size_t i = 0; i < rn->st.nbans; i++) {
		const struct rm_ban *mb = &rn->st.bans[i];
		struct vw_flood_key k;
		struct vw_ban kb;

		rm_flood_key_bpf(&mb->key, &k);
		if (bpf_map_lookup_elem(rn->maps.bans, &k, &kb) || kb.until_ns != mb->until_ns ||
		    kb.since_ns != mb->since_ns) {
			printf("# MISMATCH %s: vw_bans entry of class %s missing or different\n",
			       rn->ctx, gen_class_name(rn->cfg, mb->key.cls));
			bad++;
		}
	}
	if (nb != rn->st.nbuckets || nban != rn->st.nbans) {
		printf(
		    "# MISMATCH %s: vw_buckets/vw_bans hold %zu/%zu entries, the model %zu/%zu\n",
		    rn->ctx, nb, nban, rn->st.nbuckets, rn->st.nbans);
		bad++;
	}
	for (unsigned int s = 0; s < rn->nsets; s++) {
		struct vw_block_entry *e = NULL;
		size_t n = 0, want = 0;
		bool differ = false;

		for (size_t i = 0; i < rn->st.nblocks; i++)
			want += rn->st.blocks[i].set == s;
		if (vw_block_read(&rn->maps, rn->set_slot[s], &e, &n)) {
			printf("# MISMATCH %s: cannot read block set %s\n", rn->ctx,
			       fuzz_set_names[s]);
			bad++;
			continue;
		}
		for (size_t i = 0; i < n && !differ; i++) {
			const struct rm_block *m = NULL;

			for (size_t j = 0; j < rn->st.nblocks && !m; j++) {
				const struct rm_block *b = &rn->st.blocks[j];

				if (b->set == s && b->family == e[i].r.family &&
				    b->plen == e[i].r.plen && !memcmp(b->addr, e[i].r.addr, 16))
					m = b;
			}
			differ = !m || m->mask != e[i].r.mask || m->flags != e[i].flags ||
				 m->expires_ns != e[i].expires_ns;
		}
		if (differ || n != want) {
			printf(
			    "# MISMATCH %s: block set %s differs from the model's (%zu entries)\n",
			    rn->ctx, fuzz_set_names[s], want);
			bad++;
		}
		free(e);
	}
	return bad;
}

/* End of a config: the whole counter row, every vw_frags and vw_sources entry, and the flood
 * control state. */
static int end_config(struct runner *rn)
{
	struct vw_frag_key fk, *fprev = NULL;
	struct vw_src_key sk, *sprev = NULL;
	size_t nf = 0, ns = 0;
	int cell, moved, bad = 0;
	__u64 dpk, dby;

	moved = diff_row(rn, &cell, &dpk, &dby);
	if (moved < 0) {
		printf("# MISMATCH %s: cannot read the counters\n", rn->ctx);
		bad++;
	} else if (moved) {
		printf("# MISMATCH %s: %d counter cells differ at the end of the config\n", rn->ctx,
		       moved);
		bad++;
	}
	while (!bpf_map_get_next_key(rn->maps.frags, fprev, &fk)) {
		struct vw_frag_val v;
		const struct rm_frag_entry *me = rm_frag_find(&rn->st, &fk);

		nf++;
		if (!bpf_map_lookup_elem(rn->maps.frags, &fk, &v) &&
		    (!me || me->val.verdict != v.verdict || me->val.cls != v.cls ||
		     me->val.reason != v.reason || me->val.expires_ns != v.expires_ns)) {
			printf("# MISMATCH %s: vw_frags entry (proto %u id %u) %s\n", rn->ctx,
			       fk.proto, fk.id, me ? "differs" : "not in the model");
			bad++;
		}
		fprev = &fk;
	}
	if (nf != rn->st.nfrags) {
		printf("# MISMATCH %s: vw_frags has %zu entries, the model %zu\n", rn->ctx, nf,
		       rn->st.nfrags);
		bad++;
	}
	while (!bpf_map_get_next_key(rn->maps.sources, sprev, &sk)) {
		struct vw_src_val v;
		const struct rm_src_entry *me = rm_src_find(&rn->st, &sk);

		ns++;
		if (!bpf_map_lookup_elem(rn->maps.sources, &sk, &v) &&
		    (!me || !src_equal(me, &v))) {
			printf("# MISMATCH %s: vw_sources entry %s\n", rn->ctx,
			       me ? "differs" : "not in the model");
			bad++;
		}
		sprev = &sk;
	}
	if (ns != rn->st.nsrcs) {
		printf("# MISMATCH %s: vw_sources has %zu entries, the model %zu\n", rn->ctx, ns,
		       rn->st.nsrcs);
		bad++;
	}
	bad += end_flood(rn);
	rn->mismatches += bad;
	return bad;
}

/* ---- Regression cases ------------------------------------------------------------------------ */

static int parse_expect(const struct vw_config *cfg, const char *s, struct rm_result *want)
{
	char v[32], r[32], c[VW_CLASS_NAME_MAX + 8];
	unsigned int i;

	if (sscanf(s, "%31s %31s %23s", v, r, c) != 3)
		return -EINVAL;
	for (i = 0; i < VW_VERDICT_MAX && strcmp(v, vw_verdict_name(i)); i++)
		;
	want->verdict = (__u8)i;
	for (i = 0; i < VW_REASON_MAX && strcmp(r, vw_reason_name(i)); i++)
		;
	want->reason = (__u8)i;
	want->cls = VW_CLASS_NONE;
	for (i = 0; i < cfg->nclasses; i++)
		if (!strcmp(cfg->classes[i].name, c))
			want->cls = cfg->classes[i].id;
	if (want->verdict == VW_VERDICT_MAX || want->reason == VW_REASON_MAX ||
	    (want->cls == VW_CLASS_NONE && strcmp(c, "none")))
		return -EINVAL;
	return 0;
}

/* "NAME PREFIX/LEN CLASSES|all EXPIRES_NS|never override|-": an entry added to the named set
 * NAME (one of fuzz_set_names) through vw_block_add, and to the model. */
static int regression_blockset(struct runner *rn, const struct vw_config *cfg, const char *line)
{
	char set[32], pfx[64], classes[256], expires[32], flags[16];
	struct vw_block_entry e = {0};
	struct setop one, *o = &one;
	const char *why;
	unsigned int s;
	char *end;
	int err;

	if (sscanf(line, "%31s %63s %255s %31s %15s", set, pfx, classes, expires, flags) != 5 ||
	    vw_parse_prefix(pfx, &e.r, &why))
		return -EINVAL;
	for (s = 0; s < FUZZ_SETS && strcmp(set, fuzz_set_names[s]); s++)
		;
	if (s == FUZZ_SETS)
		return -EINVAL;
	if (!strcmp(classes, "all"))
		e.r.mask = VW_BLOCK_ALL_CLASSES;
	else if (strcmp(classes, "none") && vw_config_class_mask(cfg, classes, &e.r.mask, NULL))
		return -EINVAL;
	if (strcmp(expires, "never")) {
		e.expires_ns = strtoull(expires, &end, 10);
		if (*end || !e.expires_ns)
			return -EINVAL;
	}
	if (strcmp(flags, "-") && strcmp(flags, "override"))
		return -EINVAL;
	e.flags = !strcmp(flags, "override") ? VW_BLOCK_OVERRIDE : 0;
	while (rn->nsets <= s) {
		struct setop c = {.op = SETOP_CREATE, .set = rn->nsets};

		err = setop(rn, &c);
		if (err)
			return err;
	}
	o->op = SETOP_ADD;
	o->set = s;
	o->n = 1;
	o->e[0] = e;
	block_model(&e, s, &o->m[0]);
	return setop(rn, o);
}

/* The case's config is applied at its first blockset or expect line. */
static int case_begin(struct runner *rn, const struct vw_config *cfg, const char *name,
		      bool *applied)
{
	if (*applied)
		return 0;
	snprintf(rn->ctx, sizeof(rn->ctx), "regression-%s", name);
	*applied = true;
	return begin_config(rn, cfg, 0, false);
}

/* Replay every case of the file; prints one PASS/FAIL line for the file. */
static int run_regressions(struct runner *rn, const char *path)
{
	FILE *f = fopen(path, "r");
	struct vw_config cfg;
	char *line = NULL, name[64] = "";
	size_t cap = 0, lineno = 0, cases = 0, frames = 0;
	long failed = 0, before = rn->mismatches;
	bool in_case = false, applied = false;
	__u8 *frame = malloc(GEN_MAX_FRAME);
	long flen = -1;
	int flink = RM_LINK_ETHER;
	int err = 0;

	memset(&cfg, 0, sizeof(cfg));
	if (!f || !frame) {
		err = f ? -ENOMEM : -errno;
		printf("FAIL fuzz_regressions: cannot read %s: %s\n", path, strerror(-err));
		goto out;
	}
	while (getline(&line, &cap, f) > 0) {
		char *s = line;
		const char *why = NULL;

		lineno++;
		s[strcspn(s, "\r\n")] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		if (!strncmp(s, "case ", 5)) {
			gen_config_free(&cfg);
			memset(&cfg, 0, sizeof(cfg));
			snprintf(name, sizeof(name), "%s", s + 5);
			in_case = true;
			applied = false;
			cases++;
			set_clock(rn, 0);
		} else if (in_case && !strncmp(s, "clock ", 6)) {
			set_clock(rn, strtoull(s + 6, NULL, 10));
		} else if (in_case && !strncmp(s, "config ", 7)) {
			if (gen_config_parse_line(&cfg, s + 7, &why)) {
				printf("# %s:%zu: %s\n", path, lineno, why);
				err = -EINVAL;
				break;
			}
		} else if (in_case && !strncmp(s, "blockset ", 9)) {
			err = case_begin(rn, &cfg, name, &applied);
			if (err)
				break;
			err = regression_blockset(rn, &cfg, s + 9);
			if (err) {
				printf("# %s:%zu: bad blockset line (NAME PREFIX/LEN CLASSES|all "
				       "EXPIRES_NS|never override|-)\n",
				       path, lineno);
				break;
			}
		} else if (in_case && (!strncmp(s, "frame ", 6) || !strncmp(s, "ipframe ", 8))) {
			flink = *s == 'i' ? RM_LINK_IP : RM_LINK_ETHER;
			flen = gen_hex_parse(strchr(s, ' ') + 1, frame, GEN_MAX_FRAME);
			if (flen < GEN_MIN_FRAME) {
				printf("# %s:%zu: bad frame hex\n", path, lineno);
				err = -EINVAL;
				break;
			}
		} else if (in_case && !strncmp(s, "expect ", 7) && flen >= GEN_MIN_FRAME) {
			struct rm_result want, got;
			int r;

			err = case_begin(rn, &cfg, name, &applied);
			if (err)
				break;
			if (parse_expect(&cfg, s + 7, &want)) {
				printf("# %s:%zu: bad expect line\n", path, lineno);
				err = -EINVAL;
				break;
			}
			r = run_frame(rn, flink, frame, (size_t)flen, &got);
			if (r < 0) {
				err = r;
				break;
			}
			frames++;
			if (got.verdict != want.verdict || got.reason != want.reason ||
			    got.cls != want.cls) {
				printf("# %s:%zu: case %s: the model says ", path, lineno, name);
				print_expect(stdout, &cfg, got.verdict, got.reason, got.cls);
				printf(" (%s), the case expects %s\n", got.why, s + 7);
				r = 1;
			}
			failed += r;
			flen = -1;
		} else if (in_case && !strcmp(s, "end")) {
			if (applied && end_config(rn))
				failed++;
			in_case = false;
		} else {
			printf("# %s:%zu: unexpected line\n", path, lineno);
			err = -EINVAL;
			break;
		}
	}
	if (err)
		printf("FAIL fuzz_regressions: %s: %s\n", path, strerror(-err));
	else if (failed)
		printf("FAIL fuzz_regressions: %ld of %zu frames in %zu cases differ\n", failed,
		       frames, cases);
	else
		printf("PASS fuzz_regressions\n# %zu cases, %zu frames replayed from %s\n", cases,
		       frames, path);
	rn->mismatches = before + failed;
out:
	gen_config_free(&cfg);
	free(line);
	free(frame);
	if (f)
		fclose(f);
	return err ? err : failed ? 1 : 0;
}

/* The end of a config found counter cells or map entries no frame was blamed for: run the
 * config's frames again from a fresh state, reading the whole counter row after each, so the
 * frame that moved a second cell gets its reproducer. */
static int replay_strict(struct runner *rn, const struct vw_config *cfg, __u32 slot)
{
	struct hist *frames = rn->hist;
	size_t n = rn->nhist;
	int err;

	struct setop *ops = rn->ops;
	size_t nops = rn->nops, k = 0;

	printf("# replaying %s frame by frame to find the frame\n", rn->ctx);
	rn->hist = NULL;
	rn->nhist = rn->hist_cap = 0;
	rn->ops = NULL;
	rn->nops = rn->ops_cap = 0;
	rn->strict = true;
	err = begin_config(rn, cfg, slot, false);
	for (size_t i = 0; !err && i < n; i++) {
		int r;

		set_clock(rn, frames[i].now_ns);
		for (; !err && k < nops && ops[k].at <= i; k++)
			err = setop(rn, &ops[k]);
		r = err ? 0 : run_frame(rn, frames[i].link, frames[i].data, frames[i].len, NULL);

		if (r < 0)
			err = r;
	}
	free(ops);
	if (!err)
		end_config(rn);
	rn->strict = false;
	for (size_t i = 0; i < n; i++)
		free(frames[i].data);
	free(frames);
	return err;
}

/* ---- Random runs --------------------------------------------------------------------------- */

/* A random entry for named set s: around an allow rule, a block statement or an entry of the
 * sets (as long, longer or shorter), or anywhere; for every class or some; with the override flag
 * or not; without expiry, expiring within 40 s, or expired already. */
static void random_block(struct runner *rn, struct gen_rng *r, unsigned int s,
			 struct vw_block_entry *e, struct rm_block *m)
{
	const struct vw_config *cfg = rn->cfg;
	unsigned int x = (unsigned int)gen_below(r, 100), bits, plen;
	__u64 now = rn->st.now_ns;
	__u32 ids = 0;

	memset(e, 0, sizeof(*e));
	for (unsigned int i = 0; i < 16; i++)
		e->r.addr[i] = (__u8)gen_rand(r);
	e->r.family = gen_chance(r, 50) ? VW_FAMILY_V6 : VW_FAMILY_V4;
	e->r.plen = (__u8)gen_below(r, e->r.family == VW_FAMILY_V4 ? 33 : 129);
	if (x < 55 && cfg->nrules) {
		e->r = cfg->rules[gen_below(r, cfg->nrules)];
	} else if (x < 65 && cfg->nblocks) {
		e->r = cfg->blocks[gen_below(r, cfg->nblocks)];
	} else if (x < 80 && rn->st.nblocks) {
		const struct rm_block *b = &rn->st.blocks[gen_below(r, rn->st.nblocks)];

		e->r.family = b->family;
		e->r.plen = b->plen;
		memcpy(e->r.addr, b->addr, 16);
	}
	bits = e->r.family == VW_FAMILY_V4 ? 32 : 128;
	plen = e->r.plen;
	x = (unsigned int)gen_below(r, 100);
	if (x < 30 && plen < bits) { /* longer: random bits below the prefix */
		unsigned int to =
		    plen + (unsigned int)gen_range_u(r, 1, bits - plen < 8 ? bits - plen : 8);

		for (; plen < to; plen++)
			if (gen_chance(r, 50))
				e->r.addr[plen / 8] ^= (__u8)(0x80 >> (plen % 8));
	} else if (x < 55 && plen) {
		plen -= (unsigned int)gen_range_u(r, 1, plen < 8 ? plen : 8);
	}
	e->r.plen = (__u8)plen;
	gen_mask_prefix(e->r.addr, plen, bits / 8);
	if (bits == 32)
		memset(e->r.addr + 4, 0, 12);
	for (unsigned int c = 0; c < cfg->nclasses; c++)
		ids |= 1U << cfg->classes[c].id;
	e->r.mask = (__u32)gen_rand(r) & ids;
	if (!e->r.mask || gen_chance(r, 40))
		e->r.mask = VW_BLOCK_ALL_CLASSES;
	e->flags = gen_chance(r, 30) ? VW_BLOCK_OVERRIDE : 0;
	x = (unsigned int)gen_below(r, 100);
	if (x < 35)
		e->expires_ns = 0;
	else if (x < 90)
		e->expires_ns = now + gen_range_u(r, 1, 40000000000ULL);
	else /* expired already (at now exactly, or before) */
		e->expires_ns = now - gen_below(r, now < 5000000000ULL ? now : 5000000000ULL);
	if (!e->expires_ns && x >= 35)
		e->expires_ns = 1;
	block_model(e, s, m);
}

/* The generator aims some sources at the named sets' entries. */
static void sets_to_gen(struct runner *rn, struct gen *g)
{
	struct vw_rule extra[64];
	size_t n = 0;

	for (size_t i = 0; i < rn->st.nblocks && n < 64; i++) {
		const struct rm_block *b = &rn->st.blocks[i];

		memset(&extra[n], 0, sizeof(extra[n]));
		extra[n].family = b->family;
		extra[n].plen = b->plen;
		memcpy(extra[n].addr, b->addr, 16);
		n++;
	}
	gen_set_extra(g, extra, n);
}

/* A change of named set s with n random entries (add, replace or delete). */
static int set_random_op(struct runner *rn, struct gen *g, unsigned int op, unsigned int s,
			 size_t n)
{
	struct setop o = {.op = op, .set = s, .n = n < 8 ? n : 8};
	bool chain = op != SETOP_DEL && gen_chance(gen_rng(g), 20);

	if (chain) /* entries nested along one source's path, more than a lookup looks at */
		o.n = (size_t)gen_range_u(gen_rng(g), 4, 8);
	for (size_t i = 0; i < o.n; i++) {
		random_block(rn, gen_rng(g), s, &o.e[i], &o.m[i]);
		if (chain && i) {
			unsigned int plen = o.e[i - 1].r.plen;

			o.e[i].r = o.e[i - 1].r;
			o.e[i].r.mask = o.m[i].mask;
			o.e[i].r.plen =
			    (__u8)(plen - gen_below(gen_rng(g), plen < 3 ? plen + 1 : 3));
			gen_mask_prefix(o.e[i].r.addr, o.e[i].r.plen, 16);
			block_model(&o.e[i], s, &o.m[i]);
		}
	}
	return setop(rn, &o);
}

/* Half the configs start with one or two named sets of a few entries each. */
static int sets_start(struct runner *rn, struct gen *g)
{
	struct gen_rng *r = gen_rng(g);
	unsigned int n;
	int err = 0;

	if (!gen_chance(r, 50))
		return 0;
	n = gen_chance(r, 40) ? 2 : 1;
	for (unsigned int s = 0; s < n && !err; s++) {
		struct setop c = {.op = SETOP_CREATE, .set = s};

		err = setop(rn, &c);
		if (!err)
			err = set_random_op(rn, g, SETOP_ADD, s, (size_t)gen_range_u(r, 1, 8));
	}
	rn->set_configs++;
	sets_to_gen(rn, g);
	return err;
}

/* Between two frames, now and then, a feeder changes a set: adds entries, deletes one, replaces
 * the whole set, or the expired entries are swept. */
static int sets_change(struct runner *rn, struct gen *g)
{
	static const unsigned int ops[] = {SETOP_ADD, SETOP_DEL, SETOP_REPLACE, SETOP_SWEEP};
	struct gen_rng *r = gen_rng(g);
	unsigned int s = (unsigned int)gen_below(r, rn->nsets), op = ops[gen_below(r, 4)];
	int err;

	rn->block_changes++;
	err = set_random_op(rn, g, op, s,
			    op == SETOP_ADD	  ? (size_t)gen_range_u(r, 1, 3)
			    : op == SETOP_DEL	  ? 1
			    : op == SETOP_REPLACE ? (size_t)gen_below(r, 7)
						  : 0);
	sets_to_gen(rn, g);
	return err;
}

/* Now and then the clock goes to just before, at or just after a time the model will compare
 * with: the end of a ban, the expiry of a block entry, the moment a bucket has a token again. */
static void clock_to_edge(struct runner *rn, struct gen *g)
{
	const struct rm_state *st = &rn->st;
	unsigned int what = (unsigned int)gen_below(gen_rng(g), 3);
	const struct rm_flood_key *k = NULL;
	struct vw_rule src = {0};
	__u8 cls = VW_CLASS_NONE;
	__u64 t = 0;

	if (what == 0 && st->nbans) {
		const struct rm_ban *b = &st->bans[gen_below(gen_rng(g), st->nbans)];

		t = b->until_ns;
		k = &b->key;
	} else if (what == 1 && st->nblocks) {
		const struct rm_block *b = &st->blocks[gen_below(gen_rng(g), st->nblocks)];

		t = b->expires_ns;
		src.family = b->family;
		src.plen = b->plen;
		memcpy(src.addr, b->addr, 16);
		for (unsigned int c = 0; c < rn->cfg->nclasses && b->mask != VW_BLOCK_ALL_CLASSES;
		     c++)
			if (b->mask & (1U << rn->cfg->classes[c].id))
				cls = rn->cfg->classes[c].id;
	} else if (what == 2 && st->nbuckets) {
		const struct rm_bucket *b = &st->buckets[gen_below(gen_rng(g), st->nbuckets)];

		t = b->edge_ns;
		k = &b->key;
	}
	if (t <= st->now_ns) /* none, never expires, or past */
		return;
	if (k) { /* the bucket's or ban's source (an IPv6 one anywhere in its /N) and class */
		src.family = k->family;
		src.plen = k->family == VW_FAMILY_V4 ? 32 : 128;
		for (unsigned int c = 0; c < rn->cfg->nclasses; c++)
			if (rn->cfg->classes[c].id == k->cls && k->family == VW_FAMILY_V6)
				src.plen = rn->cfg->classes[c].v6_plen;
		memcpy(src.addr, k->addr, 16);
		cls = k->cls;
	}
	t = t - 1 + gen_below(gen_rng(g), 3);
	if (t > st->now_ns)
		set_clock(rn, t);
	gen_aim(g, &src, cls);
}

/* gen_config_print() and gen_config_parse_line() (the regression file's config lines) must give
 * back the same text; returns NULL or what went wrong. */
static const char *config_roundtrip(const struct vw_config *cfg)
{
	char *a = NULL, *b = NULL, *line, *save = NULL;
	size_t alen = 0, blen = 0;
	struct vw_config back;
	const char *why = NULL;
	FILE *f;

	memset(&back, 0, sizeof(back));
	f = open_memstream(&a, &alen);
	if (!f)
		return "out of memory";
	gen_config_print(cfg, f);
	fclose(f);
	b = strdup(a);
	for (line = b ? strtok_r(b, "\n", &save) : NULL; line && !why;
	     line = strtok_r(NULL, "\n", &save))
		if (gen_config_parse_line(&back, line, &why) && !why)
			why = "parse error";
	free(b);
	b = NULL;
	f = why ? NULL : open_memstream(&b, &blen);
	if (f) {
		gen_config_print(&back, f);
		fclose(f);
		if (strcmp(a, b))
			why = "the config text does not read back the same";
	}
	gen_config_free(&back);
	free(a);
	free(b);
	return why;
}

/* The config uses flood control: an open class, a rate, an exempt rule or a block statement. */
static bool has_flood(const struct vw_config *cfg)
{
	for (unsigned int c = 0; c < cfg->nclasses; c++)
		if (cfg->classes[c].policy == VW_POLICY_OPEN || cfg->classes[c].rate)
			return true;
	return cfg->nexempt || cfg->nblocks;
}

static int run_random(struct runner *rn, struct gen *g, long frames, long configs)
{
	struct gen_frame *fr = malloc(sizeof(*fr));
	long per = (frames + configs - 1) / configs, done = 0;
	bool carry;
	__u32 slot;
	struct vw_config cfg;
	int err = 0;

	if (!fr)
		return -ENOMEM;
	memset(&cfg, 0, sizeof(cfg));
	for (long c = 0; c < configs && done < frames && !err; c++) {
		/* configs with flood control and without alternate */
		err = gen_config_flood(gen_rng(g), &cfg, c % 2 == 0);
		if (err)
			break;
		rn->cfg_no = (unsigned int)c;
		const char *rt = config_roundtrip(&cfg);

		if (rt) {
			printf("# MISMATCH seed-%llu-config-%ld: %s\n",
			       (unsigned long long)rn->seed, c, rt);
			rn->mismatches++;
		}
		snprintf(rn->ctx, sizeof(rn->ctx), "seed-%llu-config-%ld",
			 (unsigned long long)rn->seed, c);
		slot = gen_chance(gen_rng(g), 50) ? (__u32)gen_range_u(gen_rng(g), 1, VW_MAX_IFACES)
						  : 0;
		/* Now and then a reload: the LRU maps keep what earlier configs stored (bounded, so
		 * the LRU never has to evict). */
		carry = c > 0 && rn->nhist < 20000 && gen_chance(gen_rng(g), 30);
		err = begin_config(rn, &cfg, slot, carry);
		if (!err) {
			/* The flood-sampling window: fresh, already over (the next clock read
			 * starts a new one), or deep in a flood (drops past the exact budget); or,
			 * on a reload, as the last config left it. */
			__u64 now = coarse_ns(), x = gen_below(gen_rng(g), 100);

			if (x < 30)
				err = set_window(rn, now - 2 * VW_SRC_WINDOW_NS,
						 gen_below(gen_rng(g), 2 * FUZZ_SRC_EXACT));
			else if (x < 60)
				err = set_window(rn, now,
						 FUZZ_SRC_EXACT - 8 + gen_below(gen_rng(g), 300));
			else if (!carry)
				err = set_window(rn, now, 0);
		}
		if (err)
			break;
		gen_set_config(g, &cfg, carry);
		err = sets_start(rn, g);
		if (err) {
			fprintf(stderr, "block sets: %s\n", strerror(-err));
			break;
		}
		rn->flood_configs += has_flood(&cfg) || rn->nsets;
		if (rn->verbose)
			printf("# config %ld: %u classes, %zu rules\n", c, cfg.nclasses,
			       cfg.nrules);
		for (long i = 0; i < per && done < frames; i++, done++) {
			struct rm_result e;
			int r;

			gen_next(g, fr);
			if (fr->wait_ns)
				set_clock(rn, rn->st.now_ns + fr->wait_ns);
			else if (gen_chance(gen_rng(g), 4))
				clock_to_edge(rn, g);
			if (rn->nsets && gen_chance(gen_rng(g), 1)) {
				err = sets_change(rn, g);
				if (err) {
					fprintf(stderr, "block sets: %s\n", strerror(-err));
					break;
				}
			}
			r = run_frame(rn, fr->link, fr->data, fr->len, &e);
			rn->frames_run++;
			/* flood control runs after the allowlist decision (or policy open) */
			rn->decisions +=
			    r >= 0 &&
			    (e.reason == VW_REASON_ALLOWLISTED ||
			     e.reason == VW_REASON_NOT_ALLOWLISTED || e.reason == VW_REASON_OPEN ||
			     e.reason == VW_REASON_RATE_LIMITED || e.reason == VW_REASON_BANNED ||
			     e.reason == VW_REASON_BLOCKLISTED);
			if (r < 0) {
				err = r;
				break;
			}
			if (r)
				printf("# (frame made as: %s)\n", fr->desc);
			if (rn->mismatches >= rn->max_mismatches)
				break;
		}
		if (rn->verbose)
			printf("# config %ld: %ld allowlist decisions so far\n", c, rn->decisions);
		if (!err && end_config(rn) && !rn->strict)
			err = replay_strict(rn, &cfg, slot);
		gen_config_free(&cfg);
		if (rn->mismatches >= rn->max_mismatches)
			break;
	}
	free(fr);
	return err;
}

static void usage(FILE *o)
{
	fprintf(o,
		"usage: diff [--frames N] [--seed S] [--configs K] [--regressions FILE | "
		"--no-regressions]\n"
		"            [--pcaps DIR | --no-pcaps] [--max-mismatches M] [--self-check] "
		"[--strict]\n"
		"            [--min-decision-share PERCENT] [-v]\n"
		"Runs N random frames (default 20000) under K random configs (default N/2000)\n"
		"through the XDP program and the reference model; exits 1 on any mismatch.\n"
		"--self-check alters every 7th answer of the model (and the first of each flood\n"
		"control reason) and passes only if exactly those frames are reported (the\n"
		"comparison itself works). --strict reads the\n"
		"whole counter row after every frame (slow; by default only after a mismatch).\n"
		"--min-decision-share fails the run when fewer random frames than PERCENT reach\n"
		"the allowlist decision.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"frames", required_argument, NULL, 'n'},
	    {"seed", required_argument, NULL, 's'},
	    {"configs", required_argument, NULL, 'k'},
	    {"regressions", required_argument, NULL, 'r'},
	    {"no-regressions", no_argument, NULL, 'R'},
	    {"pcaps", required_argument, NULL, 'p'},
	    {"no-pcaps", no_argument, NULL, 'P'},
	    {"max-mismatches", required_argument, NULL, 'm'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"self-check", no_argument, NULL, 'S'},
	    {"min-decision-share", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *regress = "tests/fuzz/regressions.txt", *pcaps = "tests/data/pcaps";
	struct runner *rn = calloc(1, sizeof(*rn));
	long frames = 20000, configs = 0;
	struct timespec t0, t1;
	double share, min_share = -1;
	struct gen *g = NULL;
	int opt, err = 0, ret = 1;
	char *end;

	if (!rn) {
		fprintf(stderr, "diff: out of memory\n");
		return 1;
	}
	rn->seed = (__u64)time(NULL) ^ ((__u64)getpid() << 32);
	rn->max_mismatches = 10;
	while ((opt = getopt_long(argc, argv, "n:s:k:r:Rp:Pm:vSD:Th", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			frames = strtol(optarg, &end, 0);
			if (*end || frames < 0)
				goto bad_usage;
			break;
		case 's':
			rn->seed = strtoull(optarg, &end, 0);
			if (*end)
				goto bad_usage;
			break;
		case 'k':
			configs = strtol(optarg, &end, 0);
			if (*end || configs < 1)
				goto bad_usage;
			break;
		case 'r':
			regress = optarg;
			break;
		case 'R':
			regress = NULL;
			break;
		case 'p':
			pcaps = optarg;
			break;
		case 'P':
			pcaps = NULL;
			break;
		case 'm':
			rn->max_mismatches = strtol(optarg, &end, 0);
			if (*end || rn->max_mismatches < 1)
				goto bad_usage;
			break;
		case 'v':
			rn->verbose = true;
			break;
		case 'T':
			rn->strict = true;
			break;
		case 'D':
			min_share = strtod(optarg, &end);
			if (*end || min_share < 0 || min_share > 100)
				goto bad_usage;
			break;
		case 'S':
			rn->inject_every = 7;
			regress = NULL;
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			goto bad_usage;
		}
	}
	if (optind != argc)
		goto bad_usage;
	if (!configs)
		configs = frames / 2000 ? frames / 2000 : 1;
	if (rn->inject_every)
		rn->max_mismatches = frames + 1;

	libbpf_set_print(libbpf_quiet);
	rm_state_init(&rn->st);
	rn->ncpus = libbpf_num_possible_cpus();
	if (rn->ncpus < 1) {
		fprintf(stderr, "diff: cannot count CPUs: %s\n", strerror(-rn->ncpus));
		goto out;
	}
	rn->percpu = calloc((size_t)rn->ncpus, sizeof(*rn->percpu));
	rn->rowvals = calloc((size_t)rn->ncpus * ROW_CELLS, sizeof(*rn->rowvals));
	rn->rowkeys = calloc(ROW_CELLS, sizeof(*rn->rowkeys));
	if (!rn->percpu || !rn->rowvals || !rn->rowkeys) {
		fprintf(stderr, "diff: out of memory\n");
		goto out;
	}
	rn->linear = xdptest_linear_size();
	rn->lo_ifindex = if_nametoindex("lo");
	if (!rn->lo_ifindex) {
		fprintf(stderr, "diff: no loopback device: %s\n", strerror(errno));
		goto out;
	}
	/* One CPU runs every frame, so that one vw_src_rate value is in play and modelled. */
	{
		cpu_set_t one;

		rn->cpu = sched_getcpu();
		CPU_ZERO(&one);
		if (rn->cpu >= 0)
			CPU_SET(rn->cpu, &one);
		if (rn->cpu < 0 || rn->cpu >= rn->ncpus ||
		    sched_setaffinity(0, sizeof(one), &one)) {
			fprintf(stderr, "diff: cannot pin to CPU %d: %s\n", rn->cpu,
				strerror(errno));
			goto out;
		}
	}
	rn->rates = calloc((size_t)rn->ncpus, sizeof(*rn->rates));
	if (!rn->rates) {
		fprintf(stderr, "diff: out of memory\n");
		goto out;
	}
	rn->st.rate.exact = FUZZ_SRC_EXACT;
	rn->skel = xdptest_load(FUZZ_SRC_EXACT);
	if (!rn->skel) {
		err = -errno;
		fprintf(stderr, "diff: loading the XDP object: %s (root needed)\n", strerror(-err));
		goto out;
	}
	rn->prog_fd = bpf_program__fd(rn->skel->progs.voipwall_xdp);
	rn->prog_ip_fd = bpf_program__fd(rn->skel->progs.voipwall_xdp_ip);
	rn->rate_fd = bpf_map__fd(rn->skel->maps.vw_src_rate);
	err = vw_maps_from_obj(rn->skel->obj, &rn->maps);
	if (err) {
		fprintf(stderr, "diff: finding the maps: %s\n", strerror(-err));
		goto out;
	}
	printf("# seed %llu, %ld frames, %ld configs, first buffer %zu bytes\n",
	       (unsigned long long)rn->seed, frames, configs, rn->linear);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	if (regress && run_regressions(rn, regress) < 0)
		goto out;

	g = gen_new(rn->seed, pcaps);
	if (!g && pcaps) {
		printf("# captures in %s not read (%s); generating without them\n", pcaps,
		       strerror(errno));
		g = gen_new(rn->seed, NULL);
	}
	if (!g) {
		fprintf(stderr, "diff: out of memory\n");
		goto out;
	}
	printf("# %zu frames read from captures\n", gen_pcap_frames(g));
	gen_set_linear(g, rn->linear);
	long before = rn->mismatches;

	err = run_random(rn, g, frames, configs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (err) {
		printf("FAIL fuzz_differential: stopped: %s\n", strerror(-err));
		goto out;
	}
	if (rn->inject_every) {
		__u64 nflood = 0;

		for (size_t i = 0; i < NFLOOD_REASONS; i++)
			nflood += rn->injected_flood[i];
		if (!nflood) {
			printf(
			    "FAIL fuzz_self_check: no frame with a flood control reason to alter "
			    "(seed %llu)\n",
			    (unsigned long long)rn->seed);
			ret = 1;
			goto out;
		}
		if (rn->mismatches != rn->injected || !rn->injected)
			printf("FAIL fuzz_self_check: %ld wrong answers injected, %ld mismatches "
			       "reported (seed %llu)\n",
			       rn->injected, rn->mismatches, (unsigned long long)rn->seed);
		else
			printf("PASS fuzz_self_check\n# %ld wrong answers injected, all caught\n",
			       rn->injected);
		printf("# of them, on frames the model gave a flood control reason:");
		for (size_t i = 0; i < NFLOOD_REASONS; i++)
			printf(" %s %llu", vw_reason_name(flood_reasons[i]),
			       (unsigned long long)rn->injected_flood[i]);
		printf("\n");
		ret = rn->mismatches == rn->injected && rn->injected ? 0 : 1;
		goto out;
	}
	if (rn->mismatches > before)
		printf("FAIL fuzz_differential: %ld mismatches (seed %llu)\n",
		       rn->mismatches - before, (unsigned long long)rn->seed);
	else
		printf("PASS fuzz_differential\n");
	printf("# %ld frames, %ld configs, %.1f s, %ld mismatches, seed %llu\n", rn->frames_run,
	       configs, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       rn->mismatches, (unsigned long long)rn->seed);
	printf("# model outcomes:");
	for (int v = 0; v < VW_VERDICT_MAX; v++)
		for (int r = 0; r < VW_REASON_MAX; r++)
			if (rn->seen[v][r])
				printf(" %s/%s=%llu", vw_verdict_name(v), vw_reason_name(r),
				       (unsigned long long)rn->seen[v][r]);
	printf("\n# first fragments %llu (malformed, keeping a verdict in force: %llu), later "
	       "fragments following one %llu, multi-buffer %llu\n",
	       (unsigned long long)rn->seen_first, (unsigned long long)rn->seen_kept,
	       (unsigned long long)rn->seen_later_hit, (unsigned long long)rn->seen_multibuf);
	for (unsigned int i = 0; i < rn->nwhy; i++)
		printf("#   %8llu  %s\n", (unsigned long long)rn->why_n[i], rn->why[i]);
	__u64 judged = 0;

	for (int v = 0; v < VW_VERDICT_MAX; v++)
		for (int r = 0; r < VW_REASON_MAX; r++)
			judged += rn->seen[v][r];
	printf("# flood control: %ld of %ld configs (%ld with named block sets, %ld set changes); "
	       "of %llu frames judged (regressions included):",
	       rn->flood_configs, configs, rn->set_configs, rn->block_changes,
	       (unsigned long long)judged);
	for (size_t i = 0; i < NFLOOD_REASONS; i++) {
		__u64 n = 0;

		for (int v = 0; v < VW_VERDICT_MAX; v++)
			n += rn->seen[v][flood_reasons[i]];
		printf(" %s %llu (%.2f%%)", vw_reason_name(flood_reasons[i]), (unsigned long long)n,
		       judged ? 100.0 * (double)n / (double)judged : 0.0);
	}
	printf("\n");
	ret = rn->mismatches ? 1 : 0;
	/* The share of random frames that reach the allowlist decision: the rest stop at a header
	 * check or an unprotected port, and a fuzzer that rarely decides tests the lookups little.
	 */
	share = rn->frames_run ? 100.0 * (double)rn->decisions / (double)rn->frames_run : 0;
	printf("# allowlist decisions: %ld of %ld random frames (%.1f%%)\n", rn->decisions,
	       rn->frames_run, share);
	if (min_share >= 0) {
		if (share < min_share) {
			printf(
			    "FAIL fuzz_decision_share: %.1f%% of the frames reached the allowlist "
			    "decision, want at least %.1f%% (seed %llu)\n",
			    share, min_share, (unsigned long long)rn->seed);
			ret = 1;
		} else {
			printf("PASS fuzz_decision_share\n");
		}
	}
	goto out;

bad_usage:
	usage(stderr);
	ret = 2;
out:
	gen_free(g);
	hist_clear(rn);
	free(rn->hist);
	free(rn->ops);
	rm_state_free(&rn->st);
	free(rn->percpu);
	free(rn->rowvals);
	free(rn->rowkeys);
	free(rn->rates);
	voipwall_bpf__destroy(rn->skel);
	free(rn);
	return ret;
}
