/* SPDX-License-Identifier: MIT */
/* PFs and VFs on the standard fixture host, with the fake kernel creating and removing VFs. */
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

static struct iov_sriov_pf *pf_get(void)
{
	struct iov_sriov_pf *pf = NULL;

	ASSERT_OK(iov_sriov_pf_get(ctx, "01:00.0", &pf));
	return pf;
}

static void test_read_pf(void)
{
	struct iov_sriov_pf *pf;
	char **list = NULL;
	json_t *j = NULL;

	setup();
	ASSERT_INT_EQ(iov_sriov_pf_list(ctx, &list), 1);
	if (list)
		ASSERT_STR_EQ(list[0], "0000:01:00.0");
	iov_strv_free(list);
	pf = pf_get();
	if (pf) {
		ASSERT_STR_EQ(pf->bdf, "0000:01:00.0");
		ASSERT_INT_EQ(pf->totalvfs, 64);
		ASSERT_INT_EQ(pf->numvfs, 2);
		ASSERT_INT_EQ(pf->vf_offset, 16);
		ASSERT_INT_EQ(pf->vf_stride, 1);
		ASSERT_INT_EQ(pf->vf_device, 0x154c);
		ASSERT_STR_EQ(pf->driver, "i40e");
		ASSERT_STR_EQ(pf->netdev, "enp1s0f0");
		ASSERT_TRUE(pf->autoprobe);
		ASSERT_INT_EQ(pf->n_vfs, 2);
		if (pf->n_vfs == 2) {
			ASSERT_STR_EQ(pf->vfs[0].bdf, "0000:01:02.0");
			ASSERT_STR_EQ(pf->vfs[0].driver, "iavf");
			ASSERT_INT_EQ(pf->vfs[0].iommu_group, 3);
			ASSERT_STR_EQ(pf->vfs[1].bdf, "0000:01:02.1");
			ASSERT_STR_EQ(pf->vfs[1].driver, "");
			ASSERT_INT_EQ(pf->vfs[1].index, 1);
		}
		ASSERT_OK(iov_sriov_pf_json(pf, &j));
		ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(j, "vfs"), 1), "bdf")),
			      "0000:01:02.1");
		json_decref(j);
	}
	iov_sriov_pf_free(pf);
	teardown();
}

static void test_bad_input_changes_nothing(void)
{
	struct iov_sriov_pf *pf = (struct iov_sriov_pf *)0x1;
	char *before, *after;

	setup();
	before = fx_pci_snapshot(fx);
	ASSERT_ERR(iov_sriov_pf_get(ctx, "00:1f.2", &pf), EOPNOTSUPP);
	ASSERT_STR_EQ(iov_ctx_reason(ctx), "0000:00:1f.2 has no SR-IOV capability");
	ASSERT_ERR(iov_sriov_pf_get(ctx, "01:02.0", &pf), EOPNOTSUPP);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "it is itself a VF") != NULL);
	ASSERT_ERR(iov_sriov_pf_get(ctx, "09:00.0", &pf), ENODEV);
	ASSERT_ERR(iov_sriov_pf_get(ctx, "09:00", &pf), EINVAL);
	ASSERT_TRUE(pf == (struct iov_sriov_pf *)0x1);
	ASSERT_ERR(iov_sriov_set_numvfs(ctx, "01:00.0", 65, NULL), ERANGE);
	ASSERT_STR_EQ(iov_ctx_reason(ctx), "0000:01:00.0 supports at most 64 VFs; 65 asked");
	ASSERT_ERR(iov_sriov_set_numvfs(ctx, "00:1f.2", 1, NULL), EOPNOTSUPP);
	after = fx_pci_snapshot(fx);
	ASSERT_STR_EQ(after, before);
	ASSERT_STR_EQ(fx_read(fx, "sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"), "2");
	free(before);
	free(after);
	teardown();
}

static void test_change_through_zero(void)
{
	struct iov_sriov_pf *pf;

	setup();
	/* 2 -> 4: the kernel would refuse a direct change (EBUSY); it goes through 0. */
	ASSERT_OK(iov_sriov_set_numvfs(ctx, "01:00.0", 4, &(struct iov_sriov_set_opts){ .autoprobe = IOV_AUTOPROBE_ON }));
	pf = pf_get();
	if (pf) {
		ASSERT_INT_EQ(pf->n_vfs, 4);
		ASSERT_STR_EQ(pf->vfs[3].bdf, "0000:01:02.3");
		ASSERT_STR_EQ(pf->vfs[3].driver, "iavf");
		ASSERT_INT_EQ(pf->vfs[3].iommu_group, 103);
	}
	iov_sriov_pf_free(pf);
	/* Autoprobe off: the new VFs stay unbound. */
	ASSERT_OK(iov_sriov_set_numvfs(ctx, "01:00.0", 2, &(struct iov_sriov_set_opts){ .autoprobe = IOV_AUTOPROBE_OFF }));
	pf = pf_get();
	if (pf) {
		ASSERT_INT_EQ(pf->n_vfs, 2);
		ASSERT_FALSE(pf->autoprobe);
		ASSERT_STR_EQ(pf->vfs[0].driver, "");
	}
	iov_sriov_pf_free(pf);
	/* The same count again changes nothing. */
	fk.writes = 0;
	ASSERT_OK(iov_sriov_set_numvfs(ctx, "01:00.0", 2, NULL));
	ASSERT_INT_EQ(fk.writes, 0);
	teardown();
}

