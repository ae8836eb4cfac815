/* SPDX-License-Identifier: MIT */
/*
 * GPU discovery and mediated devices on fixture hosts shaped like the real ones:
 *   - an NVIDIA T4 with the mdev types the vGPU host driver shows (GRID T4-1Q ... -16Q, with
 *     their available_instances) and its HDMI-less slot,
 *   - an Intel iGPU with GVT-g types (i915-GVTg_V5_4 / _V5_8),
 *   - an AMD GPU with SR-IOV VFs (MxGPU),
 *   - a GPU with its HDMI audio function in the same slot and IOMMU group,
 *   - an NVIDIA SR-IOV VF offering per-VF vGPU types (creatable_vgpu_types).
 * Instances are created and removed through a fake of the mdev core's create/remove stores;
 * bad requests change nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../helpers/unit.h"
#include "../../../common/common-internal.h"
#include "iovkit/vgpu.h"

#define T4 "0000:3b:00.0"
#define IGPU "0000:00:02.0"
#define AMD "0000:05:00.0"
#define AMD_VF0 "0000:05:02.0"
#define RTX "0000:0a:00.0"
#define RTX_AUDIO "0000:0a:00.1"
#define NV_VF "0000:41:00.4"

static char dev_dir[256];

/* The directory fx_pci made for a root-bus function. */
static const char *devdir(const char *bdf)
{
	snprintf(dev_dir, sizeof(dev_dir), "sys/devices/pci%.7s/%s", bdf, bdf);
	return dev_dir;
}

/* An mdev parent's directory: a root-bus PCI function, or a virtual device as the kernel's
 * samples register theirs (sys/devices/virtual/mtty/mtty). */
static const char *pdir(const char *parent)
{
	if (!strncmp(parent, "0000:", 5))
		return devdir(parent);
	snprintf(dev_dir, sizeof(dev_dir), "sys/devices/virtual/%s/%s", parent, parent);
	return dev_dir;
}

static void mdev_parent(struct fixture *fx, const char *parent)
{
	char path[128], target[300];

	snprintf(path, sizeof(path), "sys/class/mdev_bus/%s", parent);
	snprintf(target, sizeof(target), "../../%s", pdir(parent) + 4);
	fx_mkdir(fx, pdir(parent));
	fx_symlink(fx, path, target);
}

static void mdev_type(struct fixture *fx, const char *parent, const char *type, const char *name, const char *desc,
		      int avail)
{
	char base[256];

	snprintf(base, sizeof(base), "%s/mdev_supported_types/%s", pdir(parent), type);
	fx_mkdir(fx, base);
	fx_write(fx, strcat(strcpy((char[300]){ 0 }, base), "/name"), "%s\n", name);
	fx_write(fx, strcat(strcpy((char[300]){ 0 }, base), "/description"), "%s\n", desc);
	fx_write(fx, strcat(strcpy((char[300]){ 0 }, base), "/device_api"), "vfio-pci\n");
	fx_write(fx, strcat(strcpy((char[300]){ 0 }, base), "/available_instances"), "%d\n", avail);
	fx_write(fx, strcat(strcpy((char[300]){ 0 }, base), "/create"), "%s", "");
	fx_mkdir(fx, strcat(strcpy((char[300]){ 0 }, base), "/devices"));
}

/* The mdev core's create and remove stores, acting on the fixture. */
struct fake_mdev {
	struct fixture *fx;
	unsigned int creates, removes, vf_writes;
	int next_group;
};

