/* SPDX-License-Identifier: MIT */
/* iovctl devices, groups, group, bind, restore. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "iovkit-internal/test-hooks.h"
#include "iovkit/iommu.h"
#include "iovkit/pci.h"
#include "iovkit-internal/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_pci_inventory *, iov_pci_inventory_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_group *, iov_group_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_inuse *, iov_inuse_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_bind_result *, iov_bind_result_free)

static const struct option json_only[] = { CLI_OPT_JSON, { 0 } };

/* A command that takes only --json and exactly @nargs arguments. */
static int parse_plain(struct cli *cli, const char *cmd, int nargs)
{
	if (cli_next_opt(cli, cmd, json_only) != -1)
		return EXIT_USAGE;
	if (cli->argc - optind != nargs)
		return cli_usage(cmd, nargs ? "wrong number of arguments" : "takes no arguments");
	return EXIT_OK;
}

/* "0000:3b:00.0" -> "3b:00.0" in tables, where domain 0 is the rule. */
static const char *short_bdf(const char *bdf)
{
	return strncmp(bdf, "0000:", 5) ? bdf : bdf + 5;
}

/* ---- devices ---- */

struct assign {
	const char *state;      /* "yes", "group", "in-use", "no-iommu", "bridge" */
	char why[256];
};

/* Endpoints per IOMMU group, indexed by group id (for "assign them together"). */
static unsigned int *endpoints_per_group(const struct iov_pci_inventory *inv, int *ret_max)
{
	int max = -1;
	unsigned int *count;

	for (size_t i = 0; i < iov_pci_inventory_count(inv); i++)
		if (iov_pci_inventory_get(inv, i)->iommu_group > max)
			max = iov_pci_inventory_get(inv, i)->iommu_group;
	count = calloc((size_t)max + 2, sizeof(*count));
	if (!count)
		return NULL;
	for (size_t i = 0; i < iov_pci_inventory_count(inv); i++) {
		const struct iov_pci_dev *d = iov_pci_inventory_get(inv, i);

		if (d->iommu_group >= 0 && d->header_type == 0)
			count[d->iommu_group]++;
	}
	*ret_max = max;
	return count;
}

static void assignability(const unsigned int *group_endpoints, struct iov_inuse *inuse, const struct iov_pci_dev *d,
			  struct assign *a)
{
	size_t peers;

	a->why[0] = '\0';
	/* Bridges by header type stay with the host; so do host and ISA bridges (class 06h), which
	 * the kernel counts as endpoints but no guest wants. */
	if (d->header_type != 0 || (d->class_code >> 16) == 0x06) {
		a->state = "bridge";
		return;
	}
	if (d->iommu_group < 0) {
		a->state = "no-iommu";
		snprintf(a->why, sizeof(a->why), "%s is in no IOMMU group", d->bdf);
		return;
	}
	if (iov_inuse_check(inuse, d, a->why, sizeof(a->why)) > 0) {
		a->state = "in-use";
		return;
	}
	peers = group_endpoints[d->iommu_group] - 1;
	if (peers) {
		a->state = "group";
		snprintf(a->why, sizeof(a->why), "shares IOMMU group %d with %zu other endpoint(s): assign them together",
			 d->iommu_group, peers);
		return;
	}
	a->state = "yes";
}

static void sriov_cell(const struct iov_pci_dev *d, char *buf, size_t size)
{
	if (d->sriov)
		snprintf(buf, size, "PF %u/%u", d->sriov_num, d->sriov_total);
	else if (d->is_vf)
		snprintf(buf, size, "VF%d of %s", d->vf_index, short_bdf(d->pf));
	else
		snprintf(buf, size, "-");
}

