/* SPDX-License-Identifier: MIT */
/*
 * vfio-nvme-identify: brings up an NVMe controller's admin queues through vfio-core and runs
 * Identify Controller by DMA (NVMe Base Specification 2.0: CAP, CC, CSTS, AQA/ASQ/ACQ,
 * doorbells at 0x1000 with CAP.DSTRD, Identify CNS 01h). Prints the serial and model numbers;
 * with --expect-model / --expect-serial, fails when they differ.
 *
 *   vfio-nvme-identify BDF [--expect-model TEXT] [--expect-serial TEXT]
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "iovkit/vfio.h"
#include "prog.h"

#define REG_CAP 0x00
#define REG_CC 0x14
#define REG_CSTS 0x1c
#define REG_AQA 0x24
#define REG_ASQ 0x28
#define REG_ACQ 0x30
#define QDEPTH 16

static struct iov_vfio_device *dev;

static uint32_t rd32(uint64_t off)
{
	uint32_t v;

	if (iov_vfio_region_read(dev, IOV_VFIO_BAR0, off, &v, 4) != 4)
		fail("reading register 0x%llx", (unsigned long long)off);
	return v;
}

static void wr32(uint64_t off, uint32_t v)
{
	if (iov_vfio_region_write(dev, IOV_VFIO_BAR0, off, &v, 4) != 4)
		fail("writing register 0x%llx", (unsigned long long)off);
}

static void wr64(uint64_t off, uint64_t v)
{
	wr32(off, (uint32_t)v);
	wr32(off + 4, (uint32_t)(v >> 32));
}

/* Waits for CSTS.RDY to become @ready, within the controller's CAP.TO (500 ms units). */
static void wait_ready(bool ready, unsigned int timeout_units)
{
	for (unsigned int i = 0; i < timeout_units * 50 + 50; i++) {
		uint32_t csts = rd32(REG_CSTS);

		if (csts & 2)
			fail("the controller reports a fatal status (CSTS 0x%x)", csts);
		if ((csts & 1) == ready)
			return;
		usleep(10000);
	}
	fail("CSTS.RDY did not become %d", ready);
}

/* Copies an ASCII field of the identify data, trailing spaces removed. */
static void field(const uint8_t *id, size_t off, size_t len, char *out)
{
	memcpy(out, id + off, len);
	out[len] = '\0';
	for (size_t i = len; i > 0 && (out[i - 1] == ' ' || out[i - 1] == '\0'); i--)
		out[i - 1] = '\0';
}

int main(int argc, char **argv)
{
	const char *expect_model = NULL, *expect_serial = NULL;
	struct iov_vfio_container *c = NULL;
	uint64_t cap, iova[3];
	uint32_t dstrd, to, *cqe;
	uint8_t *mem, *sqe;
	char sn[21], mn[41];
	uint16_t cmd;
	int memfd;

	if (argc < 2) {
		fprintf(stderr, "usage: vfio-nvme-identify BDF [--expect-model TEXT] [--expect-serial TEXT]\n");
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--expect-model"))
			expect_model = argv[i + 1];
		else if (!strcmp(argv[i], "--expect-serial"))
			expect_serial = argv[i + 1];
	}
	iov_ctx_new(NULL, &ctx);
	if (iov_vfio_container_new(ctx, &c) < 0 || iov_vfio_device_open(c, argv[1], NULL, &dev) < 0)
		fail("opening %s", argv[1]);

	/* Bus mastering on: the controller reads its queues from our memory. */
	if (iov_vfio_region_read(dev, IOV_VFIO_CONFIG, 4, &cmd, 2) != 2)
		fail("reading the command register");
	cmd |= 0x6;
	if (iov_vfio_region_write(dev, IOV_VFIO_CONFIG, 4, &cmd, 2) != 2)
		fail("enabling memory and bus mastering");

	cap = rd32(REG_CAP) | (uint64_t)rd32(REG_CAP + 4) << 32;
	dstrd = (uint32_t)(cap >> 32) & 0xf;
	to = (uint32_t)(cap >> 24) & 0xff;
	printf("  ok: CAP 0x%016llx (MQES %u, DSTRD %u, TO %u)\n", (unsigned long long)cap, (unsigned)(cap & 0xffff) + 1,
	       dstrd, to);

	/* Disable, then program the admin queues: SQ, CQ and the identify buffer, a page each. */
	wr32(REG_CC, 0);
	wait_ready(false, to);
	memfd = memfd_create("nvme", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 3 * 4096) < 0)
		fail("memfd");
	mem = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED)
		fail("mmap");
	memset(mem, 0, 3 * 4096);
	for (int i = 0; i < 3; i++)
		if (iov_vfio_iova_alloc(c, 4096, 0, &iova[i]) < 0 ||
		    iov_vfio_dma_map_fd(c, mem + i * 4096, 4096, iova[i], IOV_DMA_READ | IOV_DMA_WRITE, memfd, (uint64_t)i * 4096) < 0)
			fail("mapping page %d", i);
	wr32(REG_AQA, (QDEPTH - 1) << 16 | (QDEPTH - 1));
	wr64(REG_ASQ, iova[0]);
	wr64(REG_ACQ, iova[1]);
	/* CC: EN, NVM command set, 4 KiB pages, 64-byte SQ and 16-byte CQ entries. */
	wr32(REG_CC, 1u | 6u << 16 | 4u << 20);
	wait_ready(true, to);
	printf("  ok: controller enabled with admin queues at IOVA 0x%llx / 0x%llx\n", (unsigned long long)iova[0],
	       (unsigned long long)iova[1]);

	/* Identify Controller: opcode 06h, command id 1, PRP1 the buffer, CNS 01h. */
	sqe = mem;
	sqe[0] = 0x06;
	sqe[2] = 1;
	memcpy(sqe + 24, &iova[2], 8);
	sqe[40] = 0x01;
	__sync_synchronize();
	wr32(0x1000, 1);   /* admin SQ 0 tail doorbell */
	cqe = (uint32_t *)(mem + 4096);
	for (int i = 0; i < 500 && !(__atomic_load_n(&cqe[3], __ATOMIC_ACQUIRE) & 0x10000); i++)
		usleep(10000);
	if (!(cqe[3] & 0x10000))
		fail("no completion for Identify within 5 s");
	if ((cqe[3] >> 17) & 0x7fff)
		fail("Identify completed with status 0x%x", (cqe[3] >> 17) & 0x7fff);
	wr32(0x1000 + (4u << dstrd), 1);   /* admin CQ 0 head doorbell */

	field(mem + 8192, 4, 20, sn);
	field(mem + 8192, 24, 40, mn);
	printf("  ok: Identify Controller by DMA: VID 0x%02x%02x, serial '%s', model '%s'\n", mem[8193], mem[8192], sn, mn);
	if (expect_model && strcmp(mn, expect_model))
		fail("model '%s', expected '%s'", mn, expect_model);
	if (expect_serial && strcmp(sn, expect_serial))
		fail("serial '%s', expected '%s'", sn, expect_serial);

	wr32(REG_CC, 0);
	wait_ready(false, to);
	iov_vfio_device_close(dev);
	iov_vfio_container_free(c);
	iov_ctx_free(ctx);
	printf("vfio-nvme-identify: all checks passed\n");
	return 0;
}
