// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * voipwall capture: arm the data path's sampler (filters, rate, snaplen, an expiry it keeps
 * pushing ahead), read the samples from the ring, write them as pcapng and/or send them as HEPv3,
 * and disarm on the way out. See bpf/capture.h for the kernel side.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "capture.h"
#include "cli.h"
#include "hep.h"
#include "log.h"
#include "names.h"
#include "pcapng.h"
#include "pin.h"

/* How long one wait for samples lasts: the expiry refresh and Ctrl-C are noticed this often. */
#define POLL_MS 200
#define COMMENT_MAX 160

struct cap {
	struct vw_cli *cli;
	struct vw_capture_maps cm;
	struct vw_capture_ctl ctl;
	struct vw_gen_cfg gc;
	struct vw_iface ifs[VW_MAX_IFACES];
	struct vw_pcapng pw;
	bool pcapng;
	int out_fd, hep_fd;
	__u64 mono_to_real; /* added to a sample's bpf_ktime_get_ns() */
	unsigned long long written, hep_sent, hep_not_ip, hep_errors, stale;
	int err;            /* the first output error */
	bool done;          /* -c reached */
	__u8 hep_buf[VW_HEP_MAX];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- Arguments -------------------------------------------------------------------------------- */

/* Each comma-separated word of list is a name of tab (or "any"/"all" when any_ok): their bits. */
static int parse_names(const char *opt, const char *list, const char *const *tab, unsigned int n,
		       __u64 *mask)
{
	char buf[256], *save = NULL, *w;

	*mask = 0;
	if (strlen(list) >= sizeof(buf) || !*list) {
		pr_warn("invalid %s '%s'\n", opt, list);
		return -EINVAL;
	}
	strcpy(buf, list);
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		unsigned int i;

		if (!strcmp(w, "any")) {
			*mask |= n >= 64 ? ~0ULL : (1ULL << n) - 1;
			continue;
		}
		for (i = 0; i < n && (!tab[i] || strcmp(tab[i], w)); i++)
			;
		if (i == n) {
			char known[512] = "";

			for (i = 0; i < n; i++) {
				if (!tab[i])
					continue;
				strncat(known, tab[i], sizeof(known) - strlen(known) - 3);
				strcat(known, ", ");
			}
			pr_warn("unknown %s '%s' (one of: %sany)\n", opt, w, known);
			return -EINVAL;
		}
		*mask |= 1ULL << i;
	}
	return 0;
}

static int parse_classes(struct cap *c, __u64 *mask)
{
	const char *tab[VW_CLASS_SLOTS] = {};

	for (unsigned int i = 0; i < VW_MAX_CLASSES; i++)
		if (c->gc.class_mask & (1U << i))
			tab[i] = c->gc.class_names[i];
	tab[VW_CLASS_NONE] = "none";
	if (!c->cli->capture.cls) {
		*mask = (1ULL << VW_CLASS_SLOTS) - 1;
		return 0;
	}
	return parse_names("--class", c->cli->capture.cls, tab, VW_CLASS_SLOTS, mask);
}

/* IFACE... (none: every interface) into the slot mask. */
static int parse_ifaces(struct cap *c)
{
	struct vw_cli *cli = c->cli;

	if (!cli->argc) {
		c->ctl.iface_mask[0] = c->ctl.iface_mask[1] = ~0ULL;
		return 0;
	}
	for (int i = 0; i < cli->argc; i++) {
		unsigned int ifindex = if_nametoindex(cli->argv[i]);
		int s;

		if (!ifindex) {
			pr_warn("interface %s does not exist\n", cli->argv[i]);
			return -ENODEV;
		}
		for (s = 0; s < VW_MAX_IFACES && c->ifs[s].ifindex != ifindex; s++)
			;
		if (s == VW_MAX_IFACES) {
			pr_warn("voipwall is not loaded on %s ('voipwall status' lists where it is)\n",
				cli->argv[i]);
			return -ENODEV;
		}
		c->ctl.iface_mask[s >> 6] |= 1ULL << (s & 63);
	}
	return 0;
}

