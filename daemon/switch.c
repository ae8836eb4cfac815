/* SPDX-License-Identifier: MIT */
/*
 * The supervised iovswitch. switch.start runs it (without hugepages unless configured, its
 * ports saved in a state file beside its socket), polls its socket until it answers, and from
 * then on restarts it whenever it dies until switch.stop: the guests' virtio-net devices
 * reconnect over vhost-user and the saved state gives them their ports back.
 *
 * Its own methods are reached through iovkitd as switch.<method> (switch.port.list calls
 * port.list), so one socket and one access policy cover the whole host.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon.h"
#include "iovkit-internal/macro.h"

#define READY_TICK_US 100000ull         /* socket polling while it starts */
#define READY_TICKS 300                 /* 30 s: EAL start on a slow host is a few seconds */
#define RESTART_DELAY_US 1000000ull
#define CALL_TIMEOUT_S 10

static const char *const state_names[] = { "stopped", "starting", "running", "stopping" };

bool switch_ready(const struct daemon *d)
{
	return d->sw.state == SW_RUNNING;
}

static void set_state(struct daemon *d, enum sw_state st, const char *why)
{
	d->sw.state = st;
	daemon_event(d, "switch.state", json_pack("{s:s,s:s?,s:i}", "state", state_names[st], "reason", why,
						  "restarts", d->sw.restarts));
	state_save(d);
}

static void timer_stop(struct daemon *d)
{
	d->sw.timer = sd_event_source_disable_unref(d->sw.timer);
}

int daemon_call(const char *sock, unsigned int timeout_s, const char *method, json_t *params, json_t **ret,
		struct iov_rpc_error *e)
{
	struct timeval tv = { .tv_sec = timeout_s };
	int fd = iov_rpc_connect(sock), r;

	if (fd < 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, fd, "%s: %s", sock, iov_strerror(fd));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = iov_rpc_call(fd, method, params, ret, e);
	close(fd);
	return r;
}

int switch_call(struct daemon *d, const char *method, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	int r;

	if (d->sw.state != SW_RUNNING) {
		json_decref(params);
		return iov_rpc_fail(e, IOV_RPC_FAILED, EHOSTDOWN, "iovswitch is %s%s", state_names[d->sw.state],
				    d->sw.state == SW_STOPPED ? " (switch.start runs it)" : "");
	}
	r = daemon_call(d->sw.sock, CALL_TIMEOUT_S, method, params, ret, e);
	json_decref(params);
	if (r < 0 && r != -EREMOTEIO) {
		char msg[sizeof(e->message)];

		snprintf(msg, sizeof(msg), "%s", e->message);
		return iov_rpc_fail(e, IOV_RPC_FAILED, e->err ? e->err : EIO, "iovswitch %s: %s", method, msg);
	}
	return r;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata);

static int timer_arm(struct daemon *d, uint64_t delay_us)
{
	timer_stop(d);
	return sd_event_add_time_relative(d->ev, &d->sw.timer, CLOCK_MONOTONIC, delay_us, 10000, on_timer, d);
}

static void on_exit_cb(struct daemon *d, struct proc *p, int status, const char *how)
{
	struct sw *sw = &d->sw;

	snprintf(sw->last_exit, sizeof(sw->last_exit), "%s", how);
	timer_stop(d);
	if (!sw->wanted) {
		set_state(d, SW_STOPPED, how);
		return;
	}
	dlog(4, "iovswitch %s; restarting it in 1 s (its log: %s)", how, sw->log);
	sw->restarts++;
	set_state(d, SW_STOPPED, how);
	if (timer_arm(d, RESTART_DELAY_US) < 0)
		dlog(3, "cannot arm the restart timer");
}

static int spawn(struct daemon *d)
{
	struct sw *sw = &d->sw;
	char mem[16], nap[16];
	char *argv[] = { (char *)d->iovswitch, "--socket", sw->sock, "--state", sw->state_file, "--idle-sleep", nap,
			 d->switch_hugepages ? "--hugepages" : "--memory", d->switch_hugepages ? NULL : mem, NULL };
	int r;

	snprintf(mem, sizeof(mem), "%u", d->switch_memory);
	snprintf(nap, sizeof(nap), "%u", d->switch_idle_sleep_us);
	unlink(sw->sock);
	sw->proc.on_exit = on_exit_cb;
	r = proc_spawn(d, &sw->proc, argv, sw->log);
	if (r < 0)
		return r;
	dlog(6, "started iovswitch, pid %d", (int)sw->proc.pid);
	sw->ticks = 0;
	set_state(d, SW_STARTING, NULL);
	return timer_arm(d, READY_TICK_US);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;
	struct sw *sw = &d->sw;
	int fd;

	timer_stop(d);
	if (sw->state == SW_STOPPED && sw->wanted) {       /* the restart delay is over */
		int r = spawn(d);

		if (r < 0) {
			dlog(3, "cannot restart iovswitch: %s", iov_strerror(r));
			timer_arm(d, RESTART_DELAY_US);
		}
		return 0;
	}
	if (sw->state != SW_STARTING)
		return 0;
	fd = iov_rpc_connect(sw->sock);
	if (fd >= 0) {
		close(fd);
		dlog(6, "iovswitch is up at %s", sw->sock);
		set_state(d, SW_RUNNING, NULL);
		vm_switch_up(d);
		return 0;
	}
	if (++sw->ticks >= READY_TICKS) {
		dlog(3, "iovswitch did not answer at %s within 30 s; stopping it (log: %s)", sw->sock, sw->log);
		proc_signal(&sw->proc, SIGKILL);
		return 0;
	}
	timer_arm(d, READY_TICK_US);
	return 0;
}

