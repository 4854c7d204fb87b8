/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's file system, built by init in its fresh mount namespace.
 *
 * Everything the container needs from the host (device nodes, resolv.conf,
 * bind sources) is opened as an O_PATH fd before pivot_root; the old root is
 * then detached at once, and every mount target is created and resolved
 * inside the new root. A symlink in the image (absolute, or with `..`) can
 * therefore never point a mount at a host path.
 *
 * proc and sysfs are created (fsmount) before pivot_root too: in a user
 * namespace the kernel only allows them while a fully visible instance is
 * in the mount namespace, which the host's stops being once detached.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kiln-run.h"

#define MNT_FLAGS_SAFE (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static const char *dev_nodes[] = { "null", "zero", "full", "random",
				   "urandom", "tty" };
static const unsigned int dev_numbers[][2] = { { 1, 3 }, { 1, 5 }, { 1, 7 },
					       { 1, 8 }, { 1, 9 }, { 5, 0 } };
#define NDEV (sizeof(dev_nodes) / sizeof(*dev_nodes))

struct host_fds {
	int dev[NDEV];
	int resolv;
	int proc;
	int sys;
	int binfmt;
	int *binds;
	size_t nbinds;
};

static int make_readonly(const char *path, bool recursive)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr,
			  sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return kr_syserror("mount_setattr %s read-only", path);

	/* Kernels before 5.12: remount, keeping the flags we may not drop. */
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
		  MS_NOSUID | MS_NODEV, NULL) < 0)
		return kr_syserror("remount %s read-only", path);

	return 0;
}

static int mount_fs(const char *type, const char *target, unsigned long flags,
		    const char *data, mode_t dir_mode)
{
	if (mkdir(target, dir_mode) < 0 && errno != EEXIST)
		return kr_syserror("mkdir %s", target);
	if (mount(type, target, type, flags, data) < 0)
		return kr_syserror("mount %s on %s", type, target);

	return 0;
}

/*
 * Creates a file to bind onto. A dangling symlink in the image (resolv.conf
 * pointing into /run) is followed one level, inside the new root.
 */
