// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Helpers shared by the voipwall commands: config loading, privileges, locking, anti-lockout,
 * progress, formatting. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include "cli.h"
#include "keep.h"
#include "log.h"
#include "names.h"
#include "pin.h"

int vw_cli_load_config(struct vw_cli *cli, struct vw_config *cfg)
{
	const char *path = cli->config ? cli->config : VW_DEFAULT_CONFIG;
	char *msgs = NULL, *line, *save = NULL;
	size_t msgs_len = 0;
	FILE *err_f;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	if (!cli->config && access(path, F_OK) && errno == ENOENT) {
		pr_debug("%s not found, using the built-in default config\n", path);
		err = vw_config_builtin(cfg);
		if (err) {
			pr_warn("cannot build the built-in config: %s\n", strerror(-err));
			return vw_sys_err(err);
		}
		return 0;
	}
	err_f = open_memstream(&msgs, &msgs_len);
	if (!err_f) {
		pr_warn("out of memory\n");
		return -ENOMEM;
	}
	err = vw_config_load(cfg, path, err_f);
	fclose(err_f);
	if (err == -EINVAL) {
		/* file:line messages as they are: editors and scripts match on them */
		for (line = strtok_r(msgs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (cli->json)
				pr_warn("%s\n", line);
			else
				fprintf(stderr, "%s\n", line);
		}
		if (!cli->json)
			fprintf(stderr, "voipwall: %s has errors; nothing applied\n", path);
	} else if (err) {
		if (msgs && *msgs && !cli->json)
			fputs(msgs, stderr);
		pr_warn("cannot read config %s: %s\n", path, strerror(-err));
	}
	free(msgs);
	if (err) {
		vw_config_free(cfg);
		return -EINVAL;
	}
	return 0;
}

void vw_cli_absolute_config(struct vw_cli *cli)
{
	static char abs_path[PATH_MAX];

	if (cli->config && cli->config[0] != '/' && realpath(cli->config, abs_path))
		cli->config = abs_path;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

int vw_cli_need_privs(const struct vw_cli *cli)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (geteuid() == 0)
		return 0;
	if (syscall(SYS_capget, &hdr, data) == 0 &&
	    (has_cap(data, CAP_BPF) || has_cap(data, CAP_SYS_ADMIN)) &&
	    has_cap(data, CAP_NET_ADMIN))
		return 0;
	pr_warn("permission denied: '%s' needs root (or CAP_BPF and CAP_NET_ADMIN)\n", cli->cmd);
	return -EPERM;
}

int vw_cli_open_maps(const struct vw_cli *cli, struct vw_maps *m)
{
	int err;

	err = vw_cli_need_privs(cli);
	if (err)
		return err;
	err = vw_maps_open_pinned(cli->pin_dir, m);
	return err ? vw_cli_maps_error(cli, err) : 0;
}

int vw_cli_maps_error(const struct vw_cli *cli, int err)
{
	char kept[96];

	if (err == -ENOENT && vw_keep_describe(cli->pin_dir, kept, sizeof(kept)))
		pr_warn("voipwall is not loaded (%s holds only %s, kept for the next load)\n",
			cli->pin_dir, kept);
	else if (err == -ENOENT)
		pr_warn("voipwall is not loaded (nothing pinned in %s)\n", cli->pin_dir);
	else if (err == -EBADF)
		pr_warn("%s is incomplete (some maps are missing); run 'voipwall unload --all' "
			"and load again\n",
			cli->pin_dir);
	else if (err == -EPROTO)
		pr_warn("%s was pinned by another version of voipwall; run 'voipwall unload --all' "
			"and load again\n",
			cli->pin_dir);
	else
		pr_warn("cannot open the maps pinned in %s: %s\n", cli->pin_dir,
			vw_bpf_strerror(err));
	return vw_sys_err(err);
}

int vw_cli_lock(const struct vw_cli *cli)
{
	int fd = vw_pin_lock(cli->pin_dir, cli->wait_secs);

	return fd < 0 ? vw_sys_err(fd) : fd;
}

int vw_cli_live_gen(const struct vw_maps *m, __u32 *gen, struct vw_gen_cfg *gc)
{
	int err;

	err = vw_gen_active(m, gen);
	if (!err)
		err = vw_gen_cfg_read(m, *gen, gc);
	if (err) {
		pr_warn("cannot read the live generation: %s\n", strerror(-err));
		return vw_sys_err(err);
	}
	return 0;
}

int vw_cli_read_ifaces(const struct vw_maps *m, struct vw_iface *ifs)
{
	for (__u32 i = 0; i < VW_MAX_IFACES; i++) {
		if (bpf_map_lookup_elem(m->ifaces, &i, &ifs[i])) {
			int err = -errno;

			pr_warn("cannot read vw_ifaces: %s\n", strerror(-err));
			return vw_sys_err(err);
		}
		ifs[i].name[VW_IFNAME_MAX - 1] = '\0';
	}
	return 0;
}

const char *vw_mode_name(unsigned int mode)
{
	mode = VW_MODE_BASE(mode); /* without how: directly or through a dispatcher */
	return mode == VW_MODE_NATIVE ? "native" : mode == VW_MODE_SKB ? "skb" : "unknown";
}

bool vw_rule_covers(const struct vw_rule *r, int family, const __u8 *addr)
{
	unsigned int bits = r->plen, i;

	if (r->family != family)
		return false;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (r->addr[i] != addr[i])
			return false;
	if (bits) {
		__u8 mask = (__u8)(0xff00 >> bits);

		if ((r->addr[i] & mask) != (addr[i] & mask))
			return false;
	}
	return true;
}

/* Parse an address, IPv4-mapped IPv6 as IPv4; family 0 when it is none. */
static int parse_addr(char *ip, size_t iplen, __u8 *addr)
{
	struct in6_addr a6;

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, ip, addr) == 1)
		return VW_FAMILY_V4;
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(addr, &a6.s6_addr[12], 4);
		inet_ntop(AF_INET, addr, ip, iplen);
		return VW_FAMILY_V4;
	}
	memcpy(addr, &a6, 16);
	return VW_FAMILY_V6;
}

