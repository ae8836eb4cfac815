/* SPDX-License-Identifier: MIT */
/*
 * vfio-core: open assigned PCI devices through the kernel's VFIO (legacy container/group API),
 * read and map their regions, map memory for their DMA, wire their interrupts to eventfds,
 * and reset them.
 *
 * Objects: a container is one IOMMU address space (VFIO container, type1v2 or type1); groups
 * join it as their devices are opened; a device belongs to the container it was opened in.
 * Free devices before their container. One thread at a time per container.
 *
 * The same API reaches a device served over vfio-user (iov_vfio_container_new_user).
 *
 * The iommufd/cdev backend (Linux >= 6.2) is not built yet: the Debian 12 UAPI headers do not
 * describe it. On a host where only iommufd is available, iov_vfio_container_new() fails with
 * -EOPNOTSUPP and says so.
 */
#ifndef IOVKIT_VFIO_H
#define IOVKIT_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "iovkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct iov_vfio_container;
struct iov_vfio_device;

/* ---- container and IOMMU ---- */

/*
 * Opens a container (dev/vfio/vfio under the context's root). The IOMMU model is set when the
 * first group joins. Errors: -ENOENT no VFIO (reason says so), -EOPNOTSUPP an unknown API
 * version. The caller owns *ret; the container keeps @ctx, which must outlive it.
 */
int iov_vfio_container_new(struct iov_ctx *ctx, struct iov_vfio_container **ret);

/*
 * Connects to a vfio-user server at socket @path and negotiates the protocol (version 0.1).
 * The container then reaches the one device behind that socket: iov_vfio_device_open() with
 * any @bdf (NULL is fine) opens it, and every device and DMA call below works as with the
 * kernel, with these differences: DMA memory must be shareable by fd (iov_vfio_dma_map_fd),
 * there are no IOMMU groups or reserved regions, and a region is mappable only if the server
 * hands out an fd for it. Errors: -ECONNREFUSED / -ENOENT no server, -EBUSY the server is
 * serving another client, -EPROTONOSUPPORT an incompatible version.
 */
int iov_vfio_container_new_user(struct iov_ctx *ctx, const char *path, struct iov_vfio_container **ret);

/* "kernel" or "vfio-user". */
const char *iov_vfio_container_backend(const struct iov_vfio_container *c);

/* Unmaps every DMA mapping still in the table, closes groups and the container; accepts NULL. */
void iov_vfio_container_free(struct iov_vfio_container *c);

struct iov_iova_range {
	uint64_t start, end;          /* inclusive */
};

#define IOV_VFIO_MAX_RANGES 16

struct iov_vfio_iommu_info {
	const char *model;            /* "type1v2" or "type1" */
	uint64_t pgsizes;             /* bitmap of supported IOMMU page sizes */
	unsigned int n_ranges;        /* usable IOVA ranges (the whole space if the kernel gives none) */
	struct iov_iova_range ranges[IOV_VFIO_MAX_RANGES];
	int64_t dma_avail;            /* mappings the kernel still allows, -1 if it does not say */
};

/* The IOMMU's properties; valid once a device is open. -EINVAL before. */
int iov_vfio_iommu_info(struct iov_vfio_container *c, struct iov_vfio_iommu_info *ret);

/* DMA permissions */
enum { IOV_DMA_READ = 1 << 0, IOV_DMA_WRITE = 1 << 1 };

/*
 * Maps @len bytes at @vaddr for device DMA at @iova. @vaddr, @len and @iova must be aligned to
 * the smallest IOMMU page size. The range must lie in a usable IOVA range and outside every
 * reserved region of the container's groups, and must not overlap an existing mapping.
 * Errors (nothing mapped): -EINVAL unaligned or outside the IOVA ranges, -EEXIST overlap,
 * -EPERM inside a reserved region, -ENOMEM the kernel refused to pin (RLIMIT_MEMLOCK: the
 * reason says so), -ENOSPC dma_avail exhausted.
 */
