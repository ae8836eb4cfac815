/* SPDX-License-Identifier: MIT */
/*
 * VMDq queue pools: received frames steered into per-VM pools by destination MAC and VLAN.
 *
 * This is the software steering table, which gives ports without VMDq hardware the semantics
 * that hardware has (Intel 82599/X710 VMDq, as DPDK's RTE_ETH_MQ_RX_VMDQ_ONLY configures it):
 *   - a pool is a member of VLANs (VLAN 0 stands for untagged frames);
 *   - a unicast MAC filter names the pools it belongs to (usually one);
 *   - a unicast frame goes to the pools of its destination MAC that are members of its VLAN,
 *     else to the default pool (if one is set and is a member), else nowhere;
 *   - a broadcast frame goes to every member of its VLAN that accepts broadcast, a multicast
 *     frame to every member that accepts all multicast: replicated, as the hardware does.
 * Classifying is lookups only (no allocation, no locks); changing the table is not thread
 * safe against classifying, so a data path swaps tables or pauses (as DPDK reconfigures a
 * port stopped).
 */
#ifndef IOVKIT_VMDQ_H
#define IOVKIT_VMDQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOV_VMDQ_MAX_POOLS 64   /* the hardware's limit too; a pool set is a 64-bit mask */
#define IOV_VMDQ_MAX_VLAN 4094

struct iov_vmdq_steer;

enum iov_vmdq_pool_flags {
	IOV_VMDQ_ACCEPT_BROADCAST = 1 << 0,
	IOV_VMDQ_ACCEPT_MULTICAST = 1 << 1,   /* all multicast (hardware: MPE per pool) */
};

/* A table for @n_pools pools (1 to 64), no filters, no default pool. -EINVAL, -ENOMEM. */
int iov_vmdq_steer_new(unsigned int n_pools, struct iov_vmdq_steer **ret);
void iov_vmdq_steer_free(struct iov_vmdq_steer *s);

/* Adds (@on) or removes pool @pool's membership of @vlan (0: untagged). -EINVAL out of range. */
int iov_vmdq_pool_vlan(struct iov_vmdq_steer *s, unsigned int pool, uint16_t vlan, bool on);

/*
 * Adds (@on) or removes unicast @mac for @pool. -EINVAL: pool out of range, or a multicast or
 * all-zero MAC; -ENOENT removing what is not there; -ENOSPC the table is full (4096 MACs).
 */
int iov_vmdq_pool_mac(struct iov_vmdq_steer *s, unsigned int pool, const uint8_t mac[6], bool on);

/* Sets @pool's IOV_VMDQ_* flags. -EINVAL out of range. */
int iov_vmdq_pool_flags(struct iov_vmdq_steer *s, unsigned int pool, unsigned int flags);

/* The pool that takes unicast frames no filter claims, or -1 (the default): drop them. */
int iov_vmdq_default_pool(struct iov_vmdq_steer *s, int pool);

/*
 * The pools Ethernet frame @frame (@len bytes, from the destination MAC on) goes to, as a mask
 * of pool numbers; 0 means none (drop). An outer 802.1Q or 802.1ad tag gives the VLAN; *@vlan
 * (optional) gets it, 0 for an untagged frame. -EINVAL for a frame too short to classify.
 */
int iov_vmdq_classify(const struct iov_vmdq_steer *s, const void *frame, size_t len, uint64_t *pools, uint16_t *vlan);

#ifdef __cplusplus
}
#endif
#endif
