/* SPDX-License-Identifier: MIT */
/*
 * vhost-user frontend (include/iovkit/vhost-front.h), after QEMU's docs/interop/vhost-user.rst.
 *
 * Threat model: the backend is another process and may be broken or hostile. Every answer is
 * read into a fixed-size buffer with its size checked against what the request allows; fds
 * that arrive with an answer (none should) are closed; an answer to another request, or a
 * missing REPLY flag, is a protocol error; every wait is bounded.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "iovkit/vhost-front.h"
#include "iovkit-internal/macro.h"

/* Requests, from the spec's "Front-end message types". */
enum {
	GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, SET_MEM_TABLE = 5, SET_VRING_NUM = 8,
	SET_VRING_ADDR = 9, SET_VRING_BASE = 10, GET_VRING_BASE = 11, SET_VRING_KICK = 12, SET_VRING_CALL = 13,
	GET_PROTOCOL_FEATURES = 15, SET_PROTOCOL_FEATURES = 16, SET_VRING_ENABLE = 18, GET_CONFIG = 24,
	GET_INFLIGHT_FD = 31, SET_INFLIGHT_FD = 32,
};

#define VERSION 0x1
#define FLAG_REPLY (1u << 2)
#define FLAG_NEED_REPLY (1u << 3)
#define F_PROTOCOL_FEATURES (1ULL << 30)
#define PF_MQ (1ULL << 0)
#define PF_REPLY_ACK (1ULL << 3)
#define PF_CONFIG (1ULL << 9)
#define PF_INFLIGHT IOV_VHOST_PF_INFLIGHT_SHMFD
#define F_RING_PACKED (1ULL << 34)
#define VRING_NOFD (1ULL << 8)
#define CONFIG_MAX 256
#define TIMEOUT_S 5

struct hdr {
	uint32_t request, flags, size;
} __attribute__((packed));

struct mem_region {
	uint64_t gpa, size, uaddr, mmap_offset;
};

struct vring_addr {
	uint32_t index, flags;
	uint64_t desc, used, avail, log;
};

struct vring_state {
	uint32_t index, num;
};

struct config_msg {
	uint32_t offset, size, flags;
	uint8_t data[CONFIG_MAX];
};

/* Not packed: 24 bytes, as QEMU and rte_vhost lay it out (the spec names only the fields). */
struct inflight_msg {
	uint64_t mmap_size, mmap_offset;
	uint16_t num_queues, queue_size;
};

union payload {
	uint64_t u64;
	struct vring_state state;
	struct vring_addr addr;
	struct {
		uint32_t n, padding;
		struct mem_region r[IOV_VHOST_FRONT_MAX_REGIONS];
	} mem;
	struct config_msg config;
	struct inflight_msg inflight;
};

struct vring {
	bool started;
	struct iov_vhost_vring cfg;     /* cfg.disabled: its state now */
};

struct iov_vhost_front {
	int sock;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t backend_features, features, protocol;
	bool features_set;
	struct iov_vhost_region regions[IOV_VHOST_FRONT_MAX_REGIONS];
	unsigned int n_regions;
	struct vring vrings[IOV_VHOST_FRONT_MAX_VRINGS];
	int inflight_fd;                /* the backend's inflight region, kept for the next one */
	struct inflight_msg inflight;
};

static int sock_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = TIMEOUT_S };
	_cleanup_close_ int fd = -1;

	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();
	/* Bounded waits: a backend that stops answering fails the call. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

static int send_msg(struct iov_vhost_front *f, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
		    const int *fds, unsigned int n_fds)
{
	struct hdr h = { req, VERSION | flags, size };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, size } };
	char cbuf[CMSG_SPACE(sizeof(int) * IOV_VHOST_FRONT_MAX_REGIONS)] = { 0 };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	if (n_fds) {
		struct cmsghdr *c;

		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	do
		n = sendmsg(f->sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
	return (size_t)n == sizeof(h) + size ? 0 : -EPIPE;
}

/* Reads exactly @len bytes; an fd that rides along goes to *@fd (the first; with @fd NULL,
 * or any more, they are closed: an answer carries at most one). */
