/* SPDX-License-Identifier: MIT */
/* What iovctl's command files share. */
#ifndef IOVCTL_CLI_H
#define IOVCTL_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <jansson.h>

#include "iovkit/common.h"
#include "iovkit-internal/macro.h"

/* _cleanup_(iov_ctx_freep) for a command's library context. */
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_ctx *, iov_ctx_free)

/* Exit statuses; documented in docs/cli.md. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,      /* the operation failed; the message says why */
	EXIT_USAGE = 2,     /* bad command line */
	EXIT_CHECK = 3,     /* --check found a required prerequisite missing */
};

struct cli {
	const char *root;   /* --root */
	bool json;          /* --json */
	int argc;           /* the command's own arguments, argv[0] being its name */
	char **argv;
};

struct cli_command {
	const char *name;
	const char *args;       /* synopsis of the arguments, for help */
	const char *summary;    /* one line */
	const char *help;       /* the command's own options, or NULL */
	int (*run)(struct cli *cli);
};

/* Prints "iovctl: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens a library context on --root; prints the error and returns NULL on failure. */
struct iov_ctx *cli_ctx_open(const struct cli *cli);

/* Prints @j to stdout, indented, and drops the reference. Returns EXIT_OK or EXIT_FAIL. */
int cli_print_json(json_t *j);

/* Usage error for command @cmd: prints @why and the command's synopsis. Returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *why);

/* Every command accepts --json after its name too; put this last but one in its option table. */
#define CLI_OPT_JSON { "json", no_argument, NULL, 'j' }

/*
 * getopt_long over the command's arguments, handling --json itself. Returns the next option
 * of the command's own, -1 at the end, or '?' after printing a usage error for @cmd.
 */
int cli_next_opt(struct cli *cli, const char *cmd, const struct option *opts);

/* @v as a whole unsigned number in @base (16 accepts a 0x prefix), at most @max: 0, or -1. */
int cli_number(const char *v, int base, unsigned long max, unsigned long *out);

/* A string member of @o for a table cell ("-" when absent), and an integer member (0). */
const char *cli_str(json_t *o, const char *key);
json_int_t cli_num(json_t *o, const char *key);

/* Prints "<what>: <reason or strerror>" as an error. Returns EXIT_FAIL. */
int cli_fail(struct iov_ctx *ctx, int err, const char *what);

int cmd_host(struct cli *cli);
int cmd_devices(struct cli *cli);
int cmd_groups(struct cli *cli);
int cmd_group(struct cli *cli);
int cmd_bind(struct cli *cli);
int cmd_restore(struct cli *cli);
int cmd_sriov(struct cli *cli);
int cmd_vf(struct cli *cli);
int cmd_rdma(struct cli *cli);
int cmd_pool(struct cli *cli);
int cmd_switch(struct cli *cli);
int cmd_rpc(struct cli *cli);
int cmd_vm(struct cli *cli);
int cmd_daemon(struct cli *cli);
int cmd_events(struct cli *cli);
int cmd_demo(struct cli *cli);
int cmd_vgpu(struct cli *cli);

/* ---- iovkitd (cmd-daemon.c) ---- */
struct iov_client;

/* Connects to iovkitd at @sock (NULL: the default); prints why not and returns NULL. */
struct iov_client *cli_daemon(const char *sock);

/* Calls @method (params taken); prints the error and returns EXIT_FAIL, or EXIT_OK with *ret
 * (a new reference; NULL @ret drops the result). */
int cli_dcall(struct iov_client *c, const char *method, json_t *params, json_t **ret);

/* Waits until guest @name is no longer running or stopping: 0, -ETIMEDOUT, or -EIO. */
int cli_vm_wait(struct iov_client *c, const char *name, int seconds);

#endif
