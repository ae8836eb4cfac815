/* SPDX-License-Identifier: MIT */
/*
 * iovkitd: the iovkit daemon. One per host; owns host state, serves JSON-RPC 2.0 on a Unix
 * socket (docs/api.md), supervises iovswitch and the guests' iovm processes, and keeps what it
 * runs in a state file so a restart, or a kill -9, adopts them instead of losing them.
 *
 * Threat model: anything that can open the socket may send anything (the framing and the
 * dispatcher in common/ bound and check it). The socket's mode lets the socket's group in;
 * methods that change the host are refused unless the peer (SO_PEERCRED) is root, iovkitd's
 * own uid, or in the admin group; each connection's decision is logged.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "iovkit/client.h"
#include "iovkit/iommu.h"
#include "iovkit/sriov.h"
#include "iovkit/vgpu.h"
#include "iovkit-internal/macro.h"
#include "iovkit-internal/sibling.h"

#define MAX_CLIENTS 256

static const char usage_text[] =
	"Usage: iovkitd [OPTIONS]\n"
	"\n"
	"The iovkit daemon: JSON-RPC 2.0 on a Unix socket (docs/api.md); runs iovswitch and guests\n"
	"(iovm) and keeps them across its own restarts. With no options it serves the running host.\n"
	"\n"
	"  --socket PATH       the API socket (default " IOVKITD_SOCKET "); ignored when systemd\n"
	"                      passes a socket (socket activation)\n"
	"  --socket-group NAME the socket's group, which may read (default: iovkit, if it exists)\n"
	"  --admin-group NAME  members may also change state (default: only root and our uid)\n"
	"  --run-dir DIR       children's sockets and logs (default /run/iovkit)\n"
	"  --state-dir DIR     state, relative to --root (default var/lib/iovkit)\n"
	"  --root DIR          host root for /sys, /dev, /proc (tests use fixture trees)\n"
	"  --iovswitch PATH    --iovm PATH    --guest PATH\n"
	"                      the programs it runs and the default guest kernel (default: beside\n"
	"                      iovkitd in a build tree, else installed)\n"
	"  --switch-memory MB  iovswitch's memory without hugepages (default 256)\n"
	"  --switch-hugepages  run iovswitch on hugepages instead (reserve them first)\n"
	"  --switch-idle-sleep US\n"
	"                      let iovswitch's idle worker nap up to US microseconds at a time\n"
	"                      (0..10000; default 0: it polls without pause, spinning its core)\n"
	"  --verbose           also log debug messages (each client's access decision)\n"
	"  -h, --help          this text      --version   the version\n"
	"\n"
	"SIGTERM or SIGINT stops iovkitd; iovswitch and the guests keep running, and the next\n"
	"iovkitd adopts them. daemon.shutdown with \"stop_children\": true stops them too.\n";

static int log_max = 6;

void dlog(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_max)
		return;
	fprintf(stderr, "<%d>iovkitd: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void daemon_event(struct daemon *d, const char *type, json_t *fields)
{
	struct timespec ts;
	char *text;
	json_t *msg;

	if (!fields)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(fields, "event", json_string(type));
	json_object_set_new(fields, "time", json_real((double)ts.tv_sec + ts.tv_nsec / 1e9));
	json_object_set_new(fields, "seq", json_integer(++d->events_sent));
	msg = json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method", "event", "params", fields);
	text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	for (size_t i = 0; text && i < d->rpc.max_clients; i++) {
		struct iov_rpc_client *c = &d->rpc.clients[i];

		/* A subscriber that does not read is cut off; its fd then reads as hung up. */
		if (c->fd >= 0 && c->subscribed && iov_rpc_send_line(c->fd, text) < 0) {
			dlog(5, "client pid %d does not read its events; disconnecting it", (int)c->cred.pid);
			c->subscribed = false;
			shutdown(c->fd, SHUT_RDWR);
		}
	}
	free(text);
}

/* ---- the socket ---- */

