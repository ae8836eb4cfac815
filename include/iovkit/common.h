/* SPDX-License-Identifier: MIT */
/*
 * iovkit common: the context every library call takes, and the host-root layer through which
 * all access to /sys, /dev and /proc goes.
 *
 * Conventions of every iovkit library:
 *  - Functions return 0 (or a non-negative count) on success and a negative errno on failure.
 *    Output parameters are named ret_* and are written only on success.
 *  - Libraries do not log errors. When a call fails, iov_ctx_reason() says why in words that
 *    name the object (a BDF, a group, a path); the program shows it once.
 *  - A context is used by one thread at a time. Contexts share nothing, so threads that each
 *    have their own may run in parallel.
 */
#ifndef IOVKIT_COMMON_H
#define IOVKIT_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOV_PRINTF(f, a) __attribute__((format(printf, f, a)))

struct iov_ctx;

/* Log levels, as syslog(3) numbers them. */
enum iov_log_level {
	IOV_LOG_ERR = 3,
	IOV_LOG_WARNING = 4,
	IOV_LOG_NOTICE = 5,
	IOV_LOG_INFO = 6,
	IOV_LOG_DEBUG = 7,
};

/*
 * Called for each message at or below the context's level. @msg has no trailing newline and
 * is valid only during the call. Runs on the thread that made the library call.
 */
typedef void (*iov_log_fn)(void *userdata, enum iov_log_level level, const char *msg);

/*
 * Creates a context whose host root is @root ("/" for the running host; a directory holding
 * sys/, dev/, proc/ for a fixture tree or a mounted image). NULL means "/".
 * Errors: -ENOENT / -ENOTDIR / -EACCES opening the root, -ENOMEM.
 * The caller owns *ret and frees it with iov_ctx_free().
 */
int iov_ctx_new(const char *root, struct iov_ctx **ret);

/* Frees a context; accepts NULL. */
void iov_ctx_free(struct iov_ctx *ctx);

/* The root the context was opened on; owned by the context. */
const char *iov_ctx_root(const struct iov_ctx *ctx);

/*
 * Routes library messages of @max_level and more severe to @fn (NULL: drop them, the
 * default). Libraries send only debug and informational messages; errors come back as
 * return values.
 */
void iov_ctx_set_log(struct iov_ctx *ctx, iov_log_fn fn, void *userdata, enum iov_log_level max_level);

/*
 * Where iovkit keeps its journals, relative to the host root; default "var/lib/iovkit". The
 * string is copied. -ENOMEM.
 */
int iov_ctx_set_state_dir(struct iov_ctx *ctx, const char *dir);
const char *iov_ctx_state_dir(const struct iov_ctx *ctx);

/*
 * Why the last failed call on @ctx failed, in words ("0000:03:00.0: no such PCI device"), or
 * "" when it said nothing beyond its errno. Valid until the next call on @ctx.
 */
const char *iov_ctx_reason(const struct iov_ctx *ctx);

/* strerror() for a negative (or positive) errno; thread-safe, never NULL. */
const char *iov_strerror(int err);

/* The errno's symbolic name ("ENOENT"), or NULL if unknown; for machine-readable output. */
const char *iov_errno_name(int err);

/*
 * @s as a whole unsigned number in @base (as strtoul() takes it: 0 reads 0x... as hex) within
 * [@min, @max], into @out: 0; -EINVAL when @s is empty, signed, or has anything after its
 * digits; -ERANGE when it is outside the bounds. @out is left alone on failure. What every
 * command line's numbers go through.
 */
int iov_parse_ulong(const char *s, int base, unsigned long min, unsigned long max, unsigned long *out);

/* A UUID's text form with its NUL: what names mdev instances and VF tokens. */
#define IOV_UUID_LEN 37

/* Whether @s is a UUID in the 8-4-4-4-12 hex form the kernel accepts. */
bool iov_uuid_valid(const char *s);

/* @s in the lower case sysfs names UUIDs in, into @out; false (and @out untouched) when @s is
 * not a UUID. */
bool iov_uuid_canon(const char *s, char out[IOV_UUID_LEN]);

