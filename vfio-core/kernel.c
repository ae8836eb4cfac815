/* SPDX-License-Identifier: MIT */
/*
 * The kernel backend (linux/vfio.h, the legacy container/group API): every VFIO ioctl goes
 * through vfio_ioctl(), which fills argsz and names the request in errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vfio-internal.h"

int vfio_ioctl(struct iov_ctx *ctx, int fd, unsigned long req, const char *req_name, const char *what, void *arg,
	       size_t size)
{
	int r;

	if (arg && size >= sizeof(uint32_t))
		*(uint32_t *)arg = (uint32_t)size;   /* argsz */
	r = ioctl(fd, req, arg);
	if (r < 0) {
		r = negative_errno();
		return iov_ctx_fail(ctx, r, "%s: %s: %s", what, req_name, iov_strerror(r));
	}
	return r;
}

int vfio_ioctl_val(struct iov_ctx *ctx, int fd, unsigned long req, const char *req_name, const char *what,
		   unsigned long val)
{
	int r = ioctl(fd, req, val);

	if (r < 0) {
		r = negative_errno();
		return iov_ctx_fail(ctx, r, "%s: %s: %s", what, req_name, iov_strerror(r));
	}
	return r;
}

IOV_EXPORT int iov_vfio_container_new(struct iov_ctx *ctx, struct iov_vfio_container **ret)
{
	_cleanup_close_ int fd = -1;
	struct iov_vfio_container *c;
	char dev[PATH_MAX];
	int r;

	iov_ctx_reason_clear(ctx);
	r = iov_path_abs(ctx, dev, sizeof(dev), "dev/vfio/vfio");      /* what the messages name */
	if (r < 0)
		return iov_ctx_fail(ctx, r, "the host root's path is too long");
	fd = iov_path_open(ctx, O_RDWR, "dev/vfio/vfio");
	if (fd < 0) {
		if (fd == -ENOENT && iov_path_exists(ctx, "dev/iommu") > 0) {
			char iommu[PATH_MAX];

			iov_path_abs(ctx, iommu, sizeof(iommu), "dev/iommu");  /* shorter than dev's, which fit */
			return iov_ctx_fail(ctx, -EOPNOTSUPP,
					    "this host offers only iommufd (%s), which vfio-core does not speak yet", iommu);
		}
		return iov_ctx_fail(ctx, fd, "opening %s: %s%s", dev, iov_strerror(fd),
				    fd == -ENOENT ? " (is the vfio module loaded? see iovctl host)" : "");
	}
	r = VFIO_IOCTL_VAL(ctx, fd, VFIO_GET_API_VERSION, dev, 0);
	if (r < 0)
		return r;
	if (r != VFIO_API_VERSION)
		return iov_ctx_fail(ctx, -EOPNOTSUPP, "%s speaks VFIO API %d, not %d", dev, r, VFIO_API_VERSION);
	c = container_alloc(ctx, &vfio_kernel_backend);
	if (!c)
		return -ENOMEM;
	c->fd = TAKE_FD(fd);
	*ret = c;
	return 0;
}

static void kernel_container_free(struct iov_vfio_container *c)
{
	for (struct vfio_group *g = c->groups, *next; g; g = next) {
		next = g->next;
		closep(&g->fd);
		free(g);
	}
	closep(&c->fd);
}

static void iommu_cap(const struct vfio_info_cap_header *h, size_t room, void *userdata)
{
	struct iov_vfio_container *c = userdata;

	if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE && room >= sizeof(struct vfio_iommu_type1_info_cap_iova_range)) {
		const struct vfio_iommu_type1_info_cap_iova_range *cap = (const void *)h;
		uint32_t n = cap->nr_iovas;

		if (sizeof(*cap) + (size_t)n * sizeof(cap->iova_ranges[0]) > room)
			return;
		c->info.n_ranges = 0;
		for (uint32_t i = 0; i < n && c->info.n_ranges < IOV_VFIO_MAX_RANGES; i++) {
			c->info.ranges[c->info.n_ranges].start = cap->iova_ranges[i].start;
			c->info.ranges[c->info.n_ranges].end = cap->iova_ranges[i].end;
			c->info.n_ranges++;
		}
	} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL && room >= sizeof(struct vfio_iommu_type1_info_dma_avail)) {
		c->info.dma_avail = ((const struct vfio_iommu_type1_info_dma_avail *)h)->avail;
	}
}

