/* SPDX-License-Identifier: MIT */
/*
 * The seccomp filter iovm applies once the VM is set up: what a running VM needs and nothing
 * else. After it, a guest that found a bug in a device model can run KVM, signal eventfds,
 * talk to its vhost-user backends (reconnecting is a new Unix socket) and write its console;
 * it cannot open files, execute programs, or make network connections. Anything else kills the
 * process (SCMP_ACT_KILL_PROCESS), so a missed syscall shows up as a test failure, not as a
 * silent hole.
 */
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "iovkit-internal/macro.h"
#include "iovkit-internal/seccomp.h"
#include "vmm-internal.h"

static const int allowed[] = {
	/* the vCPU, eventfds, the console, the backends' sockets */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(close), SCMP_SYS(connect),
	SCMP_SYS(setsockopt), SCMP_SYS(fcntl), SCMP_SYS(shutdown), SCMP_SYS(accept4), SCMP_SYS(getsockopt),
	/* time, threads, signals, memory the C library manages */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(futex), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(tgkill), SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(madvise),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(brk), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(restart_syscall), SCMP_SYS(rseq), SCMP_SYS(set_robust_list), SCMP_SYS(sigaltstack), SCMP_SYS(sched_yield), SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(lseek),
	/* a kernel VFIO device's regions; the eventfds of a passed-through device's MSI-X vectors,
	 * made when the guest first uses them */
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(eventfd2),
};

/* KVM requests a running VM makes (memory slots: a passed-through BAR mapped where the guest
 * moves it); a passed-through device's MSI being switched (kernel VFIO:
 * its vector count is checked, then its eventfd set) and the device given back at exit (guest
 * RAM unmapped, its group leaving the container: each only gives access up); TCGETS is the C
 * library asking whether stdout is a tty. */
static const unsigned long ioctls[] = {
	KVM_RUN, KVM_IRQFD, KVM_IOEVENTFD, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI, KVM_IRQ_LINE, KVM_SET_USER_MEMORY_REGION,
	VFIO_DEVICE_GET_IRQ_INFO,
	VFIO_DEVICE_SET_IRQS, VFIO_IOMMU_UNMAP_DMA, VFIO_GROUP_UNSET_CONTAINER, TCGETS,
};

/* The ioctls a running VM makes; new sockets Unix only (a backend's, on reconnect). */
static int argument_rules(scmp_filter_ctx f)
{
	struct scmp_arg_cmp unix_only = { .arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_UNIX, .datum_b = 0 };
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(ioctls); i++) {
		struct scmp_arg_cmp req = { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = ioctls[i], .datum_b = 0 };

		r = seccomp_rule_add_array(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &req);
	}
	return r ? r : seccomp_rule_add_array(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &unix_only);
}

int sandbox_apply(char *why, size_t why_len)
{
	/* Every thread: the vCPU threads already exist, waiting for vm_go(). */
	return iov_seccomp_apply(SCMP_ACT_KILL_PROCESS, SCMP_ACT_ALLOW, allowed, ARRAY_SIZE(allowed), argument_rules, why,
				 why_len);
}
