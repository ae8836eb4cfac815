/* SPDX-License-Identifier: MIT */
/*
 * The unit-test harness: CUnit with assertions that explain themselves (both operands, the
 * expression, and errno), and fixture trees built in a temporary directory.
 */
#ifndef IOVKIT_TEST_UNIT_H
#define IOVKIT_TEST_UNIT_H

#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void unit_check(bool ok, int line, const char *file, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define ASSERT_INT_EQ(a, b)                                                                          \
	do {                                                                                         \
		int _e = errno;                                                                      \
		long long _a = (long long)(a), _b = (long long)(b);                                  \
		unit_check(_a == _b, __LINE__, __FILE__, "%s == %s: %lld != %lld (errno %d: %s)", #a, #b, \
			   _a, _b, _e, strerror(_e));                                                \
	} while (0)

#define ASSERT_INT_GE(a, b)                                                                          \
	do {                                                                                         \
		int _e = errno;                                                                      \
		long long _a = (long long)(a), _b = (long long)(b);                                  \
		unit_check(_a >= _b, __LINE__, __FILE__, "%s >= %s: %lld < %lld (errno %d: %s)", #a, #b,   \
			   _a, _b, _e, strerror(_e));                                                \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                                          \
	do {                                                                                         \
		const char *_a = (a), *_b = (b);                                                     \
		unit_check(_a && _b && !strcmp(_a, _b), __LINE__, __FILE__, "%s == %s: \"%s\" != \"%s\"", \
			   #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");                          \
	} while (0)

#define ASSERT_TRUE(e) unit_check(!!(e), __LINE__, __FILE__, "%s is false", #e)
#define ASSERT_FALSE(e) unit_check(!(e), __LINE__, __FILE__, "%s is true", #e)

/* A call returning 0 / a count, or negative errno. */
#define ASSERT_OK(e)                                                                                   \
	do {                                                                                           \
		long long _r = (long long)(e);                                                         \
		unit_check(_r >= 0, __LINE__, __FILE__, "%s failed: %lld (%s)", #e, _r, strerror((int)-_r)); \
	} while (0)

/* A call that must fail with exactly -err. */
#define ASSERT_ERR(e, err)                                                                                   \
	do {                                                                                                 \
		long long _r = (long long)(e);                                                               \
		unit_check(_r == -(err), __LINE__, __FILE__, "%s: expected -%s, got %lld (%s)", #e, #err, _r, \
			   _r < 0 ? strerror((int)-_r) : "success");                                         \
	} while (0)

struct unit_test {
	const char *name;
	void (*fn)(void);
};

/* Runs the tests as one CUnit suite; returns the process exit status (0 when all passed). */
int unit_run(const char *suite, const struct unit_test *tests, size_t n);

#define UNIT_MAIN(suite, ...)                                                          \
	int main(void)                                                                 \
	{                                                                              \
		static const struct unit_test _tests[] = { __VA_ARGS__ };              \
		return unit_run(suite, _tests, sizeof(_tests) / sizeof(_tests[0]));    \
	}
#define UNIT_TEST(fn) { #fn, fn }

/* ---- fixture trees ---- */

struct fixture {
	char root[4096];
};

/* A new empty tree in a temporary directory; removed by fx_free(). Aborts the test program on failure. */
struct fixture *fx_new(void);
void fx_free(struct fixture *fx);

/* Files, folders and links under the tree; parents are created. Each aborts on failure. */
void fx_write(struct fixture *fx, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fx_mkdir(struct fixture *fx, const char *path);
void fx_symlink(struct fixture *fx, const char *path, const char *target);
/* Reads a file of the tree (trailing newline removed) into a static buffer; "" if absent. */
const char *fx_read(struct fixture *fx, const char *path);

/*
 * A PCI function laid out as sysfs shows it: sys/devices/pci0000:00/<bdf> with vendor, device,
 * class, the sys/bus/pci/devices link, an iommu_group link into sys/kernel/iommu_groups/<group>
 * (group < 0: none) and a driver link (driver NULL: unbound).
 */
void fx_pci_device(struct fixture *fx, const char *bdf, unsigned int vendor, unsigned int device, unsigned int class_code,
		   int group, const char *driver);

#endif
