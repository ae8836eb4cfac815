/* SPDX-License-Identifier: MIT */
/* JSON-RPC 2.0 dispatch, the line reader and the client call, over a socketpair. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../helpers/unit.h"
#include "iovkit/jsonrpc.h"

struct counter {
	int value;
	int calls;
};

static int m_add(void *userdata, json_t *params, json_t **ret_result, struct iov_rpc_error *e)
{
	struct counter *c = userdata;
	json_int_t by = 1;
	int r = iov_rpc_params(e, params, "{s?I !}", "by", &by);

	c->calls++;
	if (r < 0)
		return r;
	if (by < 0 || by > 1000)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, ERANGE, "by %lld is out of range 0..1000", (long long)by);
	c->value += (int)by;
	*ret_result = json_pack("{s:i}", "value", c->value);
	return 0;
}

static int m_get(void *userdata, json_t *params, json_t **ret_result, struct iov_rpc_error *e)
{
	struct counter *c = userdata;

	c->calls++;
	*ret_result = json_integer(c->value);
	return 0;
}

/* Fails without filling the error: the dispatcher must answer with the errno. */
static int m_broken(void *userdata, json_t *params, json_t **ret_result, struct iov_rpc_error *e)
{
	return -ENODEV;
}

static const struct iov_rpc_method methods[] = {
	{ "counter.add", m_add, IOV_RPC_MUTATES, "adds to the counter", "{\"type\":\"object\"}" },
	{ "counter.get", m_get, 0, "reads the counter", NULL },
	{ "counter.broken", m_broken, 0, "always fails", NULL },
};
static const struct iov_rpc_service svc = { "test", "1.2.3", methods, 3 };

/* Dispatches @line and returns the reply parsed (NULL when there is none). */
static json_t *call(struct counter *c, bool may_mutate, const char *line)
{
	char *reply = (char *)"unset";
	json_t *j = NULL;

	ASSERT_OK(iov_rpc_dispatch(&svc, c, may_mutate, line, strlen(line), &reply));
	if (reply) {
		ASSERT_TRUE(!strchr(reply, '\n'));
		j = json_loads(reply, 0, NULL);
		ASSERT_TRUE(j != NULL);
		free(reply);
	}
	return j;
}

static int error_code(json_t *reply)
{
	return (int)json_integer_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static const char *error_message(json_t *reply)
{
	const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
	return m ? m : "";
}

static void test_request_and_result(void)
{
	struct counter c = { 0 };
	json_t *r;

	r = call(&c, true, "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"params\":{\"by\":5},\"id\":7}");
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(r, "result"), "value")), 5);
	ASSERT_INT_EQ(json_integer_value(json_object_get(r, "id")), 7);
	ASSERT_STR_EQ(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
	json_decref(r);

	/* A string id comes back as it was; absent params mean the defaults. */
	r = call(&c, true, "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"id\":\"a\"}");
	ASSERT_STR_EQ(json_string_value(json_object_get(r, "id")), "a");
	ASSERT_INT_EQ(c.value, 6);
	json_decref(r);

	/* A notification runs and is not answered. */
	r = call(&c, true, "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"params\":{\"by\":4}}");
	ASSERT_TRUE(r == NULL);
	ASSERT_INT_EQ(c.value, 10);
}

