/* SPDX-License-Identifier: MIT */
/*
 * Declarative SR-IOV state: PFs named by stable paths, their VF counts, autoprobe, vfio-pci
 * binding and VF settings. Apply checks everything, then converges; being idempotent, it is
 * its own crash recovery: applying again finishes whatever a crash interrupted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/common-internal.h"
#include "iovkit/iommu.h"
#include "iovkit/sriov.h"
#include "vfnet-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_pci_inventory *, iov_pci_inventory_free)

DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_sriov_pf *, iov_sriov_pf_free)

IOV_EXPORT int iov_sriov_pf_path(struct iov_ctx *ctx, const char *bdf, char *buf, size_t size)
{
	char canon[IOV_BDF_LEN], link[PATH_MAX], *save = NULL;
	size_t used = 0;
	bool first = true;
	int r;

	if (iov_pci_bdf_parse(bdf, canon) < 0)
		return iov_ctx_fail(ctx, -EINVAL, "'%s' is not a PCI address", bdf ? bdf : "");
	r = iov_link_read(ctx, link, sizeof(link), "sys/bus/pci/devices/%s", canon);
	if (r < 0)
		return iov_ctx_fail(ctx, -ENODEV, "%s: no such PCI device", canon);
	/* "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0": every BDF component, in order. */
	for (char *c = strtok_r(link, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		char hop[IOV_BDF_LEN];
		int n;

		if (iov_pci_bdf_parse(c, hop) < 0)
			continue;
		n = first ? snprintf(buf + used, size - used, "pci-%s", hop)
			  : snprintf(buf + used, size - used, "/%s", hop + 8);   /* "dd.f" */
		if (n < 0 || (size_t)n >= size - used)
			return -ENOBUFS;
		used += (size_t)n;
		first = false;
	}
	if (first)
		return iov_ctx_fail(ctx, -ENODEV, "%s: no PCI path in sysfs", canon);
	return (int)used;
}

/* PF @bdf's Device Serial Number as lspci writes it, or "" if it has none. */
static void serial_of(const struct iov_pci_inventory *inv, const char *bdf, char buf[24])
{
	const struct iov_pci_dev *d = iov_pci_inventory_find(inv, bdf);

	buf[0] = '\0';
	if (d && d->has_serial)
		iov_pci_serial_format(d->serial, buf);
}

/* A PF named in a configuration: {"serial": ...}, {"path": ...} or {"bdf": ...}. */
static int resolve_pf(struct iov_ctx *ctx, json_t *id, char **pfs, const struct iov_pci_inventory *inv,
		      char out[IOV_BDF_LEN])
{
	const char *path = json_string_value(json_object_get(id, "path")),
		   *bdf = json_string_value(json_object_get(id, "bdf")),
		   *serial = json_string_value(json_object_get(id, "serial"));
	int found = 0;

	if (!!path + !!bdf + !!serial != 1 || json_object_size(id) != 1)
		return iov_ctx_fail(ctx, -EINVAL, "a PF is named by exactly one of \"serial\", \"path\" or \"bdf\" (a string)");
	if (bdf) {
		if (iov_pci_bdf_parse(bdf, out) < 0)
			return iov_ctx_fail(ctx, -EINVAL, "\"bdf\": '%s' is not a PCI address", bdf);
		for (char **p = pfs; *p; p++)
			found += !strcmp(*p, out);
		return found ? 0 : iov_ctx_fail(ctx, -EINVAL, "no SR-IOV PF at %s", out);
	}
	for (char **p = pfs; *p; p++) {
		char mine[256];

		if (serial)
			serial_of(inv, *p, mine);
		else if (iov_sriov_pf_path(ctx, *p, mine, sizeof(mine)) <= 0)
			continue;
		if (!strcasecmp(mine, serial ? serial : path)) {
			snprintf(out, IOV_BDF_LEN, "%s", *p);
			found++;
		}
	}
	/* Functions of one card share its serial number: then it does not name one PF. */
	if (found != 1)
		return iov_ctx_fail(ctx, -EINVAL, "%s PF %s %s", found ? "more than one" : "no SR-IOV",
				    serial ? "with serial number" : "at path", serial ? serial : path);
	return 0;
}

static int get_bool(json_t *o, const char *key, bool *out, bool *present)
{
	json_t *v = json_object_get(o, key);

	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return -EINVAL;
	*out = json_is_true(v);
	return 0;
}

static int get_uint(json_t *o, const char *key, json_int_t max, unsigned long *out, bool *present)
{
	json_t *v = json_object_get(o, key);

	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return -EINVAL;
	*out = (unsigned long)json_integer_value(v);
	return 0;
}