static int make_file_target(const char *target)
{
	char link[PATH_MAX], resolved[PATH_MAX * 2], *slash;
	struct stat st;
	ssize_t n;
	int fd;

	if (stat(target, &st) == 0)
		return 0;
	if (errno != ENOENT)
		return kr_syserror("stat %s", target);

	n = readlink(target, link, sizeof(link) - 1);
	if (n < 0) {
		/* The parent directory is missing. */
		(void)snprintf(resolved, sizeof(resolved), "%s", target);
	} else {
		link[n] = '\0';
		if (link[0] == '/') {
			(void)snprintf(resolved, sizeof(resolved), "%s", link);
		} else {
			(void)snprintf(resolved, sizeof(resolved), "%s", target);
			slash = strrchr(resolved, '/');
			(void)snprintf(slash + 1,
				       sizeof(resolved) - (size_t)(slash + 1 -
								   resolved),
				       "%s", link);
		}
	}
	slash = strrchr(resolved, '/');
	if (slash && slash != resolved) {
		*slash = '\0';
		if (kr_mkdir_p(resolved, 0755) < 0)
			return kr_syserror("mkdir %s", resolved);
		*slash = '/';
	}
	fd = open(resolved, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return kr_syserror("create %s", resolved);

	return close(fd);
}

/*
 * Attaches a detached copy of a host mount (open_tree before pivot_root)
 * onto target. The old root is gone by then, so a plain bind from a path
 * could neither reach nor be allowed to copy it.
 */
static int bind_fd(int fd, const char *target, bool rw, bool recursive)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	struct stat st;

	if (fstat(fd, &st) < 0)
		return kr_syserror("fstat bind source of %s", target);
	if (S_ISDIR(st.st_mode)) {
		if (kr_mkdir_p(target, 0755) < 0)
			return kr_syserror("mkdir %s", target);
	} else if (make_file_target(target) < 0) {
		return -1;
	}

	if (!rw && mount_setattr(fd, "", AT_EMPTY_PATH |
				 (recursive ? AT_RECURSIVE : 0), &attr,
				 sizeof(attr)) < 0)
		return kr_syserror("make the bind onto %s read-only", target);
	if (move_mount(fd, "", AT_FDCWD, target,
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
		return kr_syserror("bind mount onto %s", target);

	return 0;
}

static int open_host(const char *path, int *fd, bool recursive)
{
	*fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
				(recursive ? AT_RECURSIVE : 0));
	if (*fd < 0)
		return kr_syserror("open_tree %s", path);

	return 0;
}

/* A new, not yet attached proc or sysfs; -1 with errno on failure. */
static int new_fs(const char *type, unsigned int attrs)
{
	int fd, mfd, saved;

	fd = fsopen(type, FSOPEN_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return -1;
	}
	mfd = fsmount(fd, FSMOUNT_CLOEXEC, attrs);
	saved = errno;
	(void)close(fd);
	errno = saved;

	return mfd;
}

static int attach(int fd, const char *target, mode_t dir_mode)
{
	if (mkdir(target, dir_mode) < 0 && errno != EEXIST)
		return kr_syserror("mkdir %s", target);
	if (move_mount(fd, "", AT_FDCWD, target,
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
		return kr_syserror("mount onto %s", target);

	return 0;
}

static void close_host(struct host_fds *h)
{
	size_t i;

	for (i = 0; i < NDEV; i++)
		if (h->dev[i] >= 0)
			(void)close(h->dev[i]);
	if (h->resolv >= 0)
		(void)close(h->resolv);
	if (h->sys >= 0)
		(void)close(h->sys);
	if (h->proc >= 0)
		(void)close(h->proc);
	if (h->binfmt >= 0)
		(void)close(h->binfmt);
	for (i = 0; i < h->nbinds; i++)
		if (h->binds[i] >= 0)
			(void)close(h->binds[i]);
	free(h->binds);
}

/*
 * A binfmt_misc instance of the container's user namespace with the
 * spec's one registration. Made before pivot_root: flag F opens the
 * interpreter now, from the host, so it need not be inside the root.
 * Read-only once registered, so the step can read but not change it;
 * the entry goes when the last mount of the instance does, with the
 * mount namespace.
 */
static int open_binfmt(const struct kr_spec *spec, struct host_fds *h)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	int fd, ret;

	h->binfmt = new_fs("binfmt_misc", MOUNT_ATTR_NOSUID |
					      MOUNT_ATTR_NODEV |
					      MOUNT_ATTR_NOEXEC);
	if (h->binfmt < 0)
		return kr_syserror("mount binfmt_misc in the user namespace "
				   "(needs Linux 6.7)");
	fd = openat(h->binfmt, "register", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return kr_syserror("open binfmt_misc/register");
	ret = kr_write_all(fd, spec->binfmt, strlen(spec->binfmt));
	if (ret < 0)
		kr_syserror("register the interpreter with binfmt_misc (%s)",
			    spec->binfmt);
	/* A mount with a file open for writing cannot turn read-only. */
	if (close(fd) < 0 && ret == 0)
		ret = kr_syserror("close binfmt_misc/register");
	if (ret < 0)
		return -1;
	if (mount_setattr(h->binfmt, "", AT_EMPTY_PATH, &attr,
			  sizeof(attr)) < 0)
		return kr_syserror("make binfmt_misc read-only");

	return 0;
}

static int open_host_fds(const struct kr_spec *spec, struct host_fds *h)
{
	char path[64];
	size_t i;

	if (spec->net_host &&
	    open_host("/etc/resolv.conf", &h->resolv, false) < 0)
		return -1;
	h->binds = calloc(spec->nbinds + 1, sizeof(int));
	if (!h->binds)
		return kr_syserror("alloc bind fds");
	for (i = 0; i < spec->nbinds; i++)
		h->binds[i] = -1;
	h->nbinds = spec->nbinds;
	for (i = 0; i < spec->nbinds; i++)
		if (open_host(spec->binds[i].src, &h->binds[i], true) < 0)
			return -1;

	/*
	 * Real root makes device nodes, proc and sysfs after pivot_root; each
	 * open_tree or fsmount costs a mount namespace of its own.
	 */
	if (!spec->uid_map.n)
		return 0;

	for (i = 0; i < NDEV; i++) {
		(void)snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		if (open_host(path, &h->dev[i], false) < 0)
			return -1;
	}
	h->proc = new_fs("proc", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				     MOUNT_ATTR_NOEXEC);
	if (h->proc < 0)
		return kr_syserror("mount proc");
	h->sys = new_fs("sysfs", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				 MOUNT_ATTR_NOEXEC | MOUNT_ATTR_RDONLY);
	/*
	 * A user namespace sharing the host network may not make a sysfs:
	 * it gets a read-only copy of the host's.
	 */
	if (h->sys < 0 && errno == EPERM && spec->uid_map.n)
		(void)open_host("/sys", &h->sys, true);
	if (h->sys < 0)
		return kr_syserror("mount sysfs");
	if (spec->binfmt && open_binfmt(spec, h) < 0)
		return -1;

	return 0;
}

static int mount_root(const struct kr_spec *spec)
{
	char *opts = NULL, work[PATH_MAX];
	int ret;

	if (!spec->upper) {
		if (mount(spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC,
			  NULL) < 0)
			return kr_syserror("bind mount %s", spec->rootfs);
		return 0;
	}

	if (kr_overlay_workdir(spec->upper, work, sizeof(work)) < 0)
		return kr_error("overlay: upper path too long: %s", spec->upper);
	if (asprintf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s%s",
		     spec->rootfs, spec->upper, work,
		     spec->uid_map.n ? ",userxattr" : "") < 0)
		return kr_syserror("overlay options");
	ret = mount("overlay", spec->rootfs, "overlay", 0, opts);
	if (ret < 0)
		kr_syserror("mount overlay (lower %s, upper %s)", spec->rootfs,
			    spec->upper);
	free(opts);

	return ret;
}

static int enter_root(const char *rootfs)
{
	if (chdir(rootfs) < 0)
		return kr_syserror("chdir %s", rootfs);
	/* Stacks the old root on the new one; detaching it leaves the new. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return kr_syserror("pivot_root %s", rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return kr_syserror("detach the old root");
	if (chdir("/") < 0)
		return kr_syserror("chdir /");

	return 0;
}

static int setup_proc(const struct host_fds *h)
{
	static const char *ro[] = { "/proc/sys", "/proc/sysrq-trigger",
				    "/proc/irq", "/proc/bus" };
	size_t i;

	if (h->proc >= 0 ? attach(h->proc, "/proc", 0555) < 0
			 : mount_fs("proc", "/proc", MNT_FLAGS_SAFE, NULL, 0555) < 0)
		return -1;
	/* Host kernel knobs stay readable but cannot be changed. */
	for (i = 0; i < sizeof(ro) / sizeof(*ro); i++) {
		if (access(ro[i], F_OK) < 0)
			continue;
		if (mount(ro[i], ro[i], NULL, MS_BIND | MS_REC, NULL) < 0)
			return kr_syserror("bind mount %s", ro[i]);
		if (make_readonly(ro[i], true) < 0)
			return -1;
	}
	if (h->binfmt >= 0 &&
	    attach(h->binfmt, "/proc/sys/fs/binfmt_misc", 0755) < 0)
		return -1;

	return 0;
}

static int setup_sys(const struct host_fds *h)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (h->sys < 0)
		return mount_fs("sysfs", "/sys", MNT_FLAGS_SAFE | MS_RDONLY, NULL,
				0555);
	/* The copy of the host's /sys is read-only all the way down. */
	if (mount_setattr(h->sys, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			  sizeof(attr)) < 0)
		return kr_syserror("make /sys read-only");

	return attach(h->sys, "/sys", 0555);
}

static int setup_dev(const struct kr_spec *spec, const struct host_fds *h)
{
	static const char *links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },
		{ "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" },
		{ "/proc/self/fd/2", "/dev/stderr" },
		{ "pts/ptmx", "/dev/ptmx" },
	};
	char path[64];
	size_t i;

	if (mount_fs("tmpfs", "/dev", MS_NOSUID | MS_NOEXEC,
		     "mode=755,size=65536k", 0755) < 0)
		return -1;
	for (i = 0; i < NDEV; i++) {
		(void)snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		if (h->dev[i] >= 0) {
			if (bind_fd(h->dev[i], path, true, false) < 0)
				return -1;
		} else if (mknod(path, S_IFCHR | 0666,
				 makedev(dev_numbers[i][0],
					 dev_numbers[i][1])) < 0 ||
			   chmod(path, 0666) < 0) {
			return kr_syserror("mknod %s", path);
		}
	}
	for (i = 0; i < sizeof(links) / sizeof(*links); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			return kr_syserror("symlink %s", links[i][1]);

	if (mkdir("/dev/pts", 0755) < 0)
		return kr_syserror("mkdir /dev/pts");
	/* gid 5 (tty) may be unmapped in a user namespace. */
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  spec->uid_map.n ? "newinstance,ptmxmode=0666,mode=0620"
				  : "newinstance,ptmxmode=0666,mode=0620,"
				    "gid=5") < 0)
		return kr_syserror("mount devpts on /dev/pts");
	if (mount_fs("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV,
		     "mode=1777,size=65536k", 01777) < 0)
		return -1;

	return 0;
}

