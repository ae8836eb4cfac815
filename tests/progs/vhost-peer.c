/* SPDX-License-Identifier: MIT */
/*
 * vhost-peer: a virtio-net device's driver and VMM in one process, on iovkit's vhost-user
 * frontend library: guest memory in a memfd, split rings (virtio 1.2 §2.7) built here, frames
 * sent and received through a vhost-user backend. Its hostile modes post what a broken or
 * malicious guest would, one case per connection.
 *
 *   vhost-peer SOCK send N DSTMAC [SIZE]    send N frames of SIZE bytes (default 60), wait until
 *                                           the backend has taken them all
 *   vhost-peer SOCK recv N SECONDS          receive until N frames arrived or time is up
 *   vhost-peer SOCK reconnect N DSTMAC      send N, wait for the backend to go away and come
 *                                           back, reconnect, send N more
 *   vhost-peer SOCK remap N DSTMAC          send N, replace the memory table while running
 *                                           (the same memory as two regions), send N more
 *   vhost-peer SOCK blk CAPACITY SERIAL     a virtio-blk device's driver: read the capacity and
 *                                           check it, write, flush, read back, get the ID, and
 *                                           the error paths (past the end, a header outside
 *                                           memory, an unknown request), discard, write zeroes
 *   vhost-peer SOCK blk-ro                  a read-only blk device: it offers VIRTIO_BLK_F_RO,
 *                                           reads work, writes fail
 *   vhost-peer SOCK blk-mq QUEUES           a blk device with QUEUES request queues: config
 *                                           space says so, queues 0 and 1 each complete their
 *                                           own requests, posted at once
 *   vhost-peer SOCK blk-packed CAPACITY     the blk driver on a packed ring (virtio 1.2 §2.8):
 *                                           write and read back across several wraps of the
 *                                           ring, lists that straddle its end, buffer IDs and
 *                                           lengths in the used descriptors, the error paths
 *   vhost-peer SOCK blk-packed-restart      the same with the backend's inflight region, across
 *                                           a restart of the backend after "phase 1 done"
 *   vhost-peer SOCK hostile CASE            post one bad transmit chain, then say whether the
 *                                           backend consumed it or stalled the ring:
 *                                           outside | wrap | loop | long | oversize | empty
 * Prints one line "<what> <count>" and exits 0 when it did what was asked, 1 otherwise.
 */
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "iovkit/vhost-front.h"
#include <stdarg.h>

#define MEM_SIZE (8u << 20)
#define QSZ 256
#define HDR 12                  /* struct virtio_net_hdr_mrg_rxbuf: VERSION_1 always has it */
#define BUF 2048
/* Guest-physical layout: the two rings, then 256 receive and 256 transmit buffers. */
#define RXQ 0x0000
#define TXQ 0x8000
#define RXBUF 0x10000
#define TXBUF (RXBUF + QSZ * BUF)
#define BIGBUF (TXBUF + QSZ * BUF)      /* 16 KiB for the oversize case */

struct vq {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx, last_used;
	int kick;
	uint64_t gpa;
};

static uint8_t *mem;
static int memfd;
static struct vq rx, tx;
static struct iov_vhost_front *front;

/* Prints "FAIL: <message>: <strerror(-err)>" and exits 1. */
__attribute__((format(printf, 2, 3), noreturn)) static void die(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": %s\n", strerror(-err));
	exit(1);
}

static void vq_init(struct vq *q, uint64_t gpa)
{
	q->gpa = gpa;
	q->desc = (struct vring_desc *)(mem + gpa);
	q->avail = (struct vring_avail *)(mem + gpa + 0x1000);
	q->used = (struct vring_used *)(mem + gpa + 0x2000);
	q->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->kick < 0)
		die(-errno, "eventfd");
}

static int vq_start(unsigned int index, struct vq *q, uint16_t base)
{
	struct iov_vhost_vring v = { .num = QSZ, .desc_gpa = q->gpa, .avail_gpa = q->gpa + 0x1000,
				     .used_gpa = q->gpa + 0x2000, .base = base, .kick_fd = q->kick, .call_fd = -1 };

	return iov_vhost_front_vring_start(front, index, &v);
}

/* Makes head @head available and notifies unless the backend said it polls. */
static void vq_push(struct vq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % QSZ] = head;
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
	if (!(__atomic_load_n(&q->used->flags, __ATOMIC_ACQUIRE) & VRING_USED_F_NO_NOTIFY)) {
		uint64_t one = 1;
		if (write(q->kick, &one, sizeof(one)) < 0 && errno != EAGAIN)
			die(-errno, "kick");
	}
}

