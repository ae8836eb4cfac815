/* SPDX-License-Identifier: MIT */
/* What the files of the common library share, and what other iovkit libraries use of it. */
#ifndef IOVKIT_COMMON_INTERNAL_H
#define IOVKIT_COMMON_INTERNAL_H

#include <limits.h>
#include <stdbool.h>

#include "iovkit/common.h"
#include "iovkit-internal/ctx.h"
#include "iovkit-internal/macro.h"

struct iov_ctx {
	char *root;     /* as given, for messages */
	char *state_dir; /* relative to the root */
	int root_fd;    /* O_PATH directory all lookups start from */
	iov_log_fn log_fn;
	void *log_userdata;
	enum iov_log_level log_level;
	char reason[512];
	/*
	 * The seam where the kernel's sysfs store methods sit. NULL: iov_attr_write() writes the
	 * file. Tests set a fake that does what the kernel would (tests/unit/helpers/fake_kernel.c);
	 * it returns 0 or the negative errno the store would.
	 */
	int (*attr_store)(void *userdata, struct iov_ctx *ctx, const char *path, const char *value);
	void *attr_store_userdata;
	/*
	 * The same seam for VF settings over netlink (sriov-mgr): NULL sends them to the kernel;
	 * tests record them. Called with settings already checked.
	 */
	int (*vf_store)(void *userdata, const char *netdev, unsigned int vf, const void *settings);
	void *vf_store_userdata;
};

/* Formats a root-relative path into @buf (PATH_MAX). -ENAMETOOLONG if it does not fit. */
int path_vformat(char *buf, const char *fmt, va_list ap) IOV_PRINTF(2, 0);

/* Opens @path (already formatted) under the root; see iov_path_open(). */
int root_open(struct iov_ctx *ctx, const char *path, int flags, mode_t mode);

/* Parses an integer as sysfs prints one; see iov_attr_read_u64(). */
int parse_u64(const char *s, uint64_t *ret);
int parse_s64(const char *s, int64_t *ret);

/* Reads a whole file from an open fd into @buf, trailing whitespace removed. */
int fd_read_all(int fd, char *buf, size_t size);

#endif
