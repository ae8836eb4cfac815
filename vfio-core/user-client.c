/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user client backend (QEMU docs/interop/vfio-user.rst): the same device and DMA
 * operations as the kernel backend, as messages to a server over a Unix socket.
 *
 * Threat model: the server is another process and is not trusted. Every reply is checked
 * against the request it answers (id, command, type), payload sizes are checked before use,
 * counts the server reports are bounded, and fds it sends are taken only where the protocol
 * sends one (a mappable region) and closed otherwise.
 *
 * DMA: this client shares memory with the server by fd (iov_vfio_dma_map_fd with a memfd or
 * other shareable file); it does not serve VFIO_USER_DMA_READ/WRITE, and answers them with
 * ENOTSUP.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <jansson.h>

#include "vfio-internal.h"
#include "vfio-user-proto.h"

struct vfu_conn {
	int sock;
	uint16_t next_id;
	uint32_t max_fds;             /* the server accepts this many fds in one message */
	uint32_t max_xfer;            /* and this much data in one read or write */
};

/*
 * One request and its reply. The reply payload is copied into @reply (at most @reply_max
 * bytes; *ret_len says how much came); up to @max_ret_fds fds are handed over in @ret_fds.
 */
static int call(struct iov_vfio_container *c, uint16_t cmd, const void *req, size_t req_len, const int *fds,
		unsigned int nfds, void *reply, size_t reply_max, size_t *ret_len, int *ret_fds, unsigned int max_ret_fds)
{
	struct vfu_conn *conn = c->conn;
	struct vu_hdr hdr = { .id = conn->next_id++, .cmd = cmd, .flags = VU_TYPE_COMMAND };
	struct vu_msg msg;
	int r;

	if (nfds > conn->max_fds)
		return iov_ctx_fail(c->ctx, -EINVAL, "%s: %u fds, but the server takes at most %u in one message",
				    vu_cmd_name(cmd), nfds, conn->max_fds);
	r = vu_send(conn->sock, &hdr, req, req_len, fds, nfds);
	if (r < 0)
		return iov_ctx_fail(c->ctx, r, "vfio-user: sending %s: %s", vu_cmd_name(cmd), iov_strerror(r));
	for (;;) {
		r = vu_recv(conn->sock, &msg, VU_MAX_MSG, VU_MAX_FDS);
		if (r < 0)
			return iov_ctx_fail(c->ctx, r, "vfio-user: waiting for the reply to %s: %s", vu_cmd_name(cmd),
					    r == -ECONNRESET ? "the server closed the connection" : iov_strerror(r));
		if ((msg.hdr.flags & VU_TYPE_MASK) == VU_TYPE_COMMAND) {
			/* A server-to-client command (DMA_READ/WRITE): not served here. */
			struct vu_hdr rep = { .id = msg.hdr.id, .cmd = msg.hdr.cmd, .flags = VU_TYPE_REPLY | VU_F_ERROR,
					      .error = ENOTSUP };

			if (!(msg.hdr.flags & VU_F_NO_REPLY))
				vu_send(conn->sock, &rep, NULL, 0, NULL, 0);
			vu_msg_release(&msg);
			continue;
		}
		break;
	}
	if ((msg.hdr.flags & VU_TYPE_MASK) != VU_TYPE_REPLY || msg.hdr.id != hdr.id || msg.hdr.cmd != cmd) {
		r = iov_ctx_fail(c->ctx, -EPROTO, "vfio-user: the reply to %s (id %u) came as %s id %u", vu_cmd_name(cmd), hdr.id,
				 vu_cmd_name(msg.hdr.cmd), msg.hdr.id);
		goto out;
	}
	if (msg.hdr.flags & VU_F_ERROR) {
		int err = msg.hdr.error > 0 && msg.hdr.error < 4096 ? (int)msg.hdr.error : EIO;

		r = iov_ctx_fail(c->ctx, -err, "vfio-user: the server refused %s: %s", vu_cmd_name(cmd), iov_strerror(err));
		goto out;
	}
	if (msg.len > reply_max) {
		r = iov_ctx_fail(c->ctx, -EMSGSIZE, "vfio-user: the reply to %s has %zu bytes, more than the %zu expected",
				 vu_cmd_name(cmd), msg.len, reply_max);
		goto out;
	}
	if (msg.len)
		memcpy(reply, msg.payload, msg.len);
	if (ret_len)
		*ret_len = msg.len;
	for (unsigned int i = 0; i < msg.nfds && i < max_ret_fds; i++) {
		ret_fds[i] = msg.fds[i];
		msg.fds[i] = -1;   /* the caller owns it now */
	}
	r = 0;
out:
	vu_msg_release(&msg);
	return r;
}