int switch_start(struct daemon *d)
{
	d->sw.wanted = true;
	if (d->sw.proc.pid)
		return 0;
	return spawn(d);
}

void switch_adopted(struct daemon *d)
{
	d->sw.proc.on_exit = on_exit_cb;
	d->sw.state = SW_STARTING;
	d->sw.ticks = 0;
	timer_arm(d, 1);
}

json_t *switch_json(const struct daemon *d)
{
	const struct sw *sw = &d->sw;

	return json_pack("{s:s,s:b,s:i,s:I,s:s,s:s,s:s,s:i,s:s?}", "state", state_names[sw->state], "wanted", sw->wanted,
			 "pid", (int)sw->proc.pid, "start_time", (json_int_t)sw->proc.start_time, "socket", sw->sock,
			 "log", sw->log, "state_file", sw->state_file, "restarts", sw->restarts, "last_exit",
			 sw->last_exit[0] ? sw->last_exit : NULL);
}

/* ---- methods ---- */

static int m_start(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	r = switch_start(d);
	if (r < 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, r, "cannot start %s: %s", d->iovswitch, iov_strerror(r));
	*ret = switch_json(d);
	return 0;
}

static int m_stop(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	d->sw.wanted = false;
	timer_stop(d);
	if (d->sw.proc.pid) {
		proc_signal(&d->sw.proc, SIGTERM);
		set_state(d, SW_STOPPING, "switch.stop");
	} else if (d->sw.state != SW_STOPPED) {
		set_state(d, SW_STOPPED, "switch.stop");
	}
	*ret = switch_json(d);
	return 0;
}

static int m_status(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	*ret = switch_json(userdata);
	return 0;
}

/* switch.X forwards to iovswitch's X with the same params. */
#define PROXY(fn, method)                                                                        \
	static int fn(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)     \
	{                                                                                        \
		return switch_call(userdata, method, json_incref(params), ret, e);               \
	}
PROXY(p_info, "switch.info")
PROXY(p_port_add, "port.add")
PROXY(p_port_del, "port.del")
PROXY(p_port_list, "port.list")
PROXY(p_port_stats, "port.stats")
PROXY(p_port_xconnect, "port.xconnect")
PROXY(p_pool_assign, "pool.assign")
PROXY(p_pool_release, "pool.release")
PROXY(p_pool_list, "pool.list")
PROXY(p_blk_add, "blk.add")
PROXY(p_blk_del, "blk.del")
PROXY(p_blk_list, "blk.list")

#define FORWARDED " (iovswitch's own method; its params)"
const struct iov_rpc_method switch_methods[] = {
	{ "switch.start", m_start, IOV_RPC_MUTATES, "runs iovswitch and keeps it running (restarted if it dies)", NULL },
	{ "switch.stop", m_stop, IOV_RPC_MUTATES, "stops iovswitch (SIGTERM) and stops restarting it", NULL },
	{ "switch.status", m_status, 0, "iovkitd's view of iovswitch: state, pid, socket, restarts", NULL },
	{ "switch.info", p_info, 0, "iovswitch's switch.info" FORWARDED, NULL },
	{ "switch.port.add", p_port_add, IOV_RPC_MUTATES, "port.add" FORWARDED, NULL },
	{ "switch.port.del", p_port_del, IOV_RPC_MUTATES, "port.del" FORWARDED, NULL },
	{ "switch.port.list", p_port_list, 0, "port.list" FORWARDED, NULL },
	{ "switch.port.stats", p_port_stats, 0, "port.stats" FORWARDED, NULL },
	{ "switch.port.xconnect", p_port_xconnect, IOV_RPC_MUTATES, "port.xconnect" FORWARDED, NULL },
	{ "switch.pool.assign", p_pool_assign, IOV_RPC_MUTATES, "pool.assign" FORWARDED, NULL },
	{ "switch.pool.release", p_pool_release, IOV_RPC_MUTATES, "pool.release" FORWARDED, NULL },
	{ "switch.pool.list", p_pool_list, 0, "pool.list" FORWARDED, NULL },
	{ "switch.blk.add", p_blk_add, IOV_RPC_MUTATES, "blk.add" FORWARDED, NULL },
	{ "switch.blk.del", p_blk_del, IOV_RPC_MUTATES, "blk.del" FORWARDED, NULL },
	{ "switch.blk.list", p_blk_list, 0, "blk.list" FORWARDED, NULL },
};
const size_t n_switch_methods = ARRAY_SIZE(switch_methods);
