/* SPDX-License-Identifier: MIT */
/*
 * iovswitch's JSON-RPC methods (docs/switch.md lists them with examples). Each runs on the
 * control thread; one that changes the port table pauses the worker around the change and,
 * when it succeeded, saves the switch's configuration so that a restarted iovswitch comes back
 * with the same ports, cross-connects and pools.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_ether.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

#include "iovkit/common.h"
#include "iovkit/jsonrpc.h"
#include "iovkit/vhost.h"
#include "iovkit/vmdq.h"
#include "iovkit/vmdq-hw.h"
#include "switch-rpc.h"

static void pool_forget_port(struct sw_ctl *ctl, int i);

static int find_port(struct sw_ctl *ctl, struct iov_rpc_error *e, const char *name)
{
	int i = port_find(ctl->sw, name);

	if (i < 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, ENOENT, "no port named %s (port.list)", name);
	return i;
}

static int m_info(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	unsigned int n_ports = 0, fdb;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	for (int i = 0; i < SW_MAX_PORTS; i++)
		n_ports += ctl->sw->ports[i].used;
	sw_pause(ctl->sw);
	fdb = fdb_count(ctl->sw);
	sw_resume(ctl->sw);
	*ret = json_pack("{s:s,s:i,s:i,s:i,s:b,s:{s:i,s:i},s:i,s:i,s:s?,s:{s:I,s:I,s:I,s:I,s:i,s:I,s:I}}", "version", IOVKIT_VERSION,
			 "pid", (int)getpid(), "ports", n_ports, "max_ports", SW_MAX_PORTS, "hugepages",
			 rte_eal_has_hugepages(), "mbufs", "total", (int)ctl->sw->mp->size, "free",
			 (int)rte_mempool_avail_count(ctl->sw->mp), "fdb_entries", fdb, "worker_lcore",
			 (int)ctl->worker_lcore, "state_file", ctl->state_path, "worker", "busy_cycles",
			 (json_int_t)__atomic_load_n(&ctl->sw->busy_cycles, __ATOMIC_RELAXED), "busy_packets",
			 (json_int_t)__atomic_load_n(&ctl->sw->busy_packets, __ATOMIC_RELAXED), "busy_rounds",
			 (json_int_t)__atomic_load_n(&ctl->sw->busy_rounds, __ATOMIC_RELAXED), "tsc_hz",
			 (json_int_t)rte_get_tsc_hz(), "idle_sleep_us", (int)ctl->sw->idle_sleep_us, "naps",
			 (json_int_t)__atomic_load_n(&ctl->sw->naps, __ATOMIC_RELAXED), "slept_us",
			 (json_int_t)(__atomic_load_n(&ctl->sw->slept_ns, __ATOMIC_RELAXED) / 1000));
	return *ret ? 0 : -ENOMEM;
}

static int m_port_add(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	char err[400];
	int i;

	if (!json_is_object(params))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "params must be an object with name and type");
	sw_pause(ctl->sw);
	i = port_add(ctl->sw, params, err, sizeof(err));
	sw_resume(ctl->sw);
	if (i < 0)
		return iov_rpc_fail(e, i == -EINVAL ? IOV_RPC_INVALID_PARAMS : IOV_RPC_FAILED, i, "%s", err);
	ctl_save(ctl);
	*ret = port_describe(ctl->sw, i);
	return 0;
}

static int m_port_del(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	const char *name;
	int i, r = iov_rpc_params(e, params, "{s:s}", "name", &name);

	if (r < 0)
		return r;
	if ((i = find_port(ctl, e, name)) < 0)
		return i;
	sw_pause(ctl->sw);
	pool_forget_port(ctl, i);
	port_del(ctl->sw, i);
	sw_resume(ctl->sw);
	ctl_save(ctl);
	return 0;
}

static int m_port_list(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	*ret = json_array();
	for (int i = 0; i < SW_MAX_PORTS && *ret; i++)
		if (ctl->sw->ports[i].used)
			json_array_append_new(*ret, port_describe(ctl->sw, i));
	return *ret ? 0 : -ENOMEM;
}

static int m_port_stats(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	const char *name = NULL;
	int i, r = iov_rpc_params(e, params, "{s?s}", "name", &name);

	if (r < 0)
		return r;
	if (name) {
		if ((i = find_port(ctl, e, name)) < 0)
			return i;
		*ret = port_stats_json(ctl->sw, i);
		return *ret ? 0 : -ENOMEM;
	}
	*ret = json_array();
	for (i = 0; i < SW_MAX_PORTS && *ret; i++)
		if (ctl->sw->ports[i].used)
			json_array_append_new(*ret, port_stats_json(ctl->sw, i));
	return *ret ? 0 : -ENOMEM;
}

static int m_port_xconnect(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	const char *name, *peer = NULL;
	struct sw_port *ports = ctl->sw->ports;
	json_t *jpeer;
	int a, b = -1, r = iov_rpc_params(e, params, "{s:s,s:o}", "name", &name, "peer", &jpeer);

	if (r < 0)
		return r;
	if (!json_is_null(jpeer) && !(peer = json_string_value(jpeer)))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "peer is a port name, or null to disconnect");
	if ((a = find_port(ctl, e, name)) < 0)
		return a;
	if (peer && (b = find_port(ctl, e, peer)) < 0)
		return b;
	if (a == b)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "a port cannot be cross-connected to itself");
	if (b >= 0 && ports[b].xconnect >= 0 && ports[b].xconnect != a)
		return iov_rpc_fail(e, IOV_RPC_FAILED, EBUSY, "%s is cross-connected to %s; disconnect it first", peer,
				    ports[ports[b].xconnect].name);
	if (ports[a].steer || ports[a].hw || (b >= 0 && (ports[b].steer || ports[b].hw)))
		return iov_rpc_fail(e, IOV_RPC_FAILED, EBUSY, "an uplink with pools cannot be cross-connected");
	sw_pause(ctl->sw);
	if (ports[a].xconnect >= 0)
		ports[ports[a].xconnect].xconnect = -1;
	ports[a].xconnect = b;
	if (b >= 0)
		ports[b].xconnect = a;
	/* Stations learned through these ports now sit behind a wire, not the switch. */
	fdb_forget_port(ctl->sw, a);
	if (b >= 0)
		fdb_forget_port(ctl->sw, b);
	sw_ports_changed(ctl->sw);
	sw_resume(ctl->sw);
	ctl_save(ctl);
	return 0;
}

