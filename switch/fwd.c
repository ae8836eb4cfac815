/* SPDX-License-Identifier: MIT */
/*
 * iovswitch's forwarding: a VLAN-aware learning switch (802.1Q bridging without STP), explicit
 * cross-connects, and software VMDq pools on uplinks. Runs on the worker lcore only.
 *
 * Frames come from guests and wires and are hostile: lengths are checked before a header is
 * read, a frame's VLAN comes from its port's configuration or its own outer tag, and a frame
 * never goes back out of the port it came in on.
 *
 * VLANs: an access port (vlan != 0) carries untagged frames of one VLAN: tagged frames from it
 * are dropped, frames to it leave untagged. A trunk port (vlan == 0) carries frames tagged with
 * their VLAN and untagged frames, which belong to "VLAN 0", so a switch without VLANs
 * configured is an ordinary learning switch. Tags are added and removed at the output port.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#include "iovkit/vmdq.h"
#include "iovkit/vmdq-hw.h"
#include "switch-internal.h"

#define STAT_ADD(field, v) __atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)

void sw_init(struct sw *sw, struct rte_mempool *mp, uint64_t tsc_hz)
{
	memset(sw->ports, 0, sizeof(sw->ports));
	memset(sw->fdb, 0, sizeof(sw->fdb));
	sw->n_dead = 0;
	sw->mp = mp;
	sw->fdb_age_tsc = tsc_hz * SW_FDB_AGE_S;
	atomic_init(&sw->pause_req, false);
	atomic_init(&sw->paused, false);
	atomic_init(&sw->stop, false);
	atomic_init(&sw->worker_running, false);
	sw_ports_changed(sw);
}

/* ---- the learning table: open addressing, bounded probes, stale entries reused in place ---- */

static inline uint64_t fdb_key(uint16_t vlan, const uint8_t m[6])
{
	uint32_t lo;
	uint16_t hi;

	/* Two loads in the host's byte order (keys are only compared), combined in registers: a
	 * 6-byte memcpy into a uint64_t goes through the stack, where reading it back whole waits
	 * on the two partial stores. */
	memcpy(&lo, m, sizeof(lo));
	memcpy(&hi, m + 4, sizeof(hi));
	return UINT64_C(1) << 63 | (uint64_t)vlan << 48 | (uint64_t)hi << 32 | lo;
}

static inline size_t fdb_home(uint64_t key)
{
	return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 51) & (SW_FDB_SLOTS - 1);
}

static inline bool fdb_stale(const struct sw *sw, const struct sw_fdb_entry *e)
{
	return e->port < 0 || sw->now - e->seen > sw->fdb_age_tsc;
}

static void fdb_learn(struct sw *sw, uint64_t key, int port)
{
	struct sw_fdb_entry *free_slot = NULL;
	size_t i = fdb_home(key);

	for (unsigned int n = 0; n < SW_FDB_PROBE; n++, i = (i + 1) & (SW_FDB_SLOTS - 1)) {
		struct sw_fdb_entry *e = &sw->fdb[i];

		if (e->key == key) {
			e->port = port;         /* a station that moved is relearned at once */
			e->seen = sw->now;
			return;
		}
		if (!e->key || fdb_stale(sw, e)) {
			if (!free_slot)
				free_slot = e;
			if (!e->key)
				break;
		}
	}
	if (free_slot)
		*free_slot = (struct sw_fdb_entry){ .key = key, .seen = sw->now, .port = port };
	/* else the neighbourhood is full of live stations: this one is flooded to until one ages */
}

static int fdb_find(const struct sw *sw, uint64_t key)
{
	size_t i = fdb_home(key);

	for (unsigned int n = 0; n < SW_FDB_PROBE; n++, i = (i + 1) & (SW_FDB_SLOTS - 1)) {
		const struct sw_fdb_entry *e = &sw->fdb[i];

		if (!e->key)
			return -1;
		if (e->key == key)
			return fdb_stale(sw, e) ? -1 : e->port;
	}
	return -1;
}

int fdb_lookup(const struct sw *sw, uint16_t vlan, const uint8_t mac[6])
{
	return fdb_find(sw, fdb_key(vlan, mac));
}

void fdb_forget_port(struct sw *sw, int port)
{
	for (size_t i = 0; i < SW_FDB_SLOTS; i++)
		if (sw->fdb[i].key && sw->fdb[i].port == port)
			sw->fdb[i].port = -1;
}

