/* SPDX-License-Identifier: MIT */
/*
 * Writes a fixture host tree into a directory, for shell tests and benchmarks:
 *   mkfixture standard DIR            the standard host (standard_host.c)
 *   mkfixture scale DIR FUNCTIONS GROUPS     for the inventory benchmark (see scale())
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "unit.h"

/*
 * FUNCTIONS functions in GROUPS groups: each group is a root port without ACS and the
 * multi-function NIC below it, so FUNCTIONS / GROUPS - 1 endpoints a group. 128 groups a PCI
 * domain (root ports at dddd:00:00.0-0f.7, each with its own bus 1-128).
 */
static void scale(struct fixture *fx, unsigned int functions, unsigned int groups)
{
	unsigned int endpoints = functions / groups - 1;
	char rp[16], bdf[16];

	fx_write(fx, "proc/sys/kernel/osrelease", "6.1.0-test\n");
	fx_write(fx, "lib/modules/6.1.0-test/modules.alias",
		 "alias pci:v00008086d00001572sv*sd*bc*sc*i* i40e\nalias pci:v*d*sv*sd*bc01sc08i02* nvme\n");
	for (unsigned int g = 0; g < groups; g++) {
		unsigned int dom = g / 128, k = g % 128;

		snprintf(rp, sizeof(rp), "%04x:00:%02x.%x", dom, k / 8, k % 8);
		fx_pci(fx, &(struct fx_pci){ .bdf = rp, .vendor = 0x8086, .device = 0x1901, .class_code = 0x060400,
					     .header_type = 1, .group = (int)g, .driver = "pcieport", .pcie_type = 4,
					     .multifunction = true });
		for (unsigned int f = 0; f < endpoints; f++) {
			snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", dom, k + 1, f / 8, f % 8);
			fx_pci(fx, &(struct fx_pci){ .bdf = bdf, .parent = rp, .vendor = 0x8086, .device = 0x1572,
						     .subsys_vendor = 0x8086, .class_code = 0x020000, .group = (int)g,
						     .driver = "i40e", .pcie_type = 0, .multifunction = true, .flr = true,
						     .msix_vectors = 129,
						     .bars = { [0] = BAR_MEM64_PF(0x6000000000ull + (uint64_t)(g * 8 + f) * (8 << 20), 8 << 20) } });
		}
	}
}

int main(int argc, char **argv)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (argc < 3 || !fx) {
		fprintf(stderr, "usage: mkfixture standard DIR | mkfixture scale DIR FUNCTIONS GROUPS\n");
		return 2;
	}
	snprintf(fx->root, sizeof(fx->root), "%s", argv[2]);
	mkdir(fx->root, 0755);
	if (!strcmp(argv[1], "standard") && argc == 3)
		fx_standard_host(fx);
	else if (!strcmp(argv[1], "scale") && argc == 5)
		scale(fx, (unsigned int)atoi(argv[3]), (unsigned int)atoi(argv[4]));
	else {
		fprintf(stderr, "mkfixture: unknown kind or wrong arguments\n");
		return 2;
	}
	free(fx);
	return 0;
}
