/* SPDX-License-Identifier: MIT */
/* The PCI inventory (libpci + sysfs) on the standard fixture host. */
#include <stdlib.h>

#include "../helpers/unit.h"
#include "iovkit/pci.h"

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
	inv = NULL;
}

static const struct iov_pci_dev *dev(const char *bdf)
{
	const struct iov_pci_dev *d = inv ? iov_pci_inventory_find(inv, bdf) : NULL;

	unit_check(d != NULL, __LINE__, __FILE__, "device %s not in the inventory", bdf);
	return d;
}

static void test_enumerates_in_bdf_order(void)
{
	setup();
	if (inv) {
		ASSERT_INT_EQ(iov_pci_inventory_count(inv), 15);
		for (size_t i = 1; i < iov_pci_inventory_count(inv); i++)
			ASSERT_TRUE(strcmp(iov_pci_inventory_get(inv, i - 1)->bdf, iov_pci_inventory_get(inv, i)->bdf) < 0);
		ASSERT_TRUE(iov_pci_inventory_get(inv, 15) == NULL);
		ASSERT_TRUE(iov_pci_inventory_find(inv, "0000:09:00.0") == NULL);
		ASSERT_TRUE(iov_pci_inventory_find(inv, NULL) == NULL);
	}
	teardown();
}

static void test_identity_and_names(void)
{
	const struct iov_pci_dev *d;

	setup();
	d = dev("0000:01:00.0");
	if (d) {
		ASSERT_INT_EQ(d->vendor, 0x8086);
		ASSERT_INT_EQ(d->device, 0x1572);
		ASSERT_INT_EQ(d->subsys_vendor, 0x8086);
		ASSERT_INT_EQ(d->subsys_device, 0x0006);
		ASSERT_INT_EQ(d->class_code, 0x020000);
		ASSERT_INT_EQ(d->revision, 2);
		ASSERT_INT_EQ(d->header_type, 0);
		ASSERT_INT_EQ(d->numa_node, 0);
		ASSERT_INT_EQ(d->domain, 0);
		ASSERT_INT_EQ(d->bus, 1);
		/* pci.ids ships with pciutils (scripts/deps.sh) */
		ASSERT_STR_EQ(d->vendor_name, "Intel Corporation");
		ASSERT_STR_EQ(d->device_name, "Ethernet Controller X710 for 10GbE SFP+");
		ASSERT_STR_EQ(d->class_name, "Ethernet controller");
		ASSERT_STR_EQ(iov_pci_class_kind(d->class_code), "net");
	}
	d = dev("0000:02:00.0");
	if (d) {
		ASSERT_TRUE(d->multifunction);
		ASSERT_TRUE(d->boot_vga);
		ASSERT_STR_EQ(iov_pci_class_kind(d->class_code), "gpu");
	}
	teardown();
}

static void test_group_driver_parent_modules(void)
{
	const struct iov_pci_dev *d;

	setup();
	d = dev("0000:02:00.1");
	if (d) {
		ASSERT_INT_EQ(d->iommu_group, 5);
		ASSERT_STR_EQ(d->driver, "snd_hda_intel");
		ASSERT_STR_EQ(d->parent, "0000:00:1c.0");
		ASSERT_STR_EQ(d->driver_override, "");
		ASSERT_TRUE(d->modules && d->modules[0] && !strcmp(d->modules[0], "snd_hda_intel") && !d->modules[1]);
	}
	d = dev("0000:04:00.0");
	if (d) {
		/* matched by class (bc01sc08i02) with a wildcard vendor */
		ASSERT_TRUE(d->modules && d->modules[0] && !strcmp(d->modules[0], "nvme"));
		ASSERT_STR_EQ(d->parent, "0000:00:1d.0");
		ASSERT_STR_EQ(d->reset_methods, "flr bus");
	}
	d = dev("0000:00:1f.2");
	if (d) {
		ASSERT_STR_EQ(d->parent, "");   /* on the root bus */
		ASSERT_TRUE(d->modules && d->modules[0] == NULL);
	}
	d = dev("0000:03:01.0");
	if (d)
		ASSERT_STR_EQ(d->parent, "0000:00:1e.0");
	teardown();
}

static void test_capabilities(void)
{
	const struct iov_pci_dev *d;

	setup();
	d = dev("0000:01:00.0");
	if (d) {
		ASSERT_INT_EQ(d->pcie_type, IOV_PCIE_ENDPOINT);
		ASSERT_TRUE(d->flr);
		ASSERT_TRUE(d->pm_reset);
		ASSERT_INT_EQ(d->msi_vectors, 1);
		ASSERT_INT_EQ(d->msix_vectors, 129);
		ASSERT_FALSE(d->acs);
		ASSERT_TRUE(d->sriov);
		ASSERT_INT_EQ(d->sriov_total, 64);
		ASSERT_INT_EQ(d->sriov_initial, 64);
		ASSERT_INT_EQ(d->sriov_num, 2);
		ASSERT_INT_EQ(d->sriov_offset, 16);
		ASSERT_INT_EQ(d->sriov_stride, 1);
		ASSERT_INT_EQ(d->sriov_vf_device, 0x154c);
	}
	d = dev("0000:00:01.0");
	if (d) {
		ASSERT_INT_EQ(d->header_type, 1);
		ASSERT_INT_EQ(d->pcie_type, IOV_PCIE_ROOT_PORT);
		ASSERT_TRUE(d->acs);
		ASSERT_INT_EQ(d->acs_ctrl & IOV_ACS_REQUIRED, IOV_ACS_REQUIRED);
	}
	d = dev("0000:00:1e.0");
	if (d)
		ASSERT_INT_EQ(d->pcie_type, IOV_PCIE_PCIE_TO_PCI_BRIDGE);
	d = dev("0000:03:01.0");
	if (d) {
		ASSERT_INT_EQ(d->pcie_type, IOV_PCIE_NONE);
		ASSERT_FALSE(d->flr);
		ASSERT_FALSE(d->sriov);
	}
	d = dev("0000:02:00.0");
	if (d)
		ASSERT_FALSE(d->flr);   /* the T4's functions have no FLR: only a bus reset */
	teardown();
}

