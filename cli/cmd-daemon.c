/* SPDX-License-Identifier: MIT */
/*
 * iovctl vm, daemon, events: iovkitd's guests, the daemon itself and its event stream, over
 * its socket (iovkit/client.h). iovctl demo (cmd-demo.c) builds on the same calls.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "iovkit/client.h"
#include "iovkit/vhost.h"         /* IOV_VHOST_BLK_MAX_POLL_US: a constant, no library */
#include "iovkit-internal/macro.h"

struct iov_client *cli_daemon(const char *sock)
{
	struct iov_client *c = NULL;
	const char *path = sock ? sock : iov_client_default_socket();
	int r = iov_client_open(path, &c);

	if (r < 0)
		cli_error("cannot reach iovkitd at %s: %s%s", path, iov_strerror(r),
			  r == -ENOENT || r == -ECONNREFUSED ? " (is it running? iovkitd, or --socket PATH)" :
			  r == -EACCES ? " (the socket's group may read: iovkit)" : "");
	return c;
}

int cli_dcall(struct iov_client *c, const char *method, json_t *params, json_t **ret)
{
	struct iov_rpc_error e;
	json_t *res = NULL;
	int r = iov_client_call(c, method, params, &res, &e);

	json_decref(params);
	if (r < 0) {
		cli_error("%s: %s", method, e.message);
		return EXIT_FAIL;
	}
	if (ret)
		*ret = res;
	else
		json_decref(res);
	return EXIT_OK;
}

/* ---- vm ---- */

static void print_vms(json_t *vms)
{
	size_t i;
	json_t *v;

	printf("%-16s %-9s %7s %6s %-5s %s\n", "NAME", "STATE", "PID", "MEMORY", "NICS", "LAST EXIT");
	json_array_foreach(vms, i, v) {
		char mem[16];

		snprintf(mem, sizeof(mem), "%" JSON_INTEGER_FORMAT "M", json_integer_value(json_object_get(v, "memory")));
		printf("%-16s %-9s %7" JSON_INTEGER_FORMAT " %6s %-5zu %s\n", cli_str(v, "name"), cli_str(v, "state"),
		       json_integer_value(json_object_get(v, "pid")), mem, json_array_size(json_object_get(v, "nics")),
		       cli_str(v, "reason"));
	}
}

/* --nic's value: a MAC, ",queues=N", both ("MAC,queues=N"), or nothing. */
static int nic_arg(json_t *nics, const char *arg)
{
	_cleanup_(json_decrefp) json_t *nic = json_object();
	char buf[64], *q;
	unsigned long n;

	if (!nic)
		return -ENOMEM;
	if (arg) {
		if (strlen(arg) >= sizeof(buf))
			return -EINVAL;
		strcpy(buf, arg);
		q = strstr(buf, "queues=");
		if (q) {
			if ((q != buf && q[-1] != ',') || cli_number(q + 7, 10, 8, &n) < 0 || n < 1)
				return -EINVAL;
			json_object_set_new(nic, "queues", json_integer((json_int_t)n));
			*q = '\0';
			if (q != buf)
				q[-1] = '\0';
		}
		if (buf[0])
			json_object_set_new(nic, "mac", json_string(buf));
	}
	json_array_append(nics, nic);
	return 0;
}

/* --disk=IMAGE[,ro][,serial=ID][,queues=N][,poll=US] into a vm.create disk; -EINVAL if malformed. */
static int disk_arg(json_t *disks, const char *arg)
{
	_cleanup_(json_decrefp) json_t *disk = json_object();
	_cleanup_free_ char *buf = strdup(arg);
	char *opt, *save = NULL;
	unsigned long n;

	if (!disk || !buf)
		return -ENOMEM;
	opt = strtok_r(buf, ",", &save);
	if (!opt || !*opt)
		return -EINVAL;
	json_object_set_new(disk, "image", json_string(opt));
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (!strcmp(opt, "ro"))
			json_object_set_new(disk, "readonly", json_true());
		else if (!strncmp(opt, "serial=", 7) && strlen(opt + 7) <= 20)
			json_object_set_new(disk, "serial", json_string(opt + 7));
		else if (!strncmp(opt, "queues=", 7) && cli_number(opt + 7, 10, 8, &n) == 0 && n >= 1)
			json_object_set_new(disk, "queues", json_integer((json_int_t)n));
		else if (!strncmp(opt, "poll=", 5) && cli_number(opt + 5, 10, IOV_VHOST_BLK_MAX_POLL_US, &n) == 0)
			json_object_set_new(disk, "poll_us", json_integer((json_int_t)n));
		else
			return -EINVAL;
	}
	json_array_append(disks, disk);
	return 0;
}

