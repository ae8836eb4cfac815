/* SPDX-License-Identifier: MIT */
/*
 * GPUs and mediated devices, from sysfs through the host-root layer.
 *
 *   sys/bus/pci/devices/BDF/mdev_supported_types/TYPE/{name,description,device_api,
 *       available_instances,create,devices/UUID}      an mdev parent's types (Documentation/
 *                                                      driver-api/vfio-mediated-device.rst)
 *   sys/bus/mdev/devices/UUID/{mdev_type,remove,iommu_group,driver}   instances
 *   sys/bus/pci/devices/VF/nvidia/{creatable_vgpu_types,current_vgpu_type}   NVIDIA's per-VF
 *                                                      vGPU types (vGPU 16+ on SR-IOV GPUs)
 *
 * Reading never changes anything; iov_mdev_create and iov_mdev_remove check their request
 * against what sysfs shows before they write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../common/common-internal.h"
#include "iovkit/vgpu.h"
#include "iovkit-internal/ctx.h"

static void read_str(struct iov_ctx *ctx, char *buf, size_t size, const char *path1, const char *path2,
		     const char *name)
{
	if (iov_attr_read(ctx, buf, size, "%s/%s/%s", path1, path2, name) < 0)
		buf[0] = '\0';
}

IOV_EXPORT int iov_gpu_list(struct iov_ctx *ctx, struct iov_gpu **ret)
{
	struct iov_pci_inventory *inv = NULL;
	struct iov_gpu *gpus = NULL;
	size_t n = 0, count;
	int r = iov_pci_inventory_new(ctx, &inv);

	if (r < 0)
		return r;
	count = iov_pci_inventory_count(inv);
	gpus = calloc(count ? count : 1, sizeof(*gpus));
	if (!gpus) {
		iov_pci_inventory_free(inv);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const struct iov_pci_dev *d = iov_pci_inventory_get(inv, i);
		struct iov_gpu *g = &gpus[n];
		char buf[512];
		int64_t v;

		if (strcmp(iov_pci_class_kind(d->class_code), "gpu"))
			continue;
		n++;
		snprintf(g->bdf, sizeof(g->bdf), "%s", d->bdf);
		g->vendor = d->vendor;
		g->device = d->device;
		snprintf(g->vendor_name, sizeof(g->vendor_name), "%s", d->vendor_name);
		snprintf(g->device_name, sizeof(g->device_name), "%s", d->device_name[0] ? d->device_name : d->class_name);
		snprintf(g->driver, sizeof(g->driver), "%s", d->driver);
		g->iommu_group = d->iommu_group;
		g->boot_vga = d->boot_vga;
		g->is_vf = d->is_vf;
		snprintf(g->pf, sizeof(g->pf), "%s", d->pf);
		/* Companions: the slot's other functions (same domain, bus and device). */
		for (size_t k = 0; k < count && g->n_companions < IOV_GPU_MAX_COMPANIONS; k++) {
			const struct iov_pci_dev *o = iov_pci_inventory_get(inv, k);

			if (o != d && !o->is_vf && !d->is_vf && o->domain == d->domain && o->bus == d->bus && o->dev == d->dev)
				snprintf(g->companions[g->n_companions++], IOV_BDF_LEN, "%s", o->bdf);
		}
		if (iov_path_exists(ctx, "sys/bus/pci/devices/%s/mdev_supported_types", d->bdf) > 0)
			g->mechanisms |= IOV_VGPU_MDEV;
		if (d->sriov && d->sriov_total) {
			g->mechanisms |= IOV_VGPU_SRIOV;
			g->sriov_total = d->sriov_total;
			g->sriov_num = d->sriov_num;
		}
		if (iov_attr_read(ctx, buf, sizeof(buf), "sys/bus/pci/devices/%s/nvidia/creatable_vgpu_types", d->bdf) >= 0) {
			g->mechanisms |= IOV_VGPU_VF_TYPES;
			snprintf(g->vf_types, sizeof(g->vf_types), "%s", buf);
			if (iov_attr_read_s64(ctx, &v, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", d->bdf) == 0 && v > 0)
				g->vf_current_type = (unsigned int)v;
		}
	}
	iov_pci_inventory_free(inv);
	*ret = gpus;
	return (int)n;
}

