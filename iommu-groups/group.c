/* SPDX-License-Identifier: MIT */
/* IOMMU groups: members, reserved regions, VFIO viability, and why functions share a group. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "iommu-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_pci_inventory *, iov_pci_inventory_free)

bool driver_is_vfio(const char *driver)
{
	/* vfio-pci itself, and vendor variants on vfio-pci-core (mlx5_vfio_pci, hisi_acc_vfio_pci, ...). */
	return !strcmp(driver, "vfio-pci") || strstr(driver, "vfio") != NULL;
}

bool driver_is_vfio_compatible(const char *driver)
{
	/*
	 * The drivers with driver_managed_dma in Linux 6.1 (vfio-pci and its variants, pci-stub,
	 * pcieport): they let VFIO own the group's DMA. Any other bound driver makes it non-viable.
	 */
	return !driver[0] || driver_is_vfio(driver) || !strcmp(driver, "pci-stub") || !strcmp(driver, "pcieport");
}

static int compare_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

IOV_EXPORT int iov_group_list(struct iov_ctx *ctx, int **ret)
{
	char **names = NULL;
	int *ids, n, count = 0;

	n = iov_dir_list(ctx, &names, "sys/kernel/iommu_groups");
	if (n == -ENOENT)
		n = 0, names = NULL;
	if (n < 0)
		return n;
	ids = calloc((size_t)n + 1, sizeof(*ids));
	if (!ids) {
		iov_strv_free(names);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		char *end;
		long v = strtol(names[i], &end, 10);

		if (*end == '\0' && v >= 0 && v <= INT32_MAX)
			ids[count++] = (int)v;
	}
	iov_strv_free(names);
	qsort(ids, (size_t)count, sizeof(*ids), compare_int);
	*ret = ids;
	return count;
}

IOV_EXPORT int iov_device_group(struct iov_ctx *ctx, const char *bdf)
{
	char canon[IOV_BDF_LEN], group[32], uuid[IOV_UUID_LEN];
	int r;

	iov_ctx_reason_clear(ctx);
	if (iov_uuid_canon(bdf, uuid)) {
		/* A mediated device: its group is its own, made when its driver bound it. */
		if (iov_path_exists(ctx, "sys/bus/mdev/devices/%s", uuid) <= 0)
			return iov_ctx_fail(ctx, -ENODEV, "%s: no such mdev instance (iovctl vgpu instances)", uuid);
		r = iov_link_basename(ctx, group, sizeof(group), "sys/bus/mdev/devices/%s/iommu_group", uuid);
		if (r < 0)
			return iov_ctx_fail(ctx, r, "mdev %s has no IOMMU group%s", uuid,
					    r == -ENOENT ? " (its vendor driver has not bound it)" : "");
		return atoi(group);
	}
	if (iov_pci_bdf_parse(bdf, canon) < 0)
		return iov_ctx_fail(ctx, -EINVAL, "'%s' is not a PCI address (expected dddd:bb:dd.f or bb:dd.f) or mdev UUID",
				    bdf ? bdf : "");
	if (iov_path_exists(ctx, PCI_DEV_DIR, canon) <= 0)
		return iov_ctx_fail(ctx, -ENODEV, "%s: no such PCI device", canon);
	r = iov_link_basename(ctx, group, sizeof(group), PCI_DEV_DIR "/iommu_group", canon);
	if (r == -ENOENT)
		return iov_ctx_fail(ctx, -ENOENT, "%s is in no IOMMU group (is the IOMMU on?)", canon);
	if (r < 0)
		return iov_ctx_fail(ctx, r, "%s: reading its iommu_group: %s", canon, iov_strerror(r));
	return atoi(group);
}

IOV_EXPORT void iov_group_free(struct iov_group *g)
{
	if (!g)
		return;
	free(g->members);
	free(g->regions);
	iov_strv_free(g->sharing);
	free(g);
}

/* Parses reserved_regions ("start end type" per line, hex) into a new array. */
static int read_regions(struct iov_ctx *ctx, int id, struct iov_resv_region **ret, size_t *ret_n)
{
	struct iov_resv_region *regions = NULL;
	char buf[4096], *save = NULL;
	size_t n = 0;
	int r;

	r = iov_attr_read(ctx, buf, sizeof(buf), "sys/kernel/iommu_groups/%d/reserved_regions", id);
	if (r == -ENOENT)
		buf[0] = '\0';
	else if (r < 0)
		return r;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct iov_resv_region reg = { 0 }, *grown;

		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %23s", &reg.start, &reg.end, reg.type) != 3)
			continue;
		grown = realloc(regions, (n + 1) * sizeof(*grown));
		if (!grown) {
			free(regions);
			return -ENOMEM;
		}
		regions = grown;
		regions[n++] = reg;
	}
	*ret = regions;
	*ret_n = n;
	return 0;
}

