/* SPDX-License-Identifier: MIT */
/*
 * The VFIO container (linux/vfio.h, "VFIO_TYPE1v2_IOMMU"): one IOMMU address space, its IOMMU
 * properties, and a table of the DMA mappings made in it, so that a VMM can map a guest's RAM
 * and have it all unmapped on teardown.
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
	int r;

	iov_ctx_reason_clear(ctx);
	fd = iov_path_open(ctx, O_RDWR, "dev/vfio/vfio");
	if (fd < 0) {
		if (fd == -ENOENT && iov_path_exists(ctx, "dev/iommu") > 0)
			return iov_ctx_fail(ctx, -EOPNOTSUPP,
					    "this host offers only iommufd (/dev/iommu), which vfio-core does not speak yet");
		return iov_ctx_fail(ctx, fd, "opening /dev/vfio/vfio: %s%s", iov_strerror(fd),
				    fd == -ENOENT ? " (is the vfio module loaded? see iovctl host)" : "");
	}
	r = VFIO_IOCTL_VAL(ctx, fd, VFIO_GET_API_VERSION, "/dev/vfio/vfio", 0);
	if (r < 0)
		return r;
	if (r != VFIO_API_VERSION)
		return iov_ctx_fail(ctx, -EOPNOTSUPP, "/dev/vfio/vfio speaks VFIO API %d, not %d", r, VFIO_API_VERSION);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ctx = ctx;
	c->fd = TAKE_FD(fd);
	*ret = c;
	return 0;
}

IOV_EXPORT void iov_vfio_container_free(struct iov_vfio_container *c)
{
	if (!c)
		return;
	/* Unmap what is left, newest first; the kernel would on close, but say so in the log. */
	while (c->n_maps) {
		struct dma_mapping *m = &c->maps[c->n_maps - 1];

		iov_ctx_log(c->ctx, IOV_LOG_DEBUG, "unmapping IOVA 0x%" PRIx64 "+0x%" PRIx64 " at teardown", m->iova, m->len);
		if (iov_vfio_dma_unmap(c, m->iova, m->len) < 0)
			c->n_maps--;
	}
	for (struct vfio_group *g = c->groups, *next; g; g = next) {
		next = g->next;
		closep(&g->fd);
		free(g);
	}
	free(c->maps);
	free(c->reserved);
	closep(&c->fd);
	free(c);
}

int container_add_reserved(struct iov_vfio_container *c, int group)
{
	struct iov_resv_region *regions = NULL, *grown;
	int n = iov_group_reserved_regions(c->ctx, group, &regions);

	if (n <= 0)
		return n;
	grown = realloc(c->reserved, (c->n_reserved + (size_t)n) * sizeof(*grown));
	if (!grown) {
		free(regions);
		return -ENOMEM;
	}
	memcpy(grown + c->n_reserved, regions, (size_t)n * sizeof(*regions));
	c->reserved = grown;
	c->n_reserved += (size_t)n;
	free(regions);
	return 0;
}

/* Walks the capability chain of VFIO_IOMMU_GET_INFO (VFIO_IOMMU_INFO_CAPS). */
static void parse_iommu_caps(struct iov_vfio_container *c, const struct vfio_iommu_type1_info *info, size_t size)
{
	uint32_t off = (info->flags & VFIO_IOMMU_INFO_CAPS) ? info->cap_offset : 0;

	/* Each header is checked to lie inside what the kernel returned. */
	for (unsigned int hops = 0; off && off + sizeof(struct vfio_info_cap_header) <= size && hops < 64; hops++) {
		const struct vfio_info_cap_header *h = (const void *)((const char *)info + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
		    off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= size) {
			const struct vfio_iommu_type1_info_cap_iova_range *cap = (const void *)h;
			uint32_t n = cap->nr_iovas;

			if (off + sizeof(*cap) + (size_t)n * sizeof(cap->iova_ranges[0]) > size)
				n = 0;
			c->info.n_ranges = 0;
			for (uint32_t i = 0; i < n && c->info.n_ranges < IOV_VFIO_MAX_RANGES; i++) {
				c->info.ranges[c->info.n_ranges].start = cap->iova_ranges[i].start;
				c->info.ranges[c->info.n_ranges].end = cap->iova_ranges[i].end;
				c->info.n_ranges++;
			}
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL &&
			   off + sizeof(struct vfio_iommu_type1_info_dma_avail) <= size) {
			c->info.dma_avail = ((const struct vfio_iommu_type1_info_dma_avail *)h)->avail;
		}
		if (h->next <= off)
			break;   /* the chain only goes forward */
		off = h->next;
	}
}

