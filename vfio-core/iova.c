/* SPDX-License-Identifier: MIT */
/* IOVA allocation: the lowest free, aligned range inside the IOMMU's usable ranges. */
#include <errno.h>

#include "vfio-internal.h"

bool iova_overlaps(const struct iova_span *spans, size_t n, uint64_t start, uint64_t len)
{
	uint64_t end = start + len - 1;

	for (size_t i = 0; i < n; i++)
		if (start <= spans[i].end && spans[i].start <= end)
			return true;
	return false;
}

/* Rounds @v up to @align (a power of two); false on overflow. */
static bool align_up(uint64_t v, uint64_t align, uint64_t *ret)
{
	uint64_t r = (v + align - 1) & ~(align - 1);

	if (r < v)
		return false;
	*ret = r;
	return true;
}

int iova_find(const struct iova_span *ranges, size_t n_ranges, const struct iova_span *busy, size_t n_busy,
	      uint64_t len, uint64_t align, uint64_t limit, uint64_t *ret)
{
	bool found = false;
	uint64_t best = 0;

	if (!len || !align || (align & (align - 1)))
		return -EINVAL;
	for (size_t r = 0; r < n_ranges; r++) {
		uint64_t at;

		if (!align_up(ranges[r].start, align, &at))
			continue;
		/*
		 * Walk up from the range's start: whenever the candidate hits a busy span, jump past
		 * it. Each jump passes a span, so this ends after at most n_busy + 1 steps.
		 */
		for (size_t steps = 0; steps <= n_busy; steps++) {
			uint64_t end = at + len - 1;
			const struct iova_span *hit = NULL;

			if (end < at || end > ranges[r].end || (limit && end >= limit))
				break;
			for (size_t i = 0; i < n_busy; i++)
				if (at <= busy[i].end && busy[i].start <= end && (!hit || busy[i].end > hit->end))
					hit = &busy[i];
			if (!hit) {
				if (!found || at < best)
					best = at;
				found = true;
				break;
			}
			if (hit->end == UINT64_MAX || !align_up(hit->end + 1, align, &at))
				break;
		}
	}
	if (!found)
		return -ENOSPC;
	*ret = best;
	return 0;
}
