/* SPDX-License-Identifier: MIT */
/* The host report against fixture trees of three kinds of host. */
#include <stdlib.h>

#include "../helpers/unit.h"
#include "iovkit/host.h"

static struct iov_host_report *report_of(struct fixture *fx, struct iov_ctx **ret_ctx)
{
	struct iov_host_report *r = NULL;
	struct iov_ctx *ctx = NULL;

	ASSERT_OK(iov_ctx_new(fx->root, &ctx));
	if (!ctx)
		return NULL;
	ASSERT_OK(iov_host_report_new(ctx, &r));
	*ret_ctx = ctx;
	return r;
}

static void report_done(struct iov_host_report *r, struct iov_ctx *ctx, struct fixture *fx)
{
	iov_host_report_free(r);
	iov_ctx_free(ctx);
	fx_free(fx);
}

static const struct iov_host_hint *find_hint(const struct iov_host_report *r, const char *topic)
{
	for (unsigned int i = 0; i < r->n_hints; i++)
		if (!strcmp(r->hints[i].topic, topic))
			return &r->hints[i];
	return NULL;
}

/* A cloud VM like the build machines: no IOMMU, no module tree, virtio devices, no SR-IOV. */
static void test_host_without_iommu(void)
{
	struct fixture *fx = fx_new();
	struct iov_ctx *ctx = NULL;
	struct iov_host_report *r;
	const struct iov_host_hint *h;

	fx_write(fx, "proc/sys/kernel/osrelease", "6.18.44-test\n");
	fx_write(fx, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\n");
	fx_write(fx, "proc/cmdline", "console=ttyS0 quiet\n");
	fx_mkdir(fx, "sys/class/iommu");
	fx_mkdir(fx, "sys/kernel/iommu_groups");
	fx_write(fx, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n");
	fx_write(fx, "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
	fx_pci_device(fx, "0000:00:01.0", 0x1af4, 0x1041, 0x020000, -1, "virtio-pci");

	r = report_of(fx, &ctx);
	if (r) {
		ASSERT_STR_EQ(r->kernel_release, "6.18.44-test");
		ASSERT_STR_EQ(r->cpu_vendor, "amd");
		ASSERT_INT_EQ(r->n_iommu_units, 0);
		ASSERT_INT_EQ(r->n_groups, 0);
		ASSERT_STR_EQ(r->iommu_cmdline, "");
		ASSERT_INT_EQ(r->modules[IOV_HOST_MOD_VFIO_PCI], IOV_MODULE_UNKNOWN);
		ASSERT_FALSE(r->vfio_container);
		ASSERT_FALSE(r->kvm_dev);
		ASSERT_INT_EQ(r->n_sriov, 0);
		ASSERT_INT_EQ(r->n_hugepage_sizes, 1);

		h = find_hint(r, "iommu");
		ASSERT_TRUE(h && h->required);
		if (h)
			ASSERT_TRUE(strstr(h->fix, "AMD-Vi") != NULL);
		h = find_hint(r, "vfio");
		ASSERT_TRUE(h && h->required && strstr(h->problem, "no module tree for kernel 6.18.44-test"));
		h = find_hint(r, "kvm");
		ASSERT_TRUE(h && strstr(h->fix, "kvm_amd"));
		h = find_hint(r, "hugepages");
		ASSERT_TRUE(h && !h->required);
	}
	report_done(r, ctx, fx);
}

/* An Intel host with VT-d on, vfio loaded, hugepages, and an SR-IOV NIC with VFs. */
static void test_host_ready_for_assignment(void)
{
	struct fixture *fx = fx_new();
	struct iov_ctx *ctx = NULL;
	struct iov_host_report *r;
	json_t *j = NULL;

	fx_write(fx, "proc/sys/kernel/osrelease", "6.1.0-56-amd64\n");
	fx_write(fx, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n");
	fx_write(fx, "proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt quiet\n");
	fx_mkdir(fx, "sys/class/iommu/dmar0");
	fx_mkdir(fx, "sys/class/iommu/dmar1");
	fx_write(fx, "sys/kernel/iommu_groups/0/type", "identity\n");
	fx_write(fx, "sys/kernel/iommu_groups/1/type", "identity\n");
	fx_write(fx, "sys/kernel/iommu_groups/12/type", "DMA\n");
	for (const char *m = "vfio\0vfio_pci\0vfio_iommu_type1\0kvm\0"; *m; m += strlen(m) + 1) {
		char p[128];

		snprintf(p, sizeof(p), "sys/module/%s/initstate", m);
		fx_write(fx, p, "live\n");
	}
	fx_mkdir(fx, "lib/modules/6.1.0-56-amd64");
	fx_write(fx, "lib/modules/6.1.0-56-amd64/modules.builtin", "kernel/drivers/pci/pci-stub.ko\n");
	fx_write(fx, "lib/modules/6.1.0-56-amd64/modules.dep",
		 "kernel/drivers/vfio/vfio.ko:\nkernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko\n");
	fx_write(fx, "dev/vfio/vfio", "%s", "");
	fx_write(fx, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "1024\n");
	fx_write(fx, "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "1000\n");
	fx_write(fx, "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "2\n");
	fx_write(fx, "sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "2\n");
	/* Two PFs listed out of natural order, one with VFs, and a device without SR-IOV. */
	fx_pci_device(fx, "0000:3b:00.1", 0x8086, 0x1572, 0x020000, 13, "i40e");
	fx_write(fx, "sys/bus/pci/devices/0000:3b:00.1/sriov_totalvfs", "64\n");
	fx_write(fx, "sys/bus/pci/devices/0000:3b:00.1/sriov_numvfs", "0\n");
	fx_pci_device(fx, "0000:3b:00.0", 0x8086, 0x1572, 0x020000, 12, "i40e");
	fx_write(fx, "sys/bus/pci/devices/0000:3b:00.0/sriov_totalvfs", "64\n");
	fx_write(fx, "sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs", "4\n");
	fx_pci_device(fx, "0000:00:02.0", 0x8086, 0x3e92, 0x030000, 0, NULL);

	r = report_of(fx, &ctx);
	if (r) {
		ASSERT_STR_EQ(r->iommu_vendor, "intel");
		ASSERT_INT_EQ(r->n_iommu_units, 2);
		ASSERT_STR_EQ(r->iommu_units[1], "dmar1");
		ASSERT_INT_EQ(r->n_groups, 4);   /* 0, 1, 12 and the second PF's 13 */
		ASSERT_STR_EQ(r->iommu_domain_type, "identity");
		ASSERT_STR_EQ(r->iommu_cmdline, "intel_iommu=on iommu=pt");
		ASSERT_INT_EQ(r->modules[IOV_HOST_MOD_VFIO_PCI], IOV_MODULE_LOADED);
		ASSERT_INT_EQ(r->modules[IOV_HOST_MOD_IOMMUFD], IOV_MODULE_MISSING);
		ASSERT_TRUE(r->vfio_container);
		ASSERT_FALSE(r->iommufd_dev);
		ASSERT_INT_EQ(r->n_hugepage_sizes, 2);
		ASSERT_INT_EQ(r->n_sriov, 2);
		if (r->n_sriov == 2) {
			ASSERT_STR_EQ(r->sriov[0].bdf, "0000:3b:00.0");
			ASSERT_INT_EQ(r->sriov[0].numvfs, 4);
			ASSERT_INT_EQ(r->sriov[0].totalvfs, 64);
			ASSERT_INT_EQ(r->sriov[0].vendor, 0x8086);
			ASSERT_INT_EQ(r->sriov[0].device, 0x1572);
			ASSERT_STR_EQ(r->sriov[0].driver, "i40e");
		}
		ASSERT_TRUE(find_hint(r, "iommu") == NULL);
		ASSERT_TRUE(find_hint(r, "vfio") == NULL);
		ASSERT_TRUE(find_hint(r, "hugepages") == NULL);
		/* dev/kvm here is a plain file: present, but the ioctl fails. */
		ASSERT_FALSE(r->kvm_dev);

		ASSERT_OK(iov_host_report_json(r, &j));
		if (j) {
			ASSERT_TRUE(json_is_true(json_object_get(json_object_get(j, "iommu"), "present")));
			ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(j, "iommu"), "groups")), 4);
			ASSERT_STR_EQ(json_string_value(json_object_get(
					      json_object_get(json_object_get(j, "vfio"), "modules"), "vfio_pci")),
				      "loaded");
			ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(j, "sriov"), 1), "bdf")),
				      "0000:3b:00.1");
			ASSERT_TRUE(json_is_null(json_object_get(json_object_get(j, "kvm"), "api_version")));
			ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(j, "kvm"), "module")), "loaded");
			ASSERT_TRUE(json_object_get(json_object_get(json_object_get(j, "vfio"), "modules"), "kvm") == NULL);
			json_decref(j);
		}
	}
	report_done(r, ctx, fx);
}

