/* SPDX-License-Identifier: MIT */
/*
 * VFIO DMA map/unmap benchmark (run in the lab, against Linux's type1 IOMMU driver and QEMU's
 * VT-d): map and unmap SIZE MiB for a device, (a) as 4 KiB mappings of 4 KiB-page memory,
 * (b) as 2 MiB mappings of 2 MiB hugepages, (c) as one mapping of each; against the floor,
 * pinning the same memory with mlock/munlock (what type1 does per page before it programs
 * the IOMMU). Prints a table, then one JSON line.
 *
 *   vfio-dma-bench BDF [SIZE_MIB]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "iovkit/vfio.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Maps @len bytes at @buf in @chunk pieces from IOVA @base, then unmaps them; seconds for each. */
static int map_unmap(struct iov_vfio_container *c, uint8_t *buf, size_t len, size_t chunk, uint64_t base, double *t_map,
		     double *t_unmap)
{
	double t0 = now();

	for (size_t off = 0; off < len; off += chunk)
		if (iov_vfio_dma_map(c, buf + off, chunk, base + off, IOV_DMA_READ | IOV_DMA_WRITE) < 0)
			return -1;
	*t_map = now() - t0;
	t0 = now();
	for (size_t off = 0; off < len; off += chunk)
		if (iov_vfio_dma_unmap(c, base + off, chunk) < 0)
			return -1;
	*t_unmap = now() - t0;
	return 0;
}

static double pin_floor(uint8_t *buf, size_t len)
{
	double t0 = now();

	if (mlock(buf, len) < 0 || munlock(buf, len) < 0)
		return -1;
	return now() - t0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024, len = mib << 20;
	double m4, u4, m2, u2, m4w, u4w, m2w, u2w, p4, p2;
	struct iov_vfio_container *c = NULL;
	struct iov_vfio_device *d = NULL;
	struct iov_ctx *ctx;
	uint8_t *small, *huge;

	if (argc < 2) {
		fprintf(stderr, "usage: vfio-dma-bench BDF [SIZE_MIB]\n");
		return 2;
	}
	iov_ctx_new(NULL, &ctx);
	if (iov_vfio_container_new(ctx, &c) < 0 || iov_vfio_device_open(c, argv[1], NULL, &d) < 0) {
		fprintf(stderr, "vfio-dma-bench: %s\n", iov_ctx_reason(ctx));
		return 1;
	}
	small = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	huge = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (small == MAP_FAILED || huge == MAP_FAILED) {
		fprintf(stderr, "vfio-dma-bench: %zu MiB of %s pages: %s (reserve hugepages first)\n", mib,
			small == MAP_FAILED ? "4 KiB" : "2 MiB", strerror(errno));
		return 1;
	}
	/* IOVAs from 4 GiB up: clear of the MSI window and low reserved ranges. */
	p4 = pin_floor(small, len);
	p2 = pin_floor(huge, len);
	if (map_unmap(c, small, len, 4096, 1ull << 32, &m4, &u4) < 0 || map_unmap(c, huge, len, 2u << 20, 1ull << 32, &m2, &u2) < 0 ||
	    map_unmap(c, small, len, len, 1ull << 32, &m4w, &u4w) < 0 || map_unmap(c, huge, len, len, 1ull << 32, &m2w, &u2w) < 0) {
		fprintf(stderr, "vfio-dma-bench: %s\n", iov_ctx_reason(ctx));
		return 1;
	}
	printf("%-36s %10s %10s %12s %8s\n", "DMA map+unmap of", "map s", "unmap s", "per mapping", "x pin");
	printf("%-36s %10.3f %10.3f %9.2f us %8.2f\n", "4 KiB mappings, 4 KiB pages", m4, u4, (m4 + u4) * 1e6 / (double)(len / 4096),
	       (m4 + u4) / p4);
	printf("%-36s %10.3f %10.3f %9.2f us %8.2f\n", "2 MiB mappings, 2 MiB pages", m2, u2, (m2 + u2) * 1e6 / (double)(len >> 21),
	       (m2 + u2) / p2);
	printf("%-36s %10.3f %10.3f %12s %8.2f\n", "one mapping, 4 KiB pages", m4w, u4w, "-", (m4w + u4w) / p4);
	printf("%-36s %10.3f %10.3f %12s %8.2f\n", "one mapping, 2 MiB pages", m2w, u2w, "-", (m2w + u2w) / p2);
	printf("(%zu MiB; floor: mlock+munlock %.3f s for 4 KiB pages, %.3f s for 2 MiB pages)\n", mib, p4, p2);
	printf("{\"bench\":\"vfio-dma\",\"mib\":%zu,\"map4k_s\":%.4f,\"unmap4k_s\":%.4f,\"map2m_s\":%.4f,\"unmap2m_s\":%.4f,"
	       "\"map_whole4k_s\":%.4f,\"unmap_whole4k_s\":%.4f,\"map_whole2m_s\":%.4f,\"unmap_whole2m_s\":%.4f,"
	       "\"pin4k_s\":%.4f,\"pin2m_s\":%.4f}\n",
	       mib, m4, u4, m2, u2, m4w, u4w, m2w, u2w, p4, p2);
	iov_vfio_device_close(d);
	iov_vfio_container_free(c);
	iov_ctx_free(ctx);
	return 0;
}
