/* SPDX-License-Identifier: MIT */
/* The process-wide table of vhost-user backend sockets (vhost-internal.h). */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_vhost.h>

#include "iovkit-internal/macro.h"
#include "vhost-internal.h"

static pthread_mutex_t socks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vhost_sock *socks[VHOST_SOCKS_MAX];

int vhost_sock_add(struct vhost_sock *s)
{
	size_t slot = ARRAY_SIZE(socks);
	int r = 0;

	pthread_mutex_lock(&socks_lock);
	for (size_t i = 0; i < ARRAY_SIZE(socks); i++) {
		if (socks[i] && !strcmp(socks[i]->path, s->path))
			r = -EEXIST;
		if (!socks[i] && slot == ARRAY_SIZE(socks))
			slot = i;
	}
	if (!r && slot == ARRAY_SIZE(socks))
		r = -ENOSPC;
	if (!r)
		socks[slot] = s;
	pthread_mutex_unlock(&socks_lock);
	return r;
}

void vhost_sock_remove(struct vhost_sock *s)
{
	pthread_mutex_lock(&socks_lock);
	for (size_t i = 0; i < ARRAY_SIZE(socks); i++)
		if (socks[i] == s)
			socks[i] = NULL;
	pthread_mutex_unlock(&socks_lock);
}

void *vhost_sock_owner(int vid)
{
	char path[sizeof(((struct vhost_sock *)0)->path)];
	void *owner = NULL;

	if (rte_vhost_get_ifname(vid, path, sizeof(path)) < 0)
		return NULL;
	pthread_mutex_lock(&socks_lock);
	for (size_t i = 0; i < ARRAY_SIZE(socks) && !owner; i++)
		if (socks[i] && !strcmp(socks[i]->path, path))
			owner = socks[i]->owner;
	pthread_mutex_unlock(&socks_lock);
	return owner;
}

int vhost_clear_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return -EADDRINUSE;
	if (errno != ECONNREFUSED)
		return negative_errno();
	return unlink(path) < 0 ? negative_errno() : 0;
}
