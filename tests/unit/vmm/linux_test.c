/* SPDX-License-Identifier: MIT */
/*
 * iovm's Linux loader against the boot protocol (Documentation/arch/x86/boot.rst): a bzImage
 * made here with the header fields that matter — its protected-mode code lands at the preferred
 * address and is entered at +0x200, the setup header is copied into the zero page and completed
 * (loader type, loadflags, command line, initramfs), the e820 map describes guest RAM — and the
 * refusals: no 64-bit entry, an old protocol, too little RAM, a file that is no kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../helpers/unit.h"
#include "vmm-internal.h"

static char dir[] = "/tmp/iovm-linux-XXXXXX";

/* A bzImage of 4 setup sectors and @code_len bytes of "kernel" (bytes 0x5a). */
static const char *bzimage(const char *name, uint16_t version, uint16_t xloadflags, size_t code_len, uint32_t init_size)
{
	static char path[128];
	static bool made;
	uint8_t *f = calloc(1, 5 * 512 + code_len);
	FILE *out;

	ASSERT_TRUE(f != NULL);
	/* Once: mkdtemp's random suffix may itself end in 'X', so the template cannot tell. */
	if (!made)
		ASSERT_TRUE((made = mkdtemp(dir) != NULL));
	f[0x1f1] = 4;                                   /* setup_sects */
	f[0x1fe] = 0x55;
	f[0x1ff] = 0xaa;
	f[0x201] = 0x6a;                                /* the header ends at 0x202 + 0x6a */
	memcpy(f + 0x202, "HdrS", 4);
	memcpy(f + 0x206, &version, 2);
	f[0x211] = 0x01;                                /* LOADED_HIGH */
	memcpy(f + 0x22c, &(uint32_t){ 0x7fffffff }, 4);   /* initrd_addr_max */
	memcpy(f + 0x236, &xloadflags, 2);
	memcpy(f + 0x238, &(uint32_t){ 2047 }, 4);      /* cmdline_size */
	memcpy(f + 0x258, &(uint64_t){ 0x1000000 }, 8); /* pref_address */
	memcpy(f + 0x260, &init_size, 4);
	memset(f + 5 * 512, 0x5a, code_len);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "w");
	ASSERT_TRUE(out && fwrite(f, 1, 5 * 512 + code_len, out) == 5 * 512 + code_len);
	fclose(out);
	free(f);
	return path;
}

static struct vm *ram_vm(uint64_t mib)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	ASSERT_TRUE(vm != NULL);
	vm->ram_size = mib << 20;
	vm->n_vcpus = 1;
	vm->ram = calloc(1, vm->ram_size);
	ASSERT_TRUE(vm->ram != NULL);
	return vm;
}

static void vm_free_ram(struct vm *vm)
{
	free(vm->ram);
	free(vm);
}

