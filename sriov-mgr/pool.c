/* SPDX-License-Identifier: MIT */
/*
 * VF pools: definitions and allocations in <state dir>/pools.json (replaced atomically, so a
 * crash leaves the old state or the new). Membership is computed from the host each time, so a
 * pool follows VFs as they are created or removed; allocations name VFs by address.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "../common/common-internal.h"
#include "iovkit/sriov.h"
#include "vfnet-internal.h"

#define POOLS_FILE "pools.json"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_sriov_pf *, iov_sriov_pf_free)

static const char *const pools_keys[] = { "pools", "allocations", NULL };

static int load(struct iov_ctx *ctx, json_t **ret)
{
	return iov_state_load(ctx, POOLS_FILE, pools_keys, ret);
}

static int store(struct iov_ctx *ctx, json_t *root)
{
	return iov_state_save(ctx, POOLS_FILE, root, 0644);
}

static const char *const select_keys[] = { "vendor", "device", "driver", "pf", "pf_netdev", "link_type", "rdma" };

static int check_select(struct iov_ctx *ctx, json_t *sel)
{
	const char *key;
	json_t *v;

	if (!json_is_object(sel))
		return iov_ctx_fail(ctx, -EINVAL, "a pool's selector is an object");
	json_object_foreach(sel, key, v) {
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(select_keys); i++)
			known |= !strcmp(key, select_keys[i]);
		if (!known)
			return iov_ctx_fail(ctx, -EINVAL, "unknown selector \"%s\" (vendor, device, driver, pf, pf_netdev, link_type, rdma)", key);
		if (!strcmp(key, "rdma") ? !json_is_boolean(v) : !json_is_string(v))
			return iov_ctx_fail(ctx, -EINVAL, "selector \"%s\" takes %s", key, !strcmp(key, "rdma") ? "true or false" : "a string");
		if (!strcmp(key, "link_type") && strcmp(json_string_value(v), "ethernet") && strcmp(json_string_value(v), "infiniband"))
			return iov_ctx_fail(ctx, -EINVAL, "selector \"link_type\" is ethernet or infiniband");
	}
	return 0;
}

/* The settings a released VF returns to: the pool's defaults, or the safe ones. */
static int defaults_of(struct iov_ctx *ctx, json_t *pool, struct iov_vf_settings *s)
{
	json_t *d = json_object_get(pool, "defaults");

	if (d && !json_is_null(d))
		return vf_settings_from_json(ctx, "pool defaults", d, NULL, s);
	*s = (struct iov_vf_settings){
		.fields = IOV_VF_SET_MAC | IOV_VF_SET_VLAN | IOV_VF_SET_SPOOFCHK | IOV_VF_SET_TRUST | IOV_VF_SET_LINK_STATE,
		.spoofchk = true, .link_state = IOV_VF_LINK_AUTO,
	};
	return 0;
}

static bool str_matches(json_t *sel, const char *key, const char *value)
{
	const char *want = json_string_value(json_object_get(sel, key));

	return !want || !strcmp(want, value);
}

/* Every VF on the host that @sel selects, in address order (VFs of PFs in PF order). */
static int members(struct iov_ctx *ctx, json_t *sel, json_t **ret)
{
	_cleanup_free_ struct iov_rdma_dev *rdma = NULL;
	json_t *out = json_array();
	char **pfs = NULL;
	int n, n_rdma;

	n = iov_sriov_pf_list(ctx, &pfs);
	if (n < 0 || !out) {
		json_decref(out);
		return n < 0 ? n : -ENOMEM;
	}
	n_rdma = iov_rdma_list(ctx, &rdma);
	for (int i = 0; i < n; i++) {
		_cleanup_(iov_sriov_pf_freep) struct iov_sriov_pf *pf = NULL;
		char type[16] = "";
		const char *link = "";

		if (iov_sriov_pf_get(ctx, pfs[i], &pf) < 0)
			continue;
		if (pf->netdev[0] && iov_attr_read(ctx, type, sizeof(type), "sys/bus/pci/devices/%s/net/%s/type", pf->bdf, pf->netdev) > 0)
			link = !strcmp(type, "1") ? "ethernet" : !strcmp(type, "32") ? "infiniband" : "";
		if (!str_matches(sel, "pf", pf->bdf) || !str_matches(sel, "pf_netdev", pf->netdev) ||
		    !str_matches(sel, "link_type", link))
			continue;
		for (size_t k = 0; k < pf->n_vfs; k++) {
			const struct iov_sriov_vf *vf = &pf->vfs[k];
			char vendor[8], device[8];
			bool has_rdma = false;
			uint64_t v = 0, dv = 0;

			iov_attr_read_u64(ctx, &v, "sys/bus/pci/devices/%s/vendor", vf->bdf);
			iov_attr_read_u64(ctx, &dv, "sys/bus/pci/devices/%s/device", vf->bdf);
			snprintf(vendor, sizeof(vendor), "%04x", (unsigned int)v);
			snprintf(device, sizeof(device), "%04x", (unsigned int)dv);
			for (int r = 0; r < n_rdma; r++)
				has_rdma |= !strcmp(rdma[r].bdf, vf->bdf) || !strcmp(rdma[r].bdf, pf->bdf);
			if (!str_matches(sel, "vendor", vendor) || !str_matches(sel, "device", device) ||
			    !str_matches(sel, "driver", vf->driver) ||
			    (json_object_get(sel, "rdma") && json_is_true(json_object_get(sel, "rdma")) != has_rdma))
				continue;
			json_array_append_new(out, json_string(vf->bdf));
		}
	}
	iov_strv_free(pfs);
	*ret = out;
	return 0;
}