static uint64_t json_u64(json_t *caps, const char *key, uint64_t def, uint64_t max)
{
	json_t *v = json_object_get(caps, key);

	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return def;
	return (uint64_t)json_integer_value(v) > max ? max : (uint64_t)json_integer_value(v);
}

IOV_EXPORT int iov_vfio_container_new_user(struct iov_ctx *ctx, const char *path, struct iov_vfio_container **ret)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uint8_t req[256], reply[4096];
	struct iov_vfio_container *c;
	struct vfu_conn *conn;
	size_t len = 0, caps_len;
	uint16_t major, minor;
	json_t *root, *caps;
	int r;

	iov_ctx_reason_clear(ctx);
	if (!path || strlen(path) >= sizeof(addr.sun_path))
		return iov_ctx_fail(ctx, -EINVAL, "vfio-user socket path '%s' is empty or too long", path ? path : "");
	strcpy(addr.sun_path, path);
	c = container_alloc(ctx, &vfio_user_backend);
	conn = calloc(1, sizeof(*conn));
	if (!c || !conn) {
		free(c);
		free(conn);
		return -ENOMEM;
	}
	c->conn = conn;
	conn->max_fds = 1;
	conn->max_xfer = VU_MAX_DATA_XFER;
	conn->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn->sock < 0 || connect(conn->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = iov_ctx_fail(ctx, negative_errno(), "connecting to the vfio-user server at %s: %s", path, iov_strerror(-errno));
		goto err;
	}

	/* VFIO_USER_VERSION: major, minor, then our capabilities as JSON with its NUL. */
	major = VU_MAJOR;
	minor = VU_MINOR;
	memcpy(req, &major, 2);
	memcpy(req + 2, &minor, 2);
	caps_len = (size_t)snprintf((char *)req + 4, sizeof(req) - 4,
				    "{\"capabilities\":{\"max_msg_fds\":%u,\"max_data_xfer_size\":%u}}", VU_MAX_FDS,
				    VU_MAX_DATA_XFER) + 1;
	r = call(c, VU_VERSION, req, 4 + caps_len, NULL, 0, reply, sizeof(reply) - 1, &len, NULL, 0);
	if (r == -EBUSY)
		r = iov_ctx_fail(ctx, r, "the vfio-user server at %s is serving another client", path);
	if (r < 0)
		goto err;
	if (len < 4) {
		r = iov_ctx_fail(ctx, -EPROTO, "vfio-user: the version reply has %zu bytes", len);
		goto err;
	}
	memcpy(&major, reply, 2);
	memcpy(&minor, reply + 2, 2);
	if (major != VU_MAJOR || minor > VU_MINOR) {
		r = iov_ctx_fail(ctx, -EPROTONOSUPPORT, "vfio-user: the server answered version %u.%u to our %u.%u", major, minor,
				 VU_MAJOR, VU_MINOR);
		goto err;
	}
	reply[len] = '\0';   /* the JSON may lack its NUL */
	root = len > 4 ? json_loads((const char *)reply + 4, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	caps = json_object_get(root, "capabilities");
	conn->max_fds = (uint32_t)json_u64(caps, "max_msg_fds", 1, VU_MAX_FDS);
	conn->max_xfer = (uint32_t)json_u64(caps, "max_data_xfer_size", 1 << 20, VU_MAX_DATA_XFER);
	c->info.pgsizes = json_u64(caps, "pgsizes", 4096, UINT64_MAX);
	c->info.dma_avail = (int64_t)json_u64(caps, "max_dma_maps", 65535, 1 << 20);
	json_decref(root);
	c->model = 1;
	c->info.model = "vfio-user";
	c->info.n_ranges = 1;
	c->info.ranges[0] = (struct iov_iova_range){ 0, UINT64_MAX };
	*ret = c;
	return 0;
err:
	closep(&conn->sock);
	free(conn);
	free(c);
	return r;
}

static void user_container_free(struct iov_vfio_container *c)
{
	if (c->conn)
		closep(&c->conn->sock);
	free(c->conn);
	c->conn = NULL;
}

