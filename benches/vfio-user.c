/* SPDX-License-Identifier: MIT */
/*
 * vfio-user benchmark, on this machine:
 *   - region read round trip (4 and 64 bytes) through vfio-core's client and the server
 *     library, against the physical floor: a plain Unix-socket ping-pong carrying messages of
 *     the same sizes between the same two processes;
 *   - device DMA throughput through the server's DMA map (iov_vfu_server_dma), against plain
 *     memcpy of the same sizes.
 * Blocks of A and B alternate; each figure is the median of the blocks. Prints a table, then
 * one JSON line. Target (issue 4): the round trip within 1.5x of the ping-pong.
 *
 *   vfio-user-bench [ROUNDS]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iovkit/vfio-user.h"
#include "iovkit/vfio.h"

#define BLOCKS 7
#define DMA_SIZE (16u << 20)

static uint8_t bar[4096];

static ssize_t dev_access(void *dev, uint32_t region, uint64_t offset, void *buf, size_t len, bool write)
{
	if (write)
		memcpy(bar + offset, buf, len);
	else
		memcpy(buf, bar + offset, len);
	return (ssize_t)len;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* The floor: the child echoes fixed-size messages, as the server answers a region read. */
static void pingpong_child(int sock, size_t req, size_t rep)
{
	uint8_t buf[256] = { 0 };

	for (;;) {
		size_t got = 0;

		while (got < req) {
			ssize_t n = recv(sock, buf + got, req - got, 0);

			if (n <= 0)
				_exit(0);
			got += (size_t)n;
		}
		if (send(sock, buf, rep, MSG_NOSIGNAL) != (ssize_t)rep)
			_exit(0);
	}
}

static double pingpong(int sock, size_t req, size_t rep, int rounds)
{
	uint8_t buf[256] = { 0 };
	double t0 = now();

	for (int i = 0; i < rounds; i++) {
		size_t got = 0;

		if (send(sock, buf, req, MSG_NOSIGNAL) != (ssize_t)req)
			return -1;
		while (got < rep) {
			ssize_t n = recv(sock, buf + got, rep - got, 0);

			if (n <= 0)
				return -1;
			got += (size_t)n;
		}
	}
	return (now() - t0) / rounds;
}

static double region_reads(struct iov_vfio_device *d, size_t len, int rounds)
{
	uint8_t buf[64];
	double t0 = now();

	for (int i = 0; i < rounds; i++)
		if (iov_vfio_region_read(d, 0, 0, buf, len) != (ssize_t)len)
			return -1;
	return (now() - t0) / rounds;
}

