/* SPDX-License-Identifier: MIT */
/*
 * The container without a kernel VFIO: clear errors when there is none, or only iommufd; and
 * its DMA table and IOVA allocation over a fake backend (the ops-table seam): many mappings in
 * random order, overlap detection at every edge, exact-match unmaps, the allocator around what
 * is mapped, and teardown that unmaps everything left. Opening devices, DMA and interrupts
 * against the real kernel are proven in the lab (tests/progs/vfio-edu.c).
 */
#include <stdlib.h>

#include "../helpers/unit.h"
#include "../../../vfio-core/vfio-internal.h"

static void test_no_vfio(void)
{
	struct fixture *fx = fx_new();
	struct iov_vfio_container *c = (struct iov_vfio_container *)0x1;
	struct iov_ctx *ctx = NULL;

	ASSERT_OK(iov_ctx_new(fx->root, &ctx));
	ASSERT_ERR(iov_vfio_container_new(ctx, &c), ENOENT);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "is the vfio module loaded") != NULL);
	ASSERT_TRUE(c == (struct iov_vfio_container *)0x1);

	fx_write(fx, "dev/iommu", "%s", "");
	ASSERT_ERR(iov_vfio_container_new(ctx, &c), EOPNOTSUPP);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "only iommufd") != NULL);
	iov_ctx_free(ctx);
	fx_free(fx);
}

static void test_not_a_vfio_node(void)
{
	struct fixture *fx = fx_new();
	struct iov_vfio_container *c = NULL;
	struct iov_ctx *ctx = NULL;

	/* A plain file where the node should be: the API-version ioctl fails, and says which. */
	fx_write(fx, "dev/vfio/vfio", "%s", "");
	ASSERT_OK(iov_ctx_new(fx->root, &ctx));
	ASSERT_ERR(iov_vfio_container_new(ctx, &c), ENOTTY);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "VFIO_GET_API_VERSION") != NULL);
	iov_vfio_container_free(NULL);
	iov_ctx_free(ctx);
	fx_free(fx);
}

static size_t backend_live;       /* what the fake "kernel" has mapped */
static int fail_next_map;

static int fake_map(struct iov_vfio_container *c, uint64_t vaddr, uint64_t len, uint64_t iova, int prot, int fd,
		    uint64_t off)
{
	if (fail_next_map) {
		fail_next_map = 0;
		return -ENOMEM;
	}
	backend_live++;
	return 0;
}

static int fake_unmap(struct iov_vfio_container *c, uint64_t iova, uint64_t len)
{
	backend_live--;
	return 0;
}

static void fake_free(struct iov_vfio_container *c)
{
}

static const struct vfio_backend fake = {
	.name = "fake", .dma_map = fake_map, .dma_unmap = fake_unmap, .container_free = fake_free,
};

static struct iov_vfio_container *new_container(struct iov_ctx **ctx)
{
	struct iov_vfio_container *c;

	ASSERT_OK(iov_ctx_new(NULL, ctx));
	c = container_alloc(*ctx, &fake);
	c->model = 1;
	c->info.pgsizes = 4096;
	c->info.n_ranges = 2;
	c->info.ranges[0] = (struct iov_iova_range){ 0, 0xfedfffff };
	c->info.ranges[1] = (struct iov_iova_range){ 0xfef00000, 0xffffffffff };
	c->info.dma_avail = -1;
	return c;
}