/* Undoes a pool's MAC and VLAN filters as its saved assignment lists them. */
static void pool_unprogram(struct sw_port *up, unsigned int pool, json_t *assignment)
{
	json_t *v;
	size_t k;

	json_array_foreach(json_object_get(assignment, "macs"), k, v) {
		struct rte_ether_addr mac;
		if (rte_ether_unformat_addr(json_string_value(v), &mac) < 0)
			continue;
		if (up->hw)
			iov_vmdq_hw_pool_mac(up->hw, pool, mac.addr_bytes, false);
		else
			iov_vmdq_pool_mac(up->steer, pool, mac.addr_bytes, false);
	}
	if (up->hw)
		return;
	json_array_foreach(json_object_get(assignment, "vlans"), k, v)
		iov_vmdq_pool_vlan(up->steer, pool, (uint16_t)json_integer_value(v), false);
	iov_vmdq_pool_flags(up->steer, pool, 0);
}

/* Keeps @params as pool @pool's assignment on @uplink (saved state, pool.list, release). */
static void pool_record(struct sw_ctl *ctl, const char *uplink, int pool, json_t *params, bool untagged)
{
	json_t *by_uplink = json_object_get(ctl->pools, uplink), *a = json_deep_copy(params);
	char key[8];

	if (!by_uplink) {
		by_uplink = json_object();
		json_object_set_new(ctl->pools, uplink, by_uplink);
	}
	if (untagged)
		json_object_set_new(a, "vlans", json_pack("[i]", 0));
	snprintf(key, sizeof(key), "%d", pool);
	json_object_set_new(by_uplink, key, a);
}

/* Forgets the pools port @i takes part in, as an uplink or as a member (it is being deleted). */
static void pool_forget_port(struct sw_ctl *ctl, int i)
{
	const char *name = ctl->sw->ports[i].name, *uplink, *pool;
	json_t *by_uplink, *a;
	void *tmp;

	json_object_del(ctl->pools, name);
	json_object_foreach(ctl->pools, uplink, by_uplink) {
		int up = port_find(ctl->sw, uplink);
		json_object_foreach_safe(by_uplink, tmp, pool, a) {
			const char *member = json_string_value(json_object_get(a, "port"));
			if (member && !strcmp(member, name)) {
				if (up >= 0)
					pool_unprogram(&ctl->sw->ports[up], (unsigned int)atoi(pool), a);
				json_object_del(by_uplink, pool);
			}
		}
	}
}

