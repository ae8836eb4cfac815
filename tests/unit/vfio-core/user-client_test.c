/* SPDX-License-Identifier: MIT */
/*
 * vfio-core's vfio-user client against a hostile server: a scripted server thread answers
 * each request wrongly in one way per test. Every case gives the caller a clear error, leaks
 * no fd, and leaves the client usable where the protocol allows.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "../helpers/unit.h"
#include "iovkit/vfio.h"
#include "../../../vfio-core/vfio-user-proto.h"

enum misdeed {
	GOOD,
	VERSION_MAJOR_1,      /* answers version 1.0 */
	VERSION_WRONG_ID,     /* answers with another message id */
	VERSION_BUSY,         /* answers EBUSY */
	INFO_HUGE,            /* claims 1000 regions */
	READ_SHORT,           /* a region read returns fewer bytes than asked */
	READ_LONG,            /* a reply larger than the client asked for */
	DMA_READ_FIRST,       /* sends a VFIO_USER_DMA_READ command before each reply */
	FD_UNASKED,           /* sends an fd with a region info that is not mappable */
	HANG_UP,              /* closes the connection instead of answering */
	SPARSE_BAR,           /* no misdeed: region 0 (16 KiB) is mappable only around page 1 */
};

struct scenario {
	enum misdeed misdeed;
	int listen_fd;
	pthread_t thread;
	char path[108];
};

static void reply(int sock, const struct vu_msg *req, const void *payload, size_t len, uint32_t err, const int *fds,
		  unsigned int nfds)
{
	struct vu_hdr h = { .id = req->hdr.id, .cmd = req->hdr.cmd, .flags = VU_TYPE_REPLY | (err ? VU_F_ERROR : 0u),
			    .error = err };

	vu_send(sock, &h, payload, len, fds, nfds);
}

/*
 * Region 0 as a BAR with an MSI-X table in its second page: 16 KiB in a memfd whose pages
 * start with 0xa0 + their number, mappable in two sparse areas, [0, 4K) and [8K, 16K).
 */
static void sparse_region(int sock, const struct vu_msg *req)
{
	struct vfio_region_sparse_mmap_area areas[2] = { { 0, 0x1000 }, { 0x2000, 0x2000 } };
	struct vfio_region_info_cap_sparse_mmap cap = {
		.header = { .id = VFIO_REGION_INFO_CAP_SPARSE_MMAP, .version = 1 }, .nr_areas = 2,
	};
	struct vfio_region_info info = {
		.argsz = sizeof(info) + sizeof(cap) + sizeof(areas), .index = 0, .cap_offset = sizeof(info),
		.size = 0x4000,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP |
			 VFIO_REGION_INFO_FLAG_CAPS,
	};
	uint8_t rep[sizeof(info) + sizeof(cap) + sizeof(areas)];
	int fd = memfd_create("bar0", MFD_CLOEXEC);

	memcpy(rep, &info, sizeof(info));
	memcpy(rep + sizeof(info), &cap, sizeof(cap));
	memcpy(rep + sizeof(info) + sizeof(cap), areas, sizeof(areas));
	if (fd < 0 || ftruncate(fd, 0x4000) < 0)
		abort();
	for (int page = 0; page < 4; page++)
		if (pwrite(fd, &(uint8_t){ (uint8_t)(0xa0 + page) }, 1, page * 0x1000) != 1)
			abort();
	reply(sock, req, rep, sizeof(rep), 0, &fd, 1);
	close(fd);
}

