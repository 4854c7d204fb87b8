/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One fresh cgroup per run, a child of the cgroup kiln itself runs in (so any
 * limit set on kiln still applies to its steps). The unified hierarchy is
 * used when it offers memory, pids and cpu to us; otherwise the v1
 * controllers (hybrid hosts such as this one keep the controllers on v1 and
 * an empty cgroup2 at /sys/fs/cgroup/unified).
 *
 * Directories are named kiln-run.<pid>.<starttime> after the monitor, so a
 * later run can tell a stale one (its monitor died by SIGKILL) from a live
 * one and remove it.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kiln-run.h"

#define CG_MAX_DIRS 5
#define CG_PREFIX "kiln-run."

struct kr_cgroup {
	bool v2;
	char *dirs[CG_MAX_DIRS];
	int ndirs;
	/* Where the OOM kill counter is read, NULL without memory limit. */
	char *memdir;
};

static const char *v1_controllers[] = { "memory", "pids", "cpu", "devices" };

static bool has_token(const char *list, const char *token, char sep)
{
	size_t n = strlen(token);
	const char *p = list;

	while (p && *p) {
		if (strncmp(p, token, n) == 0 && (p[n] == sep || p[n] == '\0' ||
						  p[n] == '\n' || p[n] == ' '))
			return true;
		p = strchr(p, sep);
		if (p)
			p++;
	}

	return false;
}

/*
 * Mount point of the hierarchy holding `controller` (NULL: cgroup2), from
 * /proc/self/mountinfo. Returns a malloc'd path or NULL.
 */
