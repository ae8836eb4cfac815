/* SPDX-License-Identifier: MIT */
/*
 * JSON-RPC 2.0 framing, dispatch and a blocking client (include/iovkit/jsonrpc.h).
 *
 * Threat model: a line comes from any process that can open the socket. Nothing in it is
 * trusted: its size is bounded by the reader, its shape is checked field by field before a
 * method runs, a batch is bounded, and every failure becomes an error object, not a crash.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "iovkit/jsonrpc.h"
#include "common-internal.h"


IOV_EXPORT int iov_rpc_fail(struct iov_rpc_error *e, int code, int err, const char *fmt, ...)
{
	va_list ap;

	if (err < 0)
		err = -err;
	e->code = code;
	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return err ? -err : -EINVAL;
}

IOV_EXPORT int iov_rpc_params(struct iov_rpc_error *e, json_t *params, const char *fmt, ...)
{
	_cleanup_(json_decrefp) json_t *empty = NULL;
	json_error_t jerr;
	va_list ap;
	int r;

	if (!params)
		params = empty = json_object();
	if (!json_is_object(params))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "params must be an object");
	va_start(ap, fmt);
	r = json_vunpack_ex(params, &jerr, JSON_STRICT, fmt, ap);
	va_end(ap);
	if (r < 0)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "invalid params: %s", jerr.text);
	return 0;
}

static json_t *error_object(int code, int err, const char *message)
{
	json_t *o = json_pack("{s:i,s:s}", "code", code, "message", message);

	if (o && err)
		json_object_set_new(o, "data", json_pack("{s:i,s:s}", "errno", err, "errno_name", iov_errno_name(-err)));
	return o;
}

static json_t *error_reply(json_t *id, int code, int err, const char *message)
{
	return json_pack("{s:s,s:o,s:O}", "jsonrpc", "2.0", "error", error_object(code, err, message), "id",
			 id ? id : json_null());
}

static const struct iov_rpc_method *method_find(const struct iov_rpc_service *svc, const char *name)
{
	for (size_t i = 0; i < svc->n_methods; i++)
		if (!strcmp(svc->methods[i].name, name))
			return &svc->methods[i];
	return NULL;
}

/* rpc.discover: the service's methods with their summaries and parameter schemas. */
static json_t *discover(const struct iov_rpc_service *svc)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < svc->n_methods; i++) {
		const struct iov_rpc_method *m = &svc->methods[i];
		json_t *schema = m->params ? json_loads(m->params, 0, NULL) : NULL;

		json_array_append_new(list, json_pack("{s:s,s:s,s:b,s:o}", "name", m->name, "summary",
						      m->summary ? m->summary : "", "mutates",
						      !!(m->flags & IOV_RPC_MUTATES), "params",
						      schema ? schema : json_null()));
	}
	return json_pack("{s:s,s:s,s:o}", "service", svc->name, "version", svc->version, "methods", list);
}

/* A member JSON-RPC 2.0 does not define (a typo like "param" should not pass silently). */
static const char *unknown_member(json_t *req)
{
	static const char *const known[] = { "jsonrpc", "method", "params", "id" };
	const char *k;
	json_t *v;

	json_object_foreach(req, k, v) {
		size_t i = 0;
		while (i < ARRAY_SIZE(known) && strcmp(k, known[i]))
			i++;
		if (i == ARRAY_SIZE(known))
			return k;
	}
	return NULL;
}

