/* SPDX-License-Identifier: MIT */
/*
 * Crash and failure hooks for the tests, read from the environment by the programs that bind
 * groups and change VF counts (iovctl, iovkitd), and given to the libraries as progress
 * callbacks:
 *   IOVKIT_TEST_BIND_FAIL_AFTER=N   the bind fails after N devices moved (the library rolls back)
 *   IOVKIT_TEST_BIND_KILL_AFTER=N   the process is killed (SIGKILL) there: the journal is left
 *                                   mid-transaction for the next run to recover
 *   IOVKIT_TEST_SRIOV_FAIL_AT=N     the VF-count change fails once N was written to sriov_numvfs
 *   IOVKIT_TEST_SRIOV_KILL_AT=N     the process is killed there, leaving the SR-IOV journal
 * Unset (always, outside tests), they do nothing.
 */
#ifndef IOVKIT_INTERNAL_TEST_HOOKS_H
#define IOVKIT_INTERNAL_TEST_HOOKS_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int iov_test_bind_progress(void *userdata, const char *bdf, unsigned int done, unsigned int total)
{
	const char *fail = getenv("IOVKIT_TEST_BIND_FAIL_AFTER"), *kill = getenv("IOVKIT_TEST_BIND_KILL_AFTER");

	(void)userdata;
	(void)bdf;
	(void)total;
	if (kill && strtoul(kill, NULL, 10) == done)
		raise(SIGKILL);
	return fail && strtoul(fail, NULL, 10) == done ? -EIO : 0;
}

static inline int iov_test_sriov_progress(void *userdata, const char *pf, unsigned int numvfs)
{
	const char *fail = getenv("IOVKIT_TEST_SRIOV_FAIL_AT"), *kill = getenv("IOVKIT_TEST_SRIOV_KILL_AT");
	char n[16];

	(void)userdata;
	(void)pf;
	snprintf(n, sizeof(n), "%u", numvfs);
	if (kill && !strcmp(kill, n))
		raise(SIGKILL);
	return fail && !strcmp(fail, n) ? -EIO : 0;
}

#endif
