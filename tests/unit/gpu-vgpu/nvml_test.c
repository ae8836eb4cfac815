/* SPDX-License-Identifier: MIT */
/*
 * The NVML loader against a stand-in library (fake-nvml.c, an H100 80GB in MIG mode with a
 * 3g.40gb instance at slice 4): what it reports, the planner table built from it, and a
 * library that is missing or lacks MIG.
 */
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
	  UNIT_TEST(test_no_driver))
