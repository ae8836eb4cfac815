/* SPDX-License-Identifier: MIT */
/*
 * The serving side of the JSON-RPC framing, shared by every iovkit process with a control
 * socket (iovswitch, iovm): a listening Unix socket and a bounded set of clients, driven from
 * the caller's poll loop.
 *
 * Threat model: any local process that can open the socket may connect and send anything. The
 * reader bounds each line (IOV_RPC_LINE_MAX), the dispatcher checks every request, at most
 * IOV_RPC_MAX_CLIENTS are served at once (the next is answered "too many clients" and closed),
 * and a client whose uid is neither root nor the server's may only call read-only methods.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common-internal.h"
#include "iovkit/jsonrpc.h"

IOV_EXPORT int iov_rpc_server_listen(struct iov_rpc_server *s, const char *path, mode_t mode,
				     const struct iov_rpc_service *svc, void *userdata)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe;

	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	for (int i = 0; i < IOV_RPC_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	/* A socket left by a process that died is replaced; a live one is not. */
	probe = iov_rpc_connect(path);
	if (probe >= 0) {
		close(probe);
		return -EADDRINUSE;
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, mode) < 0 || listen(fd, 16) < 0) {
		int r = negative_errno();

		close(fd);
		return r;
	}
	s->listen_fd = fd;
	s->svc = svc;
	s->userdata = userdata;
	return 0;
}

static void client_close(struct iov_rpc_client *c)
{
	close(c->fd);
	iov_rpc_reader_free(&c->rd);
	c->fd = -1;
}

static void client_accept(struct iov_rpc_server *s)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct iov_rpc_client *c = NULL;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < IOV_RPC_MAX_CLIENTS && !c; i++)
		if (s->clients[i].fd < 0)
			c = &s->clients[i];
	if (!c) {
		iov_rpc_send_line(fd, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32003,\"message\":\"too many clients\"},"
				      "\"id\":null}");
		close(fd);
		return;
	}
	c->fd = fd;
	c->may_mutate = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
			(cred.uid == 0 || cred.uid == geteuid());
	iov_rpc_reader_init(&c->rd, 0);
}

static void client_serve(struct iov_rpc_server *s, struct iov_rpc_client *c)
{
	char *line, *reply;
	size_t len;
	int r = iov_rpc_reader_fill(&c->rd, c->fd);

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0) {
		client_close(c);
		return;
	}
	while ((r = iov_rpc_reader_next(&c->rd, &line, &len)) != 0) {
		reply = NULL;
		if (r < 0)
			reply = iov_rpc_reply_too_large(c->rd.limit);
		else if (iov_rpc_dispatch(s->svc, s->userdata, c->may_mutate, line, len, &reply) < 0)
			reply = strdup("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32603,\"message\":\"out of memory\"},"
				       "\"id\":null}");
		if (reply && iov_rpc_send_line(c->fd, reply) < 0) {
			free(reply);
			client_close(c);
			return;
		}
		free(reply);
	}
}

IOV_EXPORT size_t iov_rpc_server_pollfds(const struct iov_rpc_server *s, struct pollfd *pfd)
{
	pfd[0] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
	for (int i = 0; i < IOV_RPC_MAX_CLIENTS; i++)
		pfd[1 + i] = (struct pollfd){ .fd = s->clients[i].fd, .events = POLLIN };
	return 1 + IOV_RPC_MAX_CLIENTS;
}

IOV_EXPORT void iov_rpc_server_handle(struct iov_rpc_server *s, const struct pollfd *pfd)
{
	if (pfd[0].revents)
		client_accept(s);
	for (int i = 0; i < IOV_RPC_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0 && pfd[1 + i].revents && pfd[1 + i].fd == s->clients[i].fd)
			client_serve(s, &s->clients[i]);
}

IOV_EXPORT void iov_rpc_server_close(struct iov_rpc_server *s)
{
	for (int i = 0; i < IOV_RPC_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			client_close(&s->clients[i]);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
}
