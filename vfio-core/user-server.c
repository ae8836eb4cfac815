/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user server. Threat model: the client is another process and may be malicious.
 * Every command is checked against a table row giving its payload bounds and how many fds it
 * may carry; fields are validated before use (region and IRQ indexes, offsets and counts
 * against region sizes and max_data_xfer_size, DMA ranges for alignment, overflow and
 * overlap); received fds are closed on any error; a client-controlled count has a hard limit.
 * A bad command gets an error reply and changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <jansson.h>
#include <linux/vfio.h>

#include "../common/common-internal.h"
#include "iovkit/vfio-user.h"
#include "vfio-user-proto.h"

#define MAX_DMA_MAPS 1024
#define PAGE 4096u

struct dma_window {
	uint64_t iova, len;
	uint32_t prot;                /* 1 read, 2 write */
	void *map;
};

struct iov_vfu_server {
	struct iov_ctx *ctx;
	struct iov_vfu_device dev;   /* a mappable region's fd is the server's own duplicate */
	int listen_fd, sock;
	char path[108];
	bool negotiated;
	struct dma_window *dma;
	size_t n_dma;
	int *irq_fds[IOV_VFU_NUM_IRQS];   /* per index, irqs[index] entries, -1 none */
};

struct reply {
	void *payload;
	size_t len;
	bool owned;                   /* payload was malloc'd by the handler: free it after sending */
	int fd;                       /* one fd to send, -1 none */
};

/* A handler returns 0 (reply with @rep) or a positive errno for an error reply. */
struct handler {
	uint16_t cmd;
	uint32_t min_len, max_len;    /* payload bounds */
	uint8_t max_fds;
	int (*fn)(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep);
};

/* ---- DMA ---- */

static void dma_release(struct iov_vfu_server *s)
{
	for (size_t i = 0; i < s->n_dma; i++)
		munmap(s->dma[i].map, s->dma[i].len);
	free(s->dma);
	s->dma = NULL;
	s->n_dma = 0;
}

IOV_EXPORT int iov_vfu_server_dma(struct iov_vfu_server *s, uint64_t iova, void *buf, size_t len, bool write)
{
	/* The whole access must fall inside one window that allows it, as an IOMMU checks. */
	for (size_t i = 0; i < s->n_dma; i++) {
		struct dma_window *w = &s->dma[i];

		if (iova < w->iova || iova - w->iova >= w->len || len > w->len - (iova - w->iova))
			continue;
		if (!(w->prot & (write ? 2u : 1u)))
			return -EFAULT;
		if (write)
			memcpy((uint8_t *)w->map + (iova - w->iova), buf, len);
		else
			memcpy(buf, (uint8_t *)w->map + (iova - w->iova), len);
		return 0;
	}
	return -EFAULT;
}

static int h_dma_map(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep)
{
	struct { uint32_t argsz, flags; uint64_t offset, address, size; } req;
	struct dma_window *grown;
	void *map;

	memcpy(&req, m->payload, sizeof(req));
	if (req.argsz < sizeof(req) || (req.flags & ~3u) || !(req.flags & 3u) || !req.size || (req.size % PAGE) ||
	    (req.address % PAGE) || (req.offset % PAGE) || req.address + req.size - 1 < req.address)
		return EINVAL;
	if (m->nfds != 1)
		return ENOTSUP;   /* mapping without an fd needs VFIO_USER_DMA_READ/WRITE: not offered */
	for (size_t i = 0; i < s->n_dma; i++)
		if (req.address <= s->dma[i].iova + s->dma[i].len - 1 && s->dma[i].iova <= req.address + req.size - 1)
			return EEXIST;
	if (s->n_dma >= MAX_DMA_MAPS)
		return ENOSPC;
	grown = realloc(s->dma, (s->n_dma + 1) * sizeof(*grown));
	if (!grown)
		return ENOMEM;
	s->dma = grown;
	map = mmap(NULL, req.size, PROT_READ | ((req.flags & 2u) ? PROT_WRITE : 0), MAP_SHARED, m->fds[0], (off_t)req.offset);
	if (map == MAP_FAILED)
		return errno ? errno : EINVAL;
	s->dma[s->n_dma++] = (struct dma_window){ .iova = req.address, .len = req.size, .prot = req.flags, .map = map };
	return 0;   /* the mapping holds the memory; the fd itself is closed with the message */
}