/* Sets the IOMMU model and reads its info; when the first group joins. */
static int setup_iommu(struct iov_vfio_container *c)
{
	struct vfio_iommu_type1_info probe = { 0 }, *info;
	size_t size;
	int r;

	if (VFIO_IOCTL_VAL(c->ctx, c->fd, VFIO_CHECK_EXTENSION, "container", VFIO_TYPE1v2_IOMMU) > 0)
		c->model = VFIO_TYPE1v2_IOMMU;
	else if (VFIO_IOCTL_VAL(c->ctx, c->fd, VFIO_CHECK_EXTENSION, "container", VFIO_TYPE1_IOMMU) > 0)
		c->model = VFIO_TYPE1_IOMMU;
	else
		return iov_ctx_fail(c->ctx, -EOPNOTSUPP, "the container supports neither type1v2 nor type1 IOMMU");
	r = VFIO_IOCTL_VAL(c->ctx, c->fd, VFIO_SET_IOMMU, "container", (unsigned long)c->model);
	if (r < 0) {
		c->model = 0;
		return r;
	}
	c->info.model = c->model == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1";

	/* Once to learn the size with capabilities, once to read them. */
	r = VFIO_IOCTL(c->ctx, c->fd, VFIO_IOMMU_GET_INFO, "container", &probe, sizeof(probe));
	if (r < 0)
		return r;
	size = probe.argsz > sizeof(probe) ? probe.argsz : sizeof(probe);
	info = calloc(1, size);
	if (!info)
		return -ENOMEM;
	r = VFIO_IOCTL(c->ctx, c->fd, VFIO_IOMMU_GET_INFO, "container", info, size);
	if (r >= 0) {
		c->info.pgsizes = (info->flags & VFIO_IOMMU_INFO_PGSIZES) ? info->iova_pgsizes : 4096;
		c->info.n_ranges = 1;
		c->info.ranges[0].start = 0;
		c->info.ranges[0].end = UINT64_MAX;
		if (info->flags & VFIO_IOMMU_INFO_CAPS)
			vfio_caps_foreach(info, size, info->cap_offset, iommu_cap, c);
		r = 0;
	}
	free(info);
	return r;
}

/* The group @id in the container, joining it (and setting up the IOMMU) if it is new. */
static int group_get(struct iov_vfio_container *c, int id, const char *bdf, struct vfio_group **ret)
{
	struct vfio_group_status status = { 0 };
	_cleanup_close_ int fd = -1;
	struct vfio_group *g;
	int r;

	for (g = c->groups; g; g = g->next)
		if (g->id == id) {
			*ret = g;
			return 0;
		}
	fd = iov_path_open(c->ctx, O_RDWR, "dev/vfio/%d", id);
	if (fd == -ENOENT && iov_uuid_valid(bdf))
		return iov_ctx_fail(c->ctx, fd, "mdev %s: /dev/vfio/%d does not exist: its vendor driver has not registered "
				    "it with VFIO", bdf, id);
	if (fd == -ENOENT)
		return iov_ctx_fail(c->ctx, fd, "%s: /dev/vfio/%d does not exist: bind its group to vfio-pci first (iovctl bind %s)",
				    bdf, id, bdf);
	if (fd == -EBUSY)
		return iov_ctx_fail(c->ctx, fd, "%s: IOMMU group %d is already open in another process or container", bdf, id);
	if (fd < 0)
		return iov_ctx_fail(c->ctx, fd, "%s: opening /dev/vfio/%d: %s", bdf, id, iov_strerror(fd));
	r = VFIO_IOCTL(c->ctx, fd, VFIO_GROUP_GET_STATUS, bdf, &status, sizeof(status));
	if (r < 0)
		return r;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return iov_ctx_fail(c->ctx, -EPERM,
				    "%s: IOMMU group %d is not viable: another device in it is on a host driver (iovctl group %d)",
				    bdf, id, id);
	if (status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET)
		return iov_ctx_fail(c->ctx, -EBUSY, "%s: IOMMU group %d already belongs to another container", bdf, id);
	r = VFIO_IOCTL(c->ctx, fd, VFIO_GROUP_SET_CONTAINER, bdf, &c->fd, 0);
	if (r < 0)
		return r;
	if (!c->model) {
		r = setup_iommu(c);
		if (r < 0)
			goto err_unset;
	}
	r = container_add_reserved(c, id);
	if (r < 0)
		goto err_unset;
	g = calloc(1, sizeof(*g));
	if (!g) {
		r = -ENOMEM;
		goto err_unset;
	}
	g->id = id;
	g->fd = TAKE_FD(fd);   /* the group owns it now */
	g->next = c->groups;
	c->groups = g;
	*ret = g;
	return 0;

err_unset:
	ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
	return r;
}

static void group_put(struct iov_vfio_container *c, struct vfio_group *g)
{
	if (--g->devices)
		return;
	for (struct vfio_group **p = &c->groups; *p; p = &(*p)->next)
		if (*p == g) {
			*p = g->next;
			break;
		}
	ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
	closep(&g->fd);
	free(g);
}

