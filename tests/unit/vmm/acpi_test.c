/* SPDX-License-Identifier: MIT */
/*
 * iovm's ACPI tables against ACPI 6.4: the RSDP's two checksums, the XSDT's tables and every
 * table's checksum, what the FADT points at and declares, a MADT entry per vCPU, the DSDT's
 * \_S5, PCI host bridge and its _PRT; and the PM1 control and reset ports: only SLP_EN with S5 powers
 * off, only the reset value resets.
 */
#include <stdlib.h>
#include <string.h>

#include "../helpers/unit.h"
#include "vmm-internal.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static struct vm *acpi_vm(unsigned int n_vcpus)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	ASSERT_TRUE(vm != NULL);
	vm->ram_size = 2 << 20;
	vm->ram = calloc(1, vm->ram_size);
	ASSERT_TRUE(vm->ram != NULL);
	vm->n_vcpus = n_vcpus;
	vm->stop_status = -1;
	pthread_mutex_init(&vm->go_lock, NULL);
	pthread_cond_init(&vm->go_cond, NULL);
	acpi_write(vm);
	return vm;
}

static void acpi_vm_free(struct vm *vm)
{
	free(vm->ram);
	free(vm);
}

/* A table the XSDT lists, its checksum checked; NULL if there is none with @sig. */
static const uint8_t *table(const struct vm *vm, const char *sig)
{
	const uint8_t *rsdp = vm->ram + acpi_rsdp(), *xsdt = vm->ram + get64(rsdp + 24);

	for (uint32_t off = 36; off < get32(xsdt + 4); off += 8) {
		const uint8_t *t = vm->ram + get64(xsdt + off);

		if (!memcmp(t, sig, 4)) {
			ASSERT_INT_EQ(sum(t, get32(t + 4)), 0);
			return t;
		}
	}
	return NULL;
}

static void test_rsdp_and_xsdt(void)
{
	struct vm *vm = acpi_vm(1);
	const uint8_t *rsdp = vm->ram + acpi_rsdp(), *xsdt;

	/* Where Linux's scan of the BIOS area finds it: 0xe0000-0xfffff, 16-byte aligned. */
	ASSERT_TRUE(acpi_rsdp() >= 0xe0000 && acpi_rsdp() < 0x100000 && acpi_rsdp() % 16 == 0);
	ASSERT_TRUE(!memcmp(rsdp, "RSD PTR ", 8));
	ASSERT_INT_EQ(sum(rsdp, 20), 0);
	ASSERT_INT_EQ(sum(rsdp, 36), 0);
	ASSERT_INT_EQ(rsdp[15], 2);
	ASSERT_INT_EQ(get32(rsdp + 20), 36);
	xsdt = vm->ram + get64(rsdp + 24);
	ASSERT_TRUE(!memcmp(xsdt, "XSDT", 4));
	ASSERT_INT_EQ(sum(xsdt, get32(xsdt + 4)), 0);
	ASSERT_INT_EQ(get32(xsdt + 4), 36 + 16);
	ASSERT_TRUE(table(vm, "FACP") != NULL);
	ASSERT_TRUE(table(vm, "APIC") != NULL);
	ASSERT_TRUE(table(vm, "DSDT") == NULL);         /* the FADT points at it, the XSDT does not */
	/* Everything lies in the area the e820 map reserves, past the MP table. */
	ASSERT_TRUE(IOVM_ACPI >= IOVM_MPTABLE + 0x400 && IOVM_ACPI + IOVM_ACPI_SIZE <= 0x100000);
	acpi_vm_free(vm);
}

