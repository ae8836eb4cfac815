/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the direct virtio-net data path (vhost-user/net-direct.c) forwarding from
 * one guest's transmit ring to another's receive ring, both in guest memory the input fills:
 * descriptor tables, available rings, buffers, all the guests' to write. Nothing may be read or
 * written outside guest memory (ASan: the memory is exactly that big), no chain may loop, every
 * transmit chain taken is used exactly once, in order, and the counters add up. The input's
 * first byte: bit 0 mergeable receive buffers, bits 1-7 how many frames the sender made
 * available (0-127, more than the ring holds included).
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../vhost-user/net-direct.c"
#include "vhost-guest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QSIZE 64
#define RX_RING 0x2000                  /* the receiver's ring, after the sender's */

static void ring_at(struct dvring *vr, uint8_t *base)
{
	*vr = (struct dvring){ .desc = (struct vring_desc *)base,
			       .avail = (struct vring_avail *)(base + 16 * QSIZE),
			       .used = (struct vring_used *)(base + 16 * QSIZE + 4 + 2 * QSIZE + 60),
			       .size = QSIZE, .callfd = -1, .ready = true };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_vhost_memory *mem;
	struct net_direct a = { 0 }, b = { 0 };
	struct iov_vhost_fwd_counts c = { 0 };
	const struct iov_vhost_fwd_rules rules = { .max_len = 1514, .untagged_only = false };
	struct dvring tx, rx;
	uint16_t posted, rx_avail;
	uint8_t *guest;

	if (size < 2)
		return 0;
	guest = fuzz_guest(data, size, &mem);
	a.mem = b.mem = mem;
	a.hdr_len = b.hdr_len = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	a.mrg = b.mrg = data[0] & 1;
	ring_at(&tx, guest);
	ring_at(&rx, guest + RX_RING);
	posted = (uint16_t)(data[0] >> 1);
	tx.avail->idx = posted;
	rx_avail = rx.avail->idx;

	direct_forward(&a, &tx, &b, &rx, 32, &rules, &c);
	if (posted > QSIZE) {
		/* More than the ring holds: nothing is taken. */
		if (c.received || a.bad || tx.last_avail)
			abort();
		return 0;
	}
	/* Every chain taken is used once, in order; good or bad, each is counted once. */
	if (tx.last_avail != (posted < 32 ? posted : 32) || tx.used->idx != tx.last_avail ||
	    c.received + a.bad != tx.last_avail)
		abort();
	if (c.sent + c.runt + c.oversize + c.tagged + c.no_room != c.received)
		abort();
	/* The receiver's ring: no more taken than was available, each used once. */
	if (rx.last_avail > (rx_avail <= QSIZE ? rx_avail : 0))
		abort();
	if (rx.used->idx != rx.last_avail || (c.sent && !rx.last_avail))
		abort();
	return 0;
}