int container_setup_iommu(struct iov_vfio_container *c)
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
	c->info.dma_avail = -1;

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
		parse_iommu_caps(c, info, size);
		r = 0;
	}
	free(info);
	return r;
}

IOV_EXPORT int iov_vfio_iommu_info(struct iov_vfio_container *c, struct iov_vfio_iommu_info *ret)
{
	if (!c->model)
		return iov_ctx_fail(c->ctx, -EINVAL, "the container has no IOMMU yet: open a device first");
	*ret = c->info;
	return 0;
}

IOV_EXPORT size_t iov_vfio_dma_count(const struct iov_vfio_container *c)
{
	return c->n_maps;
}

static uint64_t min_pgsize(const struct iov_vfio_container *c)
{
	return c->info.pgsizes ? c->info.pgsizes & -c->info.pgsizes : 4096;
}

/* Every interval a new mapping must avoid: reserved regions and existing mappings. */
static struct iova_span *busy_spans(const struct iov_vfio_container *c, size_t *ret_n)
{
	struct iova_span *busy = calloc(c->n_reserved + c->n_maps + 1, sizeof(*busy));
	size_t n = 0;

	if (!busy)
		return NULL;
	for (size_t i = 0; i < c->n_reserved; i++)
		busy[n++] = (struct iova_span){ c->reserved[i].start, c->reserved[i].end };
	for (size_t i = 0; i < c->n_maps; i++)
		busy[n++] = (struct iova_span){ c->maps[i].iova, c->maps[i].iova + c->maps[i].len - 1 };
	*ret_n = n;
	return busy;
}

IOV_EXPORT int iov_vfio_iova_alloc(struct iov_vfio_container *c, size_t len, uint64_t limit, uint64_t *ret_iova)
{
	struct iova_span ranges[IOV_VFIO_MAX_RANGES];
	_cleanup_free_ struct iova_span *busy = NULL;
	size_t n_busy = 0;
	int r;

	iov_ctx_reason_clear(c->ctx);
	if (!c->model)
		return iov_ctx_fail(c->ctx, -EINVAL, "the container has no IOMMU yet: open a device first");
	busy = busy_spans(c, &n_busy);
	if (!busy)
		return -ENOMEM;
	for (unsigned int i = 0; i < c->info.n_ranges; i++)
		ranges[i] = (struct iova_span){ c->info.ranges[i].start, c->info.ranges[i].end };
	r = iova_find(ranges, c->info.n_ranges, busy, n_busy, len, min_pgsize(c), limit, ret_iova);
	if (r == -ENOSPC)
		return iov_ctx_fail(c->ctx, r, "no free IOVA range of 0x%zx bytes%s", len, limit ? " below the limit" : "");
	if (r < 0)
		return iov_ctx_fail(c->ctx, r, "IOVA allocation of 0x%zx bytes: %s", len, iov_strerror(r));
	return 0;
}

