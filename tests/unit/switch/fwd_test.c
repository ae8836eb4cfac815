/* SPDX-License-Identifier: MIT */
/*
 * iovswitch's forwarding decisions with fake ports (a transport ops table over arrays) and
 * real mbufs from DPDK's EAL without hugepages: learning, flooding, VLAN access and trunk ports
 * with tag insertion and removal, cross-connects, VMDq pools, the drop reasons, and that every
 * mbuf comes back to the pool.
 */
#include <stdlib.h>

#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "../helpers/unit.h"
#include "iovkit/vmdq.h"
#include "../../../switch/switch-internal.h"

#define NPORTS 4
#define OUT_MAX 64

static struct sw sw;
static struct rte_mempool *mp;

/* What each fake port transmitted, and how many it will still take (-1: any). */
static struct rte_mbuf *out[NPORTS][OUT_MAX];
static unsigned int n_out[NPORTS];
static int tx_room[NPORTS];

static uint16_t fake_rx(struct sw_port *p, struct rte_mempool *pool, struct rte_mbuf **pkts, uint16_t n)
{
	return 0;
}

static uint16_t fake_tx(struct sw_port *p, struct rte_mbuf **pkts, uint16_t n)
{
	int i = (int)(p - sw.ports);
	uint16_t k = 0;

	while (k < n && n_out[i] < OUT_MAX && (tx_room[i] < 0 || tx_room[i] > 0)) {
		out[i][n_out[i]++] = pkts[k++];
		if (tx_room[i] > 0)
			tx_room[i]--;
	}
	return k;
}

static const struct sw_port_ops fake_ops = { "fake", fake_rx, fake_tx, true };

static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0, 0xa }, mac_b[6] = { 2, 0, 0, 0, 0, 0xb },
		     mac_x[6] = { 2, 0, 0, 0, 0, 0x42 }, bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Ports 0..NPORTS-1, all trunks with MTU 1500, nothing learned, nothing sent. */
static void setup(void)
{
	for (int i = 0; i < SW_MAX_PORTS; i++) {
		iov_vmdq_steer_free(sw.ports[i].steer);
		sw.ports[i] = (struct sw_port){ .xconnect = -1, .pool_of = -1 };
	}
	memset(sw.fdb, 0, sizeof(sw.fdb));
	for (int i = 0; i < NPORTS; i++) {
		struct sw_port *p = &sw.ports[i];
		p->used = true;
		p->ops = &fake_ops;
		p->mtu = 1500;
		for (size_t k = 0; k < RTE_DIM(p->pool_port); k++)
			p->pool_port[k] = -1;
		snprintf(p->name, sizeof(p->name), "p%d", i);
		n_out[i] = 0;
		tx_room[i] = -1;
	}
	sw_ports_changed(&sw);
	sw.now = 1000;
}

/* Frees what the fake ports sent; every mbuf must be back in the pool. */
static void teardown(void)
{
	for (int i = 0; i < NPORTS; i++) {
		rte_pktmbuf_free_bulk(out[i], n_out[i]);
		n_out[i] = 0;
	}
	ASSERT_INT_EQ(rte_mempool_avail_count(mp), mp->size);
}

/* A frame from @src to @dst, tagged @vlan (-1: untagged) with @tpid, @len bytes. */
static struct rte_mbuf *frame(const uint8_t dst[6], const uint8_t src[6], int vlan, uint16_t tpid, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *d;
	size_t n = 12;

	if (!m)
		return NULL;
	d = (uint8_t *)rte_pktmbuf_append(m, len);
	memset(d, 0x5a, len);
	if (len >= 12) {
		memcpy(d, dst, 6);
		memcpy(d + 6, src, 6);
	}
	if (vlan >= 0 && len >= 18) {
		d[n++] = (uint8_t)(tpid >> 8);
		d[n++] = (uint8_t)tpid;
		d[n++] = (uint8_t)(vlan >> 8);
		d[n++] = (uint8_t)vlan;
	}
	if (len >= n + 2) {
		d[n] = 0x08;
		d[n + 1] = 0x00;
	}
	return m;
}

