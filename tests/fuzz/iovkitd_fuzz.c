/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: iovkitd's own method table (host, switch, vm and vgpu methods) behind the
 * dispatcher, for a client that may only read — what any member of the socket's group can
 * send. Each input becomes one request line; the answer must be one line of JSON-RPC, and nothing
 * may crash, leak or change the (empty, scratch) host root. Methods that change state are
 * refused by the dispatcher before they run, as they are for such a client.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../daemon/daemon.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct daemon d;
static struct iov_rpc_method table[128];
static struct iov_rpc_service svc = { "iovkitd", "fuzz", table, 0 };

/* What main.c provides to the method files. */
void dlog(int level, const char *fmt, ...)
{
}

void daemon_event(struct daemon *dd, const char *type, json_t *fields)
{
	json_decref(fields);
}

static void add(const struct iov_rpc_method *m, size_t n)
{
	memcpy(table + svc.n_methods, m, n * sizeof(*m));
	svc.n_methods += n;
}

static char root[] = "/tmp/iovkitd-fuzz-XXXXXX";

/* The scratch root stays empty (only read-only methods run): remove it when the run ends. */
static void remove_root(void)
{
	rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!mkdtemp(root) || iov_ctx_new(root, &d.ctx) < 0)
		abort();
	atexit(remove_root);
	d.run_dir = root;
	d.guest = "/nonexistent";
	d.sw.proc.pidfd = d.uevent_fd = -1;
	d.cache_ok = true;
	snprintf(d.sw.sock, sizeof(d.sw.sock), "%s/iovswitch.sock", root);
	/* vgpu.mig must not load a real driver library here. */
	setenv("IOVKIT_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
	add(host_methods, n_host_methods);
	add(switch_methods, n_switch_methods);
	add(vm_methods, n_vm_methods);
	add(vgpu_methods, n_vgpu_methods);
	return 0;
}

/*
 * The first byte picks the method (its top bit: the rest is a whole line as it comes); the
 * rest is the params text, so every input reaches some method's parameter checks.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 128), *reply = NULL;
	json_t *j;

	if (!line || size == 0) {
		free(line);
		return 0;
	}
	if (data[0] & 0x80) {
		memcpy(line, data + 1, size - 1);
		line[size - 1] = '\0';
	} else {
		int n = snprintf(line, 128, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":",
				 table[data[0] % svc.n_methods].name);

		memcpy(line + n, data + 1, size - 1);
		memcpy(line + n + size - 1, "}", 2);
	}
	if (iov_rpc_dispatch(&svc, &d, false, line, strlen(line), &reply) == 0 && reply) {
		if (strchr(reply, '\n'))
			abort();
		j = json_loads(reply, JSON_DECODE_ANY, NULL);
		if (!j)
			abort();
		json_decref(j);
	}
	free(reply);
	free(line);
	host_cache_drop(&d);
	return 0;
}
