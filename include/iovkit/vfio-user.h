/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user server library: expose an emulated PCI device from this process over a Unix
 * socket (QEMU docs/interop/vfio-user.rst, version 0.1), to any vfio-user client (QEMU's
 * vfio-user-pci, or vfio-core's own client backend).
 *
 * The device supplies region access and, optionally, reset and files the client may map its
 * regions from (whole, or in sparse areas); the library speaks the protocol,
 * keeps the client's DMA map (mapping the fds it is given, with the permissions asked for) and
 * its interrupt eventfds. One client at a time: another one is told EBUSY and dropped. Single
 * threaded: call everything from the thread that runs iov_vfu_server_run_once().
 */
#ifndef IOVKIT_VFIO_USER_H
#define IOVKIT_VFIO_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "iovkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IOV_VFU_NUM_REGIONS 9   /* BAR0-5, ROM, config space, VGA (the VFIO PCI indexes) */
#define IOV_VFU_NUM_IRQS 5      /* INTx, MSI, MSI-X, error, request */

#define IOV_VFU_MAX_AREAS 8   /* sparse areas of one mappable region */

struct iov_vfu_area {
	uint64_t offset, size;
};

struct iov_vfu_region {
	uint64_t size;          /* 0: absent */
	bool readable, writable;
	/*
	 * A region the client may also mmap (device memory, doorbells, a BAR of RAM): @fd, a
	 * memfd or other shareable file holding the region at @fd_offset, goes to the client with
	 * the region's information. With @n_areas, only those @areas may be mapped (page-aligned,
	 * in ascending order, not overlapping, inside the region: the rest, an MSI-X table, say,
	 * stays trapped), and the client is told so with the sparse-mmap capability. Reads and
	 * writes that do not go through a mapping still reach the device's access op, so it must
	 * see the same memory. The server keeps a duplicate of @fd; the caller keeps its own.
	 */
	bool mappable;
	int fd;
	uint64_t fd_offset;
	unsigned int n_areas;
	struct iov_vfu_area areas[IOV_VFU_MAX_AREAS];
};

struct iov_vfu_device_ops {
	/*
	 * A read or write of @len bytes at @offset in @region, already checked to lie inside it
	 * and to be allowed. Returns @len, or a negative errno for the client.
	 */
	ssize_t (*access)(void *dev, uint32_t region, uint64_t offset, void *buf, size_t len, bool write);
	/* Resets the device. NULL: the device has no reset (the client is told so). */
	int (*reset)(void *dev);
};

struct iov_vfu_device {
	struct iov_vfu_region regions[IOV_VFU_NUM_REGIONS];
	uint32_t irqs[IOV_VFU_NUM_IRQS];   /* vectors per IRQ index; 0: absent */
	const struct iov_vfu_device_ops *ops;
	void *dev;                          /* passed to the ops */
};

struct iov_vfu_server;

/*
 * A server for @desc (copied; a mappable region's fd duplicated). The caller owns *ret; @ctx
 * must outlive it. -EINVAL for a description it cannot serve (the reason logged): no access
 * op, more than 2048 vectors, a mappable region without an fd, a page-unaligned size or offset,
 * areas out of order, overlapping or outside the region, a file too short for the region.
 */
int iov_vfu_server_new(struct iov_ctx *ctx, const struct iov_vfu_device *desc, struct iov_vfu_server **ret);

/* Listens on a Unix socket at @path (a stale socket file there is replaced). */
int iov_vfu_server_listen(struct iov_vfu_server *s, const char *path);

/* Serves an already connected socket instead (tests, socket activation); takes the fd. */
int iov_vfu_server_attach(struct iov_vfu_server *s, int sock);

/*
 * Waits up to @timeout_ms (-1: forever) for a connection or a message and handles it.
 * Returns 1 when the client disconnected (its mappings and eventfds are released), 0
 * otherwise. A malformed message is answered with an error and logged, never fatal; a peer
 * whose stream cannot be followed any more (a bad size) is disconnected.
 */
int iov_vfu_server_run_once(struct iov_vfu_server *s, int timeout_ms);

/* Whether a client is connected and has negotiated the version. */
bool iov_vfu_server_connected(const struct iov_vfu_server *s);

/*
 * Device DMA: reads or writes client memory at @iova through the client's DMA map, as an
 * IOMMU would check it. -EFAULT when the range is not mapped or the mapping does not allow
 * the access (nothing is copied).
 */
int iov_vfu_server_dma(struct iov_vfu_server *s, uint64_t iova, void *buf, size_t len, bool write);

/* Raises vector @vector of IRQ index @index on its eventfd. -ENOENT if the client set none. */
int iov_vfu_server_irq(struct iov_vfu_server *s, uint32_t index, uint32_t vector);

/* Closes the client and the listening socket (removing its file); accepts NULL. */
void iov_vfu_server_free(struct iov_vfu_server *s);

#ifdef __cplusplus
}
#endif
#endif