static void test_bzimage(void)
{
	struct vm *vm = ram_vm(128);
	const char *k = bzimage("bz", 0x020f, 0x1, 8192, 0x2000000);
	char initrd[160], why[256] = "";
	uint8_t *zp = vm->ram + IOVM_ZERO_PAGE, *e;
	uint64_t entry = 0, rd;
	FILE *f;

	snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
	f = fopen(initrd, "w");
	ASSERT_TRUE(f != NULL);
	for (int i = 0; i < 10000; i++)
		fputc(i & 0xff, f);
	fclose(f);
	ASSERT_INT_EQ(linux_kind(k), LINUX_BZIMAGE);
	ASSERT_OK(linux_load(vm, k, initrd, "console=ttyS0 quiet", &entry, why, sizeof(why)));
	ASSERT_INT_EQ(entry, 0x1000200);
	ASSERT_INT_EQ(vm->ram[0x1000000], 0x5a);
	ASSERT_INT_EQ(vm->ram[0x1000000 + 8191], 0x5a);
	/* The header, copied and completed. */
	ASSERT_INT_EQ(get32(zp + 0x202), 0x53726448);
	ASSERT_INT_EQ(zp[0x1f1], 4);
	ASSERT_INT_EQ(zp[LINUX_HDR_TYPE_OF_LOADER], 0xff);
	ASSERT_INT_EQ(zp[LINUX_HDR_LOADFLAGS] & 0x81, 0x81);
	ASSERT_INT_EQ(get32(zp + LINUX_HDR_CODE32_START), 0x1000000);
	ASSERT_INT_EQ(get32(zp + LINUX_HDR_CMD_LINE_PTR), IOVM_CMDLINE);
	ASSERT_STR_EQ((char *)vm->ram + IOVM_CMDLINE, "console=ttyS0 quiet");
	/* The initramfs at the top of RAM, page-aligned, whole. */
	rd = get32(zp + LINUX_HDR_RAMDISK_IMAGE);
	ASSERT_INT_EQ(get32(zp + LINUX_HDR_RAMDISK_SIZE), 10000);
	ASSERT_INT_EQ(rd & 0xfff, 0);
	ASSERT_TRUE(rd + 10000 <= vm->ram_size && rd + 10000 + 4096 > vm->ram_size);
	ASSERT_INT_EQ(vm->ram[rd + 9999], 9999 & 0xff);
	/* e820: low RAM, the BIOS holes, RAM from 1 MiB to the end. */
	ASSERT_INT_EQ(zp[LINUX_BP_E820_ENTRIES], 4);
	e = zp + LINUX_BP_E820_TABLE;
	ASSERT_INT_EQ(get64(e), 0);
	ASSERT_INT_EQ(get64(e + 8), 0x9fc00);
	ASSERT_INT_EQ(get32(e + 16), 1);
	ASSERT_INT_EQ(get32(e + 20 + 16), 2);
	ASSERT_INT_EQ(get64(e + 60), 0x100000);
	ASSERT_INT_EQ(get64(e + 68), vm->ram_size - 0x100000);
	ASSERT_INT_EQ(get32(e + 76), 1);
	vm_free_ram(vm);
}

