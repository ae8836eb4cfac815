/* SPDX-License-Identifier: MIT */
/*
 * Whole-group binding against a fake kernel (tests/unit/helpers/fake_kernel.c): the journal,
 * rollback on every kind of failure, refusal of devices the host uses, restore, recovery.
 * The lab proves the same against the real kernel (tests/lab/tests/bind-*.sh).
 */
#include <stdlib.h>

#include "../../../common/common-internal.h"
#include "../helpers/unit.h"
#include "iovkit/iommu.h"

static struct fixture *fx;
static struct iov_ctx *ctx;
static struct fake_kernel fk;

static void setup(void)
{
	fx = fx_new();
	fx_standard_host(fx);
	ASSERT_OK(iov_ctx_new(fx->root, &ctx));
	fk = (struct fake_kernel){ .fx = fx };
	fake_kernel_attach(&fk, ctx);
}

static void teardown(void)
{
	iov_ctx_free(ctx);
	fx_free(fx);
}

static const char *driver_of(const char *bdf)
{
	static char buf[64];
	char path[128];

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver", bdf);
	if (iov_link_basename(ctx, buf, sizeof(buf), "%s", path) < 0)
		buf[0] = '\0';
	return buf;
}

static const char *journal(void)
{
	return fx_read(fx, "var/lib/iovkit/bind-journal.json");
}

static void test_bind_and_restore_group(void)
{
	struct iov_bind_result *res = NULL;
	char *before;

	setup();
	before = fx_pci_snapshot(fx);
	ASSERT_OK(iov_group_bind(ctx, 4, NULL, &res));
	if (res) {
		ASSERT_INT_EQ(res->n, 1);
		ASSERT_STR_EQ(res->changes[0].bdf, "0000:01:02.1");
		ASSERT_STR_EQ(res->changes[0].from, "");
		ASSERT_STR_EQ(res->changes[0].to, "vfio-pci");
	}
	iov_bind_result_free(res);
	res = NULL;
	ASSERT_STR_EQ(driver_of("0000:01:02.1"), "vfio-pci");
	ASSERT_TRUE(strstr(journal(), "\"state\": \"bound\"") != NULL);

	/* Binding again changes nothing. */
	ASSERT_OK(iov_group_bind(ctx, 4, NULL, &res));
	if (res)
		ASSERT_INT_EQ(res->n, 0);
	iov_bind_result_free(res);
	res = NULL;

	ASSERT_OK(iov_group_restore(ctx, 4, &res));
	if (res) {
		ASSERT_INT_EQ(res->n, 1);
		ASSERT_STR_EQ(res->changes[0].to, "");
	}
	iov_bind_result_free(res);
	res = NULL;
	char *after = fx_pci_snapshot(fx);
	ASSERT_STR_EQ(after, before);
	ASSERT_TRUE(strstr(journal(), "0000:01:02.1") == NULL);

	/* Restoring what is already back is success and changes nothing. */
	ASSERT_OK(iov_group_restore(ctx, 4, &res));
	if (res)
		ASSERT_INT_EQ(res->n, 0);
	iov_bind_result_free(res);
	free(before);
	free(after);
	teardown();
}

static void test_group_with_bridge_keeps_bridge(void)
{
	struct iov_bind_result *res = NULL;

	setup();
	/* Group 5: the GPU is the boot VGA device, so only --force binds it. */
	ASSERT_ERR(iov_group_bind(ctx, 5, NULL, &res), EBUSY);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "boot VGA") && strstr(iov_ctx_reason(ctx), "--force"));
	ASSERT_STR_EQ(driver_of("0000:02:00.0"), "nouveau");
	ASSERT_STR_EQ(journal(), "");

	ASSERT_OK(iov_group_bind(ctx, 5, &(struct iov_bind_opts){ .force = true }, &res));
	if (res)
		ASSERT_INT_EQ(res->n, 2);
	iov_bind_result_free(res);
	res = NULL;
	ASSERT_STR_EQ(driver_of("0000:00:1c.0"), "pcieport");
	ASSERT_STR_EQ(driver_of("0000:02:00.0"), "vfio-pci");
	ASSERT_STR_EQ(driver_of("0000:02:00.1"), "vfio-pci");

	struct iov_group *g = NULL;
	ASSERT_OK(iov_group_get(ctx, NULL, 5, &g));
	if (g)
		ASSERT_TRUE(g->viable);
	iov_group_free(g);

	ASSERT_OK(iov_group_restore(ctx, -1, &res));
	iov_bind_result_free(res);
	ASSERT_STR_EQ(driver_of("0000:02:00.0"), "nouveau");
	ASSERT_STR_EQ(driver_of("0000:02:00.1"), "snd_hda_intel");
	ASSERT_STR_EQ(fx_read(fx, "sys/bus/pci/devices/0000:02:00.0/driver_override"), "(null)");
	teardown();
}

