/* SPDX-License-Identifier: MIT */
/*
 * A virtio device whose queues a vhost-user backend serves (iovswitch, DPDK, QEMU's storage
 * daemon): the transport is ours (virtio-pci.c), the rings live in guest RAM, and the backend
 * is told where with libiovkit-vhost-front. Each queue has a kick eventfd (an ioeventfd on
 * its notify address: the guest's notification goes from KVM straight to the backend) and a
 * call eventfd (an irqfd on the queue's MSI-X route: the backend's interrupt goes straight to
 * the guest). Neither passes through this process.
 *
 * Device configuration: a NIC's (MAC, link up) is iovm's own, since the switch learns MACs
 * rather than assigning them; a disk's comes from the backend (GET_CONFIG) at connect time.
 *
 * A NIC with more than one queue pair (VIRTIO_NET_F_MQ) has a control queue after them, and
 * that queue is iovm's, as in QEMU: the backend never hears of it. Its notifications exit to
 * iovm (no ioeventfd), which answers VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET by enabling that many
 * pairs' rings at the backend (SET_VRING_ENABLE) and disabling the rest; until then only the
 * first pair is enabled (virtio 1.2 §5.1.6.5.5).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "iovkit/vhost-front.h"
#include "vmm-internal.h"

#define NET_F_MAC (1ULL << 5)
#define NET_F_STATUS (1ULL << 16)
#define NET_F_CTRL_VQ (1ULL << 17)
#define NET_F_MQ (1ULL << 22)
#define NET_CTRL_MQ 4
#define NET_CTRL_MQ_VQ_PAIRS_SET 0
#define NET_OK 0
#define NET_ERR 1
#define F_EVENT_IDX (1ULL << 29)
#define F_RING_PACKED (1ULL << 34)
#define BLK_QUEUES 1
#define QUEUE_MAX 256

/*
 * What a guest may negotiate, where the backend offers it: net's offloads and mergeable
 * buffers, blk's geometry/flush/discard, and the ring features; not ACCESS_PLATFORM (no IOMMU
 * in front). Multiqueue and the control queue are iovm's (above). Packed rings for a disk
 * whose backend also keeps an inflight region (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD): a packed
 * ring has no used index in guest memory, so only that region says where to resume after the
 * backend restarts.
 */
static const uint64_t net_passthrough = 0x1ULL | 1ULL << 1 | 0x7f80ULL /* bits 7-14 */ | 1ULL << 15;
static const uint64_t blk_passthrough = 1ULL << 1 | 1ULL << 2 | 1ULL << 4 | 1ULL << 5 | 1ULL << 6 | 1ULL << 9 |
					1ULL << 10 | 1ULL << 13 | 1ULL << 14;
static const uint64_t ring_passthrough = 1ULL << 28 | F_EVENT_IDX;     /* INDIRECT_DESC, EVENT_IDX */

struct vhost_dev {
	struct virtio_pci vpci;         /* first: the PCI model hands this pointer back */
	struct vm *vm;
	enum vhost_dev_type type;
	char path[108];
	struct iov_vhost_front *front;
	bool connected;
	uint64_t backend_features;
	uint8_t mac[6];
	unsigned int pairs;             /* net: queue pairs offered */
	int ctrl_q;                     /* net: the control queue while the device runs, else -1 */
	unsigned int active_pairs;      /* net: the pairs the driver last asked for */
	uint16_t ctrl_last_avail;
	bool ctrl_complained;           /* an unknown control command was logged (once) */
	uint8_t blk_config[64];
	int kick[VIRTIO_MAX_QUEUES], call[VIRTIO_MAX_QUEUES];
	int gsi[VIRTIO_MAX_QUEUES];
	bool irqfd_on[VIRTIO_MAX_QUEUES], running[VIRTIO_MAX_QUEUES];
	uint64_t notify_addr[VIRTIO_MAX_QUEUES];
};

static struct vhost_dev *of(struct virtio_pci *v)
{
	return v->opaque;
}

static void notify_fd(struct vhost_dev *d, unsigned int q, bool on);

