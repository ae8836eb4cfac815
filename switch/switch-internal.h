/* SPDX-License-Identifier: MIT */
/*
 * iovswitch's shared structures: the port table, the forwarding state, and the handshake that
 * lets the control thread change them while the worker lcore forwards.
 *
 * Threads: the main lcore runs the JSON-RPC control loop; one worker lcore runs fwd_poll() in
 * a loop. The worker alone writes the learning table and the counters; the control thread
 * changes ports, cross-connects and pools only between sw_pause() and sw_resume(), when the
 * worker is parked outside fwd_poll() with its transmit buffers flushed.
 */
#ifndef IOVSWITCH_INTERNAL_H
#define IOVSWITCH_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct rte_mbuf;
struct rte_mempool;
struct iov_vmdq_steer;
struct iov_vmdq_hw;
struct iov_vhost_net;

#define SW_MAX_PORTS 64
#define SW_BURST 32
#define SW_NAME_MAX 32
#define SW_FDB_SLOTS 8192               /* learning table slots, a power of two */
#define SW_FDB_PROBE 32                 /* longest probe; a full run means "do not learn" */
#define SW_FDB_AGE_S 300                /* as 802.1Q's default ageing time */
#define SW_VLAN_NONE 0

/* Why a frame was dropped; each has a counter per port (the port it was received on, except
 * tx_full, counted on the port that could not take it). */
enum sw_drop {
	DROP_OVERSIZE,          /* longer than the port's MTU allows */
	DROP_RUNT,              /* shorter than an Ethernet header */
	DROP_VLAN,              /* a tagged frame on an access port, or a VLAN the port is not in */
	DROP_NO_DEST,           /* nowhere to go: a cross-connect peer down, an empty pool set */
	DROP_TX_FULL,           /* the output port's ring was full */
	DROP_NO_MBUF,           /* no mbuf for a flooded copy */
	DROP_LOOP,              /* the destination is the port it came from */
	DROP__MAX
};

struct sw_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, flooded;
	uint64_t drops[DROP__MAX];
};

struct sw_port;

/* How a kind of port moves frames. rx returns new mbufs the caller owns; tx returns how many
 * of @n it took, and the caller frees all @n (vhost copies) or the rest (ethdev takes them):
 * tx_consumes says which. */
struct sw_port_ops {
	const char *kind;
	uint16_t (*rx)(struct sw_port *p, struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t n);
	uint16_t (*tx)(struct sw_port *p, struct rte_mbuf **pkts, uint16_t n);
	bool tx_consumes;
};

struct sw_port {
	bool used;
	char name[SW_NAME_MAX];
	const struct sw_port_ops *ops;
	json_t *spec;                   /* the port.add params it was made from (saved in state) */
	struct iov_vhost_net *vhost;    /* vhost ports */
	uint8_t queues;                 /* vhost ports: queue pairs offered and polled */
	uint8_t rx_next;                /* vhost ports: the pair polled first next time */
	uint16_t eth_port;              /* ethdev ports */
	char eth_name[64];

	uint16_t vlan;                  /* access VLAN (frames carry no tag here), or SW_VLAN_NONE: trunk */
	uint16_t mtu;
	int xconnect;                   /* the peer port's index, or -1: learning switch */
	struct iov_vmdq_steer *steer;   /* uplinks with software VMDq: the pool table */
	struct iov_vmdq_hw *hw;         /* uplinks with hardware VMDq: the NIC steers into pool queues */
	int pool_port[64];              /* uplinks: the port of each pool, -1 none */
	int pool_of;                    /* pool members: the uplink's index, or -1 */

	struct rte_mbuf *txbuf[SW_BURST * 4];
	unsigned int n_txbuf;
	struct sw_stats stats;          /* written by the worker only */
};

struct sw_fdb_entry {
	uint64_t key;                   /* 0: empty; else VLAN << 48 | MAC, with bit 63 set */
	uint64_t seen;                  /* TSC of the last frame from it */
	int port;
};

struct sw {
	struct sw_port ports[SW_MAX_PORTS];
	struct rte_mempool *mp;
	/* Derived from the port table by sw_ports_changed(), so a poll round touches only what
	 * is in use: the used ports in order, and the trunks that take flooded frames. */
	uint8_t active[SW_MAX_PORTS];
	unsigned int n_active;
	uint64_t flood_trunks;
	struct sw_fdb_entry fdb[SW_FDB_SLOTS];
	uint64_t fdb_age_tsc;
	uint64_t now;                   /* TSC at the start of this poll round */
	struct rte_mbuf *dead[SW_BURST * 4];    /* frames dropped, freed in bulk by fwd_flush() */
	unsigned int n_dead;

	atomic_bool pause_req, paused, stop, worker_running;

	/* The worker's load, as testpmd's --record-core-cycles counts it: TSC cycles spent in
	 * poll rounds that received something, and the frames those rounds received. */
	uint64_t busy_cycles, busy_packets, busy_rounds;

	/* Naps of an idle worker (--idle-sleep): the longest one in µs (0: the worker never
	 * sleeps), and how many it took and for how long in all (written by the worker only). */
	unsigned int idle_sleep_us;
	uint64_t naps, slept_ns;
};

/* fwd.c: one round over every port: receive a burst, decide, buffer, flush. Returns frames
 * received. */
unsigned int fwd_poll(struct sw *sw);
/* Forwards @n frames received on port @in (takes ownership of them; what it drops is freed by
 * the next fwd_flush()). */
void fwd_frames(struct sw *sw, int in, struct rte_mbuf **pkts, uint16_t n);
/* Sends what is buffered for every port. */
void fwd_flush(struct sw *sw);
/* Recomputes what the worker derives from the port table; call after every change to it
 * (ports, VLANs, cross-connects), with the worker paused. */
void sw_ports_changed(struct sw *sw);
/* Forgets what was learned on port @port (it is going away or changed VLAN). */
void fdb_forget_port(struct sw *sw, int port);
/* The port that (@vlan, @mac) was last seen on, or -1. */
int fdb_lookup(const struct sw *sw, uint16_t vlan, const uint8_t mac[6]);
unsigned int fdb_count(const struct sw *sw);
void sw_init(struct sw *sw, struct rte_mempool *mp, uint64_t tsc_hz);

/* The worker handshake (main.c): the worker parks at sw_pause() and runs again at sw_resume(). */
void sw_pause(struct sw *sw);
void sw_resume(struct sw *sw);

/* ports.c */
extern const struct sw_port_ops sw_vhost_ops, sw_eth_ops;
int port_find(const struct sw *sw, const char *name);
/* 1 to 31 of A-Z a-z 0-9 _ . - */
bool port_name_valid(const char *s);
/* Creates a port from port.add's params; fills @err (a message) on failure. */
int port_add(struct sw *sw, json_t *params, char *err, size_t errlen);
void port_del(struct sw *sw, int i);
json_t *port_describe(const struct sw *sw, int i);
json_t *port_stats_json(const struct sw *sw, int i);
const char *drop_name(enum sw_drop d);

/* sandbox.c: refuses, on every thread, what a data path never does (programs, processes, other
 * processes' memory, mounts, namespaces, kernel code, the host's clock and power). Returns 0,
 * or a negative errno with @why filled in. */
int sw_sandbox_apply(char *why, size_t why_len);

#endif
