/* SPDX-License-Identifier: MIT */
/* iovctl host: what this host offers for device assignment. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "iovkit/host.h"
#include "iovkit-internal/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct iov_host_report *, iov_host_report_free)

static void print_kib(uint64_t bytes)
{
	if (bytes == UINT64_MAX)
		printf("unlimited");
	else
		printf("%" PRIu64 " KiB", bytes / 1024);
}

static void print_human(const struct iov_host_report *r)
{
	const char *mods[] = { "vfio", "vfio_pci", "vfio_iommu_type1", "iommufd", "kvm" };

	printf("%-18s %s\n", "Kernel", r->kernel_release[0] ? r->kernel_release : "(unknown)");
	if (r->n_iommu_units) {
		printf("%-18s present: %s", "IOMMU", r->iommu_vendor[0] ? r->iommu_vendor : "unknown kind");
		for (unsigned int i = 0; i < r->n_iommu_units; i++)
			printf("%s%s", i ? "," : " (", r->iommu_units[i]);
		printf("), %u groups, domain type %s\n", r->n_groups, r->iommu_domain_type[0] ? r->iommu_domain_type : "?");
	} else {
		printf("%-18s absent\n", "IOMMU");
	}
	printf("%-18s %s\n", "  command line", r->iommu_cmdline[0] ? r->iommu_cmdline : "(no iommu parameters)");
	printf("%-18s", "Modules");
	for (int m = 0; m < IOV_HOST_MOD_COUNT; m++)
		printf(" %s=%s", mods[m], iov_module_state_name(r->modules[m]));
	printf("\n%-18s /dev/vfio/vfio %s, /dev/iommu %s\n", "VFIO", r->vfio_container ? "present" : "absent",
	       r->iommufd_dev ? "present" : "absent");
	if (r->kvm_api_version >= 0)
		printf("%-18s /dev/kvm, API version %d\n", "KVM", r->kvm_api_version);
	else
		printf("%-18s %s\n", "KVM", r->kvm_dev ? "/dev/kvm present but unusable" : "absent");
	printf("%-18s", "Hugepages");
	if (!r->n_hugepage_sizes)
		printf(" (not supported)");
	for (unsigned int i = 0; i < r->n_hugepage_sizes; i++)
		printf("%s %" PRIu64 " KiB: %" PRIu64 " reserved, %" PRIu64 " free", i ? ";" : "", r->hugepages[i].size_kib,
		       r->hugepages[i].total, r->hugepages[i].free);
	printf("\n%-18s ", "Memlock limit");
	print_kib(r->memlock_soft);
	printf(" (hard ");
	print_kib(r->memlock_hard);
	printf(")%s\n", r->cap_ipc_lock ? ", CAP_IPC_LOCK held: not enforced" : "");

	if (!r->n_sriov) {
		printf("%-18s none\n", "SR-IOV devices");
	} else {
		printf("SR-IOV devices\n  %-14s %-11s %-12s %8s %6s\n", "BDF", "ID", "DRIVER", "TOTALVFS", "NUMVFS");
		for (unsigned int i = 0; i < r->n_sriov; i++) {
			const struct iov_host_sriov_dev *d = &r->sriov[i];

			printf("  %-14s %04x:%04x   %-12s %8u %6u\n", d->bdf, d->vendor, d->device,
			       d->driver[0] ? d->driver : "-", d->totalvfs, d->numvfs);
		}
	}

	if (r->n_hints) {
		printf("\nTo fix:\n");
		for (unsigned int i = 0; i < r->n_hints; i++)
			printf("  [%s] %s: %s\n      -> %s\n", r->hints[i].required ? "required" : "optional",
			       r->hints[i].topic, r->hints[i].problem, r->hints[i].fix);
	} else {
		printf("\nEverything device assignment needs is in place.\n");
	}
}

int cmd_host(struct cli *cli)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'c' },
		CLI_OPT_JSON,
		{ 0 },
	};
	_cleanup_(iov_ctx_freep) struct iov_ctx *ctx = NULL;
	_cleanup_(iov_host_report_freep) struct iov_host_report *report = NULL;
	bool check = false;
	int opt, r, status = EXIT_OK;

	while ((opt = cli_next_opt(cli, "host", opts)) != -1) {
		if (opt == 'c')
			check = true;
		else
			return EXIT_USAGE;
	}
	if (optind < cli->argc)
		return cli_usage("host", "takes no arguments");

	ctx = cli_ctx_open(cli);
	if (!ctx)
		return EXIT_FAIL;
	r = iov_host_report_new(ctx, &report);
	if (r < 0)
		return cli_fail(ctx, r, "probing the host");
	if (check)
		for (unsigned int i = 0; i < report->n_hints; i++)
			if (report->hints[i].required)
				status = EXIT_CHECK;

	if (cli->json) {
		json_t *j = NULL;

		if (iov_host_report_json(report, &j) < 0 || cli_print_json(j) != EXIT_OK)
			return EXIT_FAIL;
	} else {
		print_human(report);
	}
	return status;
}
