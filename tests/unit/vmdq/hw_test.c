/* SPDX-License-Identifier: MIT */
/*
 * Hardware VMDq planning against the capabilities real NICs report (as ethdev's dev_info
 * carries them), and the refusal of ports without VMDq that DPDK's configure would accept.
 */
#include "../helpers/unit.h"
#include "iovkit/vmdq-hw.h"

/* 82599 (ixgbe): 64 pools over 128 queues from 0. */
static const struct rte_eth_dev_info ixgbe = { .max_rx_queues = 128, .max_vmdq_pools = 64, .vmdq_queue_base = 0,
					       .vmdq_queue_num = 128, .vmdq_pool_base = 0 };
/* X710 (i40e): the PF's 64 queues first, then 64 pools x 4 queues, pools numbered from 1. */
static const struct rte_eth_dev_info i40e = { .max_rx_queues = 320, .max_vmdq_pools = 64, .vmdq_queue_base = 64,
					      .vmdq_queue_num = 256, .vmdq_pool_base = 1 };
/* virtio, tap, ring, a VF: none. */
static const struct rte_eth_dev_info none = { .max_rx_queues = 16 };

static void test_plans(void)
{
	struct rte_eth_conf conf = { .rxmode.mtu = 1500 };
	struct iov_vmdq_hw hw;

	ASSERT_OK(iov_vmdq_hw_plan(3, &ixgbe, 64, &conf, &hw));
	ASSERT_INT_EQ(conf.rxmode.mq_mode, RTE_ETH_MQ_RX_VMDQ_ONLY);
	ASSERT_INT_EQ(conf.rxmode.mtu, 1500);   /* the caller's other settings kept */
	ASSERT_INT_EQ(conf.rx_adv_conf.vmdq_rx_conf.nb_queue_pools, RTE_ETH_64_POOLS);
	ASSERT_INT_EQ(conf.rx_adv_conf.vmdq_rx_conf.enable_default_pool, 0);
	ASSERT_TRUE(conf.rx_adv_conf.vmdq_rx_conf.rx_mode & RTE_ETH_VMDQ_ACCEPT_BROADCAST);
	ASSERT_INT_EQ(hw.port, 3);
	ASSERT_INT_EQ(hw.queues_per_pool, 2);
	ASSERT_INT_EQ(hw.nb_rx_queues, 128);
	ASSERT_INT_EQ(iov_vmdq_hw_pool_queue(&hw, 0), 0);
	ASSERT_INT_EQ(iov_vmdq_hw_pool_queue(&hw, 63), 126);

	ASSERT_OK(iov_vmdq_hw_plan(0, &ixgbe, 8, &conf, &hw));
	ASSERT_INT_EQ(hw.queues_per_pool, 16);
	ASSERT_INT_EQ(iov_vmdq_hw_pool_queue(&hw, 7), 112);

	ASSERT_OK(iov_vmdq_hw_plan(1, &i40e, 32, &conf, &hw));
	ASSERT_INT_EQ(hw.queues_per_pool, 8);
	ASSERT_INT_EQ(hw.nb_rx_queues, 320);
	ASSERT_INT_EQ(iov_vmdq_hw_pool_queue(&hw, 0), 64);
	ASSERT_INT_EQ(iov_vmdq_hw_pool_queue(&hw, 31), 64 + 31 * 8);
	ASSERT_INT_EQ(hw.pool_base, 1);
}

static void test_refusals(void)
{
	struct rte_eth_conf conf = { 0 };
	struct iov_vmdq_hw hw = { .port = 77 };
	struct rte_eth_dev_info small = ixgbe, broken = ixgbe;

	ASSERT_ERR(iov_vmdq_hw_plan(0, &none, 8, &conf, &hw), EOPNOTSUPP);
	ASSERT_INT_EQ(conf.rxmode.mq_mode, RTE_ETH_MQ_RX_NONE);     /* nothing planned */
	ASSERT_INT_EQ(hw.port, 77);
	ASSERT_ERR(iov_vmdq_hw_plan(0, &ixgbe, 12, &conf, &hw), EINVAL);
	ASSERT_ERR(iov_vmdq_hw_plan(0, &ixgbe, 0, &conf, &hw), EINVAL);
	small.max_vmdq_pools = 16;
	ASSERT_ERR(iov_vmdq_hw_plan(0, &small, 32, &conf, &hw), EINVAL);
	ASSERT_OK(iov_vmdq_hw_plan(0, &small, 16, &conf, &hw));
	broken.max_rx_queues = 64;      /* fewer queues than the pools claim */
	ASSERT_ERR(iov_vmdq_hw_plan(0, &broken, 8, &conf, &hw), EINVAL);
	/* Filters: pools and MACs checked before ethdev is asked. */
	ASSERT_OK(iov_vmdq_hw_plan(0, &ixgbe, 8, &conf, &hw));
	ASSERT_ERR(iov_vmdq_hw_pool_mac(&hw, 8, (const uint8_t[6]){ 2, 0, 0, 0, 0, 1 }, true), EINVAL);
	ASSERT_ERR(iov_vmdq_hw_pool_mac(&hw, 0, (const uint8_t[6]){ 1, 0, 0x5e, 0, 0, 1 }, true), EINVAL);
	ASSERT_ERR(iov_vmdq_hw_pool_mac(&hw, 0, (const uint8_t[6]){ 0 }, true), EINVAL);
}

UNIT_MAIN("vmdq/hw",
	  UNIT_TEST(test_plans),
	  UNIT_TEST(test_refusals))
