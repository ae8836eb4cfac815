/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user server against a hostile client: every malformed command is refused with the
 * right errno, closes whatever fds came with it, changes nothing, and the server keeps
 * serving. Driven over a socketpair, one message at a time.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "../helpers/unit.h"
#include "iovkit/vfio-user.h"
#include "../../../vfio-core/vfio-user-proto.h"

static uint8_t bar[4096];
static uint8_t *ram;   /* region 2 of test_mappable_region's device */

static ssize_t dev_access(void *dev, uint32_t region, uint64_t offset, void *buf, size_t len, bool write)
{
	uint8_t *base = region == 2 ? ram : bar;

	if (write)
		memcpy(base + offset, buf, len);
	else
		memcpy(buf, base + offset, len);
	return (ssize_t)len;
}

static const struct iov_vfu_device_ops ops = { .access = dev_access };
static struct iov_vfu_server *srv;
static struct iov_ctx *ctx;
static int cli = -1;
static uint16_t next_id;
static int reply_fd = -1;   /* the fd the last reply carried, -1 none; the test closes it */

static void setup(bool negotiate);
static void setup_device(const struct iov_vfu_device *desc, bool negotiate);

/* Sends a command, lets the server handle it, returns the reply's error (0 = success). */
static int roundtrip(uint16_t cmd, const void *payload, size_t len, const int *fds, unsigned int nfds, void *out,
		     size_t out_max, size_t *out_len)
{
	struct vu_hdr h = { .id = next_id++, .cmd = cmd };
	struct vu_msg m;
	int r;

	if (vu_send(cli, &h, payload, len, fds, nfds) < 0)
		return -1;
	r = iov_vfu_server_run_once(srv, 1000);
	if (r != 0)
		return -1000 - r;
	if (vu_recv(cli, &m, VU_MAX_MSG, VU_MAX_FDS) < 0)
		return -2;
	if (m.hdr.id != h.id || m.hdr.cmd != cmd || (m.hdr.flags & VU_TYPE_MASK) != VU_TYPE_REPLY) {
		vu_msg_release(&m);
		return -3;
	}
	r = (m.hdr.flags & VU_F_ERROR) ? (int)m.hdr.error : 0;
	if (reply_fd >= 0)
		close(reply_fd);
	reply_fd = -1;
	if (m.nfds == 1) {
		reply_fd = m.fds[0];
		m.nfds = 0;
	}
	if (out && m.len <= out_max) {
		memcpy(out, m.payload, m.len);
		if (out_len)
			*out_len = m.len;
	}
	vu_msg_release(&m);
	return r;
}

static void setup(bool negotiate)
{
	struct iov_vfu_device desc = {
		.regions = { [0] = { .size = sizeof(bar), .readable = true, .writable = true },
			     [7] = { .size = 256, .readable = true, .writable = false } },
		.irqs = { [1] = 2 },
		.ops = &ops,
	};

	setup_device(&desc, negotiate);
}

/* A server for @desc on a socketpair, negotiated if @negotiate. */
static void setup_device(const struct iov_vfu_device *desc, bool negotiate)
{
	int sv[2];

	ASSERT_OK(iov_ctx_new(NULL, &ctx));
	ASSERT_OK(iov_vfu_server_new(ctx, desc, &srv));
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_OK(iov_vfu_server_attach(srv, sv[1]));
	cli = sv[0];
	next_id = 0;
	if (negotiate) {
		uint8_t v[4] = { 0, 0, 1, 0 };

		ASSERT_INT_EQ(roundtrip(VU_VERSION, v, sizeof(v), NULL, 0, NULL, 0, NULL), 0);
		ASSERT_TRUE(iov_vfu_server_connected(srv));
	}
}

static void teardown(void)
{
	iov_vfu_server_free(srv);
	iov_ctx_free(ctx);
	close(cli);
	srv = NULL;
}

