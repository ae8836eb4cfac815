/* SPDX-License-Identifier: MIT */
/* What the files of the iommu-groups library share. */
#ifndef IOVKIT_IOMMU_INTERNAL_H
#define IOVKIT_IOMMU_INTERNAL_H

#include "../common/common-internal.h"
#include "iovkit/iommu.h"
#include "iovkit/pci.h"

struct iov_pci_inventory {
	struct iov_pci_dev *devs;   /* sorted by bdf */
	size_t n;
};

/* The sysfs directory of a PCI function, relative to the host root. */
#define PCI_DEV_DIR "sys/bus/pci/devices/%s"

/* Reads a device's bound driver into @buf ("" if unbound). Returns 0 or negative errno. */
int pci_driver_get(struct iov_ctx *ctx, const char *bdf, char *buf, size_t size);

/* Reads driver_override ("" for none: the kernel shows "(null)"). */
int pci_driver_override_get(struct iov_ctx *ctx, const char *bdf, char *buf, size_t size);

/* Whether VFIO accepts a device bound to @driver in a group it uses (see viability in group.c). */
bool driver_is_vfio_compatible(const char *driver);

/* Whether @driver is a VFIO driver: vfio-pci, or a vendor variant built on vfio-pci-core. */
bool driver_is_vfio(const char *driver);

#endif
