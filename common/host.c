/* SPDX-License-Identifier: MIT */
/*
 * The host report. Everything comes through the host-root layer; a part of the tree that is
 * missing means the feature is absent (a host without an IOMMU has no /sys/class/iommu
 * entries), never an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "common-internal.h"
#include "iovkit/host.h"

static const char *const module_names[IOV_HOST_MOD_COUNT] = {
	[IOV_HOST_MOD_VFIO] = "vfio",
	[IOV_HOST_MOD_VFIO_PCI] = "vfio_pci",
	[IOV_HOST_MOD_VFIO_IOMMU_TYPE1] = "vfio_iommu_type1",
	[IOV_HOST_MOD_IOMMUFD] = "iommufd",
	[IOV_HOST_MOD_KVM] = "kvm",
};

IOV_EXPORT const char *iov_module_state_name(enum iov_module_state s)
{
	static const char *const names[] = {
		[IOV_MODULE_UNKNOWN] = "unknown",   [IOV_MODULE_MISSING] = "missing",
		[IOV_MODULE_LOADABLE] = "loadable", [IOV_MODULE_BUILTIN] = "builtin",
		[IOV_MODULE_LOADED] = "loaded",
	};
	return (unsigned int)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* Module names compare with '-' and '_' as one character, as modprobe does. */
static bool module_name_eq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen && b[i]; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];

		if (x != y)
			return false;
	}
	return i == alen && !b[i];
}

/*
 * Whether a modules.dep or modules.builtin file under lib/modules/<release> lists @name.
 * Lines start with the module's path, "kernel/drivers/vfio/pci/vfio-pci.ko[.xz]".
 */
static int module_listed(struct iov_ctx *ctx, const char *release, const char *file, const char *name)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;
	int fd;

	fd = iov_path_open(ctx, O_RDONLY, "lib/modules/%s/%s", release, file);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (!found && getline(&line, &cap, f) > 0) {
		char *end = strpbrk(line, ":\n"), *base, *dot;

		if (end)
			*end = '\0';
		base = strrchr(line, '/');
		base = base ? base + 1 : line;
		dot = strstr(base, ".ko");
		if (dot && module_name_eq(base, (size_t)(dot - base), name))
			found = true;
	}
	fclose(f);
	return found;
}

static enum iov_module_state module_state(struct iov_ctx *ctx, const char *release, const char *name)
{
	if (iov_path_exists(ctx, "sys/module/%s", name) > 0)
		/* Built-in modules show up in /sys/module only for their parameters, without initstate. */
		return iov_path_exists(ctx, "sys/module/%s/initstate", name) > 0 ? IOV_MODULE_LOADED : IOV_MODULE_BUILTIN;
	if (module_listed(ctx, release, "modules.builtin", name) > 0)
		return IOV_MODULE_BUILTIN;
	switch (module_listed(ctx, release, "modules.dep", name)) {
	case 1:
		return IOV_MODULE_LOADABLE;
	case 0:
		return IOV_MODULE_MISSING;
	default:
		return iov_path_exists(ctx, "lib/modules/%s", release) > 0 ? IOV_MODULE_MISSING : IOV_MODULE_UNKNOWN;
	}
}

static void probe_cpu_vendor(struct iov_ctx *ctx, struct iov_host_report *r)
{
	_cleanup_close_ int fd = -1;
	char buf[4096];
	ssize_t n;

	/* Only the first processor's block is needed; cpuinfo is long on big hosts. */
	fd = iov_path_open(ctx, O_RDONLY, "proc/cpuinfo");
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (strstr(buf, "GenuineIntel"))
		copy_str(r->cpu_vendor, sizeof(r->cpu_vendor), "intel");
	else if (strstr(buf, "AuthenticAMD") || strstr(buf, "HygonGenuine"))
		copy_str(r->cpu_vendor, sizeof(r->cpu_vendor), "amd");
}