/* The next used element, or -1. */
static int vq_pop(struct vq *q, uint32_t *len)
{
	struct vring_used_elem e;

	if (__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) == q->last_used)
		return -1;
	e = q->used->ring[q->last_used % QSZ];
	q->last_used++;
	*len = e.len;
	return (int)e.id;
}

/* Guest memory, the connection, features @want, the memory table; with @net, both rings
 * started and every receive buffer posted. */
static void setup(const char *sock, uint64_t want, bool net)
{
	struct iov_vhost_region r;
	int err;

	memfd = memfd_create("vhost-peer", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, MEM_SIZE) < 0)
		die(-errno, "guest memory");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED)
		die(-errno, "mmap");
	r = (struct iov_vhost_region){ .guest_phys_addr = 0, .size = MEM_SIZE, .host_addr = mem, .fd = memfd };
	vq_init(&rx, RXQ);
	vq_init(&tx, TXQ);

	err = iov_vhost_front_connect(sock, &front);
	if (err < 0)
		die(err, "connecting to %s", sock);
	if ((iov_vhost_front_backend_features(front) & want) != want)
		die(-ENOTSUP, "the backend does not offer features 0x%llx", (unsigned long long)want);
	if ((err = iov_vhost_front_set_features(front, want)) < 0 || (err = iov_vhost_front_set_mem_table(front, &r, 1)) < 0)
		die(err, "setting up the device");
	if (!net)
		return;
	for (uint16_t i = 0; i < QSZ; i++) {
		rx.desc[i] = (struct vring_desc){ .addr = RXBUF + (uint64_t)i * BUF, .len = BUF, .flags = VRING_DESC_F_WRITE };
		rx.avail->ring[i] = i;
	}
	rx.avail_idx = QSZ;
	rx.avail->idx = QSZ;
	if ((err = vq_start(0, &rx, 0)) < 0 || (err = vq_start(1, &tx, 0)) < 0)
		die(err, "starting the rings");
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void parse_mac(const char *s, uint8_t mac[6])
{
	if (sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6)
		die(-EINVAL, "not a MAC address: %s", s);
}

/* Sends @n frames of @size bytes to @dst; returns how many the backend took within 10 s. */
static unsigned int send_frames(unsigned int n, const uint8_t dst[6], unsigned int size, unsigned int seq0)
{
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	unsigned int sent = 0, done = 0, inflight = 0;
	double deadline = now() + 10;
	uint32_t len;

	while (done < n && now() < deadline) {
		while (sent < n && inflight < QSZ) {
			uint16_t d = (uint16_t)(tx.avail_idx % QSZ);
			uint8_t *b = mem + TXBUF + (uint64_t)d * BUF;

			memset(b, 0, HDR);
			memcpy(b + HDR, dst, 6);
			memcpy(b + HDR + 6, src, 6);
			b[HDR + 12] = 0x88;     /* local experimental ethertype 0x88b5 */
			b[HDR + 13] = 0xb5;
			memset(b + HDR + 14, 0, size - 14);
			memcpy(b + HDR + 14, &(uint32_t){ seq0 + sent }, 4);
			tx.desc[d] = (struct vring_desc){ .addr = TXBUF + (uint64_t)d * BUF, .len = HDR + size };
			vq_push(&tx, d);
			sent++;
			inflight++;
		}
		while (vq_pop(&tx, &len) >= 0) {
			done++;
			inflight--;
		}
		if (done < sent)
			usleep(100);
	}
	return done;
}

static int cmd_recv(unsigned int n, double secs)
{
	double deadline = now() + secs;
	unsigned int got = 0;
	uint32_t len;
	int id;

	while (got < n && now() < deadline) {
		while ((id = vq_pop(&rx, &len)) >= 0) {
			if (id < QSZ && len > HDR)
				got++;
			vq_push(&rx, (uint16_t)id);     /* the buffer goes back */
		}
		usleep(200);
	}
	printf("received %u\n", got);
	return got >= n ? 0 : 1;
}