static int mdev_store(void *userdata, struct iov_ctx *ctx, const char *path, const char *value)
{
	struct fake_mdev *fm = userdata;
	struct fixture *fx = fm->fx;
	char parent[64], type[64], uuid[40], e[2], p[512], t[512], avail_path[300], dir[256];
	int avail;

	if (sscanf(path, "sys/class/mdev_bus/%63[^/]/mdev_supported_types/%63[^/]/creat%1[e]", parent, type, e) == 3) {
		snprintf(dir, sizeof(dir), "%s", pdir(parent));
		snprintf(uuid, sizeof(uuid), "%.36s", value);
		snprintf(avail_path, sizeof(avail_path), "%s/mdev_supported_types/%s/available_instances", dir, type);
		avail = atoi(fx_read(fx, avail_path));
		if (avail <= 0)
			return -EINVAL;
		snprintf(p, sizeof(p), "%s/%s/mdev_type", dir, uuid);
		snprintf(t, sizeof(t), "../mdev_supported_types/%s", type);
		fx_symlink(fx, p, t);
		snprintf(p, sizeof(p), "%s/%s/remove", dir, uuid);
		fx_write(fx, p, "%s", "");
		snprintf(p, sizeof(p), "%s/%s/iommu_group", dir, uuid);
		snprintf(t, sizeof(t), "/sys/kernel/iommu_groups/%d", fm->next_group);
		fx_mkdir(fx, t + 1);
		fm->next_group++;
		fx_symlink(fx, p, t);
		snprintf(p, sizeof(p), "%s/mdev_supported_types/%s/devices/%s", dir, type, uuid);
		snprintf(t, sizeof(t), "../../../%s", uuid);
		fx_symlink(fx, p, t);
		snprintf(p, sizeof(p), "sys/bus/mdev/devices/%s", uuid);
		snprintf(t, sizeof(t), "../../../%s/%s", dir + 4, uuid);
		fx_symlink(fx, p, t);
		fx_write(fx, avail_path, "%d\n", avail - 1);
		fm->creates++;
		return 0;
	}
	if (sscanf(path, "sys/bus/mdev/devices/%36[^/]/remov%1[e]", uuid, e) == 2) {
		char link[512], full[600], *slash;
		ssize_t n;

		snprintf(full, sizeof(full), "%s/sys/bus/mdev/devices/%s", fx->root, uuid);
		n = readlink(full, link, sizeof(link) - 1);
		if (n < 0)
			return -ENODEV;
		link[n] = '\0';
		/* link: ../../../devices/.../PARENT/UUID */
		if (strncmp(link, "../../../", 9) || !(slash = strrchr(link, '/')))
			return -EIO;
		*slash = '\0';
		snprintf(dir, sizeof(dir), "sys/%s", link + 9);
		snprintf(full, sizeof(full), "%s/%s/%s/mdev_type", fx->root, dir, uuid);
		n = readlink(full, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		snprintf(type, sizeof(type), "%s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
		for (const char *f = "mdev_type\0remove\0iommu_group\0"; *f; f += strlen(f) + 1) {
			snprintf(full, sizeof(full), "%s/%s/%s/%s", fx->root, dir, uuid, f);
			unlink(full);
		}
		snprintf(full, sizeof(full), "%s/%s/%s", fx->root, dir, uuid);
		rmdir(full);
		snprintf(full, sizeof(full), "%s/%s/mdev_supported_types/%s/devices/%s", fx->root, dir, type, uuid);
		unlink(full);
		snprintf(full, sizeof(full), "%s/sys/bus/mdev/devices/%s", fx->root, uuid);
		unlink(full);
		snprintf(avail_path, sizeof(avail_path), "%s/mdev_supported_types/%s/available_instances", dir, type);
		fx_write(fx, avail_path, "%d\n", atoi(fx_read(fx, avail_path)) + 1);
		fm->removes++;
		return 0;
	}
	if (sscanf(path, "sys/bus/pci/devices/%63[^/]/nvidia/current_vgpu_typ%1[e]", parent, e) == 2) {
		snprintf(p, sizeof(p), "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", parent);
		fx_write(fx, p, "%s\n", value);
		fm->vf_writes++;
		return 0;
	}
	return -EACCES;     /* nothing else may be written here */
}

/* The host: the five shapes above. */
static struct fixture *vgpu_host(struct iov_ctx **ctx, struct fake_mdev *fm)
{
	struct fixture *fx = fx_new();

	fx_pci(fx, &(struct fx_pci){ .bdf = T4, .vendor = 0x10de, .device = 0x1eb8, .class_code = 0x030200, .group = 40,
				     .driver = "nvidia", .pcie_type = 0, .msi_vectors = 1, .bars = { BAR_MEM(0xd0000000, 1 << 24) } });
	mdev_parent(fx, T4);
	mdev_type(fx, T4, "nvidia-222", "GRID T4-1Q", "num_heads=4, frl_config=60, framebuffer=1024M", 16);
	mdev_type(fx, T4, "nvidia-223", "GRID T4-2Q", "num_heads=4, frl_config=60, framebuffer=2048M", 8);
	mdev_type(fx, T4, "nvidia-230", "GRID T4-16Q", "num_heads=4, frl_config=60, framebuffer=16384M", 1);
	fx_pci(fx, &(struct fx_pci){ .bdf = IGPU, .vendor = 0x8086, .device = 0x3e92, .class_code = 0x030000, .group = 1,
				     .driver = "i915", .pcie_type = 9, .boot_vga = true, .msi_vectors = 1 });
	mdev_parent(fx, IGPU);
	mdev_type(fx, IGPU, "i915-GVTg_V5_4", "GVTg_V5_4", "low_gm_size: 128MB\nhigh_gm_size: 512MB", 2);
	mdev_type(fx, IGPU, "i915-GVTg_V5_8", "GVTg_V5_8", "low_gm_size: 64MB\nhigh_gm_size: 384MB", 4);
	fx_pci(fx, &(struct fx_pci){ .bdf = AMD, .vendor = 0x1002, .device = 0x6929, .class_code = 0x038000, .group = 50,
				     .driver = "gim", .pcie_type = 0, .sriov_total = 16, .sriov_num = 1, .sriov_offset = 16,
				     .sriov_stride = 1, .sriov_vf_device = 0x692f });
	fx_pci(fx, &(struct fx_pci){ .bdf = AMD_VF0, .vendor = 0x1002, .device = 0x692f, .class_code = 0x038000, .group = 51,
				     .pcie_type = 0, .pf = AMD, .vf_index = 0 });
	fx_pci(fx, &(struct fx_pci){ .bdf = RTX, .vendor = 0x10de, .device = 0x2204, .class_code = 0x030000, .group = 60,
				     .driver = "vfio-pci", .pcie_type = 0, .multifunction = true });
	fx_pci(fx, &(struct fx_pci){ .bdf = RTX_AUDIO, .vendor = 0x10de, .device = 0x1aef, .class_code = 0x040300, .group = 60,
				     .driver = "snd_hda_intel", .pcie_type = 0, .multifunction = true });
	fx_pci(fx, &(struct fx_pci){ .bdf = NV_VF, .vendor = 0x10de, .device = 0x2331, .class_code = 0x030200, .group = 70,
				     .driver = "nvidia", .pcie_type = 0 });
	fx_write(fx, "sys/bus/pci/devices/" NV_VF "/nvidia/creatable_vgpu_types", "ID    : vGPU Name\n1061  : NVIDIA H100-1-10C\n");
	fx_write(fx, "sys/bus/pci/devices/" NV_VF "/nvidia/current_vgpu_type", "0\n");
	/* The kernel's mtty sample: a parent that is no PCI device. */
	mdev_parent(fx, "mtty");
	mdev_type(fx, "mtty", "mtty-1", "Single port serial", "", 24);
	mdev_type(fx, "mtty", "mtty-2", "Dual port serial", "", 12);
	fx_mkdir(fx, "sys/bus/mdev/devices");
	ASSERT_OK(iov_ctx_new(fx->root, ctx));
	*fm = (struct fake_mdev){ .fx = fx, .next_group = 100 };
	(*ctx)->attr_store = mdev_store;
	(*ctx)->attr_store_userdata = fm;
	return fx;
}

static const struct iov_gpu *find_gpu(const struct iov_gpu *g, int n, const char *bdf)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(g[i].bdf, bdf))
			return &g[i];
	return NULL;
}

