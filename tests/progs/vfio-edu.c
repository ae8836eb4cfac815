/* SPDX-License-Identifier: MIT */
/*
 * vfio-edu: drives an edu device (QEMU docs/specs/edu.rst) through vfio-core: QEMU's own edu
 * through the real kernel VFIO and VT-d of the lab (the device must be on vfio-pci: iovctl
 * bind), or iovkit's vfu-edu over vfio-user on any machine. The same checks run on both.
 *
 *   vfio-edu BDF
 *   vfio-edu --vfio-user SOCKET
 *
 * Checks, each printed: device and region info; the ident register through the BAR0 mmap; the
 * liveness register; config space through the config region; a RAM -> device -> RAM DMA round
 * trip through IOMMU mappings, verified byte for byte, with the completion interrupt on an MSI
 * eventfd; and what the IOMMU must refuse: bad maps, a device write into a read-only mapping,
 * and a device write after the mapping is gone, both leaving memory untouched.
 * Exit 0 when all pass; 1 at the first failure.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "iovkit/vfio.h"
#include "iovkit-internal/edu.h"
#include "prog.h"

/* QEMU 7.2 rejects a full 4096-byte transfer to the buffer (off by one; LAB-NOTES.md). */
#define EDU_DMA_MAX 4088

static struct iov_vfio_device *dev;
static volatile uint32_t *bar;   /* BAR0 mapped, or NULL: through region reads and writes */