static int h_dma_unmap(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep)
{
	struct { uint32_t argsz, flags; uint64_t address, size; } req;

	memcpy(&req, m->payload, sizeof(req));
	if (req.flags)
		return EINVAL;
	for (size_t i = 0; i < s->n_dma; i++) {
		if (s->dma[i].iova != req.address || s->dma[i].len != req.size)
			continue;
		munmap(s->dma[i].map, s->dma[i].len);
		s->dma[i] = s->dma[--s->n_dma];
		rep->payload = m->payload;   /* the reply echoes the request's entry */
		rep->len = sizeof(req);
		return 0;
	}
	return ENOENT;
}

/* ---- device ---- */

static int h_version(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep)
{
	static char buf[256];
	uint16_t major, minor;
	int n;

	memcpy(&major, m->payload, 2);
	memcpy(&minor, m->payload + 2, 2);
	if (major != VU_MAJOR)
		return ENOTSUP;
	minor = minor < VU_MINOR ? minor : VU_MINOR;
	memcpy(buf, &major, 2);
	memcpy(buf + 2, &minor, 2);
	n = snprintf(buf + 4, sizeof(buf) - 4,
		     "{\"capabilities\":{\"max_msg_fds\":%u,\"max_data_xfer_size\":%u,\"max_dma_maps\":%u,\"pgsizes\":%u}}",
		     VU_MAX_FDS, VU_MAX_DATA_XFER, MAX_DMA_MAPS, PAGE);
	rep->payload = buf;
	rep->len = 4 + (size_t)n + 1;
	s->negotiated = true;
	return 0;
}

static int h_device_info(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep)
{
	static struct { uint32_t argsz, flags, num_regions, num_irqs; } info;

	info.argsz = sizeof(info);
	info.flags = VFIO_DEVICE_FLAGS_PCI | (s->dev.ops->reset ? VFIO_DEVICE_FLAGS_RESET : 0u);
	info.num_regions = IOV_VFU_NUM_REGIONS;
	info.num_irqs = IOV_VFU_NUM_IRQS;
	rep->payload = &info;
	rep->len = sizeof(info);
	return 0;
}

/*
 * A region's information. A mappable one comes with its fd, the region's offset in that fd in
 * the reply's offset (vfio-user 0.1), and, where only parts of it may be mapped, the sparse-mmap
 * capability listing them; a client whose argsz leaves no room for the capability is told the
 * size it needs, as the kernel's VFIO does.
 */
static int h_region_info(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep)
{
	static union {
		struct vfio_region_info info;
		uint8_t bytes[sizeof(struct vfio_region_info) + sizeof(struct vfio_region_info_cap_sparse_mmap) +
			      IOV_VFU_MAX_AREAS * sizeof(struct vfio_region_sparse_mmap_area)];
	} out;
	struct vfio_region_info req;
	const struct iov_vfu_region *r;
	size_t caps;

	memcpy(&req, m->payload, sizeof(req));
	if (req.index >= IOV_VFU_NUM_REGIONS)
		return EINVAL;
	r = &s->dev.regions[req.index];
	memset(&out, 0, sizeof(out));
	out.info = (struct vfio_region_info){
		.argsz = sizeof(out.info), .index = req.index, .size = r->size,
		.flags = (r->readable ? VFIO_REGION_INFO_FLAG_READ : 0u) | (r->writable ? VFIO_REGION_INFO_FLAG_WRITE : 0u),
	};
	rep->payload = &out;
	rep->len = sizeof(out.info);
	if (!r->mappable || !r->size)
		return 0;
	out.info.flags |= VFIO_REGION_INFO_FLAG_MMAP;
	out.info.offset = r->fd_offset;
	rep->fd = r->fd;
	if (!r->n_areas)
		return 0;
	caps = sizeof(struct vfio_region_info_cap_sparse_mmap) + r->n_areas * sizeof(struct vfio_region_sparse_mmap_area);
	out.info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
	out.info.argsz = (uint32_t)(sizeof(out.info) + caps);
	if (req.argsz < out.info.argsz)
		return 0;   /* cap_offset 0: ask again with room for it */
	{
		struct vfio_region_info_cap_sparse_mmap cap = {
			.header = { .id = VFIO_REGION_INFO_CAP_SPARSE_MMAP, .version = 1 }, .nr_areas = r->n_areas,
		};
		uint8_t *p = out.bytes + sizeof(out.info);

		out.info.cap_offset = sizeof(out.info);
		memcpy(p, &cap, sizeof(cap));
		p += sizeof(cap);
		for (unsigned int i = 0; i < r->n_areas; i++, p += sizeof(struct vfio_region_sparse_mmap_area))
			memcpy(p, &(struct vfio_region_sparse_mmap_area){ r->areas[i].offset, r->areas[i].size },
			       sizeof(struct vfio_region_sparse_mmap_area));
	}
	rep->len = out.info.argsz;
	return 0;
}

