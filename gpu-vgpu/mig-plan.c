/* SPDX-License-Identifier: MIT */
/*
 * MIG placement planning. A MIG-capable GPU has 7 compute slices and 8 memory slices; each GPU
 * instance profile takes some compute slices and a contiguous run of memory slices that may
 * start only at certain slices (NVIDIA MIG User Guide, "Supported MIG Profiles" and the
 * placements nvmlDeviceGetGpuInstancePossiblePlacements_v2 reports). A layout is valid when
 * every instance starts where its profile allows, no two share a memory slice, and the compute
 * slices add up to at most 7.
 *
 * The search is exact: instances are placed largest first, each at every allowed start that is
 * free, backtracking on failure. With at most 7 instances and at most 7 starts each it visits
 * a few thousand states at worst, so no heuristic is needed and "no plan" is a proof.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/common-internal.h"
#include "iovkit/vgpu.h"

#define P(n, c, s, ...) { n, c, s, sizeof((unsigned int[]){ __VA_ARGS__ }) / sizeof(unsigned int), { __VA_ARGS__ } }

/* The tables NVIDIA documents for its MIG GPUs; the real GPU's own comes from NVML. */
static const struct iov_mig_gpu tables[] = {
	{ "A100-40GB", 7, 8, 6, {
		P("1g.5gb", 1, 1, 0, 1, 2, 3, 4, 5, 6), P("1g.10gb", 1, 2, 0, 2, 4, 6), P("2g.10gb", 2, 2, 0, 2, 4),
		P("3g.20gb", 3, 4, 0, 4), P("4g.20gb", 4, 4, 0), P("7g.40gb", 7, 8, 0) } },
	{ "A100-80GB", 7, 8, 6, {
		P("1g.10gb", 1, 1, 0, 1, 2, 3, 4, 5, 6), P("1g.20gb", 1, 2, 0, 2, 4, 6), P("2g.20gb", 2, 2, 0, 2, 4),
		P("3g.40gb", 3, 4, 0, 4), P("4g.40gb", 4, 4, 0), P("7g.80gb", 7, 8, 0) } },
	{ "H100-80GB", 7, 8, 6, {
		P("1g.10gb", 1, 1, 0, 1, 2, 3, 4, 5, 6), P("1g.20gb", 1, 2, 0, 2, 4, 6), P("2g.20gb", 2, 2, 0, 2, 4),
		P("3g.40gb", 3, 4, 0, 4), P("4g.40gb", 4, 4, 0), P("7g.80gb", 7, 8, 0) } },
	{ "H200-141GB", 7, 8, 6, {
		P("1g.18gb", 1, 1, 0, 1, 2, 3, 4, 5, 6), P("1g.35gb", 1, 2, 0, 2, 4, 6), P("2g.35gb", 2, 2, 0, 2, 4),
		P("3g.71gb", 3, 4, 0, 4), P("4g.71gb", 4, 4, 0), P("7g.141gb", 7, 8, 0) } },
};

static const char *const model_names[] = { "A100-40GB", "A100-80GB", "H100-80GB", "H200-141GB", NULL };

IOV_EXPORT const struct iov_mig_gpu *iov_mig_table(const char *model)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (!strcasecmp(tables[i].model, model))
			return &tables[i];
	return NULL;
}

IOV_EXPORT const char *const *iov_mig_models(void)
{
	return model_names;
}

IOV_EXPORT int iov_mig_profile_find(const struct iov_mig_gpu *gpu, const char *name)
{
	for (size_t i = 0; i < gpu->n_profiles; i++)
		if (!strcasecmp(gpu->profiles[i].name, name))
			return (int)i;
	return -1;
}

static unsigned int span(const struct iov_mig_profile *p, unsigned int start)
{
	return ((1u << p->size) - 1) << start;
}

static bool start_allowed(const struct iov_mig_profile *p, unsigned int start)
{
	for (unsigned int i = 0; i < p->n_starts; i++)
		if (p->starts[i] == start)
			return true;
	return false;
}

/* Places order[idx..n) into the free slices of @used; 0 with @out filled, or -1. */
static int search(const struct iov_mig_gpu *gpu, const unsigned int *profiles, const size_t *order, size_t n, size_t idx,
		  unsigned int used, struct iov_mig_placement *out)
{
	const struct iov_mig_profile *p;

	if (idx == n)
		return 0;
	p = &gpu->profiles[profiles[order[idx]]];
	for (unsigned int s = 0; s < p->n_starts; s++) {
		unsigned int start = p->starts[s], m = span(p, start);

		if (start + p->size > gpu->memory_slices || (used & m))
			continue;
		out[order[idx]] = (struct iov_mig_placement){ profiles[order[idx]], start };
		if (search(gpu, profiles, order, n, idx + 1, used | m, out) == 0)
			return 0;
	}
	return -1;
}

