/* SPDX-License-Identifier: MIT */
/*
 * IOMMU groups: members, reserved regions, viability as VFIO defines it, why devices share a
 * group (ACS), whether the host is using a device, and transactional whole-group binding to
 * vfio-pci with a journal that restores the original drivers.
 *
 * Binding writes sysfs (driver_override, unbind, drivers_probe, bind): only the process that
 * owns host state (iovkitd, or iovctl run by hand) should call the binding functions.
 */
#ifndef IOVKIT_IOMMU_H
#define IOVKIT_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "iovkit/common.h"
#include "iovkit/pci.h"

#ifdef __cplusplus
extern "C" {
#endif

struct iov_resv_region {
	uint64_t start, end;        /* inclusive */
	char type[24];              /* "msi", "direct", "direct-relaxable", "reserved" */
};

struct iov_group_member {
	char bdf[IOV_BDF_LEN];
	char driver[64];            /* "" if unbound */
	bool bridge;                /* bridges may stay with their driver */
	bool viable;                /* this member does not stop VFIO from using the group */
};

struct iov_group {
	int id;
	char type[16];              /* the domain type: "DMA", "DMA-FQ", "identity", "blocked", "" */
	char iommu[32];             /* the IOMMU unit that translates for it ("dmar0"), or "" */
	bool vfio_node;             /* /dev/vfio/<id> exists */

	size_t n_members;
	struct iov_group_member *members;
	size_t n_regions;
	struct iov_resv_region *regions;

	/*
	 * Viable: VFIO lets a user open the group. Every endpoint is unbound, bound to a VFIO driver,
	 * or to pci-stub; bridges may keep pcieport (drivers/vfio/group.c, and in 6.x the IOMMU
	 * core's DMA ownership: only drivers with driver_managed_dma may share a group with VFIO).
	 */
	bool viable;
	char breaker[IOV_BDF_LEN];  /* the first member that breaks viability, "" if viable */
	char why_not_viable[160];

	/* Why more than one function is in this group; NULL-terminated, empty for a lone device. */
	char **sharing;
};

/* The group ids under sys/kernel/iommu_groups, ascending. *ret is freed with free(). Returns the count. */
int iov_group_list(struct iov_ctx *ctx, int **ret);

/*
 * Reads group @id. @inv (may be NULL: read one) supplies the PCI topology for the sharing
 * explanation. Errors: -ENOENT (no such group; reason says so), -ENOMEM. The caller owns *ret.
 */
int iov_group_get(struct iov_ctx *ctx, const struct iov_pci_inventory *inv, int id, struct iov_group **ret);
void iov_group_free(struct iov_group *group);
int iov_group_json(const struct iov_group *group, json_t **ret);

/*
 * Group @id's reserved regions (sysfs reserved_regions), which no DMA mapping may overlap.
 * *ret is freed with free(); returns the count (0 when the group lists none).
 * Errors: -ENOENT no such group.
 */
int iov_group_reserved_regions(struct iov_ctx *ctx, int id, struct iov_resv_region **ret);

/*
 * The group of device @bdf: a PCI function (any form iov_pci_bdf_parse() accepts) or a
 * mediated device by its UUID. Returns the group id. Errors: -EINVAL neither form, -ENODEV no
 * such device, -ENOENT the device has no group (no IOMMU). The reason names the device.
 */
int iov_device_group(struct iov_ctx *ctx, const char *bdf);

/* ---- is the host using a device? ---- */

struct iov_inuse;

/* Reads the host's routes, mounts, swaps once, for many checks. The caller owns *ret. */
int iov_inuse_new(struct iov_ctx *ctx, struct iov_inuse **ret);
void iov_inuse_free(struct iov_inuse *inuse);

/*
 * Whether the host visibly uses @dev: its netdev carries the default route or has an address
 * (routes other than link-local), a block device on it is mounted, used for swap or held by
 * device-mapper/md, or it is the boot VGA device. Returns 1 and a sentence in @why, or 0.
 */
int iov_inuse_check(struct iov_inuse *inuse, const struct iov_pci_dev *dev, char *why, size_t size);

/* ---- binding ---- */

struct iov_bind_opts {
	const char *driver;         /* NULL: "vfio-pci" */
	bool force;                 /* bind even devices the host is using */
	/*
	 * Called on the calling thread after each device is moved (@done of @total). Return 0 to
	 * go on, or a negative errno to stop: the bind then fails with it and is rolled back.
	 * NULL: none. iovctl's test hooks use it to fail or to be killed half-way.
	 */
	int (*progress)(void *userdata, const char *bdf, unsigned int done, unsigned int total);
	void *userdata;
};

struct iov_bind_change {
	char bdf[IOV_BDF_LEN];
	char from[64];              /* driver before ("" unbound) */
	char to[64];                /* driver after */
};

struct iov_bind_result {
	int group;                  /* -1 for a restore of everything */
	size_t n;
	struct iov_bind_change *changes;   /* only the devices whose driver changed */
};
void iov_bind_result_free(struct iov_bind_result *result);
int iov_bind_result_json(const struct iov_bind_result *result, json_t **ret);

/*
 * Binds every endpoint of group @group to the driver (bridges keep theirs), transactionally:
 * each device's original driver and driver_override go into the journal before anything
 * changes; on any failure every device already changed is put back and the journal entry
 * dropped. A device bound before by this journal keeps its first recorded original.
 * Errors (nothing changed): -ENOENT no such group or driver not loaded, -EBUSY a member is in
 * use by the host (without force), -EIO the kernel did not bind (rolled back), -errno of a
 * sysfs write. iov_ctx_reason() names the device and the cause.
 * The result (devices changed) is written to *ret on success; the caller owns it.
 */
int iov_group_bind(struct iov_ctx *ctx, int group, const struct iov_bind_opts *opts, struct iov_bind_result **ret);

/*
 * Puts the devices of group @group (-1: every device in the journal) back on the drivers the
 * journal recorded, restores their driver_override, and drops their entries. Idempotent: a
 * device already back, or no entry at all, is success. On an error the remaining devices are
 * still tried and the first error is returned.
 */
int iov_group_restore(struct iov_ctx *ctx, int group, struct iov_bind_result **ret);

/*
 * Rolls back binds that a crash interrupted (journal entries still in state "binding").
 * Called by iov_group_bind() first; iovkitd calls it at start. Returns how many devices it
 * restored.
 */
int iov_bind_recover(struct iov_ctx *ctx);

/* The journal's path relative to the host root: <state dir>/bind-journal.json. */
#define IOV_BIND_JOURNAL "bind-journal.json"

#ifdef __cplusplus
}
#endif
#endif
