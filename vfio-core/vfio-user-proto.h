/* SPDX-License-Identifier: MIT */
/*
 * vfio-user framing, shared by the client backend and the server (QEMU docs/interop/
 * vfio-user.rst, "Header"): a 16-byte header, a payload, and file descriptors as SCM_RIGHTS
 * ancillary data on the first byte.
 *
 * Threat model: the peer is another process and may be malicious or broken. Nothing it sends
 * is trusted: sizes are checked against hard limits before anything is allocated, received
 * fds are counted and closed on any mismatch, and a malformed message fails with an error
 * without taking down the receiver.
 */
#ifndef IOVKIT_VFIO_USER_PROTO_H
#define IOVKIT_VFIO_USER_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum vu_cmd {
	VU_VERSION = 1,
	VU_DMA_MAP = 2,
	VU_DMA_UNMAP = 3,
	VU_DEVICE_GET_INFO = 4,
	VU_DEVICE_GET_REGION_INFO = 5,
	VU_DEVICE_GET_REGION_IO_FDS = 6,
	VU_DEVICE_GET_IRQ_INFO = 7,
	VU_DEVICE_SET_IRQS = 8,
	VU_REGION_READ = 9,
	VU_REGION_WRITE = 10,
	VU_DMA_READ = 11,
	VU_DMA_WRITE = 12,
	VU_DEVICE_RESET = 13,
	VU_CMD_MAX = 19,
};

#define VU_MAJOR 0
#define VU_MINOR 1

/* Flags: bits 0-3 type, bit 4 no reply, bit 5 error. */
#define VU_TYPE_COMMAND 0x0u
#define VU_TYPE_REPLY 0x1u
#define VU_TYPE_MASK 0xfu
#define VU_F_NO_REPLY (1u << 4)
#define VU_F_ERROR (1u << 5)

/* Hard limits on what a peer may send. */
#define VU_MAX_MSG (1u << 20)          /* a whole message, header included */
#define VU_MAX_DATA_XFER (1u << 16)    /* data in one REGION/DMA read or write */
#define VU_MAX_FDS 16                  /* fds in one message */

struct vu_hdr {
	uint16_t id;
	uint16_t cmd;
	uint32_t size;                 /* whole message, header included */
	uint32_t flags;
	uint32_t error;
};

struct vu_msg {
	struct vu_hdr hdr;
	uint8_t *payload;              /* hdr.size - 16 bytes, malloc'd (NULL when empty) */
	size_t len;
	int fds[VU_MAX_FDS];
	unsigned int nfds;
};

/*
 * Sends one message: header (with size filled in), @len payload bytes, @nfds fds.
 * Returns 0 or -errno (-EPIPE when the peer is gone).
 */
int vu_send(int sock, struct vu_hdr *hdr, const void *payload, size_t len, const int *fds, unsigned int nfds);

/*
 * Receives one whole message. Refuses (closing any fds that came with it) a size below 16 or
 * above @max_size (-EMSGSIZE), more than @max_fds fds or truncated ancillary data (-EBADMSG).
 * Returns 0, -ECONNRESET when the peer closed the connection, or -errno. The caller releases
 * the message with vu_msg_release() (which closes fds it did not take).
 */
int vu_recv(int sock, struct vu_msg *msg, size_t max_size, unsigned int max_fds);

/* Frees the payload and closes the fds still in @msg (set an entry to -1 to keep it). */
void vu_msg_release(struct vu_msg *msg);

/* "VFIO_USER_REGION_READ" for logs and errors; "unknown" otherwise. */
const char *vu_cmd_name(unsigned int cmd);

#endif