static void print_vm(json_t *v)
{
	json_t *nic, *live = json_object_get(v, "live");
	size_t i;

	printf("guest %s: %s", cli_str(v, "name"), cli_str(v, "state"));
	if (json_integer_value(json_object_get(v, "pid")))
		printf(", iovm pid %" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(v, "pid")));
	printf("\n  kernel   %s\n  cmdline  %s\n  memory   %" JSON_INTEGER_FORMAT " MiB\n", cli_str(v, "kernel"),
	       cli_str(v, "cmdline"), json_integer_value(json_object_get(v, "memory")));
	json_array_foreach(json_object_get(v, "passthrough"), i, nic)
		printf("  device   %s %s\n", json_object_get(nic, "device") ? "VFIO" : "vfio-user",
		       json_object_get(nic, "device") ? cli_str(nic, "device") : cli_str(nic, "vfio_user"));
	if (json_is_string(json_object_get(v, "reason")))
		printf("  stopped  %s\n", cli_str(v, "reason"));
	json_array_foreach(json_object_get(v, "nics"), i, nic) {
		json_t *st = json_object_get(nic, "stats");

		printf("  nic %zu    %s on iovswitch port %s", i, cli_str(nic, "mac"), cli_str(nic, "port"));
		if (json_integer_value(json_object_get(nic, "queues")) > 1)
			printf(" (%" JSON_INTEGER_FORMAT " queue pairs)", json_integer_value(json_object_get(nic, "queues")));
		if (st)
			printf(": rx %" JSON_INTEGER_FORMAT " tx %" JSON_INTEGER_FORMAT " packets, %" JSON_INTEGER_FORMAT
			       " dropped",
			       json_integer_value(json_object_get(st, "rx_packets")),
			       json_integer_value(json_object_get(st, "tx_packets")),
			       json_integer_value(json_object_get(json_object_get(st, "drops"), "total")));
		printf("\n");
	}
	json_array_foreach(json_object_get(v, "disks"), i, nic) {
		json_t *st = json_object_get(nic, "stats");

		printf("  disk %zu   %s%s, served by iovswitch as %s", i, cli_str(nic, "image"),
		       json_is_true(json_object_get(nic, "readonly")) ? " (read-only)" : "", cli_str(nic, "device"));
		if (st)
			printf(": %" JSON_INTEGER_FORMAT " reads, %" JSON_INTEGER_FORMAT " writes, %" JSON_INTEGER_FORMAT
			       " errors",
			       json_integer_value(json_object_get(st, "reads")), json_integer_value(json_object_get(st, "writes")),
			       json_integer_value(json_object_get(st, "errors")));
		printf("\n");
	}
	if (json_is_object(live))
		printf("  live     %s, %" JSON_INTEGER_FORMAT " exits\n", cli_str(live, "state"),
		       json_integer_value(json_object_get(live, "exits")));
	printf("  console  %s\n", cli_str(v, "console"));
	if (json_is_string(json_object_get(v, "console_tail")))
		printf("---- console (last lines)\n%s", cli_str(v, "console_tail"));
}

/* Polls vm.info until @name leaves "running"/"stopping" or @seconds pass; 0, or -ETIMEDOUT. */
int cli_vm_wait(struct iov_client *c, const char *name, int seconds)
{
	for (int i = 0; i < seconds * 20; i++) {
		json_t *v = NULL;
		const char *st;
		bool done;

		if (cli_dcall(c, "vm.list", NULL, &v) != EXIT_OK)
			return -EIO;
		done = true;
		for (size_t k = 0; k < json_array_size(v); k++) {
			json_t *x = json_array_get(v, k);

			if (strcmp(cli_str(x, "name"), name))
				continue;
			st = cli_str(x, "state");
			done = strcmp(st, "running") && strcmp(st, "stopping");
		}
		json_decref(v);
		if (done)
			return 0;
		usleep(50000);
	}
	return -ETIMEDOUT;
}

