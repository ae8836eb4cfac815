/* SPDX-License-Identifier: MIT */
/*
 * NVIDIA's GPUs through NVML, loaded at run time (dlopen "libnvidia-ml.so.1"): no build-time
 * dependency, and a host without NVIDIA's driver simply has no MIG and no vGPU scheduler.
 * MIG is read-only: MIG mode, the GPU-instance profiles with their possible placements (which
 * NVML answers even with MIG disabled) and the existing GPU instances. The time-sliced vGPU
 * scheduler is read, and set only by iov_nvml_sched_set(), on request.
 *
 * The few NVML types used are declared here as nvml.h defines them (NVML API reference,
 * "Multi Instance GPU Management" and "vGPU Structs"); only the entry points below are called.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../common/common-internal.h"
#include "iovkit/vgpu.h"

typedef int nvml_return;            /* nvmlReturn_t: 0 NVML_SUCCESS */
typedef void *nvml_device;
typedef void *nvml_gpu_instance;

#define NVML_SUCCESS 0
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NO_PERMISSION 4
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_IN_USE 19
#define NVML_PROFILE_MAX 16         /* profile ids are small numbers; unknown ones answer NOT_SUPPORTED */

struct nvml_placement {             /* nvmlGpuInstancePlacement_t */
	unsigned int start, size;
};

struct nvml_profile_info {          /* nvmlGpuInstanceProfileInfo_t (v1) */
	unsigned int id, is_p2p_supported, slice_count, instance_count, multiprocessor_count, copy_engine_count,
		decoder_count, encoder_count, jpeg_count, ofa_count;
	unsigned long long memory_size_mb;
};

struct nvml_profile_info_v2 {       /* nvmlGpuInstanceProfileInfo_v2_t: v1 with a version and a name */
	unsigned int version, id, is_p2p_supported, slice_count, instance_count, multiprocessor_count,
		copy_engine_count, decoder_count, encoder_count, jpeg_count, ofa_count;
	unsigned long long memory_size_mb;
	char name[96];
};
/* NVML_STRUCT_VERSION(GpuInstanceProfileInfo, 2) */
#define NVML_PROFILE_INFO_V2 ((unsigned int)sizeof(struct nvml_profile_info_v2) | 2u << 24)

struct nvml_gpu_instance_info {     /* nvmlGpuInstanceInfo_t */
	nvml_device device;
	unsigned int id, profile_id;
	struct nvml_placement placement;
};

#define NVML_SCHED_POLICIES 3        /* NVML_SUPPORTED_VGPU_SCHEDULER_POLICY_COUNT */
#define NVML_SCHED_ARR_ENABLE 2       /* NVML_VGPU_SCHEDULER_ARR_{DEFAULT 0, DISABLE 1, ENABLE 2} */

struct nvml_sched_caps {            /* nvmlVgpuSchedulerCapabilities_t */
	unsigned int policies[NVML_SCHED_POLICIES];
	unsigned int max_timeslice, min_timeslice, arr_supported, max_frequency, min_frequency, max_avg_factor,
		min_avg_factor;
};

struct nvml_sched_state {           /* nvmlVgpuSchedulerGetState_t */
	unsigned int policy, arr_mode;
	union {                         /* nvmlVgpuSchedulerParams_t */
		struct { unsigned int avg_factor, timeslice; } arr;
		struct { unsigned int timeslice; } plain;
	} params;
};

struct nvml_sched_set {             /* nvmlVgpuSchedulerSetState_t */
	unsigned int policy, enable_arr;
	union {                         /* nvmlVgpuSchedulerSetParams_t */
		struct { unsigned int avg_factor, frequency; } arr;
		struct { unsigned int timeslice; } plain;
	} params;
};