static void *serve(void *arg)
{
	struct scenario *sc = arg;
	int sock = accept(sc->listen_fd, NULL, NULL);
	struct vu_msg m;

	while (sock >= 0 && vu_recv(sock, &m, VU_MAX_MSG, VU_MAX_FDS) == 0) {
		uint8_t out[4200] = { 0 };

		if (sc->misdeed == HANG_UP && m.hdr.cmd != VU_VERSION) {
			vu_msg_release(&m);
			break;
		}
		if (sc->misdeed == DMA_READ_FIRST && m.hdr.cmd != VU_VERSION) {
			struct vu_hdr h = { .id = 900, .cmd = VU_DMA_READ, .flags = VU_TYPE_COMMAND };
			uint64_t req[2] = { 0x1000, 8 };
			struct vu_msg ans;

			vu_send(sock, &h, req, sizeof(req), NULL, 0);
			if (vu_recv(sock, &ans, VU_MAX_MSG, VU_MAX_FDS) == 0) {
				/* The client must answer ENOTSUP to our command. */
				if (!(ans.hdr.flags & VU_F_ERROR) || ans.hdr.error != ENOTSUP || ans.hdr.id != 900)
					sc->misdeed = HANG_UP;
				vu_msg_release(&ans);
			}
		}
		switch (m.hdr.cmd) {
		case VU_VERSION: {
			uint16_t v[2] = { sc->misdeed == VERSION_MAJOR_1 ? 1 : 0, 1 };

			if (sc->misdeed == VERSION_BUSY) {
				reply(sock, &m, NULL, 0, EBUSY, NULL, 0);
				break;
			}
			if (sc->misdeed == VERSION_WRONG_ID)
				m.hdr.id++;
			memcpy(out, v, 4);
			strcpy((char *)out + 4, "{\"capabilities\":{\"max_msg_fds\":4,\"max_data_xfer_size\":64}}");
			reply(sock, &m, out, 4 + strlen((char *)out + 4) + 1, 0, NULL, 0);
			break;
		}
		case VU_DEVICE_GET_INFO: {
			uint32_t info[4] = { 16, 3 /* reset | pci */, sc->misdeed == INFO_HUGE ? 1000 : 9, 5 };

			reply(sock, &m, info, sizeof(info), 0, NULL, 0);
			break;
		}
		case VU_DEVICE_GET_REGION_INFO: {
			struct vfio_region_info info = { .argsz = sizeof(info), .flags = VFIO_REGION_INFO_FLAG_READ, .size = 256 };
			int efd = eventfd(0, EFD_CLOEXEC);

			memcpy(&info.index, m.payload + 8, 4);
			if (sc->misdeed == SPARSE_BAR && info.index == 0) {
				sparse_region(sock, &m);
				close(efd);
				break;
			}
			reply(sock, &m, &info, sizeof(info), 0, &efd, sc->misdeed == FD_UNASKED ? 1 : 0);
			close(efd);
			break;
		}
		case VU_REGION_READ: {
			uint32_t count;

			memcpy(out, m.payload, 16);
			memcpy(&count, m.payload + 12, 4);
			for (uint32_t i = 0; i < count; i++)
				out[16 + i] = (uint8_t)i;
			if (sc->misdeed == READ_SHORT)
				count -= 1;
			if (sc->misdeed == READ_LONG)
				count += 4000;
			reply(sock, &m, out, 16 + count, 0, NULL, 0);
			break;
		}
		default:
			reply(sock, &m, NULL, 0, ENOSYS, NULL, 0);
		}
		vu_msg_release(&m);
	}
	if (sock >= 0)
		close(sock);
	return NULL;
}

static struct scenario *start(enum misdeed misdeed)
{
	struct scenario *sc = calloc(1, sizeof(*sc));
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	sc->misdeed = misdeed;
	snprintf(sc->path, sizeof(sc->path), "%s/vu-client-%d-%d.sock", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid(), (int)misdeed);
	strcpy(addr.sun_path, sc->path);
	unlink(sc->path);
	sc->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_OK(bind(sc->listen_fd, (struct sockaddr *)&addr, sizeof(addr)));
	ASSERT_OK(listen(sc->listen_fd, 1));
	pthread_create(&sc->thread, NULL, serve, sc);
	return sc;
}

static void finish(struct scenario *sc)
{
	pthread_join(sc->thread, NULL);
	close(sc->listen_fd);
	unlink(sc->path);
	free(sc);
}