int vf_settings_from_json(struct iov_ctx *ctx, const char *pf, json_t *o, unsigned int *index, struct iov_vf_settings *s)
{
	unsigned int no_index = 0;
	unsigned long v;
	bool present, b;
	const char *str;
	char why[200];

	*s = (struct iov_vf_settings){ 0 };
	if (!json_is_object(o))
		return iov_ctx_fail(ctx, -EINVAL, "%s: VF settings are an object", pf);
	if (index) {
		if (get_uint(o, "index", 65535, &v, &present) < 0 || !present)
			return iov_ctx_fail(ctx, -EINVAL, "%s: every VF entry needs an \"index\"", pf);
		*index = (unsigned int)v;
	} else {
		index = &no_index;
	}
	if ((str = json_string_value(json_object_get(o, "mac")))) {
		if (iov_vf_mac_parse(str, s->mac) < 0)
			return iov_ctx_fail(ctx, -EINVAL, "%s VF %u: \"mac\" '%s' is not aa:bb:cc:dd:ee:ff", pf, *index, str);
		s->fields |= IOV_VF_SET_MAC;
	}
	if (get_uint(o, "vlan", 65535, &v, &present) < 0)
		return iov_ctx_fail(ctx, -EINVAL, "%s VF %u: \"vlan\" must be a number", pf, *index);
	if (present) {
		s->vlan = (uint16_t)v;
		s->fields |= IOV_VF_SET_VLAN;
		if (get_uint(o, "qos", 255, &v, &present) < 0)
			return iov_ctx_fail(ctx, -EINVAL, "%s VF %u: \"qos\" must be a number", pf, *index);
		s->qos = present ? (uint8_t)v : 0;
		str = json_string_value(json_object_get(o, "vlan_proto"));
		if (str && strcmp(str, "802.1Q") && strcmp(str, "802.1ad"))
			return iov_ctx_fail(ctx, -EINVAL, "%s VF %u: \"vlan_proto\" is 802.1Q or 802.1ad, not '%s'", pf, *index, str);
		s->vlan_proto = str && !strcmp(str, "802.1ad") ? 0x88a8 : 0x8100;
	}
	if (get_bool(o, "spoofchk", &b, &present) < 0)
		return iov_ctx_fail(ctx, -EINVAL, "%s VF %u: \"spoofchk\" must be true or false", pf, *index);
	if (present) {
		s->spoofchk = b;
		s->fields |= IOV_VF_SET_SPOOFCHK;
	}
	if (get_bool(o, "trust", &b, &present) < 0)
		return iov_ctx_fail(ctx, -EINVAL, "%s VF %u: \"trust\" must be true or false", pf, *index);
	if (present) {
		s->trust = b;
		s->fields |= IOV_VF_SET_TRUST;
	}
	if ((str = json_string_value(json_object_get(o, "link_state")))) {
		if (!strcmp(str, "auto"))
			s->link_state = IOV_VF_LINK_AUTO;
		else if (!strcmp(str, "enable"))
			s->link_state = IOV_VF_LINK_ENABLE;
		else if (!strcmp(str, "disable"))
			s->link_state = IOV_VF_LINK_DISABLE;
		else
			return iov_ctx_fail(ctx, -EINVAL, "%s VF %u: \"link_state\" is auto, enable or disable, not '%s'", pf,
					    *index, str);
		s->fields |= IOV_VF_SET_LINK_STATE;
	}
	if (json_object_get(o, "min_rate") || json_object_get(o, "max_rate")) {
		unsigned long mn = 0, mx = 0;

		if (get_uint(o, "min_rate", UINT32_MAX, &mn, &present) < 0 || get_uint(o, "max_rate", UINT32_MAX, &mx, &present) < 0)
			return iov_ctx_fail(ctx, -EINVAL, "%s VF %u: rates are Mbit/s numbers", pf, *index);
		s->min_tx_rate = (uint32_t)mn;
		s->max_tx_rate = (uint32_t)mx;
		s->fields |= IOV_VF_SET_RATE;
	}
	/* The same checks iov_vf_set() makes, up front, so a bad entry changes nothing. */
	if (s->fields && vf_settings_check(s, why, sizeof(why)) < 0)
		return iov_ctx_fail(ctx, -EINVAL, "%s VF %u: %s", pf, *index, why);
	return 0;
}

IOV_EXPORT int iov_vf_settings_parse(struct iov_ctx *ctx, const char *what, json_t *o, struct iov_vf_settings *ret)
{
	return vf_settings_from_json(ctx, what, o, NULL, ret);
}

