/* SPDX-License-Identifier: MIT */
/*
 * Whole-group driver binding with a journal.
 *
 * The journal (<state dir>/bind-journal.json, replaced atomically) holds one entry per device
 * we moved: its original driver and driver_override, the driver we put it on, and a state:
 *   "binding"  written before the device is touched; if a crash leaves it, the device may be
 *              half-way and iov_bind_recover() puts it back;
 *   "bound"    the bind completed; iov_group_restore() puts it back on request.
 * An entry leaves the journal only once its device is back where it started.
 *
 * The kernel side (Documentation/ABI/testing/sysfs-bus-pci): driver_override makes only the
 * named driver match a device; writing the BDF to driver/unbind releases it; writing it to
 * /sys/bus/pci/drivers_probe probes it again; drivers/<name>/bind attaches one driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "iommu-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_pci_inventory *, iov_pci_inventory_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_group *, iov_group_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_inuse *, iov_inuse_free)

#define STATE_BINDING "binding"
#define STATE_BOUND "bound"

/* ---- the journal ---- */

static const char *const journal_keys[] = { "devices", NULL };

/* The journal's "devices" object (a new reference); an absent journal is an empty one. */
static int journal_load(struct iov_ctx *ctx, json_t **ret)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	int r = iov_state_load(ctx, IOV_BIND_JOURNAL, journal_keys, &root);

	if (r < 0)
		return r;
	*ret = json_incref(json_object_get(root, "devices"));
	return 0;
}

static int journal_save(struct iov_ctx *ctx, json_t *devices)
{
	_cleanup_(json_decrefp) json_t *root = json_pack("{s:i,s:O}", "version", 1, "devices", devices);

	return root ? iov_state_save(ctx, IOV_BIND_JOURNAL, root, 0600) : -ENOMEM;
}

static const char *entry_str(json_t *entry, const char *key)
{
	const char *s = json_string_value(json_object_get(entry, key));

	return s ? s : "";
}

/* ---- one device, through sysfs ---- */

static int override_set(struct iov_ctx *ctx, const char *bdf, const char *driver)
{
	/* A lone newline clears the override; an empty write would not reach the kernel's store. */
	return iov_attr_write(ctx, driver[0] ? driver : "\n", PCI_DEV_DIR "/driver_override", bdf);
}

static int unbind(struct iov_ctx *ctx, const char *bdf)
{
	int r = iov_attr_write(ctx, bdf, PCI_DEV_DIR "/driver/unbind", bdf);

	return r == -ENOENT ? 0 : r;   /* no driver link: already unbound */
}

/* Moves @bdf onto @target. On failure the device may be half-way; the caller puts it back. */
static int device_bind(struct iov_ctx *ctx, const char *bdf, const char *current, const char *target)
{
	char now[64];
	int r;

	r = override_set(ctx, bdf, target);
	if (r < 0)
		return iov_ctx_fail(ctx, r, "%s: setting driver_override to %s: %s", bdf, target, iov_strerror(r));
	if (current[0]) {
		r = unbind(ctx, bdf);
		if (r < 0)
			return iov_ctx_fail(ctx, r, "%s: unbinding from %s: %s", bdf, current, iov_strerror(r));
	}
	r = iov_attr_write(ctx, bdf, "sys/bus/pci/drivers_probe");
	if (r < 0)
		return iov_ctx_fail(ctx, r, "%s: probing for %s: %s", bdf, target, iov_strerror(r));
	r = pci_driver_get(ctx, bdf, now, sizeof(now));
	if (r < 0)
		return iov_ctx_fail(ctx, r, "%s: reading its driver: %s", bdf, iov_strerror(r));
	if (strcmp(now, target))
		return iov_ctx_fail(ctx, -EIO, "%s: the kernel did not bind it to %s (it is on %s; the kernel log says why)", bdf,
				target, now[0] ? now : "no driver");
	return 0;
}

