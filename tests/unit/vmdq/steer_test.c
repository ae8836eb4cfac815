/* SPDX-License-Identifier: MIT */
/* Software VMDq steering: the hardware's semantics for unicast, broadcast, multicast, VLANs
 * and the default pool; bad filters refused; the MAC table against a model under churn. */
#include <stdlib.h>

#include "../helpers/unit.h"
#include "iovkit/vmdq.h"

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a }, mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b },
		     mac_c[6] = { 0x02, 0, 0, 0, 0, 0x0c };

/* A frame to @dst, tagged with @vlan (-1: untagged; tpid 0x8100, or 0x88a8 when @qinq). */
static size_t frame(uint8_t *f, const uint8_t dst[6], int vlan, bool qinq)
{
	size_t n = 12;

	memset(f, 0, 64);
	memcpy(f, dst, 6);
	memcpy(f + 6, mac_c, 6);
	if (vlan >= 0) {
		f[n++] = qinq ? 0x88 : 0x81;
		f[n++] = qinq ? 0xa8 : 0x00;
		f[n++] = (uint8_t)(0x20 | vlan >> 8);   /* priority 1: must not matter */
		f[n++] = (uint8_t)vlan;
	}
	f[n++] = 0x08;
	f[n++] = 0x00;
	return 60;
}

static uint64_t steer(struct iov_vmdq_steer *s, const uint8_t dst[6], int vlan)
{
	uint8_t f[64];
	uint64_t pools = ~0ull;
	uint16_t vid = 0xffff;

	ASSERT_OK(iov_vmdq_classify(s, f, frame(f, dst, vlan, false), &pools, &vid));
	ASSERT_INT_EQ(vid, vlan < 0 ? 0 : vlan);
	return pools;
}

static void test_semantics(void)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	struct iov_vmdq_steer *s = NULL;
	uint8_t f[64];
	uint64_t pools;

	ASSERT_OK(iov_vmdq_steer_new(4, &s));
	if (!s)
		return;
	/* Pools 0 and 1 untagged, pool 2 on VLAN 100, pool 3 on both; each its own MAC. */
	ASSERT_OK(iov_vmdq_pool_vlan(s, 0, 0, true));
	ASSERT_OK(iov_vmdq_pool_vlan(s, 1, 0, true));
	ASSERT_OK(iov_vmdq_pool_vlan(s, 2, 100, true));
	ASSERT_OK(iov_vmdq_pool_vlan(s, 3, 0, true));
	ASSERT_OK(iov_vmdq_pool_vlan(s, 3, 100, true));
	ASSERT_OK(iov_vmdq_pool_mac(s, 0, mac_a, true));
	ASSERT_OK(iov_vmdq_pool_mac(s, 2, mac_b, true));
	ASSERT_OK(iov_vmdq_pool_mac(s, 3, mac_b, true));   /* one MAC, two pools */
	ASSERT_OK(iov_vmdq_pool_flags(s, 0, IOV_VMDQ_ACCEPT_BROADCAST));
	ASSERT_OK(iov_vmdq_pool_flags(s, 2, IOV_VMDQ_ACCEPT_BROADCAST | IOV_VMDQ_ACCEPT_MULTICAST));
	ASSERT_OK(iov_vmdq_pool_flags(s, 3, IOV_VMDQ_ACCEPT_BROADCAST));

	ASSERT_INT_EQ(steer(s, mac_a, -1), 0x1);          /* unicast to its pool */
	ASSERT_INT_EQ(steer(s, mac_a, 100), 0x0);         /* pool 0 is not on VLAN 100 */
	ASSERT_INT_EQ(steer(s, mac_b, 100), 0xc);         /* both pools of mac_b on VLAN 100 */
	ASSERT_INT_EQ(steer(s, mac_b, -1), 0x8);          /* only pool 3 takes it untagged */
	ASSERT_INT_EQ(steer(s, mac_c, -1), 0x0);          /* nobody's, no default: dropped */
	ASSERT_INT_EQ(steer(s, bcast, -1), 0x9);          /* broadcast: members that accept it */
	ASSERT_INT_EQ(steer(s, bcast, 100), 0xc);
	ASSERT_INT_EQ(steer(s, bcast, 7), 0x0);           /* a VLAN with no members */
	ASSERT_INT_EQ(steer(s, mcast, 100), 0x4);         /* all-multicast only on pool 2 */
	ASSERT_INT_EQ(steer(s, mcast, -1), 0x0);

	/* The default pool takes unclaimed unicast, but only where it is a member. */
	ASSERT_OK(iov_vmdq_default_pool(s, 1));
	ASSERT_INT_EQ(steer(s, mac_c, -1), 0x2);
	ASSERT_INT_EQ(steer(s, mac_c, 100), 0x0);
	ASSERT_INT_EQ(steer(s, mac_a, 100), 0x0);         /* claimed by a pool not on the VLAN */
	ASSERT_OK(iov_vmdq_default_pool(s, -1));
	ASSERT_INT_EQ(steer(s, mac_c, -1), 0x0);

	/* 802.1ad outer tag: its VLAN counts. VID 4095 is reserved: nobody. */
	ASSERT_OK(iov_vmdq_classify(s, f, frame(f, mac_b, 100, true), &pools, NULL));
	ASSERT_INT_EQ(pools, 0xc);
	ASSERT_OK(iov_vmdq_classify(s, f, frame(f, bcast, 4095, false), &pools, NULL));
	ASSERT_INT_EQ(pools, 0x0);
	/* Removing filters. */
	ASSERT_OK(iov_vmdq_pool_mac(s, 2, mac_b, false));
	ASSERT_INT_EQ(steer(s, mac_b, 100), 0x8);
	ASSERT_OK(iov_vmdq_pool_vlan(s, 3, 100, false));
	ASSERT_INT_EQ(steer(s, mac_b, 100), 0x0);
	ASSERT_INT_EQ(steer(s, bcast, 100), 0x4);
	iov_vmdq_steer_free(s);
}