/* Connects and opens the device; returns the container (or NULL with *err set). */
static struct iov_vfio_container *connect_to(struct iov_ctx *ctx, struct scenario *sc, int *err)
{
	struct iov_vfio_container *c = NULL;

	*err = iov_vfio_container_new_user(ctx, sc->path, &c);
	return *err < 0 ? NULL : c;
}

static void test_handshake_refusals(void)
{
	static const struct { enum misdeed m; int err; const char *why; } cases[] = {
		{ VERSION_MAJOR_1, EPROTONOSUPPORT, "answered version 1.1" },
		{ VERSION_WRONG_ID, EPROTO, "came as" },
		{ VERSION_BUSY, EBUSY, "serving another client" },
	};
	struct iov_ctx *ctx;
	int before;

	ASSERT_OK(iov_ctx_new(NULL, &ctx));
	before = unit_open_fds();   /* after the context, which holds its root open */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scenario *sc = start(cases[i].m);
		int err;
		struct iov_vfio_container *c = connect_to(ctx, sc, &err);

		ASSERT_TRUE(c == NULL);
		unit_check(err == -cases[i].err, __LINE__, __FILE__, "case %zu: %d, expected -%d", i, err, cases[i].err);
		unit_check(strstr(iov_ctx_reason(ctx), cases[i].why) != NULL, __LINE__, __FILE__, "case %zu: reason '%s'", i,
			   iov_ctx_reason(ctx));
		finish(sc);
	}
	ASSERT_ERR(iov_vfio_container_new_user(ctx, "/nonexistent/iovkit.sock", &(struct iov_vfio_container *){ NULL }), ENOENT);
	ASSERT_INT_EQ(unit_open_fds(), before);
	iov_ctx_free(ctx);
}

/* Connects, opens the device, and reads 8 bytes of region 7 (with a 64-byte transfer limit). */
static int read_through(enum misdeed misdeed, uint8_t *buf, size_t len, char *reason, size_t reason_len)
{
	struct scenario *sc = start(misdeed);
	struct iov_vfio_container *c;
	struct iov_vfio_device *d = NULL;
	struct iov_ctx *ctx;
	int r;

	iov_ctx_new(NULL, &ctx);
	c = connect_to(ctx, sc, &r);
	if (c) {
		r = iov_vfio_device_open(c, NULL, NULL, &d);
		if (r == 0) {
			ssize_t n = iov_vfio_region_read(d, 7, 0, buf, len);

			r = n < 0 ? (int)n : 0;
			iov_vfio_device_close(d);
		}
	}
	snprintf(reason, reason_len, "%s", iov_ctx_reason(ctx));
	iov_vfio_container_free(c);
	iov_ctx_free(ctx);
	finish(sc);
	return r;
}

static void test_replies(void)
{
	uint8_t buf[200];
	char why[512];
	int before = unit_open_fds();

	/* A good server: 200 bytes arrive in pieces of the server's 64-byte limit, in order. */
	memset(buf, 0xff, sizeof(buf));
	ASSERT_OK(read_through(GOOD, buf, sizeof(buf), why, sizeof(why)));
	ASSERT_INT_EQ(buf[63], 63);
	ASSERT_INT_EQ(buf[64], 0);   /* the second piece starts again at its own byte 0 */
	ASSERT_INT_EQ(buf[199], 199 - 192);

	ASSERT_ERR(read_through(INFO_HUGE, buf, 8, why, sizeof(why)), EPROTO);
	ASSERT_TRUE(strstr(why, "claims 1000 regions") != NULL);
	ASSERT_ERR(read_through(READ_SHORT, buf, 8, why, sizeof(why)), EIO);
	ASSERT_ERR(read_through(READ_LONG, buf, 8, why, sizeof(why)), EMSGSIZE);
	ASSERT_ERR(read_through(HANG_UP, buf, 8, why, sizeof(why)), ECONNRESET);
	ASSERT_TRUE(strstr(why, "closed the connection") != NULL);
	/* A server-to-client command in the middle is answered ENOTSUP, and the call completes. */
	ASSERT_OK(read_through(DMA_READ_FIRST, buf, 8, why, sizeof(why)));
	/* An fd sent with a region that is not mappable is closed, not kept. */
	ASSERT_OK(read_through(FD_UNASKED, buf, 8, why, sizeof(why)));
	ASSERT_INT_EQ(unit_open_fds(), before);
}

