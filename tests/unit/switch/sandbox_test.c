/* SPDX-License-Identifier: MIT */
/*
 * iovswitch's seccomp filter, applied in a child process (a filter cannot be taken off): what a
 * data path never does fails with EPERM; what it does — threads, files, sockets of any family,
 * memory mappings — still works.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../helpers/unit.h"
#include "../../../switch/switch-internal.h"

/* What the child saw, one entry per probe: 0, or the errno the call failed with. */
enum probe { P_APPLY, P_EXEC, P_FORK, P_PTRACE, P_UNSHARE, P_MOUNT, P_THREAD, P_OPEN, P_SOCKET, P_MMAP, P_SECCOMP, P_N };

static void *thread_fn(void *arg)
{
	return arg;
}

static int err_of(long r)
{
	return r < 0 ? errno : 0;
}

static void probe(int out)
{
	int seen[P_N] = { 0 };
	char why[128], status[4096] = "";
	pthread_t th;
	void *ret = NULL;
	int fd;

	seen[P_APPLY] = -sw_sandbox_apply(why, sizeof(why));
	seen[P_EXEC] = err_of(execl("/bin/true", "true", (char *)NULL));
	{
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		seen[P_FORK] = pid < 0 ? errno : (waitpid(pid, NULL, 0), 0);
	}
	seen[P_PTRACE] = err_of(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	seen[P_UNSHARE] = err_of(unshare(CLONE_NEWNS));
	seen[P_MOUNT] = err_of(mount("none", "/mnt", "tmpfs", 0, NULL));
	seen[P_THREAD] = pthread_create(&th, NULL, thread_fn, &seen);
	if (!seen[P_THREAD])
		seen[P_THREAD] = pthread_join(th, &ret) || ret != &seen ? EFAULT : 0;
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	seen[P_OPEN] = fd < 0 ? errno : 0;
	if (fd >= 0) {
		ssize_t n = read(fd, status, sizeof(status) - 1);

		status[n > 0 ? n : 0] = 0;
		close(fd);
	}
	seen[P_SECCOMP] = strstr(status, "Seccomp:\t2") ? 0 : ENOENT;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);   /* DPDK's tap and af_packet ports */
	seen[P_SOCKET] = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	{
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		seen[P_MMAP] = p == MAP_FAILED ? errno : 0;
		if (p != MAP_FAILED)
			munmap(p, 4096);
	}
	if (write(out, seen, sizeof(seen)) != (ssize_t)sizeof(seen))
		_exit(2);
	_exit(0);
}

static void test_filter(void)
{
	int seen[P_N], pipefd[2], status;
	pid_t pid;

	ASSERT_OK(pipe2(pipefd, O_CLOEXEC));
	pid = fork();
	ASSERT_INT_GE(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		probe(pipefd[1]);
	}
	close(pipefd[1]);
	ASSERT_INT_EQ(read(pipefd[0], seen, sizeof(seen)), (ssize_t)sizeof(seen));
	close(pipefd[0]);
	ASSERT_INT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	ASSERT_INT_EQ(seen[P_APPLY], 0);
	ASSERT_INT_EQ(seen[P_SECCOMP], 0);    /* the process is filtered */
	ASSERT_INT_EQ(seen[P_EXEC], EPERM);
	ASSERT_INT_EQ(seen[P_FORK], EPERM);
	ASSERT_INT_EQ(seen[P_PTRACE], EPERM);
	ASSERT_INT_EQ(seen[P_UNSHARE], EPERM);
	ASSERT_INT_EQ(seen[P_MOUNT], EPERM);
	ASSERT_INT_EQ(seen[P_THREAD], 0);     /* clone3 refused with ENOSYS: the C library uses clone */
	ASSERT_INT_EQ(seen[P_OPEN], 0);
	ASSERT_INT_EQ(seen[P_SOCKET], 0);
	ASSERT_INT_EQ(seen[P_MMAP], 0);
}

UNIT_MAIN("switch/sandbox", UNIT_TEST(test_filter))
