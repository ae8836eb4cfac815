/* SPDX-License-Identifier: MIT */
/* What the host is using, on the standard fixture host and variations of it. */
#include "../helpers/unit.h"
#include "iovkit/iommu.h"

static struct fixture *fx;
static struct iov_ctx *ctx;
static struct iov_pci_inventory *inv;
static struct iov_inuse *inuse;

static void setup(void)
{
	fx = fx_new();
	fx_standard_host(fx);
}

static void load(void)
{
	ASSERT_OK(iov_ctx_new(fx->root, &ctx));
	ASSERT_OK(iov_pci_inventory_new(ctx, &inv));
	ASSERT_OK(iov_inuse_new(ctx, &inuse));
}

static void teardown(void)
{
	iov_inuse_free(inuse);
	iov_pci_inventory_free(inv);
	iov_ctx_free(ctx);
	fx_free(fx);
	inuse = NULL;
	inv = NULL;
	ctx = NULL;
}

/* 1 and the reason if in use, 0 if not. */
static int check(const char *bdf, char *why, size_t size)
{
	const struct iov_pci_dev *d = inv ? iov_pci_inventory_find(inv, bdf) : NULL;

	why[0] = '\0';
	if (!d || !inuse)
		return -1;
	return iov_inuse_check(inuse, d, why, size);
}

static void test_standard_host(void)
{
	char why[256];

	setup();
	load();
	ASSERT_INT_EQ(check("0000:01:00.0", why, sizeof(why)), 1);
	ASSERT_STR_EQ(why, "0000:01:00.0: its interface enp1s0f0 carries the default route");
	ASSERT_INT_EQ(check("0000:04:00.0", why, sizeof(why)), 1);
	ASSERT_STR_EQ(why, "0000:04:00.0: its block device nvme0n1p1 is mounted on /");
	ASSERT_INT_EQ(check("0000:02:00.0", why, sizeof(why)), 1);
	ASSERT_STR_EQ(why, "0000:02:00.0 is the boot VGA device (the host's console)");
	/* Link-local IPv6 alone is not "an address the host uses". */
	ASSERT_INT_EQ(check("0000:01:02.0", why, sizeof(why)), 0);
	/* sda is on 00:1f.2 but not mounted. */
	ASSERT_INT_EQ(check("0000:00:1f.2", why, sizeof(why)), 0);
	ASSERT_INT_EQ(check("0000:01:02.1", why, sizeof(why)), 0);
	teardown();
}

static void test_address_swap_holders(void)
{
	char why[256];

	setup();
	/* The VF gets a global IPv6 route; sda becomes swap; nvme's namespace is held by dm-0. */
	fx_write(fx, "proc/net/ipv6_route",
		 "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 "
		 "00000100 00000001 00000000 00000001 enp1s0v0\n");
	fx_write(fx, "proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/sda partition 1048572 0 -2\n");
	fx_write(fx, "proc/self/mountinfo", "23 22 0:21 / /proc rw - proc proc rw\n");
	fx_mkdir(fx, "sys/devices/pci0000:00/0000:00:1d.0/0000:04:00.0/nvme/nvme0/nvme0n1/holders/dm-0");
	load();
	ASSERT_INT_EQ(check("0000:01:02.0", why, sizeof(why)), 1);
	ASSERT_STR_EQ(why, "0000:01:02.0: its interface enp1s0v0 has an address (it has routes)");
	ASSERT_INT_EQ(check("0000:00:1f.2", why, sizeof(why)), 1);
	ASSERT_STR_EQ(why, "0000:00:1f.2: its block device sda is used for swap");
	ASSERT_INT_EQ(check("0000:04:00.0", why, sizeof(why)), 1);
	ASSERT_TRUE(strstr(why, "nvme0n1 is held by dm-0") != NULL);
	teardown();
}

static void test_bare_tree(void)
{
	struct iov_pci_dev d = { .bdf = "0000:00:03.0" };
	char why[64];

	fx = fx_new();
	load();
	/* No proc, no sys/class/block: nothing is in use, and nothing fails. */
	if (inuse)
		ASSERT_INT_EQ(iov_inuse_check(inuse, &d, why, sizeof(why)), 0);
	teardown();
}

UNIT_MAIN("iommu-groups/inuse",
	  UNIT_TEST(test_standard_host),
	  UNIT_TEST(test_address_swap_holders),
	  UNIT_TEST(test_bare_tree))