static void send1(int port, struct rte_mbuf *m)
{
	fwd_frames(&sw, port, &m, 1);
	fwd_flush(&sw);
}

/* The VLAN of what port @i sent as its @k-th frame: -1 untagged. */
static int out_vlan(int i, unsigned int k)
{
	const uint8_t *d = rte_pktmbuf_mtod(out[i][k], const uint8_t *);

	if ((d[12] == 0x81 && d[13] == 0x00) || (d[12] == 0x88 && d[13] == 0xa8))
		return (d[14] << 8 | d[15]) & 0xfff;
	return -1;
}

static void test_learning_and_flooding(void)
{
	setup();
	/* A (on 0) to B, unknown: flooded to 1, 2, 3 (copies), not back to 0. */
	send1(0, frame(mac_b, mac_a, -1, 0, 60));
	ASSERT_INT_EQ(n_out[0], 0);
	ASSERT_INT_EQ(n_out[1], 1);
	ASSERT_INT_EQ(n_out[2], 1);
	ASSERT_INT_EQ(n_out[3], 1);
	ASSERT_INT_EQ(sw.ports[0].stats.flooded, 1);
	ASSERT_INT_EQ(fdb_lookup(&sw, 0, mac_a), 0);
	/* B answers from 1: A is known, so only 0 gets it; B is learned. */
	send1(1, frame(mac_a, mac_b, -1, 0, 60));
	ASSERT_INT_EQ(n_out[0], 1);
	ASSERT_INT_EQ(n_out[2] + n_out[3], 2);
	/* Now A to B goes to 1 alone. */
	send1(0, frame(mac_b, mac_a, -1, 0, 60));
	ASSERT_INT_EQ(n_out[1], 2);
	ASSERT_INT_EQ(n_out[2] + n_out[3], 2);
	ASSERT_INT_EQ(sw.ports[0].stats.rx_packets, 2);
	ASSERT_INT_EQ(sw.ports[1].stats.tx_packets, 2);
	ASSERT_INT_EQ(sw.ports[1].stats.tx_bytes, 120);
	/* B moves to port 3: relearned from its next frame. */
	send1(3, frame(bcast, mac_b, -1, 0, 60));
	ASSERT_INT_EQ(fdb_lookup(&sw, 0, mac_b), 3);
	ASSERT_INT_EQ(fdb_count(&sw), 2);
	/* A frame to the port it came from is dropped as a loop. */
	send1(0, frame(mac_a, mac_x, -1, 0, 60));
	ASSERT_INT_EQ(sw.ports[0].stats.drops[DROP_LOOP], 1);
	/* Aged out: after the ageing time a station is unknown again. */
	sw.now += sw.fdb_age_tsc + 1;
	ASSERT_INT_EQ(fdb_lookup(&sw, 0, mac_a), -1);
	ASSERT_INT_EQ(fdb_count(&sw), 0);
	teardown();
}

/*
 * In one burst, each source is learned and each destination looked up once while they repeat;
 * a station that moves within the burst changes where the frames after it go.
 */
static void test_burst_remembers_and_relearns(void)
{
	struct rte_mbuf *burst[5];
	unsigned int before[NPORTS];

	setup();
	send1(2, frame(bcast, mac_b, -1, 0, 60));   /* B on 2 */
	memcpy(before, n_out, sizeof(before));
	burst[0] = frame(mac_b, mac_a, -1, 0, 60);  /* to 2 */
	burst[1] = frame(mac_b, mac_a, -1, 0, 60);  /* to 2 again */
	burst[2] = frame(mac_x, mac_b, -1, 0, 60);  /* B moves to 0; X unknown: flooded */
	burst[3] = frame(mac_b, mac_a, -1, 0, 61);  /* B is on 0 now: a loop, dropped */
	burst[4] = frame(mac_x, mac_a, -1, 0, 62);  /* X still unknown: flooded */
	fwd_frames(&sw, 0, burst, 5);
	fwd_flush(&sw);
	ASSERT_INT_EQ(n_out[2] - before[2], 4);
	ASSERT_INT_EQ(n_out[1] - before[1], 2);
	ASSERT_INT_EQ(n_out[3] - before[3], 2);
	ASSERT_INT_EQ(n_out[0], before[0]);
	ASSERT_INT_EQ(rte_pktmbuf_pkt_len(out[1][n_out[1] - 1]), 62);
	ASSERT_INT_EQ(sw.ports[0].stats.drops[DROP_LOOP], 1);
	ASSERT_INT_EQ(sw.ports[0].stats.flooded, 2);
	ASSERT_INT_EQ(fdb_lookup(&sw, 0, mac_b), 0);
	ASSERT_INT_EQ(fdb_lookup(&sw, 0, mac_a), 0);
	teardown();         /* the dropped frame is back in the pool: freed by fwd_flush */
}