static void test_bad_requests_change_nothing(void)
{
	static const struct {
		const char *line;
		int code;
		const char *says;
	} cases[] = {
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"id\":1", IOV_RPC_PARSE_ERROR, "not JSON" },
		{ "nonsense", IOV_RPC_PARSE_ERROR, "not JSON" },
		{ "42", IOV_RPC_INVALID_REQUEST, "must be an object" },
		{ "{\"method\":\"counter.add\",\"id\":1}", IOV_RPC_INVALID_REQUEST, "\"jsonrpc\"" },
		{ "{\"jsonrpc\":\"1.0\",\"method\":\"counter.add\",\"id\":1}", IOV_RPC_INVALID_REQUEST, "\"jsonrpc\"" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":1}", IOV_RPC_INVALID_REQUEST, "\"method\"" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"id\":{}}", IOV_RPC_INVALID_REQUEST, "\"id\"" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"params\":3,\"id\":1}", IOV_RPC_INVALID_REQUEST,
		  "\"params\"" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"param\":{\"by\":3},\"id\":1}", IOV_RPC_INVALID_REQUEST,
		  "unknown member \"param\"" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"id\":1,\"id\":2}", IOV_RPC_PARSE_ERROR, "duplicate" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"counter.nope\",\"id\":1}", IOV_RPC_METHOD_NOT_FOUND, "counter.nope" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"params\":{\"by\":\"x\"},\"id\":1}", IOV_RPC_INVALID_PARAMS,
		  "invalid params" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"params\":{\"by\":1,\"extra\":1},\"id\":1}",
		  IOV_RPC_INVALID_PARAMS, "extra" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"params\":[1],\"id\":1}", IOV_RPC_INVALID_PARAMS,
		  "must be an object" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"params\":{\"by\":5000},\"id\":1}", IOV_RPC_INVALID_PARAMS,
		  "out of range" },
		{ "[]", IOV_RPC_INVALID_REQUEST, "empty batch" },
	};
	struct counter c = { 0 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = call(&c, true, cases[i].line);

		unit_check(error_code(r) == cases[i].code, __LINE__, __FILE__, "%s: code %d, expected %d (%s)",
			   cases[i].line, error_code(r), cases[i].code, error_message(r));
		unit_check(strstr(error_message(r), cases[i].says) != NULL, __LINE__, __FILE__,
			   "%s: message \"%s\" does not say \"%s\"", cases[i].line, error_message(r), cases[i].says);
		json_decref(r);
	}
	ASSERT_INT_EQ(c.value, 0);
}

static void test_errno_in_error_data(void)
{
	struct counter c = { 0 };
	json_t *r = call(&c, true, "{\"jsonrpc\":\"2.0\",\"method\":\"counter.broken\",\"id\":3}"), *data;

	ASSERT_INT_EQ(error_code(r), IOV_RPC_FAILED);
	data = json_object_get(json_object_get(r, "error"), "data");
	ASSERT_INT_EQ(json_integer_value(json_object_get(data, "errno")), ENODEV);
	ASSERT_STR_EQ(json_string_value(json_object_get(data, "errno_name")), "ENODEV");
	ASSERT_TRUE(strstr(error_message(r), "counter.broken") != NULL);
	ASSERT_INT_EQ(json_integer_value(json_object_get(r, "id")), 3);
	json_decref(r);
}

static void test_read_only_client(void)
{
	struct counter c = { .value = 2 };
	json_t *r;

	r = call(&c, false, "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"id\":1}");
	ASSERT_INT_EQ(error_code(r), IOV_RPC_ACCESS_DENIED);
	ASSERT_INT_EQ(c.calls, 0);
	ASSERT_INT_EQ(c.value, 2);
	json_decref(r);
	r = call(&c, false, "{\"jsonrpc\":\"2.0\",\"method\":\"counter.get\",\"id\":1}");
	ASSERT_INT_EQ(json_integer_value(json_object_get(r, "result")), 2);
	json_decref(r);
}

