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
	/*
	 * Called after each write to sriov_numvfs with the count written. Return 0 to go on, or a
	 * negative errno to stop: the change then fails with it and is rolled back. NULL: none.
	 * iovctl's test hooks use it to fail or to be killed half-way.
	 */
	int (*progress)(void *userdata, const char *pf, unsigned int numvfs);
	void *userdata;
};

/*
 * Sets the number of VFs of PF @bdf to @numvfs. A non-zero count is changed through 0, as the
 * kernel requires; VFs being removed that iovkit had bound are dropped from the bind journal.
 * Waits until every new VF's device exists. Errors (nothing changed): -ENODEV, -EOPNOTSUPP as
 * for iov_sriov_pf_get, -ERANGE @numvfs above sriov_totalvfs; then -ETIMEDOUT when the VFs did
 * not appear in time, or the kernel's error writing sriov_numvfs (-ENOENT: the PF's driver
 * cannot create VFs; for vfio-pci its enable_sriov parameter must be set). If creating the
 * new VFs fails after the old ones were removed, the PF is put back to its old count (the
 * reason says whether that worked). With @opts->vfio a failure binding a VF leaves the VFs
 * created and says which one failed.
 *
 * The change is journaled (<state dir>/sriov-journal.json) until it is complete, so a crash
 * half-way (between removing the old VFs and creating the new) is finished by
 * iov_sriov_recover().
 */
int iov_sriov_set_numvfs(struct iov_ctx *ctx, const char *bdf, unsigned int numvfs, const struct iov_sriov_set_opts *opts);

/*
 * Finishes every change a crash left in the SR-IOV journal, by doing it again. @ret_report
 * (optional): [{pf, numvfs, error}] for each, "error" null when it was finished. Fails with the
 * first change's error that could not be finished (the others are still tried); an entry for a
 * PF that no longer exists is dropped. iov_sriov_config_apply() calls it first.
 */
int iov_sriov_recover(struct iov_ctx *ctx, json_t **ret_report);

/* ---- persistence: a declarative configuration ---- */

/*
 * A PF's stable name: the root-bus port it hangs from and the device.function of each hop
 * below, "pci-0000:00:01.0/00.0" (as udev's ID_PATH). Unlike a bus number or an IOMMU group,
 * it survives reboots and added cards. Returns its length.
 */
int iov_sriov_pf_path(struct iov_ctx *ctx, const char *bdf, char *buf, size_t size);

/*
 * Applies a configuration (docs/sriov.md):
 *   {"version": 1, "pfs": [{"pf": {"serial": "..."} | {"path": "pci-0000:00:01.0/00.0"} | {"bdf": "..."},
 *     "numvfs": N, "autoprobe": bool, "vfio": bool,
 *     "vfs": [{"index": I, "mac": "..", "vlan": V, "qos": Q, "vlan_proto": "802.1ad",
 *              "spoofchk": bool, "trust": bool, "link_state": "auto|enable|disable",
 *              "min_rate": M, "max_rate": M}]}]}
 * The whole configuration is checked first (types, ranges, every PF found exactly once);
 * anything wrong fails with -EINVAL and the reason, changing nothing. Then each PF is brought
 * to its state. Applying is idempotent: what is already so is left alone, so applying again
 * after a crash or at boot finishes or restores the configuration. *ret_report (may be NULL)
 * lists what changed: [{"pf": bdf, "numvfs": N, "vfio": bool, "vfs": n}].
 */
int iov_sriov_config_apply(struct iov_ctx *ctx, json_t *config, json_t **ret_report);

/* The current state of every PF with VFs, as a configuration apply() takes (PFs by path). */
int iov_sriov_config_save(struct iov_ctx *ctx, json_t **ret);

/* ---- VF pools ---- */

/*
 * Named pools of VFs, defined by selectors, from which VFs are allocated to consumers (VMs) and
 * released. Kept in <state dir>/pools.json, replaced atomically. A selector is a JSON object;
 * every key given must match a VF:
 *   "vendor", "device"  the VF's IDs ("8086", "154c")
 *   "driver"            the VF's current driver ("vfio-pci", "iavf")
 *   "pf"                the PF's PCI address;   "pf_netdev"  the PF's interface
 *   "link_type"         the PF interface's type: "ethernet" or "infiniband"
 *   "rdma"              true: the PF or VF has an RDMA device
 * "defaults" (optional) are the VF settings a released VF is reset to, as iov_vf_set takes
 * them in a configuration (docs/sriov.md); without it: MAC cleared, VLAN 0, spoof check on,
 * trust off, link state auto. Releasing a VF of a PF without a network interface (NVMe, say)
 * has no settings to reset.
 */
int iov_pool_define(struct iov_ctx *ctx, const char *name, json_t *select, json_t *defaults);

/* Removes a pool. -ENOENT no such pool, -EBUSY it has VFs allocated. */
int iov_pool_delete(struct iov_ctx *ctx, const char *name);

/* {name: {select, defaults, members: [bdf], allocated: {bdf: consumer}, free: n}}. */
int iov_pool_list(struct iov_ctx *ctx, json_t **ret);

/*
 * Allocates the first free VF of @pool (in address order) to @consumer and records it.
 * -ENOENT no such pool, -ENOSPC every matching VF is allocated (or none matches).
 */
int iov_pool_alloc(struct iov_ctx *ctx, const char *pool, const char *consumer, char ret[IOV_BDF_LEN]);

