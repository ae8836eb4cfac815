/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user frontend against a scripted fake backend on a Unix socket: the messages it
 * sends, in the protocol's order and layout, and what it does with a backend that answers the
 * wrong request, the wrong size, with fds, refuses, or hangs up. (tests/switch/frontend.sh runs
 * it against rte_vhost.)
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../helpers/unit.h"
#include "iovkit/vhost-front.h"

struct hdr {
	uint32_t request, flags, size;
};

/* One message as the fake backend received it. */
struct msg {
	struct hdr h;
	uint8_t payload[512];
	int n_fds;
};

enum misbehave { GOOD, WRONG_REQUEST, WRONG_SIZE, NACK_OWNER, HANG_UP, WITH_FDS };

struct backend {
	char path[108];
	int lfd, fd;
	enum misbehave how;
	struct msg log[64];
	int n_log;
	pthread_t th;
};

static int recv_msg(int fd, struct msg *m)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { &m->h, sizeof(m->h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(fd, &mh, 0);

	if (n != sizeof(m->h) || m->h.size > sizeof(m->payload))
		return -1;
	m->n_fds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++)
			close(((int *)CMSG_DATA(c))[i]);
		m->n_fds += k;
	}
	return m->h.size && recv(fd, m->payload, m->h.size, MSG_WAITALL) != (ssize_t)m->h.size ? -1 : 0;
}

/* An answer to @req, with @fd riding along where it is not -1. */
static void reply_fd(struct backend *b, uint32_t req, const void *p, uint32_t size, int fd)
{
	struct hdr h = { req, 0x1 | 0x4, size };
	char buf[sizeof(h) + 512];

	if (b->how == WRONG_REQUEST)
		h.request = req + 1;
	if (b->how == WRONG_SIZE)
		h.size = size + 4;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p, size);
	if (fd >= 0) {
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
		struct iovec iov = { buf, sizeof(h) + size };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		if (sendmsg(b->fd, &mh, 0) < 0)
			abort();
		return;
	}
	if (send(b->fd, buf, sizeof(h) + h.size - (b->how == WRONG_SIZE ? 4 : 0), MSG_NOSIGNAL) < 0)
		return;
}

static void reply(struct backend *b, uint32_t req, const void *p, uint32_t size)
{
	int efd = b->how == WITH_FDS ? eventfd(0, 0) : -1;

	reply_fd(b, req, p, size, efd);
	if (efd >= 0)
		close(efd);
}

/* Serves one connection: features VERSION_1 | PROTOCOL_FEATURES, protocol REPLY_ACK | CONFIG |
 * INFLIGHT_SHMFD. */
static void *serve(void *arg)
{
	struct backend *b = arg;
	const uint64_t features = 1ULL << 32 | 1ULL << 30, protocol = 1ULL << 3 | 1ULL << 9 | 1ULL << 12;

	b->fd = accept(b->lfd, NULL, NULL);
	while (b->fd >= 0 && b->n_log < 64) {
		struct msg *m = &b->log[b->n_log];
		uint64_t ack = 0;

		if (recv_msg(b->fd, m) < 0)
			break;
		b->n_log++;
		if (b->how == HANG_UP)
			break;
		switch (m->h.request) {
		case 1: reply(b, 1, &features, 8); break;
		case 15: reply(b, 15, &protocol, 8); break;
		case 11: reply(b, 11, (uint32_t[]){ *(uint32_t *)m->payload, 77 }, 8); break;
		case 31: {     /* GET_INFLIGHT_FD: a 4 KiB region for the rings asked for */
			uint8_t region[24];
			int mfd = memfd_create("inflight", MFD_CLOEXEC);

			memcpy(region, m->payload, sizeof(region));
			memcpy(region, &(uint64_t){ 4096 }, 8);
			if (mfd < 0 || ftruncate(mfd, 4096) < 0)
				abort();
			reply_fd(b, 31, region, sizeof(region), mfd);
			close(mfd);
			break;
		}
		case 24: {
			uint8_t cfg[12 + 8] = { 0 };
			memcpy(cfg, m->payload, 12);
			memcpy(cfg + 12, "\x00\x10\x00\x00\x00\x00\x00\x00", 8);  /* capacity 4096 sectors */
			reply(b, 24, cfg, sizeof(cfg));
			break;
		}
		default:
			if (m->h.flags & 0x8) {
				ack = b->how == NACK_OWNER && m->h.request == 3;
				reply(b, m->h.request, &ack, 8);
			}
		}
	}
	if (b->fd >= 0)
		close(b->fd);
	return NULL;
}

