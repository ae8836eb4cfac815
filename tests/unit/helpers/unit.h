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
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "iovkit/sriov.h"

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

/* How many fds this process has open: compare before and after to catch a leak. */
int unit_open_fds(void);

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
	size_t n_native;
	char native[256][2][64];    /* bdf, driver: for the fake kernel's probe */
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
 * A PCI function as sysfs shows it, with a real config space (capabilities and extended
 * capabilities at the offsets the PCI spec gives), a resource file, and the links the kernel
 * makes. Zero fields mean "absent".
 */
struct fx_bar {
	uint64_t base, size;
	bool io, mem64, prefetch;
};
#define BAR_MEM(b, s) { .base = (b), .size = (s) }
#define BAR_MEM64(b, s) { .base = (b), .size = (s), .mem64 = true }
#define BAR_MEM64_PF(b, s) { .base = (b), .size = (s), .mem64 = true, .prefetch = true }
#define BAR_IO(b, s) { .base = (b), .size = (s), .io = true }

struct fx_pci {
	const char *bdf;
	const char *parent;         /* upstream bridge BDF, NULL: root bus */
	uint16_t vendor, device, subsys_vendor, subsys_device;
	uint32_t class_code;
	uint8_t revision;
	uint8_t header_type;        /* 0 endpoint, 1 bridge */
	bool multifunction;
	int group;                  /* -1: no IOMMU group */
	const char *driver;         /* bound driver, and the one its native probe picks */
	const char *override;
	int pcie_type;              /* -1: conventional PCI (no PCIe capability) */
	bool flr;
	bool pm, pm_no_soft_reset;
	unsigned int msi_vectors, msix_vectors;
	bool acs;
	uint16_t acs_cap, acs_ctrl;
	uint16_t sriov_total, sriov_initial, sriov_num, sriov_offset, sriov_stride, sriov_vf_device;
	uint64_t serial;            /* non-zero: a Device Serial Number capability */
	const char *pf;             /* for a VF: its PF, and */
	int vf_index;               /* its index (virtfnN) */
	struct fx_bar bars[6];
	int numa_node;
	bool boot_vga;
	const char *reset_method;
	const char *iommu;          /* IOMMU unit, e.g. "dmar0" */
};
void fx_pci(struct fixture *fx, const struct fx_pci *p);

/* The native driver fx_pci() recorded for @bdf ("" if none): what an override-free probe binds. */
const char *fx_native_driver(struct fixture *fx, const char *bdf);

/*
 * A host with an IOMMU and the topologies that matter for assignment (tests/unit/helpers/
 * standard_host.c describes each): an SR-IOV NIC PF with VFs, a GPU with its audio function
 * behind a root port without ACS, a multi-function chipset without ACS, a PCIe-to-PCI bridge
 * with a device behind it, an NVMe drive, an MSI reserved region and a direct one.
 */
void fx_standard_host(struct fixture *fx);

/*
 * The kernel's side of sysfs writes for binding (driver_override, unbind, drivers_probe,
 * drivers/X/bind), acting on a fixture tree. Install with fake_kernel_attach().
 */
struct fake_kernel {
	struct fixture *fx;
	char fail_bdf[16];          /* a probe or bind of this device ... */
	char fail_driver[64];       /* ... by this driver silently fails, as a failing probe() does */
	const char *vf_driver;      /* what new VFs bind to when the PF's autoprobe is on */
	int first_vf_group;         /* IOMMU group of VF 0 (VF n: + n) */
	unsigned int writes;
};
struct iov_ctx;
void fake_kernel_attach(struct fake_kernel *fk, struct iov_ctx *ctx);

/*
 * The kernel's side of VF settings (RTM_SETLINK with IFLA_VF_*): each request iov_vf_set
 * sends is recorded instead, its fields merged into @s. A request carrying @fail_field (or
 * any, with @fail_field ~0u) fails with -EOPNOTSUPP, as a driver without that setting does.
 */
struct fake_vf_net {
	char netdev[32];
	unsigned int vf, requests;
	struct iov_vf_settings s;       /* what was set, over all requests */
	unsigned int fail_field;
};
void fake_vf_net_attach(struct fake_vf_net *fn, struct iov_ctx *ctx);

/*
 * The SR-IOV tests' host: a new standard fixture, a context on it and the fake kernel attached,
 * new VFs binding to iavf when autoprobe is on and getting IOMMU groups from 100.
 */
void fake_sriov_host(struct fixture **fx, struct iov_ctx **ctx, struct fake_kernel *fk);

/* "bdf driver override" per line for every PCI function: compare before and after. Caller frees. */
char *fx_pci_snapshot(struct fixture *fx);

/*
 * A PCI function laid out as sysfs shows it: sys/devices/pci0000:00/<bdf> with vendor, device,
 * class, the sys/bus/pci/devices link, an iommu_group link into sys/kernel/iommu_groups/<group>
 * (group < 0: none) and a driver link (driver NULL: unbound).
 */
void fx_pci_device(struct fixture *fx, const char *bdf, unsigned int vendor, unsigned int device, unsigned int class_code,
		   int group, const char *driver);

#endif
