/* SPDX-License-Identifier: MIT */
/*
 * sriov-mgr: SR-IOV physical functions and their virtual functions: what each PF offers,
 * which VF is which (index <-> PCI address through the virtfnN links), and creating or
 * destroying VFs the way the kernel requires, optionally handing them to vfio-pci.
 */
#ifndef IOVKIT_SRIOV_H
#define IOVKIT_SRIOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "iovkit/common.h"
#include "iovkit/pci.h"

#ifdef __cplusplus
extern "C" {
#endif

struct iov_sriov_vf {
	int index;                  /* virtfnN */
	char bdf[IOV_BDF_LEN];
	char driver[64];            /* "" when unbound */
	int iommu_group;            /* -1 without an IOMMU */
};

struct iov_sriov_pf {
	char bdf[IOV_BDF_LEN];
	uint16_t vendor, device;
	char driver[64];
	char netdev[32];            /* the PF's first network interface, "" if none */
	unsigned int totalvfs, numvfs;
	bool autoprobe;             /* sriov_drivers_autoprobe: new VFs get host drivers */
	uint16_t vf_device, vf_offset, vf_stride;
	size_t n_vfs;
	struct iov_sriov_vf *vfs;   /* by index */
};

/* The SR-IOV capable PFs, as a NULL-terminated list of BDFs (iov_strv_free). Returns the count. */
int iov_sriov_pf_list(struct iov_ctx *ctx, char ***ret);

/*
 * Reads PF @bdf. Errors: -EINVAL malformed address, -ENODEV no such device, -EOPNOTSUPP the
 * device has no SR-IOV capability; the reason says which. The caller owns *ret.
 */
int iov_sriov_pf_get(struct iov_ctx *ctx, const char *bdf, struct iov_sriov_pf **ret);
void iov_sriov_pf_free(struct iov_sriov_pf *pf);
int iov_sriov_pf_json(const struct iov_sriov_pf *pf, json_t **ret);

enum iov_autoprobe {
	IOV_AUTOPROBE_KEEP,         /* leave sriov_drivers_autoprobe as it is */
	IOV_AUTOPROBE_ON,
	IOV_AUTOPROBE_OFF,
};

struct iov_sriov_set_opts {
	enum iov_autoprobe autoprobe;
	bool vfio;                  /* bind every new VF's IOMMU group to vfio-pci (journaled) */
	unsigned int timeout_ms;    /* for the VFs to appear; 0: 10 s */
};

/*
 * Sets the number of VFs of PF @bdf to @numvfs. A non-zero count is changed through 0, as the
 * kernel requires; VFs being removed that iovkit had bound are dropped from the bind journal.
 * Waits until every new VF's device exists. Errors (nothing changed): -ENODEV, -EOPNOTSUPP as
 * for iov_sriov_pf_get, -ERANGE @numvfs above sriov_totalvfs; then -ETIMEDOUT when the VFs did
 * not appear in time, or the kernel's error writing sriov_numvfs (-ENOENT: the PF's driver
 * cannot create VFs; for vfio-pci its enable_sriov parameter must be set). With @opts->vfio a
 * failure binding a VF leaves the VFs created and says which one failed.
 */
int iov_sriov_set_numvfs(struct iov_ctx *ctx, const char *bdf, unsigned int numvfs, const struct iov_sriov_set_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
