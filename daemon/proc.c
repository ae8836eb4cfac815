/* SPDX-License-Identifier: MIT */
/*
 * Child processes. Each is watched through a pidfd, which works the same for a child iovkitd
 * spawned and for one it adopted at start (left running by an iovkitd that was restarted or
 * killed). Children run in their own session, so they outlive iovkitd: a daemon restart must
 * not take the data path or the guests down.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static unsigned long long start_time_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's closing parenthesis come the state (field 3) ... starttime (22). */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		t = strtoull(p + 1, NULL, 10);
	return t;
}

void proc_describe(int status, char *buf, size_t size)
{
	if (status < 0)
		snprintf(buf, size, "exited (status unknown: it was adopted, not started by this iovkitd)");
	else if (status >= 128)
		snprintf(buf, size, "killed by SIG%s", sigabbrev_np(status - 128) ?: "?");
	else
		snprintf(buf, size, "exited with status %d", status);
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct proc *p = userdata;
	siginfo_t si = { .si_pid = 0 };
	int status = -1;
	char how[96];

	if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid) {
		status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	} else if (!p->adopted) {
		return 0;       /* not yet reapable */
	}
	proc_describe(status, how, sizeof(how));
	sd_event_source_disable_unref(p->src);
	p->src = NULL;
	close(p->pidfd);
	p->pidfd = -1;
	dlog(6, "pid %d %s", (int)p->pid, how);
	p->pid = 0;
	p->start_time = 0;
	if (p->on_exit)
		p->on_exit(p->d, p, status, how);
	return 0;
}

static int watch(struct daemon *d, struct proc *p, pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0), r;

	if (fd < 0)
		return -errno;
	r = sd_event_add_io(d->ev, &p->src, fd, EPOLLIN, on_pidfd, p);
	if (r < 0) {
		close(fd);
		return r;
	}
	p->pidfd = fd;
	p->pid = pid;
	p->d = d;
	return 0;
}

int proc_spawn(struct daemon *d, struct proc *p, char *const argv[], const char *log_path)
{
	int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640), r;
	pid_t pid;

	if (logfd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(logfd);
		return r;
	}
	if (pid == 0) {
		sigset_t all;
		int null = open("/dev/null", O_RDONLY);

		setsid();
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);       /* iovkitd ignores it; exec would keep that */
		dup2(null, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		close_range(3, ~0u, 0);
		execv(argv[0], argv);
		dprintf(2, "iovkitd: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	p->adopted = false;
	r = watch(d, p, pid);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return r;
	}
	p->start_time = start_time_of(pid);
	return 0;
}

int proc_adopt(struct daemon *d, struct proc *p, pid_t pid, unsigned long long start_time)
{
	int r;

	if (pid <= 0 || !start_time || start_time_of(pid) != start_time)
		return -ESRCH;
	p->adopted = true;
	r = watch(d, p, pid);
	if (r < 0)
		return r;
	/* Had it exited between the check and pidfd_open, the pidfd would be readable at once. */
	p->start_time = start_time;
	return 0;
}

int proc_signal(struct proc *p, int sig)
{
	if (!p->pid)
		return -ESRCH;
	return syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

void proc_forget(struct proc *p)
{
	if (p->src)
		sd_event_source_disable_unref(p->src);
	if (p->pid)
		close(p->pidfd);
	p->src = NULL;
	p->pid = 0;
	p->pidfd = -1;
}

void proc_scan(struct daemon *d, const char *exe, const char *flag,
	       void (*fn)(struct daemon *d, pid_t pid, const char *value))
{
	DIR *dir = opendir("/proc");
	struct dirent *de;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		char path[64], buf[4096], *base;
		pid_t pid = (pid_t)strtol(de->d_name, &base, 10);
		ssize_t n;
		int fd;

		if (*base || pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		base = strrchr(buf, '/');
		if (strcmp(base ? base + 1 : buf, exe))
			continue;
		/* The arguments, NUL-separated: FLAG VALUE anywhere among them. */
		for (char *a = buf + strlen(buf) + 1; a < buf + n; a += strlen(a) + 1)
			if (!strcmp(a, flag) && a + strlen(a) + 1 < buf + n) {
				fn(d, pid, a + strlen(a) + 1);
				break;
			}
	}
	closedir(dir);
}

int proc_adopt_found(struct daemon *d, struct proc *p, pid_t pid)
{
	return proc_adopt(d, p, pid, start_time_of(pid));
}