static void test_many_mappings_any_order(void)
{
	enum { N = 20000 };
	static unsigned int order[N];
	static uint8_t page[4096] __attribute__((aligned(4096)));
	struct iov_ctx *ctx;
	struct iov_vfio_container *c = new_container(&ctx);

	backend_live = 0;
	for (unsigned int i = 0; i < N; i++)
		order[i] = i;
	srand(7);
	for (unsigned int i = N - 1; i > 0; i--) {
		unsigned int j = (unsigned int)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	/* Every other page, in random order: the gaps stay free. */
	for (unsigned int i = 0; i < N; i++)
		if (iov_vfio_dma_map(c, page, 4096, (uint64_t)order[i] * 8192, IOV_DMA_READ) < 0)
			unit_check(false, __LINE__, __FILE__, "map %u failed: %s", order[i], iov_ctx_reason(ctx));
	ASSERT_INT_EQ(iov_vfio_dma_count(c), N);
	ASSERT_INT_EQ(backend_live, N);

	/* Overlaps at every edge are refused; the gaps are free. */
	ASSERT_ERR(iov_vfio_dma_map(c, page, 4096, 8192 * 500, IOV_DMA_READ), EEXIST);
	ASSERT_ERR(iov_vfio_dma_map(c, page, 8192, 8192 * 500 - 4096, IOV_DMA_READ), EEXIST);
	ASSERT_ERR(iov_vfio_dma_map(c, page, 3 * 4096, 8192 * 500 - 4096 * 1, IOV_DMA_READ), EEXIST);
	ASSERT_OK(iov_vfio_dma_map(c, page, 4096, 8192 * 500 + 4096, IOV_DMA_READ));
	ASSERT_OK(iov_vfio_dma_unmap(c, 8192 * 500 + 4096, 4096));

	/* Unmaps must match exactly. */
	ASSERT_ERR(iov_vfio_dma_unmap(c, 8192 * 10, 8192), ENOENT);
	ASSERT_ERR(iov_vfio_dma_unmap(c, 8192 * 10 + 4096, 4096), ENOENT);
	ASSERT_ERR(iov_vfio_dma_unmap(c, 8192 * 10, 0), ENOENT);

	/* The allocator fills the first gap, then skips what is taken. */
	{
		uint64_t at = 0;

		ASSERT_OK(iov_vfio_iova_alloc(c, 4096, 0, &at));
		ASSERT_INT_EQ(at, 4096);
		ASSERT_OK(iov_vfio_iova_alloc(c, 8192, 0, &at));
		ASSERT_INT_EQ(at, (uint64_t)N * 8192 - 4096);   /* past the last mapping's page */
	}

	/* Half of them unmapped in random order; the rest go at teardown. */
	for (unsigned int i = 0; i < N / 2; i++)
		if (iov_vfio_dma_unmap(c, (uint64_t)order[i] * 8192, 4096) < 0)
			unit_check(false, __LINE__, __FILE__, "unmap %u failed: %s", order[i], iov_ctx_reason(ctx));
	ASSERT_INT_EQ(iov_vfio_dma_count(c), N / 2);
	ASSERT_ERR(iov_vfio_dma_unmap(c, (uint64_t)order[0] * 8192, 4096), ENOENT);
	iov_vfio_container_free(c);
	ASSERT_INT_EQ(backend_live, 0);
	iov_ctx_free(ctx);
}

static void test_failed_map_changes_nothing(void)
{
	static uint8_t page[4096] __attribute__((aligned(4096)));
	struct iov_ctx *ctx;
	struct iov_vfio_container *c = new_container(&ctx);

	backend_live = 0;
	fail_next_map = 1;
	ASSERT_ERR(iov_vfio_dma_map(c, page, 4096, 0x10000, IOV_DMA_READ), ENOMEM);
	ASSERT_INT_EQ(iov_vfio_dma_count(c), 0);
	ASSERT_OK(iov_vfio_dma_map(c, page, 4096, 0x10000, IOV_DMA_READ));   /* the range is still free */
	ASSERT_ERR(iov_vfio_dma_map(c, page, 4096, 0xfee00000, IOV_DMA_READ), EINVAL);   /* in the hole */
	ASSERT_ERR(iov_vfio_dma_map(c, page, 4096, 0x10000, 0), EINVAL);                 /* no permission */
	ASSERT_INT_EQ(iov_vfio_dma_count(c), 1);
	iov_vfio_container_free(c);
	ASSERT_INT_EQ(backend_live, 0);
	iov_ctx_free(ctx);
}

UNIT_MAIN("vfio-core/container",
	  UNIT_TEST(test_no_vfio),
	  UNIT_TEST(test_not_a_vfio_node),
	  UNIT_TEST(test_many_mappings_any_order),
	  UNIT_TEST(test_failed_map_changes_nothing))
