/* SPDX-License-Identifier: MIT */
/*
 * Booting Linux: the x86 boot protocol's 64-bit entry (Documentation/arch/x86/boot.rst, "64-bit
 * boot protocol"). iovm loads either
 *   - a bzImage: its setup header (from 0x1f1) goes into the zero page, its protected-mode code
 *     (after the setup sectors) to the preferred load address, entered at load + 0x200, which
 *     the header's XLF_KERNEL_64 promises; the kernel decompresses itself; or
 *   - an uncompressed vmlinux (an ELF whose Xen GUEST_OS note says "linux"): loaded at its
 *     physical addresses and entered at its entry point, the header made up as a boot loader
 *     that knows the protocol would;
 * then writes the zero page (struct boot_params): the setup header with type_of_loader,
 * cmd_line_ptr and the initramfs, and an e820 map of guest RAM. The vCPU starts in long mode
 * with the low 4 GiB identity-mapped, __BOOT_CS 0x10 and __BOOT_DS 0x18, interrupts off, and
 * RSI pointing at the zero page (vm_setup_linux in vm.c).
 *
 * An MP table (Intel MultiProcessor Specification 1.4) in the BIOS area tells Linux about its
 * CPUs, the IOAPIC at 0xfec00000 with the ISA interrupts on pins 0-15 as KVM routes them, the
 * 8259 behind LINT0, bus 0 as PCI and the INTx pin of each PCI function that has one (the
 * routing of pci_intx_gsi(), which ACPI's _PRT gives too); with acpi=off it is all Linux has.
 * PCI configuration is mechanism #1.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm-internal.h"

#define HDR_MAGIC 0x53726448u           /* "HdrS" */
#define XLF_KERNEL_64 0x1
#define LOADED_HIGH 0x1
#define CAN_USE_HEAP 0x80
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX 128


static void e820_add(uint8_t *zp, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t n = zp[LINUX_BP_E820_ENTRIES];
	uint8_t *e = zp + LINUX_BP_E820_TABLE + 20u * n;

	if (n >= E820_MAX)
		return;
	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, type);
	zp[LINUX_BP_E820_ENTRIES] = (uint8_t)(n + 1);
}

/* Whether @fd is an ELF vmlinux: a PT_NOTE with Xen's GUEST_OS note (type 6) saying "linux". */
static bool elf_is_linux(int fd, const Elf64_Ehdr *eh)
{
	for (unsigned int i = 0; i < eh->e_phnum && i < 64; i++) {
		Elf64_Phdr ph;
		uint8_t notes[4096];
		size_t len, off = 0;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh->e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph) ||
		    ph.p_type != PT_NOTE)
			continue;
		len = ph.p_filesz < sizeof(notes) ? ph.p_filesz : sizeof(notes);
		if (pread(fd, notes, len, (off_t)ph.p_offset) != (ssize_t)len)
			continue;
		while (off + 12 <= len) {
			uint32_t namesz = get32(notes + off), descsz = get32(notes + off + 4), type = get32(notes + off + 8);
			size_t name = off + 12, desc = name + ((namesz + 3) & ~3u);

			if (desc + descsz > len)
				break;
			if (namesz == 4 && !memcmp(notes + name, "Xen", 4) && type == 6 && descsz >= 5 &&
			    !memcmp(notes + desc, "linux", 5))
				return true;
			off = desc + ((descsz + 3) & ~3u);
		}
	}
	return false;
}

enum linux_kind linux_kind(const char *path)
{
	uint8_t head[0x210];
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	enum linux_kind k = LINUX_NONE;

	if (fd < 0)
		return LINUX_NONE;
	if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) && get32(head + 0x202) == HDR_MAGIC)
		k = LINUX_BZIMAGE;
	else if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
		 eh.e_ident[EI_CLASS] == ELFCLASS64 && elf_is_linux(fd, &eh))
		k = LINUX_VMLINUX;
	close(fd);
	return k;
}

