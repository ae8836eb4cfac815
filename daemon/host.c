/* SPDX-License-Identifier: MIT */
/*
 * Methods over the libraries: what the host offers (host.info, pci.list, iommu.*), moving
 * IOMMU groups to vfio-pci and back (device.*), SR-IOV (sriov.*) and VF pools (pool.*). Each
 * is the library call iovctl makes too, so the daemon and the CLI cannot disagree; a failure
 * answers the library's reason, which names the device.
 *
 * pci.list and iommu.groups read the whole PCI inventory (libpci loads pci.ids: ~25 ms), so
 * their answers are kept until something changes: a kernel uevent for PCI, IOMMU or VFIO
 * (when serving the running host), or a method here that changes devices.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "daemon.h"
#include "iovkit/host.h"
#include "iovkit/iommu.h"
#include "iovkit/pci.h"
#include "iovkit/sriov.h"
#include "iovkit-internal/macro.h"
#include "iovkit-internal/test-hooks.h"

int daemon_lib_fail(struct daemon *d, struct iov_rpc_error *e, int r, const char *what)
{
	const char *why = iov_ctx_reason(d->ctx);

	return iov_rpc_fail(e, r == -EINVAL ? IOV_RPC_INVALID_PARAMS : IOV_RPC_FAILED, r, "%s: %s", what,
			    why[0] ? why : iov_strerror(r));
}

static int m_host_info(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct iov_host_report *rep = NULL;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	r = iov_host_report_new(d->ctx, &rep);
	if (r < 0)
		return daemon_lib_fail(d, e, r, "probing the host");
	r = iov_host_report_json(rep, ret);
	iov_host_report_free(rep);
	return r;
}

void host_cache_drop(struct daemon *d)
{
	json_decref(d->cache_pci);
	json_decref(d->cache_groups);
	d->cache_pci = d->cache_groups = NULL;
}

static int on_uevent(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;
	char buf[8192];
	ssize_t n;

	/* "ACTION@DEVPATH\0KEY=VALUE\0...": any PCI, IOMMU or VFIO change invalidates. */
	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		for (char *p = buf; p < buf + n; p += strlen(p) + 1)
			if (!strcmp(p, "SUBSYSTEM=pci") || !strcmp(p, "SUBSYSTEM=iommu") || !strcmp(p, "SUBSYSTEM=vfio") ||
			    !strcmp(p, "SUBSYSTEM=iommu_groups")) {
				host_cache_drop(d);
				break;
			}
	}
	return 0;
}

int host_watch_uevents(struct daemon *d)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT), r;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = sd_event_add_io(d->ev, &d->uevent_src, fd, EPOLLIN, on_uevent, d);
	if (r < 0) {
		close(fd);
		return r;
	}
	d->uevent_fd = fd;
	return 0;
}

static int build_pci(struct daemon *d, struct iov_rpc_error *e)
{
	struct iov_pci_inventory *inv = NULL;
	json_t *arr;
	int r = iov_pci_inventory_new(d->ctx, &inv);

	if (r < 0)
		return daemon_lib_fail(d, e, r, "reading the PCI inventory");
	arr = json_array();
	for (size_t i = 0; arr && i < iov_pci_inventory_count(inv); i++) {
		json_t *j = NULL;

		if (iov_pci_dev_json(iov_pci_inventory_get(inv, i), &j) == 0)
			json_array_append_new(arr, j);
	}
	iov_pci_inventory_free(inv);
	d->cache_pci = arr;
	return arr ? 0 : -ENOMEM;
}

static int m_pci_list(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	const char *kind = NULL;
	json_t *arr, *dev;
	size_t i;
	int r = iov_rpc_params(e, params, "{s?:s}", "class", &kind);

	if (!d->cache_ok)
		host_cache_drop(d);
	if (r < 0 || (!d->cache_pci && (r = build_pci(d, e)) < 0))
		return r;
	if (!kind) {
		*ret = json_incref(d->cache_pci);
		return 0;
	}
	arr = json_array();
	json_array_foreach(d->cache_pci, i, dev)
		if (!strcmp(json_string_value(json_object_get(dev, "kind")) ?: "", kind))
			json_array_append(arr, dev);
	*ret = arr;
	return arr ? 0 : -ENOMEM;
}