static void test_bad_input(void)
{
	static const uint8_t mc[6] = { 0x01, 0, 0, 0, 0, 1 }, zero[6];
	struct iov_vmdq_steer *s = NULL;
	uint8_t f[64];
	uint64_t pools = 0x5a;

	ASSERT_ERR(iov_vmdq_steer_new(0, &s), EINVAL);
	ASSERT_ERR(iov_vmdq_steer_new(65, &s), EINVAL);
	ASSERT_OK(iov_vmdq_steer_new(64, &s));
	if (!s)
		return;
	ASSERT_ERR(iov_vmdq_pool_vlan(s, 64, 0, true), EINVAL);
	ASSERT_ERR(iov_vmdq_pool_vlan(s, 0, 4095, true), EINVAL);
	ASSERT_ERR(iov_vmdq_pool_mac(s, 64, mac_a, true), EINVAL);
	ASSERT_ERR(iov_vmdq_pool_mac(s, 0, mc, true), EINVAL);
	ASSERT_ERR(iov_vmdq_pool_mac(s, 0, zero, true), EINVAL);
	ASSERT_ERR(iov_vmdq_pool_mac(s, 0, mac_a, false), ENOENT);
	ASSERT_ERR(iov_vmdq_pool_flags(s, 0, 1u << 7), EINVAL);
	ASSERT_ERR(iov_vmdq_default_pool(s, 64), EINVAL);
	ASSERT_ERR(iov_vmdq_default_pool(s, -2), EINVAL);
	/* Pool 63 works: the top bit of the mask. */
	ASSERT_OK(iov_vmdq_pool_vlan(s, 63, 0, true));
	ASSERT_OK(iov_vmdq_pool_mac(s, 63, mac_a, true));
	ASSERT_INT_EQ(steer(s, mac_a, -1), 1ull << 63);
	/* Runt frames are refused and leave the output alone. */
	frame(f, mac_a, 5, false);
	ASSERT_ERR(iov_vmdq_classify(s, f, 13, &pools, NULL), EINVAL);
	ASSERT_ERR(iov_vmdq_classify(s, f, 17, &pools, NULL), EINVAL);   /* a tag cut short */
	ASSERT_INT_EQ(pools, 0x5a);
	iov_vmdq_steer_free(s);
}

/* Thousands of adds and removes against a plain array: deletion must keep every probe run whole. */
static void test_mac_table_churn(void)
{
	enum { N = 6000 };
	static uint64_t model[N];   /* pool mask per MAC index */
	static uint8_t macs[N][6];  /* random, so they collide in the hash table as real ones do */
	struct iov_vmdq_steer *s = NULL;
	unsigned int seed = 12345, live = 0, full = 0;
	bool ok = true;

	ASSERT_OK(iov_vmdq_steer_new(64, &s));
	if (!s)
		return;
	for (unsigned int m = 0; m < N; m++) {
		for (int k = 0; k < 6; k++)
			macs[m][k] = (uint8_t)rand_r(&seed);
		macs[m][0] = (uint8_t)((macs[m][0] & 0xfc) | 0x02);   /* locally administered unicast */
		macs[m][5] = (uint8_t)m;                              /* and distinct */
		macs[m][4] = (uint8_t)(m >> 8);
	}
	for (unsigned int i = 0; i < N; i++)
		iov_vmdq_pool_vlan(s, i % 64, 0, true);
	for (int round = 0; round < 200000; round++) {
		unsigned int m = (unsigned int)rand_r(&seed) % N, pool = (unsigned int)rand_r(&seed) % 2;   /* so masks empty often: slots are freed */
		bool on = rand_r(&seed) % 2;
		int r = iov_vmdq_pool_mac(s, pool, macs[m], on);
		uint64_t bit = 1ull << pool;

		if (on && !model[m] && live == 4096) {
			ok &= r == -ENOSPC;
			full++;
			continue;
		}
		if (!on && !(model[m] & bit)) {
			ok &= r == -ENOENT;
			continue;
		}
		ok &= r == 0;
		live += on && !model[m];
		model[m] = on ? model[m] | bit : model[m] & ~bit;
		live -= !on && !model[m];
	}
	ASSERT_TRUE(ok);
	ASSERT_TRUE(full > 0);   /* the run reached the table's limit */
	for (unsigned int m = 0; m < N; m++) {
		uint8_t f[64];
		uint64_t pools;

		iov_vmdq_classify(s, f, frame(f, macs[m], -1, false), &pools, NULL);
		if (pools != model[m]) {
			ASSERT_INT_EQ(pools, model[m]);
			break;
		}
	}
	iov_vmdq_steer_free(s);
}

UNIT_MAIN("vmdq/steer",
	  UNIT_TEST(test_semantics),
	  UNIT_TEST(test_bad_input),
	  UNIT_TEST(test_mac_table_churn))
