/* SPDX-License-Identifier: MIT */
/* IOMMU groups on the standard fixture host: viability, sharing reasons, reserved regions. */
#include <stdlib.h>
#include <unistd.h>

#include "../helpers/unit.h"
#include "iovkit/iommu.h"

static struct fixture *fx;
static struct iov_ctx *ctx;
static struct iov_pci_inventory *inv;

static void setup(void)
{
	fx = fx_new();
	fx_standard_host(fx);
	ASSERT_OK(iov_ctx_new(fx->root, &ctx));
	ASSERT_OK(iov_pci_inventory_new(ctx, &inv));
}

static void teardown(void)
{
	iov_pci_inventory_free(inv);
	iov_ctx_free(ctx);
	fx_free(fx);
}

static struct iov_group *get(int id)
{
	struct iov_group *g = NULL;

	ASSERT_OK(iov_group_get(ctx, inv, id, &g));
	return g;
}

static bool sharing_has(const struct iov_group *g, const char *needle)
{
	for (char **s = g->sharing; s && *s; s++)
		if (strstr(*s, needle))
			return true;
	return false;
}

static void test_list(void)
{
	int *ids = NULL;

	setup();
	ASSERT_INT_EQ(iov_group_list(ctx, &ids), 10);
	if (ids) {
		for (int i = 0; i < 10; i++)
			ASSERT_INT_EQ(ids[i], i);
	}
	free(ids);
	teardown();
}

static void test_lone_device(void)
{
	struct iov_group *g;

	setup();
	g = get(4);
	if (g) {
		ASSERT_INT_EQ(g->n_members, 1);
		ASSERT_STR_EQ(g->members[0].bdf, "0000:01:02.1");
		ASSERT_TRUE(g->viable);
		ASSERT_STR_EQ(g->breaker, "");
		ASSERT_TRUE(g->sharing && g->sharing[0] == NULL);
		ASSERT_STR_EQ(g->type, "DMA");
		ASSERT_STR_EQ(g->iommu, "dmar0");
		ASSERT_FALSE(g->vfio_node);
		ASSERT_INT_EQ(g->n_regions, 1);
		if (g->n_regions == 1) {
			ASSERT_INT_EQ(g->regions[0].start, 0xfee00000);
			ASSERT_INT_EQ(g->regions[0].end, 0xfeefffff);
			ASSERT_STR_EQ(g->regions[0].type, "msi");
		}
	}
	iov_group_free(g);
	teardown();
}

static void test_gpu_behind_port_without_acs(void)
{
	struct iov_group *g;

	setup();
	g = get(5);
	if (g) {
		ASSERT_INT_EQ(g->n_members, 3);
		ASSERT_FALSE(g->viable);
		ASSERT_STR_EQ(g->breaker, "0000:02:00.0");
		ASSERT_TRUE(strstr(g->why_not_viable, "nouveau") != NULL);
		ASSERT_TRUE(g->members[0].bridge && g->members[0].viable);   /* pcieport on a bridge is fine */
		ASSERT_FALSE(g->members[1].viable);
		ASSERT_TRUE(sharing_has(g, "0000:00:1c.0 (root port) has no ACS capability"));
		ASSERT_TRUE(sharing_has(g, "0000:02:00 is a multi-function device without ACS"));
	}
	iov_group_free(g);
	teardown();
}

static void test_chipset_and_pci_bridge(void)
{
	struct iov_group *g;

	setup();
	g = get(6);
	if (g) {
		ASSERT_TRUE(sharing_has(g, "0000:00:1f is a multi-function device"));
		ASSERT_INT_EQ(g->n_regions, 2);
		if (g->n_regions == 2) {
			ASSERT_STR_EQ(g->regions[0].type, "direct");
			ASSERT_INT_EQ(g->regions[0].start, 0x7b800000);
		}
	}
	iov_group_free(g);
	g = get(7);
	if (g) {
		ASSERT_TRUE(g->viable);   /* bridge + unbound device */
		ASSERT_TRUE(sharing_has(g, "0000:00:1e.0 is a PCIe-to-PCI bridge"));
	}
	iov_group_free(g);
	teardown();
}

static void test_viability_rules(void)
{
	struct iov_group *g;

	setup();
	/* vfio-pci and pci-stub keep a group viable; any other driver breaks it. */
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0/driver", fx->root);
		unlink(p);
		fx_symlink(fx, "sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0/driver", "../../../../bus/pci/drivers/vfio-pci");
		snprintf(p, sizeof(p), "%s/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.1/driver", fx->root);
		unlink(p);
		fx_mkdir(fx, "sys/bus/pci/drivers/pci-stub");
		fx_symlink(fx, "sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.1/driver", "../../../../bus/pci/drivers/pci-stub");
	}
	g = get(5);
	if (g) {
		ASSERT_TRUE(g->viable);
		ASSERT_STR_EQ(g->members[1].driver, "vfio-pci");
		ASSERT_STR_EQ(g->members[2].driver, "pci-stub");
	}
	iov_group_free(g);
	teardown();
}