IOV_EXPORT int iov_group_reserved_regions(struct iov_ctx *ctx, int id, struct iov_resv_region **ret)
{
	struct iov_resv_region *regions = NULL;
	size_t n = 0;
	int r;

	iov_ctx_reason_clear(ctx);
	if (id < 0 || iov_path_exists(ctx, "sys/kernel/iommu_groups/%d", id) <= 0)
		return iov_ctx_fail(ctx, -ENOENT, "IOMMU group %d does not exist", id);
	r = read_regions(ctx, id, &regions, &n);
	if (r < 0)
		return iov_ctx_fail(ctx, r, "IOMMU group %d: reading reserved_regions: %s", id, iov_strerror(r));
	*ret = regions;
	return (int)n;
}

static int strv_push_unique(char ***strv, const char *s)
{
	size_t n = 0;
	char **grown;

	for (; *strv && (*strv)[n]; n++)
		if (!strcmp((*strv)[n], s))
			return 0;
	grown = realloc(*strv, (n + 2) * sizeof(**strv));
	if (!grown)
		return -ENOMEM;
	*strv = grown;
	grown[n] = strdup(s);
	if (!grown[n])
		return -ENOMEM;
	grown[n + 1] = NULL;
	return 0;
}

static void acs_missing_names(uint16_t ctrl, char *buf, size_t size)
{
	static const struct { uint16_t bit; const char *name; } bits[] = {
		{ IOV_ACS_SV, "SV" }, { IOV_ACS_RR, "RR" }, { IOV_ACS_CR, "CR" }, { IOV_ACS_UF, "UF" },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		if (!(ctrl & bits[i].bit))
			used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? "," : "", bits[i].name);
}

static const char *port_kind(const struct iov_pci_dev *d)
{
	switch (d->pcie_type) {
	case IOV_PCIE_ROOT_PORT: return "root port";
	case IOV_PCIE_DOWNSTREAM_PORT: return "switch downstream port";
	case IOV_PCIE_UPSTREAM_PORT: return "switch upstream port";
	case IOV_PCIE_PCIE_TO_PCI_BRIDGE: return "PCIe-to-PCI bridge";
	default: return d->header_type == 1 ? "PCI bridge" : "device";
	}
}

/*
 * Why @d is not isolated from its neighbours, following Linux's pci_device_group(): functions
 * of a multi-function device without ACS alias each other; a conventional PCI bridge makes
 * everything behind it one requester; and every port between the device and the root must
 * enforce SV, RR, CR and UF (pci_acs_path_enabled with REQ_ACS_FLAGS).
 */
static int explain_member(const struct iov_pci_inventory *inv, const struct iov_pci_dev *d, struct iov_group *g)
{
	char buf[256], missing[32];
	const struct iov_pci_dev *p;
	int r;

	if (d->multifunction && d->header_type == 0 && (!d->acs || (d->acs_ctrl & (IOV_ACS_RR | IOV_ACS_CR)) != (IOV_ACS_RR | IOV_ACS_CR))) {
		snprintf(buf, sizeof(buf),
			 "%.10s is a multi-function device without ACS on its functions: they can reach each other directly",
			 d->bdf);
		r = strv_push_unique(&g->sharing, buf);
		if (r < 0)
			return r;
	}
	/* Then the first port on the way to the root that does not isolate what is below it. */
	for (p = iov_pci_inventory_find(inv, d->parent); p; p = iov_pci_inventory_find(inv, p->parent)) {
		if (p->pcie_type == IOV_PCIE_PCIE_TO_PCI_BRIDGE || p->pcie_type == IOV_PCIE_NONE) {
			snprintf(buf, sizeof(buf),
				 "%s is a %s: the IOMMU sees every device behind it as the bridge itself", p->bdf,
				 p->pcie_type == IOV_PCIE_NONE ? "conventional PCI bridge" : "PCIe-to-PCI bridge");
			return strv_push_unique(&g->sharing, buf);
		}
		if (!p->acs) {
			snprintf(buf, sizeof(buf),
				 "%s (%s) has no ACS capability: devices below it can reach each other without the IOMMU",
				 p->bdf, port_kind(p));
			return strv_push_unique(&g->sharing, buf);
		}
		if ((p->acs_ctrl & IOV_ACS_REQUIRED) != IOV_ACS_REQUIRED) {
			acs_missing_names(p->acs_ctrl, missing, sizeof(missing));
			snprintf(buf, sizeof(buf), "%s (%s) does not enable ACS %s: devices below it are not isolated", p->bdf,
				 port_kind(p), missing);
			return strv_push_unique(&g->sharing, buf);
		}
	}
	return 0;
}