/*
 * /run and /tmp are memory: without size= a step could fill half the
 * host's RAM (the kernel default) through each of them. Their pages are
 * charged to the step's memory cgroup too, so both limits hold.
 */
static int mount_tmp(const struct kr_spec *spec)
{
	char run[64], tmp[64], size[40];

	size[0] = '\0';
	if (spec->tmpfs_size > 0)
		(void)snprintf(size, sizeof(size), ",size=%lld",
			       (long long)spec->tmpfs_size);
	(void)snprintf(run, sizeof(run), "mode=755%s", size);
	(void)snprintf(tmp, sizeof(tmp), "mode=1777%s", size);
	if (mount_fs("tmpfs", "/run", MS_NOSUID | MS_NODEV, run, 0755) < 0 ||
	    mount_fs("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, tmp, 01777) < 0)
		return -1;

	return 0;
}

int kr_container_setup(const struct kr_spec *spec)
{
	struct host_fds h;
	size_t i;
	int ret = -1;

	memset(&h, 0, sizeof(h));
	for (i = 0; i < NDEV; i++)
		h.dev[i] = -1;
	h.resolv = -1;
	h.sys = -1;
	h.proc = -1;
	h.binfmt = -1;

	/* Nothing done below may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		kr_syserror("make / private");
		goto out;
	}
	if (mount_root(spec) < 0 || open_host_fds(spec, &h) < 0 ||
	    enter_root(spec->rootfs) < 0)
		goto out;

	if (setup_proc(&h) < 0 || setup_sys(&h) < 0 || setup_dev(spec, &h) < 0)
		goto out;
	if (mount_tmp(spec) < 0)
		goto out;
	/* Not fatal: a root the step may not write to can lack the file. */
	if (spec->net_host && bind_fd(h.resolv, "/etc/resolv.conf", false,
				      false) < 0)
		kr_report("warn", "the step cannot resolve host names");
	for (i = 0; i < spec->nbinds; i++)
		if (bind_fd(h.binds[i], spec->binds[i].dst, spec->binds[i].rw,
			    true) < 0)
			goto out;

	if (sethostname(spec->hostname ? spec->hostname : "kiln",
			strlen(spec->hostname ? spec->hostname : "kiln")) < 0) {
		kr_syserror("sethostname");
		goto out;
	}
	if (chdir(spec->cwd ? spec->cwd : "/") < 0) {
		kr_syserror("chdir %s (inside the container)",
			    spec->cwd ? spec->cwd : "/");
		goto out;
	}
	ret = 0;

out:
	close_host(&h);
	return ret;
}
