/* SPDX-License-Identifier: MIT */
/*
 * vhost-user virtio-net backend ports on rte_vhost (include/iovkit/vhost.h).
 *
 * Threat model: the frontend is a guest's VMM and may be hostile or broken. rte_vhost parses
 * its messages and validates ring addresses and descriptor chains against the memory table it
 * was given; what this layer adds is state tracking that never lets the data path touch a
 * device rte_vhost is tearing down (a frontend may disconnect at any moment).
 *
 * Device lifetime, per port, as rte_vhost's callbacks report it (they run on rte_vhost's
 * event thread):
 *   WAITING   --new_connection-->     CONNECTED
 *   CONNECTED --new_device-->         RUNNING    (all rings set up; the worker may use the vid)
 *   RUNNING   --destroy_device-->     CONNECTED  (returns only once the worker has let go)
 *   CONNECTED --destroy_connection--> WAITING
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_vhost.h>

#include "iovkit/vhost.h"
#include "iovkit-internal/macro.h"
#include "vhost-internal.h"

struct iov_vhost_net {
	struct vhost_sock sock;         /* path; listed while the port exists */
	unsigned int flags;
	unsigned int queue_pairs;       /* what we poll at most */

	atomic_int vid;                 /* valid while running */
	atomic_bool running;
	atomic_bool in_ring[2 * IOV_VHOST_MAX_QUEUE_PAIRS];  /* a data-path call inside rte_vhost on vring i */
	atomic_int state;               /* enum iov_vhost_state */
	atomic_uint active_pairs;
	atomic_uint rx_enabled;         /* pairs whose receive ring (our tx) the frontend enabled */
	atomic_ullong features;
	atomic_uint connects, starts;
};

static struct iov_vhost_net *port_of_vid(int vid)
{
	return vhost_sock_owner(vid);
}

static int on_new_connection(int vid)
{
	struct iov_vhost_net *p = port_of_vid(vid);

	if (!p)
		return -1;
	atomic_fetch_add(&p->connects, 1);
	atomic_store(&p->state, IOV_VHOST_CONNECTED);
	return 0;
}

static int on_new_device(int vid)
{
	struct iov_vhost_net *p = port_of_vid(vid);
	uint64_t features = 0;
	uint16_t vrings;

	if (!p)
		return -1;
	vrings = rte_vhost_get_vring_num(vid);
	/* We poll: the guest need not kick (virtio 1.2 §2.7.10, VRING_USED_F_NO_NOTIFY). */
	for (uint16_t i = 0; i < vrings; i++)
		rte_vhost_enable_guest_notification(vid, i, 0);
	rte_vhost_get_negotiated_features(vid, &features);
	atomic_store(&p->features, features);
	atomic_store(&p->active_pairs, vrings / 2 < p->queue_pairs ? vrings / 2 : p->queue_pairs);
	atomic_store(&p->vid, vid);
	atomic_store(&p->running, true);
	atomic_fetch_add(&p->starts, 1);
	atomic_store(&p->state, IOV_VHOST_RUNNING);
	return 0;
}

static void on_destroy_device(int vid)
{
	struct iov_vhost_net *p = port_of_vid(vid);

	if (!p)
		return;
	/* rte_vhost frees the rings when this returns: wait until the data path has let go. The
	 * store and the loads are sequentially consistent, pairing with enter() below. */
	atomic_store(&p->running, false);
	for (unsigned int i = 0; i < RTE_DIM(p->in_ring); i++)
		while (atomic_load(&p->in_ring[i]))
			rte_pause();
	atomic_store(&p->active_pairs, 0);
	atomic_store(&p->state, IOV_VHOST_CONNECTED);
}

static void on_destroy_connection(int vid)
{
	struct iov_vhost_net *p = port_of_vid(vid);

	if (!p)
		return;
	atomic_store(&p->rx_enabled, 0);
	atomic_store(&p->state, IOV_VHOST_WAITING);
}

