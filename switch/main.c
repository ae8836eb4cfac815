/* SPDX-License-Identifier: MIT */
/*
 * iovswitch: the data path. Runs DPDK's EAL, forwards between vhost-user and DPDK ports on a
 * worker lcore, and serves JSON-RPC 2.0 on a Unix socket on the main lcore (docs/switch.md).
 *
 * Threat model for the control socket: any local process that can open it (mode 0660) may
 * send anything; the framing and dispatch (iovkit/jsonrpc.h) bound and check it, a client
 * whose uid is neither root nor ours may only read, and at most IOV_RPC_MAX_CLIENTS are served
 * (iov_rpc_server_*).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include "iovkit/common.h"
#include "iovkit/jsonrpc.h"
#include "switch-rpc.h"

#define NB_MBUF 16383
#define MBUF_CACHE 256

static const char usage_text[] =
	"Usage: iovswitch [OPTIONS] [-- EAL-ARGUMENTS...]\n"
	"\n"
	"The iovkit data path: a VLAN-aware learning switch between vhost-user ports (guests'\n"
	"virtio-net) and DPDK ports (VFs, PFs, net_tap, net_af_packet, ...), driven over JSON-RPC.\n"
	"\n"
	"  --socket PATH    control socket (default /run/iovkit/iovswitch.sock)\n"
	"  --state FILE     save ports, cross-connects and pools to FILE after every change and\n"
	"                   restore them at start (default: remember nothing)\n"
	"  --lcores LIST    EAL lcores: the first controls, the second forwards (default 0,1)\n"
	"  --hugepages      use hugepages (default: none, --no-huge with MEMORY MiB of memfd memory)\n"
	"  --memory MB      memory without hugepages (default 512)\n"
	"  --pci            let DPDK scan the PCI bus (default --no-pci; needed for VF/PF ports)\n"
	"  --idle-sleep US  let the idle worker nap, up to US microseconds at a time (0..10000;\n"
	"                   default 0: it polls without pause, spinning its core)\n"
	"  --verbose        keep DPDK's informational logs\n"
	"  --no-seccomp     do not refuse what a data path never does (programs, processes,\n"
	"                   mounts, kernel code; see iovswitch(8)): debugging only\n"
	"  -h, --help       this text\n"
	"  --version        the version\n"
	"\n"
	"EAL-ARGUMENTS after -- are passed to DPDK as they are, after iovswitch's own.\n"
	"SIGINT or SIGTERM stops it cleanly: ports closed, the socket removed, exit status 0.\n";

static void sw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sw_log(const char *fmt, ...)
{
	va_list ap;

	fputs("iovswitch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the worker ---- */

void sw_pause(struct sw *sw)
{
	if (!atomic_load(&sw->worker_running))
		return;
	atomic_store(&sw->pause_req, true);
	while (!atomic_load(&sw->paused))
		rte_pause();
}

void sw_resume(struct sw *sw)
{
	if (!atomic_load(&sw->worker_running))
		return;
	atomic_store(&sw->pause_req, false);
	while (atomic_load(&sw->paused))
		rte_pause();
}

/*
 * An idle worker may nap (--idle-sleep), as OVS's PMD threads do with pmd-maxsleep: after
 * IDLE_SPINS rounds in a row that received nothing it sleeps 1 µs, then twice as long after each
 * further empty round, up to idle_sleep_us; the first round that receives a frame ends the
 * naps. A frame that comes during a nap waits for its end (at most idle_sleep_us more latency);
 * frontends are not asked to kick, so nothing wakes the worker early. The worker's timer slack
 * is 1 µs, or each nap would last at least the default 50 µs.
 */
#define IDLE_SPINS 1024

