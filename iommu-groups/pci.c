/* SPDX-License-Identifier: MIT */
/*
 * PCI inventory through libpci, pointed at the host root's sys/bus/pci with the "sysfs.path"
 * parameter, plus what libpci does not read (driver_override, SR-IOV links, reset_method,
 * boot_vga) through the host-root layer.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <pci/pci.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "iommu-internal.h"

/* MSI-X Message Control is at the same offset as MSI's (PCI 3.0 §6.8.2.3). */
#define MSIX_CTRL 2

/*
 * libpci reports fatal errors through a callback that must not return (its default calls
 * exit()). We longjmp out of it back into iov_pci_inventory_new(). The jump target is per
 * thread and lives only for the duration of one inventory call.
 */
static __thread jmp_buf *libpci_escape;
static __thread char libpci_error[256];

__attribute__((noreturn, format(printf, 1, 2))) static void libpci_fatal(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(libpci_error, sizeof(libpci_error), msg, ap);
	va_end(ap);
	if (libpci_escape)
		longjmp(*libpci_escape, 1);
	abort();   /* not reachable: libpci runs only inside inventory_scan() */
}

static void libpci_quiet(char *msg, ...)
{
}

IOV_EXPORT int iov_pci_bdf_parse(const char *s, char ret[IOV_BDF_LEN])
{
	unsigned int dom = 0, bus, dev, fn;
	int n = 0;

	if (!s)
		return -EINVAL;
	if (sscanf(s, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &n) == 4 && (size_t)n == strlen(s) && s[4] == ':')
		;
	else if (dom = 0, n = 0, sscanf(s, "%2x:%2x.%1x%n", &bus, &dev, &fn, &n) == 3 && (size_t)n == strlen(s) && s[2] == ':')
		;
	else
		return -EINVAL;
	if (dev > 0x1f || fn > 7 || strchr(s, ' ') || strchr(s, '+') || strchr(s, '-'))
		return -EINVAL;
	snprintf(ret, IOV_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

IOV_EXPORT const char *iov_pci_class_kind(uint32_t class_code)
{
	switch (class_code >> 16) {
	case 0x01:
		return "storage";
	case 0x02:
		return "net";
	case 0x03:
		return "gpu";
	case 0x12:
		return "accelerator";
	case 0x06:
		return "bridge";
	default:
		return "other";
	}
}

int pci_driver_get(struct iov_ctx *ctx, const char *bdf, char *buf, size_t size)
{
	int r = iov_link_basename(ctx, buf, size, PCI_DEV_DIR "/driver", bdf);

	if (r == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return r < 0 ? r : 0;
}

int pci_driver_override_get(struct iov_ctx *ctx, const char *bdf, char *buf, size_t size)
{
	int r = iov_attr_read(ctx, buf, size, PCI_DEV_DIR "/driver_override", bdf);

	if (r == -ENOENT || (r >= 0 && !strcmp(buf, "(null)"))) {
		buf[0] = '\0';
		return 0;
	}
	return r < 0 ? r : 0;
}

/* ---- kernel modules that could drive a device: modules.alias "pci:" lines ---- */

struct alias {
	char *pattern, *module;
};

struct alias_table {
	/* Aliases whose vendor is a literal, by vendor; and those with a wildcard vendor. */
	struct alias *by_vendor[256];   /* hashed by the vendor's low byte; each array ends with {NULL} */
	size_t by_vendor_n[256];
	struct alias *wild;
	size_t wild_n;
};

static void alias_table_free(struct alias_table *t)
{
	for (size_t h = 0; h < 256; h++) {
		for (size_t i = 0; i < t->by_vendor_n[h]; i++) {
			free(t->by_vendor[h][i].pattern);
			free(t->by_vendor[h][i].module);
		}
		free(t->by_vendor[h]);
	}
	for (size_t i = 0; i < t->wild_n; i++) {
		free(t->wild[i].pattern);
		free(t->wild[i].module);
	}
	free(t->wild);
}

static int alias_push(struct alias **arr, size_t *n, const char *pattern, const char *module)
{
	struct alias *grown = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!grown)
		return -ENOMEM;
	*arr = grown;
	grown[*n].pattern = strdup(pattern);
	grown[*n].module = strdup(module);
	if (!grown[*n].pattern || !grown[*n].module) {
		free(grown[*n].pattern);
		free(grown[*n].module);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* Loads lib/modules/<release>/modules.alias; a missing file leaves the table empty. */
static int alias_table_load(struct iov_ctx *ctx, struct alias_table *t)
{
	_cleanup_free_ char *line = NULL;
	char release[128];
	size_t cap = 0;
	int fd, r = 0;
	FILE *f;

	if (iov_attr_read(ctx, release, sizeof(release), "proc/sys/kernel/osrelease") < 0)
		return 0;
	fd = iov_path_open(ctx, O_RDONLY, "lib/modules/%s/modules.alias", release);
	if (fd < 0)
		return 0;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (r == 0 && getline(&line, &cap, f) > 0) {
		char pattern[256], module[128];
		unsigned int vendor;

		if (sscanf(line, "alias %255s %127s", pattern, module) != 2 || strncmp(pattern, "pci:v", 5))
			continue;
		if (sscanf(pattern, "pci:v%8x", &vendor) == 1 && pattern[13] == 'd')
			r = alias_push(&t->by_vendor[vendor & 0xff], &t->by_vendor_n[vendor & 0xff], pattern, module);
		else
			r = alias_push(&t->wild, &t->wild_n, pattern, module);
	}
	fclose(f);
	return r;
}

static int strv_add_unique(char ***strv, size_t *n, const char *s)
{
	char **grown;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*strv)[i], s))
			return 0;
	grown = realloc(*strv, (*n + 2) * sizeof(**strv));
	if (!grown)
		return -ENOMEM;
	*strv = grown;
	grown[*n] = strdup(s);
	if (!grown[*n])
		return -ENOMEM;
	grown[++*n] = NULL;
	return 0;
}

static int modules_for(const struct alias_table *t, const char *modalias, uint16_t vendor, char ***ret)
{
	char **mods = calloc(1, sizeof(*mods));
	size_t n = 0;
	int r = 0;

	if (!mods)
		return -ENOMEM;
	if (modalias[0]) {
		const struct alias *v = t->by_vendor[vendor & 0xff];

		for (size_t i = 0; r == 0 && i < t->by_vendor_n[vendor & 0xff]; i++)
			if (!fnmatch(v[i].pattern, modalias, 0))
				r = strv_add_unique(&mods, &n, v[i].module);
		for (size_t i = 0; r == 0 && i < t->wild_n; i++)
			if (!fnmatch(t->wild[i].pattern, modalias, 0))
				r = strv_add_unique(&mods, &n, t->wild[i].module);
	}
	if (r < 0) {
		iov_strv_free(mods);
		return r;
	}
	*ret = mods;
	return 0;
}

IOV_EXPORT void iov_pci_serial_format(uint64_t serial, char buf[24])
{
	for (int i = 7; i >= 0; i--)
		snprintf(buf + 3 * (7 - i), 4, i ? "%02x-" : "%02x", (unsigned int)(serial >> (8 * i)) & 0xff);
}

/* ---- one device ---- */

static void fill_from_config(struct pci_dev *p, struct iov_pci_dev *d)
{
	struct pci_cap *cap;
	uint8_t ht = pci_read_byte(p, PCI_HEADER_TYPE);

	d->header_type = ht & 0x7f;
	d->multifunction = ht & 0x80;
	d->pcie_type = IOV_PCIE_NONE;

	cap = pci_find_cap(p, PCI_CAP_ID_EXP, PCI_CAP_NORMAL);
	if (cap) {
		d->pcie_type = (enum iov_pcie_type)((pci_read_word(p, cap->addr + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_TYPE) >> 4);
		d->flr = pci_read_long(p, cap->addr + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLRESET;
	}
	cap = pci_find_cap(p, PCI_CAP_ID_AF, PCI_CAP_NORMAL);
	if (cap && (pci_read_byte(p, cap->addr + PCI_AF_CAP) & PCI_AF_CAP_FLR))
		d->flr = true;
	cap = pci_find_cap(p, PCI_CAP_ID_PM, PCI_CAP_NORMAL);
	if (cap)
		d->pm_reset = !(pci_read_word(p, cap->addr + PCI_PM_CTRL) & PCI_PM_CTRL_NO_SOFT_RST);
	cap = pci_find_cap(p, PCI_CAP_ID_MSI, PCI_CAP_NORMAL);
	if (cap)
		d->msi_vectors = 1u << ((pci_read_word(p, cap->addr + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_QMASK) >> 1);
	cap = pci_find_cap(p, PCI_CAP_ID_MSIX, PCI_CAP_NORMAL);
	if (cap)
		d->msix_vectors = (pci_read_word(p, cap->addr + MSIX_CTRL) & PCI_MSIX_TABSIZE) + 1u;
	cap = pci_find_cap(p, PCI_EXT_CAP_ID_ACS, PCI_CAP_EXTENDED);
	if (cap) {
		d->acs = true;
		d->acs_cap = pci_read_word(p, cap->addr + PCI_ACS_CAP);
		d->acs_ctrl = pci_read_word(p, cap->addr + PCI_ACS_CTRL);
	}
	cap = pci_find_cap(p, PCI_EXT_CAP_ID_DSN, PCI_CAP_EXTENDED);
	if (cap) {
		d->has_serial = true;
		d->serial = (uint64_t)pci_read_long(p, cap->addr + 8) << 32 | pci_read_long(p, cap->addr + 4);
	}
	cap = pci_find_cap(p, PCI_EXT_CAP_ID_SRIOV, PCI_CAP_EXTENDED);
	if (cap) {
		d->sriov = true;
		d->sriov_initial = pci_read_word(p, cap->addr + PCI_IOV_INITIALVF);
		d->sriov_total = pci_read_word(p, cap->addr + PCI_IOV_TOTALVF);
		d->sriov_num = pci_read_word(p, cap->addr + PCI_IOV_NUMVF);
		d->sriov_offset = pci_read_word(p, cap->addr + PCI_IOV_OFFSET);
		d->sriov_stride = pci_read_word(p, cap->addr + PCI_IOV_STRIDE);
		d->sriov_vf_device = pci_read_word(p, cap->addr + PCI_IOV_DID);
	}
}

static void fill_bars(struct pci_dev *p, struct iov_pci_dev *d)
{
	int nbars = d->header_type == 0 ? 6 : d->header_type == 1 ? 2 : 1;

	for (int i = 0; i < nbars; i++) {
		struct iov_pci_bar *b = &d->bars[i];
		uint64_t flags = p->flags[i];

		b->size = p->size[i];
		if (!b->size)
			continue;
		b->base = p->base_addr[i] & ~(uint64_t)0xf;
		if (flags) {
			b->io = flags & PCI_IORESOURCE_IO;
			b->prefetchable = flags & PCI_IORESOURCE_PREFETCH;
			b->mem64 = flags & PCI_IORESOURCE_MEM_64;
		} else {
			b->io = p->base_addr[i] & PCI_BASE_ADDRESS_SPACE_IO;
			b->prefetchable = !b->io && (p->base_addr[i] & PCI_BASE_ADDRESS_MEM_PREFETCH);
			b->mem64 = !b->io && (p->base_addr[i] & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
		}
		if (b->io)
			b->base = p->base_addr[i] & PCI_BASE_ADDRESS_IO_MASK;
	}
	if (p->rom_size) {
		d->rom.size = p->rom_size;
		d->rom.base = p->rom_base_addr & PCI_ROM_ADDRESS_MASK;
	}
}

static void fill_names(struct pci_access *a, struct iov_pci_dev *d)
{
	char buf[256];
	const char *s;

	s = pci_lookup_name(a, buf, sizeof(buf), PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS, d->vendor);
	snprintf(d->vendor_name, sizeof(d->vendor_name), "%s", s ? s : "");
	s = pci_lookup_name(a, buf, sizeof(buf), PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS, d->vendor, d->device);
	snprintf(d->device_name, sizeof(d->device_name), "%s", s ? s : "");
	s = pci_lookup_name(a, buf, sizeof(buf), PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_NUMBERS, d->class_code >> 8);
	snprintf(d->class_name, sizeof(d->class_name), "%s", s ? s : "");
}

/*
 * What libpci does not read, relative to the device's directory (one lookup from the root per
 * device; the attributes are then single names inside it) and the bus directory @bus_dir.
 */
static int fill_from_sysfs(struct iov_ctx *ctx, int bus_dir, const struct alias_table *aliases, struct iov_pci_dev *d)
{
	_cleanup_close_ int dir = -1;
	char buf[PATH_MAX], modalias[256];
	ssize_t n;

	d->iommu_group = -1;
	d->numa_node = -1;
	d->vf_index = -1;
	dir = iov_path_open(ctx, O_PATH | O_DIRECTORY, PCI_DEV_DIR, d->bdf);
	if (dir < 0)
		return dir;
	if (iov_link_basename_at(dir, "iommu_group", buf, sizeof(buf)) > 0)
		d->iommu_group = atoi(buf);
	if (iov_link_basename_at(dir, "driver", d->driver, sizeof(d->driver)) < 0)
		d->driver[0] = '\0';
	if (iov_attr_read_at(dir, "driver_override", d->driver_override, sizeof(d->driver_override)) < 0 ||
	    !strcmp(d->driver_override, "(null)"))
		d->driver_override[0] = '\0';
	if (iov_attr_read_at(dir, "reset_method", d->reset_methods, sizeof(d->reset_methods)) < 0)
		d->reset_methods[0] = '\0';
	if (iov_attr_read_at(dir, "numa_node", buf, sizeof(buf)) > 0)
		d->numa_node = atoi(buf);
	/* boot_vga exists only on VGA-class functions (pci-sysfs.c: pci_dev_attrs_are_visible). */
	if ((d->class_code >> 8) == 0x0300)
		d->boot_vga = iov_attr_read_at(dir, "boot_vga", buf, sizeof(buf)) > 0 && !strcmp(buf, "1");
	d->is_vf = iov_link_basename_at(dir, "physfn", d->pf, sizeof(d->pf)) > 0;
	if (!d->is_vf)
		d->pf[0] = '\0';

	/* The parent is the directory above the device in its sysfs path, if that is a function. */
	n = readlinkat(bus_dir, d->bdf, buf, sizeof(buf) - 1);
	if (n > 0) {
		char *last, *prev;

		buf[n] = '\0';
		last = strrchr(buf, '/');
		if (last) {
			*last = '\0';
			prev = strrchr(buf, '/');
			if (iov_pci_bdf_parse(prev ? prev + 1 : buf, d->parent) < 0)
				d->parent[0] = '\0';
		}
	}

	/* The kernel's modalias, built from the same IDs (drivers/pci/pci-sysfs.c, modalias_show). */
	snprintf(modalias, sizeof(modalias), "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", d->vendor, d->device,
		 d->subsys_vendor, d->subsys_device, d->class_code >> 16, (d->class_code >> 8) & 0xff, d->class_code & 0xff);
	return modules_for(aliases, modalias, d->vendor, &d->modules);
}

/* Routing ID (PCIe: bus, device, function), for the SR-IOV VF arithmetic. */
static unsigned int routing_id(const struct iov_pci_dev *d)
{
	return (unsigned int)d->bus << 8 | (unsigned int)d->dev << 3 | d->func;
}

/*
 * A VF's index from its PF's SR-IOV capability: VF n has routing ID PF + First VF Offset +
 * n * VF Stride (PCIe 6.0 §9.3.3.9-10), the same arithmetic that names the kernel's virtfnN.
 */
static void fill_vf_indexes(struct iov_pci_inventory *inv)
{
	for (size_t i = 0; i < inv->n; i++) {
		struct iov_pci_dev *vf = &inv->devs[i];
		const struct iov_pci_dev *pf;
		unsigned int first, rid;

		if (!vf->is_vf || !(pf = iov_pci_inventory_find(inv, vf->pf)) || !pf->sriov || !pf->sriov_stride)
			continue;
		first = routing_id(pf) + pf->sriov_offset;
		rid = routing_id(vf);
		if (rid >= first && (rid - first) % pf->sriov_stride == 0)
			vf->vf_index = (int)((rid - first) / pf->sriov_stride);
	}
}

static int compare_dev(const void *a, const void *b)
{
	return strcmp(((const struct iov_pci_dev *)a)->bdf, ((const struct iov_pci_dev *)b)->bdf);
}

IOV_EXPORT void iov_pci_inventory_free(struct iov_pci_inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->n; i++)
		iov_strv_free(inv->devs[i].modules);
	free(inv->devs);
	free(inv);
}

/*
 * Reads every device libpci finds into @inv. Runs with libpci_escape set. Each device's config
 * space is read once and handed to libpci as its cache, so capability walks cost no I/O.
 */
static int inventory_scan(struct iov_ctx *ctx, struct pci_access *a, const struct alias_table *aliases,
			  struct iov_pci_inventory *inv)
{
	_cleanup_close_ int bus_dir = -1;
	uint8_t cfg[4096];
	size_t cap = 0;

	bus_dir = iov_path_open(ctx, O_PATH | O_DIRECTORY, "sys/bus/pci/devices");
	if (bus_dir < 0)
		return iov_ctx_fail(ctx, bus_dir, "opening sys/bus/pci/devices: %s", iov_strerror(bus_dir));
	pci_scan_bus(a);
	for (struct pci_dev *p = a->devices; p; p = p->next) {
		struct iov_pci_dev *d;
		int r, len = 0;

		if (inv->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct iov_pci_dev *grown = realloc(inv->devs, ncap * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			inv->devs = grown;
			cap = ncap;
		}
		d = &inv->devs[inv->n];
		memset(d, 0, sizeof(*d));

		/* 4096 bytes for root, 256 or 64 for others (pci-sysfs.c limits what they may read). */
		for (int try = 4096; try >= 64 && !len; try = try == 4096 ? 256 : try / 4)
			if (pci_read_block(p, 0, cfg, try))
				len = try;
		if (len)
			pci_setup_cache(p, cfg, len);
		pci_fill_info(p, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_BASES | PCI_FILL_ROM_BASE | PCI_FILL_SIZES |
					 PCI_FILL_IO_FLAGS | PCI_FILL_CAPS | PCI_FILL_EXT_CAPS);
		d->domain = (uint16_t)p->domain;
		d->bus = p->bus;
		d->dev = p->dev;
		d->func = p->func;
		snprintf(d->bdf, sizeof(d->bdf), "%04x:%02x:%02x.%x", d->domain, d->bus, d->dev, d->func);
		d->vendor = p->vendor_id;
		d->device = p->device_id;
		/* The class from sysfs (the kernel may have fixed it up); the rest from config space. */
		d->class_code = (uint32_t)p->device_class << 8 | (len ? cfg[PCI_CLASS_PROG] : 0);
		d->revision = len ? cfg[PCI_REVISION_ID] : 0;
		if (len && (cfg[PCI_HEADER_TYPE] & 0x7f) == PCI_HEADER_TYPE_NORMAL) {
			d->subsys_vendor = (uint16_t)(cfg[PCI_SUBSYSTEM_VENDOR_ID] | cfg[PCI_SUBSYSTEM_VENDOR_ID + 1] << 8);
			d->subsys_device = (uint16_t)(cfg[PCI_SUBSYSTEM_ID] | cfg[PCI_SUBSYSTEM_ID + 1] << 8);
		}
		fill_from_config(p, d);
		fill_bars(p, d);
		fill_names(a, d);
		pci_setup_cache(p, NULL, 0);   /* cfg is reused for the next device */
		inv->n++;   /* counted before the fallible part, so free() sees its modules */
		r = fill_from_sysfs(ctx, bus_dir, aliases, d);
		if (r < 0)
			return iov_ctx_fail(ctx, r, "%s: reading sysfs: %s", d->bdf, iov_strerror(r));
	}
	return 0;
}

IOV_EXPORT int iov_pci_inventory_new(struct iov_ctx *ctx, struct iov_pci_inventory **ret)
{
	struct alias_table aliases = { 0 };
	struct iov_pci_inventory *inv;
	struct pci_access *a = NULL;
	char sysfs[PATH_MAX];
	jmp_buf escape;
	int r;

	iov_ctx_reason_clear(ctx);
	inv = calloc(1, sizeof(*inv));
	if (!inv)
		return -ENOMEM;
	/* libpci treats a missing devices directory as fatal; a host without PCI is just empty. */
	if (iov_path_exists(ctx, "sys/bus/pci/devices") <= 0) {
		*ret = inv;
		return 0;
	}
	r = alias_table_load(ctx, &aliases);
	if (r < 0)
		goto out;

	/* libpci's sysfs.path is the bus directory (its PCI_PATH_SYS_BUS_PCI), under our root. */
	r = iov_path_abs(ctx, sysfs, sizeof(sysfs), "sys/bus/pci");
	if (r < 0)
		goto out;
	a = pci_alloc();
	if (!a) {
		r = -ENOMEM;
		goto out;
	}
	a->error = libpci_fatal;
	a->warning = libpci_quiet;
	a->debug = libpci_quiet;
	a->method = PCI_ACCESS_SYS_BUS_PCI;
	libpci_escape = &escape;
	if (setjmp(escape)) {
		r = iov_ctx_fail(ctx, -EIO, "libpci: %s", libpci_error);
		goto out;
	}
	pci_set_param(a, "sysfs.path", sysfs);
	pci_init(a);
	r = inventory_scan(ctx, a, &aliases, inv);
out:
	libpci_escape = NULL;
	if (a)
		pci_cleanup(a);
	alias_table_free(&aliases);
	if (r < 0) {
		iov_pci_inventory_free(inv);
		return r;
	}
	if (inv->n)
		qsort(inv->devs, inv->n, sizeof(*inv->devs), compare_dev);
	fill_vf_indexes(inv);
	*ret = inv;
	return 0;
}

IOV_EXPORT size_t iov_pci_inventory_count(const struct iov_pci_inventory *inv)
{
	return inv->n;
}

IOV_EXPORT const struct iov_pci_dev *iov_pci_inventory_get(const struct iov_pci_inventory *inv, size_t i)
{
	return i < inv->n ? &inv->devs[i] : NULL;
}

IOV_EXPORT const struct iov_pci_dev *iov_pci_inventory_find(const struct iov_pci_inventory *inv, const char *bdf)
{
	struct iov_pci_dev key;

	if (!bdf || strlen(bdf) >= sizeof(key.bdf))
		return NULL;
	strcpy(key.bdf, bdf);
	return inv->n ? bsearch(&key, inv->devs, inv->n, sizeof(*inv->devs), compare_dev) : NULL;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* Addresses as hex strings: 64-bit values do not survive a trip through a double. */
static json_t *hex_json(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

static json_t *bar_json(int index, const struct iov_pci_bar *b)
{
	return json_pack("{s:i,s:s,s:o,s:I,s:b,s:b}", "index", index, "type", b->io ? "io" : "mem", "base",
			 hex_json(b->base), "size", (json_int_t)b->size, "mem64", b->mem64, "prefetchable",
			 b->prefetchable);
}

static const char *pcie_type_name(enum iov_pcie_type t)
{
	switch (t) {
	case IOV_PCIE_ENDPOINT: return "endpoint";
	case IOV_PCIE_LEGACY_ENDPOINT: return "legacy-endpoint";
	case IOV_PCIE_ROOT_PORT: return "root-port";
	case IOV_PCIE_UPSTREAM_PORT: return "upstream-port";
	case IOV_PCIE_DOWNSTREAM_PORT: return "downstream-port";
	case IOV_PCIE_PCIE_TO_PCI_BRIDGE: return "pcie-to-pci-bridge";
	case IOV_PCIE_PCI_TO_PCIE_BRIDGE: return "pci-to-pcie-bridge";
	case IOV_PCIE_RC_INTEGRATED: return "rc-integrated";
	case IOV_PCIE_RC_EVENT_COLLECTOR: return "rc-event-collector";
	case IOV_PCIE_NONE: return NULL;
	}
	return "unknown";
}

IOV_EXPORT int iov_pci_dev_json(const struct iov_pci_dev *d, json_t **ret)
{
	json_t *bars = json_array(), *mods = json_array(), *j, *sriov = json_null(), *acs = json_null();
	char id[4][8], cls[8];
	const char *pt = pcie_type_name(d->pcie_type);

	for (int i = 0; i < 6; i++)
		if (d->bars[i].size)
			json_array_append_new(bars, bar_json(i, &d->bars[i]));
	for (char **m = d->modules; m && *m; m++)
		json_array_append_new(mods, json_string(*m));
	snprintf(id[0], 8, "%04x", d->vendor);
	snprintf(id[1], 8, "%04x", d->device);
	snprintf(id[2], 8, "%04x", d->subsys_vendor);
	snprintf(id[3], 8, "%04x", d->subsys_device);
	snprintf(cls, sizeof(cls), "%06x", d->class_code);
	if (d->sriov) {
		char vfd[8];

		snprintf(vfd, sizeof(vfd), "%04x", d->sriov_vf_device);
		sriov = json_pack("{s:i,s:i,s:i,s:i,s:i,s:s}", "total_vfs", d->sriov_total, "initial_vfs", d->sriov_initial,
				  "num_vfs", d->sriov_num, "vf_offset", d->sriov_offset, "vf_stride", d->sriov_stride,
				  "vf_device", vfd);
	}
	if (d->acs)
		acs = json_pack("{s:i,s:i}", "cap", d->acs_cap, "ctrl", d->acs_ctrl);
	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:o,s:o,s:o,s:s,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,"
		      "s:{s:b,s:b,s:o},s:{s:i,s:i},s:o,s:o,s:o,s:o,s:o,s:o}",
		      "bdf", d->bdf, "vendor", id[0], "device", id[1], "subsys_vendor", id[2], "subsys_device", id[3],
		      "class", cls, "kind", iov_pci_class_kind(d->class_code), "revision", d->revision,
		      "vendor_name", str_or_null(d->vendor_name), "device_name", str_or_null(d->device_name),
		      "class_name", str_or_null(d->class_name), "header", d->header_type == 0 ? "endpoint" : d->header_type == 1 ? "bridge" : "cardbus",
		      "numa_node", d->numa_node,
		      "iommu_group", d->iommu_group >= 0 ? json_integer(d->iommu_group) : json_null(),
		      "driver", str_or_null(d->driver), "driver_override", str_or_null(d->driver_override),
		      "modules", mods, "parent", str_or_null(d->parent), "pcie_type", str_or_null(pt),
		      "multifunction", json_boolean(d->multifunction), "boot_vga", d->boot_vga,
		      "reset", "flr", d->flr, "pm", d->pm_reset, "methods", str_or_null(d->reset_methods),
		      "interrupts", "msi", d->msi_vectors, "msix", d->msix_vectors,
		      "bars", bars, "rom", d->rom.size ? json_pack("{s:o,s:I}", "base", hex_json(d->rom.base), "size", (json_int_t)d->rom.size) : json_null(),
		      "acs", acs, "sriov", sriov,
		      "physfn", str_or_null(d->is_vf ? d->pf : NULL),
		      "vf_index", d->is_vf ? json_integer(d->vf_index) : json_null());
	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}