static void test_discovery(void)
{
	struct fake_mdev fm;
	struct iov_ctx *ctx;
	struct fixture *fx = vgpu_host(&ctx, &fm);
	struct iov_gpu *g = NULL;
	const struct iov_gpu *x;
	json_t *j = NULL;
	int n = iov_gpu_list(ctx, &g);

	ASSERT_INT_EQ(n, 6);    /* T4, iGPU, AMD PF and VF, RTX, NVIDIA VF: not the audio function */
	x = find_gpu(g, n, T4);
	ASSERT_TRUE(x && x->mechanisms == IOV_VGPU_MDEV && x->iommu_group == 40 && !strcmp(x->driver, "nvidia"));
	x = find_gpu(g, n, IGPU);
	ASSERT_TRUE(x && (x->mechanisms & IOV_VGPU_MDEV) && x->boot_vga);
	x = find_gpu(g, n, AMD);
	ASSERT_TRUE(x && x->mechanisms == IOV_VGPU_SRIOV && x->sriov_total == 16 && x->sriov_num == 1);
	x = find_gpu(g, n, AMD_VF0);
	ASSERT_TRUE(x && x->is_vf && !strcmp(x->pf, AMD) && x->n_companions == 0);
	x = find_gpu(g, n, RTX);
	ASSERT_TRUE(x && x->n_companions == 1 && !strcmp(x->companions[0], RTX_AUDIO) && x->mechanisms == 0);
	x = find_gpu(g, n, NV_VF);
	ASSERT_TRUE(x && x->mechanisms == IOV_VGPU_VF_TYPES && strstr(x->vf_types, "NVIDIA H100-1-10C") &&
		    x->vf_current_type == 0);
	ASSERT_OK(iov_gpu_json(find_gpu(g, n, RTX), &j));
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "vendor")), "10de");
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(j, "companions"), 0)), RTX_AUDIO);
	json_decref(j);
	free(g);
	iov_ctx_free(ctx);
	fx_free(fx);
}

