/* SPDX-License-Identifier: MIT */
/*
 * iovctl vgpu: GPUs and their partitions (gpu-vgpu), read through the library on --root like
 * the other host commands: list, mdev types and instances, create and remove instances, MIG
 * as NVML reports it, and the MIG planner.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "iovkit/vgpu.h"
#include "iovkit-internal/macro.h"

static const char *mech_names(unsigned int m, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s", m & IOV_VGPU_MDEV ? "mdev " : "", m & IOV_VGPU_SRIOV ? "sriov " : "",
		 m & IOV_VGPU_VF_TYPES ? "vf-vgpu-types " : "", m ? "" : "whole-device");
	return buf;
}

static int vgpu_list(struct cli *cli, struct iov_ctx *ctx)
{
	struct iov_gpu *g = NULL;
	json_t *arr = cli->json ? json_array() : NULL;
	int n = iov_gpu_list(ctx, &g);

	if (n < 0)
		return cli_fail(ctx, n, "listing GPUs");
	if (!cli->json)
		printf("%-12s %-9s %-14s %5s %-24s %s\n", "BDF", "ID", "DRIVER", "GROUP", "SPLIT BY", "WITH");
	for (int i = 0; i < n; i++) {
		char mech[64], grp[16];

		if (cli->json) {
			json_t *j = NULL;

			if (iov_gpu_json(&g[i], &j) == 0)
				json_array_append_new(arr, j);
			continue;
		}
		snprintf(grp, sizeof(grp), "%d", g[i].iommu_group);
		printf("%-12s %04x:%04x %-14s %5s %-24s", g[i].bdf, g[i].vendor, g[i].device,
		       g[i].driver[0] ? g[i].driver : "-", g[i].iommu_group >= 0 ? grp : "-",
		       mech_names(g[i].mechanisms, mech, sizeof(mech)));
		for (size_t k = 0; k < g[i].n_companions; k++)
			printf("%s%s", k ? " " : "", g[i].companions[k]);
		printf("%s%s%s\n", g[i].boot_vga ? " (boot display)" : "", g[i].is_vf ? " VF of " : "", g[i].is_vf ? g[i].pf : "");
	}
	if (!cli->json && n == 0)
		printf("No GPUs.\n");
	free(g);
	return cli->json ? cli_print_json(arr) : EXIT_OK;
}

static int vgpu_types(struct cli *cli, struct iov_ctx *ctx, const char *parent)
{
	struct iov_mdev_type *t = NULL;
	json_t *arr = cli->json ? json_array() : NULL;
	int n = iov_mdev_types(ctx, parent, &t);

	if (n < 0)
		return cli_fail(ctx, n, parent ? parent : "mdev types");
	if (!cli->json)
		printf("%-12s %-20s %-24s %9s %s\n", "PARENT", "TYPE", "NAME", "AVAILABLE", "INSTANCES");
	for (int i = 0; i < n; i++) {
		if (cli->json) {
			json_t *j = NULL;

			if (iov_mdev_type_json(&t[i], &j) == 0)
				json_array_append_new(arr, j);
			continue;
		}
		printf("%-12s %-20s %-24s %9d %zu\n", t[i].parent, t[i].id, t[i].name[0] ? t[i].name : "-", t[i].available,
		       t[i].n_instances);
	}
	if (!cli->json && n == 0)
		printf("No mdev types: no device here offers mediated devices.\n");
	iov_mdev_types_free(t, (size_t)n);
	return cli->json ? cli_print_json(arr) : EXIT_OK;
}

static int vgpu_instances(struct cli *cli, struct iov_ctx *ctx)
{
	struct iov_mdev *m = NULL;
	json_t *arr = cli->json ? json_array() : NULL;
	int n = iov_mdev_list(ctx, &m);

	if (n < 0)
		return cli_fail(ctx, n, "mdev instances");
	if (!cli->json)
		printf("%-36s  %-12s %-20s %5s\n", "UUID", "PARENT", "TYPE", "GROUP");
	for (int i = 0; i < n; i++) {
		json_t *j = NULL;

		if (!cli->json)
			printf("%-36s  %-12s %-20s %5d\n", m[i].uuid, m[i].parent, m[i].type, m[i].iommu_group);
		else if (iov_mdev_json(&m[i], &j) == 0)
			json_array_append_new(arr, j);
	}
	free(m);
	return cli->json ? cli_print_json(arr) : EXIT_OK;
}

/*
 * NVML's report (MIG, the vGPU scheduler) into *@ret for a person to read: returns -1 then;
 * otherwise the exit status, everything done here (a failure said, or --json printed).
 */
