/* SPDX-License-Identifier: MIT */
/*
 * What vfio-core can show without a kernel VFIO: clear errors when there is none, or only
 * iommufd. Opening devices, DMA and interrupts are proven in the lab (tests/lab/progs/vfio-edu.c).
 */
#include "../helpers/unit.h"
#include "iovkit/vfio.h"

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

UNIT_MAIN("vfio-core/container",
	  UNIT_TEST(test_no_vfio),
	  UNIT_TEST(test_not_a_vfio_node))