IOV_EXPORT int iov_gpu_json(const struct iov_gpu *g, json_t **ret)
{
	json_t *comp = json_array(), *mech = json_array(), *j;
	char vendor[8], device[8];

	for (size_t i = 0; comp && i < g->n_companions; i++)
		json_array_append_new(comp, json_string(g->companions[i]));
	if (g->mechanisms & IOV_VGPU_MDEV)
		json_array_append_new(mech, json_string("mdev"));
	if (g->mechanisms & IOV_VGPU_SRIOV)
		json_array_append_new(mech, json_string("sriov"));
	if (g->mechanisms & IOV_VGPU_VF_TYPES)
		json_array_append_new(mech, json_string("vf-vgpu-types"));
	snprintf(vendor, sizeof(vendor), "%04x", g->vendor);
	snprintf(device, sizeof(device), "%04x", g->device);
	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:o,s:b,s:b,s:s?,s:o,s:o}", "bdf", g->bdf, "vendor", vendor, "device",
		      device, "vendor_name", g->vendor_name, "device_name", g->device_name, "driver",
		      g->driver[0] ? g->driver : NULL, "iommu_group",
		      g->iommu_group >= 0 ? json_integer(g->iommu_group) : json_null(), "boot_vga", g->boot_vga, "is_vf",
		      g->is_vf, "pf", g->pf[0] ? g->pf : NULL, "companions", comp, "mechanisms", mech);
	if (!j)
		return -ENOMEM;
	if (g->mechanisms & IOV_VGPU_SRIOV)
		json_object_set_new(j, "sriov", json_pack("{s:i,s:i}", "total", g->sriov_total, "num", g->sriov_num));
	if (g->mechanisms & IOV_VGPU_VF_TYPES)
		json_object_set_new(j, "vf_vgpu", json_pack("{s:s,s:i}", "creatable", g->vf_types, "current",
							    g->vf_current_type));
	*ret = j;
	return 0;
}

/* Whether NVIDIA's creatable_vgpu_types text ("ID    : vGPU Name" then "1061  : NVIDIA ...")
 * lists @id. */
static bool vf_type_listed(const char *text, unsigned int id)
{
	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		unsigned int v;
		char colon;

		if (sscanf(line, " %u %c", &v, &colon) == 2 && colon == ':' && v == id)
			return true;
	}
	return false;
}