int iov_vfio_dma_map(struct iov_vfio_container *c, void *vaddr, size_t len, uint64_t iova, int prot);

/*
 * The same, for memory that is also reachable through @fd at @fd_offset (a memfd, a hugetlbfs
 * file). The kernel backend pins @vaddr and ignores the fd; a vfio-user server maps the fd, so
 * vfio-user needs this form (iov_vfio_dma_map gives -EOPNOTSUPP there). The fd stays the caller's.
 */
int iov_vfio_dma_map_fd(struct iov_vfio_container *c, void *vaddr, size_t len, uint64_t iova, int prot, int fd,
			uint64_t fd_offset);

/* Unmaps exactly a mapping made by iov_vfio_dma_map (same iova and len). -ENOENT if none. */
int iov_vfio_dma_unmap(struct iov_vfio_container *c, uint64_t iova, size_t len);

/*
 * Finds a free, aligned IOVA range of @len bytes below @limit (exclusive; 0 = no limit) that
 * avoids reserved regions and existing mappings, lowest first. -ENOSPC if none.
 */
int iov_vfio_iova_alloc(struct iov_vfio_container *c, size_t len, uint64_t limit, uint64_t *ret_iova);

/* Number of DMA mappings in the table. */
size_t iov_vfio_dma_count(const struct iov_vfio_container *c);

/* ---- devices ---- */

/*
 * Opens the PCI device @bdf, or the mediated device (a vGPU, an mdev sample) whose UUID it is:
 * its IOMMU group joins the container (the group must be viable: every endpoint on vfio-pci
 * or unbound; an mdev's group is its own), then the device fd is obtained. @vf_token: the
 * VF token UUID for a VF whose PF is on vfio-pci, else NULL.
 * Errors: -ENOENT device or group node missing (not bound to vfio-pci?), -EBUSY the group is
 * in another container or process, -EPERM the group is not viable, -EACCES VF token needed.
 * The reason names the device. The caller owns *ret.
 */
int iov_vfio_device_open(struct iov_vfio_container *c, const char *bdf, const char *vf_token,
			 struct iov_vfio_device **ret);

/* Closes the device; its group leaves the container when it was the group's last device. */
void iov_vfio_device_close(struct iov_vfio_device *d);

