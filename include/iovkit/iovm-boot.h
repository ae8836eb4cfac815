/* SPDX-License-Identifier: MIT */
/*
 * How iovm starts a directly booted 64-bit guest (an ELF executable, like its test guest):
 *
 * - long mode, paging on, the low 4 GiB identity-mapped in 2 MiB pages (RAM from 0, the PCI
 *   memory window at 0xe0000000); flat code and data segments; interrupts off;
 * - every vCPU at once (iovm --cpus N), each at the ELF's entry with RDI pointing at the
 *   struct iovm_boot_info (at 0x7000), RSI = the vCPU's index (0 boots; its local APIC ID
 *   is the same number) and RSP = 0x80000 + index * IOVM_AP_STACK_SIZE (16-byte aligned:
 *   vCPU 0's stack grows down from 0x80000, vCPU i's from its own top above it);
 * - the guest's memory below 1 MiB is iovm's (page tables, GDT, boot information, stack); its
 *   image loads at 1 MiB or above, and everything above its image is free RAM.
 *
 * A guest ends by writing its status (0-119) to port 0x501 with a 32-bit OUT; iovm exits with it.
 */
#ifndef IOVKIT_IOVM_BOOT_H
#define IOVKIT_IOVM_BOOT_H

#include <stdint.h>

#define IOVM_BOOT_MAGIC 0x6d766f69U     /* "iovm" */
#define IOVM_EXIT_PORT 0x501
#define IOVM_NULL_PORT 0x502     /* reads 0, ignores writes, in iovm itself: an exit's cost */
#define IOVM_AP_STACK_SIZE 0x2000 /* each further vCPU's stack */

struct iovm_boot_info {
	uint32_t magic;
	uint32_t tsc_khz;               /* the TSC's rate; 0 when KVM does not say */
	uint64_t ram_size;              /* bytes of RAM from guest-physical 0 */
	char cmdline[1024];             /* NUL-terminated */
	uint32_t n_cpus;                /* vCPUs running this guest (RSI 0 .. n_cpus - 1) */
};

#endif