/*
 * A ring enabled or disabled (SET_VRING_ENABLE; without protocol features, each ring as it
 * gets its kick fd). A guest with fewer queue pairs in use than set up (Linux: ethtool -L)
 * disables the receive rings of the others, which then take no frames.
 *
 * rte_vhost starts a net device once its first pair is ready, so a frontend that sets up the
 * other pairs afterwards (iovm: they start disabled, and are enabled when the guest's driver
 * asks for them through its control queue) brings them in here: the data path's pairs grow to
 * the highest one enabled that exists, up to those offered.
 */
static int on_vring_state_changed(int vid, uint16_t vring, int enable)
{
	struct iov_vhost_net *p = port_of_vid(vid);
	unsigned int bit = 1u << (vring / 2);

	if (p && enable && atomic_load(&p->running)) {
		unsigned int want = vring / 2 + 1u, have = rte_vhost_get_vring_num(vid) / 2u;
		unsigned int cur = atomic_load(&p->active_pairs);

		if (want > p->queue_pairs)
			want = p->queue_pairs;
		if (want > have)
			want = have;
		while (cur < want && !atomic_compare_exchange_weak(&p->active_pairs, &cur, want))
			;
	}
	if (!p || vring % 2 || vring / 2 >= IOV_VHOST_MAX_QUEUE_PAIRS)
		return 0;
	if (enable)
		atomic_fetch_or(&p->rx_enabled, bit);
	else
		atomic_fetch_and(&p->rx_enabled, ~bit);
	return 0;
}

static const struct rte_vhost_device_ops ops = {
	.new_device = on_new_device,
	.destroy_device = on_destroy_device,
	.new_connection = on_new_connection,
	.destroy_connection = on_destroy_connection,
	.vring_state_changed = on_vring_state_changed,
};

/*
 * The data path's way into vring @vring of pair @qp: false when the device is not running
 * or has no such pair (then nothing was entered). Each vring has one caller at a time, so a
 * flag says it is in use: one sequentially consistent store (the fence that orders it before
 * the load of running, as on_destroy_device orders its store before its loads) and a plain
 * release to leave, where a shared counter would cost two locked operations a burst.
 */
static inline bool enter(struct iov_vhost_net *p, uint16_t qp, uint16_t vring)
{
	if (qp >= IOV_VHOST_MAX_QUEUE_PAIRS)
		return false;
	atomic_store(&p->in_ring[vring], true);
	if (atomic_load(&p->running) && qp < atomic_load_explicit(&p->active_pairs, memory_order_relaxed))
		return true;
	atomic_store_explicit(&p->in_ring[vring], false, memory_order_release);
	return false;
}

static inline void leave(struct iov_vhost_net *p, uint16_t vring)
{
	atomic_store_explicit(&p->in_ring[vring], false, memory_order_release);
}

IOV_EXPORT uint16_t iov_vhost_net_rx(struct iov_vhost_net *p, uint16_t qp, struct rte_mempool *mp,
				     struct rte_mbuf **pkts, uint16_t n)
{
	/* The guest's transmit ring of pair qp is vring 2 * qp + 1 (virtio 1.2 §5.1.2). */
	uint16_t vring = (uint16_t)(2 * qp + 1), got;

	if (!enter(p, qp, vring))
		return 0;
	got = rte_vhost_dequeue_burst(atomic_load_explicit(&p->vid, memory_order_relaxed), vring, mp, pkts, n);
	leave(p, vring);
	return got;
}

IOV_EXPORT uint16_t iov_vhost_net_tx(struct iov_vhost_net *p, uint16_t qp, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t vring = (uint16_t)(2 * qp), sent;

	if (!enter(p, qp, vring))
		return 0;
	sent = rte_vhost_enqueue_burst(atomic_load_explicit(&p->vid, memory_order_relaxed), vring, pkts, n);
	leave(p, vring);
	return sent;
}

