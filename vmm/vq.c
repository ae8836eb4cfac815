/* SPDX-License-Identifier: MIT */
/*
 * A split virtqueue (virtio 1.2 §2.7) that iovm serves itself rather than a vhost-user
 * backend: virtio-net's control queue. The guest writes the rings and the descriptors, so
 * every address is checked against guest RAM, a chain is bounded by the ring's size (no
 * loops), and what the device reads is copied out before it is looked at. A chain may be one
 * indirect descriptor (VIRTIO_F_INDIRECT_DESC, §2.7.5.3: Linux uses one for every command of
 * more than one buffer), whose table is walked the same way, bounded by its own size.
 */
#include <errno.h>
#include <string.h>

#include "vmm-internal.h"

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define DESC_F_INDIRECT 4

/* @len bytes at guest-physical @gpa, or NULL when they are not all RAM. */
static void *ram_at(uint8_t *ram, uint64_t ram_size, uint64_t gpa, uint64_t len)
{
	return gpa <= ram_size && len <= ram_size - gpa ? ram + gpa : NULL;
}

int vq_pop(uint8_t *ram, uint64_t ram_size, const struct virtio_queue *q, uint16_t *last_avail, struct vq_chain *c)
{
	const volatile uint16_t *avail = ram_at(ram, ram_size, q->driver, 4 + 2ULL * q->size);
	const uint8_t *descs = ram_at(ram, ram_size, q->desc, 16ULL * q->size);
	uint32_t i, count = q->size;    /* the table walked now, and its size */
	unsigned int n = 0;
	bool indirect = false;

	if (!avail || !descs || !q->size)
		return -EFAULT;
	if (__atomic_load_n(&avail[1], __ATOMIC_ACQUIRE) == *last_avail)
		return 0;
	c->head = avail[2 + *last_avail % q->size];
	(*last_avail)++;
	c->out_len = 0;
	c->in = NULL;
	c->in_len = 0;
	for (i = c->head;; n++) {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
		void *p;

		if (i >= count || n == count)
			return -EINVAL;         /* a bad index, or a loop */
		memcpy(&addr, descs + 16 * i, 8);
		memcpy(&len, descs + 16 * i + 8, 4);
		memcpy(&flags, descs + 16 * i + 12, 2);
		memcpy(&next, descs + 16 * i + 14, 2);
		p = ram_at(ram, ram_size, addr, len);
		if (!p)
			return -EINVAL;
		if (flags & DESC_F_INDIRECT) {
			/* The whole chain, alone in the ring: no nesting, no NEXT, whole descriptors. */
			if (indirect || n || (flags & DESC_F_NEXT) || !len || len % 16)
				return -EINVAL;
			indirect = true;
			descs = p;
			count = len / 16;
			i = 0;
			n = (unsigned int)-1;   /* the loop's n++ starts the table at 0 */
			continue;
		}
		if (flags & DESC_F_WRITE) {
			if (c->in)
				return -EINVAL;  /* one device-writable buffer, last */
			c->in = p;
			c->in_len = len;
		} else {
			size_t take = len < sizeof(c->out) - c->out_len ? len : sizeof(c->out) - c->out_len;

			if (c->in)
				return -EINVAL;  /* readable after writable */
			memcpy(c->out + c->out_len, p, take);
			c->out_len += take;
		}
		if (!(flags & DESC_F_NEXT))
			return 1;
		i = next;
	}
}

int vq_push(uint8_t *ram, uint64_t ram_size, const struct virtio_queue *q, uint16_t id, uint32_t len)
{
	volatile uint16_t *used = ram_at(ram, ram_size, q->device, 4 + 8ULL * q->size);
	uint16_t idx;
	uint8_t *e;

	if (!used || !q->size)
		return -EFAULT;
	idx = used[1];
	e = (uint8_t *)(used + 2) + 8 * (idx % q->size);
	memcpy(e, &(uint32_t){ id }, 4);
	memcpy(e + 4, &len, 4);
	__atomic_store_n(&used[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
	return 0;
}

int vq_kick_at(uint8_t *ram, uint64_t ram_size, const struct virtio_queue *q, uint16_t last_avail)
{
	volatile uint16_t *used = ram_at(ram, ram_size, q->device, 6 + 8ULL * q->size);
	const volatile uint16_t *avail = ram_at(ram, ram_size, q->driver, 4 + 2ULL * q->size);

	if (!used || !avail || !q->size)
		return -EFAULT;
	/* flags, idx, ring[size] of 8 bytes, then avail_event. */
	__atomic_store_n(&used[2 + 4 * (size_t)q->size], last_avail, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);        /* published before the index is read again */
	return __atomic_load_n(&avail[1], __ATOMIC_ACQUIRE) != last_avail;
}