/* Stops the bind after the first device, as a failure half-way would. */
static int stop_after_first(void *userdata, const char *bdf, unsigned int done, unsigned int total)
{
	unsigned int *calls = userdata;

	(*calls)++;
	ASSERT_INT_EQ(total, 2);
	return done == 1 ? -EIO : 0;
}

static void test_fail_after_first_rolls_back(void)
{
	struct iov_bind_result *res = NULL;
	char *before, *after;
	unsigned int calls = 0;

	setup();
	before = fx_pci_snapshot(fx);
	ASSERT_ERR(iov_group_bind(ctx, 5, &(struct iov_bind_opts){ .force = true, .progress = stop_after_first, .userdata = &calls },
				  &res), EIO);
	ASSERT_INT_EQ(calls, 1);
	ASSERT_TRUE(res == NULL);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "stopped after 1 of 2 device(s)") != NULL);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "rolled back") != NULL);
	after = fx_pci_snapshot(fx);
	ASSERT_STR_EQ(after, before);
	ASSERT_TRUE(strstr(journal(), "0000:02:00") == NULL);
	free(before);
	free(after);
	teardown();
}

static void test_probe_failure_rolls_back(void)
{
	struct iov_bind_result *res = NULL;
	char *before, *after;

	setup();
	/* vfio-pci's probe fails on the audio function: the GPU, already moved, goes back too. */
	snprintf(fk.fail_bdf, sizeof(fk.fail_bdf), "0000:02:00.1");
	snprintf(fk.fail_driver, sizeof(fk.fail_driver), "vfio-pci");
	before = fx_pci_snapshot(fx);
	ASSERT_ERR(iov_group_bind(ctx, 5, &(struct iov_bind_opts){ .force = true }, &res), EIO);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "0000:02:00.1: the kernel did not bind it to vfio-pci") != NULL);
	after = fx_pci_snapshot(fx);
	ASSERT_STR_EQ(after, before);
	free(before);
	free(after);
	teardown();
}

static void test_refusals_change_nothing(void)
{
	struct iov_bind_result *res = NULL;
	char *before, *after;
	unsigned int writes;

	setup();
	before = fx_pci_snapshot(fx);
	writes = fk.writes;
	ASSERT_ERR(iov_group_bind(ctx, 2, NULL, &res), EBUSY);     /* default route */
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "enp1s0f0 carries the default route") != NULL);
	ASSERT_ERR(iov_group_bind(ctx, 9, NULL, &res), EBUSY);     /* mounted root */
	ASSERT_ERR(iov_group_bind(ctx, 77, NULL, &res), ENOENT);   /* no such group */
	ASSERT_ERR(iov_group_bind(ctx, 4, &(struct iov_bind_opts){ .driver = "no_such_drv" }, &res), ENOENT);
	ASSERT_STR_EQ(iov_ctx_reason(ctx), "driver no_such_drv is not loaded (modprobe no_such_drv)");
	ASSERT_ERR(iov_group_bind(ctx, 4, &(struct iov_bind_opts){ .driver = "../x" }, &res), EINVAL);
	ASSERT_INT_EQ(fk.writes, writes);
	after = fx_pci_snapshot(fx);
	ASSERT_STR_EQ(after, before);
	ASSERT_STR_EQ(journal(), "");
	ASSERT_TRUE(res == NULL);
	free(before);
	free(after);
	teardown();
}

