/* SPDX-License-Identifier: MIT */
/*
 * vgpu.*: GPUs and their partitions through gpu-vgpu — discovery, mdev types and instances
 * (created and removed only on request, checked first), NVIDIA VFs' vGPU types, NVIDIA MIG as
 * NVML reports it (read-only), the time-sliced vGPU scheduler, and the MIG placement planner.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "iovkit/vgpu.h"
#include "iovkit-internal/macro.h"

static int m_list(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct iov_gpu *g = NULL;
	json_t *arr;
	int n, r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	n = iov_gpu_list(d->ctx, &g);
	if (n < 0)
		return daemon_lib_fail(d, e, n, "listing GPUs");
	arr = json_array();
	for (int i = 0; arr && i < n; i++) {
		json_t *j = NULL;

		if (iov_gpu_json(&g[i], &j) == 0)
			json_array_append_new(arr, j);
	}
	free(g);
	*ret = arr;
	return arr ? 0 : -ENOMEM;
}

static int m_types(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct iov_mdev_type *t = NULL;
	const char *parent = NULL;
	json_t *arr;
	int n, r = iov_rpc_params(e, params, "{s?:s}", "parent", &parent);

	if (r < 0)
		return r;
	n = iov_mdev_types(d->ctx, parent, &t);
	if (n < 0)
		return daemon_lib_fail(d, e, n, parent ? parent : "mdev types");
	arr = json_array();
	for (int i = 0; arr && i < n; i++) {
		json_t *j = NULL;

		if (iov_mdev_type_json(&t[i], &j) == 0)
			json_array_append_new(arr, j);
	}
	iov_mdev_types_free(t, (size_t)n);
	*ret = arr;
	return arr ? 0 : -ENOMEM;
}

static int m_instances(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct iov_mdev *m = NULL;
	json_t *arr;
	int n, r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	n = iov_mdev_list(d->ctx, &m);
	if (n < 0)
		return daemon_lib_fail(d, e, n, "mdev instances");
	arr = json_array();
	for (int i = 0; arr && i < n; i++) {
		json_t *j = NULL;

		if (iov_mdev_json(&m[i], &j) == 0)
			json_array_append_new(arr, j);
	}
	free(m);
	*ret = arr;
	return arr ? 0 : -ENOMEM;
}

static int m_create(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	const char *parent, *type, *uuid = NULL;
	char got[IOV_UUID_LEN];
	int r = iov_rpc_params(e, params, "{s:s,s:s,s?:s}", "parent", &parent, "type", &type, "uuid", &uuid);

	if (r < 0)
		return r;
	r = iov_mdev_create(d->ctx, parent, type, uuid, got);
	if (r < 0)
		return daemon_lib_fail(d, e, r, "creating an mdev");
	dlog(5, "created mdev %s (%s on %s)", got, type, parent);
	host_cache_drop(d);
	daemon_event(d, "vgpu.created", json_pack("{s:s,s:s,s:s}", "uuid", got, "parent", parent, "type", type));
	*ret = json_pack("{s:s,s:s,s:s}", "uuid", got, "parent", parent, "type", type);
	return 0;
}

static int m_remove(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	const char *uuid;
	int r = iov_rpc_params(e, params, "{s:s}", "uuid", &uuid);

	if (r < 0)
		return r;
	r = iov_mdev_remove(d->ctx, uuid);
	if (r < 0)
		return daemon_lib_fail(d, e, r, "removing an mdev");
	dlog(5, "removed mdev %s", uuid);
	host_cache_drop(d);
	daemon_event(d, "vgpu.removed", json_pack("{s:s}", "uuid", uuid));
	*ret = json_true();
	return 0;
}

static int m_define(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	const char *parent, *type, *uuid = NULL;
	int autostart = 1, r = iov_rpc_params(e, params, "{s:s,s:s,s?:s,s?:b}", "parent", &parent, "type", &type, "uuid",
					       &uuid, "autostart", &autostart);
	char got[IOV_UUID_LEN];

	if (r < 0)
		return r;
	r = iov_mdev_define(d->ctx, parent, type, uuid, autostart, got);
	if (r < 0)
		return daemon_lib_fail(d, e, r, "defining an mdev");
	dlog(5, "defined mdev %s (%s on %s%s)", got, type, parent, autostart ? ", created at each start" : "");
	*ret = json_pack("{s:s,s:s,s:s,s:b}", "uuid", got, "parent", parent, "type", type, "autostart", autostart);
	return 0;
}

static int m_undefine(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	const char *uuid;
	int r = iov_rpc_params(e, params, "{s:s}", "uuid", &uuid);

	if (r < 0)
		return r;
	r = iov_mdev_undefine(d->ctx, uuid);
	if (r < 0)
		return daemon_lib_fail(d, e, r, "undefining an mdev");
	*ret = json_true();
	return 0;
}

static int m_definitions(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	r = iov_mdev_definitions(d->ctx, ret);
	return r < 0 ? daemon_lib_fail(d, e, r, "reading the mdev definitions") : 0;
}

/* A read-only NVML report (MIG, the vGPU scheduler); $IOVKIT_NVML_LIBRARY names another NVML. */
static int nvml_report(int (*report)(const char *, json_t **, char *, size_t), json_t *params, json_t **ret,
		       struct iov_rpc_error *e)
{
	char why[512] = "";
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	r = report(getenv("IOVKIT_NVML_LIBRARY"), ret, why, sizeof(why));
	return r < 0 ? iov_rpc_fail(e, IOV_RPC_FAILED, r, "%s", why) : 0;
}