IOV_EXPORT int iov_gpu_vf_type_set(struct iov_ctx *ctx, const char *bdf, unsigned int type_id)
{
	char canon[IOV_BDF_LEN], types[4096], value[16];
	int64_t cur = 0;
	int r;

	if (iov_pci_bdf_parse(bdf, canon) < 0)
		return iov_ctx_fail(ctx, -EINVAL, "\"%s\" is not a PCI address", bdf ? bdf : "");
	if (iov_path_exists(ctx, "sys/bus/pci/devices/%s", canon) <= 0)
		return iov_ctx_fail(ctx, -ENODEV, "%s: no such PCI device", canon);
	if (iov_attr_read(ctx, types, sizeof(types), "sys/bus/pci/devices/%s/nvidia/creatable_vgpu_types", canon) < 0 ||
	    iov_attr_read_s64(ctx, &cur, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", canon) < 0)
		return iov_ctx_fail(ctx, -EOPNOTSUPP, "%s offers no vGPU types (not a VF of an NVIDIA GPU in vGPU mode: "
				    "no nvidia/creatable_vgpu_types)", canon);
	if ((uint64_t)cur == type_id) {
		iov_ctx_log(ctx, IOV_LOG_DEBUG, "%s has vGPU type %u already", canon, type_id);
		return 0;
	}
	if (type_id && cur)
		return iov_ctx_fail(ctx, -EBUSY, "%s has vGPU type %lld; take it away first (type 0)", canon, (long long)cur);
	if (type_id && !vf_type_listed(types, type_id)) {
		for (char *c = types; *c; c++)
			if (*c == '\n')
				*c = ';';
		return iov_ctx_fail(ctx, -ENOENT, "%s cannot take vGPU type %u; it offers: %s", canon, type_id, types);
	}
	snprintf(value, sizeof(value), "%u", type_id);
	r = iov_attr_write(ctx, value, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", canon);
	if (r < 0)
		return iov_ctx_fail(ctx, r, "%s: the driver refused vGPU type %u: %s%s", canon, type_id, iov_strerror(r),
				    r == -EBUSY ? " (a VM has the VF open?)" : "");
	iov_ctx_log(ctx, IOV_LOG_INFO, "%s: vGPU type %u %s", canon, type_id ? type_id : (unsigned int)cur,
		    type_id ? "set" : "taken away");
	return 0;
}

/* ---- mediated devices ---- */

/*
 * @in as the mdev_bus class names it, into @out: a PCI address in its full form, or a device
 * name as it is. -EINVAL for what cannot name a device (empty, a path, too long).
 */
static int parent_name(struct iov_ctx *ctx, const char *in, char out[IOV_MDEV_PARENT_LEN])
{
	char bdf[IOV_BDF_LEN];

	if (in && iov_pci_bdf_parse(in, bdf) == 0) {
		snprintf(out, IOV_MDEV_PARENT_LEN, "%s", bdf);
		return 0;
	}
	if (!in || !*in || strlen(in) >= IOV_MDEV_PARENT_LEN || strchr(in, '/') || !strcmp(in, ".") ||
	    !strcmp(in, ".."))
		return iov_ctx_fail(ctx, -EINVAL, "\"%s\" is not a PCI address or device name", in ? in : "");
	for (const char *c = in; *c; c++)
		if (*c <= ' ' || *c > '~')
			return iov_ctx_fail(ctx, -EINVAL, "\"%s\" is not a PCI address or device name", in);
	snprintf(out, IOV_MDEV_PARENT_LEN, "%s", in);
	return 0;
}

/* @parent (normalized) is an mdev parent: 0, or -ENODEV / -EOPNOTSUPP with the reason. */
static int parent_check(struct iov_ctx *ctx, const char *parent)
{
	if (iov_path_exists(ctx, "sys/class/mdev_bus/%s", parent) > 0)
		return 0;
	if (iov_path_exists(ctx, "sys/bus/pci/devices/%s", parent) > 0)
		return iov_ctx_fail(ctx, -EOPNOTSUPP, "%s is not an mdev parent (not in /sys/class/mdev_bus: its "
				    "driver offers no mediated devices)", parent);
	return iov_ctx_fail(ctx, -ENODEV, "%s: no such mdev parent (iovctl vgpu types lists them)", parent);
}

static int type_read(struct iov_ctx *ctx, const char *parent, const char *id, struct iov_mdev_type *t)
{
	char base[160], **inst = NULL;
	int64_t avail;
	int n;

	memset(t, 0, sizeof(*t));
	snprintf(t->parent, sizeof(t->parent), "%s", parent);
	snprintf(t->id, sizeof(t->id), "%s", id);
	snprintf(base, sizeof(base), "sys/class/mdev_bus/%s/mdev_supported_types", parent);
	read_str(ctx, t->name, sizeof(t->name), base, id, "name");
	read_str(ctx, t->description, sizeof(t->description), base, id, "description");
	read_str(ctx, t->device_api, sizeof(t->device_api), base, id, "device_api");
	t->available = iov_attr_read_s64(ctx, &avail, "%s/%s/available_instances", base, id) == 0 ? (int)avail : -1;
	n = iov_dir_list(ctx, &inst, "%s/%s/devices", base, id);
	if (n > 0) {
		t->instances = calloc((size_t)n, IOV_UUID_LEN);
		if (!t->instances) {
			iov_strv_free(inst);
			return -ENOMEM;
		}
		for (int i = 0; i < n; i++)
			if (iov_uuid_valid(inst[i]))
				snprintf(t->instances[t->n_instances++], IOV_UUID_LEN, "%s", inst[i]);
	}
	iov_strv_free(inst);
	return 0;
}

IOV_EXPORT void iov_mdev_types_free(struct iov_mdev_type *types, size_t n)
{
	for (size_t i = 0; types && i < n; i++)
		free(types[i].instances);
	free(types);
}

IOV_EXPORT int iov_mdev_types(struct iov_ctx *ctx, const char *parent, struct iov_mdev_type **ret)
{
	char **parents = NULL, name[IOV_MDEV_PARENT_LEN];
	struct iov_mdev_type *types = NULL;
	size_t n = 0, cap = 0;
	int np, r = 0;

	if (parent) {
		r = parent_name(ctx, parent, name);
		if (r == 0)
			r = parent_check(ctx, name);
		if (r < 0)
			return r;
		parents = calloc(2, sizeof(char *));
		if (!parents || !(parents[0] = strdup(name))) {
			iov_strv_free(parents);
			return -ENOMEM;
		}
		np = 1;
	} else {
		/* Every parent: the class the kernel keeps for them. */
		np = iov_dir_list(ctx, &parents, "sys/class/mdev_bus");
		if (np < 0)
			np = 0;
	}
	for (int p = 0; p < np && r == 0; p++) {
		char **ids = NULL;
		int nt = iov_dir_list(ctx, &ids, "sys/class/mdev_bus/%s/mdev_supported_types", parents[p]);

		for (int i = 0; i < nt && r == 0; i++) {
			if (n == cap) {
				struct iov_mdev_type *nt2 = realloc(types, (cap = cap ? cap * 2 : 8) * sizeof(*types));

				if (!nt2) {
					r = -ENOMEM;
					break;
				}
				types = nt2;
			}
			r = type_read(ctx, parents[p], ids[i], &types[n]);
			if (r == 0)
				n++;
		}
		iov_strv_free(ids);
	}
	iov_strv_free(parents);
	if (r < 0) {
		iov_mdev_types_free(types, n);
		return r;
	}
	*ret = types;
	return (int)n;
}

IOV_EXPORT int iov_mdev_type_json(const struct iov_mdev_type *t, json_t **ret)
{
	json_t *inst = json_array(), *j;

	for (size_t i = 0; inst && i < t->n_instances; i++)
		json_array_append_new(inst, json_string(t->instances[i]));
	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "parent", t->parent, "type", t->id, "name", t->name,
		      "description", t->description, "device_api", t->device_api, "available",
		      t->available >= 0 ? json_integer(t->available) : json_null(), "instances", inst);
	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}

IOV_EXPORT int iov_mdev_list(struct iov_ctx *ctx, struct iov_mdev **ret)
{
	char **uuids = NULL;
	struct iov_mdev *list;
	int n = iov_dir_list(ctx, &uuids, "sys/bus/mdev/devices"), k = 0;

	if (n < 0)
		n = 0;
	list = calloc(n ? (size_t)n : 1, sizeof(*list));
	if (!list) {
		iov_strv_free(uuids);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		struct iov_mdev *m = &list[k];
		char parent[256], group[32];
		char *slash;

		if (!iov_uuid_valid(uuids[i]))
			continue;
		k++;
		snprintf(m->uuid, sizeof(m->uuid), "%s", uuids[i]);
		iov_link_basename(ctx, m->type, sizeof(m->type), "sys/bus/mdev/devices/%s/mdev_type", uuids[i]);
		/* The parent is the directory above the instance in sys/devices. */
		if (iov_link_read(ctx, parent, sizeof(parent), "sys/bus/mdev/devices/%s", uuids[i]) > 0 &&
		    (slash = strrchr(parent, '/'))) {
			*slash = '\0';
			slash = strrchr(parent, '/');
			snprintf(m->parent, sizeof(m->parent), "%s", slash ? slash + 1 : parent);
		}
		m->iommu_group = iov_link_basename(ctx, group, sizeof(group), "sys/bus/mdev/devices/%s/iommu_group", uuids[i]) > 0 ?
					 atoi(group) : -1;
		if (iov_link_basename(ctx, m->driver, sizeof(m->driver), "sys/bus/mdev/devices/%s/driver", uuids[i]) < 0)
			m->driver[0] = '\0';
	}
	iov_strv_free(uuids);
	*ret = list;
	return k;
}

IOV_EXPORT int iov_mdev_json(const struct iov_mdev *m, json_t **ret)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:s?}", "uuid", m->uuid, "parent", m->parent, "type", m->type,
			      "iommu_group", m->iommu_group >= 0 ? json_integer(m->iommu_group) : json_null(), "driver",
			      m->driver[0] ? m->driver : NULL);

	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}

