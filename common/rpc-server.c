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
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common-internal.h"
#include "iovkit/jsonrpc.h"

static int server_init(struct iov_rpc_server *s, size_t max_clients)
{
	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	s->clients = calloc(max_clients, sizeof(*s->clients));
	if (!s->clients)
		return -ENOMEM;
	s->max_clients = max_clients;
	for (size_t i = 0; i < max_clients; i++)
		s->clients[i].fd = -1;
	return 0;
}

IOV_EXPORT int iov_rpc_server_adopt(struct iov_rpc_server *s, int fd, size_t max_clients,
				    const struct iov_rpc_service *svc, void *userdata)
{
	int r = server_init(s, max_clients ? max_clients : IOV_RPC_MAX_CLIENTS);

	if (r < 0)
		return r;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	s->listen_fd = fd;
	s->svc = svc;
	s->userdata = userdata;
	return 0;
}

IOV_EXPORT int iov_rpc_server_listen(struct iov_rpc_server *s, const char *path, mode_t mode, size_t max_clients,
				     const struct iov_rpc_service *svc, void *userdata)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe, r;

	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
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
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, mode) < 0 || listen(fd, 64) < 0) {
		r = negative_errno();
		close(fd);
		return r;
	}
	r = iov_rpc_server_adopt(s, fd, max_clients, svc, userdata);
	if (r < 0)
		close(fd);
	return r;
}

IOV_EXPORT void iov_rpc_server_drop(struct iov_rpc_server *s, struct iov_rpc_client *c)
{
	close(c->fd);
	iov_rpc_reader_free(&c->rd);
	*c = (struct iov_rpc_client){ .fd = -1 };
}

static bool default_authorize(void *userdata, int fd, const struct ucred *cred)
{
	return cred->uid == 0 || cred->uid == geteuid();
}

IOV_EXPORT struct iov_rpc_client *iov_rpc_server_accept(struct iov_rpc_server *s)
{
	socklen_t len = sizeof(struct ucred);
	struct iov_rpc_client *c = NULL;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return NULL;
	for (size_t i = 0; i < s->max_clients && !c; i++)
		if (s->clients[i].fd < 0)
			c = &s->clients[i];
	if (!c) {
		iov_rpc_send_line(fd, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32003,\"message\":\"too many clients\"},"
				      "\"id\":null}");
		close(fd);
		return NULL;
	}
	*c = (struct iov_rpc_client){ .fd = fd };
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0)
		c->cred = (struct ucred){ .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	else
		c->may_mutate = (s->authorize ? s->authorize : default_authorize)(s->userdata, fd, &c->cred);
	iov_rpc_reader_init(&c->rd, 0);
	return c;
}

IOV_EXPORT int iov_rpc_server_serve(struct iov_rpc_server *s, struct iov_rpc_client *c)
{
	char *line, *reply;
	size_t len;
	int r = iov_rpc_reader_fill(&c->rd, c->fd);

	if (r == -EAGAIN || r == -EINTR)
		return 0;
	if (r <= 0)
		return r < 0 ? r : -ECONNRESET;
	while ((r = iov_rpc_reader_next(&c->rd, &line, &len)) != 0) {
		reply = NULL;
		s->caller = c;
		if (r < 0)
			reply = iov_rpc_reply_too_large(c->rd.limit);
		else if (iov_rpc_dispatch(s->svc, s->userdata, c->may_mutate, line, len, &reply) < 0)
			reply = strdup("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32603,\"message\":\"out of memory\"},"
				       "\"id\":null}");
		s->caller = NULL;
		r = reply ? iov_rpc_send_line(c->fd, reply) : 0;
		free(reply);
		if (r < 0)
			return r;
	}
	return 0;
}

IOV_EXPORT size_t iov_rpc_server_pollfds(const struct iov_rpc_server *s, struct pollfd *pfd)
{
	pfd[0] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < s->max_clients; i++)
		pfd[1 + i] = (struct pollfd){ .fd = s->clients[i].fd, .events = POLLIN };
	return 1 + s->max_clients;
}

IOV_EXPORT void iov_rpc_server_handle(struct iov_rpc_server *s, const struct pollfd *pfd)
{
	if (pfd[0].revents)
		iov_rpc_server_accept(s);
	for (size_t i = 0; i < s->max_clients; i++) {
		struct iov_rpc_client *c = &s->clients[i];

		if (c->fd >= 0 && pfd[1 + i].revents && pfd[1 + i].fd == c->fd && iov_rpc_server_serve(s, c) < 0)
			iov_rpc_server_drop(s, c);
	}
}

IOV_EXPORT void iov_rpc_server_close(struct iov_rpc_server *s)
{
	for (size_t i = 0; i < s->max_clients; i++)
		if (s->clients[i].fd >= 0)
			iov_rpc_server_drop(s, &s->clients[i]);
	free(s->clients);
	s->clients = NULL;
	s->max_clients = 0;
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
}