static void test_batch(void)
{
	struct counter c = { 0 };
	json_t *r;
	char big[64 * 80 + 16];
	size_t n = 0;

	r = call(&c, true,
		 "[{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"params\":{\"by\":2},\"id\":1},"
		 "{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\",\"params\":{\"by\":3}},"
		 "17,"
		 "{\"jsonrpc\":\"2.0\",\"method\":\"counter.get\",\"id\":2}]");
	ASSERT_TRUE(json_is_array(r));
	ASSERT_INT_EQ(json_array_size(r), 3);   /* the notification is not answered */
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(json_array_get(r, 0), "result"), "value")), 2);
	ASSERT_INT_EQ(error_code(json_array_get(r, 1)), IOV_RPC_INVALID_REQUEST);
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_array_get(r, 2), "result")), 5);
	json_decref(r);

	/* Notifications only: no answer at all. */
	r = call(&c, true, "[{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\"}]");
	ASSERT_TRUE(r == NULL);
	ASSERT_INT_EQ(c.value, 6);

	/* Over the batch limit: refused as a whole, nothing runs. */
	n += (size_t)snprintf(big + n, sizeof(big) - n, "[");
	for (int i = 0; i <= IOV_RPC_BATCH_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s{\"jsonrpc\":\"2.0\",\"method\":\"counter.add\"}",
				      i ? "," : "");
	snprintf(big + n, sizeof(big) - n, "]");
	r = call(&c, true, big);
	ASSERT_INT_EQ(error_code(r), IOV_RPC_TOO_LARGE);
	ASSERT_INT_EQ(c.value, 6);
	json_decref(r);
}

static void test_discover(void)
{
	struct counter c = { 0 };
	json_t *r = call(&c, false, "{\"jsonrpc\":\"2.0\",\"method\":\"rpc.discover\",\"id\":1}"), *res, *m;

	res = json_object_get(r, "result");
	ASSERT_STR_EQ(json_string_value(json_object_get(res, "service")), "test");
	ASSERT_STR_EQ(json_string_value(json_object_get(res, "version")), "1.2.3");
	ASSERT_INT_EQ(json_array_size(json_object_get(res, "methods")), 3);
	m = json_array_get(json_object_get(res, "methods"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(m, "name")), "counter.add");
	ASSERT_TRUE(json_is_true(json_object_get(m, "mutates")));
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(m, "params"), "type")), "object");
	json_decref(r);
}

static void test_reader_lines_and_limit(void)
{
	struct iov_rpc_reader rd;
	int sv[2];
	char *line;
	size_t len;
	char big[300];

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	iov_rpc_reader_init(&rd, 100);
	memset(big, 'x', sizeof(big));

	/* Two lines and a half in one read, a CRLF line, a blank line. */
	ASSERT_INT_EQ(write(sv[0], "one\ntwo\r\n\nthr", 13), 13);
	ASSERT_INT_EQ(iov_rpc_reader_fill(&rd, sv[1]), 13);
	ASSERT_INT_EQ(iov_rpc_reader_next(&rd, &line, &len), 1);
	ASSERT_STR_EQ(line, "one");
	ASSERT_INT_EQ(iov_rpc_reader_next(&rd, &line, &len), 1);
	ASSERT_STR_EQ(line, "two");
	ASSERT_INT_EQ(len, 3);
	ASSERT_INT_EQ(iov_rpc_reader_next(&rd, &line, &len), 0);
	ASSERT_INT_EQ(write(sv[0], "ee\n", 3), 3);
	ASSERT_INT_EQ(iov_rpc_reader_fill(&rd, sv[1]), 3);
	ASSERT_INT_EQ(iov_rpc_reader_next(&rd, &line, &len), 1);
	ASSERT_STR_EQ(line, "three");

	/* A line over the limit arriving in pieces is reported once and skipped, and the reader
	 * holds no more than the limit meanwhile; the next line is intact. */
	for (int i = 0; i < 3; i++) {
		ASSERT_INT_EQ(write(sv[0], big, sizeof(big)), sizeof(big));
		ASSERT_INT_GE(iov_rpc_reader_fill(&rd, sv[1]), 1);
		ASSERT_INT_EQ(iov_rpc_reader_next(&rd, &line, &len), i == 0 ? -EMSGSIZE : 0);
		ASSERT_TRUE(rd.len <= rd.limit + 1);
	}
	ASSERT_INT_EQ(write(sv[0], "xx\nfour\n", 8), 8);
	ASSERT_INT_GE(iov_rpc_reader_fill(&rd, sv[1]), 1);
	ASSERT_INT_EQ(iov_rpc_reader_next(&rd, &line, &len), 1);
	ASSERT_STR_EQ(line, "four");

	/* A whole oversized line in one read. */
	ASSERT_INT_EQ(write(sv[0], big, 150), 150);
	ASSERT_INT_EQ(write(sv[0], "\nfive\n", 6), 6);
	ASSERT_INT_GE(iov_rpc_reader_fill(&rd, sv[1]), 1);
	ASSERT_INT_EQ(iov_rpc_reader_next(&rd, &line, &len), -EMSGSIZE);
	ASSERT_INT_EQ(iov_rpc_reader_next(&rd, &line, &len), 1);
	ASSERT_STR_EQ(line, "five");

	close(sv[0]);
	ASSERT_INT_EQ(iov_rpc_reader_fill(&rd, sv[1]), 0);
	iov_rpc_reader_free(&rd);
	close(sv[1]);
}