static void test_fadt(void)
{
	struct vm *vm = acpi_vm(1);
	const uint8_t *f = table(vm, "FACP"), *dsdt, *facs;

	ASSERT_TRUE(f != NULL);
	ASSERT_INT_EQ(get32(f + 4), 276);
	ASSERT_INT_EQ(f[8], 6);
	ASSERT_INT_EQ(get32(f + 112) & (1u << 20), 0);         /* not hardware-reduced */
	ASSERT_TRUE(get32(f + 112) & (1u << 10));              /* RESET_REG_SUP */
	ASSERT_INT_EQ(get32(f + 48), 0);                        /* no SMI port: ACPI mode from the start */
	ASSERT_INT_EQ(get32(f + 56), IOVM_ACPI_PM1_EVT);
	ASSERT_INT_EQ(get32(f + 64), IOVM_ACPI_PM1_CNT);
	ASSERT_INT_EQ(f[88], 4);
	ASSERT_INT_EQ(f[89], 2);
	ASSERT_INT_EQ(f[91], 0);                                /* no PM timer */
	ASSERT_INT_EQ((f[109] | f[110] << 8) & 2, 0);           /* no 8042 */
	/* The 32- and 64-bit forms agree, as ACPICA checks. */
	ASSERT_INT_EQ(get64(f + 140), get32(f + 40));
	ASSERT_INT_EQ(get64(f + 132), get32(f + 36));
	ASSERT_INT_EQ(f[148], 1);                               /* X_PM1a_EVT_BLK: system I/O */
	ASSERT_INT_EQ(get64(f + 152), IOVM_ACPI_PM1_EVT);
	ASSERT_INT_EQ(f[149], 32);
	ASSERT_INT_EQ(get64(f + 176), IOVM_ACPI_PM1_CNT);
	ASSERT_INT_EQ(f[173], 16);
	ASSERT_INT_EQ(f[116], 1);                               /* RESET_REG: one byte of I/O at 0xcf9 */
	ASSERT_INT_EQ(get64(f + 120), IOVM_ACPI_RESET_PORT);
	ASSERT_INT_EQ(f[128], IOVM_ACPI_RESET_VALUE);
	facs = vm->ram + get32(f + 36);
	ASSERT_TRUE(!memcmp(facs, "FACS", 4));
	ASSERT_INT_EQ(get32(facs + 4), 64);
	ASSERT_INT_EQ(get32(f + 36) % 64, 0);
	dsdt = vm->ram + get32(f + 40);
	ASSERT_TRUE(!memcmp(dsdt, "DSDT", 4));
	ASSERT_INT_EQ(sum(dsdt, get32(dsdt + 4)), 0);
	acpi_vm_free(vm);
}

/* An AML PkgLength at @p (ACPI 6.4 §20.2.4): its value, which counts itself; its size in *@n. */
static size_t pkglen(const uint8_t *p, size_t *n)
{
	size_t follow = p[0] >> 6, len = follow ? p[0] & 0x0fu : p[0] & 0x3fu;

	for (size_t i = 1; i <= follow; i++)
		len |= (size_t)p[i] << (4 + 8 * (i - 1));
	*n = 1 + follow;
	return len;
}

/* An AML integer at *@p (Zero, One, Byte/Word/DWordConst), *@p moved past it. */
static uint32_t aml_int(const uint8_t **p)
{
	const uint8_t *q = *p;

	switch (q[0]) {
	case 0x00: *p = q + 1; return 0;
	case 0x01: *p = q + 1; return 1;
	case 0x0a: *p = q + 2; return q[1];
	case 0x0b: *p = q + 3; return get16(q + 1);
	case 0x0c: *p = q + 5; return get32(q + 1);
	}
	ASSERT_TRUE(0);
	return 0;
}

/* The DSDT's AML: \_S5 as Package (4) { 5, 0, 0, 0 }; \_SB.PCI0 with _HID PNP0A03 and a _PRT
 * that wires every slot's INTA-INTD to the GSI a passed-through device's INTx arrives on. */
