/* SPDX-License-Identifier: MIT */
/* The library context: host root, log hook, and the reason of the last failure. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "common-internal.h"

IOV_EXPORT int iov_ctx_new(const char *root, struct iov_ctx **ret)
{
	_cleanup_free_ struct iov_ctx *ctx = NULL;

	if (!ret)
		return -EINVAL;
	if (!root || !*root)
		root = "/";
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->root = strdup(root);
	if (!ctx->root)
		return -ENOMEM;
	ctx->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->root_fd < 0) {
		int r = negative_errno();
		free(ctx->root);
		return r;
	}
	ctx->log_level = IOV_LOG_INFO;
	ctx->state_dir = strdup("var/lib/iovkit");
	if (!ctx->state_dir) {
		iov_ctx_free(TAKE_PTR(ctx));
		return -ENOMEM;
	}
	*ret = TAKE_PTR(ctx);
	return 0;
}

IOV_EXPORT void iov_ctx_free(struct iov_ctx *ctx)
{
	if (!ctx)
		return;
	closep(&ctx->root_fd);
	free(ctx->root);
	free(ctx->state_dir);
	free(ctx);
}

IOV_EXPORT const char *iov_ctx_root(const struct iov_ctx *ctx)
{
	return ctx->root;
}

IOV_EXPORT int iov_ctx_set_state_dir(struct iov_ctx *ctx, const char *dir)
{
	char *copy;

	while (*dir == '/')
		dir++;
	copy = strdup(*dir ? dir : ".");
	if (!copy)
		return -ENOMEM;
	free(ctx->state_dir);
	ctx->state_dir = copy;
	return 0;
}

IOV_EXPORT const char *iov_ctx_state_dir(const struct iov_ctx *ctx)
{
	return ctx->state_dir;
}

IOV_EXPORT void iov_ctx_set_log(struct iov_ctx *ctx, iov_log_fn fn, void *userdata, enum iov_log_level max_level)
{
	ctx->log_fn = fn;
	ctx->log_userdata = userdata;
	ctx->log_level = max_level;
}

IOV_EXPORT const char *iov_ctx_reason(const struct iov_ctx *ctx)
{
	return ctx->reason;
}

IOV_EXPORT void iov_ctx_log(struct iov_ctx *ctx, enum iov_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!ctx->log_fn || level > ctx->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->log_fn(ctx->log_userdata, level, msg);
}

IOV_EXPORT int iov_ctx_fail(struct iov_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->reason, sizeof(ctx->reason), fmt, ap);
	va_end(ap);
	return err;
}

IOV_EXPORT void iov_ctx_reason_clear(struct iov_ctx *ctx)
{
	ctx->reason[0] = '\0';
}

IOV_EXPORT const char *iov_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	s = strerrordesc_np(err);
	return s ? s : "Unknown error";
}

IOV_EXPORT const char *iov_errno_name(int err)
{
	if (err < 0)
		err = -err;
	return strerrorname_np(err);
}

IOV_EXPORT int iov_parse_ulong(const char *s, int base, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (*end || end == s)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

IOV_EXPORT bool iov_uuid_valid(const char *s)
{
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (!s || strlen(s) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i]; i++)
		if (form[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return false;
	return true;
}

IOV_EXPORT bool iov_uuid_canon(const char *s, char out[IOV_UUID_LEN])
{
	if (!iov_uuid_valid(s))
		return false;
	for (size_t i = 0; i < IOV_UUID_LEN; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	return true;
}