/* Posts one bad chain at descriptor 0 and watches the used ring for a second. */
static int cmd_hostile(const char *what)
{
	uint32_t len;

	memset(tx.desc, 0, QSZ * sizeof(*tx.desc));
	if (!strcmp(what, "outside")) {          /* a buffer beyond guest memory */
		tx.desc[0] = (struct vring_desc){ .addr = 0x7f0000000000ULL, .len = 100 };
	} else if (!strcmp(what, "wrap")) {      /* starts inside, runs past the end */
		tx.desc[0] = (struct vring_desc){ .addr = MEM_SIZE - 16, .len = 4096 };
	} else if (!strcmp(what, "loop")) {      /* 0 -> 1 -> 0 -> ... */
		tx.desc[0] = (struct vring_desc){ .addr = TXBUF, .len = 64, .flags = VRING_DESC_F_NEXT, .next = 1 };
		tx.desc[1] = (struct vring_desc){ .addr = TXBUF + BUF, .len = 64, .flags = VRING_DESC_F_NEXT, .next = 0 };
	} else if (!strcmp(what, "long")) {      /* a chain through every descriptor, then a bad next */
		for (uint16_t i = 0; i < QSZ; i++)
			tx.desc[i] = (struct vring_desc){ .addr = TXBUF, .len = 8, .flags = VRING_DESC_F_NEXT,
							  .next = (uint16_t)(i + 1) };
	} else if (!strcmp(what, "oversize")) {  /* valid memory, a 9000-byte frame */
		uint8_t *b = mem + BIGBUF;
		memset(b, 0, HDR + 9000);
		memset(b + HDR, 0xff, 6);
		tx.desc[0] = (struct vring_desc){ .addr = BIGBUF, .len = HDR + 9000 };
	} else if (!strcmp(what, "empty")) {     /* a header and no frame */
		memset(mem + TXBUF, 0, HDR);
		tx.desc[0] = (struct vring_desc){ .addr = TXBUF, .len = HDR };
	} else {
		die(-EINVAL, "unknown case %s", what);
	}
	vq_push(&tx, 0);
	for (double deadline = now() + 1; now() < deadline; usleep(1000))
		if (vq_pop(&tx, &len) >= 0) {
			printf("consumed %s\n", what);
			return 0;
		}
	printf("stalled %s\n", what);
	return 0;
}

/* Waits (30 s each) for the backend to go away (its socket closes) and to come back, and
 * reconnects to it. */
static void backend_restart(void)
{
	struct pollfd p = { .fd = iov_vhost_front_fd(front), .events = POLLIN };
	double deadline;
	int err = -ECONNREFUSED;

	if (poll(&p, 1, 30000) <= 0)
		die(-ETIMEDOUT, "the backend did not go away");
	for (deadline = now() + 30; now() < deadline; usleep(100000)) {
		err = iov_vhost_front_reconnect(front);
		if (err == 0)
			break;
	}
	if (err < 0)
		die(err, "reconnecting");
}

static int cmd_reconnect(unsigned int n, const uint8_t dst[6])
{
	unsigned int first = send_frames(n, dst, 60, 0), second;

	backend_restart();
	second = send_frames(n, dst, 60, n);
	printf("sent %u then %u\n", first, second);
	return first == n && second == n ? 0 : 1;
}

/*
 * Sends @n frames, replaces the memory table while the device runs (the same memory as two
 * regions: the backend must unmap and map again, and stop using the old mappings first), and
 * sends @n more through the new one.
 */
static int cmd_remap(unsigned int n, const uint8_t dst[6])
{
	unsigned int first = send_frames(n, dst, 60, 0), second;
	struct iov_vhost_region r[2] = {
		{ .guest_phys_addr = 0, .size = MEM_SIZE / 2, .host_addr = mem, .fd = memfd },
		{ .guest_phys_addr = MEM_SIZE / 2, .size = MEM_SIZE / 2, .host_addr = mem + MEM_SIZE / 2, .fd = memfd,
		  .fd_offset = MEM_SIZE / 2 },
	};
	int err = iov_vhost_front_set_mem_table(front, r, 2);

	if (err < 0)
		die(err, "replacing the memory table");
	second = send_frames(n, dst, 60, n);
	printf("sent %u then %u\n", first, second);
	return first == n && second == n ? 0 : 1;
}

/* ---- virtio-blk ---- */

static int blk_checks_failed;

static void blk_check(bool ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL:", what);
	if (!ok)
		blk_checks_failed++;
}

/*
 * Posts one request on @q without waiting: a header at @hdr (or a header address @hdr_gpa the
 * test wants instead), @n data buffers of @len bytes at @data (device-writable when @in), a
 * status byte at @status. Its descriptors are the ring's first ones: one request per ring at a time.
 */