unsigned int fdb_count(const struct sw *sw)
{
	unsigned int n = 0;

	for (size_t i = 0; i < SW_FDB_SLOTS; i++)
		n += sw->fdb[i].key && !fdb_stale(sw, &sw->fdb[i]);
	return n;
}

/* ---- output ---- */

static void port_flush(struct sw *sw, struct sw_port *p)
{
	uint16_t n = (uint16_t)p->n_txbuf, sent;
	uint64_t bytes = 0;

	if (!n)
		return;
	sent = p->ops->tx(p, p->txbuf, n);
	for (uint16_t i = 0; i < sent; i++)
		bytes += rte_pktmbuf_pkt_len(p->txbuf[i]);
	STAT_ADD(p->stats.tx_packets, sent);
	STAT_ADD(p->stats.tx_bytes, bytes);
	if (sent < n)
		STAT_ADD(p->stats.drops[DROP_TX_FULL], n - sent);
	if (p->ops->tx_consumes)
		rte_pktmbuf_free_bulk(p->txbuf + sent, n - sent);
	else
		rte_pktmbuf_free_bulk(p->txbuf, n);
	p->n_txbuf = 0;
}

/* Frames the worker drops are freed together, at the latest by fwd_flush(): one mempool
 * put for many rather than one each. */
static void free_dead(struct sw *sw)
{
	rte_pktmbuf_free_bulk(sw->dead, sw->n_dead);
	sw->n_dead = 0;
}

static void discard(struct sw *sw, struct rte_mbuf *m)
{
	sw->dead[sw->n_dead++] = m;
	if (sw->n_dead == RTE_DIM(sw->dead))
		free_dead(sw);
}

void fwd_flush(struct sw *sw)
{
	if (sw->n_dead)
		free_dead(sw);
	for (unsigned int k = 0; k < sw->n_active; k++)
		port_flush(sw, &sw->ports[sw->active[k]]);
}

void sw_ports_changed(struct sw *sw)
{
	sw->n_active = 0;
	sw->flood_trunks = 0;
	for (int i = 0; i < SW_MAX_PORTS; i++) {
		const struct sw_port *p = &sw->ports[i];

		if (!p->used)
			continue;
		sw->active[sw->n_active++] = (uint8_t)i;
		if (p->xconnect < 0 && p->vlan == SW_VLAN_NONE)
			sw->flood_trunks |= UINT64_C(1) << i;
	}
}

static inline bool frame_tagged(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	return rte_pktmbuf_data_len(m) >= sizeof(*eh) + sizeof(struct rte_vlan_hdr) &&
	       (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN) ||
		eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_QINQ));
}

/*
 * Removes the outer tag, 802.1Q or 802.1ad (rte_vlan_strip knows only 802.1Q): the MAC
 * addresses move up over it. frame_tagged() checked the first segment holds it.
 */
static inline void tag_strip(struct rte_mbuf *m)
{
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);

	memmove(d + RTE_VLAN_HLEN, d, 2 * RTE_ETHER_ADDR_LEN);
	rte_pktmbuf_adj(m, RTE_VLAN_HLEN);
}

/*
 * Puts frame @m of VLAN @vlan on port @out's transmit buffer, tagging or untagging it for that
 * port. Takes @m (frees it when it cannot go). @m must not be shared (refcnt 1).
 */
static void emit(struct sw *sw, int out, struct rte_mbuf *m, uint16_t vlan, struct sw_port *in)
{
	struct sw_port *p = &sw->ports[out];
	bool tagged = frame_tagged(m);

	if (p->vlan != SW_VLAN_NONE) {
		if (tagged)
			tag_strip(m);
	} else if (!tagged && vlan != SW_VLAN_NONE) {
		m->vlan_tci = vlan;
		if (rte_vlan_insert(&m) < 0)
			goto drop;
	}
	m->ol_flags = 0;        /* nothing to offload: the frame is complete (vhost.h) */
	p->txbuf[p->n_txbuf++] = m;
	if (p->n_txbuf == RTE_DIM(p->txbuf))
		port_flush(sw, p);
	return;
drop:
	STAT_ADD(in->stats.drops[DROP_NO_MBUF], 1);
	discard(sw, m);
}

