/* SPDX-License-Identifier: MIT */
/* iovctl sriov: SR-IOV PFs and their VFs; iovctl sriov set: create or remove VFs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "iovkit/sriov.h"
#include "iovkit-internal/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_ctx *, iov_ctx_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_sriov_pf *, iov_sriov_pf_free)

static void print_pf(const struct iov_sriov_pf *pf)
{
	printf("%s  %04x:%04x  %-10s %-12s VFs %u/%u  VF id %04x  autoprobe %s\n", pf->bdf, pf->vendor, pf->device,
	       pf->driver[0] ? pf->driver : "-", pf->netdev[0] ? pf->netdev : "-", pf->numvfs, pf->totalvfs, pf->vf_device,
	       pf->autoprobe ? "on" : "off");
	for (size_t i = 0; i < pf->n_vfs; i++) {
		char group[16] = "-";

		if (pf->vfs[i].iommu_group >= 0)
			snprintf(group, sizeof(group), "%d", pf->vfs[i].iommu_group);
		printf("  VF %-3d %s  %-12s group %s\n", pf->vfs[i].index, pf->vfs[i].bdf,
		       pf->vfs[i].driver[0] ? pf->vfs[i].driver : "-", group);
	}
}

static int sriov_show(struct cli *cli, struct iov_ctx *ctx, const char *only)
{
	char **pfs = NULL;
	json_t *arr = cli->json ? json_array() : NULL;
	int n, r = EXIT_OK;

	if (only) {
		pfs = calloc(2, sizeof(*pfs));
		if (!pfs || !(pfs[0] = strdup(only)))
			return EXIT_FAIL;
		n = 1;
	} else {
		n = iov_sriov_pf_list(ctx, &pfs);
		if (n < 0)
			return cli_fail(ctx, n, "listing SR-IOV PFs");
	}
	if (!cli->json && n == 0)
		printf("No SR-IOV capable devices.\n");
	for (int i = 0; i < n && r == EXIT_OK; i++) {
		_cleanup_(iov_sriov_pf_freep) struct iov_sriov_pf *pf = NULL;
		int e = iov_sriov_pf_get(ctx, pfs[i], &pf);

		if (e < 0) {
			r = cli_fail(ctx, e, pfs[i]);
		} else if (cli->json) {
			json_t *j = NULL;

			if (iov_sriov_pf_json(pf, &j) < 0)
				r = EXIT_FAIL;
			else
				json_array_append_new(arr, j);
		} else {
			print_pf(pf);
		}
	}
	iov_strv_free(pfs);
	if (cli->json) {
		json_t *out = NULL;

		if (r == EXIT_OK)
			out = only ? json_incref(json_array_get(arr, 0)) : json_incref(arr);   /* one PF: the object */
		json_decref(arr);
		return r == EXIT_OK ? cli_print_json(out) : r;
	}
	return r;
}

static int sriov_set(struct cli *cli, struct iov_ctx *ctx)
{
	static const struct option opts[] = {
		{ "numvfs", required_argument, NULL, 'n' },
		{ "vfio", no_argument, NULL, 'v' },
		{ "autoprobe", required_argument, NULL, 'a' },
		CLI_OPT_JSON,
		{ 0 },
	};
	struct iov_sriov_set_opts so = { 0 };
	long numvfs = -1;
	const char *pf;
	char *end;
	int opt, r;

	while ((opt = cli_next_opt(cli, "sriov", opts)) != -1) {
		switch (opt) {
		case 'n':
			numvfs = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || numvfs < 0 || numvfs > 65535)
				return cli_usage("sriov", "--numvfs takes a count from 0 to 65535");
			break;
		case 'v':
			so.vfio = true;
			break;
		case 'a':
			if (!strcmp(optarg, "on"))
				so.autoprobe = IOV_AUTOPROBE_ON;
			else if (!strcmp(optarg, "off"))
				so.autoprobe = IOV_AUTOPROBE_OFF;
			else
				return cli_usage("sriov", "--autoprobe takes on or off");
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (cli->argc - optind != 1 || numvfs < 0)
		return cli_usage("sriov", "set takes a PF and --numvfs N");
	pf = cli->argv[optind];
	if (!cli->json)
		fprintf(stderr, "Setting %ld VF(s) on %s%s...\n", numvfs, pf, so.vfio ? " and binding them to vfio-pci" : "");
	r = iov_sriov_set_numvfs(ctx, pf, (unsigned int)numvfs, &so);
	if (r < 0)
		return cli_fail(ctx, r, pf);
	return sriov_show(cli, ctx, pf);
}

int cmd_sriov(struct cli *cli)
{
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;

	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	/* "sriov set ..." has its own options; "sriov [PF]" only --json. */
	if (cli->argc > 1 && !strcmp(cli->argv[1], "set")) {
		cli->argc--;
		cli->argv++;
		return sriov_set(cli, ctx);
	}
	{
		static const struct option opts[] = { CLI_OPT_JSON, { 0 } };

		if (cli_next_opt(cli, "sriov", opts) != -1)
			return EXIT_USAGE;
		if (cli->argc - optind > 1)
			return cli_usage("sriov", "takes at most one PF");
		return sriov_show(cli, ctx, cli->argc - optind == 1 ? cli->argv[optind] : NULL);
	}
}
