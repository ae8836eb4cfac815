/* SPDX-License-Identifier: MIT */
/*
 * vhost-user virtio-blk backend (include/iovkit/vhost.h) in rte_vhost's external-backend
 * mode: rte_vhost handles the protocol and maps guest memory; this file processes the request
 * queue itself (virtio 1.2 §5.2.6) against a raw image with preadv/pwritev, fdatasync and
 * fallocate.
 *
 * Threat model: the guest writes the rings and the requests. Every descriptor is translated
 * through the memory table and must be contiguous in this process; a chain is bounded by the
 * ring size (no loops); sizes and sectors are checked against the image before any I/O. A
 * malformed request is completed with VIRTIO_BLK_S_IOERR when it has a status byte, and with
 * nothing written otherwise: the queue never stalls on it, and it is counted.
 *
 * One thread per running device sleeps on the queues' kick eventfds, processes what each queue
 * has available, and signals that queue's call eventfd. With VIRTIO_BLK_F_MQ (queues > 1) each
 * queue is served the same way, its completions on its own used ring. Where the device is
 * configured to poll (poll_us, off by default: it spends a core's time), the thread keeps
 * looking at its rings that long after the last request before it sleeps, kicks off meanwhile,
 * as QEMU's adaptive polling does: see spin().
 *
 * Rings are split (virtio 1.2 §2.7) or, where the frontend negotiates VIRTIO_F_RING_PACKED,
 * packed (§2.8): one descriptor ring that the driver marks available and this file marks used
 * by the AVAIL/USED flag bits against each side's wrap counter. Requests complete in the order
 * they were made available, so a packed ring's used descriptor always lands on its request's
 * first descriptor, and where a queue resumes (GET_VRING_BASE, a reconnect) is exact: bits
 * 0-14 the index, bit 15 the wrap counter.
 *
 * Surviving our own crash: a frontend that lost us cannot ask where a packed ring stopped
 * (split rings resume at the used index, which is in guest memory; a packed ring has none), so
 * where the frontend keeps an inflight region for us (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD:
 * QEMU's vhost-user-blk), every packed request is recorded there while it runs (rte_vhost's
 * inflight calls). A restarted backend resumes each queue where the region says requests were
 * last completed and first runs again the request that was in flight, from the descriptors
 * saved there; reads and writes may run twice, which a disk allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <rte_pause.h>
#include <rte_vhost.h>

#include "iovkit/vhost.h"
#include "iovkit-internal/macro.h"
#include "vhost-internal.h"

#define SECTOR 512
#define SEG_MAX 126
#define F_PROTOCOL_FEATURES (1ULL << 30)
#define PF_CONFIG (1ULL << 9)
#define PF_INFLIGHT_SHMFD (1ULL << 12)
#define MSG_GET_QUEUE_NUM 17
#define MSG_GET_CONFIG 24

struct iov_vhost_blk {
	struct vhost_sock sock;
	int image;                      /* owned */
	uint64_t sectors;
	bool readonly;
	char serial[VIRTIO_BLK_ID_BYTES];

	unsigned int queues;            /* offered */
	uint64_t poll_ns;               /* how long the thread polls after a request; 0: it does not */

	/* The running device, its queues, its thread and how to stop it. */
	pthread_mutex_t lock;
	int vid;
	bool running;
	pthread_t thread;
	int stop_fd;                    /* wakes the thread: to stop, or (rescan) to look for rings */
	atomic_bool stopping, rescan;
	struct rte_vhost_memory *mem;
	bool packed;                    /* VIRTIO_F_RING_PACKED negotiated */
	struct blk_queue {
		struct rte_vhost_vring vring;
		uint16_t last_avail;    /* split: a free-running index; packed: a ring position */
		/* Packed: where the next used descriptor goes, and both wrap counters. */
		uint16_t last_used;
		bool avail_wrap, used_wrap;
		bool inflight;          /* packed: the frontend's inflight region records requests */
		bool resubmit;          /* packed: requests in flight when the last backend stopped */
	} q[IOV_VHOST_BLK_MAX_QUEUES];
	unsigned int n_q;               /* the queues the frontend set up (at least 1) */

	atomic_int state;
	atomic_uint connects;
	atomic_ullong st_reads, st_writes, st_flushes, st_discards, st_read_bytes, st_written_bytes, st_errors, st_bad;
	atomic_ullong st_polled;        /* requests found by polling, without a kick */
};

static struct iov_vhost_blk *blk_of_vid(int vid)
{
	return vhost_sock_owner(vid);
}

