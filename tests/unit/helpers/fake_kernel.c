/* SPDX-License-Identifier: MIT */
/*
 * The kernel's store methods for PCI binding, acting on a fixture tree, at the host-root
 * layer's attr_store seam (common-internal.h). They follow drivers/pci/pci-sysfs.c and
 * drivers/base/bus.c: driver_override keeps the name ("(null)" when cleared by "\n");
 * driver/unbind detaches; drivers_probe attaches the override, else the native driver, if
 * that driver is loaded; drivers/X/bind fails with -EBUSY if bound and -ENODEV if an override
 * names another driver.
 */
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../common/common-internal.h"
#include "unit.h"

__attribute__((format(printf, 2, 3))) static bool exists(struct fixture *fx, const char *fmt, ...)
{
	char rel[1024], full[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s/%s", fx->root, rel);
	return access(full, F_OK) == 0;
}

static void strip(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* The device's own directory (resolving its bus link), relative to the root. */
static void dev_path(struct fixture *fx, const char *bdf, char *out, size_t size)
{
	char link[1024], path[4200];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s", fx->root, bdf);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	snprintf(out, size, "sys/%s", strstr(link, "devices/") ? strstr(link, "devices/") : link);
}

static void attach(struct fixture *fx, const char *bdf, const char *driver)
{
	char dir[1024], path[1100], target[1200];
	size_t used = 0;

	dev_path(fx, bdf, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/driver", dir);
	for (const char *s = dir + 4; *s; s++)
		if (*s == '/')
			used += (size_t)snprintf(target + used, sizeof(target) - used, "../");
	snprintf(target + used, sizeof(target) - used, "../bus/pci/drivers/%s", driver);
	fx_symlink(fx, path, target);
}

static int current_driver(struct fixture *fx, const char *bdf, char *out, size_t size)
{
	char dir[1024], path[4200], link[1024];
	ssize_t n;

	dev_path(fx, bdf, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s/driver", fx->root, dir);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		out[0] = '\0';
		return 0;
	}
	link[n] = '\0';
	snprintf(out, size, "%s", strrchr(link, '/') + 1);
	return 1;
}

static int detach(struct fixture *fx, const char *bdf)
{
	char dir[1024], path[4200];

	dev_path(fx, bdf, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s/driver", fx->root, dir);
	return unlink(path) == 0 ? 0 : -ENODEV;
}

static void override_of(struct fixture *fx, const char *bdf, char *out, size_t size)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver_override", bdf);
	snprintf(out, size, "%s", fx_read(fx, rel));
	if (!strcmp(out, "(null)"))
		out[0] = '\0';
}

static unsigned int attr_u(struct fixture *fx, const char *bdf, const char *name)
{
	char rel[160];

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/%s", bdf, name);
	return (unsigned int)strtoul(fx_read(fx, rel), NULL, 0);
}

static int rm_tree(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Removes a path of the fixture, a directory with everything in it. */
static void fx_remove(struct fixture *fx, const char *rel)
{
	char full[4200];

	snprintf(full, sizeof(full), "%s/%s", fx->root, rel);
	nftw(full, rm_tree, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * drivers/pci/iov.c, sriov_numvfs_store(): -EBUSY when changing a non-zero count, -ERANGE
 * above sriov_totalvfs; VFs at routing IDs PF + offset + n * stride, with physfn/virtfn links,
 * groups of their own, and a driver when the PF's autoprobe is on.
 */
static int sriov_numvfs_store(struct fake_kernel *fk, const char *pf, const char *value)
{
	struct fixture *fx = fk->fx;
	unsigned int n = (unsigned int)strtoul(value, NULL, 10), cur = attr_u(fx, pf, "sriov_numvfs"),
		     total = attr_u(fx, pf, "sriov_totalvfs"), off = attr_u(fx, pf, "sriov_offset"),
		     stride = attr_u(fx, pf, "sriov_stride"), vf_dev = attr_u(fx, pf, "sriov_vf_device"),
		     vendor = attr_u(fx, pf, "vendor"), class_code = attr_u(fx, pf, "class");
	unsigned int dom, bus, dev, fn;
	char rel[160], link[1024], full[4200], parent[16] = "";
	ssize_t len;

	if (n == cur)
		return 0;
	if (n && cur)
		return -EBUSY;
	if (n > total)
		return -ERANGE;
	sscanf(pf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn);
	/* The PF's parent, from its sysfs path, for the VFs' place in the tree. */
	snprintf(full, sizeof(full), "%s/sys/bus/pci/devices/%s", fx->root, pf);
	len = readlink(full, link, sizeof(link) - 1);
	if (len > 0) {
		char *last, *prev;

		link[len] = '\0';
		last = strrchr(link, '/');
		*last = '\0';
		prev = strrchr(link, '/');
		if (prev && strlen(prev + 1) == 12 && prev[5] == ':')
			snprintf(parent, sizeof(parent), "%s", prev + 1);
	}
	if (n == 0) {
		for (unsigned int i = 0; i < cur; i++) {
			char vf[64], vdir[1024];

			snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/virtfn%u", pf, i);
			snprintf(full, sizeof(full), "%s/%s", fx->root, rel);
			len = readlink(full, vdir, sizeof(vdir) - 1);
			if (len <= 0)
				continue;
			vdir[len] = '\0';
			snprintf(vf, sizeof(vf), "%s", strrchr(vdir, '/') + 1);
			dev_path(fx, vf, vdir, sizeof(vdir));
			/* Its group (a VF is alone in one) goes with it. */
			snprintf(full, sizeof(full), "%s/%s/iommu_group", fx->root, vdir);
			len = readlink(full, link, sizeof(link) - 1);
			if (len > 0) {
				link[len] = '\0';
				snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%s", strrchr(link, '/') + 1);
				fx_remove(fx, rel);
			}
			fx_remove(fx, vdir);
			snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", vf);
			fx_remove(fx, rel);
			snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/virtfn%u", pf, i);
			fx_remove(fx, rel);
		}
	} else {
		bool autoprobe = attr_u(fx, pf, "sriov_drivers_autoprobe") != 0;
		unsigned int rid0 = bus << 8 | dev << 3 | fn;

		for (unsigned int i = 0; i < n; i++) {
			unsigned int rid = rid0 + off + i * stride;
			char vf[16];

			snprintf(vf, sizeof(vf), "%04x:%02x:%02x.%x", dom, rid >> 8, (rid >> 3) & 0x1f, rid & 7);
			fx_pci(fx, &(struct fx_pci){ .bdf = vf, .parent = parent[0] ? parent : NULL, .vendor = (uint16_t)vendor,
						     .device = (uint16_t)vf_dev, .class_code = class_code,
						     .group = fk->first_vf_group + (int)i,
						     .driver = autoprobe ? fk->vf_driver : NULL, .pcie_type = 0, .flr = true,
						     .pf = pf, .vf_index = (int)i });
		}
	}
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/sriov_numvfs", pf);
	fx_write(fx, rel, "%u\n", n);
	return 0;
}

static int store(void *userdata, struct iov_ctx *ctx, const char *path, const char *value)
{
	struct fake_kernel *fk = userdata;
	struct fixture *fx = fk->fx;
	char bdf[64], drv[64], v[256], cur[64], ovr[64];

	fk->writes++;
	snprintf(v, sizeof(v), "%s", value);
	strip(v);
	if (sscanf(path, "sys/bus/pci/devices/%12[^/]/driver_overrid%1[e]", bdf, drv) == 2) {
		if (!exists(fx, "sys/bus/pci/devices/%s", bdf))
			return -ENOENT;
		char rel[128];

		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver_override", bdf);
		fx_write(fx, rel, "%s\n", v[0] ? v : "(null)");
		return 0;
	}
	if (sscanf(path, "sys/bus/pci/devices/%12[^/]/driver/unbin%1[d]", bdf, drv) == 2) {
		if (!current_driver(fx, bdf, cur, sizeof(cur)))
			return -ENOENT;   /* no driver link: the path does not resolve */
		return strcmp(v, bdf) ? -ENODEV : detach(fx, bdf);
	}
	if (!strcmp(path, "sys/bus/pci/drivers_probe")) {
		const char *want;

		if (!exists(fx, "sys/bus/pci/devices/%s", v))
			return -ENODEV;
		if (current_driver(fx, v, cur, sizeof(cur)))
			return 0;
		override_of(fx, v, ovr, sizeof(ovr));
		want = ovr[0] ? ovr : fx_native_driver(fx, v);
		if (!want[0] || !exists(fx, "sys/bus/pci/drivers/%s", want))
			return 0;
		if (!strcmp(v, fk->fail_bdf) && !strcmp(want, fk->fail_driver))
			return 0;   /* probe() failed: the device stays unbound, the write succeeds */
		attach(fx, v, want);
		return 0;
	}
	if (sscanf(path, "sys/bus/pci/drivers/%63[^/]/bin%1[d]", drv, bdf) == 2) {
		if (!exists(fx, "sys/bus/pci/drivers/%s", drv))
			return -ENOENT;
		if (!exists(fx, "sys/bus/pci/devices/%s", v))
			return -ENODEV;
		if (current_driver(fx, v, cur, sizeof(cur)))
			return -EBUSY;
		override_of(fx, v, ovr, sizeof(ovr));
		if (ovr[0] && strcmp(ovr, drv))
			return -ENODEV;
		if (!strcmp(v, fk->fail_bdf) && !strcmp(drv, fk->fail_driver))
			return -ENODEV;
		attach(fx, v, drv);
		return 0;
	}
	if (sscanf(path, "sys/bus/pci/devices/%12[^/]/sriov_numvf%1[s]", bdf, drv) == 2)
		return sriov_numvfs_store(fk, bdf, v);
	/* Any other attribute: stored as a plain file, as most sysfs attributes behave. */
	if (!exists(fx, "%s", path))
		return -ENOENT;
	fx_write(fx, path, "%s\n", v);
	return 0;
}

void fake_kernel_attach(struct fake_kernel *fk, struct iov_ctx *ctx)
{
	ctx->attr_store = store;
	ctx->attr_store_userdata = fk;
}

static int vf_net_store(void *userdata, const char *netdev, unsigned int vf, const void *settings)
{
	struct fake_vf_net *fn = userdata;
	const struct iov_vf_settings *one = settings;
	unsigned int fields = fn->s.fields;

	fn->requests++;
	if (one->fields & fn->fail_field)
		return -EOPNOTSUPP;
	snprintf(fn->netdev, sizeof(fn->netdev), "%s", netdev);
	fn->vf = vf;
	fn->s = *one;
	fn->s.fields |= fields;
	return 0;
}

void fake_vf_net_attach(struct fake_vf_net *fn, struct iov_ctx *ctx)
{
	ctx->vf_store = vf_net_store;
	ctx->vf_store_userdata = fn;
}

void fake_sriov_host(struct fixture **fx, struct iov_ctx **ctx, struct fake_kernel *fk)
{
	*fx = fx_new();
	fx_standard_host(*fx);
	ASSERT_OK(iov_ctx_new((*fx)->root, ctx));
	*fk = (struct fake_kernel){ .fx = *fx, .vf_driver = "iavf", .first_vf_group = 100 };
	fake_kernel_attach(fk, *ctx);
}

char *fx_pci_snapshot(struct fixture *fx)
{
	char path[4200], *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	struct dirent **names;
	int n;

	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices", fx->root);
	n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char cur[64], ovr[64];

		if (names[i]->d_name[0] != '.') {
			current_driver(fx, names[i]->d_name, cur, sizeof(cur));
			override_of(fx, names[i]->d_name, ovr, sizeof(ovr));
			fprintf(f, "%s %s %s\n", names[i]->d_name, cur[0] ? cur : "-", ovr[0] ? ovr : "-");
		}
		free(names[i]);
	}
	free(names);
	fclose(f);
	return out;
}
