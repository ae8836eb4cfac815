/* SPDX-License-Identifier: MIT */
/*
 * The direct data path (vhost-user/net-direct.c) on split rings built here in a block of
 * "guest" memory: frames forwarded ring to ring byte for byte, headers and used entries as the
 * spec lays them out, mergeable buffers, the switch's rules, no room, malformed chains in both
 * rings, index wrap, interrupts, and the mbuf side (dequeue, enqueue). (tests/switch/ runs it
 * against DPDK's virtio-user frontend and iovkit's own.)
 */
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_vhost.h>

#include "../helpers/unit.h"
#include "../../../vhost-user/vhost-internal.h"

#define GPA_BASE 0x40000000ULL          /* guest addresses start here, not at 0 */
#define MEM_SIZE (1u << 20)
#define QSZ 16
#define HDR 12
#define BUFS 0x10000                    /* where frame buffers start, 4 KiB each */

static uint8_t *mem;                    /* the guest's memory, as this process sees it */
static struct rte_mempool *mp;

/* A ring at guest offset @off of the block, in the layout of virtio 1.2 §2.7. */
static void ring_init(struct dvring *vr, uint64_t off)
{
	uint8_t *base = mem + off;

	memset(base, 0, 16 * QSZ + 4 + 2 * QSZ + 4 + 8 * QSZ + 64);
	*vr = (struct dvring){
		.desc = (struct vring_desc *)base,
		.avail = (struct vring_avail *)(base + 16 * QSZ),
		.used = (struct vring_used *)(base + 16 * QSZ + 64 + 2 * QSZ),
		.size = QSZ,
		.callfd = -1,
		.ready = true,
	};
}

/* Where the ring's indices start (a resumed ring). */
static void ring_at(struct dvring *vr, uint16_t idx)
{
	vr->avail->idx = idx;
	vr->used->idx = idx;
	vr->last_avail = vr->avail_seen = vr->used_idx = vr->flushed = vr->published = idx;
}

static void setup(struct net_direct *d, bool mrg)
{
	memset(d, 0, sizeof(*d));
	d->mem = calloc(1, sizeof(*d->mem) + sizeof(d->mem->regions[0]));
	d->mem->nregions = 1;
	d->mem->regions[0] = (struct rte_vhost_mem_region){
		.guest_phys_addr = GPA_BASE, .guest_user_addr = GPA_BASE,
		.host_user_addr = (uint64_t)(uintptr_t)mem, .size = MEM_SIZE,
	};
	d->mrg = mrg;
	d->hdr_len = HDR;
}

static void teardown(struct net_direct *d)
{
	free(d->mem);
	d->mem = NULL;
}

static uint64_t gpa(uint64_t off)
{
	return GPA_BASE + off;
}

/* Makes the chain at descriptor @head available on @vr. */
static void post(struct dvring *vr, uint16_t head)
{
	vr->avail->ring[vr->avail->idx % QSZ] = head;
	__atomic_store_n(&vr->avail->idx, (uint16_t)(vr->avail->idx + 1), __ATOMIC_RELEASE);
}

/* A frame of @len bytes, byte i = seed + i, after a header, in one descriptor at slot @slot. */
static void tx_frame(struct dvring *vr, uint16_t slot, uint32_t len, uint8_t seed)
{
	uint64_t off = BUFS + (uint64_t)slot * 4096;

	memset(mem + off, 0, HDR);
	for (uint32_t i = 0; i < len; i++)
		mem[off + HDR + i] = (uint8_t)(seed + i);
	vr->desc[slot] = (struct vring_desc){ .addr = gpa(off), .len = HDR + len };
	post(vr, slot);
}

/* A receive buffer of @len bytes at descriptor @slot (its memory after the transmit side's). */
static uint64_t rx_buf(struct dvring *vr, uint16_t slot, uint32_t len)
{
	uint64_t off = BUFS + (uint64_t)(QSZ + slot) * 4096;

	memset(mem + off, 0xee, 4096);
	vr->desc[slot] = (struct vring_desc){ .addr = gpa(off), .len = len, .flags = VRING_DESC_F_WRITE };
	post(vr, slot);
	return off;
}

static bool bytes_are(const uint8_t *p, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seed + i))
			return false;
	return true;
}

static bool frame_is(uint64_t off, uint32_t len, uint8_t seed)
{
	return bytes_are(mem + off, len, seed);
}

static const struct iov_vhost_fwd_rules open_rules = { .max_len = 9000 };