static int m_pool_assign(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	struct sw_port *ports = ctl->sw->ports;
	const char *uplink, *port;
	json_t *macs = NULL, *vlans = NULL, *v;
	int pool, bcast = 1, mcast = 0, up, pi, r;
	size_t k;

	r = iov_rpc_params(e, params, "{s:s,s:i,s:s,s?o,s?o,s?b,s?b}", "uplink", &uplink, "pool", &pool, "port", &port,
			   "macs", &macs, "vlans", &vlans, "broadcast", &bcast, "multicast", &mcast);
	if (r < 0)
		return r;
	if ((up = find_port(ctl, e, uplink)) < 0 || (pi = find_port(ctl, e, port)) < 0)
		return -ENOENT;
	if (pool < 0 || pool >= IOV_VMDQ_MAX_POOLS)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "pool %d: 0..%d", pool, IOV_VMDQ_MAX_POOLS - 1);
	if (up == pi)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "the uplink cannot be its own pool");
	if ((macs && !json_is_array(macs)) || (vlans && !json_is_array(vlans)))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "macs and vlans are arrays");
	if (ports[up].xconnect >= 0 || ports[pi].xconnect >= 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, EBUSY, "cross-connected ports take no pools");
	if (ports[up].pool_port[pool] >= 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, EBUSY, "pool %d of %s is %s's; pool.release it first", pool,
				    uplink, ports[ports[up].pool_port[pool]].name);
	if (ports[pi].pool_of >= 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, EBUSY, "%s already has a pool on %s", port,
				    ports[ports[pi].pool_of].name);
	/* Check every filter before changing anything. */
	json_array_foreach(macs, k, v) {
		struct rte_ether_addr mac;
		if (!json_is_string(v) || rte_ether_unformat_addr(json_string_value(v), &mac) < 0 ||
		    !rte_is_unicast_ether_addr(&mac) || rte_is_zero_ether_addr(&mac))
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "macs[%zu]: not a unicast MAC address", k);
	}
	json_array_foreach(vlans, k, v)
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > IOV_VMDQ_MAX_VLAN)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "vlans[%zu]: 0 (untagged) .. %d", k,
					    IOV_VMDQ_MAX_VLAN);

	if (ports[up].hw) {
		/* The NIC's VMDq: untagged and broadcast frames, MAC filters per pool. */
		json_t *v0 = json_array_get(vlans, 0);
		if ((unsigned int)pool >= ports[up].hw->n_pools)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "pool %d: %s has %u hardware pools", pool,
					    uplink, ports[up].hw->n_pools);
		if ((vlans && (json_array_size(vlans) != 1 || json_integer_value(v0) != 0)) || !bcast || mcast)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0,
					    "%s's hardware pools take untagged frames and broadcast, no more and no less "
					    "(software pools on a port without vmdq_pools can do VLANs and multicast)",
					    uplink);
		sw_pause(ctl->sw);
		r = 0;
		json_array_foreach(macs, k, v) {
			struct rte_ether_addr mac;
			rte_ether_unformat_addr(json_string_value(v), &mac);
			if (r == 0)
				r = iov_vmdq_hw_pool_mac(ports[up].hw, (unsigned int)pool, mac.addr_bytes, true);
		}
		if (r < 0) {
			pool_unprogram(&ports[up], (unsigned int)pool, params);
			sw_resume(ctl->sw);
			return iov_rpc_fail(e, IOV_RPC_FAILED, r, "%s's MAC filters: %s", uplink, iov_strerror(r));
		}
		ports[up].pool_port[pool] = pi;
		ports[pi].pool_of = up;
		sw_resume(ctl->sw);
		pool_record(ctl, uplink, pool, params, !vlans);
		ctl_save(ctl);
		return 0;
	}
	sw_pause(ctl->sw);
	if (!ports[up].steer && (r = iov_vmdq_steer_new(IOV_VMDQ_MAX_POOLS, &ports[up].steer)) < 0) {
		sw_resume(ctl->sw);
		return r;
	}
	r = 0;
	json_array_foreach(macs, k, v) {
		struct rte_ether_addr mac;
		rte_ether_unformat_addr(json_string_value(v), &mac);
		if (r == 0)
			r = iov_vmdq_pool_mac(ports[up].steer, (unsigned int)pool, mac.addr_bytes, true);
	}
	if (!vlans)
		iov_vmdq_pool_vlan(ports[up].steer, (unsigned int)pool, 0, true);
	json_array_foreach(vlans, k, v)
		iov_vmdq_pool_vlan(ports[up].steer, (unsigned int)pool, (uint16_t)json_integer_value(v), true);
	iov_vmdq_pool_flags(ports[up].steer, (unsigned int)pool,
			    (bcast ? IOV_VMDQ_ACCEPT_BROADCAST : 0) | (mcast ? IOV_VMDQ_ACCEPT_MULTICAST : 0));
	if (r < 0) {
		pool_unprogram(&ports[up], (unsigned int)pool, params);
		if (!vlans)
			iov_vmdq_pool_vlan(ports[up].steer, (unsigned int)pool, 0, false);
		sw_resume(ctl->sw);
		return iov_rpc_fail(e, IOV_RPC_FAILED, r, "%s's MAC table: %s", uplink, iov_strerror(r));
	}
	ports[up].pool_port[pool] = pi;
	ports[pi].pool_of = up;
	sw_resume(ctl->sw);
	pool_record(ctl, uplink, pool, params, !vlans);
	ctl_save(ctl);
	return 0;
}