static void probe_iommu(struct iov_ctx *ctx, struct iov_host_report *r)
{
	static const struct { const char *prefix, *vendor; } unit_kinds[] = {
		{ "dmar", "intel" }, { "ivhd", "amd" }, { "smmu", "arm-smmu" },
		{ "arm-smmu", "arm-smmu" }, { "virtio", "virtio" },
	};
	char **units = NULL, **groups = NULL;
	char cmdline[4096];
	int n;

	n = iov_dir_list(ctx, &units, "sys/class/iommu");
	for (int i = 0; n > 0 && units[i] && r->n_iommu_units < IOV_HOST_MAX_IOMMU_UNITS; i++) {
		copy_str(r->iommu_units[r->n_iommu_units++], sizeof(r->iommu_units[0]), units[i]);
		for (size_t k = 0; !r->iommu_vendor[0] && k < ARRAY_SIZE(unit_kinds); k++)
			if (!strncmp(units[i], unit_kinds[k].prefix, strlen(unit_kinds[k].prefix)))
				copy_str(r->iommu_vendor, sizeof(r->iommu_vendor), unit_kinds[k].vendor);
	}
	iov_strv_free(units);

	n = iov_dir_list(ctx, &groups, "sys/kernel/iommu_groups");
	if (n > 0) {
		r->n_groups = (unsigned int)n;
		iov_attr_read(ctx, r->iommu_domain_type, sizeof(r->iommu_domain_type), "sys/kernel/iommu_groups/%s/type",
			      groups[0]);
	}
	iov_strv_free(groups);

	if (iov_attr_read(ctx, cmdline, sizeof(cmdline), "proc/cmdline") >= 0) {
		char *save = NULL;

		for (char *tok = strtok_r(cmdline, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			size_t used = strlen(r->iommu_cmdline);

			if (strncmp(tok, "intel_iommu=", 12) && strncmp(tok, "amd_iommu=", 10) &&
			    strncmp(tok, "iommu=", 6) && strncmp(tok, "iommu.", 6))
				continue;
			snprintf(r->iommu_cmdline + used, sizeof(r->iommu_cmdline) - used, "%s%s", used ? " " : "", tok);
		}
	}
}

static void probe_kvm(struct iov_ctx *ctx, struct iov_host_report *r)
{
	_cleanup_close_ int fd = -1;
	int v;

	r->kvm_dev = iov_path_exists(ctx, "dev/kvm") > 0;
	if (!r->kvm_dev) {
		r->kvm_api_version = -ENOENT;
		return;
	}
	fd = iov_path_open(ctx, O_RDWR, "dev/kvm");
	if (fd < 0) {
		r->kvm_api_version = fd;
		return;
	}
	/* The only KVM ioctl outside the VMM: a read-only probe that the device answers. */
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	r->kvm_api_version = v < 0 ? negative_errno() : v;
}

static void probe_memory(struct iov_ctx *ctx, struct iov_host_report *r)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3] = { 0 };
	struct rlimit rl;
	char **sizes = NULL;
	int n;

	n = iov_dir_list(ctx, &sizes, "sys/kernel/mm/hugepages");
	for (int i = 0; n > 0 && sizes[i] && r->n_hugepage_sizes < IOV_HOST_MAX_HUGEPAGE_SIZES; i++) {
		struct iov_host_hugepages *h = &r->hugepages[r->n_hugepage_sizes];

		if (sscanf(sizes[i], "hugepages-%" SCNu64 "kB", &h->size_kib) != 1)
			continue;
		if (iov_attr_read_u64(ctx, &h->total, "sys/kernel/mm/hugepages/%s/nr_hugepages", sizes[i]) < 0 ||
		    iov_attr_read_u64(ctx, &h->free, "sys/kernel/mm/hugepages/%s/free_hugepages", sizes[i]) < 0)
			continue;
		r->n_hugepage_sizes++;
	}
	iov_strv_free(sizes);

	/* The limits and capabilities are this process's, the ones a VMM started from here inherits. */
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		r->memlock_soft = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
		r->memlock_hard = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_max;
	}
	if (syscall(SYS_capget, &hdr, caps) == 0)
		r->cap_ipc_lock = caps[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32));
}

static int compare_sriov(const void *a, const void *b)
{
	return strverscmp(((const struct iov_host_sriov_dev *)a)->bdf, ((const struct iov_host_sriov_dev *)b)->bdf);
}

static int probe_sriov(struct iov_ctx *ctx, struct iov_host_report *r)
{
	char **devs = NULL;
	int n, ret = 0;

	n = iov_dir_list(ctx, &devs, "sys/bus/pci/devices");
	if (n <= 0)
		return 0;
	for (int i = 0; devs[i]; i++) {
		struct iov_host_sriov_dev d = { 0 };
		uint64_t total, num = 0, vendor = 0, device = 0;

		if (iov_attr_read_u64(ctx, &total, "sys/bus/pci/devices/%s/sriov_totalvfs", devs[i]) < 0)
			continue;
		iov_attr_read_u64(ctx, &num, "sys/bus/pci/devices/%s/sriov_numvfs", devs[i]);
		iov_attr_read_u64(ctx, &vendor, "sys/bus/pci/devices/%s/vendor", devs[i]);
		iov_attr_read_u64(ctx, &device, "sys/bus/pci/devices/%s/device", devs[i]);
		iov_link_basename(ctx, d.driver, sizeof(d.driver), "sys/bus/pci/devices/%s/driver", devs[i]);
		copy_str(d.bdf, sizeof(d.bdf), devs[i]);
		d.vendor = (uint16_t)vendor;
		d.device = (uint16_t)device;
		d.totalvfs = (unsigned int)total;
		d.numvfs = (unsigned int)num;

		struct iov_host_sriov_dev *grown = realloc(r->sriov, (r->n_sriov + 1) * sizeof(*grown));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		r->sriov = grown;
		r->sriov[r->n_sriov++] = d;
	}
	iov_strv_free(devs);
	if (r->n_sriov)
		qsort(r->sriov, r->n_sriov, sizeof(*r->sriov), compare_sriov);
	return ret;
}

