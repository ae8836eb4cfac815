/* SPDX-License-Identifier: MIT */
/*
 * iovkit's own virtio-net data path for IOV_VHOST_DIRECT ports (include/iovkit/vhost.h):
 * rte_vhost still speaks the protocol and maps guest memory, as for the blk backend, and this
 * file moves frames through the split rings itself (virtio 1.2 §2.7, §5.1.6). What it adds to
 * rte_vhost's builtin path is port-to-port forwarding with one copy, guest buffer to guest
 * buffer, where the builtin path copies twice through an mbuf.
 *
 * What it offers is what it implements: split rings, mergeable receive buffers, in-order use of
 * buffers (VIRTIO_F_IN_ORDER: every chain, good or bad, is used in the order it was made
 * available), multiqueue. Not packed rings, indirect descriptors, EVENT_IDX, dirty logging
 * (live migration) or any offload; a frontend that needs one of them uses a port without
 * IOV_VHOST_DIRECT.
 *
 * Threat model: the guest writes the rings. Every descriptor is translated through the memory
 * table and must be contiguous in this process; a chain is bounded by the ring size and
 * DSEG_MAX (no loops). A malformed transmit chain is consumed (returned used, with nothing
 * written, under the id the guest gave, so used entries stay in the order of the avail ring
 * for VIRTIO_F_IN_ORDER) and counted, so a hostile guest stalls nothing; a malformed receive
 * chain is returned unused and counted the same way.
 *
 * Notifications: the worker polls, so the guest is asked not to kick (VRING_USED_F_NO_NOTIFY);
 * it is interrupted through the ring's call eventfd after a burst unless its avail ring says
 * VRING_AVAIL_F_NO_INTERRUPT (a polling driver's, such as DPDK's virtio-user).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>
#include <rte_vhost.h>

#include "iovkit/vhost.h"
#include "iovkit-internal/macro.h"
#include "vhost-internal.h"

#define FRAME_MAX (64 * 1024)           /* longer frames are malformed whatever the MTU */
#define RX_CHAIN_MAX (1u << 30)         /* a receive chain's bytes (Linux's big buffers: 17 pages) */
#define PREFETCH_MAX 64                 /* chains looked ahead at in one go */


#define PEND_MAX 64                     /* frames whose writes wait for the batch, at most */
#define PEND_SEGS 2                     /* buffers each side of a frame that waits */
#define AHEAD 6                         /* chains whose buffers are asked for before their turn */

/* ---- setting up and stopping ---- */