static void blk_post(struct vq *q, uint64_t hdr, uint64_t status, uint32_t type, uint64_t sector, uint64_t data,
		     uint32_t len, unsigned int n, bool in, uint64_t hdr_gpa)
{
	struct virtio_blk_outhdr *h = (struct virtio_blk_outhdr *)(mem + hdr);
	uint16_t k = 0;

	*h = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	mem[status] = 0xee;
	q->desc[k] = (struct vring_desc){ .addr = hdr_gpa ? hdr_gpa : hdr, .len = sizeof(*h), .flags = VRING_DESC_F_NEXT,
					  .next = (uint16_t)(k + 1) };
	k++;
	for (unsigned int i = 0; i < n; i++, k++)
		q->desc[k] = (struct vring_desc){ .addr = data + (uint64_t)i * len, .len = len,
						  .flags = (uint16_t)(VRING_DESC_F_NEXT | (in ? VRING_DESC_F_WRITE : 0)),
						  .next = (uint16_t)(k + 1) };
	q->desc[k] = (struct vring_desc){ .addr = status, .len = 1, .flags = VRING_DESC_F_WRITE };
	vq_push(q, 0);
}

/* The status of @q's next completion (its status byte at @status), or -1 after 5 s. */
static int blk_wait(struct vq *q, uint64_t status)
{
	uint32_t l;

	for (double deadline = now() + 5; now() < deadline; usleep(100))
		if (vq_pop(q, &l) >= 0)
			return mem[status];
	return -1;
}

/* One request on queue 0 (the "rx" ring's memory), waited for; its status, or -1. */
static int blk_request(uint32_t type, uint64_t sector, uint64_t data, uint32_t len, unsigned int n, bool in,
		       uint64_t hdr_gpa)
{
	blk_post(&rx, BIGBUF, BIGBUF + 64, type, sector, data, len, n, in, hdr_gpa);
	return blk_wait(&rx, BIGBUF + 64);
}

static int cmd_blk(uint64_t capacity, const char *serial)
{
	uint64_t cap = 0, wbuf = RXBUF, rbuf = RXBUF + 0x20000;
	struct virtio_blk_discard_write_zeroes *seg = (struct virtio_blk_discard_write_zeroes *)(mem + TXBUF);
	int err;

	err = iov_vhost_front_get_config(front, 0, &cap, sizeof(cap));
	blk_check(err == 0 && cap == capacity, "the capacity in config space is the image's size");
	printf("capacity %llu\n", (unsigned long long)cap);
	/* The request queue lives in the "rx" ring's memory. */
	if ((err = vq_start(0, &rx, 0)) < 0)
		die(err, "starting the request queue");

	for (unsigned int i = 0; i < 0x10000; i++)
		mem[wbuf + i] = (uint8_t)(i * 7 + 3);
	blk_check(blk_request(VIRTIO_BLK_T_OUT, 8, wbuf, 0x8000, 2, false, 0) == VIRTIO_BLK_S_OK, "write 64 KiB at sector 8");
	blk_check(blk_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, false, 0) == VIRTIO_BLK_S_OK, "flush");
	memset(mem + rbuf, 0, 0x10000);
	blk_check(blk_request(VIRTIO_BLK_T_IN, 8, rbuf, 0x4000, 4, true, 0) == VIRTIO_BLK_S_OK, "read it back");
	blk_check(!memcmp(mem + wbuf, mem + rbuf, 0x10000), "the bytes read are the bytes written");
	memset(mem + rbuf, 0, 32);
	blk_check(blk_request(VIRTIO_BLK_T_GET_ID, 0, rbuf, 20, 1, true, 0) == VIRTIO_BLK_S_OK &&
			  !strncmp((char *)mem + rbuf, serial, 20),
		  "get ID answers the serial");
	blk_check(blk_request(VIRTIO_BLK_T_IN, capacity - 1, rbuf, 1024, 1, true, 0) == VIRTIO_BLK_S_IOERR,
		  "a read past the end fails with IOERR");
	blk_check(blk_request(VIRTIO_BLK_T_IN, 0, rbuf, 100, 1, true, 0) == VIRTIO_BLK_S_IOERR,
		  "a read of part of a sector fails with IOERR");
	blk_check(blk_request(VIRTIO_BLK_T_IN, 0, rbuf, 512, 1, true, 0x7f0000000000ULL) == VIRTIO_BLK_S_IOERR,
		  "a header outside guest memory fails with IOERR, and the queue goes on");
	blk_check(blk_request(99, 0, rbuf, 512, 1, true, 0) == VIRTIO_BLK_S_UNSUPP, "an unknown request is UNSUPP");
	blk_check(blk_request(VIRTIO_BLK_T_OUT, 8, rbuf, 512, 1, true, 0) == VIRTIO_BLK_S_IOERR,
		  "a write with device-writable data fails");
	*seg = (struct virtio_blk_discard_write_zeroes){ .sector = 8, .num_sectors = 16 };
	blk_check(blk_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, TXBUF, sizeof(*seg), 1, false, 0) == VIRTIO_BLK_S_OK,
		  "write zeroes over sectors 8-23");
	memset(mem + rbuf, 0xaa, 0x2000);
	blk_check(blk_request(VIRTIO_BLK_T_IN, 8, rbuf, 0x2000, 1, true, 0) == VIRTIO_BLK_S_OK &&
			  mem[rbuf] == 0 && !memcmp(mem + rbuf, mem + rbuf + 1, 0x2000 - 1),
		  "they read back as zeroes");
	*seg = (struct virtio_blk_discard_write_zeroes){ .sector = 24, .num_sectors = 8 };
	blk_check(blk_request(VIRTIO_BLK_T_DISCARD, 0, TXBUF, sizeof(*seg), 1, false, 0) == VIRTIO_BLK_S_OK, "discard");
	*seg = (struct virtio_blk_discard_write_zeroes){ .sector = capacity, .num_sectors = 8 };
	blk_check(blk_request(VIRTIO_BLK_T_DISCARD, 0, TXBUF, sizeof(*seg), 1, false, 0) == VIRTIO_BLK_S_UNSUPP,
		  "a discard past the end is refused");
	printf("blk %s\n", blk_checks_failed ? "failed" : "ok");
	return blk_checks_failed ? 1 : 0;
}

