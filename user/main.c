// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* voipwall: the command an operator runs. Options may stand anywhere on the line; the first
 * word that is not an option is the command, the rest are its arguments. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "log.h"
#include "pin.h"

/* Options a state-changing command accepts besides the global ones. */
#define CHANGE_OPTS VW_OPT_WAIT

struct cmd {
	const char *name;
	int (*fn)(struct vw_cli *cli); /* 0 or -errno (cli.h) */
	unsigned int opts; /* enum vw_opt bits allowed */
	const char *synopsis;
	const char *help;
};

static const struct cmd cmds[] = {
    {"load", cmd_load, VW_OPT_MODE | VW_OPT_FORCE | VW_OPT_MULTIPROG | CHANGE_OPTS,
     "load IFACE... [--mode auto|native|skb] [--multiprog] [--force]",
     "Apply the config and attach the filter to each interface. The program, its maps and one\n"
     "link per interface are pinned under the pin directory and stay after the command exits.\n"
     "The first load creates the pinned state (mounting bpffs on " VW_BPFFS_ROOT " when the\n"
     "default pin directory needs it); later loads reuse it, apply the config again and attach\n"
     "the new interfaces. Interfaces are attached all or none.\n"
     "  --mode auto    native XDP, falling back to skb (generic) mode, saying so (default)\n"
     "  --mode native  native (driver) XDP only\n"
     "  --mode skb     generic XDP\n"
     "  --multiprog    attach through libxdp's dispatcher even when no other program runs\n"
     "  --force        apply even if the config would cut off your SSH session\n"
     "Where other XDP programs already run through libxdp's dispatcher (xdp-filter,\n"
     "xdp-loader), voipwall joins it as one more program (run priority 30, lower runs\n"
     "first; the next program runs on the packets voipwall passes), in the dispatcher's\n"
     "mode; libxdp pins the dispatcher under $LIBXDP_BPFFS (default /sys/fs/bpf). An\n"
     "interface that is already loaded, or that runs another XDP program attached without\n"
     "the dispatcher, is an error.\n"},
    {"unload", cmd_unload, VW_OPT_ALL | VW_OPT_PURGE | CHANGE_OPTS,
     "unload IFACE... | --all [--purge]",
     "Detach the filter from the interfaces (--all: from every interface). When no interface\n"
     "is left, every pinned object is removed but the block sets the feeders filled (every\n"
     "named set but 'config'): they stay in the pin directory and the next load uses them\n"
     "again, so a restart does not lift fail2ban, APIBAN or CrowdSec blocks. With nothing\n"
     "loaded, block add|del|list|flush|replace change those kept sets.\n"
     "  --purge   with --all: remove the kept block sets too, and the pin directory\n"},
    {"reload", cmd_reload, VW_OPT_FORCE | CHANGE_OPTS, "reload [--force]",
     "Read the config again (-c FILE, or else the file the running config was loaded from) and\n"
     "switch the running filter to it atomically: the new tables are built in the inactive\n"
     "generation, then one write makes them live, so every packet sees either the whole old\n"
     "config or the whole new one. Classes that keep their name keep their id, so counters keep\n"
     "their meaning; counters are not reset. A config with any error is reported as file:line\n"
     "lines and nothing changes (exit 2). It also drops the changes made by 'allow add|del'.\n"
     "  --force        apply even if the config would cut off your SSH session\n"},
    {"check", cmd_check, 0, "check",
     "Validate the config and print what would be applied: classes, ports, policy and the\n"
     "number of allow rules per class. Touches nothing; needs no privileges.\n"},
    {"allow", cmd_allow, VW_OPT_FORCE | CHANGE_OPTS,
     "allow add|del CLASS[,CLASS...] PREFIX...|- | allow list [CLASS]",
     "Change the live allowlists, or list them.\n"
     "  allow add CLASS[,CLASS...] PREFIX...  allow the prefixes for the classes\n"
     "  allow del CLASS[,CLASS...] PREFIX...  remove the classes from those exact prefixes\n"
     "  allow list [CLASS]                    the live allow rules (of one class)\n"
     "PREFIX is an IPv4 or IPv6 address or CIDR prefix with no host bits set; '-' reads\n"
     "prefixes from standard input, one a line ('#' comments), for lists too long for a\n"
     "command line (allow add sip - < prefixes.txt).\n"
     "Changes are applied atomically and last until the next 'voipwall reload' (or load),\n"
     "which restores the allowlists of the config file: put lasting rules in the config.\n"
     "  --force        delete even if it would cut off your SSH session\n"},
    {"status", cmd_status, 0, "status",
     "Show the interfaces (mode, link id), the program id, the config source (and whether it is\n"
     "the built-in default), the classes with their ports, policy and allowlist sizes, and when\n"
     "the config was last applied.\n"},
    {"stats", cmd_stats, VW_OPT_PROMETHEUS | VW_OPT_WATCH, "stats [--prometheus] [--watch SECONDS]",
     "Show the counters: packets and bytes per interface and class, by verdict and reason.\n"
     "  --prometheus       Prometheus text format: voipwall_packets_total and\n"
     "                     voipwall_bytes_total{interface,class,verdict,reason}\n"
     "  --watch SECONDS    refresh every SECONDS with rates per second, until interrupted\n"
     "                     (with -j: one JSON object per line)\n"},
    {"top", cmd_top, VW_OPT_TOP_N, "top [-n N]",
     "Show the sources whose packets were dropped (or monitored) most: address, packets, bytes,\n"
     "last class, last reason, seconds since last seen.\n"
     "  -n N    show N sources (default 10; 0: all)\n"},
    {"exporter", cmd_exporter, VW_OPT_LISTEN, "exporter [--listen ADDR:PORT]",
     "Serve the metrics of 'stats --prometheus' over HTTP at /metrics until stopped, for\n"
     "Prometheus to scrape where no node_exporter runs. Every scrape reads the pinned state\n"
     "afresh: loads, reloads and unloads show at the next scrape (voipwall_up 0 while nothing\n"
     "is loaded). One thread; GET and HEAD of /metrics only (404 otherwise), request heads up\n"
     "to 8 KiB, 10 seconds per connection, 16 connections at a time.\n"
     "  --listen ADDR:PORT  address to listen on (default " VW_EXPORTER_LISTEN ";\n"
     "                      IPv6 as [::1]:9725)\n"},
    {"block", cmd_block, VW_OPT_BLOCK | VW_OPT_CLASS | CHANGE_OPTS,
     "block add|del|list|flush|replace [--set NAME] [--for DURATION] [--class C[,C...]] "
     "[--override-allowlist] PREFIX...|FILE|-",
     "Named block sets, the interface for feeders (fail2ban, APIBAN, CrowdSec, scripts).\n"
     "  block add [--set NAME] [--for DURATION] [--class C[,C...]] [--override-allowlist] PREFIX...|-\n"
     "  block del [--set NAME] PREFIX...|-\n"
     "  block list [--set NAME]\n"
     "  block flush --set NAME\n"
     "  block replace --set NAME FILE|-     swap the whole set at once (feeds of full lists)\n"
     "A blocked source is dropped (reason blocklisted) in the classes given (default: all) when\n"
     "the allowlist would pass it: in classes with policy open, or, with --override-allowlist,\n"
     "even when it is allowlisted. Without it, an allowlisted source is never blocked.\n"
     "--for 30s|10m|1h|7d: the entry stops matching then, with no command. The set is 'manual'\n"
     "without --set; the set 'config' holds the config file's block statements. Sets survive\n"
     "reload and restarts: 'unload --all' keeps them for the next load ('unload --all --purge'\n"
     "removes them). With nothing loaded, these commands change the kept sets (--class names\n"
     "the classes of the last config loaded).\n"
     "'-' reads prefixes from standard input, one a line.\n"},
    {"capture", cmd_capture, VW_OPT_CAPTURE | VW_OPT_CLASS,
     "capture [IFACE...] [--verdict drop|monitor|pass|any] [--class C] [--reason R]\n"
     "                   [--snaplen N] [--rate N/s] [-c COUNT]\n"
     "                   (-w FILE.pcapng | -w - | --hep udp:HOST:PORT [--hep-id N])",
     "Copy the packets the filter drops (or monitors, or passes) out of the data path, sampled\n"
     "in the kernel, as pcapng (one interface block per interface, a comment per packet such as\n"
     "'class=sip verdict=drop reason=not_allowlisted') or as HEPv3 to a HOMER, heplify-server or\n"
     "sngrep collector. Filters are applied in the kernel; a comma-separated list takes several\n"
     "values. Without IFACE: every interface voipwall is loaded on.\n"
     "  --verdict V       drop (default), monitor, pass, or any\n"
     "  --class C         class name, or none (unclassified); default any\n"
     "  --reason R        allowlisted, not_allowlisted, unprotected, malformed, fragment,\n"
     "                    fragment_unknown, non_ip; default any\n"
     "  --snaplen N       bytes of each frame kept (1-16384; default 16384)\n"
     "  --rate N/s        samples per second per CPU, counted in the kernel (default 1000)\n"
     "  -c COUNT          stop after COUNT packets\n"
     "  -w FILE           write pcapng to FILE; '-' streams to standard output (| tshark -r -)\n"
     "  --hep udp:HOST:PORT  send each packet as HEPv3 over UDP ([IPv6]:PORT works too)\n"
     "  --hep-id N        HEP capture agent id (default 0)\n"
     "Ctrl-C (or -c) turns the sampler off and prints what was captured, lost (ring full) and\n"
     "not sampled (rate limit). The sampler also turns itself off within 5 s of the capture\n"
     "dying (kill -9). One capture runs at a time per pin directory; a second one is refused.\n"},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct {
	unsigned int bit;
	const char *name;
} opt_names[] = {
    {VW_OPT_MODE, "--mode"},   {VW_OPT_FORCE, "--force"},
    {VW_OPT_ALL, "--all"},     {VW_OPT_PROMETHEUS, "--prometheus"},
    {VW_OPT_WATCH, "--watch"}, {VW_OPT_TOP_N, "-n"},
    {VW_OPT_WAIT, "--wait"},   {VW_OPT_LISTEN, "--listen"},
    {VW_OPT_MULTIPROG, "--multiprog"},
    {VW_OPT_CAPTURE, NULL /* capture_opt */},
    {VW_OPT_BLOCK, "--set/--for/--override-allowlist"},
    {VW_OPT_CLASS, "--class"},
    {VW_OPT_PURGE, "--purge"},
};

/* The first of capture's options given, for "does not apply" messages. */
static const char *capture_opt;

static const char global_help[] =
    "Global options (before or after the command):\n"
    "  -c, --config FILE  config file (default " VW_DEFAULT_CONFIG "; capture: -c is its\n"
    "                     packet count;\n"
    "                     when that file is missing, a built-in default is used)\n"
    "  --pin-dir DIR      pin directory (default " VW_DEFAULT_PIN_DIR ", or $" VW_PIN_DIR_ENV ")\n"
    "  --wait SECONDS     wait this long for another voipwall changing the same pin directory\n"
    "                     (default 30)\n"
    "  -j, --json         JSON output (errors too: {\"error\": \"...\"})\n"
    "  -v, --verbose      more detail, with libbpf's messages\n"
    "  -h, --help         this help, or a command's help\n"
    "Exit codes: 0 success, 1 runtime failure, 2 usage or config error (or an unsafe change\n"
    "refused).\n";

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: voipwall [OPTIONS] COMMAND [ARGS]\n\n"
	    "XDP filter for VoIP gateways: packets to a protected port class (sip, rtp, mgmt...)\n"
	    "pass only from sources allowlisted for that class.\n\nCommands:\n");
	for (unsigned int i = 0; i < NCMDS; i++)
		fprintf(f, "  voipwall %s\n", cmds[i].synopsis);
	fprintf(f, "\n%s\nRun 'voipwall COMMAND --help' for what a command does.\n", global_help);
}

