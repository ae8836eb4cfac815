/* SPDX-License-Identifier: MIT */
/*
 * iovctl demo: the end-to-end run the README's first command ends in. It starts iovkitd when
 * none answers, shows what the host offers, has iovkitd run iovswitch and two guests in iovm
 * with a virtio-net NIC each on the switch, lets one guest measure round trips and a stream
 * of frames against the other, prints a report (latency, throughput, the switch's counters
 * for both ports) and takes down what it started. Every figure in the report comes from the
 * guests and the switch of this run; nothing is assumed.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "iovkit/client.h"
#include "iovkit-internal/macro.h"
#include "iovkit-internal/sibling.h"

#define MAC_A "02:00:00:00:de:0a"
#define MAC_B "02:00:00:00:de:0b"

struct demo {
	struct cli *cli;
	const char *sock;
	struct iov_client *c;
	bool started_daemon, started_switch;
	pid_t daemon_pid;               /* the iovkitd this demo started */
	unsigned long pings, frames, size;
	json_t *report;
};

static void step(struct demo *d, const char *title)
{
	if (!d->cli->json)
		printf("\n== %s\n", title);
	fflush(stdout);
}

static void say(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct demo *d, const char *fmt, ...)
{
	va_list ap;

	if (d->cli->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static int start_daemon(struct demo *d)
{
	char buf[PATH_MAX], log[PATH_MAX], dir[PATH_MAX];
	const char *prog = iov_sibling_program("daemon", "iovkitd", IOVKIT_SBINDIR "/iovkitd", buf);
	pid_t pid;
	int status;

	snprintf(dir, sizeof(dir), "%s", d->sock);
	snprintf(log, sizeof(log), "%s/iovkitd.log", dirname(dir));
	mkdir(dir, 0755);
	say(d, "no iovkitd answers at %s: starting %s (log: %s)\n", d->sock, prog, log);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

		setsid();
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(prog, prog, "--socket", d->sock, (char *)NULL);
		dprintf(2, "iovctl demo: cannot run %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		if (iov_client_open(d->sock, &d->c) == 0) {
			d->started_daemon = true;
			d->daemon_pid = pid;
			return 0;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			cli_error("iovkitd exited at start (status %d); its log %s says:", WEXITSTATUS(status), log);
			return -ECHILD;
		}
		usleep(100000);
	}
	cli_error("iovkitd did not answer at %s within 10 s (log: %s)", d->sock, log);
	return -ETIMEDOUT;
}

static int show_host(struct demo *d)
{
	json_t *h = NULL, *groups = NULL, *pci = NULL, *hint, *g;
	json_t *iommu, *kvm, *vfio;
	size_t i, viable = 0;

	if (cli_dcall(d->c, "host.info", NULL, &h) != EXIT_OK || cli_dcall(d->c, "iommu.groups", NULL, &groups) != EXIT_OK ||
	    cli_dcall(d->c, "pci.list", NULL, &pci) != EXIT_OK) {
		json_decref(h);
		json_decref(groups);
		return -EIO;
	}
	iommu = json_object_get(h, "iommu");
	kvm = json_object_get(h, "kvm");
	vfio = json_object_get(h, "vfio");
	say(d, "kernel %s, %s CPU\n", cli_str(h, "kernel"), cli_str(h, "cpu_vendor"));
	say(d, "KVM:     %s\n", json_is_true(json_object_get(kvm, "present")) ? "yes (/dev/kvm)" : "no");
	say(d, "IOMMU:   %s, %zu groups\n", json_is_true(json_object_get(iommu, "present")) ? "on" : "off",
	    json_array_size(groups));
	say(d, "VFIO:    %s\n", json_is_true(json_object_get(vfio, "container")) ? "/dev/vfio/vfio present" : "not loaded");
	say(d, "PCI:     %zu functions, %zu SR-IOV PFs\n", json_array_size(pci), json_array_size(json_object_get(h, "sriov")));
	json_array_foreach(groups, i, g) {
		if (!json_is_true(json_object_get(g, "viable")))
			continue;
		if (viable++ < 8) {
			json_t *m;
			size_t k;

			say(d, "  group %" JSON_INTEGER_FORMAT " could be passed through:", cli_num(g, "group"));
			json_array_foreach(json_object_get(g, "members"), k, m)
				say(d, " %s(%s)", cli_str(m, "bdf"), cli_str(m, "driver"));
			say(d, "\n");
		}
	}
	if (!json_array_size(groups))
		say(d, "  no device can be passed through with VFIO here: no IOMMU groups\n");
	json_array_foreach(json_object_get(h, "hints"), i, hint)
		if (json_is_true(json_object_get(hint, "required")))
			say(d, "  missing: %s\n    fix: %s\n", cli_str(hint, "problem"), cli_str(hint, "fix"));
	json_object_set_new(d->report, "host",
			    json_pack("{s:s,s:b,s:b,s:i,s:i,s:i}", "kernel", cli_str(h, "kernel"), "kvm",
				      json_is_true(json_object_get(kvm, "present")), "iommu",
				      json_is_true(json_object_get(iommu, "present")), "iommu_groups", (int)json_array_size(groups),
				      "viable_groups", (int)viable, "pci_functions", (int)json_array_size(pci)));
	json_decref(h);
	json_decref(groups);
	json_decref(pci);
	return 0;
}

static int start_switch(struct demo *d)
{
	json_t *st = NULL, *info = NULL;

	if (cli_dcall(d->c, "switch.status", NULL, &st) != EXIT_OK)
		return -EIO;
	d->started_switch = strcmp(cli_str(st, "state"), "running") != 0;
	json_decref(st);
	if (d->started_switch) {
		if (cli_dcall(d->c, "switch.start", NULL, NULL) != EXIT_OK)
			return -EIO;
		say(d, "starting iovswitch ");
	}
	for (int i = 0; i < 300; i++) {
		if (cli_dcall(d->c, "switch.status", NULL, &st) != EXIT_OK)
			return -EIO;
		if (!strcmp(cli_str(st, "state"), "running"))
			break;
		if (i == 299 || (!strcmp(cli_str(st, "state"), "stopped") && !json_is_true(json_object_get(st, "wanted")))) {
			cli_error("iovswitch did not come up (state %s; log: %s)", cli_str(st, "state"), cli_str(st, "log"));
			json_decref(st);
			return -ETIMEDOUT;
		}
		json_decref(st);
		st = NULL;
		if (i % 10 == 0)
			say(d, ".");
		usleep(100000);
	}
	if (cli_dcall(d->c, "switch.info", NULL, &info) != EXIT_OK) {
		json_decref(st);
		return -EIO;
	}
	say(d, "%siovswitch %s, pid %" JSON_INTEGER_FORMAT ", %s, log %s\n", d->started_switch ? "\n" : "",
	    cli_str(info, "version"), cli_num(st, "pid"),
	    json_is_true(json_object_get(info, "hugepages")) ? "on hugepages" : "no hugepages (memfd)", cli_str(st, "log"));
	json_decref(st);
	json_decref(info);
	return 0;
}

/* Removes guests a previous demo left behind. */
static void clear_guest(struct demo *d, const char *name)
{
	json_t *v = NULL;
	struct iov_rpc_error e;

	if (iov_client_call(d->c, "vm.info", json_pack("{s:s}", "name", name), &v, &e) < 0)
		return;
	if (!strcmp(cli_str(v, "state"), "running") || !strcmp(cli_str(v, "state"), "stopping")) {
		cli_dcall(d->c, "vm.stop", json_pack("{s:s,s:b}", "name", name, "force", 1), NULL);
		cli_vm_wait(d->c, name, 10);
	}
	cli_dcall(d->c, "vm.destroy", json_pack("{s:s}", "name", name), NULL);
	json_decref(v);
}

static int create_guests(struct demo *d)
{
	char a[256], b[256];

	snprintf(a, sizeof(a), "net=echo count=%lu timeout=120", d->pings + d->frames);
	snprintf(b, sizeof(b), "net=send peer=%s pings=%lu count=%lu size=%lu window=64 timeout=120", MAC_A, d->pings,
		 d->frames, d->size);
	clear_guest(d, "demo-a");
	clear_guest(d, "demo-b");
	if (cli_dcall(d->c, "vm.create", json_pack("{s:s,s:s,s:i,s:[{s:s}]}", "name", "demo-a", "cmdline", a, "timeout", 180,
						   "nics", "mac", MAC_A), NULL) != EXIT_OK ||
	    cli_dcall(d->c, "vm.create", json_pack("{s:s,s:s,s:i,s:[{s:s}]}", "name", "demo-b", "cmdline", b, "timeout", 180,
						   "nics", "mac", MAC_B), NULL) != EXIT_OK)
		return -EIO;
	say(d, "demo-a (%s): %s\ndemo-b (%s): %s\n", MAC_A, a, MAC_B, b);
	return 0;
}

/* Starts both guests and follows their vm.state events until both stopped. */
static int run_guests(struct demo *d)
{
	int stopped = 0;
	time_t deadline = time(NULL) + 200;

	if (cli_dcall(d->c, "events.subscribe", NULL, NULL) != EXIT_OK ||
	    cli_dcall(d->c, "vm.start", json_pack("{s:s}", "name", "demo-a"), NULL) != EXIT_OK ||
	    cli_dcall(d->c, "vm.start", json_pack("{s:s}", "name", "demo-b"), NULL) != EXIT_OK)
		return -EIO;
	say(d, "both guests started; demo-b pings demo-a %lu times, then streams %lu frames of %lu bytes to it\n",
	    d->pings, d->frames, d->size);
	while (stopped < 2) {
		json_t *ev = NULL;
		int r = iov_client_next_event(d->c, 5000, &ev);

		if (r == -ETIMEDOUT) {
			if (time(NULL) > deadline) {
				cli_error("the guests did not finish within 200 s");
				return -ETIMEDOUT;
			}
			say(d, "  ... still running\n");
			continue;
		}
		if (r < 0) {
			cli_error("iovkitd's events: %s", iov_strerror(r));
			return r;
		}
		if (!strcmp(cli_str(ev, "event"), "vm.state") && !strncmp(cli_str(ev, "name"), "demo-", 5)) {
			say(d, "  %s: %s%s%s\n", cli_str(ev, "name"), cli_str(ev, "state"), json_is_string(json_object_get(ev, "reason")) ? ": " : "",
			    json_is_string(json_object_get(ev, "reason")) ? cli_str(ev, "reason") : "");
			stopped += !strcmp(cli_str(ev, "state"), "stopped");
		}
		json_decref(ev);
	}
	return 0;
}

static const char *line_with(const char *text, const char *prefix)
{
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, prefix, strlen(prefix)))
			return p;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

