// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Pin directory handling: layout, atomic creation, removal and the state-change
 * lock. */
#define _GNU_SOURCE /* renameat2 */
#include "pin.h"
#include "log.h"
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>


/* bpffs refuses names with a dot, so the temporary directory is "BASE-tmp-PID"
 */
#define TMP_SUFFIX "-tmp-"

int vw_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Open the pinned maps of dir into m: every one, or only the KEPT ones; *plain and *kept count
 * the non-kept and kept maps found. */
static int open_maps(const char *dir, struct vw_maps *m, bool kept_only, unsigned int *plain,
		     unsigned int *kept)
{
	char path[PATH_MAX];
	int err = 0;

	vw_maps_init(m);
	*plain = *kept = 0;
	for (unsigned int i = 0; i < VW_NUM_MAPS; i++) {
		int fd;

		if (kept_only && !vw_map_descs[i].kept)
			continue;
		err = vw_pin_path(path, sizeof(path), dir, vw_map_descs[i].name);
		if (err)
			return err;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = -errno;
			if (err == -ENOENT)
				continue;
			pr_debug("bpf_obj_get %s: %s\n", path, strerror(-err));
			return err;
		}
		*vw_maps_fd(m, i) = fd;
		if (vw_map_descs[i].kept)
			(*kept)++;
		else
			(*plain)++;
	}
	return 0;
}

int vw_maps_open_pinned(const char *dir, struct vw_maps *m)
{
	unsigned int plain, kept;
	int err = open_maps(dir, m, false, &plain, &kept);

	if (!err && plain + kept == VW_NUM_MAPS) {
		err = vw_maps_check_layout(m);
		if (!err)
			return 0;
	}
	/* the kept maps alone are no loaded state: voipwall is not loaded */
	if (!err)
		err = plain ? -EBADF : -ENOENT;
	vw_maps_close(m);
	return err;
}

int vw_maps_open_kept(const char *dir, struct vw_maps *m)
{
	unsigned int plain, kept;
	int err = open_maps(dir, m, true, &plain, &kept);

	if (!err && kept == VW_NUM_KEPT_MAPS)
		return 0;
	if (!err)
		err = kept ? -EBADF : -ENOENT;
	vw_maps_close(m);
	return err;
}

int vw_pin_open_prog(const char *dir)
{
	return vw_pin_open_prog_named(dir, VW_PIN_PROG);
}