static int recv_exact(int sock, void *buf, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];

	while (len) {
		struct iovec iov = { buf, len };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
		if (n == 0)
			return -ECONNRESET;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
					int got = ((int *)CMSG_DATA(c))[i];

					if (fd && *fd < 0)
						*fd = got;
					else
						close(got);
				}
		buf = (char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

/* Waits for the answer to @req: a payload of exactly @size bytes into @out; an fd with it into
 * *@fd (NULL: none expected). */
static int recv_reply_fd(struct iov_vhost_front *f, uint32_t req, void *out, uint32_t size, int *fd)
{
	union payload scratch;
	struct hdr h;
	int r = recv_exact(f->sock, &h, sizeof(h), fd);

	if (r < 0)
		return r;
	if (h.request != req || !(h.flags & FLAG_REPLY) || (h.flags & 0x3) != VERSION || h.size != size ||
	    size > sizeof(scratch))
		return -EPROTO;
	r = recv_exact(f->sock, &scratch, size, fd);
	if (r < 0)
		return r;
	memcpy(out, &scratch, size);
	return 0;
}

static int recv_reply(struct iov_vhost_front *f, uint32_t req, void *out, uint32_t size)
{
	return recv_reply_fd(f, req, out, size, NULL);
}

/* A message that has no answer of its own: with REPLY_ACK, ask for one and check it. */
static int request(struct iov_vhost_front *f, uint32_t req, const void *payload, uint32_t size, const int *fds,
		   unsigned int n_fds)
{
	bool ack = f->protocol & PF_REPLY_ACK;
	uint64_t status;
	int r = send_msg(f, req, ack ? FLAG_NEED_REPLY : 0, payload, size, fds, n_fds);

	if (r < 0 || !ack)
		return r;
	r = recv_reply(f, req, &status, sizeof(status));
	if (r < 0)
		return r;
	return status ? -EIO : 0;
}

/* A message whose answer is a u64 (GET_FEATURES, GET_PROTOCOL_FEATURES). */
static int get_u64(struct iov_vhost_front *f, uint32_t req, uint64_t *ret)
{
	int r = send_msg(f, req, 0, NULL, 0, NULL, 0);

	return r < 0 ? r : recv_reply(f, req, ret, sizeof(*ret));
}

/* Our offsets into guest memory -> the frontend's own addresses, which the protocol speaks. */
static int gpa_to_uaddr(const struct iov_vhost_front *f, uint64_t gpa, uint64_t len, uint64_t *ret)
{
	for (unsigned int i = 0; i < f->n_regions; i++) {
		const struct iov_vhost_region *r = &f->regions[i];
		if (gpa >= r->guest_phys_addr && gpa - r->guest_phys_addr <= r->size &&
		    len <= r->size - (gpa - r->guest_phys_addr)) {
			*ret = (uint64_t)(uintptr_t)r->host_addr + (gpa - r->guest_phys_addr);
			return 0;
		}
	}
	return -EFAULT;
}

static int handshake(struct iov_vhost_front *f)
{
	int r = get_u64(f, GET_FEATURES, &f->backend_features);

	f->protocol = 0;
	if (r < 0)
		return r;
	if (f->backend_features & F_PROTOCOL_FEATURES) {
		uint64_t offered, want;

		r = get_u64(f, GET_PROTOCOL_FEATURES, &offered);
		if (r < 0)
			return r;
		want = offered & (PF_REPLY_ACK | PF_MQ | PF_CONFIG | PF_INFLIGHT);
		/* SET_PROTOCOL_FEATURES itself is never acknowledged: f->protocol is still 0. */
		r = request(f, SET_PROTOCOL_FEATURES, &want, sizeof(want), NULL, 0);
		if (r < 0)
			return r;
		f->protocol = want;
	}
	return request(f, SET_OWNER, NULL, 0, NULL, 0);
}

IOV_EXPORT int iov_vhost_front_connect(const char *path, struct iov_vhost_front **ret)
{
	struct iov_vhost_front *f;
	int r;

	if (!path || strlen(path) >= sizeof(f->path))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	strcpy(f->path, path);
	f->inflight_fd = -1;
	f->sock = sock_connect(path);
	if (f->sock < 0) {
		r = f->sock;
		free(f);
		return r;
	}
	r = handshake(f);
	if (r < 0) {
		iov_vhost_front_free(f);
		return r;
	}
	*ret = f;
	return 0;
}

IOV_EXPORT void iov_vhost_front_free(struct iov_vhost_front *f)
{
	if (!f)
		return;
	closep(&f->sock);
	closep(&f->inflight_fd);
	free(f);
}

IOV_EXPORT uint64_t iov_vhost_front_backend_features(const struct iov_vhost_front *f)
{
	return f->backend_features;
}

IOV_EXPORT uint64_t iov_vhost_front_protocol_features(const struct iov_vhost_front *f)
{
	return f->protocol;
}

IOV_EXPORT int iov_vhost_front_fd(const struct iov_vhost_front *f)
{
	return f->sock;
}

IOV_EXPORT int iov_vhost_front_set_features(struct iov_vhost_front *f, uint64_t features)
{
	int r;

	if (features & ~f->backend_features)
		return -EINVAL;
	/* PROTOCOL_FEATURES is a vhost-user bit, not the device's: keep it once negotiated. */
	features |= f->backend_features & F_PROTOCOL_FEATURES;
	r = request(f, SET_FEATURES, &features, sizeof(features), NULL, 0);
	if (r == 0) {
		f->features = features;
		f->features_set = true;
	}
	return r;
}

static int send_mem_table(struct iov_vhost_front *f)
{
	union payload p = { .mem.n = f->n_regions };
	int fds[IOV_VHOST_FRONT_MAX_REGIONS];

	for (unsigned int i = 0; i < f->n_regions; i++) {
		const struct iov_vhost_region *r = &f->regions[i];
		p.mem.r[i] = (struct mem_region){ r->guest_phys_addr, r->size, (uint64_t)(uintptr_t)r->host_addr,
						  r->fd_offset };
		fds[i] = r->fd;
	}
	return request(f, SET_MEM_TABLE, &p.mem, (uint32_t)(8 + f->n_regions * sizeof(struct mem_region)), fds,
		       f->n_regions);
}

IOV_EXPORT int iov_vhost_front_set_mem_table(struct iov_vhost_front *f, const struct iov_vhost_region *r, unsigned int n)
{
	if (n < 1 || n > IOV_VHOST_FRONT_MAX_REGIONS)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if (!r[i].size || r[i].fd < 0 || r[i].guest_phys_addr + r[i].size < r[i].guest_phys_addr)
			return -EINVAL;
		for (unsigned int j = 0; j < i; j++)
			if (r[i].guest_phys_addr < r[j].guest_phys_addr + r[j].size &&
			    r[j].guest_phys_addr < r[i].guest_phys_addr + r[i].size)
				return -EINVAL;
	}
	memcpy(f->regions, r, n * sizeof(*r));
	f->n_regions = n;
	return send_mem_table(f);
}

