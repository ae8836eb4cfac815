/* SPDX-License-Identifier: MIT */
/*
 * Devices, whichever backend reaches them: info, regions (with the sparse-mmap capability),
 * interrupts to eventfds, reset. The backend does the talking; this file checks arguments
 * and interprets what comes back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio-internal.h"

/* Parses a UUID ("8-4-4-4-12" hex digits) into 16 bytes. */
static int uuid_parse(const char *s, uint8_t out[16])
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t k = 0;

	if (!s || strlen(s) != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36; i++) {
		bool is_dash = i == (size_t)dash[0] || i == (size_t)dash[1] || i == (size_t)dash[2] || i == (size_t)dash[3];
		int v;

		if (is_dash) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		if (s[i] >= '0' && s[i] <= '9')
			v = s[i] - '0';
		else if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')
			v = (s[i] | 0x20) - 'a' + 10;
		else
			return -EINVAL;
		if (k % 2 == 0)
			out[k / 2] = (uint8_t)(v << 4);
		else
			out[k / 2] |= (uint8_t)v;
		k++;
	}
	return 0;
}

IOV_EXPORT int iov_vfio_device_open(struct iov_vfio_container *c, const char *bdf, const char *vf_token,
				    struct iov_vfio_device **ret)
{
	struct iov_vfio_device *d;
	int r;

