/* SPDX-License-Identifier: MIT */
/*
 * Software VMDq steering (include/iovkit/vmdq.h): a VLAN membership array and a MAC hash table
 * with open addressing and linear probing, both mapping to pool masks, so a frame costs two
 * array lookups and at most a short probe.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iovkit/vmdq.h"
#include "iovkit-internal/macro.h"

#define MAC_MAX 4096
#define MAC_SLOTS (2 * MAC_MAX)         /* a power of two; load stays at most 1/2 */
#define SLOT_USED (UINT64_C(1) << 48)   /* key = MAC in the low 48 bits | SLOT_USED */

struct mac_slot {
	uint64_t key;       /* 0: empty */
	uint64_t pools;
};

struct iov_vmdq_steer {
	unsigned int n_pools;
	int default_pool;
	unsigned int n_macs;
	uint64_t bcast, mcast;                          /* pools accepting each */
	uint64_t vlan[IOV_VMDQ_MAX_VLAN + 1];           /* members of each VLAN; [0] untagged */
	struct mac_slot macs[MAC_SLOTS];
};

static uint64_t mac_key(const uint8_t m[6])
{
	return SLOT_USED | (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 | (uint64_t)m[3] << 16 |
	       (uint64_t)m[4] << 8 | m[5];
}

static size_t mac_home(uint64_t key)
{
	/* Fibonacci hashing: the top bits of key * 2^64/phi. */
	return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - 13)) & (MAC_SLOTS - 1);
}

/* The slot holding @key, or the empty slot where it would go. */
static size_t mac_find(const struct iov_vmdq_steer *s, uint64_t key)
{
	size_t i = mac_home(key);

	while (s->macs[i].key && s->macs[i].key != key)
		i = (i + 1) & (MAC_SLOTS - 1);
	return i;
}

/* Empties slot @i, moving later entries of the probe run back so lookups still find them. */
static void mac_remove_slot(struct iov_vmdq_steer *s, size_t i)
{
	size_t j = i;

	for (;;) {
		j = (j + 1) & (MAC_SLOTS - 1);
		if (!s->macs[j].key)
			break;
		size_t home = mac_home(s->macs[j].key);
		/* Entry j may fill the hole at i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			s->macs[i] = s->macs[j];
			i = j;
		}
	}
	s->macs[i] = (struct mac_slot){ 0 };
}

IOV_EXPORT int iov_vmdq_steer_new(unsigned int n_pools, struct iov_vmdq_steer **ret)
{
	struct iov_vmdq_steer *s;

	if (n_pools < 1 || n_pools > IOV_VMDQ_MAX_POOLS)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->n_pools = n_pools;
	s->default_pool = -1;
	*ret = s;
	return 0;
}

IOV_EXPORT void iov_vmdq_steer_free(struct iov_vmdq_steer *s)
{
	free(s);
}

IOV_EXPORT int iov_vmdq_pool_vlan(struct iov_vmdq_steer *s, unsigned int pool, uint16_t vlan, bool on)
{
	if (pool >= s->n_pools || vlan > IOV_VMDQ_MAX_VLAN)
		return -EINVAL;
	if (on)
		s->vlan[vlan] |= UINT64_C(1) << pool;
	else
		s->vlan[vlan] &= ~(UINT64_C(1) << pool);
	return 0;
}

IOV_EXPORT int iov_vmdq_pool_mac(struct iov_vmdq_steer *s, unsigned int pool, const uint8_t mac[6], bool on)
{
	static const uint8_t zero[6];
	uint64_t key, bit;
	size_t i;

	if (pool >= s->n_pools || (mac[0] & 1) || !memcmp(mac, zero, 6))
		return -EINVAL;
	bit = UINT64_C(1) << pool;
	key = mac_key(mac);
	i = mac_find(s, key);
	if (on) {
		if (!s->macs[i].key) {
			if (s->n_macs == MAC_MAX)
				return -ENOSPC;
			s->macs[i].key = key;
			s->n_macs++;
		}
		s->macs[i].pools |= bit;
		return 0;
	}
	if (!s->macs[i].key || !(s->macs[i].pools & bit))
		return -ENOENT;
	s->macs[i].pools &= ~bit;
	if (!s->macs[i].pools) {
		mac_remove_slot(s, i);
		s->n_macs--;
	}
	return 0;
}

IOV_EXPORT int iov_vmdq_pool_flags(struct iov_vmdq_steer *s, unsigned int pool, unsigned int flags)
{
	uint64_t bit;

	if (pool >= s->n_pools || (flags & ~(unsigned int)(IOV_VMDQ_ACCEPT_BROADCAST | IOV_VMDQ_ACCEPT_MULTICAST)))
		return -EINVAL;
	bit = UINT64_C(1) << pool;
	s->bcast = (s->bcast & ~bit) | (flags & IOV_VMDQ_ACCEPT_BROADCAST ? bit : 0);
	s->mcast = (s->mcast & ~bit) | (flags & IOV_VMDQ_ACCEPT_MULTICAST ? bit : 0);
	return 0;
}

IOV_EXPORT int iov_vmdq_default_pool(struct iov_vmdq_steer *s, int pool)
{
	if (pool < -1 || pool >= (int)s->n_pools)
		return -EINVAL;
	s->default_pool = pool;
	return 0;
}

IOV_EXPORT int iov_vmdq_classify(const struct iov_vmdq_steer *s, const void *frame, size_t len, uint64_t *pools, uint16_t *vlan)
{
	const uint8_t *f = frame;
	uint16_t type, vid = 0;
	uint64_t members, out;

	if (len < 14)
		return -EINVAL;
	type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == 0x8100 || type == 0x88a8) {
		if (len < 18)
			return -EINVAL;
		vid = (uint16_t)((f[14] << 8 | f[15]) & 0x0fff);
	}
	members = vid <= IOV_VMDQ_MAX_VLAN ? s->vlan[vid] : 0;   /* VID 4095 is reserved */
	if (!(f[0] & 1)) {
		const struct mac_slot *m = &s->macs[mac_find(s, mac_key(f))];

		out = m->pools & members;
		if (!out && s->default_pool >= 0)
			out = members & (UINT64_C(1) << s->default_pool);
	} else if (!memcmp(f, "\xff\xff\xff\xff\xff\xff", 6)) {
		out = members & s->bcast;
	} else {
		out = members & s->mcast;
	}
	*pools = out;
	if (vlan)
		*vlan = vid;
	return 0;
}