/* Largest (memory, then compute) first: the most constrained are placed while there is room. */
static void sort_order(const struct iov_mig_gpu *gpu, const unsigned int *profiles, size_t n, size_t *order)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			const struct iov_mig_profile *a = &gpu->profiles[profiles[order[j - 1]]], *b = &gpu->profiles[profiles[order[j]]];

			if (a->size > b->size || (a->size == b->size && a->compute >= b->compute))
				break;
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
}

/* Why @profiles cannot go into the free slices @used with @compute_left compute slices. */
static void explain(const struct iov_mig_gpu *gpu, const unsigned int *profiles, size_t n, unsigned int used,
		    unsigned int compute_left, char *why, size_t why_len)
{
	unsigned int compute = 0, memory = 0, free_mem = 0;
	size_t off;

	for (size_t i = 0; i < n; i++) {
		compute += gpu->profiles[profiles[i]].compute;
		memory += gpu->profiles[profiles[i]].size;
	}
	for (unsigned int s = 0; s < gpu->memory_slices; s++)
		free_mem += !(used & (1u << s));
	if (compute > compute_left) {
		snprintf(why, why_len, "%u compute slices asked, %u %s on the %s", compute, compute_left,
			 compute_left == gpu->compute_slices ? "in all" : "free", gpu->model);
		return;
	}
	if (memory > free_mem) {
		snprintf(why, why_len, "%u memory slices asked, %u %s on the %s", memory, free_mem,
			 free_mem == gpu->memory_slices ? "in all" : "free", gpu->model);
		return;
	}
	off = (size_t)snprintf(why, why_len, "the sizes fit but no arrangement does:");
	for (size_t i = 0; i < n && off < why_len; i++) {
		const struct iov_mig_profile *p = &gpu->profiles[profiles[i]];
		bool seen = false;

		for (size_t k = 0; k < i; k++)
			seen |= profiles[k] == profiles[i];
		if (seen)
			continue;
		off += (size_t)snprintf(why + off, why_len - off, "%s %s starts only at slice%s", i ? ";" : "", p->name,
					p->n_starts > 1 ? "s" : "");
		for (unsigned int s = 0; s < p->n_starts && off < why_len; s++)
			off += (size_t)snprintf(why + off, why_len - off, "%s%u", s ? "," : " ", p->starts[s]);
	}
	if (used && off < why_len)
		snprintf(why + off, why_len - off, " (slices in use: 0x%02x)", used);
}

static int plan_into(const struct iov_mig_gpu *gpu, const unsigned int *profiles, size_t n, unsigned int used,
		     unsigned int compute_left, struct iov_mig_placement *ret, char *why, size_t why_len)
{
	size_t order[IOV_MIG_MAX_INSTANCES];
	unsigned int compute = 0;

	for (size_t i = 0; i < n; i++)
		compute += gpu->profiles[profiles[i]].compute;
	if (n > IOV_MIG_MAX_INSTANCES || compute > compute_left) {
		explain(gpu, profiles, n > IOV_MIG_MAX_INSTANCES ? IOV_MIG_MAX_INSTANCES : n, used, compute_left, why,
			why_len);
		if (n > IOV_MIG_MAX_INSTANCES)
			snprintf(why, why_len, "%zu instances asked, at most %u fit", n, gpu->compute_slices);
		return -ENOSPC;
	}
	sort_order(gpu, profiles, n, order);
	if (search(gpu, profiles, order, n, 0, used, ret) == 0)
		return 0;
	explain(gpu, profiles, n, used, compute_left, why, why_len);
	return -ENOSPC;
}

IOV_EXPORT int iov_mig_plan(const struct iov_mig_gpu *gpu, const unsigned int *profiles, size_t n,
			    struct iov_mig_placement *ret, char *why, size_t why_len)
{
	for (size_t i = 0; i < n; i++)
		if (profiles[i] >= gpu->n_profiles) {
			snprintf(why, why_len, "profile %u: the %s has %zu", profiles[i], gpu->model, gpu->n_profiles);
			return -EINVAL;
		}
	if (n == 0) {
		snprintf(why, why_len, "no instance asked");
		return -EINVAL;
	}
	return plan_into(gpu, profiles, n, 0, gpu->compute_slices, ret, why, why_len);
}

IOV_EXPORT bool iov_mig_layout_valid(const struct iov_mig_gpu *gpu, const struct iov_mig_placement *p, size_t n)
{
	unsigned int used = 0, compute = 0;

	for (size_t i = 0; i < n; i++) {
		const struct iov_mig_profile *prof;

		if (p[i].profile >= gpu->n_profiles)
			return false;
		prof = &gpu->profiles[p[i].profile];
		if (!start_allowed(prof, p[i].start) || p[i].start + prof->size > gpu->memory_slices ||
		    (used & span(prof, p[i].start)))
			return false;
		used |= span(prof, p[i].start);
		compute += prof->compute;
	}
	return compute <= gpu->compute_slices;
}