/* One request or notification; returns its reply, or NULL for a notification. */
static json_t *handle_one(const struct iov_rpc_service *svc, void *userdata, bool may_mutate, json_t *req)
{
	struct iov_rpc_error e = { .code = 0 };
	json_t *id, *params, *result = NULL;
	const struct iov_rpc_method *m;
	const char *name, *version, *k;
	bool notification;
	int r;

	if (!json_is_object(req))
		return error_reply(NULL, IOV_RPC_INVALID_REQUEST, 0, "a request must be an object");
	id = json_object_get(req, "id");
	notification = !id;
	if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))
		return error_reply(NULL, IOV_RPC_INVALID_REQUEST, 0, "\"id\" must be a string, an integer or null");
	version = json_string_value(json_object_get(req, "jsonrpc"));
	if (!version || strcmp(version, "2.0"))
		return error_reply(id, IOV_RPC_INVALID_REQUEST, 0, "\"jsonrpc\" must be \"2.0\"");
	name = json_string_value(json_object_get(req, "method"));
	if (!name)
		return error_reply(id, IOV_RPC_INVALID_REQUEST, 0, "\"method\" must be a string");
	params = json_object_get(req, "params");
	if (params && !json_is_object(params) && !json_is_array(params))
		return error_reply(id, IOV_RPC_INVALID_REQUEST, 0, "\"params\" must be an object or an array");
	k = unknown_member(req);
	if (k) {
		char msg[128];
		snprintf(msg, sizeof(msg), "unknown member \"%.64s\" in the request", k);
		return error_reply(id, IOV_RPC_INVALID_REQUEST, 0, msg);
	}

	if (!strcmp(name, "rpc.discover")) {
		result = discover(svc);
		if (!result)
			return error_reply(id, IOV_RPC_INTERNAL_ERROR, ENOMEM, "out of memory");
		goto answer;
	}
	m = method_find(svc, name);
	if (!m) {
		char msg[128];
		snprintf(msg, sizeof(msg), "no method \"%.64s\" (rpc.discover lists them)", name);
		return notification ? NULL : error_reply(id, IOV_RPC_METHOD_NOT_FOUND, 0, msg);
	}
	if ((m->flags & IOV_RPC_MUTATES) && !may_mutate) {
		char msg[160];
		snprintf(msg, sizeof(msg), "%s changes state; this client may only use read-only methods", m->name);
		return notification ? NULL : error_reply(id, IOV_RPC_ACCESS_DENIED, EPERM, msg);
	}
	r = m->fn(userdata, params, &result, &e);
	if (r < 0) {
		json_decref(result);
		if (!e.code)
			iov_rpc_fail(&e, IOV_RPC_FAILED, r, "%s: %s", m->name, iov_strerror(r));
		return notification ? NULL : error_reply(id, e.code, e.err, e.message);
	}
answer:
	if (notification) {
		json_decref(result);
		return NULL;
	}
	return json_pack("{s:s,s:o,s:O}", "jsonrpc", "2.0", "result", result ? result : json_null(), "id", id);
}

static int reply_text(json_t *reply, char **ret_reply)
{
	char *text;

	if (!reply) {
		*ret_reply = NULL;
		return 0;
	}
	/* JSON_COMPACT never puts a newline in the text: strings escape theirs. */
	text = json_dumps(reply, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	*ret_reply = text;
	return 0;
}

IOV_EXPORT int iov_rpc_dispatch(const struct iov_rpc_service *svc, void *userdata, bool may_mutate, const char *line,
				size_t len, char **ret_reply)
{
	_cleanup_(json_decrefp) json_t *req = NULL, *reply = NULL;
	json_error_t jerr;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!req) {
		char msg[256];
		snprintf(msg, sizeof(msg), "not JSON: %s at column %d", jerr.text, jerr.column);
		reply = error_reply(NULL, IOV_RPC_PARSE_ERROR, 0, msg);
	} else if (json_is_array(req)) {
		size_t n = json_array_size(req), i;
		json_t *r;

		if (n == 0) {
			reply = error_reply(NULL, IOV_RPC_INVALID_REQUEST, 0, "an empty batch");
		} else if (n > IOV_RPC_BATCH_MAX) {
			char msg[96];
			snprintf(msg, sizeof(msg), "a batch of %zu requests; the limit is %d", n, IOV_RPC_BATCH_MAX);
			reply = error_reply(NULL, IOV_RPC_TOO_LARGE, E2BIG, msg);
		} else {
			reply = json_array();
			json_array_foreach(req, i, r) {
				json_t *one = handle_one(svc, userdata, may_mutate, r);
				if (one)
					json_array_append_new(reply, one);
			}
			if (json_array_size(reply) == 0) {
				json_decref(reply);
				reply = NULL;   /* notifications only: nothing to answer (JSON-RPC 2.0 §6) */
			}
		}
	} else {
		reply = handle_one(svc, userdata, may_mutate, req);
	}
	return reply_text(reply, ret_reply);
}