static int m_mig(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	return nvml_report(iov_nvml_mig, params, ret, e);
}

static int m_sched(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	return nvml_report(iov_nvml_sched, params, ret, e);
}

static int m_sched_set(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct iov_vgpu_sched_request req = { 0 };
	json_int_t index, timeslice_us = 0, frequency = 0, avg_factor = 0;
	const char *policy;
	int arr = 0;
	char why[512] = "";
	int r = iov_rpc_params(e, params, "{s:I,s:s,s?:I,s?:b,s?:I,s?:I}", "index", &index, "policy", &policy,
			       "timeslice_us", &timeslice_us, "arr", &arr, "frequency", &frequency, "avg_factor",
			       &avg_factor);

	if (r < 0)
		return r;
	req.policy = iov_vgpu_sched_policy_parse(policy);
	if (req.policy < 0)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "policy \"%s\": best-effort, equal-share or fixed-share",
				    policy);
	if (index < 0 || index > 64 || timeslice_us < 0 || timeslice_us > 4000000 || frequency < 0 ||
	    frequency > 100000 || avg_factor < 0 || avg_factor > 100000)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0,
				    "index 0..64, timeslice_us 0..4000000, frequency and avg_factor 0..100000");
	req.arr = arr;
	req.timeslice_ns = (unsigned int)timeslice_us * 1000u;
	req.frequency = (unsigned int)frequency;
	req.avg_factor = (unsigned int)avg_factor;
	r = iov_nvml_sched_set(getenv("IOVKIT_NVML_LIBRARY"), (unsigned int)index, &req, why, sizeof(why));
	if (r < 0)
		return iov_rpc_fail(e, r == -EINVAL ? IOV_RPC_INVALID_PARAMS : IOV_RPC_FAILED, r, "%s", why);
	dlog(5, "GPU %lld: vGPU scheduler set to %s%s", (long long)index, policy, arr ? " with ARR" : "");
	daemon_event(d, "vgpu.sched", json_pack("{s:I,s:s,s:b}", "index", index, "policy", policy, "arr", arr));
	*ret = json_pack("{s:I,s:s,s:b}", "index", index, "policy", policy, "arr", arr);
	return *ret ? 0 : -ENOMEM;
}

static int m_vf_type(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	const char *bdf;
	json_int_t type;
	int r = iov_rpc_params(e, params, "{s:s,s:I}", "bdf", &bdf, "type", &type);

	if (r < 0)
		return r;
	if (type < 0 || type > UINT32_MAX)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "type: a vGPU type ID the VF lists, or 0 for none");
	r = iov_gpu_vf_type_set(d->ctx, bdf, (unsigned int)type);
	if (r < 0)
		return daemon_lib_fail(d, e, r, bdf);
	dlog(5, "%s: vGPU type %lld", bdf, (long long)type);
	daemon_event(d, "vgpu.vf_type", json_pack("{s:s,s:I}", "bdf", bdf, "type", type));
	*ret = json_pack("{s:s,s:I}", "bdf", bdf, "type", type);
	return *ret ? 0 : -ENOMEM;
}

static int m_plan(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	const char *model;
	json_t *want = NULL, *existing = NULL, *x;
	const struct iov_mig_gpu *gpu;
	struct iov_mig_placement have[IOV_MIG_MAX_INSTANCES], out[IOV_MIG_MAX_INSTANCES * 2];
	unsigned int add[IOV_MIG_MAX_INSTANCES], moved = 0;
	char why[512] = "";
	size_t i, n_have = 0;
	int n, r = iov_rpc_params(e, params, "{s:s,s:o,s?:o}", "gpu", &model, "profiles", &want, "existing", &existing);

	if (r < 0)
		return r;
	gpu = iov_mig_table(model);
	if (!gpu)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "no MIG table for \"%s\" (A100-40GB, A100-80GB, H100-80GB, "
				    "H200-141GB)", model);
	n = iov_mig_request_parse(gpu, want, add, IOV_MIG_MAX_INSTANCES, why, sizeof(why));
	if (n < 0)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "profiles: %s", why);
	if (existing && (!json_is_array(existing) || json_array_size(existing) > IOV_MIG_MAX_INSTANCES))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "existing: up to %d {profile, start}", IOV_MIG_MAX_INSTANCES);
	json_array_foreach(existing, i, x) {
		const char *p = json_string_value(json_object_get(x, "profile"));
		int k = p ? iov_mig_profile_find(gpu, p) : -1;

		if (k < 0 || !json_is_integer(json_object_get(x, "start")))
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "existing[%zu]: {\"profile\": a profile of the %s, "
					    "\"start\": its first memory slice}", i, gpu->model);
		have[n_have++] = (struct iov_mig_placement){ (unsigned int)k,
							     (unsigned int)json_integer_value(json_object_get(x, "start")) };
	}
	r = iov_mig_plan_change(gpu, have, n_have, add, (size_t)n, out, &moved, why, sizeof(why));
	if (r < 0)
		return iov_rpc_fail(e, r == -EINVAL ? IOV_RPC_INVALID_PARAMS : IOV_RPC_FAILED, r, "%s", why);
	*ret = json_pack("{s:s,s:o,s:i}", "gpu", gpu->model, "layout", iov_mig_layout_json(gpu, out, n_have + (size_t)n),
			 "moved", moved);
	return *ret ? 0 : -ENOMEM;
}