static int nvml_query(struct cli *cli, int (*report)(const char *, json_t **, char *, size_t), const char *what,
		      json_t **ret)
{
	char why[512] = "";

	if (report(getenv("IOVKIT_NVML_LIBRARY"), ret, why, sizeof(why)) < 0) {
		cli_error("%s: %s", what, why);
		return EXIT_FAIL;
	}
	return cli->json ? cli_print_json(*ret) : -1;
}

static int vgpu_sched(struct cli *cli)
{
	json_t *gpus = NULL, *g;
	size_t i;
	int r = nvml_query(cli, iov_nvml_sched, "vGPU scheduler", &gpus);

	if (r >= 0)
		return r;
	json_array_foreach(gpus, i, g) {
		json_t *caps = json_object_get(g, "capabilities"), *p;
		size_t k;

		printf("GPU %" JSON_INTEGER_FORMAT ": %s: ", cli_num(g, "index"), cli_str(g, "name"));
		if (!json_is_true(json_object_get(g, "supported"))) {
			printf("%s\n", cli_str(g, "reason"));
			continue;
		}
		printf("%s, ARR %s, time slice %.3f ms", cli_str(g, "policy"), cli_str(g, "arr"),
		       (double)cli_num(g, "timeslice_ns") / 1e6);
		if (cli_num(g, "avg_factor"))
			printf(", averaging factor %" JSON_INTEGER_FORMAT, cli_num(g, "avg_factor"));
		printf("\n  offers:");
		json_array_foreach(json_object_get(caps, "policies"), k, p)
			printf(" %s", json_string_value(p));
		printf("; time slices %.3f-%.3f ms",
		       (double)cli_num(json_object_get(caps, "timeslice_ns"), "min") / 1e6,
		       (double)cli_num(json_object_get(caps, "timeslice_ns"), "max") / 1e6);
		if (json_is_true(json_object_get(caps, "arr_supported")))
			printf("; ARR frequency %" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT ", averaging factor %"
			       JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT, cli_num(json_object_get(caps, "frequency"), "min"),
			       cli_num(json_object_get(caps, "frequency"), "max"),
			       cli_num(json_object_get(caps, "avg_factor"), "min"),
			       cli_num(json_object_get(caps, "avg_factor"), "max"));
		printf("\n");
	}
	if (json_array_size(gpus) == 0)
		printf("No NVIDIA GPUs.\n");
	json_decref(gpus);
	return EXIT_OK;
}

static int vgpu_sched_set(struct cli *cli, char **args, const struct iov_vgpu_sched_request *opts)
{
	struct iov_vgpu_sched_request req = *opts;
	unsigned long index;
	char why[512] = "";
	int r;

	if (cli_number(args[0], 10, 64, &index) < 0)
		return cli_usage("vgpu", "sched-set: INDEX is a GPU's number as 'iovctl vgpu sched' shows it");
	req.policy = iov_vgpu_sched_policy_parse(args[1]);
	if (req.policy < 0)
		return cli_usage("vgpu", "sched-set: POLICY is best-effort, equal-share or fixed-share");
	r = iov_nvml_sched_set(getenv("IOVKIT_NVML_LIBRARY"), (unsigned int)index, &req, why, sizeof(why));
	if (r < 0) {
		cli_error("vGPU scheduler: %s", why);
		return EXIT_FAIL;
	}
	if (cli->json)
		return cli_print_json(json_pack("{s:i,s:s,s:b}", "index", (int)index, "policy", args[1], "arr", req.arr));
	printf("GPU %lu: %s%s\n", index, args[1], req.arr ? " with adaptive round robin" : "");
	return EXIT_OK;
}