/* The sizes of a split ring's parts (virtio 1.2 §2.7): to check they lie in guest memory. */
static void split_sizes(uint16_t num, uint64_t *desc, uint64_t *avail, uint64_t *used)
{
	*desc = 16ULL * num;
	*avail = 6 + 2ULL * num;
	*used = 6 + 8ULL * num;
}

static int vring_send(struct iov_vhost_front *f, unsigned int index, const struct iov_vhost_vring *v)
{
	struct vring_addr addr = { .index = index };
	struct vring_state st;
	uint64_t dsz, asz, usz, kick = index, call = index;
	int r;

	split_sizes(v->num, &dsz, &asz, &usz);
	if (gpa_to_uaddr(f, v->desc_gpa, dsz, &addr.desc) < 0 || gpa_to_uaddr(f, v->avail_gpa, asz, &addr.avail) < 0 ||
	    gpa_to_uaddr(f, v->used_gpa, usz, &addr.used) < 0)
		return -EFAULT;
	st = (struct vring_state){ index, v->num };
	r = request(f, SET_VRING_NUM, &st, sizeof(st), NULL, 0);
	if (r < 0)
		return r;
	st = (struct vring_state){ index, v->base };
	r = request(f, SET_VRING_BASE, &st, sizeof(st), NULL, 0);
	if (r < 0)
		return r;
	r = request(f, SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0);
	if (r < 0)
		return r;
	r = request(f, SET_VRING_KICK, &kick, sizeof(kick), &v->kick_fd, 1);
	if (r < 0)
		return r;
	if (v->call_fd < 0)
		call |= VRING_NOFD;
	r = request(f, SET_VRING_CALL, &call, sizeof(call), v->call_fd >= 0 ? &v->call_fd : NULL, v->call_fd >= 0);
	if (r < 0)
		return r;
	/* Without PROTOCOL_FEATURES a ring starts enabled; with it, it starts disabled. */
	if (f->features & F_PROTOCOL_FEATURES) {
		st = (struct vring_state){ index, !v->disabled };
		r = request(f, SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);
	}
	return r;
}

IOV_EXPORT int iov_vhost_front_vring_enable(struct iov_vhost_front *f, unsigned int index, bool enable)
{
	struct vring_state st = { index, enable };
	int r;

	if (index >= IOV_VHOST_FRONT_MAX_VRINGS || !f->vrings[index].started)
		return -EINVAL;
	if (!(f->features & F_PROTOCOL_FEATURES))
		return -EOPNOTSUPP;
	r = request(f, SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);
	if (r == 0)
		f->vrings[index].cfg.disabled = !enable;
	return r;
}

