/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the vfio-user server's message parsing and dispatch. The input is the
 * byte stream a client sends (after a valid version handshake, so every command is reached);
 * the server must answer or drop the client, never crash, leak or hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iovkit/vfio-user.h"
#include "../../vfio-core/vfio-user-proto.h"

static uint8_t bar[4096], cfg[256], bar2[0x4000];   /* bar2: the trapped side of region 2 */

static ssize_t dev_access(void *dev, uint32_t region, uint64_t offset, void *buf, size_t len, bool write)
{
	uint8_t *mem = region == 7 ? cfg : region == 2 ? bar2 : bar;

	if (write)
		memcpy(mem + offset, buf, len);
	else
		memcpy(buf, mem + offset, len);
	return (ssize_t)len;
}

static int dev_reset(void *dev)
{
	memset(bar, 0, sizeof(bar));
	return 0;
}

static void drain(int fd)
{
	uint8_t sink[65536];

	while (read(fd, sink, sizeof(sink)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct iov_vfu_device_ops ops = { .access = dev_access, .reset = dev_reset };
	struct iov_vfu_device desc = {
		.regions = { [0] = { .size = sizeof(bar), .readable = true, .writable = true },
			     [7] = { .size = sizeof(cfg), .readable = true, .writable = true } },
		.irqs = { [0] = 1, [1] = 4, [2] = 8 },
		.ops = &ops,
	};
	uint8_t version[4] = { 0, 0, 1, 0 };
	struct vu_hdr h = { .id = 0, .cmd = VU_VERSION };
	static struct iov_ctx *ctx;
	static int mem_fd = -1;
	struct iov_vfu_server *s;
	int sv[2];

	if (!ctx && iov_ctx_new(NULL, &ctx) < 0)
		return 0;
	/* Region 2 mappable in two areas, so region information carries an fd and a capability. */
	if (mem_fd < 0 && ((mem_fd = memfd_create("fuzz-bar2", MFD_CLOEXEC)) < 0 || ftruncate(mem_fd, 0x4000) < 0))
		return 0;
	desc.regions[2] = (struct iov_vfu_region){
		.size = 0x4000, .readable = true, .writable = true, .mappable = true, .fd = mem_fd,
		.n_areas = 2, .areas = { { 0, 0x1000 }, { 0x2000, 0x2000 } },
	};
	if (iov_vfu_server_new(ctx, &desc, &s) < 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		iov_vfu_server_free(s);
		return 0;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	iov_vfu_server_attach(s, sv[1]);
	vu_send(sv[0], &h, version, sizeof(version), NULL, 0);
	if (size && write(sv[0], data, size) < 0)
		size = 0;
	shutdown(sv[0], SHUT_WR);
	/* Each message is handled, its reply drained; the end of input disconnects. */
	for (int i = 0; i < 4096; i++) {
		int r = iov_vfu_server_run_once(s, 0);

		drain(sv[0]);
		if (r != 0)
			break;
	}
	iov_vfu_server_free(s);
	close(sv[0]);
	return 0;
}
