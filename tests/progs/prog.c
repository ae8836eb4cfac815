/* SPDX-License-Identifier: MIT */
/* What the vfio-core test programs share (prog.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "prog.h"

struct iov_ctx *ctx;

void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (ctx && iov_ctx_reason(ctx)[0])
		printf(" (%s)", iov_ctx_reason(ctx));
	printf("\n");
	exit(1);
}
