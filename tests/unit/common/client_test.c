/* SPDX-License-Identifier: MIT */
/*
 * The daemon client (common/client.c): answers matched to their request by id, notifications
 * that arrive before an answer queued for iov_client_next_event, errors carried through, and
 * a server that lies, hangs up or stays silent failing the call rather than the process.
 * The "server" here is the test itself, writing lines into the accepted connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "iovkit/client.h"
#include "../helpers/unit.h"

struct pair {
	char dir[64], path[128];
	int listen_fd, server;
	struct iov_client *c;
};

static void pair_open(struct pair *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *tmp = getenv("TMPDIR");

	snprintf(p->dir, sizeof(p->dir), "%s/clientXXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	ASSERT_TRUE(mkdtemp(p->dir) != NULL);
	snprintf(p->path, sizeof(p->path), "%s/s", p->dir);
	strcpy(sa.sun_path, p->path);
	p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_OK(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_OK(listen(p->listen_fd, 1));
	ASSERT_OK(iov_client_open(p->path, &p->c));
	p->server = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_INT_GE(p->server, 0);
}

static void pair_close(struct pair *p)
{
	iov_client_free(p->c);
	if (p->server >= 0)
		close(p->server);
	close(p->listen_fd);
	unlink(p->path);
	rmdir(p->dir);
}

static void say(struct pair *p, const char *line)
{
	ASSERT_OK(iov_rpc_send_line(p->server, line));
}

/* The request the client sent, parsed. */
static json_t *heard(struct pair *p)
{
	char buf[4096];
	ssize_t n = recv(p->server, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	ASSERT_INT_GE(n, 1);
	buf[n > 0 ? n : 0] = '\0';
	return json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
}

static void test_events_before_the_answer_are_queued(void)
{
	struct pair p;
	struct iov_rpc_error e;
	json_t *res = NULL, *ev = NULL, *req;
	int fds = unit_open_fds();

	pair_open(&p);
	/* The answer to request 1, preceded by two events. */
	say(&p, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"event\":\"vm.state\",\"name\":\"a\"}}");
	say(&p, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"event\":\"switch.state\"}}");
	say(&p, "{\"jsonrpc\":\"2.0\",\"result\":{\"ok\":true},\"id\":1}");
	ASSERT_OK(iov_client_call(p.c, "vm.list", NULL, &res, &e));
	ASSERT_TRUE(json_is_true(json_object_get(res, "ok")));
	json_decref(res);
	req = heard(&p);
	ASSERT_STR_EQ(json_string_value(json_object_get(req, "method")), "vm.list");
	ASSERT_INT_EQ(json_integer_value(json_object_get(req, "id")), 1);
	json_decref(req);

	ASSERT_OK(iov_client_next_event(p.c, 0, &ev));
	ASSERT_STR_EQ(json_string_value(json_object_get(ev, "event")), "vm.state");
	ASSERT_STR_EQ(json_string_value(json_object_get(ev, "name")), "a");
	json_decref(ev);
	ASSERT_OK(iov_client_next_event(p.c, 0, &ev));
	ASSERT_STR_EQ(json_string_value(json_object_get(ev, "event")), "switch.state");
	json_decref(ev);
	/* Nothing more queued, nothing on the wire. */
	ASSERT_ERR(iov_client_next_event(p.c, 50, &ev), ETIMEDOUT);

	/* Another call gets the next id, and an event read from the wire comes out as its params. */
	say(&p, "{\"jsonrpc\":\"2.0\",\"result\":7,\"id\":2}");
	ASSERT_OK(iov_client_call(p.c, "x", NULL, &res, &e));
	ASSERT_INT_EQ(json_integer_value(res), 7);
	json_decref(res);
	json_decref(heard(&p));
	say(&p, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"event\":\"device.bound\"}}");
	ASSERT_OK(iov_client_next_event(p.c, 1000, &ev));
	ASSERT_STR_EQ(json_string_value(json_object_get(ev, "event")), "device.bound");
	json_decref(ev);
	pair_close(&p);
	ASSERT_INT_EQ(unit_open_fds(), fds);
}

static void test_errors_are_carried(void)
{
	struct pair p;
	struct iov_rpc_error e;
	json_t *res = NULL;

	pair_open(&p);
	say(&p, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"no guest named x\","
		"\"data\":{\"errno\":2,\"errno_name\":\"ENOENT\"}},\"id\":1}");
	ASSERT_ERR(iov_client_call(p.c, "vm.info", NULL, &res, &e), EREMOTEIO);
	ASSERT_INT_EQ(e.code, IOV_RPC_FAILED);
	ASSERT_INT_EQ(e.err, ENOENT);
	ASSERT_STR_EQ(e.message, "no guest named x");
	pair_close(&p);
}

static void test_a_lying_server_fails_the_call(void)
{
	struct pair p;
	struct iov_rpc_error e;
	json_t *res = NULL;

	pair_open(&p);
	say(&p, "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":99}");   /* not this request's answer */
	ASSERT_ERR(iov_client_call(p.c, "a", NULL, &res, &e), EBADMSG);
	ASSERT_TRUE(strstr(e.message, "not to this request") != NULL);
	say(&p, "this is not json");
	ASSERT_ERR(iov_client_call(p.c, "b", NULL, &res, &e), EBADMSG);
	say(&p, "{\"jsonrpc\":\"2.0\",\"id\":3}");                 /* neither result nor error */
	ASSERT_ERR(iov_client_call(p.c, "c", NULL, &res, &e), EBADMSG);
	pair_close(&p);
}

static void test_silence_and_hangup(void)
{
	struct pair p;
	struct iov_rpc_error e;
	json_t *res = NULL, *ev = NULL;

	pair_open(&p);
	iov_client_set_timeout(p.c, 100);
	ASSERT_ERR(iov_client_call(p.c, "slow", NULL, &res, &e), ETIMEDOUT);
	ASSERT_INT_EQ(e.code, IOV_RPC_FAILED);
	close(p.server);
	p.server = -1;
	ASSERT_ERR(iov_client_next_event(p.c, 1000, &ev), ECONNRESET);
	ASSERT_TRUE(iov_client_call(p.c, "gone", NULL, &res, &e) < 0);
	pair_close(&p);
}

static void test_default_socket(void)
{
	setenv("IOVKITD_SOCKET", "/tmp/elsewhere.sock", 1);
	ASSERT_STR_EQ(iov_client_default_socket(), "/tmp/elsewhere.sock");
	setenv("IOVKITD_SOCKET", "", 1);
	ASSERT_STR_EQ(iov_client_default_socket(), IOVKITD_SOCKET);
	unsetenv("IOVKITD_SOCKET");
	ASSERT_STR_EQ(iov_client_default_socket(), IOVKITD_SOCKET);
}

UNIT_MAIN("common/client",
	  UNIT_TEST(test_events_before_the_answer_are_queued),
	  UNIT_TEST(test_errors_are_carried),
	  UNIT_TEST(test_a_lying_server_fails_the_call),
	  UNIT_TEST(test_silence_and_hangup),
	  UNIT_TEST(test_default_socket))