bool direct_load(struct net_direct *d, int vid, uint16_t i)
{
	struct dvring *vr = &d->vr[i];
	struct rte_vhost_vring v;
	uint16_t last_avail, last_used;

	vr->ready = false;
	/* Split ring sizes are powers of 2 (virtio 1.2 §2.7): indices wrap by mask. */
	if (rte_vhost_get_vhost_vring(vid, i, &v) < 0 || !v.desc || !v.avail || !v.used || !v.size ||
	    v.size & (v.size - 1) || rte_vhost_get_vring_base(vid, i, &last_avail, &last_used) < 0)
		return false;
	*vr = (struct dvring){
		.desc = v.desc, .avail = v.avail, .used = v.used, .size = v.size, .callfd = v.callfd,
		.last_avail = last_avail, .avail_seen = last_avail,
		/* A split ring resumes where the used index in guest memory says (§2.7.14). */
		.used_idx = __atomic_load_n(&v.used->idx, __ATOMIC_ACQUIRE),
	};
	vr->flushed = vr->published = vr->used_idx;
	__atomic_store_n(&vr->used->flags, (uint16_t)VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
	vr->ready = true;
	return true;
}

int direct_start(struct net_direct *d, int vid, uint64_t features, unsigned int vrings)
{
	free(d->mem);
	d->mem = NULL;
	if (rte_vhost_get_mem_table(vid, &d->mem) < 0)
		return -EIO;
	d->mrg = features & 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	d->hdr_len = d->mrg || features & 1ULL << VIRTIO_F_VERSION_1 ? sizeof(struct virtio_net_hdr_mrg_rxbuf)
								    : sizeof(struct virtio_net_hdr);
	for (unsigned int i = 0; i < RTE_DIM(d->vr); i++)
		d->vr[i].ready = false;
	for (uint16_t i = 0; i < vrings && i < RTE_DIM(d->vr); i++)
		direct_load(d, vid, i);
	return 0;
}

void direct_stop(struct net_direct *d, int vid)
{
	/* Where each ring stopped is what GET_VRING_BASE answers, and where a restart resumes. */
	for (uint16_t i = 0; i < RTE_DIM(d->vr); i++) {
		if (d->vr[i].ready)
			rte_vhost_set_vring_base(vid, i, d->vr[i].last_avail, d->vr[i].used_idx);
		d->vr[i].ready = false;
	}
	free(d->mem);
	d->mem = NULL;
}

/* ---- descriptor chains ---- */

/* A chain's buffers as pointers here, in order. */
struct dchain {
	struct dseg {
		uint8_t *va;
		uint32_t len;
	} s[DSEG_MAX];
	unsigned int n;
	uint32_t total;
};

/*
 * The chain at @head (its first descriptor as @first already read it, unless NULL), each
 * buffer device-readable (@writable false: a transmit ring) or all device-writable (a receive
 * ring), appended to @c. False for a bad head, a buffer outside
 * guest memory or not contiguous here, the wrong direction, an indirect descriptor (not
 * offered), a loop or a chain longer than @c holds or the frame limit.
 */
static bool chain_get(const struct net_direct *d, const struct dvring *vr, uint16_t head,
		      const struct vring_desc *first, bool writable, struct dchain *c)
{
	uint16_t i = head;

	for (unsigned int hops = 0; hops < vr->size; hops++) {
		struct vring_desc one;
		uint64_t got;
		uint64_t va;

		if (i >= vr->size || c->n == DSEG_MAX)
			return false;
		one = hops || !first ? vr->desc[i] : *first;    /* copied: the guest may change it */
		if (one.flags & VRING_DESC_F_INDIRECT || !(one.flags & VRING_DESC_F_WRITE) != !writable ||
		    c->total + (uint64_t)one.len > (writable ? RX_CHAIN_MAX : FRAME_MAX + sizeof(struct virtio_net_hdr_mrg_rxbuf)))
			return false;
		if (one.len) {
			got = one.len;
			va = rte_vhost_va_from_guest_pa(d->mem, one.addr, &got);
			if (!va || got != one.len)
				return false;
			c->s[c->n++] = (struct dseg){ (uint8_t *)(uintptr_t)va, one.len };
			c->total += one.len;
		}
		if (!(one.flags & VRING_DESC_F_NEXT))
			return true;
		i = one.next;
	}
	return false;
}

/* A position in a list of buffers. */
struct dcur {
	const struct dseg *s;
	unsigned int n, i;
	uint32_t off;
};

/* Moves @c on by @k bytes; it never rests at the end of a buffer, or on an empty one. */
static void cur_skip(struct dcur *c, uint32_t k)
{
	while (c->i < c->n) {
		uint32_t here = c->s[c->i].len - c->off, step = k < here ? k : here;

		c->off += step;
		k -= step;
		if (c->off < c->s[c->i].len)
			return;
		c->i++;
		c->off = 0;
	}
}

/* Copies @len bytes (both sides hold them) from @src to @dst, moving both. */
static void cur_copy(struct dcur *dst, struct dcur *src, uint32_t len)
{
	cur_skip(dst, 0);
	cur_skip(src, 0);
	while (len) {
		uint32_t a = dst->s[dst->i].len - dst->off, b = src->s[src->i].len - src->off;
		uint32_t step = a < b ? a : b;

		if (step > len)
			step = len;
		rte_memcpy(dst->s[dst->i].va + dst->off, src->s[src->i].va + src->off, step);
		len -= step;
		cur_skip(dst, step);
		cur_skip(src, step);
	}
}

/* ---- the rings ---- */

/*
 * Entries the guest has made available and we have not taken, at most @n. The guest's index
 * (a cache line it writes) is read only when what was seen last time is not enough.
 */
static uint16_t avail_count(struct dvring *vr, uint16_t n)
{
	uint16_t ready = (uint16_t)(vr->avail_seen - vr->last_avail);

	if (ready < n) {
		uint16_t idx = __atomic_load_n(&vr->avail->idx, __ATOMIC_ACQUIRE);

		ready = (uint16_t)(idx - vr->last_avail);
		/* More than the ring holds: a broken guest; take nothing until it makes sense. */
		if (unlikely(ready > vr->size))
			return 0;
		vr->avail_seen = idx;
	}
	return ready < n ? ready : n;
}

static inline uint16_t avail_head(struct dvring *vr)
{
	return vr->avail->ring[vr->last_avail++ & (vr->size - 1)];
}

/* Writes the gathered used entries into the ring (the guest does not see them yet). */
static void used_flush(struct dvring *vr)
{
	uint16_t mask = (uint16_t)(vr->size - 1);

	for (uint16_t i = 0; vr->flushed != vr->used_idx; i++, vr->flushed++)
		vr->used->ring[vr->flushed & mask] = vr->shadow[i];
}

static inline void used_put(struct dvring *vr, uint16_t id, uint32_t len)
{
	if ((uint16_t)(vr->used_idx - vr->flushed) == DSHADOW)
		used_flush(vr);
	vr->shadow[(uint16_t)(vr->used_idx++ - vr->flushed)] = (struct vring_used_elem){ .id = id, .len = len };
}

/* Forgets the used entries put since position @to (entries already flushed are overwritten
 * before they are published). */
static inline void used_rewind(struct dvring *vr, uint16_t to)
{
	uint16_t back = (uint16_t)(vr->used_idx - to);

	if ((uint16_t)(vr->used_idx - vr->flushed) < back)
		vr->flushed = to;
	vr->used_idx = to;
}

/* Publishes the used entries written since the last call and interrupts the guest if it wants. */
static void used_publish(struct dvring *vr)
{
	uint64_t one = 1;

	if (vr->published == vr->used_idx)
		return;
	used_flush(vr);
	__atomic_store_n(&vr->used->idx, vr->used_idx, __ATOMIC_RELEASE);
	vr->published = vr->used_idx;
	/* The flag is read after the index is published (virtio 1.2 §2.7.7.2). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(&vr->avail->flags, __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT) && vr->callfd >= 0 &&
	    write(vr->callfd, &one, sizeof(one)) < 0) {
		/* The frontend closed it: it is going away, and a new fd comes with a restart. */
	}
}

