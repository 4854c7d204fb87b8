/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kiln-run: the container runtime every kiln build step runs in.
 *
 * Three processes take part in a run:
 *   monitor  stays in the host namespaces, owns the cgroup, the timeout and
 *            the report to kiln (fd 3);
 *   init     pid 1 of the new namespaces: builds the root, then reaps and
 *            forwards signals;
 *   step     the command or script, forked by init.
 */
#ifndef __KILN_RUN_H
#define __KILN_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The socket kiln passes: spec in, report out. */
#define KR_CONTROL_FD 3

struct kr_bind {
	char *src;
	char *dst;
	bool rw;
};

struct kr_strv {
	char **v;
	size_t n;
};

struct kr_spec {
	char *rootfs;
	struct kr_strv argv;
	char *script;
	struct kr_strv env;
	char *cwd;
	char *hostname;
	bool net_host;
	char *upper;
	struct kr_bind *binds;
	size_t nbinds;
	int64_t memory;
	int64_t pids;
	int64_t cpu_milli;
	int64_t timeout_ms;
	/* size= of the /tmp and /run tmpfs mounts, 0: the kernel's default */
	int64_t tmpfs_size;
	/* the step may create user namespaces */
	bool userns_allow;
	struct kr_strv uid_map;
	struct kr_strv gid_map;
	struct kr_strv caps_keep;
	/*
	 * A binfmt_misc registration line (`:name:M:...:interpreter:F`) made
	 * in the container's own binfmt_misc instance: a foreign root's
	 * binaries run through the interpreter (qemu-user).
	 */
	char *binfmt;
	pid_t parent;
};

/* util.c */
void kr_set_report_fd(int fd);
int kr_report(const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int kr_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kr_syserror(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kr_write_all(int fd, const void *buf, size_t len);
int kr_write_file(const char *path, const char *text);
int kr_read_file(const char *path, char *buf, size_t size);
int kr_mkdir_p(const char *path, mode_t mode);
int kr_strv_push(struct kr_strv *sv, char *s);
int kr_remove_tree(const char *path);
int kr_overlay_workdir(const char *upper, char *buf, size_t size);

/* seccomp.c */
int kr_seccomp_load(const struct kr_spec *spec);

/* spec.c */
int kr_spec_read(int fd, struct kr_spec *spec);
bool kr_spec_keeps_cap(const struct kr_spec *spec, const char *name);
bool kr_spec_needs_cgroup(const struct kr_spec *spec);

/* cgroup.c */
struct kr_cgroup;
struct kr_cgroup *kr_cgroup_create(const struct kr_spec *spec);
void kr_cgroup_remove_stale(void);
int kr_cgroup_attach(struct kr_cgroup *cg, pid_t pid);
bool kr_cgroup_oom_killed(struct kr_cgroup *cg);
void kr_cgroup_destroy(struct kr_cgroup *cg);

/* container.c: runs in init, before the step is forked */
int kr_container_setup(const struct kr_spec *spec);

/* init.c */
int kr_init_main(const struct kr_spec *spec, int report_fd, int sync_fd);

#endif /* __KILN_RUN_H */
