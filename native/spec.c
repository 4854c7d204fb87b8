/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The spec arrives as NUL-terminated `key=value` records ending with the
 * record `end=`. No value can hold a NUL (paths, argv, environment and
 * scripts never do), so splitting needs no escaping at all.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kiln-run.h"

#define SPEC_MAX (64 * 1024 * 1024)

static const char end_record[] = "end=";

static bool spec_complete(const char *buf, size_t len)
{
	size_t n = sizeof(end_record); /* includes the NUL */

	if (len < n || memcmp(buf + len - n, end_record, n) != 0)
		return false;

	return len == n || buf[len - n - 1] == '\0';
}

static int parse_int(const char *key, const char *value, int64_t *out)
{
	char *end;
	intmax_t v;

	errno = 0;
	v = strtoimax(value, &end, 10);
	if (errno || end == value || *end || v < 0)
		return kr_error("spec: %s: not a non-negative integer: %s", key,
				value);
	*out = (int64_t)v;

	return 0;
}

static int set_record(struct kr_spec *spec, char *key, char *value)
{
	struct kr_bind *b;
	int64_t n;

	if (strcmp(key, "rootfs") == 0) {
		spec->rootfs = value;
	} else if (strcmp(key, "arg") == 0) {
		if (kr_strv_push(&spec->argv, value) < 0)
			return kr_syserror("spec: argv");
	} else if (strcmp(key, "script") == 0) {
		spec->script = value;
	} else if (strcmp(key, "env") == 0) {
		if (!strchr(value, '='))
			return kr_error("spec: env entry without '=': %s",
					value);
		if (kr_strv_push(&spec->env, value) < 0)
			return kr_syserror("spec: env");
	} else if (strcmp(key, "cwd") == 0) {
		spec->cwd = value;
	} else if (strcmp(key, "hostname") == 0) {
		spec->hostname = value;
	} else if (strcmp(key, "network") == 0) {
		if (strcmp(value, "host") == 0)
			spec->net_host = true;
		else if (strcmp(value, "none") == 0)
			spec->net_host = false;
		else
			return kr_error("spec: network must be host or none: %s",
					value);
	} else if (strcmp(key, "upper") == 0) {
		spec->upper = value;
	} else if (strcmp(key, "bind") == 0) {
		b = realloc(spec->binds, (spec->nbinds + 1) * sizeof(*b));
		if (!b)
			return kr_syserror("spec: binds");
		spec->binds = b;
		b = &spec->binds[spec->nbinds++];
		b->src = value;
		b->dst = NULL;
		b->rw = false;
	} else if (strcmp(key, "bind_dst") == 0 ||
		   strcmp(key, "bind_rw") == 0) {
		if (spec->nbinds == 0)
			return kr_error("spec: %s before bind", key);
		b = &spec->binds[spec->nbinds - 1];
		if (key[5] == 'd')
			b->dst = value;
		else
			b->rw = strcmp(value, "1") == 0;
	} else if (strcmp(key, "memory") == 0) {
		return parse_int(key, value, &spec->memory);
	} else if (strcmp(key, "pids") == 0) {
		return parse_int(key, value, &spec->pids);
	} else if (strcmp(key, "cpu_milli") == 0) {
		return parse_int(key, value, &spec->cpu_milli);
	} else if (strcmp(key, "timeout_ms") == 0) {
		return parse_int(key, value, &spec->timeout_ms);
	} else if (strcmp(key, "tmpfs_size") == 0) {
		return parse_int(key, value, &spec->tmpfs_size);
	} else if (strcmp(key, "userns") == 0) {
		if (strcmp(value, "allow") != 0 && strcmp(value, "deny") != 0)
			return kr_error("spec: userns must be allow or deny: %s",
					value);
		spec->userns_allow = strcmp(value, "allow") == 0;
	} else if (strcmp(key, "uid_map") == 0) {
		if (kr_strv_push(&spec->uid_map, value) < 0)
			return kr_syserror("spec: uid_map");
	} else if (strcmp(key, "gid_map") == 0) {
		if (kr_strv_push(&spec->gid_map, value) < 0)
			return kr_syserror("spec: gid_map");
	} else if (strcmp(key, "cap") == 0) {
		if (kr_strv_push(&spec->caps_keep, value) < 0)
			return kr_syserror("spec: cap");
	} else if (strcmp(key, "binfmt") == 0) {
		spec->binfmt = value;
	} else if (strcmp(key, "parent") == 0) {
		if (parse_int(key, value, &n) < 0)
			return -1;
		spec->parent = (pid_t)n;
	} else {
		return kr_error("spec: unknown key: %s", key);
	}

	return 0;
}

