/* SPDX-License-Identifier: MIT */
/*
 * iovswitch's ports: vhost-user (iovkit/vhost.h) and DPDK ethdev (a VF or PF on vfio-pci,
 * net_tap, net_af_packet, net_ring, ...), created from port.add's params and described for
 * port.list / port.stats. Called on the control thread with the worker paused.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "iovkit/common.h"
#include "iovkit/vhost.h"
#include "iovkit/vmdq.h"
#include "iovkit/vmdq-hw.h"
#include "switch-internal.h"

#define ETH_RX_DESC 512
#define ETH_TX_DESC 512

/* The guest's transmit rings, each pair in turn first, so that none waits behind another. */
static uint16_t vhost_rx(struct sw_port *p, struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t got = 0;

	if (p->queues == 1)
		return iov_vhost_net_rx(p->vhost, 0, mp, pkts, n);
	for (unsigned int i = 0; i < p->queues && got < n; i++)
		got += iov_vhost_net_rx(p->vhost, (uint16_t)((p->rx_next + i) % p->queues), mp, pkts + got, n - got);
	p->rx_next = (uint8_t)((p->rx_next + 1) % p->queues);
	return got;
}

/* A frame's flow: its IP addresses and TCP/UDP ports where it has them, else its MACs. */
static uint32_t flow_hash(const struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m), off = 12, h = 0;
	uint16_t type;

	if (len < 14)
		return 0;
	type = (uint16_t)(f[off] << 8 | f[off + 1]);
	if (type == 0x8100 && len >= 18)
		off += 4, type = (uint16_t)(f[off] << 8 | f[off + 1]);
	off += 2;
	if (type == 0x0800 && len >= off + 20) {
		uint32_t ihl = (f[off] & 0xfu) * 4u;
		uint8_t proto = f[off + 9];

		for (int i = 12; i < 20; i++)
			h = h * 31 + f[off + i];
		if ((proto == 6 || proto == 17) && ihl >= 20 && len >= off + ihl + 4 && !(f[off + 6] & 0x3f) && !f[off + 7])
			for (uint32_t i = 0; i < 4; i++)        /* not a later fragment: the ports */
				h = h * 31 + f[off + ihl + i];
	} else if (type == 0x86dd && len >= off + 40) {
		for (int i = 8; i < 40; i++)
			h = h * 31 + f[off + i];
	} else {
		for (int i = 0; i < 12; i++)
			h = h * 31 + f[i];
	}
	return h ^ h >> 16;
}

/*
 * Into the guest's receive rings: with more than one enabled, each frame goes to the pair its
 * flow hashes to, so that one flow's frames stay on one ring, in order. (virtio's automatic
 * receive steering would use the pair the flow last transmitted on; a hash needs no flow
 * table.) Frames that went end up first in @pkts, as the caller counts them.
 */
static uint16_t vhost_tx(struct sw_port *p, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *byq[IOV_VHOST_MAX_QUEUE_PAIRS][SW_BURST * 4], *left[SW_BURST * 4];
	uint16_t cnt[IOV_VHOST_MAX_QUEUE_PAIRS] = { 0 }, sent = 0, n_left = 0;
	unsigned int mask = p->queues > 1 ? iov_vhost_net_tx_pairs(p->vhost) : 0, nq = 0;
	uint8_t qs[IOV_VHOST_MAX_QUEUE_PAIRS];

	for (unsigned int q = 0; q < IOV_VHOST_MAX_QUEUE_PAIRS; q++)
		if (mask & 1u << q)
			qs[nq++] = (uint8_t)q;
	if (nq <= 1)
		return iov_vhost_net_tx(p->vhost, nq ? qs[0] : 0, pkts, n);
	for (uint16_t i = 0; i < n; i++) {
		unsigned int k = flow_hash(pkts[i]) % nq;

		byq[k][cnt[k]++] = pkts[i];
	}
	for (unsigned int k = 0; k < nq; k++) {
		uint16_t went = cnt[k] ? iov_vhost_net_tx(p->vhost, qs[k], byq[k], cnt[k]) : 0;

		memcpy(pkts + sent, byq[k], went * sizeof(*pkts));
		sent += went;
		memcpy(left + n_left, byq[k] + went, (size_t)(cnt[k] - went) * sizeof(*pkts));
		n_left += (uint16_t)(cnt[k] - went);
	}
	memcpy(pkts + sent, left, n_left * sizeof(*pkts));
	return sent;
}