enum { OPT_SOCKET = 1100, OPT_KERNEL, OPT_CMDLINE, OPT_MEMORY, OPT_NIC, OPT_TIMEOUT, OPT_FORCE, OPT_WAIT, OPT_COUNT,
       OPT_STOP_CHILDREN, OPT_VFIO_USER, OPT_VFIO, OPT_HUGEPAGES, OPT_CPUS, OPT_INITRD, OPT_DISK };

int cmd_vm(struct cli *cli)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "nic", optional_argument, NULL, OPT_NIC },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "vfio-user", required_argument, NULL, OPT_VFIO_USER },
		{ "vfio", required_argument, NULL, OPT_VFIO },
		{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "disk", required_argument, NULL, OPT_DISK },
		CLI_OPT_JSON,
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_(json_decrefp) json_t *def = json_object(), *nics = json_array(), *pts = json_array(),
				       *disks = json_array();
	struct iov_client *c = NULL;
	const char *sock = NULL, *sub, *name = NULL;
	bool force = false, wait = false;
	json_t *res = NULL;
	unsigned long n;
	int opt, st;

	if (!def || !nics || !pts || !disks)
		return EXIT_FAIL;
	while ((opt = cli_next_opt(cli, "vm", opts)) != -1) {
		switch (opt) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_KERNEL: json_object_set_new(def, "kernel", json_string(optarg)); break;
		case OPT_INITRD: json_object_set_new(def, "initrd", json_string(optarg)); break;
		case OPT_CMDLINE: json_object_set_new(def, "cmdline", json_string(optarg)); break;
		case OPT_MEMORY:
			if (cli_number(optarg, 10, 3582, &n) < 0)
				return cli_usage("vm", "--memory takes MiB, 2..3582 in 2 MiB steps");
			json_object_set_new(def, "memory", json_integer((json_int_t)n));
			break;
		case OPT_CPUS:
			if (cli_number(optarg, 10, 8, &n) < 0 || n < 1)
				return cli_usage("vm", "--cpus takes a number of vCPUs, 1..8");
			json_object_set_new(def, "cpus", json_integer((json_int_t)n));
			break;
		case OPT_TIMEOUT:
			if (cli_number(optarg, 10, 86400 * 365, &n) < 0)
				return cli_usage("vm", "--timeout takes seconds");
			json_object_set_new(def, "timeout", json_integer((json_int_t)n));
			break;
		case OPT_NIC:
			if (nic_arg(nics, optarg) < 0)
				return cli_usage("vm", "--nic takes [MAC][,queues=N] (N: 1 to 8 queue pairs)");
			break;
		case OPT_DISK:
			if (disk_arg(disks, optarg) < 0)
				return cli_usage("vm", "--disk takes IMAGE[,ro][,serial=ID][,queues=N][,poll=US] (ID: up to "
						       "20 bytes; N: 1 to 8 request queues; US: 0 to 1000)");
			break;
		case OPT_VFIO_USER:
		case OPT_VFIO:
			json_array_append_new(pts, json_pack("{s:s}", opt == OPT_VFIO ? "device" : "vfio_user", optarg));
			break;
		case OPT_HUGEPAGES: json_object_set_new(def, "hugepages", json_true()); break;
		case OPT_FORCE: force = true; break;
		case OPT_WAIT: wait = true; break;
		default: return EXIT_USAGE;
		}
	}
	sub = optind < cli->argc ? cli->argv[optind++] : "list";
	if (optind < cli->argc)
		name = cli->argv[optind++];
	if (optind < cli->argc)
		return cli_usage("vm", "too many arguments");
	if (strcmp(sub, "list") && !name)
		return cli_usage("vm", "this subcommand takes a guest NAME");
	c = cli_daemon(sock);
	if (!c)
		return EXIT_FAIL;
	if (!strcmp(sub, "list")) {
		st = cli_dcall(c, "vm.list", NULL, &res);
		if (st == EXIT_OK && !cli->json)
			print_vms(res);
	} else if (!strcmp(sub, "create")) {
		json_object_set_new(def, "name", json_string(name));
		if (json_array_size(nics))
			json_object_set(def, "nics", nics);
		if (json_array_size(pts))
			json_object_set(def, "passthrough", pts);
		if (json_array_size(disks))
			json_object_set(def, "disks", disks);
		st = cli_dcall(c, "vm.create", json_incref(def), &res);
		if (st == EXIT_OK && !cli->json)
			print_vm(res);
	} else if (!strcmp(sub, "start") || !strcmp(sub, "stop")) {
		bool start = !strcmp(sub, "start");

		st = cli_dcall(c, start ? "vm.start" : "vm.stop",
			       start ? json_pack("{s:s}", "name", name) : json_pack("{s:s,s:b}", "name", name, "force", force),
			       &res);
		if (st == EXIT_OK && (wait || !start)) {
			int r = cli_vm_wait(c, name, start ? 86400 : 20);

			json_decref(res);
			res = NULL;
			if (r == -ETIMEDOUT)
				cli_error("guest %s did not stop in time (iovctl vm stop %s --force)", name, name);
			st = r == 0 ? cli_dcall(c, "vm.info", json_pack("{s:s}", "name", name), &res) : EXIT_FAIL;
			/* --wait: the guest's own verdict is the exit status. */
			if (st == EXIT_OK && start && json_integer_value(json_object_get(res, "exit_status")) != 0)
				st = EXIT_FAIL;
		}
		if (res && !cli->json)
			print_vm(res);
	} else if (!strcmp(sub, "destroy")) {
		st = cli_dcall(c, "vm.destroy", json_pack("{s:s}", "name", name), &res);
		if (st == EXIT_OK && !cli->json)
			printf("guest %s destroyed\n", name);
	} else if (!strcmp(sub, "info")) {
		st = cli_dcall(c, "vm.info", json_pack("{s:s}", "name", name), &res);
		if (st == EXIT_OK && !cli->json)
			print_vm(res);
	} else {
		st = cli_usage("vm", "unknown subcommand");
	}
	if (res && cli->json) {
		if (cli_print_json(res) != EXIT_OK)
			st = EXIT_FAIL;
		res = NULL;
	}
	json_decref(res);
	iov_client_free(c);
	return st;
}