IOV_EXPORT unsigned int iov_vhost_net_tx_pairs(struct iov_vhost_net *p)
{
	unsigned int active = atomic_load_explicit(&p->active_pairs, memory_order_relaxed);

	return atomic_load_explicit(&p->rx_enabled, memory_order_relaxed) & ((1u << active) - 1);
}

/* Checksum and segmentation offloads: not offered (see the header). */
static const uint64_t offloads = 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
				 1ULL << VIRTIO_NET_F_GUEST_TSO4 | 1ULL << VIRTIO_NET_F_GUEST_TSO6 |
				 1ULL << VIRTIO_NET_F_GUEST_ECN | 1ULL << VIRTIO_NET_F_GUEST_UFO |
				 1ULL << VIRTIO_NET_F_HOST_TSO4 | 1ULL << VIRTIO_NET_F_HOST_TSO6 |
				 1ULL << VIRTIO_NET_F_HOST_ECN | 1ULL << VIRTIO_NET_F_HOST_UFO;

IOV_EXPORT int iov_vhost_net_new(const struct iov_vhost_net_config *cfg, struct iov_vhost_net **ret)
{
	struct iov_vhost_net *p;
	uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS;
	unsigned int qps = cfg->queue_pairs ? cfg->queue_pairs : 1;
	int r;

	if (!cfg->path || !cfg->path[0] || strlen(cfg->path) >= sizeof(p->sock.path) || qps > IOV_VHOST_MAX_QUEUE_PAIRS ||
	    (cfg->flags & ~(unsigned int)(IOV_VHOST_CLIENT | IOV_VHOST_NO_RECONNECT)))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	strcpy(p->sock.path, cfg->path);
	p->sock.owner = p;
	p->flags = cfg->flags;
	p->queue_pairs = qps;
	atomic_init(&p->vid, -1);
	atomic_init(&p->state, IOV_VHOST_WAITING);
	r = vhost_sock_add(&p->sock);
	if (r < 0)
		goto err_free;

	if (cfg->flags & IOV_VHOST_CLIENT) {
		flags |= RTE_VHOST_USER_CLIENT;
		if (cfg->flags & IOV_VHOST_NO_RECONNECT)
			flags |= RTE_VHOST_USER_NO_RECONNECT;
	} else {
		r = vhost_clear_stale_socket(p->sock.path);
		if (r < 0)
			goto err_unlist;
	}
	r = -EIO;
	if (rte_vhost_driver_register(p->sock.path, flags) < 0)
		goto err_unlist;
	if (rte_vhost_driver_disable_features(p->sock.path, offloads | (qps == 1 ? 1ULL << VIRTIO_NET_F_MQ : 0)) < 0 ||
	    rte_vhost_driver_callback_register(p->sock.path, &ops) < 0 || rte_vhost_driver_start(p->sock.path) < 0)
		goto err_unregister;
	*ret = p;
	return 0;

err_unregister:
	rte_vhost_driver_unregister(p->sock.path);
err_unlist:
	vhost_sock_remove(&p->sock);
err_free:
	free(p);
	return r;
}

IOV_EXPORT void iov_vhost_net_free(struct iov_vhost_net *p)
{
	if (!p)
		return;
	/* Closes the listening socket or the connection; a running device is destroyed first
	 * (on_destroy_device). rte_vhost waits out its own callbacks on the port. */
	rte_vhost_driver_unregister(p->sock.path);
	vhost_sock_remove(&p->sock);
	free(p);
}

IOV_EXPORT void iov_vhost_net_info(struct iov_vhost_net *p, struct iov_vhost_net_info *ret)
{
	*ret = (struct iov_vhost_net_info){
		.state = atomic_load(&p->state),
		.queue_pairs = atomic_load(&p->active_pairs),
		.features = atomic_load(&p->running) ? atomic_load(&p->features) : 0,
		.connects = atomic_load(&p->connects),
		.starts = atomic_load(&p->starts),
	};
}

IOV_EXPORT const char *iov_vhost_state_name(enum iov_vhost_state s)
{
	static const char *const names[] = { "waiting", "connected", "running" };

	return (unsigned int)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}
