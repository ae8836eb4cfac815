/* SPDX-License-Identifier: MIT */
/*
 * The NVML loader against a stand-in library (fake-nvml.c, an H100 80GB in MIG mode with a
 * 3g.40gb instance at slice 4): what it reports, the planner table built from it, and a
 * library that is missing or lacks MIG.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../helpers/unit.h"
#include "iovkit/vgpu.h"

static const char *fake(void)
{
	const char *p = getenv("IOVKIT_FAKE_NVML");

	ASSERT_TRUE(p != NULL);
	return p;
}

static void test_report(void)
{
	json_t *gpus = NULL, *g, *p;
	char why[256] = "";
	size_t i;
	bool saw_3g = false;

	ASSERT_OK(iov_nvml_mig(fake(), &gpus, why, sizeof(why)));
	ASSERT_INT_EQ(json_array_size(gpus), 1);
	g = json_array_get(gpus, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(g, "name")), "NVIDIA H100 80GB HBM3");
	ASSERT_TRUE(json_is_true(json_object_get(json_object_get(g, "mig_mode"), "current")));
	ASSERT_INT_EQ(json_array_size(json_object_get(g, "profiles")), 6);
	json_array_foreach(json_object_get(g, "profiles"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), "3g.40gb")) {
			saw_3g = true;
			ASSERT_INT_EQ(json_integer_value(json_object_get(p, "size")), 4);
			ASSERT_INT_EQ(json_array_size(json_object_get(p, "starts")), 2);
			ASSERT_INT_EQ(json_integer_value(json_array_get(json_object_get(p, "starts"), 1)), 4);
		}
	ASSERT_TRUE(saw_3g);
	p = json_array_get(json_object_get(g, "gpu_instances"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "profile")), "3g.40gb");
	ASSERT_INT_EQ(json_integer_value(json_object_get(p, "start")), 4);
	json_decref(gpus);
}

/* The table NVML gives plans like the built-in one. */
static void test_table_from_nvml(void)
{
	const struct iov_mig_gpu *builtin = iov_mig_table("H100-80GB");
	struct iov_mig_gpu t;
	struct iov_mig_placement existing, out[2];
	unsigned int moved = 9, p4;
	json_t *gpus = NULL;
	char why[256] = "";

	ASSERT_OK(iov_nvml_mig(fake(), &gpus, why, sizeof(why)));
	ASSERT_OK(iov_mig_table_from_json(json_array_get(gpus, 0), &t, why, sizeof(why)));
	json_decref(gpus);
	ASSERT_INT_EQ(t.n_profiles, 6);
	for (size_t i = 0; i < builtin->n_profiles; i++) {
		int k = iov_mig_profile_find(&t, builtin->profiles[i].name);

		ASSERT_INT_GE(k, 0);
		ASSERT_INT_EQ(t.profiles[k].size, builtin->profiles[i].size);
		ASSERT_INT_EQ(t.profiles[k].compute, builtin->profiles[i].compute);
		ASSERT_INT_EQ(t.profiles[k].n_starts, builtin->profiles[i].n_starts);
	}
	/* The existing 3g at slice 4 leaves 0-3 for a 4g.40gb: nothing moves. */
	existing = (struct iov_mig_placement){ (unsigned int)iov_mig_profile_find(&t, "3g.40gb"), 4 };
	p4 = (unsigned int)iov_mig_profile_find(&t, "4g.40gb");
	ASSERT_OK(iov_mig_plan_change(&t, &existing, 1, &p4, 1, out, &moved, why, sizeof(why)));
	ASSERT_INT_EQ(moved, 0);
	ASSERT_INT_EQ(out[1].start, 0);
}

/* The vGPU scheduler: read, set, and every refusal before NVML is asked. The fake stays
 * loaded through the test (held here), so what is set is there for the next call. */
