/* SPDX-License-Identifier: MIT */
/*
 * The standard fixture host. Groups as Linux would form them:
 *   0  00:00.0 host bridge
 *   1  00:01.0 root port with ACS            (pcieport)
 *   2    01:00.0 X710 NIC, SR-IOV PF, 2 VFs  (i40e; enp1s0f0 carries the default route)
 *   3    01:02.0 its VF 0                    (iavf; enp1s0v0, link-local only)
 *   4    01:02.1 its VF 1                    (unbound)
 *   5  00:1c.0 root port WITHOUT ACS         (pcieport), and below it, sharing its group:
 *        02:00.0 GPU, boot VGA               (nouveau)
 *        02:00.1 its HDMI audio function     (snd_hda_intel)
 *   6  00:1f.0/.2/.3 chipset, multi-function, no ACS (lpc_ich, ahci with sda unmounted, i801_smbus)
 *      with an RMRR ("direct") reserved region
 *   7  00:1e.0 PCIe-to-PCI bridge, and 03:01.0 behind it (conventional PCI, unbound)
 *   8  00:1d.0 root port with ACS            (pcieport)
 *   9    04:00.0 NVMe                        (nvme; nvme0n1p1 is mounted on /)
 * Every group has the x86 MSI window as an "msi" reserved region. Kernel 6.1.0-test, with a
 * modules.alias that knows i40e, iavf, nouveau, snd_hda_intel, nvme and vfio-pci is loaded.
 */
#include "unit.h"

#define ACS_ALL 0x001f

