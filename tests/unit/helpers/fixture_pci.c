/* SPDX-License-Identifier: MIT */
/* PCI functions in fixture trees, with config space as real devices lay it out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static void put16(uint8_t *c, unsigned int off, uint16_t v)
{
	c[off] = v & 0xff;
	c[off + 1] = v >> 8;
}

static void put32(uint8_t *c, unsigned int off, uint32_t v)
{
	put16(c, off, v & 0xffff);
	put16(c, off + 2, v >> 16);
}

/* Writes an extended capability header at @off and links the previous one to it. */
static void ext_cap(uint8_t *c, unsigned int *prev, unsigned int off, uint16_t id)
{
	if (*prev)
		put16(c, *prev + 2, (uint16_t)(1u | off << 4));
	put32(c, off, id | (1u << 16));
	*prev = off;
}

/*
 * Config space: standard capabilities PM 0x40, MSI 0x50, MSI-X 0x70, PCIe 0x80 (PCI 3.0 §6.7,
 * PCIe 6.0 §7.5.3); extended capabilities from 0x100 (ACS §7.7.8, SR-IOV §9.3.3).
 */
static void build_config(const struct fx_pci *p, uint8_t *c)
{
	uint8_t *last_next = &c[0x34];
	unsigned int ext = 0x100, prev_ext = 0;

	memset(c, 0, 4096);
	put16(c, 0x00, p->vendor);
	put16(c, 0x02, p->device);
	put16(c, 0x04, 0x0006);
	put16(c, 0x06, 0x0010);   /* capabilities list */
	c[0x08] = p->revision;
	c[0x09] = p->class_code & 0xff;
	c[0x0a] = (p->class_code >> 8) & 0xff;
	c[0x0b] = (p->class_code >> 16) & 0xff;
	c[0x0e] = (uint8_t)(p->header_type | (p->multifunction ? 0x80 : 0));
	if (p->header_type == 0) {
		for (int i = 0; i < 6; i++) {
			const struct fx_bar *b = &p->bars[i];

			if (!b->size)
				continue;
			if (b->io)
				put32(c, 0x10 + 4 * i, (uint32_t)b->base | 1);
			else
				put32(c, 0x10 + 4 * i, (uint32_t)b->base | (b->mem64 ? 4 : 0) | (b->prefetch ? 8 : 0));
			if (b->mem64 && i < 5)
				put32(c, 0x10 + 4 * (i + 1), (uint32_t)(b->base >> 32));
		}
		put16(c, 0x2c, p->subsys_vendor);
		put16(c, 0x2e, p->subsys_device);
	}
	if (p->pm) {
		*last_next = 0x40;
		c[0x40] = 0x01;
		put16(c, 0x42, 0x0003);
		put16(c, 0x44, p->pm_no_soft_reset ? 0x0008 : 0);
		last_next = &c[0x41];
	}
	if (p->msi_vectors) {
		unsigned int log2 = 0;

		while ((1u << log2) < p->msi_vectors)
			log2++;
		*last_next = 0x50;
		c[0x50] = 0x05;
		put16(c, 0x52, (uint16_t)(0x0080 | (log2 << 1)));
		last_next = &c[0x51];
	}
	if (p->msix_vectors) {
		*last_next = 0x70;
		c[0x70] = 0x11;
		put16(c, 0x72, (uint16_t)(p->msix_vectors - 1));
		last_next = &c[0x71];
	}
	if (p->pcie_type >= 0) {
		*last_next = 0x80;
		c[0x80] = 0x10;
		put16(c, 0x82, (uint16_t)(0x0002 | (p->pcie_type << 4)));
		put32(c, 0x84, p->flr ? 0x10000000u : 0);
		last_next = &c[0x81];
	}
	*last_next = 0;

	/* Extended capabilities: 16-bit id, 4-bit version, 12-bit offset of the next. */
	if (p->acs) {
		ext_cap(c, &prev_ext, ext, 0x000d);
		put16(c, ext + 4, p->acs_cap);
		put16(c, ext + 6, p->acs_ctrl);
		ext += 0x40;
	}
	if (p->serial) {
		ext_cap(c, &prev_ext, ext, 0x0003);
		put32(c, ext + 4, (uint32_t)p->serial);
		put32(c, ext + 8, (uint32_t)(p->serial >> 32));
		ext += 0x10;
	}
	if (p->sriov_total) {
		ext_cap(c, &prev_ext, ext, 0x0010);
		put16(c, ext + 0x0c, p->sriov_initial ? p->sriov_initial : p->sriov_total);
		put16(c, ext + 0x0e, p->sriov_total);
		put16(c, ext + 0x10, p->sriov_num);
		put16(c, ext + 0x14, p->sriov_offset);
		put16(c, ext + 0x16, p->sriov_stride);
		put16(c, ext + 0x1a, p->sriov_vf_device);
	}
}

