/* SPDX-License-Identifier: MIT */
/*
 * A client of iovkitd (or of any iovkit JSON-RPC socket): one connection, calls answered in
 * order, and the daemon's event notifications (events.subscribe) delivered between them.
 *
 *     struct iov_client *c;
 *     struct iov_rpc_error e;
 *     json_t *vms;
 *     if (iov_client_open(NULL, &c) == 0 && iov_client_call(c, "vm.list", NULL, &vms, &e) == 0)
 *             ...
 *     iov_client_free(c);
 *
 * Not thread-safe: one thread uses one client at a time.
 */
#ifndef IOVKIT_CLIENT_H
#define IOVKIT_CLIENT_H

#include <jansson.h>

#include "iovkit/jsonrpc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IOVKITD_SOCKET "/run/iovkit/iovkitd.sock"   /* the default; $IOVKITD_SOCKET overrides */

struct iov_client;

/*
 * Connects to @path (NULL: $IOVKITD_SOCKET, else IOVKITD_SOCKET). Errors: those of connect(2)
 * (-ENOENT or -ECONNREFUSED: nobody serves there, -EACCES: the socket's mode refuses us),
 * -ENOMEM.
 */
int iov_client_open(const char *path, struct iov_client **ret);
void iov_client_free(struct iov_client *c);

/* The path iov_client_open(NULL) uses. */
const char *iov_client_default_socket(void);

/* The connection's fd (to poll for events); owned by the client. */
int iov_client_fd(const struct iov_client *c);

/*
 * Gives up on an answer or an event after @ms milliseconds of silence (0: wait forever, the
 * default); such a call fails with -ETIMEDOUT.
 */
void iov_client_set_timeout(struct iov_client *c, int ms);

/*
 * Calls @method with @params (borrowed; NULL for none) and waits for its answer; notifications
 * that arrive first are queued for iov_client_next_event(). Returns as iov_rpc_call():
 * 0 with *@ret_result (a new reference); -EREMOTEIO with the server's error in @e; another
 * negative errno when the connection failed (@e says which).
 */
int iov_client_call(struct iov_client *c, const char *method, json_t *params, json_t **ret_result,
		    struct iov_rpc_error *e);

/*
 * The next notification (queued, or read within @timeout_ms; -1 waits forever): for iovkitd's
 * "event" notifications their params (an object whose "event" names its type, docs/api.md),
 * for any other notification the whole message. 0 with *@ret (a new reference), -ETIMEDOUT, -ECONNRESET when the server hung up.
 */
int iov_client_next_event(struct iov_client *c, int timeout_ms, json_t **ret);

#ifdef __cplusplus
}
#endif
#endif
