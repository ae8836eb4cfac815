/* SPDX-License-Identifier: MIT */
/*
 * What the vhost-user backends (net.c, blk.c) share: rte_vhost's callbacks carry only a vid,
 * whose ifname is the socket path, so the backends of a process are found by path in one
 * process-wide table (rte_vhost itself is process-wide).
 */
#ifndef IOVKIT_VHOST_INTERNAL_H
#define IOVKIT_VHOST_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>
#include <linux/virtio_ring.h>

#include "iovkit/vhost.h"

struct vhost_sock {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	void *owner;            /* the iov_vhost_net or iov_vhost_blk */
};

#define VHOST_SOCKS_MAX 128

/* Lists @s (path and owner set). -EEXIST: the path is taken; -ENOSPC: the table is full. */
int vhost_sock_add(struct vhost_sock *s);
void vhost_sock_remove(struct vhost_sock *s);
/* The owner of the socket device @vid came in on, or NULL. */
void *vhost_sock_owner(int vid);

/*
 * Server mode: a socket file left by a process that died would make bind() fail. Removes it
 * if nobody listens there; -EADDRINUSE if someone does, -EEXIST if the path is not a socket.
 */
int vhost_clear_stale_socket(const char *path);

/*
 * net-direct.c: the data path of IOV_VHOST_DIRECT net ports, split rings walked here. The
 * worker alone calls the data path functions; the setup functions run on rte_vhost's thread
 * while the data path is kept out (net.c).
 */
#define DSEG_MAX 64                     /* buffers of one frame, all its chains together */
#define DSHADOW 128                     /* used entries gathered before they are written */

/* One split vring as the direct data path keeps it. */
struct dvring {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t size;                  /* a power of 2 */
	uint16_t last_avail;            /* the next avail entry to take */
	uint16_t avail_seen;            /* the guest's avail index when last read */
	uint16_t used_idx;              /* the next used entry's position */
	uint16_t flushed;               /* entries before it are in the ring, those after in shadow[] */
	uint16_t published;             /* the used index the guest sees */
	int callfd;
	bool ready;
	/* Used entries are gathered here and written to the ring together, at the end of a burst:
	 * one run of stores to lines the guest polls, not one store now and then. */
	struct vring_used_elem shadow[DSHADOW];
};

struct net_direct {
	struct rte_vhost_memory *mem;   /* running: rte_vhost's memory table, copied */
	uint16_t hdr_len;               /* the virtio-net header: 12 bytes, 10 for legacy */
	bool mrg;                       /* VIRTIO_NET_F_MRG_RXBUF */
	uint64_t bad;                   /* malformed chains (written by the worker only) */
	struct dvring vr[2 * IOV_VHOST_MAX_QUEUE_PAIRS];
};

/* A device started: its memory table, header size and the rings set up so far. */
int direct_start(struct net_direct *d, int vid, uint64_t features, unsigned int vrings);
/* Ring @i (set up after the start): false when it is not set up or not usable. */
bool direct_load(struct net_direct *d, int vid, uint16_t i);
/* The device stops: rte_vhost learns where each ring stopped; the memory table goes. */
void direct_stop(struct net_direct *d, int vid);
/* As iov_vhost_net_rx and _tx, on one ring. */
uint16_t direct_dequeue(struct net_direct *d, struct dvring *vr, struct rte_mempool *mp, struct rte_mbuf **pkts,
			uint16_t n);
uint16_t direct_enqueue(struct net_direct *d, struct dvring *vr, struct rte_mbuf **pkts, uint16_t n);
/* As iov_vhost_net_forward, from transmit ring @tx to receive ring @rx (NULL: none running). */
void direct_forward(struct net_direct *from, struct dvring *tx, struct net_direct *to, struct dvring *rx,
		    uint16_t n, const struct iov_vhost_fwd_rules *rules, struct iov_vhost_fwd_counts *out);

#endif