__attribute__((format(printf, 1, 2))) static void ok(const char *fmt, ...)
{
	va_list ap;

	printf("  ok: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static uint32_t rd32(unsigned int off)
{
	uint32_t v;

	if (bar)
		return bar[off / 4];
	if (iov_vfio_region_read(dev, IOV_VFIO_BAR0, off, &v, 4) != 4)
		fail("reading BAR0 at 0x%x", off);
	return v;
}

static void wr32(unsigned int off, uint32_t v)
{
	if (bar)
		bar[off / 4] = v;
	else if (iov_vfio_region_write(dev, IOV_VFIO_BAR0, off, &v, 4) != 4)
		fail("writing BAR0 at 0x%x", off);
}

static void wr64(unsigned int off, uint64_t v)
{
	wr32(off, (uint32_t)v);
	wr32(off + 4, (uint32_t)(v >> 32));
}

/* Starts a DMA and waits until the engine is idle (edu completes after ~100 ms). */
static void edu_dma(uint64_t src, uint64_t dst, uint32_t count, uint32_t cmd)
{
	wr64(EDU_DMA_SRC, src);
	wr64(EDU_DMA_DST, dst);
	wr32(EDU_DMA_COUNT, count);
	wr32(EDU_DMA_CMD, cmd | EDU_DMA_START);
	for (int i = 0; i < 500 && (rd32(EDU_DMA_CMD) & EDU_DMA_START); i++)
		usleep(10000);
	if (rd32(EDU_DMA_CMD) & EDU_DMA_START)
		fail("the DMA engine did not finish within 5 s");
}

/* DMA memory: pages of a memfd, so a vfio-user server can map them too. */
static int mem_fd = -1;
static uint8_t *mem;

static uint8_t *page(int i)
{
	if (!mem) {
		mem_fd = memfd_create("vfio-edu-dma", MFD_CLOEXEC);
		if (mem_fd < 0 || ftruncate(mem_fd, 3 * 4096) < 0)
			fail("memfd: %s", strerror(errno));
		mem = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mem_fd, 0);
		if (mem == MAP_FAILED)
			fail("mmap of the memfd: %s", strerror(errno));
	}
	return mem + i * 4096;
}

static int map_page(struct iov_vfio_container *c, int i, uint64_t iova, int prot)
{
	return iov_vfio_dma_map_fd(c, page(i), 4096, iova, prot, mem_fd, (uint64_t)i * 4096);
}

int main(int argc, char **argv)
{
	struct iov_vfio_container *c = NULL, *c2 = NULL;
	struct iov_vfio_device *d = NULL, *d2 = NULL;
	bool user = argc == 3 && !strcmp(argv[1], "--vfio-user");
	const char *target = user ? argv[2] : argv[1];
	struct iov_vfio_device_info info;
	struct iov_vfio_iommu_info iommu;
	struct iov_vfio_region r;
	uint8_t *src, *dst, *ro;
	uint64_t iova_src, iova_dst, iova_ro;
	uint16_t cmd, vendor;
	size_t bar_len;
	void *map;
	int efd, e;

	if (!(argc == 2 && argv[1][0] != '-') && !user) {
		fprintf(stderr, "usage: vfio-edu BDF | vfio-edu --vfio-user SOCKET\n");
		return 2;
	}
	if (iov_ctx_new(NULL, &ctx) < 0)
		fail("context");
	if ((user ? iov_vfio_container_new_user(ctx, target, &c) : iov_vfio_container_new(ctx, &c)) < 0)
		fail("opening the container");
	if (iov_vfio_device_open(c, user ? NULL : target, NULL, &d) < 0)
		fail("opening %s", target);
	dev = d;
	iov_vfio_device_info(d, &info);
	if (!info.pci || info.num_regions < 9 || info.num_irqs < 2)
		fail("device info: pci %d, %u regions, %u irqs", info.pci, info.num_regions, info.num_irqs);
	ok("opened %s through %s: PCI, %u regions, %u IRQ indexes, reset %s", target, iov_vfio_container_backend(c),
	   info.num_regions, info.num_irqs, info.can_reset ? "yes" : "no");

	if (iov_vfio_iommu_info(c, &iommu) < 0)
		fail("IOMMU info");
	ok("IOMMU %s, page sizes 0x%llx, %u IOVA range(s), first 0x%llx-0x%llx, dma_avail %lld", iommu.model,
	   (unsigned long long)iommu.pgsizes, iommu.n_ranges, (unsigned long long)iommu.ranges[0].start,
	   (unsigned long long)iommu.ranges[0].end, (long long)iommu.dma_avail);

	/* BAR0: 1 MiB of registers, mapped where the backend allows it. */
	if (iov_vfio_region_info(d, IOV_VFIO_BAR0, &r) < 0 || r.size != 1 << 20)
		fail("BAR0 info: size 0x%llx", (unsigned long long)r.size);
	if (r.mappable) {
		if (iov_vfio_region_mmap(d, IOV_VFIO_BAR0, &map, &bar_len) < 0)
			fail("mmap of BAR0");
		bar = map;
	} else if (iov_vfio_region_mmap(d, IOV_VFIO_BAR0, &map, &bar_len) != -ENOTSUP) {
		fail("mmap of an unmappable BAR0 was not -ENOTSUP");
	}
	if (rd32(EDU_IDENT) != 0x010000ed)
		fail("ident register 0x%08x, expected 0x010000ed", rd32(EDU_IDENT));
	ok("ident 0x%08x read through %s", rd32(EDU_IDENT), bar ? "the BAR0 mmap" : "region reads (BAR0 is not mappable)");
	wr32(EDU_LIVENESS, 0x12345678);
	if (rd32(EDU_LIVENESS) != ~0x12345678u)
		fail("liveness: 0x%08x", rd32(EDU_LIVENESS));
	ok("liveness register inverts");

	/* Config space: the IDs, and bus mastering on so the device may DMA. */
	if (iov_vfio_region_read(d, IOV_VFIO_CONFIG, 0, &vendor, 2) != 2 || vendor != 0x1234)
		fail("config vendor 0x%04x", vendor);
	if (iov_vfio_region_read(d, IOV_VFIO_CONFIG, 4, &cmd, 2) != 2)
		fail("config command");
	cmd |= 0x4;
	if (iov_vfio_region_write(d, IOV_VFIO_CONFIG, 4, &cmd, 2) != 2)
		fail("enabling bus mastering");
	if (iov_vfio_region_read(d, IOV_VFIO_CONFIG, 0x1000, &vendor, 2) != -EINVAL)
		fail("a read past the config region was not refused");
	ok("config space: vendor 0x1234, bus master on; a read past the region is refused");

	/* DMA buffers. */
	src = page(0);
	dst = page(1);
	ro = page(2);
	for (int i = 0; i < 4096; i++) {
		src[i] = (uint8_t)(i * 7 + 3);
		dst[i] = 0xee;
		ro[i] = 0x5a;
	}
	if (iov_vfio_iova_alloc(c, 4096, EDU_DMA_LIMIT, &iova_src) < 0 || map_page(c, 0, iova_src, IOV_DMA_READ) < 0)
		fail("mapping the source page");
	if (iov_vfio_iova_alloc(c, 4096, EDU_DMA_LIMIT, &iova_dst) < 0 ||
	    map_page(c, 1, iova_dst, IOV_DMA_READ | IOV_DMA_WRITE) < 0)
		fail("mapping the destination page");
	if (iov_vfio_iova_alloc(c, 4096, EDU_DMA_LIMIT, &iova_ro) < 0 || map_page(c, 2, iova_ro, IOV_DMA_READ) < 0)
		fail("mapping the read-only page");
	ok("mapped 3 pages at IOVA 0x%llx, 0x%llx, 0x%llx", (unsigned long long)iova_src, (unsigned long long)iova_dst,
	   (unsigned long long)iova_ro);

	/* Maps the IOMMU or our own checks must refuse, each leaving nothing mapped. */
	if ((e = map_page(c, 0, iova_src, IOV_DMA_READ)) != -EEXIST)
		fail("an overlapping map gave %d, not -EEXIST", e);
	if ((e = iov_vfio_dma_map_fd(c, src + 1, 4096, 0x800000, IOV_DMA_READ, mem_fd, 0)) != -EINVAL)
		fail("an unaligned map gave %d, not -EINVAL", e);
	if (!user) {
		if ((e = map_page(c, 0, 0xfee00000, IOV_DMA_READ)) != -EPERM && e != -EINVAL)
			fail("a map in the MSI window gave %d", e);
		ok("refused: overlap (EEXIST), unaligned (EINVAL), MSI window (%s)", e == -EPERM ? "EPERM" : "EINVAL");
	} else {
		if ((e = iov_vfio_dma_map(c, src, 4096, 0x800000, IOV_DMA_READ)) != -EOPNOTSUPP)
			fail("a vfio-user map without an fd gave %d, not -EOPNOTSUPP", e);
		ok("refused: overlap (EEXIST), unaligned (EINVAL), memory without an fd (EOPNOTSUPP)");
	}
	if (iov_vfio_dma_count(c) != 3)
		fail("%zu mappings after the refusals, expected 3", iov_vfio_dma_count(c));

	/* The completion interrupt: MSI vector 0 to an eventfd. */
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (iov_vfio_irq_count(d, IOV_VFIO_IRQ_MSI) < 1)
		fail("edu offers no MSI");
	if (iov_vfio_irq_set_eventfds(d, IOV_VFIO_IRQ_MSI, 0, 1, &efd) < 0)
		fail("wiring MSI to an eventfd");
	if (iov_vfio_irq_set_eventfds(d, IOV_VFIO_IRQ_MSI, 1, 1, &efd) != -EINVAL)
		fail("MSI vector 1 of a single-vector device was accepted");

	/* RAM -> device buffer -> RAM. */
	edu_dma(iova_src, EDU_BUFFER, EDU_DMA_MAX, 0);
	edu_dma(EDU_BUFFER, iova_dst, EDU_DMA_MAX, EDU_DMA_TO_RAM | EDU_DMA_IRQ);
	{
		struct pollfd p = { .fd = efd, .events = POLLIN };
		uint64_t n = 0;

		if (poll(&p, 1, 5000) != 1 || read(efd, &n, sizeof(n)) != sizeof(n) || n < 1)
			fail("no MSI on the eventfd within 5 s");
		if (!(rd32(EDU_IRQ_STATUS) & EDU_DMA_IRQ_STATUS))
			fail("interrupt status 0x%x lacks the DMA bit", rd32(EDU_IRQ_STATUS));
		wr32(EDU_IRQ_ACK, EDU_DMA_IRQ_STATUS);
	}
	if (memcmp(src, dst, EDU_DMA_MAX))
		fail("the round trip changed the data");
	if (dst[EDU_DMA_MAX] != 0xee)
		fail("the DMA wrote past its count");
	ok("DMA round trip of %d bytes verified; completion MSI arrived on the eventfd", EDU_DMA_MAX);

	/* The IOMMU enforces permissions: a device write into a read-only mapping faults. */
	edu_dma(EDU_BUFFER, iova_ro, EDU_DMA_MAX, EDU_DMA_TO_RAM);
	for (int i = 0; i < 4096; i++)
		if (ro[i] != 0x5a)
			fail("a device write into a read-only mapping changed byte %d", i);
	ok("a device write into a read-only IOVA was blocked (%s), memory untouched", user ? "by the server's DMA map" : "DMAR fault");

	/* And a mapping that is gone: unmap, then the device writes there. */
	memset(dst, 0xee, 4096);
	if (iov_vfio_dma_unmap(c, iova_dst, 4096) < 0)
		fail("unmapping the destination");
	if (iov_vfio_dma_unmap(c, iova_dst, 4096) != -ENOENT)
		fail("a second unmap was not -ENOENT");
	edu_dma(EDU_BUFFER, iova_dst, EDU_DMA_MAX, EDU_DMA_TO_RAM);
	for (int i = 0; i < 4096; i++)
		if (dst[i] != 0xee)
			fail("a device write after unmap changed byte %d", i);
	ok("a device write after unmap was blocked, memory untouched");

	/* The device is ours: a second container cannot take it. */
	if (user) {
		e = iov_vfio_container_new_user(ctx, target, &c2);
	} else {
		if (iov_vfio_container_new(ctx, &c2) < 0)
			fail("second container");
		e = iov_vfio_device_open(c2, target, NULL, &d2);
		iov_vfio_container_free(c2);
	}
	if (e != -EBUSY)
		fail("opening the device in a second container gave %d, not -EBUSY", e);
	ok("a second container is refused: %s", iov_ctx_reason(ctx));

	e = iov_vfio_device_reset(d);
	ok("reset: %s", e == 0 ? "done" : iov_ctx_reason(ctx));
	/* A hot reset works where the bus can be reset and every device on it is ours (the lab
	 * checks which it should be); the device answers again afterwards. */
	e = iov_vfio_device_hot_reset(d);
	ok("hot reset: %s", e == 0 ? "done" : iov_ctx_reason(ctx));
	if (rd32(EDU_IDENT) != 0x010000ed)
		fail("after the resets the ident register reads 0x%08x", rd32(EDU_IDENT));

	iov_vfio_irq_disable(d, IOV_VFIO_IRQ_MSI);
	if (bar)
		munmap(map, bar_len);
	iov_vfio_device_close(d);
	if (iov_vfio_dma_count(c) != 2)
		fail("%zu mappings before teardown, expected 2", iov_vfio_dma_count(c));
	iov_vfio_container_free(c);
	iov_ctx_free(ctx);
	printf("vfio-edu: all checks passed\n");
	return 0;
}