static void backend_start(struct backend *b, enum misbehave how)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *tmp = getenv("TMPDIR");

	memset(b, 0, sizeof(*b));
	b->how = how;
	snprintf(b->path, sizeof(b->path), "%s/vhost-front-%d.sock", tmp ? tmp : "/tmp", (int)getpid());
	unlink(b->path);
	strcpy(sa.sun_path, b->path);
	b->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_OK(bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_OK(listen(b->lfd, 1));
	ASSERT_INT_EQ(pthread_create(&b->th, NULL, serve, b), 0);
}

static void backend_stop(struct backend *b)
{
	pthread_join(b->th, NULL);
	close(b->lfd);
	unlink(b->path);
}

static const struct msg *nth(const struct backend *b, int i)
{
	return i < b->n_log ? &b->log[i] : NULL;
}

/* 1 MiB of guest memory in a memfd (*@memfd, *@mem), a good fake backend, a frontend on it. */
static struct iov_vhost_front *connected(struct backend *b, int *memfd, uint8_t **mem)
{
	struct iov_vhost_front *f = NULL;

	*memfd = memfd_create("t", MFD_CLOEXEC);
	ASSERT_OK(ftruncate(*memfd, 1 << 20));
	*mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, *memfd, 0);
	backend_start(b, GOOD);
	ASSERT_OK(iov_vhost_front_connect(b->path, &f));
	return f;
}

static void test_negotiation_and_rings(void)
{
	struct backend b;
	int fds = unit_open_fds(), memfd, kick = eventfd(0, EFD_CLOEXEC);
	uint8_t *mem;
	struct iov_vhost_front *f = connected(&b, &memfd, &mem);
	uint16_t base = 0;
	uint8_t cap[8];

	if (!f)
		return;
	ASSERT_TRUE(iov_vhost_front_backend_features(f) == (1ULL << 32 | 1ULL << 30));
	ASSERT_TRUE(iov_vhost_front_protocol_features(f) == (1ULL << 3 | 1ULL << 9 | 1ULL << 12));
	ASSERT_ERR(iov_vhost_front_set_features(f, 1ULL << 15), EINVAL);   /* not offered */
	ASSERT_OK(iov_vhost_front_set_features(f, 1ULL << 32));

	struct iov_vhost_region r = { .guest_phys_addr = 0x100000, .size = 1 << 20, .host_addr = mem, .fd = memfd };
	struct iov_vhost_region overlap[2] = { r, r };
	ASSERT_ERR(iov_vhost_front_set_mem_table(f, overlap, 2), EINVAL);
	struct iov_vhost_vring v = { .num = 256, .desc_gpa = 0x100000, .avail_gpa = 0x101000, .used_gpa = 0x102000,
				     .base = 5, .kick_fd = kick, .call_fd = -1 };
	ASSERT_ERR(iov_vhost_front_vring_start(f, 0, &v), EBADFD);         /* memory table first */
	ASSERT_OK(iov_vhost_front_set_mem_table(f, &r, 1));
	struct iov_vhost_vring bad = v;
	bad.used_gpa = 0x1fff00;        /* its 2054 bytes run past the region */
	int before = b.n_log;
	ASSERT_ERR(iov_vhost_front_vring_start(f, 0, &bad), EFAULT);
	bad = v;
	bad.num = 100;
	ASSERT_ERR(iov_vhost_front_vring_start(f, 0, &bad), EINVAL);
	ASSERT_OK(iov_vhost_front_vring_start(f, 0, &v));
	ASSERT_OK(iov_vhost_front_get_config(f, 0, cap, sizeof(cap)));
	ASSERT_INT_EQ(cap[1], 0x10);
	ASSERT_OK(iov_vhost_front_vring_stop(f, 0, &base));
	ASSERT_INT_EQ(base, 77);
	ASSERT_ERR(iov_vhost_front_vring_stop(f, 0, &base), EINVAL);       /* already stopped */
	iov_vhost_front_free(f);
	backend_stop(&b);

	/* What went over the wire, in order. */
	static const uint32_t order[] = { 1, 15, 16, 3, 2, 5, 8, 10, 9, 12, 13, 18, 24, 11 };
	ASSERT_INT_EQ(b.n_log, (int)(sizeof(order) / sizeof(order[0])));
	for (int i = 0; i < b.n_log && i < (int)(sizeof(order) / sizeof(order[0])); i++)
		unit_check(b.log[i].h.request == order[i], __LINE__, __FILE__, "message %d is %u, expected %u", i,
			   b.log[i].h.request, order[i]);
	ASSERT_INT_EQ(nth(&b, 2)->h.flags & 0x8, 0);          /* SET_PROTOCOL_FEATURES: not acked */
	ASSERT_INT_EQ(nth(&b, 3)->h.flags & 0x8, 0x8);        /* SET_OWNER: REPLY_ACK in use */
	uint64_t feat;
	memcpy(&feat, nth(&b, 4)->payload, 8);
	ASSERT_TRUE(feat == (1ULL << 32 | 1ULL << 30));       /* PROTOCOL_FEATURES kept */
	ASSERT_INT_EQ(nth(&b, 5)->h.size, 8 + 32);            /* one region */
	ASSERT_INT_EQ(nth(&b, 5)->n_fds, 1);
	uint64_t uaddr;
	memcpy(&uaddr, nth(&b, 5)->payload + 8 + 16, 8);
	ASSERT_TRUE(uaddr == (uint64_t)(uintptr_t)mem);
	ASSERT_INT_EQ(*(uint32_t *)(nth(&b, 7)->payload + 4), 5);     /* SET_VRING_BASE */
	uint64_t desc, used, avail;
	memcpy(&desc, nth(&b, 8)->payload + 8, 8);
	memcpy(&used, nth(&b, 8)->payload + 16, 8);
	memcpy(&avail, nth(&b, 8)->payload + 24, 8);
	ASSERT_TRUE(desc == (uint64_t)(uintptr_t)mem && avail == desc + 0x1000 && used == desc + 0x2000);
	ASSERT_INT_EQ(nth(&b, 9)->n_fds, 1);                  /* kick */
	uint64_t call;
	memcpy(&call, nth(&b, 10)->payload, 8);
	ASSERT_TRUE(call == (1ULL << 8));                     /* no call fd: the NOFD flag */
	ASSERT_INT_EQ(nth(&b, 10)->n_fds, 0);
	ASSERT_TRUE(before == 6);                             /* the refused ring sent nothing */
	munmap(mem, 1 << 20);
	close(memfd);
	close(kick);
	ASSERT_INT_EQ(unit_open_fds(), fds);
}