/* A region mappable only in parts: each part maps, nothing outside them or unaligned does. */
static void test_sparse_mmap(void)
{
	struct iov_vfio_device *d = NULL;
	struct iov_vfio_container *c;
	struct iov_vfio_region reg;
	struct scenario *sc;
	uint8_t *lo, *hi;
	struct iov_ctx *ctx;
	int before, r;

	ASSERT_OK(iov_ctx_new(NULL, &ctx));
	before = unit_open_fds();
	sc = start(SPARSE_BAR);
	c = connect_to(ctx, sc, &r);
	ASSERT_OK(r);
	ASSERT_OK(iov_vfio_device_open(c, NULL, NULL, &d));
	ASSERT_OK(iov_vfio_region_info(d, 0, &reg));
	ASSERT_TRUE(reg.mappable);
	ASSERT_INT_EQ(reg.n_sparse, 2);
	ASSERT_INT_EQ(reg.sparse[1].offset, 0x2000);
	ASSERT_INT_EQ(reg.sparse[1].size, 0x2000);
	ASSERT_ERR(iov_vfio_region_mmap(d, 0, &(void *){ NULL }, &(size_t){ 0 }), ENOTSUP);

	ASSERT_OK(iov_vfio_region_mmap_range(d, 0, 0, 0x1000, (void **)&lo));
	ASSERT_INT_EQ(lo[0], 0xa0);
	ASSERT_OK(iov_vfio_region_mmap_range(d, 0, 0x2000, 0x2000, (void **)&hi));
	ASSERT_INT_EQ(hi[0], 0xa2);
	ASSERT_INT_EQ(hi[0x1000], 0xa3);
	munmap(lo, 0x1000);
	munmap(hi, 0x2000);
	ASSERT_OK(iov_vfio_region_mmap_range(d, 0, 0x3000, 0x1000, (void **)&hi));   /* part of an area */
	ASSERT_INT_EQ(hi[0], 0xa3);
	munmap(hi, 0x1000);

	ASSERT_ERR(iov_vfio_region_mmap_range(d, 0, 0x1000, 0x1000, (void **)&lo), ENOTSUP);   /* the hole */
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "outside its sparse areas") != NULL);
	ASSERT_ERR(iov_vfio_region_mmap_range(d, 0, 0, 0x3000, (void **)&lo), ENOTSUP);        /* across it */
	ASSERT_ERR(iov_vfio_region_mmap_range(d, 0, 0x800, 0x1000, (void **)&lo), EINVAL);     /* unaligned */
	ASSERT_ERR(iov_vfio_region_mmap_range(d, 0, 0x3000, 0x2000, (void **)&lo), EINVAL);    /* past the end */
	ASSERT_ERR(iov_vfio_region_mmap_range(d, 0, 0, 0, (void **)&lo), EINVAL);
	ASSERT_ERR(iov_vfio_region_mmap_range(d, 7, 0, 0x1000, (void **)&lo), ENOTSUP);        /* not mappable */
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "region 7 cannot be mapped") != NULL);
	iov_vfio_device_close(d);
	iov_vfio_container_free(c);
	finish(sc);
	ASSERT_INT_EQ(unit_open_fds(), before);
	iov_ctx_free(ctx);
}

UNIT_MAIN("vfio-core/user-client",
	  UNIT_TEST(test_handshake_refusals),
	  UNIT_TEST(test_replies),
	  UNIT_TEST(test_sparse_mmap))
