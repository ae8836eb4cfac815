/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for libnvidia-ml.so.1 with the entry points iovkit's MIG code calls, answering
 * as an H100 80GB in MIG mode with one GPU instance (3g.40gb at slice 4) would: the profile
 * table of NVIDIA's MIG User Guide, placements included. Built as a shared module for the
 * gpu-vgpu unit tests, which load it in place of the driver's library.
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
const char *nvmlErrorString(int r) { return r == 3 ? "Not Supported" : "Unknown Error"; }
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