static void hint(struct iov_host_report *r, const char *topic, bool required, const char *problem, const char *fix)
{
	struct iov_host_hint *h;

	if (r->n_hints >= IOV_HOST_MAX_HINTS)
		return;
	h = &r->hints[r->n_hints++];
	h->topic = topic;
	h->required = required;
	copy_str(h->problem, sizeof(h->problem), problem);
	copy_str(h->fix, sizeof(h->fix), fix);
}

static void add_hints(struct iov_host_report *r)
{
	enum iov_module_state vfio_pci = r->modules[IOV_HOST_MOD_VFIO_PCI];
	char problem[256];
	uint64_t huge_total = 0;

	if (r->n_iommu_units == 0) {
		const char *fix;

		if (strstr(r->iommu_cmdline, "intel_iommu=off") || strstr(r->iommu_cmdline, "amd_iommu=off"))
			fix = "remove intel_iommu=off / amd_iommu=off from the kernel command line";
		else if (!strcmp(r->cpu_vendor, "intel"))
			fix = "enable VT-d in the firmware and boot with intel_iommu=on";
		else if (!strcmp(r->cpu_vendor, "amd"))
			fix = "enable the IOMMU (AMD-Vi) in the firmware; amd_iommu is on by default once it is";
		else
			fix = "enable the IOMMU in the firmware and on the kernel command line (intel_iommu=on or amd_iommu=on)";
		hint(r, "iommu", true, "no IOMMU is active (/sys/class/iommu is empty): devices cannot be isolated", fix);
	}

	switch (vfio_pci) {
	case IOV_MODULE_LOADED:
	case IOV_MODULE_BUILTIN:
		if (!r->vfio_container)
			hint(r, "vfio", true, "vfio is loaded but /dev/vfio/vfio is missing",
			     "check that devtmpfs is mounted on /dev, or create the node: mknod /dev/vfio/vfio c 10 196");
		break;
	case IOV_MODULE_LOADABLE:
		hint(r, "vfio", true, "vfio-pci is not loaded", "modprobe vfio-pci");
		break;
	case IOV_MODULE_MISSING:
		hint(r, "vfio", true, "this kernel has no vfio-pci module", "use a kernel built with CONFIG_VFIO_PCI");
		break;
	case IOV_MODULE_UNKNOWN:
		snprintf(problem, sizeof(problem), "vfio-pci is not loaded, and there is no module tree for kernel %s",
			 r->kernel_release[0] ? r->kernel_release : "(unknown)");
		hint(r, "vfio", true, problem, "install this kernel's modules and modprobe vfio-pci");
		break;
	}

	if (!r->kvm_dev)
		hint(r, "kvm", true, "no /dev/kvm: guests cannot run",
		     !strcmp(r->cpu_vendor, "amd") ? "enable AMD-V (SVM) in the firmware and modprobe kvm_amd"
						   : "enable VT-x in the firmware and modprobe kvm_intel");
	else if (r->kvm_api_version < 0) {
		snprintf(problem, sizeof(problem), "/dev/kvm exists but cannot be used: %s", iov_strerror(r->kvm_api_version));
		hint(r, "kvm", true, problem, "run as root or as a member of the kvm group");
	}

	for (unsigned int i = 0; i < r->n_hugepage_sizes; i++)
		huge_total += r->hugepages[i].total;
	if (huge_total == 0)
		hint(r, "hugepages", false, "no hugepages are reserved",
		     "echo 1024 > /proc/sys/vm/nr_hugepages (iovswitch also runs without them, more slowly)");

	if (!r->cap_ipc_lock && r->memlock_soft < (1ull << 30)) {
		snprintf(problem, sizeof(problem),
			 "RLIMIT_MEMLOCK is %" PRIu64 " KiB without CAP_IPC_LOCK; VFIO pins all of a guest's RAM",
			 r->memlock_soft / 1024);
		hint(r, "memlock", false, problem, "ulimit -l unlimited, or LimitMEMLOCK=infinity in the service unit");
	}
}

