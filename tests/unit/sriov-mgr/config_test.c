/* SPDX-License-Identifier: MIT */
/* Declarative SR-IOV state on the standard fixture host, with the fake kernel. */
#include <stdlib.h>

#include "../../../common/common-internal.h"
#include "../helpers/unit.h"
#include "iovkit/sriov.h"

static struct fixture *fx;
static struct iov_ctx *ctx;
static struct fake_kernel fk;

static void setup(void)
{
	fake_sriov_host(&fx, &ctx, &fk);
}

static void teardown(void)
{
	iov_ctx_free(ctx);
	fx_free(fx);
}

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	ASSERT_TRUE(j != NULL);
	return j;
}

static void test_path(void)
{
	char path[128];

	setup();
	ASSERT_INT_GE(iov_sriov_pf_path(ctx, "01:00.0", path, sizeof(path)), 1);
	ASSERT_STR_EQ(path, "pci-0000:00:01.0/00.0");
	ASSERT_INT_GE(iov_sriov_pf_path(ctx, "00:1f.2", path, sizeof(path)), 1);
	ASSERT_STR_EQ(path, "pci-0000:00:1f.2");
	ASSERT_ERR(iov_sriov_pf_path(ctx, "09:00.0", path, sizeof(path)), ENODEV);
	teardown();
}

static void test_save_apply_converge(void)
{
	json_t *saved = NULL, *report = NULL, *cfg;
	struct iov_sriov_pf *pf = NULL;

	setup();
	ASSERT_OK(iov_sriov_config_save(ctx, &saved));
	if (saved) {
		/* The PF has a Device Serial Number: that names it, wherever the card sits. */
		ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(saved, "pfs"), 0), "pf"),
								"serial")),
			      "3c-fd-fe-ff-ff-a1-b2-c3");
		ASSERT_INT_EQ(json_integer_value(json_object_get(json_array_get(json_object_get(saved, "pfs"), 0), "numvfs")), 2);
	}
	/* A new state: 3 VFs on vfio-pci. */
	cfg = parse("{\"version\": 1, \"pfs\": [{\"pf\": {\"path\": \"pci-0000:00:01.0/00.0\"}, \"numvfs\": 3,"
		    " \"autoprobe\": false, \"vfio\": true}]}");
	ASSERT_OK(iov_sriov_config_apply(ctx, cfg, &report));
	ASSERT_INT_EQ(json_array_size(report), 1);
	json_decref(report);
	report = NULL;
	ASSERT_OK(iov_sriov_pf_get(ctx, "01:00.0", &pf));
	if (pf) {
		ASSERT_INT_EQ(pf->n_vfs, 3);
		ASSERT_STR_EQ(pf->vfs[2].driver, "vfio-pci");
		ASSERT_FALSE(pf->autoprobe);
	}
	iov_sriov_pf_free(pf);
	pf = NULL;
	/* Applying again changes nothing the kernel sees. */
	fk.writes = 0;
	ASSERT_OK(iov_sriov_config_apply(ctx, cfg, NULL));
	ASSERT_INT_EQ(iov_sriov_pf_get(ctx, "01:00.0", &pf), 0);
	if (pf)
		ASSERT_INT_EQ(pf->n_vfs, 3);
	iov_sriov_pf_free(pf);
	/* "Reboot": the VFs are gone; applying the saved state brings the original 2 back. */
	ASSERT_OK(iov_sriov_set_numvfs(ctx, "01:00.0", 0, NULL));
	ASSERT_OK(iov_sriov_config_apply(ctx, cfg, NULL));
	ASSERT_STR_EQ(fx_read(fx, "sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"), "3");
	if (saved)
		ASSERT_OK(iov_sriov_config_apply(ctx, saved, NULL));
	ASSERT_STR_EQ(fx_read(fx, "sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"), "2");
	json_decref(cfg);
	json_decref(saved);
	teardown();
}

static void test_bad_configs_change_nothing(void)
{
	static const struct { const char *cfg, *why; } bad[] = {
		{ "[]", "a configuration is" },
		{ "{\"version\": 2, \"pfs\": []}", "a configuration is" },
		{ "{\"version\": 1, \"pfs\": [{\"numvfs\": 1}]}", "needs \"pf\"" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"path\": \"pci-0000:00:09.0/00.0\"}, \"numvfs\": 1}]}", "no SR-IOV PF at path" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"bdf\": \"00:1f.2\"}, \"numvfs\": 1}]}", "no SR-IOV PF at 0000:00:1f.2" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"bdf\": \"01:00.0\", \"path\": \"x\"}, \"numvfs\": 1}]}", "exactly one" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"serial\": 5}, \"numvfs\": 1}]}", "exactly one" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"serial\": \"3c-fd-fe-ff-ff-a1-b2-c4\"}, \"numvfs\": 1}]}",
		  "no SR-IOV PF with serial number 3c-fd-fe-ff-ff-a1-b2-c4" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"bdf\": \"01:00.0\"}, \"numvfs\": 65}]}", "at most 64 VFs" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"bdf\": \"01:00.0\"}, \"numvfs\": \"4\"}]}", "must be a count" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"bdf\": \"01:00.0\"}, \"numvfs\": 4, \"vfio\": \"yes\"}]}", "true or false" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"bdf\": \"01:00.0\"}, \"numvfs\": 4, \"vfs\": [{\"index\": 4, \"trust\": true}]}]}",
		  "VF 4 is configured but numvfs is 4" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"bdf\": \"01:00.0\"}, \"numvfs\": 4, \"vfs\": [{\"index\": 1, \"vlan\": 4095}]}]}",
		  "VLAN 4095 is out of range" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"bdf\": \"01:00.0\"}, \"numvfs\": 4, \"vfs\": [{\"index\": 1, \"mac\": \"01:00:5e:00:00:01\"}]}]}",
		  "multicast" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"bdf\": \"01:00.0\"}, \"numvfs\": 4, \"vfs\": [{\"index\": 1, \"link_state\": \"up\"}]}]}",
		  "auto, enable or disable" },
		{ "{\"version\": 1, \"pfs\": [{\"pf\": {\"bdf\": \"01:00.0\"}, \"numvfs\": 1}, {\"pf\": {\"path\": \"pci-0000:00:01.0/00.0\"}, \"numvfs\": 2}]}",
		  "configured twice" },
	};
	char *before, *after;

	setup();
	before = fx_pci_snapshot(fx);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *cfg = parse(bad[i].cfg);

		fk.writes = 0;
		unit_check(iov_sriov_config_apply(ctx, cfg, NULL) == -EINVAL, __LINE__, __FILE__, "config %zu accepted", i);
		unit_check(strstr(iov_ctx_reason(ctx), bad[i].why) != NULL, __LINE__, __FILE__, "config %zu: reason '%s', wanted '%s'",
			   i, iov_ctx_reason(ctx), bad[i].why);
		unit_check(fk.writes == 0, __LINE__, __FILE__, "config %zu wrote %u sysfs attributes", i, fk.writes);
		json_decref(cfg);
	}
	after = fx_pci_snapshot(fx);
	ASSERT_STR_EQ(after, before);
	free(before);
	free(after);
	teardown();
}

UNIT_MAIN("sriov-mgr/config",
	  UNIT_TEST(test_path),
	  UNIT_TEST(test_save_apply_converge),
	  UNIT_TEST(test_bad_configs_change_nothing))