static void test_bars(void)
{
	const struct iov_pci_dev *d;

	setup();
	d = dev("0000:02:00.0");
	if (d) {
		ASSERT_INT_EQ(d->bars[0].size, 16 << 20);
		ASSERT_INT_EQ(d->bars[0].base, 0xa0000000);
		ASSERT_FALSE(d->bars[0].mem64);
		ASSERT_FALSE(d->bars[0].prefetchable);
		ASSERT_INT_EQ(d->bars[1].size, 256 << 20);
		ASSERT_INT_EQ(d->bars[1].base, 0x4000000000);
		ASSERT_TRUE(d->bars[1].mem64);
		ASSERT_TRUE(d->bars[1].prefetchable);
		ASSERT_INT_EQ(d->bars[2].size, 0);
		ASSERT_TRUE(d->bars[5].io);
		ASSERT_INT_EQ(d->bars[5].size, 128);
		ASSERT_INT_EQ(d->bars[5].base, 0x3000);
	}
	teardown();
}

static void test_vf_links(void)
{
	const struct iov_pci_dev *d;

	setup();
	d = dev("0000:01:02.1");
	if (d) {
		ASSERT_TRUE(d->is_vf);
		ASSERT_STR_EQ(d->pf, "0000:01:00.0");
		ASSERT_INT_EQ(d->vf_index, 1);
		ASSERT_STR_EQ(d->driver, "");
	}
	d = dev("0000:01:00.0");
	if (d) {
		ASSERT_FALSE(d->is_vf);
		ASSERT_INT_EQ(d->vf_index, -1);
	}
	teardown();
}

static void test_json(void)
{
	const struct iov_pci_dev *d;
	json_t *j = NULL;

	setup();
	d = dev("0000:01:00.0");
	if (d && iov_pci_dev_json(d, &j) == 0) {
		ASSERT_STR_EQ(json_string_value(json_object_get(j, "bdf")), "0000:01:00.0");
		ASSERT_STR_EQ(json_string_value(json_object_get(j, "vendor")), "8086");
		ASSERT_STR_EQ(json_string_value(json_object_get(j, "class")), "020000");
		ASSERT_INT_EQ(json_integer_value(json_object_get(j, "iommu_group")), 2);
		ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(j, "sriov"), "total_vfs")), 64);
		ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(j, "sriov"), "vf_device")), "154c");
		ASSERT_INT_EQ(json_array_size(json_object_get(j, "bars")), 2);
		ASSERT_TRUE(json_is_null(json_object_get(j, "physfn")));
		json_decref(j);
	}
	teardown();
}

static void test_bdf_parse(void)
{
	char out[IOV_BDF_LEN] = "unchanged";

	ASSERT_OK(iov_pci_bdf_parse("0000:3B:00.1", out));
	ASSERT_STR_EQ(out, "0000:3b:00.1");
	ASSERT_OK(iov_pci_bdf_parse("3b:1f.7", out));
	ASSERT_STR_EQ(out, "0000:3b:1f.7");
	ASSERT_OK(iov_pci_bdf_parse("0000:00:00.0", out));
	strcpy(out, "unchanged");
	const char *bad[] = { "", "3b:00", "3b:20.0", "3b:00.8", "0000:3b:00.0x", "00000:3b:00.0", "3b-00.0",
			      "zz:00.0", "0000:3b:00.0 ", " 3b:00.0", "0000:+3:00.0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		unit_check(iov_pci_bdf_parse(bad[i], out) == -EINVAL, __LINE__, __FILE__, "'%s' was accepted", bad[i]);
	ASSERT_INT_EQ(iov_pci_bdf_parse(NULL, out), -EINVAL);
	ASSERT_STR_EQ(out, "unchanged");
}

static void test_host_without_pci(void)
{
	struct fixture *empty = fx_new();
	struct iov_pci_inventory *e = NULL;
	struct iov_ctx *c = NULL;

	ASSERT_OK(iov_ctx_new(empty->root, &c));
	ASSERT_OK(iov_pci_inventory_new(c, &e));
	if (e)
		ASSERT_INT_EQ(iov_pci_inventory_count(e), 0);
	iov_pci_inventory_free(e);
	iov_ctx_free(c);
	fx_free(empty);
}

UNIT_MAIN("iommu-groups/pci",
	  UNIT_TEST(test_enumerates_in_bdf_order),
	  UNIT_TEST(test_identity_and_names),
	  UNIT_TEST(test_group_driver_parent_modules),
	  UNIT_TEST(test_capabilities),
	  UNIT_TEST(test_bars),
	  UNIT_TEST(test_vf_links),
	  UNIT_TEST(test_json),
	  UNIT_TEST(test_bdf_parse),
	  UNIT_TEST(test_host_without_pci))