struct nvml {
	void *lib;
	nvml_return (*init)(void);
	nvml_return (*shutdown)(void);
	const char *(*error_string)(nvml_return);
	nvml_return (*count)(unsigned int *);
	nvml_return (*handle)(unsigned int, nvml_device *);
	nvml_return (*name)(nvml_device, char *, unsigned int);
	nvml_return (*mig_mode)(nvml_device, unsigned int *, unsigned int *);
	nvml_return (*profile_info)(nvml_device, unsigned int, struct nvml_profile_info *);
	nvml_return (*profile_info_v)(nvml_device, unsigned int, struct nvml_profile_info_v2 *);
	nvml_return (*placements)(nvml_device, unsigned int, struct nvml_placement *, unsigned int *);
	nvml_return (*instances)(nvml_device, unsigned int, nvml_gpu_instance *, unsigned int *);
	nvml_return (*instance_info)(nvml_gpu_instance, struct nvml_gpu_instance_info *);
	nvml_return (*sched_caps)(nvml_device, struct nvml_sched_caps *);
	nvml_return (*sched_get)(nvml_device, struct nvml_sched_state *);
	nvml_return (*sched_set)(nvml_device, const struct nvml_sched_set *);
};

static int load(struct nvml *n, const char *path, char *why, size_t why_len)
{
	static const struct {
		const char *sym;
		size_t off;
		bool optional;
	} syms[] = {
		{ "nvmlInit_v2", offsetof(struct nvml, init), false },
		{ "nvmlShutdown", offsetof(struct nvml, shutdown), false },
		{ "nvmlErrorString", offsetof(struct nvml, error_string), true },
		{ "nvmlDeviceGetCount_v2", offsetof(struct nvml, count), false },
		{ "nvmlDeviceGetHandleByIndex_v2", offsetof(struct nvml, handle), false },
		{ "nvmlDeviceGetName", offsetof(struct nvml, name), false },
		{ "nvmlDeviceGetMigMode", offsetof(struct nvml, mig_mode), false },
		{ "nvmlDeviceGetGpuInstanceProfileInfo", offsetof(struct nvml, profile_info), false },
		{ "nvmlDeviceGetGpuInstanceProfileInfoV", offsetof(struct nvml, profile_info_v), true },
		{ "nvmlDeviceGetGpuInstancePossiblePlacements_v2", offsetof(struct nvml, placements), false },
		{ "nvmlDeviceGetGpuInstances", offsetof(struct nvml, instances), true },
		{ "nvmlGpuInstanceGetInfo", offsetof(struct nvml, instance_info), true },
		/* R525 and later */
		{ "nvmlDeviceGetVgpuSchedulerCapabilities", offsetof(struct nvml, sched_caps), true },
		{ "nvmlDeviceGetVgpuSchedulerState", offsetof(struct nvml, sched_get), true },
		{ "nvmlDeviceSetVgpuSchedulerState", offsetof(struct nvml, sched_set), true },
	};

	memset(n, 0, sizeof(*n));
	n->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!n->lib) {
		snprintf(why, why_len, "%s cannot be loaded (no NVIDIA driver here?): %s", path, dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(n->lib, syms[i].sym);

		if (!f && !syms[i].optional) {
			snprintf(why, why_len, "%s lacks %s (a driver older than MIG?)", path, syms[i].sym);
			dlclose(n->lib);
			return -ENOSYS;
		}
		memcpy((char *)n + syms[i].off, &f, sizeof(f));
	}
	return 0;
}

static const char *err(const struct nvml *n, nvml_return r)
{
	static char buf[32];

	if (n->error_string)
		return n->error_string(r);
	snprintf(buf, sizeof(buf), "NVML error %d", r);
	return buf;
}

/*
 * "3g.40gb": the driver's own name where it gives one (profile info v2, "MIG 3g.40gb"), else
 * made from the compute slices and the memory rounded to GiB (which can differ from NVIDIA's
 * marketing sizes by one).
 */