static int kernel_device_open(struct iov_vfio_container *c, const char *bdf, const char *vf_token, struct iov_vfio_device *d)
{
	char canon[IOV_VFIO_NAME_LEN], name[IOV_VFIO_NAME_LEN + 64];
	struct vfio_group *g = NULL;
	int id, fd, r;

	/* A mediated device is named by its UUID. */
	if (!iov_uuid_canon(bdf, canon) && iov_pci_bdf_parse(bdf, canon) < 0)
		return iov_ctx_fail(c->ctx, -EINVAL, "'%s' is not a PCI address or mdev UUID", bdf ? bdf : "");
	id = iov_device_group(c->ctx, canon);
	if (id < 0)
		return id;
	r = group_get(c, id, canon, &g);
	if (r < 0)
		return r;
	g->devices++;   /* held from here; group_put() undoes it */
	snprintf(name, sizeof(name), vf_token ? "%s vf_token=%s" : "%s", canon, vf_token);
	fd = VFIO_IOCTL(c->ctx, g->fd, VFIO_GROUP_GET_DEVICE_FD, canon, name, 0);
	if (fd == -EACCES && !vf_token)
		fd = iov_ctx_fail(c->ctx, fd, "%s: the device needs a VF token (its PF is on vfio-pci)", canon);
	if (fd < 0) {
		group_put(c, g);
		return fd;
	}
	d->group = g;
	d->fd = fd;   /* the device owns it now */
	snprintf(d->bdf, sizeof(d->bdf), "%s", canon);
	r = VFIO_IOCTL(c->ctx, fd, VFIO_DEVICE_GET_INFO, canon, &d->info, sizeof(d->info));
	if (r < 0) {
		closep(&d->fd);
		group_put(c, g);
		return r;
	}
	return 0;
}

static void kernel_device_close(struct iov_vfio_device *d)
{
	closep(&d->fd);
	group_put(d->c, d->group);
}

static int kernel_dma_map(struct iov_vfio_container *c, uint64_t vaddr, uint64_t len, uint64_t iova, int prot, int fd,
			  uint64_t fd_offset)
{
	struct vfio_iommu_type1_dma_map map = {
		.flags = ((prot & IOV_DMA_READ) ? VFIO_DMA_MAP_FLAG_READ : 0u) |
			 ((prot & IOV_DMA_WRITE) ? VFIO_DMA_MAP_FLAG_WRITE : 0u),
		.vaddr = vaddr,
		.iova = iova,
		.size = len,
	};
	int r;

	/* The kernel pins the pages behind vaddr; it needs no fd. */
	r = VFIO_IOCTL(c->ctx, c->fd, VFIO_IOMMU_MAP_DMA, "DMA map", &map, sizeof(map));
	if (r == -ENOMEM)
		return iov_ctx_fail(c->ctx, r,
				    "DMA map of 0x%" PRIx64 " bytes: the kernel could not pin the memory; RLIMIT_MEMLOCK is too "
				    "low for this process (ulimit -l, LimitMEMLOCK=) or it lacks CAP_IPC_LOCK", len);
	return r < 0 ? r : 0;
}

static int kernel_dma_unmap(struct iov_vfio_container *c, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .iova = iova, .size = len };
	int r;

	r = VFIO_IOCTL(c->ctx, c->fd, VFIO_IOMMU_UNMAP_DMA, "DMA unmap", &unmap, sizeof(unmap));
	if (r < 0)
		return r;
	if (unmap.size != len)
		return iov_ctx_fail(c->ctx, -EIO, "DMA unmap at 0x%" PRIx64 ": the kernel unmapped 0x%llx of 0x%" PRIx64 " bytes",
				    iova, (unsigned long long)unmap.size, len);
	return 0;
}

static int kernel_region_info(struct iov_vfio_device *d, uint32_t index, struct vfio_region_info **ret, size_t *ret_size,
			      int *ret_fd)
{
	struct vfio_region_info probe = { .index = index }, *info;
	size_t size;
	int e;

	e = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_GET_REGION_INFO, d->bdf, &probe, sizeof(probe));
	if (e < 0)
		return e;
	size = probe.argsz > sizeof(probe) ? probe.argsz : sizeof(probe);
	info = calloc(1, size);
	if (!info)
		return -ENOMEM;
	info->index = index;
	e = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_GET_REGION_INFO, d->bdf, info, size);
	if (e < 0) {
		free(info);
		return e;
	}
	*ret = info;
	*ret_size = size;
	*ret_fd = -1;
	return 0;
}