static int h_irq_info(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep)
{
	static struct vfio_irq_info info;
	uint32_t index;

	memcpy(&info, m->payload, sizeof(info));
	index = info.index;
	if (index >= IOV_VFU_NUM_IRQS)
		return EINVAL;
	info = (struct vfio_irq_info){ .argsz = sizeof(info), .flags = VFIO_IRQ_INFO_EVENTFD, .index = index,
				       .count = s->dev.irqs[index] };
	rep->payload = &info;
	rep->len = sizeof(info);
	return 0;
}

static int h_set_irqs(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep)
{
	struct vfio_irq_set set;
	uint32_t data, action, n;

	memcpy(&set, m->payload, sizeof(set));
	data = set.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	action = set.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	if (set.index >= IOV_VFU_NUM_IRQS || (set.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)) ||
	    __builtin_popcount(data) != 1 || __builtin_popcount(action) != 1)
		return EINVAL;
	n = s->dev.irqs[set.index];
	/* Mask and unmask, now or whenever an eventfd fires (an INTx resample eventfd): the server's
	 * interrupts are events it signals once per assertion, nothing stays asserted, so there is
	 * nothing to re-arm. Accepted for the vectors it has; an eventfd given is not kept. */
	if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
		return (data == VFIO_IRQ_SET_DATA_NONE || (data == VFIO_IRQ_SET_DATA_EVENTFD && m->nfds == set.count)) &&
		       set.start < n && set.count <= n - set.start ? 0 : EINVAL;
	if (data == VFIO_IRQ_SET_DATA_NONE && set.start == 0 && set.count == 0) {
		for (uint32_t i = 0; i < n; i++)
			closep(&s->irq_fds[set.index][i]);   /* disable the whole index */
		return 0;
	}
	if (data != VFIO_IRQ_SET_DATA_EVENTFD || set.start >= n || set.count > n - set.start ||
	    (m->nfds != 0 && m->nfds != set.count))
		return EINVAL;
	for (uint32_t i = 0; i < set.count; i++) {
		closep(&s->irq_fds[set.index][set.start + i]);
		if (m->nfds) {
			s->irq_fds[set.index][set.start + i] = m->fds[i];
			m->fds[i] = -1;   /* the server owns it now */
		}
	}
	return 0;
}

/* Checks a region access the client asks for. */
static int access_ok(const struct iov_vfu_server *s, uint32_t region, uint64_t offset, uint32_t count, bool write)
{
	const struct iov_vfu_region *r;

	if (region >= IOV_VFU_NUM_REGIONS || !count || count > VU_MAX_DATA_XFER)
		return EINVAL;
	r = &s->dev.regions[region];
	if (!r->size || offset >= r->size || count > r->size - offset)
		return EINVAL;
	if (!(write ? r->writable : r->readable))
		return EACCES;
	return 0;
}

