/* SPDX-License-Identifier: MIT */
/* RDMA devices matched to PCI functions, on the standard fixture host. */
#include <stdlib.h>

#include "../helpers/unit.h"
#include "iovkit/sriov.h"

static void test_hardware_and_soft(void)
{
	struct fixture *fx = fx_new();
	struct iov_rdma_dev *devs = NULL;
	struct iov_ctx *ctx = NULL;

	fx_standard_host(fx);
	/* An InfiniBand HCA on the PF itself, the way mlx5 appears. */
	fx_write(fx, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/infiniband/mlx5_0/node_guid", "0002:c903:0010:aabb\n");
	fx_write(fx, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/infiniband/mlx5_0/ports/1/link_layer", "InfiniBand\n");
	fx_write(fx, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/infiniband/mlx5_0/ports/1/state", "4: ACTIVE\n");
	fx_symlink(fx, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/infiniband/mlx5_0/device", "../../../0000:01:00.0");
	fx_symlink(fx, "sys/class/infiniband/mlx5_0", "../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/infiniband/mlx5_0");
	/* Soft-RoCE on the VF's interface, the way rdma_rxe appears (no device link). */
	fx_write(fx, "sys/devices/virtual/infiniband/rxe0/node_guid", "5054:00ff:fe10:0001\n");
	fx_write(fx, "sys/devices/virtual/infiniband/rxe0/parent", "enp1s0v0\n");
	fx_write(fx, "sys/devices/virtual/infiniband/rxe0/ports/1/link_layer", "Ethernet\n");
	fx_write(fx, "sys/devices/virtual/infiniband/rxe0/ports/1/state", "1: DOWN\n");
	fx_symlink(fx, "sys/class/infiniband/rxe0", "../../devices/virtual/infiniband/rxe0");
	fx_symlink(fx, "sys/class/net/enp1s0v0", "../../devices/pci0000:00/0000:00:01.0/0000:01:02.0/net/enp1s0v0");
	fx_symlink(fx, "sys/devices/pci0000:00/0000:00:01.0/0000:01:02.0/net/enp1s0v0/device", "../../../0000:01:02.0");

	ASSERT_OK(iov_ctx_new(fx->root, &ctx));
	ASSERT_INT_EQ(iov_rdma_list(ctx, &devs), 2);
	if (devs) {
		ASSERT_STR_EQ(devs[0].name, "mlx5_0");
		ASSERT_STR_EQ(devs[0].bdf, "0000:01:00.0");
		ASSERT_STR_EQ(devs[0].netdev, "enp1s0f0");
		ASSERT_FALSE(devs[0].soft);
		ASSERT_INT_EQ(devs[0].node_guid, 0x0002c9030010aabbull);
		ASSERT_STR_EQ(devs[0].link_layer, "InfiniBand");
		ASSERT_STR_EQ(devs[0].state, "ACTIVE");
		ASSERT_INT_EQ(devs[0].ports, 1);
		ASSERT_STR_EQ(devs[1].name, "rxe0");
		ASSERT_TRUE(devs[1].soft);
		ASSERT_STR_EQ(devs[1].netdev, "enp1s0v0");
		ASSERT_STR_EQ(devs[1].bdf, "0000:01:02.0");
		ASSERT_INT_EQ(devs[1].node_guid, 0x505400fffe100001ull);
		ASSERT_STR_EQ(devs[1].state, "DOWN");
	}
	free(devs);
	iov_ctx_free(ctx);
	fx_free(fx);

	/* No RDMA at all is an empty list, not an error. */
	fx = fx_new();
	ASSERT_OK(iov_ctx_new(fx->root, &ctx));
	devs = NULL;
	ASSERT_INT_EQ(iov_rdma_list(ctx, &devs), 0);
	free(devs);
	iov_ctx_free(ctx);
	fx_free(fx);
}

UNIT_MAIN("sriov-mgr/rdma", UNIT_TEST(test_hardware_and_soft))