int vw_pin_open_prog_named(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err, fd;

	err = vw_pin_path(path, sizeof(path), dir, name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

bool vw_pin_loaded(const char *dir)
{
	char path[PATH_MAX];

	if (vw_pin_path(path, sizeof(path), dir, VW_PIN_PROG))
		return false;
	return access(path, F_OK) == 0;
}

/* dir's parent, into buf. */
static int parent_of(const char *dir, char *buf, size_t len)
{
	char *slash;

	if (strlen(dir) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, dir);
	slash = strrchr(buf, '/');
	if (!slash)
		strcpy(buf, ".");
	else if (slash == buf)
		buf[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

int vw_pin_ensure_bpffs(const char *dir, bool mount_default)
{
	char parent[PATH_MAX];
	int err;

	err = parent_of(dir, parent, sizeof(parent));
	if (err)
		return err;
	if (on_bpffs(parent))
		return 0;
	if (!mount_default) {
		pr_warn("%s is not on a bpf filesystem (mount one with: mount -t bpf bpf %s)\n",
			dir, parent);
		return -ENOTSUP;
	}
	if (mkdir(VW_BPFFS_ROOT, 0700) && errno != EEXIST) {
		err = -errno;
		pr_warn("cannot create %s: %s\n", VW_BPFFS_ROOT, strerror(-err));
		return err;
	}
	if (mount("bpf", VW_BPFFS_ROOT, "bpf", 0, "mode=0700")) {
		err = -errno;
		pr_warn("cannot mount bpffs on %s: %s\n", VW_BPFFS_ROOT, strerror(-err));
		return err;
	}
	pr_info("mounted a bpf filesystem on %s\n", VW_BPFFS_ROOT);
	return 0;
}

static bool kept_name(const char *name)
{
	for (unsigned int i = 0; i < VW_NUM_MAPS; i++)
		if (vw_map_descs[i].kept && !strcmp(name, vw_map_descs[i].name))
			return true;
	return false;
}

/* Remove the voipwall objects in dir (map names, prog, link_*), then dir; with keep, the KEPT maps
 * and dir stay. The programs go first, so a crash half-way leaves a dir that reads as not loaded. */
static int remove_dir(const char *dir, bool keep)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned int ifindex;
	DIR *d;
	int err = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (int k = 0; k < 2 && !err; k++) {
		err = vw_pin_path(path, sizeof(path), dir, k ? VW_PIN_PROG_IP : VW_PIN_PROG);
		if (!err && unlink(path) && errno != ENOENT)
			err = -errno;
	}
	while (!err && (de = readdir(d))) {
		bool ours = strcmp(de->d_name, VW_PIN_PROG) == 0 ||
			    strcmp(de->d_name, VW_PIN_PROG_IP) == 0 ||
			    sscanf(de->d_name, VW_PIN_LINK_FMT, &ifindex) == 1;

		for (unsigned int i = 0; i < VW_NUM_MAPS && !ours; i++)
			ours = strcmp(de->d_name, vw_map_descs[i].name) == 0;
		if (!ours || (keep && kept_name(de->d_name)))
			continue;
		err = vw_pin_path(path, sizeof(path), dir, de->d_name);
		if (!err && unlink(path) && errno != ENOENT)
			err = -errno;
	}
	if (err)
		pr_warn("cannot remove %s: %s\n", path, strerror(-err));
	closedir(d);
	if (!err && !keep && rmdir(dir)) {
		err = -errno;
		pr_warn("cannot remove %s: %s\n", dir, strerror(-err));
	}
	return err;
}

int vw_pin_remove_all(const char *dir)
{
	return remove_dir(dir, false);
}

int vw_pin_remove_keep(const char *dir)
{
	return remove_dir(dir, true);
}

/* The temporary directory name for dir and pid: "PARENT/BASE-tmp-PID". */
static int tmp_name(const char *dir, long pid, char *buf, size_t len)
{
	char parent[PATH_MAX];
	const char *base = strrchr(dir, '/');
	int err, n;

	err = parent_of(dir, parent, sizeof(parent));
	if (err)
		return err;
	base = base ? base + 1 : dir;
	n = snprintf(buf, len, "%s/%s" TMP_SUFFIX "%ld", parent, base, pid);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void vw_pin_clean_stale(const char *dir)
{
	char parent[PATH_MAX], prefix[NAME_MAX + 16], path[PATH_MAX];
	const char *base = strrchr(dir, '/');
	struct dirent *de;
	DIR *d;

	if (parent_of(dir, parent, sizeof(parent)))
		return;
	base = base ? base + 1 : dir;
	snprintf(prefix, sizeof(prefix), "%s" TMP_SUFFIX, base);
	d = opendir(parent);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		pid = strtol(de->d_name + strlen(prefix), &end, 10);
		if (*end || pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue; /* bad name, or its owner still runs */
		if (vw_pin_path(path, sizeof(path), parent, de->d_name))
			continue;
		pr_debug("removing %s, left by pid %ld\n", path, pid);
		remove_dir(path, false);
	}
	closedir(d);
}

int vw_pin_create(const char *dir, const struct vw_maps *m, int prog_fd, int prog_ip_fd,
		  bool over_kept)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int err;

	if (strchr(strrchr(dir, '/') ? strrchr(dir, '/') : dir, '.')) {
		pr_warn("%s: bpffs does not allow '.' in names\n", dir);
		return -EINVAL;
	}
	err = tmp_name(dir, getpid(), tmp, sizeof(tmp));
	if (err)
		return err;
	remove_dir(tmp, false);
	if (mkdir(tmp, 0700)) {
		err = -errno;
		pr_warn("cannot create %s: %s\n", tmp, strerror(-err));
		return err;
	}
	/* mkdir honours the umask; the directory must be 0700 whatever it is */
	if (chmod(tmp, 0700)) {
		err = -errno;
		goto out;
	}
	for (unsigned int i = 0; i < VW_NUM_MAPS; i++) {
		const int *fd = (const int *)((const char *)m + vw_map_descs[i].off);

		err = vw_pin_path(path, sizeof(path), tmp, vw_map_descs[i].name);
		if (err)
			goto out;
		if (bpf_obj_pin(*fd, path) || chmod(path, 0600)) {
			err = -errno;
			pr_warn("cannot pin %s: %s\n", path, strerror(-err));
			goto out;
		}
	}
	for (int k = 0; k < 2; k++) {
		err = vw_pin_path(path, sizeof(path), tmp, k ? VW_PIN_PROG_IP : VW_PIN_PROG);
		if (err)
			goto out;
		if (bpf_obj_pin(k ? prog_ip_fd : prog_fd, path) || chmod(path, 0600)) {
			err = -errno;
			pr_warn("cannot pin %s: %s\n", path, strerror(-err));
			goto out;
		}
	}
	if (over_kept) {
		/* dir holds the kept maps, pinned in tmp as well: swap the two directories in one
		 * step, then remove the old one (now at tmp; a crash before that leaves it to
		 * vw_pin_clean_stale) */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE)) {
			err = -errno;
			pr_warn("cannot swap %s into %s: %s\n", tmp, dir, strerror(-err));
			goto out;
		}
		remove_dir(tmp, false);
		return 0;
	}
	/* rename(2) replaces an empty directory left by an earlier unload or crash */
	if (rename(tmp, dir)) {
		err = -errno;
		pr_warn("cannot rename %s to %s: %s\n", tmp, dir, strerror(-err));
		goto out;
	}
	return 0;
out:
	remove_dir(tmp, false);
	return err;
}

int vw_pin_link(const char *dir, unsigned int ifindex, int link_fd)
{
	char name[32], path[PATH_MAX];
	int err;

	snprintf(name, sizeof(name), VW_PIN_LINK_FMT, ifindex);
	err = vw_pin_path(path, sizeof(path), dir, name);
	if (err)
		return err;
	if (bpf_obj_pin(link_fd, path))
		return -errno;
	if (chmod(path, 0600)) {
		err = -errno;
		unlink(path);
		return err;
	}
	return 0;
}

int vw_pin_unlink_link(const char *dir, unsigned int ifindex)
{
	char name[32], path[PATH_MAX];
	int err;

	snprintf(name, sizeof(name), VW_PIN_LINK_FMT, ifindex);
	err = vw_pin_path(path, sizeof(path), dir, name);
	if (err)
		return err;
	return unlink(path) ? -errno : 0;
}

int vw_pin_link_attached(const char *dir, unsigned int ifindex)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char name[32], path[PATH_MAX];
	int fd, err;

	snprintf(name, sizeof(name), VW_PIN_LINK_FMT, ifindex);
	err = vw_pin_path(path, sizeof(path), dir, name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	close(fd);
	if (err)
		return err;
	/* a deleted interface detaches its links, which then report ifindex 0 */
	return info.type == BPF_LINK_TYPE_XDP && info.xdp.ifindex == ifindex;
}

static bool lock_name_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '_' || c == '-';
}

