/* SPDX-License-Identifier: MIT */
/*
 * What the vhost-user backends' fuzz targets share: a guest's memory as a backend sees it, one
 * region of GUEST bytes at guest-physical 0x100000 (so a zero address is outside it), exactly
 * as big as its allocation, so that ASan sees any access past it; filled from the input after
 * its first byte, zeros after that.
 */
#ifndef IOVKIT_FUZZ_VHOST_GUEST_H
#define IOVKIT_FUZZ_VHOST_GUEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_vhost.h>

#define GUEST (64u << 10)

/* The guest's memory, made on the first call, and its memory table in *@mem. */
static uint8_t *fuzz_guest(const uint8_t *data, size_t size, struct rte_vhost_memory **mem)
{
	static uint8_t *guest;
	static struct rte_vhost_memory *table;

	if (!guest) {
		guest = aligned_alloc(4096, GUEST);
		table = calloc(1, sizeof(*table) + sizeof(table->regions[0]));
		if (!guest || !table)
			abort();
		table->nregions = 1;
		table->regions[0] = (struct rte_vhost_mem_region){ .guest_phys_addr = 0x100000,
								   .host_user_addr = (uint64_t)(uintptr_t)guest,
								   .size = GUEST };
	}
	memset(guest, 0, GUEST);
	memcpy(guest, data + 1, size - 1 < GUEST ? size - 1 : GUEST);
	*mem = table;
	return guest;
}

#endif
