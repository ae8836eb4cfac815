/* SPDX-License-Identifier: MIT */
/* IOVA allocation: the lowest free, aligned range inside the IOMMU's usable ranges. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

static int span_cmp(const void *a, const void *b)
{
	const struct iova_span *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

int iova_find(const struct iova_span *ranges, size_t n_ranges, const struct iova_span *busy, size_t n_busy,
	      uint64_t len, uint64_t align, uint64_t limit, uint64_t *ret)
{
	_cleanup_free_ struct iova_span *sorted = NULL;
	bool found = false;
	uint64_t best = 0;

	if (!len || !align || (align & (align - 1)))
		return -EINVAL;
	/* Busy spans sorted by start, so each range is one sweep: O(n log n), not O(n^2). */
	if (n_busy) {
		sorted = malloc(n_busy * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, busy, n_busy * sizeof(*sorted));
		qsort(sorted, n_busy, sizeof(*sorted), span_cmp);
	}
	for (size_t r = 0; r < n_ranges; r++) {
		size_t i = 0;
		uint64_t at;

		if (!align_up(ranges[r].start, align, &at))
			continue;
		for (;;) {
			uint64_t end = at + len - 1;
			bool moved = false;

			if (end < at || end > ranges[r].end || (limit && end >= limit))
				break;
			/* Spans that end before the candidate no longer matter; the next one that starts
			 * at or before its end is in the way, so jump past it. */
			while (i < n_busy && sorted[i].end < at)
				i++;
			for (size_t k = i; k < n_busy && sorted[k].start <= end; k++) {
				if (sorted[k].end >= at) {
					if (sorted[k].end == UINT64_MAX || !align_up(sorted[k].end + 1, align, &at))
						goto next_range;
					moved = true;
					break;
				}
			}
			if (!moved) {
				if (!found || at < best)
					best = at;
				found = true;
				break;
			}
		}
next_range:;
	}
	if (!found)
		return -ENOSPC;
	*ret = best;
	return 0;
}
