/* SPDX-License-Identifier: MIT */
/*
 * VF pools on the standard fixture host: selectors, allocation order, exhaustion, release
 * resetting the VF through the netlink seam (recorded here), and what is refused.
 */
#include <stdlib.h>

#include "../../../common/common-internal.h"
#include "../helpers/unit.h"
#include "iovkit/sriov.h"

static struct fixture *fx;
static struct iov_ctx *ctx;
static struct fake_kernel fk;

static struct fake_vf_net sent;

static void setup(void)
{
	fake_sriov_host(&fx, &ctx, &fk);
	memset(&sent, 0, sizeof(sent));
	fake_vf_net_attach(&sent, ctx);
}

static void teardown(void)
{
	iov_ctx_free(ctx);
	fx_free(fx);
}

static json_t *js(const char *text)
{
	return json_loads(text, 0, NULL);
}

static void test_alloc_release(void)
{
	char a[IOV_BDF_LEN], b[IOV_BDF_LEN], c[IOV_BDF_LEN] = "unchanged";
	json_t *sel = js("{\"vendor\": \"8086\", \"device\": \"154c\", \"link_type\": \"ethernet\"}"), *list = NULL;

	setup();
	ASSERT_OK(iov_pool_define(ctx, "x710-vfs", sel, NULL));
	ASSERT_OK(iov_pool_alloc(ctx, "x710-vfs", "vm-a", a));
	ASSERT_STR_EQ(a, "0000:01:02.0");
	ASSERT_OK(iov_pool_alloc(ctx, "x710-vfs", "vm-b", b));
	ASSERT_STR_EQ(b, "0000:01:02.1");
	ASSERT_ERR(iov_pool_alloc(ctx, "x710-vfs", "vm-c", c), ENOSPC);
	ASSERT_STR_EQ(c, "unchanged");

	ASSERT_OK(iov_pool_list(ctx, &list));
	if (list) {
		json_t *p = json_object_get(list, "x710-vfs");

		ASSERT_INT_EQ(json_array_size(json_object_get(p, "members")), 2);
		ASSERT_INT_EQ(json_integer_value(json_object_get(p, "free")), 0);
		ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(p, "allocated"), "0000:01:02.1")), "vm-b");
		json_decref(list);
	}

	/* Release resets VF 0 of the PF's interface to the safe defaults, then frees it. */
	ASSERT_OK(iov_pool_release(ctx, "01:02.0"));
	ASSERT_INT_EQ(sent.requests, 5);   /* MAC, VLAN, spoof check, link state, trust */
	ASSERT_STR_EQ(sent.netdev, "enp1s0f0");
	ASSERT_INT_EQ(sent.vf, 0);
	ASSERT_TRUE(sent.s.fields & IOV_VF_SET_MAC);
	ASSERT_TRUE(!memcmp(sent.s.mac, "\0\0\0\0\0\0", 6));
	ASSERT_INT_EQ(sent.s.vlan, 0);
	ASSERT_TRUE(sent.s.spoofchk);
	ASSERT_FALSE(sent.s.trust);
	ASSERT_INT_EQ(sent.s.link_state, IOV_VF_LINK_AUTO);
	ASSERT_ERR(iov_pool_release(ctx, "01:02.0"), ENOENT);
	ASSERT_OK(iov_pool_alloc(ctx, "x710-vfs", "vm-c", c));
	ASSERT_STR_EQ(c, "0000:01:02.0");

	/* A reset the driver refuses keeps the VF allocated. */
	sent.fail_field = ~0u;
	ASSERT_ERR(iov_pool_release(ctx, "01:02.1"), EOPNOTSUPP);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "0000:01:02.1 stays allocated") != NULL);
	ASSERT_TRUE(strstr(fx_read(fx, "var/lib/iovkit/pools.json"), "vm-b") != NULL);

	ASSERT_ERR(iov_pool_delete(ctx, "x710-vfs"), EBUSY);
	json_decref(sel);
	teardown();
}