static uint16_t eth_rx(struct sw_port *p, struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(p->eth_port, 0, pkts, n);
}

static uint16_t eth_tx(struct sw_port *p, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst(p->eth_port, 0, pkts, n);
}

const struct sw_port_ops sw_vhost_ops = { "vhost", vhost_rx, vhost_tx, false };
const struct sw_port_ops sw_eth_ops = { "dpdk", eth_rx, eth_tx, true };

static const char *const drop_names[DROP__MAX] = {
	[DROP_OVERSIZE] = "oversize", [DROP_RUNT] = "runt",         [DROP_VLAN] = "vlan",
	[DROP_NO_DEST] = "no_dest",   [DROP_TX_FULL] = "tx_full",   [DROP_NO_MBUF] = "no_mbuf",
	[DROP_LOOP] = "loop",
};

const char *drop_name(enum sw_drop d)
{
	return drop_names[d];
}

int port_find(const struct sw *sw, const char *name)
{
	for (int i = 0; i < SW_MAX_PORTS; i++)
		if (sw->ports[i].used && !strcmp(sw->ports[i].name, name))
			return i;
	return -1;
}

bool port_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SW_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

/* Says why in errbuf and evaluates to @err. */
#define FAIL(err, ...) ({ snprintf(errbuf, errlen, __VA_ARGS__); (err); })

static int vhost_open(struct sw_port *p, const char *path, const char *mode, int queues, char *errbuf, size_t errlen)
{
	struct iov_vhost_net_config cfg = { .path = path, .queue_pairs = (unsigned int)queues };
	int r;

	if (!path || !path[0])
		return FAIL(-EINVAL, "a vhost port needs \"path\", its socket");
	if (mode && strcmp(mode, "server") && strcmp(mode, "client"))
		return FAIL(-EINVAL, "mode \"%s\": use \"server\" (listen) or \"client\" (connect, reconnect)", mode);
	/* The worker polls every pair of the port (vhost_rx), so any count up to the library's. */
	if (queues < 1 || queues > IOV_VHOST_MAX_QUEUE_PAIRS)
		return FAIL(-EINVAL, "queues %d: a vhost port has 1 to %d queue pairs", queues, IOV_VHOST_MAX_QUEUE_PAIRS);
	p->queues = (uint8_t)queues;
	p->rx_next = 0;
	if (mode && !strcmp(mode, "client"))
		cfg.flags |= IOV_VHOST_CLIENT;
	r = iov_vhost_net_new(&cfg, &p->vhost);
	if (r == -EADDRINUSE)
		return FAIL(r, "%s: another process is listening on this socket", path);
	if (r == -EEXIST)
		return FAIL(r, "%s: exists and is not a socket, or another port uses it", path);
	if (r < 0)
		return FAIL(r, "%s: cannot serve vhost-user here: %s", path, iov_strerror(r));
	p->ops = &sw_vhost_ops;
	return 0;
}