IOV_EXPORT int iov_mig_plan_change(const struct iov_mig_gpu *gpu, const struct iov_mig_placement *existing,
				   size_t n_existing, const unsigned int *add, size_t n_add, struct iov_mig_placement *ret,
				   unsigned int *ret_moved, char *why, size_t why_len)
{
	unsigned int all[IOV_MIG_MAX_INSTANCES * 2];
	size_t n_all = n_existing + n_add;

	if (!iov_mig_layout_valid(gpu, existing, n_existing)) {
		snprintf(why, why_len, "the existing layout is not valid on the %s", gpu->model);
		return -EINVAL;
	}
	for (size_t i = 0; i < n_add; i++)
		if (add[i] >= gpu->n_profiles) {
			snprintf(why, why_len, "profile %u: the %s has %zu", add[i], gpu->model, gpu->n_profiles);
			return -EINVAL;
		}
	if (n_all > IOV_MIG_MAX_INSTANCES) {
		snprintf(why, why_len, "%zu instances asked, at most %u fit", n_all, gpu->compute_slices);
		return -ENOSPC;
	}
	for (size_t i = 0; i < n_existing; i++)
		all[i] = existing[i].profile;
	memcpy(all + n_existing, add, n_add * sizeof(*add));
	/* A fresh layout first: if even that fails, no amount of moving helps. */
	if (plan_into(gpu, all, n_all, 0, gpu->compute_slices, ret, why, why_len) < 0)
		return -ENOSPC;
	/* Then the fewest moves: every set of k existing instances, k = 0, 1, ... */
	for (unsigned int k = 0; k <= n_existing; k++)
		for (unsigned int movers = 0; movers < 1u << n_existing; movers++) {
			unsigned int profiles[IOV_MIG_MAX_INSTANCES], used = 0, compute = 0, m = 0;
			struct iov_mig_placement placed[IOV_MIG_MAX_INSTANCES];
			size_t idx[IOV_MIG_MAX_INSTANCES];
			char ignore[8];

			if ((unsigned int)__builtin_popcount(movers) != k)
				continue;
			for (size_t i = 0; i < n_existing; i++) {
				const struct iov_mig_profile *p = &gpu->profiles[existing[i].profile];

				if (movers & (1u << i)) {
					idx[m] = i;
					profiles[m++] = existing[i].profile;
				} else {
					used |= span(p, existing[i].start);
					compute += p->compute;
					ret[i] = existing[i];
				}
			}
			for (size_t i = 0; i < n_add; i++) {
				idx[m] = n_existing + i;
				profiles[m++] = add[i];
			}
			if (plan_into(gpu, profiles, m, used, gpu->compute_slices - compute, placed, ignore, sizeof(ignore)) < 0)
				continue;
			for (size_t i = 0; i < m; i++)
				ret[idx[i]] = placed[i];
			*ret_moved = k;
			return 0;
		}
	snprintf(why, why_len, "internal: a fresh layout exists but no change found");
	return -ENOSPC;
}

IOV_EXPORT json_t *iov_mig_layout_json(const struct iov_mig_gpu *gpu, const struct iov_mig_placement *p, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++) {
		const struct iov_mig_profile *prof = &gpu->profiles[p[i].profile];

		json_array_append_new(arr, json_pack("{s:s,s:i,s:i,s:i}", "profile", prof->name, "start", p[i].start, "size",
						     prof->size, "compute", prof->compute));
	}
	return arr;
}

IOV_EXPORT int iov_mig_request_parse(const struct iov_mig_gpu *gpu, json_t *names, unsigned int *ret, size_t max,
				     char *why, size_t why_len)
{
	json_t *v;
	size_t i;

	if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > max) {
		snprintf(why, why_len, "1 to %zu profile names", max);
		return -EINVAL;
	}
	json_array_foreach(names, i, v) {
		int k = json_is_string(v) ? iov_mig_profile_find(gpu, json_string_value(v)) : -1;

		if (k < 0) {
			size_t off = (size_t)snprintf(why, why_len, "\"%s\" is not a profile of the %s (",
						      json_is_string(v) ? json_string_value(v) : "?", gpu->model);

			for (size_t p = 0; p < gpu->n_profiles && off < why_len; p++)
				off += (size_t)snprintf(why + off, why_len - off, "%s%s", p ? ", " : "", gpu->profiles[p].name);
			if (off < why_len)
				snprintf(why + off, why_len - off, ")");
			return -EINVAL;
		}
		ret[i] = (unsigned int)k;
	}
	return (int)json_array_size(names);
}
