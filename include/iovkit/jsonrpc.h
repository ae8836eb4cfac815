/* SPDX-License-Identifier: MIT */
/*
 * JSON-RPC 2.0 (https://www.jsonrpc.org/specification) as every iovkit process speaks it:
 * iovkitd, iovswitch and iovm each serve one SOCK_STREAM Unix socket, and a message is one
 * JSON text on one line, ended by "\n" (the text never contains a raw newline: JSON escapes
 * them in strings). Requests, notifications (no "id": no answer) and batches (an array of
 * requests, answered by an array) are supported.
 *
 * The pieces here are independent of any event loop: a line reader with a size limit that the
 * program feeds from its socket, a dispatcher that turns one received line into one reply line
 * through a table of methods, and a blocking client call.
 *
 * Threat model: whatever arrives on the socket is hostile. A line over the limit, text that is
 * not JSON, a request of the wrong shape, an unknown method, params a method rejects: each is
 * answered with a JSON-RPC error object (or, for an oversized line, discarded up to its
 * newline and answered), never with a crash, a hang, or a change of state.
 */
#ifndef IOVKIT_JSONRPC_H
#define IOVKIT_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOV_RPC_LINE_MAX (1u << 20)     /* the default limit on one received line */
#define IOV_RPC_BATCH_MAX 64            /* requests in one batch */

/*
 * Error codes. The first five are JSON-RPC 2.0's; the others are iovkit's own, stable across
 * versions (docs/api.md). Every error iovkit sends has "data": {"errno": N, "errno_name":
 * "ENOENT"} when an errno applies.
 */
enum iov_rpc_code {
	IOV_RPC_PARSE_ERROR = -32700,
	IOV_RPC_INVALID_REQUEST = -32600,
	IOV_RPC_METHOD_NOT_FOUND = -32601,
	IOV_RPC_INVALID_PARAMS = -32602,
	IOV_RPC_INTERNAL_ERROR = -32603,
	IOV_RPC_FAILED = -32000,        /* the operation was tried and failed; see errno */
	IOV_RPC_ACCESS_DENIED = -32001, /* the caller may not use this method */
	IOV_RPC_TOO_LARGE = -32002,     /* the request line or batch is over the limit */
	IOV_RPC_BUSY = -32003,          /* too many clients, or the object is in use */
};

/* What a failed method call answers; filled by iov_rpc_fail(). */
struct iov_rpc_error {
	int code;               /* enum iov_rpc_code */
	int err;                /* a positive errno, or 0 */
	char message[512];
};

/*
 * A method: @params is the request's "params" (an object, an array, or NULL when absent;
 * borrowed). On success it returns 0 and sets *@ret_result to a new reference (or leaves it
 * NULL, which answers null). On failure it returns a negative errno and fills @e (through
 * iov_rpc_fail); a method that returns an error without filling @e answers IOV_RPC_FAILED
 * with strerror. @userdata is the dispatcher's.
 */
typedef int (*iov_rpc_fn)(void *userdata, json_t *params, json_t **ret_result, struct iov_rpc_error *e);

enum iov_rpc_method_flags {
	IOV_RPC_MUTATES = 1 << 0,       /* changes state: refused to clients that may only read */
};

struct iov_rpc_method {
	const char *name;
	iov_rpc_fn fn;
	unsigned int flags;             /* enum iov_rpc_method_flags */
	const char *summary;            /* one line, for rpc.discover */
	const char *params;             /* the params as a JSON Schema text (for rpc.discover), or NULL */
};

struct iov_rpc_service {
	const char *name;               /* "iovswitch": rpc.discover's "service" */
	const char *version;
	const struct iov_rpc_method *methods;
	size_t n_methods;
};

/*
 * Handles the line @line (@len bytes, without its newline): a request, a notification or a
 * batch, calling @svc's methods with @userdata. "rpc.discover" is answered here, from @svc.
 * A method flagged IOV_RPC_MUTATES is refused (IOV_RPC_ACCESS_DENIED) unless @may_mutate.
 * Sets *@ret_reply to the reply text (one line, no newline; free() it), or NULL when nothing
 * is to be answered (notifications only). Returns 0, or -ENOMEM.
 */
int iov_rpc_dispatch(const struct iov_rpc_service *svc, void *userdata, bool may_mutate, const char *line, size_t len,
		     char **ret_reply);

/* The reply to a line that was over the limit (a JSON-RPC error with id null); free() it. */
char *iov_rpc_reply_too_large(size_t limit);

/*
 * Fills @e with @code, errno @err (positive or negative; 0 for none) and a message, and
 * returns -|err| (or -EINVAL when @err is 0), so a method reads
 * "return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "no port %s", name);".
 */