static void cmd_usage(const struct cmd *c, FILE *f)
{
	fprintf(f, "Usage: voipwall [OPTIONS] %s\n\n%s\n%s", c->synopsis, c->help, global_help);
}

static int parse_num(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > max || v != v) {
		pr_warn("invalid value '%s' for %s\n", s, opt);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

enum {
	OPT_PIN_DIR = 256,
	OPT_MODE,
	OPT_FORCE,
	OPT_ALL,
	OPT_PROMETHEUS,
	OPT_WATCH,
	OPT_WAIT,
	OPT_LISTEN,
	OPT_MULTIPROG,
	OPT_CONFIG,
	OPT_VERDICT,
	OPT_CLASS,
	OPT_SET,
	OPT_FOR,
	OPT_OVERRIDE,
	OPT_REASON,
	OPT_SNAPLEN,
	OPT_RATE,
	OPT_HEP,
	OPT_HEP_ID,
	OPT_PURGE,
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"pin-dir", required_argument, NULL, OPT_PIN_DIR},
    {"json", no_argument, NULL, 'j'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"mode", required_argument, NULL, OPT_MODE},
    {"force", no_argument, NULL, OPT_FORCE},
    {"all", no_argument, NULL, OPT_ALL},
    {"prometheus", no_argument, NULL, OPT_PROMETHEUS},
    {"watch", required_argument, NULL, OPT_WATCH},
    {"wait", required_argument, NULL, OPT_WAIT},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"multiprog", no_argument, NULL, OPT_MULTIPROG},
    {"verdict", required_argument, NULL, OPT_VERDICT},
    {"class", required_argument, NULL, OPT_CLASS},
    {"set", required_argument, NULL, OPT_SET},
    {"for", required_argument, NULL, OPT_FOR},
    {"override-allowlist", no_argument, NULL, OPT_OVERRIDE},
    {"reason", required_argument, NULL, OPT_REASON},
    {"snaplen", required_argument, NULL, OPT_SNAPLEN},
    {"rate", required_argument, NULL, OPT_RATE},
    {"hep", required_argument, NULL, OPT_HEP},
    {"hep-id", required_argument, NULL, OPT_HEP_ID},
    {"purge", no_argument, NULL, OPT_PURGE},
    {NULL, 0, NULL, 0},
};

