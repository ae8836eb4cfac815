/* SPDX-License-Identifier: MIT */
/*
 * The steps iovm's and iovswitch's seccomp filters share; never installed. Each program says
 * only what is its own: the action for calls it does not list, the action and list for those it
 * does, and the rules that look at arguments.
 */
#ifndef IOVKIT_INTERNAL_SECCOMP_H
#define IOVKIT_INTERNAL_SECCOMP_H

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

/*
 * Builds a filter that gives @listed_action to the @n calls in @calls and @default_action to
 * the rest, lets @extra (NULL: none) add argument rules, and loads it on every thread of the
 * process (TSYNC). Returns 0, or a negative errno with @why filled in.
 */
static inline int iov_seccomp_apply(uint32_t default_action, uint32_t listed_action, const int *calls, size_t n,
				    int (*extra)(scmp_filter_ctx f), char *why, size_t why_len)
{
	scmp_filter_ctx f = seccomp_init(default_action);
	int r = f ? 0 : -ENOMEM;

	if (r == 0)
		r = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = seccomp_rule_add(f, listed_action, calls[i], 0);
	if (r == 0 && extra)
		r = extra(f);
	if (r == 0)
		r = seccomp_load(f);
	seccomp_release(f);
	if (r < 0)
		snprintf(why, why_len, "installing the seccomp filter: %s", strerror(-r));
	return r;
}

#endif