static bool authorize(void *userdata, int fd, const struct ucred *cred)
{
	struct daemon *d = userdata;
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	const char *why = NULL;

	if (cred->uid == 0)
		why = "root";
	else if (cred->uid == geteuid())
		why = "iovkitd's uid";
	else if (d->admin_gid != (gid_t)-1) {
		if (cred->gid == d->admin_gid)
			why = "admin group";
		if (!why && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
			for (size_t i = 0; i < len / sizeof(gid_t) && !why; i++)
				if (groups[i] == d->admin_gid)
					why = "admin group";
	}
	dlog(7, "client pid %d uid %u: %s%s%s", (int)cred->pid, (unsigned int)cred->uid, why ? "may change state (" : "read-only",
	     why ? why : "", why ? ")" : "");
	if (!why)
		dlog(6, "client pid %d uid %u may only read", (int)cred->pid, (unsigned int)cred->uid);
	return why != NULL;
}

static struct daemon *the_daemon;       /* serve_client gets the client as its userdata */

static int serve_client(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = the_daemon;
	struct iov_rpc_client *c = userdata;

	if (iov_rpc_server_serve(&d->rpc, c) < 0 || (revents & (EPOLLHUP | EPOLLERR) && !(revents & EPOLLIN))) {
		sd_event_source_disable_unref(s);
		c->data = NULL;
		iov_rpc_server_drop(&d->rpc, c);
	}
	return 0;
}

static int on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;
	struct iov_rpc_client *c;

	while ((c = iov_rpc_server_accept(&d->rpc))) {
		sd_event_source *src = NULL;

		if (sd_event_add_io(d->ev, &src, c->fd, EPOLLIN, serve_client, c) < 0) {
			iov_rpc_server_drop(&d->rpc, c);
			continue;
		}
		c->data = src;
	}
	return 0;
}

/* ---- the daemon's own methods ---- */

static int m_version(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct iov_rpc_client *c = d->rpc.caller;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	*ret = json_pack("{s:s,s:i,s:s,s:s,s:s,s:{s:i,s:b}}", "version", IOVKIT_VERSION, "pid", (int)getpid(),
			 "root", iov_ctx_root(d->ctx), "state_dir", iov_ctx_state_dir(d->ctx), "run_dir", d->run_dir,
			 "caller", "uid", c ? (int)c->cred.uid : -1, "may_mutate", c && c->may_mutate);
	return 0;
}

static int m_subscribe(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	if (!d->rpc.caller)
		return iov_rpc_fail(e, IOV_RPC_INTERNAL_ERROR, EINVAL, "no caller");
	d->rpc.caller->subscribed = true;
	*ret = json_pack("{s:b,s:I}", "subscribed", 1, "seq", d->events_sent);
	return 0;
}

static int on_exit_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int m_shutdown(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	int stop = 0, r = iov_rpc_params(e, params, "{s?:b}", "stop_children", &stop);

	if (r < 0)
		return r;
	if (stop) {
		d->sw.wanted = false;
		for (unsigned int i = 0; i < d->n_vms; i++)
			proc_signal(&d->vms[i]->proc, SIGKILL);
		proc_signal(&d->sw.proc, SIGTERM);
	}
	dlog(5, "shutting down on request%s", stop ? ", with iovswitch and the guests" : "");
	/* Leave the loop after this answer went out; children that were signalled are not waited for. */
	sd_event_add_time_relative(d->ev, NULL, CLOCK_MONOTONIC, 1000, 0, on_exit_timer, d);
	*ret = json_true();
	return 0;
}

static const struct iov_rpc_method daemon_methods[] = {
	{ "daemon.version", m_version, 0, "version, pid, paths, and what the caller may do", NULL },
	{ "daemon.shutdown", m_shutdown, IOV_RPC_MUTATES, "stops iovkitd (stop_children: iovswitch and guests too)",
	  "{\"type\":\"object\",\"properties\":{\"stop_children\":{\"type\":\"boolean\",\"default\":false}}}" },
	{ "events.subscribe", m_subscribe, 0,
	  "this connection receives \"event\" notifications: vm.state, switch.state, device.bound, "
	  "device.restored, sriov.numvfs",
	  NULL },
};

/* ---- setup ---- */