static int build_groups(struct daemon *d, struct iov_rpc_error *e)
{
	struct iov_pci_inventory *inv = NULL;
	int *ids = NULL, n, r;
	json_t *arr = NULL;

	n = iov_group_list(d->ctx, &ids);
	if (n < 0)
		return daemon_lib_fail(d, e, n, "listing IOMMU groups");
	r = iov_pci_inventory_new(d->ctx, &inv);
	if (r < 0) {
		free(ids);
		return daemon_lib_fail(d, e, r, "reading the PCI inventory");
	}
	arr = json_array();
	for (int i = 0; arr && i < n && r >= 0; i++) {
		struct iov_group *g = NULL;
		json_t *j = NULL;

		r = iov_group_get(d->ctx, inv, ids[i], &g);
		if (r >= 0 && iov_group_json(g, &j) == 0)
			json_array_append_new(arr, j);
		iov_group_free(g);
	}
	iov_pci_inventory_free(inv);
	free(ids);
	if (r < 0) {
		json_decref(arr);
		return daemon_lib_fail(d, e, r, "reading an IOMMU group");
	}
	d->cache_groups = arr;
	return arr ? 0 : -ENOMEM;
}

static int m_iommu_groups(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	int group = -1, r = iov_rpc_params(e, params, "{s?:i}", "group", &group);
	json_t *g;
	size_t i;

	if (!d->cache_ok)
		host_cache_drop(d);
	if (r < 0 || (!d->cache_groups && (r = build_groups(d, e)) < 0))
		return r;
	if (group < 0) {
		*ret = json_incref(d->cache_groups);
		return 0;
	}
	json_array_foreach(d->cache_groups, i, g)
		if (json_integer_value(json_object_get(g, "group")) == group) {
			*ret = json_pack("[O]", g);
			return *ret ? 0 : -ENOMEM;
		}
	return iov_rpc_fail(e, IOV_RPC_FAILED, ENOENT, "no IOMMU group %d", group);
}

/* {"device": BDF} or {"group": N}: *@ret the group; or -1 for "all": true where @allow_all. */
static int target_group(struct daemon *d, json_t *params, bool allow_all, bool *force, const char **driver,
			int *ret, struct iov_rpc_error *e)
{
	const char *dev = NULL;
	int group = -1, all = 0, f = 0, r;

	if (allow_all)
		r = iov_rpc_params(e, params, "{s?:s,s?:i,s?:b}", "device", &dev, "group", &group, "all", &all);
	else
		r = iov_rpc_params(e, params, "{s?:s,s?:i,s?:s,s?:b}", "device", &dev, "group", &group, "driver", driver,
				   "force", &f);
	if (r < 0)
		return r;
	if ((dev != NULL) + (group >= 0) + !!all != 1)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "give exactly one of device (a PCI address), group%s",
				    allow_all ? " or all: true" : "");
	if (force)
		*force = f;
	if (dev) {
		group = iov_device_group(d->ctx, dev);
		if (group < 0)
			return daemon_lib_fail(d, e, group, dev);
	}
	*ret = all ? -1 : group;
	return 0;
}

static void bind_event(struct daemon *d, const char *type, const struct iov_bind_result *res)
{
	json_t *j = NULL;

	if (iov_bind_result_json(res, &j) == 0)
		daemon_event(d, type, json_pack("{s:o}", "result", j));
}

static int m_device_bind(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct iov_bind_opts opts = { .progress = iov_test_bind_progress };   /* test hooks only */
	struct iov_bind_result *res = NULL;
	int group, r = target_group(d, params, false, &opts.force, &opts.driver, &group, e);

	if (r < 0)
		return r;
	host_cache_drop(d);
	r = iov_group_bind(d->ctx, group, &opts, &res);
	if (r < 0)
		return daemon_lib_fail(d, e, r, "binding");
	dlog(5, "bound IOMMU group %d to %s (%zu devices moved)", group, opts.driver ? opts.driver : "vfio-pci", res->n);
	bind_event(d, "device.bound", res);
	r = iov_bind_result_json(res, ret);
	iov_bind_result_free(res);
	return r;
}