/* NAME=value from /proc/PID/environ. */
static bool environ_of(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64], env[65536];
	size_t nlen = strlen(name), n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(env, 1, sizeof(env) - 1, f);
	fclose(f);
	env[n] = '\0';
	for (size_t off = 0; off < n; off += strlen(env + off) + 1) {
		if (!strncmp(env + off, name, nlen) && env[off + nlen] == '=') {
			snprintf(buf, len, "%s", env + off + nlen + 1);
			return true;
		}
	}
	return false;
}

static pid_t parent_pid(pid_t pid)
{
	char path[64], stat[512], *p;
	int ppid = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
	p = strrchr(stat, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/* $SSH_CONNECTION, or that of the nearest ancestor process when it is unset (sudo removes it
 * from the environment by default). Set but empty: no session. */
static bool ssh_connection(char *buf, size_t len)
{
	const char *env = getenv("SSH_CONNECTION");
	pid_t pid = getppid();

	if (env) {
		snprintf(buf, len, "%s", env);
		return *env;
	}
	for (int depth = 0; depth < 64 && pid > 1; depth++, pid = parent_pid(pid))
		if (environ_of(pid, "SSH_CONNECTION", buf, len))
			return *buf;
	return false;
}

/* Whether family/addr is an address of this network namespace. */
static bool local_address(int family, const __u8 *addr)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa))
		return true; /* cannot tell: assume the session is ours */
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (family == VW_FAMILY_V4 && i->ifa_addr->sa_family == AF_INET)
			found = !memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr, 4);
		else if (family == VW_FAMILY_V6 && i->ifa_addr->sa_family == AF_INET6)
			found = !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, addr, 16);
	}
	freeifaddrs(ifa);
	return found;
}

/* The SSH session this command runs in, when it ends in this network namespace: its client
 * address and server port ("client_ip client_port server_ip server_port"). */
static bool ssh_session(int *family, __u8 *addr, char *client, size_t len, unsigned int *port)
{
	char conn[256], ip[64], sip[64]; /* %63s below */
	unsigned int cport, sport;
	__u8 saddr[16];
	int sfamily;

	if (!ssh_connection(conn, sizeof(conn)) ||
	    sscanf(conn, "%63s %u %63s %u", ip, &cport, sip, &sport) != 4 || sport > 65535)
		return false;
	*family = parse_addr(ip, sizeof(ip), addr);
	sfamily = parse_addr(sip, sizeof(sip), saddr);
	if (!*family || !sfamily)
		return false;
	/* a session to another namespace (or host) does not cross this filter */
	if (!local_address(sfamily, saddr)) {
		pr_debug("SSH session to %s is not to this network namespace; no lockout check\n",
			 sip);
		return false;
	}
	snprintf(client, len, "%s", ip);
	*port = sport;
	return true;
}