/* Sends @m to every port in @dests (a bit per port index): copies for all but the last. */
static void replicate(struct sw *sw, uint64_t dests, struct rte_mbuf *m, uint16_t vlan, struct sw_port *in)
{
	if (!dests) {
		STAT_ADD(in->stats.drops[DROP_NO_DEST], 1);
		discard(sw, m);
		return;
	}
	while (dests) {
		int out = __builtin_ctzll(dests);
		struct rte_mbuf *c = m;

		dests &= dests - 1;
		if (dests) {
			/* A deep copy: each output may edit the tag differently. */
			c = rte_pktmbuf_copy(m, sw->mp, 0, UINT32_MAX);
			if (!c) {
				STAT_ADD(in->stats.drops[DROP_NO_MBUF], 1);
				continue;
			}
		}
		emit(sw, out, c, vlan, in);
	}
}

/* The ports a frame of @vlan from port @in is flooded to: every unwired trunk, and the
 * unwired access ports of that VLAN. */
static uint64_t flood_set(const struct sw *sw, int in, uint16_t vlan)
{
	uint64_t set = sw->flood_trunks;

	if (vlan != SW_VLAN_NONE)
		for (unsigned int k = 0; k < sw->n_active; k++) {
			const struct sw_port *p = &sw->ports[sw->active[k]];
			if (p->vlan == vlan && p->xconnect < 0)
				set |= UINT64_C(1) << sw->active[k];
		}
	return set & ~(UINT64_C(1) << in);
}

/*
 * What the frames of one burst from one port learned and looked up so far. A burst's frames
 * mostly share their source and their destination, so each is hashed and probed once a burst,
 * not once a frame. Within a burst the table changes only by this port's learning (the time
 * is the round's, the control thread waits outside fwd_poll), so a lookup remembered holds
 * until a new source is learned.
 */
struct fwd_memo {
	uint64_t src;                   /* the source key last learned here; 0 (no key): none */
	uint64_t dst;                   /* the destination key last looked up; 0: none */
	int out;                        /* what that lookup gave */
};

static void fwd_one(struct sw *sw, int in_idx, struct rte_mbuf *m, struct fwd_memo *memo)
{
	struct sw_port *in = &sw->ports[in_idx];
	const struct rte_ether_hdr *eh;
	uint32_t len = rte_pktmbuf_pkt_len(m), max;
	uint16_t vlan = 0;
	bool tagged;
	int out;

	if (rte_pktmbuf_data_len(m) < sizeof(*eh)) {
		STAT_ADD(in->stats.drops[DROP_RUNT], 1);
		goto free;
	}
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	tagged = frame_tagged(m);
	max = (uint32_t)in->mtu + RTE_ETHER_HDR_LEN + (tagged ? RTE_VLAN_HLEN : 0);
	if (len > max) {
		STAT_ADD(in->stats.drops[DROP_OVERSIZE], 1);
		goto free;
	}
	if (tagged)
		vlan = rte_be_to_cpu_16(((const struct rte_vlan_hdr *)(eh + 1))->vlan_tci) & 0xfff;
	if (in->vlan != SW_VLAN_NONE) {
		if (tagged) {
			STAT_ADD(in->stats.drops[DROP_VLAN], 1);
			goto free;
		}
		vlan = in->vlan;
	}

	if (in->xconnect >= 0) {
		replicate(sw, UINT64_C(1) << in->xconnect, m, vlan, in);
		return;
	}
	if (rte_is_unicast_ether_addr(&eh->src_addr) && !rte_is_zero_ether_addr(&eh->src_addr)) {
		uint64_t key = fdb_key(vlan, eh->src_addr.addr_bytes);

		if (key != memo->src) {
			fdb_learn(sw, key, in_idx);
			memo->src = key;
			memo->dst = 0;
		}
	}

	if (in->steer) {
		/* An uplink with pools: the VMDq table decides, as the NIC would. */
		uint64_t pools = 0, dests = 0;

		iov_vmdq_classify(in->steer, eh, rte_pktmbuf_data_len(m), &pools, NULL);
		for (; pools; pools &= pools - 1) {
			int p = in->pool_port[__builtin_ctzll(pools)];
			if (p >= 0 && p != in_idx && sw->ports[p].used)
				dests |= UINT64_C(1) << p;
		}
		replicate(sw, dests, m, vlan, in);
		return;
	}
	if (rte_is_unicast_ether_addr(&eh->dst_addr)) {
		uint64_t key = fdb_key(vlan, eh->dst_addr.addr_bytes);

		if (key != memo->dst) {
			memo->dst = key;
			memo->out = fdb_find(sw, key);
		}
		out = memo->out;
		if (out == in_idx) {
			STAT_ADD(in->stats.drops[DROP_LOOP], 1);
			goto free;
		}
		if (out >= 0 && sw->ports[out].used && sw->ports[out].xconnect < 0) {
			emit(sw, out, m, vlan, in);
			return;
		}
	}
	STAT_ADD(in->stats.flooded, 1);
	replicate(sw, flood_set(sw, in_idx, vlan), m, vlan, in);
	return;
free:
	discard(sw, m);
}

