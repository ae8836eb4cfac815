/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the split virtqueue iovm serves itself (vmm/vq.c, virtio-net's control
 * queue) on guest RAM the input fills — descriptor table, indirect tables, available ring,
 * all the guest's to write. Every chain must be popped without reading or writing outside
 * RAM, each consumed exactly once, its writable buffer inside RAM.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM (16u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	/* The available ring first, so that short inputs reach it; then the used ring, the table. */
	struct virtio_queue q = { .size = 64, .enabled = true, .driver = 0, .device = 0x100, .desc = 0x300 };
	struct vq_chain c;
	uint16_t last = 0, avail_idx;
	unsigned int popped = 0;
	int r;

	if (!ram)
		ram = malloc(RAM);
	if (!ram || size < 1)
		return 0;
	memset(ram, 0, RAM);
	memcpy(ram, data, size < RAM ? size : RAM);
	/* At most 64 chains per input; the ring's size from the first byte (1 to 64). */
	q.size = (uint16_t)(data[0] % 64 + 1);
	memcpy(&avail_idx, ram + q.driver + 2, 2);
	avail_idx %= 65;
	memcpy(ram + q.driver + 2, &avail_idx, 2);
	while ((r = vq_pop(ram, RAM, &q, &last, &c)) != 0) {
		if (r == -EFAULT)
			abort();        /* the rings are inside RAM here */
		if (r == 1 && c.in && (c.in < ram || c.in + c.in_len > ram + RAM))
			abort();
		if (c.out_len > sizeof(c.out))
			abort();
		if (vq_push(ram, RAM, &q, c.head, 0) < 0)
			abort();
		popped++;
	}
	if (popped != avail_idx || last != avail_idx)
		abort();
	return 0;
}