/* ---- daemon ---- */

int cmd_daemon(struct cli *cli)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "stop-children", no_argument, NULL, OPT_STOP_CHILDREN },
		CLI_OPT_JSON,
		{ NULL, 0, NULL, 0 },
	};
	struct iov_client *c;
	const char *sock = NULL, *sub;
	json_t *ver = NULL, *sw = NULL, *vms = NULL;
	bool stop_children = false;
	int opt, st;

	while ((opt = cli_next_opt(cli, "daemon", opts)) != -1) {
		if (opt == OPT_SOCKET)
			sock = optarg;
		else if (opt == OPT_STOP_CHILDREN)
			stop_children = true;
		else
			return EXIT_USAGE;
	}
	sub = optind < cli->argc ? cli->argv[optind++] : "status";
	if (optind < cli->argc || (strcmp(sub, "status") && strcmp(sub, "shutdown")))
		return cli_usage("daemon", "takes status or shutdown");
	c = cli_daemon(sock);
	if (!c)
		return EXIT_FAIL;
	if (!strcmp(sub, "shutdown")) {
		pid_t pid = 0;

		st = cli_dcall(c, "daemon.version", NULL, &ver);
		if (st == EXIT_OK) {
			pid = (pid_t)json_integer_value(json_object_get(ver, "pid"));
			st = cli_dcall(c, "daemon.shutdown", json_pack("{s:b}", "stop_children", stop_children), NULL);
		}
		iov_client_free(c);
		json_decref(ver);
		/* Return once it is gone, so a script's next iovkitd does not meet this one. */
		for (int i = 0; st == EXIT_OK && pid > 0 && i < 100 && kill(pid, 0) == 0; i++)
			usleep(100000);
		return st;
	}
	st = cli_dcall(c, "daemon.version", NULL, &ver);
	if (st == EXIT_OK)
		st = cli_dcall(c, "switch.status", NULL, &sw);
	if (st == EXIT_OK)
		st = cli_dcall(c, "vm.list", NULL, &vms);
	iov_client_free(c);
	if (st != EXIT_OK) {
		json_decref(ver);
		json_decref(sw);
		return st;
	}
	if (cli->json)
		return cli_print_json(json_pack("{s:o,s:o,s:o}", "daemon", ver, "switch", sw, "vms", vms));
	printf("iovkitd %s, pid %" JSON_INTEGER_FORMAT "\n", cli_str(ver, "version"), json_integer_value(json_object_get(ver, "pid")));
	printf("  host root   %s, state in %s, children in %s\n", cli_str(ver, "root"), cli_str(ver, "state_dir"), cli_str(ver, "run_dir"));
	printf("  you may     %s\n", json_is_true(json_object_get(json_object_get(ver, "caller"), "may_mutate")) ?
				     "read and change state" : "only read");
	printf("iovswitch     %s", cli_str(sw, "state"));
	if (json_integer_value(json_object_get(sw, "pid")))
		printf(", pid %" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(sw, "pid")));
	printf(", %" JSON_INTEGER_FORMAT " restarts%s%s\n", json_integer_value(json_object_get(sw, "restarts")),
	       json_is_string(json_object_get(sw, "last_exit")) ? "; last: " : "",
	       json_is_string(json_object_get(sw, "last_exit")) ? cli_str(sw, "last_exit") : "");
	printf("guests        %zu\n", json_array_size(vms));
	json_decref(ver);
	json_decref(sw);
	json_decref(vms);
	return EXIT_OK;
}

