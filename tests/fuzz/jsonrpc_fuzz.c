/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what a JSON-RPC server does with bytes from its socket. The input is
 * written to a socketpair in pieces, the line reader (with a small limit) splits it, and every
 * line goes through the dispatcher; every answer must be one line of JSON with "jsonrpc": "2.0".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iovkit/jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int m_echo(void *userdata, json_t *params, json_t **ret_result, struct iov_rpc_error *e)
{
	const char *s = NULL;
	int r = iov_rpc_params(e, params, "{s:s !}", "s", &s);

	if (r < 0)
		return r;
	*ret_result = json_string(s);
	return 0;
}

static const struct iov_rpc_method methods[] = {
	{ "echo", m_echo, IOV_RPC_MUTATES, "echo", "{\"type\":\"object\"}" },
};
static const struct iov_rpc_service svc = { "fuzz", "0", methods, 1 };

static void check_reply(char *reply)
{
	json_t *j;

	if (!reply)
		return;
	if (strchr(reply, '\n'))
		abort();
	j = json_loads(reply, JSON_DECODE_ANY, NULL);
	if (!j)
		abort();
	if (json_is_object(j) && strcmp(json_string_value(json_object_get(j, "jsonrpc")), "2.0"))
		abort();
	json_decref(j);
	free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iov_rpc_reader rd;
	char *line, *reply;
	size_t len, off = 0;
	int sv[2], r;

	if (size < 1 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	iov_rpc_reader_init(&rd, 256);
	/* The first byte chooses the write size, so lines arrive split at varying places. */
	size_t chunk = (size_t)data[0] % 97 + 1;
	data++;
	size--;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (write(sv[0], data + off, n) != (ssize_t)n)
			break;
		off += n;
		if (iov_rpc_reader_fill(&rd, sv[1]) <= 0)
			break;
		while ((r = iov_rpc_reader_next(&rd, &line, &len)) != 0) {
			if (r < 0) {
				check_reply(iov_rpc_reply_too_large(rd.limit));
				continue;
			}
			if (len != strlen(line) && memchr(line, '\0', len) == NULL)
				abort();
			if (iov_rpc_dispatch(&svc, NULL, data[0] & 1, line, len, &reply) == 0)
				check_reply(reply);
		}
	}
	iov_rpc_reader_free(&rd);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
