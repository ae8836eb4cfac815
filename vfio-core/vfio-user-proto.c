/* SPDX-License-Identifier: MIT */
/* vfio-user framing; see vfio-user-proto.h for the threat model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iovkit-internal/macro.h"
#include "vfio-user-proto.h"

const char *vu_cmd_name(unsigned int cmd)
{
	static const char *const names[] = {
		[VU_VERSION] = "VFIO_USER_VERSION",
		[VU_DMA_MAP] = "VFIO_USER_DMA_MAP",
		[VU_DMA_UNMAP] = "VFIO_USER_DMA_UNMAP",
		[VU_DEVICE_GET_INFO] = "VFIO_USER_DEVICE_GET_INFO",
		[VU_DEVICE_GET_REGION_INFO] = "VFIO_USER_DEVICE_GET_REGION_INFO",
		[VU_DEVICE_GET_REGION_IO_FDS] = "VFIO_USER_DEVICE_GET_REGION_IO_FDS",
		[VU_DEVICE_GET_IRQ_INFO] = "VFIO_USER_DEVICE_GET_IRQ_INFO",
		[VU_DEVICE_SET_IRQS] = "VFIO_USER_DEVICE_SET_IRQS",
		[VU_REGION_READ] = "VFIO_USER_REGION_READ",
		[VU_REGION_WRITE] = "VFIO_USER_REGION_WRITE",
		[VU_DMA_READ] = "VFIO_USER_DMA_READ",
		[VU_DMA_WRITE] = "VFIO_USER_DMA_WRITE",
		[VU_DEVICE_RESET] = "VFIO_USER_DEVICE_RESET",
	};

	return cmd < ARRAY_SIZE(names) && names[cmd] ? names[cmd] : "unknown";
}

int vu_send(int sock, struct vu_hdr *hdr, const void *payload, size_t len, const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(*hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	size_t total = sizeof(*hdr) + len, sent = 0;

	if (total > VU_MAX_MSG || nfds > VU_MAX_FDS)
		return -EMSGSIZE;
	hdr->size = (uint32_t)total;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	while (sent < total) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		sent += (size_t)n;
		/* After a partial send, the rest goes without the fds (they rode on the first byte). */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (n > 0 && mh.msg_iovlen) {
			size_t step = (size_t)n < mh.msg_iov->iov_len ? (size_t)n : mh.msg_iov->iov_len;

			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + step;
			mh.msg_iov->iov_len -= step;
			n -= (ssize_t)step;
			if (!mh.msg_iov->iov_len) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

static int read_full(int sock, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(sock, (char *)buf + got, len - got, 0);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		got += (size_t)n;
	}
	return 0;
}

void vu_msg_release(struct vu_msg *msg)
{
	for (unsigned int i = 0; i < msg->nfds; i++)
		closep(&msg->fds[i]);
	msg->nfds = 0;
	free(msg->payload);
	msg->payload = NULL;
	msg->len = 0;
}

int vu_recv(int sock, struct vu_msg *msg, size_t max_size, unsigned int max_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = &msg->hdr, .iov_len = sizeof(msg->hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	size_t got;
	ssize_t n;
	int r;

	memset(msg, 0, sizeof(*msg));
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return negative_errno();
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t count;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (msg->nfds < VU_MAX_FDS)
				msg->fds[msg->nfds++] = fd;
			else
				close(fd);
		}
	}
	got = (size_t)n;
	if (got < sizeof(msg->hdr)) {
		r = read_full(sock, (char *)&msg->hdr + got, sizeof(msg->hdr) - got);
		if (r < 0)
			goto err;
	}
	if (mh.msg_flags & MSG_CTRUNC || msg->nfds > max_fds) {
		r = -EBADMSG;
		goto err_drain;
	}
	if (msg->hdr.size < sizeof(msg->hdr) || msg->hdr.size > max_size) {
		/* The stream cannot be resynchronised after a bad size: the caller drops the peer. */
		r = -EMSGSIZE;
		goto err;
	}
	msg->len = msg->hdr.size - sizeof(msg->hdr);
	if (msg->len) {
		msg->payload = malloc(msg->len);
		if (!msg->payload) {
			r = -ENOMEM;
			goto err;
		}
		r = read_full(sock, msg->payload, msg->len);
		if (r < 0)
			goto err;
	}
	return 0;

err_drain:
	/* Read the payload away so the stream stays in step, then report the bad message. */
	if (msg->hdr.size >= sizeof(msg->hdr) && msg->hdr.size <= max_size) {
		size_t left = msg->hdr.size - sizeof(msg->hdr);
		char sink[512];

		while (left) {
			size_t step = left < sizeof(sink) ? left : sizeof(sink);

			if (read_full(sock, sink, step) < 0)
				break;
			left -= step;
		}
	} else {
		r = -EMSGSIZE;
	}
err:
	vu_msg_release(msg);
	return r;
}