static int m_device_restore(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct iov_bind_result *res = NULL;
	int group, r = target_group(d, params, true, NULL, NULL, &group, e);

	if (r < 0)
		return r;
	host_cache_drop(d);
	r = iov_group_restore(d->ctx, group, &res);
	if (r < 0)
		return daemon_lib_fail(d, e, r, "restoring");
	dlog(5, "restored %s (%zu devices moved)", group >= 0 ? "an IOMMU group" : "every journaled device", res->n);
	bind_event(d, "device.restored", res);
	r = iov_bind_result_json(res, ret);
	iov_bind_result_free(res);
	return r;
}

static int m_sriov_list(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	char **pfs = NULL;
	json_t *arr;
	int n, r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	n = iov_sriov_pf_list(d->ctx, &pfs);
	if (n < 0)
		return daemon_lib_fail(d, e, n, "listing SR-IOV PFs");
	arr = json_array();
	for (int i = 0; arr && i < n; i++) {
		struct iov_sriov_pf *pf = NULL;
		json_t *j = NULL;

		if (iov_sriov_pf_get(d->ctx, pfs[i], &pf) == 0 && iov_sriov_pf_json(pf, &j) == 0)
			json_array_append_new(arr, j);
		iov_sriov_pf_free(pf);
	}
	iov_strv_free(pfs);
	*ret = arr;
	return arr ? 0 : -ENOMEM;
}

static int m_sriov_set(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct iov_sriov_set_opts opts = { .autoprobe = IOV_AUTOPROBE_KEEP, .progress = iov_test_sriov_progress };
	struct iov_sriov_pf *pf = NULL;
	const char *bdf, *autoprobe = NULL;
	int numvfs, vfio = 0;
	int r = iov_rpc_params(e, params, "{s:s,s:i,s?:b,s?:s}", "pf", &bdf, "numvfs", &numvfs, "vfio", &vfio,
			       "autoprobe", &autoprobe);

	if (r < 0)
		return r;
	if (numvfs < 0)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "numvfs %d: 0 or more", numvfs);
	if (autoprobe && strcmp(autoprobe, "on") && strcmp(autoprobe, "off"))
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "autoprobe: \"on\" or \"off\"");
	if (autoprobe)
		opts.autoprobe = !strcmp(autoprobe, "on") ? IOV_AUTOPROBE_ON : IOV_AUTOPROBE_OFF;
	opts.vfio = vfio;
	host_cache_drop(d);
	r = iov_sriov_set_numvfs(d->ctx, bdf, (unsigned int)numvfs, &opts);
	if (r < 0)
		return daemon_lib_fail(d, e, r, bdf);
	dlog(5, "%s now has %d VFs", bdf, numvfs);
	r = iov_sriov_pf_get(d->ctx, bdf, &pf);
	if (r < 0)
		return daemon_lib_fail(d, e, r, bdf);
	r = iov_sriov_pf_json(pf, ret);
	iov_sriov_pf_free(pf);
	if (r == 0)
		daemon_event(d, "sriov.numvfs", json_pack("{s:s,s:i}", "pf", bdf, "numvfs", numvfs));
	return r;
}

/* {"pf": NETDEV or ADDRESS, "vf": N, ...}: the PF's interface and the VF index. */
static int vf_target(struct daemon *d, json_t *params, char *netdev, size_t size, unsigned int *vf,
		     struct iov_rpc_error *e)
{
	const char *pf = json_string_value(json_object_get(params, "pf"));
	json_t *idx = json_object_get(params, "vf");
	int r;

	if (!pf || !json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 65535)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "pf (an interface or PCI address) and vf (an index) are required");
	r = iov_vf_pf_netdev(d->ctx, pf, netdev, size);
	if (r < 0)
		return daemon_lib_fail(d, e, r, pf);
	*vf = (unsigned int)json_integer_value(idx);
	return 0;
}

