/* SPDX-License-Identifier: MIT */
/* What the vfio-core test programs share (prog.c). */
#ifndef IOVKIT_TEST_PROG_H
#define IOVKIT_TEST_PROG_H

#include "iovkit/common.h"

/* The program's library context; fail() adds its failure reason. */
extern struct iov_ctx *ctx;

/* Prints "FAIL: <message> (<the context's reason, if any>)" and exits 1, as lab tests expect. */
__attribute__((format(printf, 1, 2), noreturn)) void fail(const char *fmt, ...);

#endif