static void profile_name(struct nvml *n, nvml_device dev, unsigned int id, const struct nvml_profile_info *p,
			 char *buf, size_t size)
{
	struct nvml_profile_info_v2 v2 = { .version = NVML_PROFILE_INFO_V2 };

	if (n->profile_info_v && n->profile_info_v(dev, id, &v2) == NVML_SUCCESS && v2.name[0]) {
		v2.name[sizeof(v2.name) - 1] = '\0';
		snprintf(buf, size, "%s", strncmp(v2.name, "MIG ", 4) ? v2.name : v2.name + 4);
		return;
	}
	snprintf(buf, size, "%ug.%llugb", p->slice_count, (p->memory_size_mb + 512) / 1024);
}

static json_t *device_json(struct nvml *n, unsigned int index, nvml_device dev)
{
	char name[96] = "";
	unsigned int cur = 0, pending = 0;
	json_t *profiles = json_array(), *instances = json_array(), *j;
	bool mig_capable = n->mig_mode(dev, &cur, &pending) == NVML_SUCCESS;

	n->name(dev, name, sizeof(name));
	for (unsigned int id = 0; mig_capable && id < NVML_PROFILE_MAX; id++) {
		struct nvml_profile_info info;
		struct nvml_placement pl[8];
		unsigned int count = 8;
		json_t *starts;
		char pname[24];

		memset(&info, 0, sizeof(info));
		if (n->profile_info(dev, id, &info) != NVML_SUCCESS)
			continue;
		starts = json_array();
		if (n->placements(dev, id, pl, &count) != NVML_SUCCESS)
			count = 0;
		for (unsigned int k = 0; k < count && k < 8; k++)
			json_array_append_new(starts, json_integer(pl[k].start));
		profile_name(n, dev, id, &info, pname, sizeof(pname));
		json_array_append_new(profiles, json_pack("{s:i,s:s,s:i,s:I,s:i,s:i,s:o}", "id", id, "name", pname,
							  "compute", info.slice_count, "memory_mb",
							  (json_int_t)info.memory_size_mb, "max_instances", info.instance_count,
							  "size", count ? (int)pl[0].size : 0, "starts", starts));
		if (n->instances && n->instance_info) {
			nvml_gpu_instance gi[8];
			unsigned int ngi = 8;

			if (n->instances(dev, id, gi, &ngi) == NVML_SUCCESS)
				for (unsigned int k = 0; k < ngi && k < 8; k++) {
					struct nvml_gpu_instance_info ii;

					if (n->instance_info(gi[k], &ii) == NVML_SUCCESS)
						json_array_append_new(instances, json_pack("{s:i,s:s,s:i,s:i}", "id", ii.id,
											   "profile", pname, "start",
											   ii.placement.start, "size",
											   ii.placement.size));
				}
		}
	}
	j = json_pack("{s:i,s:s,s:b,s:o,s:o,s:o}", "index", index, "name", name, "mig_capable", mig_capable, "mig_mode",
		      mig_capable ? json_pack("{s:b,s:b}", "current", cur == 1, "pending", pending == 1) : json_null(),
		      "profiles", profiles, "gpu_instances", instances);
	return j;
}

/* Loads @lib (NULL: the driver's) and initializes NVML; nvml_close() undoes both. */
static int nvml_open(struct nvml *n, const char *lib, char *why, size_t why_len)
{
	nvml_return nr;
	int r = load(n, lib ? lib : "libnvidia-ml.so.1", why, why_len);

	if (r < 0)
		return r;
	nr = n->init();
	if (nr != NVML_SUCCESS) {
		snprintf(why, why_len, "nvmlInit: %s", err(n, nr));
		dlclose(n->lib);
		return -ENODEV;
	}
	return 0;
}

static void nvml_close(struct nvml *n)
{
	n->shutdown();
	dlclose(n->lib);
}