static int dev_start(struct virtio_pci *v)
{
	struct vhost_dev *d = of(v);
	struct iov_vhost_region ram = {
		.guest_phys_addr = 0, .size = d->vm->ram_size, .host_addr = d->vm->ram, .fd = d->vm->ram_fd,
	};
	int r;

	if (!d->front) {
		fprintf(stderr, "iovm: %s: the driver started the device while its backend is away\n", d->path);
		return -ENOTCONN;
	}
	/* The backend hears only what it offered: MAC and link status are iovm's, and so is the
	 * control queue. */
	r = iov_vhost_front_set_features(d->front, v->driver_features & d->backend_features & ~NET_F_CTRL_VQ);
	if (r == 0)
		r = iov_vhost_front_set_mem_table(d->front, &ram, 1);
	/* A packed ring's requests are recorded in an inflight region the backend gives us, a
	 * fresh one each time the driver starts the device. */
	if (r == 0 && (v->driver_features & F_RING_PACKED)) {
		uint16_t qsize = 0;

		for (unsigned int q = 0; q < v->num_queues; q++)
			if (v->queues[q].enabled && v->queues[q].size > qsize)
				qsize = v->queues[q].size;
		r = iov_vhost_front_inflight(d->front, v->num_queues, qsize);
	}
	d->ctrl_q = -1;
	if (d->type == VHOST_DEV_NET && (v->driver_features & NET_F_CTRL_VQ)) {
		/* After the pairs with MQ, else after the one pair (virtio 1.2 §5.1.2). */
		d->ctrl_q = v->driver_features & NET_F_MQ ? 2 * (int)d->pairs : 2;
		d->ctrl_last_avail = 0;
		d->active_pairs = 1;
		notify_fd(d, (unsigned int)d->ctrl_q, false);
	}
	for (unsigned int q = 0; r == 0 && q < v->num_queues; q++) {
		const struct virtio_queue *vq = &v->queues[q];
		struct iov_vhost_vring ring = {
			.num = vq->size, .desc_gpa = vq->desc, .avail_gpa = vq->driver, .used_gpa = vq->device,
			.kick_fd = d->kick[q], .call_fd = d->call[q],
			.disabled = d->ctrl_q >= 0 && q >= 2,   /* until the driver asks for more pairs */
			.base = v->driver_features & F_RING_PACKED ? 0x8000 : 0,        /* wrap counter 1 */
		};

		if (!vq->enabled || (int)q == d->ctrl_q)
			continue;
		r = iov_vhost_front_vring_start(d->front, q, &ring);
		d->running[q] = r == 0;
	}
	if (r < 0)
		fprintf(stderr, "iovm: %s: the backend did not take the device's queues: %s\n", d->path, strerror(-r));
	return r;
}

static void dev_stop(struct virtio_pci *v)
{
	struct vhost_dev *d = of(v);

	if (d->ctrl_q >= 0)
		notify_fd(d, (unsigned int)d->ctrl_q, true);    /* a data queue's again, maybe */
	d->ctrl_q = -1;
	for (unsigned int q = 0; q < v->num_queues; q++) {
		uint16_t base;

		if (d->running[q] && d->front)
			iov_vhost_front_vring_stop(d->front, q, &base);
		d->running[q] = false;
	}
}

static void dev_config_read(struct virtio_pci *v, unsigned int off, void *buf, unsigned int len)
{
	struct vhost_dev *d = of(v);
	uint8_t cfg[64] = { 0 };

	if (d->type == VHOST_DEV_NET) {
		memcpy(cfg, d->mac, 6);
		cfg[6] = 1;             /* status: VIRTIO_NET_S_LINK_UP */
		cfg[8] = (uint8_t)d->pairs;     /* max_virtqueue_pairs (le16; at most 8) */
	} else {
		memcpy(cfg, d->blk_config, sizeof(cfg));
	}
	if (off < sizeof(cfg))
		memcpy(buf, cfg + off, off + len <= sizeof(cfg) ? len : sizeof(cfg) - off);
}