/* The folder of the lock files: every voipwall process changing one pin dir must see the same. */
static const char *lock_dir(void)
{
	const char *d = getenv(VW_LOCK_DIR_ENV);

	return d && *d ? d : VW_LOCK_DIR;
}

/* Lock file path: <lock dir>/voipwall-<dir with '/' as '-'>.lock, with a hash when long. The one
 * place the name is made. */
static int lock_path(const char *dir, char *buf, size_t len)
{
	char esc[128];
	unsigned long long h = 1469598103934665603ULL; /* FNV-1a */
	const char *p = dir;
	size_t n = 0;
	int r;

	while (*p == '/')
		p++;
	for (; *p; p++) {
		unsigned char c = *p;

		h = (h ^ c) * 1099511628211ULL;
		if (n < sizeof(esc) - 1)
			esc[n++] = c == '/' ? '-' : lock_name_char(c) ? c : '_';
	}
	while (n && esc[n - 1] == '-')
		n--;
	esc[n] = '\0';
	if (strlen(dir) >= sizeof(esc) - 1)
		r = snprintf(buf, len, "%s/voipwall-%.80s-%016llx.lock", lock_dir(), esc, h);
	else
		r = snprintf(buf, len, "%s/voipwall-%s.lock", lock_dir(), esc);
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

static long lock_owner(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* Whether fd is still the file at path (a lock file is unlinked by the holder that removes the
 * pin dir; who locked the unlinked file must start over). */
static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int vw_pin_lock(const char *dir, int wait_secs)
{
	char path[PATH_MAX], pid[32];
	struct timespec start, now;
	bool said = false;
	long owner = 0;
	int fd = -1, err, n;

	err = lock_path(dir, path, sizeof(path));
	if (err)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (fd < 0) {
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (fd < 0) {
				err = -errno;
				pr_warn("cannot open lock file %s: %s\n", path, strerror(-err));
				return err;
			}
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (same_file(fd, path))
				break;
			close(fd); /* removed meanwhile: lock the new one */
			fd = -1;
			continue;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			err = -errno;
			pr_warn("cannot lock %s: %s\n", path, strerror(-err));
			goto out;
		}
		owner = lock_owner(fd);
		if (!said) {
			fprintf(stderr,
				"voipwall: waiting for another voipwall command (pid %ld) "
				"changing %s\n",
				owner, dir);
			said = true;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9 >=
		    (double)wait_secs) {
			pr_warn("gave up after %d s waiting for the voipwall command (pid %ld) "
				"changing %s (--wait SECONDS to wait longer)\n",
				wait_secs, owner, dir);
			err = -ETIMEDOUT;
			goto out;
		}
		usleep(50 * 1000);
	}
	if (said)
		fprintf(stderr, "voipwall: lock on %s acquired\n", dir);
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, n, 0) != n)
		pr_debug("cannot record pid in %s: %s\n", path, strerror(errno));
	return fd;
out:
	close(fd);
	return err;
}

void vw_pin_unlock(const char *dir, int fd)
{
	char path[PATH_MAX];

	if (fd < 0)
		return;
	/* no pin dir left: drop its lock file too (still holding the lock, see same_file()) */
	if (access(dir, F_OK) && errno == ENOENT && !lock_path(dir, path, sizeof(path)))
		unlink(path);
	close(fd);
}