static int report(struct demo *d)
{
	json_t *a = NULL, *b = NULL, *ports = json_array();
	unsigned long sent = 0, answered = 0, rmin = 0, ravg = 0, rmax = 0, fsent = 0, fans = 0, lost = 0, us = 0, fps = 0,
		      mbit = 0;
	const char *ping, *send;
	bool ok;

	if (cli_dcall(d->c, "vm.info", json_pack("{s:s}", "name", "demo-a"), &a) != EXIT_OK ||
	    cli_dcall(d->c, "vm.info", json_pack("{s:s}", "name", "demo-b"), &b) != EXIT_OK) {
		json_decref(a);
		json_decref(ports);
		return -EIO;
	}
	ok = cli_num(a, "exit_status") == 0 && cli_num(b, "exit_status") == 0 && json_is_integer(json_object_get(a, "exit_status")) &&
	     json_is_integer(json_object_get(b, "exit_status"));
	ping = line_with(cli_str(b, "console_tail"), "net: ping ");
	send = line_with(cli_str(b, "console_tail"), "net: send ");
	if (!ping || sscanf(ping, "net: ping %lu sent %lu answered rtt_us min %lu avg %lu max %lu", &sent, &answered,
			    &rmin, &ravg, &rmax) != 5)
		ok = false;
	if (!send || sscanf(send, "net: send %*u: %lu sent, %lu answered, %lu lost in %lu us: %lu frames/s %lu Mbit/s",
			    &fsent, &fans, &lost, &us, &fps, &mbit) != 6)
		ok = false;

	step(d, "report");
	if (ping)
		say(d, "latency:     %lu of %lu round trips demo-b -> iovswitch -> demo-a -> back: min %lu us, avg %lu us, "
		       "max %lu us\n", answered, sent, rmin, ravg, rmax);
	if (send)
		say(d, "throughput:  %lu frames of %lu bytes each way, %lu answered, %lu lost, in %.2f s: %lu frames/s, "
		       "%lu Mbit/s\n", fsent, d->size, fans, lost, us / 1e6, fps, mbit);
	say(d, "\n%-14s %10s %12s %10s %12s %7s\n", "PORT", "RX PACKETS", "RX BYTES", "TX PACKETS", "TX BYTES", "DROPS");
	for (int g = 0; g < 2; g++) {
		json_t *nic = json_array_get(json_object_get(g ? b : a, "nics"), 0), *st = json_object_get(nic, "stats");

		say(d, "%-14s %10" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT
		       " %12" JSON_INTEGER_FORMAT " %7" JSON_INTEGER_FORMAT "\n",
		    cli_str(nic, "port"), cli_num(st, "rx_packets"), cli_num(st, "rx_bytes"), cli_num(st, "tx_packets"), cli_num(st, "tx_bytes"),
		    cli_num(json_object_get(st, "drops"), "total"));
		json_array_append(ports, st ? st : json_null());
	}
	say(d, "\nguests:      demo-a %s; demo-b %s\n", cli_str(a, "reason"), cli_str(b, "reason"));
	if (!ok) {
		say(d, "\nsomething failed; demo-b's console:\n%s\ndemo-a's console:\n%s", cli_str(b, "console_tail"),
		    cli_str(a, "console_tail"));
	}
	json_object_set_new(d->report, "latency_us",
			    ping ? json_pack("{s:i,s:i,s:i,s:i,s:i}", "count", (int)sent, "answered", (int)answered, "min",
					     (int)rmin, "avg", (int)ravg, "max", (int)rmax) : json_null());
	json_object_set_new(d->report, "throughput",
			    send ? json_pack("{s:i,s:i,s:i,s:i,s:I,s:i,s:i}", "frames", (int)fsent, "size", (int)d->size,
					     "answered", (int)fans, "lost", (int)lost, "us", (json_int_t)us, "frames_per_s",
					     (int)fps, "mbit_per_s", (int)mbit) : json_null());
	json_object_set_new(d->report, "ports", ports);
	json_object_set_new(d->report, "guests", json_pack("[{s:s,s:O,s:s?},{s:s,s:O,s:s?}]", "name", "demo-a",
							    "exit_status", json_object_get(a, "exit_status"), "reason",
							    json_string_value(json_object_get(a, "reason")), "name", "demo-b",
							    "exit_status", json_object_get(b, "exit_status"), "reason",
							    json_string_value(json_object_get(b, "reason"))));
	json_object_set_new(d->report, "ok", json_boolean(ok));
	json_decref(a);
	json_decref(b);
	return ok ? 0 : -EIO;
}