static int eth_open(struct sw_port *p, struct rte_mempool *mp, const char *devargs, int vmdq_pools, char *errbuf,
		    size_t errlen)
{
	struct rte_eth_conf conf = { .rxmode.mtu = p->mtu };
	struct rte_eth_dev_info info;
	uint16_t nb_rx = ETH_RX_DESC, nb_tx = ETH_TX_DESC, port;
	char name[sizeof(p->eth_name)];
	int r;

	if (!devargs || !devargs[0])
		return FAIL(-EINVAL, "a dpdk port needs \"devargs\" (\"0000:03:00.1\", \"net_tap0,iface=t0\", ...)");
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(devargs, ","), devargs);
	if (rte_eth_dev_get_port_by_name(name, &port) == 0)
		return FAIL(-EEXIST, "%s is already a port", name);
	r = rte_dev_probe(devargs);
	if (r < 0)
		return FAIL(r, "%s: DPDK could not probe it: %s (a PCI device must be bound to vfio-pci; "
			       "iovctl bind)", devargs, iov_strerror(r));
	if (rte_eth_dev_get_port_by_name(name, &port) != 0) {
		/* Probed, but not as an ethdev under that name (a crypto device, a typo'd name). */
		rte_eal_hotplug_remove(strchr(name, ':') ? "pci" : "vdev", name);
		return FAIL(-ENODEV, "%s: probed, but no Ethernet port is named %s", devargs, name);
	}
	p->eth_port = port;
	snprintf(p->eth_name, sizeof(p->eth_name), "%s", name);
	r = rte_eth_dev_info_get(port, &info);
	if (r < 0) {
		FAIL(r, "%s: device info: %s", name, iov_strerror(r));
		goto err_close;
	}
	if (p->mtu < info.min_mtu || p->mtu > info.max_mtu) {
		r = FAIL(-EINVAL, "mtu %u: %s takes %u to %u", p->mtu, name, info.min_mtu, info.max_mtu);
		goto err_close;
	}
	uint16_t nb_rxq = 1;
	if (vmdq_pools) {
		struct iov_vmdq_hw hw;

		r = iov_vmdq_hw_plan(port, &info, (unsigned int)vmdq_pools, &conf, &hw);
		if (r == -EOPNOTSUPP) {
			FAIL(r, "%s has no VMDq (its max_vmdq_pools is 0): leave vmdq_pools out and give it software "
				"pools with pool.assign", name);
			goto err_close;
		}
		if (r < 0) {
			FAIL(r, "vmdq_pools %d: %s has up to %u pools; use 8, 16, 32 or 64", vmdq_pools, name,
			     info.max_vmdq_pools);
			goto err_close;
		}
		p->hw = malloc(sizeof(*p->hw));
		if (!p->hw) {
			r = FAIL(-ENOMEM, "out of memory");
			goto err_close;
		}
		*p->hw = hw;
		nb_rxq = hw.nb_rx_queues;
	}
	const char *step = "configure";
	if ((r = rte_eth_dev_configure(port, nb_rxq, 1, &conf)) < 0 ||
	    (step = "descriptors", r = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rx, &nb_tx)) < 0 ||
	    (step = "tx queue", r = rte_eth_tx_queue_setup(port, 0, nb_tx, rte_eth_dev_socket_id(port), NULL)) < 0) {
		FAIL(r, "%s: %s: %s", name, step, iov_strerror(r));
		goto err_close;
	}
	for (uint16_t q = 0; q < nb_rxq; q++)
		if ((r = rte_eth_rx_queue_setup(port, q, nb_rx, rte_eth_dev_socket_id(port), NULL, mp)) < 0) {
			FAIL(r, "%s: rx queue %u: %s", name, q, iov_strerror(r));
			goto err_close;
		}
	if ((r = rte_eth_dev_start(port)) < 0) {
		FAIL(r, "%s: start: %s", name, iov_strerror(r));
		goto err_close;
	}
	/* A switch port takes every frame (a PMD that cannot is still useful for its own MAC). */
	rte_eth_promiscuous_enable(port);
	p->ops = &sw_eth_ops;
	return 0;

err_close:
	free(p->hw);
	p->hw = NULL;
	rte_eth_dev_close(port);
	rte_eal_hotplug_remove(strchr(name, ':') ? "pci" : "vdev", name);
	return r;
}