static int m_vf_get(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	struct iov_vf_settings s;
	char netdev[64];
	const char *pf;
	unsigned int vf;
	int index, r = iov_rpc_params(e, params, "{s:s,s:i}", "pf", &pf, "vf", &index);

	if (r < 0 || (r = vf_target(d, params, netdev, sizeof(netdev), &vf, e)) < 0)
		return r;
	r = iov_vf_get(d->ctx, netdev, vf, &s);
	if (r < 0)
		return daemon_lib_fail(d, e, r, netdev);
	*ret = iov_vf_settings_json(&s);
	if (*ret) {
		json_object_set_new(*ret, "pf", json_string(netdev));
		json_object_set_new(*ret, "vf", json_integer(vf));
	}
	return *ret ? 0 : -ENOMEM;
}

static int m_vf_set(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	static const char *const keys[] = { "pf", "vf", "mac", "vlan", "qos", "vlan_proto", "spoofchk", "trust",
					    "link_state", "min_rate", "max_rate" };
	struct daemon *d = userdata;
	_cleanup_(json_decrefp) json_t *settings = json_deep_copy(params);
	struct iov_vf_settings s;
	char netdev[64], what[96];
	unsigned int vf;
	const char *key;
	json_t *v;
	int r = vf_target(d, params, netdev, sizeof(netdev), &vf, e);

	if (r < 0)
		return r;
	if (!settings)
		return -ENOMEM;
	json_object_foreach(params, key, v) {
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			known |= !strcmp(key, keys[i]);
		if (!known)
			return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "unknown VF setting \"%s\"", key);
	}
	json_object_del(settings, "pf");
	json_object_del(settings, "vf");
	snprintf(what, sizeof(what), "%s VF %u", netdev, vf);
	r = iov_vf_settings_parse(d->ctx, what, settings, &s);
	if (r < 0)
		return daemon_lib_fail(d, e, r, what);
	if (!s.fields)
		return iov_rpc_fail(e, IOV_RPC_INVALID_PARAMS, 0, "%s: no settings given", what);
	r = iov_vf_set(d->ctx, netdev, vf, &s);
	if (r < 0)
		return daemon_lib_fail(d, e, r, what);
	dlog(5, "%s: settings applied", what);
	*ret = json_true();
	return 0;
}

static int m_pool_list(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	int r = iov_rpc_params(e, params, "{}");

	if (r < 0)
		return r;
	r = iov_pool_list(d->ctx, ret);
	return r < 0 ? daemon_lib_fail(d, e, r, "reading the pools") : 0;
}

static int m_pool_alloc(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	const char *pool, *consumer;
	char bdf[IOV_BDF_LEN];
	int r = iov_rpc_params(e, params, "{s:s,s:s}", "pool", &pool, "consumer", &consumer);

	if (r < 0)
		return r;
	r = iov_pool_alloc(d->ctx, pool, consumer, bdf);
	if (r < 0)
		return daemon_lib_fail(d, e, r, pool);
	*ret = json_pack("{s:s,s:s,s:s}", "pool", pool, "consumer", consumer, "vf", bdf);
	return 0;
}

static int m_pool_release(void *userdata, json_t *params, json_t **ret, struct iov_rpc_error *e)
{
	struct daemon *d = userdata;
	const char *vf;
	int r = iov_rpc_params(e, params, "{s:s}", "vf", &vf);

	if (r < 0)
		return r;
	host_cache_drop(d);
	r = iov_pool_release(d->ctx, vf);
	if (r < 0)
		return daemon_lib_fail(d, e, r, vf);
	*ret = json_true();
	return 0;
}

#define TARGET_SCHEMA(extra)                                                                                       \
	"{\"type\":\"object\",\"properties\":{\"device\":{\"type\":\"string\",\"description\":\"a PCI address: "     \
	"its whole IOMMU group\"},\"group\":{\"type\":\"integer\",\"minimum\":0}" extra "}}"