IOV_EXPORT char *iov_rpc_reply_too_large(size_t limit)
{
	_cleanup_(json_decrefp) json_t *reply = NULL;
	char msg[96], *text = NULL;

	snprintf(msg, sizeof(msg), "request line over the limit of %zu bytes", limit);
	reply = error_reply(NULL, IOV_RPC_TOO_LARGE, EMSGSIZE, msg);
	if (reply_text(reply, &text) < 0)
		return NULL;
	return text;
}

IOV_EXPORT void iov_rpc_reader_init(struct iov_rpc_reader *r, size_t limit)
{
	*r = (struct iov_rpc_reader){ .limit = limit ? limit : IOV_RPC_LINE_MAX };
}

IOV_EXPORT void iov_rpc_reader_free(struct iov_rpc_reader *r)
{
	free(r->buf);
	iov_rpc_reader_init(r, r->limit);
}

IOV_EXPORT int iov_rpc_reader_fill(struct iov_rpc_reader *r, int fd)
{
	ssize_t n;

	/* Drop what was handed out, so the buffer holds at most one partial line. */
	if (r->start) {
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	if (r->cap - r->len < 4096) {
		/* Room for a whole line at the limit, its newline and a NUL, and no more. */
		size_t cap = r->cap ? r->cap * 2 : 8192, max = r->limit + 4096 + 2;
		char *buf;

		if (cap > max)
			cap = max;
		if (cap > r->cap) {
			buf = realloc(r->buf, cap);
			if (!buf)
				return -ENOMEM;
			r->buf = buf;
			r->cap = cap;
		}
	}
	if (r->cap - r->len < 2)
		return -ENOBUFS;        /* the caller did not take the lines out with _next first */
	n = read(fd, r->buf + r->len, r->cap - r->len - 1);
	if (n < 0)
		return negative_errno();
	r->len += (size_t)n;
	return (int)n;
}

IOV_EXPORT int iov_rpc_reader_next(struct iov_rpc_reader *r, char **line, size_t *len)
{
	for (;;) {
		char *begin = r->buf + r->start, *nl;
		size_t avail = r->len - r->start;

		nl = avail ? memchr(begin, '\n', avail) : NULL;
		if (r->discarding) {
			/* Skip the rest of an oversized line, keeping nothing of it. */
			if (!nl) {
				r->len = r->start;
				return 0;
			}
			r->start += (size_t)(nl - begin) + 1;
			r->discarding = false;
			continue;
		}
		if (!nl) {
			if (avail > r->limit) {
				r->discarding = true;
				r->len = r->start;
				return -EMSGSIZE;
			}
			return 0;
		}
		size_t n = (size_t)(nl - begin);
		r->start += n + 1;
		if (n > r->limit)
			return -EMSGSIZE;
		*nl = '\0';
		if (n && begin[n - 1] == '\r')   /* tolerate CRLF from hand-typed input (socat) */
			begin[--n] = '\0';
		if (n == 0)
			continue;               /* blank lines are not requests */
		*line = begin;
		*len = n;
		return 1;
	}
}

IOV_EXPORT int iov_rpc_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			if (poll(&pfd, 1, 1000) <= 0)
				return -ETIMEDOUT;   /* a peer that does not read loses its answer */
			continue;
		}
		if (w < 0)
			return negative_errno();
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

IOV_EXPORT int iov_rpc_send_line(int fd, const char *text)
{
	int r = send_all(fd, text, strlen(text));

	return r < 0 ? r : send_all(fd, "\n", 1);
}