static void dev_route(struct virtio_pci *v, unsigned int q, bool deliver, uint64_t addr, uint32_t data)
{
	struct vhost_dev *d = of(v);
	int r = 0;

	if (deliver) {
		if (d->gsi[q] < 0)
			d->gsi[q] = vm_msi_route_alloc(d->vm);
		if (d->gsi[q] < 0) {
			fprintf(stderr, "iovm: %s: no MSI route left for queue %u\n", d->path, q);
			return;
		}
		r = vm_msi_route_set(d->vm, d->gsi[q], addr, data);
		if (r == 0 && !d->irqfd_on[q])
			r = vm_irqfd(d->vm, d->call[q], d->gsi[q], true);
		d->irqfd_on[q] = r == 0;
	} else if (d->irqfd_on[q]) {
		/* Masked: the backend's signals wait in the eventfd; KVM delivers them on unmask. */
		r = vm_irqfd(d->vm, d->call[q], d->gsi[q], false);
		d->irqfd_on[q] = false;
	}
	if (r < 0)
		fprintf(stderr, "iovm: %s: routing queue %u's interrupt: %s\n", d->path, q, strerror(-r));
}

/* Queue @q's notifications through an ioeventfd on @addr (0: none; they exit to dev_notify). */
static void notify_at(struct vhost_dev *d, unsigned int q, uint64_t addr)
{
	if (d->notify_addr[q])
		vm_ioeventfd(d->vm, d->kick[q], d->notify_addr[q], 2, false);
	d->notify_addr[q] = 0;
	if (addr && vm_ioeventfd(d->vm, d->kick[q], addr, 2, true) == 0)
		d->notify_addr[q] = addr;
}

/* The ioeventfd of queue @q where BAR 0 is now, or none (the control queue's notifications
 * must reach iovm). */
static void notify_fd(struct vhost_dev *d, unsigned int q, bool on)
{
	const struct pci_dev *p = &d->vpci.pci;

	notify_at(d, q, on && pci_mem_enabled(p) ? p->bars[0].addr + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * q : 0);
}

static void dev_notify_moved(struct virtio_pci *v, unsigned int q, uint64_t addr)
{
	struct vhost_dev *d = of(v);

	notify_at(d, q, (int)q == d->ctrl_q ? 0 : addr);
}

/*
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET: pairs 0..@n-1 enabled at the backend, the rest disabled.
 * While the backend is away the rings are not running: the count is kept, and applied again
 * when it is back (vhost_dev_reconnect).
 */
static uint8_t set_pairs(struct vhost_dev *d, unsigned int n)
{
	if (n < 1 || n > d->pairs)
		return NET_ERR;
	d->active_pairs = n;
	for (unsigned int q = 2; q < 2 * d->pairs; q++) {
		int r;

		if (!d->running[q])
			continue;
		r = iov_vhost_front_vring_enable(d->front, q, q < 2 * n);
		if (r < 0) {
			fprintf(stderr, "iovm: %s: %s queue %u: %s\n", d->path, q < 2 * n ? "enabling" : "disabling", q,
				strerror(-r));
			return NET_ERR;
		}
	}
	fprintf(stderr, "iovm: %s: the driver uses %u of %u queue pairs\n", d->path, n, d->pairs);
	return NET_OK;
}

/*
 * The control queue's commands (virtio 1.2 §5.1.6.5): {class, command, data...} readable, an
 * ack byte writable. Only the multiqueue class is offered; anything else gets VIRTIO_NET_ERR.
 * ctrl_answer answers the command @c that vq_pop returned @r for, and completes it.
 */
static void ctrl_answer(struct vhost_dev *d, const struct virtio_queue *vq, int r, struct vq_chain *c)
{
	bool mq = r == 1 && c->out_len >= 4 && c->out[0] == NET_CTRL_MQ && c->out[1] == NET_CTRL_MQ_VQ_PAIRS_SET;
	bool can_ack = r == 1 && c->in && c->in_len >= 1;
	uint8_t ack = NET_ERR;

	if (mq)
		ack = set_pairs(d, (unsigned int)(c->out[2] | c->out[3] << 8));
	else if (!d->ctrl_complained) {
		fprintf(stderr, "iovm: %s: a control command iovm does not know (class %u, command %u%s); "
			"answered VIRTIO_NET_ERR\n", d->path, c->out_len ? c->out[0] : 0, c->out_len > 1 ? c->out[1] : 0,
			r == 1 ? "" : ", a malformed chain");
		d->ctrl_complained = true;
	}
	if (can_ack)
		c->in[c->in_len - 1] = ack;
	vq_push(d->vm->ram, d->vm->ram_size, vq, c->head, can_ack ? 1 : 0);
}