static void teardown(struct demo *d, bool keep)
{
	if (!d->c)
		return;
	step(d, "teardown");
	if (keep) {
		say(d, "--keep: leaving the guests (stopped), iovswitch and iovkitd as they are\n");
		return;
	}
	clear_guest(d, "demo-a");
	clear_guest(d, "demo-b");
	say(d, "guests destroyed, their switch ports removed\n");
	if (d->started_switch && cli_dcall(d->c, "switch.stop", NULL, NULL) == EXIT_OK) {
		/* Wait for it, so iovkitd collects its exit before going away itself. */
		for (int i = 0; i < 100; i++) {
			json_t *st = NULL;
			bool stopped = cli_dcall(d->c, "switch.status", NULL, &st) != EXIT_OK ||
				       !strcmp(cli_str(st, "state"), "stopped");

			json_decref(st);
			if (stopped)
				break;
			usleep(100000);
		}
		say(d, "iovswitch stopped\n");
	}
	if (d->started_daemon && cli_dcall(d->c, "daemon.shutdown", NULL, NULL) == EXIT_OK) {
		int status;

		for (int i = 0; i < 100 && waitpid(d->daemon_pid, &status, WNOHANG) == 0; i++)
			usleep(100000);
		say(d, "iovkitd stopped\n");
	}
}