/*
 * The host-root layer. Every path is a printf format, relative to the context's root
 * ("sys/bus/pci/devices/%s/driver"); a leading '/' is ignored. Resolution never leaves the
 * root: ".." stops at it and absolute symlinks resolve inside it, as they would on the host
 * the tree was taken from. A path that formats longer than PATH_MAX fails with -ENAMETOOLONG.
 */

/*
 * Reads a whole attribute file into @buf (NUL-terminated), trailing whitespace removed.
 * Returns the length. -ENOBUFS when it does not fit in @size - 1 bytes.
 */
int iov_attr_read(struct iov_ctx *ctx, char *buf, size_t size, const char *fmt, ...) IOV_PRINTF(4, 5);

/*
 * Reads an attribute holding one integer, decimal or 0x-prefixed hex as sysfs writes them
 * ("8", "0x8086", "-1"). -EINVAL if the file holds anything else, -ERANGE if out of range.
 */
int iov_attr_read_u64(struct iov_ctx *ctx, uint64_t *ret, const char *fmt, ...) IOV_PRINTF(3, 4);
int iov_attr_read_s64(struct iov_ctx *ctx, int64_t *ret, const char *fmt, ...) IOV_PRINTF(3, 4);

/*
 * Writes @value to an existing attribute in one write(2), as sysfs requires. Returns 0, or the
 * negative errno the kernel's store method gave (-EINVAL, -EBUSY, ...). Never creates a file.
 */
int iov_attr_write(struct iov_ctx *ctx, const char *value, const char *fmt, ...) IOV_PRINTF(3, 4);

/* Reads a symbolic link's target into @buf. Returns its length; -EINVAL if not a link. */
int iov_link_read(struct iov_ctx *ctx, char *buf, size_t size, const char *fmt, ...) IOV_PRINTF(4, 5);

/* The last component of a link's target: the driver of ".../driver", the group of ".../iommu_group". */
int iov_link_basename(struct iov_ctx *ctx, char *buf, size_t size, const char *fmt, ...) IOV_PRINTF(4, 5);

/*
 * Lists a directory's entries, without "." and "..", sorted in natural order ("virtfn2" before
 * "virtfn10"). *ret is a NULL-terminated array the caller frees with iov_strv_free().
 * Returns the number of entries.
 */
int iov_dir_list(struct iov_ctx *ctx, char ***ret, const char *fmt, ...) IOV_PRINTF(3, 4);

/* Frees a NULL-terminated string array; accepts NULL. */
void iov_strv_free(char **strv);

/*
 * The same reads relative to a directory fd from iov_path_open(..., O_PATH | O_DIRECTORY, ...),
 * for code that reads many attributes of one object. @name is one path component (no '/'), so
 * the lookup stays where the directory is; -EINVAL otherwise.
 */
int iov_attr_read_at(int dirfd, const char *name, char *buf, size_t size);
int iov_link_basename_at(int dirfd, const char *name, char *buf, size_t size);

/*
 * Replaces a regular file under the root atomically: writes a temporary file beside it, fsyncs
 * it, renames it over @fmt's path and fsyncs the directory, so a crash leaves the old content or
 * the new, never a mix. Missing parent directories are created (mode 0755). @mode applies to a
 * new file.
 */
int iov_file_replace(struct iov_ctx *ctx, const void *data, size_t len, mode_t mode, const char *fmt, ...)
	IOV_PRINTF(5, 6);

/* Opens a path under the root with open(2) @flags (O_CLOEXEC is always added). Returns the fd, which the caller owns. */
int iov_path_open(struct iov_ctx *ctx, int flags, const char *fmt, ...) IOV_PRINTF(3, 4);

/*
 * The absolute path this process sees for @fmt under the root ("/dev/vfio/vfio" on the running
 * host, ROOT/dev/vfio/vfio under a test or lab root): for messages, and for libraries that take
 * a path rather than an fd (libpci). The length, or -ENAMETOOLONG when it does not fit @size.
 */
int iov_path_abs(struct iov_ctx *ctx, char *buf, size_t size, const char *fmt, ...) IOV_PRINTF(4, 5);

/* 1 if the path exists (a dangling link counts), 0 if not, negative errno on other errors. */
int iov_path_exists(struct iov_ctx *ctx, const char *fmt, ...) IOV_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif
#endif
