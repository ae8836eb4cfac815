/* SPDX-License-Identifier: MIT */
/*
 * VFIO groups and devices (linux/vfio.h): joining a group to the container, the device fd,
 * regions (with the sparse-mmap capability), interrupts to eventfds, reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vfio-internal.h"

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
		r = container_setup_iommu(c);
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

IOV_EXPORT int iov_vfio_device_open(struct iov_vfio_container *c, const char *bdf, const char *vf_token,
				    struct iov_vfio_device **ret)
{
	char canon[IOV_BDF_LEN], name[IOV_BDF_LEN + 64];
	struct iov_vfio_device *d;
	struct vfio_group *g = NULL;
	int id, fd, r;

	iov_ctx_reason_clear(c->ctx);
	if (iov_pci_bdf_parse(bdf, canon) < 0)
		return iov_ctx_fail(c->ctx, -EINVAL, "'%s' is not a PCI address", bdf ? bdf : "");
	if (vf_token && (strlen(vf_token) != 36 || strspn(vf_token, "0123456789abcdefABCDEF-") != 36))
		return iov_ctx_fail(c->ctx, -EINVAL, "'%s' is not a UUID (the VF token)", vf_token);
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
	d = calloc(1, sizeof(*d));
	if (!d) {
		close(fd);
		group_put(c, g);
		return -ENOMEM;
	}
	d->c = c;
	d->group = g;
	d->fd = fd;   /* the device owns it now */
	snprintf(d->bdf, sizeof(d->bdf), "%s", canon);
	r = VFIO_IOCTL(c->ctx, fd, VFIO_DEVICE_GET_INFO, canon, &d->info, sizeof(d->info));
	if (r < 0) {
		iov_vfio_device_close(d);
		return r;
	}
	*ret = d;
	return 0;
}

IOV_EXPORT void iov_vfio_device_close(struct iov_vfio_device *d)
{
	if (!d)
		return;
	closep(&d->fd);
	group_put(d->c, d->group);
	free(d);
}

IOV_EXPORT int iov_vfio_device_info(struct iov_vfio_device *d, struct iov_vfio_device_info *ret)
{
	*ret = (struct iov_vfio_device_info){
		.flags = d->info.flags,
		.num_regions = d->info.num_regions,
		.num_irqs = d->info.num_irqs,
		.pci = d->info.flags & VFIO_DEVICE_FLAGS_PCI,
		.can_reset = d->info.flags & VFIO_DEVICE_FLAGS_RESET,
	};
	return 0;
}

static void parse_region_caps(const struct vfio_region_info *info, size_t size, struct iov_vfio_region *r)
{
	uint32_t off = (info->flags & VFIO_REGION_INFO_FLAG_CAPS) ? info->cap_offset : 0;

	for (unsigned int hops = 0; off && off + sizeof(struct vfio_info_cap_header) <= size && hops < 64; hops++) {
		const struct vfio_info_cap_header *h = (const void *)((const char *)info + off);

		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP && off + sizeof(struct vfio_region_info_cap_sparse_mmap) <= size) {
			const struct vfio_region_info_cap_sparse_mmap *cap = (const void *)h;
			uint32_t n = cap->nr_areas;

			if (off + sizeof(*cap) + (size_t)n * sizeof(cap->areas[0]) > size)
				n = 0;
			for (uint32_t i = 0; i < n && r->n_sparse < IOV_VFIO_MAX_SPARSE; i++) {
				r->sparse[r->n_sparse].offset = cap->areas[i].offset;
				r->sparse[r->n_sparse].size = cap->areas[i].size;
				r->n_sparse++;
			}
		}
		if (h->next <= off)
			break;
		off = h->next;
	}
}

IOV_EXPORT int iov_vfio_region_info(struct iov_vfio_device *d, uint32_t index, struct iov_vfio_region *ret)
{
	struct vfio_region_info probe = { .index = index }, *info;
	struct iov_vfio_region r = { .index = index };
	size_t size;
	int e;

	iov_ctx_reason_clear(d->c->ctx);
	if (index >= d->info.num_regions)
		return iov_ctx_fail(d->c->ctx, -EINVAL, "%s: region %u: the device has %u regions", d->bdf, index,
				    d->info.num_regions);
	e = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_GET_REGION_INFO, d->bdf, &probe, sizeof(probe));
	if (e < 0)
		return e;
	size = probe.argsz > sizeof(probe) ? probe.argsz : sizeof(probe);
	info = calloc(1, size);
	if (!info)
		return -ENOMEM;
	info->index = index;
	e = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_GET_REGION_INFO, d->bdf, info, size);
	if (e >= 0) {
		r.size = info->size;
		r.offset = info->offset;
		r.readable = info->flags & VFIO_REGION_INFO_FLAG_READ;
		r.writable = info->flags & VFIO_REGION_INFO_FLAG_WRITE;
		r.mappable = info->flags & VFIO_REGION_INFO_FLAG_MMAP;
		parse_region_caps(info, size, &r);
		*ret = r;
		e = 0;
	}
	free(info);
	return e;
}