static int vgpu_mig(struct cli *cli)
{
	json_t *gpus = NULL, *g, *p;
	size_t i, k;
	int r = nvml_query(cli, iov_nvml_mig, "MIG", &gpus);

	if (r >= 0)
		return r;
	json_array_foreach(gpus, i, g) {
		json_t *mode = json_object_get(g, "mig_mode");

		printf("GPU %zu: %s, MIG %s\n", i, json_string_value(json_object_get(g, "name")),
		       !json_is_object(mode) ? "not supported" :
		       json_is_true(json_object_get(mode, "current")) ? "enabled" : "disabled");
		json_array_foreach(json_object_get(g, "profiles"), k, p)
			printf("  profile %-10s %" JSON_INTEGER_FORMAT " compute, %" JSON_INTEGER_FORMAT
			       " memory slices, up to %" JSON_INTEGER_FORMAT "\n",
			       json_string_value(json_object_get(p, "name")), json_integer_value(json_object_get(p, "compute")),
			       json_integer_value(json_object_get(p, "size")),
			       json_integer_value(json_object_get(p, "max_instances")));
		json_array_foreach(json_object_get(g, "gpu_instances"), k, p)
			printf("  instance %" JSON_INTEGER_FORMAT ": %s at slice %" JSON_INTEGER_FORMAT "\n",
			       json_integer_value(json_object_get(p, "id")), json_string_value(json_object_get(p, "profile")),
			       json_integer_value(json_object_get(p, "start")));
	}
	json_decref(gpus);
	return EXIT_OK;
}

/* plan MODEL PROFILE... [--existing PROFILE@START]... */
static int vgpu_plan(struct cli *cli, char **args, int nargs, json_t *existing)
{
	const struct iov_mig_gpu *gpu;
	struct iov_mig_placement have[IOV_MIG_MAX_INSTANCES], out[IOV_MIG_MAX_INSTANCES * 2];
	unsigned int add[IOV_MIG_MAX_INSTANCES], moved = 0;
	_cleanup_(json_decrefp) json_t *names = json_array();
	json_t *layout, *x;
	char why[512] = "";
	size_t i, n_have = 0;
	int n;

	if (nargs < 2)
		return cli_usage("vgpu", "plan takes a GPU model and one or more profiles");
	gpu = iov_mig_table(args[0]);
	if (!gpu) {
		cli_error("vgpu plan: no MIG table for \"%s\" (A100-40GB, A100-80GB, H100-80GB, H200-141GB)", args[0]);
		return EXIT_USAGE;
	}
	for (int a = 1; a < nargs; a++)
		json_array_append_new(names, json_string(args[a]));
	n = iov_mig_request_parse(gpu, names, add, IOV_MIG_MAX_INSTANCES, why, sizeof(why));
	if (n < 0) {
		cli_error("vgpu plan: %s", why);
		return EXIT_USAGE;
	}
	json_array_foreach(existing, i, x) {
		const char *spec = json_string_value(x), *at = strchr(spec, '@');
		char prof[32];
		unsigned long start;
		int k;

		snprintf(prof, sizeof(prof), "%.*s", at ? (int)(at - spec) : 0, spec);
		k = iov_mig_profile_find(gpu, prof);
		if (!at || k < 0 || cli_number(at + 1, 10, 7, &start) < 0 || n_have == IOV_MIG_MAX_INSTANCES) {
			cli_error("vgpu plan: --existing %s: PROFILE@START, a profile of the %s and a slice 0-7", spec, gpu->model);
			return EXIT_USAGE;
		}
		have[n_have++] = (struct iov_mig_placement){ (unsigned int)k, (unsigned int)start };
	}
	if (iov_mig_plan_change(gpu, have, n_have, add, (size_t)n, out, &moved, why, sizeof(why)) < 0) {
		cli_error("vgpu plan: %s", why);
		return EXIT_FAIL;
	}
	layout = iov_mig_layout_json(gpu, out, n_have + (size_t)n);
	if (cli->json)
		return cli_print_json(json_pack("{s:s,s:o,s:i}", "gpu", gpu->model, "layout", layout, "moved", moved));
	printf("%s: %u compute x %u memory slices\n", gpu->model, gpu->compute_slices, gpu->memory_slices);
	json_array_foreach(layout, i, x) {
		unsigned int start = (unsigned int)json_integer_value(json_object_get(x, "start"));
		unsigned int size = (unsigned int)json_integer_value(json_object_get(x, "size"));

		printf("  %-10s slices %u-%u %s\n", json_string_value(json_object_get(x, "profile")), start, start + size - 1,
		       i < n_have ? (out[i].start != have[i].start ? "(moved)" : "(stays)") : "(new)");
	}
	if (n_have)
		printf("%u existing instance%s to move\n", moved, moved == 1 ? "" : "s");
	json_decref(layout);
	return EXIT_OK;
}