static void test_json(void)
{
	struct iov_group *g;
	json_t *j = NULL;

	setup();
	g = get(5);
	if (g && iov_group_json(g, &j) == 0) {
		ASSERT_INT_EQ(json_integer_value(json_object_get(j, "group")), 5);
		ASSERT_TRUE(json_is_false(json_object_get(j, "viable")));
		ASSERT_STR_EQ(json_string_value(json_object_get(j, "breaker")), "0000:02:00.0");
		ASSERT_INT_EQ(json_array_size(json_object_get(j, "members")), 3);
		ASSERT_INT_EQ(json_array_size(json_object_get(j, "sharing")), 2);
		ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(j, "reserved_regions"), 0), "start")),
			      "0xfee00000");
		json_decref(j);
	}
	iov_group_free(g);
	teardown();
}

static void test_bad_input(void)
{
	struct iov_group *g = (struct iov_group *)0x1;

	setup();
	ASSERT_ERR(iov_group_get(ctx, inv, 42, &g), ENOENT);
	ASSERT_STR_EQ(iov_ctx_reason(ctx), "IOMMU group 42 does not exist");
	ASSERT_ERR(iov_group_get(ctx, inv, -3, &g), EINVAL);
	ASSERT_TRUE(g == (struct iov_group *)0x1);

	ASSERT_INT_EQ(iov_device_group(ctx, "02:00.1"), 5);
	ASSERT_INT_EQ(iov_device_group(ctx, "0000:01:02.0"), 3);
	ASSERT_ERR(iov_device_group(ctx, "0000:05:00.0"), ENODEV);
	ASSERT_STR_EQ(iov_ctx_reason(ctx), "0000:05:00.0: no such PCI device");
	ASSERT_ERR(iov_device_group(ctx, "05:00"), EINVAL);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "'05:00' is not a PCI address") != NULL);

	/* A mediated device by its UUID: its own group; one without a driver has none. */
	fx_mkdir(fx, "sys/devices/virtual/mtty/mtty/83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
	fx_mkdir(fx, "sys/kernel/iommu_groups/17/devices");
	fx_symlink(fx, "sys/devices/virtual/mtty/mtty/83b8f4f2-509f-382f-3c1e-e6bfe0fa1001/iommu_group",
		   "../../../../../kernel/iommu_groups/17");
	fx_symlink(fx, "sys/bus/mdev/devices/83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
		   "../../../devices/virtual/mtty/mtty/83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
	fx_mkdir(fx, "sys/devices/virtual/mtty/mtty/83b8f4f2-509f-382f-3c1e-e6bfe0fa1002");
	fx_symlink(fx, "sys/bus/mdev/devices/83b8f4f2-509f-382f-3c1e-e6bfe0fa1002",
		   "../../../devices/virtual/mtty/mtty/83b8f4f2-509f-382f-3c1e-e6bfe0fa1002");
	ASSERT_INT_EQ(iov_device_group(ctx, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"), 17);
	ASSERT_INT_EQ(iov_device_group(ctx, "83B8F4F2-509F-382F-3C1E-E6BFE0FA1001"), 17);
	ASSERT_ERR(iov_device_group(ctx, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1002"), ENOENT);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "has no IOMMU group (its vendor driver has not bound it)") != NULL);
	ASSERT_ERR(iov_device_group(ctx, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1003"), ENODEV);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "no such mdev instance") != NULL);
	teardown();

	/* A host whose devices have no groups: the IOMMU is off. */
	fx = fx_new();
	fx_pci(fx, &(struct fx_pci){ .bdf = "0000:00:03.0", .vendor = 0x1af4, .device = 0x1041, .class_code = 0x020000,
				     .group = -1, .driver = "virtio-pci", .pcie_type = -1 });
	ASSERT_OK(iov_ctx_new(fx->root, &ctx));
	ASSERT_ERR(iov_device_group(ctx, "00:03.0"), ENOENT);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "is in no IOMMU group") != NULL);
	int *ids = NULL;
	ASSERT_INT_EQ(iov_group_list(ctx, &ids), 0);
	free(ids);
	iov_ctx_free(ctx);
	fx_free(fx);
}

UNIT_MAIN("iommu-groups/group",
	  UNIT_TEST(test_list),
	  UNIT_TEST(test_lone_device),
	  UNIT_TEST(test_gpu_behind_port_without_acs),
	  UNIT_TEST(test_chipset_and_pci_bridge),
	  UNIT_TEST(test_viability_rules),
	  UNIT_TEST(test_json),
	  UNIT_TEST(test_bad_input))