static int m_pool_release(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	struct sw_port *ports = ctl->sw->ports;
	const char *uplink;
	char key[8];
	int pool, up, r = iov_rpc_params(e, params, "{s:s,s:i}", "uplink", &uplink, "pool", &pool);
	json_t *assignment;

	if (r < 0)
		return r;
	if ((up = find_port(ctl, e, uplink)) < 0)
		return up;
	snprintf(key, sizeof(key), "%d", pool);
	assignment = json_object_get(json_object_get(ctl->pools, uplink), key);
	if (pool < 0 || pool >= IOV_VMDQ_MAX_POOLS || !assignment || ports[up].pool_port[pool] < 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, ENOENT, "pool %d of %s is not assigned", pool, uplink);
	sw_pause(ctl->sw);
	pool_unprogram(&ports[up], (unsigned int)pool, assignment);
	ports[ports[up].pool_port[pool]].pool_of = -1;
	ports[up].pool_port[pool] = -1;
	json_object_del(json_object_get(ctl->pools, uplink), key);
	sw_resume(ctl->sw);
	ctl_save(ctl);
	return 0;
}

static int m_pool_list(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	*ret = json_deep_copy(ctl->pools);
	return *ret ? 0 : -ENOMEM;
}

/* ---- virtio-blk devices ---- */

static int find_blk(struct sw_ctl *ctl, const char *name)
{
	for (int i = 0; i < SW_MAX_BLK; i++)
		if (ctl->blk[i].used && !strcmp(ctl->blk[i].name, name))
			return i;
	return -1;
}

static json_t *blk_describe(struct sw_ctl *ctl, int i)
{
	struct iov_vhost_blk_info bi;
	const struct sw_blk *d = &ctl->blk[i];
	const char *mode = json_string_value(json_object_get(d->spec, "mode"));

	iov_vhost_blk_info(d->dev, &bi);
	/* ring: null while no frontend runs the device. */
	return json_pack("{s:s,s:O,s:O,s:s,s:s,s:b,s:I,s:i,s:i,s:i,s:o,s:b,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}",
			 "name", d->name, "path", json_object_get(d->spec, "path"), "image",
			 json_object_get(d->spec, "image"), "mode", mode ? mode : "server", "state",
			 iov_vhost_state_name(bi.state), "readonly", bi.readonly, "sectors", (json_int_t)bi.sectors,
			 "connects", (int)bi.connects, "queues", (int)bi.queues, "poll_us", (int)bi.poll_us, "ring",
			 bi.state == IOV_VHOST_RUNNING ? json_string(bi.packed ? "packed" : "split") : json_null(),
			 "inflight", bi.inflight,
			 "stats", "reads",
			 (json_int_t)bi.reads, "writes", (json_int_t)bi.writes, "flushes", (json_int_t)bi.flushes,
			 "discards", (json_int_t)bi.discards, "read_bytes", (json_int_t)bi.read_bytes,
			 "written_bytes", (json_int_t)bi.written_bytes, "errors", (json_int_t)bi.errors,
			 "bad_requests", (json_int_t)bi.bad_requests, "polled", (json_int_t)bi.polled);
}

