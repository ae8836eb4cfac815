/* SPDX-License-Identifier: MIT */
/* What iovctl's command files share. */
#ifndef IOVCTL_CLI_H
#define IOVCTL_CLI_H

#include <stdbool.h>
#include <jansson.h>

#include "iovkit/common.h"

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

int cmd_host(struct cli *cli);

#endif
