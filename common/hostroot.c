/* SPDX-License-Identifier: MIT */
/*
 * The host-root layer: every /sys, /dev and /proc access of every iovkit library comes through
 * here, relative to the context's root, so that tests and the lab can point a library at a tree
 * they built. Lookups use openat2(RESOLVE_IN_ROOT): sysfs links are relative and resolve the
 * same either way, and absolute links in a captured tree resolve inside it instead of on the
 * build machine.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common-internal.h"

int path_vformat(char *buf, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, PATH_MAX, fmt, ap);

	if (n < 0)
		return -EINVAL;
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	return n;
}

/* Formats the variadic path of a public helper into a local buffer named "path". */
#define FORMAT_PATH(fmt)                                    \
	char path[PATH_MAX];                                \
	do {                                                \
		va_list _ap;                                \
		int _r;                                     \
		va_start(_ap, fmt);                         \
		_r = path_vformat(path, fmt, _ap);          \
		va_end(_ap);                                \
		if (_r < 0)                                 \
			return _r;                          \
	} while (0)

int root_open(struct iov_ctx *ctx, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	/*
	 * RESOLVE_IN_ROOT fails a lookup through ".." with EAGAIN when any rename or mount happened
	 * anywhere on the system meanwhile (the kernel cannot prove it stayed inside the root);
	 * sysfs links are full of "..", so retry: a rename storm lasts microseconds, not forever.
	 */
	for (int tries = 0; tries < 1000; tries++) {
		fd = (int)syscall(SYS_openat2, ctx->root_fd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	if (fd < 0 && errno == ENOSYS) {
		/* Before Linux 5.6: plain openat, which is the same on the real root. */
		fd = openat(ctx->root_fd, path, flags | O_CLOEXEC, mode);
	}
	return fd < 0 ? negative_errno() : fd;
}

int fd_read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	if (size < 2)
		return -ENOBUFS;
	/*
	 * One read: a sysfs attribute's show() fills the whole answer at once (at most a page), and
	 * a short read of a regular file means its end. Only a full buffer needs a second look.
	 */
	do {
		n = read(fd, buf, size - 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	len = (size_t)n;
	while (len == size - 1) {
		char extra;

		n = read(fd, &extra, 1);
		if (n > 0)
			return -ENOBUFS;
		if (n == 0 || errno != EINTR)
			break;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\0'))
		len--;
	buf[len] = '\0';
	return (int)len;
}

IOV_EXPORT int iov_attr_read(struct iov_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
{
	_cleanup_close_ int fd = -1;
	FORMAT_PATH(fmt);

	fd = root_open(ctx, path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	return fd_read_all(fd, buf, size);
}

int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_s64(const char *s, int64_t *ret)
{
	long long v;
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Reads an integer attribute at an already formatted path with the given parser. */
static int attr_read_number(struct iov_ctx *ctx, const char *path, void *ret, bool is_signed)
{
	_cleanup_close_ int fd = -1;
	char buf[64];
	int r;

	fd = root_open(ctx, path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	r = fd_read_all(fd, buf, sizeof(buf));
	if (r < 0)
		return r == -ENOBUFS ? -EINVAL : r;
	return is_signed ? parse_s64(buf, ret) : parse_u64(buf, ret);
}

IOV_EXPORT int iov_attr_read_u64(struct iov_ctx *ctx, uint64_t *ret, const char *fmt, ...)
{
	uint64_t v;
	int r;
	FORMAT_PATH(fmt);

	r = attr_read_number(ctx, path, &v, false);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

IOV_EXPORT int iov_attr_read_s64(struct iov_ctx *ctx, int64_t *ret, const char *fmt, ...)
{
	int64_t v;
	int r;
	FORMAT_PATH(fmt);

	r = attr_read_number(ctx, path, &v, true);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

IOV_EXPORT int iov_attr_write(struct iov_ctx *ctx, const char *value, const char *fmt, ...)
{
	_cleanup_close_ int fd = -1;
	size_t len = strlen(value);
	ssize_t n;
	FORMAT_PATH(fmt);

	if (ctx->attr_store)
		return ctx->attr_store(ctx->attr_store_userdata, ctx, path, value);
	fd = root_open(ctx, path, O_WRONLY | O_NOCTTY, 0);
	if (fd < 0)
		return fd;
	do {
		n = write(fd, value, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	/* sysfs stores take the whole buffer at once; a short write means it refused the rest. */
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

/* Reads the link at an already formatted path. */
static int link_read(struct iov_ctx *ctx, const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	fd = root_open(ctx, path, O_PATH | O_NOFOLLOW, 0);
	if (fd < 0)
		return fd;
	if (size == 0)
		return -ENOBUFS;
	n = readlinkat(fd, "", buf, size);
	if (n < 0)
		return errno == ENOENT ? -EINVAL : negative_errno();   /* "" on a non-link: ENOENT */
	if ((size_t)n >= size)
		return -ENOBUFS;
	buf[n] = '\0';
	return (int)n;
}

IOV_EXPORT int iov_link_read(struct iov_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
{
	FORMAT_PATH(fmt);
	return link_read(ctx, path, buf, size);
}

/* Copies the last component of link target @target (@n bytes, NUL-terminated) into @buf. */
static int target_basename(char *target, size_t n, char *buf, size_t size)
{
	const char *base;
	size_t len;

	while (n > 1 && target[n - 1] == '/')
		target[--n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	len = strlen(base);
	if (len >= size)
		return -ENOBUFS;
	memcpy(buf, base, len + 1);
	return (int)len;
}

IOV_EXPORT int iov_link_basename(struct iov_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
{
	char target[PATH_MAX];
	int r;
	FORMAT_PATH(fmt);

	r = link_read(ctx, path, target, sizeof(target));
	if (r < 0)
		return r;
	return target_basename(target, (size_t)r, buf, size);
}

static bool is_component(const char *name)
{
	return name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

IOV_EXPORT int iov_attr_read_at(int dirfd, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;

	if (!is_component(name))
		return -EINVAL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	return fd_read_all(fd, buf, size);
}

IOV_EXPORT int iov_link_basename_at(int dirfd, const char *name, char *buf, size_t size)
{
	char target[PATH_MAX];
	ssize_t n;

	if (!is_component(name))
		return -EINVAL;
	n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0)
		return negative_errno();
	target[n] = '\0';
	return target_basename(target, (size_t)n, buf, size);
}

IOV_EXPORT void iov_strv_free(char **strv)
{
	if (!strv)
		return;
	for (char **s = strv; *s; s++)
		free(*s);
	free(strv);
}

static int compare_natural(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

IOV_EXPORT int iov_dir_list(struct iov_ctx *ctx, char ***ret, const char *fmt, ...)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;
	int fd, r = 0;
	FORMAT_PATH(fmt);

	fd = root_open(ctx, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	dir = fdopendir(fd);
	if (!dir) {
		r = negative_errno();
		close(fd);
		return r;
	}
	/* the DIR owns fd now */
	while ((errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n + 2 > cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **grown = realloc(names, ncap * sizeof(*names));

			if (!grown) {
				r = -ENOMEM;
				goto err_free_names;
			}
			names = grown;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto err_free_names;
		}
		names[++n] = NULL;
	}
	if (errno) {
		r = negative_errno();
		goto err_free_names;
	}
	closedir(dir);
	if (!names) {
		names = calloc(1, sizeof(*names));
		if (!names)
			return -ENOMEM;
	}
	qsort(names, n, sizeof(*names), compare_natural);
	*ret = names;
	return (int)n;

err_free_names:
	if (names)
		names[n] = NULL;
	iov_strv_free(names);
	closedir(dir);
	return r;
}

IOV_EXPORT int iov_path_open(struct iov_ctx *ctx, int flags, const char *fmt, ...)
{
	FORMAT_PATH(fmt);
	return root_open(ctx, path, flags, 0);
}

IOV_EXPORT int iov_path_abs(struct iov_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
{
	const char *rel;
	int n;
	FORMAT_PATH(fmt);

	for (rel = path; *rel == '/'; rel++)
		;
	n = snprintf(buf, size, "%s/%s", strcmp(ctx->root, "/") ? ctx->root : "", rel);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

IOV_EXPORT int iov_path_exists(struct iov_ctx *ctx, const char *fmt, ...)
{
	int fd;
	FORMAT_PATH(fmt);

	fd = root_open(ctx, path, O_PATH | O_NOFOLLOW, 0);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return fd == -ENOENT || fd == -ENOTDIR ? 0 : fd;
}

/*
 * Opens (O_PATH) the directory that holds root-relative @path and points *@name at @path's
 * last component. @path is split at its last '/' only while the directory is opened.
 */
static int root_open_parent(struct iov_ctx *ctx, char *path, const char **name)
{
	char *slash = strrchr(path, '/');
	int fd;

	if (!slash) {
		*name = path;
		return root_open(ctx, ".", O_PATH | O_DIRECTORY, 0);
	}
	*slash = '\0';
	fd = root_open(ctx, path, O_PATH | O_DIRECTORY, 0);
	*slash = '/';
	*name = slash + 1;
	return fd;
}

/* mkdir -p of an already formatted root-relative directory path. */
static int root_mkdir_p(struct iov_ctx *ctx, const char *dir)
{
	char partial[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof(partial))
		return -ENAMETOOLONG;
	memcpy(partial, dir, len + 1);
	for (char *s = partial + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char saved = *s;
			_cleanup_close_ int parent = -1;
			const char *name;

			*s = '\0';
			parent = root_open_parent(ctx, partial, &name);
			if (parent < 0)
				return parent;
			if (*name && mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
				return negative_errno();
			*s = saved;
			if (!saved)
				return 0;
		}
	}
}

IOV_EXPORT int iov_file_replace(struct iov_ctx *ctx, const void *data, size_t len, mode_t mode, const char *fmt, ...)
{
	_cleanup_close_ int dir = -1, fd = -1;
	char tmp[NAME_MAX + 1];
	const char *name;
	char *slash;
	int r;
	FORMAT_PATH(fmt);

	slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		r = root_mkdir_p(ctx, path);
		*slash = '/';
		if (r < 0)
			return r;
	}
	dir = root_open_parent(ctx, path, &name);
	if (dir < 0)
		return dir;
	if (!*name)
		return -EISDIR;
	if (snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", name, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* O_PATH fds cannot be fsynced or written through; reopen the directory for that. */
	_cleanup_close_ int dirw = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirw < 0)
		return negative_errno();
	fd = openat(dirw, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return negative_errno();
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = negative_errno();
			goto err_unlink;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		r = negative_errno();
		goto err_unlink;
	}
	if (renameat(dirw, tmp, dirw, name) < 0) {
		r = negative_errno();
		goto err_unlink;
	}
	fsync(dirw);
	return 0;

err_unlink:
	unlinkat(dirw, tmp, 0);
	return r;
}