IOV_EXPORT int iov_group_get(struct iov_ctx *ctx, const struct iov_pci_inventory *inv, int id, struct iov_group **ret)
{
	_cleanup_(iov_pci_inventory_freep) struct iov_pci_inventory *own = NULL;
	struct iov_group *g;
	char **names = NULL;
	int n, r = 0;

	iov_ctx_reason_clear(ctx);
	if (id < 0)
		return iov_ctx_fail(ctx, -EINVAL, "IOMMU group %d: group numbers are not negative", id);
	n = iov_dir_list(ctx, &names, "sys/kernel/iommu_groups/%d/devices", id);
	if (n == -ENOENT)
		return iov_ctx_fail(ctx, -ENOENT, "IOMMU group %d does not exist", id);
	if (n < 0)
		return iov_ctx_fail(ctx, n, "IOMMU group %d: %s", id, iov_strerror(n));
	if (!inv) {
		r = iov_pci_inventory_new(ctx, &own);
		if (r < 0) {
			iov_strv_free(names);
			return r;
		}
		inv = own;
	}
	g = calloc(1, sizeof(*g));
	if (!g || !(g->members = calloc((size_t)n + 1, sizeof(*g->members)))) {
		r = -ENOMEM;
		goto err;
	}
	g->id = id;
	g->viable = true;
	iov_attr_read(ctx, g->type, sizeof(g->type), "sys/kernel/iommu_groups/%d/type", id);
	g->vfio_node = iov_path_exists(ctx, "dev/vfio/%d", id) > 0;

	for (int i = 0; i < n; i++) {
		struct iov_group_member *m = &g->members[g->n_members];
		const struct iov_pci_dev *d;

		if (iov_pci_bdf_parse(names[i], m->bdf) < 0)
			continue;   /* not a PCI function (a platform device); VFIO-PCI never sees it */
		d = iov_pci_inventory_find(inv, m->bdf);
		r = pci_driver_get(ctx, m->bdf, m->driver, sizeof(m->driver));
		if (r < 0)
			goto err;
		m->bridge = d ? d->header_type != 0 : false;
		m->viable = m->bridge || driver_is_vfio_compatible(m->driver);
		if (!m->viable && g->viable) {
			g->viable = false;
			snprintf(g->breaker, sizeof(g->breaker), "%s", m->bdf);
			snprintf(g->why_not_viable, sizeof(g->why_not_viable),
				 "%s is bound to %s; every endpoint must be unbound or on vfio-pci", m->bdf, m->driver);
		}
		if (!g->iommu[0])
			iov_link_basename(ctx, g->iommu, sizeof(g->iommu), PCI_DEV_DIR "/iommu", m->bdf);
		g->n_members++;
	}
	if (g->n_members > 1) {
		for (size_t i = 0; i < g->n_members && r == 0; i++) {
			const struct iov_pci_dev *d = iov_pci_inventory_find(inv, g->members[i].bdf);

			if (d)
				r = explain_member(inv, d, g);
		}
		if (r < 0)
			goto err;
	}
	if (!g->sharing && !(g->sharing = calloc(1, sizeof(char *)))) {
		r = -ENOMEM;
		goto err;
	}
	r = read_regions(ctx, id, &g->regions, &g->n_regions);
	if (r < 0)
		goto err;
	iov_strv_free(names);
	*ret = g;
	return 0;

err:
	iov_strv_free(names);
	iov_group_free(g);
	return iov_ctx_fail(ctx, r, "IOMMU group %d: %s", id, iov_strerror(r));
}

IOV_EXPORT int iov_group_json(const struct iov_group *g, json_t **ret)
{
	json_t *members = json_array(), *regions = json_array(), *sharing = json_array(), *j;

	for (size_t i = 0; i < g->n_members; i++) {
		const struct iov_group_member *m = &g->members[i];

		json_array_append_new(members, json_pack("{s:s,s:o,s:b,s:b}", "bdf", m->bdf, "driver",
							 m->driver[0] ? json_string(m->driver) : json_null(), "bridge",
							 m->bridge, "viable", m->viable));
	}
	for (size_t i = 0; i < g->n_regions; i++) {
		char start[24], end[24];

		snprintf(start, sizeof(start), "0x%" PRIx64, g->regions[i].start);
		snprintf(end, sizeof(end), "0x%" PRIx64, g->regions[i].end);
		json_array_append_new(regions, json_pack("{s:s,s:s,s:s}", "start", start, "end", end, "type", g->regions[i].type));
	}
	for (char **s = g->sharing; s && *s; s++)
		json_array_append_new(sharing, json_string(*s));
	j = json_pack("{s:i,s:o,s:o,s:b,s:b,s:o,s:o,s:o,s:o,s:o}", "group", g->id, "type",
		      g->type[0] ? json_string(g->type) : json_null(), "iommu",
		      g->iommu[0] ? json_string(g->iommu) : json_null(), "vfio_node", g->vfio_node, "viable", g->viable,
		      "breaker", g->breaker[0] ? json_string(g->breaker) : json_null(), "why_not_viable",
		      g->why_not_viable[0] ? json_string(g->why_not_viable) : json_null(), "members", members,
		      "reserved_regions", regions, "sharing", sharing);
	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}
