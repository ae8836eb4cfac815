/* SPDX-License-Identifier: MIT */
/*
 * blk-bench: a virtio-blk driver on iovkit's vhost-user frontend library that measures a
 * vhost-user-blk backend: 4 KiB random reads (or writes) with DEPTH requests in flight on one
 * split ring of 256, for SECONDS after a one-second warm-up. The driver polls the used ring and
 * asks for no interrupts (VRING_AVAIL_F_NO_INTERRUPT; a call eventfd is there for backends that
 * insist), so what is measured is the backend's service: noticing a kick, the I/O, completing
 * on the used ring. Any backend serves it: iovswitch's blk devices, QEMU's
 * qemu-storage-daemon vhost-user-blk exports, DPDK's vhost_blk example.
 *
 *   blk-bench SOCK SECONDS DEPTH [read|write]
 *
 * Prints one line: "iops N mean_us X p99_us Y" (latency from posting a request to seeing it
 * used). Exits 1 with a message if the device cannot be set up or a request fails.
 */
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "iovkit/vhost-front.h"

#define MEM_SIZE (4u << 20)
#define QSZ 256
#define MAX_DEPTH 64            /* three descriptors a request */
#define IO 4096
/* Guest-physical layout: the ring, then per slot a header, a status byte and a data page. */
#define RING 0x0000
#define HDRS 0x4000
#define DATA 0x10000
#define MAX_SAMPLES (1u << 22)

static uint8_t *mem;
static struct vring_desc *desc;
static struct vring_avail *avail;
static struct vring_used *used;
static uint16_t avail_idx, last_used;
static int kick;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what, int err)
{
	printf("FAIL: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* xorshift64*: random sectors without a system call or a lock. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* Posts slot @i's request for the 4 KiB at @sector: header, data, status in descriptors 3i..3i+2. */
static void post(unsigned int i, uint64_t sector, bool is_write)
{
	struct virtio_blk_outhdr *h = (struct virtio_blk_outhdr *)(mem + HDRS + i * 32);
	uint16_t d = (uint16_t)(i * 3);

	*h = (struct virtio_blk_outhdr){ .type = is_write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, .sector = sector };
	mem[HDRS + i * 32 + 16] = 0xee;
	desc[d] = (struct vring_desc){ .addr = HDRS + i * 32, .len = sizeof(*h), .flags = VRING_DESC_F_NEXT,
				       .next = (uint16_t)(d + 1) };
	desc[d + 1] = (struct vring_desc){ .addr = DATA + (uint64_t)i * IO, .len = IO,
					   .flags = (uint16_t)(VRING_DESC_F_NEXT | (is_write ? 0 : VRING_DESC_F_WRITE)),
					   .next = (uint16_t)(d + 2) };
	desc[d + 2] = (struct vring_desc){ .addr = HDRS + i * 32 + 16, .len = 1, .flags = VRING_DESC_F_WRITE };
	avail->ring[avail_idx % QSZ] = d;
	avail_idx++;
	__atomic_store_n(&avail->idx, avail_idx, __ATOMIC_RELEASE);
	if (!(__atomic_load_n(&used->flags, __ATOMIC_ACQUIRE) & VRING_USED_F_NO_NOTIFY)) {
		uint64_t one = 1;

		if (write(kick, &one, sizeof(one)) < 0 && errno != EAGAIN)
			fail("kick", errno);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct iov_vhost_front *front;
	struct iov_vhost_region r;
	double secs, t_end, t_measure, posted[MAX_DEPTH], *lat, sum = 0;
	uint64_t capacity = 0, seed = 0x9e3779b97f4a7c15, done = 0;
	unsigned int depth, n_lat = 0;
	bool writes;
	int memfd, err, call;

	if (argc < 4 || (argc > 4 && strcmp(argv[4], "read") && strcmp(argv[4], "write")) ||
	    (secs = atof(argv[2])) <= 0 || (depth = (unsigned int)atoi(argv[3])) < 1 || depth > MAX_DEPTH) {
		fprintf(stderr, "usage: blk-bench SOCK SECONDS DEPTH(1-%d) [read|write]\n", MAX_DEPTH);
		return 2;
	}
	writes = argc > 4 && !strcmp(argv[4], "write");
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	memfd = memfd_create("blk-bench", MFD_CLOEXEC);
	if (!lat || memfd < 0 || ftruncate(memfd, MEM_SIZE) < 0)
		fail("memory", errno);
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED)
		fail("mmap", errno);
	memset(mem + DATA, 0x5a, (size_t)MAX_DEPTH * IO);
	desc = (struct vring_desc *)(mem + RING);
	avail = (struct vring_avail *)(mem + RING + 0x1000);
	used = (struct vring_used *)(mem + RING + 0x2000);
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;   /* the driver polls: no backend need signal */
	r = (struct iov_vhost_region){ .guest_phys_addr = 0, .size = MEM_SIZE, .host_addr = mem, .fd = memfd };
	if ((err = iov_vhost_front_connect(argv[1], &front)) < 0)
		fail(argv[1], err);
	if ((err = iov_vhost_front_set_features(front, 1ULL << VIRTIO_F_VERSION_1)) < 0 ||
	    (err = iov_vhost_front_set_mem_table(front, &r, 1)) < 0 ||
	    (err = iov_vhost_front_get_config(front, 0, &capacity, sizeof(capacity))) < 0)
		fail("setting the device up", err);
	if (capacity < 2 * IO / 512)
		fail("the disk is too small", EINVAL);
	{
		struct iov_vhost_vring v = { .num = QSZ, .desc_gpa = RING, .avail_gpa = RING + 0x1000,
					     .used_gpa = RING + 0x2000, .kick_fd = kick, .call_fd = call };

		if ((err = iov_vhost_front_vring_start(front, 0, &v)) < 0)
			fail("starting the request queue", err);
	}

	t_measure = now() + 1;
	t_end = t_measure + secs;
	for (unsigned int i = 0; i < depth; i++) {
		posted[i] = now();
		post(i, next_random(&seed) % (capacity / 8) * 8, writes);
	}
	for (double t = now(); t < t_end; t = now()) {
		while (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) != last_used) {
			struct vring_used_elem e = used->ring[last_used % QSZ];
			unsigned int i = e.id / 3;

			last_used++;
			if (e.id % 3 || i >= depth)
				fail("the backend used a descriptor that is no request's head", EPROTO);
			if (mem[HDRS + i * 32 + 16] != VIRTIO_BLK_S_OK)
				fail("a request failed", EIO);
			t = now();
			if (posted[i] >= t_measure && t < t_end) {
				done++;
				if (n_lat < MAX_SAMPLES)
					lat[n_lat++] = t - posted[i];
				sum += t - posted[i];
			}
			posted[i] = t;
			post(i, next_random(&seed) % (capacity / 8) * 8, writes);
		}
	}
	if (!done)
		fail("no request completed", ETIMEDOUT);
	qsort(lat, n_lat, sizeof(*lat), cmp_double);
	printf("iops %.0f mean_us %.1f p99_us %.1f\n", (double)done / secs, sum / (double)done * 1e6,
	       lat[(size_t)(n_lat * 0.99)] * 1e6);
	iov_vhost_front_free(front);
	return 0;
}
