/* SPDX-License-Identifier: MIT */
/*
 * vfu-edu: QEMU's edu device (docs/specs/edu.rst) emulated with iovkit's vfio-user server
 * library, so the program that drives a kernel-VFIO edu in the lab (vfio-edu) drives this one
 * over a socket on any machine. Same registers, DMA engine (through the client's DMA map,
 * with its permissions), and completion interrupt (MSI, else INTx). DMA completes at once
 * instead of after edu's 100 ms timer.
 *
 *   vfu-edu SOCKET [--once] [--mem-bar]
 *
 * It serves until SIGTERM, or with --once until the first client leaves. --mem-bar adds what
 * edu does not have: BAR 2, 64 KiB of device memory (a GPU's aperture or an NVMe controller
 * memory buffer, say) in a memfd the client may map, pages 0 and 2-15 of it; page 1 stays
 * trapped, as an MSI-X table's page would, and is served from the same memory.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iovkit/vfio-user.h"
#include "iovkit-internal/edu.h"

#define CFG_SIZE 256u
#define BAR0_SIZE EDU_BAR0_SIZE
#define BUF_ADDR EDU_BUFFER
#define BUF_SIZE EDU_BUFFER_SIZE
#define DMA_MASK (EDU_DMA_LIMIT - 1)
#define MEM_BAR 2
#define MEM_BAR_SIZE 0x10000u

struct edu {
	struct iov_vfu_server *srv;
	uint8_t cfg[CFG_SIZE];
	uint32_t bar0;                /* as programmed, for BAR sizing */
	uint32_t liveness, fact, status, irq_status;
	uint64_t dma_src, dma_dst, dma_count, dma_cmd;
	uint8_t buf[BUF_SIZE];
	uint8_t *mem;                 /* --mem-bar's memory, NULL without it; kept across resets */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void config_init(struct edu *e)
{
	memset(e->cfg, 0, sizeof(e->cfg));
	put16(e->cfg + 0x00, 0x1234);
	put16(e->cfg + 0x02, 0x11e8);
	put16(e->cfg + 0x06, 0x0010);   /* capabilities list */
	e->cfg[0x08] = 0x10;             /* revision */
	e->cfg[0x0b] = 0x00;
	e->cfg[0x0a] = 0xff;             /* class 00ff00, as QEMU's edu */
	e->cfg[0x3d] = 1;                /* INTA */
	e->cfg[0x34] = 0x40;
	e->cfg[0x40] = 0x05;             /* MSI, one vector, 64-bit */
	put16(e->cfg + 0x42, 0x0080);
	e->bar0 = 0;
}

static void raise_irq(struct edu *e, uint32_t why)
{
	e->irq_status |= why;
	if (iov_vfu_server_irq(e->srv, 1 /* MSI */, 0) < 0)
		iov_vfu_server_irq(e->srv, 0 /* INTx */, 0);
}

static void do_dma(struct edu *e)
{
	bool to_ram = e->dma_cmd & EDU_DMA_TO_RAM;
	uint64_t dev = to_ram ? e->dma_src : e->dma_dst, ram = (to_ram ? e->dma_dst : e->dma_src) & DMA_MASK;
	size_t count = (size_t)e->dma_count;

	/* edu_check_range: the transfer must stay inside the device buffer. */
	if (dev < BUF_ADDR || count > BUF_SIZE || dev - BUF_ADDR > BUF_SIZE - count) {
		fprintf(stderr, "vfu-edu: DMA range 0x%llx+0x%zx out of bounds\n", (unsigned long long)dev, count);
	} else if (iov_vfu_server_dma(e->srv, ram, e->buf + (dev - BUF_ADDR), count, to_ram) < 0) {
		/* What an IOMMU fault looks like from here: the transfer does not happen. */
		fprintf(stderr, "vfu-edu: DMA %s IOVA 0x%llx+0x%zx refused by the client's DMA map\n", to_ram ? "to" : "from",
			(unsigned long long)ram, count);
	}
	e->dma_cmd &= ~(uint64_t)EDU_DMA_START;
	if (e->dma_cmd & EDU_DMA_IRQ)
		raise_irq(e, EDU_DMA_IRQ_STATUS);
}