static void idle_nap(struct sw *sw, unsigned int *nap_us)
{
	struct timespec t0, t1, d;

	*nap_us = *nap_us ? RTE_MIN(*nap_us * 2, sw->idle_sleep_us) : 1;
	d = (struct timespec){ .tv_nsec = (long)*nap_us * 1000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nanosleep(&d, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	__atomic_store_n(&sw->naps, sw->naps + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&sw->slept_ns,
			 sw->slept_ns + (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec)),
			 __ATOMIC_RELAXED);
}

static int worker_main(void *arg)
{
	struct sw *sw = arg;
	unsigned int empty = 0, nap_us = 0;

	if (sw->idle_sleep_us)
		prctl(PR_SET_TIMERSLACK, 1000UL);
	while (!atomic_load_explicit(&sw->stop, memory_order_relaxed)) {
		if (atomic_load_explicit(&sw->pause_req, memory_order_acquire)) {
			/* fwd_poll() returns with every transmit buffer flushed: a safe point. */
			atomic_store(&sw->paused, true);
			while (atomic_load(&sw->pause_req) && !atomic_load(&sw->stop))
				rte_pause();
			atomic_store(&sw->paused, false);
			continue;
		}
		uint64_t t0 = rte_rdtsc();
		unsigned int n = fwd_poll(sw);
		if (n) {
			__atomic_store_n(&sw->busy_cycles, sw->busy_cycles + (rte_rdtsc() - t0), __ATOMIC_RELAXED);
			__atomic_store_n(&sw->busy_packets, sw->busy_packets + n, __ATOMIC_RELAXED);
			__atomic_store_n(&sw->busy_rounds, sw->busy_rounds + 1, __ATOMIC_RELAXED);
			empty = nap_us = 0;
		} else if (sw->idle_sleep_us) {
			if (empty < IDLE_SPINS)
				empty++;
			else
				idle_nap(sw, &nap_us);
		}
	}
	return 0;
}

/* ---- state ---- */

/*
 * The state file is the list of requests that rebuild the switch: port.add for each port,
 * port.xconnect for each pair, pool.assign for each pool. Restoring replays them through the
 * same dispatcher a client uses, so a saved state is checked exactly as a request would be.
 */
static json_t *state_requests(struct sw_ctl *ctl)
{
	json_t *list = json_array(), *by_uplink, *a;
	const char *uplink, *pool;

	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (ctl->sw->ports[i].used)
			json_array_append_new(list, json_pack("{s:s,s:O}", "method", "port.add", "params",
							      ctl->sw->ports[i].spec));
	for (int i = 0; i < SW_MAX_BLK; i++)
		if (ctl->blk[i].used)
			json_array_append_new(list, json_pack("{s:s,s:O}", "method", "blk.add", "params", ctl->blk[i].spec));
	for (int i = 0; i < SW_MAX_PORTS; i++) {
		const struct sw_port *p = &ctl->sw->ports[i];
		if (p->used && p->xconnect > i)
			json_array_append_new(list, json_pack("{s:s,s:{s:s,s:s}}", "method", "port.xconnect", "params",
							      "name", p->name, "peer", ctl->sw->ports[p->xconnect].name));
	}
	json_object_foreach(ctl->pools, uplink, by_uplink)
		json_object_foreach(by_uplink, pool, a)
			json_array_append_new(list, json_pack("{s:s,s:O}", "method", "pool.assign", "params", a));
	return list;
}

static bool restoring;

void ctl_save(struct sw_ctl *ctl)
{
	json_t *root;
	char *text;
	int r = -ENOMEM;

	if (!ctl->state_path || restoring)
		return;
	root = json_pack("{s:i,s:o}", "version", 1, "requests", state_requests(ctl));
	text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
	if (text)
		r = iov_file_replace(ctl->ctx, text, strlen(text), 0600, "%s", ctl->state_path);
	if (r < 0)
		sw_log("saving %s: %s (the running switch is unchanged; a restart would not restore it)",
		       ctl->state_path, iov_strerror(r));
	free(text);
	json_decref(root);
}

static void state_restore(struct sw_ctl *ctl)
{
	json_error_t jerr;
	json_t *root, *reqs, *req;
	size_t i;
	unsigned int ok = 0, failed = 0;

	root = json_load_file(ctl->state_path, 0, &jerr);
	if (!root) {
		if (access(ctl->state_path, F_OK) == 0)
			sw_log("%s is unreadable (%s): starting empty; move it aside to keep it", ctl->state_path,
			       jerr.text);
		return;
	}
	reqs = json_object_get(root, "requests");
	restoring = true;
	json_array_foreach(reqs, i, req) {
		json_t *call = json_pack("{s:s,s:O?,s:O?,s:I}", "jsonrpc", "2.0", "method", json_object_get(req, "method"),
					 "params", json_object_get(req, "params"), "id", (json_int_t)i);
		char *line = call ? json_dumps(call, JSON_COMPACT) : NULL, *reply = NULL;
		json_t *answer;

		if (line && iov_rpc_dispatch(&sw_service, ctl, true, line, strlen(line), &reply) == 0 && reply) {
			answer = json_loads(reply, 0, NULL);
			if (json_object_get(answer, "error")) {
				failed++;
				sw_log("restoring %s: %s", line,
				       json_string_value(json_object_get(json_object_get(answer, "error"), "message")));
			} else {
				ok++;
			}
			json_decref(answer);
		}
		free(reply);
		free(line);
		json_decref(call);
	}
	restoring = false;
	json_decref(root);
	sw_log("restored %u of %u saved requests from %s", ok, ok + failed, ctl->state_path);
	if (failed) {
		/* The next save drops what failed (a device that is not back yet, say): keep the
		 * whole old file beside it for whoever wants to replay it by hand. */
		char prev[PATH_MAX];
		snprintf(prev, sizeof(prev), "%s.prev", ctl->state_path);
		if (rename(ctl->state_path, prev) == 0)
			sw_log("the saved state as it was is in %s", prev);
	}
	ctl_save(ctl);
}

/* ---- the control socket ---- */

static int serve(struct iov_rpc_server *srv, int sfd)
{
	struct pollfd pfd[1 + IOV_RPC_SERVER_POLLFDS];

	for (;;) {
		nfds_t n = 1 + iov_rpc_server_pollfds(srv, pfd + 1);

		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (poll(pfd, n, -1) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents)
			break;
		iov_rpc_server_handle(srv, pfd + 1);
	}
	return 0;
}

/* ---- start and stop ---- */

struct options {
	const char *socket, *state, *lcores;
	bool hugepages, pci, verbose, no_seccomp;
	int memory_mb, idle_sleep_us;
};

/* optarg as a whole number in [min, max], or -1 after saying what was wrong. */
static int int_option(const char *name, const char *what, unsigned long min, unsigned long max)
{
	unsigned long v;

	if (iov_parse_ulong(optarg, 10, min, max, &v) < 0) {
		fprintf(stderr, "iovswitch: %s %s: %s, %lu..%lu\n", name, optarg, what, min, max);
		return -1;
	}
	return (int)v;
}

static int parse_options(int argc, char **argv, struct options *o, int *ret_eal_first)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' }, { "state", required_argument, NULL, 'S' },
		{ "lcores", required_argument, NULL, 'l' }, { "hugepages", no_argument, NULL, 'H' },
		{ "memory", required_argument, NULL, 'm' }, { "pci", no_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },      { "idle-sleep", required_argument, NULL, 'i' },
		{ "no-seccomp", no_argument, NULL, 'N' },   { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .socket = "/run/iovkit/iovswitch.sock", .lcores = "0,1", .memory_mb = 512 };
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'S': o->state = optarg; break;
		case 'l': o->lcores = optarg; break;
		case 'H': o->hugepages = true; break;
		case 'P': o->pci = true; break;
		case 'v': o->verbose = true; break;
		case 'N': o->no_seccomp = true; break;
		case 'm':
			if ((o->memory_mb = int_option("--memory", "a number of MiB", 64, 65536)) < 0)
				return 2;
			break;
		case 'i':
			if ((o->idle_sleep_us = int_option("--idle-sleep", "microseconds", 0, 10000)) < 0)
				return 2;
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("iovswitch %s\n", IOVKIT_VERSION); return 0;
		default: fputs("Try 'iovswitch --help'.\n", stderr); return 2;
		}
	}
	*ret_eal_first = optind;
	return -1;
}