/*
 * A device with @want request queues (VIRTIO_BLK_F_MQ): config space says so; a write posted
 * on each of queues 0 and 1 at once completes on its own queue, and each is read back through
 * the other queue.
 */
static int cmd_blk_mq(unsigned int want)
{
	uint64_t a = RXBUF, b = RXBUF + 0x1000, ra = RXBUF + 0x2000, rb = RXBUF + 0x3000;
	uint64_t h0 = BIGBUF, s0 = BIGBUF + 64, h1 = BIGBUF + 128, s1 = BIGBUF + 192;
	uint16_t nq = 0;
	int err, st0, st1;

	err = iov_vhost_front_get_config(front, 34, &nq, sizeof(nq));     /* virtio_blk_config.num_queues */
	blk_check(err == 0 && nq == want, "config space gives the number of request queues");
	printf("num_queues %u\n", nq);
	/* Queue 0 in the "rx" ring's memory, queue 1 in the "tx" ring's. */
	if ((err = vq_start(0, &rx, 0)) < 0 || (err = vq_start(1, &tx, 0)) < 0)
		die(err, "starting the request queues");
	for (unsigned int i = 0; i < 0x1000; i++) {
		mem[a + i] = (uint8_t)(i * 3 + 1);
		mem[b + i] = (uint8_t)(i * 5 + 2);
	}
	blk_post(&rx, h0, s0, VIRTIO_BLK_T_OUT, 100, a, 0x1000, 1, false, 0);
	blk_post(&tx, h1, s1, VIRTIO_BLK_T_OUT, 200, b, 0x1000, 1, false, 0);
	st0 = blk_wait(&rx, s0);
	st1 = blk_wait(&tx, s1);
	blk_check(st0 == VIRTIO_BLK_S_OK && st1 == VIRTIO_BLK_S_OK,
		  "a write on each queue at once, each completed on its own queue");
	blk_check(rx.last_used == 1 && tx.last_used == 1, "one completion on each used ring");
	memset(mem + ra, 0, 0x2000);
	blk_post(&tx, h1, s1, VIRTIO_BLK_T_IN, 100, ra, 0x1000, 1, true, 0);
	blk_post(&rx, h0, s0, VIRTIO_BLK_T_IN, 200, rb, 0x1000, 1, true, 0);
	st1 = blk_wait(&tx, s1);
	st0 = blk_wait(&rx, s0);
	blk_check(st0 == VIRTIO_BLK_S_OK && st1 == VIRTIO_BLK_S_OK && !memcmp(mem + a, mem + ra, 0x1000) &&
			  !memcmp(mem + b, mem + rb, 0x1000),
		  "each read back through the other queue");
	printf("blk-mq %s\n", blk_checks_failed ? "failed" : "ok");
	return blk_checks_failed ? 1 : 0;
}