static int h_region_read(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep)
{
	struct { uint64_t offset; uint32_t region, count; } req;
	uint8_t *out;
	ssize_t n;
	int e;

	memcpy(&req, m->payload, sizeof(req));
	e = access_ok(s, req.region, req.offset, req.count, false);
	if (e)
		return e;
	out = malloc(sizeof(req) + req.count);
	if (!out)
		return ENOMEM;
	n = s->dev.ops->access(s->dev.dev, req.region, req.offset, out + sizeof(req), req.count, false);
	if (n != (ssize_t)req.count) {
		free(out);
		return n < 0 ? (int)-n : EIO;
	}
	memcpy(out, &req, sizeof(req));
	rep->payload = out;
	rep->len = sizeof(req) + req.count;
	rep->owned = true;
	return 0;
}

static int h_region_write(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep)
{
	struct { uint64_t offset; uint32_t region, count; } req;
	ssize_t n;
	int e;

	memcpy(&req, m->payload, sizeof(req));
	if (m->len != sizeof(req) + (size_t)req.count)
		return EINVAL;
	e = access_ok(s, req.region, req.offset, req.count, true);
	if (e)
		return e;
	n = s->dev.ops->access(s->dev.dev, req.region, req.offset, m->payload + sizeof(req), req.count, true);
	if (n != (ssize_t)req.count)
		return n < 0 ? (int)-n : EIO;
	rep->payload = m->payload;
	rep->len = sizeof(req);
	return 0;
}

static int h_reset(struct iov_vfu_server *s, struct vu_msg *m, struct reply *rep)
{
	int r;

	if (!s->dev.ops->reset)
		return ENOTTY;
	r = s->dev.ops->reset(s->dev.dev);
	return r < 0 ? -r : 0;
}

/* One row per command: payload bounds, fds it may carry, handler. */
static const struct handler handlers[] = {
	{ VU_VERSION, 4, 4096, 0, h_version },
	{ VU_DMA_MAP, 32, 32, 1, h_dma_map },
	{ VU_DMA_UNMAP, 24, 24, 0, h_dma_unmap },
	{ VU_DEVICE_GET_INFO, 16, 16, 0, h_device_info },
	{ VU_DEVICE_GET_REGION_INFO, 32, 32, 0, h_region_info },
	{ VU_DEVICE_GET_IRQ_INFO, 16, 16, 0, h_irq_info },
	{ VU_DEVICE_SET_IRQS, 20, 20 + 4 * VU_MAX_FDS, VU_MAX_FDS, h_set_irqs },
	{ VU_REGION_READ, 16, 16, 0, h_region_read },
	{ VU_REGION_WRITE, 17, 16 + VU_MAX_DATA_XFER, 0, h_region_write },
	{ VU_DEVICE_RESET, 0, 0, 0, h_reset },
};

static const struct handler *handler_for(uint16_t cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(handlers); i++)
		if (handlers[i].cmd == cmd)
			return &handlers[i];
	return NULL;
}

static void client_drop(struct iov_vfu_server *s)
{
	closep(&s->sock);
	s->negotiated = false;
	dma_release(s);
	for (int i = 0; i < IOV_VFU_NUM_IRQS; i++)
		for (uint32_t v = 0; s->irq_fds[i] && v < s->dev.irqs[i]; v++)
			closep(&s->irq_fds[i][v]);
}