static void test_dsdt(void)
{
	struct vm *vm = acpi_vm(1);
	const uint8_t *f = table(vm, "FACP"), *d = vm->ram + get32(f + 40), *aml = d + 36, *s5 = NULL;
	const uint8_t *dev, *prt = NULL, *e, *dev_end;
	size_t len = get32(d + 4) - 36, slen, sn, dlen, dn, plen, pn;
	static const uint8_t pnp0a03[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	unsigned int seen[PCI_MAX_DEVS][4] = { { 0 } }, n = 0;

	for (size_t i = 0; i + 5 < len; i++)
		if (aml[i] == 0x08 && !memcmp(aml + i + 1, "_S5_", 4))
			s5 = aml + i + 5;
	ASSERT_TRUE(s5 != NULL);
	ASSERT_INT_EQ(s5[0], 0x12);                     /* PackageOp */
	ASSERT_INT_EQ(s5[2], 4);                        /* four elements */
	ASSERT_INT_EQ(s5[3], 0x0a);                     /* BytePrefix ... */
	ASSERT_INT_EQ(s5[4], 5);                        /* ... SLP_TYPa 5 */
	ASSERT_INT_EQ((size_t)(s5 + 1 + s5[1] - aml), len);     /* its PkgLength reaches the end */
	/* The scope, then the device, each PkgLength spanning exactly its body. */
	ASSERT_INT_EQ(aml[0], 0x10);
	slen = pkglen(aml + 1, &sn);
	ASSERT_TRUE(!memcmp(aml + 1 + sn, "\\_SB_", 5));
	ASSERT_INT_EQ((size_t)(s5 - 5 - aml), 1 + slen);       /* the scope ends where \_S5 begins */
	dev = aml + 1 + sn + 5;
	ASSERT_INT_EQ(dev[0], 0x5b);
	ASSERT_INT_EQ(dev[1], 0x82);
	dlen = pkglen(dev + 2, &dn);
	dev_end = dev + 2 + dlen;
	ASSERT_TRUE(dev_end == aml + 1 + slen);                 /* the device ends with the scope */
	ASSERT_TRUE(!memcmp(dev + 2 + dn, "PCI0", 4));
	ASSERT_TRUE(!memcmp(dev + 2 + dn + 4, pnp0a03, sizeof(pnp0a03)));
	for (const uint8_t *p = dev + 2 + dn + 4; p + 5 < dev_end; p++)
		if (p[0] == 0x08 && !memcmp(p + 1, "_PRT", 4))
			prt = p + 5;
	ASSERT_TRUE(prt != NULL);
	ASSERT_INT_EQ(prt[0], 0x12);
	plen = pkglen(prt + 1, &pn);
	ASSERT_TRUE(prt + 1 + plen == dev_end);                 /* the _PRT is the device's last object */
	ASSERT_INT_EQ(prt[1 + pn], (PCI_MAX_DEVS - 1) * 4);    /* NumElements */
	for (e = prt + 1 + pn + 1; e < dev_end; n++) {
		const uint8_t *end, *q;
		size_t elen, en;
		uint32_t addr, pin, source, gsi;

		ASSERT_INT_EQ(e[0], 0x12);
		elen = pkglen(e + 1, &en);
		end = e + 1 + elen;
		ASSERT_INT_EQ(e[1 + en], 4);
		q = e + 2 + en;
		addr = aml_int(&q), pin = aml_int(&q);
		ASSERT_INT_EQ(q[0], 0x00);                      /* Source: Zero (no link device) ... */
		source = aml_int(&q);
		gsi = aml_int(&q);                              /* ... so this is the GSI itself */
		ASSERT_TRUE(q == end);
		ASSERT_INT_EQ(addr & 0xffff, 0xffff);           /* any function of the slot */
		ASSERT_INT_GE(addr >> 16, 1);
		ASSERT_INT_GE(PCI_MAX_DEVS - 1, addr >> 16);
		ASSERT_INT_GE(3, pin);
		ASSERT_INT_EQ(source, 0);
		ASSERT_INT_EQ(gsi, pci_intx_gsi(addr >> 16, pin + 1));
		ASSERT_INT_GE(gsi, 16);
		ASSERT_INT_GE(23, gsi);
		seen[addr >> 16][pin]++;
		e = end;
	}
	ASSERT_TRUE(e == dev_end);
	ASSERT_INT_EQ(n, (PCI_MAX_DEVS - 1) * 4);
	for (unsigned int slot = 1; slot < PCI_MAX_DEVS; slot++)
		for (unsigned int pin = 0; pin < 4; pin++)
			ASSERT_INT_EQ(seen[slot][pin], 1);      /* each slot and pin once */
	/* The swizzle: INTA of slots 1 and 2 differ, INTB of slot 1 is INTA of slot 2. */
	ASSERT_INT_EQ(pci_intx_gsi(1, 1), 17);
	ASSERT_INT_EQ(pci_intx_gsi(2, 1), 18);
	ASSERT_INT_EQ(pci_intx_gsi(1, 2), pci_intx_gsi(2, 1));
	ASSERT_INT_EQ(pci_intx_gsi(8, 4), 19);
	acpi_vm_free(vm);
}

static void check_madt(unsigned int n)
{
	struct vm *vm = acpi_vm(n);
	const uint8_t *m = table(vm, "APIC"), *e, *end;
	unsigned int cpus = 0, ioapics = 0, overrides = 0, nmis = 0;

	ASSERT_TRUE(m != NULL);
	ASSERT_INT_EQ(get32(m + 36), 0xfee00000);
	ASSERT_INT_EQ(get32(m + 40) & 1, 1);
	end = m + get32(m + 4);
	for (e = m + 44; e < end; e += e[1]) {
		ASSERT_TRUE(e[1] >= 2);
		switch (e[0]) {
		case 0:
			ASSERT_INT_EQ(e[3], cpus);      /* APIC IDs 0..n-1, in order */
			ASSERT_INT_EQ(get32(e + 4), 1);
			cpus++;
			break;
		case 1:
			ASSERT_INT_EQ(get32(e + 4), 0xfec00000);
			ASSERT_INT_GE(e[2], n);         /* an ID no CPU has */
			ioapics++;
			break;
		case 2:
			ASSERT_INT_EQ(e[3], 9);         /* the SCI: level, active high */
			ASSERT_INT_EQ(get32(e + 4), 9);
			ASSERT_INT_EQ(e[8] | e[9] << 8, 0x000d);
			overrides++;
			break;
		case 4:
			ASSERT_INT_EQ(e[5], 1);         /* LINT1 */
			nmis++;
			break;
		default:
			ASSERT_TRUE(0);
		}
	}
	ASSERT_TRUE(e == end);
	ASSERT_INT_EQ(cpus, n);
	ASSERT_INT_EQ(ioapics, 1);
	ASSERT_INT_EQ(overrides, 1);
	ASSERT_INT_EQ(nmis, 1);
	acpi_vm_free(vm);
}

static void test_madt(void)
{
	check_madt(1);
	check_madt(3);
	check_madt(VM_MAX_VCPUS);
}

static void test_ports(void)
{
	struct vm *vm = acpi_vm(1);
	uint32_t v = 0;

	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_PM1_CNT, 2, false, &v));
	ASSERT_INT_EQ(v & 1, 1);                                /* SCI_EN: in ACPI mode */
	v = 0xffff;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_PM1_EVT, 2, false, &v));
	ASSERT_INT_EQ(v, 0);                                    /* PM1_STS: nothing pending */
	/* PM1_EN keeps what is enabled (ACPICA reads GBL_EN back), by word or by byte. */
	v = 0x0120;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_PM1_EVT + 2, 2, true, &v));
	v = 0;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_PM1_EVT + 2, 2, false, &v));
	ASSERT_INT_EQ(v, 0x0120);
	v = 0;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_PM1_EVT + 3, 1, false, &v));
	ASSERT_INT_EQ(v, 0x01);
	v = 0x00200000;                                         /* a dword at PM1_STS: EN in the upper half */
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_PM1_EVT, 4, false, &v));
	ASSERT_INT_EQ(v, 0x01200000);
	/* S5 without SLP_EN, other sleep types with it, the wrong reset value: nothing stops. */
	v = 5 << 10;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_PM1_CNT, 2, true, &v));
	v = 0x2000 | 3 << 10;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_PM1_CNT, 2, true, &v));
	v = 0x02;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_RESET_PORT, 1, true, &v));
	ASSERT_INT_EQ(vm->stop_status, -1);
	ASSERT_FALSE(acpi_io(vm, 0x608, 1, true, &v));          /* not ACPI's */
	/* The high byte of PM1_CNT on its own port, as a byte write: SLP_EN | S5 powers off. */
	v = (0x2000 | 5 << 10) >> 8;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_PM1_CNT + 1, 1, true, &v));
	ASSERT_INT_EQ(vm->stop_status, VM_STOP_POWEROFF);
	acpi_vm_free(vm);

	vm = acpi_vm(1);
	v = IOVM_ACPI_RESET_VALUE;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_RESET_PORT, 1, true, &v));
	ASSERT_INT_EQ(vm->stop_status, VM_STOP_SHUTDOWN);
	acpi_vm_free(vm);

	/* Linux's reboot=pci without ACPI: it reads the register, writes SYS_RST, then SYS_RST |
	 * RST_CPU | FULL_RST (a cold reset). The first only reads back; the second resets. */
	vm = acpi_vm(1);
	v = 0xff;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_RESET_PORT, 1, false, &v));
	ASSERT_INT_EQ(v, 0);
	v = 0x02;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_RESET_PORT, 1, true, &v));
	ASSERT_INT_EQ(vm->stop_status, -1);
	v = 0;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_RESET_PORT, 1, false, &v));
	ASSERT_INT_EQ(v, 0x02);
	v = 0x0e;
	ASSERT_TRUE(acpi_io(vm, IOVM_ACPI_RESET_PORT, 1, true, &v));
	ASSERT_INT_EQ(vm->stop_status, VM_STOP_SHUTDOWN);
	acpi_vm_free(vm);

	/* Only a byte access is the register: nothing answers a word at 0xcf9. */
	vm = acpi_vm(1);
	v = 0x0606;
	ASSERT_FALSE(acpi_io(vm, IOVM_ACPI_RESET_PORT, 2, true, &v));
	ASSERT_INT_EQ(vm->stop_status, -1);
	acpi_vm_free(vm);
}

UNIT_MAIN("vmm/acpi",
	  UNIT_TEST(test_rsdp_and_xsdt),
	  UNIT_TEST(test_fadt),
	  UNIT_TEST(test_dsdt),
	  UNIT_TEST(test_madt),
	  UNIT_TEST(test_ports))
