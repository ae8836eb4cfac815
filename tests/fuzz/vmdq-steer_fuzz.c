/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: software VMDq steering. The first bytes of the input program the table
 * (MAC filters, VLAN memberships, flags, the default pool), the rest is a received frame; the
 * classifier must never read past the frame, and a result must name only pools that exist.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iovkit/vmdq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iov_vmdq_steer *s;
	unsigned int n_pools, ops;
	uint64_t pools;
	uint8_t *frame;

	if (size < 2 || iov_vmdq_steer_new(n_pools = (data[0] % 64) + 1, &s) < 0)
		return 0;
	ops = data[1] % 16;
	data += 2;
	size -= 2;
	/* Each op: 10 bytes = kind, pool, VLAN (2), MAC (6); the last byte also gives flags or on/off. */
	for (; ops && size >= 10; ops--, data += 10, size -= 10) {
		uint16_t vlan = (uint16_t)(data[2] << 8 | data[3]);

		switch (data[0] % 5) {
		case 0: iov_vmdq_pool_mac(s, data[1], data + 4, true); break;
		case 1: iov_vmdq_pool_mac(s, data[1], data + 4, false); break;
		case 2: iov_vmdq_pool_vlan(s, data[1], vlan, data[9] & 1); break;
		case 3: iov_vmdq_pool_flags(s, data[1], data[9]); break;
		default: iov_vmdq_default_pool(s, (int8_t)data[1]); break;
		}
	}
	/* The frame in a buffer of its own size, so ASan catches any read past it. */
	frame = malloc(size ? size : 1);
	if (frame) {
		memcpy(frame, data, size);
		if (iov_vmdq_classify(s, frame, size, &pools, NULL) == 0 && n_pools < 64 && (pools >> n_pools))
			abort();
		free(frame);
	}
	iov_vmdq_steer_free(s);
	return 0;
}