void fx_standard_host(struct fixture *fx)
{
	const struct fx_pci devs[] = {
		{ .bdf = "0000:00:00.0", .vendor = 0x8086, .device = 0x3e30, .subsys_vendor = 0x8086, .subsys_device = 0x7270,
		  .class_code = 0x060000, .group = 0, .pcie_type = -1, .iommu = "dmar0" },
		{ .bdf = "0000:00:01.0", .vendor = 0x8086, .device = 0x1901, .class_code = 0x060400, .header_type = 1,
		  .group = 1, .driver = "pcieport", .pcie_type = 4, .pm = true, .msi_vectors = 1, .acs = true,
		  .acs_cap = 0x005f, .acs_ctrl = ACS_ALL, .iommu = "dmar0" },
		{ .bdf = "0000:01:00.0", .parent = "0000:00:01.0", .vendor = 0x8086, .device = 0x1572, .subsys_vendor = 0x8086,
		  .subsys_device = 0x0006, .class_code = 0x020000, .revision = 0x02, .group = 2, .driver = "i40e",
		  .pcie_type = 0, .flr = true, .pm = true, .msi_vectors = 1, .msix_vectors = 129, .sriov_total = 64,
		  .sriov_num = 2, .sriov_offset = 16, .sriov_stride = 1, .sriov_vf_device = 0x154c,
		  .serial = 0x3cfdfeffffa1b2c3ull,
		  .bars = { [0] = BAR_MEM64_PF(0x6000000000, 8 << 20), [3] = BAR_MEM64_PF(0x6000800000, 32 << 10) },
		  .numa_node = 0, .reset_method = "flr bus", .iommu = "dmar0" },
		{ .bdf = "0000:01:02.0", .parent = "0000:00:01.0", .vendor = 0x8086, .device = 0x154c, .subsys_vendor = 0x8086,
		  .subsys_device = 0x0000, .class_code = 0x020000, .revision = 0x02, .group = 3, .driver = "iavf",
		  .pcie_type = 0, .flr = true, .msix_vectors = 5, .pf = "0000:01:00.0", .vf_index = 0,
		  .bars = { [0] = BAR_MEM64_PF(0x6000810000, 64 << 10) }, .reset_method = "flr", .iommu = "dmar0" },
		{ .bdf = "0000:01:02.1", .parent = "0000:00:01.0", .vendor = 0x8086, .device = 0x154c, .subsys_vendor = 0x8086,
		  .class_code = 0x020000, .revision = 0x02, .group = 4, .pcie_type = 0, .flr = true, .msix_vectors = 5,
		  .pf = "0000:01:00.0", .vf_index = 1, .bars = { [0] = BAR_MEM64_PF(0x6000820000, 64 << 10) },
		  .reset_method = "flr", .iommu = "dmar0" },
		{ .bdf = "0000:00:1c.0", .vendor = 0x8086, .device = 0xa110, .class_code = 0x060400, .header_type = 1,
		  .group = 5, .driver = "pcieport", .pcie_type = 4, .pm = true, .msi_vectors = 1, .iommu = "dmar0" },
		{ .bdf = "0000:02:00.0", .parent = "0000:00:1c.0", .vendor = 0x10de, .device = 0x1eb8, .subsys_vendor = 0x10de,
		  .subsys_device = 0x12a2, .class_code = 0x030000, .revision = 0xa1, .multifunction = true, .group = 5,
		  .driver = "nouveau", .pcie_type = 0, .pm = true, .msi_vectors = 1, .boot_vga = true,
		  .bars = { [0] = BAR_MEM(0xa0000000, 16 << 20), [1] = BAR_MEM64_PF(0x4000000000, 256 << 20),
			    [3] = BAR_MEM64_PF(0x4010000000, 32 << 20), [5] = BAR_IO(0x3000, 128) },
		  .reset_method = "bus", .iommu = "dmar0" },
		{ .bdf = "0000:02:00.1", .parent = "0000:00:1c.0", .vendor = 0x10de, .device = 0x10fa, .subsys_vendor = 0x10de,
		  .subsys_device = 0x12a2, .class_code = 0x040300, .revision = 0xa1, .multifunction = true, .group = 5,
		  .driver = "snd_hda_intel", .pcie_type = 0, .pm = true, .msi_vectors = 1,
		  .bars = { [0] = BAR_MEM(0xa1000000, 16 << 10) }, .iommu = "dmar0" },
		{ .bdf = "0000:00:1f.0", .vendor = 0x8086, .device = 0xa143, .class_code = 0x060100, .multifunction = true,
		  .group = 6, .driver = "lpc_ich", .pcie_type = -1, .iommu = "dmar0" },
		{ .bdf = "0000:00:1f.2", .vendor = 0x8086, .device = 0xa102, .class_code = 0x010601, .multifunction = true,
		  .group = 6, .driver = "ahci", .pcie_type = -1, .pm = true, .msi_vectors = 1,
		  .bars = { [5] = BAR_MEM(0xa2000000, 2 << 10) }, .iommu = "dmar0" },
		{ .bdf = "0000:00:1f.3", .vendor = 0x8086, .device = 0xa123, .class_code = 0x0c0500, .multifunction = true,
		  .group = 6, .driver = "i801_smbus", .pcie_type = -1, .bars = { [4] = BAR_IO(0xefa0, 32) }, .iommu = "dmar0" },
		{ .bdf = "0000:00:1e.0", .vendor = 0x8086, .device = 0x244e, .class_code = 0x060401, .header_type = 1,
		  .group = 7, .pcie_type = 7, .iommu = "dmar0" },
		{ .bdf = "0000:03:01.0", .parent = "0000:00:1e.0", .vendor = 0x1102, .device = 0x0002, .class_code = 0x040100,
		  .group = 7, .pcie_type = -1, .bars = { [0] = BAR_IO(0xd000, 32) }, .iommu = "dmar0" },
		{ .bdf = "0000:00:1d.0", .vendor = 0x8086, .device = 0xa118, .class_code = 0x060400, .header_type = 1,
		  .group = 8, .driver = "pcieport", .pcie_type = 4, .acs = true, .acs_cap = 0x005f, .acs_ctrl = ACS_ALL,
		  .iommu = "dmar0" },
		{ .bdf = "0000:04:00.0", .parent = "0000:00:1d.0", .vendor = 0x144d, .device = 0xa808, .subsys_vendor = 0x144d,
		  .subsys_device = 0xa801, .class_code = 0x010802, .group = 9, .driver = "nvme", .pcie_type = 0, .flr = true,
		  .pm = true, .msi_vectors = 1, .msix_vectors = 33, .bars = { [0] = BAR_MEM64(0xa3000000, 16 << 10) },
		  .reset_method = "flr bus", .numa_node = 0, .iommu = "dmar0" },
	};

	fx_write(fx, "proc/sys/kernel/osrelease", "6.1.0-test\n");
	fx_write(fx, "proc/cmdline", "root=/dev/nvme0n1p1 intel_iommu=on\n");
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		fx_pci(fx, &devs[i]);
	for (int g = 0; g <= 9; g++) {
		char path[64];

		snprintf(path, sizeof(path), "sys/kernel/iommu_groups/%d/reserved_regions", g);
		if (g == 6)
			fx_write(fx, path, "0x000000007b800000 0x000000007fffffff direct\n"
					   "0x00000000fee00000 0x00000000feefffff msi\n");
		else
			fx_write(fx, path, "0x00000000fee00000 0x00000000feefffff msi\n");
	}
	fx_mkdir(fx, "sys/bus/pci/drivers/vfio-pci");
	fx_write(fx, "sys/bus/pci/drivers_probe", "%s", "");
	fx_write(fx, "lib/modules/6.1.0-test/modules.alias",
		 "# Aliases extracted from modules themselves.\n"
		 "alias pci:v00008086d00001572sv*sd*bc*sc*i* i40e\n"
		 "alias pci:v00008086d0000154Csv*sd*bc*sc*i* iavf\n"
		 "alias pci:v000010DEd*sv*sd*bc03sc*i* nouveau\n"
		 "alias pci:v000010DEd*sv*sd*bc04sc03i00* snd_hda_intel\n"
		 "alias pci:v*d*sv*sd*bc01sc08i02* nvme\n"
		 "alias pci:v00001AF4d00001041sv*sd*bc*sc*i* virtio_pci\n"
		 "alias usb:v*p*d*dc*dsc*dp*ic09isc*ip*in* usbcore\n");

	/* Networking: the PF carries the default route; the VF has only link-local IPv6. */
	fx_mkdir(fx, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/net/enp1s0f0");
	fx_mkdir(fx, "sys/devices/pci0000:00/0000:00:01.0/0000:01:02.0/net/enp1s0v0");
	fx_write(fx, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/net/enp1s0f0/type", "1\n");   /* ARPHRD_ETHER */
	fx_write(fx, "sys/devices/pci0000:00/0000:00:01.0/0000:01:02.0/net/enp1s0v0/type", "1\n");
	fx_write(fx, "proc/net/route",
		 "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
		 "enp1s0f0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
		 "enp1s0f0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n");
	fx_write(fx, "proc/net/ipv6_route",
		 "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 "
		 "00000100 00000001 00000000 00000001 enp1s0v0\n"
		 "00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 "
		 "00000000 00000002 00000000 80200001       lo\n");

	/* Storage: the NVMe holds the mounted root; sda on the chipset's SATA is not mounted. */
	fx_write(fx, "sys/devices/pci0000:00/0000:00:1d.0/0000:04:00.0/nvme/nvme0/nvme0n1/dev", "259:0\n");
	fx_write(fx, "sys/devices/pci0000:00/0000:00:1d.0/0000:04:00.0/nvme/nvme0/nvme0n1/nvme0n1p1/dev", "259:1\n");
	fx_symlink(fx, "sys/class/block/nvme0n1", "../../devices/pci0000:00/0000:00:1d.0/0000:04:00.0/nvme/nvme0/nvme0n1");
	fx_symlink(fx, "sys/class/block/nvme0n1p1",
		   "../../devices/pci0000:00/0000:00:1d.0/0000:04:00.0/nvme/nvme0/nvme0n1/nvme0n1p1");
	fx_write(fx, "sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/dev", "8:0\n");
	fx_symlink(fx, "sys/class/block/sda", "../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda");
	fx_write(fx, "proc/self/mountinfo",
		 "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw,errors=remount-ro\n"
		 "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n");
	fx_write(fx, "proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
}