IOV_EXPORT int iov_vhost_front_vring_start(struct iov_vhost_front *f, unsigned int index, const struct iov_vhost_vring *v)
{
	int r;

	if (index >= IOV_VHOST_FRONT_MAX_VRINGS || !v->num || v->num > 32768 || (v->num & (v->num - 1)) || v->kick_fd < 0)
		return -EINVAL;
	if (!f->n_regions || !f->features_set)
		return -EBADFD;         /* features and memory table first, as the protocol orders */
	if (v->disabled && !(f->features & F_PROTOCOL_FEATURES))
		return -EOPNOTSUPP;
	r = vring_send(f, index, v);
	if (r == 0)
		f->vrings[index] = (struct vring){ .started = true, .cfg = *v };
	return r;
}

IOV_EXPORT int iov_vhost_front_vring_stop(struct iov_vhost_front *f, unsigned int index, uint16_t *ret_base)
{
	struct vring_state st = { index, 0 };
	int r;

	if (index >= IOV_VHOST_FRONT_MAX_VRINGS || !f->vrings[index].started)
		return -EINVAL;
	r = send_msg(f, GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0);
	if (r == 0)
		r = recv_reply(f, GET_VRING_BASE, &st, sizeof(st));
	if (r < 0)
		return r;
	if (st.index != index || st.num > 0xffff)
		return -EPROTO;
	f->vrings[index].started = false;
	*ret_base = (uint16_t)st.num;
	return 0;
}

IOV_EXPORT int iov_vhost_front_inflight(struct iov_vhost_front *f, uint16_t num_queues, uint16_t queue_size)
{
	struct inflight_msg m = { .num_queues = num_queues, .queue_size = queue_size };
	int fd = -1, r;

	if (!(f->protocol & PF_INFLIGHT))
		return -EOPNOTSUPP;
	if (!num_queues || !queue_size)
		return -EINVAL;
	r = send_msg(f, GET_INFLIGHT_FD, 0, &m, sizeof(m), NULL, 0);
	if (r == 0)
		r = recv_reply_fd(f, GET_INFLIGHT_FD, &m, sizeof(m), &fd);
	if (r == 0 && (fd < 0 || !m.mmap_size))
		r = -EPROTO;
	if (r < 0) {
		closep(&fd);
		return r;
	}
	closep(&f->inflight_fd);
	f->inflight_fd = fd;
	f->inflight = m;
	return request(f, SET_INFLIGHT_FD, &f->inflight, sizeof(f->inflight), &f->inflight_fd, 1);
}

IOV_EXPORT int iov_vhost_front_get_config(struct iov_vhost_front *f, uint32_t offset, void *buf, uint32_t len)
{
	struct config_msg m = { .offset = offset, .size = len };
	uint32_t size = 12 + len;
	int r;

	if (!(f->protocol & PF_CONFIG))
		return -EOPNOTSUPP;
	if (len > CONFIG_MAX)
		return -EINVAL;
	r = send_msg(f, GET_CONFIG, 0, &m, size, NULL, 0);
	if (r == 0)
		r = recv_reply(f, GET_CONFIG, &m, size);
	if (r < 0)
		return r;
	if (m.size != len || m.offset != offset)
		return -EPROTO;
	memcpy(buf, m.data, len);
	return 0;
}

/* The used index a split ring's used ring holds in guest memory. */
static int used_idx(const struct iov_vhost_front *f, const struct iov_vhost_vring *v, uint16_t *ret)
{
	uint64_t ua;
	int r = gpa_to_uaddr(f, v->used_gpa + 2, 2, &ua);

	if (r == 0)
		*ret = __atomic_load_n((uint16_t *)(uintptr_t)ua, __ATOMIC_ACQUIRE);
	return r;
}

IOV_EXPORT int iov_vhost_front_reconnect(struct iov_vhost_front *f)
{
	int sock = sock_connect(f->path), r;

	if (sock < 0)
		return sock;
	closep(&f->sock);
	f->sock = sock;
	r = handshake(f);
	if (r == 0 && f->features_set)
		r = request(f, SET_FEATURES, &f->features, sizeof(f->features), NULL, 0);
	if (r == 0 && f->n_regions)
		r = send_mem_table(f);
	/* The old backend's record of what it had in flight, for the new one to resume from. */
	if (r == 0 && f->inflight_fd >= 0 && (f->protocol & PF_INFLIGHT))
		r = request(f, SET_INFLIGHT_FD, &f->inflight, sizeof(f->inflight), &f->inflight_fd, 1);
	for (unsigned int i = 0; r == 0 && i < IOV_VHOST_FRONT_MAX_VRINGS; i++) {
		struct iov_vhost_vring v = f->vrings[i].cfg;

		if (!f->vrings[i].started)
			continue;
		/* What the old backend completed is in a split ring's used ring: resume after it. A
		 * packed ring has no used index; the backend resumes from the inflight region. */
		if (!(f->features & F_RING_PACKED))
			r = used_idx(f, &v, &v.base);
		if (r == 0)
			r = vring_send(f, i, &v);
	}
	return r;
}