/* ---- virtio-blk on a packed ring ---- */

#define P_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define P_USED (1u << VRING_PACKED_DESC_F_USED)

/* The driver's side of a packed ring in the "rx" ring's memory: descriptors, then the driver
 * and device event suppression areas at +0x1000 and +0x2000 (the split layout's places). */
static struct {
	struct vring_packed_desc *ring;
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	uint16_t list_len[QSZ];         /* by buffer ID: how many descriptors its list took */
	unsigned int wraps;             /* of the used side */
} pq;

struct pseg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/*
 * Makes the list @s[0..@n) available as buffer @id: every descriptor but the first written
 * out first, then the first one's flags (the spec's order, so the device never sees part of a
 * list); the ID in the last, the wrap counter flipping where the list passes the ring's end.
 */
static void pq_post(const struct pseg *s, unsigned int n, uint16_t id)
{
	uint16_t first_flags = 0, pos = pq.next_avail;
	bool wrap = pq.avail_wrap;

	for (unsigned int k = 0; k < n; k++) {
		uint16_t f = (uint16_t)((k + 1 < n ? VRING_DESC_F_NEXT : 0) | (s[k].write ? VRING_DESC_F_WRITE : 0) |
					(wrap ? P_AVAIL : P_USED));

		pq.ring[pos].addr = s[k].addr;
		pq.ring[pos].len = s[k].len;
		pq.ring[pos].id = id;
		if (k == 0)
			first_flags = f;
		else
			pq.ring[pos].flags = f;
		if (++pos == QSZ) {
			pos = 0;
			wrap = !wrap;
		}
	}
	__atomic_store_n(&pq.ring[pq.next_avail].flags, first_flags, __ATOMIC_RELEASE);
	pq.list_len[id] = (uint16_t)n;
	pq.next_avail = pos;
	pq.avail_wrap = wrap;
	if (write(rx.kick, &(uint64_t){ 1 }, sizeof(uint64_t)) < 0 && errno != EAGAIN)
		die(-errno, "kick");
}

/* The next used descriptor's buffer ID (its length in *@len), or -1 after 5 s. */
static int pq_wait(uint32_t *len, bool *written)
{
	for (double deadline = now() + 5; now() < deadline; usleep(50)) {
		struct vring_packed_desc *d = &pq.ring[pq.next_used];
		uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
		uint16_t id;

		if (!!(f & P_AVAIL) != pq.used_wrap || !!(f & P_USED) != pq.used_wrap)
			continue;
		id = d->id;
		*len = d->len;
		*written = f & VRING_DESC_F_WRITE;
		if (id >= QSZ || !pq.list_len[id])
			return -2;      /* an ID the driver never posted */
		pq.next_used = (uint16_t)(pq.next_used + pq.list_len[id]);
		if (pq.next_used >= QSZ) {
			pq.next_used -= QSZ;
			pq.used_wrap = !pq.used_wrap;
			pq.wraps++;
		}
		pq.list_len[id] = 0;
		return id;
	}
	return -1;
}

/*
 * One request as a list: the header, @n data segments of @len bytes from @data (device-
 * writable when @in), the status byte; waited for. Its status, or -1; *@used_len the length
 * the device reported. The ID must come back as posted.
 */
static int pq_request(uint32_t type, uint64_t sector, uint64_t data, uint32_t len, unsigned int n, bool in,
		      uint16_t id, uint32_t *used_len)
{
	struct virtio_blk_outhdr *h = (struct virtio_blk_outhdr *)(mem + BIGBUF);
	struct pseg s[8];
	unsigned int k = 0;
	bool written;

	*h = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	mem[BIGBUF + 64] = 0xee;
	s[k++] = (struct pseg){ BIGBUF, sizeof(*h), false };
	for (unsigned int i = 0; i < n && k < 7; i++)
		s[k++] = (struct pseg){ data + (uint64_t)i * len, len, in };
	s[k++] = (struct pseg){ BIGBUF + 64, 1, true };
	pq_post(s, k, id);
	if (pq_wait(used_len, &written) != id || !written)
		return -1;
	return mem[BIGBUF + 64];
}

