/* SPDX-License-Identifier: MIT */
/*
 * Hardware VMDq (include/iovkit/vmdq-hw.h). The queue arithmetic follows ethdev's contract:
 * the pools own vmdq_queue_num queues starting at vmdq_queue_base, shared evenly; the PF's
 * own queues come first, so a port is configured with max_rx_queues receive queues.
 */
#include <errno.h>
#include <string.h>

#include <rte_ether.h>

#include "iovkit/vmdq-hw.h"
#include "iovkit-internal/macro.h"

IOV_EXPORT int iov_vmdq_hw_plan(uint16_t port, const struct rte_eth_dev_info *info, unsigned int n_pools,
				struct rte_eth_conf *conf, struct iov_vmdq_hw *ret)
{
	struct rte_eth_vmdq_rx_conf *v = &conf->rx_adv_conf.vmdq_rx_conf;

	if (info->max_vmdq_pools == 0)
		return -EOPNOTSUPP;
	if ((n_pools != 8 && n_pools != 16 && n_pools != 32 && n_pools != 64) || n_pools > info->max_vmdq_pools)
		return -EINVAL;
	if (info->vmdq_queue_num < n_pools || info->max_rx_queues < info->vmdq_queue_base + info->vmdq_queue_num)
		return -EINVAL;
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_VMDQ_ONLY;
	memset(v, 0, sizeof(*v));
	v->nb_queue_pools = (enum rte_eth_nb_pools)n_pools;
	v->enable_default_pool = 0;     /* a frame no pool claims is dropped, as vmdq.h's default */
	v->rx_mode = RTE_ETH_VMDQ_ACCEPT_UNTAG | RTE_ETH_VMDQ_ACCEPT_BROADCAST;
	*ret = (struct iov_vmdq_hw){
		.port = port,
		.n_pools = n_pools,
		.queues_per_pool = info->vmdq_queue_num / n_pools,
		.queue_base = info->vmdq_queue_base,
		.pool_base = info->vmdq_pool_base,
		.nb_rx_queues = info->max_rx_queues,
	};
	return 0;
}

IOV_EXPORT uint16_t iov_vmdq_hw_pool_queue(const struct iov_vmdq_hw *hw, unsigned int pool)
{
	return (uint16_t)(hw->queue_base + pool * hw->queues_per_pool);
}

IOV_EXPORT int iov_vmdq_hw_pool_mac(const struct iov_vmdq_hw *hw, unsigned int pool, const uint8_t mac[6], bool on)
{
	struct rte_ether_addr a;

	memcpy(a.addr_bytes, mac, 6);
	if (pool >= hw->n_pools || !rte_is_unicast_ether_addr(&a) || rte_is_zero_ether_addr(&a))
		return -EINVAL;
	if (on)
		return rte_eth_dev_mac_addr_add(hw->port, &a, hw->pool_base + pool);
	return rte_eth_dev_mac_addr_remove(hw->port, &a);
}