/* Handles one message from the client. Returns 1 if the client is gone. */
static int handle_one(struct iov_vfu_server *s)
{
	struct vu_msg m;
	struct reply rep = { .fd = -1 };
	const struct handler *h;
	struct vu_hdr out;
	int err, r;

	r = vu_recv(s->sock, &m, VU_MAX_MSG, VU_MAX_FDS);
	if (r == -ECONNRESET || r == -EMSGSIZE || r == -ENOMEM || (r < 0 && r != -EBADMSG)) {
		if (r != -ECONNRESET)
			iov_ctx_log(s->ctx, IOV_LOG_WARNING, "vfio-user: dropping the client: %s", iov_strerror(r));
		client_drop(s);
		return 1;
	}
	if (r == -EBADMSG) {
		iov_ctx_log(s->ctx, IOV_LOG_WARNING, "vfio-user: a message with too many fds was refused");
		return 0;   /* its payload was drained and its fds closed; the stream is in step */
	}
	if ((m.hdr.flags & VU_TYPE_MASK) != VU_TYPE_COMMAND) {
		vu_msg_release(&m);   /* replies to commands we never send */
		return 0;
	}
	h = handler_for(m.hdr.cmd);
	if (!h)
		err = ENOSYS;
	else if (m.len < h->min_len || m.len > h->max_len || m.nfds > h->max_fds)
		err = EINVAL;
	else if (!s->negotiated && m.hdr.cmd != VU_VERSION)
		err = EINVAL;   /* VFIO_USER_VERSION comes first */
	else
		err = h->fn(s, &m, &rep);
	if (err)
		iov_ctx_log(s->ctx, IOV_LOG_INFO, "vfio-user: %s refused: %s", vu_cmd_name(m.hdr.cmd), iov_strerror(err));
	if (!(m.hdr.flags & VU_F_NO_REPLY)) {
		out = (struct vu_hdr){ .id = m.hdr.id, .cmd = m.hdr.cmd, .flags = VU_TYPE_REPLY | (err ? VU_F_ERROR : 0u),
				       .error = (uint32_t)err };
		vu_send(s->sock, &out, err ? NULL : rep.payload, err ? 0 : rep.len, rep.fd >= 0 ? &rep.fd : NULL,
			rep.fd >= 0 ? 1 : 0);
	}
	if (rep.owned)
		free(rep.payload);
	vu_msg_release(&m);
	return 0;
}

/* A second client while one is served: it hears EBUSY to its version and is dropped. */
static void refuse_busy(struct iov_vfu_server *s, int fd)
{
	struct vu_msg m;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 1000) == 1 && vu_recv(fd, &m, 4096 + 16, 0) == 0) {
		struct vu_hdr out = { .id = m.hdr.id, .cmd = m.hdr.cmd, .flags = VU_TYPE_REPLY | VU_F_ERROR, .error = EBUSY };

		vu_send(fd, &out, NULL, 0, NULL, 0);
		vu_msg_release(&m);
	}
	close(fd);
}

IOV_EXPORT int iov_vfu_server_run_once(struct iov_vfu_server *s, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = s->listen_fd, .events = POLLIN }, { .fd = s->sock, .events = POLLIN } };
	int n;

	n = poll(p, 2, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : negative_errno();
	if (p[0].revents & POLLIN) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0 && s->sock >= 0)
			refuse_busy(s, fd);
		else if (fd >= 0)
			s->sock = fd;
	}
	if (s->sock >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
		return handle_one(s);
	return 0;
}

IOV_EXPORT bool iov_vfu_server_connected(const struct iov_vfu_server *s)
{
	return s->sock >= 0 && s->negotiated;
}

IOV_EXPORT int iov_vfu_server_irq(struct iov_vfu_server *s, uint32_t index, uint32_t vector)
{
	uint64_t one = 1;

	if (index >= IOV_VFU_NUM_IRQS || vector >= s->dev.irqs[index] || s->irq_fds[index][vector] < 0)
		return -ENOENT;
	return write(s->irq_fds[index][vector], &one, sizeof(one)) == sizeof(one) ? 0 : negative_errno();
}

/* Whether region @index of @desc can be served as mappable; the reason logged if not. */
static bool mappable_ok(struct iov_ctx *ctx, const struct iov_vfu_device *desc, uint32_t index)
{
	const struct iov_vfu_region *r = &desc->regions[index];
	uint64_t end = 0;
	struct stat st;

	if (r->fd < 0 || fstat(r->fd, &st) < 0) {
		iov_ctx_log(ctx, IOV_LOG_ERR, "vfio-user: region %u is mappable but has no file", index);
		return false;
	}
	if (!r->size || r->size % PAGE || r->fd_offset % PAGE || r->n_areas > IOV_VFU_MAX_AREAS) {
		iov_ctx_log(ctx, IOV_LOG_ERR, "vfio-user: mappable region %u: its size (0x%" PRIx64 ") and offset (0x%" PRIx64
			    ") must be whole pages, and it may have at most %d areas", index, r->size, r->fd_offset,
			    IOV_VFU_MAX_AREAS);
		return false;
	}
	if (S_ISREG(st.st_mode) && ((uint64_t)st.st_size < r->fd_offset || (uint64_t)st.st_size - r->fd_offset < r->size)) {
		iov_ctx_log(ctx, IOV_LOG_ERR, "vfio-user: region %u: its file holds %jd bytes, short of 0x%" PRIx64
			    " at 0x%" PRIx64, index, (intmax_t)st.st_size, r->size, r->fd_offset);
		return false;
	}
	for (unsigned int i = 0; i < r->n_areas; i++) {
		const struct iov_vfu_area *a = &r->areas[i];

		if (!a->size || a->offset % PAGE || a->size % PAGE || a->offset < end || a->offset > r->size ||
		    a->size > r->size - a->offset) {
			iov_ctx_log(ctx, IOV_LOG_ERR, "vfio-user: region %u: area %u (0x%" PRIx64 " bytes at 0x%" PRIx64
				    ") is not whole pages inside the region, after the area before it", index, i, a->size,
				    a->offset);
			return false;
		}
		end = a->offset + a->size;
	}
	return true;
}