static void test_vlans(void)
{
	setup();
	sw.ports[0].vlan = 10;
	sw.ports[1].vlan = 20;
	sw.ports[3].vlan = 10;
	sw_ports_changed(&sw);
	/* Untagged broadcast on access port 0 (VLAN 10): to trunk 2 tagged 10, to 3 untagged,
	 * not to 1 (VLAN 20). */
	send1(0, frame(bcast, mac_a, -1, 0, 60));
	ASSERT_INT_EQ(n_out[1], 0);
	ASSERT_INT_EQ(n_out[2], 1);
	ASSERT_INT_EQ(out_vlan(2, 0), 10);
	ASSERT_INT_EQ(rte_pktmbuf_pkt_len(out[2][0]), 64);
	ASSERT_INT_EQ(n_out[3], 1);
	ASSERT_INT_EQ(out_vlan(3, 0), -1);
	/* Tagged 20 from the trunk to the access port of VLAN 20: the tag comes off. */
	send1(2, frame(bcast, mac_b, 20, RTE_ETHER_TYPE_VLAN, 64));
	ASSERT_INT_EQ(n_out[1], 1);
	ASSERT_INT_EQ(out_vlan(1, 0), -1);
	ASSERT_INT_EQ(rte_pktmbuf_pkt_len(out[1][0]), 60);
	ASSERT_INT_EQ(n_out[0], 0);
	/* An 802.1ad outer tag counts the same. */
	send1(2, frame(bcast, mac_b, 10, RTE_ETHER_TYPE_QINQ, 64));
	ASSERT_INT_EQ(n_out[0], 1);
	ASSERT_INT_EQ(n_out[3], 2);
	ASSERT_INT_EQ(out_vlan(0, 0), -1);
	ASSERT_INT_EQ(rte_pktmbuf_pkt_len(out[0][0]), 60);
	ASSERT_TRUE(!memcmp(rte_pktmbuf_mtod_offset(out[0][0], uint8_t *, 6), mac_b, 6));
	/* A tagged frame on an access port is dropped. */
	send1(0, frame(bcast, mac_a, 10, RTE_ETHER_TYPE_VLAN, 64));
	ASSERT_INT_EQ(sw.ports[0].stats.drops[DROP_VLAN], 1);
	ASSERT_INT_EQ(n_out[2], 1);
	/* Learning is per VLAN: B learned in 20 is unknown in 10. */
	ASSERT_INT_EQ(fdb_lookup(&sw, 20, mac_b), 2);
	ASSERT_INT_EQ(fdb_lookup(&sw, 0, mac_b), -1);
	teardown();
}

static void test_bad_frames(void)
{
	setup();
	sw.ports[0].mtu = 100;
	send1(0, frame(mac_b, mac_a, -1, 0, 10));
	ASSERT_INT_EQ(sw.ports[0].stats.drops[DROP_RUNT], 1);
	send1(0, frame(mac_b, mac_a, -1, 0, 115));
	ASSERT_INT_EQ(sw.ports[0].stats.drops[DROP_OVERSIZE], 1);
	send1(0, frame(mac_b, mac_a, -1, 0, 114));   /* exactly MTU + header */
	send1(0, frame(mac_b, mac_a, 5, RTE_ETHER_TYPE_VLAN, 118)); /* and with a tag */
	ASSERT_INT_EQ(sw.ports[0].stats.drops[DROP_OVERSIZE], 1);
	ASSERT_INT_EQ(n_out[1], 2);
	/* A was learned in VLAN 0 and VLAN 5; a zero or multicast source is not learned. */
	ASSERT_INT_EQ(fdb_count(&sw), 2);
	send1(1, frame(bcast, (const uint8_t[6]){ 0 }, -1, 0, 60));
	send1(1, frame(bcast, bcast, -1, 0, 60));
	ASSERT_INT_EQ(fdb_count(&sw), 2);
	teardown();
}