/* One JSON entry per GPU, made by @fn; -EIO when NVML cannot count them. */
static int nvml_each_gpu(const char *lib, json_t *(*fn)(struct nvml *, unsigned int, nvml_device), json_t **ret,
			 char *why, size_t why_len)
{
	struct nvml n;
	unsigned int count = 0;
	json_t *gpus;
	nvml_return nr;
	int r = nvml_open(&n, lib, why, why_len);

	if (r < 0)
		return r;
	gpus = json_array();
	nr = n.count(&count);
	for (unsigned int i = 0; gpus && nr == NVML_SUCCESS && i < count; i++) {
		nvml_device dev;

		if (n.handle(i, &dev) == NVML_SUCCESS)
			json_array_append_new(gpus, fn(&n, i, dev));
	}
	if (nr != NVML_SUCCESS)
		snprintf(why, why_len, "nvmlDeviceGetCount: %s", err(&n, nr));
	nvml_close(&n);
	if (nr != NVML_SUCCESS) {
		json_decref(gpus);
		return -EIO;
	}
	*ret = gpus;
	return 0;
}

IOV_EXPORT int iov_nvml_mig(const char *lib, json_t **ret, char *why, size_t why_len)
{
	return nvml_each_gpu(lib, device_json, ret, why, why_len);
}

/* ---- the time-sliced vGPU scheduler ---- */

static const char *const policy_names[] = { "unknown", "best-effort", "equal-share", "fixed-share" };

IOV_EXPORT const char *iov_vgpu_sched_policy_name(int policy)
{
	return policy > 0 && policy < (int)ARRAY_SIZE(policy_names) ? policy_names[policy] : "unknown";
}

IOV_EXPORT int iov_vgpu_sched_policy_parse(const char *name)
{
	for (int i = 1; name && i < (int)ARRAY_SIZE(policy_names); i++)
		if (!strcmp(name, policy_names[i]))
			return i;
	return -EINVAL;
}

static int nvml_errno(nvml_return r)
{
	switch (r) {
	case NVML_ERROR_INVALID_ARGUMENT: return -EINVAL;
	case NVML_ERROR_NOT_SUPPORTED: return -EOPNOTSUPP;
	case NVML_ERROR_NO_PERMISSION: return -EPERM;
	case NVML_ERROR_NOT_FOUND: return -ENODEV;
	case NVML_ERROR_IN_USE: return -EBUSY;
	default: return -EIO;
	}
}

static json_t *range_json(unsigned int min, unsigned int max)
{
	return json_pack("{s:i,s:i}", "min", min, "max", max);
}

static json_t *sched_json(struct nvml *n, unsigned int index, nvml_device dev)
{
	static const char *const arr_names[] = { "default", "disabled", "enabled" };
	struct nvml_sched_caps caps = { 0 };
	struct nvml_sched_state st = { 0 };
	char name[96] = "";
	json_t *j, *policies;
	nvml_return nr;
	bool arr;

	n->name(dev, name, sizeof(name));
	j = json_pack("{s:i,s:s}", "index", index, "name", name);
	if (!n->sched_caps || !n->sched_get) {
		json_object_set_new(j, "supported", json_false());
		json_object_set_new(j, "reason", json_string("the driver's NVML has no vGPU scheduler API (older than R525)"));
		return j;
	}
	nr = n->sched_caps(dev, &caps);
	if (nr == NVML_SUCCESS)
		nr = n->sched_get(dev, &st);
	if (nr != NVML_SUCCESS) {
		json_object_set_new(j, "supported", json_false());
		json_object_set_new(j, "reason", json_string(nr == NVML_ERROR_NOT_SUPPORTED ?
							     "not in vGPU mode (no time-sliced vGPUs on this GPU)" :
							     err(n, nr)));
		return j;
	}
	policies = json_array();
	for (unsigned int i = 0; i < NVML_SCHED_POLICIES; i++)
		if (caps.policies[i])
			json_array_append_new(policies, json_string(iov_vgpu_sched_policy_name((int)caps.policies[i])));
	arr = st.arr_mode == NVML_SCHED_ARR_ENABLE;
	json_object_set_new(j, "supported", json_true());
	json_object_set_new(j, "policy", json_string(iov_vgpu_sched_policy_name((int)st.policy)));
	json_object_set_new(j, "arr", json_string(st.arr_mode < ARRAY_SIZE(arr_names) ? arr_names[st.arr_mode] : "unknown"));
	json_object_set_new(j, "timeslice_ns", json_integer(arr ? st.params.arr.timeslice : st.params.plain.timeslice));
	json_object_set_new(j, "avg_factor", json_integer(arr ? st.params.arr.avg_factor : 0));
	json_object_set_new(j, "capabilities",
			    json_pack("{s:o,s:o,s:b,s:o,s:o}", "policies", policies, "timeslice_ns",
				      range_json(caps.min_timeslice, caps.max_timeslice), "arr_supported",
				      caps.arr_supported != 0, "frequency", range_json(caps.min_frequency, caps.max_frequency),
				      "avg_factor", range_json(caps.min_avg_factor, caps.max_avg_factor)));
	return j;
}