int main(int argc, char **argv)
{
	static struct sw sw;
	struct options o;
	struct sw_ctl ctl = { .sw = &sw };
	char prefix[48], mem[16], *eal[64];
	int eal_first, n = 0, r, sfd;
	struct iov_rpc_server srv;
	unsigned int worker;
	sigset_t mask;

	r = parse_options(argc, argv, &o, &eal_first);
	if (r >= 0)
		return r;
	if (argc - eal_first > 40) {
		sw_log("too many EAL arguments");
		return 2;
	}
	/* Each iovswitch is its own DPDK primary: no shared runtime files with other DPDK
	 * processes (testpmd, another switch). */
	snprintf(prefix, sizeof(prefix), "--file-prefix=iovswitch-%d", (int)getpid());
	snprintf(mem, sizeof(mem), "%d", o.memory_mb);
	eal[n++] = argv[0];
	eal[n++] = (char *)"-l";
	eal[n++] = (char *)o.lcores;
	eal[n++] = prefix;
	if (o.hugepages) {
		eal[n++] = (char *)"--in-memory";
	} else {
		/* memfd-backed memory: shareable, and HugePages_Free is left alone. */
		eal[n++] = (char *)"--no-huge";
		eal[n++] = (char *)"-m";
		eal[n++] = mem;
		eal[n++] = (char *)"--no-shconf";
	}
	if (!o.pci)
		eal[n++] = (char *)"--no-pci";
	eal[n++] = (char *)"--no-telemetry";
	if (!o.verbose)
		eal[n++] = (char *)"--log-level=*:warning";
	for (int i = eal_first; i < argc; i++)
		eal[n++] = argv[i];
	eal[n] = NULL;

	/* Blocked before the EAL starts its threads, so they inherit the mask and the signals
	 * reach only the signalfd the control loop reads. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (rte_eal_init(n, eal) < 0) {
		sw_log("DPDK's EAL did not start: %s", rte_strerror(rte_errno));
		return 1;
	}
	if (!o.no_seccomp) {
		char why[128];

		if (sw_sandbox_apply(why, sizeof(why)) < 0) {
			sw_log("%s", why);
			rte_eal_cleanup();
			return 1;
		}
	}
	worker = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
	if (worker >= RTE_MAX_LCORE) {
		sw_log("--lcores %s gives no worker: one lcore controls, another forwards (e.g. 0,1)", o.lcores);
		rte_eal_cleanup();
		return 2;
	}
	sw_init(&sw, rte_pktmbuf_pool_create("iovswitch", NB_MBUF, MBUF_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					     (int)rte_socket_id()),
		rte_get_tsc_hz());
	if (!sw.mp) {
		sw_log("no memory for %d mbufs: %s (raise --memory)", NB_MBUF, rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	sw.idle_sleep_us = (unsigned int)o.idle_sleep_us;
	ctl.worker_lcore = worker;
	ctl.pools = json_object();
	ctl.state_path = o.state;
	if (iov_ctx_new("/", &ctl.ctx) < 0)
		return 1;

	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	r = iov_rpc_server_listen(&srv, o.socket, 0660, 0, &sw_service, &ctl);
	if (r < 0) {
		sw_log("%s: %s", o.socket,
		       r == -EADDRINUSE ? "another iovswitch is serving there" : iov_strerror(r));
		rte_eal_cleanup();
		return 1;
	}
	if (o.state)
		state_restore(&ctl);
	atomic_store(&sw.worker_running, true);
	rte_eal_remote_launch(worker_main, &sw, worker);
	sw_log("ready: control socket %s, forwarding on lcore %u, %s, %s", o.socket, worker,
	       rte_eal_has_hugepages() ? "hugepages" : "no hugepages",
	       o.idle_sleep_us ? "naps when idle" : "polling without pause");

	r = serve(&srv, sfd);

	sw_log("stopping");
	atomic_store(&sw.stop, true);
	rte_eal_mp_wait_lcore();
	atomic_store(&sw.worker_running, false);
	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (sw.ports[i].used)
			port_del(&sw, i);
	ctl_blk_free_all(&ctl);
	iov_rpc_server_close(&srv);
	unlink(o.socket);
	json_decref(ctl.pools);
	iov_ctx_free(ctl.ctx);
	rte_eal_cleanup();
	return r < 0 ? 1 : 0;
}
