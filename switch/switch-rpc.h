/* SPDX-License-Identifier: MIT */
/* iovswitch's control side: what the JSON-RPC methods (rpc.c) share with main.c. */
#ifndef IOVSWITCH_RPC_H
#define IOVSWITCH_RPC_H

#include <jansson.h>

#include "switch-internal.h"

struct iov_ctx;

struct sw_ctl {
	struct sw *sw;
	unsigned int worker_lcore;
	json_t *pools;                  /* {uplink: {"pool": pool.assign params}} */
	const char *state_path;         /* NULL: nothing is saved */
	struct iov_ctx *ctx;            /* for writing the state file */
};

/* Writes the configuration (ports, cross-connects, pools) to the state file, atomically. A
 * failure is logged, not returned: the switch keeps forwarding. */
void ctl_save(struct sw_ctl *ctl);

extern const struct iov_rpc_service sw_service;

#endif
