/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The syscall deny list every step runs under, after LXC's and Docker's
 * defaults: calls that reach kernel state no namespace isolates. The kept
 * capabilities alone would let a root step use some of them (dac_read_search
 * is enough for open_by_handle_at to read any file of a mounted host
 * filesystem, the "shocker" escape). Everything else is allowed: a build
 * step runs package managers, not a sandboxed service.
 */
#include <errno.h>
#include <seccomp.h>
#include <string.h>

#include "kiln-run.h"

struct denied {
	const char *name;
	int err;
};

static const struct denied denied[] = {
	/* A file handle is resolved outside the mount namespace. */
	{ "open_by_handle_at", EPERM },
	/* The kernel, its modules and its accounting are the host's. */
	{ "kexec_load", EPERM },
	{ "kexec_file_load", EPERM },
	{ "init_module", EPERM },
	{ "finit_module", EPERM },
	{ "delete_module", EPERM },
	{ "acct", EPERM },
	{ "swapon", EPERM },
	{ "swapoff", EPERM },
	/* Keyrings are not namespaced; ENOSYS makes callers fall back. */
	{ "keyctl", ENOSYS },
	{ "add_key", ENOSYS },
	{ "request_key", ENOSYS },
	/* Kernel attack surface no build step needs. */
	{ "bpf", EPERM },
	{ "userfaultfd", EPERM },
	{ "perf_event_open", EPERM },
};

/*
 * A 64-bit step may run 32-bit code (int 0x80 on x86_64): the rules must
 * hold for the compat ABIs too, or they are a way around them.
 */
static int add_compat_arches(scmp_filter_ctx ctx)
{
	uint32_t compat[2];
	size_t i, n = 0;
	int rc;

	switch (seccomp_arch_native()) {
	case SCMP_ARCH_X86_64:
		compat[n++] = SCMP_ARCH_X86;
		compat[n++] = SCMP_ARCH_X32;
		break;
	case SCMP_ARCH_AARCH64:
		compat[n++] = SCMP_ARCH_ARM;
		break;
	default:
		break;
	}
	for (i = 0; i < n; i++) {
		rc = seccomp_arch_add(ctx, compat[i]);
		if (rc < 0 && rc != -EEXIST)
			return kr_error("seccomp_arch_add: %s", strerror(-rc));
	}

	return 0;
}

int kr_seccomp_load(void)
{
	scmp_filter_ctx ctx;
	size_t i;
	int nr, rc, ret = -1;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return kr_error("seccomp_init failed");
	if (add_compat_arches(ctx) < 0)
		goto out;
	for (i = 0; i < sizeof(denied) / sizeof(*denied); i++) {
		nr = seccomp_syscall_resolve_name(denied[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue; /* older libseccomp: the kernel has it not */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(denied[i].err), nr,
				      0);
		if (rc < 0) {
			kr_error("seccomp_rule_add %s: %s", denied[i].name,
				 strerror(-rc));
			goto out;
		}
	}
	rc = seccomp_load(ctx);
	if (rc < 0) {
		kr_error("seccomp_load: %s", strerror(-rc));
		goto out;
	}
	ret = 0;
out:
	seccomp_release(ctx);
	return ret;
}
