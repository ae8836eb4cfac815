/* SPDX-License-Identifier: MIT */
/*
 * vhost-user virtio-net backend ports on rte_vhost (include/iovkit/vhost.h).
 *
 * Threat model: the frontend is a guest's VMM and may be hostile or broken. rte_vhost parses
 * its messages and validates ring addresses and descriptor chains against the memory table it
 * was given (IOV_VHOST_DIRECT ports: net-direct.c validates the chains); what this layer adds
 * is state tracking that never lets the data path touch a device rte_vhost is tearing down (a
 * frontend may disconnect at any moment) or, on direct ports, memory or rings a message is
 * about to replace (pre_msg, post_msg).
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
	atomic_uint tx_enabled;         /* pairs whose transmit ring the frontend enabled */
	bool is_direct;                 /* IOV_VHOST_DIRECT: the rings are walked by net-direct.c */
	bool paused;                    /* direct: stopped by pre_msg, to start again in post_msg */
	struct net_direct direct;
	atomic_ullong features;
	atomic_uint connects, starts;
};

static struct iov_vhost_net *port_of_vid(int vid)
{
	return vhost_sock_owner(vid);
}

static const struct rte_vhost_user_extern_ops extern_ops;

static int on_new_connection(int vid)
{
	struct iov_vhost_net *p = port_of_vid(vid);

	if (!p || (p->is_direct && rte_vhost_extern_callback_register(vid, &extern_ops, p) < 0))
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
	if (p->is_direct && direct_start(&p->direct, vid, features, vrings) < 0)
		return -1;
	atomic_store(&p->features, features);
	atomic_store(&p->active_pairs, vrings / 2 < p->queue_pairs ? vrings / 2 : p->queue_pairs);
	atomic_store(&p->vid, vid);
	atomic_store(&p->running, true);
	atomic_fetch_add(&p->starts, 1);
	atomic_store(&p->state, IOV_VHOST_RUNNING);
	return 0;
}

/* Keeps the data path out of the port: returns once no call is inside it. The store and the
 * loads are sequentially consistent, pairing with enter() below. */
static void quiesce(struct iov_vhost_net *p)
{
	atomic_store(&p->running, false);
	for (unsigned int i = 0; i < RTE_DIM(p->in_ring); i++)
		while (atomic_load(&p->in_ring[i]))
			rte_pause();
}

static void on_destroy_device(int vid)
{
	struct iov_vhost_net *p = port_of_vid(vid);

	if (!p)
		return;
	/* rte_vhost frees the rings when this returns: wait until the data path has let go. */
	quiesce(p);
	if (p->is_direct && !p->paused)
		direct_stop(&p->direct, vid);
	p->paused = false;
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
		/* Direct: the new pairs' rings are loaded before the data path may use them. */
		for (unsigned int q = cur; p->is_direct && q < want; q++)
			if (!direct_load(&p->direct, vid, (uint16_t)(2 * q)) ||
			    !direct_load(&p->direct, vid, (uint16_t)(2 * q + 1)))
				want = q;
		while (cur < want && !atomic_compare_exchange_weak(&p->active_pairs, &cur, want))
			;
	}
	if (!p || vring / 2 >= IOV_VHOST_MAX_QUEUE_PAIRS)
		return 0;
	if (enable)
		atomic_fetch_or(vring % 2 ? &p->tx_enabled : &p->rx_enabled, bit);
	else
		atomic_fetch_and(vring % 2 ? &p->tx_enabled : &p->rx_enabled, ~bit);
	return 0;
}

/*
 * Direct ports: messages that replace what the data path uses (the memory table, a ring's
 * size, addresses, base or call fd, the features) stop it while rte_vhost handles them, and it
 * starts again afterwards on what they set. rte_vhost's builtin path has its ring locks for
 * this; the direct data path takes no lock, and calls nothing in rte_vhost that does.
 */
enum { MSG_SET_FEATURES = 2, MSG_SET_MEM_TABLE = 5, MSG_SET_LOG_BASE = 6, MSG_SET_VRING_NUM = 8,
       MSG_SET_VRING_ADDR = 9, MSG_SET_VRING_BASE = 10, MSG_SET_VRING_KICK = 12, MSG_SET_VRING_CALL = 13 };

static enum rte_vhost_msg_result pre_msg(int vid, void *msg)
{
	struct iov_vhost_net *p = port_of_vid(vid);