static void test_version_rules(void)
{
	uint8_t reply[512] = { 0 }, v1[4] = { 1, 0, 0, 0 }, v0[8] = { 0, 0, 7, 0, '{', '}', 0, 0 };
	struct { uint64_t offset; uint32_t region, count; } rd = { 0, 0, 4 };
	size_t len = 0;
	uint16_t minor;

	setup(false);
	/* Anything before VFIO_USER_VERSION is refused. */
	ASSERT_INT_EQ(roundtrip(VU_REGION_READ, &rd, sizeof(rd), NULL, 0, NULL, 0, NULL), EINVAL);
	ASSERT_INT_EQ(roundtrip(VU_VERSION, v1, sizeof(v1), NULL, 0, NULL, 0, NULL), ENOTSUP);
	ASSERT_INT_EQ(roundtrip(VU_VERSION, v0, 2, NULL, 0, NULL, 0, NULL), EINVAL);   /* too short */
	ASSERT_FALSE(iov_vfu_server_connected(srv));
	/* A client proposing minor 7 is answered with ours, 1, and capabilities. */
	ASSERT_INT_EQ(roundtrip(VU_VERSION, v0, sizeof(v0), NULL, 0, reply, sizeof(reply) - 1, &len), 0);
	memcpy(&minor, reply + 2, 2);
	ASSERT_INT_EQ(minor, 1);
	ASSERT_TRUE(len > 4 && strstr((char *)reply + 4, "\"max_msg_fds\"") != NULL);
	teardown();
}

static void test_region_bounds(void)
{
	struct { uint64_t offset; uint32_t region, count; } rd;
	/* 16 bytes of header and 4 of data: 20 bytes on the wire (sizeof would add padding). */
	struct { uint64_t offset; uint32_t region, count; uint8_t data[4]; } wr = { 8, 0, 4, { 1, 2, 3, 4 } };
	const size_t wr_len = 20;
	uint8_t out[64];

	setup(true);
	rd = (__typeof__(rd)){ 4096 - 4, 0, 4 };
	ASSERT_INT_EQ(roundtrip(VU_REGION_READ, &rd, sizeof(rd), NULL, 0, out, sizeof(out), NULL), 0);
	rd = (__typeof__(rd)){ 4096 - 2, 0, 4 };   /* runs past the end */
	ASSERT_INT_EQ(roundtrip(VU_REGION_READ, &rd, sizeof(rd), NULL, 0, NULL, 0, NULL), EINVAL);
	rd = (__typeof__(rd)){ UINT64_MAX - 1, 0, 4 };   /* wraps */
	ASSERT_INT_EQ(roundtrip(VU_REGION_READ, &rd, sizeof(rd), NULL, 0, NULL, 0, NULL), EINVAL);
	rd = (__typeof__(rd)){ 0, 99, 4 };
	ASSERT_INT_EQ(roundtrip(VU_REGION_READ, &rd, sizeof(rd), NULL, 0, NULL, 0, NULL), EINVAL);
	rd = (__typeof__(rd)){ 0, 3, 4 };   /* an absent region */
	ASSERT_INT_EQ(roundtrip(VU_REGION_READ, &rd, sizeof(rd), NULL, 0, NULL, 0, NULL), EINVAL);
	rd = (__typeof__(rd)){ 0, 0, 0 };
	ASSERT_INT_EQ(roundtrip(VU_REGION_READ, &rd, sizeof(rd), NULL, 0, NULL, 0, NULL), EINVAL);
	rd = (__typeof__(rd)){ 0, 0, VU_MAX_DATA_XFER + 1 };
	ASSERT_INT_EQ(roundtrip(VU_REGION_READ, &rd, sizeof(rd), NULL, 0, NULL, 0, NULL), EINVAL);

	memset(bar, 0, sizeof(bar));
	wr.count = 5;   /* says 5, carries 4 */
	ASSERT_INT_EQ(roundtrip(VU_REGION_WRITE, &wr, wr_len, NULL, 0, NULL, 0, NULL), EINVAL);
	ASSERT_INT_EQ(bar[8], 0);
	wr.count = 4;
	ASSERT_INT_EQ(roundtrip(VU_REGION_WRITE, &wr, sizeof(wr), NULL, 0, NULL, 0, NULL), EINVAL);   /* padding: 24 bytes */
	wr.region = 7;   /* config space is read-only here */
	ASSERT_INT_EQ(roundtrip(VU_REGION_WRITE, &wr, wr_len, NULL, 0, NULL, 0, NULL), EACCES);
	wr.region = 0;
	ASSERT_INT_EQ(roundtrip(VU_REGION_WRITE, &wr, wr_len, NULL, 0, NULL, 0, NULL), 0);
	ASSERT_INT_EQ(bar[8], 1);
	ASSERT_INT_EQ(bar[11], 4);
	teardown();
}