/* A server thread answering requests on one end of a socketpair, as a program would. */
static void *serve(void *arg)
{
	int fd = *(int *)arg;
	struct counter c = { 0 };
	struct iov_rpc_reader rd;
	char *line, *reply;
	size_t len;
	int r;

	iov_rpc_reader_init(&rd, 0);
	while (iov_rpc_reader_fill(&rd, fd) > 0) {
		while ((r = iov_rpc_reader_next(&rd, &line, &len)) != 0) {
			if (r < 0)
				reply = iov_rpc_reply_too_large(rd.limit);
			else if (iov_rpc_dispatch(&svc, &c, true, line, len, &reply) < 0)
				reply = NULL;
			if (reply)
				iov_rpc_send_line(fd, reply);
			free(reply);
		}
	}
	iov_rpc_reader_free(&rd);
	return NULL;
}

static void test_client_call(void)
{
	struct iov_rpc_error e;
	json_t *res = NULL, *params;
	pthread_t th;
	int sv[2], fds = unit_open_fds();

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_INT_EQ(pthread_create(&th, NULL, serve, &sv[1]), 0);

	params = json_pack("{s:i}", "by", 9);
	ASSERT_OK(iov_rpc_call(sv[0], "counter.add", params, &res, &e));
	ASSERT_INT_EQ(json_integer_value(json_object_get(res, "value")), 9);
	json_decref(res);
	json_decref(params);

	params = json_pack("{s:i}", "by", -1);
	ASSERT_ERR(iov_rpc_call(sv[0], "counter.add", params, &res, &e), EREMOTEIO);
	ASSERT_INT_EQ(e.code, IOV_RPC_INVALID_PARAMS);
	ASSERT_INT_EQ(e.err, ERANGE);
	ASSERT_TRUE(strstr(e.message, "out of range") != NULL);
	json_decref(params);

	ASSERT_ERR(iov_rpc_call(sv[0], "nothing", NULL, &res, &e), EREMOTEIO);
	ASSERT_INT_EQ(e.code, IOV_RPC_METHOD_NOT_FOUND);

	shutdown(sv[0], SHUT_WR);
	pthread_join(th, NULL);
	close(sv[1]);
	/* The server is gone: the call fails with a connection error, not a hang. */
	ASSERT_TRUE(iov_rpc_call(sv[0], "counter.get", NULL, &res, &e) < 0);
	ASSERT_TRUE(e.code == IOV_RPC_FAILED);
	close(sv[0]);
	ASSERT_INT_EQ(unit_open_fds(), fds);
}

UNIT_MAIN("common/jsonrpc",
	  UNIT_TEST(test_request_and_result),
	  UNIT_TEST(test_bad_requests_change_nothing),
	  UNIT_TEST(test_errno_in_error_data),
	  UNIT_TEST(test_read_only_client),
	  UNIT_TEST(test_batch),
	  UNIT_TEST(test_discover),
	  UNIT_TEST(test_reader_lines_and_limit),
	  UNIT_TEST(test_client_call))
