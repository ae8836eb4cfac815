/* SPDX-License-Identifier: MIT */
/*
 * The container: one IOMMU address space (a kernel VFIO container, or the DMA space of a
 * vfio-user connection), and the table of DMA mappings made in it, so that a VMM can map a
 * guest's RAM and have it all unmapped on teardown. The checks here are the same for both
 * backends.
 */
#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stdio.h>
#include <string.h>

#include "vfio-internal.h"

struct iov_vfio_container *container_alloc(struct iov_ctx *ctx, const struct vfio_backend *be)
{
	struct iov_vfio_container *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ctx = ctx;
	c->be = be;
	c->fd = -1;
	c->info.dma_avail = -1;
	return c;
}

void vfio_caps_foreach(const void *info, size_t size, uint32_t first,
		       void (*fn)(const struct vfio_info_cap_header *h, size_t room, void *userdata), void *userdata)
{
	uint32_t off = first;

	for (unsigned int hops = 0; off && off + sizeof(struct vfio_info_cap_header) <= size && hops < 64; hops++) {
		const struct vfio_info_cap_header *h = (const void *)((const char *)info + off);

		fn(h, size - off, userdata);
		if (h->next <= off)
			break;   /* a chain only goes forward */
		off = h->next;
	}
}

IOV_EXPORT const char *iov_vfio_container_backend(const struct iov_vfio_container *c)
{
	return c->be->name;
}

/* Orders mappings by IOVA; overlapping ranges compare equal (see struct iov_vfio_container). */
static int mapping_cmp(const void *a, const void *b)
{
	const struct dma_mapping *x = a, *y = b;

	if (x->iova + x->len - 1 < y->iova)
		return -1;
	if (y->iova + y->len - 1 < x->iova)
		return 1;
	return 0;
}

/* The mapping that overlaps [iova, iova + len), or NULL. */
static struct dma_mapping *mapping_find(const struct iov_vfio_container *c, uint64_t iova, uint64_t len)
{
	struct dma_mapping key = { .iova = iova, .len = len };
	void *node = tfind(&key, &c->maps, mapping_cmp);

	return node ? *(struct dma_mapping **)node : NULL;
}

struct collect {
	struct dma_mapping **out;
	size_t n;
};

static void collect_one(const void *node, VISIT which, void *userdata)
{
	struct collect *col = userdata;

	if (which == postorder || which == leaf)
		col->out[col->n++] = *(struct dma_mapping *const *)node;
}

/* Every mapping, in IOVA order, into a new array of c->n_maps pointers. */
static struct dma_mapping **mappings(const struct iov_vfio_container *c)
{
	struct collect col = { .out = calloc(c->n_maps + 1, sizeof(*col.out)) };

	if (col.out)
		twalk_r(c->maps, collect_one, &col);
	return col.out;
}

IOV_EXPORT void iov_vfio_container_free(struct iov_vfio_container *c)
{
	struct dma_mapping **all;

	if (!c)
		return;
	/* Unmap what is left; the kernel would on close, but say so in the log. */
	all = mappings(c);
	for (size_t i = 0; all && i < c->n_maps; i++) {
		iov_ctx_log(c->ctx, IOV_LOG_DEBUG, "unmapping IOVA 0x%" PRIx64 "+0x%" PRIx64 " at teardown", all[i]->iova,
			    all[i]->len);
		c->be->dma_unmap(c, all[i]->iova, all[i]->len);
	}
	free(all);
	tdestroy(c->maps, free);
	c->be->container_free(c);
	free(c->reserved);
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
	_cleanup_free_ struct dma_mapping **all = mappings(c);
	size_t n = 0;

	if (!busy || !all) {
		free(busy);
		return NULL;
	}
	for (size_t i = 0; i < c->n_reserved; i++)
		busy[n++] = (struct iova_span){ c->reserved[i].start, c->reserved[i].end };
	for (size_t i = 0; i < c->n_maps; i++)
		busy[n++] = (struct iova_span){ all[i]->iova, all[i]->iova + all[i]->len - 1 };
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

IOV_EXPORT int iov_vfio_dma_map_fd(struct iov_vfio_container *c, void *vaddr, size_t len, uint64_t iova, int prot, int fd,
				   uint64_t fd_offset)
{
	struct dma_mapping *m;
	bool in_range = false;
	uint64_t pg;
	int r;

	iov_ctx_reason_clear(c->ctx);
	if (!c->model)
		return iov_ctx_fail(c->ctx, -EINVAL, "the container has no IOMMU yet: open a device first");
	pg = min_pgsize(c);
	if (!len || !(prot & (IOV_DMA_READ | IOV_DMA_WRITE)) || (len & (pg - 1)) || (iova & (pg - 1)) ||
	    ((uintptr_t)vaddr & (pg - 1)))
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
	{
		const struct dma_mapping *hit = mapping_find(c, iova, len);

		if (hit)
			return iov_ctx_fail(c->ctx, -EEXIST, "IOVA 0x%" PRIx64 "+0x%zx overlaps the mapping at 0x%" PRIx64, iova, len,
					    hit->iova);
	}
	if (c->info.dma_avail == 0)
		return iov_ctx_fail(c->ctx, -ENOSPC, "the IOMMU allows no more DMA mappings");

	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = (struct dma_mapping){ .iova = iova, .len = len, .vaddr = vaddr };
	r = c->be->dma_map(c, (uint64_t)(uintptr_t)vaddr, len, iova, prot, fd, fd_offset);
	if (r < 0) {
		free(m);
		return r;
	}
	if (!tsearch(m, &c->maps, mapping_cmp)) {
		/* Out of memory for the tree node: undo the kernel's mapping, so the table stays true. */
		c->be->dma_unmap(c, iova, len);
		free(m);
		return -ENOMEM;
	}
	c->n_maps++;
	if (c->info.dma_avail > 0)
		c->info.dma_avail--;
	return 0;
}

IOV_EXPORT int iov_vfio_dma_map(struct iov_vfio_container *c, void *vaddr, size_t len, uint64_t iova, int prot)
{
	return iov_vfio_dma_map_fd(c, vaddr, len, iova, prot, -1, 0);
}

IOV_EXPORT int iov_vfio_dma_unmap(struct iov_vfio_container *c, uint64_t iova, size_t len)
{
	struct dma_mapping *m;
	int r;

	iov_ctx_reason_clear(c->ctx);
	m = len ? mapping_find(c, iova, len) : NULL;
	if (!m || m->iova != iova || m->len != len)
		return iov_ctx_fail(c->ctx, -ENOENT, "no DMA mapping of 0x%zx bytes at IOVA 0x%" PRIx64, len, iova);
	r = c->be->dma_unmap(c, iova, len);
	if (r < 0)
		return r;
	tdelete(m, &c->maps, mapping_cmp);
	free(m);
	c->n_maps--;
	if (c->info.dma_avail >= 0)
		c->info.dma_avail++;
	return 0;
}