static void test_dma_map_rules(void)
{
	struct { uint32_t argsz, flags; uint64_t offset, address, size; } map = { 32, 3, 0, 0x10000, 8192 };
	struct { uint32_t argsz, flags; uint64_t address, size; } unmap = { 24, 0, 0x10000, 8192 };
	int mfd = memfd_create("t", MFD_CLOEXEC), fds[2];
	uint8_t byte = 0x42, back = 0;
	int before;

	setup(true);
	ASSERT_OK(ftruncate(mfd, 16384));
	fds[0] = fds[1] = mfd;
	before = unit_open_fds();
	ASSERT_INT_EQ(roundtrip(VU_DMA_MAP, &map, sizeof(map), NULL, 0, NULL, 0, NULL), ENOTSUP);    /* no fd */
	ASSERT_INT_EQ(roundtrip(VU_DMA_MAP, &map, sizeof(map), fds, 2, NULL, 0, NULL), EINVAL);      /* two fds */
	map.address = 0x10800;
	ASSERT_INT_EQ(roundtrip(VU_DMA_MAP, &map, sizeof(map), &mfd, 1, NULL, 0, NULL), EINVAL);     /* unaligned */
	map.address = UINT64_MAX - 4095;
	ASSERT_INT_EQ(roundtrip(VU_DMA_MAP, &map, sizeof(map), &mfd, 1, NULL, 0, NULL), EINVAL);     /* wraps */
	map.address = 0x10000;
	map.flags = 4;
	ASSERT_INT_EQ(roundtrip(VU_DMA_MAP, &map, sizeof(map), &mfd, 1, NULL, 0, NULL), EINVAL);     /* unknown flag */
	ASSERT_INT_EQ(unit_open_fds(), before);   /* every received fd was closed */

	map.flags = 1;   /* read-only for the device */
	ASSERT_INT_EQ(roundtrip(VU_DMA_MAP, &map, sizeof(map), &mfd, 1, NULL, 0, NULL), 0);
	map.address = 0x11000;
	ASSERT_INT_EQ(roundtrip(VU_DMA_MAP, &map, sizeof(map), &mfd, 1, NULL, 0, NULL), EEXIST);
	/* Device DMA through the map: reads work, writes into a read-only window fault, as do
	 * accesses outside any window or straddling its end. */
	ASSERT_OK(iov_vfu_server_dma(srv, 0x10000, &back, 1, false));
	ASSERT_ERR(iov_vfu_server_dma(srv, 0x10000, &byte, 1, true), EFAULT);
	ASSERT_ERR(iov_vfu_server_dma(srv, 0x20000, &back, 1, false), EFAULT);
	ASSERT_ERR(iov_vfu_server_dma(srv, 0x11fff, &back, 2, false), EFAULT);
	unmap.size = 4096;   /* must match a mapping exactly */
	ASSERT_INT_EQ(roundtrip(VU_DMA_UNMAP, &unmap, sizeof(unmap), NULL, 0, NULL, 0, NULL), ENOENT);
	unmap.size = 8192;
	ASSERT_INT_EQ(roundtrip(VU_DMA_UNMAP, &unmap, sizeof(unmap), NULL, 0, NULL, 0, NULL), 0);
	ASSERT_ERR(iov_vfu_server_dma(srv, 0x10000, &back, 1, false), EFAULT);
	close(mfd);
	teardown();
}

