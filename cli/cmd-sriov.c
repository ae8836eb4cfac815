/* SPDX-License-Identifier: MIT */
/* iovctl sriov: SR-IOV PFs and their VFs; iovctl sriov set: create or remove VFs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "iovkit-internal/test-hooks.h"
#include "iovkit/sriov.h"
#include "iovkit-internal/macro.h"

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
	struct iov_sriov_set_opts so = { .progress = iov_test_sriov_progress };  /* test hooks only */
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

/* sriov apply FILE|-: a declarative configuration (docs/sriov.md). */
static int sriov_apply(struct cli *cli, struct iov_ctx *ctx)
{
	static const struct option opts[] = { CLI_OPT_JSON, { 0 } };
	json_error_t err;
	json_t *cfg, *report = NULL;
	int r;

	if (cli_next_opt(cli, "sriov", opts) != -1)
		return EXIT_USAGE;
	if (cli->argc - optind != 1)
		return cli_usage("sriov", "apply takes a configuration file (or - for standard input)");
	cfg = strcmp(cli->argv[optind], "-") ? json_load_file(cli->argv[optind], 0, &err) : json_loadf(stdin, 0, &err);
	if (!cfg) {
		cli_error("%s: line %d: %s", cli->argv[optind], err.line, err.text);
		return EXIT_FAIL;
	}
	r = iov_sriov_config_apply(ctx, cfg, &report);
	json_decref(cfg);
	if (r < 0)
		return cli_fail(ctx, r, "applying the configuration");
	if (cli->json)
		return cli_print_json(report);
	if (!json_array_size(report))
		printf("Nothing to change: every PF is as configured.\n");
	for (size_t i = 0; i < json_array_size(report); i++) {
		json_t *e = json_array_get(report, i);

		printf("%s: %lld VF(s)%s%s\n", json_string_value(json_object_get(e, "pf")),
		       (long long)json_integer_value(json_object_get(e, "numvfs")),
		       json_is_true(json_object_get(e, "vfio")) ? " on vfio-pci" : "",
		       json_integer_value(json_object_get(e, "vfs")) ? ", VF settings applied" : "");
	}
	json_decref(report);
	return EXIT_OK;
}

