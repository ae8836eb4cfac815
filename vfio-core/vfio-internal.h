/* SPDX-License-Identifier: MIT */
/* What the files of vfio-core share. */
#ifndef IOVKIT_VFIO_INTERNAL_H
#define IOVKIT_VFIO_INTERNAL_H

#include <linux/vfio.h>

#include "../common/common-internal.h"
#include "iovkit/iommu.h"
#include "iovkit/vfio.h"

/* A kernel VFIO device's name: a PCI address or an mdev instance's UUID. */
#define IOV_VFIO_NAME_LEN IOV_UUID_LEN

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

struct vfu_conn;

/*
 * What differs between the kernel's VFIO and a vfio-user server: each backend implements the
 * device and DMA operations; container.c and device.c keep the checks and the DMA table that
 * both share, so a device is used the same way whichever backend reaches it.
 */
struct vfio_backend {
	const char *name;
	int (*device_open)(struct iov_vfio_container *c, const char *bdf, const char *vf_token, struct iov_vfio_device *d);
	void (*device_close)(struct iov_vfio_device *d);
	int (*dma_map)(struct iov_vfio_container *c, uint64_t vaddr, uint64_t len, uint64_t iova, int prot, int fd,
		       uint64_t fd_offset);
	int (*dma_unmap)(struct iov_vfio_container *c, uint64_t iova, uint64_t len);
	/* The region info with its capabilities, malloc'd into *ret (size in *ret_size); the fd to
	 * mmap it through in *ret_fd (-1: the device fd). */
	int (*region_info)(struct iov_vfio_device *d, uint32_t index, struct vfio_region_info **ret, size_t *ret_size,
			   int *ret_fd);
	ssize_t (*region_rw)(struct iov_vfio_device *d, const struct iov_vfio_region *r, uint64_t offset, void *buf,
			     size_t len, bool write);
	int (*irq_info)(struct iov_vfio_device *d, struct vfio_irq_info *info);
	int (*set_irqs)(struct iov_vfio_device *d, struct vfio_irq_set *set, size_t size, const int *fds, unsigned int nfds);
	int (*reset)(struct iov_vfio_device *d);
	int (*hot_reset)(struct iov_vfio_device *d);
	int (*set_vf_token)(struct iov_vfio_device *d, const uint8_t uuid[16]);
	void (*container_free)(struct iov_vfio_container *c);
};

extern const struct vfio_backend vfio_kernel_backend;
extern const struct vfio_backend vfio_user_backend;

struct iov_vfio_container {
	struct iov_ctx *ctx;
	const struct vfio_backend *be;
	int fd;                       /* kernel: the container; -1 for vfio-user */
	int model;                    /* kernel: VFIO_TYPE1v2_IOMMU / VFIO_TYPE1_IOMMU once set; user: 1 */
	struct vfio_group *groups;    /* kernel */
	struct vfu_conn *conn;        /* vfio-user */
	bool user_device_open;        /* vfio-user: the one device behind the socket is open */
	struct iov_vfio_iommu_info info;
	struct iov_resv_region *reserved;   /* of every group that joined */
	size_t n_reserved;
	/*
	 * The DMA mappings: a tsearch(3) tree (red-black in glibc) of struct dma_mapping, ordered
	 * by IOVA with overlapping intervals comparing equal, so a lookup finds any mapping that
	 * overlaps a range in O(log n) (the stored mappings never overlap each other).
	 */
	void *maps;
	size_t n_maps;
};

struct iov_vfio_device {
	struct iov_vfio_container *c;
	struct vfio_group *group;     /* kernel */
	int fd;                       /* kernel: the device fd */
	char bdf[IOV_VFIO_NAME_LEN];  /* kernel: the address or mdev UUID; user: "vfio-user" */
	struct vfio_device_info info;
	int region_fds[16];           /* vfio-user: fds the server gave for mmap, by region; -1 none */
	/* Region info is fixed for the life of a device fd: asked once, then cached. */
	struct iov_vfio_region regions[16];
	bool region_known[16];
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

/* Adds @group's reserved regions to the container's (kernel.c calls it when a group joins). */
int container_add_reserved(struct iov_vfio_container *c, int group);

/* A new container with backend @be; the backend fills in the rest. */
struct iov_vfio_container *container_alloc(struct iov_ctx *ctx, const struct vfio_backend *be);

/* Walks a VFIO capability chain inside @size bytes of @info, calling @fn for each header that
 * fits; chains that loop or point backwards end the walk. */
void vfio_caps_foreach(const void *info, size_t size, uint32_t first,
		       void (*fn)(const struct vfio_info_cap_header *h, size_t room, void *userdata), void *userdata);

#endif
