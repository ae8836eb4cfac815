/* SPDX-License-Identifier: MIT */
/*
 * vhost-user virtio-net backend ports on DPDK's rte_vhost.
 *
 * A port is one vhost-user socket: in server mode it listens at the path and a frontend (QEMU,
 * Cloud Hypervisor, DPDK's virtio-user, iovm) connects; in client mode it connects to a
 * frontend listening there and, unless told not to, reconnects every second after the
 * frontend goes away, so a VM survives a restart of the process serving its NIC.
 *
 * The data path is polling: guest notifications (kicks) are turned off on every ring, and a
 * worker thread calls iov_vhost_net_rx/tx in a loop. The frontend's messages, memory table
 * and rings are handled by rte_vhost on its own thread; this layer tracks the device state
 * and keeps the worker off a device while rte_vhost tears it down.
 *
 * Offloads are negotiated honestly: a port does not offer checksum or segmentation offloads
 * (the switch forwards frames between ports that may not implement them), so the frontend
 * sends complete frames and expects complete frames.
 *
 * rte_vhost's callbacks carry no user pointer, so the ports of a process are kept in one
 * process-wide table (rte_vhost itself is process-wide). The EAL must be initialised first.
 */
#ifndef IOVKIT_VHOST_H
#define IOVKIT_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct rte_mempool;
struct iov_vhost_net;

#define IOV_VHOST_MAX_QUEUE_PAIRS 8
#define IOV_VHOST_MAX_PORTS 64

enum iov_vhost_flags {
	IOV_VHOST_CLIENT = 1 << 0,       /* connect to the frontend's socket instead of listening */
	IOV_VHOST_NO_RECONNECT = 1 << 1, /* client mode: give up when the frontend goes away */
};

struct iov_vhost_net_config {
	const char *path;               /* the socket; at most 107 bytes */
	unsigned int flags;             /* enum iov_vhost_flags */
	unsigned int queue_pairs;       /* offered to the frontend, 1..IOV_VHOST_MAX_QUEUE_PAIRS (0: 1) */
};

/*
 * Creates the port and starts it: in server mode the socket exists when this returns (a stale
 * socket file at the path is replaced; any other file there is an error). Returns 0, or
 * -EINVAL (bad config), -EEXIST (a port with this path exists), -ENOSPC (too many ports),
 * -ENOMEM, -EIO (rte_vhost refused: the path's directory, permissions).
 */
int iov_vhost_net_new(const struct iov_vhost_net_config *cfg, struct iov_vhost_net **ret);

/*
 * Stops serving and frees the port; a connected frontend sees the socket close. Waits for
 * rte_vhost's callbacks on the port to finish. Must not run concurrently with rx/tx on the
 * same port. Accepts NULL.
 */
void iov_vhost_net_free(struct iov_vhost_net *p);

/*
 * Frames the guest sent on queue pair @qp: up to @n new mbufs from @mp into @pkts, which the
 * caller owns. 0 when no frontend is ready or the ring is empty. One thread at a time per
 * queue pair (another may send on it meanwhile).
 */
uint16_t iov_vhost_net_rx(struct iov_vhost_net *p, uint16_t qp, struct rte_mempool *mp, struct rte_mbuf **pkts,
			  uint16_t n);

/*
 * Copies up to @n frames into the guest's receive ring of queue pair @qp; returns how many
 * went (the ring may be full, or no frontend ready). The caller still owns and frees all @n.
 * One thread at a time per queue pair (another may receive on it meanwhile).
 */
uint16_t iov_vhost_net_tx(struct iov_vhost_net *p, uint16_t qp, struct rte_mbuf **pkts, uint16_t n);

/*
 * The queue pairs iov_vhost_net_tx can reach now, as a bit mask (bit q: pair q): running, set
 * up, and their receive ring enabled by the frontend. 0 when none. Cheap: for each burst.
 */
unsigned int iov_vhost_net_tx_pairs(struct iov_vhost_net *p);

enum iov_vhost_state {
	IOV_VHOST_WAITING,      /* no frontend connected (server: listening; client: retrying) */
	IOV_VHOST_CONNECTED,    /* a frontend is connected, the device is not running yet */
	IOV_VHOST_RUNNING,      /* the frontend started the device: frames flow */
};

struct iov_vhost_net_info {
	enum iov_vhost_state state;
	unsigned int queue_pairs;       /* running: the pairs the frontend set up */
	uint64_t features;              /* running: the negotiated virtio features */
	unsigned int connects;          /* connections seen since the port was created */
	unsigned int starts;            /* times the device started running */
};

/* A snapshot of the port's state; any thread. */
void iov_vhost_net_info(struct iov_vhost_net *p, struct iov_vhost_net_info *ret);

/* "waiting", "connected", "running". */
const char *iov_vhost_state_name(enum iov_vhost_state s);

/*
 * virtio-blk backend ports: a raw image served over vhost-user to QEMU's vhost-user-blk-pci,
 * iovm or any frontend. Requests (read, write, flush, discard, write zeroes, get ID) are
 * processed by a thread of the port's own, woken by the guest's kicks. Split rings only; one
 * request queue.
 */
struct iov_vhost_blk;

struct iov_vhost_blk_config {
	const char *path;               /* the socket, as for net ports */
	unsigned int flags;             /* enum iov_vhost_flags */
	int image_fd;                   /* a regular file or block device; the port owns it after success */
	bool readonly;                  /* offer VIRTIO_BLK_F_RO and refuse writes */
	const char *serial;             /* GET_ID's answer, at most 20 bytes (default "iovkit") */
	unsigned int queues;            /* request queues, 1..IOV_VHOST_BLK_MAX_QUEUES (0: 1); more than
					 * one offers VIRTIO_BLK_F_MQ */
	unsigned int poll_us;           /* after a request, look at the rings this long before sleeping,
					 * kicks off (0..IOV_VHOST_BLK_MAX_POLL_US; 0: sleep at once).
					 * Saves a one-at-a-time driver a kick and a wake-up per request
					 * at the price of the core the device's thread polls on. */
};

#define IOV_VHOST_BLK_MAX_QUEUES 8
#define IOV_VHOST_BLK_MAX_POLL_US 1000

/* -EINVAL (bad config, not a file or block device), -EEXIST, -ENOSPC, -ENOMEM, -EIO as for net ports. */
int iov_vhost_blk_new(const struct iov_vhost_blk_config *cfg, struct iov_vhost_blk **ret);

/* Stops serving, waits for the request thread, closes the image. Accepts NULL. */
void iov_vhost_blk_free(struct iov_vhost_blk *b);

struct iov_vhost_blk_info {
	enum iov_vhost_state state;
	unsigned int connects;
	uint64_t sectors;               /* capacity in 512-byte sectors */
	unsigned int queues;            /* request queues offered */
	unsigned int poll_us;           /* as configured */
	bool readonly;
	/* While running: the frontend negotiated packed rings, and keeps an inflight region in
	 * which they are recorded (so they survive a crash of this process). */
	bool packed, inflight;
	uint64_t reads, writes, flushes, discards, read_bytes, written_bytes;
	uint64_t errors;                /* requests completed with a status other than OK */
	uint64_t bad_requests;          /* malformed chains (outside memory, no header or status) */
	uint64_t polled;                /* requests the thread found polling (poll_us), not kicked */
};

void iov_vhost_blk_info(struct iov_vhost_blk *b, struct iov_vhost_blk_info *ret);

#ifdef __cplusplus
}
#endif
#endif