static void test_irqs(void)
{
	struct vfio_irq_set_hdr { uint32_t argsz, flags, index, start, count; } set;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), two[2] = { efd, efd }, before;
	uint64_t v = 0;

	setup(true);
	before = unit_open_fds();
	set = (struct vfio_irq_set_hdr){ 20, (1u << 2) | (1u << 5), 9, 0, 1 };   /* EVENTFD|TRIGGER, bad index */
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_SET_IRQS, &set, sizeof(set), &efd, 1, NULL, 0, NULL), EINVAL);
	set.index = 1;
	set.start = 1;
	set.count = 2;   /* vectors 1..2 of a 2-vector index */
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_SET_IRQS, &set, sizeof(set), two, 2, NULL, 0, NULL), EINVAL);
	set.start = 0;
	set.count = 1;   /* one vector, two fds */
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_SET_IRQS, &set, sizeof(set), two, 2, NULL, 0, NULL), EINVAL);
	set.flags = (1u << 1) | (1u << 2) | (1u << 5);   /* two data types at once */
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_SET_IRQS, &set, sizeof(set), &efd, 1, NULL, 0, NULL), EINVAL);
	ASSERT_INT_EQ(unit_open_fds(), before);
	ASSERT_ERR(iov_vfu_server_irq(srv, 1, 0), ENOENT);

	set.flags = (1u << 2) | (1u << 5);
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_SET_IRQS, &set, sizeof(set), &efd, 1, NULL, 0, NULL), 0);
	ASSERT_OK(iov_vfu_server_irq(srv, 1, 0));
	ASSERT_INT_EQ(read(efd, &v, sizeof(v)), 8);
	ASSERT_INT_EQ(v, 1);
	ASSERT_ERR(iov_vfu_server_irq(srv, 1, 1), ENOENT);
	ASSERT_ERR(iov_vfu_server_irq(srv, 1, 7), ENOENT);
	/* UNMASK with an eventfd (an INTx resample eventfd): accepted, the fd not kept (nothing
	 * stays asserted here); with a count the fds do not match, refused. Triggers stay. */
	before = unit_open_fds();
	set = (struct vfio_irq_set_hdr){ 20, (1u << 2) | (1u << 4), 1, 0, 1 };   /* EVENTFD|UNMASK */
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_SET_IRQS, &set, sizeof(set), &efd, 1, NULL, 0, NULL), 0);
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_SET_IRQS, &set, sizeof(set), two, 2, NULL, 0, NULL), EINVAL);
	set.start = 2;
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_SET_IRQS, &set, sizeof(set), &efd, 1, NULL, 0, NULL), EINVAL);
	ASSERT_INT_EQ(unit_open_fds(), before);
	ASSERT_OK(iov_vfu_server_irq(srv, 1, 0));
	ASSERT_INT_EQ(read(efd, &v, sizeof(v)), 8);
	/* DATA_NONE | TRIGGER with count 0 disables the index. */
	set = (struct vfio_irq_set_hdr){ 20, (1u << 0) | (1u << 5), 1, 0, 0 };
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_SET_IRQS, &set, sizeof(set), NULL, 0, NULL, 0, NULL), 0);
	ASSERT_ERR(iov_vfu_server_irq(srv, 1, 0), ENOENT);
	close(efd);
	teardown();
}

static void test_garbage(void)
{
	struct { uint64_t offset; uint32_t region, count; } rd = { 0, 0, 4 };
	uint8_t junk[64] = { 0 };
	int fds[20], before;

	setup(true);
	ASSERT_INT_EQ(roundtrip(200, junk, sizeof(junk), NULL, 0, NULL, 0, NULL), ENOSYS);
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_GET_INFO, junk, 3, NULL, 0, NULL, 0, NULL), EINVAL);   /* short */
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_RESET, NULL, 0, NULL, 0, NULL, 0, NULL), ENOTTY);     /* no reset op */
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_GET_INFO, junk, 16, &cli, 1, NULL, 0, NULL), EINVAL); /* an fd it takes none of */

	/* More fds than a message may carry: refused, all closed, the stream stays in step. */
	before = unit_open_fds();
	for (int i = 0; i < 20; i++)
		fds[i] = cli;
	{
		union { char buf[CMSG_SPACE(sizeof(fds))]; struct cmsghdr align; } control;
		struct vu_hdr h = { .id = 77, .cmd = VU_REGION_READ, .size = 16 + sizeof(rd) };
		struct iovec iov[2] = { { &h, sizeof(h) }, { &rd, sizeof(rd) } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		ASSERT_INT_GE(sendmsg(cli, &mh, 0), 0);
		ASSERT_INT_EQ(iov_vfu_server_run_once(srv, 1000), 0);
	}
	ASSERT_INT_EQ(unit_open_fds(), before);
	/* ... and it still serves. */
	ASSERT_INT_EQ(roundtrip(VU_REGION_READ, &rd, sizeof(rd), NULL, 0, junk, sizeof(junk), NULL), 0);

	/* A size it cannot follow ends the connection, not the server. */
	{
		struct vu_hdr h = { .id = 1, .cmd = VU_REGION_READ, .size = VU_MAX_MSG + 1 };

		ASSERT_INT_EQ(write(cli, &h, sizeof(h)), (ssize_t)sizeof(h));
		ASSERT_INT_EQ(iov_vfu_server_run_once(srv, 1000), 1);
		ASSERT_FALSE(iov_vfu_server_connected(srv));
	}
	teardown();
}

