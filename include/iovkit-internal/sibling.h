/* SPDX-License-Identifier: MIT */
/*
 * Where iovkit's programs find each other: in a build tree, beside the running program
 * (../DIR/NAME from its own directory); otherwise the installed path the caller names. Shared
 * by iovctl (which starts iovkitd for the demo) and iovkitd (which runs iovswitch and iovm).
 */
#ifndef IOVKIT_INTERNAL_SIBLING_H
#define IOVKIT_INTERNAL_SIBLING_H

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ../@dir/@name next to /proc/self/exe, resolved into @buf, if it is an executable; else @installed. */
static inline const char *iov_sibling_program(const char *dir, const char *name, const char *installed,
					      char buf[PATH_MAX])
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(path, sizeof(path), "%s/../%s/%s", dirname(self), dir, name);
		if (realpath(path, buf) && access(buf, X_OK | R_OK) == 0)
			return buf;
	}
	return installed;
}

#endif
