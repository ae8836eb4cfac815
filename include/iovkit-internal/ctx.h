/* SPDX-License-Identifier: MIT */
/*
 * The library-internal ABI of libiovkit-common: exported so that the other iovkit libraries
 * (which link libiovkit-common rather than a copy of it) can report failures through the
 * context, but not installed and not for programs. tests/unit/exports.sh checks it together
 * with the public headers.
 */
#ifndef IOVKIT_INTERNAL_CTX_H
#define IOVKIT_INTERNAL_CTX_H

#include <sys/types.h>
#include <jansson.h>

#include "iovkit/common.h"

/* Sends a message to the context's log hook (for debug and info; errors are returned). */
void iov_ctx_log(struct iov_ctx *ctx, enum iov_log_level level, const char *fmt, ...) IOV_PRINTF(3, 4);

/*
 * Records why a call fails and returns @err (a negative errno), so that a failure reads
 * "return iov_ctx_fail(ctx, -ENODEV, "%s: no such PCI device", bdf);".
 */
int iov_ctx_fail(struct iov_ctx *ctx, int err, const char *fmt, ...) IOV_PRINTF(3, 4);

/* Forgets the last reason; called at the start of a public entry point that may set one. */
void iov_ctx_reason_clear(struct iov_ctx *ctx);

/*
 * A JSON state file, <state dir>/@name (the bind journal, the SR-IOV journal, the pools). It
 * loads as an object whose members named in @keys (NULL-terminated) are objects; a file that
 * does not exist loads as {"version": 1, <key>: {}, ...}. A damaged one fails with -EBADMSG
 * and a reason that names it. Saving replaces it atomically (iov_file_replace): a crash leaves
 * the old content or the new.
 */
int iov_state_load(struct iov_ctx *ctx, const char *name, const char *const *keys, json_t **ret);
int iov_state_save(struct iov_ctx *ctx, const char *name, json_t *root, mode_t mode);

#endif
