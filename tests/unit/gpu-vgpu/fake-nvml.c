/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for libnvidia-ml.so.1 with the entry points iovkit's NVML code calls, answering
 * as an H100 80GB in MIG mode with one GPU instance (3g.40gb at slice 4) would: the profile
 * table of NVIDIA's MIG User Guide, placements included. Its vGPU scheduler offers the three
 * policies, time slices of 1-30 ms and ARR, and remembers what is set while the module stays
 * loaded; fake_nvml_script() lets a test take vGPU mode away or pretend VMs run. Built as a
 * shared module for the gpu-vgpu unit tests, which load it in place of the driver's library.
 */
#include <stdio.h>
#include <string.h>

struct placement { unsigned int start, size; };
struct info { unsigned int id, p2p, slices, instances, sms, ce, dec, enc, jpeg, ofa; unsigned long long mem_mb; };
struct info_v2 { unsigned int version, id, p2p, slices, instances, sms, ce, dec, enc, jpeg, ofa; unsigned long long mem_mb; char name[96]; };
struct gi_info { void *device; unsigned int id, profile_id; struct placement placement; };

static const struct {
	unsigned int id, slices, size, max;
	unsigned long long mem_mb;
	const char *name;
	unsigned int n_starts, starts[7];
} profiles[] = {
	{ 0, 1, 1, 7, 9856, "MIG 1g.10gb", 7, { 0, 1, 2, 3, 4, 5, 6 } },
	{ 1, 2, 2, 3, 20096, "MIG 2g.20gb", 3, { 0, 2, 4 } },
	{ 2, 3, 4, 2, 40320, "MIG 3g.40gb", 2, { 0, 4 } },
	{ 3, 4, 4, 1, 40320, "MIG 4g.40gb", 1, { 0 } },
	{ 4, 7, 8, 1, 80768, "MIG 7g.80gb", 1, { 0 } },
	{ 9, 1, 2, 4, 20096, "MIG 1g.20gb", 4, { 0, 2, 4, 6 } },
};
static int dev_token, gi_token;

#define FIND(id) for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) if (profiles[i].id == (id))

int nvmlInit_v2(void) { return 0; }
int nvmlShutdown(void) { return 0; }
const char *nvmlErrorString(int r) { return r == 3 ? "Not Supported" : r == 19 ? "In use by another client" : "Unknown Error"; }
int nvmlDeviceGetCount_v2(unsigned int *n) { *n = 1; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **d) { *d = &dev_token; return i == 0 ? 0 : 2; }
int nvmlDeviceGetName(void *d, char *name, unsigned int len) { snprintf(name, len, "NVIDIA H100 80GB HBM3"); return 0; }
int nvmlDeviceGetMigMode(void *d, unsigned int *cur, unsigned int *pending) { *cur = 1; *pending = 1; return 0; }

int nvmlDeviceGetGpuInstanceProfileInfo(void *d, unsigned int id, struct info *out)
{
	FIND(id) {
		*out = (struct info){ .id = id, .slices = profiles[i].slices, .instances = profiles[i].max,
				      .mem_mb = profiles[i].mem_mb };
		return 0;
	}
	return 3;   /* NVML_ERROR_NOT_SUPPORTED */
}

int nvmlDeviceGetGpuInstanceProfileInfoV(void *d, unsigned int id, struct info_v2 *out)
{
	if (out->version != ((unsigned int)sizeof(struct info_v2) | 2u << 24))
		return 25;  /* NVML_ERROR_ARGUMENT_VERSION_MISMATCH */
	FIND(id) {
		out->id = id;
		out->slices = profiles[i].slices;
		out->instances = profiles[i].max;
		out->mem_mb = profiles[i].mem_mb;
		snprintf(out->name, sizeof(out->name), "%s", profiles[i].name);
		return 0;
	}
	return 3;
}

int nvmlDeviceGetGpuInstancePossiblePlacements_v2(void *d, unsigned int id, struct placement *p, unsigned int *count)
{
	FIND(id) {
		if (*count < profiles[i].n_starts) {
			*count = profiles[i].n_starts;
			return 7;   /* NVML_ERROR_INSUFFICIENT_SIZE */
		}
		for (unsigned int k = 0; k < profiles[i].n_starts; k++)
			p[k] = (struct placement){ profiles[i].starts[k], profiles[i].size };
		*count = profiles[i].n_starts;
		return 0;
	}
	return 3;
}

int nvmlDeviceGetGpuInstances(void *d, unsigned int id, void **gi, unsigned int *count)
{
	*count = id == 2 ? 1 : 0;
	if (id == 2)
		gi[0] = &gi_token;
	return 0;
}

int nvmlGpuInstanceGetInfo(void *gi, struct gi_info *out)
{
	*out = (struct gi_info){ &dev_token, 1, 2, { 4, 4 } };
	return 0;
}

/* ---- the vGPU scheduler ---- */

struct sched_caps { unsigned int policies[3], max_ts, min_ts, arr, max_freq, min_freq, max_avg, min_avg; };
struct sched_state { unsigned int policy, arr_mode, a, b; };    /* a, b: avgFactor+timeslice or timeslice */
struct sched_set { unsigned int policy, enable_arr, a, b; };    /* a, b: avgFactor+frequency or timeslice */

static struct sched_state state = { 1, 1, 2000000, 0 };   /* best effort, ARR off, 2 ms */
static int vgpu_mode = 1, vms_running, sets;

/* vGPU mode on or off, VMs running or not; returns how many sets reached the "driver". */
int fake_nvml_script(int mode, int vms)
{
	vgpu_mode = mode;
	vms_running = vms;
	return sets;
}

int nvmlDeviceGetVgpuSchedulerCapabilities(void *d, struct sched_caps *c)
{
	if (!vgpu_mode)
		return 3;
	*c = (struct sched_caps){ { 1, 2, 3 }, 30000000, 1000000, 1, 960, 64, 60, 1 };
	return 0;
}

int nvmlDeviceGetVgpuSchedulerState(void *d, struct sched_state *s)
{
	if (!vgpu_mode)
		return 3;
	*s = state;
	return 0;
}

int nvmlDeviceSetVgpuSchedulerState(void *d, const struct sched_set *s)
{
	if (!vgpu_mode)
		return 3;
	if (vms_running)
		return 19;  /* NVML_ERROR_IN_USE */
	sets++;
	/* ARR: the driver derives the time slice from the frequency (1 s / frequency). */
	state = s->enable_arr ? (struct sched_state){ s->policy, 2, s->a ? s->a : 33, 1000000000u / (s->b ? s->b : 480) }
			      : (struct sched_state){ s->policy, 1, s->a ? s->a : 2000000, 0 };
	return 0;
}