static int user_device_open(struct iov_vfio_container *c, const char *bdf, const char *vf_token, struct iov_vfio_device *d)
{
	struct { uint32_t argsz, flags, num_regions, num_irqs; } info = { .argsz = 16 };
	size_t len = 0;
	int r;

	if (c->user_device_open)
		return iov_ctx_fail(c->ctx, -EBUSY, "the device behind this vfio-user connection is already open");
	r = call(c, VU_DEVICE_GET_INFO, &info, sizeof(info), NULL, 0, &info, sizeof(info), &len, NULL, 0);
	if (r < 0)
		return r;
	if (len < 16)
		return iov_ctx_fail(c->ctx, -EPROTO, "vfio-user: the device info reply has %zu bytes", len);
	/* Bounded: the server's numbers size nothing we allocate, but keep them sane. */
	if (info.num_regions > ARRAY_SIZE(d->region_fds) || info.num_irqs > 16)
		return iov_ctx_fail(c->ctx, -EPROTO, "vfio-user: the server claims %u regions and %u IRQ indexes", info.num_regions,
				    info.num_irqs);
	d->info.flags = info.flags;
	d->info.num_regions = info.num_regions;
	d->info.num_irqs = info.num_irqs;
	snprintf(d->bdf, sizeof(d->bdf), "vfio-user");
	c->user_device_open = true;
	return 0;
}

static void user_device_close(struct iov_vfio_device *d)
{
	d->c->user_device_open = false;
}

static int user_dma_map(struct iov_vfio_container *c, uint64_t vaddr, uint64_t len, uint64_t iova, int prot, int fd,
			uint64_t fd_offset)
{
	struct { uint32_t argsz, flags; uint64_t offset, address, size; } map = {
		.argsz = 32,
		.flags = ((prot & IOV_DMA_READ) ? 1u : 0u) | ((prot & IOV_DMA_WRITE) ? 2u : 0u),
		.offset = fd_offset,
		.address = iova,
		.size = len,
	};

	if (fd < 0)
		return iov_ctx_fail(c->ctx, -EOPNOTSUPP,
				    "vfio-user DMA needs memory the server can map: use iov_vfio_dma_map_fd with a memfd");
	return call(c, VU_DMA_MAP, &map, sizeof(map), &fd, 1, NULL, 0, NULL, NULL, 0);
}

static int user_dma_unmap(struct iov_vfio_container *c, uint64_t iova, uint64_t len)
{
	struct { uint32_t argsz, flags; uint64_t address, size; } unmap = { .argsz = 24, .address = iova, .size = len }, echo;

	return call(c, VU_DMA_UNMAP, &unmap, sizeof(unmap), NULL, 0, &echo, sizeof(echo), NULL, NULL, 0);
}

static int user_region_info(struct iov_vfio_device *d, uint32_t index, struct vfio_region_info **ret, size_t *ret_size,
			    int *ret_fd)
{
	struct vfio_region_info req = { .argsz = 4096, .index = index }, *info;
	int fd = -1, r;
	size_t len = 0;

	info = calloc(1, 4096);
	if (!info)
		return -ENOMEM;
	r = call(d->c, VU_DEVICE_GET_REGION_INFO, &req, sizeof(req), NULL, 0, info, 4096, &len, &fd, 1);
	if (r == 0 && (len < sizeof(*info) || info->index != index)) {
		closep(&fd);
		r = iov_ctx_fail(d->c->ctx, -EPROTO, "vfio-user: region info reply for %u: %zu bytes, index %u", index, len,
				 len >= sizeof(*info) ? info->index : 0);
	}
	if (r < 0) {
		free(info);
		return r;
	}
	if (!(info->flags & VFIO_REGION_INFO_FLAG_MMAP))
		closep(&fd);   /* an fd for a region that is not mappable is not ours to keep */
	if (fd >= 0) {
		closep(&d->region_fds[index]);
		d->region_fds[index] = fd;
	}
	if (d->region_fds[index] < 0)
		info->flags &= ~(uint32_t)VFIO_REGION_INFO_FLAG_MMAP;   /* mappable only through an fd */
	*ret = info;
	*ret_size = len;
	*ret_fd = d->region_fds[index];
	return 0;
}

