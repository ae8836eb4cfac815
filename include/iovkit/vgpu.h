/* SPDX-License-Identifier: MIT */
/*
 * gpu-vgpu: GPUs and the ways they are split for guests — mediated devices (mdev types and
 * instances: NVIDIA vGPU on older drivers, Intel GVT-g, the kernel's sample mbochs/mdpy),
 * SR-IOV VFs (AMD MxGPU, Intel, NVIDIA's newer vGPU with a vendor VFIO driver and per-VF vGPU
 * types), and NVIDIA MIG instances, with a placement planner for MIG.
 *
 * Everything is read through the host-root layer, so fixture trees and the running host look
 * the same. Changes (creating and removing mdev instances) happen only on request and are
 * checked first: a bad request changes nothing.
 */
#ifndef IOVKIT_VGPU_H
#define IOVKIT_VGPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "iovkit/common.h"
#include "iovkit/pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- GPUs ---- */

enum iov_vgpu_mechanism {
	IOV_VGPU_MDEV = 1 << 0,         /* the device is an mdev parent (mdev_supported_types) */
	IOV_VGPU_SRIOV = 1 << 1,        /* it has SR-IOV VFs to give out */
	IOV_VGPU_VF_TYPES = 1 << 2,     /* a VF offers vendor vGPU types (NVIDIA's creatable_vgpu_types) */
};

#define IOV_GPU_MAX_COMPANIONS 7

struct iov_gpu {
	char bdf[IOV_BDF_LEN];
	uint16_t vendor, device;
	char vendor_name[64], device_name[128];
	char driver[64];                /* "" unbound */
	int iommu_group;                /* -1 none */
	bool boot_vga;                  /* the console's: passing it through takes the host's display */
	bool is_vf;
	char pf[IOV_BDF_LEN];           /* a VF's PF */
	/* The other functions of the same slot (HDMI/DP audio, USB-C controller): they go with it. */
	size_t n_companions;
	char companions[IOV_GPU_MAX_COMPANIONS][IOV_BDF_LEN];
	unsigned int mechanisms;        /* enum iov_vgpu_mechanism */
	unsigned int sriov_total, sriov_num;
	/* NVIDIA VF: the vGPU types it can take and the one it has (0: none), "" when not offered. */
	char vf_types[512];
	unsigned int vf_current_type;
};

/* The display-class functions (GPUs and their VFs), in BDF order. Returns the count; free(*ret). */
int iov_gpu_list(struct iov_ctx *ctx, struct iov_gpu **ret);
int iov_gpu_json(const struct iov_gpu *gpu, json_t **ret);

/*
 * Gives NVIDIA VF @bdf vGPU type @type_id (an ID its nvidia/creatable_vgpu_types lists), or
 * takes its type away with 0: the write to nvidia/current_vgpu_type that makes the VF a vGPU of
 * that size, ready for passthrough. Checked first, changing nothing on failure: -EINVAL
 * malformed address, -ENODEV no such device, -EOPNOTSUPP not a VF offering vGPU types, -ENOENT
 * an ID it does not list (the reason lists those it does), -EBUSY it has another type already
 * (take it away first). Setting the type it has, or 0 on a VF without one, changes nothing and
 * succeeds. Then the driver's answer to the write (-EBUSY while a VM uses the VF).
 */
int iov_gpu_vf_type_set(struct iov_ctx *ctx, const char *bdf, unsigned int type_id);

/* ---- mediated devices ---- */

/*
 * An mdev parent is named as the kernel's mdev_bus class names it: a PCI address for GPUs
 * ("0000:3b:00.0"; the short form "3b:00.0" is accepted too), a plain device name for the
 * others (the kernel's samples "mtty", "mdpy", "mbochs"; s390's "matrix").
 */
#define IOV_MDEV_PARENT_LEN 64

struct iov_mdev_type {
	char parent[IOV_MDEV_PARENT_LEN];
	char id[64];                    /* the type's directory: "nvidia-63", "i915-GVTg_V5_4" */
	char name[128];                 /* its "name" file, "" if absent */
	char description[512];
	char device_api[32];            /* "vfio-pci" */
	int available;                  /* available_instances; -1 unreadable */
	size_t n_instances;
	char (*instances)[IOV_UUID_LEN];
};

/* The types of @parent, or of every parent with NULL. Returns the count. */
int iov_mdev_types(struct iov_ctx *ctx, const char *parent, struct iov_mdev_type **ret);
void iov_mdev_types_free(struct iov_mdev_type *types, size_t n);
int iov_mdev_type_json(const struct iov_mdev_type *type, json_t **ret);

