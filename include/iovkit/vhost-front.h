/* SPDX-License-Identifier: MIT */
/*
 * The frontend side of the vhost-user protocol (QEMU's docs/interop/vhost-user.rst): what a
 * VMM does to hand a virtio device's rings to a backend process. No DPDK.
 *
 * The VMM owns guest memory (memfd regions it passes by fd) and the rings inside it (the
 * guest's driver fills them); this library tells the backend where they are, with which
 * eventfds, and asks for the rings back. It remembers what it told the backend, so after the
 * backend restarts iov_vhost_front_reconnect() tells a new one the same, resuming each ring
 * at the used index found in guest memory.
 *
 * Messages go one at a time, the caller's thread waits for each answer (at most 5 s: a hung
 * backend fails the call with -ETIMEDOUT rather than hanging the VMM). With REPLY_ACK
 * negotiated (the library asks for it) every message is acknowledged, so a backend's refusal
 * surfaces as -EIO on the call that caused it.
 *
 * Fds passed in (memory regions, kick and call eventfds) stay the caller's: it keeps them
 * open while the frontend may need them (a reconnect sends them again).
 */
#ifndef IOVKIT_VHOST_FRONT_H
#define IOVKIT_VHOST_FRONT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOV_VHOST_FRONT_MAX_REGIONS 8   /* the protocol's limit for SET_MEM_TABLE */
#define IOV_VHOST_FRONT_MAX_VRINGS 16

struct iov_vhost_front;

struct iov_vhost_region {
	uint64_t guest_phys_addr;
	uint64_t size;
	void *host_addr;        /* where the VMM maps it */
	int fd;                 /* shareable memory (memfd, hugetlbfs) */
	uint64_t fd_offset;     /* of guest_phys_addr in fd */
};

struct iov_vhost_vring {
	uint16_t num;                   /* entries, a power of two up to 32768 */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t base;                  /* the next available index the backend should process */
	int kick_fd;                    /* eventfd the guest's notifications arrive on */
	int call_fd;                    /* eventfd the backend signals used buffers on, or -1 */
	bool disabled;                  /* start it disabled (SET_VRING_ENABLE 0): a queue pair
					 * beyond those a virtio-net driver asked for */
};

/*
 * Connects to the backend listening at @path and negotiates the protocol: GET_FEATURES,
 * protocol features (REPLY_ACK, MQ, CONFIG where offered), SET_OWNER. Returns 0, or
 * -ENOENT/-ECONNREFUSED (nobody there), -EPROTO (the backend answered nonsense), -ETIMEDOUT.
 */
int iov_vhost_front_connect(const char *path, struct iov_vhost_front **ret);

/* Closes the connection (the backend stops the device) and frees @f. Accepts NULL. */
void iov_vhost_front_free(struct iov_vhost_front *f);

/* The virtio features the backend offers (GET_FEATURES). */
uint64_t iov_vhost_front_backend_features(const struct iov_vhost_front *f);

/* The protocol features both sides use. */
uint64_t iov_vhost_front_protocol_features(const struct iov_vhost_front *f);

/* Sets the device's features: @features must be a subset of the backend's (-EINVAL). */
int iov_vhost_front_set_features(struct iov_vhost_front *f, uint64_t features);

/* Tells the backend the guest's memory: 1..8 regions, not overlapping. */
int iov_vhost_front_set_mem_table(struct iov_vhost_front *f, const struct iov_vhost_region *r, unsigned int n);

/*
 * Starts ring @index: its size, base, addresses (guest-physical, inside the memory table:
 * -EFAULT otherwise), kick and call fds, then enables it (unless @v->disabled). Needs the
 * memory table first. A ring that is to start disabled needs PROTOCOL_FEATURES negotiated
 * (without it, rings start enabled): -EOPNOTSUPP.
 */
int iov_vhost_front_vring_start(struct iov_vhost_front *f, unsigned int index, const struct iov_vhost_vring *v);

/* Enables or disables started ring @index (SET_VRING_ENABLE; needs PROTOCOL_FEATURES:
 * -EOPNOTSUPP). A reconnect replays the last state. */
int iov_vhost_front_vring_enable(struct iov_vhost_front *f, unsigned int index, bool enable);

/*
 * The inflight region (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD, where the backend offers it):
 * asks the backend for a shared region in which it records the requests it is processing, for
 * @num_queues rings of @queue_size (GET_INFLIGHT_FD), and hands it back (SET_INFLIGHT_FD). This
 * process keeps it: a reconnect hands it to the new backend, which resumes from it where
 * guest memory does not say where to (a packed ring: no used index). Call after the features
 * and the memory table, before the rings; again after the device is reset, for a fresh one.
 * -EOPNOTSUPP where the backend does not offer it.
 */
#define IOV_VHOST_PF_INFLIGHT_SHMFD (1ULL << 12)
int iov_vhost_front_inflight(struct iov_vhost_front *f, uint16_t num_queues, uint16_t queue_size);

/* Stops ring @index (GET_VRING_BASE); *@ret_base gets where the backend stopped. */
int iov_vhost_front_vring_stop(struct iov_vhost_front *f, unsigned int index, uint16_t *ret_base);

/* Reads @len bytes of the device's configuration space at @offset (needs CONFIG). */
int iov_vhost_front_get_config(struct iov_vhost_front *f, uint32_t offset, void *buf, uint32_t len);

/*
 * After the backend went away: connects to the same path again and replays the features, the
 * memory table, the inflight region, and every started ring — a split ring from the used index
 * in guest memory (what the backend had completed), a packed one from the base it was started
 * with (the backend's inflight region knows better) — enabled or disabled as it was. -ECONNREFUSED while no backend is back yet.
 */
int iov_vhost_front_reconnect(struct iov_vhost_front *f);

/* The connection's socket, to poll for POLLHUP (the backend went away). */
int iov_vhost_front_fd(const struct iov_vhost_front *f);

#ifdef __cplusplus
}
#endif
#endif