enum { OPT_SOCKET = 1200, OPT_PINGS, OPT_FRAMES, OPT_SIZE, OPT_KEEP };

int cmd_demo(struct cli *cli)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "pings", required_argument, NULL, OPT_PINGS },
		{ "frames", required_argument, NULL, OPT_FRAMES },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "keep", no_argument, NULL, OPT_KEEP },
		CLI_OPT_JSON,
		{ NULL, 0, NULL, 0 },
	};
	struct demo d = { .cli = cli, .pings = 50, .frames = 2000, .size = 1514 };
	bool keep = false;
	int opt, r;

	while ((opt = cli_next_opt(cli, "demo", opts)) != -1) {
		switch (opt) {
		case OPT_SOCKET: d.sock = optarg; break;
		case OPT_PINGS:
			if (cli_number(optarg, 10, 100000, &d.pings) < 0 || !d.pings)
				return cli_usage("demo", "--pings takes 1..100000");
			break;
		case OPT_FRAMES:
			if (cli_number(optarg, 10, 10000000, &d.frames) < 0 || !d.frames)
				return cli_usage("demo", "--frames takes 1..10000000");
			break;
		case OPT_SIZE:
			if (cli_number(optarg, 10, 1514, &d.size) < 0 || d.size < 60)
				return cli_usage("demo", "--size takes 60..1514 (bytes per frame)");
			break;
		case OPT_KEEP: keep = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind < cli->argc)
		return cli_usage("demo", "takes no arguments");
	d.sock = d.sock ? d.sock : iov_client_default_socket();
	d.report = json_object();
	if (!d.report)
		return EXIT_FAIL;

	step(&d, "iovkitd");
	r = iov_client_open(d.sock, &d.c);
	if (r < 0 && r != -ENOENT && r != -ECONNREFUSED) {
		cli_error("cannot reach iovkitd at %s: %s", d.sock, iov_strerror(r));
		return EXIT_FAIL;
	}
	if (r < 0)
		r = start_daemon(&d);
	if (r == 0) {
		json_t *v = NULL;

		iov_client_set_timeout(d.c, 30000);
		r = cli_dcall(d.c, "daemon.version", NULL, &v) == EXIT_OK ? 0 : -EIO;
		if (r == 0)
			say(&d, "iovkitd %s, pid %" JSON_INTEGER_FORMAT " (%s), socket %s\n", cli_str(v, "version"), cli_num(v, "pid"),
			    d.started_daemon ? "started for the demo" : "already running", d.sock);
		if (r == 0 && !json_is_true(json_object_get(json_object_get(v, "caller"), "may_mutate"))) {
			cli_error("iovkitd lets this user only read; the demo starts guests (run it as root)");
			r = -EPERM;
		}
		json_decref(v);
	}
	if (r == 0) {
		step(&d, "host");
		r = show_host(&d);
	}
	if (r == 0) {
		step(&d, "iovswitch");
		r = start_switch(&d);
	}
	if (r == 0) {
		step(&d, "guests");
		r = create_guests(&d);
	}
	if (r == 0)
		r = run_guests(&d);
	if (r == 0 || r == -ETIMEDOUT)
		r = report(&d);
	teardown(&d, keep);
	iov_client_free(d.c);
	if (cli->json)
		cli_print_json(d.report);
	else
		json_decref(d.report);
	if (!cli->json)
		printf("\n%s\n", r == 0 ? "demo: ok" : "demo: FAILED");
	return r == 0 ? EXIT_OK : EXIT_FAIL;
}