static void test_defaults_and_selectors(void)
{
	json_t *sel = js("{\"pf\": \"0000:01:00.0\", \"driver\": \"iavf\"}"),
	       *defaults = js("{\"vlan\": 10, \"qos\": 1, \"trust\": true, \"spoofchk\": false}"), *list = NULL;
	char a[IOV_BDF_LEN];

	setup();
	ASSERT_OK(iov_pool_define(ctx, "iavf-only", sel, defaults));
	ASSERT_OK(iov_pool_alloc(ctx, "iavf-only", "vm", a));
	ASSERT_STR_EQ(a, "0000:01:02.0");   /* 01:02.1 has no driver */
	ASSERT_OK(iov_pool_release(ctx, a));
	ASSERT_INT_EQ(sent.s.vlan, 10);
	ASSERT_TRUE(sent.s.trust);
	ASSERT_FALSE(sent.s.spoofchk);
	ASSERT_FALSE(sent.s.fields & IOV_VF_SET_MAC);   /* only what the defaults name */
	ASSERT_OK(iov_pool_delete(ctx, "iavf-only"));
	ASSERT_OK(iov_pool_list(ctx, &list));
	ASSERT_INT_EQ(json_object_size(list), 0);
	json_decref(list);

	/* RDMA selector: nothing here has RDMA. */
	json_decref(sel);
	sel = js("{\"rdma\": true}");
	ASSERT_OK(iov_pool_define(ctx, "rdma", sel, NULL));
	ASSERT_ERR(iov_pool_alloc(ctx, "rdma", "vm", a), ENOSPC);
	json_decref(sel);
	json_decref(defaults);
	teardown();
}

static void test_refusals(void)
{
	json_t *ok = js("{\"vendor\": \"8086\"}"), *bad_key = js("{\"colour\": \"blue\"}"), *bad_type = js("{\"rdma\": \"yes\"}"),
	       *bad_link = js("{\"link_type\": \"token-ring\"}"), *bad_def = js("{\"vlan\": 4095}");
	char a[IOV_BDF_LEN];

	setup();
	ASSERT_ERR(iov_pool_define(ctx, "", ok, NULL), EINVAL);
	ASSERT_ERR(iov_pool_define(ctx, "a/b", ok, NULL), EINVAL);
	ASSERT_ERR(iov_pool_define(ctx, "p", bad_key, NULL), EINVAL);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "unknown selector \"colour\"") != NULL);
	ASSERT_ERR(iov_pool_define(ctx, "p", bad_type, NULL), EINVAL);
	ASSERT_ERR(iov_pool_define(ctx, "p", bad_link, NULL), EINVAL);
	ASSERT_ERR(iov_pool_define(ctx, "p", ok, bad_def), EINVAL);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "VLAN 4095 is out of range") != NULL);
	ASSERT_STR_EQ(fx_read(fx, "var/lib/iovkit/pools.json"), "");   /* nothing was written */
	ASSERT_ERR(iov_pool_alloc(ctx, "nope", "vm", a), ENOENT);
	ASSERT_ERR(iov_pool_alloc(ctx, "nope", "", a), EINVAL);
	ASSERT_ERR(iov_pool_delete(ctx, "nope"), ENOENT);
	ASSERT_ERR(iov_pool_release(ctx, "01:02"), EINVAL);
	fx_write(fx, "var/lib/iovkit/pools.json", "{ broken");
	ASSERT_ERR(iov_pool_alloc(ctx, "x", "vm", a), EBADMSG);
	json_decref(ok);
	json_decref(bad_key);
	json_decref(bad_type);
	json_decref(bad_link);
	json_decref(bad_def);
	teardown();
}

UNIT_MAIN("sriov-mgr/pool",
	  UNIT_TEST(test_alloc_release),
	  UNIT_TEST(test_defaults_and_selectors),
	  UNIT_TEST(test_refusals))