static char *cgroup_mount(const char *controller)
{
	char *line = NULL, *mnt = NULL, *sep, *fstype, *opts, *save;
	size_t cap = 0;
	FILE *f;
	int i;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;

	while (getline(&line, &cap, f) > 0) {
		char *point = NULL, *tok;

		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		tok = strtok_r(line, " ", &save);
		for (i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		point = tok;
		fstype = strtok_r(sep + 3, " ", &save);
		(void)strtok_r(NULL, " ", &save);
		opts = strtok_r(NULL, " \n", &save);
		if (!point || !fstype || !opts)
			continue;
		if (controller ? strcmp(fstype, "cgroup") != 0 ||
					 !has_token(opts, controller, ',')
			       : strcmp(fstype, "cgroup2") != 0)
			continue;
		mnt = strdup(point);
		break;
	}

	free(line);
	(void)fclose(f);
	return mnt;
}

/* Our own path in the hierarchy of `controller` (NULL: the v2 one). */
static char *own_path(const char *controller)
{
	char *line = NULL, *path = NULL, *ctrls, *p;
	size_t cap = 0;
	FILE *f;

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return NULL;

	while (getline(&line, &cap, f) > 0) {
		ctrls = strchr(line, ':');
		if (!ctrls)
			continue;
		ctrls++;
		p = strchr(ctrls, ':');
		if (!p)
			continue;
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		if (controller ? !has_token(ctrls, controller, ',')
			       : strncmp(line, "0:", 2) != 0 || *ctrls)
			continue;
		path = strdup(p);
		break;
	}

	free(line);
	(void)fclose(f);
	return path;
}

static char *join(const char *a, const char *b, const char *c)
{
	char *s;

	if (asprintf(&s, "%s%s%s%s", a, strcmp(b, "/") == 0 ? "" : b,
		     c ? "/" : "", c ? c : "") < 0)
		return NULL;

	return s;
}

static unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	int i;

	(void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (kr_read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* Field 22 is starttime; p points at the end of field 2. */
	for (i = 2; i < 22 && p; i++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);

	return start;
}

static void kill_members(const char *dir)
{
	char path[4096], buf[65536], *p, *next;
	long pid;

	(void)snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (kr_read_file(path, buf, sizeof(buf)) <= 0)
		return;
	for (p = buf; *p; p = next) {
		pid = strtol(p, &next, 10);
		if (next == p)
			break;
		if (pid > 0)
			(void)kill((pid_t)pid, SIGKILL);
	}
}

static bool is_empty(const char *dir)
{
	char path[4096], buf[64];

	(void)snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (kr_read_file(path, buf, sizeof(buf)) < 0)
		return errno == ENOENT;

	return buf[0] == '\0';
}

/* Kills what is left in dir and removes it; 0 when it is gone. */
static int remove_cgroup(const char *dir, bool v2)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	char path[4096];
	int i;

	if (v2) {
		(void)snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
		/* Old kernels lack cgroup.kill: kill_members covers them. */
		(void)kr_write_file(path, "1");
	}

	for (i = 0; i < 400; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return kr_syserror("rmdir %s", dir);
		if (!is_empty(dir))
			kill_members(dir);
		(void)nanosleep(&ts, NULL);
	}

	return kr_syserror("rmdir %s", dir);
}

/* Removes kiln-run.* siblings whose monitor is gone. */
static void remove_stale(const char *parent, bool v2)
{
	struct dirent *e;
	char *dir;
	DIR *d;
	long pid;
	unsigned long long start;

	d = opendir(parent);
	if (!d)
		return;

	while ((e = readdir(d))) {
		if (strncmp(e->d_name, CG_PREFIX, strlen(CG_PREFIX)) != 0)
			continue;
		if (sscanf(e->d_name + strlen(CG_PREFIX), "%ld.%llu", &pid,
			   &start) != 2)
			continue;
		if (pid > 0 && proc_starttime((pid_t)pid) == start)
			continue;
		dir = join(parent, "/", e->d_name);
		if (!dir)
			continue;
		if (remove_cgroup(dir, v2) == 0)
			kr_report("warn", "removed stale cgroup %s", dir);
		free(dir);
	}

	(void)closedir(d);
}

static int write_limit(const char *dir, const char *file, const char *value)
{
	char path[4096];

	(void)snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (kr_write_file(path, value) < 0)
		return kr_syserror("write %s to %s", value, path);

	return 0;
}

static int add_dir(struct kr_cgroup *cg, char *dir)
{
	int i;

	for (i = 0; i < cg->ndirs; i++) {
		if (strcmp(cg->dirs[i], dir) == 0) {
			free(dir);
			return i;
		}
	}
	if (mkdir(dir, 0755) < 0) {
		kr_syserror("mkdir %s", dir);
		free(dir);
		return -1;
	}
	cg->dirs[cg->ndirs] = dir;

	return cg->ndirs++;
}

static bool v2_usable(const char *own)
{
	char path[4096], buf[1024];
	const char *need[] = { "memory", "pids", "cpu" };
	size_t i;

	(void)snprintf(path, sizeof(path), "%s/cgroup.controllers", own);
	if (kr_read_file(path, buf, sizeof(buf)) < 0)
		return false;
	for (i = 0; i < 3; i++)
		if (!has_token(buf, need[i], ' '))
			return false;

	(void)snprintf(path, sizeof(path), "%s/cgroup.subtree_control", own);
	if (kr_read_file(path, buf, sizeof(buf)) < 0)
		return false;
	if (has_token(buf, "memory", ' ') && has_token(buf, "pids", ' ') &&
	    has_token(buf, "cpu", ' '))
		return true;

	/* Fails (EBUSY) when our own cgroup holds processes: then v1. */
	return kr_write_file(path, "+memory +pids +cpu") == 0;
}

static int set_limits_v2(struct kr_cgroup *cg, const struct kr_spec *spec)
{
	char val[64], path[4096];
	const char *dir = cg->dirs[0];

	if (spec->memory > 0) {
		(void)snprintf(val, sizeof(val), "%" PRId64, spec->memory);
		if (write_limit(dir, "memory.max", val) < 0)
			return -1;
		(void)snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
		/* Absent without swap accounting: nothing to limit then. */
		if (access(path, F_OK) == 0 &&
		    write_limit(dir, "memory.swap.max", "0") < 0)
			return -1;
		cg->memdir = cg->dirs[0];
	}
	if (spec->pids > 0) {
		(void)snprintf(val, sizeof(val), "%" PRId64, spec->pids);
		if (write_limit(dir, "pids.max", val) < 0)
			return -1;
	}
	if (spec->cpu_milli > 0) {
		(void)snprintf(val, sizeof(val), "%" PRId64 " 100000",
			       spec->cpu_milli * 100);
		if (write_limit(dir, "cpu.max", val) < 0)
			return -1;
	}

	return 0;
}

static const char *device_rules[] = {
	"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",
	"c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm",
};

static int set_limits_v1(struct kr_cgroup *cg, const char *ctrl, int idx,
			 const struct kr_spec *spec)
{
	const char *dir = cg->dirs[idx];
	char val[64], path[4096];
	size_t i;

	if (strcmp(ctrl, "memory") == 0 && spec->memory > 0) {
		(void)snprintf(val, sizeof(val), "%" PRId64, spec->memory);
		if (write_limit(dir, "memory.limit_in_bytes", val) < 0)
			return -1;
		(void)snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes",
			       dir);
		if (access(path, F_OK) == 0 &&
		    write_limit(dir, "memory.memsw.limit_in_bytes", val) < 0)
			return -1;
		cg->memdir = cg->dirs[idx];
	} else if (strcmp(ctrl, "pids") == 0 && spec->pids > 0) {
		(void)snprintf(val, sizeof(val), "%" PRId64, spec->pids);
		if (write_limit(dir, "pids.max", val) < 0)
			return -1;
	} else if (strcmp(ctrl, "cpu") == 0 && spec->cpu_milli > 0) {
		if (write_limit(dir, "cpu.cfs_period_us", "100000") < 0)
			return -1;
		(void)snprintf(val, sizeof(val), "%" PRId64,
			       spec->cpu_milli * 100);
		if (write_limit(dir, "cpu.cfs_quota_us", val) < 0)
			return -1;
	} else if (strcmp(ctrl, "devices") == 0) {
		/* mknod stays allowed, but only harmless nodes can be opened. */
		if (write_limit(dir, "devices.deny", "a") < 0)
			return -1;
		for (i = 0; i < sizeof(device_rules) / sizeof(*device_rules);
		     i++)
			if (write_limit(dir, "devices.allow",
					device_rules[i]) < 0)
				return -1;
	}

	return 0;
}

