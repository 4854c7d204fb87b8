/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor: reads the spec from fd 3, creates the cgroup and the
 * namespaces, waits for the container's init, enforces the timeout, relays
 * signals and reports one `end ...` line on fd 3 when everything it made is
 * gone again.
 *
 * Lines on fd 3: `warn MSG`, `error MSG`, then exactly one of `end exited N`,
 * `end signaled N`, `end timeout`, `end oom`, `end aborted`, `end error`.
 *
 * Signals: SIGTERM (also sent by the kernel when kiln dies, PDEATHSIG) or
 * EOF on fd 3 abort the run; SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and
 * SIGWINCH are forwarded to the step.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kiln-run.h"

enum end_kind { END_NONE, END_TIMEOUT, END_ABORTED };

struct monitor {
	const struct kr_spec *spec;
	struct kr_cgroup *cg;
	pid_t child;
	int sfd;
	int tfd;
	int report_r;
	bool control_open;
	enum end_kind forced;
	bool have_status;
	bool status_signaled;
	int status_value;
	char pending[8192];
	size_t npending;
};

static int lo_up(void)
{
	struct ifreq ifr;
	int fd, ret = -1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return kr_syserror("socket (to bring lo up)");
	memset(&ifr, 0, sizeof(ifr));
	(void)strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		kr_syserror("SIOCGIFFLAGS lo");
		goto out;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		kr_syserror("SIOCSIFFLAGS lo up");
		goto out;
	}
	ret = 0;
out:
	(void)close(fd);
	return ret;
}

/* Runs in the cloned child, before it becomes init. */
static int child_main(const struct kr_spec *spec, int sync_r, int report_w)
{
	struct pollfd pfd = { .fd = sync_r, .events = POLLIN };
	sigset_t none;
	char go;
	ssize_t n;

	(void)close(KR_CONTROL_FD);
	kr_set_report_fd(report_w);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);

	do {
		n = read(sync_r, &go, 1);
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		return 1; /* the monitor is gone or failed: nothing to do */

	if (spec->uid_map.n) {
		if (setresgid(0, 0, 0) < 0)
			return kr_syserror("setresgid 0 in the user namespace");
		(void)setgroups(0, NULL); /* denied when setgroups is off */
		if (setresuid(0, 0, 0) < 0)
			return kr_syserror("setresuid 0 in the user namespace");
	}
	/* Set after the uid change, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return kr_syserror("prctl PR_SET_PDEATHSIG");
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLHUP) &&
	    !(pfd.revents & POLLIN))
		return 1; /* the monitor died before PDEATHSIG was armed */
	if (!spec->net_host && lo_up() < 0)
		return 1;

	return kr_init_main(spec, report_w, sync_r);
}