enum { OPT_UUID = 1300, OPT_EXISTING, OPT_NO_AUTOSTART, OPT_TIMESLICE, OPT_ARR, OPT_FREQUENCY, OPT_AVG_FACTOR };

int cmd_vgpu(struct cli *cli)
{
	static const struct option opts[] = {
		{ "uuid", required_argument, NULL, OPT_UUID },
		{ "existing", required_argument, NULL, OPT_EXISTING },
		{ "no-autostart", no_argument, NULL, OPT_NO_AUTOSTART },
		{ "timeslice-us", required_argument, NULL, OPT_TIMESLICE },
		{ "arr", no_argument, NULL, OPT_ARR },
		{ "frequency", required_argument, NULL, OPT_FREQUENCY },
		{ "avg-factor", required_argument, NULL, OPT_AVG_FACTOR },
		CLI_OPT_JSON,
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;
	_cleanup_(json_decrefp) json_t *existing = json_array();
	const char *uuid = NULL, *sub;
	struct iov_vgpu_sched_request sched = { 0 };
	bool no_autostart = false;
	unsigned long v;
	char **args;
	int opt, nargs;

	while ((opt = cli_next_opt(cli, "vgpu", opts)) != -1) {
		if (opt == OPT_UUID)
			uuid = optarg;
		else if (opt == OPT_EXISTING)
			json_array_append_new(existing, json_string(optarg));
		else if (opt == OPT_NO_AUTOSTART)
			no_autostart = true;
		else if (opt == OPT_ARR)
			sched.arr = true;
		else if (opt == OPT_TIMESLICE || opt == OPT_FREQUENCY || opt == OPT_AVG_FACTOR) {
			if (cli_number(optarg, 10, opt == OPT_TIMESLICE ? 4000000 : 100000, &v) < 0)
				return cli_usage("vgpu", opt == OPT_TIMESLICE ? "--timeslice-us: microseconds, up to 4000000"
									    : "--frequency, --avg-factor: a number up to 100000");
			if (opt == OPT_TIMESLICE)
				sched.timeslice_ns = (unsigned int)v * 1000u;
			else if (opt == OPT_FREQUENCY)
				sched.frequency = (unsigned int)v;
			else
				sched.avg_factor = (unsigned int)v;
		}
		else
			return EXIT_USAGE;
	}
	sub = optind < cli->argc ? cli->argv[optind++] : "list";
	args = cli->argv + optind;
	nargs = cli->argc - optind;
	if (!strcmp(sub, "plan"))
		return vgpu_plan(cli, args, nargs, existing);
	if (!strcmp(sub, "mig") && nargs == 0)
		return vgpu_mig(cli);
	if (!strcmp(sub, "sched") && nargs == 0)
		return vgpu_sched(cli);
	if (!strcmp(sub, "sched-set") && nargs == 2)
		return vgpu_sched_set(cli, args, &sched);
	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	if (!strcmp(sub, "list") && nargs == 0)
		return vgpu_list(cli, ctx);
	if (!strcmp(sub, "types") && nargs <= 1)
		return vgpu_types(cli, ctx, nargs ? args[0] : NULL);
	if (!strcmp(sub, "instances") && nargs == 0)
		return vgpu_instances(cli, ctx);
	if (!strcmp(sub, "create") && nargs == 2) {
		char got[IOV_UUID_LEN];
		int r = iov_mdev_create(ctx, args[0], args[1], uuid, got);

		if (r < 0)
			return cli_fail(ctx, r, "creating an mdev");
		if (cli->json)
			return cli_print_json(json_pack("{s:s,s:s,s:s}", "uuid", got, "parent", args[0], "type", args[1]));
		printf("%s\n", got);
		return EXIT_OK;
	}
	if (!strcmp(sub, "define") && nargs == 2) {
		char got[IOV_UUID_LEN];
		int r = iov_mdev_define(ctx, args[0], args[1], uuid, !no_autostart, got);

		if (r < 0)
			return cli_fail(ctx, r, "defining an mdev");
		if (cli->json)
			return cli_print_json(json_pack("{s:s,s:s,s:s,s:b}", "uuid", got, "parent", args[0], "type", args[1],
							"autostart", !no_autostart));
		printf("%s\n", got);
		return EXIT_OK;
	}
	if (!strcmp(sub, "undefine") && nargs == 1) {
		int r = iov_mdev_undefine(ctx, args[0]);

		return r < 0 ? cli_fail(ctx, r, "undefining an mdev") : EXIT_OK;
	}
	if (!strcmp(sub, "definitions") && nargs == 0) {
		json_t *defs = NULL, *x;
		size_t i;
		int r = iov_mdev_definitions(ctx, &defs);

		if (r < 0)
			return cli_fail(ctx, r, "reading the mdev definitions");
		if (cli->json)
			return cli_print_json(defs);
		printf("%-36s  %-12s %-20s %-9s %s\n", "UUID", "PARENT", "TYPE", "AUTOSTART", "EXISTS");
		json_array_foreach(defs, i, x)
			printf("%-36s  %-12s %-20s %-9s %s\n", json_string_value(json_object_get(x, "uuid")),
			       json_string_value(json_object_get(x, "parent")), json_string_value(json_object_get(x, "type")),
			       json_is_true(json_object_get(x, "autostart")) ? "yes" : "no",
			       json_is_true(json_object_get(x, "exists")) ? "yes" : "no");
		json_decref(defs);
		return EXIT_OK;
	}
	if (!strcmp(sub, "start-defined") && nargs == 0) {
		json_t *report = NULL;
		int r = iov_mdev_start_defined(ctx, &report);

		if (cli->json) {
			cli_print_json(report);
		} else {
			json_t *x;
			size_t i;

			json_array_foreach(report, i, x)
				printf("%s: %s\n", json_string_value(json_object_get(x, "uuid")),
				       json_is_string(json_object_get(x, "error")) ? json_string_value(json_object_get(x, "error"))
										 : "created");
			json_decref(report);
		}
		return r < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (!strcmp(sub, "vf-type") && nargs == 2) {
		int r;

		if (cli_number(args[1], 10, UINT32_MAX, &v) < 0)
			return cli_usage("vgpu", "vf-type: TYPE is a vGPU type ID the VF lists, or 0 for none");
		r = iov_gpu_vf_type_set(ctx, args[0], (unsigned int)v);
		if (r < 0)
			return cli_fail(ctx, r, "setting the VF's vGPU type");
		if (cli->json)
			return cli_print_json(json_pack("{s:s,s:I}", "bdf", args[0], "type", (json_int_t)v));
		return EXIT_OK;
	}
	if (!strcmp(sub, "remove") && nargs == 1) {
		int r = iov_mdev_remove(ctx, args[0]);

		return r < 0 ? cli_fail(ctx, r, "removing an mdev") : EXIT_OK;
	}
	return cli_usage("vgpu", "unknown subcommand or wrong number of arguments");
}
