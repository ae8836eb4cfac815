/* SPDX-License-Identifier: MIT */
/*
 * iovctl switch: drive an iovswitch over its JSON-RPC socket; iovctl rpc: call any method of
 * any iovkit socket and print the result.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "iovkit/client.h"
#include "iovkit/jsonrpc.h"
#include "iovkit/vhost.h"         /* IOV_VHOST_BLK_MAX_POLL_US: a constant, no library */
#include "iovkit-internal/macro.h"

#define SWITCH_SOCKET "/run/iovkit/iovswitch.sock"

/* Calls @method on @sock; prints the error and returns EXIT_FAIL, or EXIT_OK with *ret. */
static int call(const char *sock, const char *method, json_t *params, json_t **ret)
{
	struct iov_rpc_error e;
	int fd = iov_rpc_connect(sock), r;

	if (fd < 0) {
		cli_error("cannot reach %s: %s%s", sock, iov_strerror(fd),
			  fd == -ENOENT || fd == -ECONNREFUSED ? " (is the service running? --socket PATH)" : "");
		json_decref(params);
		return EXIT_FAIL;
	}
	r = iov_rpc_call(fd, method, params, ret, &e);
	close(fd);
	json_decref(params);
	if (r < 0) {
		cli_error("%s: %s", method, e.message);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static void print_info(json_t *res)
{
	json_t *mbufs = json_object_get(res, "mbufs"), *w = json_object_get(res, "worker");

	printf("iovswitch %s, pid %" JSON_INTEGER_FORMAT "\n", cli_str(res, "version"), cli_num(res, "pid"));
	printf("ports:         %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT "\n", cli_num(res, "ports"),
	       cli_num(res, "max_ports"));
	printf("worker lcore:  %" JSON_INTEGER_FORMAT "\n", cli_num(res, "worker_lcore"));
	printf("memory:        %s\n", json_is_true(json_object_get(res, "hugepages")) ? "hugepages" : "no hugepages (memfd)");
	printf("mbufs:         %" JSON_INTEGER_FORMAT " free of %" JSON_INTEGER_FORMAT "\n", cli_num(mbufs, "free"),
	       cli_num(mbufs, "total"));
	printf("learned MACs:  %" JSON_INTEGER_FORMAT "\n", cli_num(res, "fdb_entries"));
	if (cli_num(w, "busy_packets"))
		printf("worker:        %.1f cycles/packet over %" JSON_INTEGER_FORMAT " packets\n",
		       (double)cli_num(w, "busy_cycles") / (double)cli_num(w, "busy_packets"), cli_num(w, "busy_packets"));
	if (cli_num(w, "idle_sleep_us"))
		printf("idle naps:     up to %" JSON_INTEGER_FORMAT " us; %" JSON_INTEGER_FORMAT " naps, %.3f s asleep\n",
		       cli_num(w, "idle_sleep_us"), cli_num(w, "naps"), (double)cli_num(w, "slept_us") / 1e6);
	else
		printf("idle naps:     none (the worker polls without pause)\n");
	printf("state file:    %s\n", cli_str(res, "state_file"));
}

static void print_ports(json_t *res)
{
	size_t i;
	json_t *p;

	printf("%-12s %-6s %-10s %-5s %-5s %-14s %s\n", "NAME", "TYPE", "STATE", "VLAN", "MTU", "WIRED", "ENDPOINT");
	json_array_foreach(res, i, p) {
		char vlan[8], wired[48] = "-";
		const char *peer = json_string_value(json_object_get(p, "xconnect"));
		const char *up = json_string_value(json_object_get(p, "pool_of"));

		snprintf(vlan, sizeof(vlan), "%s", "trunk");
		if (cli_num(p, "vlan"))
			snprintf(vlan, sizeof(vlan), "%" JSON_INTEGER_FORMAT, cli_num(p, "vlan"));
		if (peer)
			snprintf(wired, sizeof(wired), "<-> %s", peer);
		else if (up)
			snprintf(wired, sizeof(wired), "pool of %s", up);
		if (!strcmp(cli_str(p, "type"), "vhost"))
			printf("%-12s %-6s %-10s %-5s %-5" JSON_INTEGER_FORMAT " %-14s %s (%s)\n", cli_str(p, "name"), "vhost",
			       cli_str(p, "state"), vlan, cli_num(p, "mtu"), wired, cli_str(p, "path"), cli_str(p, "mode"));
		else
			printf("%-12s %-6s %-10s %-5s %-5" JSON_INTEGER_FORMAT " %-14s %s %s\n", cli_str(p, "name"), "dpdk",
			       cli_str(p, "state"), vlan, cli_num(p, "mtu"), wired, cli_str(p, "devargs"), cli_str(p, "mac"));
	}
}

static void print_stats(json_t *res)
{
	size_t i;
	json_t *s;

	printf("%-12s %12s %14s %12s %14s %10s  %s\n", "NAME", "RX-PACKETS", "RX-BYTES", "TX-PACKETS", "TX-BYTES",
	       "FLOODED", "DROPS");
	json_array_foreach(res, i, s) {
		json_t *drops = json_object_get(s, "drops"), *v;
		const char *why;

		printf("%-12s %12" JSON_INTEGER_FORMAT " %14" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT
		       " %14" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT "  %" JSON_INTEGER_FORMAT,
		       cli_str(s, "name"), cli_num(s, "rx_packets"), cli_num(s, "rx_bytes"), cli_num(s, "tx_packets"), cli_num(s, "tx_bytes"),
		       cli_num(s, "flooded"), cli_num(drops, "total"));
		json_object_foreach(drops, why, v)
			if (strcmp(why, "total") && json_integer_value(v))
				printf(" %s=%" JSON_INTEGER_FORMAT, why, json_integer_value(v));
		putchar('\n');
	}
}

static void print_pools(json_t *res)
{
	const char *uplink, *pool;
	json_t *by_uplink, *a;

	printf("%-12s %-5s %-12s %-6s %s\n", "UPLINK", "POOL", "PORT", "VLANS", "MACS");
	json_object_foreach(res, uplink, by_uplink)
		json_object_foreach(by_uplink, pool, a) {
			_cleanup_free_ char *macs = json_dumps(json_object_get(a, "macs"), JSON_COMPACT | JSON_ENCODE_ANY);
			_cleanup_free_ char *vlans = json_dumps(json_object_get(a, "vlans"), JSON_COMPACT | JSON_ENCODE_ANY);
			printf("%-12s %-5s %-12s %-6s %s\n", uplink, pool, cli_str(a, "port"), vlans ? vlans : "[]",
			       macs ? macs : "[]");
		}
}

static void print_blks(json_t *res)
{
	size_t i;
	json_t *b;

	printf("%-12s %-10s %10s %-3s %8s %8s %7s %6s  %s\n", "NAME", "STATE", "SIZE-MIB", "RO", "READS", "WRITES", "FLUSHES",
	       "ERRORS", "IMAGE (SOCKET)");
	json_array_foreach(res, i, b) {
		json_t *st = json_object_get(b, "stats");
		printf("%-12s %-10s %10" JSON_INTEGER_FORMAT " %-3s %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
		       " %7" JSON_INTEGER_FORMAT " %6" JSON_INTEGER_FORMAT "  %s (%s, %s)\n",
		       cli_str(b, "name"), cli_str(b, "state"), cli_num(b, "sectors") / 2048,
		       json_is_true(json_object_get(b, "readonly")) ? "yes" : "no", cli_num(st, "reads"), cli_num(st, "writes"),
		       cli_num(st, "flushes"), cli_num(st, "errors"), cli_str(b, "image"), cli_str(b, "path"), cli_str(b, "mode"));
	}
}

enum { OPT_SOCKET = 1000, OPT_VHOST, OPT_CLIENT, OPT_DPDK, OPT_VLAN, OPT_MTU, OPT_MAC, OPT_NONE, OPT_NO_BCAST, OPT_MCAST,
       OPT_IMAGE, OPT_READONLY, OPT_SERIAL, OPT_VMDQ, OPT_QUEUES, OPT_POLL_US };

int cmd_switch(struct cli *cli)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET }, { "vhost", required_argument, NULL, OPT_VHOST },
		{ "client", no_argument, NULL, OPT_CLIENT },       { "dpdk", required_argument, NULL, OPT_DPDK },
		{ "vlan", required_argument, NULL, OPT_VLAN },     { "mtu", required_argument, NULL, OPT_MTU },
		{ "mac", required_argument, NULL, OPT_MAC },       { "none", no_argument, NULL, OPT_NONE },
		{ "no-broadcast", no_argument, NULL, OPT_NO_BCAST }, { "multicast", no_argument, NULL, OPT_MCAST },
		{ "image", required_argument, NULL, OPT_IMAGE },   { "readonly", no_argument, NULL, OPT_READONLY },
		{ "serial", required_argument, NULL, OPT_SERIAL }, { "vmdq-pools", required_argument, NULL, OPT_VMDQ },
		{ "queues", required_argument, NULL, OPT_QUEUES }, { "poll-us", required_argument, NULL, OPT_POLL_US },
		CLI_OPT_JSON,
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = getenv("IOVSWITCH_SOCKET"), *vhost = NULL, *dpdk = NULL, *image = NULL, *serial = NULL, *sub;
	json_t *vlans = json_array(), *macs = json_array(), *params = NULL, *res = NULL;
	bool client = false, none = false, bcast = true, mcast = false, readonly = false;
	unsigned long mtu = 0, vmdq = 0, queues = 0, poll_us = 0, v;
	char **args;
	int opt, nargs, st;

	if (!sock)
		sock = SWITCH_SOCKET;
	while ((opt = cli_next_opt(cli, "switch", opts)) != -1) {
		switch (opt) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_VHOST: vhost = optarg; break;
		case OPT_CLIENT: client = true; break;
		case OPT_DPDK: dpdk = optarg; break;
		case OPT_NONE: none = true; break;
		case OPT_NO_BCAST: bcast = false; break;
		case OPT_MCAST: mcast = true; break;
		case OPT_IMAGE: image = optarg; break;
		case OPT_READONLY: readonly = true; break;
		case OPT_SERIAL: serial = optarg; break;
		case OPT_VMDQ:
			if (cli_number(optarg, 10, 64, &vmdq) < 0 || vmdq == 0) {
				st = cli_usage("switch", "--vmdq-pools takes 8, 16, 32 or 64");
				goto out;
			}
			break;
		case OPT_QUEUES:
			if (cli_number(optarg, 10, 8, &queues) < 0 || queues == 0) {
				st = cli_usage("switch", "--queues takes 1..8");
				goto out;
			}
			break;
		case OPT_POLL_US:
			if (cli_number(optarg, 10, IOV_VHOST_BLK_MAX_POLL_US, &poll_us) < 0) {
				st = cli_usage("switch", "--poll-us takes 0..1000");
				goto out;
			}
			break;
		case OPT_MAC: json_array_append_new(macs, json_string(optarg)); break;
		case OPT_VLAN:
			if (cli_number(optarg, 10, 4094, &v) < 0)
				goto usage_vlan;
			json_array_append_new(vlans, json_integer((json_int_t)v));
			break;
		case OPT_MTU:
			if (cli_number(optarg, 10, 9600, &mtu) < 0 || mtu < 68) {
				st = cli_usage("switch", "--mtu takes 68..9600");
				goto out;
			}
			break;
		default: st = EXIT_USAGE; goto out;
		}
	}
	args = cli->argv + optind;
	nargs = cli->argc - optind;
	sub = nargs ? args[0] : "info";
	if (nargs)
		args++, nargs--;

	if (!strcmp(sub, "info") && nargs == 0) {
		st = call(sock, "switch.info", NULL, &res);
		if (st == EXIT_OK && !cli->json)
			print_info(res);
	} else if (!strcmp(sub, "ports") && nargs == 0) {
		st = call(sock, "port.list", NULL, &res);
		if (st == EXIT_OK && !cli->json)
			print_ports(res);
	} else if (!strcmp(sub, "stats") && nargs <= 1) {
		st = call(sock, "port.stats", nargs ? json_pack("{s:s}", "name", args[0]) : NULL, &res);
		if (st == EXIT_OK && !cli->json) {
			if (nargs)
				res = json_pack("[o]", res);
			print_stats(res);
		}
	} else if (!strcmp(sub, "add") && nargs == 1) {
		if (!vhost == !dpdk) {
			st = cli_usage("switch", "add NAME takes --vhost PATH or --dpdk DEVARGS");
			goto out;
		}
		if (json_array_size(vlans) > 1)
			goto usage_vlan;
		params = vhost ? json_pack("{s:s,s:s,s:s,s:s}", "name", args[0], "type", "vhost", "path", vhost, "mode",
					   client ? "client" : "server")
			       : json_pack("{s:s,s:s,s:s}", "name", args[0], "type", "dpdk", "devargs", dpdk);
		if (json_array_size(vlans))
			json_object_set(params, "vlan", json_array_get(vlans, 0));
		if (mtu)
			json_object_set_new(params, "mtu", json_integer((json_int_t)mtu));
		if (vmdq)
			json_object_set_new(params, "vmdq_pools", json_integer((json_int_t)vmdq));
		if (queues)
			json_object_set_new(params, "queues", json_integer((json_int_t)queues));
		st = call(sock, "port.add", params, &res);
		if (st == EXIT_OK && !cli->json)
			print_ports(res = json_pack("[o]", res));
	} else if (!strcmp(sub, "del") && nargs == 1) {
		st = call(sock, "port.del", json_pack("{s:s}", "name", args[0]), &res);
	} else if (!strcmp(sub, "xconnect") && nargs == 2 - none) {
		st = call(sock, "port.xconnect",
			  json_pack("{s:s,s:s?}", "name", args[0], "peer", none ? NULL : args[1]), &res);
	} else if (!strcmp(sub, "pool-assign") && nargs == 3) {
		if (cli_number(args[1], 10, 63, &v) < 0) {
			st = cli_usage("switch", "POOL is 0..63");
			goto out;
		}
		params = json_pack("{s:s,s:i,s:s,s:O,s:b,s:b}", "uplink", args[0], "pool", (int)v, "port", args[2], "macs",
				   macs, "broadcast", bcast, "multicast", mcast);
		if (json_array_size(vlans))
			json_object_set(params, "vlans", vlans);
		st = call(sock, "pool.assign", params, &res);
	} else if (!strcmp(sub, "pool-release") && nargs == 2) {
		if (cli_number(args[1], 10, 63, &v) < 0) {
			st = cli_usage("switch", "POOL is 0..63");
			goto out;
		}
		st = call(sock, "pool.release", json_pack("{s:s,s:i}", "uplink", args[0], "pool", (int)v), &res);
	} else if (!strcmp(sub, "blk-add") && nargs == 1) {
		if (!vhost || !image) {
			st = cli_usage("switch", "blk-add NAME takes --vhost PATH and --image FILE");
			goto out;
		}
		params = json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", args[0], "path", vhost, "image", image, "mode",
				   client ? "client" : "server", "readonly", readonly);
		if (serial)
			json_object_set_new(params, "serial", json_string(serial));
		if (queues)
			json_object_set_new(params, "queues", json_integer((json_int_t)queues));
		if (poll_us)    /* 0: the default, no polling */
			json_object_set_new(params, "poll_us", json_integer((json_int_t)poll_us));
		st = call(sock, "blk.add", params, &res);
		if (st == EXIT_OK && !cli->json)
			print_blks(res = json_pack("[o]", res));
	} else if (!strcmp(sub, "blk-del") && nargs == 1) {
		st = call(sock, "blk.del", json_pack("{s:s}", "name", args[0]), &res);
	} else if (!strcmp(sub, "blks") && nargs == 0) {
		st = call(sock, "blk.list", NULL, &res);
		if (st == EXIT_OK && !cli->json)
			print_blks(res);
	} else if (!strcmp(sub, "pools") && nargs == 0) {
		st = call(sock, "pool.list", NULL, &res);
		if (st == EXIT_OK && !cli->json)
			print_pools(res);
	} else {
		st = cli_usage("switch", "unknown subcommand or wrong number of arguments");
		goto out;
	}
	if (st == EXIT_OK && cli->json) {
		st = cli_print_json(res ? res : json_null());
		res = NULL;
	}
out:
	json_decref(res);
	json_decref(vlans);
	json_decref(macs);
	return st;
usage_vlan:
	st = cli_usage("switch", "--vlan takes 0..4094 (add: one; pool-assign: one or more)");
	goto out;
}

int cmd_rpc(struct cli *cli)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		CLI_OPT_JSON,
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = iov_client_default_socket();
	json_t *params = NULL, *res = NULL;
	json_error_t jerr;
	int opt, st;

	while ((opt = cli_next_opt(cli, "rpc", opts)) != -1) {
		if (opt != OPT_SOCKET)
			return EXIT_USAGE;
		sock = optarg;
	}
	if (cli->argc - optind < 1 || cli->argc - optind > 2)
		return cli_usage("rpc", "takes METHOD and optional PARAMS (a JSON object or array)");
	if (cli->argc - optind == 2) {
		params = json_loads(cli->argv[optind + 1], 0, &jerr);
		if (!json_is_object(params) && !json_is_array(params)) {
			json_decref(params);
			return cli_usage("rpc", params ? "PARAMS must be an object or an array" : jerr.text);
		}
	}
	st = call(sock, cli->argv[optind], params, &res);
	if (st != EXIT_OK)
		return st;
	return cli_print_json(res);
}
