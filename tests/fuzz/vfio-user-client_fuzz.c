/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: vfio-core's vfio-user client reading replies from a server it cannot
 * trust. A server thread answers the client's requests with the fuzzer's bytes; the client
 * connects, opens the device, reads region info and a region, and must fail cleanly.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "iovkit/vfio.h"

struct feed {
	int listen_fd;
	const uint8_t *data;
	size_t size;
};

static void *serve(void *arg)
{
	struct feed *f = arg;
	int sock = accept(f->listen_fd, NULL, NULL);

	if (sock >= 0) {
		/* Whatever the client asks, it gets these bytes, then the end of the stream. */
		if (f->size)
			(void)!write(sock, f->data, f->size);
		shutdown(sock, SHUT_WR);
		{
			uint8_t sink[4096];

			while (read(sock, sink, sizeof(sink)) > 0)
				;
		}
		close(sock);
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct iov_ctx *ctx;
	static char path[108];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct feed f = { .data = data, .size = size };
	struct iov_vfio_container *c = NULL;
	struct iov_vfio_device *d = NULL;
	pthread_t t;

	if (!ctx) {
		if (iov_ctx_new(NULL, &ctx) < 0)
			return 0;
		snprintf(path, sizeof(path), "/tmp/iovkit-fuzz-client-%d.sock", (int)getpid());
	}
	strcpy(addr.sun_path, path);
	unlink(path);
	f.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f.listen_fd < 0 || bind(f.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(f.listen_fd, 1) < 0) {
		close(f.listen_fd);
		return 0;
	}
	pthread_create(&t, NULL, serve, &f);
	if (iov_vfio_container_new_user(ctx, path, &c) == 0) {
		if (iov_vfio_device_open(c, NULL, NULL, &d) == 0) {
			struct iov_vfio_region r;
			uint8_t buf[64];

			iov_vfio_region_info(d, 0, &r);
			iov_vfio_region_read(d, 7, 0, buf, sizeof(buf));
			iov_vfio_irq_count(d, 1);
			iov_vfio_device_close(d);
		}
		iov_vfio_container_free(c);
	}
	pthread_join(t, NULL);
	close(f.listen_fd);
	unlink(path);
	return 0;
}