static int make_run_dir(const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

enum { OPT_SOCKET = 256, OPT_SOCKET_GROUP, OPT_ADMIN_GROUP, OPT_RUN_DIR, OPT_STATE_DIR, OPT_ROOT, OPT_IOVSWITCH,
       OPT_IOVM, OPT_GUEST, OPT_SWITCH_MEMORY, OPT_SWITCH_HUGEPAGES, OPT_SWITCH_IDLE_SLEEP, OPT_VERSION, OPT_VERBOSE };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
		{ "admin-group", required_argument, NULL, OPT_ADMIN_GROUP },
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "iovswitch", required_argument, NULL, OPT_IOVSWITCH },
		{ "iovm", required_argument, NULL, OPT_IOVM },
		{ "guest", required_argument, NULL, OPT_GUEST },
		{ "switch-memory", required_argument, NULL, OPT_SWITCH_MEMORY },
		{ "switch-hugepages", no_argument, NULL, OPT_SWITCH_HUGEPAGES },
		{ "switch-idle-sleep", required_argument, NULL, OPT_SWITCH_IDLE_SLEEP },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { .run_dir = "/run/iovkit", .switch_memory = 256, .admin_gid = (gid_t)-1, .uevent_fd = -1,
			    .rpc = { .listen_fd = -1 }, .sw = { .proc = { .pidfd = -1 } } };
	char path_switch[PATH_MAX], path_iovm[PATH_MAX], path_guest[PATH_MAX];
	struct iov_rpc_method *methods = NULL;
	int status = 1, n_fds = 0;
	const char *sock = NULL, *sock_group = NULL, *state_dir = NULL;
	struct iov_rpc_service svc = { "iovkitd", IOVKIT_VERSION, NULL, 0 };
	bool explicit_group = false, explicit_memory = false;
	gid_t sock_gid = (gid_t)-1;
	sigset_t sigs;
	unsigned long v;
	int opt, r;
	size_t n = 0;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_SOCKET_GROUP: sock_group = optarg; explicit_group = true; break;
		case OPT_ADMIN_GROUP: {
			struct group *g = getgrnam(optarg);

			if (!g) {
				fprintf(stderr, "iovkitd: --admin-group %s: no such group\n", optarg);
				return 2;
			}
			d.admin_gid = g->gr_gid;
			break;
		}
		case OPT_RUN_DIR: d.run_dir = optarg; break;
		case OPT_STATE_DIR: state_dir = optarg; break;
		case OPT_ROOT: d.root = optarg; break;
		case OPT_IOVSWITCH: d.iovswitch = optarg; break;
		case OPT_IOVM: d.iovm = optarg; break;
		case OPT_GUEST: d.guest = optarg; break;
		case OPT_SWITCH_MEMORY:
			if (iov_parse_ulong(optarg, 10, 64, 65536, &v) < 0) {
				fprintf(stderr, "iovkitd: --switch-memory %s: MiB, 64..65536\n", optarg);
				return 2;
			}
			d.switch_memory = (unsigned int)v;
			explicit_memory = true;
			break;
		case OPT_SWITCH_HUGEPAGES: d.switch_hugepages = true; break;
		case OPT_SWITCH_IDLE_SLEEP:
			if (iov_parse_ulong(optarg, 10, 0, 10000, &v) < 0) {
				fprintf(stderr, "iovkitd: --switch-idle-sleep %s: microseconds, 0..10000\n", optarg);
				return 2;
			}
			d.switch_idle_sleep_us = (unsigned int)v;
			break;
		case OPT_VERBOSE: log_max = 7; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case OPT_VERSION: printf("iovkitd %s\n", IOVKIT_VERSION); return 0;
		default: fputs("Try 'iovkitd --help'.\n", stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "iovkitd: unexpected argument %s\nTry 'iovkitd --help'.\n", argv[optind]);
		return 2;
	}
	if (explicit_memory && d.switch_hugepages) {
		fprintf(stderr, "iovkitd: --switch-memory is iovswitch's memory without hugepages; it does not go with "
				"--switch-hugepages\n");
		return 2;
	}
	if (strlen(d.run_dir) > 60 || d.run_dir[0] != '/') {
		fprintf(stderr, "iovkitd: --run-dir %s: an absolute path of at most 60 characters (socket paths "
				"are short)\n", d.run_dir);
		return 2;
	}
	d.iovswitch = d.iovswitch ?: iov_sibling_program("switch", "iovswitch", IOVKIT_BINDIR "/iovswitch", path_switch);
	d.iovm = d.iovm ?: iov_sibling_program("vmm", "iovm", IOVKIT_BINDIR "/iovm", path_iovm);
	d.guest = d.guest ?: iov_sibling_program("guest", "iovm-test-guest", IOVKIT_LIBEXECDIR "/iovm-test-guest", path_guest);
	if (!sock)
		sock = getenv("IOVKITD_SOCKET") && *getenv("IOVKITD_SOCKET") ? getenv("IOVKITD_SOCKET") : IOVKITD_SOCKET;
	if (!sock_group)
		sock_group = "iovkit";
	{
		struct group *g = getgrnam(sock_group);

		if (g)
			sock_gid = g->gr_gid;
		else if (explicit_group) {
			fprintf(stderr, "iovkitd: --socket-group %s: no such group\n", sock_group);
			return 2;
		}
	}

	r = iov_ctx_new(d.root, &d.ctx);
	if (r < 0) {
		fprintf(stderr, "iovkitd: cannot open host root %s: %s\n", d.root ? d.root : "/", iov_strerror(r));
		goto out;
	}
	if (state_dir && iov_ctx_set_state_dir(d.ctx, state_dir) < 0)
		goto out;
	r = make_run_dir(d.run_dir);
	if (r < 0) {
		fprintf(stderr, "iovkitd: cannot create %s: %s\n", d.run_dir, iov_strerror(r));
		goto out;
	}
	snprintf(d.sw.sock, sizeof(d.sw.sock), "%s/iovswitch.sock", d.run_dir);
	snprintf(d.sw.log, sizeof(d.sw.log), "%s/iovswitch.log", d.run_dir);
	snprintf(d.sw.state_file, sizeof(d.sw.state_file), "%s/iovswitch-state.json", d.run_dir);
	the_daemon = &d;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = sd_event_default(&d.ev);
	if (r < 0) {
		fprintf(stderr, "iovkitd: sd-event: %s\n", iov_strerror(r));
		goto out;
	}
	sd_event_add_signal(d.ev, NULL, SIGTERM, NULL, NULL);
	sd_event_add_signal(d.ev, NULL, SIGINT, NULL, NULL);

	/* Finish what a crash interrupted before serving anyone. */
	r = iov_bind_recover(d.ctx);
	if (r > 0)
		dlog(5, "rolled back an interrupted bind: %d devices restored", r);
	else if (r < 0)
		dlog(3, "rolling back an interrupted bind: %s", iov_ctx_reason(d.ctx));
	{
		json_t *report = NULL;

		r = iov_sriov_recover(d.ctx, &report);
		if (r < 0)
			dlog(3, "finishing an interrupted SR-IOV change: %s", iov_ctx_reason(d.ctx));
		else if (json_array_size(report))
			dlog(5, "finished %zu interrupted SR-IOV changes", json_array_size(report));
		json_decref(report);
	}
	/* Serving the running host, the inventory cache follows the kernel's uevents; a fixture
	 * tree changes only through our own methods. */
	d.cache_ok = true;
	if (!d.root || !strcmp(d.root, "/")) {
		r = host_watch_uevents(&d);
		d.cache_ok = r == 0;
		if (r < 0)
			dlog(4, "no kernel uevents (%s): pci.list and iommu.groups are read afresh each time",
			     iov_strerror(r));
	}
	{
		json_t *report = NULL;
		size_t i;
		json_t *x;

		/* Defined mdev instances, created as mdevctl would at boot. */
		iov_mdev_start_defined(d.ctx, &report);
		json_array_foreach(report, i, x)
			if (json_is_string(json_object_get(x, "error")))
				dlog(4, "defined mdev %s: %s", json_string_value(json_object_get(x, "uuid")),
				     json_string_value(json_object_get(x, "error")));
			else
				dlog(5, "created defined mdev %s", json_string_value(json_object_get(x, "uuid")));
		json_decref(report);
	}
	r = state_load(&d);
	if (r < 0) {
		fprintf(stderr, "iovkitd: %s\n", iov_ctx_reason(d.ctx)[0] ? iov_ctx_reason(d.ctx) : iov_strerror(r));
		goto out;
	}
	if (d.sw.wanted && !d.sw.proc.pid) {
		dlog(5, "iovswitch was running and is gone; starting it again");
		switch_start(&d);
	}

	methods = calloc(ARRAY_SIZE(daemon_methods) + n_host_methods + n_switch_methods + n_vm_methods + n_vgpu_methods,
			 sizeof(*methods));
	if (!methods)
		goto out;
	memcpy(methods, daemon_methods, sizeof(daemon_methods));
	n += ARRAY_SIZE(daemon_methods);
	memcpy(methods + n, host_methods, n_host_methods * sizeof(*methods));
	n += n_host_methods;
	memcpy(methods + n, switch_methods, n_switch_methods * sizeof(*methods));
	n += n_switch_methods;
	memcpy(methods + n, vm_methods, n_vm_methods * sizeof(*methods));
	n += n_vm_methods;
	memcpy(methods + n, vgpu_methods, n_vgpu_methods * sizeof(*methods));
	n += n_vgpu_methods;
	svc.methods = methods;
	svc.n_methods = n;

	n_fds = sd_listen_fds(1);
	if (n_fds > 1) {
		fprintf(stderr, "iovkitd: systemd passed %d sockets; expected one\n", n_fds);
		goto out;
	}
	if (n_fds == 1) {
		r = iov_rpc_server_adopt(&d.rpc, SD_LISTEN_FDS_START, MAX_CLIENTS, &svc, &d);
		sock = "(socket activation)";
	} else {
		r = make_run_dir(dirname(strdupa(sock)));
		if (r == 0)
			r = iov_rpc_server_listen(&d.rpc, sock, 0660, MAX_CLIENTS, &svc, &d);
		if (r == 0 && sock_gid != (gid_t)-1 && chown(sock, (uid_t)-1, sock_gid) < 0)
			dlog(4, "cannot give %s to group %s: %s", sock, sock_group, strerror(errno));
	}
	if (r < 0) {
		fprintf(stderr, "iovkitd: cannot serve %s: %s%s\n", sock, iov_strerror(r),
			r == -EADDRINUSE ? " (another iovkitd answers there)" : "");
		goto out;
	}
	d.rpc.authorize = authorize;
	r = sd_event_add_io(d.ev, &d.listen_src, d.rpc.listen_fd, EPOLLIN, on_listen, &d);
	if (r < 0)
		goto out;
	dlog(5, "serving %s (%zu methods; state in %s/%s; children in %s)", sock, n, iov_ctx_root(d.ctx),
	     iov_ctx_state_dir(d.ctx), d.run_dir);
	sd_notify(0, "READY=1\nSTATUS=serving");

	r = sd_event_loop(d.ev);
	sd_notify(0, "STOPPING=1");
	{
		unsigned int running = 0;

		for (unsigned int i = 0; i < d.n_vms; i++)
			running += d.vms[i]->proc.pid != 0;
		dlog(5, "stopping; left running for the next iovkitd: %s%u guests", d.sw.proc.pid ? "iovswitch, " : "",
		     running);
	}
	state_save(&d);
	status = r < 0 ? 1 : 0;
out:
	sd_event_source_disable_unref(d.listen_src);
	for (size_t i = 0; i < d.rpc.max_clients; i++)
		if (d.rpc.clients[i].fd >= 0)
			sd_event_source_disable_unref(d.rpc.clients[i].data);
	if (n_fds == 0 && d.rpc.listen_fd >= 0)
		unlink(sock);           /* ours; a socket systemd passed is systemd's */
	iov_rpc_server_close(&d.rpc);
	proc_forget(&d.sw.proc);
	for (unsigned int i = 0; i < d.n_vms; i++) {
		proc_forget(&d.vms[i]->proc);
		free(d.vms[i]);
	}
	sd_event_source_disable_unref(d.sw.timer);
	sd_event_source_disable_unref(d.uevent_src);
	if (d.uevent_fd >= 0)
		close(d.uevent_fd);
	host_cache_drop(&d);
	sd_event_unref(d.ev);
	iov_ctx_free(d.ctx);
	free(methods);
	return status;
}