bool vw_lockout_find(const struct vw_config *cfg, char *why, size_t len)
{
	char client[64];
	unsigned int port, i, j;
	__u8 addr[16];
	int family;

	if (!ssh_session(&family, addr, client, sizeof(client), &port))
		return false;
	for (i = 0; i < cfg->nclasses; i++) {
		const struct vw_class *c = &cfg->classes[i];
		bool in_class = false;
		size_t k;

		for (j = 0; j < c->nranges; j++)
			in_class |= c->ranges[j].l4 == VW_L4_TCP && c->ranges[j].lo <= port &&
				    port <= c->ranges[j].hi;
		if (!in_class || c->policy != VW_POLICY_DROP)
			continue;
		for (k = 0; k < cfg->nrules; k++)
			if ((cfg->rules[k].mask & (1U << c->id)) &&
			    vw_rule_covers(&cfg->rules[k], family, addr))
				return false;
		snprintf(why, len,
			 "your SSH session's port %u/tcp is in class '%s' (policy drop) "
			 "and your address %s is not allowlisted for it",
			 port, c->name, client);
		return true;
	}
	return false;
}

int vw_cli_lockout_check(const struct vw_cli *cli, const struct vw_config *cfg)
{
	char why[256];

	if (!vw_lockout_find(cfg, why, sizeof(why)))
		return 0;
	if (cli->force) {
		fprintf(stderr, "voipwall: warning: %s; applying anyway (--force)\n", why);
		return 0;
	}
	pr_warn("refusing to lock you out: %s; allowlist it first or use --force\n", why);
	return -ECANCELED;
}

void vw_cli_progress(const char *stage, size_t done, size_t total, void *ctx)
{
	if (!isatty(STDERR_FILENO) || !total)
		return;
	fprintf(stderr, "\r%s: %zu/%zu (%zu%%)", stage, done, total, done * 100 / total);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

int vw_cli_apply(const struct vw_cli *cli, const struct vw_maps *m, const struct vw_config *cfg,
		 __u32 *gen, struct vw_gen_cfg *gc)
{
	int err = vw_apply(m, cfg, vw_cli_progress, NULL);

	if (err) {
		pr_warn("cannot apply the config: %s\n", vw_bpf_strerror(err));
		return vw_sys_err(err);
	}
	return gc ? vw_cli_live_gen(m, gen, gc) : 0;
}

const char *vw_class_name(const struct vw_gen_cfg *gc, const struct vw_gen_cfg *alt, unsigned int c,
			  char *buf, size_t len)
{
	if (c == VW_CLASS_NONE)
		snprintf(buf, len, "none");
	else if (c < VW_MAX_CLASSES && gc && (gc->class_mask & (1U << c)))
		snprintf(buf, len, "%.*s", VW_CLASS_NAME_MAX, gc->class_names[c]);
	else if (c < VW_MAX_CLASSES && alt && (alt->class_mask & (1U << c)))
		snprintf(buf, len, "%.*s", VW_CLASS_NAME_MAX, alt->class_names[c]);
	else
		snprintf(buf, len, "class%u", c);
	return buf;
}

void vw_format_ports(const struct vw_class *cls, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < cls->nranges && used < len; i++) {
		const struct vw_port_range *r = &cls->ranges[i];
		int n;

		if (r->lo == r->hi)
			n = snprintf(buf + used, len - used, "%s%u/%s", i ? " " : "", r->lo,
				     vw_l4_name(r->l4));
		else
			n = snprintf(buf + used, len - used, "%s%u-%u/%s", i ? " " : "", r->lo,
				     r->hi, vw_l4_name(r->l4));
		if (n < 0)
			break;
		used += n;
	}
}

void vw_format_time(__u64 realtime_ns, char *buf, size_t len)
{
	time_t t = realtime_ns / 1000000000ULL;
	struct tm tm;

	if (!realtime_ns || !gmtime_r(&t, &tm)) {
		snprintf(buf, len, "never");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

const char *vw_bpf_strerror(int err)
{
	switch (-err) {
	case EPERM:
	case EACCES:
		return "permission denied (needs root, or CAP_BPF and CAP_NET_ADMIN)";
	case ENOSYS:
		return "this kernel has no BPF support";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

void vw_format_mask(const struct vw_config *cfg, __u32 mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < cfg->nclasses && used < len; i++) {
		int n;

		if (!(mask & (1U << cfg->classes[i].id)))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", cfg->classes[i].name);
		if (n < 0)
			break;
		used += n;
	}
}

int vw_exit_code(int err)
{
	if (!err)
		return VW_EXIT_OK;
	return err == -EINVAL || err == -ECANCELED ? VW_EXIT_USAGE : VW_EXIT_FAIL;
}