static int m_blk_add(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	const char *name, *path, *image, *mode = "server", *serial = NULL;
	int readonly = 0, queues = 1, poll_us = 0, slot = -1, fd, r;

	r = iov_rpc_params(e, params, "{s:s,s:s,s:s,s?s,s?b,s?s,s?i,s?i}", "name", &name, "path", &path, "image", &image,
			   "mode", &mode, "readonly", &readonly, "serial", &serial, "queues", &queues, "poll_us", &poll_us);
	if (r < 0)
		return r;
	if (queues < 1 || queues > IOV_VHOST_BLK_MAX_QUEUES)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "queues %d: 1 to %d request queues", queues,
				    IOV_VHOST_BLK_MAX_QUEUES);
	if (poll_us < 0 || poll_us > IOV_VHOST_BLK_MAX_POLL_US)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "poll_us %d: 0 (sleep at once) to %d microseconds", poll_us,
				    IOV_VHOST_BLK_MAX_POLL_US);
	if (!port_name_valid(name))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "name \"%s\": 1 to %d of A-Z a-z 0-9 _ . -", name,
				    SW_NAME_MAX - 1);
	if (strcmp(mode, "server") && strcmp(mode, "client"))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "mode \"%s\": \"server\" or \"client\"", mode);
	if (serial && strlen(serial) > 20)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "serial: at most 20 bytes");
	if (find_blk(ctl, name) >= 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, EEXIST, "a blk device named %s exists", name);
	for (int i = 0; i < SW_MAX_BLK && slot < 0; i++)
		if (!ctl->blk[i].used)
			slot = i;
	if (slot < 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, ENOSPC, "iovswitch serves %d blk devices, its limit", SW_MAX_BLK);
	fd = open(image, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, errno, "%s: %s", image, iov_strerror(-errno));
	struct iov_vhost_blk_config cfg = { .path = path, .image_fd = fd, .readonly = readonly, .serial = serial,
					    .flags = !strcmp(mode, "client") ? IOV_VHOST_CLIENT : 0,
					    .queues = (unsigned int)queues, .poll_us = (unsigned int)poll_us };
	r = iov_vhost_blk_new(&cfg, &ctl->blk[slot].dev);
	if (r < 0) {
		close(fd);
		if (r == -EINVAL)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, r, "%s: not a regular file or block device, or a bad path",
					    image);
		return iov_rpc_fail(e, IOV_RPC_FAILED, r, "%s: cannot serve vhost-user here: %s", path,
				    r == -EADDRINUSE ? "another process listens there" :
				    r == -EEXIST	 ? "exists and is not a socket, or is in use" : iov_strerror(r));
	}
	ctl->blk[slot].used = true;
	snprintf(ctl->blk[slot].name, sizeof(ctl->blk[slot].name), "%s", name);
	ctl->blk[slot].spec = json_deep_copy(params);
	ctl_save(ctl);
	*ret = blk_describe(ctl, slot);
	return 0;
}

static void blk_free(struct sw_blk *d)
{
	iov_vhost_blk_free(d->dev);
	json_decref(d->spec);
	*d = (struct sw_blk){ .used = false };
}

void ctl_blk_free_all(struct sw_ctl *ctl)
{
	for (int i = 0; i < SW_MAX_BLK; i++)
		if (ctl->blk[i].used)
			blk_free(&ctl->blk[i]);
}

static int m_blk_del(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	const char *name;
	int i, r = iov_rpc_params(e, params, "{s:s}", "name", &name);

	if (r < 0)
		return r;
	i = find_blk(ctl, name);
	if (i < 0)
		return iov_rpc_fail(e, IOV_RPC_FAILED, ENOENT, "no blk device named %s (blk.list)", name);
	blk_free(&ctl->blk[i]);
	ctl_save(ctl);
	return 0;
}