/* Puts @bdf back on @driver ("" unbound) with driver_override @override. */
static int device_put_back(struct iov_ctx *ctx, const char *bdf, const char *driver, const char *override)
{
	char now[64];
	int r;

	if (iov_path_exists(ctx, PCI_DEV_DIR, bdf) <= 0)
		return iov_ctx_fail(ctx, -ENODEV, "%s: the device is gone (hot-unplugged, or its VFs were removed)", bdf);
	r = override_set(ctx, bdf, override);
	if (r < 0)
		return iov_ctx_fail(ctx, r, "%s: restoring driver_override: %s", bdf, iov_strerror(r));
	r = pci_driver_get(ctx, bdf, now, sizeof(now));
	if (r < 0)
		return iov_ctx_fail(ctx, r, "%s: reading its driver: %s", bdf, iov_strerror(r));
	if (!strcmp(now, driver))
		return 0;
	if (now[0]) {
		r = unbind(ctx, bdf);
		if (r < 0)
			return iov_ctx_fail(ctx, r, "%s: unbinding from %s: %s", bdf, now, iov_strerror(r));
	}
	if (driver[0]) {
		r = iov_attr_write(ctx, bdf, "sys/bus/pci/drivers/%s/bind", driver);
		if (r < 0)
			return iov_ctx_fail(ctx, r, "%s: binding back to %s: %s", bdf, driver, iov_strerror(r));
	}
	r = pci_driver_get(ctx, bdf, now, sizeof(now));
	if (r < 0)
		return iov_ctx_fail(ctx, r, "%s: reading its driver: %s", bdf, iov_strerror(r));
	if (strcmp(now, driver))
		return iov_ctx_fail(ctx, -EIO, "%s: could not put it back on %s (it is on %s)", bdf,
				driver[0] ? driver : "no driver", now[0] ? now : "no driver");
	return 0;
}

/* ---- results ---- */

IOV_EXPORT void iov_bind_result_free(struct iov_bind_result *r)
{
	if (!r)
		return;
	free(r->changes);
	free(r);
}