static uint64_t bar_read(struct edu *e, uint64_t off)
{
	switch (off) {
	case EDU_IDENT: return EDU_IDENT_VALUE;
	case EDU_LIVENESS: return ~e->liveness & 0xffffffffu;
	case EDU_FACT: return e->fact;
	case EDU_STATUS: return e->status;
	case EDU_IRQ_STATUS: return e->irq_status;
	case EDU_DMA_SRC: return e->dma_src;
	case EDU_DMA_DST: return e->dma_dst;
	case EDU_DMA_COUNT: return e->dma_count;
	case EDU_DMA_CMD: return e->dma_cmd;
	default:
		if (off >= BUF_ADDR && off < BUF_ADDR + BUF_SIZE)
			return e->buf[off - BUF_ADDR];
		return ~0ull;
	}
}

static void bar_write(struct edu *e, uint64_t off, uint64_t v, size_t len)
{
	switch (off) {
	case EDU_LIVENESS: e->liveness = (uint32_t)v; break;
	case EDU_FACT: {
		uint32_t n = (uint32_t)v, f = 1;

		while (n > 1)
			f *= n--;
		e->fact = f;
		if (e->status & 0x80)
			raise_irq(e, 0x1);
		break;
	}
	case EDU_STATUS: e->status = (e->status & 1) | ((uint32_t)v & 0x80); break;
	case EDU_IRQ_RAISE: raise_irq(e, (uint32_t)v); break;
	case EDU_IRQ_ACK: e->irq_status &= ~(uint32_t)v; break;
	case EDU_DMA_SRC: e->dma_src = len == 8 ? v : (e->dma_src & ~0xffffffffull) | (uint32_t)v; break;
	case EDU_DMA_SRC + 4: e->dma_src = (e->dma_src & 0xffffffffull) | (v << 32); break;
	case EDU_DMA_DST: e->dma_dst = len == 8 ? v : (e->dma_dst & ~0xffffffffull) | (uint32_t)v; break;
	case EDU_DMA_DST + 4: e->dma_dst = (e->dma_dst & 0xffffffffull) | (v << 32); break;
	case EDU_DMA_COUNT: e->dma_count = v; break;
	case EDU_DMA_CMD:
		if (!(e->dma_cmd & EDU_DMA_START)) {
			e->dma_cmd = v;
			if (v & EDU_DMA_START)
				do_dma(e);
		}
		break;
	default: break;
	}
}

static ssize_t edu_access(void *dev, uint32_t region, uint64_t offset, void *buf, size_t len, bool write)
{
	struct edu *e = dev;

	if (region == MEM_BAR) {   /* range checked by the server: page 1, and any page not mapped */
		if (write)
			memcpy(e->mem + offset, buf, len);
		else
			memcpy(buf, e->mem + offset, len);
		return (ssize_t)len;
	}
	if (region == 7) {   /* config space: command, BAR0 sizing and MSI writable; the rest read-only */
		if (!write) {
			/* Status: Interrupt Status is the INTx line, raised while MSI is off (as QEMU's edu). */
			e->cfg[0x06] = (uint8_t)((e->cfg[0x06] & ~0x08) | (e->irq_status && !(e->cfg[0x42] & 1) ? 0x08 : 0));
			memcpy(buf, e->cfg + offset, len);
			if (offset <= 0x10 && offset + len > 0x10) {
				uint32_t bar = e->bar0 == 0xffffffffu ? ~(BAR0_SIZE - 1) : e->bar0 & ~(BAR0_SIZE - 1);

				memcpy((uint8_t *)buf + (0x10 - offset), &bar, len - (0x10 - offset) < 4 ? len - (0x10 - offset) : 4);
			}
			return (ssize_t)len;
		}
		for (size_t i = 0; i < len; i++) {
			uint64_t at = offset + i;

			if (at == 0x04 || at == 0x05 || (at >= 0x44 && at < 0x50) || at == 0x42)
				e->cfg[at] = ((uint8_t *)buf)[i];
			else if (at >= 0x10 && at < 0x14)
				((uint8_t *)&e->bar0)[at - 0x10] = ((uint8_t *)buf)[i];
		}
		return (ssize_t)len;
	}
	if (region != 0 || (len != 4 && len != 8 && !(offset >= BUF_ADDR && len == 1)))
		return -EINVAL;
	if (write) {
		uint64_t v = 0;

		memcpy(&v, buf, len);
		bar_write(e, offset, v, len);
	} else {
		uint64_t v = bar_read(e, offset);

		memcpy(buf, &v, len);
	}
	return (ssize_t)len;
}