static int m_blk_list(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct sw_ctl *ctl = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	*ret = json_array();
	for (int i = 0; i < SW_MAX_BLK && *ret; i++)
		if (ctl->blk[i].used)
			json_array_append_new(*ret, blk_describe(ctl, i));
	return *ret ? 0 : -ENOMEM;
}

static const char port_add_schema[] =
	"{\"type\":\"object\",\"required\":[\"name\",\"type\"],\"additionalProperties\":false,\"properties\":{"
	"\"name\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_.-]{1,31}$\"},"
	"\"type\":{\"enum\":[\"vhost\",\"dpdk\"]},"
	"\"path\":{\"type\":\"string\",\"description\":\"vhost: the vhost-user socket\"},"
	"\"mode\":{\"enum\":[\"server\",\"client\"],\"default\":\"server\"},"
	"\"queues\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":8,\"default\":1},"
	"\"devargs\":{\"type\":\"string\",\"description\":\"dpdk: EAL device arguments\"},"
	"\"vlan\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":4094,\"default\":0},"
	"\"mtu\":{\"type\":\"integer\",\"minimum\":68,\"maximum\":9600,\"default\":1500},"
	"\"vmdq_pools\":{\"enum\":[8,16,32,64],\"description\":\"dpdk: use the NIC's hardware VMDq\"}}}";

static const struct iov_rpc_method methods[] = {
	{ "switch.info", m_info, 0, "version, ports, mbufs, learning-table size, hugepages in use", NULL },
	{ "port.add", m_port_add, IOV_RPC_MUTATES, "adds a vhost-user or DPDK port", port_add_schema },
	{ "port.del", m_port_del, IOV_RPC_MUTATES, "removes a port",
	  "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"}}}" },
	{ "port.list", m_port_list, 0, "the ports with their state", NULL },
	{ "port.stats", m_port_stats, 0, "packet, byte and drop counters of one port or all",
	  "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}" },
	{ "port.xconnect", m_port_xconnect, IOV_RPC_MUTATES,
	  "wires two ports together, bypassing learning (peer null: undo)",
	  "{\"type\":\"object\",\"required\":[\"name\",\"peer\"],\"properties\":{\"name\":{\"type\":\"string\"},"
	  "\"peer\":{\"type\":[\"string\",\"null\"]}}}" },
	{ "pool.assign", m_pool_assign, IOV_RPC_MUTATES,
	  "gives a port a VMDq pool on an uplink: frames to its MACs and VLANs go to it alone",
	  "{\"type\":\"object\",\"required\":[\"uplink\",\"pool\",\"port\"],\"properties\":{"
	  "\"uplink\":{\"type\":\"string\"},\"pool\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":63},"
	  "\"port\":{\"type\":\"string\"},\"macs\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"vlans\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"default\":[0]},"
	  "\"broadcast\":{\"type\":\"boolean\",\"default\":true},\"multicast\":{\"type\":\"boolean\",\"default\":false}}}" },
	{ "pool.release", m_pool_release, IOV_RPC_MUTATES, "takes a pool back",
	  "{\"type\":\"object\",\"required\":[\"uplink\",\"pool\"]}" },
	{ "pool.list", m_pool_list, 0, "pool assignments by uplink", NULL },
	{ "blk.add", m_blk_add, IOV_RPC_MUTATES, "serves a raw image as a vhost-user virtio-blk device",
	  "{\"type\":\"object\",\"required\":[\"name\",\"path\",\"image\"],\"properties\":{"
	  "\"name\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},\"image\":{\"type\":\"string\"},"
	  "\"mode\":{\"enum\":[\"server\",\"client\"]},\"readonly\":{\"type\":\"boolean\"},"
	  "\"serial\":{\"type\":\"string\",\"maxLength\":20},"
	  "\"queues\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":8,\"default\":1}}}" },
	{ "blk.del", m_blk_del, IOV_RPC_MUTATES, "stops serving a blk device",
	  "{\"type\":\"object\",\"required\":[\"name\"]}" },
	{ "blk.list", m_blk_list, 0, "blk devices with their state and I/O counters", NULL },
};

const struct iov_rpc_service sw_service = { "iovswitch", IOVKIT_VERSION, methods, RTE_DIM(methods) };
