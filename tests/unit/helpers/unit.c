/* SPDX-License-Identifier: MIT */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

void unit_check(bool ok, int line, const char *file, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ok) {
		CU_assertImplementation(CU_TRUE, (unsigned int)line, "", file, "", CU_FALSE);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(CU_FALSE, (unsigned int)line, msg, file, "", CU_FALSE);
}

int unit_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

int unit_run(const char *suite_name, const struct unit_test *tests, size_t n)
{
	CU_pSuite suite;
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		return 2;
	for (size_t i = 0; i < n; i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].fn))
			return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		return 2;
	failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fixture: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

struct fixture *fx_new(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	if (!fx)
		die("calloc", "");
	snprintf(fx->root, sizeof(fx->root), "%s/iovkit-fx.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->root))
		die("mkdtemp", fx->root);
	return fx;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void fx_free(struct fixture *fx)
{
	if (!fx)
		return;
	nftw(fx->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
}

static void full_path(struct fixture *fx, const char *path, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", fx->root, path);
}

static void mkdir_p(char *p)
{
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			die("mkdir", p);
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die("mkdir", p);
}

static void mkdir_parent(const char *path)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		mkdir_p(dir);
	}
}

void fx_mkdir(struct fixture *fx, const char *path)
{
	char p[4096];

	full_path(fx, path, p, sizeof(p));
	mkdir_p(p);
}

void fx_write(struct fixture *fx, const char *path, const char *fmt, ...)
{
	char p[4096];
	va_list ap;
	FILE *f;

	full_path(fx, path, p, sizeof(p));
	mkdir_parent(p);
	f = fopen(p, "w");
	if (!f)
		die("fopen", p);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f) != 0)
		die("fclose", p);
}

void fx_symlink(struct fixture *fx, const char *path, const char *target)
{
	char p[4096];

	full_path(fx, path, p, sizeof(p));
	mkdir_parent(p);
	if (symlink(target, p) < 0)
		die("symlink", p);
}

const char *fx_read(struct fixture *fx, const char *path)
{
	static char buf[4096];
	char p[4096];
	size_t n;
	FILE *f;

	full_path(fx, path, p, sizeof(p));
	buf[0] = '\0';
	f = fopen(p, "r");
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return buf;
}

void fx_pci_device(struct fixture *fx, const char *bdf, unsigned int vendor, unsigned int device, unsigned int class_code,
		   int group, const char *driver)
{
	char dev[512], p[1024], t[1024];

	snprintf(dev, sizeof(dev), "sys/devices/pci0000:00/%s", bdf);
	snprintf(p, sizeof(p), "%s/vendor", dev);
	fx_write(fx, p, "0x%04x\n", vendor);
	snprintf(p, sizeof(p), "%s/device", dev);
	fx_write(fx, p, "0x%04x\n", device);
	snprintf(p, sizeof(p), "%s/class", dev);
	fx_write(fx, p, "0x%06x\n", class_code);
	snprintf(p, sizeof(p), "%s/driver_override", dev);
	fx_write(fx, p, "(null)\n");
	snprintf(p, sizeof(p), "sys/bus/pci/devices/%s", bdf);
	snprintf(t, sizeof(t), "../../../devices/pci0000:00/%s", bdf);
	fx_symlink(fx, p, t);
	if (group >= 0) {
		snprintf(p, sizeof(p), "%s/iommu_group", dev);
		snprintf(t, sizeof(t), "../../../kernel/iommu_groups/%d", group);
		fx_symlink(fx, p, t);
		snprintf(p, sizeof(p), "sys/kernel/iommu_groups/%d/devices/%s", group, bdf);
		snprintf(t, sizeof(t), "../../../../devices/pci0000:00/%s", bdf);
		fx_symlink(fx, p, t);
	}
	if (driver) {
		snprintf(p, sizeof(p), "%s/driver", dev);
		snprintf(t, sizeof(t), "../../../bus/pci/drivers/%s", driver);
		fx_symlink(fx, p, t);
		snprintf(p, sizeof(p), "sys/bus/pci/drivers/%s", driver);
		fx_mkdir(fx, p);
	}
}
