/* SPDX-License-Identifier: MIT */
/* The IOVA allocator: usable ranges, reserved regions and mappings, alignment, limits. */
#include "../helpers/unit.h"
#include "../../../vfio-core/vfio-internal.h"

/* The ranges the lab's VT-d reports: the MSI window is a hole (LAB-NOTES.md). */
static const struct iova_span vtd[] = { { 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffff } };
static const struct iova_span msi[] = { { 0xfee00000, 0xfeefffff } };

static void test_lowest_fit(void)
{
	uint64_t at = 1;

	ASSERT_OK(iova_find(vtd, 2, NULL, 0, 0x1000, 0x1000, 0, &at));
	ASSERT_INT_EQ(at, 0);
	/* A 2 MiB request is 2 MiB aligned. */
	struct iova_span busy[] = { { 0, 0xfff } };
	ASSERT_OK(iova_find(vtd, 2, busy, 1, 0x200000, 0x200000, 0, &at));
	ASSERT_INT_EQ(at, 0x200000);
}

static void test_skips_busy_spans(void)
{
	/* Given out of order and overlapping one another. */
	struct iova_span busy[] = { { 0x3000, 0x4fff }, { 0x0, 0x1fff }, { 0x1000, 0x2fff }, { 0x6000, 0x6fff } };
	uint64_t at = 0;

	ASSERT_OK(iova_find(vtd, 2, busy, 4, 0x1000, 0x1000, 0, &at));
	ASSERT_INT_EQ(at, 0x5000);
	ASSERT_OK(iova_find(vtd, 2, busy, 4, 0x2000, 0x1000, 0, &at));
	ASSERT_INT_EQ(at, 0x7000);
}

static void test_msi_window_and_range_edges(void)
{
	uint64_t at = 0;
	/* Everything below the MSI window is taken: the next fit is past the hole. */
	struct iova_span busy[] = { { 0, 0xfedfffff }, msi[0] };

	ASSERT_OK(iova_find(vtd, 2, busy, 2, 0x1000, 0x1000, 0, &at));
	ASSERT_INT_EQ(at, 0xfef00000);
	/* A request larger than the space left in the first range goes to the second. */
	struct iova_span low[] = { { 0, 0xfecfffff } };
	ASSERT_OK(iova_find(vtd, 2, low, 1, 0x200000, 0x1000, 0, &at));
	ASSERT_INT_EQ(at, 0xfef00000);
}

static void test_limit(void)
{
	uint64_t at = 7;
	/* edu can address only 28 bits: the allocation must end below 1 << 28. */
	struct iova_span busy[] = { { 0, 0xfffefff } };

	ASSERT_OK(iova_find(vtd, 2, busy, 1, 0x1000, 0x1000, 1ull << 28, &at));
	ASSERT_INT_EQ(at, 0xffff000);
	at = 7;
	ASSERT_ERR(iova_find(vtd, 2, busy, 1, 0x2000, 0x1000, 1ull << 28, &at), ENOSPC);
	ASSERT_INT_EQ(at, 7);
}

static void test_bad_requests(void)
{
	uint64_t at = 7;
	const struct iova_span top[] = { { 0xfffffffffffff000ull, UINT64_MAX } };

	ASSERT_ERR(iova_find(vtd, 2, NULL, 0, 0, 0x1000, 0, &at), EINVAL);
	ASSERT_ERR(iova_find(vtd, 2, NULL, 0, 0x1000, 0x1800, 0, &at), EINVAL);
	ASSERT_ERR(iova_find(vtd, 2, NULL, 0, 0x1000, 0, 0, &at), EINVAL);
	ASSERT_ERR(iova_find(NULL, 0, NULL, 0, 0x1000, 0x1000, 0, &at), ENOSPC);
	/* At the very top of the address space nothing wraps. */
	ASSERT_OK(iova_find(top, 1, NULL, 0, 0x1000, 0x1000, 0, &at));
	ASSERT_INT_EQ(at, 0xfffffffffffff000ull);
	ASSERT_ERR(iova_find(top, 1, NULL, 0, 0x2000, 0x1000, 0, &at), ENOSPC);
	ASSERT_ERR(iova_find(top, 1, top, 1, 0x1000, 0x1000, 0, &at), ENOSPC);
}

static void test_overlaps(void)
{
	ASSERT_TRUE(iova_overlaps(msi, 1, 0xfeeff000, 0x1000));
	ASSERT_TRUE(iova_overlaps(msi, 1, 0xfed00000, 0x200000));
	ASSERT_FALSE(iova_overlaps(msi, 1, 0xfef00000, 0x1000));
	ASSERT_FALSE(iova_overlaps(msi, 1, 0xfedff000, 0x1000));
}

UNIT_MAIN("vfio-core/iova",
	  UNIT_TEST(test_lowest_fit),
	  UNIT_TEST(test_skips_busy_spans),
	  UNIT_TEST(test_msi_window_and_range_edges),
	  UNIT_TEST(test_limit),
	  UNIT_TEST(test_bad_requests),
	  UNIT_TEST(test_overlaps))
