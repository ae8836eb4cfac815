/* SPDX-License-Identifier: MIT */
/*
 * The MIG planner against the H100 80GB profile table: layouts that fill the GPU are found, invalid ones are refused with the reason, every plan is a valid layout, and — the
 * property that makes it exact — for every multiset of up to 7 instances the planner finds a
 * layout exactly when an independent brute-force search does. Then the smallest change to an
 * existing layout.
 */
#include <errno.h>
#include <string.h>

#include "../helpers/unit.h"
#include "iovkit/vgpu.h"

static const struct iov_mig_gpu *h100(void)
{
	const struct iov_mig_gpu *g = iov_mig_table("H100-80GB");

	ASSERT_TRUE(g != NULL);
	return g;
}

/* "4g.40gb 3g.40gb" -> profile indexes; the count. */
static size_t parse(const struct iov_mig_gpu *g, const char *list, unsigned int *out)
{
	char buf[256], *save = NULL;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		int p = iov_mig_profile_find(g, w);

		ASSERT_INT_GE(p, 0);
		out[n++] = (unsigned int)p;
	}
	return n;
}

static int plan(const char *list, char *why, size_t why_len)
{
	const struct iov_mig_gpu *g = h100();
	unsigned int prof[16];
	struct iov_mig_placement out[16];
	size_t n = parse(g, list, prof);
	int r = iov_mig_plan(g, prof, n, out, why, why_len);

	if (r == 0) {
		ASSERT_TRUE(iov_mig_layout_valid(g, out, n));
		for (size_t i = 0; i < n; i++)
			ASSERT_INT_EQ(out[i].profile, prof[i]);
	}
	return r;
}

static void test_table(void)
{
	const struct iov_mig_gpu *g = h100();
	const char *const *models = iov_mig_models();

	ASSERT_INT_EQ(g->compute_slices, 7);
	ASSERT_INT_EQ(g->memory_slices, 8);
	ASSERT_INT_EQ(g->n_profiles, 6);
	ASSERT_INT_EQ(g->profiles[iov_mig_profile_find(g, "7g.80gb")].size, 8);
	ASSERT_INT_EQ(g->profiles[iov_mig_profile_find(g, "1g.10gb")].n_starts, 7);
	ASSERT_INT_EQ(iov_mig_profile_find(g, "5g.50gb"), -1);
	ASSERT_TRUE(iov_mig_table("no-such-gpu") == NULL);
	for (size_t i = 0; models[i]; i++)
		ASSERT_TRUE(iov_mig_table(models[i]) != NULL);
}

/*
 * Layouts that fill an H100 80GB (every compute slice, or every memory slice), each checked by
 * hand against the profile table's sizes and starts (NVIDIA MIG User Guide); 7 x 1g.10gb,
 * 4g + 3g, 3g + 3g and 7g are the guide's own examples.
 */
static void test_documented_layouts_found(void)
{
	static const char *const valid[] = {
		"7g.80gb",
		"4g.40gb 3g.40gb",
		"4g.40gb 2g.20gb 1g.10gb",
		"4g.40gb 1g.20gb 1g.10gb",
		"4g.40gb 1g.10gb 1g.10gb 1g.10gb",
		"3g.40gb 3g.40gb",
		"3g.40gb 2g.20gb 2g.20gb",
		"3g.40gb 2g.20gb 1g.10gb 1g.10gb",
		"3g.40gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb",
		"2g.20gb 2g.20gb 2g.20gb 1g.10gb",
		"2g.20gb 2g.20gb 1g.20gb 1g.10gb 1g.10gb",
		"2g.20gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb",
		"1g.20gb 1g.20gb 1g.20gb 1g.20gb",
		"1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb",
	};
	char why[256];

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		int r = plan(valid[i], why, sizeof(why));

		unit_check(r == 0, __LINE__, __FILE__, "\"%s\" not placed: %s", valid[i], why);
	}
}

static void test_invalid_layouts_refused_with_reason(void)
{
	char why[256];

	ASSERT_ERR(plan("4g.40gb 4g.40gb", why, sizeof(why)), ENOSPC);
	ASSERT_STR_EQ(why, "8 compute slices asked, 7 in all on the H100-80GB");
	ASSERT_ERR(plan("7g.80gb 1g.10gb", why, sizeof(why)), ENOSPC);
	ASSERT_ERR(plan("3g.40gb 3g.40gb 1g.10gb", why, sizeof(why)), ENOSPC);
	ASSERT_STR_EQ(why, "9 memory slices asked, 8 in all on the H100-80GB");
	ASSERT_ERR(plan("1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb", why, sizeof(why)), ENOSPC);
	ASSERT_ERR(plan("1g.20gb 1g.20gb 1g.20gb 1g.20gb 1g.10gb", why, sizeof(why)), ENOSPC);
	ASSERT_STR_EQ(why, "9 memory slices asked, 8 in all on the H100-80GB");
	{
		const struct iov_mig_gpu *g = h100();
		unsigned int bad = 99;
		struct iov_mig_placement out;

		ASSERT_ERR(iov_mig_plan(g, &bad, 1, &out, why, sizeof(why)), EINVAL);
		ASSERT_ERR(iov_mig_plan(g, &bad, 0, &out, why, sizeof(why)), EINVAL);
	}
}