static void test_vfio_and_back_to_zero(void)
{
	struct iov_sriov_pf *pf;

	setup();
	ASSERT_OK(iov_sriov_set_numvfs(ctx, "01:00.0", 3,
				       &(struct iov_sriov_set_opts){ .autoprobe = IOV_AUTOPROBE_ON, .vfio = true }));
	pf = pf_get();
	if (pf)
		for (size_t i = 0; i < pf->n_vfs; i++)
			ASSERT_STR_EQ(pf->vfs[i].driver, "vfio-pci");
	iov_sriov_pf_free(pf);
	ASSERT_TRUE(strstr(fx_read(fx, "var/lib/iovkit/bind-journal.json"), "0000:01:02.2") != NULL);
	/* Back to 0: the VFs go, and so do their journal entries. */
	ASSERT_OK(iov_sriov_set_numvfs(ctx, "01:00.0", 0, NULL));
	pf = pf_get();
	if (pf)
		ASSERT_INT_EQ(pf->n_vfs, 0);
	iov_sriov_pf_free(pf);
	ASSERT_TRUE(strstr(fx_read(fx, "var/lib/iovkit/bind-journal.json"), "0000:01:02") == NULL);
	ASSERT_INT_EQ(iov_path_exists(ctx, "sys/bus/pci/devices/0000:01:02.0"), 0);
	teardown();
}

#define JOURNAL "var/lib/iovkit/sriov-journal.json"

static int fail_at_zero(void *userdata, const char *pf, unsigned int numvfs)
{
	(void)pf;
	++*(unsigned int *)userdata;
	return numvfs == 0 ? -EIO : 0;
}

static void test_failure_rolls_back(void)
{
	unsigned int calls = 0;
	struct iov_sriov_pf *pf;

	setup();
	/* 2 -> 4, stopped once the old VFs are gone: the PF gets its 2 VFs back. */
	ASSERT_ERR(iov_sriov_set_numvfs(ctx, "01:00.0", 4,
					&(struct iov_sriov_set_opts){ .progress = fail_at_zero, .userdata = &calls }),
		   EIO);
	ASSERT_INT_EQ(calls, 1);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "stopped after removing the VFs") != NULL);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "put back to 2 VF(s)") != NULL);
	pf = pf_get();
	if (pf)
		ASSERT_INT_EQ(pf->n_vfs, 2);
	iov_sriov_pf_free(pf);
	ASSERT_STR_EQ(fx_read(fx, JOURNAL), "{\n  \"pending\": {},\n  \"version\": 1\n}");
	teardown();
}

static void test_recover_finishes_an_interrupted_change(void)
{
	struct iov_sriov_pf *pf;
	json_t *report = NULL;

	setup();
	/* What a crash between removing 2 VFs and creating 4 leaves: no VFs, and the journal. */
	ASSERT_OK(iov_sriov_set_numvfs(ctx, "01:00.0", 0, NULL));
	fx_write(fx, JOURNAL, "{\"version\": 1, \"pending\": {"
		 "\"0000:01:00.0\": {\"numvfs\": 4, \"from\": 2, \"autoprobe\": \"off\", \"vfio\": false},"
		 "\"0000:09:00.0\": {\"numvfs\": 1, \"from\": 0, \"autoprobe\": \"keep\", \"vfio\": false}}}");
	ASSERT_OK(iov_sriov_recover(ctx, &report));
	pf = pf_get();
	if (pf) {
		ASSERT_INT_EQ(pf->n_vfs, 4);
		ASSERT_FALSE(pf->autoprobe);
	}
	iov_sriov_pf_free(pf);
	ASSERT_INT_EQ(json_array_size(report), 2);
	ASSERT_TRUE(json_is_null(json_object_get(json_array_get(report, 0), "error")));
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(report, 1), "error")), "the PF is gone");
	json_decref(report);
	ASSERT_TRUE(strstr(fx_read(fx, JOURNAL), "0000:") == NULL);
	/* Nothing left: recovering again does nothing. */
	fk.writes = 0;
	ASSERT_OK(iov_sriov_recover(ctx, NULL));
	ASSERT_INT_EQ(fk.writes, 0);
	/* A damaged journal is reported, not guessed at. */
	fx_write(fx, JOURNAL, "{ broken");
	ASSERT_ERR(iov_sriov_recover(ctx, NULL), EBADMSG);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "sriov-journal.json is damaged") != NULL);
	ASSERT_ERR(iov_sriov_set_numvfs(ctx, "01:00.0", 1, NULL), EBADMSG);
	teardown();
}

UNIT_MAIN("sriov-mgr/pf",
	  UNIT_TEST(test_failure_rolls_back),
	  UNIT_TEST(test_recover_finishes_an_interrupted_change),
	  UNIT_TEST(test_read_pf),
	  UNIT_TEST(test_bad_input_changes_nothing),
	  UNIT_TEST(test_change_through_zero),
	  UNIT_TEST(test_vfio_and_back_to_zero))
