/* SPDX-License-Identifier: MIT */
/* iovctl pool: named VF pools; allocation of a VF to a consumer and its release (reset first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "iovkit/sriov.h"
#include "iovkit-internal/macro.h"


static int pool_list(struct cli *cli, struct iov_ctx *ctx)
{
	json_t *pools = NULL, *p;
	const char *name;
	int r = iov_pool_list(ctx, &pools);

	if (r < 0)
		return cli_fail(ctx, r, "reading the pools");
	if (cli->json)
		return cli_print_json(pools);
	if (!json_object_size(pools))
		printf("No pools (iovctl pool define NAME ...).\n");
	json_object_foreach(pools, name, p) {
		_cleanup_free_ char *sel = json_dumps(json_object_get(p, "select"), JSON_COMPACT | JSON_SORT_KEYS);
		json_t *alloc = json_object_get(p, "allocated"), *bdf;
		size_t i;

		printf("%s: %zu VF(s), %lld free; select %s%s\n", name, json_array_size(json_object_get(p, "members")),
		       (long long)json_integer_value(json_object_get(p, "free")), sel ? sel : "?",
		       json_is_null(json_object_get(p, "defaults")) ? "" : "; custom release defaults");
		json_array_foreach(json_object_get(p, "members"), i, bdf) {
			json_t *who = json_object_get(alloc, json_string_value(bdf));

			printf("  %s  %s\n", json_string_value(bdf), who ? json_string_value(who) : "free");
		}
	}
	json_decref(pools);
	return EXIT_OK;
}

/* A 16-bit PCI ID in hex ("8086", "0x154c"), as the selectors store it: four lower-case digits. */
static int pci_id(const char *arg, char out[8])
{
	unsigned long v;

	if (cli_number(arg, 16, 0xffff, &v) < 0)
		return -1;
	snprintf(out, 8, "%04lx", v);
	return 0;
}

static int pool_define(struct cli *cli, struct iov_ctx *ctx)
{
	static const struct option opts[] = {
		{ "vendor", required_argument, NULL, 'v' },
		{ "device", required_argument, NULL, 'd' },
		{ "driver", required_argument, NULL, 'D' },
		{ "pf", required_argument, NULL, 'p' },
		{ "pf-netdev", required_argument, NULL, 'n' },
		{ "link-type", required_argument, NULL, 'l' },
		{ "rdma", required_argument, NULL, 'r' },
		{ "defaults", required_argument, NULL, 'f' },
		CLI_OPT_JSON,
		{ 0 },
	};
	_cleanup_(json_decrefp) json_t *sel = json_object(), *defaults = NULL;
	char id[8], bdf[IOV_BDF_LEN];
	json_error_t err;
	int opt, r;

	if (!sel)
		return EXIT_FAIL;
	while ((opt = cli_next_opt(cli, "pool", opts)) != -1) {
		switch (opt) {
		case 'v':
		case 'd':
			if (pci_id(optarg, id) < 0)
				return cli_usage("pool", "--vendor and --device take a hex ID (8086, 154c)");
			json_object_set_new(sel, opt == 'v' ? "vendor" : "device", json_string(id));
			break;
		case 'p':
			if (iov_pci_bdf_parse(optarg, bdf) < 0)
				return cli_usage("pool", "--pf takes a PCI address");
			json_object_set_new(sel, "pf", json_string(bdf));
			break;
		case 'D':
		case 'n':
		case 'l':
			json_object_set_new(sel, opt == 'D' ? "driver" : opt == 'n' ? "pf_netdev" : "link_type", json_string(optarg));
			break;
		case 'r':
			if (strcmp(optarg, "yes") && strcmp(optarg, "no"))
				return cli_usage("pool", "--rdma takes yes or no");
			json_object_set_new(sel, "rdma", json_boolean(!strcmp(optarg, "yes")));
			break;
		case 'f':
			json_decref(defaults);
			defaults = json_loads(optarg, 0, &err);
			if (!defaults) {
				cli_error("--defaults: %s", err.text);
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (cli->argc - optind != 1)
		return cli_usage("pool", "define takes a pool name and its selectors");
	r = iov_pool_define(ctx, cli->argv[optind], sel, defaults);
	if (r < 0)
		return cli_fail(ctx, r, cli->argv[optind]);
	return pool_list(cli, ctx);
}

int cmd_pool(struct cli *cli)
{
	static const struct option opts[] = { CLI_OPT_JSON, { 0 } };
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;
	const char *verb = cli->argc > 1 ? cli->argv[1] : "list";
	char bdf[IOV_BDF_LEN];
	int r;

	if (strcmp(verb, "list") && strcmp(verb, "define") && strcmp(verb, "delete") && strcmp(verb, "alloc") &&
	    strcmp(verb, "release") && strcmp(verb, "--json"))
		return cli_usage("pool", "list, define, delete, alloc or release?");
	if (cli->argc > 1 && strcmp(verb, "--json")) {
		cli->argc--;
		cli->argv++;
	}
	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	if (!strcmp(verb, "define"))
		return pool_define(cli, ctx);
	if (cli_next_opt(cli, "pool", opts) != -1)
		return EXIT_USAGE;
	if (!strcmp(verb, "list") || !strcmp(verb, "--json")) {
		if (cli->argc != optind)
			return cli_usage("pool", "list takes no arguments");
		return pool_list(cli, ctx);
	}
	if (!strcmp(verb, "delete")) {
		if (cli->argc - optind != 1)
			return cli_usage("pool", "delete takes a pool name");
		r = iov_pool_delete(ctx, cli->argv[optind]);
		if (r < 0)
			return cli_fail(ctx, r, cli->argv[optind]);
		return cli->json ? cli_print_json(json_pack("{s:s}", "deleted", cli->argv[optind])) : EXIT_OK;
	}
	if (!strcmp(verb, "alloc")) {
		if (cli->argc - optind != 2)
			return cli_usage("pool", "alloc takes a pool name and a consumer (a VM's name, say)");
		r = iov_pool_alloc(ctx, cli->argv[optind], cli->argv[optind + 1], bdf);
		if (r < 0)
			return cli_fail(ctx, r, cli->argv[optind]);
		if (cli->json)
			return cli_print_json(json_pack("{s:s,s:s,s:s}", "pool", cli->argv[optind], "consumer",
							cli->argv[optind + 1], "vf", bdf));
		printf("%s\n", bdf);   /* alone on its line, for $(iovctl pool alloc ...) */
		return EXIT_OK;
	}
	/* release */
	if (cli->argc - optind != 1)
		return cli_usage("pool", "release takes the VF's PCI address");
	r = iov_pool_release(ctx, cli->argv[optind]);
	if (r < 0)
		return cli_fail(ctx, r, cli->argv[optind]);
	return cli->json ? cli_print_json(json_pack("{s:s}", "released", cli->argv[optind])) : EXIT_OK;
}