/*
 * A cross-connect between ports that need no tag changes (the same access VLAN, or both
 * trunks): frames go through untouched but for the length check, in one pass.
 */
static void fwd_wire(struct sw *sw, struct sw_port *in, struct sw_port *out, struct rte_mbuf **pkts, uint16_t n)
{
	struct fwd_memo memo = { 0 };
	uint32_t max = (uint32_t)in->mtu + RTE_ETHER_HDR_LEN;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t len = rte_pktmbuf_pkt_len(m);

		/* Over MTU + header only if untagged: look at the tag only then. */
		if (unlikely(len > max) && (len > max + RTE_VLAN_HLEN || !frame_tagged(m))) {
			STAT_ADD(in->stats.drops[DROP_OVERSIZE], 1);
			discard(sw, m);
			continue;
		}
		if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN) ||
		    (in->vlan != SW_VLAN_NONE && frame_tagged(m))) {
			fwd_one(sw, (int)(in - sw->ports), m, &memo);  /* the slow path counts it */
			continue;
		}
		m->ol_flags = 0;
		out->txbuf[out->n_txbuf++] = m;
		if (out->n_txbuf == RTE_DIM(out->txbuf))
			port_flush(sw, out);
	}
}

void fwd_frames(struct sw *sw, int in, struct rte_mbuf **pkts, uint16_t n)
{
	struct sw_port *p = &sw->ports[in];
	struct fwd_memo memo = { 0 };
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	STAT_ADD(p->stats.rx_packets, n);
	STAT_ADD(p->stats.rx_bytes, bytes);
	if (p->xconnect >= 0 && sw->ports[p->xconnect].vlan == p->vlan) {
		fwd_wire(sw, p, &sw->ports[p->xconnect], pkts, n);
		return;
	}
	for (uint16_t i = 0; i < n; i++)
		fwd_one(sw, in, pkts[i], &memo);
}

/*
 * An uplink with hardware VMDq: the NIC has put each pool's frames on its own queue, so they go
 * to the pool's port as they are; queues of pools nobody holds are not polled (the NIC drops
 * into them only frames for MACs no pool has, which it does not, as no default pool is set).
 */
static unsigned int fwd_hw_pools(struct sw *sw, int in)
{
	struct sw_port *p = &sw->ports[in];
	struct rte_mbuf *pkts[SW_BURST];
	unsigned int total = 0;

	for (unsigned int pool = 0; pool < p->hw->n_pools; pool++) {
		int out = p->pool_port[pool];
		uint16_t n;

		if (out < 0)
			continue;
		n = rte_eth_rx_burst(p->eth_port, iov_vmdq_hw_pool_queue(p->hw, pool), pkts, SW_BURST);
		if (!n)
			continue;
		total += n;
		STAT_ADD(p->stats.rx_packets, n);
		for (uint16_t k = 0; k < n; k++) {
			STAT_ADD(p->stats.rx_bytes, rte_pktmbuf_pkt_len(pkts[k]));
			replicate(sw, UINT64_C(1) << out, pkts[k], 0, p);
		}
	}
	return total;
}

unsigned int fwd_poll(struct sw *sw)
{
	struct rte_mbuf *pkts[SW_BURST];
	unsigned int total = 0;

	sw->now = rte_rdtsc();
	for (unsigned int k = 0; k < sw->n_active; k++) {
		int i = sw->active[k];
		struct sw_port *p = &sw->ports[i];
		uint16_t n;

		if (p->hw) {
			total += fwd_hw_pools(sw, i);
			continue;
		}
		n = p->ops->rx(p, sw->mp, pkts, SW_BURST);
		if (n) {
			fwd_frames(sw, i, pkts, n);
			total += n;
		}
	}
	fwd_flush(sw);
	return total;
}