/* "udp:HOST:PORT" (HOST may be [IPv6]) into a connected UDP socket. */
static int open_hep(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL, *ai;
	char host[256], *port;
	int fd = -1, err;

	if (strncmp(spec, "udp:", 4) || strlen(spec + 4) >= sizeof(host)) {
		pr_warn("invalid --hep '%s' (udp:HOST:PORT)\n", spec);
		return -EINVAL;
	}
	strcpy(host, spec + 4);
	port = strrchr(host, ':');
	if (!port || port == host || !port[1]) {
		pr_warn("invalid --hep '%s' (udp:HOST:PORT)\n", spec);
		return -EINVAL;
	}
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		pr_warn("--hep %s: %s\n", spec, gai_strerror(err));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		pr_warn("--hep %s: cannot open a UDP socket to it: %s\n", spec, strerror(errno));
	return fd < 0 ? -EINVAL : fd;
}

/* ---- Samples ---------------------------------------------------------------------------------- */

static const char *iface_name(const struct cap *c, const struct vw_capture_hdr *h, char *buf)
{
	if (h->slot < VW_MAX_IFACES && c->ifs[h->slot].ifindex == h->ifindex)
		return c->ifs[h->slot].name;
	if (if_indextoname(h->ifindex, buf))
		return buf;
	snprintf(buf, IF_NAMESIZE, "if%u", h->ifindex);
	return buf;
}

static int pcapng_iface(struct cap *c, const struct vw_capture_hdr *h)
{
	char name[IF_NAMESIZE];
	int id = vw_pcapng_iface_id(&c->pw, h->ifindex);

	if (id >= 0)
		return id;
	return vw_pcapng_add_iface(&c->pw, h->ifindex, iface_name(c, h, name), "voipwall XDP ingress",
				   c->ctl.snaplen);
}

static void send_hep(struct cap *c, const struct vw_capture_hdr *h, const __u8 *frame, __u64 ts)
{
	struct vw_hep_meta meta = { .ts_ns = ts, .capture_id = c->cli->capture.hep_id,
				    .proto_type = VW_HEP_PROTO_SIP };
	struct vw_frame_info fi;
	ssize_t n;

	if (vw_frame_parse(frame, h->cap_len, &fi)) {
		c->hep_not_ip++; /* HEP describes IP packets only */
		return;
	}
	n = vw_hep_encode(&fi, frame, &meta, c->hep_buf, sizeof(c->hep_buf));
	if (n < 0 || send(c->hep_fd, c->hep_buf, (size_t)n, 0) != n) {
		/* a collector not yet listening (ICMP unreachable) must not end the capture */
		if (!c->hep_errors++)
			fprintf(stderr, "voipwall: capture: cannot send to the HEP collector: %s\n",
				n < 0 ? strerror((int)-n) : strerror(errno));
		return;
	}
	c->hep_sent++;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	const struct vw_capture_hdr *h = data;
	const __u8 *frame = (const __u8 *)(h + 1);
	char comment[COMMENT_MAX], cname[VW_CLASS_NAME_MAX + 8];
	struct cap *c = ctx;
	__u64 ts;
	int id, err;

	if (size < sizeof(*h) || h->session != c->ctl.session || h->cap_len > size - sizeof(*h)) {
		c->stale++; /* left in the ring by an earlier capture */
		return 0;
	}
	if (c->done || c->err)
		return 0;
	ts = h->ts_ns + c->mono_to_real;
	snprintf(comment, sizeof(comment), "class=%s verdict=%s reason=%s",
		 vw_class_name(&c->gc, NULL, h->cls, cname, sizeof(cname)),
		 vw_verdict_name(h->verdict), vw_reason_name(h->reason));
	if (c->pcapng) {
		id = pcapng_iface(c, h);
		err = id < 0 ? id
			     : vw_pcapng_packet(&c->pw, id, ts, frame, h->cap_len, h->pkt_len,
						comment);
		if (err) {
			c->err = err;
			return 0;
		}
	}
	if (c->hep_fd >= 0)
		send_hep(c, h, frame, ts);
	c->written++;
	if (c->cli->capture.count && c->written >= c->cli->capture.count)
		c->done = true;
	return 0;
}

/* ---- The command ------------------------------------------------------------------------------ */