static bool name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n && n <= 64 && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

IOV_EXPORT int iov_pool_define(struct iov_ctx *ctx, const char *name, json_t *select, json_t *defaults)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	struct iov_vf_settings s;
	int r;

	iov_ctx_reason_clear(ctx);
	if (!name_ok(name))
		return iov_ctx_fail(ctx, -EINVAL, "'%s' is not a pool name (letters, digits, . _ -; at most 64)", name ? name : "");
	r = check_select(ctx, select);
	if (r == 0 && defaults)
		r = vf_settings_from_json(ctx, "pool defaults", defaults, NULL, &s);
	if (r == 0)
		r = load(ctx, &root);
	if (r < 0)
		return r;
	json_object_set_new(json_object_get(root, "pools"), name,
			    json_pack("{s:O,s:O}", "select", select, "defaults", defaults ? defaults : json_null()));
	return store(ctx, root);
}

IOV_EXPORT int iov_pool_delete(struct iov_ctx *ctx, const char *name)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	const char *bdf;
	json_t *a;
	int r;

	iov_ctx_reason_clear(ctx);
	r = load(ctx, &root);
	if (r < 0)
		return r;
	if (!name || !json_object_get(json_object_get(root, "pools"), name))
		return iov_ctx_fail(ctx, -ENOENT, "no pool '%s'", name ? name : "");
	json_object_foreach(json_object_get(root, "allocations"), bdf, a)
		if (!strcmp(json_string_value(json_object_get(a, "pool")), name))
			return iov_ctx_fail(ctx, -EBUSY, "pool '%s' still has %s allocated to %s", name, bdf,
					    json_string_value(json_object_get(a, "consumer")));
	json_object_del(json_object_get(root, "pools"), name);
	return store(ctx, root);
}

IOV_EXPORT int iov_pool_list(struct iov_ctx *ctx, json_t **ret)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	json_t *out = json_object(), *pool;
	const char *name;
	int r;

	iov_ctx_reason_clear(ctx);
	r = load(ctx, &root);
	if (r < 0 || !out) {
		json_decref(out);
		return r < 0 ? r : -ENOMEM;
	}
	json_object_foreach(json_object_get(root, "pools"), name, pool) {
		json_t *m = NULL, *alloc = json_object(), *a, *bdf;
		const char *key;
		size_t i, used = 0;

		r = members(ctx, json_object_get(pool, "select"), &m);
		if (r < 0) {
			json_decref(alloc);
			json_decref(out);
			return r;
		}
		json_object_foreach(json_object_get(root, "allocations"), key, a)
			if (!strcmp(json_string_value(json_object_get(a, "pool")), name))
				json_object_set(alloc, key, json_object_get(a, "consumer"));
		json_array_foreach(m, i, bdf)
			used += json_object_get(alloc, json_string_value(bdf)) != NULL;
		json_object_set_new(out, name, json_pack("{s:O,s:O,s:o,s:o,s:I}", "select", json_object_get(pool, "select"),
							 "defaults", json_object_get(pool, "defaults"), "members", m,
							 "allocated", alloc, "free", (json_int_t)(json_array_size(m) - used)));
	}
	*ret = out;
	return 0;
}

