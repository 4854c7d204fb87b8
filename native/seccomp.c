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
#include <sched.h>
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

/*
 * An unprivileged user namespace hands the step a full capability set over
 * fresh namespaces: kernel attack surface (most local privilege escalations
 * of recent years start there) that no package manager needs. Denied by
 * flag, so plain clone/fork and the other unshare uses keep working:
 * unshare(2) and clone(2) take the flags in argument 0 on every ABI
 * libseccomp maps here. clone3 passes its flags in memory a filter cannot
 * read, so it fails with ENOSYS and glibc falls back to clone, as under
 * Docker's default profile. The sysctl user.max_user_namespaces=0 would do
 * it without seccomp, but only inside a user namespace of the container's
 * own; a step running as real root has none, and setting it there would
 * change the host.
 */
static int deny_userns(scmp_filter_ctx ctx)
{
	static const char *by_flags[] = { "unshare", "clone" };
	size_t i;
	int nr, rc;

	for (i = 0; i < sizeof(by_flags) / sizeof(*by_flags); i++) {
		nr = seccomp_syscall_resolve_name(by_flags[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER,
					      CLONE_NEWUSER));
		if (rc < 0)
			return kr_error("seccomp_rule_add %s (user namespaces): "
					"%s", by_flags[i], strerror(-rc));
	}
	nr = seccomp_syscall_resolve_name("clone3");
	if (nr == __NR_SCMP_ERROR)
		return 0; /* older libseccomp: the kernel has it not */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	if (rc < 0)
		return kr_error("seccomp_rule_add clone3: %s", strerror(-rc));

	return 0;
}

int kr_seccomp_load(const struct kr_spec *spec)
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
	if (!spec->userns_allow && deny_userns(ctx) < 0)
		goto out;
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