static bool wanted_v1(const char *ctrl, const struct kr_spec *spec)
{
	if (strcmp(ctrl, "memory") == 0)
		return spec->memory > 0;
	if (strcmp(ctrl, "cpu") == 0)
		return spec->cpu_milli > 0;
	if (strcmp(ctrl, "devices") == 0)
		return spec->uid_map.n == 0 && kr_spec_keeps_cap(spec, "mknod");
	/* pids: always, it tracks and kills the whole tree. */
	return true;
}

struct kr_cgroup *kr_cgroup_create(const struct kr_spec *spec)
{
	struct kr_cgroup *cg;
	char name[96], *mnt = NULL, *own = NULL, *parent = NULL;
	size_t i;
	int idx;

	cg = calloc(1, sizeof(*cg));
	if (!cg) {
		kr_syserror("cgroup: alloc");
		return NULL;
	}
	(void)snprintf(name, sizeof(name), CG_PREFIX "%d.%llu", (int)getpid(),
		       proc_starttime(getpid()));

	mnt = cgroup_mount(NULL);
	own = own_path(NULL);
	if (mnt && own) {
		parent = join(mnt, own, NULL);
		if (parent && v2_usable(parent)) {
			cg->v2 = true;
			if (add_dir(cg, join(parent, "/", name)) < 0 ||
			    set_limits_v2(cg, spec) < 0)
				goto fail;
			goto out;
		}
	}

	for (i = 0; i < sizeof(v1_controllers) / sizeof(*v1_controllers); i++) {
		const char *ctrl = v1_controllers[i];

		free(mnt);
		free(own);
		free(parent);
		parent = NULL;
		mnt = cgroup_mount(ctrl);
		own = own_path(ctrl);
		if (!mnt || !own) {
			if (strcmp(ctrl, "memory") == 0 && spec->memory > 0)
				goto missing;
			if (strcmp(ctrl, "pids") == 0 && spec->pids > 0)
				goto missing;
			if (strcmp(ctrl, "cpu") == 0 && spec->cpu_milli > 0)
				goto missing;
			continue;
		}
		parent = join(mnt, own, NULL);
		if (!parent)
			goto fail;
		if (!wanted_v1(ctrl, spec))
			continue;
		idx = add_dir(cg, join(parent, "/", name));
		if (idx < 0 || set_limits_v1(cg, ctrl, idx, spec) < 0)
			goto fail;
		continue;
missing:
		kr_error("cgroup: no usable %s controller (neither cgroup2 with "
			 "it delegated nor a v1 hierarchy)", ctrl);
		goto fail;
	}

out:
	free(mnt);
	free(own);
	free(parent);
	return cg;

fail:
	free(mnt);
	free(own);
	free(parent);
	kr_cgroup_destroy(cg);
	return NULL;
}

/*
 * Every run (not only those that make a cgroup) sweeps the cgroups whose
 * monitor was killed, in each hierarchy it could have used.
 */
void kr_cgroup_remove_stale(void)
{
	char *mnt, *own, *parent;
	size_t i;

	for (i = 0; i <= sizeof(v1_controllers) / sizeof(*v1_controllers);
	     i++) {
		const char *ctrl = i == 0 ? NULL : v1_controllers[i - 1];

		mnt = cgroup_mount(ctrl);
		own = own_path(ctrl);
		parent = mnt && own ? join(mnt, own, NULL) : NULL;
		if (parent)
			remove_stale(parent, ctrl == NULL);
		free(parent);
		free(mnt);
		free(own);
	}
}

int kr_cgroup_attach(struct kr_cgroup *cg, pid_t pid)
{
	char val[32];
	int i;

	(void)snprintf(val, sizeof(val), "%d", (int)pid);
	for (i = 0; i < cg->ndirs; i++)
		if (write_limit(cg->dirs[i], "cgroup.procs", val) < 0)
			return -1;

	return 0;
}

bool kr_cgroup_oom_killed(struct kr_cgroup *cg)
{
	char path[4096], buf[4096], *p;

	if (!cg->memdir)
		return false;
	(void)snprintf(path, sizeof(path), "%s/%s", cg->memdir,
		       cg->v2 ? "memory.events" : "memory.oom_control");
	if (kr_read_file(path, buf, sizeof(buf)) < 0)
		return false;
	p = strstr(buf, "oom_kill ");
	if (!p)
		return false;

	return strtoull(p + strlen("oom_kill "), NULL, 10) > 0;
}

void kr_cgroup_destroy(struct kr_cgroup *cg)
{
	int i;

	if (!cg)
		return;
	for (i = 0; i < cg->ndirs; i++) {
		(void)remove_cgroup(cg->dirs[i], cg->v2);
		free(cg->dirs[i]);
	}
	free(cg);
}