/*
 * A look-ahead over the next chains of a transmit ring, for the caches. Every line the data
 * path reads there was last written by the frontend's core, and fetched one at a time, frame
 * by frame, each miss waits on the one before. So a burst's heads are read and its descriptors
 * asked for at once, and each chain's first buffer AHEAD chains before its turn: near enough
 * not to crowd out what is in flight, far enough to arrive in time. The heads and first
 * descriptors are kept as read, so that no line the frontend keeps writing beside them is
 * fetched twice.
 *
 * Receive rings get none: the frontend refills them right where a look-ahead would read, and
 * lines read early are taken from the core that is writing them, which takes them back, over
 * and over. Measured in the cross-connect (benches/vhost.sh), with a look-ahead on both rings
 * the worker settled, run by run, at either about 150 or about 450 cycles a frame, and at the
 * higher for whole runs; with the transmit side's alone, at about 130 in every run.
 */
struct ahead {
	const struct net_direct *d;
	const struct dvring *vr;
	uint16_t start;                 /* the ring position of head[0] */
	uint16_t n, next;               /* heads read; the next whose descriptor to read */
	uint16_t head[PREFETCH_MAX];    /* the avail ring's entries from start */
	struct vring_desc first[PREFETCH_MAX];  /* their first descriptors, up to next */
};

/* Reads the first descriptors of the chains up to AHEAD past ring position @pos, and asks for
 * their buffers. */
static void ahead_step(struct ahead *a, uint16_t pos)
{
	uint16_t upto = (uint16_t)((uint16_t)(pos - a->start) + AHEAD);

	for (; a->next < a->n && a->next < upto; a->next++) {
		uint64_t len = 128;
		uint8_t *va;

		if (a->head[a->next] >= a->vr->size)
			continue;       /* chain_get refuses it before looking at first[] */
		a->first[a->next] = a->vr->desc[a->head[a->next]];
		va = (uint8_t *)(uintptr_t)rte_vhost_va_from_guest_pa(a->d->mem, a->first[a->next].addr, &len);
		if (!va)
			continue;
		rte_prefetch0(va);
		if (len > 64)
			rte_prefetch0(va + 64);
	}
}