	switch (*(const uint32_t *)msg) {
	case MSG_SET_FEATURES: case MSG_SET_MEM_TABLE: case MSG_SET_LOG_BASE: case MSG_SET_VRING_NUM:
	case MSG_SET_VRING_ADDR: case MSG_SET_VRING_BASE: case MSG_SET_VRING_KICK: case MSG_SET_VRING_CALL:
		if (p && atomic_load(&p->running)) {
			quiesce(p);
			direct_stop(&p->direct, vid);
			p->paused = true;
		}
		break;
	}
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static enum rte_vhost_msg_result post_msg(int vid, void *msg)
{
	struct iov_vhost_net *p = port_of_vid(vid);
	uint64_t features = 0;

	(void)msg;
	if (!p || !p->paused)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	p->paused = false;
	rte_vhost_get_negotiated_features(vid, &features);
	if (direct_start(&p->direct, vid, features, 2 * atomic_load(&p->active_pairs)) == 0) {
		atomic_store(&p->features, features);
		atomic_store(&p->running, true);
	}
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static const struct rte_vhost_user_extern_ops extern_ops = { .pre_msg_handle = pre_msg,
							     .post_msg_handle = post_msg };

static const struct rte_vhost_device_ops ops = {
	.new_device = on_new_device,
	.destroy_device = on_destroy_device,
	.new_connection = on_new_connection,
	.destroy_connection = on_destroy_connection,
	.vring_state_changed = on_vring_state_changed,
};

/*
 * The data path's way into vring @vring of pair @qp: false when the device is not running
 * or has no such pair (then nothing was entered). Each vring has one caller at a time, so a flag says it is in
 * use: one sequentially consistent store (the fence that orders it before the load of
 * running, as on_destroy_device orders its store before its loads) and a plain release to
 * leave, where a shared counter would cost two locked operations a burst.
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

/* Direct ports, inside enter(): whether vring @vring of pair @qp is loaded and enabled. */
static inline bool direct_ring_on(struct iov_vhost_net *p, uint16_t qp, uint16_t vring)
{
	atomic_uint *on = vring % 2 ? &p->tx_enabled : &p->rx_enabled;

	return p->direct.vr[vring].ready && atomic_load_explicit(on, memory_order_relaxed) & 1u << qp;
}

IOV_EXPORT uint16_t iov_vhost_net_rx(struct iov_vhost_net *p, uint16_t qp, struct rte_mempool *mp,
				     struct rte_mbuf **pkts, uint16_t n)
{
	/* The guest's transmit ring of pair qp is vring 2 * qp + 1 (virtio 1.2 §5.1.2). */
	uint16_t vring = (uint16_t)(2 * qp + 1), got;

	if (!enter(p, qp, vring))
		return 0;
	if (!p->is_direct)
		got = rte_vhost_dequeue_burst(atomic_load_explicit(&p->vid, memory_order_relaxed), vring, mp, pkts, n);
	else if (direct_ring_on(p, qp, vring))
		got = direct_dequeue(&p->direct, &p->direct.vr[vring], mp, pkts, n);
	else
		got = 0;
	leave(p, vring);
	return got;
}

IOV_EXPORT uint16_t iov_vhost_net_tx(struct iov_vhost_net *p, uint16_t qp, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t vring = (uint16_t)(2 * qp), sent;

	if (!enter(p, qp, vring))
		return 0;
	if (!p->is_direct)
		sent = rte_vhost_enqueue_burst(atomic_load_explicit(&p->vid, memory_order_relaxed), vring, pkts, n);
	else if (direct_ring_on(p, qp, vring))
		sent = direct_enqueue(&p->direct, &p->direct.vr[vring], pkts, n);
	else
		sent = 0;
	leave(p, vring);
	return sent;
}

IOV_EXPORT uint16_t iov_vhost_net_forward(struct iov_vhost_net *from, uint16_t from_qp, struct iov_vhost_net *to,
					  uint16_t to_qp, uint16_t n, const struct iov_vhost_fwd_rules *rules,
					  struct iov_vhost_fwd_counts *out)
{
	uint16_t txr = (uint16_t)(2 * from_qp + 1), rxr = (uint16_t)(2 * to_qp);
	uint64_t before = out->received;
	bool to_in;

	if (!from->is_direct || !to->is_direct || !enter(from, from_qp, txr))
		return 0;
	if (direct_ring_on(from, from_qp, txr)) {
		to_in = enter(to, to_qp, rxr);
		direct_forward(&from->direct, &from->direct.vr[txr], &to->direct,
			       to_in && direct_ring_on(to, to_qp, rxr) ? &to->direct.vr[rxr] : NULL, n, rules, out);
		if (to_in)
			leave(to, rxr);
	}
	leave(from, txr);
	return (uint16_t)(out->received - before);
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

/* What a direct port offers: what net-direct.c implements, and no more (see the header). */
static uint64_t direct_features(unsigned int qps)
{
	return 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_ANY_LAYOUT | 1ULL << VIRTIO_NET_F_MRG_RXBUF |
	       1ULL << VIRTIO_F_IN_ORDER |
	       1ULL << VHOST_USER_F_PROTOCOL_FEATURES | (qps > 1 ? 1ULL << VIRTIO_NET_F_MQ : 0);
}

IOV_EXPORT int iov_vhost_net_new(const struct iov_vhost_net_config *cfg, struct iov_vhost_net **ret)
{
	struct iov_vhost_net *p;
	uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS;
	unsigned int qps = cfg->queue_pairs ? cfg->queue_pairs : 1;
	int r;

	if (!cfg->path || !cfg->path[0] || strlen(cfg->path) >= sizeof(p->sock.path) || qps > IOV_VHOST_MAX_QUEUE_PAIRS ||
	    (cfg->flags & ~(unsigned int)(IOV_VHOST_CLIENT | IOV_VHOST_NO_RECONNECT | IOV_VHOST_DIRECT)))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	strcpy(p->sock.path, cfg->path);
	p->sock.owner = p;
	p->flags = cfg->flags;
	p->queue_pairs = qps;
	p->is_direct = cfg->flags & IOV_VHOST_DIRECT;
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
	if ((p->is_direct ? rte_vhost_driver_set_features(p->sock.path, direct_features(qps))
			  : rte_vhost_driver_disable_features(p->sock.path,
							      offloads | (qps == 1 ? 1ULL << VIRTIO_NET_F_MQ : 0))) < 0 ||
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
		.direct = p->is_direct,
		.bad_chains = __atomic_load_n(&p->direct.bad, __ATOMIC_RELAXED),
	};
}

IOV_EXPORT const char *iov_vhost_state_name(enum iov_vhost_state s)
{
	static const char *const names[] = { "waiting", "connected", "running" };

	return (unsigned int)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}
