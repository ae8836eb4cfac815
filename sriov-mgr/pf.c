/* SPDX-License-Identifier: MIT */
/*
 * PFs and VFs through sysfs (Documentation/ABI/testing/sysfs-bus-pci: sriov_totalvfs,
 * sriov_numvfs, sriov_drivers_autoprobe, sriov_offset, sriov_stride, sriov_vf_device, and the
 * virtfnN / physfn links).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/common-internal.h"
#include "iovkit/iommu.h"
#include "iovkit/sriov.h"

#define PCI_DEV "sys/bus/pci/devices/%s"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_pci_inventory *, iov_pci_inventory_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_sriov_pf *, iov_sriov_pf_free)

IOV_EXPORT void iov_sriov_pf_free(struct iov_sriov_pf *pf)
{
	if (!pf)
		return;
	free(pf->vfs);
	free(pf);
}

IOV_EXPORT int iov_sriov_pf_list(struct iov_ctx *ctx, char ***ret)
{
	_cleanup_(iov_pci_inventory_freep) struct iov_pci_inventory *inv = NULL;
	char **list;
	size_t n = 0;
	int r;

	r = iov_pci_inventory_new(ctx, &inv);
	if (r < 0)
		return r;
	list = calloc(iov_pci_inventory_count(inv) + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < iov_pci_inventory_count(inv); i++) {
		const struct iov_pci_dev *d = iov_pci_inventory_get(inv, i);

		if (!d->sriov)
			continue;
		list[n] = strdup(d->bdf);
		if (!list[n++]) {
			iov_strv_free(list);
			return -ENOMEM;
		}
	}
	*ret = list;
	return (int)n;
}

static unsigned int attr_uint(struct iov_ctx *ctx, const char *bdf, const char *name)
{
	uint64_t v = 0;

	iov_attr_read_u64(ctx, &v, PCI_DEV "/%s", bdf, name);
	return (unsigned int)v;
}

/* Checks @bdf names an SR-IOV PF; writes its canonical form. */
static int pf_check(struct iov_ctx *ctx, const char *bdf, char canon[IOV_BDF_LEN])
{
	if (iov_pci_bdf_parse(bdf, canon) < 0)
		return iov_ctx_fail(ctx, -EINVAL, "'%s' is not a PCI address (expected dddd:bb:dd.f or bb:dd.f)", bdf ? bdf : "");
	if (iov_path_exists(ctx, PCI_DEV, canon) <= 0)
		return iov_ctx_fail(ctx, -ENODEV, "%s: no such PCI device", canon);
	if (iov_path_exists(ctx, PCI_DEV "/sriov_totalvfs", canon) <= 0)
		return iov_ctx_fail(ctx, -EOPNOTSUPP, "%s has no SR-IOV capability%s", canon,
				    iov_path_exists(ctx, PCI_DEV "/physfn", canon) > 0 ? " (it is itself a VF)" : "");
	return 0;
}