static int result_add(struct iov_bind_result *res, const char *bdf, const char *from, const char *to)
{
	struct iov_bind_change *grown = realloc(res->changes, (res->n + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	res->changes = grown;
	snprintf(grown[res->n].bdf, sizeof(grown[res->n].bdf), "%s", bdf);
	snprintf(grown[res->n].from, sizeof(grown[res->n].from), "%s", from);
	snprintf(grown[res->n].to, sizeof(grown[res->n].to), "%s", to);
	res->n++;
	return 0;
}

IOV_EXPORT int iov_bind_result_json(const struct iov_bind_result *res, json_t **ret)
{
	json_t *changes = json_array(), *j;

	for (size_t i = 0; i < res->n; i++)
		json_array_append_new(changes, json_pack("{s:s,s:o,s:o}", "bdf", res->changes[i].bdf, "from",
							 res->changes[i].from[0] ? json_string(res->changes[i].from) : json_null(),
							 "to", res->changes[i].to[0] ? json_string(res->changes[i].to) : json_null()));
	j = json_pack("{s:o,s:o}", "group", res->group >= 0 ? json_integer(res->group) : json_null(), "changes", changes);
	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}

/* ---- restore and recovery ---- */

/* Puts back every journal entry that @want accepts, saving the journal after each. */
static int restore_where(struct iov_ctx *ctx, bool (*want)(json_t *entry, int group), int group,
			 struct iov_bind_result *res)
{
	_cleanup_(json_decrefp) json_t *devices = NULL;
	int first_err = 0, r;
	const char *bdf;
	json_t *entry;
	void *tmp;
	char saved_reason[sizeof(ctx->reason)] = "";

	r = journal_load(ctx, &devices);
	if (r < 0)
		return r;
	json_object_foreach_safe(devices, tmp, bdf, entry) {
		char before[64] = "";

		if (!want(entry, group))
			continue;
		pci_driver_get(ctx, bdf, before, sizeof(before));
		r = device_put_back(ctx, bdf, entry_str(entry, "driver"), entry_str(entry, "override"));
		if (r < 0 && r != -ENODEV) {
			if (!first_err) {
				first_err = r;
				snprintf(saved_reason, sizeof(saved_reason), "%s", ctx->reason);
			}
			continue;
		}
		if (res && r == 0 && strcmp(before, entry_str(entry, "driver")) && result_add(res, bdf, before, entry_str(entry, "driver")) < 0)
			return -ENOMEM;
		json_object_del(devices, bdf);   /* a gone device has nothing left to restore */
		r = journal_save(ctx, devices);
		if (r < 0)
			return r;
	}
	if (first_err)
		snprintf(ctx->reason, sizeof(ctx->reason), "%s", saved_reason);
	return first_err;
}

static bool entry_interrupted(json_t *entry, int group)
{
	return !strcmp(entry_str(entry, "state"), STATE_BINDING);
}

static bool entry_in_group(json_t *entry, int group)
{
	return group < 0 || json_integer_value(json_object_get(entry, "group")) == group;
}

IOV_EXPORT int iov_bind_recover(struct iov_ctx *ctx)
{
	_cleanup_(json_decrefp) json_t *devices = NULL;
	size_t before, after;
	int r;

	iov_ctx_reason_clear(ctx);
	r = journal_load(ctx, &devices);
	if (r < 0)
		return r;
	before = json_object_size(devices);
	r = restore_where(ctx, entry_interrupted, -1, NULL);
	if (r < 0)
		return r;
	json_decref(devices);
	devices = NULL;
	r = journal_load(ctx, &devices);
	if (r < 0)
		return r;
	after = json_object_size(devices);
	if (before != after)
		iov_ctx_log(ctx, IOV_LOG_NOTICE, "put back %zu device(s) from an interrupted bind", before - after);
	return (int)(before - after);
}

IOV_EXPORT int iov_group_restore(struct iov_ctx *ctx, int group, struct iov_bind_result **ret)
{
	struct iov_bind_result *res = calloc(1, sizeof(*res));
	int r;

	iov_ctx_reason_clear(ctx);
	if (!res)
		return -ENOMEM;
	res->group = group;
	r = restore_where(ctx, entry_in_group, group, res);
	if (r < 0) {
		iov_bind_result_free(res);
		return r;
	}
	*ret = res;
	return 0;
}

/* ---- bind ---- */

/* Refuses (-EBUSY) when the host uses an endpoint of the group, unless forced. */
static int check_not_in_use(struct iov_ctx *ctx, const struct iov_pci_inventory *inv, const struct iov_group *g)
{
	_cleanup_(iov_inuse_freep) struct iov_inuse *inuse = NULL;
	char why[256];
	int r;

	r = iov_inuse_new(ctx, &inuse);
	if (r < 0)
		return iov_ctx_fail(ctx, r, "checking what the host uses: %s", iov_strerror(r));
	for (size_t i = 0; i < g->n_members; i++) {
		const struct iov_pci_dev *d = iov_pci_inventory_find(inv, g->members[i].bdf);

		if (!d || g->members[i].bridge)
			continue;
		if (iov_inuse_check(inuse, d, why, sizeof(why)) > 0)
			return iov_ctx_fail(ctx, -EBUSY, "%s; IOMMU group %d cannot be bound without --force", why, g->id);
	}
	return 0;
}

IOV_EXPORT int iov_group_bind(struct iov_ctx *ctx, int group, const struct iov_bind_opts *opts,
			      struct iov_bind_result **ret)
{
	static const struct iov_bind_opts defaults = { 0 };
	_cleanup_(iov_pci_inventory_freep) struct iov_pci_inventory *inv = NULL;
	_cleanup_(iov_group_freep) struct iov_group *g = NULL;
	_cleanup_(json_decrefp) json_t *devices = NULL;
	struct iov_bind_result *res = NULL;
	const char *target;
	unsigned int total = 0;
	int r;

	iov_ctx_reason_clear(ctx);
	if (!opts)
		opts = &defaults;
	target = opts->driver && opts->driver[0] ? opts->driver : "vfio-pci";
	if (strchr(target, '/') || strlen(target) >= 64)
		return iov_ctx_fail(ctx, -EINVAL, "'%s' is not a driver name", target);

	r = iov_bind_recover(ctx);
	if (r < 0)
		return r;
	r = iov_pci_inventory_new(ctx, &inv);
	if (r < 0)
		return r;
	r = iov_group_get(ctx, inv, group, &g);
	if (r < 0)
		return r;
	if (iov_path_exists(ctx, "sys/bus/pci/drivers/%s", target) <= 0)
		return iov_ctx_fail(ctx, -ENOENT, "driver %s is not loaded (modprobe %s)", target, target);
	if (!opts->force) {
		r = check_not_in_use(ctx, inv, g);
		if (r < 0)
			return r;
	}

	/* Journal first: every endpoint that will move, with where it came from. */
	r = journal_load(ctx, &devices);
	if (r < 0)
		return r;
	for (size_t i = 0; i < g->n_members; i++) {
		const struct iov_group_member *m = &g->members[i];
		char override[64];

		if (m->bridge || !strcmp(m->driver, target))
			continue;
		if (json_object_get(devices, m->bdf)) {
			/* Bound by us before and moved since: keep the first original. */
			json_object_set_new(json_object_get(devices, m->bdf), "state", json_string(STATE_BINDING));
			json_object_set_new(json_object_get(devices, m->bdf), "target", json_string(target));
			continue;
		}
		r = pci_driver_override_get(ctx, m->bdf, override, sizeof(override));
		if (r < 0)
			return iov_ctx_fail(ctx, r, "%s: reading driver_override: %s", m->bdf, iov_strerror(r));
		json_object_set_new(devices, m->bdf,
				    json_pack("{s:i,s:o,s:o,s:s,s:s}", "group", group, "driver",
					      m->driver[0] ? json_string(m->driver) : json_null(), "override",
					      override[0] ? json_string(override) : json_null(), "target", target, "state",
					      STATE_BINDING));
	}
	for (size_t i = 0; i < g->n_members; i++)
		total += !g->members[i].bridge && strcmp(g->members[i].driver, target);
	r = journal_save(ctx, devices);
	if (r < 0)
		return r;

	res = calloc(1, sizeof(*res));
	if (!res) {
		r = -ENOMEM;
		goto rollback;
	}
	res->group = group;
	for (size_t i = 0; i < g->n_members; i++) {
		const struct iov_group_member *m = &g->members[i];

		if (m->bridge || !strcmp(m->driver, target))
			continue;
		r = device_bind(ctx, m->bdf, m->driver, target);
		if (r < 0)
			goto rollback;
		r = result_add(res, m->bdf, m->driver, target);
		if (r < 0)
			goto rollback;
		if (opts->progress) {
			r = opts->progress(opts->userdata, m->bdf, (unsigned int)res->n, total);
			if (r < 0) {
				r = iov_ctx_fail(ctx, r, "stopped after %zu of %u device(s): %s", res->n, total, iov_strerror(r));
				goto rollback;
			}
		}
	}

	for (size_t i = 0; i < res->n; i++)
		json_object_set_new(json_object_get(devices, res->changes[i].bdf), "state", json_string(STATE_BOUND));
	r = journal_save(ctx, devices);
	if (r < 0)
		goto rollback;
	*ret = res;
	return 0;

rollback : {
	/* Put back everything this call marked, keeping the reason of the failure. */
	char reason[sizeof(ctx->reason)];
	int rb;

	snprintf(reason, sizeof(reason), "%s", ctx->reason);
	iov_bind_result_free(res);
	rb = restore_where(ctx, entry_interrupted, -1, NULL);
	if (rb < 0) {
		char rb_reason[sizeof(ctx->reason)];

		snprintf(rb_reason, sizeof(rb_reason), "%s", ctx->reason);
		snprintf(ctx->reason, sizeof(ctx->reason), "%s; and rolling back failed too: %.200s", reason, rb_reason);
	}
	else
		snprintf(ctx->reason, sizeof(ctx->reason), "%s (rolled back: every device is where it was)", reason);
	return r;
}
}
