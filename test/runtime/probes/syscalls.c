/*
 * Calls each syscall with arguments that are harmless whatever happens and
 * prints how it failed: "name ERRNO". Built statically at test time so it
 * runs in a busybox root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void probe(const char *name, long nr, long a, long b, long c)
{
	long r = syscall(nr, a, b, c, 0L, 0L, 0L);

	printf("%s %s\n", name, r < 0 ? strerrorname_np(errno) : "ok");
}

int main(void)
{
	/* A bad mount fd: EBADF unless something stops the call first. */
	probe("open_by_handle_at", SYS_open_by_handle_at, -1, 0, 0);
	/* An unknown operation: EOPNOTSUPP unless stopped first. */
	probe("keyctl", SYS_keyctl, -1, 0, 0);
	/* A NULL attr: EFAULT unless stopped first. */
	probe("perf_event_open", SYS_perf_event_open, 0, 0, -1);
	probe("init_module", SYS_init_module, 0, 0, 0);
	probe("getpid", SYS_getpid, 0, 0, 0);
#if defined(__x86_64__)
	{
		long r;
		int status;
		pid_t pid;

		/*
		 * keyctl through the i386 ABI (int 0x80 works in 64-bit code).
		 * In a child: a kernel booted without ia32 emulation answers
		 * int 0x80 with SIGSEGV, and that says nothing about seccomp.
		 */
		(void)fflush(stdout);
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			__asm__ volatile("int $0x80"
					 : "=a"(r)
					 : "a"(288L), "b"(-1L), "c"(0L), "d"(0L)
					 : "memory");
			printf("keyctl-i386 %s\n",
			       r < 0 ? strerrorname_np((int)-r) : "ok");
			_exit(0);
		}
		if (waitpid(pid, &status, 0) < 0)
			return 1;
		if (!WIFEXITED(status))
			printf("keyctl-i386 no-i386-abi\n");
	}
#endif
	return 0;
}