static void test_tx_full_and_no_mbuf_leak(void)
{
	setup();
	tx_room[1] = 1;
	sw.ports[0].xconnect = 1;
	sw.ports[1].xconnect = 0;
	sw_ports_changed(&sw);
	struct rte_mbuf *burst[5];
	for (int i = 0; i < 5; i++)
		burst[i] = frame(mac_b, mac_a, -1, 0, 60);
	fwd_frames(&sw, 0, burst, 5);
	fwd_flush(&sw);
	ASSERT_INT_EQ(n_out[1], 1);
	ASSERT_INT_EQ(sw.ports[1].stats.tx_packets, 1);
	ASSERT_INT_EQ(sw.ports[1].stats.drops[DROP_TX_FULL], 4);
	teardown();         /* checks the 4 refused mbufs were freed */
}

static void test_xconnect(void)
{
	setup();
	sw.ports[0].xconnect = 2;
	sw.ports[2].xconnect = 0;
	sw_ports_changed(&sw);
	send1(0, frame(mac_b, mac_a, -1, 0, 60));
	send1(0, frame(bcast, mac_a, -1, 0, 60));
	ASSERT_INT_EQ(n_out[2], 2);
	ASSERT_INT_EQ(n_out[1] + n_out[3], 0);
	ASSERT_INT_EQ(fdb_count(&sw), 0);   /* wires do not learn */
	/* Frames flooded by others skip wired ports. */
	send1(1, frame(bcast, mac_b, -1, 0, 60));
	ASSERT_INT_EQ(n_out[3], 1);
	ASSERT_INT_EQ(n_out[0] + n_out[2], 2);
	/* The wire checks lengths as the switch does: a runt, an untagged frame over the MTU and
	 * a tagged one within it. */
	sw.ports[0].mtu = 100;
	send1(0, frame(mac_b, mac_a, -1, 0, 8));
	send1(0, frame(mac_b, mac_a, -1, 0, 115));
	send1(0, frame(mac_b, mac_a, 7, RTE_ETHER_TYPE_VLAN, 118));
	send1(0, frame(mac_b, mac_a, 7, RTE_ETHER_TYPE_VLAN, 119));
	ASSERT_INT_EQ(sw.ports[0].stats.drops[DROP_RUNT], 1);
	ASSERT_INT_EQ(sw.ports[0].stats.drops[DROP_OVERSIZE], 2);
	ASSERT_INT_EQ(n_out[2], 3);
	ASSERT_INT_EQ(out_vlan(2, 2), 7);
	/* An access port wired to a trunk: its frames get their tag, tagged ones are dropped. */
	sw.ports[0].vlan = 10;
	sw_ports_changed(&sw);
	send1(0, frame(mac_b, mac_a, -1, 0, 60));
	send1(0, frame(mac_b, mac_a, 10, RTE_ETHER_TYPE_VLAN, 64));
	ASSERT_INT_EQ(n_out[2], 4);
	ASSERT_INT_EQ(out_vlan(2, 3), 10);
	ASSERT_INT_EQ(sw.ports[0].stats.drops[DROP_VLAN], 1);
	/* Both on access VLAN 10: the wire's fast path, which still refuses tagged frames. */
	sw.ports[2].vlan = 10;
	sw_ports_changed(&sw);
	send1(0, frame(mac_b, mac_a, -1, 0, 60));
	send1(0, frame(mac_b, mac_a, 10, RTE_ETHER_TYPE_VLAN, 64));
	ASSERT_INT_EQ(n_out[2], 5);
	ASSERT_INT_EQ(out_vlan(2, 4), -1);
	ASSERT_INT_EQ(sw.ports[0].stats.drops[DROP_VLAN], 2);
	teardown();
}