/*
 * The blk driver on a packed ring. Lists of 3 to 7 descriptors, 200 requests: the ring of 256
 * wraps four times and many lists straddle its end. Every write is read back and compared;
 * every completion must carry the posted buffer ID and, for a read, the bytes read plus the
 * status byte.
 */
/* The packed ring's queue 0 started at index 0, wrap counter 1 (bit 15 of the base). */
static void pq_start(void)
{
	int err;

	pq.ring = (struct vring_packed_desc *)(mem + RXQ);
	pq.avail_wrap = pq.used_wrap = true;
	if ((err = vq_start(0, &rx, 0x8000)) < 0)
		die(err, "starting the packed request queue");
}

/*
 * Rounds @r0..@r1-1 of writes and read-backs in lists of 3 to 7 descriptors (1-5 data segments
 * of 1 KiB), IDs out of order as a driver's free list gives them. Counts reads that differ, and
 * stops at the first request that does not complete with its own ID, status OK and read length
 * (counted).
 */
static void pq_rounds(unsigned int r0, unsigned int r1, unsigned int *bad_ids, unsigned int *mismatches)
{
	uint64_t wbuf = RXBUF, rbuf = RXBUF + 0x10000;
	uint32_t len;

	for (unsigned int r = r0; r < r1; r++) {
		unsigned int n = 1 + r % 5;
		uint64_t sector = 16 + (r % 40) * 16;
		uint16_t id = (uint16_t)((r * 37) % QSZ);

		for (unsigned int i = 0; i < n * 1024; i++)
			mem[wbuf + i] = (uint8_t)(r * 13 + i);
		memset(mem + rbuf, 0, n * 1024);
		/* A request that does not complete stops the rounds (each waits 5 s). */
		if (pq_request(VIRTIO_BLK_T_OUT, sector, wbuf, 1024, n, false, id, &len) != VIRTIO_BLK_S_OK) {
			(*bad_ids)++;
			return;
		}
		if (pq_request(VIRTIO_BLK_T_IN, sector, rbuf, 1024, n, true, (uint16_t)(id ^ 1), &len) !=
			    VIRTIO_BLK_S_OK || len != n * 1024 + 1) {
			(*bad_ids)++;
			return;
		}
		if (memcmp(mem + wbuf, mem + rbuf, n * 1024))
			(*mismatches)++;
	}
}

static int cmd_blk_packed(uint64_t capacity)
{
	uint64_t rbuf = RXBUF + 0x10000;
	unsigned int mismatches = 0, bad_ids = 0;
	uint32_t len;

	pq_start();
	pq_rounds(0, 200, &bad_ids, &mismatches);
	blk_check(bad_ids == 0, "400 requests completed with their own buffer IDs, status OK and read lengths");
	blk_check(mismatches == 0, "every write read back the same across the ring's wraps");
	blk_check(pq.wraps >= 3, "the ring wrapped at least three times");
	printf("packed ring: %u wraps, next used descriptor %u\n", pq.wraps, pq.next_used);
	blk_check(pq_request(VIRTIO_BLK_T_IN, capacity - 1, rbuf, 1024, 1, true, 7, &len) == VIRTIO_BLK_S_IOERR,
		  "a read past the end fails");
	blk_check(pq_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, false, 9, &len) == VIRTIO_BLK_S_OK, "flush");
	printf("blk-packed %s\n", blk_checks_failed ? "failed" : "ok");
	return blk_checks_failed ? 1 : 0;
}

/*
 * The packed ring across a crash of the backend: the inflight region asked for, 100 requests,
 * "phase 1 done"; then the backend is killed and started again (by the caller) and the
 * frontend reconnects — handing the region back but the ring's stale base (a packed ring has
 * no used index to read) — and 300 more requests must complete in order from where the ring
 * was. Only the region tells the new backend where that is.
 */
static int cmd_blk_packed_restart(void)
{
	unsigned int mismatches = 0, bad_ids = 0;
	int err = iov_vhost_front_inflight(front, 1, QSZ);

	if (err < 0)
		die(err, "the inflight region");
	pq_start();
	pq_rounds(0, 50, &bad_ids, &mismatches);
	printf("phase 1 done: %u wraps, next used descriptor %u\n", pq.wraps, pq.next_used);
	fflush(stdout);
	backend_restart();
	pq_rounds(50, 200, &bad_ids, &mismatches);
	blk_check(bad_ids == 0, "400 requests across the restart completed with their own IDs, status OK, read lengths");
	blk_check(mismatches == 0, "every write read back the same");
	printf("packed ring: %u wraps, next used descriptor %u\n", pq.wraps, pq.next_used);
	printf("blk-packed-restart %s\n", blk_checks_failed ? "failed" : "ok");
	return blk_checks_failed ? 1 : 0;
}