/* "../" once per component of @from (a path under the root), then @to. */
static void rel_link(char *out, size_t size, const char *from_dir, const char *to)
{
	size_t used = 0;

	out[0] = '\0';
	for (const char *s = from_dir; *s; s++)
		if (*s == '/')
			used += (size_t)snprintf(out + used, size - used, "../");
	used += (size_t)snprintf(out + used, size - used, "../%s", to);
}

/* The directory of an existing function, "sys/devices/pci0000:00/.../<bdf>", from its bus link. */
static void existing_dir(struct fixture *fx, const char *bdf, char *out, size_t size)
{
	char link[4096], path[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s", fx->root, bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		fprintf(stderr, "fixture: %s must be created before the functions that refer to it\n", bdf);
		abort();
	}
	link[n] = '\0';
	/* "../../../devices/..." relative to sys/bus/pci/devices */
	snprintf(out, size, "sys/%s", strstr(link, "devices/"));
}

/* Where a new function's directory goes: below its parent bridge, or on its root bus. */
static void dev_dir(struct fixture *fx, const char *bdf, const char *parent, char *out, size_t size)
{
	char pdir[4096];

	if (!parent) {
		snprintf(out, size, "sys/devices/pci%.7s/%s", bdf, bdf);
		return;
	}
	existing_dir(fx, parent, pdir, sizeof(pdir));
	snprintf(out, size, "%s/%s", pdir, bdf);
}