/* The last message the fake backend got with request @req: its vring_state {index, num}. */
static void last_state(const struct backend *b, uint32_t req, uint32_t *index, uint32_t *num)
{
	*index = *num = 0xffffffffu;
	for (int i = 0; i < b->n_log; i++)
		if (b->log[i].h.request == req) {
			memcpy(index, b->log[i].payload, 4);
			memcpy(num, b->log[i].payload + 4, 4);
		}
}

/* A ring started disabled, then enabled and disabled again (a virtio-net queue pair). */
static void test_ring_enable(void)
{
	struct backend b;
	int memfd, kick = eventfd(0, EFD_CLOEXEC);
	uint32_t index, num;
	uint8_t *mem, cfg[8];
	struct iov_vhost_front *f = connected(&b, &memfd, &mem);

	if (!f)
		return;
	ASSERT_OK(iov_vhost_front_set_features(f, 1ULL << 32));
	struct iov_vhost_region r = { .guest_phys_addr = 0, .size = 1 << 20, .host_addr = mem, .fd = memfd };
	ASSERT_OK(iov_vhost_front_set_mem_table(f, &r, 1));
	struct iov_vhost_vring v = { .num = 256, .desc_gpa = 0, .avail_gpa = 0x1000, .used_gpa = 0x2000,
				     .kick_fd = kick, .call_fd = -1, .disabled = true };
	ASSERT_ERR(iov_vhost_front_vring_enable(f, 3, true), EINVAL);     /* not started */
	ASSERT_OK(iov_vhost_front_vring_start(f, 3, &v));
	ASSERT_OK(iov_vhost_front_get_config(f, 0, cfg, sizeof(cfg)));             /* a round trip: all seen */
	last_state(&b, 18, &index, &num);
	ASSERT_INT_EQ(index, 3);
	ASSERT_INT_EQ(num, 0);
	ASSERT_OK(iov_vhost_front_vring_enable(f, 3, true));
	ASSERT_OK(iov_vhost_front_get_config(f, 0, cfg, sizeof(cfg)));
	last_state(&b, 18, &index, &num);
	ASSERT_INT_EQ(num, 1);
	ASSERT_OK(iov_vhost_front_vring_enable(f, 3, false));
	ASSERT_OK(iov_vhost_front_get_config(f, 0, cfg, sizeof(cfg)));
	last_state(&b, 18, &index, &num);
	ASSERT_INT_EQ(num, 0);
	iov_vhost_front_free(f);
	backend_stop(&b);
	munmap(mem, 1 << 20);
	close(memfd);
	close(kick);
}