/* A read-only device: it says so, reads work, writes, discards and zeroes fail. */
static int cmd_blk_ro(void)
{
	struct virtio_blk_discard_write_zeroes *seg = (struct virtio_blk_discard_write_zeroes *)(mem + TXBUF);
	int err = vq_start(0, &rx, 0);

	if (err < 0)
		die(err, "starting the request queue");
	blk_check(blk_request(VIRTIO_BLK_T_IN, 0, RXBUF, 4096, 1, true, 0) == VIRTIO_BLK_S_OK, "reads work");
	blk_check(blk_request(VIRTIO_BLK_T_OUT, 0, RXBUF, 4096, 1, false, 0) == VIRTIO_BLK_S_IOERR, "a write fails");
	*seg = (struct virtio_blk_discard_write_zeroes){ .sector = 0, .num_sectors = 8 };
	blk_check(blk_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, TXBUF, sizeof(*seg), 1, false, 0) == VIRTIO_BLK_S_IOERR,
		  "write zeroes fails");
	printf("blk-ro %s\n", blk_checks_failed ? "failed" : "ok");
	return blk_checks_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint8_t dst[6];

	if (argc < 3) {
		fprintf(stderr, "usage: vhost-peer SOCK send N DSTMAC [SIZE] | recv N SECONDS | reconnect N DSTMAC | "
				"remap N DSTMAC | hostile CASE\n");
		return 2;
	}
	if (!strcmp(argv[2], "blk")) {
		/* setup() dies when the backend lacks one of these; the test says which. */
		setup(argv[1], 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_DISCARD |
				       1ULL << VIRTIO_BLK_F_WRITE_ZEROES | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
				       1ULL << VIRTIO_BLK_F_SEG_MAX,
		      false);
		return argc == 5 ? cmd_blk(strtoull(argv[3], NULL, 0), argv[4]) : 2;
	}
	if (!strcmp(argv[2], "blk-mq") && argc == 4) {
		setup(argv[1], 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_BLK_F_MQ, false);
		return cmd_blk_mq((unsigned int)atoi(argv[3]));
	}
	if (!strcmp(argv[2], "blk-packed-restart")) {
		setup(argv[1], 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_RING_PACKED, false);
		return cmd_blk_packed_restart();
	}
	if (!strcmp(argv[2], "blk-packed") && argc == 4) {
		setup(argv[1], 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_RING_PACKED, false);
		return cmd_blk_packed(strtoull(argv[3], NULL, 0));
	}
	if (!strcmp(argv[2], "blk-ro")) {
		setup(argv[1], 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_BLK_F_RO, false);
		return cmd_blk_ro();
	}
	setup(argv[1], 1ULL << VIRTIO_F_VERSION_1, true);
	if (!strcmp(argv[2], "send") && argc >= 5) {
		unsigned int n = (unsigned int)atoi(argv[3]), size = argc > 5 ? (unsigned int)atoi(argv[5]) : 60, done;
		if (size < 60 || size > BUF - HDR)
			die(-EINVAL, "SIZE is 60..%d", BUF - HDR);
		parse_mac(argv[4], dst);
		done = send_frames(n, dst, size, 0);
		printf("sent %u\n", done);
		return done == n ? 0 : 1;
	}
	if (!strcmp(argv[2], "recv") && argc == 5)
		return cmd_recv((unsigned int)atoi(argv[3]), atof(argv[4]));
	if (!strcmp(argv[2], "reconnect") && argc == 5) {
		parse_mac(argv[4], dst);
		return cmd_reconnect((unsigned int)atoi(argv[3]), dst);
	}
	if (!strcmp(argv[2], "remap") && argc == 5) {
		parse_mac(argv[4], dst);
		return cmd_remap((unsigned int)atoi(argv[3]), dst);
	}
	if (!strcmp(argv[2], "hostile") && argc == 4)
		return cmd_hostile(argv[3]);
	fprintf(stderr, "vhost-peer: bad arguments\n");
	return 2;
}