struct iov_mdev {
	char uuid[IOV_UUID_LEN];
	char parent[IOV_MDEV_PARENT_LEN];
	char type[64];
	int iommu_group;                /* mdevs get their own group; -1 if none */
	char driver[64];                /* vfio_mdev / bound driver, "" none */
};

/* The existing instances (sys/bus/mdev/devices). Returns the count; free(*ret). */
int iov_mdev_list(struct iov_ctx *ctx, struct iov_mdev **ret);
/* {uuid, parent, type, iommu_group (null: none), driver (null: none)} */
int iov_mdev_json(const struct iov_mdev *m, json_t **ret);

/*
 * Creates an instance of @type on @parent with @uuid (NULL: a random one), written into
 * @ret_uuid. Checked first, changing nothing on failure: -EINVAL a parent name that cannot be
 * one, -ENODEV no such parent, -EOPNOTSUPP a device that is not an mdev parent, -ENOENT no
 * such type, -EINVAL malformed UUID, -EEXIST UUID in use, -ENOSPC available_instances is 0.
 * Then the kernel's answer to the write of `create`.
 */
int iov_mdev_create(struct iov_ctx *ctx, const char *parent, const char *type, const char *uuid,
		    char ret_uuid[IOV_UUID_LEN]);

/* Removes instance @uuid. -EINVAL malformed, -ENOENT no such instance; then the kernel's answer. */
int iov_mdev_remove(struct iov_ctx *ctx, const char *uuid);

/*
 * Persistent definitions, as mdevctl keeps them but in iovkit's state directory (<state
 * dir>/mdev.json): an instance to create whenever its parent is there. Defining checks the
 * request (the type, when the parent is present) and changes nothing in sysfs.
 */
int iov_mdev_define(struct iov_ctx *ctx, const char *parent, const char *type, const char *uuid, bool autostart,
		    char ret_uuid[IOV_UUID_LEN]);
int iov_mdev_undefine(struct iov_ctx *ctx, const char *uuid);
/* [{uuid, parent, type, autostart, exists}] */
int iov_mdev_definitions(struct iov_ctx *ctx, json_t **ret);
/*
 * Creates every autostart definition that does not exist (iovkitd does this at start, so
 * definitions survive reboots). *@ret_report (optional): [{uuid, error}]. Returns the first
 * failure, the others still tried.
 */
int iov_mdev_start_defined(struct iov_ctx *ctx, json_t **ret_report);

/* ---- MIG placement planning ---- */

#define IOV_MIG_MAX_PROFILES 12
#define IOV_MIG_MAX_INSTANCES 8

struct iov_mig_profile {
	char name[24];                  /* "3g.40gb" */
	unsigned int compute;           /* compute slices (GPCs) */
	unsigned int size;              /* memory slices it occupies */
	unsigned int n_starts;
	unsigned int starts[8];         /* the memory slices it may start at */
};

struct iov_mig_gpu {
	char model[32];                 /* "H100-80GB" */
	unsigned int compute_slices, memory_slices;
	size_t n_profiles;
	struct iov_mig_profile profiles[IOV_MIG_MAX_PROFILES];
};

/* The built-in table of @model ("A100-40GB", "A100-80GB", "H100-80GB", "H200-141GB"), or NULL. */
const struct iov_mig_gpu *iov_mig_table(const char *model);
/* The names of the built-in tables, NULL-terminated. */
const char *const *iov_mig_models(void);
/* Profile @name's index in @gpu, or -1. */
int iov_mig_profile_find(const struct iov_mig_gpu *gpu, const char *name);

struct iov_mig_placement {
	unsigned int profile;           /* index into gpu->profiles */
	unsigned int start;             /* first memory slice */
};

/*
 * Places @n instances of the profiles @profiles (indexes into @gpu) so that none overlap in
 * memory slices and their compute slices fit: exact (every placement is tried where needed).
 * On success returns 0 with @ret[i] the placement of @profiles[i]. Otherwise -ENOSPC and @why
 * says why ("7 compute slices asked, the GPU has 7"; "4g.40gb can start only at slice 0"),
 * or -EINVAL for a profile index out of range.
 */
int iov_mig_plan(const struct iov_mig_gpu *gpu, const unsigned int *profiles, size_t n, struct iov_mig_placement *ret,
		 char *why, size_t why_len);

/*
 * The smallest change to an existing layout that admits new instances: @existing stays where
 * it is unless moving some of it is needed, and then as few as possible move. @ret gets
 * @n_existing + @n_add placements (the existing ones first, in order); *@ret_moved how many of
 * the existing ones moved. -ENOSPC with @why when even a fresh layout cannot hold them all;
 * -EINVAL when @existing itself overlaps or is not a valid placement.
 */