/* vfio-pci in the module tree but not loaded; kvm's node exists but is not a KVM device. */
static void test_host_modules_loadable(void)
{
	struct fixture *fx = fx_new();
	struct iov_ctx *ctx = NULL;
	struct iov_host_report *r;
	const struct iov_host_hint *h;

	fx_write(fx, "proc/sys/kernel/osrelease", "6.1.0-56-amd64\n");
	fx_write(fx, "proc/cmdline", "intel_iommu=off\n");
	fx_write(fx, "lib/modules/6.1.0-56-amd64/modules.dep",
		 "kernel/drivers/vfio/vfio.ko.xz:\nkernel/drivers/vfio/pci/vfio-pci.ko.xz: kernel/drivers/vfio/vfio.ko.xz\n");
	fx_write(fx, "lib/modules/6.1.0-56-amd64/modules.builtin", "kernel/drivers/iommu/iommufd/iommufd.ko\n");
	fx_write(fx, "dev/kvm", "%s", "");

	r = report_of(fx, &ctx);
	if (r) {
		ASSERT_INT_EQ(r->modules[IOV_HOST_MOD_VFIO_PCI], IOV_MODULE_LOADABLE);
		ASSERT_INT_EQ(r->modules[IOV_HOST_MOD_VFIO], IOV_MODULE_LOADABLE);
		ASSERT_INT_EQ(r->modules[IOV_HOST_MOD_IOMMUFD], IOV_MODULE_BUILTIN);
		ASSERT_INT_EQ(r->modules[IOV_HOST_MOD_KVM], IOV_MODULE_MISSING);
		h = find_hint(r, "vfio");
		ASSERT_TRUE(h && !strcmp(h->fix, "modprobe vfio-pci"));
		h = find_hint(r, "iommu");
		ASSERT_TRUE(h && strstr(h->fix, "remove intel_iommu=off"));
		ASSERT_TRUE(r->kvm_dev);
		ASSERT_INT_EQ(r->kvm_api_version, -ENOTTY);
		h = find_hint(r, "kvm");
		ASSERT_TRUE(h && strstr(h->problem, "cannot be used"));
		ASSERT_INT_EQ(r->n_hugepage_sizes, 0);
	}
	report_done(r, ctx, fx);
}

UNIT_MAIN("common/host",
	  UNIT_TEST(test_host_without_iommu),
	  UNIT_TEST(test_host_ready_for_assignment),
	  UNIT_TEST(test_host_modules_loadable))