static void test_types(void)
{
	struct fake_mdev fm;
	struct iov_ctx *ctx;
	struct fixture *fx = vgpu_host(&ctx, &fm);
	struct iov_mdev_type *t = NULL;
	json_t *j = NULL;
	int n = iov_mdev_types(ctx, NULL, &t);

	/* three parents, in the class's order: the iGPU's 2 (00:02.0 first), the T4's 3, mtty's 2 */
	ASSERT_INT_EQ(n, 7);
	ASSERT_STR_EQ(t[5].parent, "mtty");
	ASSERT_STR_EQ(t[6].id, "mtty-2");
	ASSERT_STR_EQ(t[6].name, "Dual port serial");
	ASSERT_INT_EQ(t[6].available, 12);
	ASSERT_STR_EQ(t[0].parent, IGPU);
	ASSERT_STR_EQ(t[0].id, "i915-GVTg_V5_4");
	ASSERT_INT_EQ(t[0].available, 2);
	ASSERT_STR_EQ(t[2].id, "nvidia-222");
	ASSERT_STR_EQ(t[2].name, "GRID T4-1Q");
	ASSERT_STR_EQ(t[2].device_api, "vfio-pci");
	ASSERT_INT_EQ(t[2].available, 16);
	ASSERT_INT_EQ(t[4].available, 1);
	ASSERT_OK(iov_mdev_type_json(&t[4], &j));
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "name")), "GRID T4-16Q");
	json_decref(j);
	iov_mdev_types_free(t, (size_t)n);
	ASSERT_INT_EQ(iov_mdev_types(ctx, "3b:00.0", &t), 3);
	iov_mdev_types_free(t, 3);
	ASSERT_ERR(iov_mdev_types(ctx, AMD, &t), EOPNOTSUPP);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "not an mdev parent") != NULL);
	ASSERT_ERR(iov_mdev_types(ctx, "0000:99:00.0", &t), ENODEV);
	ASSERT_ERR(iov_mdev_types(ctx, "zz", &t), ENODEV);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "zz: no such mdev parent") != NULL);
	ASSERT_ERR(iov_mdev_types(ctx, "../mtty", &t), EINVAL);
	ASSERT_ERR(iov_mdev_types(ctx, "..", &t), EINVAL);
	ASSERT_ERR(iov_mdev_types(ctx, "", &t), EINVAL);
	ASSERT_ERR(iov_mdev_types(ctx, "a b", &t), EINVAL);
	ASSERT_ERR(iov_mdev_types(ctx, "0123456789012345678901234567890123456789012345678901234567890123", &t),
		   EINVAL);
	iov_ctx_free(ctx);
	fx_free(fx);
}