IOV_EXPORT int iov_vfio_dma_map(struct iov_vfio_container *c, void *vaddr, size_t len, uint64_t iova, int prot)
{
	struct vfio_iommu_type1_dma_map map = {
		.flags = ((prot & IOV_DMA_READ) ? VFIO_DMA_MAP_FLAG_READ : 0u) |
			 ((prot & IOV_DMA_WRITE) ? VFIO_DMA_MAP_FLAG_WRITE : 0u),
		.vaddr = (uint64_t)(uintptr_t)vaddr,
		.iova = iova,
		.size = len,
	};
	uint64_t pg;
	bool in_range = false;
	struct dma_mapping *grown;
	int r;

	iov_ctx_reason_clear(c->ctx);
	if (!c->model)
		return iov_ctx_fail(c->ctx, -EINVAL, "the container has no IOMMU yet: open a device first");
	pg = min_pgsize(c);
	if (!len || !prot || (len & (pg - 1)) || (iova & (pg - 1)) || ((uintptr_t)vaddr & (pg - 1)))
		return iov_ctx_fail(c->ctx, -EINVAL,
				    "DMA map of 0x%zx bytes at IOVA 0x%" PRIx64 ": length, address and IOVA must be non-zero "
				    "multiples of the IOMMU page size 0x%" PRIx64 " (and a permission given)",
				    len, iova, pg);
	if (iova + len - 1 < iova)
		return iov_ctx_fail(c->ctx, -EINVAL, "IOVA 0x%" PRIx64 "+0x%zx wraps around", iova, len);
	for (unsigned int i = 0; i < c->info.n_ranges; i++)
		in_range |= iova >= c->info.ranges[i].start && iova + len - 1 <= c->info.ranges[i].end;
	if (!in_range)
		return iov_ctx_fail(c->ctx, -EINVAL, "IOVA 0x%" PRIx64 "+0x%zx is outside the IOMMU's usable ranges", iova, len);
	for (size_t i = 0; i < c->n_reserved; i++)
		if (iova <= c->reserved[i].end && c->reserved[i].start <= iova + len - 1)
			return iov_ctx_fail(c->ctx, -EPERM,
					    "IOVA 0x%" PRIx64 "+0x%zx overlaps the reserved %s region 0x%" PRIx64 "-0x%" PRIx64,
					    iova, len, c->reserved[i].type, c->reserved[i].start, c->reserved[i].end);
	for (size_t i = 0; i < c->n_maps; i++)
		if (iova <= c->maps[i].iova + c->maps[i].len - 1 && c->maps[i].iova <= iova + len - 1)
			return iov_ctx_fail(c->ctx, -EEXIST, "IOVA 0x%" PRIx64 "+0x%zx overlaps the mapping at 0x%" PRIx64,
					    iova, len, c->maps[i].iova);
	if (c->info.dma_avail == 0)
		return iov_ctx_fail(c->ctx, -ENOSPC, "the IOMMU allows no more DMA mappings (dma_entry_limit)");

	grown = realloc(c->maps, (c->n_maps + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->maps = grown;
	r = VFIO_IOCTL(c->ctx, c->fd, VFIO_IOMMU_MAP_DMA, "DMA map", &map, sizeof(map));
	if (r == -ENOMEM)
		return iov_ctx_fail(c->ctx, r,
				    "DMA map of 0x%zx bytes: the kernel could not pin the memory; RLIMIT_MEMLOCK is too low "
				    "for this process (ulimit -l, LimitMEMLOCK=) or it lacks CAP_IPC_LOCK", len);
	if (r < 0)
		return r;
	c->maps[c->n_maps++] = (struct dma_mapping){ .iova = iova, .len = len, .vaddr = vaddr };
	if (c->info.dma_avail > 0)
		c->info.dma_avail--;
	return 0;
}

IOV_EXPORT int iov_vfio_dma_unmap(struct iov_vfio_container *c, uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .iova = iova, .size = len };
	int r;

	iov_ctx_reason_clear(c->ctx);
	for (size_t i = 0; i < c->n_maps; i++) {
		if (c->maps[i].iova != iova || c->maps[i].len != len)
			continue;
		r = VFIO_IOCTL(c->ctx, c->fd, VFIO_IOMMU_UNMAP_DMA, "DMA unmap", &unmap, sizeof(unmap));
		if (r < 0)
			return r;
		if (unmap.size != len)
			return iov_ctx_fail(c->ctx, -EIO, "DMA unmap at 0x%" PRIx64 ": the kernel unmapped 0x%llx of 0x%zx bytes",
					    iova, (unsigned long long)unmap.size, len);
		c->maps[i] = c->maps[--c->n_maps];
		if (c->info.dma_avail >= 0)
			c->info.dma_avail++;
		return 0;
	}
	return iov_ctx_fail(c->ctx, -ENOENT, "no DMA mapping of 0x%zx bytes at IOVA 0x%" PRIx64, len, iova);
}