static void test_sched(void)
{
	struct iov_vgpu_sched_request req = { .policy = IOV_VGPU_SCHED_EQUAL_SHARE, .timeslice_ns = 10000000 };
	void *hold = dlopen(fake(), RTLD_NOW);
	int (*script)(int, int) = hold ? (int (*)(int, int))dlsym(hold, "fake_nvml_script") : NULL;
	json_t *gpus = NULL, *g;
	char why[256] = "";

	ASSERT_TRUE(script != NULL);
	ASSERT_OK(iov_nvml_sched(fake(), &gpus, why, sizeof(why)));
	g = json_array_get(gpus, 0);
	ASSERT_TRUE(json_is_true(json_object_get(g, "supported")));
	ASSERT_STR_EQ(json_string_value(json_object_get(g, "policy")), "best-effort");
	ASSERT_STR_EQ(json_string_value(json_object_get(g, "arr")), "disabled");
	ASSERT_INT_EQ(json_integer_value(json_object_get(g, "timeslice_ns")), 2000000);
	g = json_object_get(g, "capabilities");
	ASSERT_INT_EQ(json_array_size(json_object_get(g, "policies")), 3);
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(g, "policies"), 2)), "fixed-share");
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(g, "timeslice_ns"), "min")), 1000000);
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(g, "frequency"), "max")), 960);
	json_decref(gpus);

	ASSERT_OK(iov_nvml_sched_set(fake(), 0, &req, why, sizeof(why)));
	ASSERT_INT_EQ(script(1, 0), 1);
	ASSERT_OK(iov_nvml_sched(fake(), &gpus, why, sizeof(why)));
	g = json_array_get(gpus, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(g, "policy")), "equal-share");
	ASSERT_INT_EQ(json_integer_value(json_object_get(g, "timeslice_ns")), 10000000);
	json_decref(gpus);

	req = (struct iov_vgpu_sched_request){ .policy = IOV_VGPU_SCHED_BEST_EFFORT, .arr = true, .frequency = 200,
					       .avg_factor = 10 };
	ASSERT_OK(iov_nvml_sched_set(fake(), 0, &req, why, sizeof(why)));
	ASSERT_OK(iov_nvml_sched(fake(), &gpus, why, sizeof(why)));
	g = json_array_get(gpus, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(g, "arr")), "enabled");
	ASSERT_INT_EQ(json_integer_value(json_object_get(g, "avg_factor")), 10);
	ASSERT_INT_EQ(json_integer_value(json_object_get(g, "timeslice_ns")), 5000000);
	json_decref(gpus);
	ASSERT_INT_EQ(script(1, 0), 2);

	/* Refused before NVML hears of it. */
	req = (struct iov_vgpu_sched_request){ .policy = IOV_VGPU_SCHED_FIXED_SHARE, .timeslice_ns = 500000 };
	ASSERT_ERR(iov_nvml_sched_set(fake(), 0, &req, why, sizeof(why)), EINVAL);
	ASSERT_TRUE(strstr(why, "time slice (ns) 500000 is outside the GPU's range 1000000..30000000") != NULL);
	req = (struct iov_vgpu_sched_request){ .policy = IOV_VGPU_SCHED_EQUAL_SHARE, .arr = true };
	ASSERT_ERR(iov_nvml_sched_set(fake(), 0, &req, why, sizeof(why)), EINVAL);
	ASSERT_TRUE(strstr(why, "goes with the best-effort policy") != NULL);
	req = (struct iov_vgpu_sched_request){ .policy = IOV_VGPU_SCHED_BEST_EFFORT, .arr = true, .frequency = 2000 };
	ASSERT_ERR(iov_nvml_sched_set(fake(), 0, &req, why, sizeof(why)), EINVAL);
	ASSERT_TRUE(strstr(why, "ARR frequency 2000") != NULL);
	req = (struct iov_vgpu_sched_request){ .policy = IOV_VGPU_SCHED_BEST_EFFORT, .arr = true, .timeslice_ns = 2000000 };
	ASSERT_ERR(iov_nvml_sched_set(fake(), 0, &req, why, sizeof(why)), EINVAL);
	req = (struct iov_vgpu_sched_request){ .policy = 7 };
	ASSERT_ERR(iov_nvml_sched_set(fake(), 0, &req, why, sizeof(why)), EINVAL);
	req = (struct iov_vgpu_sched_request){ .policy = IOV_VGPU_SCHED_FIXED_SHARE };
	ASSERT_ERR(iov_nvml_sched_set(fake(), 3, &req, why, sizeof(why)), ENODEV);
	ASSERT_TRUE(strstr(why, "no NVIDIA GPU 3 (NVML counts 1)") != NULL);
	ASSERT_INT_EQ(script(1, 0), 2);

	/* NVML's own refusal while VMs run, and a GPU out of vGPU mode. */
	script(1, 1);
	ASSERT_ERR(iov_nvml_sched_set(fake(), 0, &req, why, sizeof(why)), EBUSY);
	ASSERT_TRUE(strstr(why, "only while no VM runs") != NULL);
	ASSERT_INT_EQ(script(0, 0), 2);
	ASSERT_ERR(iov_nvml_sched_set(fake(), 0, &req, why, sizeof(why)), EOPNOTSUPP);
	ASSERT_TRUE(strstr(why, "not in vGPU mode") != NULL);
	ASSERT_OK(iov_nvml_sched(fake(), &gpus, why, sizeof(why)));
	g = json_array_get(gpus, 0);
	ASSERT_TRUE(json_is_false(json_object_get(g, "supported")));
	ASSERT_TRUE(strstr(json_string_value(json_object_get(g, "reason")), "not in vGPU mode") != NULL);
	json_decref(gpus);
	script(1, 0);
	dlclose(hold);

	ASSERT_INT_EQ(iov_vgpu_sched_policy_parse("fixed-share"), IOV_VGPU_SCHED_FIXED_SHARE);
	ASSERT_ERR(iov_vgpu_sched_policy_parse("fair"), EINVAL);
	ASSERT_ERR(iov_vgpu_sched_policy_parse(NULL), EINVAL);
	ASSERT_STR_EQ(iov_vgpu_sched_policy_name(9), "unknown");
}

static void test_no_driver(void)
{
	json_t *gpus = NULL;
	char why[256] = "";

	ASSERT_ERR(iov_nvml_mig("/nonexistent/libnvidia-ml.so.1", &gpus, why, sizeof(why)), ENOENT);
	ASSERT_TRUE(strstr(why, "no NVIDIA driver here?") != NULL);
	/* A library that is not NVML. */
	ASSERT_ERR(iov_nvml_mig("libc.so.6", &gpus, why, sizeof(why)), ENOSYS);
	ASSERT_TRUE(strstr(why, "lacks nvmlInit_v2") != NULL);
}

UNIT_MAIN("gpu-vgpu/nvml",
	  UNIT_TEST(test_report),
	  UNIT_TEST(test_table_from_nvml),
	  UNIT_TEST(test_sched),
	  UNIT_TEST(test_no_driver))