int port_add(struct sw *sw, json_t *params, char *errbuf, size_t errlen)
{
	const char *name, *type, *path = NULL, *mode = NULL, *devargs = NULL;
	int queues = 1, vlan = 0, mtu = 1500, vmdq_pools = 0, slot = -1, r;
	json_error_t jerr;
	struct sw_port *p;

	if (json_unpack_ex(params, &jerr, JSON_STRICT, "{s:s, s:s, s?:s, s?:s, s?:i, s?:s, s?:i, s?:i, s?:i}", "name",
			   &name, "type", &type, "path", &path, "mode", &mode, "queues", &queues, "devargs", &devargs,
			   "vlan", &vlan, "mtu", &mtu, "vmdq_pools", &vmdq_pools) < 0)
		return FAIL(-EINVAL, "invalid params: %s", jerr.text);
	if (!port_name_valid(name))
		return FAIL(-EINVAL, "port name \"%s\": 1 to %d of A-Z a-z 0-9 _ . -", name, SW_NAME_MAX - 1);
	if (port_find(sw, name) >= 0)
		return FAIL(-EEXIST, "a port named %s exists", name);
	if (vlan < 0 || vlan > IOV_VMDQ_MAX_VLAN)
		return FAIL(-EINVAL, "vlan %d: 0 (trunk) or an access VLAN 1..%d", vlan, IOV_VMDQ_MAX_VLAN);
	if (mtu < 68 || mtu > 9600)
		return FAIL(-EINVAL, "mtu %d: 68..9600", mtu);
	if (strcmp(type, "vhost") && strcmp(type, "dpdk"))
		return FAIL(-EINVAL, "type \"%s\": \"vhost\" or \"dpdk\"", type);
	if (!strcmp(type, "vhost") && devargs)
		return FAIL(-EINVAL, "\"devargs\" is for dpdk ports");
	if (!strcmp(type, "dpdk") && (path || mode))
		return FAIL(-EINVAL, "\"path\" and \"mode\" are for vhost ports");
	if (vmdq_pools && strcmp(type, "dpdk"))
		return FAIL(-EINVAL, "\"vmdq_pools\" is for dpdk ports (a NIC's hardware VMDq)");
	for (int i = 0; i < SW_MAX_PORTS && slot < 0; i++)
		if (!sw->ports[i].used)
			slot = i;
	if (slot < 0)
		return FAIL(-ENOSPC, "the switch has %d ports, its limit", SW_MAX_PORTS);

	p = &sw->ports[slot];
	*p = (struct sw_port){ .xconnect = -1, .pool_of = -1, .vlan = (uint16_t)vlan, .mtu = (uint16_t)mtu };
	for (size_t i = 0; i < RTE_DIM(p->pool_port); i++)
		p->pool_port[i] = -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	r = !strcmp(type, "vhost") ? vhost_open(p, path, mode, queues, errbuf, errlen)
				   : eth_open(p, sw->mp, devargs, vmdq_pools, errbuf, errlen);
	if (r < 0) {
		*p = (struct sw_port){ .used = false };
		return r;
	}
	p->spec = json_deep_copy(params);
	p->used = true;
	sw_ports_changed(sw);
	return slot;
}

void port_del(struct sw *sw, int i)
{
	struct sw_port *p = &sw->ports[i];

	if (p->xconnect >= 0)
		sw->ports[p->xconnect].xconnect = -1;
	if (p->pool_of >= 0) {
		struct sw_port *up = &sw->ports[p->pool_of];
		for (size_t k = 0; k < RTE_DIM(up->pool_port); k++)
			if (up->pool_port[k] == i)
				up->pool_port[k] = -1;
	}
	for (int k = 0; k < SW_MAX_PORTS; k++)
		if (sw->ports[k].used && sw->ports[k].pool_of == i)
			sw->ports[k].pool_of = -1;
	fdb_forget_port(sw, i);
	rte_pktmbuf_free_bulk(p->txbuf, p->n_txbuf);
	if (p->ops == &sw_vhost_ops) {
		iov_vhost_net_free(p->vhost);
	} else if (p->ops == &sw_eth_ops) {
		rte_eth_dev_stop(p->eth_port);
		rte_eth_dev_close(p->eth_port);
		rte_eal_hotplug_remove(strchr(p->eth_name, ':') ? "pci" : "vdev", p->eth_name);
	}
	iov_vmdq_steer_free(p->steer);
	free(p->hw);
	json_decref(p->spec);
	*p = (struct sw_port){ .used = false };
	sw_ports_changed(sw);
}

