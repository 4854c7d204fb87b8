/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "kiln-run.h"

static int report_fd = -1;

void kr_set_report_fd(int fd)
{
	report_fd = fd;
}

int kr_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t ret;

	while (len > 0) {
		ret = write(fd, p, len);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += ret;
		len -= (size_t)ret;
	}

	return 0;
}

static void report_line(const char *kind, const char *msg)
{
	char line[4096];
	int len;

	len = snprintf(line, sizeof(line), "%s %s\n", kind, msg);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line)) {
		len = sizeof(line) - 1;
		line[len - 1] = '\n';
	}

	/* Without the control socket (run by hand) a person reads stderr. */
	if (report_fd < 0 || kr_write_all(report_fd, line, (size_t)len) < 0)
		(void)kr_write_all(STDERR_FILENO, line, (size_t)len);
}

int kr_report(const char *kind, const char *fmt, ...)
{
	char msg[3072];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report_line(kind, msg);

	return 0;
}

int kr_error(const char *fmt, ...)
{
	char msg[3072];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report_line("error", msg);

	return -1;
}

int kr_syserror(const char *fmt, ...)
{
	char msg[3072];
	size_t len;
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = strlen(msg);
	(void)snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(saved));
	report_line("error", msg);
	errno = saved;

	return -1;
}

int kr_write_file(const char *path, const char *text)
{
	int fd, ret = -1;

	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (kr_write_all(fd, text, strlen(text)) < 0)
		goto out;
	ret = 0;
out:
	if (close(fd) < 0 && ret == 0)
		ret = -1;
	return ret;
}

/* Reads at most size - 1 bytes and NUL-terminates; returns the length. */
int kr_read_file(const char *path, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	while (got < size - 1) {
		ret = read(fd, buf + got, size - 1 - got);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			got = 0;
			(void)close(fd);
			return -1;
		}
		if (ret == 0)
			break;
		got += (size_t)ret;
	}
	buf[got] = '\0';
	(void)close(fd);

	return (int)got;
}

int kr_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	char *p;
	size_t len;

	len = strlen(path);
	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);

	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;

	return 0;
}

int kr_strv_push(struct kr_strv *sv, char *s)
{
	char **v;

	v = realloc(sv->v, (sv->n + 2) * sizeof(*v));
	if (!v)
		return -1;
	v[sv->n++] = s;
	v[sv->n] = NULL;
	sv->v = v;

	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;

	/* overlayfs leaves its work/work dir with mode 000. */
	if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;

	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int kr_remove_tree(const char *path)
{
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* overlayfs needs a work dir on the upper dir's file system: a hidden sibling. */
int kr_overlay_workdir(const char *upper, char *buf, size_t size)
{
	const char *slash = strrchr(upper, '/');
	int n;

	if (!slash)
		return -1;
	n = snprintf(buf, size, "%.*s/.%s.kiln-work", (int)(slash - upper),
		     upper, slash + 1);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}