/*
 * A 16 KiB BAR of RAM in a memfd, 4 KiB into the file: pages 0 and 2-3 mappable, page 1 (where
 * an MSI-X table would be) trapped. The device's access op reads the same memory (ram).
 */
static struct iov_vfu_device ram_device(int fd)
{
	return (struct iov_vfu_device){
		.regions = { [0] = { .size = sizeof(bar), .readable = true, .writable = true },
			     [2] = { .size = 0x4000, .readable = true, .writable = true, .mappable = true, .fd = fd,
				     .fd_offset = 0x1000, .n_areas = 2, .areas = { { 0, 0x1000 }, { 0x2000, 0x2000 } } } },
		.ops = &ops,
	};
}

static void test_mappable_region(void)
{
	struct vfio_region_info req = { .argsz = 4096, .index = 2 };
	/* The reply as bytes, then its parts (clang refuses a variable-sized struct inside another). */
	const size_t rep_size = sizeof(struct vfio_region_info) + sizeof(struct vfio_region_info_cap_sparse_mmap) +
				2 * sizeof(struct vfio_region_sparse_mmap_area);
	uint8_t bytes[256];
	struct vfio_region_info info;
	struct vfio_region_info_cap_sparse_mmap cap;
	struct vfio_region_sparse_mmap_area areas[2];
	struct iov_vfu_device desc;
	struct { uint64_t offset; uint32_t region, count; } rd = { 0x2010, 2, 4 };
	uint8_t out[64];
	size_t len = 0;
	uint8_t *map;
	int fd, before;

	before = unit_open_fds();
	fd = memfd_create("ram-bar", MFD_CLOEXEC);
	ASSERT_INT_GE(fd, 0);
	ASSERT_OK(ftruncate(fd, 0x5000));
	ram = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0x1000);
	ASSERT_TRUE(ram != MAP_FAILED);
	desc = ram_device(fd);
	setup_device(&desc, true);
	close(fd);   /* the server keeps its own */

	/* The region, its fd, where it lies in the fd, and the two areas. */
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_GET_REGION_INFO, &req, sizeof(req), NULL, 0, bytes, sizeof(bytes), &len), 0);
	ASSERT_INT_EQ(len, rep_size);
	memcpy(&info, bytes, sizeof(info));
	memcpy(&cap, bytes + sizeof(info), sizeof(cap));
	memcpy(areas, bytes + sizeof(info) + sizeof(cap), sizeof(areas));
	ASSERT_INT_EQ(info.argsz, rep_size);
	ASSERT_INT_EQ(info.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP |
				  VFIO_REGION_INFO_FLAG_CAPS);
	ASSERT_INT_EQ(info.size, 0x4000);
	ASSERT_INT_EQ(info.offset, 0x1000);
	ASSERT_INT_EQ(info.cap_offset, sizeof(info));
	ASSERT_INT_EQ(cap.header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	ASSERT_INT_EQ(cap.header.next, 0);
	ASSERT_INT_EQ(cap.nr_areas, 2);
	ASSERT_INT_EQ(areas[0].offset, 0);
	ASSERT_INT_EQ(areas[0].size, 0x1000);
	ASSERT_INT_EQ(areas[1].offset, 0x2000);
	ASSERT_INT_EQ(areas[1].size, 0x2000);
	ASSERT_INT_GE(reply_fd, 0);

	/* The client's mapping and the device are one memory, both ways. */
	map = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED, reply_fd, (off_t)(info.offset + 0x2000));
	ASSERT_TRUE(map != MAP_FAILED);
	memcpy(map + 0x10, "\x11\x22\x33\x44", 4);
	ASSERT_INT_EQ(roundtrip(VU_REGION_READ, &rd, sizeof(rd), NULL, 0, out, sizeof(out), &len), 0);
	ASSERT_INT_EQ(len, sizeof(rd) + 4);
	ASSERT_INT_EQ(memcmp(out + sizeof(rd), "\x11\x22\x33\x44", 4), 0);
	ram[0x2020] = 0x5a;
	ASSERT_INT_EQ(map[0x20], 0x5a);
	munmap(map, 0x2000);

	/* No room for the capability: told the size it needs, no capability. */
	req.argsz = sizeof(req);
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_GET_REGION_INFO, &req, sizeof(req), NULL, 0, bytes, sizeof(bytes), &len), 0);
	ASSERT_INT_EQ(len, sizeof(info));
	memcpy(&info, bytes, sizeof(info));
	ASSERT_INT_EQ(info.argsz, rep_size);
	ASSERT_INT_EQ(info.cap_offset, 0);
	ASSERT_TRUE(info.flags & VFIO_REGION_INFO_FLAG_CAPS);

	/* A region that is not mappable comes without an fd. */
	req = (struct vfio_region_info){ .argsz = 4096, .index = 0 };
	ASSERT_INT_EQ(roundtrip(VU_DEVICE_GET_REGION_INFO, &req, sizeof(req), NULL, 0, bytes, sizeof(bytes), &len), 0);
	ASSERT_INT_EQ(len, sizeof(info));
	memcpy(&info, bytes, sizeof(info));
	ASSERT_FALSE(info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	ASSERT_INT_EQ(reply_fd, -1);

	teardown();
	munmap(ram, 0x4000);
	ASSERT_INT_EQ(unit_open_fds(), before);
}