static ssize_t user_region_rw(struct iov_vfio_device *d, const struct iov_vfio_region *r, uint64_t offset, void *buf,
			      size_t len, bool write)
{
	struct vfu_conn *conn = d->c->conn;
	size_t done = 0;

	/* In pieces of at most max_data_xfer_size, as the spec requires. */
	while (done < len) {
		size_t step = len - done < conn->max_xfer ? len - done : conn->max_xfer;
		struct { uint64_t offset; uint32_t region, count; } hdr = { offset + done, r->index, (uint32_t)step }, echo;
		_cleanup_free_ uint8_t *msg = malloc(sizeof(hdr) + step);
		size_t got = 0;
		int e;

		if (!msg)
			return -ENOMEM;
		memcpy(msg, &hdr, sizeof(hdr));
		if (write) {
			memcpy(msg + sizeof(hdr), (uint8_t *)buf + done, step);
			e = call(d->c, VU_REGION_WRITE, msg, sizeof(hdr) + step, NULL, 0, &echo, sizeof(echo), &got, NULL, 0);
			if (e == 0 && (got != sizeof(echo) || echo.count != step))
				e = iov_ctx_fail(d->c->ctx, -EIO, "vfio-user: region %u write at 0x%" PRIx64 ": %u of %zu bytes taken",
						 r->index, offset + done, got == sizeof(echo) ? echo.count : 0, step);
		} else {
			e = call(d->c, VU_REGION_READ, &hdr, sizeof(hdr), NULL, 0, msg, sizeof(hdr) + step, &got, NULL, 0);
			memcpy(&echo, msg, sizeof(echo));
			if (e == 0 && (got != sizeof(hdr) + step || echo.count != step))
				e = iov_ctx_fail(d->c->ctx, -EIO, "vfio-user: region %u read at 0x%" PRIx64 ": %zu bytes back for %zu",
						 r->index, offset + done, got > sizeof(hdr) ? got - sizeof(hdr) : 0, step);
			if (e == 0)
				memcpy((uint8_t *)buf + done, msg + sizeof(hdr), step);
		}
		if (e < 0)
			return e;
		done += step;
	}
	return (ssize_t)done;
}

static int user_irq_info(struct iov_vfio_device *d, struct vfio_irq_info *info)
{
	struct vfio_irq_info req = { .argsz = sizeof(req), .index = info->index };
	size_t len = 0;
	int r;

	r = call(d->c, VU_DEVICE_GET_IRQ_INFO, &req, sizeof(req), NULL, 0, info, sizeof(*info), &len, NULL, 0);
	if (r == 0 && (len < sizeof(*info) || info->index != req.index || info->count > 2048))
		r = iov_ctx_fail(d->c->ctx, -EPROTO, "vfio-user: IRQ info reply for index %u is malformed", req.index);
	return r;
}

static int user_set_irqs(struct iov_vfio_device *d, struct vfio_irq_set *set, size_t size, const int *fds,
			 unsigned int nfds)
{
	/* The fds travel as SCM_RIGHTS, not in the payload; SCM_RIGHTS cannot carry "no fd". */
	for (unsigned int i = 0; i < nfds; i++)
		if (fds[i] < 0)
			return iov_ctx_fail(d->c->ctx, -EINVAL, "vfio-user: every vector in one SET_IRQS needs an eventfd");
	set->argsz = sizeof(*set);
	return call(d->c, VU_DEVICE_SET_IRQS, set, sizeof(*set), fds, nfds, NULL, 0, NULL, NULL, 0);
}

static int user_reset(struct iov_vfio_device *d)
{
	return call(d->c, VU_DEVICE_RESET, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, 0);
}

static int user_hot_reset(struct iov_vfio_device *d)
{
	return iov_ctx_fail(d->c->ctx, -EOPNOTSUPP, "vfio-user has no hot reset; use the device reset");
}

static int user_set_vf_token(struct iov_vfio_device *d, const uint8_t uuid[16])
{
	return iov_ctx_fail(d->c->ctx, -EOPNOTSUPP, "vfio-user devices have no SR-IOV VF token");
}

const struct vfio_backend vfio_user_backend = {
	.name = "vfio-user",
	.device_open = user_device_open,
	.device_close = user_device_close,
	.dma_map = user_dma_map,
	.dma_unmap = user_dma_unmap,
	.region_info = user_region_info,
	.region_rw = user_region_rw,
	.irq_info = user_irq_info,
	.set_irqs = user_set_irqs,
	.reset = user_reset,
	.hot_reset = user_hot_reset,
	.set_vf_token = user_set_vf_token,
	.container_free = user_container_free,
};