void fx_pci(struct fixture *fx, const struct fx_pci *p)
{
	uint8_t config[4096];
	char dir[1024], path[1200], target[1200], res[2048];
	size_t used = 0;
	FILE *f;

	dev_dir(fx, p->bdf, p->parent, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/vendor", dir);
	fx_write(fx, path, "0x%04x\n", p->vendor);
	snprintf(path, sizeof(path), "%s/device", dir);
	fx_write(fx, path, "0x%04x\n", p->device);
	snprintf(path, sizeof(path), "%s/subsystem_vendor", dir);
	fx_write(fx, path, "0x%04x\n", p->subsys_vendor);
	snprintf(path, sizeof(path), "%s/subsystem_device", dir);
	fx_write(fx, path, "0x%04x\n", p->subsys_device);
	snprintf(path, sizeof(path), "%s/class", dir);
	fx_write(fx, path, "0x%06x\n", p->class_code);
	snprintf(path, sizeof(path), "%s/revision", dir);
	fx_write(fx, path, "0x%02x\n", p->revision);
	snprintf(path, sizeof(path), "%s/irq", dir);
	fx_write(fx, path, "0\n");
	snprintf(path, sizeof(path), "%s/numa_node", dir);
	fx_write(fx, path, "%d\n", p->numa_node);
	snprintf(path, sizeof(path), "%s/driver_override", dir);
	fx_write(fx, path, "%s\n", p->override ? p->override : "(null)");
	snprintf(path, sizeof(path), "%s/modalias", dir);
	fx_write(fx, path, "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n", p->vendor, p->device, p->subsys_vendor,
		 p->subsys_device, p->class_code >> 16, (p->class_code >> 8) & 0xff, p->class_code & 0xff);
	if ((p->class_code >> 8) == 0x0300) {
		snprintf(path, sizeof(path), "%s/boot_vga", dir);
		fx_write(fx, path, "%d\n", p->boot_vga ? 1 : 0);
	}
	if (p->reset_method) {
		snprintf(path, sizeof(path), "%s/reset_method", dir);
		fx_write(fx, path, "%s\n", p->reset_method);
	}
	if (p->sriov_total) {
		snprintf(path, sizeof(path), "%s/sriov_totalvfs", dir);
		fx_write(fx, path, "%u\n", p->sriov_total);
		snprintf(path, sizeof(path), "%s/sriov_numvfs", dir);
		fx_write(fx, path, "%u\n", p->sriov_num);
		snprintf(path, sizeof(path), "%s/sriov_drivers_autoprobe", dir);
		fx_write(fx, path, "1\n");
		snprintf(path, sizeof(path), "%s/sriov_offset", dir);
		fx_write(fx, path, "%u\n", p->sriov_offset);
		snprintf(path, sizeof(path), "%s/sriov_stride", dir);
		fx_write(fx, path, "%u\n", p->sriov_stride);
		snprintf(path, sizeof(path), "%s/sriov_vf_device", dir);
		fx_write(fx, path, "%x\n", p->sriov_vf_device);
	}
	/* resource: start end flags, for BARs 0-5, the ROM and the bridge windows (13 lines). */
	for (int i = 0; i < 13; i++) {
		const struct fx_bar *b = i < 6 ? &p->bars[i] : NULL;
		unsigned long long flags = 0;

		if (b && b->size) {
			flags = b->io ? 0x100 : 0x200;
			if (b->prefetch)
				flags |= 0x2000;
			if (b->mem64)
				flags |= 0x100000;
			used += (size_t)snprintf(res + used, sizeof(res) - used, "0x%016llx 0x%016llx 0x%016llx\n",
						 (unsigned long long)b->base, (unsigned long long)(b->base + b->size - 1), flags);
		} else {
			used += (size_t)snprintf(res + used, sizeof(res) - used, "0x%016llx 0x%016llx 0x%016llx\n", 0ull, 0ull, 0ull);
		}
	}
	snprintf(path, sizeof(path), "%s/resource", dir);
	fx_write(fx, path, "%s", res);

	build_config(p, config);
	snprintf(path, sizeof(path), "%s/%s/config", fx->root, dir);
	f = fopen(path, "wb");
	if (!f || fwrite(config, 1, sizeof(config), f) != sizeof(config) || fclose(f) != 0) {
		perror(path);
		abort();
	}

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s", p->bdf);
	snprintf(target, sizeof(target), "../../../%s", dir + 4);
	fx_symlink(fx, path, target);
	if (p->group >= 0) {
		char gdir[64];

		snprintf(gdir, sizeof(gdir), "kernel/iommu_groups/%d", p->group);
		snprintf(path, sizeof(path), "%s/iommu_group", dir);
		rel_link(target, sizeof(target), dir + 4, gdir);
		fx_symlink(fx, path, target);
		snprintf(path, sizeof(path), "sys/kernel/iommu_groups/%d/devices/%s", p->group, p->bdf);
		snprintf(target, sizeof(target), "../../../../%s", dir + 4);
		fx_symlink(fx, path, target);
		snprintf(path, sizeof(path), "sys/kernel/iommu_groups/%d/type", p->group);
		fx_write(fx, path, "DMA\n");
	}
	if (p->iommu) {
		char udir[64];

		snprintf(udir, sizeof(udir), "devices/virtual/iommu/%s", p->iommu);
		snprintf(path, sizeof(path), "sys/%s/name", udir);
		fx_write(fx, path, "%s\n", p->iommu);
		snprintf(path, sizeof(path), "%s/iommu", dir);
		rel_link(target, sizeof(target), dir + 4, udir);
		fx_symlink(fx, path, target);
		snprintf(path, sizeof(path), "sys/class/iommu/%s", p->iommu);
		snprintf(target, sizeof(target), "../../%s", udir);
		snprintf(res, sizeof(res), "%s/%s", fx->root, path);
		if (access(res, F_OK) != 0)   /* once per unit */
			fx_symlink(fx, path, target);
	}
	if (p->driver) {
		char ddir[128];

		snprintf(ddir, sizeof(ddir), "bus/pci/drivers/%s", p->driver);
		snprintf(path, sizeof(path), "%s/driver", dir);
		rel_link(target, sizeof(target), dir + 4, ddir);
		fx_symlink(fx, path, target);
		snprintf(path, sizeof(path), "sys/%s", ddir);
		fx_mkdir(fx, path);
	}
	if (fx->n_native < sizeof(fx->native) / sizeof(fx->native[0])) {
		snprintf(fx->native[fx->n_native][0], 64, "%s", p->bdf);
		snprintf(fx->native[fx->n_native][1], 64, "%s", p->driver ? p->driver : "");
		fx->n_native++;
	}
	if (p->pf) {
		char pfdir[1024];

		snprintf(path, sizeof(path), "%s/physfn", dir);
		existing_dir(fx, p->pf, pfdir, sizeof(pfdir));
		rel_link(target, sizeof(target), dir + 4, pfdir + 4);
		fx_symlink(fx, path, target);
		snprintf(path, sizeof(path), "%s/virtfn%d", pfdir, p->vf_index);
		rel_link(target, sizeof(target), pfdir + 4, dir + 4);
		fx_symlink(fx, path, target);
	}
}

const char *fx_native_driver(struct fixture *fx, const char *bdf)
{
	for (size_t i = 0; i < fx->n_native; i++)
		if (!strcmp(fx->native[i][0], bdf))
			return fx->native[i][1];
	return "";
}