/* A guest buffer as a pointer here, or NULL when it is not all inside one region. */
static void *gpa_to_va(struct iov_vhost_blk *b, uint64_t gpa, uint32_t len)
{
	uint64_t got = len;
	uint64_t va = rte_vhost_va_from_guest_pa(b->mem, gpa, &got);

	return va && got == len ? (void *)(uintptr_t)va : NULL;
}

struct request {
	struct virtio_blk_outhdr hdr;
	struct iovec data[SEG_MAX];
	unsigned int n_data;
	size_t data_len;
	uint8_t *status;
	bool data_writable;     /* device-writable data (reads) */
};

/* A request's descriptors as copied out of either ring: address, length, flags. */
struct seg {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

#define MAX_SEGS (SEG_MAX + 2)          /* the header, the data, the status */

/*
 * The split ring's chain at @head, copied out (the guest may change descriptors while we
 * look). Returns its length, or 0 for a bad index, a loop, or more segments than we offered.
 */
static unsigned int gather_split(const struct blk_queue *q, uint16_t head, struct seg d[MAX_SEGS])
{
	const struct vring_desc *desc = q->vring.desc;
	uint16_t size = q->vring.size, i = head;

	for (unsigned int n = 0; n < MAX_SEGS; n++) {
		struct vring_desc one;

		if (i >= size)
			return 0;
		one = desc[i];
		d[n] = (struct seg){ one.addr, one.len, one.flags };
		if (!(one.flags & VRING_DESC_F_NEXT))
			return n + 1;
		i = one.next;
	}
	return 0;
}

/*
 * Checks @n copied descriptors as a request: a readable header, data descriptors all of one
 * direction, and a writable status byte last. Returns 0, or -EINVAL with req->status set when
 * the status byte could be found (so the request can be failed in the guest's eyes).
 */
static int parse_request(struct iov_vhost_blk *b, const struct seg *d, unsigned int n, struct request *req)
{
	req->status = NULL;
	req->n_data = 0;
	req->data_len = 0;
	if (n >= 2 && (d[n - 1].flags & VRING_DESC_F_WRITE) && d[n - 1].len >= 1)
		req->status = gpa_to_va(b, d[n - 1].addr + d[n - 1].len - 1, 1);
	if (n < 2 || (d[0].flags & VRING_DESC_F_WRITE) || d[0].len < sizeof(req->hdr) || (d[0].flags & VRING_DESC_F_INDIRECT))
		return -EINVAL;
	void *h = gpa_to_va(b, d[0].addr, sizeof(req->hdr));
	if (!h || !req->status)
		return -EINVAL;
	memcpy(&req->hdr, h, sizeof(req->hdr));
	req->data_writable = n > 2 && (d[1].flags & VRING_DESC_F_WRITE);
	for (unsigned int k = 1; k + 1 < n; k++) {
		void *p = d[k].len ? gpa_to_va(b, d[k].addr, d[k].len) : NULL;
		if (!p || !!(d[k].flags & VRING_DESC_F_WRITE) != req->data_writable)
			return -EINVAL;
		req->data[req->n_data++] = (struct iovec){ p, d[k].len };
		req->data_len += d[k].len;
	}
	/* The status descriptor may carry data before its last byte (one buffer for both). */
	if (d[n - 1].len > 1) {
		void *p = gpa_to_va(b, d[n - 1].addr, d[n - 1].len - 1);
		if (!p || (req->n_data && !req->data_writable) || req->n_data == SEG_MAX)
			return -EINVAL;
		req->data_writable = true;
		req->data[req->n_data++] = (struct iovec){ p, d[n - 1].len - 1 };
		req->data_len += d[n - 1].len - 1;
	}
	return 0;
}

static bool in_range(const struct iov_vhost_blk *b, uint64_t sector, uint64_t bytes)
{
	return bytes % SECTOR == 0 && sector <= b->sectors && bytes / SECTOR <= b->sectors - sector;
}

/* Runs one parsed request; returns the VIRTIO_BLK_S_* status and sets *@written. */
static uint8_t execute(struct iov_vhost_blk *b, struct request *req, uint32_t *written)
{
	uint64_t sector = req->hdr.sector;
	ssize_t n;

	*written = 0;
	switch (req->hdr.type) {
	case VIRTIO_BLK_T_IN:
		if (!req->data_writable || !in_range(b, sector, req->data_len))
			return VIRTIO_BLK_S_IOERR;
		n = preadv(b->image, req->data, (int)req->n_data, (off_t)(sector * SECTOR));
		if (n != (ssize_t)req->data_len)
			return VIRTIO_BLK_S_IOERR;
		*written = (uint32_t)n;
		atomic_fetch_add(&b->st_reads, 1);
		atomic_fetch_add(&b->st_read_bytes, (uint64_t)n);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT:
		if (b->readonly || req->data_writable || !in_range(b, sector, req->data_len))
			return VIRTIO_BLK_S_IOERR;
		n = pwritev(b->image, req->data, (int)req->n_data, (off_t)(sector * SECTOR));
		if (n != (ssize_t)req->data_len)
			return VIRTIO_BLK_S_IOERR;
		atomic_fetch_add(&b->st_writes, 1);
		atomic_fetch_add(&b->st_written_bytes, (uint64_t)n);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		atomic_fetch_add(&b->st_flushes, 1);
		return fdatasync(b->image) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_GET_ID: {
		size_t left = VIRTIO_BLK_ID_BYTES;
		if (!req->data_writable)
			return VIRTIO_BLK_S_IOERR;
		for (unsigned int k = 0; k < req->n_data && left; k++) {
			size_t c = req->data[k].iov_len < left ? req->data[k].iov_len : left;
			memcpy(req->data[k].iov_base, b->serial + (VIRTIO_BLK_ID_BYTES - left), c);
			left -= c;
			*written += (uint32_t)c;
		}
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		struct virtio_blk_discard_write_zeroes seg;
		int mode = req->hdr.type == VIRTIO_BLK_T_DISCARD ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
								  : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		/* One segment (max_discard_seg = max_write_zeroes_seg = 1). */
		if (b->readonly || req->data_writable || req->n_data != 1 || req->data_len != sizeof(seg))
			return VIRTIO_BLK_S_IOERR;
		memcpy(&seg, req->data[0].iov_base, sizeof(seg));
		if (!in_range(b, seg.sector, (uint64_t)seg.num_sectors * SECTOR) || (seg.flags & ~1u))
			return VIRTIO_BLK_S_UNSUPP;
		if (fallocate(b->image, mode, (off_t)(seg.sector * SECTOR), (off_t)seg.num_sectors * SECTOR) < 0)
			return VIRTIO_BLK_S_IOERR;
		atomic_fetch_add(&b->st_discards, 1);
		return VIRTIO_BLK_S_OK;
	}
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Parses and runs one request; returns its status and sets *@written to the bytes written
 * into the guest's buffers, the status byte included. */
static uint8_t serve(struct iov_vhost_blk *b, const struct seg *d, unsigned int n, uint32_t *written)
{
	struct request req = { .status = NULL };
	uint8_t status;

	*written = 0;
	if (!n || parse_request(b, d, n, &req) < 0) {
		atomic_fetch_add(&b->st_bad, 1);
		status = VIRTIO_BLK_S_IOERR;
	} else {
		status = execute(b, &req, written);
	}
	if (status != VIRTIO_BLK_S_OK)
		atomic_fetch_add(&b->st_errors, 1);
	if (req.status) {
		*req.status = status;
		*written += 1;
	}
	return status;
}

static bool packed_avail(uint16_t flags, bool wrap)
{
	return !!(flags & 1u << VRING_PACKED_DESC_F_AVAIL) == wrap && !!(flags & 1u << VRING_PACKED_DESC_F_USED) != wrap;
}

static void ring_advance(uint16_t *idx, bool *wrap, unsigned int by, uint16_t size)
{
	*idx = (uint16_t)(*idx + by);
	if (*idx >= size) {
		*idx = (uint16_t)(*idx - size);
		*wrap = !*wrap;
	}
}

/*
 * Completes a packed request of @n descriptors, buffer @id, @written bytes: its used
 * descriptor where its list began, both positions past the list. @entry: its record in the
 * inflight region (-1: none), released around the used descriptor as rte_vhost's recovery
 * expects (the region's used position first, the record last).
 */
static void complete_packed(struct iov_vhost_blk *b, unsigned int qi, uint16_t id, uint32_t written, unsigned int n,
			    int entry)
{
	struct blk_queue *q = &b->q[qi];
	struct vring_packed_desc *ring = q->vring.desc_packed;
	uint16_t flags = (uint16_t)((q->used_wrap ? 1u << VRING_PACKED_DESC_F_AVAIL | 1u << VRING_PACKED_DESC_F_USED : 0) |
				    (written ? VRING_DESC_F_WRITE : 0));

	if (entry >= 0)
		rte_vhost_set_last_inflight_io_packed(b->vid, (uint16_t)qi, (uint16_t)entry);
	ring[q->last_used].id = id;
	ring[q->last_used].len = written;
	__atomic_store_n(&ring[q->last_used].flags, flags, __ATOMIC_RELEASE);
	ring_advance(&q->last_avail, &q->avail_wrap, n, q->vring.size);
	ring_advance(&q->last_used, &q->used_wrap, n, q->vring.size);
	if (entry >= 0)
		rte_vhost_clr_inflight_desc_packed(b->vid, (uint16_t)qi, (uint16_t)entry);
}

/*
 * The requests the last backend had in flight, oldest first, from the descriptors the inflight
 * region saved (the ring's copies are the same list, which this skips past). Returns how many.
 */
static unsigned int resubmit_packed(struct iov_vhost_blk *b, unsigned int qi)
{
	struct rte_vhost_ring_inflight ri;
	const struct rte_vhost_resubmit_info *rs;
	unsigned int done = 0;

	if (rte_vhost_get_vhost_ring_inflight(b->vid, (uint16_t)qi, &ri) < 0 || !ri.inflight_packed)
		return 0;
	rs = ri.resubmit_inflight;
	/* rte_vhost sorts the list newest first. */
	for (int k = rs ? rs->resubmit_num - 1 : -1; k >= 0; k--) {
		const struct rte_vhost_inflight_info_packed *inf = ri.inflight_packed;
		uint16_t e = rs->resubmit_list[k].index, j = e, id = 0, num;
		struct seg d[MAX_SEGS];
		unsigned int n = 0;
		uint32_t written;

		/* Done already: rte_vhost keeps its list for the connection's life, across device
		 * restarts (a guest reboot); what we completed is no longer marked in flight. */
		if (e >= inf->desc_num || !inf->desc[e].inflight)
			continue;
		num = inf->desc[e].num;
		for (; n < num && n < MAX_SEGS && j < inf->desc_num; n++, j = inf->desc[j].next) {
			d[n] = (struct seg){ inf->desc[j].addr, inf->desc[j].len, inf->desc[j].flags };
			id = inf->desc[j].id;
		}
		serve(b, d, n == num ? n : 0, &written);
		complete_packed(b, qi, id, written, num ? num : 1, e);
		done++;
	}
	return done;
}

/*
 * Packed ring: each request is the list of descriptors from the next available one, in ring
 * order (wrapping), up to the one without NEXT, which carries the buffer ID. A list longer than
 * we accept is consumed whole (up to the ring's size) and failed. Its used descriptor goes where
 * its first one was; both positions then move past the list.
 */
static unsigned int process_packed(struct iov_vhost_blk *b, unsigned int qi)
{
	struct blk_queue *q = &b->q[qi];
	struct vring_packed_desc *ring = q->vring.desc_packed;
	uint16_t size = q->vring.size;
	unsigned int done = 0;

	if (q->resubmit) {
		done += resubmit_packed(b, qi);
		q->resubmit = false;
	}
	while (packed_avail(__atomic_load_n(&ring[q->last_avail].flags, __ATOMIC_ACQUIRE), q->avail_wrap)) {
		struct seg d[MAX_SEGS];
		unsigned int n = 0, kept = 0;
		uint16_t i = q->last_avail, id, entry;
		uint32_t written;
		bool recorded;

		for (;;) {
			struct vring_packed_desc one = ring[i];

			if (kept < MAX_SEGS)
				d[kept++] = (struct seg){ one.addr, one.len, one.flags };
			n++;
			id = one.id;
			i = (uint16_t)(i + 1 == size ? 0 : i + 1);
			if (!(one.flags & VRING_DESC_F_NEXT) || n == size)
				break;
		}
		recorded = q->inflight && rte_vhost_set_inflight_desc_packed(b->vid, (uint16_t)qi, q->last_avail,
									      (uint16_t)((q->last_avail + n - 1) % size),
									      &entry) == 0;
		serve(b, d, n <= MAX_SEGS && !(d[kept - 1].flags & VRING_DESC_F_NEXT) ? n : 0, &written);
		complete_packed(b, qi, id, written, n, recorded ? entry : -1);
		done++;
	}
	if (done)
		rte_vhost_vring_call(b->vid, (uint16_t)qi);
	return done;
}

/* Completes what the guest made available on queue @qi; returns how many. */
static unsigned int process(struct iov_vhost_blk *b, unsigned int qi)
{
	struct blk_queue *q = &b->q[qi];
	struct vring_avail *avail = q->vring.avail;
	struct vring_used *used = q->vring.used;
	uint16_t size = q->vring.size, avail_idx = __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE);
	unsigned int done = 0;

	if (b->packed)
		return process_packed(b, qi);
	while (q->last_avail != avail_idx) {
		uint16_t head = avail->ring[q->last_avail % size];
		struct seg d[MAX_SEGS];
		uint32_t written;

		serve(b, d, gather_split(q, head, d), &written);
		uint16_t u = used->idx;
		used->ring[u % size] = (struct vring_used_elem){ .id = head < size ? head : 0, .len = written };
		__atomic_store_n(&used->idx, (uint16_t)(u + 1), __ATOMIC_RELEASE);
		q->last_avail++;
		done++;
		if (q->last_avail == avail_idx)
			avail_idx = __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE);
	}
	if (done)
		rte_vhost_vring_call(b->vid, (uint16_t)qi);
	return done;
}

/* Ring @i's addresses and where it resumes; false while the frontend has not set it up. */
static bool queue_get(struct iov_vhost_blk *b, unsigned int i)
{
	struct blk_queue *q = &b->q[i];
	uint16_t avail, used;

	if (rte_vhost_get_vhost_vring(b->vid, (uint16_t)i, &q->vring) < 0 ||
	    rte_vhost_get_vring_base(b->vid, (uint16_t)i, &avail, &used) < 0 || !q->vring.desc || !q->vring.size ||
	    q->vring.kickfd < 0)
		return false;
	if (!b->packed) {
		q->last_avail = avail;
		return true;
	}
	/* With an inflight region, where it says requests were last completed: the frontend's base
	 * is stale after we crashed. */
	{
		struct rte_vhost_ring_inflight ri;

		q->inflight = rte_vhost_get_vhost_ring_inflight(b->vid, (uint16_t)i, &ri) == 0 && ri.inflight_packed;
		q->resubmit = q->inflight && ri.resubmit_inflight && ri.resubmit_inflight->resubmit_num;
		if (q->inflight && rte_vhost_get_vring_base_from_inflight(b->vid, (uint16_t)i, &avail, &used) < 0)
			return false;
	}
	/* Bits 0-14 the position, bit 15 the wrap counter (rte_vhost's and the spec's encoding). */
	q->last_avail = avail & 0x7fff;
	q->avail_wrap = avail >> 15;
	q->last_used = used & 0x7fff;
	q->used_wrap = used >> 15;
	return q->last_avail < q->vring.size && q->last_used < q->vring.size;
}

/*
 * The rings set up since the device started, up to the queues offered: rte_vhost starts it
 * once the rings set up so far are ready, and a frontend that enables each ring as it sets it
 * up (iovkit's own) has only the first one then.
 */
static void rescan(struct iov_vhost_blk *b)
{
	unsigned int n = rte_vhost_get_vring_num(b->vid);

	if (n > b->queues)
		n = b->queues;
	while (b->n_q < n && queue_get(b, b->n_q))
		b->n_q++;
}

/*
 * Whether the driver should kick queue @qi. Not while the thread polls the ring anyway (spin()),
 * so a busy queue costs the driver no notification per request. Split rings:
 * VRING_USED_F_NO_NOTIFY (virtio 1.2 §2.7.10; no EVENT_IDX is offered); packed: the device
 * event suppression area (§2.8.10).
 */
static void kicks_wanted(struct iov_vhost_blk *b, unsigned int qi, bool on)
{
	struct blk_queue *q = &b->q[qi];

	if (b->packed)
		__atomic_store_n(&q->vring.device_event->flags,
				 (uint16_t)(on ? VRING_PACKED_EVENT_FLAG_ENABLE : VRING_PACKED_EVENT_FLAG_DISABLE),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&q->vring.used->flags, (uint16_t)(on ? 0 : VRING_USED_F_NO_NOTIFY), __ATOMIC_RELAXED);
}

/* Whether queue @qi has a request the thread has not taken. */
static bool queue_pending(const struct iov_vhost_blk *b, unsigned int qi)
{
	const struct blk_queue *q = &b->q[qi];

	if (b->packed)
		return q->resubmit ||
		       packed_avail(__atomic_load_n(&q->vring.desc_packed[q->last_avail].flags, __ATOMIC_ACQUIRE),
				    q->avail_wrap);
	return __atomic_load_n(&q->vring.avail->idx, __ATOMIC_ACQUIRE) != q->last_avail;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Polling, where the device asks for it (poll_ns > 0): after serving, the thread keeps looking
 * at its first @n rings for poll_ns more (from the last request it found) before it sleeps,
 * with kicks off. A driver that posts its next request within that time is served without a
 * kick, a wake-up or a system call, where sleeping at once costs each request a scheduler
 * wake-up (2-10 µs, more where the core halted). The price is the core: an idle device costs
 * poll_ns of CPU after its last request, a device with a request every few microseconds all of
 * it, taken from whatever shares the core (in the lab, nested vCPUs: docs/benchmarks.md).
 * Kicks are turned back on, and the rings looked at once more, before it sleeps.
 */
static void spin(struct iov_vhost_blk *b, unsigned int n)
{
	uint64_t until = now_ns() + b->poll_ns;
	bool again = true;

	while (again) {
		for (unsigned int i = 0; i < n; i++)
			kicks_wanted(b, i, false);
		while (now_ns() < until && !atomic_load(&b->stopping) && !atomic_load(&b->rescan)) {
			unsigned int done = 0;

			for (unsigned int i = 0; i < n; i++)
				done += process(b, i);
			if (done) {
				atomic_fetch_add_explicit(&b->st_polled, done, memory_order_relaxed);
				until = now_ns() + b->poll_ns;
			} else {
				rte_pause();
			}
		}
		for (unsigned int i = 0; i < n; i++)
			kicks_wanted(b, i, true);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);   /* kicks on before the rings are read */
		again = false;
		for (unsigned int i = 0; i < n && !again; i++)
			again = queue_pending(b, i);
		if (again && (atomic_load(&b->stopping) || atomic_load(&b->rescan)))
			break;   /* what came in is served after the stop or the rescan is seen to */
		until = now_ns() + b->poll_ns;
	}
}

static void *blk_thread(void *arg)
{
	struct iov_vhost_blk *b = arg;
	struct pollfd p[IOV_VHOST_BLK_MAX_QUEUES + 1];
	bool stop = false;

	while (!stop) {
		unsigned int n = b->n_q;
		uint64_t v;

		for (unsigned int i = 0; i < n; i++) {
			p[i] = (struct pollfd){ .fd = b->q[i].vring.kickfd, .events = POLLIN };
			process(b, i);
		}
		if (b->poll_ns)
			spin(b, n);
		p[n] = (struct pollfd){ .fd = b->stop_fd, .events = POLLIN };
		if (poll(p, n + 1, 100) < 0 && errno != EINTR)
			break;
		if (p[n].revents && read(b->stop_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			break;
		stop = atomic_load(&b->stopping);
		if (!stop && atomic_exchange(&b->rescan, false))
			rescan(b);
		for (unsigned int i = 0; i < n; i++)
			if (p[i].revents && read(p[i].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				stop = true;
	}
	for (unsigned int i = 0; i < b->n_q; i++)
		process(b, i);
	return NULL;
}

static int on_new_connection(int vid);

static void stop_device(struct iov_vhost_blk *b)
{
	uint64_t one = 1;

	if (!b->running)
		return;
	atomic_store(&b->stopping, true);
	if (write(b->stop_fd, &one, sizeof(one)) < 0)
		abort();        /* an eventfd write cannot fail here */
	pthread_join(b->thread, NULL);
	/* Where we stopped is what GET_VRING_BASE answers (and a reconnect resumes from). */
	for (unsigned int i = 0; i < b->n_q; i++) {
		const struct blk_queue *q = &b->q[i];

		if (b->packed)
			rte_vhost_set_vring_base(b->vid, (uint16_t)i, (uint16_t)(q->last_avail | q->avail_wrap << 15),
						 (uint16_t)(q->last_used | q->used_wrap << 15));
		else
			rte_vhost_set_vring_base(b->vid, (uint16_t)i, q->last_avail, q->vring.used->idx);
	}
	closep(&b->stop_fd);
	free(b->mem);
	b->mem = NULL;
	b->running = false;
}

static int on_new_device(int vid)
{
	struct iov_vhost_blk *b = blk_of_vid(vid);
	uint64_t features;
	int r = -1;

	if (!b)
		return -1;
	pthread_mutex_lock(&b->lock);
	b->vid = vid;
	/* Every ring set up so far is ready (rte_vhost's condition for starting us); more may
	 * come (rescan). */
	b->n_q = 0;
	if (rte_vhost_get_negotiated_features(vid, &features) < 0 || rte_vhost_get_mem_table(vid, &b->mem) < 0)
		goto out;
	b->packed = features & 1ULL << VIRTIO_F_RING_PACKED;
	rescan(b);
	if (!b->n_q)
		goto out;
	atomic_store(&b->stopping, false);
	atomic_store(&b->rescan, false);
	b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->stop_fd < 0 || pthread_create(&b->thread, NULL, blk_thread, b) != 0)
		goto out;
	b->running = true;
	atomic_store(&b->state, IOV_VHOST_RUNNING);
	r = 0;
out:
	if (r < 0) {
		closep(&b->stop_fd);
		free(b->mem);
		b->mem = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

static void on_destroy_device(int vid)
{
	struct iov_vhost_blk *b = blk_of_vid(vid);

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	stop_device(b);
	atomic_store(&b->state, IOV_VHOST_CONNECTED);
	pthread_mutex_unlock(&b->lock);
}

/*
 * A ring became ready: the thread looks for new rings itself, since this runs in rte_vhost's
 * message handling, which may hold the ring locks the thread waits on (in rte_vhost_vring_call).
 */
static int on_vring_state_changed(int vid, uint16_t index, int enable)
{
	struct iov_vhost_blk *b = blk_of_vid(vid);
	uint64_t one = 1;

	if (!b || !enable || index >= b->queues)
		return 0;
	pthread_mutex_lock(&b->lock);
	if (b->running && b->vid == vid) {
		atomic_store(&b->rescan, true);
		if (write(b->stop_fd, &one, sizeof(one)) < 0)
			abort();        /* an eventfd write cannot fail here */
	}
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static void on_destroy_connection(int vid)
{
	struct iov_vhost_blk *b = blk_of_vid(vid);

	if (b)
		atomic_store(&b->state, IOV_VHOST_WAITING);
}

/*
 * GET_CONFIG is for vDPA devices in rte_vhost's own handler: an external backend answers it
 * before rte_vhost sees it. @msg is the message as the spec lays it out: the 12-byte header,
 * then {offset, size, flags, region[256]}.
 */
struct config_msg {
	uint32_t request, flags, size;
	uint32_t offset, len, cflags;
	uint8_t region[256];
} __attribute__((packed));

struct u64_msg {
	uint32_t request, flags, size;
	uint64_t u64;
} __attribute__((packed));

/*
 * GET_QUEUE_NUM is answered by rte_vhost with its own limit (128), whatever this device
 * offers: a frontend that sets up more queues than num_queues then waits forever, since
 * rte_vhost starts a device only when every ring the frontend named is ready (QEMU's
 * vhost-user-blk-pci, whose num-queues defaults to the number of vCPUs, hangs its guest so).
 * Answered here with the device's own count, QEMU refuses to start instead, saying why.
 */
static enum rte_vhost_msg_result pre_msg(int vid, void *msg)
{
	struct config_msg *m = msg;
	struct iov_vhost_blk *b = blk_of_vid(vid);
	struct virtio_blk_config cfg = { 0 };

	if (m->request == MSG_GET_QUEUE_NUM && b) {
		struct u64_msg *q = msg;

		q->u64 = b->queues;
		q->size = sizeof(q->u64);
		return RTE_VHOST_MSG_RESULT_REPLY;
	}
	if (m->request != MSG_GET_CONFIG)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	if (!b || m->size < 12 || m->len > sizeof(m->region) || m->offset > sizeof(cfg) || m->len > sizeof(cfg) - m->offset)
		return RTE_VHOST_MSG_RESULT_ERR;
	cfg.capacity = b->sectors;
	cfg.seg_max = SEG_MAX;
	cfg.blk_size = SECTOR;
	cfg.num_queues = (uint16_t)b->queues;
	cfg.max_discard_sectors = UINT32_MAX / SECTOR;
	cfg.max_discard_seg = 1;
	cfg.discard_sector_alignment = 1;
	cfg.max_write_zeroes_sectors = UINT32_MAX / SECTOR;
	cfg.max_write_zeroes_seg = 1;
	memset(m->region, 0, sizeof(m->region));
	memcpy(m->region, (uint8_t *)&cfg + m->offset, m->len);
	m->size = 12 + m->len;
	return RTE_VHOST_MSG_RESULT_REPLY;
}

static const struct rte_vhost_user_extern_ops extern_ops = { .pre_msg_handle = pre_msg };

static int on_new_connection(int vid)
{
	struct iov_vhost_blk *b = blk_of_vid(vid);

	if (!b || rte_vhost_extern_callback_register(vid, &extern_ops, b) < 0)
		return -1;
	atomic_fetch_add(&b->connects, 1);
	atomic_store(&b->state, IOV_VHOST_CONNECTED);
	return 0;
}

static const struct rte_vhost_device_ops ops = {
	.new_device = on_new_device,
	.destroy_device = on_destroy_device,
	.new_connection = on_new_connection,
	.destroy_connection = on_destroy_connection,
	.vring_state_changed = on_vring_state_changed,
};

IOV_EXPORT int iov_vhost_blk_new(const struct iov_vhost_blk_config *cfg, struct iov_vhost_blk **ret)
{
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1 | F_PROTOCOL_FEATURES | 1ULL << VIRTIO_BLK_F_SEG_MAX |
			    1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_F_RING_PACKED,
		 protocol = 0, flags = 0;
	struct iov_vhost_blk *b;
	struct stat st;
	int r;

	if (!cfg->path || !cfg->path[0] || strlen(cfg->path) >= sizeof(b->sock.path) || cfg->image_fd < 0 ||
	    (cfg->flags & ~(unsigned int)(IOV_VHOST_CLIENT | IOV_VHOST_NO_RECONNECT)) ||
	    cfg->queues > IOV_VHOST_BLK_MAX_QUEUES || cfg->poll_us > IOV_VHOST_BLK_MAX_POLL_US)
		return -EINVAL;
	if (fstat(cfg->image_fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	strcpy(b->sock.path, cfg->path);
	b->sock.owner = b;
	b->image = cfg->image_fd;
	b->readonly = cfg->readonly;
	b->queues = cfg->queues ? cfg->queues : 1;
	b->poll_ns = (uint64_t)cfg->poll_us * 1000;
	b->stop_fd = -1;
	pthread_mutex_init(&b->lock, NULL);
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(cfg->image_fd, 0, SEEK_END);
		st.st_size = end > 0 ? end : 0;
	}
	b->sectors = (uint64_t)st.st_size / SECTOR;
	strncpy(b->serial, cfg->serial ? cfg->serial : "iovkit", sizeof(b->serial));
	if (b->queues > 1)
		features |= 1ULL << VIRTIO_BLK_F_MQ;
	if (b->readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	if (cfg->flags & IOV_VHOST_CLIENT)
		flags |= RTE_VHOST_USER_CLIENT | (cfg->flags & IOV_VHOST_NO_RECONNECT ? RTE_VHOST_USER_NO_RECONNECT : 0);

	r = vhost_sock_add(&b->sock);
	if (r < 0)
		goto err_free;
	if (!(cfg->flags & IOV_VHOST_CLIENT) && (r = vhost_clear_stale_socket(b->sock.path)) < 0)
		goto err_unlist;
	r = -EIO;
	if (rte_vhost_driver_register(b->sock.path, flags) < 0)
		goto err_unlist;
	/* Our features replace the net defaults; CONFIG lets the frontend read the capacity,
	 * INFLIGHT_SHMFD lets it keep the record a packed ring resumes from after we crash. */
	if (rte_vhost_driver_set_features(b->sock.path, features) < 0 ||
	    rte_vhost_driver_get_protocol_features(b->sock.path, &protocol) < 0 ||
	    rte_vhost_driver_set_protocol_features(b->sock.path, protocol | PF_CONFIG | PF_INFLIGHT_SHMFD) < 0 ||
	    rte_vhost_driver_callback_register(b->sock.path, &ops) < 0 || rte_vhost_driver_start(b->sock.path) < 0)
		goto err_unregister;
	*ret = b;
	return 0;

err_unregister:
	rte_vhost_driver_unregister(b->sock.path);
err_unlist:
	vhost_sock_remove(&b->sock);
err_free:
	pthread_mutex_destroy(&b->lock);
	free(b);
	return r;
}

IOV_EXPORT void iov_vhost_blk_free(struct iov_vhost_blk *b)
{
	if (!b)
		return;
	rte_vhost_driver_unregister(b->sock.path);   /* destroys a running device first */
	pthread_mutex_lock(&b->lock);
	stop_device(b);
	pthread_mutex_unlock(&b->lock);
	vhost_sock_remove(&b->sock);
	pthread_mutex_destroy(&b->lock);
	close(b->image);
	free(b);
}

IOV_EXPORT void iov_vhost_blk_info(struct iov_vhost_blk *b, struct iov_vhost_blk_info *ret)
{
	bool packed, inflight;

	pthread_mutex_lock(&b->lock);
	packed = b->running && b->packed;
	inflight = packed && b->q[0].inflight;
	pthread_mutex_unlock(&b->lock);
	*ret = (struct iov_vhost_blk_info){
		.packed = packed,
		.inflight = inflight,
		.state = atomic_load(&b->state),
		.connects = atomic_load(&b->connects),
		.sectors = b->sectors,
		.queues = b->queues,
		.poll_us = (unsigned int)(b->poll_ns / 1000),
		.readonly = b->readonly,
		.reads = atomic_load(&b->st_reads),
		.writes = atomic_load(&b->st_writes),
		.flushes = atomic_load(&b->st_flushes),
		.discards = atomic_load(&b->st_discards),
		.read_bytes = atomic_load(&b->st_read_bytes),
		.written_bytes = atomic_load(&b->st_written_bytes),
		.errors = atomic_load(&b->st_errors),
		.bad_requests = atomic_load(&b->st_bad),
		.polled = atomic_load(&b->st_polled),
	};
}