IOV_EXPORT int iov_nvml_sched(const char *lib, json_t **ret, char *why, size_t why_len)
{
	return nvml_each_gpu(lib, sched_json, ret, why, why_len);
}

/* @v (0: the driver's default) within [@min, @max], else -EINVAL naming @what. */
static int in_range(const char *what, unsigned int v, unsigned int min, unsigned int max, char *why, size_t why_len)
{
	if (v && (v < min || v > max)) {
		snprintf(why, why_len, "%s %u is outside the GPU's range %u..%u", what, v, min, max);
		return -EINVAL;
	}
	return 0;
}

/* The request against what the GPU offers; nothing is sent to NVML here. */
static int sched_check(const struct nvml_sched_caps *caps, const char *gpu, const struct iov_vgpu_sched_request *req,
		       char *why, size_t why_len)
{
	bool offered = false;
	char list[64] = "";

	for (unsigned int i = 0; i < NVML_SCHED_POLICIES; i++) {
		if (!caps->policies[i])
			continue;
		offered |= (int)caps->policies[i] == req->policy;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? ", " : "",
			 iov_vgpu_sched_policy_name((int)caps->policies[i]));
	}
	if (!offered) {
		snprintf(why, why_len, "%s does not offer the %s policy; it offers: %s", gpu,
			 iov_vgpu_sched_policy_name(req->policy), list[0] ? list : "none");
		return -EINVAL;
	}
	if (!req->arr)
		return in_range("time slice (ns)", req->timeslice_ns, caps->min_timeslice, caps->max_timeslice, why,
				why_len);
	if (!caps->arr_supported) {
		snprintf(why, why_len, "%s has no adaptive round robin", gpu);
		return -EOPNOTSUPP;
	}
	if (req->policy != IOV_VGPU_SCHED_BEST_EFFORT) {
		snprintf(why, why_len, "adaptive round robin goes with the best-effort policy, not %s",
			 iov_vgpu_sched_policy_name(req->policy));
		return -EINVAL;
	}
	if (req->timeslice_ns) {
		snprintf(why, why_len, "with adaptive round robin the driver sets the time slice: give a frequency and an averaging factor");
		return -EINVAL;
	}
	return in_range("ARR frequency", req->frequency, caps->min_frequency, caps->max_frequency, why, why_len) ?:
		       in_range("ARR averaging factor", req->avg_factor, caps->min_avg_factor, caps->max_avg_factor, why,
				why_len);
}