const struct iov_rpc_method vgpu_methods[] = {
	{ "vgpu.list", m_list, 0, "GPUs: IOMMU group, companions (audio), driver, mechanisms (mdev, sriov, VF vGPU types)",
	  NULL },
	{ "vgpu.types", m_types, 0, "mdev types with name, description, device_api, available instances",
	  "{\"type\":\"object\",\"properties\":{\"parent\":{\"type\":\"string\"}}}" },
	{ "vgpu.instances", m_instances, 0, "mdev instances: UUID, parent, type, IOMMU group", NULL },
	{ "vgpu.create", m_create, IOV_RPC_MUTATES, "creates an mdev instance (checked first: type, UUID, availability)",
	  "{\"type\":\"object\",\"required\":[\"parent\",\"type\"],\"properties\":{\"parent\":{\"type\":\"string\"},"
	  "\"type\":{\"type\":\"string\"},\"uuid\":{\"type\":\"string\"}}}" },
	{ "vgpu.remove", m_remove, IOV_RPC_MUTATES, "removes an mdev instance",
	  "{\"type\":\"object\",\"required\":[\"uuid\"],\"properties\":{\"uuid\":{\"type\":\"string\"}}}" },
	{ "vgpu.define", m_define, IOV_RPC_MUTATES,
	  "records an mdev instance to create at every iovkitd start (autostart, default true)",
	  "{\"type\":\"object\",\"required\":[\"parent\",\"type\"],\"properties\":{\"parent\":{\"type\":\"string\"},"
	  "\"type\":{\"type\":\"string\"},\"uuid\":{\"type\":\"string\"},\"autostart\":{\"type\":\"boolean\"}}}" },
	{ "vgpu.undefine", m_undefine, IOV_RPC_MUTATES, "forgets an mdev definition (the instance stays)",
	  "{\"type\":\"object\",\"required\":[\"uuid\"],\"properties\":{\"uuid\":{\"type\":\"string\"}}}" },
	{ "vgpu.definitions", m_definitions, 0, "the mdev definitions, and whether each instance exists now", NULL },
	{ "vgpu.mig", m_mig, 0, "NVIDIA MIG through NVML: mode, profiles and placements, GPU instances (read-only)", NULL },
	{ "vgpu.sched", m_sched, 0, "each NVIDIA GPU's time-sliced vGPU scheduler: policy, ARR, time slice, what it offers",
	  NULL },
	{ "vgpu.sched_set", m_sched_set, IOV_RPC_MUTATES,
	  "sets a GPU's vGPU scheduler (checked against what it offers; NVML refuses while VMs run on it)",
	  "{\"type\":\"object\",\"required\":[\"index\",\"policy\"],\"properties\":{\"index\":{\"type\":\"integer\"},"
	  "\"policy\":{\"enum\":[\"best-effort\",\"equal-share\",\"fixed-share\"]},\"timeslice_us\":{\"type\":\"integer\"},"
	  "\"arr\":{\"type\":\"boolean\"},\"frequency\":{\"type\":\"integer\"},\"avg_factor\":{\"type\":\"integer\"}}}" },
	{ "vgpu.vf_type", m_vf_type, IOV_RPC_MUTATES, "gives an NVIDIA VF a vGPU type it lists, or none (0)",
	  "{\"type\":\"object\",\"required\":[\"bdf\",\"type\"],\"properties\":{\"bdf\":{\"type\":\"string\"},"
	  "\"type\":{\"type\":\"integer\"}}}" },
	{ "vgpu.plan", m_plan, 0, "a MIG layout for the profiles asked, or the smallest change to an existing one",
	  "{\"type\":\"object\",\"required\":[\"gpu\",\"profiles\"],\"properties\":{\"gpu\":{\"enum\":[\"A100-40GB\","
	  "\"A100-80GB\",\"H100-80GB\",\"H200-141GB\"]},\"profiles\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"existing\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"profile\":{\"type\":\"string\"},"
	  "\"start\":{\"type\":\"integer\"}}}}}}" },
};
const size_t n_vgpu_methods = ARRAY_SIZE(vgpu_methods);