static pid_t spawn_server(const char *path)
{
	static const struct iov_vfu_device_ops ops = { .access = dev_access };
	pid_t pid = fork();

	if (pid == 0) {
		struct iov_vfu_device desc = {
			.regions = { [0] = { .size = sizeof(bar), .readable = true, .writable = true } }, .ops = &ops,
		};
		struct iov_vfu_server *s;
		struct iov_ctx *ctx;

		if (iov_ctx_new(NULL, &ctx) < 0 || iov_vfu_server_new(ctx, &desc, &s) < 0 || iov_vfu_server_listen(s, path) < 0)
			_exit(1);
		for (;;)
			if (iov_vfu_server_run_once(s, -1) < 0)
				_exit(1);
	}
	return pid;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20000;
	char path[] = "/tmp/iovkit-bench-XXXXXX";
	double vu4[BLOCKS], pp4[BLOCKS], vu64[BLOCKS], pp64[BLOCKS], dma[BLOCKS], cpy[BLOCKS];
	struct iov_vfio_container *c = NULL;
	struct iov_vfio_device *d = NULL;
	struct iov_ctx *ctx;
	int sv4[2], sv64[2], memfd;
	pid_t server, echo4, echo64;
	uint8_t *src, *dst;
	char sock[128];

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(path))
		return 1;
	snprintf(sock, sizeof(sock), "%s/s", path);
	server = spawn_server(sock);
	/* Message sizes as vfio-user puts them on the wire: 16-byte header + 16-byte request; the
	 * reply carries the data after its own 16 bytes. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv4) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv64) < 0)
		return 1;
	/* Each echo child keeps only its own end, so it sees EOF when the parent closes its end. */
	if ((echo4 = fork()) == 0) {
		close(sv4[0]);
		close(sv64[0]);
		close(sv64[1]);
		pingpong_child(sv4[1], 32, 36);
	}
	if ((echo64 = fork()) == 0) {
		close(sv4[0]);
		close(sv64[0]);
		pingpong_child(sv64[1], 32, 96);
	}
	close(sv4[1]);
	close(sv64[1]);
	iov_ctx_new(NULL, &ctx);
	for (int i = 0; i < 100 && iov_vfio_container_new_user(ctx, sock, &c) < 0; i++)
		usleep(20000);
	if (!c || iov_vfio_device_open(c, NULL, NULL, &d) < 0) {
		fprintf(stderr, "vfio-user-bench: %s\n", iov_ctx_reason(ctx));
		return 1;
	}
	region_reads(d, 4, 1000);   /* warm-up: region info is cached, connections are hot */
	pingpong(sv4[0], 32, 36, 1000);
	for (int b = 0; b < BLOCKS; b++) {
		vu4[b] = region_reads(d, 4, rounds);
		pp4[b] = pingpong(sv4[0], 32, 36, rounds);
		vu64[b] = region_reads(d, 64, rounds);
		pp64[b] = pingpong(sv64[0], 32, 96, rounds);
	}

	/* DMA: the server library's checked copy into mapped client memory against memcpy. */
	{
		static const struct iov_vfu_device_ops ops = { .access = dev_access };
		struct iov_vfu_device desc = {
			.regions = { [0] = { .size = sizeof(bar), .readable = true, .writable = true } }, .ops = &ops,
		};
		struct iov_vfu_server *s;
		int sp[2];
		uint8_t hdr_ver[4] = { 0, 0, 1, 0 };

		memfd = memfd_create("bench", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, DMA_SIZE) < 0)
			return 1;
		src = mmap(NULL, DMA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		dst = malloc(DMA_SIZE);
		memset(src, 0x5a, DMA_SIZE);
		memset(dst, 0, DMA_SIZE);
		(void)hdr_ver;
		/* A server in this process, mapped by a real client over a socketpair. */
		iov_vfu_server_new(ctx, &desc, &s);
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
		iov_vfu_server_attach(s, sp[1]);
		{
			struct { uint16_t id, cmd; uint32_t size, flags, error; } h = { 0, 1, 16 + 4, 0, 0 };
			struct { uint16_t id, cmd; uint32_t size, flags, error; } hm = { 1, 2, 16 + 32, 0, 0 };
			struct { uint32_t argsz, flags; uint64_t offset, address, size; } map = { 32, 3, 0, 0x100000, DMA_SIZE };
			union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } ctl;
			struct iovec iov[2] = { { &hm, 16 }, { &map, 32 } };
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			uint8_t sink[4096];
			uint8_t v[4] = { 0, 0, 1, 0 };

			(void)!write(sp[0], &h, 16);
			(void)!write(sp[0], v, 4);
			iov_vfu_server_run_once(s, 1000);
			(void)!read(sp[0], sink, sizeof(sink));
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &memfd, sizeof(int));
			sendmsg(sp[0], &mh, 0);
			iov_vfu_server_run_once(s, 1000);
			(void)!read(sp[0], sink, sizeof(sink));
		}
		for (int b = 0; b < BLOCKS; b++) {
			double t0 = now();

			if (iov_vfu_server_dma(s, 0x100000, dst, DMA_SIZE, false) < 0)
				return 1;
			dma[b] = now() - t0;
			t0 = now();
			memcpy(dst, src, DMA_SIZE);
			cpy[b] = now() - t0;
		}
		iov_vfu_server_free(s);
		close(sp[0]);
	}

	double m_vu4 = median(vu4, BLOCKS) * 1e6, m_pp4 = median(pp4, BLOCKS) * 1e6, m_vu64 = median(vu64, BLOCKS) * 1e6,
	       m_pp64 = median(pp64, BLOCKS) * 1e6, m_dma = DMA_SIZE / median(dma, BLOCKS) / 1e9,
	       m_cpy = DMA_SIZE / median(cpy, BLOCKS) / 1e9;
	double r4 = m_vu4 / m_pp4, r64 = m_vu64 / m_pp64;

	printf("%-42s %10s %10s %7s\n", "measure", "vfio-user", "floor", "ratio");
	printf("%-42s %8.2f us %8.2f us %7.2f\n", "region read 4 B round trip / ping-pong", m_vu4, m_pp4, r4);
	printf("%-42s %8.2f us %8.2f us %7.2f\n", "region read 64 B round trip / ping-pong", m_vu64, m_pp64, r64);
	printf("%-42s %7.2f GB/s %6.2f GB/s %7.2f\n", "DMA copy 16 MiB / memcpy", m_dma, m_cpy, m_cpy / m_dma);
	printf("(%d rounds per block, %d blocks alternating, medians; target: round trip <= 1.5x ping-pong)\n", rounds, BLOCKS);
	printf("{\"bench\":\"vfio-user\",\"rounds\":%d,\"blocks\":%d,\"read4_us\":%.3f,\"pingpong4_us\":%.3f,\"ratio4\":%.3f,"
	       "\"read64_us\":%.3f,\"pingpong64_us\":%.3f,\"ratio64\":%.3f,\"dma_gbps\":%.2f,\"memcpy_gbps\":%.2f,"
	       "\"target_met\":%s}\n",
	       rounds, BLOCKS, m_vu4, m_pp4, r4, m_vu64, m_pp64, r64, m_dma, m_cpy, r4 <= 1.5 && r64 <= 1.5 ? "true" : "false");

	iov_vfio_device_close(d);
	iov_vfio_container_free(c);
	close(sv4[0]);
	close(sv64[0]);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	waitpid(echo4, NULL, 0);
	waitpid(echo64, NULL, 0);
	unlink(sock);
	rmdir(path);
	iov_ctx_free(ctx);
	return 0;
}