	iov_ctx_reason_clear(c->ctx);
	if (vf_token && uuid_parse(vf_token, (uint8_t[16]){ 0 }) < 0)
		return iov_ctx_fail(c->ctx, -EINVAL, "'%s' is not a UUID (the VF token)", vf_token);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->c = c;
	d->fd = -1;
	for (size_t i = 0; i < ARRAY_SIZE(d->region_fds); i++)
		d->region_fds[i] = -1;
	r = c->be->device_open(c, bdf, vf_token, d);
	if (r < 0) {
		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

IOV_EXPORT void iov_vfio_device_close(struct iov_vfio_device *d)
{
	if (!d)
		return;
	d->c->be->device_close(d);
	for (size_t i = 0; i < ARRAY_SIZE(d->region_fds); i++)
		closep(&d->region_fds[i]);
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

static void sparse_cap(const struct vfio_info_cap_header *h, size_t room, void *userdata)
{
	struct iov_vfio_region *r = userdata;
	const struct vfio_region_info_cap_sparse_mmap *cap = (const void *)h;
	uint32_t n;

	if (h->id != VFIO_REGION_INFO_CAP_SPARSE_MMAP || room < sizeof(*cap))
		return;
	n = cap->nr_areas;
	if (sizeof(*cap) + (size_t)n * sizeof(cap->areas[0]) > room)
		return;   /* claims more areas than the reply holds */
	for (uint32_t i = 0; i < n && r->n_sparse < IOV_VFIO_MAX_SPARSE; i++) {
		r->sparse[r->n_sparse].offset = cap->areas[i].offset;
		r->sparse[r->n_sparse].size = cap->areas[i].size;
		r->n_sparse++;
	}
}

/* The region and the fd to mmap it through. */
static int region_get(struct iov_vfio_device *d, uint32_t index, struct iov_vfio_region *ret, int *ret_fd)
{
	struct iov_vfio_region r = { .index = index };
	struct vfio_region_info *info = NULL;
	size_t size = 0;
	int fd = -1, e;

	iov_ctx_reason_clear(d->c->ctx);
	if (index >= d->info.num_regions)
		return iov_ctx_fail(d->c->ctx, -EINVAL, "%s: region %u: the device has %u regions", d->bdf, index,
				    d->info.num_regions);
	if (index < ARRAY_SIZE(d->regions) && d->region_known[index]) {
		*ret = d->regions[index];
		if (ret_fd)
			*ret_fd = d->region_fds[index];
		return 0;
	}
	e = d->c->be->region_info(d, index, &info, &size, &fd);
	if (e < 0)
		return e;
	r.size = info->size;
	r.offset = info->offset;
	r.readable = info->flags & VFIO_REGION_INFO_FLAG_READ;
	r.writable = info->flags & VFIO_REGION_INFO_FLAG_WRITE;
	r.mappable = info->flags & VFIO_REGION_INFO_FLAG_MMAP;
	if (info->flags & VFIO_REGION_INFO_FLAG_CAPS)
		vfio_caps_foreach(info, size, info->cap_offset, sparse_cap, &r);
	free(info);
	if (index < ARRAY_SIZE(d->regions)) {
		d->regions[index] = r;
		d->region_known[index] = true;
	}
	*ret = r;
	if (ret_fd)
		*ret_fd = fd;
	return 0;
}

IOV_EXPORT int iov_vfio_region_info(struct iov_vfio_device *d, uint32_t index, struct iov_vfio_region *ret)
{
	return region_get(d, index, ret, NULL);
}

IOV_EXPORT int iov_vfio_region_mmap(struct iov_vfio_device *d, uint32_t index, void **ret, size_t *ret_len)
{
	struct iov_vfio_region r;
	int e;

	e = region_get(d, index, &r, NULL);
	if (e < 0)
		return e;
	if (!r.mappable || r.n_sparse || !r.size)
		return iov_ctx_fail(d->c->ctx, -ENOTSUP, "%s: region %u cannot be mapped whole%s", d->bdf, index,
				    r.n_sparse ? " (only parts of it: see its sparse areas)" : "");
	e = iov_vfio_region_mmap_range(d, index, 0, r.size, ret);
	if (e == 0)
		*ret_len = r.size;
	return e;
}

IOV_EXPORT int iov_vfio_region_mmap_range(struct iov_vfio_device *d, uint32_t index, uint64_t offset, size_t len, void **ret)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct iov_vfio_region r;
	bool inside = false;
	int fd = -1, e;
	void *p;

	e = region_get(d, index, &r, &fd);
	if (e < 0)
		return e;
	if (!r.mappable)
		return iov_ctx_fail(d->c->ctx, -ENOTSUP, "%s: region %u cannot be mapped", d->bdf, index);
	if (!len || offset % page || len % page || offset > r.size || len > r.size - offset)
		return iov_ctx_fail(d->c->ctx, -EINVAL, "%s: region %u (0x%" PRIx64 " bytes): 0x%zx bytes at 0x%" PRIx64
				    " are not whole pages inside it", d->bdf, index, r.size, len, offset);
	for (unsigned int i = 0; i < r.n_sparse; i++)
		inside |= offset >= r.sparse[i].offset && r.sparse[i].size >= len &&
			  offset - r.sparse[i].offset <= r.sparse[i].size - len;
	if (r.n_sparse && !inside)
		return iov_ctx_fail(d->c->ctx, -ENOTSUP, "%s: region %u cannot be mapped at 0x%" PRIx64
				    " (0x%zx bytes): outside its sparse areas", d->bdf, index, offset, len);
	p = mmap(NULL, len, (r.readable ? PROT_READ : 0) | (r.writable ? PROT_WRITE : 0), MAP_SHARED,
		 fd >= 0 ? fd : d->fd, (off_t)(r.offset + offset));
	if (p == MAP_FAILED) {
		e = negative_errno();
		return iov_ctx_fail(d->c->ctx, e, "%s: mmap of region %u at 0x%" PRIx64 ": %s", d->bdf, index, offset,
				    iov_strerror(e));
	}
	*ret = p;
	return 0;
}

/* A read or write inside one region, refusing accesses past its end. */
static ssize_t region_rw(struct iov_vfio_device *d, uint32_t index, uint64_t offset, void *buf, size_t len, bool write)
{
	struct iov_vfio_region r;
	int e;

	e = region_get(d, index, &r, NULL);
	if (e < 0)
		return e;
	if (offset > r.size || len > r.size - offset)
		return iov_ctx_fail(d->c->ctx, -EINVAL, "%s: %zu bytes at 0x%" PRIx64 " run past region %u (0x%" PRIx64 " bytes)",
				    d->bdf, len, offset, index, r.size);
	if (!(write ? r.writable : r.readable))
		return iov_ctx_fail(d->c->ctx, -EACCES, "%s: region %u is not %s", d->bdf, index, write ? "writable" : "readable");
	return d->c->be->region_rw(d, &r, offset, buf, len, write);
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
	r = d->c->be->irq_info(d, &info);
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
	set->argsz = (uint32_t)size;
	set->flags = flags;
	set->index = index;
	set->start = start;
	set->count = count;
	if (fds)
		for (uint32_t i = 0; i < count; i++)
			((int32_t *)set->data)[i] = fds[i];
	return d->c->be->set_irqs(d, set, size, fds, fds ? count : 0);
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

IOV_EXPORT int iov_vfio_irq_unmask_eventfd(struct iov_vfio_device *d, uint32_t index, uint32_t vector, int fd)
{
	iov_ctx_reason_clear(d->c->ctx);
	return set_irqs(d, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, index, vector, 1, &fd);
}

IOV_EXPORT int iov_vfio_device_reset(struct iov_vfio_device *d)
{
	iov_ctx_reason_clear(d->c->ctx);
	if (!(d->info.flags & VFIO_DEVICE_FLAGS_RESET))
		return iov_ctx_fail(d->c->ctx, -ENOTTY, "%s: the device has no reset method (no FLR, PM or bus reset)", d->bdf);
	return d->c->be->reset(d);
}

IOV_EXPORT int iov_vfio_device_hot_reset(struct iov_vfio_device *d)
{
	iov_ctx_reason_clear(d->c->ctx);
	return d->c->be->hot_reset(d);
}

IOV_EXPORT int iov_vfio_device_set_vf_token(struct iov_vfio_device *d, const char *uuid)
{
	uint8_t bytes[16];

	iov_ctx_reason_clear(d->c->ctx);
	if (uuid_parse(uuid, bytes) < 0)
		return iov_ctx_fail(d->c->ctx, -EINVAL, "'%s' is not a UUID (the VF token)", uuid ? uuid : "");
	return d->c->be->set_vf_token(d, bytes);
}