json_t *port_describe(const struct sw *sw, int i)
{
	const struct sw_port *p = &sw->ports[i];
	json_t *o = json_pack("{s:s,s:s,s:i,s:i}", "name", p->name, "type", p->ops->kind, "vlan", p->vlan, "mtu", p->mtu);

	if (!o)
		return NULL;
	if (p->ops == &sw_vhost_ops) {
		struct iov_vhost_net_info vi;
		const char *mode = json_string_value(json_object_get(p->spec, "mode"));

		iov_vhost_net_info(p->vhost, &vi);
		json_object_set(o, "path", json_object_get(p->spec, "path"));
		json_object_set_new(o, "mode", json_string(mode ? mode : "server"));
		json_object_set_new(o, "state", json_string(iov_vhost_state_name(vi.state)));
		json_object_set_new(o, "queues", json_integer(p->queues));
		json_object_set_new(o, "queue_pairs", json_integer(vi.queue_pairs));
		json_object_set_new(o, "receive_pairs", json_integer(__builtin_popcount(iov_vhost_net_tx_pairs(p->vhost))));
		json_object_set_new(o, "connects", json_integer(vi.connects));
		if (vi.state == IOV_VHOST_RUNNING) {
			char hex[24];
			snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)vi.features);
			json_object_set_new(o, "features", json_string(hex));
		}
	} else {
		struct rte_eth_link link = { 0 };
		struct rte_ether_addr mac;
		char macs[RTE_ETHER_ADDR_FMT_SIZE] = "";

		rte_eth_link_get_nowait(p->eth_port, &link);
		if (rte_eth_macaddr_get(p->eth_port, &mac) == 0)
			rte_ether_format_addr(macs, sizeof(macs), &mac);
		json_object_set(o, "devargs", json_object_get(p->spec, "devargs"));
		json_object_set_new(o, "state", json_string(link.link_status ? "up" : "down"));
		json_object_set_new(o, "speed_mbps", json_integer(link.link_status ? (json_int_t)link.link_speed : 0));
		json_object_set_new(o, "mac", json_string(macs));
		if (p->hw)
			json_object_set_new(o, "vmdq_pools", json_integer(p->hw->n_pools));
	}
	json_object_set_new(o, "xconnect", p->xconnect >= 0 ? json_string(sw->ports[p->xconnect].name) : json_null());
	json_object_set_new(o, "pool_of", p->pool_of >= 0 ? json_string(sw->ports[p->pool_of].name) : json_null());
	return o;
}

json_t *port_stats_json(const struct sw *sw, int i)
{
	const struct sw_stats *s = &sw->ports[i].stats;
	json_t *drops = json_object();
	uint64_t total = 0;

	for (int d = 0; d < DROP__MAX; d++) {
		uint64_t v = __atomic_load_n(&s->drops[d], __ATOMIC_RELAXED);
		json_object_set_new(drops, drop_name(d), json_integer((json_int_t)v));
		total += v;
	}
	json_object_set_new(drops, "total", json_integer((json_int_t)total));
	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "name", sw->ports[i].name, "rx_packets",
			 (json_int_t)__atomic_load_n(&s->rx_packets, __ATOMIC_RELAXED), "rx_bytes",
			 (json_int_t)__atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED), "tx_packets",
			 (json_int_t)__atomic_load_n(&s->tx_packets, __ATOMIC_RELAXED), "tx_bytes",
			 (json_int_t)__atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED), "flooded",
			 (json_int_t)__atomic_load_n(&s->flooded, __ATOMIC_RELAXED), "drops", drops);
}