IOV_EXPORT int iov_host_report_new(struct iov_ctx *ctx, struct iov_host_report **ret)
{
	struct iov_host_report *r;
	int err;

	iov_ctx_reason_clear(ctx);
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;

	iov_attr_read(ctx, r->kernel_release, sizeof(r->kernel_release), "proc/sys/kernel/osrelease");
	probe_cpu_vendor(ctx, r);
	probe_iommu(ctx, r);
	for (int m = 0; m < IOV_HOST_MOD_COUNT; m++)
		r->modules[m] = module_state(ctx, r->kernel_release, module_names[m]);
	r->vfio_container = iov_path_exists(ctx, "dev/vfio/vfio") > 0;
	r->iommufd_dev = iov_path_exists(ctx, "dev/iommu") > 0;
	probe_kvm(ctx, r);
	probe_memory(ctx, r);
	err = probe_sriov(ctx, r);
	if (err < 0) {
		iov_host_report_free(r);
		return iov_ctx_fail(ctx, err, "listing SR-IOV devices: %s", iov_strerror(err));
	}
	add_hints(r);
	*ret = r;
	return 0;
}

IOV_EXPORT void iov_host_report_free(struct iov_host_report *report)
{
	if (!report)
		return;
	free(report->sriov);
	free(report);
}

static json_t *json_str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *json_limit(uint64_t v)
{
	return v == UINT64_MAX ? json_string("unlimited") : json_integer((json_int_t)v);
}

IOV_EXPORT int iov_host_report_json(const struct iov_host_report *r, json_t **ret)
{
	json_t *units = json_array(), *modules = json_object(), *huge = json_array(), *sriov = json_array(),
	       *hints = json_array(), *root;
	char id[8];

	for (unsigned int i = 0; i < r->n_iommu_units; i++)
		json_array_append_new(units, json_string(r->iommu_units[i]));
	for (int m = 0; m < IOV_HOST_MOD_COUNT; m++)
		if (m != IOV_HOST_MOD_KVM)
			json_object_set_new(modules, module_names[m], json_string(iov_module_state_name(r->modules[m])));
	for (unsigned int i = 0; i < r->n_hugepage_sizes; i++)
		json_array_append_new(huge, json_pack("{s:I,s:I,s:I}", "size_kib", (json_int_t)r->hugepages[i].size_kib,
						      "total", (json_int_t)r->hugepages[i].total, "free",
						      (json_int_t)r->hugepages[i].free));
	for (unsigned int i = 0; i < r->n_sriov; i++) {
		const struct iov_host_sriov_dev *d = &r->sriov[i];
		char dev[8];

		snprintf(id, sizeof(id), "%04x", d->vendor);
		snprintf(dev, sizeof(dev), "%04x", d->device);
		json_array_append_new(sriov, json_pack("{s:s,s:s,s:s,s:o,s:i,s:i}", "bdf", d->bdf, "vendor", id, "device", dev,
						       "driver", json_str_or_null(d->driver), "totalvfs", d->totalvfs,
						       "numvfs", d->numvfs));
	}
	for (unsigned int i = 0; i < r->n_hints; i++)
		json_array_append_new(hints, json_pack("{s:s,s:b,s:s,s:s}", "topic", r->hints[i].topic, "required",
						       r->hints[i].required, "problem", r->hints[i].problem, "fix",
						       r->hints[i].fix));

	root = json_pack("{s:o,s:o,s:{s:b,s:o,s:o,s:o,s:o,s:i},s:{s:o,s:b,s:b},s:{s:b,s:o,s:s},s:o,s:{s:o,s:o,s:b},s:o,s:o}",
			 "kernel", json_str_or_null(r->kernel_release), "cpu_vendor", json_str_or_null(r->cpu_vendor),
			 "iommu", "present", r->n_iommu_units > 0, "vendor", json_str_or_null(r->iommu_vendor), "units",
			 units, "domain_type", json_str_or_null(r->iommu_domain_type), "cmdline",
			 json_str_or_null(r->iommu_cmdline), "groups", r->n_groups,
			 "vfio", "modules", modules, "container", r->vfio_container, "iommufd", r->iommufd_dev,
			 "kvm", "present", r->kvm_dev, "api_version",
			 r->kvm_api_version >= 0 ? json_integer(r->kvm_api_version) : json_null(), "module",
			 iov_module_state_name(r->modules[IOV_HOST_MOD_KVM]),
			 "hugepages", huge,
			 "memlock", "soft", json_limit(r->memlock_soft), "hard", json_limit(r->memlock_hard), "cap_ipc_lock",
			 r->cap_ipc_lock,
			 "sriov", sriov, "hints", hints);
	if (!root)
		return -ENOMEM;
	*ret = root;
	return 0;
}
