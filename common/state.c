/* SPDX-License-Identifier: MIT */
/* JSON state files in the context's state directory (iovkit-internal/ctx.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "common-internal.h"

IOV_EXPORT int iov_state_load(struct iov_ctx *ctx, const char *name, const char *const *keys, json_t **ret)
{
	_cleanup_close_ int fd = iov_path_open(ctx, O_RDONLY, "%s/%s", ctx->state_dir, name);
	json_error_t err = { .text = "" };
	json_t *root;

	if (fd < 0 && fd != -ENOENT)
		return iov_ctx_fail(ctx, fd, "reading %s/%s: %s", ctx->state_dir, name, iov_strerror(fd));
	root = fd >= 0 ? json_loadfd(fd, 0, &err) : json_pack("{s:i}", "version", 1);
	for (const char *const *k = keys; root && *k; k++) {
		json_t *v = json_object_get(root, *k);

		if (fd < 0 && !v) {
			json_object_set_new(root, *k, json_object());
		} else if (!json_is_object(v)) {
			snprintf(err.text, sizeof(err.text), "no \"%s\" object", *k);
			json_decref(root);
			root = NULL;
		}
	}
	if (!root && fd >= 0)
		return iov_ctx_fail(ctx, -EBADMSG, "%s/%s is damaged (%s); move it aside to continue", ctx->state_dir, name,
				    err.text);
	if (!root)
		return -ENOMEM;
	*ret = root;
	return 0;
}

IOV_EXPORT int iov_state_save(struct iov_ctx *ctx, const char *name, json_t *root, mode_t mode)
{
	_cleanup_free_ char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	int r;

	if (!text)
		return -ENOMEM;
	r = iov_file_replace(ctx, text, strlen(text), mode, "%s/%s", ctx->state_dir, name);
	return r < 0 ? iov_ctx_fail(ctx, r, "writing %s/%s: %s", ctx->state_dir, name, iov_strerror(r)) : 0;
}