struct iov_vfio_device_info {
	uint32_t flags;               /* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions, num_irqs;
	bool pci, can_reset;
};
int iov_vfio_device_info(struct iov_vfio_device *d, struct iov_vfio_device_info *ret);

/* PCI region indexes, as VFIO numbers them. */
enum {
	IOV_VFIO_BAR0 = 0,            /* ... BAR5 = 5 */
	IOV_VFIO_ROM = 6,
	IOV_VFIO_CONFIG = 7,
	IOV_VFIO_VGA = 8,
};

#define IOV_VFIO_MAX_SPARSE 8

struct iov_vfio_region {
	uint32_t index;
	uint64_t size, offset;        /* offset: where the region starts in the device fd */
	bool readable, writable, mappable;
	unsigned int n_sparse;        /* mmap-able parts when only parts are (MSI-X table excluded) */
	struct { uint64_t offset, size; } sparse[IOV_VFIO_MAX_SPARSE];
};

/* A region's description. -EINVAL if @index is past num_regions. */
int iov_vfio_region_info(struct iov_vfio_device *d, uint32_t index, struct iov_vfio_region *ret);

/*
 * Maps a whole mappable region into this process. *ret_len is its size. The mapping belongs
 * to the caller (munmap it); it stays valid after the device is closed only until then.
 * -ENOTSUP if the region cannot be mapped (whole).
 */
int iov_vfio_region_mmap(struct iov_vfio_device *d, uint32_t index, void **ret, size_t *ret_len);

/*
 * Maps [@offset, @offset + @len) of region @index: page-aligned, inside the region and, when
 * the region is mappable only in parts (n_sparse), inside one of its sparse areas. The same
 * ownership as iov_vfio_region_mmap. -ENOTSUP if that part cannot be mapped, -EINVAL if it is
 * not page-aligned or runs past the region.
 */
int iov_vfio_region_mmap_range(struct iov_vfio_device *d, uint32_t index, uint64_t offset, size_t len, void **ret);

/* Reads/writes @len bytes at @offset inside region @index. Returns bytes moved or -errno;
 * -EINVAL when the access runs past the region's end. */
ssize_t iov_vfio_region_read(struct iov_vfio_device *d, uint32_t index, uint64_t offset, void *buf, size_t len);
ssize_t iov_vfio_region_write(struct iov_vfio_device *d, uint32_t index, uint64_t offset, const void *buf, size_t len);

/* IRQ indexes (VFIO_PCI_*_IRQ_INDEX). */
enum {
	IOV_VFIO_IRQ_INTX = 0,
	IOV_VFIO_IRQ_MSI = 1,
	IOV_VFIO_IRQ_MSIX = 2,
	IOV_VFIO_IRQ_ERR = 3,
	IOV_VFIO_IRQ_REQ = 4,
};

/* How many vectors an IRQ index has (0: not supported). */
int iov_vfio_irq_count(struct iov_vfio_device *d, uint32_t index);

/*
 * Triggers eventfds @fds[0..count) for vectors @start.. of @index (an fd of -1 leaves that
 * vector without one). Enables MSI/MSI-X as a side effect, as VFIO does. The fds stay the
 * caller's. -EINVAL beyond the index's vector count.
 */
int iov_vfio_irq_set_eventfds(struct iov_vfio_device *d, uint32_t index, uint32_t start, uint32_t count,
			      const int *fds);

/* Disables every vector of @index. */
int iov_vfio_irq_disable(struct iov_vfio_device *d, uint32_t index);

/* Masks / unmasks one vector (INTx is level-triggered: unmask after handling). */
int iov_vfio_irq_mask(struct iov_vfio_device *d, uint32_t index, uint32_t vector, bool mask);

/*
 * Unmasks vector @vector of @index whenever eventfd @fd is signalled (VFIO_IRQ_SET_ACTION_UNMASK
 * with an eventfd): for INTx, KVM's resample eventfd, so the guest's EOI unmasks the line with
 * no exit. The fd stays the caller's; -1 removes the binding.
 */
int iov_vfio_irq_unmask_eventfd(struct iov_vfio_device *d, uint32_t index, uint32_t vector, int fd);

/*
 * Sets the VF token of a PF that is on vfio-pci (VFIO_DEVICE_FEATURE_PCI_VF_TOKEN): a shared
 * secret, a UUID, that users of its VFs must present (iov_vfio_device_open's @vf_token), so
 * a VF cannot be driven by someone the PF's owner did not trust. Set it before enabling the
 * VFs (sriov_numvfs; vfio-pci also needs its enable_sriov parameter). -EINVAL for a malformed
 * UUID; -EOPNOTSUPP over vfio-user.
 */
int iov_vfio_device_set_vf_token(struct iov_vfio_device *d, const char *uuid);

/* Resets the device (FLR or whatever VFIO_DEVICE_RESET picks). -ENOTTY if it has no reset method. */
int iov_vfio_device_reset(struct iov_vfio_device *d);

/*
 * Secondary bus (or slot) reset of the device and every device it shares that reset with
 * (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, VFIO_DEVICE_PCI_HOT_RESET). Done only when every
 * affected device's group is in this container: -EBUSY otherwise, naming the device that is
 * not ours, and nothing is reset. -EINVAL / -ENOTTY when the device has no such reset (on a
 * root bus, say); -EOPNOTSUPP over vfio-user.
 */
int iov_vfio_device_hot_reset(struct iov_vfio_device *d);

#ifdef __cplusplus
}
#endif
#endif