static int open_output(struct cap *c)
{
	const struct vw_capture_args *a = &c->cli->capture;
	int err;

	c->out_fd = c->hep_fd = -1;
	if (a->write) {
		if (!strcmp(a->write, "-")) {
			if (isatty(STDOUT_FILENO)) {
				pr_warn("-w -: standard output is a terminal; pipe it (| tshark -r -) "
					"or write a file (-w FILE.pcapng)\n");
				return -EINVAL;
			}
			c->out_fd = dup(STDOUT_FILENO);
		} else {
			c->out_fd = open(a->write, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		}
		if (c->out_fd < 0) {
			pr_warn("cannot open %s: %s\n", a->write, strerror(errno));
			return -EIO;
		}
		err = vw_pcapng_open(&c->pw, c->out_fd, "voipwall capture");
		if (err) {
			pr_warn("cannot write %s: %s\n", a->write, strerror(-err));
			return -EIO;
		}
		c->pcapng = true;
		/* one interface block per interface captured, before any packet */
		for (int s = 0; s < VW_MAX_IFACES; s++) {
			struct vw_capture_hdr h = { .ifindex = c->ifs[s].ifindex, .slot = s };

			if (!h.ifindex || !((c->ctl.iface_mask[0] >> s) & 1))
				continue;
			err = pcapng_iface(c, &h);
			if (err < 0) {
				pr_warn("cannot write %s: %s\n", a->write, strerror(-err));
				return -EIO;
			}
		}
	}
	if (a->hep) {
		c->hep_fd = open_hep(a->hep);
		if (c->hep_fd < 0)
			return -EINVAL;
	}
	return 0;
}

static void describe(const struct cap *c)
{
	const struct vw_capture_args *a = &c->cli->capture;

	fprintf(stderr, "voipwall: capturing on %s", c->cli->argc ? "" : "every interface");
	for (int i = 0; i < c->cli->argc; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", c->cli->argv[i]);
	fprintf(stderr, " (verdict %s, class %s, reason %s), snaplen %u, at most %u/s per CPU",
		a->verdict ? a->verdict : "drop", a->cls ? a->cls : "any",
		a->reason ? a->reason : "any", c->ctl.snaplen, c->ctl.rate);
	if (a->count)
		fprintf(stderr, ", %llu packets", a->count);
	fprintf(stderr, "; Ctrl-C stops\n");
}

static void report(struct cap *c, const struct vw_capture_cpu *st)
{
	struct vw_json *w = &c->cli->jw;

	if (c->cli->json) {
		vw_json_obj_begin(w);
		vw_json_kv_uint(w, "packets", c->written);
		vw_json_kv_uint(w, "lost", st->lost);
		vw_json_kv_uint(w, "ratelimited", st->ratelimited);
		if (c->hep_fd >= 0) {
			vw_json_kv_uint(w, "hep_sent", c->hep_sent);
			vw_json_kv_uint(w, "hep_not_ip", c->hep_not_ip);
			vw_json_kv_uint(w, "hep_errors", c->hep_errors);
		}
		vw_json_obj_end(w);
		c->cli->json_done = true;
	}
	fprintf(stderr,
		"voipwall: capture ended: %llu packets, %llu lost (ring full), %llu not sampled "
		"(rate limit)",
		c->written, (unsigned long long)st->lost, (unsigned long long)st->ratelimited);
	if (c->hep_fd >= 0)
		fprintf(stderr, "; HEP: %llu sent, %llu not IP (not sent), %llu send errors",
			c->hep_sent, c->hep_not_ip, c->hep_errors);
	fprintf(stderr, "\n");
}

static int arm(struct cap *c)
{
	struct vw_capture_ctl armed = c->ctl;
	int err;

	/* filters first with the flag off, then the flag: no packet sees half a config */
	c->ctl.until_ns = 0;
	err = vw_capture_ctl_write(&c->cm, &c->ctl);
	armed.until_ns = vw_mono_ns() + VW_CAPTURE_TTL_NS;
	if (!err)
		err = vw_capture_ctl_write(&c->cm, &armed);
	if (!err)
		c->ctl = armed;
	return err;
}

static int setup(struct cap *c, struct vw_maps *m)
{
	struct vw_cli *cli = c->cli;
	const struct vw_capture_args *a = &cli->capture;
	struct timespec rt;
	__u64 mask;
	__u32 gen;
	int rc;

	rc = vw_cli_open_maps(cli, m);
	if (rc)
		return rc;
	rc = vw_cli_live_gen(m, &gen, &c->gc);
	if (rc)
		return rc;
	if (vw_cli_read_ifaces(m, c->ifs))
		return -EIO;
	if (parse_ifaces(c))
		return cli->argc ? -EIO : -EINVAL;
	if (parse_names("--verdict", a->verdict ? a->verdict : "drop", vw_verdict_names,
			VW_VERDICT_MAX, &mask))
		return -EINVAL;
	c->ctl.verdict_mask = (__u32)mask;
	if (parse_names("--reason", a->reason ? a->reason : "any", vw_reason_names, VW_REASON_MAX,
			&mask))
		return -EINVAL;
	c->ctl.reason_mask = (__u32)mask;
	if (parse_classes(c, &c->ctl.class_mask))
		return -EINVAL;
	c->ctl.snaplen = a->snaplen ? a->snaplen : VW_CAPTURE_SNAP_MAX;
	c->ctl.rate = a->rate ? a->rate : VW_CAPTURE_RATE_DEFAULT;
	c->ctl.owner_pid = (__u32)getpid();
	if (getrandom(&c->ctl.session, sizeof(c->ctl.session), 0) != sizeof(c->ctl.session))
		c->ctl.session = (__u32)(getpid() ^ vw_mono_ns());
	c->ctl.session |= 1;
	clock_gettime(CLOCK_REALTIME, &rt);
	c->mono_to_real = (__u64)rt.tv_sec * 1000000000ULL + rt.tv_nsec - vw_mono_ns();
	return 0;
}

/* The capture maps, and the capture lock (one capture at a time), into *lock_fd. */
static int open_capture(struct cap *c, int *lock_fd)
{
	const char *dir = c->cli->pin_dir;
	struct vw_capture_ctl prev;
	int err = vw_capture_maps_open(dir, &c->cm);

	if (err) {
		pr_warn(err == -ENOTSUP ? "the loaded program has no capture support; reload it "
					  "with this voipwall (unload --all, then load)\n"
					: "cannot open the capture maps in %s: %s\n",
			dir, vw_bpf_strerror(err));
		return -EIO;
	}
	*lock_fd = vw_capture_lock(dir);
	if (*lock_fd < 0) {
		if (*lock_fd == -EBUSY && !vw_capture_ctl_read(&c->cm, &prev))
			pr_warn("another capture (pid %u) is running on %s; voipwall runs one capture "
				"at a time\n",
				prev.owner_pid, dir);
		else
			pr_warn("cannot lock %s for capture: %s\n", dir, strerror(-*lock_fd));
		return -EIO;
	}
	if (!vw_capture_ctl_read(&c->cm, &prev) && vw_capture_active(&prev, vw_mono_ns()))
		fprintf(stderr,
			"voipwall: a capture by pid %u ended without turning the sampler off; "
			"taking it over\n",
			prev.owner_pid);
	return 0;
}

/* Take samples until a signal, -c samples or an error; keep the capture alive meanwhile. */
static int poll_ring(struct cap *c, struct ring_buffer *rb)
{
	__u64 refreshed = vw_mono_ns();
	int err;

	while (!stop_signal && !c->done && !c->err) {
		__u64 now;

		err = ring_buffer__poll(rb, POLL_MS);
		if (err < 0 && err != -EINTR) {
			pr_warn("reading the capture ring: %s\n", strerror(-err));
			return -EIO;
		}
		now = vw_mono_ns();
		if (now - refreshed >= VW_CAPTURE_REFRESH_NS) {
			c->ctl.until_ns = now + VW_CAPTURE_TTL_NS;
			err = vw_capture_ctl_write(&c->cm, &c->ctl);
			if (err) {
				pr_warn("cannot refresh the capture: %s\n", vw_bpf_strerror(err));
				return -EIO;
			}
			refreshed = now;
		}
	}
	return 0;
}

/* Off first, then take what is already in the ring (up to -c). */
static int stop_capture(struct cap *c, struct ring_buffer *rb)
{
	int err, rc = 0;

	c->ctl.until_ns = 0;
	err = vw_capture_ctl_write(&c->cm, &c->ctl);
	if (err) {
		pr_warn("cannot turn the capture off (it expires by itself within %llu s): %s\n",
			VW_CAPTURE_TTL_NS / 1000000000ULL, vw_bpf_strerror(err));
		rc = -EIO;
	}
	ring_buffer__consume(rb);
	if (c->err == -EPIPE) {
		fprintf(stderr, "voipwall: capture: the reader closed the output\n");
	} else if (c->err) {
		pr_warn("cannot write %s: %s\n", c->cli->capture.write, strerror(-c->err));
		rc = -EIO;
	}
	return rc;
}

int cmd_capture(struct vw_cli *cli)
{
	struct cap *c = calloc(1, sizeof(*c));
	struct sigaction sa = { .sa_handler = on_signal };
	struct ring_buffer *rb = NULL;
	struct vw_capture_cpu st = {};
	struct vw_maps m;
	int rc, err, lock_fd = -1;

	vw_maps_init(&m);
	if (!c)
		return -EIO;
	c->cli = cli;
	c->cm.ctl = c->cm.ring = c->cm.cpu = -1;
	c->out_fd = c->hep_fd = -1;
	if (!cli->capture.write && !cli->capture.hep) {
		pr_warn("capture: say where the packets go: -w FILE.pcapng, -w - (standard output) "
			"or --hep udp:HOST:PORT\n");
		rc = -EINVAL;
		goto out;
	}
	if (cli->json && cli->capture.write && !strcmp(cli->capture.write, "-")) {
		pr_warn("capture: -j and -w - both want standard output\n");
		rc = -EINVAL;
		goto out;
	}
	rc = setup(c, &m);
	if (rc)
		goto out;
	rc = open_capture(c, &lock_fd);
	if (rc)
		goto out;
	rc = open_output(c);
	if (rc)
		goto out;
	rb = ring_buffer__new(c->cm.ring, on_sample, c, NULL);
	if (!rb) {
		pr_warn("cannot read the capture ring: %s\n", strerror(errno));
		rc = -EIO;
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	err = vw_capture_cpu_reset(&c->cm);
	if (!err)
		err = arm(c);
	if (err) {
		pr_warn("cannot start the capture: %s\n", vw_bpf_strerror(err));
		rc = -EIO;
		goto out;
	}
	describe(c);
	rc = poll_ring(c, rb);
	err = stop_capture(c, rb);
	rc = rc ? rc : err;
	vw_capture_cpu_sum(&c->cm, &st);
	report(c, &st);
out:
	ring_buffer__free(rb);
	if (c->pcapng)
		vw_pcapng_close(&c->pw);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->hep_fd >= 0)
		close(c->hep_fd);
	if (lock_fd >= 0)
		close(lock_fd);
	vw_capture_maps_close(&c->cm);
	vw_maps_close(&m);
	free(c);
	return rc;
}

/* ---- status ----------------------------------------------------------------------------------- */

void vw_cli_capture_status(struct vw_cli *cli)
{
	struct vw_capture_maps cm;
	struct vw_capture_ctl ctl = {};
	struct vw_capture_cpu st = {};
	bool ok, active;
	__u64 now = vw_mono_ns();
	double left;

	ok = !vw_capture_maps_open(cli->pin_dir, &cm) && !vw_capture_ctl_read(&cm, &ctl) &&
	     !vw_capture_cpu_sum(&cm, &st);
	if (ok)
		vw_capture_maps_close(&cm);
	active = ok && vw_capture_active(&ctl, now);
	left = active ? (double)(ctl.until_ns - now) / 1e9 : 0;
	if (cli->json) {
		struct vw_json *w = &cli->jw;

		vw_json_key(w, "capture");
		if (!ok) {
			vw_json_null(w);
			return;
		}
		vw_json_obj_begin(w);
		vw_json_kv_bool(w, "active", active);
		/* set but past its expiry: left by a capture that died, until a packet clears it */
		vw_json_kv_bool(w, "armed", ctl.until_ns != 0);
		vw_json_kv_uint(w, "pid", active ? ctl.owner_pid : 0);
		vw_json_kv_double(w, "expires_in_s", left);
		vw_json_kv_uint(w, "captured", st.captured);
		vw_json_kv_uint(w, "lost", st.lost);
		vw_json_kv_uint(w, "ratelimited", st.ratelimited);
		vw_json_obj_end(w);
		return;
	}
	if (!ok)
		printf("capture:    not supported by the loaded program\n");
	else if (!active)
		printf("capture:    off\n");
	else
		printf("capture:    on (pid %u%s), sampler expires in %.1f s unless refreshed; %llu "
		       "captured, %llu lost, %llu not sampled\n",
		       ctl.owner_pid, kill((pid_t)ctl.owner_pid, 0) && errno == ESRCH ? ", gone" : "",
		       left, (unsigned long long)st.captured, (unsigned long long)st.lost,
		       (unsigned long long)st.ratelimited);
}
