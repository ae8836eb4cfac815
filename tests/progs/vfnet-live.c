/* SPDX-License-Identifier: MIT */
/*
 * VF settings against a real SR-IOV NIC: finds the first network interface whose PCI device has
 * VFs, changes VF 0's MAC, VLAN, spoof check, trust and link state, reads each back through
 * RTM_GETLINK, and puts the original settings back. Exits 77, saying why, on a machine without
 * such a NIC (the build machines and the lab: QEMU 7.2's NICs have no SR-IOV, and Debian's
 * kernels lack netdevsim).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iovkit/sriov.h"

int main(void)
{
	struct iov_vf_settings orig, set, got;
	char pf[64] = "", path[512];
	struct dirent *de;
	struct iov_ctx *ctx;
	DIR *d = opendir("/sys/class/net");
	int fails = 0;

	while (d && (de = readdir(d)) && !pf[0]) {
		FILE *f;
		unsigned int n = 0;

		snprintf(path, sizeof(path), "/sys/class/net/%s/device/sriov_numvfs", de->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%u", &n) == 1 && n > 0)
			snprintf(pf, sizeof(pf), "%s", de->d_name);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	if (!pf[0]) {
		printf("SKIP: no network interface with SR-IOV VFs enabled on this machine\n");
		return 77;
	}
	iov_ctx_new(NULL, &ctx);
	if (iov_vf_get(ctx, pf, 0, &orig) < 0) {
		printf("FAIL: reading VF 0 of %s: %s\n", pf, iov_ctx_reason(ctx));
		return 1;
	}
	set = (struct iov_vf_settings){ .fields = IOV_VF_SET_MAC | IOV_VF_SET_VLAN | IOV_VF_SET_SPOOFCHK | IOV_VF_SET_TRUST |
						  IOV_VF_SET_LINK_STATE,
					.mac = { 0x02, 0x69, 0x6f, 0x76, 0x00, 0x01 }, .vlan = 123, .qos = 2,
					.spoofchk = !orig.spoofchk, .trust = !orig.trust, .link_state = IOV_VF_LINK_DISABLE };
	/* One setting at a time: a driver may lack some (EOPNOTSUPP), which is reported, not fatal. */
	for (unsigned int bit = 1; bit <= IOV_VF_SET_LINK_STATE; bit <<= 1) {
		struct iov_vf_settings one = set;
		int r;

		one.fields = bit;
		r = iov_vf_set(ctx, pf, 0, &one);
		if (r == -EOPNOTSUPP) {
			printf("  %s does not support setting 0x%x: %s\n", pf, bit, iov_ctx_reason(ctx));
			continue;
		}
		if (r < 0 || iov_vf_get(ctx, pf, 0, &got) < 0) {
			printf("FAIL: setting 0x%x on VF 0 of %s: %s\n", bit, pf, iov_ctx_reason(ctx));
			fails++;
			continue;
		}
		if ((bit == IOV_VF_SET_MAC && memcmp(got.mac, set.mac, 6)) || (bit == IOV_VF_SET_VLAN && got.vlan != 123) ||
		    (bit == IOV_VF_SET_SPOOFCHK && got.spoofchk != set.spoofchk) ||
		    (bit == IOV_VF_SET_TRUST && got.trust != set.trust) ||
		    (bit == IOV_VF_SET_LINK_STATE && got.link_state != IOV_VF_LINK_DISABLE)) {
			printf("FAIL: VF 0 of %s does not read back setting 0x%x\n", pf, bit);
			fails++;
		} else {
			printf("  ok: VF 0 of %s: setting 0x%x applied and read back\n", pf, bit);
		}
	}
	orig.fields &= IOV_VF_SET_MAC | IOV_VF_SET_VLAN | IOV_VF_SET_SPOOFCHK | IOV_VF_SET_TRUST | IOV_VF_SET_LINK_STATE;
	if (orig.fields && iov_vf_set(ctx, pf, 0, &orig) < 0)
		printf("  could not restore VF 0 of %s: %s\n", pf, iov_ctx_reason(ctx));
	iov_ctx_free(ctx);
	return fails ? 1 : 0;
}