int cmd_devices(struct cli *cli)
{
	static const struct option opts[] = { { "class", required_argument, NULL, 'c' }, CLI_OPT_JSON, { 0 } };
	static const char *const kinds[] = { "net", "storage", "gpu", "accelerator", "bridge", "other" };
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;
	_cleanup_(iov_pci_inventory_freep) struct iov_pci_inventory *inv = NULL;
	_cleanup_(iov_inuse_freep) struct iov_inuse *inuse = NULL;
	_cleanup_free_ unsigned int *group_endpoints = NULL;
	const char *kind = NULL;
	json_t *arr = NULL;
	int opt, r, max_group;

	while ((opt = cli_next_opt(cli, "devices", opts)) != -1) {
		if (opt != 'c')
			return EXIT_USAGE;
		kind = optarg;
	}
	if (optind != cli->argc)
		return cli_usage("devices", "takes no arguments");
	if (kind) {
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
			known |= !strcmp(kind, kinds[i]);
		if (!known)
			return cli_usage("devices", "--class takes net, storage, gpu, accelerator, bridge or other");
	}
	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	r = iov_pci_inventory_new(ctx, &inv);
	if (r < 0)
		return cli_fail(ctx, r, "reading the PCI inventory");
	r = iov_inuse_new(ctx, &inuse);
	if (r < 0)
		return cli_fail(ctx, r, "reading routes and mounts");
	group_endpoints = endpoints_per_group(inv, &max_group);
	if (!group_endpoints)
		return cli_fail(ctx, -ENOMEM, "counting group members");

	if (cli->json && !(arr = json_array()))
		return EXIT_FAIL;
	if (!cli->json)
		printf("%-12s %-9s %-11s %-14s %5s %-16s %-8s %s\n", "BDF", "ID", "KIND", "DRIVER", "GROUP", "SR-IOV", "ASSIGN",
		       "NAME");
	for (size_t i = 0; i < iov_pci_inventory_count(inv); i++) {
		const struct iov_pci_dev *d = iov_pci_inventory_get(inv, i);
		struct assign a;
		char sriov[48], group[16];

		if (kind && strcmp(kind, iov_pci_class_kind(d->class_code)))
			continue;
		assignability(group_endpoints, inuse, d, &a);
		if (cli->json) {
			json_t *j = NULL;

			if (iov_pci_dev_json(d, &j) < 0)
				return EXIT_FAIL;
			json_object_set_new(j, "assign", json_string(a.state));
			json_object_set_new(j, "assign_why", a.why[0] ? json_string(a.why) : json_null());
			json_array_append_new(arr, j);
			continue;
		}
		sriov_cell(d, sriov, sizeof(sriov));
		snprintf(group, sizeof(group), "%d", d->iommu_group);
		printf("%-12s %04x:%04x %-11s %-14s %5s %-16s %-8s %s%s%s\n", short_bdf(d->bdf), d->vendor, d->device,
		       iov_pci_class_kind(d->class_code), d->driver[0] ? d->driver : "-", d->iommu_group >= 0 ? group : "-",
		       sriov, a.state, d->vendor_name, d->vendor_name[0] ? " " : "",
		       d->device_name[0] ? d->device_name : d->class_name);
	}
	return cli->json ? cli_print_json(arr) : EXIT_OK;
}

/* ---- groups ---- */

static void print_members(const struct iov_group *g)
{
	for (size_t i = 0; i < g->n_members; i++)
		printf("%s%s(%s)", i ? " " : "", short_bdf(g->members[i].bdf),
		       g->members[i].driver[0] ? g->members[i].driver : "-");
}

int cmd_groups(struct cli *cli)
{
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;
	_cleanup_(iov_pci_inventory_freep) struct iov_pci_inventory *inv = NULL;
	_cleanup_free_ int *ids = NULL;
	json_t *arr = NULL;
	int n, r;

	r = parse_plain(cli, "groups", 0);
	if (r != EXIT_OK)
		return r;
	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	n = iov_group_list(ctx, &ids);
	if (n < 0)
		return cli_fail(ctx, n, "listing IOMMU groups");
	r = iov_pci_inventory_new(ctx, &inv);
	if (r < 0)
		return cli_fail(ctx, r, "reading the PCI inventory");
	if (cli->json && !(arr = json_array()))
		return EXIT_FAIL;
	if (!cli->json) {
		if (n == 0) {
			printf("No IOMMU groups: the IOMMU is off or absent (see iovctl host).\n");
			return EXIT_OK;
		}
		printf("%5s %-9s %-6s %s\n", "GROUP", "TYPE", "VIABLE", "MEMBERS");
	}
	for (int i = 0; i < n; i++) {
		_cleanup_(iov_group_freep) struct iov_group *g = NULL;

		r = iov_group_get(ctx, inv, ids[i], &g);
		if (r < 0)
			return cli_fail(ctx, r, "reading an IOMMU group");
		if (cli->json) {
			json_t *j = NULL;

			if (iov_group_json(g, &j) < 0)
				return EXIT_FAIL;
			json_array_append_new(arr, j);
			continue;
		}
		printf("%5d %-9s %-6s ", g->id, g->type[0] ? g->type : "-", g->viable ? "yes" : "no");
		print_members(g);
		printf("\n");
	}
	return cli->json ? cli_print_json(arr) : EXIT_OK;
}

/* A group number, or a PCI address meaning its group. Prints the error itself. */
static int group_arg(struct iov_ctx *ctx, const char *arg)
{
	char *end;
	long v;
	int g;

	if (!strchr(arg, ':')) {
		v = strtol(arg, &end, 10);
		if (*arg && *end == '\0' && v >= 0 && v <= INT32_MAX)
			return (int)v;
		cli_error("'%s' is neither an IOMMU group number nor a PCI address", arg);
		return -EINVAL;
	}
	g = iov_device_group(ctx, arg);
	if (g < 0)
		cli_fail(ctx, g, arg);
	return g;
}