static int run_idmap_tool(const char *tool, pid_t pid,
			  const struct kr_strv *map)
{
	char *argv[64], pidstr[16], *copy[16];
	size_t i, argc = 0;
	int status;
	pid_t p;

	memset(copy, 0, sizeof(copy));
	(void)snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	argv[argc++] = (char *)tool;
	argv[argc++] = pidstr;
	for (i = 0; i < map->n && i < 16; i++) {
		char *tok, *save;

		copy[i] = strdup(map->v[i]);
		if (!copy[i])
			goto fail;
		for (tok = strtok_r(copy[i], " \t", &save); tok && argc < 62;
		     tok = strtok_r(NULL, " \t", &save))
			argv[argc++] = tok;
	}
	argv[argc] = NULL;

	p = fork();
	if (p < 0)
		goto fail;
	if (p == 0) {
		(void)execvp(tool, argv);
		_exit(127);
	}
	if (waitpid(p, &status, 0) < 0)
		goto fail;
	for (i = 0; i < 16; i++)
		free(copy[i]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return kr_error("%s %d failed (is the range in /etc/sub%cid?)",
				tool, (int)pid, tool[3]);
	return 0;

fail:
	kr_syserror("%s", tool);
	for (i = 0; i < 16; i++)
		free(copy[i]);
	return -1;
}

static int write_idmap(pid_t pid, const char *file, const struct kr_strv *map)
{
	char path[64], buf[4096];
	size_t i, len = 0;
	int n;

	for (i = 0; i < map->n; i++) {
		n = snprintf(buf + len, sizeof(buf) - len, "%s\n", map->v[i]);
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			return kr_error("%s: map too long", file);
		len += (size_t)n;
	}
	(void)snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (kr_write_file(path, buf) < 0)
		return kr_syserror("write %s (%s)", path, map->v[0]);

	return 0;
}

static int set_idmaps(pid_t pid, const struct kr_spec *spec)
{
	if (geteuid() != 0)
		return run_idmap_tool("newuidmap", pid, &spec->uid_map) < 0 ||
		       run_idmap_tool("newgidmap", pid, &spec->gid_map) < 0
			       ? -1
			       : 0;

	if (write_idmap(pid, "uid_map", &spec->uid_map) < 0 ||
	    write_idmap(pid, "gid_map", &spec->gid_map) < 0)
		return -1;

	return 0;
}

/* The host id that `0` inside maps to, or -1. */
static long mapped_root(const struct kr_strv *map)
{
	long inside, outside, count;

	if (map->n == 0 ||
	    sscanf(map->v[0], "%ld %ld %ld", &inside, &outside, &count) != 3 ||
	    inside != 0)
		return -1;

	return outside;
}

static int prepare_overlay(const struct kr_spec *spec)
{
	char work[PATH_MAX];
	long uid, gid;

	if (!spec->upper)
		return 0;
	if (kr_overlay_workdir(spec->upper, work, sizeof(work)) < 0)
		return kr_error("overlay: upper path too long: %s", spec->upper);
	if (kr_mkdir_p(spec->upper, 0755) < 0)
		return kr_syserror("mkdir %s", spec->upper);
	/* Left by a run that was killed: overlayfs wants it empty. */
	if (kr_remove_tree(work) < 0 && errno != ENOENT)
		return kr_syserror("remove stale %s", work);
	if (mkdir(work, 0700) < 0)
		return kr_syserror("mkdir %s", work);

	uid = mapped_root(&spec->uid_map);
	gid = mapped_root(&spec->gid_map);
	if (uid >= 0 && gid >= 0) {
		if (chown(work, (uid_t)uid, (gid_t)gid) < 0)
			return kr_syserror("chown %s", work);
		if (chown(spec->upper, (uid_t)uid, (gid_t)gid) < 0)
			return kr_syserror("chown %s", spec->upper);
	}

	return 0;
}

static void cleanup_overlay(const struct kr_spec *spec)
{
	char work[PATH_MAX];

	if (!spec->upper ||
	    kr_overlay_workdir(spec->upper, work, sizeof(work)) < 0)
		return;
	if (kr_remove_tree(work) < 0 && errno != ENOENT)
		kr_syserror("remove %s", work);
}

static void kill_container(struct monitor *m, enum end_kind why)
{
	if (m->forced == END_NONE)
		m->forced = why;
	/* Killing init from outside takes the whole pid namespace. */
	(void)kill(m->child, SIGKILL);
}

/* Relays warn/error lines from init; keeps its final status. */
static void take_report_lines(struct monitor *m)
{
	char *line = m->pending, *nl;
	int value;

	while ((nl = memchr(line, '\n', m->npending -
					     (size_t)(line - m->pending)))) {
		*nl = '\0';
		if (sscanf(line, "status exited %d", &value) == 1) {
			m->have_status = true;
			m->status_signaled = false;
			m->status_value = value;
		} else if (sscanf(line, "status signaled %d", &value) == 1) {
			m->have_status = true;
			m->status_signaled = true;
			m->status_value = value;
		} else {
			kr_report(strncmp(line, "warn ", 5) == 0 ? "warn"
								  : "error",
				  "%s", strchr(line, ' ') ? strchr(line, ' ') + 1
							  : line);
		}
		line = nl + 1;
	}
	m->npending -= (size_t)(line - m->pending);
	memmove(m->pending, line, m->npending);
}

/* Returns false at EOF. */
static bool read_report(struct monitor *m)
{
	ssize_t n;

	if (m->npending == sizeof(m->pending))
		m->npending = 0; /* a line longer than the buffer: drop it */
	n = read(m->report_r, m->pending + m->npending,
		 sizeof(m->pending) - m->npending);
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	m->npending += (size_t)n;
	take_report_lines(m);

	return true;
}

static void handle_signal(struct monitor *m, bool *child_done, int *wstatus)
{
	struct signalfd_siginfo si;
	ssize_t n;
	pid_t p;

	n = read(m->sfd, &si, sizeof(si));
	if (n != sizeof(si))
		return;
	switch (si.ssi_signo) {
	case SIGCHLD:
		p = waitpid(m->child, wstatus, WNOHANG);
		if (p == m->child)
			*child_done = true;
		break;
	case SIGTERM:
		kill_container(m, END_ABORTED);
		break;
	default:
		(void)kill(m->child, (int)si.ssi_signo);
		break;
	}
}

static int event_loop(struct monitor *m)
{
	struct pollfd pfd[4];
	bool child_done = false, report_open = true;
	uint64_t ticks;
	char buf[256];
	int wstatus = 0, nfds;
	ssize_t n;

	while (!child_done) {
		nfds = 0;
		pfd[nfds++] = (struct pollfd){ .fd = m->sfd, .events = POLLIN };
		pfd[nfds++] = (struct pollfd){
			.fd = report_open ? m->report_r : -1, .events = POLLIN
		};
		pfd[nfds++] = (struct pollfd){ .fd = m->tfd, .events = POLLIN };
		pfd[nfds++] = (struct pollfd){
			.fd = m->control_open ? KR_CONTROL_FD : -1,
			.events = POLLIN
		};
		if (poll(pfd, (nfds_t)nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			kr_syserror("poll");
			kill_container(m, END_ABORTED);
			(void)waitpid(m->child, &wstatus, 0);
			break;
		}
		if (pfd[0].revents)
			handle_signal(m, &child_done, &wstatus);
		if (pfd[1].revents && !read_report(m))
			report_open = false;
		if (pfd[2].revents &&
		    read(m->tfd, &ticks, sizeof(ticks)) == sizeof(ticks))
			kill_container(m, END_TIMEOUT);
		if (pfd[3].revents) {
			n = read(KR_CONTROL_FD, buf, sizeof(buf));
			/* kiln closed its end: it is gone, so is the run. */
			if (n == 0 || (n < 0 && errno != EINTR &&
				       errno != EAGAIN)) {
				m->control_open = false;
				kill_container(m, END_ABORTED);
			}
		}
	}

	while (report_open && read_report(m))
		;

	return 0;
}

/* How the run ended, as the `end` line and as our exit code. */
static int decide_end(struct monitor *m, char *end, size_t size)
{
	bool oom = m->cg && kr_cgroup_oom_killed(m->cg);

	if (m->forced == END_TIMEOUT) {
		(void)snprintf(end, size, "timeout");
		return 124;
	}
	if (m->forced == END_ABORTED) {
		(void)snprintf(end, size, "aborted");
		return 130;
	}
	if (oom && !(m->have_status && !m->status_signaled &&
		     m->status_value == 0)) {
		(void)snprintf(end, size, "oom");
		return 137;
	}
	if (!m->have_status) {
		(void)snprintf(end, size, "error");
		return 125;
	}
	if (m->status_signaled) {
		(void)snprintf(end, size, "signaled %d", m->status_value);
		return 128 + m->status_value;
	}
	(void)snprintf(end, size, "exited %d", m->status_value);

	return m->status_value;
}

static int setup_signals(struct monitor *m)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT,
				    SIGUSR1, SIGUSR2, SIGWINCH };
	sigset_t set;
	size_t i;

	(void)sigemptyset(&set);
	for (i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		(void)sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return kr_syserror("sigprocmask");
	m->sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (m->sfd < 0)
		return kr_syserror("signalfd");

	return 0;
}

static int setup_timer(struct monitor *m)
{
	struct itimerspec its;

	if (m->spec->timeout_ms <= 0)
		return 0;
	m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (m->tfd < 0)
		return kr_syserror("timerfd_create");
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = m->spec->timeout_ms / 1000;
	its.it_value.tv_nsec = (m->spec->timeout_ms % 1000) * 1000000;
	if (timerfd_settime(m->tfd, 0, &its, NULL) < 0)
		return kr_syserror("timerfd_settime");

	return 0;
}

static pid_t start_child(struct monitor *m)
{
	const struct kr_spec *spec = m->spec;
	unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
			      CLONE_NEWIPC | SIGCHLD;
	int syncp[2], reportp[2];
	pid_t pid;
	char go = 'g';

	if (!spec->net_host)
		flags |= CLONE_NEWNET;
	if (spec->uid_map.n)
		flags |= CLONE_NEWUSER;

	if (pipe2(syncp, O_CLOEXEC) < 0 || pipe2(reportp, O_CLOEXEC) < 0)
		return kr_syserror("pipe2");

	/* Like fork(): the child gets a copy of our stack. */
	pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid < 0)
		return kr_syserror("clone (new namespaces)");
	if (pid == 0) {
		(void)close(syncp[1]);
		(void)close(reportp[0]);
		_exit(child_main(spec, syncp[0], reportp[1]) ? 1 : 0);
	}

	(void)close(syncp[0]);
	(void)close(reportp[1]);
	m->report_r = reportp[0];
	m->child = pid;

	if (spec->uid_map.n && set_idmaps(pid, spec) < 0)
		goto fail;
	if (kr_write_all(syncp[1], &go, 1) < 0) {
		kr_syserror("start the container");
		goto fail;
	}
	/*
	 * On cgroup v1 this waits for an RCU grace period; the container
	 * builds its root meanwhile and only forks the step after `c`.
	 */
	if (m->cg && kr_cgroup_attach(m->cg, pid) < 0)
		goto fail;
	go = 'c';
	/* EPIPE: the container's setup failed; the event loop reports why. */
	if (kr_write_all(syncp[1], &go, 1) < 0 && errno != EPIPE) {
		kr_syserror("start the container");
		goto fail;
	}
	/* Kept open: the child sees EOF here when we die. */
	return pid;

fail:
	(void)close(syncp[1]);
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
	m->child = 0;
	return -1;
}

