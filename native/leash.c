/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kiln-leash PARENT_PID TOOL [ARG...]: runs a host tool (xz, tar2sqfs,
 * gpg...) that must not outlive kiln. PR_SET_PDEATHSIG survives execve, so
 * the tool itself is killed by the kernel the moment kiln dies, SIGKILL
 * included: no compressor is orphaned to pid 1 with a half-written file.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	char *end;
	long parent;

	if (argc < 3) {
		(void)fprintf(stderr, "usage: kiln-leash PARENT_PID TOOL "
				      "[ARG...] (started by kiln)\n");
		return 125;
	}
	errno = 0;
	parent = strtol(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || parent <= 0) {
		(void)fprintf(stderr, "kiln-leash: not a pid: %s\n", argv[1]);
		return 125;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		(void)fprintf(stderr, "kiln-leash: prctl PR_SET_PDEATHSIG: %s\n",
			      strerror(errno));
		return 125;
	}
	/* kiln died before the signal was armed: nothing may run. */
	if (getppid() != (pid_t)parent)
		return 125;
	(void)execvp(argv[2], argv + 2);
	(void)fprintf(stderr, "kiln-leash: cannot execute %s: %s\n", argv[2],
		      strerror(errno));

	return errno == ENOENT ? 127 : 126;
}
