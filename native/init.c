/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pid 1 of the container: builds the root, forks the step, forwards the
 * signals kiln relays, reaps every orphan and reports how the step ended.
 * When it returns, the kernel kills whatever is left in the pid namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "kiln-run.h"

#define STEP_SCRIPT "/run/.kiln-step"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
				 SIGUSR2, SIGWINCH };

static const char *cap_names[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid",
	"kill", "setgid", "setuid", "setpcap", "linux_immutable",
	"net_bind_service", "net_broadcast", "net_admin", "net_raw",
	"ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot",
	"sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
	"sys_resource", "sys_time", "sys_tty_config", "mknod", "lease",
	"audit_write", "audit_control", "setfcap", "mac_override",
	"mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read",
	"perfmon", "bpf", "checkpoint_restore",
};
#define NCAPS ((int)(sizeof(cap_names) / sizeof(*cap_names)))

/*
 * What package managers and maintainer scripts use: file ownership and
 * modes (chown, dac_*, fowner, fsetid, setfcap for setcap in postinst),
 * switching users (setuid, setgid, kill, audit_write for useradd/su),
 * chroot (debootstrap second stage, update-initramfs), mlock (gpg).
 * Not kept: sys_admin (mount, a fresh read-write sysfs, namespaces),
 * mknod (a root step could make and open a host disk node), sys_ptrace,
 * sys_module, sys_rawio, sys_time, net_admin, bpf, perfmon and the rest.
 * A step that needs one names it (RunSpec.capabilities); mknod then comes
 * with a devices cgroup that lets only harmless nodes be opened.
 */
static const char *default_caps[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid",
	"kill", "setgid", "setuid", "setpcap", "net_bind_service", "net_raw",
	"ipc_lock", "sys_chroot", "lease", "audit_write", "setfcap",
};