int iov_rpc_fail(struct iov_rpc_error *e, int code, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Reads @params (an object) against @fmt, jansson's json_unpack_ex format with strict checking
 * ("{s:s, s?:i !}"), and on mismatch fills @e with IOV_RPC_INVALID_PARAMS and jansson's
 * explanation. Returns 0 or -EINVAL. NULL @params reads as {}.
 */
int iov_rpc_params(struct iov_rpc_error *e, json_t *params, const char *fmt, ...);

/*
 * Line reader: collects bytes from a stream socket and hands out complete lines. Lines longer
 * than @limit are discarded up to their newline and reported once, so one bad client message
 * cannot make the reader hold unbounded memory.
 */
struct iov_rpc_reader {
	char *buf;
	size_t len, cap, limit;
	size_t start;           /* where the next line begins */
	bool discarding;        /* inside a line that is over the limit */
};

/* Sets up @r with line limit @limit (0: IOV_RPC_LINE_MAX). Allocates nothing yet. */
void iov_rpc_reader_init(struct iov_rpc_reader *r, size_t limit);
void iov_rpc_reader_free(struct iov_rpc_reader *r);

/* Reads once from @fd (which may be non-blocking). Returns bytes read (> 0), 0 at end of
 * stream, or a negative errno (-EAGAIN when nothing is there). */
int iov_rpc_reader_fill(struct iov_rpc_reader *r, int fd);

/*
 * The next complete line: returns 1 with *@line (inside the reader's buffer, valid until the
 * next fill, NUL-terminated in place of its newline) and *@len; 0 when no complete line is
 * buffered; -EMSGSIZE once for each line over the limit (answer it with
 * iov_rpc_reply_too_large).
 */
int iov_rpc_reader_next(struct iov_rpc_reader *r, char **line, size_t *len);

/* Connects to the Unix socket @path; returns the fd (O_CLOEXEC, blocking) or a negative errno. */
int iov_rpc_connect(const char *path);

/* Writes @text and a newline to @fd, all of it (MSG_NOSIGNAL). 0 or a negative errno. */
int iov_rpc_send_line(int fd, const char *text);

/*
 * Calls @method with @params (borrowed; NULL for none) over the connected socket @fd and waits
 * for its answer. Returns 0 with *@ret_result (a new reference), or:
 *   -EREMOTEIO: the server answered an error, which is in @e (code, errno from data, message);
 *   another negative errno: the connection failed or the answer was not JSON-RPC (@e says which).
 */
int iov_rpc_call(int fd, const char *method, json_t *params, json_t **ret_result, struct iov_rpc_error *e);

/* ---- serving: a listening Unix socket and its clients ----
 *
 * Two ways to drive it: a poll loop (iov_rpc_server_pollfds + _handle, as iovswitch and iovm
 * do), or any event loop watching the listening fd and each client's fd (iov_rpc_server_accept,
 * _serve and _drop, as iovkitd does with sd-event).
 */

#define IOV_RPC_MAX_CLIENTS 16          /* what iov_rpc_server_listen() serves at once */
#define IOV_RPC_SERVER_POLLFDS (1 + IOV_RPC_MAX_CLIENTS)

struct iov_rpc_client {
	int fd;                         /* -1: a free slot */
	bool may_mutate;                /* what the server's authorize callback decided */
	bool subscribed;                /* for the program: the client asked for events */
	struct ucred cred;              /* the peer when it connected (SO_PEERCRED) */
	struct iov_rpc_reader rd;
	void *data;                     /* for the program: e.g. its event source */
};

/*
 * Decides whether the client @fd with credentials @cred may call methods flagged
 * IOV_RPC_MUTATES. The default (NULL) allows root and the server's own uid.
 */
typedef bool (*iov_rpc_authorize_fn)(void *userdata, int fd, const struct ucred *cred);

struct iov_rpc_server {
	int listen_fd;
	const struct iov_rpc_service *svc;
	void *userdata;
	iov_rpc_authorize_fn authorize; /* set after listen/adopt; NULL: the default */
	size_t max_clients;
	struct iov_rpc_client *clients; /* max_clients slots */
	struct iov_rpc_client *caller;  /* while a method runs: the client whose request it is */
};

/*
 * Listens on @path with @mode, replacing a socket nobody serves (-EADDRINUSE if somebody
 * does); requests go to @svc with @userdata; at most @max_clients clients at once (0:
 * IOV_RPC_MAX_CLIENTS, which IOV_RPC_SERVER_POLLFDS is sized for). The server owns the socket
 * until _close.
 */
int iov_rpc_server_listen(struct iov_rpc_server *s, const char *path, mode_t mode, size_t max_clients,
			  const struct iov_rpc_service *svc, void *userdata);

/*
 * Serves the already listening socket @fd (socket activation), at most @max_clients at once.
 * Takes @fd over (made non-blocking). 0, or -ENOMEM (then @fd is not taken).
 */
int iov_rpc_server_adopt(struct iov_rpc_server *s, int fd, size_t max_clients, const struct iov_rpc_service *svc,
			 void *userdata);

/* Fills @pfd (1 + max_clients entries; free slots are -1) and returns the count. */
size_t iov_rpc_server_pollfds(const struct iov_rpc_server *s, struct pollfd *pfd);

/* After poll(): accepts, reads, answers what @pfd (as filled above) says is ready. */
void iov_rpc_server_handle(struct iov_rpc_server *s, const struct pollfd *pfd);

/*
 * Accepts one waiting connection: returns its slot, or NULL when none was waiting or the
 * server is full (that client is answered "too many clients" and closed).
 */
struct iov_rpc_client *iov_rpc_server_accept(struct iov_rpc_server *s);

/*
 * Reads what @c sent and answers each complete line. Returns 0 while the client stays, or a
 * negative errno when it hung up or cannot be answered: then call iov_rpc_server_drop().
 */
int iov_rpc_server_serve(struct iov_rpc_server *s, struct iov_rpc_client *c);

/* Closes @c's connection and frees its slot. */
void iov_rpc_server_drop(struct iov_rpc_server *s, struct iov_rpc_client *c);

/* Closes the clients and the listening socket (the socket file stays). */
void iov_rpc_server_close(struct iov_rpc_server *s);

#ifdef __cplusplus
}
#endif
#endif