int main(int argc, char *argv[])
{
	struct kr_spec spec;
	struct monitor m;
	char end[64];
	int ret = 125;

	(void)argv;
	if (argc != 1 || fcntl(KR_CONTROL_FD, F_GETFD) < 0) {
		static const char usage[] =
			"kiln-run: the container runtime of kiln; it reads its "
			"spec from fd 3 and is started by kiln, not by hand\n"
			"(try `kiln run ROOTFS -- CMD`).\n";
		(void)kr_write_all(STDERR_FILENO, usage, sizeof(usage) - 1);
		return 2;
	}
	/* Whatever else kiln's own parent left open must not reach the step. */
	if (close_range(KR_CONTROL_FD + 1, ~0U, 0) < 0) {
		(void)kr_write_all(STDERR_FILENO, "kiln-run: close_range\n", 22);
		return 125;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	kr_set_report_fd(KR_CONTROL_FD);

	memset(&m, 0, sizeof(m));
	m.spec = &spec;
	m.sfd = m.tfd = m.report_r = -1;
	m.control_open = true;

	/* Signals first: a SIGTERM during setup must not kill us halfway. */
	if (setup_signals(&m) < 0)
		goto out;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0) {
		kr_syserror("prctl PR_SET_PDEATHSIG");
		goto out;
	}
	if (kr_spec_read(KR_CONTROL_FD, &spec) < 0)
		goto out;
	if (spec.parent && getppid() != spec.parent)
		goto out; /* kiln died before PDEATHSIG was armed */
	/* Out of kiln's process group: a terminal's ^C reaches kiln alone. */
	(void)setsid();

	if (prepare_overlay(&spec) < 0)
		goto out;
	if (geteuid() == 0)
		kr_cgroup_remove_stale();
	if (kr_spec_needs_cgroup(&spec)) {
		m.cg = kr_cgroup_create(&spec);
		if (!m.cg)
			goto cleanup;
	}
	if (setup_timer(&m) < 0 || start_child(&m) < 0)
		goto cleanup;

	(void)event_loop(&m);
	ret = decide_end(&m, end, sizeof(end));
	/* The end line comes last: when kiln reads it, all is gone. */
	kr_cgroup_destroy(m.cg);
	cleanup_overlay(&spec);
	kr_report("end", "%s", end);
	return ret;

cleanup:
	kr_cgroup_destroy(m.cg);
	cleanup_overlay(&spec);
out:
	kr_report("end", "error");
	return ret;
}