static void test_pools(void)
{
	setup();
	/* Port 3 is an uplink whose pool 1 is port 1 (MAC X) and pool 2 is port 2 (MAC B). */
	ASSERT_OK(iov_vmdq_steer_new(IOV_VMDQ_MAX_POOLS, &sw.ports[3].steer));
	ASSERT_OK(iov_vmdq_pool_mac(sw.ports[3].steer, 1, mac_x, true));
	ASSERT_OK(iov_vmdq_pool_vlan(sw.ports[3].steer, 1, 0, true));
	ASSERT_OK(iov_vmdq_pool_flags(sw.ports[3].steer, 1, IOV_VMDQ_ACCEPT_BROADCAST));
	ASSERT_OK(iov_vmdq_pool_mac(sw.ports[3].steer, 2, mac_b, true));
	ASSERT_OK(iov_vmdq_pool_vlan(sw.ports[3].steer, 2, 0, true));
	sw.ports[3].pool_port[1] = 1;
	sw.ports[3].pool_port[2] = 2;
	send1(3, frame(mac_x, mac_a, -1, 0, 60));
	ASSERT_INT_EQ(n_out[1], 1);
	ASSERT_INT_EQ(n_out[0] + n_out[2], 0);
	/* Broadcast: only pool 1 accepts it. */
	send1(3, frame(bcast, mac_a, -1, 0, 60));
	ASSERT_INT_EQ(n_out[1], 2);
	ASSERT_INT_EQ(n_out[2], 0);
	/* A MAC no pool claims, with no default pool: dropped, counted. */
	send1(3, frame(mac_a, mac_b, -1, 0, 60));
	ASSERT_INT_EQ(sw.ports[3].stats.drops[DROP_NO_DEST], 1);
	teardown();
}

static void test_fdb_many_stations(void)
{
	unsigned int found = 0;

	setup();
	/* 2000 stations on port 1 (a quarter of the table): every one is found again. */
	for (unsigned int i = 0; i < 2000; i++) {
		uint8_t mac[6] = { 2, 0, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		send1(1, frame(bcast, mac, -1, 0, 60));
		rte_pktmbuf_free_bulk(out[0], n_out[0]);
		rte_pktmbuf_free_bulk(out[2], n_out[2]);
		rte_pktmbuf_free_bulk(out[3], n_out[3]);
		n_out[0] = n_out[2] = n_out[3] = 0;
	}
	for (unsigned int i = 0; i < 2000; i++) {
		uint8_t mac[6] = { 2, 0, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		found += fdb_lookup(&sw, 0, mac) == 1;
	}
	ASSERT_INT_EQ(found, 2000);
	ASSERT_INT_EQ(fdb_count(&sw), 2000);
	/* Forgetting the port forgets them all. */
	fdb_forget_port(&sw, 1);
	ASSERT_INT_EQ(fdb_count(&sw), 0);
	teardown();
}

int main(int argc, char **argv)
{
	char *eal[] = { argv[0], "-l", "0", "--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry",
			"--log-level=*:error", "--file-prefix=fwd-test", NULL };
	int st;

	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0) {
		fprintf(stderr, "DPDK's EAL did not start without hugepages\n");
		return 1;
	}
	mp = rte_pktmbuf_pool_create("fwd-test", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (!mp)
		return 1;
	sw_init(&sw, mp, 1000000);
	static const struct unit_test tests[] = {
		UNIT_TEST(test_learning_and_flooding), UNIT_TEST(test_burst_remembers_and_relearns),
		UNIT_TEST(test_vlans), UNIT_TEST(test_bad_frames), UNIT_TEST(test_tx_full_and_no_mbuf_leak),
		UNIT_TEST(test_xconnect), UNIT_TEST(test_pools), UNIT_TEST(test_fdb_many_stations),
	};
	st = unit_run("switch/fwd", tests, RTE_DIM(tests));
	for (int i = 0; i < SW_MAX_PORTS; i++)
		iov_vmdq_steer_free(sw.ports[i].steer);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return st;
}