static int edu_reset(void *dev)
{
	struct edu *e = dev;
	struct iov_vfu_server *srv = e->srv;
	uint8_t *mem = e->mem;

	memset(e, 0, sizeof(*e));
	e->srv = srv;
	e->mem = mem;
	config_init(e);
	return 0;
}

static void log_to_stderr(void *userdata, enum iov_log_level level, const char *msg)
{
	fprintf(stderr, "vfu-edu: %s\n", msg);
}

int main(int argc, char **argv)
{
	static const struct iov_vfu_device_ops ops = { .access = edu_access, .reset = edu_reset };
	struct iov_vfu_device desc = {
		.regions = { [0] = { .size = BAR0_SIZE, .readable = true, .writable = true },
			     [7] = { .size = CFG_SIZE, .readable = true, .writable = true } },
		.irqs = { [0] = 1, [1] = 1 },
		.ops = &ops,
	};
	static struct edu e;
	struct iov_ctx *ctx;
	bool once = false, mem_bar = false;
	int r;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--once"))
			once = true;
		else if (!strcmp(argv[i], "--mem-bar"))
			mem_bar = true;
		else
			argc = 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: vfu-edu SOCKET [--once] [--mem-bar]\n");
		return 2;
	}
	if (mem_bar) {
		int fd = memfd_create("vfu-edu-bar2", MFD_CLOEXEC);

		if (fd < 0 || ftruncate(fd, MEM_BAR_SIZE) < 0 ||
		    (e.mem = mmap(NULL, MEM_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
			perror("vfu-edu: --mem-bar");
			return 1;
		}
		desc.regions[MEM_BAR] = (struct iov_vfu_region){
			.size = MEM_BAR_SIZE, .readable = true, .writable = true, .mappable = true, .fd = fd,
			.n_areas = 2, .areas = { { 0, 0x1000 }, { 0x2000, MEM_BAR_SIZE - 0x2000 } },
		};
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	config_init(&e);
	desc.dev = &e;
	if (iov_ctx_new(NULL, &ctx) < 0)
		return 1;
	iov_ctx_set_log(ctx, log_to_stderr, NULL, IOV_LOG_INFO);
	if ((r = iov_vfu_server_new(ctx, &desc, &e.srv)) < 0 || (r = iov_vfu_server_listen(e.srv, argv[1])) < 0) {
		fprintf(stderr, "vfu-edu: %s\n", iov_ctx_reason(ctx)[0] ? iov_ctx_reason(ctx) : iov_strerror(r));
		return 1;
	}
	printf("vfu-edu: listening on %s\n", argv[1]);
	fflush(stdout);
	while (!stop) {
		r = iov_vfu_server_run_once(e.srv, 200);
		if (r < 0) {
			fprintf(stderr, "vfu-edu: %s\n", iov_strerror(r));
			break;
		}
		if (r == 1 && once)
			break;
	}
	iov_vfu_server_free(e.srv);
	iov_ctx_free(ctx);
	return r < 0 ? 1 : 0;
}
