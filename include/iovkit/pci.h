/* SPDX-License-Identifier: MIT */
/*
 * PCI inventory: every PCI function of the host with what matters for device assignment, read
 * through libpci (pointed at the context's host root) and the host-root layer.
 */
#ifndef IOVKIT_PCI_H
#define IOVKIT_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "iovkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "dddd:bb:dd.f" plus NUL */
#define IOV_BDF_LEN 13

struct iov_pci_bar {
	uint64_t base, size;       /* size 0: not implemented */
	bool io;                   /* I/O port BAR (else memory) */
	bool mem64;                /* 64-bit memory BAR (takes this slot and the next) */
	bool prefetchable;
};

/* PCIe device/port type (PCIe Capabilities register, bits 7:4). */
enum iov_pcie_type {
	IOV_PCIE_ENDPOINT = 0x0,
	IOV_PCIE_LEGACY_ENDPOINT = 0x1,
	IOV_PCIE_ROOT_PORT = 0x4,
	IOV_PCIE_UPSTREAM_PORT = 0x5,
	IOV_PCIE_DOWNSTREAM_PORT = 0x6,
	IOV_PCIE_PCIE_TO_PCI_BRIDGE = 0x7,
	IOV_PCIE_PCI_TO_PCIE_BRIDGE = 0x8,
	IOV_PCIE_RC_INTEGRATED = 0x9,
	IOV_PCIE_RC_EVENT_COLLECTOR = 0xa,
	IOV_PCIE_NONE = 0xff,      /* conventional PCI: no PCIe capability */
};

/* ACS control bits (PCIe 6.0 §7.7.8), as the kernel requires them for isolation. */
enum {
	IOV_ACS_SV = 1 << 0,       /* source validation */
	IOV_ACS_TB = 1 << 1,       /* translation blocking */
	IOV_ACS_RR = 1 << 2,       /* P2P request redirect */
	IOV_ACS_CR = 1 << 3,       /* P2P completion redirect */
	IOV_ACS_UF = 1 << 4,       /* upstream forwarding */
	IOV_ACS_EC = 1 << 5,       /* P2P egress control */
	IOV_ACS_DT = 1 << 6,       /* direct translated P2P */
	/* What Linux's pci_acs_path_enabled() asks of every port (REQ_ACS_FLAGS). */
	IOV_ACS_REQUIRED = IOV_ACS_SV | IOV_ACS_RR | IOV_ACS_CR | IOV_ACS_UF,
};

struct iov_pci_dev {
	char bdf[IOV_BDF_LEN];
	uint16_t domain;
	uint8_t bus, dev, func;

	uint16_t vendor, device, subsys_vendor, subsys_device;
	uint32_t class_code;        /* class << 16 | subclass << 8 | prog-if */
	uint8_t revision;
	uint8_t header_type;        /* 0 endpoint, 1 PCI bridge, 2 CardBus */
	bool multifunction;
	char vendor_name[64], device_name[128], class_name[64];   /* from pci.ids, or "" */

	int numa_node;              /* -1: none / unknown */
	int iommu_group;            /* -1: not in a group (no IOMMU) */
	char driver[64];            /* bound driver, "" if none */
	char driver_override[64];   /* "" if none */
	char **modules;             /* kernel modules whose aliases match (NULL-terminated, maybe empty) */
	char parent[IOV_BDF_LEN];   /* upstream bridge, "" at a root bus */
	bool boot_vga;

	enum iov_pcie_type pcie_type;
	struct iov_pci_bar bars[6];
	struct iov_pci_bar rom;
	unsigned int msi_vectors;   /* 0: no MSI capability */
	unsigned int msix_vectors;  /* 0: no MSI-X capability */

	/* Reset: what config space offers, and the kernel's own list where it has one. */
	bool flr;                   /* PCIe DevCap FLR, or Advanced Features FLR */
	bool pm_reset;              /* PM capability without No_Soft_Reset */
	char reset_methods[64];     /* sysfs reset_method ("flr bus"), "" if absent */

	/* PCIe Device Serial Number capability: a card's identity wherever it sits (EUI-64) */
	bool has_serial;
	uint64_t serial;

	/* ACS */
	bool acs;
	uint16_t acs_cap, acs_ctrl;

	/* SR-IOV: as a PF */
	bool sriov;
	uint16_t sriov_total, sriov_initial, sriov_num, sriov_offset, sriov_stride, sriov_vf_device;
	/* as a VF */
	bool is_vf;
	char pf[IOV_BDF_LEN];
	int vf_index;               /* -1 unless is_vf */
};

struct iov_pci_inventory;

/*
 * Reads every PCI function under the context's host root, in BDF order.
 * Errors: -ENOMEM; -EIO if libpci cannot initialise (iov_ctx_reason() says why).
 * A host without PCI yields an empty inventory. The caller owns *ret.
 */
int iov_pci_inventory_new(struct iov_ctx *ctx, struct iov_pci_inventory **ret);
void iov_pci_inventory_free(struct iov_pci_inventory *inv);

size_t iov_pci_inventory_count(const struct iov_pci_inventory *inv);
/* The i-th function (BDF order); owned by the inventory. NULL if out of range. */
const struct iov_pci_dev *iov_pci_inventory_get(const struct iov_pci_inventory *inv, size_t i);
/* The function with this canonical BDF, or NULL. */
const struct iov_pci_dev *iov_pci_inventory_find(const struct iov_pci_inventory *inv, const char *bdf);

/*
 * Parses "dddd:bb:dd.f" or "bb:dd.f" (domain 0), hex, case-insensitive, into the canonical
 * lower-case form. -EINVAL if malformed (device > 0x1f, function > 7, trailing text).
 */
int iov_pci_bdf_parse(const char *s, char ret[IOV_BDF_LEN]);

/* A Device Serial Number as lspci writes it, "00-11-22-ff-fe-33-44-55" (most significant first). */
void iov_pci_serial_format(uint64_t serial, char buf[24]);

/* "net", "storage", "gpu", "bridge", "other": the coarse kind of a class code. */
const char *iov_pci_class_kind(uint32_t class_code);

/* A device as JSON (schema in docs/cli.md, "iovctl devices"). The caller owns the reference. */
int iov_pci_dev_json(const struct iov_pci_dev *dev, json_t **ret);

#ifdef __cplusplus
}
#endif
#endif