static void test_forward_copies_once(void)
{
	struct net_direct a, b;
	struct dvring tx, rx;
	struct iov_vhost_fwd_counts c = { 0 };
	static const uint32_t lens[3] = { 60, 64, 1514 };
	int fd = eventfd(0, EFD_NONBLOCK);
	uint64_t rxoff[4], n = 0;

	setup(&a, true);
	setup(&b, true);
	ring_init(&tx, 0);
	ring_init(&rx, 0x1000);
	rx.callfd = fd;
	for (uint16_t i = 0; i < 3; i++)
		tx_frame(&tx, i, lens[i], (uint8_t)(i * 50));
	for (uint16_t i = 0; i < 4; i++)
		rxoff[i] = rx_buf(&rx, i, 2048);

	direct_forward(&a, &tx, &b, &rx, 32, &open_rules, &c);
	ASSERT_INT_EQ(c.received, 3);
	ASSERT_INT_EQ(c.sent, 3);
	ASSERT_INT_EQ(c.sent_bytes, 60 + 64 + 1514);
	ASSERT_INT_EQ(c.received_bytes, c.sent_bytes);
	/* Both rings' used entries are published, in order; transmit buffers come back empty. */
	ASSERT_INT_EQ(tx.used->idx, 3);
	ASSERT_INT_EQ(rx.used->idx, 3);
	for (uint16_t i = 0; i < 3; i++) {
		const struct virtio_net_hdr_mrg_rxbuf *h = (const void *)(mem + rxoff[i]);

		ASSERT_INT_EQ(tx.used->ring[i].id, i);
		ASSERT_INT_EQ(tx.used->ring[i].len, 0);
		ASSERT_INT_EQ(rx.used->ring[i].id, i);
		ASSERT_INT_EQ(rx.used->ring[i].len, HDR + lens[i]);
		ASSERT_INT_EQ(h->num_buffers, 1);
		ASSERT_INT_EQ(h->hdr.flags, 0);
		ASSERT_INT_EQ(h->hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		ASSERT_TRUE(frame_is(rxoff[i] + HDR, lens[i], (uint8_t)(i * 50)));
	}
	ASSERT_INT_EQ(mem[rxoff[0] + HDR + 60], 0xee);  /* nothing written past the frame */
	/* The receiver's driver asked for interrupts: one for the burst. */
	ASSERT_INT_EQ(read(fd, &n, sizeof(n)), sizeof(n));
	ASSERT_INT_EQ(n, 1);
	/* A driver that polls (VRING_AVAIL_F_NO_INTERRUPT) gets none. */
	rx.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	tx_frame(&tx, 3, 60, 7);
	direct_forward(&a, &tx, &b, &rx, 32, &open_rules, &c);
	ASSERT_INT_EQ(c.sent, 4);
	ASSERT_INT_EQ(read(fd, &n, sizeof(n)), -1);
	/* The guests are not asked to kick: the worker polls. (direct_load sets this; here
	 * the rings were built by hand, so the flag is the test's own.) */
	close(fd);
	teardown(&a);
	teardown(&b);
}

/* A header in a descriptor of its own and a frame split across two more, an 802.1Q tag
 * straddling the split: the rules see the tag, the copy is whole. */
static void test_forward_gathers_and_sees_tags(void)
{
	struct net_direct a, b;
	struct dvring tx, rx;
	struct iov_vhost_fwd_counts c = { 0 };
	struct iov_vhost_fwd_rules access = { .max_len = 1514, .untagged_only = true };
	uint64_t off = BUFS, rxoff;
	uint8_t frame[100];

	setup(&a, true);
	setup(&b, true);
	ring_init(&tx, 0);
	ring_init(&rx, 0x1000);
	for (unsigned int i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(0x30 + i);
	frame[12] = 0x81;
	frame[13] = 0x00;
	memset(mem + off, 0, HDR);
	memcpy(mem + off + 0x100, frame, 13);
	memcpy(mem + off + 0x200, frame + 13, sizeof(frame) - 13);
	for (int round = 0; round < 2; round++) {
		tx.desc[0] = (struct vring_desc){ gpa(off), HDR, VRING_DESC_F_NEXT, 1 };
		tx.desc[1] = (struct vring_desc){ gpa(off + 0x100), 13, VRING_DESC_F_NEXT, 2 };
		tx.desc[2] = (struct vring_desc){ gpa(off + 0x200), sizeof(frame) - 13, 0, 0 };
		post(&tx, 0);
	}
	rxoff = rx_buf(&rx, 0, 2048);
	/* On an access port the tagged frame is dropped and counted; the buffer stays. */
	direct_forward(&a, &tx, &b, &rx, 1, &access, &c);
	ASSERT_INT_EQ(c.received, 1);
	ASSERT_INT_EQ(c.tagged, 1);
	ASSERT_INT_EQ(c.sent, 0);
	ASSERT_INT_EQ(rx.used->idx, 0);
	/* On a trunk it goes through whole. */
	direct_forward(&a, &tx, &b, &rx, 1, &open_rules, &c);
	ASSERT_INT_EQ(c.sent, 1);
	ASSERT_INT_EQ(rx.used->ring[0].len, HDR + sizeof(frame));
	ASSERT_TRUE(!memcmp(mem + rxoff + HDR, frame, sizeof(frame)));
	ASSERT_INT_EQ(tx.used->idx, 2);
	teardown(&a);
	teardown(&b);
}

/* A frame in many buffers among frames in one: it is written at once, the others with the
 * batch, and the receiver's used entries still follow its ring, each frame whole. */
static void test_forward_many_buffers_keeps_order(void)
{
	struct net_direct a, b;
	struct dvring tx, rx;
	struct iov_vhost_fwd_counts c = { 0 };
	uint64_t off = BUFS + 4096, rxoff[3];

	setup(&a, true);
	setup(&b, true);
	ring_init(&tx, 0);
	ring_init(&rx, 0x1000);
	tx_frame(&tx, 0, 60, 10);
	/* The header and 100 bytes in five buffers of 12, 20, 20, 20 and 40. */
	memset(mem + off, 0, HDR);
	for (unsigned int i = 0; i < 100; i++)
		mem[off + 0x100 + i] = (uint8_t)(20 + i);
	tx.desc[1] = (struct vring_desc){ gpa(off), HDR, VRING_DESC_F_NEXT, 2 };
	for (uint16_t i = 0; i < 4; i++) {
		uint32_t at = i * 20, len = i < 3 ? 20 : 40;

		tx.desc[2 + i] = (struct vring_desc){ gpa(off + 0x100 + at), len, (uint16_t)(i < 3 ? VRING_DESC_F_NEXT : 0),
						      (uint16_t)(3 + i) };
	}
	post(&tx, 1);
	tx_frame(&tx, 6, 70, 30);
	for (uint16_t i = 0; i < 3; i++)
		rxoff[i] = rx_buf(&rx, i, 2048);
	direct_forward(&a, &tx, &b, &rx, 32, &open_rules, &c);
	ASSERT_INT_EQ(c.sent, 3);
	ASSERT_INT_EQ(rx.used->idx, 3);
	ASSERT_INT_EQ(rx.used->ring[0].len, HDR + 60);
	ASSERT_INT_EQ(rx.used->ring[1].len, HDR + 100);
	ASSERT_INT_EQ(rx.used->ring[2].len, HDR + 70);
	ASSERT_TRUE(frame_is(rxoff[0] + HDR, 60, 10));
	ASSERT_TRUE(frame_is(rxoff[1] + HDR, 100, 20));
	ASSERT_TRUE(frame_is(rxoff[2] + HDR, 70, 30));
	teardown(&a);
	teardown(&b);
}

/* Mergeable receive buffers: a frame over several small buffers, num_buffers in the first
 * header, each buffer's used length; without them the frame does not fit and nothing of the
 * receive ring is taken. */
static void test_forward_mergeable(void)
{
	struct net_direct a, b;
	struct dvring tx, rx;
	struct iov_vhost_fwd_counts c = { 0 };
	uint64_t rxoff[5];
	uint8_t got[1000];

	setup(&a, true);
	setup(&b, true);
	ring_init(&tx, 0);
	ring_init(&rx, 0x1000);
	tx_frame(&tx, 0, 1000, 3);
	tx_frame(&tx, 1, 1000, 3);
	for (uint16_t i = 0; i < 5; i++)
		rxoff[i] = rx_buf(&rx, i, 256);
	direct_forward(&a, &tx, &b, &rx, 1, &open_rules, &c);
	ASSERT_INT_EQ(c.sent, 1);
	/* 12 + 1000 bytes: four buffers of 256, the last holding 244. */
	ASSERT_INT_EQ(rx.used->idx, 4);
	ASSERT_INT_EQ(((const struct virtio_net_hdr_mrg_rxbuf *)(mem + rxoff[0]))->num_buffers, 4);
	for (int i = 0; i < 4; i++) {
		ASSERT_INT_EQ(rx.used->ring[i].id, i);
		ASSERT_INT_EQ(rx.used->ring[i].len, i < 3 ? 256 : 244);
	}
	memcpy(got, mem + rxoff[0] + HDR, 244);
	for (int i = 1; i < 4; i++)
		memcpy(got + 244 + (i - 1) * 256, mem + rxoff[i], i < 3 ? 256 : 1000 - 244 - 512);
	ASSERT_TRUE(bytes_are(got, 1000, 3));
	/* The second frame needs four buffers and one is left: dropped, that one kept. */
	direct_forward(&a, &tx, &b, &rx, 1, &open_rules, &c);
	ASSERT_INT_EQ(c.no_room, 1);
	ASSERT_INT_EQ(rx.used->idx, 4);
	ASSERT_INT_EQ(rx.last_avail, 4);
	teardown(&a);
	teardown(&b);

	/* Without mergeable buffers a frame must fit one chain. */
	setup(&a, false);
	setup(&b, false);
	ring_init(&tx, 0);
	ring_init(&rx, 0x1000);
	tx_frame(&tx, 0, 1000, 3);
	tx_frame(&tx, 1, 100, 9);
	rx_buf(&rx, 0, 256);
	direct_forward(&a, &tx, &b, &rx, 1, &open_rules, &c);
	ASSERT_INT_EQ(c.no_room, 2);
	ASSERT_INT_EQ(rx.last_avail, 0);
	ASSERT_INT_EQ(rx.used->idx, 0);
	direct_forward(&a, &tx, &b, &rx, 1, &open_rules, &c);
	ASSERT_INT_EQ(c.sent, 2);
	ASSERT_INT_EQ(rx.used->ring[0].len, HDR + 100);
	teardown(&a);
	teardown(&b);
}

/* The switch's checks, frame by frame; every frame is consumed whatever becomes of it. */
static void test_forward_rules_and_no_room(void)
{
	struct net_direct a, b;
	struct dvring tx, rx;
	struct iov_vhost_fwd_counts c = { 0 };
	struct iov_vhost_fwd_rules mtu1500 = { .max_len = 1514 };

	setup(&a, true);
	setup(&b, true);
	ring_init(&tx, 0);
	ring_init(&rx, 0x1000);
	tx_frame(&tx, 0, 10, 0);        /* a runt */
	tx_frame(&tx, 1, 1515, 0);      /* one byte over, untagged */
	tx_frame(&tx, 2, 1514, 0);      /* the largest untagged */
	tx_frame(&tx, 3, 0, 0);         /* a header and no frame */
	for (uint16_t i = 0; i < 4; i++)
		rx_buf(&rx, i, 2048);
	direct_forward(&a, &tx, &b, &rx, 32, &mtu1500, &c);
	ASSERT_INT_EQ(c.received, 4);
	ASSERT_INT_EQ(c.runt, 2);
	ASSERT_INT_EQ(c.oversize, 1);
	ASSERT_INT_EQ(c.sent, 1);
	ASSERT_INT_EQ(tx.used->idx, 4);
	/* A tagged frame may be 4 bytes longer, and no more. */
	for (uint16_t i = 4; i < 6; i++) {
		uint64_t off = BUFS + (uint64_t)i * 4096;

		tx_frame(&tx, i, i == 4 ? 1518 : 1519, 0);
		mem[off + HDR + 12] = 0x81;
		mem[off + HDR + 13] = 0x00;
	}
	direct_forward(&a, &tx, &b, &rx, 32, &mtu1500, &c);
	ASSERT_INT_EQ(c.sent, 2);
	ASSERT_INT_EQ(c.oversize, 2);
	/* No room: two buffers left for four frames, then no receiver at all. */
	for (uint16_t i = 6; i < 11; i++)
		tx_frame(&tx, i, 60, 0);
	direct_forward(&a, &tx, &b, &rx, 4, &open_rules, &c);
	ASSERT_INT_EQ(c.sent, 4);
	ASSERT_INT_EQ(c.no_room, 2);
	direct_forward(&a, &tx, NULL, NULL, 1, &open_rules, &c);
	ASSERT_INT_EQ(c.no_room, 3);
	ASSERT_INT_EQ(tx.used->idx, 11);
	ASSERT_INT_EQ(rx.used->idx, 4);
	teardown(&a);
	teardown(&b);
}

/* What a hostile guest posts costs it its own chains and nothing else: each is consumed in
 * order, counted, and the good frame behind them goes through. */
static void test_bad_chains(void)
{
	struct net_direct a, b;
	struct dvring tx, rx;
	struct iov_vhost_fwd_counts c = { 0 };
	uint64_t rxoff;

	setup(&a, true);
	setup(&b, true);
	ring_init(&tx, 0);
	ring_init(&rx, 0x1000);
	tx.desc[0] = (struct vring_desc){ 0x7f0000000000ULL, 100, 0, 0 };                  /* outside */
	tx.desc[1] = (struct vring_desc){ gpa(MEM_SIZE - 16), 4096, 0, 0 };                 /* runs off the end */
	tx.desc[2] = (struct vring_desc){ gpa(BUFS), 64, VRING_DESC_F_NEXT, 3 };          /* 2 -> 3 -> 2 */
	tx.desc[3] = (struct vring_desc){ gpa(BUFS), 64, VRING_DESC_F_NEXT, 2 };
	tx.desc[4] = (struct vring_desc){ gpa(BUFS), 64, VRING_DESC_F_WRITE, 0 };         /* writable */
	tx.desc[5] = (struct vring_desc){ gpa(BUFS), 64, VRING_DESC_F_INDIRECT, 0 };      /* not offered */
	tx.desc[6] = (struct vring_desc){ gpa(BUFS), 8, 0, 0 };                            /* shorter than a header */
	tx.desc[7] = (struct vring_desc){ gpa(BUFS), 64, VRING_DESC_F_NEXT, 200 };        /* next out of the ring */
	for (uint16_t i = 0; i < 8; i++)
		post(&tx, i);
	post(&tx, 300);                                                                     /* a head out of the ring */
	tx_frame(&tx, 9, 60, 1);
	rx.desc[0] = (struct vring_desc){ gpa(BUFS + 0x20000), 2048, 0, 0 };               /* readable: bad here */
	post(&rx, 0);
	rxoff = rx_buf(&rx, 1, 2048);
	direct_forward(&a, &tx, &b, &rx, 32, &open_rules, &c);
	ASSERT_INT_EQ(a.bad, 9);
	ASSERT_INT_EQ(b.bad, 1);
	ASSERT_INT_EQ(c.received, 1);
	ASSERT_INT_EQ(c.sent, 1);
	ASSERT_TRUE(frame_is(rxoff + HDR, 60, 1));
	/* Every chain was used, in the order it was posted, the bad ones empty. */
	ASSERT_INT_EQ(tx.used->idx, 10);
	ASSERT_INT_EQ(tx.used->ring[8].id, 300);
	ASSERT_INT_EQ(tx.used->ring[9].id, 9);
	ASSERT_INT_EQ(rx.used->idx, 2);
	ASSERT_INT_EQ(rx.used->ring[0].id, 0);
	ASSERT_INT_EQ(rx.used->ring[0].len, 0);
	ASSERT_INT_EQ(rx.used->ring[1].len, HDR + 60);
	/* An avail index more than a ring ahead: nothing is taken until it makes sense. */
	tx.avail->idx = (uint16_t)(tx.last_avail + QSZ + 1);
	direct_forward(&a, &tx, &b, &rx, 32, &open_rules, &c);
	ASSERT_INT_EQ(tx.last_avail, 10);
	ASSERT_INT_EQ(c.received, 1);
	teardown(&a);
	teardown(&b);
}

/* Indices are free-running 16-bit counters: a ring that resumes near 65535 wraps cleanly. */
static void test_index_wrap(void)
{
	struct net_direct a, b;
	struct dvring tx, rx;
	struct iov_vhost_fwd_counts c = { 0 };

	setup(&a, true);
	setup(&b, true);
	ring_init(&tx, 0);
	ring_init(&rx, 0x1000);
	ring_at(&tx, 65530);
	ring_at(&rx, 65533);
	for (int round = 0; round < 3; round++) {
		for (uint16_t i = 0; i < 4; i++) {
			tx_frame(&tx, i, 60, (uint8_t)(round * 4 + i));
			rx_buf(&rx, i, 2048);
		}
		direct_forward(&a, &tx, &b, &rx, 32, &open_rules, &c);
		ASSERT_INT_EQ(c.sent, 4 * (round + 1));
		ASSERT_INT_EQ(tx.used->idx, (uint16_t)(65530 + 4 * (round + 1)));
		ASSERT_INT_EQ(rx.used->idx, (uint16_t)(65533 + 4 * (round + 1)));
		for (uint16_t i = 0; i < 4; i++) {
			uint16_t pos = (uint16_t)(65533 + 4 * round + i);

			ASSERT_INT_EQ(rx.used->ring[pos % QSZ].len, HDR + 60);
			ASSERT_TRUE(frame_is(BUFS + (uint64_t)(QSZ + rx.used->ring[pos % QSZ].id) * 4096 + HDR, 60,
					     (uint8_t)(round * 4 + i)));
		}
	}
	teardown(&a);
	teardown(&b);
}

/* The mbuf side: a small frame and one longer than an mbuf out of a transmit ring, and both
 * back into a receive ring; a chained mbuf is copied whole. */
static void test_dequeue_enqueue(void)
{
	struct net_direct a, b;
	struct dvring tx, rx;
	struct rte_mbuf *m[4];
	uint64_t rxoff[3];
	uint16_t got;

	setup(&a, true);
	setup(&b, true);
	ring_init(&tx, 0);
	ring_init(&rx, 0x1000);
	tx_frame(&tx, 0, 60, 5);
	tx_frame(&tx, 1, 3000, 6);
	tx_frame(&tx, 2, 0, 0);
	got = direct_dequeue(&a, &tx, mp, m, 4);
	ASSERT_INT_EQ(got, 3);
	ASSERT_INT_EQ(tx.used->idx, 3);
	ASSERT_INT_EQ(rte_pktmbuf_pkt_len(m[0]), 60);
	ASSERT_TRUE(!memcmp(rte_pktmbuf_mtod(m[0], uint8_t *), mem + BUFS + HDR, 60));
	ASSERT_INT_EQ(rte_pktmbuf_pkt_len(m[1]), 3000);
	ASSERT_INT_GE(m[1]->nb_segs, 2);
	ASSERT_INT_EQ(rte_pktmbuf_pkt_len(m[2]), 0);     /* the switch counts it as a runt */
	{
		uint8_t flat[3000];
		const uint8_t *p = rte_pktmbuf_read(m[1], 0, 3000, flat);

		ASSERT_TRUE(p && !memcmp(p, mem + BUFS + 4096 + HDR, 3000));
	}
	for (uint16_t i = 0; i < 3; i++)
		rxoff[i] = rx_buf(&rx, i, 4096);
	ASSERT_INT_EQ(direct_enqueue(&b, &rx, m, 2), 2);
	ASSERT_INT_EQ(rx.used->idx, 2);
	ASSERT_INT_EQ(rx.used->ring[1].len, HDR + 3000);
	ASSERT_TRUE(frame_is(rxoff[0] + HDR, 60, 5));
	ASSERT_TRUE(frame_is(rxoff[1] + HDR, 3000, 6));
	/* One buffer left and two frames: one goes, the caller drops the other. */
	ASSERT_INT_EQ(direct_enqueue(&b, &rx, m, 2), 1);
	rte_pktmbuf_free_bulk(m, 3);
	ASSERT_INT_EQ(rte_mempool_in_use_count(mp), 0);
	teardown(&a);
	teardown(&b);
}

int main(int argc, char **argv)
{
	char *eal[] = { argv[0], "-l", "0", "--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry",
			"--log-level=*:error", "--file-prefix=net-direct-test", NULL };
	int st;

	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0) {
		fprintf(stderr, "DPDK's EAL did not start without hugepages\n");
		return 1;
	}
	mp = rte_pktmbuf_pool_create("net-direct-test", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	mem = aligned_alloc(4096, MEM_SIZE);
	if (!mp || !mem)
		return 1;
	static const struct unit_test tests[] = {
		UNIT_TEST(test_forward_copies_once), UNIT_TEST(test_forward_gathers_and_sees_tags),
		UNIT_TEST(test_forward_mergeable),   UNIT_TEST(test_forward_many_buffers_keeps_order),
		UNIT_TEST(test_forward_rules_and_no_room),
		UNIT_TEST(test_bad_chains),          UNIT_TEST(test_index_wrap),
		UNIT_TEST(test_dequeue_enqueue),
	};
	st = unit_run("vhost-user/net-direct", tests, RTE_DIM(tests));
	free(mem);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return st;
}