IOV_EXPORT int iov_vfu_server_new(struct iov_ctx *ctx, const struct iov_vfu_device *desc, struct iov_vfu_server **ret)
{
	struct iov_vfu_server *s;

	if (!desc->ops || !desc->ops->access)
		return -EINVAL;
	for (int i = 0; i < IOV_VFU_NUM_IRQS; i++)
		if (desc->irqs[i] > 2048)
			return -EINVAL;
	for (uint32_t i = 0; i < IOV_VFU_NUM_REGIONS; i++)
		if (desc->regions[i].mappable && !mappable_ok(ctx, desc, i))
			return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx = ctx;
	s->dev = *desc;
	s->listen_fd = -1;
	s->sock = -1;
	for (uint32_t i = 0; i < IOV_VFU_NUM_REGIONS; i++)
		s->dev.regions[i].fd = -1;   /* the caller's fds are not ours to close */
	for (int i = 0; i < IOV_VFU_NUM_IRQS; i++) {
		s->irq_fds[i] = malloc((desc->irqs[i] + 1) * sizeof(int));
		if (!s->irq_fds[i]) {
			iov_vfu_server_free(s);
			return -ENOMEM;
		}
		for (uint32_t v = 0; v < desc->irqs[i]; v++)
			s->irq_fds[i][v] = -1;
	}
	for (uint32_t i = 0; i < IOV_VFU_NUM_REGIONS; i++) {
		if (!desc->regions[i].mappable)
			continue;
		s->dev.regions[i].fd = fcntl(desc->regions[i].fd, F_DUPFD_CLOEXEC, 3);
		if (s->dev.regions[i].fd < 0) {
			int e = negative_errno();

			iov_vfu_server_free(s);
			return e;
		}
	}
	*ret = s;
	return 0;
}

IOV_EXPORT int iov_vfu_server_listen(struct iov_vfu_server *s, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (!path || strlen(path) >= sizeof(addr.sun_path))
		return iov_ctx_fail(s->ctx, -EINVAL, "vfio-user socket path '%s' is empty or too long", path ? path : "");
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
		int r = negative_errno();

		close(fd);
		return iov_ctx_fail(s->ctx, r, "listening on %s: %s", path, iov_strerror(r));
	}
	closep(&s->listen_fd);
	s->listen_fd = fd;
	snprintf(s->path, sizeof(s->path), "%s", path);
	return 0;
}

IOV_EXPORT int iov_vfu_server_attach(struct iov_vfu_server *s, int sock)
{
	if (s->sock >= 0)
		return -EBUSY;
	s->sock = sock;
	return 0;
}

IOV_EXPORT void iov_vfu_server_free(struct iov_vfu_server *s)
{
	if (!s)
		return;
	client_drop(s);
	for (int i = 0; i < IOV_VFU_NUM_IRQS; i++)
		free(s->irq_fds[i]);
	for (int i = 0; i < IOV_VFU_NUM_REGIONS; i++)
		closep(&s->dev.regions[i].fd);
	if (s->listen_fd >= 0) {
		closep(&s->listen_fd);
		unlink(s->path);
	}
	free(s);
}