static void uuid_random(char out[IOV_UUID_LEN])
{
	uint8_t b[16] = { 0 };

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)rand();
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);         /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);         /* RFC 4122 variant */
	snprintf(out, IOV_UUID_LEN, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/*
 * The checks create and define share, changing nothing: @parent normalized into @name, @type a
 * plain name, @uuid well formed (NULL: a random one) and lower-cased into @u.
 */
static int request_check(struct iov_ctx *ctx, const char *parent, const char *type, const char *uuid,
			 char name[IOV_MDEV_PARENT_LEN], char u[IOV_UUID_LEN])
{
	int r = parent_name(ctx, parent, name);

	if (r < 0)
		return r;
	if (!type || !*type || strchr(type, '/') || !strcmp(type, ".") || !strcmp(type, ".."))
		return iov_ctx_fail(ctx, -EINVAL, "\"%s\" is not an mdev type name", type ? type : "");
	if (uuid && !iov_uuid_canon(uuid, u))
		return iov_ctx_fail(ctx, -EINVAL, "\"%s\" is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", uuid);
	if (!uuid)
		uuid_random(u);
	return 0;
}

IOV_EXPORT int iov_mdev_create(struct iov_ctx *ctx, const char *parent, const char *type, const char *uuid,
			       char ret_uuid[IOV_UUID_LEN])
{
	char name[IOV_MDEV_PARENT_LEN], u[IOV_UUID_LEN];
	struct iov_mdev_type t;
	int r = request_check(ctx, parent, type, uuid, name, u);

	if (r < 0)
		return r;
	r = parent_check(ctx, name);
	if (r < 0)
		return r;
	if (iov_path_exists(ctx, "sys/class/mdev_bus/%s/mdev_supported_types/%s", name, type) <= 0)
		return iov_ctx_fail(ctx, -ENOENT, "%s has no mdev type %s (iovctl vgpu types %s)", name, type, name);
	if (iov_path_exists(ctx, "sys/bus/mdev/devices/%s", u) > 0)
		return iov_ctx_fail(ctx, -EEXIST, "mdev %s exists already", u);
	r = type_read(ctx, name, type, &t);
	free(t.instances);
	if (r < 0)
		return r;
	if (t.available == 0)
		return iov_ctx_fail(ctx, -ENOSPC, "%s type %s (%s): no instance available (available_instances 0)", name,
				    type, t.name[0] ? t.name : type);
	r = iov_attr_write(ctx, u, "sys/class/mdev_bus/%s/mdev_supported_types/%s/create", name, type);
	if (r < 0)
		return iov_ctx_fail(ctx, r, "%s type %s: the kernel refused to create %s: %s", name, type, u,
				    iov_strerror(r));
	iov_ctx_log(ctx, IOV_LOG_INFO, "created mdev %s of type %s on %s", u, type, name);
	snprintf(ret_uuid, IOV_UUID_LEN, "%s", u);
	return 0;
}

IOV_EXPORT int iov_mdev_remove(struct iov_ctx *ctx, const char *uuid)
{
	int r;

	if (!iov_uuid_valid(uuid))
		return iov_ctx_fail(ctx, -EINVAL, "\"%s\" is not a UUID", uuid ? uuid : "");
	if (iov_path_exists(ctx, "sys/bus/mdev/devices/%s", uuid) <= 0)
		return iov_ctx_fail(ctx, -ENOENT, "no mdev %s", uuid);
	r = iov_attr_write(ctx, "1", "sys/bus/mdev/devices/%s/remove", uuid);
	if (r < 0)
		return iov_ctx_fail(ctx, r, "mdev %s: the kernel refused to remove it: %s%s", uuid, iov_strerror(r),
				    r == -EBUSY ? " (a VM has it open)" : "");
	iov_ctx_log(ctx, IOV_LOG_INFO, "removed mdev %s", uuid);
	return 0;
}

/* ---- persistent definitions (mdevctl's job, in iovkit's state directory) ---- */

#define MDEV_FILE "mdev.json"

static int defs_load(struct iov_ctx *ctx, json_t **ret)
{
	static const char *const keys[] = { "mdevs", NULL };

	return iov_state_load(ctx, MDEV_FILE, keys, ret);
}

IOV_EXPORT int iov_mdev_define(struct iov_ctx *ctx, const char *parent, const char *type, const char *uuid,
			       bool autostart, char ret_uuid[IOV_UUID_LEN])
{
	char name[IOV_MDEV_PARENT_LEN], u[IOV_UUID_LEN];
	json_t *root = NULL;
	int r = request_check(ctx, parent, type, uuid, name, u);

	if (r < 0)
		return r;
	/* The parent may be absent now (its driver not loaded yet at boot); its type must be known
	 * when it is there. */
	if (iov_path_exists(ctx, "sys/class/mdev_bus/%s", name) > 0 &&
	    iov_path_exists(ctx, "sys/class/mdev_bus/%s/mdev_supported_types/%s", name, type) <= 0)
		return iov_ctx_fail(ctx, -ENOENT, "%s has no mdev type %s", name, type);
	r = defs_load(ctx, &root);
	if (r < 0)
		return r;
	if (json_object_get(json_object_get(root, "mdevs"), u)) {
		json_decref(root);
		return iov_ctx_fail(ctx, -EEXIST, "mdev %s is defined already", u);
	}
	json_object_set_new(json_object_get(root, "mdevs"), u,
			    json_pack("{s:s,s:s,s:b}", "parent", name, "type", type, "autostart", autostart));
	r = iov_state_save(ctx, MDEV_FILE, root, 0644);
	json_decref(root);
	if (r < 0)
		return r;
	snprintf(ret_uuid, IOV_UUID_LEN, "%s", u);
	return 0;
}

IOV_EXPORT int iov_mdev_undefine(struct iov_ctx *ctx, const char *uuid)
{
	json_t *root = NULL;
	int r;

	if (!iov_uuid_valid(uuid))
		return iov_ctx_fail(ctx, -EINVAL, "\"%s\" is not a UUID", uuid ? uuid : "");
	r = defs_load(ctx, &root);
	if (r < 0)
		return r;
	if (json_object_del(json_object_get(root, "mdevs"), uuid) < 0) {
		json_decref(root);
		return iov_ctx_fail(ctx, -ENOENT, "no mdev %s is defined", uuid);
	}
	r = iov_state_save(ctx, MDEV_FILE, root, 0644);
	json_decref(root);
	return r;
}

IOV_EXPORT int iov_mdev_definitions(struct iov_ctx *ctx, json_t **ret)
{
	json_t *root = NULL, *arr, *d;
	const char *uuid;
	int r = defs_load(ctx, &root);

	if (r < 0)
		return r;
	arr = json_array();
	json_object_foreach(json_object_get(root, "mdevs"), uuid, d) {
		json_t *e = json_deep_copy(d);

		json_object_set_new(e, "uuid", json_string(uuid));
		json_object_set_new(e, "exists", json_boolean(iov_path_exists(ctx, "sys/bus/mdev/devices/%s", uuid) > 0));
		json_array_append_new(arr, e);
	}
	json_decref(root);
	*ret = arr;
	return arr ? 0 : -ENOMEM;
}

IOV_EXPORT int iov_mdev_start_defined(struct iov_ctx *ctx, json_t **ret_report)
{
	json_t *defs = NULL, *d, *report = json_array();
	size_t i;
	int r = iov_mdev_definitions(ctx, &defs), first = 0;

	if (r < 0) {
		json_decref(report);
		return r;
	}
	json_array_foreach(defs, i, d) {
		const char *uuid = json_string_value(json_object_get(d, "uuid"));
		char got[IOV_UUID_LEN];

		if (!json_is_true(json_object_get(d, "autostart")) || json_is_true(json_object_get(d, "exists")))
			continue;
		r = iov_mdev_create(ctx, json_string_value(json_object_get(d, "parent")),
				    json_string_value(json_object_get(d, "type")), uuid, got);
		json_array_append_new(report, json_pack("{s:s,s:s?}", "uuid", uuid, "error",
							r < 0 ? iov_ctx_reason(ctx) : NULL));
		if (r < 0 && !first)
			first = r;
	}
	json_decref(defs);
	if (ret_report)
		*ret_report = report;
	else
		json_decref(report);
	return first;
}