IOV_EXPORT int iov_vfio_region_mmap(struct iov_vfio_device *d, uint32_t index, void **ret, size_t *ret_len)
{
	struct iov_vfio_region r;
	void *p;
	int e;

	e = iov_vfio_region_info(d, index, &r);
	if (e < 0)
		return e;
	if (!r.mappable || r.n_sparse || !r.size)
		return iov_ctx_fail(d->c->ctx, -ENOTSUP, "%s: region %u cannot be mapped whole%s", d->bdf, index,
				    r.n_sparse ? " (only parts of it: see its sparse areas)" : "");
	p = mmap(NULL, r.size, (r.readable ? PROT_READ : 0) | (r.writable ? PROT_WRITE : 0), MAP_SHARED, d->fd,
		 (off_t)r.offset);
	if (p == MAP_FAILED) {
		e = negative_errno();
		return iov_ctx_fail(d->c->ctx, e, "%s: mmap of region %u: %s", d->bdf, index, iov_strerror(e));
	}
	*ret = p;
	*ret_len = r.size;
	return 0;
}

/* pread/pwrite inside one region, refusing accesses past its end. */
static ssize_t region_rw(struct iov_vfio_device *d, uint32_t index, uint64_t offset, void *buf, size_t len, bool write)
{
	struct iov_vfio_region r;
	ssize_t n;
	int e;

	e = iov_vfio_region_info(d, index, &r);
	if (e < 0)
		return e;
	if (offset > r.size || len > r.size - offset)
		return iov_ctx_fail(d->c->ctx, -EINVAL, "%s: %zu bytes at 0x%" PRIx64 " run past region %u (0x%" PRIx64 " bytes)",
				    d->bdf, len, offset, index, r.size);
	if (!(write ? r.writable : r.readable))
		return iov_ctx_fail(d->c->ctx, -EACCES, "%s: region %u is not %s", d->bdf, index, write ? "writable" : "readable");
	n = write ? pwrite(d->fd, buf, len, (off_t)(r.offset + offset)) : pread(d->fd, buf, len, (off_t)(r.offset + offset));
	if (n < 0) {
		e = negative_errno();
		return iov_ctx_fail(d->c->ctx, e, "%s: %s region %u at 0x%" PRIx64 ": %s", d->bdf, write ? "writing" : "reading",
				    index, offset, iov_strerror(e));
	}
	return n;
}

IOV_EXPORT ssize_t iov_vfio_region_read(struct iov_vfio_device *d, uint32_t index, uint64_t offset, void *buf, size_t len)
{
	return region_rw(d, index, offset, buf, len, false);
}

IOV_EXPORT ssize_t iov_vfio_region_write(struct iov_vfio_device *d, uint32_t index, uint64_t offset, const void *buf,
					 size_t len)
{
	return region_rw(d, index, offset, (void *)buf, len, true);
}

IOV_EXPORT int iov_vfio_irq_count(struct iov_vfio_device *d, uint32_t index)
{
	struct vfio_irq_info info = { .index = index };
	int r;

	iov_ctx_reason_clear(d->c->ctx);
	if (index >= d->info.num_irqs)
		return 0;
	r = VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_GET_IRQ_INFO, d->bdf, &info, sizeof(info));
	return r < 0 ? r : (int)info.count;
}

/* VFIO_DEVICE_SET_IRQS with @flags and @count eventfds (or none). */
static int set_irqs(struct iov_vfio_device *d, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
		    const int *fds)
{
	size_t size = sizeof(struct vfio_irq_set) + (fds ? count * sizeof(int32_t) : 0);
	_cleanup_free_ struct vfio_irq_set *set = calloc(1, size);

	if (!set)
		return -ENOMEM;
	set->flags = flags;
	set->index = index;
	set->start = start;
	set->count = count;
	if (fds)
		for (uint32_t i = 0; i < count; i++)
			((int32_t *)set->data)[i] = fds[i];
	return VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_SET_IRQS, d->bdf, set, size);
}

IOV_EXPORT int iov_vfio_irq_set_eventfds(struct iov_vfio_device *d, uint32_t index, uint32_t start, uint32_t count,
					 const int *fds)
{
	int n = iov_vfio_irq_count(d, index);

	if (n < 0)
		return n;
	if (!count || start >= (uint32_t)n || count > (uint32_t)n - start)
		return iov_ctx_fail(d->c->ctx, -EINVAL, "%s: IRQ index %u has %d vector(s); %u..%u asked", d->bdf, index, n, start,
				    start + count - (count ? 1 : 0));
	return set_irqs(d, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index, start, count, fds);
}

IOV_EXPORT int iov_vfio_irq_disable(struct iov_vfio_device *d, uint32_t index)
{
	iov_ctx_reason_clear(d->c->ctx);
	return set_irqs(d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 0, NULL);
}

IOV_EXPORT int iov_vfio_irq_mask(struct iov_vfio_device *d, uint32_t index, uint32_t vector, bool mask)
{
	iov_ctx_reason_clear(d->c->ctx);
	return set_irqs(d, VFIO_IRQ_SET_DATA_NONE | (mask ? VFIO_IRQ_SET_ACTION_MASK : VFIO_IRQ_SET_ACTION_UNMASK), index,
			vector, 1, NULL);
}

IOV_EXPORT int iov_vfio_device_reset(struct iov_vfio_device *d)
{
	iov_ctx_reason_clear(d->c->ctx);
	if (!(d->info.flags & VFIO_DEVICE_FLAGS_RESET))
		return iov_ctx_fail(d->c->ctx, -ENOTTY, "%s: the device has no reset method (no FLR, PM or bus reset)", d->bdf);
	return VFIO_IOCTL(d->c->ctx, d->fd, VFIO_DEVICE_RESET, d->bdf, NULL, 0);
}