int cmd_sriov(struct cli *cli)
{
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;

	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	/* "sriov set|apply|save ..." have their own arguments; "sriov [PF]" only --json. */
	if (cli->argc > 1 && !strcmp(cli->argv[1], "set")) {
		cli->argc--;
		cli->argv++;
		return sriov_set(cli, ctx);
	}
	if (cli->argc > 1 && !strcmp(cli->argv[1], "apply")) {
		cli->argc--;
		cli->argv++;
		return sriov_apply(cli, ctx);
	}
	if (cli->argc >= 2 && !strcmp(cli->argv[1], "recover")) {
		static const struct option opts[] = { CLI_OPT_JSON, { 0 } };
		json_t *report = NULL;
		int r;

		cli->argc--;
		cli->argv++;
		if (cli_next_opt(cli, "sriov", opts) != -1)
			return EXIT_USAGE;
		if (cli->argc != optind)
			return cli_usage("sriov", "recover takes no arguments");
		r = iov_sriov_recover(ctx, &report);
		if (cli->json && report)
			cli_print_json(json_incref(report));
		else if (!json_array_size(report) && r == 0)
			printf("No interrupted SR-IOV change.\n");
		for (size_t i = 0; !cli->json && i < json_array_size(report); i++) {
			json_t *e = json_array_get(report, i);

			if (json_is_null(json_object_get(e, "error")))
				printf("%s: finished the change to %lld VF(s)\n", json_string_value(json_object_get(e, "pf")),
				       (long long)json_integer_value(json_object_get(e, "numvfs")));
		}
		json_decref(report);
		return r < 0 ? cli_fail(ctx, r, "recovering") : EXIT_OK;
	}
	if (cli->argc == 2 && !strcmp(cli->argv[1], "save")) {
		json_t *cfg = NULL;
		int r = iov_sriov_config_save(ctx, &cfg);

		return r < 0 ? cli_fail(ctx, r, "reading the SR-IOV state") : cli_print_json(cfg);
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

/* ---- iovctl vf ---- */

/* A PF given as an interface name, or as a PCI address meaning its first interface. */
static int pf_netdev(struct iov_ctx *ctx, const char *arg, char *out, size_t size)
{
	int r = iov_vf_pf_netdev(ctx, arg, out, size);

	if (r < 0)
		cli_error("%s", iov_ctx_reason(ctx));
	return r;
}

static const char *link_state_name(enum iov_vf_link_state s)
{
	return s == IOV_VF_LINK_ENABLE ? "enable" : s == IOV_VF_LINK_DISABLE ? "disable" : "auto";
}

static int on_off(const char *v, bool *out)
{
	if (!strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "off"))
		*out = false;
	else
		return -1;
	return 0;
}

static int vf_show(struct cli *cli, struct iov_ctx *ctx, const char *pf, unsigned int vf)
{
	struct iov_vf_settings s;
	char mac[18];
	int r = iov_vf_get(ctx, pf, vf, &s);

	if (r < 0)
		return cli_fail(ctx, r, pf);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", s.mac[0], s.mac[1], s.mac[2], s.mac[3], s.mac[4], s.mac[5]);
	if (cli->json) {
		json_t *j = json_pack("{s:s,s:i}", "pf", pf, "vf", vf);

		if (s.fields & IOV_VF_SET_MAC)
			json_object_set_new(j, "mac", json_string(mac));
		if (s.fields & IOV_VF_SET_VLAN)
			json_object_set_new(j, "vlan", json_pack("{s:i,s:i,s:s}", "id", s.vlan, "qos", s.qos, "proto",
								 s.vlan_proto == 0x88a8 ? "802.1ad" : "802.1Q"));
		if (s.fields & IOV_VF_SET_SPOOFCHK)
			json_object_set_new(j, "spoofchk", json_boolean(s.spoofchk));
		if (s.fields & IOV_VF_SET_TRUST)
			json_object_set_new(j, "trust", json_boolean(s.trust));
		if (s.fields & IOV_VF_SET_LINK_STATE)
			json_object_set_new(j, "link_state", json_string(link_state_name(s.link_state)));
		if (s.fields & IOV_VF_SET_RATE)
			json_object_set_new(j, "rate", json_pack("{s:i,s:i}", "min_mbps", s.min_tx_rate, "max_mbps", s.max_tx_rate));
		return cli_print_json(j);
	}
	printf("%s VF %u:", pf, vf);
	if (s.fields & IOV_VF_SET_MAC)
		printf(" mac %s", mac);
	if (s.fields & IOV_VF_SET_VLAN)
		printf(" vlan %u qos %u %s", s.vlan, s.qos, s.vlan_proto == 0x88a8 ? "802.1ad" : "802.1Q");
	if (s.fields & IOV_VF_SET_SPOOFCHK)
		printf(" spoofchk %s", s.spoofchk ? "on" : "off");
	if (s.fields & IOV_VF_SET_TRUST)
		printf(" trust %s", s.trust ? "on" : "off");
	if (s.fields & IOV_VF_SET_LINK_STATE)
		printf(" link-state %s", link_state_name(s.link_state));
	if (s.fields & IOV_VF_SET_RATE)
		printf(" rate %u-%u Mbit/s", s.min_tx_rate, s.max_tx_rate);
	printf("\n");
	return EXIT_OK;
}

int cmd_vf(struct cli *cli)
{
	static const struct option opts[] = {
		{ "mac", required_argument, NULL, 'm' },
		{ "vlan", required_argument, NULL, 'v' },
		{ "qos", required_argument, NULL, 'q' },
		{ "vlan-proto", required_argument, NULL, 'p' },
		{ "spoofchk", required_argument, NULL, 's' },
		{ "trust", required_argument, NULL, 't' },
		{ "link-state", required_argument, NULL, 'l' },
		{ "min-rate", required_argument, NULL, 'n' },
		{ "max-rate", required_argument, NULL, 'x' },
		CLI_OPT_JSON,
		{ 0 },
	};
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;
	struct iov_vf_settings s = { 0 };
	unsigned long v, vf;
	char pf[64];
	bool set;
	int opt, r;

	if (cli->argc < 2 || (strcmp(cli->argv[1], "show") && strcmp(cli->argv[1], "set")))
		return cli_usage("vf", "show or set?");
	set = !strcmp(cli->argv[1], "set");
	cli->argc--;
	cli->argv++;
	while ((opt = cli_next_opt(cli, "vf", set ? opts : opts + 9)) != -1) {
		switch (opt) {
		case 'm':
			if (iov_vf_mac_parse(optarg, s.mac) < 0)
				return cli_usage("vf", "--mac takes aa:bb:cc:dd:ee:ff");
			s.fields |= IOV_VF_SET_MAC;
			break;
		case 'v':
			if (cli_number(optarg, 10, 65535, &v) < 0)
				return cli_usage("vf", "--vlan takes a number");
			s.vlan = (uint16_t)v;
			s.fields |= IOV_VF_SET_VLAN;
			break;
		case 'q':
			if (cli_number(optarg, 10, 255, &v) < 0)
				return cli_usage("vf", "--qos takes a number");
			s.qos = (uint8_t)v;
			break;
		case 'p':
			if (strcmp(optarg, "802.1Q") && strcmp(optarg, "802.1ad"))
				return cli_usage("vf", "--vlan-proto takes 802.1Q or 802.1ad");
			s.vlan_proto = strcmp(optarg, "802.1ad") ? 0x8100 : 0x88a8;
			break;
		case 's':
			if (on_off(optarg, &s.spoofchk) < 0)
				return cli_usage("vf", "--spoofchk takes on or off");
			s.fields |= IOV_VF_SET_SPOOFCHK;
			break;
		case 't':
			if (on_off(optarg, &s.trust) < 0)
				return cli_usage("vf", "--trust takes on or off");
			s.fields |= IOV_VF_SET_TRUST;
			break;
		case 'l':
			if (!strcmp(optarg, "auto"))
				s.link_state = IOV_VF_LINK_AUTO;
			else if (!strcmp(optarg, "enable"))
				s.link_state = IOV_VF_LINK_ENABLE;
			else if (!strcmp(optarg, "disable"))
				s.link_state = IOV_VF_LINK_DISABLE;
			else
				return cli_usage("vf", "--link-state takes auto, enable or disable");
			s.fields |= IOV_VF_SET_LINK_STATE;
			break;
		case 'n':
		case 'x':
			if (cli_number(optarg, 10, UINT32_MAX, &v) < 0)
				return cli_usage("vf", "rates are in Mbit/s");
			*(opt == 'n' ? &s.min_tx_rate : &s.max_tx_rate) = (uint32_t)v;
			s.fields |= IOV_VF_SET_RATE;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (cli->argc - optind != 2 || cli_number(cli->argv[optind + 1], 10, 65535, &vf) < 0)
		return cli_usage("vf", "takes a PF (interface or PCI address) and a VF index");
	if ((s.qos || s.vlan_proto) && !(s.fields & IOV_VF_SET_VLAN))
		return cli_usage("vf", "--qos and --vlan-proto go with --vlan");
	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	if (pf_netdev(ctx, cli->argv[optind], pf, sizeof(pf)) < 0)
		return EXIT_FAIL;
	if (!set)
		return vf_show(cli, ctx, pf, (unsigned int)vf);
	if (!s.fields)
		return cli_usage("vf", "set needs at least one setting");
	r = iov_vf_set(ctx, pf, (unsigned int)vf, &s);
	if (r < 0)
		return cli_fail(ctx, r, pf);
	return vf_show(cli, ctx, pf, (unsigned int)vf);
}

/* ---- iovctl rdma ---- */

int cmd_rdma(struct cli *cli)
{
	static const struct option opts[] = { CLI_OPT_JSON, { 0 } };
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;
	_cleanup_free_ struct iov_rdma_dev *devs = NULL;
	json_t *arr;
	int n;

	if (cli_next_opt(cli, "rdma", opts) != -1)
		return EXIT_USAGE;
	if (cli->argc != optind)
		return cli_usage("rdma", "takes no arguments");
	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	n = iov_rdma_list(ctx, &devs);
	if (n < 0)
		return cli_fail(ctx, n, "listing RDMA devices");
	if (!cli->json) {
		if (!n)
			printf("No RDMA devices.\n");
		for (int i = 0; i < n; i++)
			printf("%-12s %-12s %-14s %-10s %-10s node GUID %04x:%04x:%04x:%04x%s\n", devs[i].name,
			       devs[i].bdf[0] ? devs[i].bdf : "-", devs[i].netdev[0] ? devs[i].netdev : "-",
			       devs[i].link_layer[0] ? devs[i].link_layer : "-", devs[i].state[0] ? devs[i].state : "-",
			       (unsigned int)(devs[i].node_guid >> 48), (unsigned int)(devs[i].node_guid >> 32) & 0xffff,
			       (unsigned int)(devs[i].node_guid >> 16) & 0xffff, (unsigned int)devs[i].node_guid & 0xffff,
			       devs[i].soft ? " (software, on its netdev)" : "");
		return EXIT_OK;
	}
	arr = json_array();
	for (int i = 0; i < n; i++) {
		char guid[24];

		snprintf(guid, sizeof(guid), "%04x:%04x:%04x:%04x", (unsigned int)(devs[i].node_guid >> 48),
			 (unsigned int)(devs[i].node_guid >> 32) & 0xffff, (unsigned int)(devs[i].node_guid >> 16) & 0xffff,
			 (unsigned int)devs[i].node_guid & 0xffff);
		json_array_append_new(arr, json_pack("{s:s,s:o,s:o,s:b,s:s,s:i,s:o,s:o}", "name", devs[i].name, "bdf",
						     devs[i].bdf[0] ? json_string(devs[i].bdf) : json_null(), "netdev",
						     devs[i].netdev[0] ? json_string(devs[i].netdev) : json_null(), "soft",
						     devs[i].soft, "node_guid", guid, "ports", devs[i].ports, "link_layer",
						     devs[i].link_layer[0] ? json_string(devs[i].link_layer) : json_null(), "state",
						     devs[i].state[0] ? json_string(devs[i].state) : json_null()));
	}
	return cli_print_json(arr);
}