int iov_mig_plan_change(const struct iov_mig_gpu *gpu, const struct iov_mig_placement *existing, size_t n_existing,
			const unsigned int *add, size_t n_add, struct iov_mig_placement *ret, unsigned int *ret_moved,
			char *why, size_t why_len);

/* Whether @p (n entries) is a valid layout: allowed starts, no overlap, compute fits. */
bool iov_mig_layout_valid(const struct iov_mig_gpu *gpu, const struct iov_mig_placement *p, size_t n);

/* [{profile, start, size, compute}] for a layout. */
json_t *iov_mig_layout_json(const struct iov_mig_gpu *gpu, const struct iov_mig_placement *p, size_t n);

/*
 * Profile names (a JSON array of strings, 1 to @max) into indexes of @gpu. Returns the count,
 * or -EINVAL with @why naming the unknown profile and listing the GPU's.
 */
int iov_mig_request_parse(const struct iov_mig_gpu *gpu, json_t *names, unsigned int *ret, size_t max, char *why,
			  size_t why_len);

/* ---- MIG on the real GPU, through NVML (read-only) ---- */

/*
 * Asks NVML (@lib, NULL: "libnvidia-ml.so.1", loaded now and unloaded before returning) about
 * every NVIDIA GPU: [{index, name, mig_capable, mig_mode: {current, pending}, profiles: [{id,
 * name, compute, memory_mb, max_instances, size, starts}], gpu_instances: [{id, profile,
 * start, size}]}]. Changes nothing. -ENOENT the library is not there (no NVIDIA driver),
 * -ENOSYS it lacks the MIG entry points, -ENODEV nvmlInit failed; @why says which.
 */
int iov_nvml_mig(const char *lib, json_t **ret, char *why, size_t why_len);

/* A planner table from one GPU of iov_nvml_mig()'s answer. -ENOENT when it has no profiles. */
int iov_mig_table_from_json(json_t *gpu, struct iov_mig_gpu *ret, char *why, size_t why_len);

/* ---- time-sliced vGPU scheduling, through NVML ---- */

/* How a GPU shares its time among its time-sliced vGPUs (NVML_VGPU_SCHEDULER_POLICY_*). */
enum iov_vgpu_sched_policy {
	IOV_VGPU_SCHED_UNKNOWN = 0,
	IOV_VGPU_SCHED_BEST_EFFORT = 1, /* round robin; an idle vGPU's time goes to the busy ones */
	IOV_VGPU_SCHED_EQUAL_SHARE = 2, /* each running vGPU gets the same share */
	IOV_VGPU_SCHED_FIXED_SHARE = 3, /* each vGPU gets its type's share, running or not */
};

/* "best-effort", "equal-share", "fixed-share" ("unknown" otherwise), and back (-EINVAL). */
const char *iov_vgpu_sched_policy_name(int policy);
int iov_vgpu_sched_policy_parse(const char *name);

struct iov_vgpu_sched_request {
	int policy;                     /* IOV_VGPU_SCHED_BEST_EFFORT.. */
	bool arr;                       /* adaptive round robin (best effort only) */
	unsigned int timeslice_ns;      /* without ARR; 0: the driver's default */
	unsigned int avg_factor, frequency;   /* with ARR; 0: the driver's default */
};

/*
 * Each NVIDIA GPU's vGPU scheduler, as NVML reports it: [{index, name, supported, policy,
 * arr ("default"/"disabled"/"enabled"), timeslice_ns, avg_factor, capabilities: {policies,
 * timeslice_ns: {min, max}, arr_supported, frequency: {min, max}, avg_factor: {min, max}}}];
 * a GPU that is not in vGPU mode has supported false and a reason. Changes nothing. Errors as
 * iov_nvml_mig().
 */
int iov_nvml_sched(const char *lib, json_t **ret, char *why, size_t why_len);

/*
 * Sets GPU @index's scheduler. Checked first against the GPU's capabilities, changing nothing
 * on failure: -EINVAL a policy it does not list, a time slice, frequency or averaging factor
 * outside its range, ARR with a policy other than best effort; -EOPNOTSUPP ARR where it has
 * none, or a GPU not in vGPU mode; -ENODEV no GPU @index. Then NVML's answer: it refuses while
 * any VM runs on the GPU (-EBUSY). The setting lasts until the NVIDIA module is reloaded.
 */
int iov_nvml_sched_set(const char *lib, unsigned int index, const struct iov_vgpu_sched_request *req, char *why,
		       size_t why_len);

#ifdef __cplusplus
}
#endif
#endif
