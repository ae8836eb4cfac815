/* SPDX-License-Identifier: MIT */
/*
 * Helpers every iovkit source file may use; never installed.
 *
 * Cleanup follows systemd's pattern: a variable declared with _cleanup_free_ or _cleanup_close_
 * is released when it goes out of scope, and TAKE_PTR / TAKE_FD mark the line where ownership
 * moves elsewhere, so the release does not happen.
 */
#ifndef IOVKIT_INTERNAL_MACRO_H
#define IOVKIT_INTERNAL_MACRO_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* Marks a symbol as part of a shared library's ABI; everything else is hidden. */
#define IOV_EXPORT __attribute__((visibility("default")))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/*
 * Closes *fd without disturbing errno and sets it to -1, so it serves both as a cleanup
 * handler and as an explicit "close and forget" (closep(&s->sock)); ignores -1.
 */
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
		*fd = -1;
	}
}
#define _cleanup_close_ _cleanup_(closep)

/* Declares "static inline void name##p(type **p)" calling func(*p) when *p is not NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)          \
	static inline void func##p(type *p)              \
	{                                                \
		if (*p)                                  \
			func(*p);                        \
	}

/* Returns *p and clears it, so a _cleanup_ on the old holder does nothing. */
#define TAKE_PTR(p)                               \
	({                                        \
		__typeof__(p) *_pp = &(p);        \
		__typeof__(p) _v = *_pp;          \
		*_pp = NULL;                      \
		_v;                               \
	})
#define TAKE_FD(fd)                   \
	({                            \
		int *_pfd = &(fd);    \
		int _v = *_pfd;       \
		*_pfd = -1;           \
		_v;                   \
	})

/* errno as a negative return value, never 0 (a failed call that forgot to set errno). */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#endif