/* Starts a look-ahead over the next @n chains of @vr (at most PREFETCH_MAX). */
static void ahead_init(struct ahead *a, const struct net_direct *d, const struct dvring *vr, uint16_t n)
{
	uint16_t mask = (uint16_t)(vr->size - 1);

	a->d = d;
	a->vr = vr;
	a->start = vr->last_avail;
	a->n = n < PREFETCH_MAX ? n : PREFETCH_MAX;
	a->next = 0;
	for (uint16_t k = 0; k < a->n; k++) {
		a->head[k] = vr->avail->ring[(a->start + k) & mask];
		rte_prefetch0(&vr->desc[a->head[k] & mask]);
	}
	ahead_step(a, a->start);
}

/* Takes the chain at @vr's next ring position: its head, and in *@first its first descriptor
 * where the look-ahead @a has read it, else NULL. */
static inline uint16_t ahead_take(struct ahead *a, struct dvring *vr, const struct vring_desc **first)
{
	uint16_t k = (uint16_t)(vr->last_avail - a->start);

	*first = NULL;
	if (k >= a->n)
		return avail_head(vr);
	ahead_step(a, vr->last_avail);
	if (a->head[k] < vr->size)
		*first = &a->first[k];
	vr->last_avail++;
	return a->head[k];
}

/*
 * The next frame on transmit ring @vr (its look-ahead @a) into @c, its virtio-net header skipped: true with
 * @c->total the frame's length and *@head its chain, or false when the ring is empty. A
 * malformed chain is consumed (returned used, length 0) and counted, and the next one taken.
 */
static bool tx_next(struct net_direct *d, struct dvring *vr, struct ahead *a, uint16_t *left, struct dchain *c,
		    struct dcur *cur, uint16_t *head)
{
	while (*left) {
		const struct vring_desc *first;

		(*left)--;
		*head = ahead_take(a, vr, &first);
		c->n = 0;
		c->total = 0;
		if (likely(chain_get(d, vr, *head, first, false, c) && c->total >= d->hdr_len)) {
			*cur = (struct dcur){ c->s, c->n, 0, 0 };
			cur_skip(cur, d->hdr_len);
			c->total -= d->hdr_len;
			return true;
		}
		d->bad++;
		used_put(vr, *head, 0);         /* its own id, whatever it is: in order */
	}
	return false;
}

/*
 * Buffers for a @len-byte frame on receive ring @vr: one chain, or with mergeable buffers as
 * many as it takes, their buffers in @c and their used entries put, in ring order, with the
 * lengths the frame will fill (rx_fill() writes it). Returns how many chains, 0 when the ring
 * has too few (then nothing was taken). Malformed chains on the way are returned unused and
 * counted.
 */
static unsigned int rx_reserve(struct net_direct *d, struct dvring *vr, uint32_t len, struct dchain *c)
{
	uint32_t need = len + d->hdr_len;
	uint16_t start = vr->last_avail, used0 = vr->used_idx;
	uint64_t bad0 = d->bad;
	unsigned int k = 0;

	c->n = 0;
	c->total = 0;
	while (c->total < need) {
		uint32_t before = c->total;
		unsigned int n_before = c->n;
		uint16_t head;

		if ((k && !d->mrg) || k == DSEG_MAX || !avail_count(vr, 1))
			goto short_of_room;
		head = avail_head(vr);
		if (unlikely(!chain_get(d, vr, head, NULL, true, c))) {
			/* Return it unused; the ones taken before it stay taken. */
			d->bad++;
			c->n = n_before;
			c->total = before;
			used_put(vr, head, 0);
			continue;
		}
		used_put(vr, head, c->total < need ? c->total - before : need - before);
		k++;
	}
	return k;

short_of_room:
	/* Give back what this frame took, bad chains among them too (they are met and counted
	 * again); bad chains alone stay consumed. */
	if (k) {
		vr->last_avail = start;
		used_rewind(vr, used0);
		d->bad = bad0;
	}
	return 0;
}