static void test_create_and_remove(void)
{
	static const char uuid[] = "3b5f2a10-6c1e-4d8a-9f0e-1a2b3c4d5e6f";
	struct fake_mdev fm;
	struct iov_ctx *ctx;
	struct fixture *fx = vgpu_host(&ctx, &fm);
	struct iov_mdev *m = NULL;
	struct iov_mdev_type *t = NULL;
	char got[IOV_UUID_LEN], got2[IOV_UUID_LEN];

	ASSERT_OK(iov_mdev_create(ctx, T4, "nvidia-230", uuid, got));
	ASSERT_STR_EQ(got, uuid);
	ASSERT_INT_EQ(iov_mdev_list(ctx, &m), 1);
	ASSERT_STR_EQ(m[0].uuid, uuid);
	ASSERT_STR_EQ(m[0].parent, T4);
	ASSERT_STR_EQ(m[0].type, "nvidia-230");
	ASSERT_INT_EQ(m[0].iommu_group, 100);
	{
		json_t *j = NULL;

		ASSERT_OK(iov_mdev_json(&m[0], &j));
		ASSERT_INT_EQ(json_integer_value(json_object_get(j, "iommu_group")), 100);
		ASSERT_TRUE(json_is_null(json_object_get(j, "driver")));
		json_decref(j);
	}
	free(m);
	ASSERT_INT_EQ(iov_mdev_types(ctx, T4, &t), 3);
	ASSERT_INT_EQ(t[2].available, 0);
	ASSERT_INT_EQ(t[2].n_instances, 1);
	ASSERT_STR_EQ(t[2].instances[0], uuid);
	iov_mdev_types_free(t, 3);

	/* Refusals, each before any write: the store sees nothing. */
	ASSERT_ERR(iov_mdev_create(ctx, T4, "nvidia-230", NULL, got2), ENOSPC);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "GRID T4-16Q") != NULL);
	ASSERT_ERR(iov_mdev_create(ctx, T4, "nvidia-222", uuid, got2), EEXIST);
	ASSERT_ERR(iov_mdev_create(ctx, T4, "nvidia-999", NULL, got2), ENOENT);
	ASSERT_ERR(iov_mdev_create(ctx, T4, "../../x", NULL, got2), EINVAL);
	ASSERT_ERR(iov_mdev_create(ctx, T4, "nvidia-222", "not-a-uuid", got2), EINVAL);
	ASSERT_ERR(iov_mdev_create(ctx, T4, "nvidia-222", "3b5f2a10-6c1e-4d8a-9f0e-1a2b3c4d5e6", got2), EINVAL);
	ASSERT_ERR(iov_mdev_create(ctx, "0000:99:00.0", "nvidia-222", NULL, got2), ENODEV);
	ASSERT_ERR(iov_mdev_create(ctx, AMD, "nvidia-222", NULL, got2), EOPNOTSUPP);
	ASSERT_ERR(iov_mdev_create(ctx, "mtty/../0000:3b:00.0", "nvidia-222", NULL, got2), EINVAL);
	ASSERT_INT_EQ(fm.creates, 1);

	/* A generated UUID is a valid version 4 one. */
	ASSERT_OK(iov_mdev_create(ctx, IGPU, "i915-GVTg_V5_8", NULL, got2));
	ASSERT_TRUE(iov_uuid_valid(got2) && got2[14] == '4');
	ASSERT_INT_EQ(iov_mdev_list(ctx, &m), 2);
	free(m);

	ASSERT_OK(iov_mdev_remove(ctx, uuid));
	ASSERT_ERR(iov_mdev_remove(ctx, uuid), ENOENT);
	ASSERT_ERR(iov_mdev_remove(ctx, "nope"), EINVAL);
	ASSERT_INT_EQ(fm.removes, 1);
	ASSERT_INT_EQ(iov_mdev_types(ctx, T4, &t), 3);
	ASSERT_INT_EQ(t[2].available, 1);
	ASSERT_INT_EQ(t[2].n_instances, 0);
	iov_mdev_types_free(t, 3);
	ASSERT_INT_EQ(iov_mdev_list(ctx, &m), 1);
	ASSERT_STR_EQ(m[0].uuid, got2);
	free(m);

	/* On a parent that is no PCI device, the same. */
	ASSERT_OK(iov_mdev_create(ctx, "mtty", "mtty-2", uuid, got));
	ASSERT_INT_EQ(iov_mdev_list(ctx, &m), 2);
	{
		int k = strcmp(m[0].uuid, uuid) ? 1 : 0;   /* listed in UUID order; the other is random */

		ASSERT_STR_EQ(m[k].uuid, uuid);
		ASSERT_STR_EQ(m[k].parent, "mtty");
		ASSERT_STR_EQ(m[k].type, "mtty-2");
	}
	free(m);
	ASSERT_ERR(iov_mdev_create(ctx, "mtty", "mtty-3", NULL, got2), ENOENT);
	ASSERT_INT_EQ(iov_mdev_types(ctx, "mtty", &t), 2);
	ASSERT_INT_EQ(t[1].available, 11);
	iov_mdev_types_free(t, 2);
	ASSERT_OK(iov_mdev_remove(ctx, uuid));
	ASSERT_INT_EQ(fm.creates, 3);
	ASSERT_INT_EQ(fm.removes, 2);
	iov_ctx_free(ctx);
	fx_free(fx);
}