IOV_EXPORT int iov_pool_alloc(struct iov_ctx *ctx, const char *pool, const char *consumer, char ret[IOV_BDF_LEN])
{
	_cleanup_(json_decrefp) json_t *root = NULL, *m = NULL;
	json_t *p, *allocs, *bdf;
	size_t i;
	int r;

	iov_ctx_reason_clear(ctx);
	if (!consumer || !*consumer || strlen(consumer) > 128)
		return iov_ctx_fail(ctx, -EINVAL, "a consumer name (1-128 characters) is needed");
	r = load(ctx, &root);
	if (r < 0)
		return r;
	p = pool ? json_object_get(json_object_get(root, "pools"), pool) : NULL;
	if (!p)
		return iov_ctx_fail(ctx, -ENOENT, "no pool '%s'", pool ? pool : "");
	r = members(ctx, json_object_get(p, "select"), &m);
	if (r < 0)
		return r;
	allocs = json_object_get(root, "allocations");
	json_array_foreach(m, i, bdf) {
		if (json_object_get(allocs, json_string_value(bdf)))
			continue;
		json_object_set_new(allocs, json_string_value(bdf), json_pack("{s:s,s:s}", "pool", pool, "consumer", consumer));
		r = store(ctx, root);
		if (r < 0)
			return r;
		snprintf(ret, IOV_BDF_LEN, "%s", json_string_value(bdf));
		return 0;
	}
	return iov_ctx_fail(ctx, -ENOSPC, "pool '%s' has no free VF (%zu member(s), all allocated)", pool, json_array_size(m));
}

/* The PF interface and VF index of VF @bdf, for resetting it; netdev "" when the PF has none. */
static int vf_location(struct iov_ctx *ctx, const char *bdf, char *netdev, size_t size, unsigned int *index)
{
	_cleanup_(iov_sriov_pf_freep) struct iov_sriov_pf *pf = NULL;
	char pfbdf[IOV_BDF_LEN];
	int r;

	r = iov_link_basename(ctx, pfbdf, sizeof(pfbdf), "sys/bus/pci/devices/%s/physfn", bdf);
	if (r == -ENOENT)
		return iov_ctx_fail(ctx, -ENODEV, "%s is not a VF (any more?)", bdf);
	if (r < 0)   /* only a VF that is gone is freed without a reset */
		return iov_ctx_fail(ctx, r, "%s: reading its physfn link: %s", bdf, iov_strerror(r));
	r = iov_sriov_pf_get(ctx, pfbdf, &pf);
	if (r < 0)
		return r;
	for (size_t k = 0; k < pf->n_vfs; k++)
		if (!strcmp(pf->vfs[k].bdf, bdf)) {
			snprintf(netdev, size, "%s", pf->netdev);
			*index = (unsigned int)pf->vfs[k].index;
			return 0;
		}
	return iov_ctx_fail(ctx, -ENODEV, "%s is not among the VFs of %s", bdf, pfbdf);
}

IOV_EXPORT int iov_pool_release(struct iov_ctx *ctx, const char *bdf)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	char canon[IOV_BDF_LEN], netdev[32] = "";
	struct iov_vf_settings s;
	unsigned int index = 0;
	json_t *a, *pool;
	int r;

	iov_ctx_reason_clear(ctx);
	if (iov_pci_bdf_parse(bdf, canon) < 0)
		return iov_ctx_fail(ctx, -EINVAL, "'%s' is not a PCI address", bdf ? bdf : "");
	r = load(ctx, &root);
	if (r < 0)
		return r;
	a = json_object_get(json_object_get(root, "allocations"), canon);
	if (!a)
		return iov_ctx_fail(ctx, -ENOENT, "%s is not allocated from a pool", canon);
	pool = json_object_get(json_object_get(root, "pools"), json_string_value(json_object_get(a, "pool")));
	r = defaults_of(ctx, pool, &s);
	if (r < 0)
		return r;
	r = vf_location(ctx, canon, netdev, sizeof(netdev), &index);
	if (r < 0 && r != -ENODEV)
		return r;
	if (r == 0 && netdev[0]) {
		r = iov_vf_set(ctx, netdev, index, &s);
		if (r < 0) {
			char why[sizeof(ctx->reason)];

			snprintf(why, sizeof(why), "%s", ctx->reason);
			return iov_ctx_fail(ctx, r, "%s stays allocated: resetting it failed: %.400s", canon, why);
		}
	}
	/* A VF that is gone (its PF's VFs were removed) has nothing to reset: just free it. */
	json_object_del(json_object_get(root, "allocations"), canon);
	return store(ctx, root);
}
