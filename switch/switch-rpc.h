/* SPDX-License-Identifier: MIT */
/* iovswitch's control side: what the JSON-RPC methods (rpc.c) share with main.c. */
#ifndef IOVSWITCH_RPC_H
#define IOVSWITCH_RPC_H

#include <jansson.h>

#include "switch-internal.h"

struct iov_ctx;
struct iov_vhost_blk;

#define SW_MAX_BLK 32

/* A virtio-blk device iovswitch serves (blk.add): not a switch port, no frames. */
struct sw_blk {
	bool used;
	char name[SW_NAME_MAX];
	struct iov_vhost_blk *dev;
	json_t *spec;                   /* the blk.add params (saved in state) */
};

struct sw_ctl {
	struct sw *sw;
	unsigned int worker_lcore;
	json_t *pools;                  /* {uplink: {"pool": pool.assign params}} */
	const char *state_path;         /* NULL: nothing is saved */
	struct iov_ctx *ctx;            /* for writing the state file */
	struct sw_blk blk[SW_MAX_BLK];
};

/* Frees every blk device (at exit). */
void ctl_blk_free_all(struct sw_ctl *ctl);

/* Writes the configuration (ports, cross-connects, pools) to the state file, atomically. A
 * failure is logged, not returned: the switch keeps forwarding. */
void ctl_save(struct sw_ctl *ctl);

extern const struct iov_rpc_service sw_service;

#endif
