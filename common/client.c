/* SPDX-License-Identifier: MIT */
/*
 * The client side of the JSON-RPC framing (iovkit/client.h, and iov_rpc_call in jsonrpc.h):
 * a persistent line reader, requests numbered per connection, notifications set aside.
 *
 * Threat model: the server is trusted to be the one at the path (the socket's mode decides
 * who can bind it), but its lines are still bounded and checked; a malformed answer fails the
 * call, never the process.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common-internal.h"
#include "iovkit/client.h"

#define ANSWER_MAX (64u << 20)  /* pci.list on a big host is large; nothing is this large */
#define QUEUE_MAX 1024          /* events kept while a caller is not reading them */

struct iov_client {
	int fd;
	bool own_fd;
	int timeout_ms;
	json_int_t next_id;
	struct iov_rpc_reader rd;
	json_t *queue;          /* notifications not yet handed out */
};

IOV_EXPORT const char *iov_client_default_socket(void)
{
	const char *env = getenv("IOVKITD_SOCKET");

	return env && *env ? env : IOVKITD_SOCKET;
}

static void client_init(struct iov_client *c, int fd, bool own)
{
	*c = (struct iov_client){ .fd = fd, .own_fd = own, .next_id = 1 };
	iov_rpc_reader_init(&c->rd, ANSWER_MAX);
}

static void client_fini(struct iov_client *c)
{
	if (c->own_fd && c->fd >= 0)
		close(c->fd);
	iov_rpc_reader_free(&c->rd);
	json_decref(c->queue);
}

IOV_EXPORT int iov_client_open(const char *path, struct iov_client **ret)
{
	struct iov_client *c;
	int fd = iov_rpc_connect(path ? path : iov_client_default_socket());

	if (fd < 0)
		return fd;
	c = malloc(sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	client_init(c, fd, true);
	*ret = c;
	return 0;
}

IOV_EXPORT void iov_client_free(struct iov_client *c)
{
	if (!c)
		return;
	client_fini(c);
	free(c);
}

IOV_EXPORT int iov_client_fd(const struct iov_client *c)
{
	return c->fd;
}

IOV_EXPORT void iov_client_set_timeout(struct iov_client *c, int ms)
{
	c->timeout_ms = ms > 0 ? ms : 0;
}

/* The next message from the server: 0 with *ret, or a negative errno. */
static int read_message(struct iov_client *c, int timeout_ms, json_t **ret)
{
	char *line;
	size_t len;
	int r;

	for (;;) {
		r = iov_rpc_reader_next(&c->rd, &line, &len);
		if (r == 1) {
			json_t *m = json_loadb(line, len, 0, NULL);

			if (!json_is_object(m) && !json_is_array(m)) {
				json_decref(m);
				return -EBADMSG;
			}
			*ret = m;
			return 0;
		}
		if (r < 0)
			return r;
		if (timeout_ms >= 0) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

			r = poll(&pfd, 1, timeout_ms);
			if (r == 0)
				return -ETIMEDOUT;
			if (r < 0 && errno != EINTR)
				return negative_errno();
		}
		r = iov_rpc_reader_fill(&c->rd, c->fd);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0 && r != -EINTR && r != -EAGAIN)
			return r;
	}
}

static bool is_notification(json_t *m)
{
	return json_is_object(m) && json_object_get(m, "method") && !json_object_get(m, "id");
}

static void queue_event(struct iov_client *c, json_t *m)
{
	if (!c->queue)
		c->queue = json_array();
	if (c->queue && json_array_size(c->queue) < QUEUE_MAX)
		json_array_append(c->queue, m);
}

IOV_EXPORT int iov_client_call(struct iov_client *c, const char *method, json_t *params, json_t **ret_result,
			       struct iov_rpc_error *e)
{
	_cleanup_(json_decrefp) json_t *req = NULL, *reply = NULL;
	_cleanup_free_ char *text = NULL;
	json_int_t id = c->next_id++;
	json_t *err, *result;
	int r;

	*e = (struct iov_rpc_error){ .code = 0 };
	req = json_pack("{s:s,s:s,s:I}", "jsonrpc", "2.0", "method", method, "id", id);
	if (!req)
		return -ENOMEM;
	if (params)
		json_object_set(req, "params", params);
	text = json_dumps(req, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	r = iov_rpc_send_line(c->fd, text);
	if (r < 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, r, "sending the request: %s", iov_strerror(r));

	for (;;) {
		r = read_message(c, c->timeout_ms ? c->timeout_ms : -1, &reply);
		if (r < 0)
			return iov_rpc_fail(e, IOV_RPC_FAILED, r, "reading the answer: %s",
					    r == -EBADMSG ? "the answer is not JSON" : iov_strerror(r));
		if (!is_notification(reply))
			break;
		queue_event(c, reply);
		json_decref(TAKE_PTR(reply));
	}
	if (!json_is_object(reply))
		return iov_rpc_fail(e, IOV_RPC_FAILED, EBADMSG, "the answer is not a JSON-RPC response");
	if (json_integer_value(json_object_get(reply, "id")) != id)
		return iov_rpc_fail(e, IOV_RPC_FAILED, EBADMSG, "the answer is not to this request");

	err = json_object_get(reply, "error");
	if (err) {
		json_t *data = json_object_get(err, "data");
		const char *msg = json_string_value(json_object_get(err, "message"));

		iov_rpc_fail(e, (int)json_integer_value(json_object_get(err, "code")),
			     (int)json_integer_value(json_object_get(data, "errno")), "%s", msg ? msg : "(no message)");
		return -EREMOTEIO;
	}
	result = json_object_get(reply, "result");
	if (!result)
		return iov_rpc_fail(e, IOV_RPC_FAILED, EBADMSG, "the answer has neither a result nor an error");
	*ret_result = json_incref(result);
	return 0;
}

IOV_EXPORT int iov_client_next_event(struct iov_client *c, int timeout_ms, json_t **ret)
{
	json_t *m = NULL, *params;
	int r;

	if (c->queue && json_array_size(c->queue)) {
		m = json_incref(json_array_get(c->queue, 0));
		json_array_remove(c->queue, 0);
	}
	while (!m) {
		r = read_message(c, timeout_ms, &m);
		if (r < 0)
			return r;
		if (!is_notification(m))
			json_decref(TAKE_PTR(m));   /* an answer nobody waits for */
	}
	params = json_object_get(m, "params");
	if (!strcmp(json_string_value(json_object_get(m, "method")) ?: "", "event") && json_is_object(params)) {
		*ret = json_incref(params);
		json_decref(m);
		return 0;
	}
	*ret = m;
	return 0;
}

/* iov_rpc_call (jsonrpc.h): one call on a connection the caller owns. */
IOV_EXPORT int iov_rpc_call(int fd, const char *method, json_t *params, json_t **ret_result, struct iov_rpc_error *e)
{
	struct iov_client c;
	int r;

	client_init(&c, fd, false);
	r = iov_client_call(&c, method, params, ret_result, e);
	client_fini(&c);
	return r;
}
