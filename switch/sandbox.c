/* SPDX-License-Identifier: MIT */
/*
 * The seccomp filter iovswitch applies once DPDK's EAL runs. iovswitch maps every guest's
 * memory and parses what guests put in it, so a bug there must not hand a guest the host: with
 * the filter, the process cannot execute a program, start another process, trace or write into
 * other processes, mount, load kernel code (modules, kexec, BPF), enter or make namespaces,
 * reach the kernel's keyrings, reboot the host or set its clock.
 *
 * Unlike iovm's filter, this one lists what is refused rather than what is allowed: at run time
 * iovswitch adds DPDK ports (rte_dev_probe opens and ioctls devices, sysfs, tun, packet
 * sockets, VFIO), accepts and maps vhost-user memory and serves images, and a DPDK release may
 * make new calls for those; a data path that kills itself on an unforeseen call is worse than
 * one that runs (port I/O, iopl and ioperm, stays allowed: legacy virtio devices need it).
 * Refused calls fail with EPERM; clone3 fails with ENOSYS, so the C library falls
 * back to clone, whose flags a filter can read: threads (CLONE_THREAD) are allowed, new
 * processes are not.
 */
#include <sched.h>

#include "iovkit-internal/macro.h"
#include "iovkit-internal/seccomp.h"
#include "switch-internal.h"

static const int refused[] = {
	/* programs and processes */
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
	/* other processes' memory */
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(pidfd_getfd),
	SCMP_SYS(kcmp),
	/* mounts, roots, namespaces */
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(unshare),
	SCMP_SYS(setns), SCMP_SYS(fsopen), SCMP_SYS(fsmount), SCMP_SYS(fsconfig), SCMP_SYS(move_mount),
	SCMP_SYS(open_tree), SCMP_SYS(mount_setattr),
	/* kernel code */
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(kexec_load),
	SCMP_SYS(kexec_file_load), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
	/* the host itself */
	SCMP_SYS(reboot), SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(settimeofday), SCMP_SYS(clock_settime),
	SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex), SCMP_SYS(sethostname), SCMP_SYS(setdomainname),
	SCMP_SYS(acct), SCMP_SYS(quotactl), SCMP_SYS(syslog),
	/* keyrings, identity */
	SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(setuid), SCMP_SYS(setgid),
	SCMP_SYS(setreuid), SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setgroups),
	SCMP_SYS(personality), SCMP_SYS(userfaultfd),
};

/* clone3's flags are behind a pointer: ENOSYS, so the C library uses clone, whose flags show. */
static int clone_rules(scmp_filter_ctx f)
{
	struct scmp_arg_cmp no_thread = { .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = CLONE_THREAD, .datum_b = 0 };
	int r = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);

	return r ? r : seccomp_rule_add_array(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, &no_thread);
}

int sw_sandbox_apply(char *why, size_t why_len)
{
	/* Every thread: the EAL's and rte_vhost's already run. */
	return iov_seccomp_apply(SCMP_ACT_ALLOW, SCMP_ACT_ERRNO(EPERM), refused, ARRAY_SIZE(refused), clone_rules, why,
				 why_len);
}