/* A VF's vGPU type: checked against what it offers, one write, nothing on a refusal. */
static void test_vf_type(void)
{
	struct fake_mdev fm;
	struct iov_ctx *ctx;
	struct fixture *fx = vgpu_host(&ctx, &fm);
	struct iov_gpu *g = NULL;
	int n;

	ASSERT_ERR(iov_gpu_vf_type_set(ctx, NV_VF, 1062), ENOENT);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "1061  : NVIDIA H100-1-10C") != NULL);
	ASSERT_ERR(iov_gpu_vf_type_set(ctx, T4, 1061), EOPNOTSUPP);
	ASSERT_ERR(iov_gpu_vf_type_set(ctx, "0000:99:00.0", 1061), ENODEV);
	ASSERT_ERR(iov_gpu_vf_type_set(ctx, "zz", 1061), EINVAL);
	ASSERT_OK(iov_gpu_vf_type_set(ctx, NV_VF, 0));          /* none to take away: no write */
	ASSERT_INT_EQ(fm.vf_writes, 0);

	ASSERT_OK(iov_gpu_vf_type_set(ctx, "41:00.4", 1061));
	ASSERT_INT_EQ(fm.vf_writes, 1);
	n = iov_gpu_list(ctx, &g);
	ASSERT_INT_GE(n, 1);
	for (int i = 0; i < n; i++)
		if (!strcmp(g[i].bdf, NV_VF))
			ASSERT_INT_EQ(g[i].vf_current_type, 1061);
	free(g);
	ASSERT_OK(iov_gpu_vf_type_set(ctx, NV_VF, 1061));       /* the type it has: no write */
	ASSERT_INT_EQ(fm.vf_writes, 1);
	fx_write(fx, "sys/bus/pci/devices/" NV_VF "/nvidia/creatable_vgpu_types", "ID    : vGPU Name\n1061  : NVIDIA H100-1-10C\n1062  : NVIDIA H100-2-20C\n");
	ASSERT_ERR(iov_gpu_vf_type_set(ctx, NV_VF, 1062), EBUSY);
	ASSERT_TRUE(strstr(iov_ctx_reason(ctx), "has vGPU type 1061; take it away first") != NULL);
	ASSERT_INT_EQ(fm.vf_writes, 1);
	ASSERT_OK(iov_gpu_vf_type_set(ctx, NV_VF, 0));
	ASSERT_INT_EQ(fm.vf_writes, 2);
	ASSERT_STR_EQ(fx_read(fx, "sys/bus/pci/devices/" NV_VF "/nvidia/current_vgpu_type"), "0");
	ASSERT_OK(iov_gpu_vf_type_set(ctx, NV_VF, 1062));
	ASSERT_INT_EQ(fm.vf_writes, 3);
	iov_ctx_free(ctx);
	fx_free(fx);
}