/* Independent of the planner: requests in the order given, every start tried. */
static bool brute(const struct iov_mig_gpu *g, const unsigned int *prof, size_t n, size_t i, unsigned int used)
{
	if (i == n)
		return true;
	for (unsigned int s = 0; s < g->memory_slices; s++) {
		const struct iov_mig_profile *p = &g->profiles[prof[i]];
		unsigned int m = ((1u << p->size) - 1) << s;
		bool allowed = false;

		for (unsigned int k = 0; k < p->n_starts; k++)
			allowed |= p->starts[k] == s;
		if (allowed && s + p->size <= g->memory_slices && !(used & m) && brute(g, prof, n, i + 1, used | m))
			return true;
	}
	return false;
}

static unsigned int checked, feasible;

static void every_multiset(const struct iov_mig_gpu *g, unsigned int *prof, size_t n, unsigned int from)
{
	if (n) {
		struct iov_mig_placement out[IOV_MIG_MAX_INSTANCES];
		unsigned int compute = 0;
		char why[256];
		bool bf;
		int r;

		for (size_t i = 0; i < n; i++)
			compute += g->profiles[prof[i]].compute;
		bf = compute <= g->compute_slices && brute(g, prof, n, 0, 0);
		r = iov_mig_plan(g, prof, n, out, why, sizeof(why));
		unit_check((r == 0) == bf, __LINE__, __FILE__, "planner %d, brute force %d, for %zu instances", r, bf, n);
		if (r == 0)
			ASSERT_TRUE(iov_mig_layout_valid(g, out, n));
		else
			ASSERT_TRUE(why[0] != '\0');
		checked++;
		feasible += bf;
	}
	if (n == 7)
		return;
	for (unsigned int p = from; p < g->n_profiles; p++) {
		prof[n] = p;
		every_multiset(g, prof, n + 1, p);
	}
}

static void test_exact_on_every_multiset(void)
{
	const char *const *models = iov_mig_models();

	for (size_t m = 0; models[m]; m++) {
		unsigned int prof[8];

		checked = feasible = 0;
		every_multiset(iov_mig_table(models[m]), prof, 0, 0);
		ASSERT_INT_EQ(checked, 1715);       /* C(6 + 7, 7) - 1 multisets of 1 to 7 of 6 profiles */
		ASSERT_INT_GE(feasible, 14);
	}
}

static void test_smallest_change(void)
{
	const struct iov_mig_gpu *g = h100();
	unsigned int p3 = (unsigned int)iov_mig_profile_find(g, "3g.40gb"), p4 = (unsigned int)iov_mig_profile_find(g, "4g.40gb"),
		     p1 = (unsigned int)iov_mig_profile_find(g, "1g.10gb"), p2 = (unsigned int)iov_mig_profile_find(g, "2g.20gb"),
		     p7 = (unsigned int)iov_mig_profile_find(g, "7g.80gb");
	struct iov_mig_placement out[8], existing[2];
	unsigned int moved = 99;
	char why[256];

	/* A 3g at slice 0 must move to 4 for a 4g, which starts only at 0. */
	existing[0] = (struct iov_mig_placement){ p3, 0 };
	ASSERT_OK(iov_mig_plan_change(g, existing, 1, &p4, 1, out, &moved, why, sizeof(why)));
	ASSERT_INT_EQ(moved, 1);
	ASSERT_INT_EQ(out[0].start, 4);
	ASSERT_INT_EQ(out[1].profile, p4);
	ASSERT_INT_EQ(out[1].start, 0);
	/* A 2g at slice 2 leaves 4-7 for a 3g: nothing moves. */
	existing[0] = (struct iov_mig_placement){ p2, 2 };
	ASSERT_OK(iov_mig_plan_change(g, existing, 1, &p3, 1, out, &moved, why, sizeof(why)));
	ASSERT_INT_EQ(moved, 0);
	ASSERT_INT_EQ(out[0].start, 2);
	ASSERT_INT_EQ(out[1].start, 4);
	/* Two 1g at 1 and 5; a 4g needs 0-3: only the one at 1 moves. */
	existing[0] = (struct iov_mig_placement){ p1, 1 };
	existing[1] = (struct iov_mig_placement){ p1, 5 };
	ASSERT_OK(iov_mig_plan_change(g, existing, 2, &p4, 1, out, &moved, why, sizeof(why)));
	ASSERT_INT_EQ(moved, 1);
	ASSERT_INT_EQ(out[1].start, 5);
	ASSERT_INT_GE(out[0].start, 4);
	ASSERT_TRUE(iov_mig_layout_valid(g, out, 3));
	/* Nothing makes a 7g fit beside anything. */
	existing[0] = (struct iov_mig_placement){ p1, 0 };
	ASSERT_ERR(iov_mig_plan_change(g, existing, 1, &p7, 1, out, &moved, why, sizeof(why)), ENOSPC);
	ASSERT_STR_EQ(why, "8 compute slices asked, 7 in all on the H100-80GB");
	/* An existing layout that is not one is refused. */
	existing[0] = (struct iov_mig_placement){ p3, 2 };
	ASSERT_ERR(iov_mig_plan_change(g, existing, 1, &p1, 1, out, &moved, why, sizeof(why)), EINVAL);
	existing[0] = (struct iov_mig_placement){ p2, 0 };
	existing[1] = (struct iov_mig_placement){ p1, 1 };
	ASSERT_ERR(iov_mig_plan_change(g, existing, 2, &p1, 1, out, &moved, why, sizeof(why)), EINVAL);
}

UNIT_MAIN("gpu-vgpu/mig-plan",
	  UNIT_TEST(test_table),
	  UNIT_TEST(test_documented_layouts_found),
	  UNIT_TEST(test_invalid_layouts_refused_with_reason),
	  UNIT_TEST(test_exact_on_every_multiset),
	  UNIT_TEST(test_smallest_change))