const struct iov_rpc_method host_methods[] = {
	{ "host.info", m_host_info, 0, "IOMMU, VFIO, KVM, hugepages, memlock, SR-IOV devices, with fixes", NULL },
	{ "pci.list", m_pci_list, 0, "PCI functions: IDs, class, driver, IOMMU group, SR-IOV role",
	  "{\"type\":\"object\",\"properties\":{\"class\":{\"enum\":[\"net\",\"storage\",\"gpu\",\"accelerator\","
	  "\"bridge\",\"other\"]}}}" },
	{ "iommu.groups", m_iommu_groups, 0, "IOMMU groups: type, viability, members, reserved regions",
	  "{\"type\":\"object\",\"properties\":{\"group\":{\"type\":\"integer\",\"minimum\":0}}}" },
	{ "device.bind", m_device_bind, IOV_RPC_MUTATES,
	  "binds a whole IOMMU group to vfio-pci (journaled; rolled back on any failure)",
	  TARGET_SCHEMA(",\"driver\":{\"type\":\"string\",\"default\":\"vfio-pci\"},\"force\":{\"type\":\"boolean\"}") },
	{ "device.restore", m_device_restore, IOV_RPC_MUTATES, "puts a group (or all) back on the journaled drivers",
	  TARGET_SCHEMA(",\"all\":{\"type\":\"boolean\"}") },
	{ "sriov.list", m_sriov_list, 0, "SR-IOV PFs with their VFs", NULL },
	{ "sriov.set", m_sriov_set, IOV_RPC_MUTATES, "sets a PF's VF count (journaled; optionally VFs to vfio-pci)",
	  "{\"type\":\"object\",\"required\":[\"pf\",\"numvfs\"],\"properties\":{\"pf\":{\"type\":\"string\"},"
	  "\"numvfs\":{\"type\":\"integer\",\"minimum\":0},\"vfio\":{\"type\":\"boolean\"},"
	  "\"autoprobe\":{\"enum\":[\"on\",\"off\"]}}}" },
	{ "vf.get", m_vf_get, 0, "a VF's MAC, VLAN, spoof check, trust, link state and rates (netlink)",
	  "{\"type\":\"object\",\"required\":[\"pf\",\"vf\"],\"properties\":{\"pf\":{\"type\":\"string\"},"
	  "\"vf\":{\"type\":\"integer\",\"minimum\":0}}}" },
	{ "vf.set", m_vf_set, IOV_RPC_MUTATES, "sets a VF's settings (keys as vf.get answers); checked before any change",
	  "{\"type\":\"object\",\"required\":[\"pf\",\"vf\"],\"properties\":{\"pf\":{\"type\":\"string\"},"
	  "\"vf\":{\"type\":\"integer\",\"minimum\":0},\"mac\":{\"type\":\"string\"},\"vlan\":{\"type\":\"integer\"},"
	  "\"qos\":{\"type\":\"integer\"},\"vlan_proto\":{\"enum\":[\"802.1Q\",\"802.1ad\"]},"
	  "\"spoofchk\":{\"type\":\"boolean\"},\"trust\":{\"type\":\"boolean\"},"
	  "\"link_state\":{\"enum\":[\"auto\",\"enable\",\"disable\"]},\"min_rate\":{\"type\":\"integer\"},"
	  "\"max_rate\":{\"type\":\"integer\"}}}" },
	{ "pool.list", m_pool_list, 0, "VF pools, their members and allocations", NULL },
	{ "pool.alloc", m_pool_alloc, IOV_RPC_MUTATES, "gives a pool's first free VF to a consumer",
	  "{\"type\":\"object\",\"required\":[\"pool\",\"consumer\"],\"properties\":{\"pool\":{\"type\":\"string\"},"
	  "\"consumer\":{\"type\":\"string\"}}}" },
	{ "pool.release", m_pool_release, IOV_RPC_MUTATES, "resets a VF to its pool's defaults and frees it",
	  "{\"type\":\"object\",\"required\":[\"vf\"],\"properties\":{\"vf\":{\"type\":\"string\"}}}" },
};
const size_t n_host_methods = ARRAY_SIZE(host_methods);