IOV_EXPORT int iov_nvml_sched_set(const char *lib, unsigned int index, const struct iov_vgpu_sched_request *req,
				  char *why, size_t why_len)
{
	struct nvml_sched_caps caps = { 0 };
	struct nvml_sched_set set = { 0 };
	unsigned int count = 0;
	char gpu[128], name[96] = "";
	nvml_device dev;
	nvml_return nr;
	struct nvml n;
	int r;

	if (req->policy < IOV_VGPU_SCHED_BEST_EFFORT || req->policy > IOV_VGPU_SCHED_FIXED_SHARE) {
		snprintf(why, why_len, "policy %d is none of best-effort, equal-share, fixed-share", req->policy);
		return -EINVAL;
	}
	r = nvml_open(&n, lib, why, why_len);
	if (r < 0)
		return r;
	if (n.count(&count) != NVML_SUCCESS || index >= count || n.handle(index, &dev) != NVML_SUCCESS) {
		snprintf(why, why_len, "no NVIDIA GPU %u (NVML counts %u)", index, count);
		r = -ENODEV;
		goto out;
	}
	n.name(dev, name, sizeof(name));
	snprintf(gpu, sizeof(gpu), "GPU %u (%s)", index, name);
	if (!n.sched_caps || !n.sched_set) {
		snprintf(why, why_len, "%s: the driver's NVML has no vGPU scheduler API (older than R525)", gpu);
		r = -EOPNOTSUPP;
		goto out;
	}
	nr = n.sched_caps(dev, &caps);
	if (nr != NVML_SUCCESS) {
		snprintf(why, why_len, "%s: %s", gpu, nr == NVML_ERROR_NOT_SUPPORTED ? "not in vGPU mode" : err(&n, nr));
		r = nvml_errno(nr);
		goto out;
	}
	r = sched_check(&caps, gpu, req, why, why_len);
	if (r < 0)
		goto out;
	set.policy = (unsigned int)req->policy;
	set.enable_arr = req->arr;
	if (req->arr) {
		set.params.arr.avg_factor = req->avg_factor;
		set.params.arr.frequency = req->frequency;
	} else {
		set.params.plain.timeslice = req->timeslice_ns;
	}
	nr = n.sched_set(dev, &set);
	if (nr != NVML_SUCCESS) {
		snprintf(why, why_len, "%s: NVML refused the scheduler change: %s%s", gpu, err(&n, nr),
			 nr == NVML_ERROR_IN_USE ? " (it changes only while no VM runs on the GPU)" : "");
		r = nvml_errno(nr);
	}
out:
	nvml_close(&n);
	return r;
}

IOV_EXPORT int iov_mig_table_from_json(json_t *gpu, struct iov_mig_gpu *ret, char *why, size_t why_len)
{
	json_t *p;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->model, sizeof(ret->model), "%s", json_string_value(json_object_get(gpu, "name")) ?: "GPU");
	ret->compute_slices = 7;
	ret->memory_slices = 8;
	json_array_foreach(json_object_get(gpu, "profiles"), i, p) {
		struct iov_mig_profile *mp;
		json_t *s;
		size_t k;

		if (ret->n_profiles == IOV_MIG_MAX_PROFILES)
			break;
		if (json_array_size(json_object_get(p, "starts")) == 0)
			continue;
		mp = &ret->profiles[ret->n_profiles++];
		snprintf(mp->name, sizeof(mp->name), "%s", json_string_value(json_object_get(p, "name")) ?: "?");
		mp->compute = (unsigned int)json_integer_value(json_object_get(p, "compute"));
		mp->size = (unsigned int)json_integer_value(json_object_get(p, "size"));
		json_array_foreach(json_object_get(p, "starts"), k, s)
			if (mp->n_starts < 8)
				mp->starts[mp->n_starts++] = (unsigned int)json_integer_value(s);
		if (!mp->compute || !mp->size || mp->size > 8 || mp->compute > 7) {
			snprintf(why, why_len, "profile %s: %u compute slices, %u memory slices: not a MIG profile", mp->name,
				 mp->compute, mp->size);
			return -EINVAL;
		}
	}
	if (!ret->n_profiles) {
		snprintf(why, why_len, "%s reports no GPU-instance profiles (not MIG-capable)", ret->model);
		return -ENOENT;
	}
	return 0;
}