IOV_EXPORT json_t *iov_vf_settings_json(const struct iov_vf_settings *s)
{
	static const char *const link[] = { "auto", "enable", "disable" };
	json_t *j = json_object();
	char mac[18];

	if (!j)
		return NULL;
	if (s->fields & IOV_VF_SET_MAC) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", s->mac[0], s->mac[1], s->mac[2], s->mac[3],
			 s->mac[4], s->mac[5]);
		json_object_set_new(j, "mac", json_string(mac));
	}
	if (s->fields & IOV_VF_SET_VLAN) {
		json_object_set_new(j, "vlan", json_integer(s->vlan));
		json_object_set_new(j, "qos", json_integer(s->qos));
		json_object_set_new(j, "vlan_proto", json_string(s->vlan_proto == 0x88a8 ? "802.1ad" : "802.1Q"));
	}
	if (s->fields & IOV_VF_SET_SPOOFCHK)
		json_object_set_new(j, "spoofchk", json_boolean(s->spoofchk));
	if (s->fields & IOV_VF_SET_TRUST)
		json_object_set_new(j, "trust", json_boolean(s->trust));
	if ((s->fields & IOV_VF_SET_LINK_STATE) && (unsigned int)s->link_state <= IOV_VF_LINK_DISABLE)
		json_object_set_new(j, "link_state", json_string(link[s->link_state]));
	if (s->fields & IOV_VF_SET_RATE) {
		json_object_set_new(j, "min_rate", json_integer(s->min_tx_rate));
		json_object_set_new(j, "max_rate", json_integer(s->max_tx_rate));
	}
	return j;
}

struct pf_plan {
	char bdf[IOV_BDF_LEN];
	unsigned long numvfs;
	struct iov_sriov_set_opts opts;
	json_t *vfs;
};

/* Checks the whole configuration and resolves its PFs, changing nothing. */
static int plan(struct iov_ctx *ctx, json_t *config, struct pf_plan **ret, size_t *ret_n)
{
	json_t *pfs = json_object_get(config, "pfs"), *e;
	_cleanup_free_ struct pf_plan *plans = NULL;
	_cleanup_(iov_pci_inventory_freep) struct iov_pci_inventory *inv = NULL;
	char **all = NULL;
	size_t i;
	int r = 0;

	if (!json_is_object(config) || json_integer_value(json_object_get(config, "version")) != 1 || !json_is_array(pfs))
		return iov_ctx_fail(ctx, -EINVAL, "a configuration is {\"version\": 1, \"pfs\": [...]}");
	plans = calloc(json_array_size(pfs) + 1, sizeof(*plans));
	if (!plans)
		return -ENOMEM;
	r = iov_pci_inventory_new(ctx, &inv);
	if (r < 0)
		return r;
	r = iov_sriov_pf_list(ctx, &all);
	if (r < 0)
		return r;
	r = 0;
	json_array_foreach(pfs, i, e) {
		struct pf_plan *p = &plans[i];
		_cleanup_(iov_sriov_pf_freep) struct iov_sriov_pf *pf = NULL;
		bool present, autoprobe_present, b = false;
		json_t *vf;
		size_t k;

		if (!json_is_object(e) || !json_is_object(json_object_get(e, "pf"))) {
			r = iov_ctx_fail(ctx, -EINVAL, "pfs[%zu]: needs \"pf\": {\"path\": ...}", i);
			break;
		}
		r = resolve_pf(ctx, json_object_get(e, "pf"), all, inv, p->bdf);
		if (r < 0)
			break;
		for (size_t k2 = 0; k2 < i; k2++)
			if (!strcmp(plans[k2].bdf, p->bdf)) {
				r = iov_ctx_fail(ctx, -EINVAL, "%s is configured twice", p->bdf);
				break;
			}
		if (r < 0)
			break;
		r = iov_sriov_pf_get(ctx, p->bdf, &pf);
		if (r < 0)
			break;
		if (get_uint(e, "numvfs", 65535, &p->numvfs, &present) < 0 || !present) {
			r = iov_ctx_fail(ctx, -EINVAL, "%s: \"numvfs\" must be a count", p->bdf);
			break;
		}
		if (p->numvfs > pf->totalvfs) {
			r = iov_ctx_fail(ctx, -EINVAL, "%s supports at most %u VFs; %lu configured", p->bdf, pf->totalvfs, p->numvfs);
			break;
		}
		if (get_bool(e, "autoprobe", &b, &autoprobe_present) < 0 || get_bool(e, "vfio", &p->opts.vfio, &present) < 0) {
			r = iov_ctx_fail(ctx, -EINVAL, "%s: \"autoprobe\" and \"vfio\" are true or false", p->bdf);
			break;
		}
		p->opts.autoprobe = autoprobe_present ? (b ? IOV_AUTOPROBE_ON : IOV_AUTOPROBE_OFF) : IOV_AUTOPROBE_KEEP;
		p->vfs = json_object_get(e, "vfs");
		if (p->vfs && !json_is_array(p->vfs)) {
			r = iov_ctx_fail(ctx, -EINVAL, "%s: \"vfs\" is a list", p->bdf);
			break;
		}
		json_array_foreach(p->vfs, k, vf) {
			struct iov_vf_settings s;
			unsigned int index;

			r = vf_settings_from_json(ctx, p->bdf, vf, &index, &s);
			if (r == 0 && index >= p->numvfs)
				r = iov_ctx_fail(ctx, -EINVAL, "%s: VF %u is configured but numvfs is %lu", p->bdf, index, p->numvfs);
			if (r == 0 && s.fields && !pf->netdev[0])
				r = iov_ctx_fail(ctx, -EINVAL, "%s has no network interface for VF settings", p->bdf);
			if (r < 0)
				break;
		}
		if (r < 0)
			break;
	}
	iov_strv_free(all);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(plans);
	*ret_n = json_array_size(pfs);
	return 0;
}