static int cap_number(const char *name)
{
	int i;

	for (i = 0; i < NCAPS; i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return i;

	return -1;
}

static bool cap_kept(int cap, const struct kr_spec *spec)
{
	size_t i;

	for (i = 0; i < sizeof(default_caps) / sizeof(*default_caps); i++)
		if (cap == cap_number(default_caps[i]))
			return true;
	for (i = 0; i < spec->caps_keep.n; i++)
		if (cap == cap_number(spec->caps_keep.v[i]) ||
		    strcasecmp(spec->caps_keep.v[i], "all") == 0)
			return true;

	return false;
}

static int harden(const struct kr_spec *spec)
{
	size_t i;
	int cap;

	for (i = 0; i < spec->caps_keep.n; i++)
		if (cap_number(spec->caps_keep.v[i]) < 0 &&
		    strcasecmp(spec->caps_keep.v[i], "all") != 0)
			return kr_error("unknown capability: %s",
					spec->caps_keep.v[i]);

	/* Loop to the kernel's last cap: newer kernels may know more. */
	for (cap = 0;; cap++) {
		if (cap < NCAPS && cap_kept(cap, spec))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			return kr_syserror("drop capability %d", cap);
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return kr_syserror("prctl PR_SET_NO_NEW_PRIVS");

	return kr_seccomp_load(spec);
}

static void drop_all_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		kr_syserror("capset (init drops its capabilities)");
}

static int write_script(const char *script)
{
	int fd, ret = -1;

	fd = open(STEP_SCRIPT, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	if (fd < 0)
		return kr_syserror("create %s", STEP_SCRIPT);
	if (kr_write_all(fd, script, strlen(script)) < 0) {
		kr_syserror("write %s", STEP_SCRIPT);
		goto out;
	}
	ret = 0;
out:
	if (close(fd) < 0 && ret == 0)
		ret = kr_syserror("close %s", STEP_SCRIPT);
	return ret;
}

static const char *env_path(char **env)
{
	size_t i;

	for (i = 0; env && env[i]; i++)
		if (strncmp(env[i], "PATH=", 5) == 0)
			return env[i] + 5;

	return DEFAULT_PATH;
}

static void exec_failed(const char *what, int err)
{
	char msg[1024];
	int n;

	n = snprintf(msg, sizeof(msg), "kiln-run: cannot execute %s: %s\n",
		     what, strerror(err));
	if (n > 0)
		(void)kr_write_all(STDERR_FILENO, msg,
				   (size_t)n < sizeof(msg) ? (size_t)n
							   : sizeof(msg) - 1);
	_exit(err == ENOENT ? 127 : 126);
}

/* execvpe looks PATH up in our own environment; the step's is what counts. */
static void exec_argv(char **argv, char **env)
{
	char path[4096];
	const char *p, *next;
	size_t len;
	int err = ENOENT;

	if (strchr(argv[0], '/')) {
		(void)execve(argv[0], argv, env);
		exec_failed(argv[0], errno);
	}
	for (p = env_path(env); p; p = next) {
		next = strchr(p, ':');
		len = next ? (size_t)(next - p) : strlen(p);
		if (next)
			next++;
		if (len == 0 || len + strlen(argv[0]) + 2 > sizeof(path))
			continue;
		if (snprintf(path, sizeof(path), "%.*s/%s", (int)len, p,
			     argv[0]) >= (int)sizeof(path))
			continue;
		(void)execve(path, argv, env);
		if (errno != ENOENT && errno != ENOTDIR)
			err = errno;
	}
	exec_failed(argv[0], err);
}

static void exec_step(const struct kr_spec *spec, char **env)
{
	char *script_argv[] = { (char *)STEP_SCRIPT, NULL };
	char *sh_argv[] = { (char *)"/bin/sh", (char *)STEP_SCRIPT, NULL };

	if (!spec->script)
		exec_argv(spec->argv.v, env);

	(void)execve(STEP_SCRIPT, script_argv, env);
	/* No shebang: run it with /bin/sh, as a shell would. */
	if (errno == ENOEXEC) {
		(void)execve("/bin/sh", sh_argv, env);
		exec_failed("/bin/sh", errno);
	}
	exec_failed("the step script", errno);
}

static void noop_handler(int sig)
{
	(void)sig;
}

/* Waits until the monitor has put us in our cgroup. */
static int wait_for_cgroup(int sync_fd)
{
	char c;
	ssize_t n;

	do {
		n = read(sync_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	(void)close(sync_fd);
	if (n != 1)
		return -1; /* the monitor failed or died: it reports why */

	/* Our cgroup becomes the root of the step's cgroup view. */
	if (unshare(CLONE_NEWCGROUP) < 0 && errno != EINVAL)
		return kr_syserror("unshare CLONE_NEWCGROUP");

	return 0;
}

int kr_init_main(const struct kr_spec *spec, int report_fd, int sync_fd)
{
	static char *default_env[] = { (char *)"PATH=" DEFAULT_PATH, NULL };
	struct sigaction sa;
	sigset_t all, old;
	siginfo_t si;
	pid_t step, pid;
	char **env;
	size_t i;
	int status;

	kr_set_report_fd(report_fd);
	(void)prctl(PR_SET_NAME, "kiln-init", 0, 0, 0);

	if (kr_container_setup(spec) < 0)
		return 1;
	if (spec->script && write_script(spec->script) < 0)
		return 1;
	if (harden(spec) < 0 || wait_for_cgroup(sync_fd) < 0)
		return 1;
	env = spec->env.n ? spec->env.v : default_env;

	/*
	 * Signals from inside the namespace only reach pid 1 if it has a
	 * handler; blocked ones are queued for sigwaitinfo below.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	for (i = 0; i < sizeof(forwarded) / sizeof(*forwarded); i++)
		if (sigaction(forwarded[i], &sa, NULL) < 0)
			return kr_syserror("sigaction"), 1;
	(void)sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) < 0)
		return kr_syserror("sigprocmask"), 1;

	step = fork();
	if (step < 0)
		return kr_syserror("fork the step"), 1;
	if (step == 0) {
		sa.sa_handler = SIG_DFL;
		for (i = 0; i < sizeof(forwarded) / sizeof(*forwarded); i++)
			(void)sigaction(forwarded[i], &sa, NULL);
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		(void)setsid();
		/* Only stdin, stdout and stderr survive the exec. */
		(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
		exec_step(spec, env);
	}

	/*
	 * The OOM killer should pick the step, never its init; the step cannot
	 * read or ptrace init (not dumpable, no CAP_SYS_PTRACE).
	 */
	(void)kr_write_file("/proc/self/oom_score_adj", "-1000");
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	drop_all_caps();

	for (;;) {
		if (sigwaitinfo(&all, &si) < 0) {
			if (errno == EINTR)
				continue;
			return kr_syserror("sigwaitinfo"), 1;
		}
		if (si.si_signo != SIGCHLD) {
			for (i = 0; i < sizeof(forwarded) / sizeof(*forwarded);
			     i++)
				if (forwarded[i] == si.si_signo)
					(void)kill(step, si.si_signo);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != step)
				continue;
			if (WIFSIGNALED(status))
				kr_report("status", "signaled %d",
					  WTERMSIG(status));
			else
				kr_report("status", "exited %d",
					  WEXITSTATUS(status));
			return 0;
		}
	}
}