IOV_EXPORT int iov_sriov_pf_get(struct iov_ctx *ctx, const char *bdf, struct iov_sriov_pf **ret)
{
	_cleanup_(iov_sriov_pf_freep) struct iov_sriov_pf *pf = NULL;
	char **net = NULL;
	int r;

	iov_ctx_reason_clear(ctx);
	pf = calloc(1, sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	r = pf_check(ctx, bdf, pf->bdf);
	if (r < 0)
		return r;
	pf->vendor = (uint16_t)attr_uint(ctx, pf->bdf, "vendor");
	pf->device = (uint16_t)attr_uint(ctx, pf->bdf, "device");
	pf->totalvfs = attr_uint(ctx, pf->bdf, "sriov_totalvfs");
	pf->numvfs = attr_uint(ctx, pf->bdf, "sriov_numvfs");
	pf->autoprobe = attr_uint(ctx, pf->bdf, "sriov_drivers_autoprobe") != 0;
	{
		/* Printed as bare hex ("154c"; drivers/pci/iov.c, sriov_vf_device_show). */
		char hex[16];

		if (iov_attr_read(ctx, hex, sizeof(hex), PCI_DEV "/sriov_vf_device", pf->bdf) > 0)
			pf->vf_device = (uint16_t)strtoul(hex, NULL, 16);
	}
	pf->vf_offset = (uint16_t)attr_uint(ctx, pf->bdf, "sriov_offset");
	pf->vf_stride = (uint16_t)attr_uint(ctx, pf->bdf, "sriov_stride");
	if (iov_link_basename(ctx, pf->driver, sizeof(pf->driver), PCI_DEV "/driver", pf->bdf) < 0)
		pf->driver[0] = '\0';
	if (iov_dir_list(ctx, &net, PCI_DEV "/net", pf->bdf) > 0)
		snprintf(pf->netdev, sizeof(pf->netdev), "%s", net[0]);
	iov_strv_free(net);

	/* VFs by index, up to the first missing virtfn link. */
	pf->vfs = calloc(pf->numvfs + 1, sizeof(*pf->vfs));
	if (!pf->vfs)
		return -ENOMEM;
	for (unsigned int i = 0; i < pf->numvfs; i++) {
		struct iov_sriov_vf *vf = &pf->vfs[pf->n_vfs];
		char group[32];

		if (iov_link_basename(ctx, vf->bdf, sizeof(vf->bdf), PCI_DEV "/virtfn%u", pf->bdf, i) < 0)
			break;
		vf->index = (int)i;
		if (iov_link_basename(ctx, vf->driver, sizeof(vf->driver), PCI_DEV "/driver", vf->bdf) < 0)
			vf->driver[0] = '\0';
		vf->iommu_group = iov_link_basename(ctx, group, sizeof(group), PCI_DEV "/iommu_group", vf->bdf) > 0 ? atoi(group) : -1;
		pf->n_vfs++;
	}
	*ret = TAKE_PTR(pf);
	return 0;
}

IOV_EXPORT int iov_sriov_pf_json(const struct iov_sriov_pf *pf, json_t **ret)
{
	json_t *vfs = json_array(), *j;
	char id[2][8], vfd[8];

	for (size_t i = 0; i < pf->n_vfs; i++) {
		const struct iov_sriov_vf *vf = &pf->vfs[i];

		json_array_append_new(vfs, json_pack("{s:i,s:s,s:o,s:o}", "index", vf->index, "bdf", vf->bdf, "driver",
						     vf->driver[0] ? json_string(vf->driver) : json_null(), "iommu_group",
						     vf->iommu_group >= 0 ? json_integer(vf->iommu_group) : json_null()));
	}
	snprintf(id[0], 8, "%04x", pf->vendor);
	snprintf(id[1], 8, "%04x", pf->device);
	snprintf(vfd, sizeof(vfd), "%04x", pf->vf_device);
	j = json_pack("{s:s,s:s,s:s,s:o,s:o,s:i,s:i,s:b,s:s,s:i,s:i,s:o}", "bdf", pf->bdf, "vendor", id[0], "device", id[1],
		      "driver", pf->driver[0] ? json_string(pf->driver) : json_null(), "netdev",
		      pf->netdev[0] ? json_string(pf->netdev) : json_null(), "totalvfs", pf->totalvfs, "numvfs", pf->numvfs,
		      "autoprobe", pf->autoprobe, "vf_device", vfd, "vf_offset", pf->vf_offset, "vf_stride", pf->vf_stride,
		      "vfs", vfs);
	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Waits until virtfn0..n-1 of @pf and their devices exist. */
static int wait_vfs(struct iov_ctx *ctx, const char *pf, unsigned int n, unsigned int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		unsigned int ready = 0;
		char vf[IOV_BDF_LEN];

		while (ready < n && iov_link_basename(ctx, vf, sizeof(vf), PCI_DEV "/virtfn%u", pf, ready) > 0 &&
		       iov_path_exists(ctx, PCI_DEV, vf) > 0)
			ready++;
		if (ready == n)
			return 0;
		if (now_ms() >= deadline)
			return iov_ctx_fail(ctx, -ETIMEDOUT, "%s: only %u of %u VFs appeared within %u ms", pf, ready, n, timeout_ms);
		struct timespec pause = { 0, 20 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
}

static int write_numvfs(struct iov_ctx *ctx, const char *pf, unsigned int n)
{
	char v[16];
	int r;

	snprintf(v, sizeof(v), "%u", n);
	r = iov_attr_write(ctx, v, PCI_DEV "/sriov_numvfs", pf);
	if (r == -ENOENT)
		return iov_ctx_fail(ctx, r, "%s: its driver cannot create VFs (unbound? for vfio-pci set its enable_sriov "
				    "parameter)", pf);
	if (r < 0)
		return iov_ctx_fail(ctx, r, "%s: writing %u to sriov_numvfs: %s", pf, n, iov_strerror(r));
	return 0;
}

/* ---- the journal of changes in flight ---- */

#define SRIOV_JOURNAL "sriov-journal.json"

static const char *const journal_keys[] = { "pending", NULL };

/* Records the change in flight on PF @bdf (@entry, stolen), or with @entry NULL clears it. */
static int journal_set(struct iov_ctx *ctx, const char *bdf, json_t *entry)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	int r = iov_state_load(ctx, SRIOV_JOURNAL, journal_keys, &root);

	if (r < 0) {
		json_decref(entry);
		return r;
	}
	if (entry)
		json_object_set_new(json_object_get(root, "pending"), bdf, entry);
	else if (json_object_del(json_object_get(root, "pending"), bdf) < 0)
		return 0;   /* nothing recorded: nothing to write */
	return iov_state_save(ctx, SRIOV_JOURNAL, root, 0600);
}

static const char *const autoprobe_names[] = {
	[IOV_AUTOPROBE_KEEP] = "keep", [IOV_AUTOPROBE_ON] = "on", [IOV_AUTOPROBE_OFF] = "off",
};

static int written(const struct iov_sriov_set_opts *opts, const char *pf, unsigned int n)
{
	return opts->progress ? opts->progress(opts->userdata, pf, n) : 0;
}

/* The change itself; *@removed says whether the old VFs are gone (so a failure rolls back). */
static int change_numvfs(struct iov_ctx *ctx, struct iov_sriov_pf *pf, unsigned int numvfs,
			 const struct iov_sriov_set_opts *opts, bool *removed)
{
	unsigned int timeout = opts->timeout_ms ? opts->timeout_ms : 10000;
	int r;

	if (opts->autoprobe != IOV_AUTOPROBE_KEEP) {
		r = iov_attr_write(ctx, opts->autoprobe == IOV_AUTOPROBE_ON ? "1" : "0", PCI_DEV "/sriov_drivers_autoprobe",
				   pf->bdf);
		if (r < 0)
			return iov_ctx_fail(ctx, r, "%s: setting sriov_drivers_autoprobe: %s", pf->bdf, iov_strerror(r));
	}
	if (pf->numvfs == numvfs)
		return 0;
	/* The kernel refuses to change a non-zero count directly (-EBUSY): go through 0. */
	if (pf->numvfs) {
		r = write_numvfs(ctx, pf->bdf, 0);
		if (r < 0)
			return r;
		*removed = true;
		/* VFs iovkit had bound are gone: drop their journal entries. */
		for (size_t i = 0; i < pf->n_vfs; i++) {
			struct iov_bind_result *res = NULL;

			if (pf->vfs[i].iommu_group >= 0 && iov_group_restore(ctx, pf->vfs[i].iommu_group, &res) == 0)
				iov_bind_result_free(res);
		}
		r = written(opts, pf->bdf, 0);
		if (r < 0)
			return iov_ctx_fail(ctx, r, "%s: stopped after removing the VFs: %s", pf->bdf, iov_strerror(r));
	}
	if (!numvfs)
		return 0;
	*removed = true;
	r = write_numvfs(ctx, pf->bdf, numvfs);
	if (r == 0)
		r = wait_vfs(ctx, pf->bdf, numvfs, timeout);
	if (r == 0 && (r = written(opts, pf->bdf, numvfs)) < 0)
		return iov_ctx_fail(ctx, r, "%s: stopped after creating the VFs: %s", pf->bdf, iov_strerror(r));
	return r;
}

/* After a failed change: back to @old VFs (through 0), the reason saying how that went. */
static void roll_back(struct iov_ctx *ctx, const char *bdf, unsigned int old)
{
	char why[sizeof(ctx->reason)];
	int r;

	snprintf(why, sizeof(why), "%s", ctx->reason);
	r = write_numvfs(ctx, bdf, 0);
	if (r == 0 && old)
		r = write_numvfs(ctx, bdf, old);
	if (r == 0)
		iov_ctx_fail(ctx, -EIO, "%.700s; put back to %u VF(s)", why, old);
	else
		iov_ctx_fail(ctx, r, "%.700s; putting back %u VF(s) failed too: %s", why, old, iov_strerror(r));
}

IOV_EXPORT int iov_sriov_set_numvfs(struct iov_ctx *ctx, const char *bdf, unsigned int numvfs,
				    const struct iov_sriov_set_opts *opts)
{
	static const struct iov_sriov_set_opts defaults = { 0 };
	_cleanup_(iov_sriov_pf_freep) struct iov_sriov_pf *pf = NULL;
	bool removed = false;
	int r;

	if (!opts)
		opts = &defaults;
	if ((unsigned int)opts->autoprobe >= ARRAY_SIZE(autoprobe_names))
		return iov_ctx_fail(ctx, -EINVAL, "autoprobe is keep, on or off");
	r = iov_sriov_pf_get(ctx, bdf, &pf);
	if (r < 0)
		return r;
	if (numvfs > pf->totalvfs)
		return iov_ctx_fail(ctx, -ERANGE, "%s supports at most %u VFs; %u asked", pf->bdf, pf->totalvfs, numvfs);
	r = journal_set(ctx, pf->bdf, json_pack("{s:i,s:i,s:s,s:b}", "numvfs", numvfs, "from", pf->numvfs, "autoprobe",
						  autoprobe_names[opts->autoprobe], "vfio", opts->vfio));
	if (r < 0)
		return r;
	r = change_numvfs(ctx, pf, numvfs, opts, &removed);
	if (r < 0) {
		if (removed)
			roll_back(ctx, pf->bdf, pf->numvfs);
		journal_set(ctx, pf->bdf, NULL);
		return r;
	}
	/* The count is as asked; a vfio-pci bind from here on has its own journal. */
	r = journal_set(ctx, pf->bdf, NULL);
	if (r < 0)
		return r;
	if (opts->vfio && numvfs) {
		iov_sriov_pf_free(TAKE_PTR(pf));
		r = iov_sriov_pf_get(ctx, bdf, &pf);
		if (r < 0)
			return r;
		for (size_t i = 0; i < pf->n_vfs; i++) {
			struct iov_bind_result *res = NULL;
			char reason[sizeof(ctx->reason)];

			if (pf->vfs[i].iommu_group < 0)
				return iov_ctx_fail(ctx, -ENOENT, "VF %d (%s) is in no IOMMU group: it cannot go to vfio-pci",
						    pf->vfs[i].index, pf->vfs[i].bdf);
			r = iov_group_bind(ctx, pf->vfs[i].iommu_group, NULL, &res);
			if (r < 0) {
				snprintf(reason, sizeof(reason), "%s", iov_ctx_reason(ctx));
				return iov_ctx_fail(ctx, r, "VF %d (%s): %.400s", pf->vfs[i].index, pf->vfs[i].bdf, reason);
			}
			iov_bind_result_free(res);
		}
	}
	return 0;
}

IOV_EXPORT int iov_sriov_recover(struct iov_ctx *ctx, json_t **ret_report)
{
	_cleanup_(json_decrefp) json_t *root = NULL, *report = json_array();
	const char *bdf;
	char first_reason[sizeof(ctx->reason)] = "";
	json_t *e;
	int r, first = 0;

	iov_ctx_reason_clear(ctx);
	r = iov_state_load(ctx, SRIOV_JOURNAL, journal_keys, &root);
	if (r < 0 || !report)
		return r < 0 ? r : -ENOMEM;
	json_object_foreach(json_object_get(root, "pending"), bdf, e) {
		struct iov_sriov_set_opts so = { .vfio = json_is_true(json_object_get(e, "vfio")) };
		json_int_t n = json_integer_value(json_object_get(e, "numvfs"));
		const char *ap = json_string_value(json_object_get(e, "autoprobe"));

		for (size_t i = 0; ap && i < ARRAY_SIZE(autoprobe_names); i++)
			if (!strcmp(ap, autoprobe_names[i]))
				so.autoprobe = (enum iov_autoprobe)i;
		r = iov_path_exists(ctx, PCI_DEV, bdf);
		if (r == 0) {
			journal_set(ctx, bdf, NULL);   /* the PF is gone: nothing to finish */
			json_array_append_new(report, json_pack("{s:s,s:I,s:s}", "pf", bdf, "numvfs", n, "error", "the PF is gone"));
			continue;
		}
		r = n < 0 || n > 65535 ? iov_ctx_fail(ctx, -EBADMSG, "%s: a bad count in the SR-IOV journal", bdf)
				       : iov_sriov_set_numvfs(ctx, bdf, (unsigned int)n, &so);
		json_array_append_new(report, json_pack("{s:s,s:I,s:o}", "pf", bdf, "numvfs", n, "error",
							r < 0 ? json_string(iov_ctx_reason(ctx)) : json_null()));
		if (r < 0 && !first) {
			first = r;
			snprintf(first_reason, sizeof(first_reason), "%s", iov_ctx_reason(ctx));
		}
		if (r < 0)
			journal_set(ctx, bdf, NULL);   /* iov_sriov_set_numvfs rolled back; the report says so */
	}
	if (ret_report)
		*ret_report = TAKE_PTR(report);
	return first ? iov_ctx_fail(ctx, first, "finishing an interrupted change: %.800s", first_reason) : 0;
}
