/* SPDX-License-Identifier: MIT */
/* What the files of vfio-core share. */
#ifndef IOVKIT_VFIO_INTERNAL_H
#define IOVKIT_VFIO_INTERNAL_H

#include <linux/vfio.h>

#include "../common/common-internal.h"
#include "iovkit/iommu.h"
#include "iovkit/vfio.h"

/* ---- the IOVA allocator (iova.c): pure, over sorted, non-overlapping busy intervals ---- */

struct iova_span {
	uint64_t start, end;          /* inclusive */
};

/*
 * Lowest @align-aligned start of @len bytes inside one of @ranges, below @limit (exclusive,
 * 0: none), that overlaps none of @busy (any order). -ENOSPC if none, -EINVAL for a zero
 * length or an alignment that is not a power of two.
 */
int iova_find(const struct iova_span *ranges, size_t n_ranges, const struct iova_span *busy, size_t n_busy,
	      uint64_t len, uint64_t align, uint64_t limit, uint64_t *ret);

/* Whether [start, start + len) overlaps a span. */
bool iova_overlaps(const struct iova_span *spans, size_t n, uint64_t start, uint64_t len);

/* ---- container, groups, devices ---- */

struct vfio_group {
	int id;
	int fd;
	unsigned int devices;         /* open devices of this group */
	struct vfio_group *next;
};

struct dma_mapping {
	uint64_t iova, len;
	void *vaddr;
};

struct iov_vfio_container {
	struct iov_ctx *ctx;
	int fd;
	int model;                    /* VFIO_TYPE1v2_IOMMU / VFIO_TYPE1_IOMMU once set, else 0 */
	struct vfio_group *groups;
	struct iov_vfio_iommu_info info;
	struct iov_resv_region *reserved;   /* of every group that joined */
	size_t n_reserved;
	struct dma_mapping *maps;
	size_t n_maps;
};

struct iov_vfio_device {
	struct iov_vfio_container *c;
	struct vfio_group *group;
	int fd;
	char bdf[IOV_BDF_LEN];
	struct vfio_device_info info;
};

/*
 * The one wrapper around every VFIO ioctl: fills argsz (the first field of each VFIO argument
 * struct) with @size when @size > 0, and on failure records "<what>: <REQUEST>: <error>" as
 * the context's reason. Returns the ioctl's result or -errno.
 */
int vfio_ioctl(struct iov_ctx *ctx, int fd, unsigned long req, const char *req_name, const char *what, void *arg,
	       size_t size);
#define VFIO_IOCTL(ctx, fd, req, what, arg, size) vfio_ioctl(ctx, fd, req, #req, what, arg, size)

/* The same for the ioctls that take a plain value (VFIO_SET_IOMMU, VFIO_CHECK_EXTENSION). */
int vfio_ioctl_val(struct iov_ctx *ctx, int fd, unsigned long req, const char *req_name, const char *what,
		   unsigned long val);
#define VFIO_IOCTL_VAL(ctx, fd, req, what, val) vfio_ioctl_val(ctx, fd, req, #req, what, val)

/* Adds @group's reserved regions to the container's (device.c calls it when a group joins). */
int container_add_reserved(struct iov_vfio_container *c, int group);

/* Sets the IOMMU model and reads its info; called when the first group joins. */
int container_setup_iommu(struct iov_vfio_container *c);

#endif