/*
 * Resets VF @bdf to its pool's defaults, so nothing of the last consumer's setup reaches the
 * next, then frees it. -ENOENT if it is not allocated. If the reset fails the VF stays
 * allocated and the error says why.
 */
int iov_pool_release(struct iov_ctx *ctx, const char *bdf);

/* ---- VF settings over netlink (a link change / RTM_GETLINK on the PF, IFLA_VF_*) ---- */

enum iov_vf_link_state {
	IOV_VF_LINK_AUTO = 0,       /* follows the PF's link (IFLA_VF_LINK_STATE_AUTO) */
	IOV_VF_LINK_ENABLE = 1,
	IOV_VF_LINK_DISABLE = 2,
};

/* Which fields of struct iov_vf_settings to apply, or which the kernel reported. */
enum iov_vf_set_field {
	IOV_VF_SET_MAC = 1 << 0,
	IOV_VF_SET_VLAN = 1 << 1,         /* vlan, qos, vlan_proto */
	IOV_VF_SET_SPOOFCHK = 1 << 2,
	IOV_VF_SET_TRUST = 1 << 3,
	IOV_VF_SET_LINK_STATE = 1 << 4,
	IOV_VF_SET_RATE = 1 << 5,         /* min_tx_rate, max_tx_rate */
	IOV_VF_SET_IB_GUIDS = 1 << 6,     /* node_guid, port_guid (InfiniBand VFs; set only) */
};

struct iov_vf_settings {
	unsigned int fields;
	uint8_t mac[6];                   /* all zero: clear the administrative MAC */
	uint16_t vlan;                    /* 0: none; 1-4094 */
	uint8_t qos;                      /* 0-7 */
	uint16_t vlan_proto;              /* 0x8100 (802.1Q, also when 0) or 0x88a8 (802.1ad) */
	bool spoofchk, trust;
	enum iov_vf_link_state link_state;
	uint32_t min_tx_rate, max_tx_rate;   /* Mbit/s, 0: no limit */
	uint64_t node_guid, port_guid;       /* IFLA_VF_IB_NODE_GUID / IFLA_VF_IB_PORT_GUID */
};

/* ---- RDMA devices of PFs and VFs ---- */

struct iov_rdma_dev {
	char name[64];              /* "mlx5_0", "rxe0" */
	char bdf[IOV_BDF_LEN];      /* the PCI function it is, or whose netdev it runs on; "" if none */
	char netdev[32];            /* its network interface (RoCE, soft-RoCE), "" if none */
	bool soft;                  /* a software device on a netdev (rxe, siw), not a function's own */
	uint64_t node_guid;
	unsigned int ports;
	char link_layer[16];        /* of port 1: "InfiniBand", "Ethernet" */
	char state[16];             /* of port 1: "ACTIVE", "DOWN", ... */
};

/*
 * The RDMA devices (sys/class/infiniband, what rdma-core's libibverbs enumerates), each matched
 * to its PCI function: directly through its device link, or through the network interface a
 * software device (soft-RoCE) runs on. *ret is freed with free(); returns the count.
 */
int iov_rdma_list(struct iov_ctx *ctx, struct iov_rdma_dev **ret);

/* Parses "aa:bb:cc:dd:ee:ff". -EINVAL otherwise. */
int iov_vf_mac_parse(const char *s, uint8_t mac[6]);

/*
 * Applies @s to VF @vf of the PF whose network interface is @pf_netdev: one link change per
 * setting, in the kernel's order (MAC, VLAN, rates, spoof check, link state, trust, GUIDs). Checked first, changing nothing when wrong (-EINVAL with the reason): a multicast MAC, a VLAN
 * above 4094, a QoS above 7, an unknown VLAN protocol, a minimum rate above the maximum;
 * -ENODEV no such interface; -ERANGE a VF index past the PF's sriov_numvfs. Then the kernel's
 * answer: -EOPNOTSUPP when the PF's driver does not implement that setting (many drivers lack
 * min_tx_rate or trust), or its error; the reason names the VF, the interface, the driver, the
 * setting refused and the settings applied before it (the kernel keeps those, as it would
 * within a single change).
 */
int iov_vf_set(struct iov_ctx *ctx, const char *pf_netdev, unsigned int vf, const struct iov_vf_settings *s);

/* Reads VF @vf's settings (RTM_GETLINK with the VF filter); ->fields says what the kernel gave. */
int iov_vf_get(struct iov_ctx *ctx, const char *pf_netdev, unsigned int vf, struct iov_vf_settings *ret);

/*
 * The network interface VF settings go through, for @pf: an interface name (returned as it
 * is) or a PCI address (its first interface). -ENODEV when the device has none.
 */
int iov_vf_pf_netdev(struct iov_ctx *ctx, const char *pf, char *buf, size_t size);

/*
 * VF settings as a configuration's vfs[] entries and pool defaults write them (docs/sriov.md):
 * {"mac", "vlan", "qos", "vlan_proto", "spoofchk", "trust", "link_state", "min_rate",
 * "max_rate"}, each optional; checked as iov_vf_set() would, so a bad value fails here
 * (-EINVAL, the reason naming @what and the key) before anything reaches the kernel.
 */
int iov_vf_settings_parse(struct iov_ctx *ctx, const char *what, json_t *o, struct iov_vf_settings *ret);

/* The same object for the fields @s has (->fields); NULL on allocation failure. */
json_t *iov_vf_settings_json(const struct iov_vf_settings *s);

#ifdef __cplusplus
}
#endif
#endif