static void test_recover_interrupted_bind(void)
{
	struct iov_bind_result *res = NULL;

	setup();
	/* A crash after the journal was written and the first device moved, before "bound". */
	fx_write(fx, "var/lib/iovkit/bind-journal.json",
		 "{\"version\": 1, \"devices\": {"
		 "\"0000:02:00.0\": {\"group\": 5, \"driver\": \"nouveau\", \"override\": null, \"target\": \"vfio-pci\", \"state\": \"binding\"},"
		 "\"0000:02:00.1\": {\"group\": 5, \"driver\": \"snd_hda_intel\", \"override\": null, \"target\": \"vfio-pci\", \"state\": \"binding\"}}}\n");
	ASSERT_OK(iov_attr_write(ctx, "vfio-pci", "sys/bus/pci/devices/0000:02:00.0/driver_override"));
	ASSERT_OK(iov_attr_write(ctx, "0000:02:00.0", "sys/bus/pci/devices/0000:02:00.0/driver/unbind"));
	ASSERT_OK(iov_attr_write(ctx, "0000:02:00.0", "sys/bus/pci/drivers_probe"));
	ASSERT_STR_EQ(driver_of("0000:02:00.0"), "vfio-pci");

	ASSERT_INT_EQ(iov_bind_recover(ctx), 2);
	ASSERT_STR_EQ(driver_of("0000:02:00.0"), "nouveau");
	ASSERT_STR_EQ(driver_of("0000:02:00.1"), "snd_hda_intel");
	ASSERT_STR_EQ(fx_read(fx, "sys/bus/pci/devices/0000:02:00.0/driver_override"), "(null)");
	ASSERT_TRUE(strstr(journal(), "0000:02:00") == NULL);
	ASSERT_INT_EQ(iov_bind_recover(ctx), 0);

	/* A damaged journal stops binding with a clear error, and is left for a person to see. */
	fx_write(fx, "var/lib/iovkit/bind-journal.json", "{ not json");
	ASSERT_ERR(iov_group_bind(ctx, 4, NULL, &res), EBADMSG);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "is damaged") != NULL);
	ASSERT_STR_EQ(driver_of("0000:01:02.1"), "");
	teardown();
}

static void test_original_override_restored(void)
{
	struct iov_bind_result *res = NULL;

	setup();
	/* A device someone pinned to pci-stub by hand: restore puts the override back too. */
	fx_mkdir(fx, "sys/bus/pci/drivers/pci-stub");
	ASSERT_OK(iov_attr_write(ctx, "pci-stub", "sys/bus/pci/devices/0000:01:02.1/driver_override"));
	ASSERT_OK(iov_attr_write(ctx, "0000:01:02.1", "sys/bus/pci/drivers_probe"));
	ASSERT_STR_EQ(driver_of("0000:01:02.1"), "pci-stub");

	ASSERT_OK(iov_group_bind(ctx, 4, NULL, &res));
	iov_bind_result_free(res);
	res = NULL;
	ASSERT_STR_EQ(driver_of("0000:01:02.1"), "vfio-pci");
	ASSERT_OK(iov_group_restore(ctx, 4, &res));
	iov_bind_result_free(res);
	ASSERT_STR_EQ(driver_of("0000:01:02.1"), "pci-stub");
	ASSERT_STR_EQ(fx_read(fx, "sys/bus/pci/devices/0000:01:02.1/driver_override"), "pci-stub");
	teardown();
}

UNIT_MAIN("iommu-groups/bind",
	  UNIT_TEST(test_bind_and_restore_group),
	  UNIT_TEST(test_group_with_bridge_keeps_bridge),
	  UNIT_TEST(test_fail_after_first_rolls_back),
	  UNIT_TEST(test_probe_failure_rolls_back),
	  UNIT_TEST(test_refusals_change_nothing),
	  UNIT_TEST(test_recover_interrupted_bind),
	  UNIT_TEST(test_original_override_restored))