/*
 * binfmt_misc is per user namespace (Linux 6.7): a registration made in
 * the host's user namespace would change the host for everyone. A spec
 * with `binfmt` and no maps therefore gets a user namespace that maps
 * every id to itself, so the step still owns the files it writes exactly
 * as real root would, and the registration lives and dies with it.
 */
static int identity_maps(struct kr_spec *spec)
{
	static char all[] = "0 0 4294967295";

	if (!spec->binfmt || spec->uid_map.n || spec->gid_map.n)
		return 0;
	if (kr_strv_push(&spec->uid_map, all) < 0 ||
	    kr_strv_push(&spec->gid_map, all) < 0)
		return kr_syserror("spec: identity maps");

	return 0;
}

static int spec_check(struct kr_spec *spec)
{
	size_t i;

	if (!spec->rootfs || spec->rootfs[0] != '/')
		return kr_error("spec: rootfs must be an absolute path");
	if ((spec->argv.n > 0) == (spec->script != NULL))
		return kr_error("spec: exactly one of argv and script is needed");
	if (spec->cwd && spec->cwd[0] != '/')
		return kr_error("spec: cwd must be absolute: %s", spec->cwd);
	if (spec->upper && spec->upper[0] != '/')
		return kr_error("spec: upper must be absolute: %s", spec->upper);
	if ((spec->uid_map.n > 0) != (spec->gid_map.n > 0))
		return kr_error("spec: uid_map and gid_map go together");
	if (spec->binfmt && spec->binfmt[0] != ':')
		return kr_error("spec: binfmt must be a registration line: %s",
				spec->binfmt);
	for (i = 0; i < spec->nbinds; i++) {
		if (spec->binds[i].src[0] != '/' || !spec->binds[i].dst ||
		    spec->binds[i].dst[0] != '/')
			return kr_error("spec: bind %s needs absolute paths",
					spec->binds[i].src);
	}

	return identity_maps(spec);
}

bool kr_spec_keeps_cap(const struct kr_spec *spec, const char *name)
{
	size_t i;

	for (i = 0; i < spec->caps_keep.n; i++)
		if (strcasecmp(spec->caps_keep.v[i], name) == 0 ||
		    strcasecmp(spec->caps_keep.v[i], "all") == 0)
			return true;

	return false;
}

/*
 * Every run gets a cgroup: kiln always sends default memory and pids
 * limits (a step is untrusted input), and even a spec without them is
 * accounted (pids tracks the whole tree). The RCU grace period moving a
 * task costs on cgroup v1 (~10 ms) is the price of a bounded step.
 */
bool kr_spec_needs_cgroup(const struct kr_spec *spec)
{
	(void)spec;
	return true;
}

int kr_spec_read(int fd, struct kr_spec *spec)
{
	char *buf = NULL, *p, *end, *eq, *nbuf;
	size_t len = 0, cap = 0;
	ssize_t ret;

	memset(spec, 0, sizeof(*spec));

	while (!spec_complete(buf, len)) {
		if (len == cap) {
			if (cap >= SPEC_MAX)
				return kr_error("spec: larger than %d bytes",
						SPEC_MAX);
			cap = cap ? cap * 2 : 65536;
			nbuf = realloc(buf, cap);
			if (!nbuf)
				return kr_syserror("spec: buffer");
			buf = nbuf;
		}
		ret = read(fd, buf + len, cap - len);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return kr_syserror("read spec from fd %d", fd);
		}
		if (ret == 0)
			return kr_error("spec: ended before the end record");
		len += (size_t)ret;
	}

	/* The buffer lives as long as the process: the spec points into it. */
	p = buf;
	end = buf + len - sizeof(end_record);
	while (p < end) {
		eq = strchr(p, '=');
		if (!eq)
			return kr_error("spec: record without '=': %.40s", p);
		*eq = '\0';
		if (set_record(spec, p, eq + 1) < 0)
			return -1;
		p = eq + 1 + strlen(eq + 1) + 1;
	}

	return spec_check(spec);
}