/* A whole number in [min, max] for opt; suffix (e.g. "/s") may follow it. */
static int parse_uint(const char *opt, const char *s, const char *suffix, unsigned long long min,
		      unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || (*end && (!suffix || strcmp(end, suffix))) ||
	    v < min || v > max) {
		pr_warn("invalid value '%s' for %s (a whole number from %llu to %llu%s%s)\n", s,
			opt, min, max, suffix ? ", optionally followed by " : "",
			suffix ? suffix : "");
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* "--verdict" for OPT_VERDICT (from long_opts), "-w" for 'w'. */
static const char *option_name(int opt)
{
	static char buf[32];

	for (const struct option *o = long_opts; o->name; o++) {
		if (o->val == opt) {
			snprintf(buf, sizeof(buf), "--%s", o->name);
			return buf;
		}
	}
	snprintf(buf, sizeof(buf), "-%c", opt);
	return buf;
}

static int parse_capture_opt(struct vw_cli *cli, int opt, const char *arg)
{
	struct vw_capture_args *a = &cli->capture;
	unsigned long long v;

	switch (opt) {
	case 'w':
		a->write = arg;
		return 0;
	case OPT_VERDICT:
		a->verdict = arg;
		return 0;
	case OPT_CLASS:
		a->cls = arg;
		return 0;
	case OPT_REASON:
		a->reason = arg;
		return 0;
	case OPT_HEP:
		a->hep = arg;
		return 0;
	case OPT_SNAPLEN:
		if (parse_uint("--snaplen", arg, NULL, 1, VW_CAPTURE_SNAP_MAX, &v))
			return -EINVAL;
		a->snaplen = (unsigned int)v;
		return 0;
	case OPT_RATE:
		if (parse_uint("--rate", arg, "/s", 1, 1000000, &v))
			return -EINVAL;
		a->rate = (unsigned int)v;
		return 0;
	default: /* OPT_HEP_ID */
		if (parse_uint("--hep-id", arg, NULL, 0, 0xffffffffULL, &v))
			return -EINVAL;
		a->hep_id = (unsigned int)v;
		return 0;
	}
}

static int parse_mode(const char *arg, enum vw_attach_mode *mode)
{
	if (!strcmp(arg, "auto")) {
		*mode = VW_ATTACH_AUTO;
	} else if (!strcmp(arg, "native")) {
		*mode = VW_ATTACH_NATIVE;
	} else if (!strcmp(arg, "skb")) {
		*mode = VW_ATTACH_SKB;
	} else {
		pr_warn("invalid --mode '%s' (auto, native or skb)\n", arg);
		return -EINVAL;
	}
	return 0;
}

static int parse_top_n(const char *arg, unsigned int *n)
{
	double v;

	if (parse_num("-n", arg, 0, 1 << 20, &v))
		return -EINVAL;
	if (v != (unsigned int)v) {
		pr_warn("invalid value '%s' for -n (a whole number)\n", arg);
		return -EINVAL;
	}
	*n = (unsigned int)v;
	return 0;
}

static int parse_block_for(const char *arg, unsigned long long *secs)
{
	__u64 v;

	if (vw_parse_duration(arg, VW_BAN_MAX_SECS, &v)) {
		pr_warn("invalid --for '%s' (e.g. 30s, 10m, 1h, 7d; at most 365d)\n", arg);
		return -EINVAL;
	}
	*secs = v;
	return 0;
}

static int parse_args(struct vw_cli *cli, int argc, char **argv, bool *help)
{
	double v;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:jvhn:w:", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			/* capture's -c is a packet count: decided once the command is known */
			cli->capture.count_arg = optarg;
			/* fall through */
		case OPT_CONFIG:
			cli->config = optarg;
			break;
		case OPT_PIN_DIR:
			cli->pin_dir = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		case 'v':
			cli->verbose = true;
			break;
		case 'h':
			*help = true;
			break;
		case OPT_MODE:
			cli->opts |= VW_OPT_MODE;
			if (parse_mode(optarg, &cli->mode))
				return -EINVAL;
			break;
		case OPT_FORCE:
			cli->opts |= VW_OPT_FORCE;
			cli->force = true;
			break;
		case OPT_ALL:
			cli->opts |= VW_OPT_ALL;
			cli->all = true;
			break;
		case OPT_PURGE:
			cli->opts |= VW_OPT_PURGE;
			cli->purge = true;
			break;
		case OPT_PROMETHEUS:
			cli->opts |= VW_OPT_PROMETHEUS;
			cli->prometheus = true;
			break;
		case OPT_WATCH:
			cli->opts |= VW_OPT_WATCH;
			if (parse_num("--watch", optarg, 0.1, 86400, &cli->watch))
				return -EINVAL;
			break;
		case OPT_WAIT:
			cli->opts |= VW_OPT_WAIT;
			if (parse_num("--wait", optarg, 0, 86400, &v))
				return -EINVAL;
			cli->wait_secs = (int)v;
			break;
		case OPT_MULTIPROG:
			cli->opts |= VW_OPT_MULTIPROG;
			cli->multiprog = true;
			break;
		case OPT_LISTEN:
			cli->opts |= VW_OPT_LISTEN;
			cli->listen = optarg;
			break;
		case 'n':
			cli->opts |= VW_OPT_TOP_N;
			if (parse_top_n(optarg, &cli->top_n))
				return -EINVAL;
			break;
		case OPT_SET:
			cli->opts |= VW_OPT_BLOCK;
			cli->block_set = optarg;
			break;
		case OPT_FOR:
			cli->opts |= VW_OPT_BLOCK;
			if (parse_block_for(optarg, &cli->block_for))
				return -EINVAL;
			break;
		case OPT_OVERRIDE:
			cli->opts |= VW_OPT_BLOCK;
			cli->block_override = true;
			break;
		case OPT_CLASS:
			/* capture's class filter, or the classes of block add */
			cli->opts |= VW_OPT_CLASS;
			cli->block_classes = optarg;
			if (parse_capture_opt(cli, opt, optarg))
				return -EINVAL;
			break;
		case 'w':
		case OPT_VERDICT:
		case OPT_REASON:
		case OPT_HEP:
		case OPT_SNAPLEN:
		case OPT_RATE:
		case OPT_HEP_ID:
			cli->opts |= VW_OPT_CAPTURE;
			if (!capture_opt)
				capture_opt = option_name(opt);
			if (parse_capture_opt(cli, opt, optarg))
				return -EINVAL;
			break;
		case ':':
			pr_warn("option '%s' needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			pr_warn("unknown option '%s'\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		cli->cmd = argv[optind];
		cli->argv = argv + optind + 1;
		cli->argc = argc - optind - 1;
	}
	return 0;
}

/* -j needs the output to be JSON whatever happened. */
static void json_error(struct vw_cli *cli)
{
	const char *msg = vw_log_errors();

	vw_json_obj_begin(&cli->jw);
	vw_json_kv_str(&cli->jw, "error", *msg ? msg : "failed");
	vw_json_obj_end(&cli->jw);
}

int main(int argc, char **argv)
{
	struct vw_cli cli = {
	    .wait_secs = VW_DEFAULT_WAIT,
	    .top_n = VW_DEFAULT_TOP,
	};
	const struct cmd *c = NULL;
	char pin_dir[PATH_MAX];
	bool help = false;
	int rc = VW_EXIT_USAGE;
	unsigned int i;

	/* Applying a large config allocates and frees hundreds of MiB in steps (the file, the
	 * parsed prefixes, the sorted tables). Blocks up to 32 MiB come from the heap, which keeps
	 * what is freed, and so do the helper threads (one arena): a later step reuses pages an
	 * earlier one touched instead of faulting in fresh ones. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_ARENA_MAX, 1);
	/* a first pass for -j and -v only, so that errors of the real parse obey them */
	for (i = 1; i < (unsigned int)argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			cli.json = true;
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			cli.verbose = true;
	}
	vw_log_init(cli.verbose, cli.json);
	vw_json_init(&cli.jw, stdout);

	if (parse_args(&cli, argc, argv, &help))
		goto usage_error;
	vw_log_init(cli.verbose, cli.json);

	if (!cli.pin_dir)
		cli.pin_dir = getenv(VW_PIN_DIR_ENV);
	if (!cli.pin_dir || !*cli.pin_dir)
		cli.pin_dir = VW_DEFAULT_PIN_DIR;
	if (cli.pin_dir[0] != '/' || strlen(cli.pin_dir) >= sizeof(pin_dir)) {
		pr_warn("--pin-dir must be an absolute path: '%s'\n", cli.pin_dir);
		goto usage_error;
	}
	/* one name per directory, whatever way it was written (the lock is named after it) */
	strcpy(pin_dir, cli.pin_dir);
	for (char *p = pin_dir + strlen(pin_dir) - 1; p > pin_dir && *p == '/'; p--)
		*p = '\0';
	if (!strcmp(pin_dir, "/")) {
		pr_warn("--pin-dir cannot be /\n");
		goto usage_error;
	}
	cli.pin_dir = pin_dir;
	cli.pin_dir_default = !strcmp(cli.pin_dir, VW_DEFAULT_PIN_DIR);

	if (!cli.cmd) {
		if (help) {
			usage(stdout);
			return VW_EXIT_OK;
		}
		pr_warn("no command given\n");
		goto usage_error;
	}
	for (i = 0; i < NCMDS && !c; i++)
		if (!strcmp(cli.cmd, cmds[i].name))
			c = &cmds[i];
	if (!c) {
		pr_warn("unknown command '%s'\n", cli.cmd);
		goto usage_error;
	}
	if (help) {
		cmd_usage(c, stdout);
		return VW_EXIT_OK;
	}
	for (i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++) {
		if ((cli.opts & opt_names[i].bit) && !(c->opts & opt_names[i].bit)) {
			pr_warn("option %s does not apply to '%s'\n",
				opt_names[i].name ? opt_names[i].name : capture_opt, c->name);
			goto usage_error;
		}
	}
	if (c->fn == cmd_capture && cli.capture.count_arg) {
		/* capture reads no config: its -c is the packet count */
		if (strspn(cli.capture.count_arg, "0123456789") != strlen(cli.capture.count_arg)) {
			pr_warn("capture: -c is the packet count (capture reads no config), and "
				"'%s' is not a whole number\n",
				cli.capture.count_arg);
			goto usage_error;
		}
		if (parse_uint("-c", cli.capture.count_arg, NULL, 1, ~0ULL >> 1,
			       &cli.capture.count))
			goto usage_error;
		cli.config = NULL;
	}

	rc = c->fn(&cli);
	if (rc && cli.json && !cli.json_done)
		json_error(&cli);
	return vw_exit_code(rc);

usage_error:
	if (cli.json) {
		json_error(&cli);
	} else if (c) {
		fprintf(stderr,
			"Usage: voipwall [OPTIONS] %s\nRun 'voipwall %s --help' for more.\n",
			c->synopsis, c->name);
	} else {
		fprintf(stderr, "Run 'voipwall --help' for usage.\n");
	}
	return VW_EXIT_USAGE;
}