/* Definitions: recorded without touching sysfs, created by start_defined, idempotent, forgotten. */
static void test_definitions(void)
{
	static const char uuid[] = "aaaaaaaa-1111-4222-8333-444444444444";
	struct fake_mdev fm;
	struct iov_ctx *ctx;
	struct fixture *fx = vgpu_host(&ctx, &fm);
	json_t *defs = NULL, *report = NULL;
	char got[IOV_UUID_LEN], other[IOV_UUID_LEN];

	ASSERT_OK(iov_mdev_define(ctx, T4, "nvidia-222", uuid, true, got));
	ASSERT_STR_EQ(got, uuid);
	ASSERT_INT_EQ(fm.creates, 0);
	ASSERT_OK(iov_mdev_define(ctx, "0000:99:00.0", "i915-GVTg_V5_4", NULL, false, other));  /* parent not here yet */
	ASSERT_ERR(iov_mdev_define(ctx, T4, "nvidia-999", NULL, true, other), ENOENT);          /* parent here, no type */
	ASSERT_ERR(iov_mdev_define(ctx, T4, "nvidia-222", uuid, true, other), EEXIST);
	ASSERT_ERR(iov_mdev_define(ctx, T4, "nvidia-222", "nope", true, other), EINVAL);
	ASSERT_OK(iov_mdev_definitions(ctx, &defs));
	ASSERT_INT_EQ(json_array_size(defs), 2);
	json_decref(defs);

	/* Only the autostart one is created; the second start finds it there. */
	ASSERT_OK(iov_mdev_start_defined(ctx, &report));
	ASSERT_INT_EQ(json_array_size(report), 1);
	ASSERT_TRUE(json_is_null(json_object_get(json_array_get(report, 0), "error")));
	json_decref(report);
	ASSERT_INT_EQ(fm.creates, 1);
	ASSERT_OK(iov_mdev_start_defined(ctx, NULL));
	ASSERT_INT_EQ(fm.creates, 1);
	ASSERT_OK(iov_mdev_definitions(ctx, &defs));
	for (size_t i = 0; i < json_array_size(defs); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(defs, i), "uuid")), uuid))
			ASSERT_TRUE(json_is_true(json_object_get(json_array_get(defs, i), "exists")));
	json_decref(defs);
	/* The definitions are in the state directory's mdev.json. */
	ASSERT_TRUE(strstr(fx_read(fx, "var/lib/iovkit/mdev.json"), uuid) != NULL);
	ASSERT_OK(iov_mdev_undefine(ctx, uuid));
	ASSERT_ERR(iov_mdev_undefine(ctx, uuid), ENOENT);
	ASSERT_ERR(iov_mdev_undefine(ctx, "x"), EINVAL);
	iov_ctx_free(ctx);
	fx_free(fx);
}

static void test_uuid(void)
{
	ASSERT_TRUE(iov_uuid_valid("3b5f2a10-6c1e-4d8a-9f0e-1a2b3c4d5e6f"));
	ASSERT_TRUE(iov_uuid_valid("3B5F2A10-6C1E-4D8A-9F0E-1A2B3C4D5E6F"));
	ASSERT_TRUE(!iov_uuid_valid("3b5f2a10x6c1e-4d8a-9f0e-1a2b3c4d5e6f"));
	ASSERT_TRUE(!iov_uuid_valid("3b5f2a10-6c1e-4d8a-9f0e-1a2b3c4d5e6g"));
	ASSERT_TRUE(!iov_uuid_valid(""));
	ASSERT_TRUE(!iov_uuid_valid(NULL));
}

UNIT_MAIN("gpu-vgpu/gpu",
	  UNIT_TEST(test_discovery),
	  UNIT_TEST(test_types),
	  UNIT_TEST(test_create_and_remove),
	  UNIT_TEST(test_definitions),
	  UNIT_TEST(test_vf_type),
	  UNIT_TEST(test_uuid))