IOV_EXPORT int iov_sriov_config_apply(struct iov_ctx *ctx, json_t *config, json_t **ret_report)
{
	_cleanup_free_ struct pf_plan *plans = NULL;
	json_t *report = json_array();
	size_t n = 0;
	int r;

	iov_ctx_reason_clear(ctx);
	if (!report)
		return -ENOMEM;
	r = plan(ctx, config, &plans, &n);
	/* A change a crash interrupted is finished first, so the host starts from a whole state. */
	if (r == 0)
		r = iov_sriov_recover(ctx, NULL);
	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_(iov_sriov_pf_freep) struct iov_sriov_pf *before = NULL;
		json_t *vf;
		size_t k;
		int applied = 0;

		r = iov_sriov_pf_get(ctx, plans[i].bdf, &before);
		if (r == 0)
			r = iov_sriov_set_numvfs(ctx, plans[i].bdf, (unsigned int)plans[i].numvfs, &plans[i].opts);
		json_array_foreach(plans[i].vfs, k, vf) {
			struct iov_vf_settings s;
			unsigned int index;

			if (r < 0)
				break;
			r = vf_settings_from_json(ctx, plans[i].bdf, vf, &index, &s);
			if (r == 0 && s.fields) {
				r = iov_vf_set(ctx, before->netdev, index, &s);
				applied += r == 0;
			}
		}
		if (r == 0 && (before->numvfs != plans[i].numvfs || plans[i].opts.vfio || applied))
			json_array_append_new(report, json_pack("{s:s,s:i,s:b,s:i}", "pf", plans[i].bdf, "numvfs",
								(int)plans[i].numvfs, "vfio", plans[i].opts.vfio, "vfs", applied));
	}
	if (r < 0 || !ret_report) {
		json_decref(report);
		return r;
	}
	*ret_report = report;
	return 0;
}

IOV_EXPORT int iov_sriov_config_save(struct iov_ctx *ctx, json_t **ret)
{
	_cleanup_(iov_pci_inventory_freep) struct iov_pci_inventory *inv = NULL;
	json_t *pfs = json_array(), *config;
	char **all = NULL;
	int n;

	iov_ctx_reason_clear(ctx);
	n = iov_pci_inventory_new(ctx, &inv);
	if (n >= 0)
		n = iov_sriov_pf_list(ctx, &all);
	if (n < 0) {
		json_decref(pfs);
		return n;
	}
	for (int i = 0; i < n; i++) {
		_cleanup_(iov_sriov_pf_freep) struct iov_sriov_pf *pf = NULL;
		bool vfio = true;
		char path[256], serial[24];

		if (iov_sriov_pf_get(ctx, all[i], &pf) < 0 || !pf->numvfs || iov_sriov_pf_path(ctx, pf->bdf, path, sizeof(path)) < 0)
			continue;
		for (size_t k = 0; k < pf->n_vfs; k++)
			vfio &= !strcmp(pf->vfs[k].driver, "vfio-pci");
		/* The card's serial number follows it to another slot; the path is the next best. A
		 * serial shared by two SR-IOV PFs (two ports of one card) names neither: use the path. */
		serial_of(inv, pf->bdf, serial);
		for (int k = 0; serial[0] && k < n; k++) {
			char other[24];

			serial_of(inv, all[k], other);
			if (k != i && !strcasecmp(other, serial))
				serial[0] = '\0';
		}
		json_array_append_new(pfs, json_pack("{s:{s:s},s:i,s:b,s:b}", "pf", serial[0] ? "serial" : "path",
						     serial[0] ? serial : path, "numvfs", pf->numvfs, "autoprobe", pf->autoprobe,
						     "vfio", vfio && pf->n_vfs));
	}
	iov_strv_free(all);
	config = json_pack("{s:i,s:o}", "version", 1, "pfs", pfs);
	if (!config)
		return -ENOMEM;
	*ret = config;
	return 0;
}