int cmd_group(struct cli *cli)
{
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;
	_cleanup_(iov_group_freep) struct iov_group *g = NULL;
	int id, r;

	r = parse_plain(cli, "group", 1);
	if (r != EXIT_OK)
		return r;
	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	id = group_arg(ctx, cli->argv[optind]);
	if (id < 0)
		return EXIT_FAIL;
	r = iov_group_get(ctx, NULL, id, &g);
	if (r < 0)
		return cli_fail(ctx, r, "reading the IOMMU group");
	if (cli->json) {
		json_t *j = NULL;

		return iov_group_json(g, &j) < 0 ? EXIT_FAIL : cli_print_json(j);
	}
	printf("IOMMU group %d: type %s, IOMMU %s, /dev/vfio/%d %s\n", g->id, g->type[0] ? g->type : "?",
	       g->iommu[0] ? g->iommu : "?", g->id, g->vfio_node ? "present" : "absent");
	printf("Viable for VFIO: %s%s%s\n", g->viable ? "yes" : "no", g->viable ? "" : " - ", g->why_not_viable);
	printf("Members:\n");
	for (size_t i = 0; i < g->n_members; i++)
		printf("  %s  %-14s %s%s\n", g->members[i].bdf, g->members[i].driver[0] ? g->members[i].driver : "(no driver)",
		       g->members[i].bridge ? "bridge" : "endpoint", g->members[i].viable ? "" : "  <- breaks viability");
	if (g->n_regions) {
		printf("Reserved regions:\n");
		for (size_t i = 0; i < g->n_regions; i++)
			printf("  0x%016" PRIx64 "-0x%016" PRIx64 "  %s\n", g->regions[i].start, g->regions[i].end,
			       g->regions[i].type);
	}
	if (g->sharing[0]) {
		printf("Why these devices share a group:\n");
		for (char **s = g->sharing; *s; s++)
			printf("  %s\n", *s);
	}
	return EXIT_OK;
}

/* ---- bind / restore ---- */

static int print_result(const struct cli *cli, const struct iov_bind_result *res, const char *verb)
{
	if (cli->json) {
		json_t *j = NULL;

		return iov_bind_result_json(res, &j) < 0 ? EXIT_FAIL : cli_print_json(j);
	}
	if (res->n == 0)
		printf("Nothing to %s: every device is already where it should be.\n", verb);
	for (size_t i = 0; i < res->n; i++)
		printf("%s: %s -> %s\n", res->changes[i].bdf, res->changes[i].from[0] ? res->changes[i].from : "(no driver)",
		       res->changes[i].to[0] ? res->changes[i].to : "(no driver)");
	return EXIT_OK;
}

int cmd_bind(struct cli *cli)
{
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		CLI_OPT_JSON,
		{ 0 },
	};
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;
	_cleanup_(iov_bind_result_freep) struct iov_bind_result *res = NULL;
	struct iov_bind_opts bo = { .progress = iov_test_bind_progress };     /* test hooks only */
	int opt, group, r;

	while ((opt = cli_next_opt(cli, "bind", opts)) != -1) {
		if (opt == 'd')
			bo.driver = optarg;
		else if (opt == 'f')
			bo.force = true;
		else
			return EXIT_USAGE;
	}
	if (cli->argc - optind != 1)
		return cli_usage("bind", "takes one DEVICE or GROUP");
	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	group = group_arg(ctx, cli->argv[optind]);
	if (group < 0)
		return EXIT_FAIL;
	r = iov_group_bind(ctx, group, &bo, &res);
	if (r < 0)
		return cli_fail(ctx, r, "binding");
	return print_result(cli, res, "bind");
}

int cmd_restore(struct cli *cli)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, CLI_OPT_JSON, { 0 } };
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;
	_cleanup_(iov_bind_result_freep) struct iov_bind_result *res = NULL;
	bool all = false;
	int opt, group = -1, r;

	while ((opt = cli_next_opt(cli, "restore", opts)) != -1) {
		if (opt != 'a')
			return EXIT_USAGE;
		all = true;
	}
	if (all != (cli->argc == optind) || cli->argc - optind > 1)
		return cli_usage("restore", "takes one DEVICE or GROUP, or --all");
	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	if (!all) {
		group = group_arg(ctx, cli->argv[optind]);
		if (group < 0)
			return EXIT_FAIL;
	}
	r = iov_group_restore(ctx, group, &res);
	if (r < 0)
		return cli_fail(ctx, r, "restoring");
	return print_result(cli, res, "restore");
}