static ssize_t kernel_region_rw(struct iov_vfio_device *d, const struct iov_vfio_region *r, uint64_t offset, void *buf,
				size_t len, bool write)
{
	ssize_t n = write ? pwrite(d->fd, buf, len, (off_t)(r->offset + offset)) : pread(d->fd, buf, len, (off_t)(r->offset + offset));

	if (n < 0) {
		int e = negative_errno();

		return iov_ctx_fail(d->c->ctx, e, "%s: %s region %u at 0x%" PRIx64 ": %s", d->bdf, write ? "writing" : "reading",
				    r->index, offset, iov_strerror(e));
	}
	return n;
}

static int kernel_irq_info(struct iov_vfio_device *d, struct vfio_irq_info *info)
{
	int r = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_GET_IRQ_INFO, d->bdf, info, sizeof(*info));

	return r < 0 ? r : 0;
}

static int kernel_set_irqs(struct iov_vfio_device *d, struct vfio_irq_set *set, size_t size, const int *fds,
			   unsigned int nfds)
{
	/* The fds are already in set->data: the kernel reads them from there. */
	int r = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_SET_IRQS, d->bdf, set, size);

	return r < 0 ? r : 0;
}

static int kernel_reset(struct iov_vfio_device *d)
{
	int r = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_RESET, d->bdf, NULL, 0);

	return r < 0 ? r : 0;
}

/*
 * Hot reset: the kernel says which devices the reset reaches; each one's group must be ours,
 * and its fd goes with the request as proof (linux/vfio.h, VFIO_DEVICE_PCI_HOT_RESET).
 */
static int kernel_hot_reset(struct iov_vfio_device *d)
{
	struct vfio_pci_hot_reset_info probe = { 0 }, *info = NULL;
	struct vfio_pci_hot_reset *req = NULL;
	size_t size;
	int r;

	r = vfio_ioctl(d->c->ctx, d->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", d->bdf,
		       &probe, sizeof(probe));
	if (r < 0 && r != -ENOSPC)
		return r;
	if (!probe.count || probe.count > 256)
		return iov_ctx_fail(d->c->ctx, -EINVAL, "%s: the kernel names %u devices for a hot reset", d->bdf, probe.count);
	size = sizeof(*info) + probe.count * sizeof(info->devices[0]);
	info = calloc(1, size);
	req = calloc(1, sizeof(*req) + probe.count * sizeof(int32_t));
	if (!info || !req) {
		r = -ENOMEM;
		goto out;
	}
	r = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, d->bdf, info, size);
	if (r < 0)
		goto out;
	for (uint32_t i = 0; i < info->count && i < probe.count; i++) {
		const struct vfio_pci_dependent_device *dep = &info->devices[i];
		const struct vfio_group *g = d->c->groups;
		bool listed = false;

		while (g && g->id != (int)dep->group_id)
			g = g->next;
		if (!g) {
			r = iov_ctx_fail(d->c->ctx, -EBUSY,
					 "%s: a hot reset would also reset %04x:%02x:%02x.%x (IOMMU group %u), which is not in this "
					 "container; open it here first",
					 d->bdf, dep->segment, dep->bus, dep->devfn >> 3, dep->devfn & 7, dep->group_id);
			goto out;
		}
		for (uint32_t k = 0; k < req->count; k++)
			listed |= req->group_fds[k] == g->fd;
		if (!listed)
			req->group_fds[req->count++] = g->fd;
	}
	r = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_PCI_HOT_RESET, d->bdf, req, sizeof(*req) + req->count * sizeof(int32_t));
	if (r > 0)
		r = 0;
out:
	free(info);
	free(req);
	return r;
}

static int kernel_set_vf_token(struct iov_vfio_device *d, const uint8_t uuid[16])
{
	/* struct vfio_device_feature followed by its data: the 16-byte UUID. */
	union {
		struct vfio_device_feature f;
		uint8_t bytes[sizeof(struct vfio_device_feature) + 16];
	} feat = { .f.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN };
	int r;

	memcpy(feat.bytes + sizeof(struct vfio_device_feature), uuid, 16);
	r = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_FEATURE, d->bdf, &feat, sizeof(feat));
	if (r == -EINVAL)
		return iov_ctx_fail(d->c->ctx, r, "%s: the kernel refused the VF token: is this an SR-IOV PF on vfio-pci?", d->bdf);
	return r < 0 ? r : 0;
}

const struct vfio_backend vfio_kernel_backend = {
	.name = "kernel",
	.device_open = kernel_device_open,
	.device_close = kernel_device_close,
	.dma_map = kernel_dma_map,
	.dma_unmap = kernel_dma_unmap,
	.region_info = kernel_region_info,
	.region_rw = kernel_region_rw,
	.irq_info = kernel_irq_info,
	.set_irqs = kernel_set_irqs,
	.reset = kernel_reset,
	.hot_reset = kernel_hot_reset,
	.set_vf_token = kernel_set_vf_token,
	.container_free = kernel_container_free,
};