/* The inflight region: asked for with the rings' count and size, handed back with its fd. */
static void test_inflight(void)
{
	struct backend b;
	int memfd;
	uint8_t *mem;
	struct iov_vhost_front *f = connected(&b, &memfd, &mem);
	uint64_t size;
	uint16_t nq, qs;
	int get = -1, set = -1;

	if (!f)
		return;
	ASSERT_OK(iov_vhost_front_set_features(f, 1ULL << 32));
	struct iov_vhost_region r = { .guest_phys_addr = 0, .size = 1 << 20, .host_addr = mem, .fd = memfd };
	ASSERT_OK(iov_vhost_front_set_mem_table(f, &r, 1));
	ASSERT_ERR(iov_vhost_front_inflight(f, 0, 256), EINVAL);
	ASSERT_OK(iov_vhost_front_inflight(f, 2, 128));
	iov_vhost_front_free(f);
	backend_stop(&b);
	for (int i = 0; i < b.n_log; i++) {
		if (b.log[i].h.request == 31)
			get = i;
		if (b.log[i].h.request == 32)
			set = i;
	}
	ASSERT_TRUE(get >= 0 && set == get + 1);
	if (get < 0 || set < 0)
		return;
	memcpy(&nq, b.log[get].payload + 16, 2);
	memcpy(&qs, b.log[get].payload + 18, 2);
	ASSERT_INT_EQ(nq, 2);
	ASSERT_INT_EQ(qs, 128);
	ASSERT_INT_EQ(b.log[get].n_fds, 0);
	memcpy(&size, b.log[set].payload, 8);
	ASSERT_TRUE(size == 4096);                      /* the backend's answer, handed back */
	ASSERT_INT_EQ(b.log[set].h.size, 24);
	ASSERT_INT_EQ(b.log[set].n_fds, 1);             /* with the region's fd */
	munmap(mem, 1 << 20);
	close(memfd);
}

static void test_misbehaving_backends(void)
{
	static const struct {
		enum misbehave how;
		int err;
	} cases[] = {
		{ WRONG_REQUEST, EPROTO }, { WRONG_SIZE, EPROTO }, { NACK_OWNER, EIO }, { HANG_UP, ECONNRESET },
	};
	int fds = unit_open_fds();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct backend b;
		struct iov_vhost_front *f = NULL;

		backend_start(&b, cases[i].how);
		ASSERT_ERR(iov_vhost_front_connect(b.path, &f), cases[i].err);
		ASSERT_TRUE(f == NULL);
		backend_stop(&b);
	}
	/* An answer that carries fds: they are closed, the answer is still read. */
	{
		struct backend b;
		struct iov_vhost_front *f = NULL;

		backend_start(&b, WITH_FDS);
		ASSERT_OK(iov_vhost_front_connect(b.path, &f));
		iov_vhost_front_free(f);
		backend_stop(&b);
	}
	ASSERT_INT_EQ(unit_open_fds(), fds);
	/* Nobody listening. */
	struct iov_vhost_front *f = NULL;
	ASSERT_ERR(iov_vhost_front_connect("/nonexistent/vhost.sock", &f), ENOENT);
}

UNIT_MAIN("vhost-user/front",
	  UNIT_TEST(test_negotiation_and_rings),
	  UNIT_TEST(test_ring_enable),
	  UNIT_TEST(test_inflight),
	  UNIT_TEST(test_misbehaving_backends))