static void ctrl_process(struct vhost_dev *d, unsigned int q)
{
	const struct virtio_queue *vq = &d->vpci.queues[q];
	bool event_idx = d->vpci.driver_features & F_EVENT_IDX;
	struct vq_chain c;
	bool done = false;
	int r;

	if (!vq->enabled)
		return;
	/* With EVENT_IDX the driver kicks for the next command only if told to (Linux sends one
	 * at probe and one per ethtool -L: without vq_kick_at the second spun forever, unkicked). */
	do {
		while ((r = vq_pop(d->vm->ram, d->vm->ram_size, vq, &d->ctrl_last_avail, &c)) != 0) {
			if (r == -EFAULT) {
				fprintf(stderr, "iovm: %s: the control queue's rings are outside guest RAM\n", d->path);
				return;
			}
			ctrl_answer(d, vq, r, &c);
			done = true;
		}
	} while (event_idx && vq_kick_at(d->vm->ram, d->vm->ram_size, vq, d->ctrl_last_avail) == 1);
	if (done && write(d->call[q], &(uint64_t){ 1 }, sizeof(uint64_t)) < 0) {
		/* the counter cannot overflow: one write per notification */
	}
}

static void dev_notify(struct virtio_pci *v, unsigned int q)
{
	uint64_t one = 1;

	if ((int)q == of(v)->ctrl_q) {
		ctrl_process(of(v), q);
		return;
	}

	/* A notification KVM did not take (another width than the ioeventfd's): pass it on. */
	if (write(of(v)->kick[q], &one, sizeof(one)) < 0) {
		/* the counter cannot overflow at one per exit */
	}
}

/* The backend signalled queue @q while its irqfd is off (vector masked): the signal waits in
 * the call eventfd, which KVM reads when the irqfd is assigned again. */
static bool dev_pending(struct virtio_pci *v, unsigned int q)
{
	struct vhost_dev *d = of(v);
	struct pollfd p = { .fd = d->call[q], .events = POLLIN };

	return !d->irqfd_on[q] && d->call[q] >= 0 && poll(&p, 1, 0) == 1;
}

static const struct virtio_pci_ops dev_ops = {
	.start = dev_start,
	.stop = dev_stop,
	.config_read = dev_config_read,
	.route = dev_route,
	.notify_moved = dev_notify_moved,
	.notify = dev_notify,
	.pending = dev_pending,
};

void vhost_dev_free(struct vhost_dev *d)
{
	if (!d)
		return;
	iov_vhost_front_free(d->front);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (d->kick[q] >= 0)
			close(d->kick[q]);
		if (d->call[q] >= 0)
			close(d->call[q]);
	}
	free(d);
}

