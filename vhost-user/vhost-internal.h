/* SPDX-License-Identifier: MIT */
/*
 * What the vhost-user backends (net.c, blk.c) share: rte_vhost's callbacks carry only a vid,
 * whose ifname is the socket path, so the backends of a process are found by path in one
 * process-wide table (rte_vhost itself is process-wide).
 */
#ifndef IOVKIT_VHOST_INTERNAL_H
#define IOVKIT_VHOST_INTERNAL_H

#include <sys/un.h>

struct vhost_sock {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	void *owner;            /* the iov_vhost_net or iov_vhost_blk */
};

#define VHOST_SOCKS_MAX 128

/* Lists @s (path and owner set). -EEXIST: the path is taken; -ENOSPC: the table is full. */
int vhost_sock_add(struct vhost_sock *s);
void vhost_sock_remove(struct vhost_sock *s);
/* The owner of the socket device @vid came in on, or NULL. */
void *vhost_sock_owner(int vid);

/*
 * Server mode: a socket file left by a process that died would make bind() fail. Removes it
 * if nobody listens there; -EADDRINUSE if someone does, -EEXIST if the path is not a socket.
 */
int vhost_clear_stale_socket(const char *path);

#endif