/* Writes the header (@k buffers) and the @len bytes at @src into the buffers @seg[0..@nseg). */
static void rx_fill(const struct net_direct *d, const struct dseg *seg, unsigned int nseg, unsigned int k,
		    struct dcur *src, uint32_t len)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = { .num_buffers = (uint16_t)k };
	struct dseg hs = { (uint8_t *)&hdr, d->hdr_len };
	struct dcur dst = { seg, nseg, 0, 0 }, hsrc = { &hs, 1, 0, 0 };

	cur_copy(&dst, &hsrc, d->hdr_len);
	cur_copy(&dst, src, len);
}

/*
 * A frame whose receive buffers are taken and whose bytes are still to be written. The writes
 * wait until a batch's buffers are all taken: the ring's lines are read in one run, while no
 * store to a guest buffer is pending, and the stores then stream (rte_vhost batches its small
 * copies the same way). Measured frame by frame, reads and stores in turn, the worker took
 * about three times the cycles a frame in the cross-connect, in some runs and for all of them.
 */
struct rx_pending {
	struct dseg seg[PEND_SEGS];     /* the receive buffers */
	unsigned int nseg, k;
	struct dseg src[PEND_SEGS];     /* the frame */
	unsigned int nsrc;
	uint32_t len;
};

static void rx_fill_pending(const struct net_direct *d, struct rx_pending *p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		rx_fill(d, p[i].seg, p[i].nseg, p[i].k, &(struct dcur){ p[i].src, p[i].nsrc, 0, 0 }, p[i].len);
}

/*
 * Takes receive buffers for the frame at @src (@len bytes) and either writes it at once (false)
 * or, where both sides fit a pending slot, leaves it in @p to be written with the batch (true).
 * Returns through @ok whether buffers were found.
 */
static bool rx_take(struct net_direct *d, struct dvring *vr, struct dcur *src, uint32_t len, struct rx_pending *p,
		    bool *ok)
{
	struct dchain c;
	unsigned int k = rx_reserve(d, vr, len, &c);

	*ok = k != 0;
	if (!k)
		return false;
	if (c.n <= PEND_SEGS && src->n - src->i <= PEND_SEGS) {
		p->nseg = c.n;
		memcpy(p->seg, c.s, c.n * sizeof(c.s[0]));
		p->k = k;
		p->len = len;
		p->nsrc = src->n - src->i;
		memcpy(p->src, src->s + src->i, p->nsrc * sizeof(p->src[0]));
		if (p->nsrc) {
			p->src[0].va += src->off;
			p->src[0].len -= src->off;
		}
		return true;
	}
	rx_fill(d, c.s, c.n, k, src, len);
	return false;
}

/* ---- the data path ---- */

uint16_t direct_dequeue(struct net_direct *d, struct dvring *vr, struct rte_mempool *mp, struct rte_mbuf **pkts,
			uint16_t n)
{
	uint16_t left = avail_count(vr, n), got = 0, head;
	struct rte_mbuf *fresh[PREFETCH_MAX];
	unsigned int n_fresh = left < PREFETCH_MAX ? left : PREFETCH_MAX, taken = 0;
	struct dchain c;
	struct dcur src;
	struct ahead a;

	if (!left)
		return 0;
	/* A burst's first mbufs in one go; one at a time when the pool is short. */
	if (rte_pktmbuf_alloc_bulk(mp, fresh, n_fresh) < 0)
		n_fresh = 0;
	ahead_init(&a, d, vr, left);
	while (got < n && tx_next(d, vr, &a, &left, &c, &src, &head)) {
		struct rte_mbuf *m = taken < n_fresh ? fresh[taken++] : rte_pktmbuf_alloc(mp), *seg = m;
		struct dseg ms[DSEG_MAX];
		unsigned int nm = 0;
		uint32_t room = 0;

		/* An mbuf chain that holds the frame: as many segments as the pool's size needs. */
		while (seg && room < c.total && nm < DSEG_MAX) {
			uint32_t here = rte_pktmbuf_tailroom(seg);

			if (here > c.total - room)
				here = c.total - room;
			ms[nm++] = (struct dseg){ rte_pktmbuf_mtod(seg, uint8_t *), here };
			seg->data_len = (uint16_t)here;
			room += here;
			if (room < c.total && (seg->next = rte_pktmbuf_alloc(mp)) != NULL)
				m->nb_segs++;
			seg = seg->next;
		}
		if (unlikely(room < c.total)) {
			rte_pktmbuf_free(m);
			if (!m || seg == NULL) {
				/* No mbufs: leave the frame for the next burst. */
				vr->last_avail--;
				break;
			}
			/* More segments than a chain holds (a pool of tiny mbufs): consumed, counted. */
			d->bad++;
			used_put(vr, head, 0);
			continue;
		}
		m->pkt_len = c.total;
		cur_copy(&(struct dcur){ ms, nm, 0, 0 }, &src, c.total);
		used_put(vr, head, 0);
		pkts[got++] = m;
	}
	if (taken < n_fresh)
		rte_pktmbuf_free_bulk(fresh + taken, n_fresh - taken);
	used_publish(vr);
	return got;
}