static void test_refusals(void)
{
	struct vm *vm = ram_vm(64);
	char why[256] = "", *big;
	uint64_t entry;

	ASSERT_ERR(linux_load(vm, bzimage("no64", 0x020f, 0x0, 4096, 0), NULL, "", &entry, why, sizeof(why)), ENOEXEC);
	ASSERT_TRUE(strstr(why, "XLF_KERNEL_64") != NULL);
	ASSERT_ERR(linux_load(vm, bzimage("old", 0x0206, 0x1, 4096, 0), NULL, "", &entry, why, sizeof(why)), ENOEXEC);
	ASSERT_TRUE(strstr(why, "2.12 or later") != NULL);
	/* 64 MiB of RAM cannot hold a kernel that needs 80 MiB from 16 MiB up. */
	ASSERT_ERR(linux_load(vm, bzimage("huge", 0x020f, 0x1, 4096, 80u << 20), NULL, "", &entry, why, sizeof(why)), E2BIG);
	ASSERT_TRUE(strstr(why, "--memory at least") != NULL);
	ASSERT_INT_EQ(linux_kind("/etc/hostname"), LINUX_NONE);
	ASSERT_ERR(linux_load(vm, "/etc/hostname", NULL, "", &entry, why, sizeof(why)), ENOEXEC);
	big = malloc(LINUX_CMDLINE_MAX + 1);
	memset(big, 'x', LINUX_CMDLINE_MAX);
	big[LINUX_CMDLINE_MAX] = '\0';
	ASSERT_ERR(linux_load(vm, bzimage("ok", 0x020f, 0x1, 4096, 0), NULL, big, &entry, why, sizeof(why)), E2BIG);
	free(big);
	ASSERT_ERR(linux_load(vm, bzimage("ok", 0x020f, 0x1, 4096, 0), "/nonexistent", "", &entry, why, sizeof(why)), ENOENT);
	vm_free_ram(vm);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The MP table: both checksums hold, and its entries are the CPUs (APIC IDs 0..n-1, the first
 * the bootstrap processor), two buses, the IOAPIC (an ID no CPU has), the 15 ISA interrupts
 * (not the cascade), one PCI interrupt per device with a pin (slot 3 INTA, slot 9 INTB; not
 * slot 5, which has none) on the IOAPIC pin pci_intx_gsi() gives, and the two local ones. */
static void check_mptable(unsigned int n_cpus)
{
	struct vm *vm = ram_vm(8);
	uint8_t *fp = vm->ram + IOVM_MPTABLE, *t, *e;
	unsigned int irqs = 0, ioapics = 0, pci = 0;
	struct pci_dev devs[3] = { 0 };

	devs[0].cfg[0x3d] = 1;
	devs[2].cfg[0x3d] = 2;
	vm->bus.devs[3] = &devs[0];
	vm->bus.devs[5] = &devs[1];
	vm->bus.devs[9] = &devs[2];
	vm->n_vcpus = n_cpus;
	mptable_write(vm);
	ASSERT_TRUE(!memcmp(fp, "_MP_", 4));
	ASSERT_INT_EQ(sum(fp, 16), 0);
	ASSERT_INT_EQ(fp[9], 4);
	t = vm->ram + get32(fp + 4);
	ASSERT_TRUE(!memcmp(t, "PCMP", 4));
	ASSERT_INT_EQ(sum(t, t[4] | t[5] << 8), 0);
	ASSERT_INT_EQ(t[34] | t[35] << 8, n_cpus + 22);
	ASSERT_INT_EQ(get32(t + 36), 0xfee00000);
	e = t + 44;
	for (unsigned int cpu = 0; cpu < n_cpus; cpu++, e += 20) {
		ASSERT_INT_EQ(e[0], 0);         /* a processor, enabled; the first bootstraps */
		ASSERT_INT_EQ(e[1], cpu);
		ASSERT_INT_EQ(e[3], cpu == 0 ? 3 : 1);
	}
	for (int i = 0; i < 22; i++, e += 8) {
		ASSERT_TRUE(e[0] >= 1 && e[0] <= 4);
		if (e[0] == 2) {
			ASSERT_INT_EQ(get32(e + 4), 0xfec00000);
			ASSERT_INT_GE(e[1], n_cpus);
			ioapics++;
		}
		if (e[0] == 3 && e[4] == 1) {           /* on the ISA bus */
			ASSERT_INT_EQ(e[5], e[7]);       /* ISA IRQ n on pin n */
			ASSERT_TRUE(e[5] != 2);
			irqs++;
		}
		if (e[0] == 3 && e[4] == 0) {           /* on the PCI bus: slot << 2 | pin */
			unsigned int slot = e[5] >> 2, pin = (e[5] & 3) + 1u;

			ASSERT_TRUE((slot == 3 && pin == 1) || (slot == 9 && pin == 2));
			ASSERT_INT_EQ(e[7], pci_intx_gsi(slot, pin));
			ASSERT_INT_EQ(get16(e + 2), 0x0f);   /* level-triggered, active low */
			ASSERT_INT_EQ(e[6], IOVM_IOAPIC_ID);
			pci++;
		}
	}
	ASSERT_INT_EQ(ioapics, 1);
	ASSERT_INT_EQ(irqs, 15);
	ASSERT_INT_EQ(pci, 2);
	ASSERT_INT_EQ((size_t)(e - t), (size_t)(t[4] | t[5] << 8));
	vm_free_ram(vm);
}

static void test_mptable(void)
{
	check_mptable(1);
	check_mptable(4);
	check_mptable(VM_MAX_VCPUS);
}

static void test_cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_INT_EQ(system(cmd), 0);
}

UNIT_MAIN("vmm/linux",
	  UNIT_TEST(test_bzimage),
	  UNIT_TEST(test_refusals),
	  UNIT_TEST(test_mptable),
	  UNIT_TEST(test_cleanup))
