/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the virtio-blk backend's request processing (vhost-user/blk.c) on guest
 * memory the input fills — descriptor table, available ring and buffers, all the guest's to
 * write. Every request must complete inside guest memory: no read or write outside it, no
 * loop, and the used ring advanced exactly once per available entry. The input's first byte
 * chooses read-only (bit 0) and a packed ring (bit 1): then the descriptors' flags say what is
 * available, and the device must stop, having written a used descriptor where each list began
 * and ending where it started reading, wrap counters equal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../../vhost-user/blk.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUEST (64u << 10)
#define QSIZE 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *guest;
	static int image = -1;
	static struct rte_vhost_memory *mem;
	struct iov_vhost_blk b = { .vid = -1, .stop_fd = -1 };
	uint16_t n_avail;

	if (!guest) {
		guest = aligned_alloc(4096, GUEST);
		image = memfd_create("blk-fuzz", MFD_CLOEXEC);
		if (!guest || image < 0 || ftruncate(image, 1 << 20) < 0)
			abort();
		mem = calloc(1, sizeof(*mem) + sizeof(mem->regions[0]));
		mem->nregions = 1;
		/* Guest-physical 0x100000, so a zero address is outside guest memory. */
		mem->regions[0] = (struct rte_vhost_mem_region){ .guest_phys_addr = 0x100000,
								 .host_user_addr = (uint64_t)(uintptr_t)guest,
								 .size = GUEST };
	}
	if (size < 2)
		return 0;
	memset(guest, 0, GUEST);
	memcpy(guest, data + 1, size - 1 < GUEST ? size - 1 : GUEST);
	b.image = image;
	b.sectors = (1 << 20) / SECTOR;
	b.readonly = data[0] & 1;
	b.mem = mem;
	b.queues = b.n_q = 1;
	if (data[0] & 2) {
		/* The whole 64-entry ring from the input; both wrap counters start at 1. */
		b.packed = true;
		b.q[0] = (struct blk_queue){ .vring = { .desc_packed = (struct vring_packed_desc *)guest,
							.driver_event = (struct vring_packed_desc_event *)(guest + 16 * QSIZE),
							.size = QSIZE },
					     .avail_wrap = true, .used_wrap = true };
		process(&b, 0);
		if (b.q[0].last_avail != b.q[0].last_used || b.q[0].avail_wrap != b.q[0].used_wrap ||
		    packed_avail(b.q[0].vring.desc_packed[b.q[0].last_avail].flags, b.q[0].avail_wrap))
			abort();
		return 0;
	}
	b.q[0].vring = (struct rte_vhost_vring){ .desc = (struct vring_desc *)guest,
						 .avail = (struct vring_avail *)(guest + 16 * QSIZE),
						 .used = (struct vring_used *)(guest + 16 * QSIZE + 4096),
						 .size = QSIZE };
	/* At most 64 requests per input, to keep each run short. */
	n_avail = b.q[0].vring.avail->idx % 65;
	b.q[0].vring.avail->idx = n_avail;
	b.q[0].vring.used->idx = 0;
	process(&b, 0);
	if (b.q[0].last_avail != n_avail || b.q[0].vring.used->idx != n_avail)
		abort();
	return 0;
}