/* Descriptions the server refuses, each leaving the caller's fd alone and nothing open. */
static void test_mappable_refusals(void)
{
	struct iov_vfu_server *s = NULL;
	struct iov_vfu_device desc;
	int fd, before;

	ASSERT_OK(iov_ctx_new(NULL, &ctx));
	fd = memfd_create("ram-bar", MFD_CLOEXEC);
	ASSERT_OK(ftruncate(fd, 0x5000));
	before = unit_open_fds();
#define REFUSED(...)                                            \
	do {                                                           \
		desc = ram_device(fd);                                 \
		__VA_ARGS__;                                           \
		ASSERT_ERR(iov_vfu_server_new(ctx, &desc, &s), EINVAL); \
		ASSERT_TRUE(s == NULL);                                \
		ASSERT_INT_EQ(unit_open_fds(), before);                \
	} while (0)
	REFUSED(desc.regions[2].fd = -1);
	REFUSED(desc.regions[2].size = 0x3800);                                   /* not whole pages */
	REFUSED(desc.regions[2].fd_offset = 0x800);
	REFUSED(desc.regions[2].fd_offset = 0x2000);                              /* the file is short */
	REFUSED(desc.regions[2].areas[1] = (struct iov_vfu_area){ 0x3000, 0x2000 }); /* past the end */
	REFUSED(desc.regions[2].areas[1] = (struct iov_vfu_area){ 0, 0x1000 });      /* overlaps, out of order */
	REFUSED(desc.regions[2].areas[0].size = 0);
	REFUSED(desc.regions[2].n_areas = IOV_VFU_MAX_AREAS + 1);
#undef REFUSED
	desc = ram_device(fd);
	ASSERT_OK(iov_vfu_server_new(ctx, &desc, &s));
	ASSERT_INT_EQ(unit_open_fds(), before + 1);   /* its own duplicate */
	iov_vfu_server_free(s);
	ASSERT_INT_EQ(unit_open_fds(), before);
	ASSERT_INT_GE(fcntl(fd, F_GETFD), 0);         /* the caller's is still open */
	close(fd);
	iov_ctx_free(ctx);
}

UNIT_MAIN("vfio-core/user-server",
	  UNIT_TEST(test_version_rules),
	  UNIT_TEST(test_region_bounds),
	  UNIT_TEST(test_dma_map_rules),
	  UNIT_TEST(test_irqs),
	  UNIT_TEST(test_garbage),
	  UNIT_TEST(test_mappable_region),
	  UNIT_TEST(test_mappable_refusals))