int vhost_dev_add(struct vm *vm, enum vhost_dev_type type, const char *sock, const uint8_t mac[6],
		  unsigned int pairs, char *why, size_t why_len)
{
	struct vhost_dev *d;
	/* net: the pairs, then the control queue where there is more than one pair */
	uint16_t nq = type == VHOST_DEV_NET ? (uint16_t)(pairs > 1 ? 2 * pairs + 1 : 2) : BLK_QUEUES;
	uint64_t offer;
	int r;

	if (type == VHOST_DEV_NET && (pairs < 1 || 2 * pairs + 1 > VIRTIO_MAX_QUEUES)) {
		snprintf(why, why_len, "%s: %u queue pairs: 1 to %d", sock, pairs, (VIRTIO_MAX_QUEUES - 1) / 2);
		return -EINVAL;
	}
	if (vm->n_devs >= PCI_MAX_DEVS - 1) {
		snprintf(why, why_len, "too many devices");
		return -ENOSPC;
	}
	if (strlen(sock) >= sizeof(d->path)) {
		snprintf(why, why_len, "%s: a socket path is at most %zu bytes", sock, sizeof(d->path) - 1);
		return -ENAMETOOLONG;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	d->type = type;
	d->pairs = type == VHOST_DEV_NET ? pairs : 0;
	d->ctrl_q = -1;
	snprintf(d->path, sizeof(d->path), "%s", sock);
	if (mac)
		memcpy(d->mac, mac, 6);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		d->gsi[q] = -1;
		d->kick[q] = q < nq ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
		d->call[q] = q < nq ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
		if (q < nq && (d->kick[q] < 0 || d->call[q] < 0)) {
			r = -errno;
			snprintf(why, why_len, "eventfd: %s", strerror(errno));
			vhost_dev_free(d);
			return r;
		}
	}
	r = iov_vhost_front_connect(sock, &d->front);
	if (r < 0) {
		snprintf(why, why_len, "%s: cannot reach the vhost-user backend: %s", sock, strerror(-r));
		vhost_dev_free(d);
		return r;
	}
	d->connected = true;
	d->backend_features = iov_vhost_front_backend_features(d->front);
	if (!(d->backend_features & (1ULL << VIRTIO_F_VERSION_1))) {
		snprintf(why, why_len, "%s: the backend does not offer VIRTIO_F_VERSION_1", sock);
		vhost_dev_free(d);
		return -EPROTO;
	}
	if (type == VHOST_DEV_NET) {
		offer = (d->backend_features & (net_passthrough | ring_passthrough)) | NET_F_MAC | NET_F_STATUS;
		if (pairs > 1 && !(d->backend_features & NET_F_MQ)) {
			snprintf(why, why_len, "%s: %u queue pairs, but the backend does not offer multiqueue", sock, pairs);
			vhost_dev_free(d);
			return -EOPNOTSUPP;
		}
		if (pairs > 1)
			offer |= NET_F_MQ | NET_F_CTRL_VQ;
	} else {
		offer = d->backend_features & (blk_passthrough | ring_passthrough);
		if (iov_vhost_front_protocol_features(d->front) & IOV_VHOST_PF_INFLIGHT_SHMFD)
			offer |= d->backend_features & F_RING_PACKED;
		r = iov_vhost_front_get_config(d->front, 0, d->blk_config, sizeof(d->blk_config));
		if (r < 0) {
			snprintf(why, why_len, "%s: the backend did not give the disk's configuration: %s", sock, strerror(-r));
			vhost_dev_free(d);
			return r;
		}
	}
	virtio_pci_init(&d->vpci, type, type == VHOST_DEV_NET ? 0x020000 : 0x010000, nq, QUEUE_MAX, offer, &dev_ops, d);
	r = pci_bus_add(&vm->bus, &d->vpci.pci);
	if (r < 0) {
		snprintf(why, why_len, "no PCI slot left");
		vhost_dev_free(d);
		return r;
	}
	vm->devs[vm->n_devs++] = d;
	return 0;
}

int vhost_dev_fd(struct vhost_dev *d)
{
	return d->front ? iov_vhost_front_fd(d->front) : -1;
}

void vhost_dev_info(struct vhost_dev *d, struct vhost_dev_info *ret)
{
	pthread_mutex_lock(&d->vpci.pci.lock);
	*ret = (struct vhost_dev_info){
		.type = d->type == VHOST_DEV_NET ? "virtio-net" : "virtio-blk", .path = d->path, .slot = d->vpci.pci.slot,
		.connected = d->connected, .driver_ok = d->vpci.started,
		.features = d->vpci.driver_features,
	};
	memcpy(ret->mac, d->mac, 6);
	pthread_mutex_unlock(&d->vpci.pci.lock);
}

const char *vhost_dev_path(const struct vhost_dev *d)
{
	return d->path;
}

void vhost_dev_disconnected(struct vhost_dev *d)
{
	pthread_mutex_lock(&d->vpci.pci.lock);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		d->running[q] = false;
	d->connected = false;
	pthread_mutex_unlock(&d->vpci.pci.lock);
}

int vhost_dev_reconnect(struct vhost_dev *d)
{
	int r;

	pthread_mutex_lock(&d->vpci.pci.lock);
	r = iov_vhost_front_reconnect(d->front);
	d->connected = r == 0;
	if (r == 0) {
		for (unsigned int q = 0; q < d->vpci.num_queues; q++)
			d->running[q] = d->vpci.started && d->vpci.queues[q].enabled && (int)q != d->ctrl_q;
		/* The rings came back as they were told last; the driver may have asked since (a
		 * failure is logged; the first pair works regardless). */
		if (d->ctrl_q >= 0)
			set_pairs(d, d->active_pairs);
	}
	pthread_mutex_unlock(&d->vpci.pci.lock);
	return r;
}