/* The protected-mode kernel of bzImage @fd at its preferred address; the 64-bit entry. */
static int load_bzimage(struct vm *vm, int fd, uint8_t *zp, uint64_t *entry, char *why, size_t why_len)
{
	uint8_t hdr[0x280];
	struct stat st;
	unsigned int setup_sects, hdr_end;
	uint64_t load, off, size, init_size;

	if (fstat(fd, &st) < 0 || pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return vmm_fail(why, why_len, -ENOEXEC, "the bzImage is cut short");
	if (get16(hdr + 0x206) < 0x020c)
		return vmm_fail(why, why_len, -ENOEXEC, "boot protocol %u.%02u: 2.12 or later is needed for the 64-bit entry",
			    hdr[0x207], hdr[0x206]);
	if (!(get16(hdr + LINUX_HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return vmm_fail(why, why_len, -ENOEXEC, "the bzImage has no 64-bit entry point (XLF_KERNEL_64 unset)");
	/* The setup header, as long as this kernel's is, into the zero page. */
	hdr_end = 0x202 + hdr[0x201];
	if (hdr_end > sizeof(hdr))
		hdr_end = sizeof(hdr);
	memcpy(zp + LINUX_BP_HDR, hdr + LINUX_BP_HDR, hdr_end - LINUX_BP_HDR);
	setup_sects = hdr[0x1f1] ? hdr[0x1f1] : 4;
	off = (uint64_t)(setup_sects + 1) * 512;
	if ((uint64_t)st.st_size <= off)
		return vmm_fail(why, why_len, -ENOEXEC, "the bzImage ends inside its setup sectors");
	size = (uint64_t)st.st_size - off;
	load = get64(hdr + LINUX_HDR_PREF_ADDRESS);
	if (load < IOVM_LOAD_MIN)
		load = 0x1000000;
	init_size = get32(hdr + LINUX_HDR_INIT_SIZE);
	if (init_size < size)
		init_size = size;
	if (load + init_size > vm->ram_size)
		return vmm_fail(why, why_len, -E2BIG, "the kernel needs %llu MiB of RAM from 0x%llx to decompress into: give "
			    "--memory at least %llu", (unsigned long long)(init_size >> 20), (unsigned long long)load,
			    (unsigned long long)((load + init_size) >> 20) + 64);
	if (pread(fd, vm->ram + load, size, (off_t)off) != (ssize_t)size)
		return vmm_fail(why, why_len, -EIO, "reading the bzImage failed");
	put32(zp + LINUX_HDR_CODE32_START, (uint32_t)load);
	*entry = load + 0x200;
	return 0;
}

/* ---- the MP table ---- */

void mptable_write(struct vm *vm)
{
	uint8_t *fp = vm->ram + IOVM_MPTABLE, *t = fp + 16, *e = t + 44;
	uint16_t count = 0;

	memset(fp, 0, 16 + 44 + VM_MAX_VCPUS * 20 + 2 * 8 + 8 + (16 + PCI_MAX_DEVS) * 8 + 2 * 8);
	/* Entries first: the processors, the buses, the IOAPIC, interrupts. */
	for (unsigned int cpu = 0; cpu < vm->n_vcpus; cpu++) {
		e[0] = 0;                       /* processor */
		e[1] = (uint8_t)cpu;            /* its local APIC id: KVM's vCPU id */
		e[2] = 0x14;                    /* local APIC version */
		e[3] = cpu == 0 ? 0x3 : 0x1;    /* enabled; vCPU 0 the bootstrap processor */
		put32(e + 4, 0x600);            /* family 6 */
		put32(e + 8, 0x201);            /* FPU, APIC */
		e += 20, count++;
	}
	e[0] = 1, e[1] = 0, memcpy(e + 2, "PCI   ", 6), e += 8, count++;
	e[0] = 1, e[1] = 1, memcpy(e + 2, "ISA   ", 6), e += 8, count++;
	e[0] = 2, e[1] = IOVM_IOAPIC_ID, e[2] = 0x11, e[3] = 1;   /* IOAPIC: enabled */
	put32(e + 4, 0xfec00000);
	e += 8, count++;
	/* ISA IRQ n on IOAPIC pin n, as KVM's default routes deliver them (GSI n = pin n); 2 is the
	 * 8259 cascade and has no pin of its own. */
	for (uint8_t irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue;
		e[0] = 3, e[1] = 0, put16(e + 2, 0), e[4] = 1, e[5] = irq, e[6] = IOVM_IOAPIC_ID, e[7] = irq;
		e += 8, count++;
	}
	/* Each PCI function with an interrupt pin (a passed-through device's INTx): level-triggered,
	 * active low, on the IOAPIC pin the DSDT's _PRT names too. Source IRQ: slot << 2 | pin. */
	for (unsigned int slot = 1; slot < PCI_MAX_DEVS; slot++) {
		const struct pci_dev *d = vm->bus.devs[slot];
		uint8_t pin = d ? d->cfg[0x3d] : 0;

		if (pin < 1 || pin > 4)
			continue;
		e[0] = 3, e[1] = 0, put16(e + 2, 0x0f), e[4] = 0, e[5] = (uint8_t)(slot << 2 | (pin - 1u));
		e[6] = IOVM_IOAPIC_ID, e[7] = (uint8_t)pci_intx_gsi(slot, pin);
		e += 8, count++;
	}
	/* The 8259's output on LINT0 (ExtINT), NMI on LINT1, to every local APIC. */
	e[0] = 4, e[1] = 3, put16(e + 2, 0), e[4] = 1, e[5] = 0, e[6] = 0xff, e[7] = 0, e += 8, count++;
	e[0] = 4, e[1] = 1, put16(e + 2, 0), e[4] = 1, e[5] = 0, e[6] = 0xff, e[7] = 1, e += 8, count++;

	memcpy(t, "PCMP", 4);
	put16(t + 4, (uint16_t)(e - t));        /* base table length */
	t[6] = 4;                               /* spec 1.4 */
	memcpy(t + 8, "IOVKIT  ", 8);
	memcpy(t + 16, "IOVM        ", 12);
	put16(t + 34, count);
	put32(t + 36, 0xfee00000);              /* local APIC address */
	t[7] = checksum8(t, (size_t)(e - t));

	memcpy(fp, "_MP_", 4);
	put32(fp + 4, (uint32_t)(IOVM_MPTABLE + 16));
	fp[8] = 1;                              /* 16 bytes */
	fp[9] = 4;                              /* spec 1.4 */
	fp[10] = checksum8(fp, 16);
}

int linux_load(struct vm *vm, const char *kernel, const char *initrd, const char *cmdline, uint64_t *ret_entry,
	       char *why, size_t why_len)
{
	uint8_t *zp = vm->ram + IOVM_ZERO_PAGE;
	enum linux_kind kind = linux_kind(kernel);
	uint64_t entry = 0, rd_addr = 0, rd_size = 0;
	size_t cmd_len = strlen(cmdline);
	int fd, r;

	if (kind == LINUX_NONE)
		return vmm_fail(why, why_len, -ENOEXEC, "%s is neither a bzImage nor a Linux vmlinux", kernel);
	if (cmd_len >= LINUX_CMDLINE_MAX)
		return vmm_fail(why, why_len, -E2BIG, "the kernel command line is longer than %d bytes", LINUX_CMDLINE_MAX - 1);
	memset(zp, 0, 4096);
	if (kind == LINUX_VMLINUX) {
		r = vm_load_elf(vm, kernel, &entry, why, why_len);
		if (r < 0)
			return r;
		/* What a boot loader that knows the protocol writes where a bzImage brings its own. */
		put16(zp + 0x1fe, 0xaa55);
		put32(zp + 0x202, HDR_MAGIC);
		put16(zp + 0x206, 0x020f);
		put32(zp + 0x230, 0x200000);            /* kernel_alignment */
		put32(zp + LINUX_HDR_INITRD_MAX, 0x7fffffff);
	} else {
		fd = open(kernel, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return vmm_fail(why, why_len, -errno, "%s: %s", kernel, strerror(errno));
		r = load_bzimage(vm, fd, zp, &entry, why, why_len);
		close(fd);
		if (r < 0)
			return r;
	}
	zp[LINUX_HDR_TYPE_OF_LOADER] = 0xff;           /* a loader without an assigned ID */
	zp[LINUX_HDR_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	put16(zp + 0x224, 0xfe00);                     /* heap_end_ptr */
	memcpy(vm->ram + IOVM_CMDLINE, cmdline, cmd_len + 1);
	put32(zp + LINUX_HDR_CMD_LINE_PTR, (uint32_t)IOVM_CMDLINE);

	if (initrd) {
		struct stat st;
		uint64_t max = get32(zp + LINUX_HDR_INITRD_MAX) ? get32(zp + LINUX_HDR_INITRD_MAX) : 0x37ffffff;

		fd = open(initrd, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = vmm_fail(why, why_len, -errno, "--initrd %s: %s", initrd, strerror(errno));
			if (fd >= 0)
				close(fd);
			return r;
		}
		rd_size = (uint64_t)st.st_size;
		/* As high as it may go, page-aligned, below the end of RAM and initrd_addr_max. */
		rd_addr = ((max + 1 < vm->ram_size ? max + 1 : vm->ram_size) - rd_size) & ~0xfffull;
		if (rd_size >= vm->ram_size || rd_addr < 0x4000000 || rd_addr + rd_size > vm->ram_size) {
			close(fd);
			return vmm_fail(why, why_len, -E2BIG, "--initrd %s (%llu MiB) does not fit above the kernel: give more "
				    "--memory", initrd, (unsigned long long)(rd_size >> 20));
		}
		if (pread(fd, vm->ram + rd_addr, rd_size, 0) != (ssize_t)rd_size) {
			close(fd);
			return vmm_fail(why, why_len, -EIO, "--initrd %s: reading it failed", initrd);
		}
		close(fd);
		put32(zp + LINUX_HDR_RAMDISK_IMAGE, (uint32_t)rd_addr);
		put32(zp + LINUX_HDR_RAMDISK_SIZE, (uint32_t)rd_size);
	}

	/* Guest RAM as the firmware would describe it: conventional memory up to the EBDA, the BIOS
	 * area reserved, and the rest from 1 MiB. */
	e820_add(zp, 0, 0x9fc00, E820_RAM);
	e820_add(zp, 0x9fc00, 0x400, E820_RESERVED);
	e820_add(zp, 0xf0000, 0x10000, E820_RESERVED);
	e820_add(zp, 0x100000, vm->ram_size - 0x100000, E820_RAM);
	mptable_write(vm);
	acpi_write(vm);
	put64(zp + LINUX_BP_ACPI_RSDP, acpi_rsdp());
	*ret_entry = entry;
	return 0;
}
