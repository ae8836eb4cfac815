/* SPDX-License-Identifier: MIT */
/*
 * What a host offers for device assignment: the IOMMU, VFIO, KVM, hugepages, the memlock limit
 * and SR-IOV capable devices, with a one-line fix for each missing prerequisite. Read entirely
 * through the context's host root, so it can describe a fixture tree or a lab guest as well as
 * the running host. Used by `iovctl host` and the daemon's host.info.
 */
#ifndef IOVKIT_HOST_H
#define IOVKIT_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "iovkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a kernel module is available, best knowledge first. */
enum iov_module_state {
	IOV_MODULE_UNKNOWN,   /* not loaded, and no module tree for this kernel to look in */
	IOV_MODULE_MISSING,   /* neither loaded, built in, nor in the module tree */
	IOV_MODULE_LOADABLE,  /* in the module tree, not loaded: modprobe would load it */
	IOV_MODULE_BUILTIN,   /* built into the kernel */
	IOV_MODULE_LOADED,    /* loaded now */
};

/* "unknown", "missing", "loadable", "builtin", "loaded". */
const char *iov_module_state_name(enum iov_module_state s);

enum iov_host_module {
	IOV_HOST_MOD_VFIO,
	IOV_HOST_MOD_VFIO_PCI,
	IOV_HOST_MOD_VFIO_IOMMU_TYPE1,
	IOV_HOST_MOD_IOMMUFD,
	IOV_HOST_MOD_KVM,
	IOV_HOST_MOD_COUNT,
};

struct iov_host_hugepages {
	uint64_t size_kib;
	uint64_t total;
	uint64_t free;
};

struct iov_host_sriov_dev {
	char bdf[16];
	uint16_t vendor, device;
	char driver[64];          /* "" when unbound */
	unsigned int totalvfs, numvfs;
};

/* A missing or doubtful prerequisite and what to do about it. */
struct iov_host_hint {
	const char *topic;        /* "iommu", "vfio", "kvm", "hugepages", "memlock" */
	bool required;            /* device assignment cannot work until it is fixed */
	char problem[256];
	char fix[200];
};

#define IOV_HOST_MAX_IOMMU_UNITS 16
#define IOV_HOST_MAX_HUGEPAGE_SIZES 4
#define IOV_HOST_MAX_HINTS 16

struct iov_host_report {
	char kernel_release[128];
	char cpu_vendor[16];            /* "intel", "amd", "" */

	/* IOMMU */
	unsigned int n_iommu_units;
	char iommu_units[IOV_HOST_MAX_IOMMU_UNITS][32];   /* dmar0, ivhd0, ... */
	char iommu_vendor[16];          /* "intel", "amd", "arm-smmu", "virtio", "" */
	char iommu_domain_type[16];     /* of the groups: "DMA", "DMA-FQ", "identity", "" */
	char iommu_cmdline[256];        /* intel_iommu=, amd_iommu=, iommu= parameters, space separated */
	unsigned int n_groups;

	/* VFIO and KVM */
	enum iov_module_state modules[IOV_HOST_MOD_COUNT];
	bool vfio_container;            /* /dev/vfio/vfio */
	bool iommufd_dev;               /* /dev/iommu */
	bool kvm_dev;                   /* /dev/kvm */
	int kvm_api_version;            /* KVM_GET_API_VERSION, or negative errno */

	/* Memory */
	unsigned int n_hugepage_sizes;
	struct iov_host_hugepages hugepages[IOV_HOST_MAX_HUGEPAGE_SIZES];
	uint64_t memlock_soft, memlock_hard;   /* bytes; UINT64_MAX means unlimited */
	bool cap_ipc_lock;              /* this process may pin memory past the limit */

	/* SR-IOV capable devices, in BDF order */
	unsigned int n_sriov;
	struct iov_host_sriov_dev *sriov;

	unsigned int n_hints;
	struct iov_host_hint hints[IOV_HOST_MAX_HINTS];
};

/*
 * Probes the host under @ctx's root. Missing parts of the tree are reported as absent, not as
 * errors: a host without an IOMMU yields a report that says so. Fails only on -ENOMEM or an
 * unexpected I/O error (with iov_ctx_reason() naming the path).
 * The caller owns *ret and frees it with iov_host_report_free().
 */
int iov_host_report_new(struct iov_ctx *ctx, struct iov_host_report **ret);

/* Frees a report; accepts NULL. */
void iov_host_report_free(struct iov_host_report *report);

/* The report as JSON (schema in docs/cli.md, "iovctl host"). The caller owns the reference. */
int iov_host_report_json(const struct iov_host_report *report, json_t **ret);

#ifdef __cplusplus
}
#endif
#endif
