/* SPDX-License-Identifier: MIT */
/*
 * Hardware VMDq through DPDK ethdev: on NICs that have it (Intel 82599/X540/X550 with ixgbe,
 * X710 with i40e, I350 with igb), received frames are steered into per-pool queues by the NIC
 * itself, by destination MAC, so a pool's frames cost the host nothing to classify.
 *
 * DPDK's rte_eth_dev_configure() accepts RTE_ETH_MQ_RX_VMDQ_ONLY on a port whose
 * max_vmdq_pools is 0 and the NIC then steers nothing: iov_vmdq_hw_plan() refuses that port
 * (-EOPNOTSUPP); software steering (vmdq.h) is the way there.
 *
 * Scope: VMDq-only receive (no DCB, no RSS inside a pool), pools taking untagged and broadcast
 * frames, one MAC filter set per pool; VLAN pool maps and per-pool broadcast or multicast
 * choices are not offered (the software table has them). Thread safety: as ethdev's control
 * functions, from one thread, with the port's queues not being polled for changed pools.
 */
#ifndef IOVKIT_VMDQ_HW_H
#define IOVKIT_VMDQ_HW_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iov_vmdq_hw {
	uint16_t port;
	unsigned int n_pools;
	unsigned int queues_per_pool;
	uint16_t queue_base;            /* the first pool's first receive queue */
	uint16_t pool_base;             /* added to a pool number in MAC filters */
	uint16_t nb_rx_queues;          /* to configure: the PF's own queues and the pools' */
};

/*
 * Plans VMDq-only receive with @n_pools pools (8, 16, 32 or 64) on port @port described by
 * @info: fills @conf's receive mode (the caller keeps its other fields) and *@ret. Returns 0,
 * -EOPNOTSUPP when the port has no VMDq (max_vmdq_pools 0), -EINVAL for a pool count that is
 * not one of those or more than the port has, or no queues to give them.
 */
int iov_vmdq_hw_plan(uint16_t port, const struct rte_eth_dev_info *info, unsigned int n_pools,
		     struct rte_eth_conf *conf, struct iov_vmdq_hw *ret);

/* The first receive queue of pool @pool. */
uint16_t iov_vmdq_hw_pool_queue(const struct iov_vmdq_hw *hw, unsigned int pool);

/*
 * Adds (@on) or removes the MAC filter @mac for @pool (rte_eth_dev_mac_addr_add with the pool).
 * -EINVAL: pool out of range or not a unicast MAC; otherwise ethdev's error (-ENOSPC: the
 * NIC's MAC table is full).
 */
int iov_vmdq_hw_pool_mac(const struct iov_vmdq_hw *hw, unsigned int pool, const uint8_t mac[6], bool on);

#ifdef __cplusplus
}
#endif
#endif