uint16_t direct_enqueue(struct net_direct *d, struct dvring *vr, struct rte_mbuf **pkts, uint16_t n)
{
	struct rx_pending pend[PEND_MAX];
	unsigned int n_pend = 0;
	uint16_t sent = 0;

	for (; sent < n; sent++) {
		struct rte_mbuf *m = pkts[sent], *seg = m;
		struct dseg ms[DSEG_MAX];
		unsigned int nm = 0;
		bool ok;

		for (; seg && nm < DSEG_MAX; seg = seg->next)
			if (seg->data_len)
				ms[nm++] = (struct dseg){ rte_pktmbuf_mtod(seg, uint8_t *), seg->data_len };
		if (unlikely(rte_pktmbuf_pkt_len(m) > FRAME_MAX || seg))
			break;
		if (rx_take(d, vr, &(struct dcur){ ms, nm, 0, 0 }, rte_pktmbuf_pkt_len(m), &pend[n_pend], &ok))
			n_pend++;
		if (!ok)
			break;
		if (n_pend == PEND_MAX) {
			rx_fill_pending(d, pend, n_pend);
			n_pend = 0;
		}
	}
	rx_fill_pending(d, pend, n_pend);
	used_publish(vr);
	return sent;
}

/* The first bytes of a frame, copied out only where its first buffer is shorter. */
static const uint8_t *peek(const struct dcur *src, uint8_t *buf, uint32_t want)
{
	struct dcur c = *src;

	if (c.i < c.n && c.s[c.i].len - c.off >= want)
		return c.s[c.i].va + c.off;
	cur_copy(&(struct dcur){ &(struct dseg){ buf, want }, 1, 0, 0 }, &c, want);
	return buf;
}

/*
 * The sender's frames are all taken and checked first, then the receiver's buffers all taken,
 * then the bytes copied (see struct rx_pending). A sender's buffer stays valid until its used
 * entry is published, at the end.
 */
void direct_forward(struct net_direct *from, struct dvring *tx, struct net_direct *to, struct dvring *rx,
		    uint16_t n, const struct iov_vhost_fwd_rules *rules, struct iov_vhost_fwd_counts *out)
{
	uint16_t left = avail_count(tx, n < PEND_MAX ? n : PEND_MAX), head;
	struct rx_pending pend[PEND_MAX];
	unsigned int n_pend = 0;
	struct dchain c;
	struct dcur src;
	struct ahead ta;

	if (!left)
		return;
	ahead_init(&ta, from, tx, left);
	while (tx_next(from, tx, &ta, &left, &c, &src, &head)) {
		uint8_t first[18];
		const uint8_t *f;
		bool tagged, ok = false;

		out->received++;
		out->received_bytes += c.total;
		used_put(tx, head, 0);
		if (c.total < 14) {
			out->runt++;
			continue;
		}
		f = peek(&src, first, c.total >= 18 ? 18 : 14);
		tagged = f[12] == 0x81 && f[13] == 0x00;
		if (c.total > rules->max_len && (c.total > rules->max_len + 4 || !tagged)) {
			out->oversize++;
			continue;
		}
		if (tagged && rules->untagged_only) {
			out->tagged++;
			continue;
		}
		if (rx && rx_take(to, rx, &src, c.total, &pend[n_pend], &ok))
			n_pend++;
		if (!ok) {
			out->no_room++;
			continue;
		}
		out->sent++;
		out->sent_bytes += c.total;
	}
	rx_fill_pending(to, pend, n_pend);
	used_publish(tx);
	if (rx)
		used_publish(rx);
}