/* ---- events ---- */

int cmd_events(struct cli *cli)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		CLI_OPT_JSON,
		{ NULL, 0, NULL, 0 },
	};
	struct iov_client *c;
	const char *sock = NULL;
	unsigned long count = 0, timeout = 0, seen = 0;
	int opt, st;

	while ((opt = cli_next_opt(cli, "events", opts)) != -1) {
		if (opt == OPT_SOCKET)
			sock = optarg;
		else if (opt == OPT_COUNT && cli_number(optarg, 10, 1000000000, &count) == 0)
			continue;
		else if (opt == OPT_TIMEOUT && cli_number(optarg, 10, 86400, &timeout) == 0)
			continue;
		else
			return opt == OPT_COUNT || opt == OPT_TIMEOUT ? cli_usage("events", "--count N, --timeout SECONDS")
								      : EXIT_USAGE;
	}
	if (optind < cli->argc)
		return cli_usage("events", "takes no arguments");
	c = cli_daemon(sock);
	if (!c)
		return EXIT_FAIL;
	st = cli_dcall(c, "events.subscribe", NULL, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (st == EXIT_OK && (!count || seen < count)) {
		json_t *ev = NULL;
		int r = iov_client_next_event(c, timeout ? (int)timeout * 1000 : -1, &ev);

		if (r == -ETIMEDOUT) {
			st = count ? EXIT_FAIL : EXIT_OK;
			if (count)
				cli_error("events: %lu of %lu events in %lu s", seen, count, timeout);
			break;
		}
		if (r < 0) {
			cli_error("events: %s", iov_strerror(r));
			st = EXIT_FAIL;
			break;
		}
		seen++;
		if (cli->json) {
			char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);

			printf("%s\n", text ? text : "{}");
			free(text);
		} else {
			const char *k;
			json_t *v;
			time_t t = (time_t)json_real_value(json_object_get(ev, "time"));
			char when[32];

			strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
			printf("%s %-16s", when, cli_str(ev, "event"));
			json_object_foreach(ev, k, v) {
				char *text;

				if (!strcmp(k, "event") || !strcmp(k, "time") || !strcmp(k, "seq") || json_is_null(v))
					continue;
				text = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
				printf(" %s=%s", k, text ? text : "?");
				free(text);
			}
			printf("\n");
		}
		json_decref(ev);
	}
	iov_client_free(c);
	return st;
}
