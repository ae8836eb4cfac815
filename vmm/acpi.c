/* SPDX-License-Identifier: MIT */
/*
 * The least ACPI a Linux guest needs to power off and reset cleanly (ACPI 6.4), written with
 * the MP table into the BIOS area iovm's e820 map reserves:
 *
 *   RSDP -> XSDT -> FADT -> FACS, DSDT
 *                -> MADT
 *
 *   - FADT: not hardware-reduced, so the PIT and 8259s stay what they are under the MP table.
 *     No SMI command port (ACPI mode is on from the start), no PM timer, no GPE blocks. The
 *     PM1a event block at port 0x600 and control block at 0x604 are iovm's: writing SLP_EN with
 *     the sleep type \_S5 names powers the VM off. RESET_REG is port 0xcf9 (value 6), the reset
 *     control register of a PC chipset (acpi_io()), which Linux also uses without ACPI. IAPC_BOOT_ARCH says there is no 8042, no VGA and no CMOS RTC, so Linux does
 *     not probe for them.
 *   - MADT: a local APIC per vCPU (ID = vCPU index), the IOAPIC (ISA IRQ n on GSI n, as KVM's
 *     default routes deliver them), SCI on IRQ 9 level-triggered, NMI on every LINT1.
 *   - DSDT: \_S5 (sleep type 5) and \_SB.PCI0, a PCI host bridge (PNP0A03) on bus 0 — with ACPI
 *     in charge Linux finds PCI roots only through the namespace. No _CRS (Linux then uses its
 *     default windows). Its _PRT wires INTA-INTD of slots 1-31 straight to IOAPIC pins 16-23
 *     (pci_intx_gsi(): no link devices), where a passed-through device's INTx arrives; iovm's
 *     own devices interrupt through MSI-X only.
 */
#include <stdio.h>
#include <string.h>

#include "vmm-internal.h"

#define RSDP_AT (IOVM_ACPI + 0x000)
#define XSDT_AT (IOVM_ACPI + 0x040)
#define FACS_AT (IOVM_ACPI + 0x080)     /* 64-byte aligned */
#define FADT_AT (IOVM_ACPI + 0x100)
#define MADT_AT (IOVM_ACPI + 0x300)
#define DSDT_AT (IOVM_ACPI + 0x500)

#define FADT_LEN 276
#define SLP_TYP_S5 5
#define PM1_SLP_EN 0x2000
#define PM1_SCI_EN 0x0001

/* A table's 36-byte header; the checksum is set by finish() once the body is there. */
static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "IOVKIT", 6);
	memcpy(t + 16, "IOVM    ", 8);
	put32(t + 24, 1);
	memcpy(t + 28, "IOVK", 4);
	put32(t + 32, 1);
}

static void finish(uint8_t *t)
{
	uint32_t len = (uint32_t)(t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24);

	t[9] = 0;
	t[9] = checksum8(t, len);
}

/* A Generic Address Structure for @width bits of system I/O at @port. */
static void gas_io(uint8_t *g, uint16_t port, uint8_t width)
{
	g[0] = 1;                               /* system I/O */
	g[1] = width;
	g[2] = 0;
	g[3] = width == 8 ? 1 : width == 16 ? 2 : 3;    /* access size: byte, word, dword */
	put64(g + 4, port);
}

/* AML (ACPI 6.4 §20.2.4): @op, the PkgLength of @body_len bytes (it counts itself: one byte up
 * to 63 in all, else two, up to 4095), then @body. */
static size_t aml_pkg(uint8_t *out, const uint8_t *op, size_t op_len, const uint8_t *body, size_t body_len)
{
	size_t n = op_len;

	memcpy(out, op, op_len);
	if (body_len + 1 <= 63) {
		out[n++] = (uint8_t)(body_len + 1);
	} else {
		out[n++] = (uint8_t)(0x40 | ((body_len + 2) & 0x0f));
		out[n++] = (uint8_t)((body_len + 2) >> 4);
	}
	memcpy(out + n, body, body_len);
	return n + body_len;
}

/* Name (_PRT, Package { Package (4) { 0xSSSSFFFF, pin, Zero, GSI }, ... }) for INTA-INTD (pins
 * 0-3) of slots 1-31: the GSI as the source, no link device (ACPI 6.4 §6.2.13). */
#define PRT_ENTRIES ((PCI_MAX_DEVS - 1) * 4)
#define PRT_ENTRY_LEN 13
static size_t prt_write(uint8_t *out)
{
	uint8_t body[1 + PRT_ENTRIES * PRT_ENTRY_LEN], *e = body + 1;

	body[0] = PRT_ENTRIES;                  /* NumElements */
	for (unsigned int slot = 1; slot < PCI_MAX_DEVS; slot++)
		for (unsigned int pin = 1; pin <= 4; pin++, e += PRT_ENTRY_LEN) {
			e[0] = 0x12, e[1] = PRT_ENTRY_LEN - 1, e[2] = 4;        /* Package (4) { */
			e[3] = 0x0c;                                            /*   DWordConst */
			put32(e + 4, slot << 16 | 0xffff);                      /*   (slot, any function), */
			e[8] = 0x0a, e[9] = (uint8_t)(pin - 1);                 /*   pin, */
			e[10] = 0x00;                                           /*   Zero: no link, */
			e[11] = 0x0a, e[12] = (uint8_t)pci_intx_gsi(slot, pin); /*   GSI } */
		}
	memcpy(out, (const uint8_t[]){ 0x08, '_', 'P', 'R', 'T' }, 5);
	return 5 + aml_pkg(out + 5, (const uint8_t[]){ 0x12 }, 1, body, sizeof(body));
}

static uint32_t dsdt_write(uint8_t *t)
{
	static const uint8_t s5[] = {
		0x08, '_', 'S', '5', '_',               /* Name (_S5, */
		0x12, 0x07, 0x04,                       /*   Package (4) { */
		0x0a, SLP_TYP_S5, 0x00, 0x00, 0x00,     /*     5, 0, 0, 0 }) */
	};
	static const uint8_t pci0[] = {
		'P', 'C', 'I', '0',
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03,  /* Name (_HID, EisaId ("PNP0A03")) */
		0x08, '_', 'U', 'I', 'D', 0x00,                         /* Name (_UID, Zero) */
		0x08, '_', 'B', 'B', 'N', 0x00,                         /* Name (_BBN, Zero) */
	};
	uint8_t body[sizeof(pci0) + 8 + 1 + PRT_ENTRIES * PRT_ENTRY_LEN], dev[sizeof(body) + 4], scope[sizeof(dev) + 5];
	uint8_t *aml = t + 36;
	size_t n_dev, n_scope;

	_Static_assert(DSDT_AT - IOVM_ACPI + 36 + sizeof(scope) + 3 + 13 <= IOVM_ACPI_SIZE, "the DSDT fits the ACPI area");
	memcpy(body, pci0, sizeof(pci0));
	n_dev = sizeof(pci0) + prt_write(body + sizeof(pci0));
	n_dev = aml_pkg(dev, (const uint8_t[]){ 0x5b, 0x82 }, 2, body, n_dev);               /* Device (PCI0) */
	memcpy(scope, "\\_SB_", 5);
	memcpy(scope + 5, dev, n_dev);
	n_scope = aml_pkg(aml, (const uint8_t[]){ 0x10 }, 1, scope, 5 + n_dev);             /* Scope (\_SB) */
	memcpy(aml + n_scope, s5, sizeof(s5));
	header(t, "DSDT", (uint32_t)(36 + n_scope + sizeof(s5)), 2);
	finish(t);
	return (uint32_t)(36 + n_scope + sizeof(s5));
}

static void madt_write(struct vm *vm, uint8_t *t)
{
	uint8_t *e = t + 44;

	put32(t + 36, 0xfee00000);              /* local APIC address */
	put32(t + 40, 1);                       /* PCAT_COMPAT: 8259s present */
	for (unsigned int cpu = 0; cpu < vm->n_vcpus; cpu++, e += 8) {
		e[0] = 0, e[1] = 8;             /* processor local APIC */
		e[2] = (uint8_t)cpu;            /* ACPI processor UID */
		e[3] = (uint8_t)cpu;            /* APIC ID: KVM's vCPU id */
		put32(e + 4, 1);                /* enabled */
	}
	e[0] = 1, e[1] = 12, e[2] = IOVM_IOAPIC_ID, e[3] = 0;
	put32(e + 4, 0xfec00000);
	put32(e + 8, 0);                        /* GSI base */
	e += 12;
	e[0] = 2, e[1] = 10, e[2] = 0, e[3] = 9;        /* ISA IRQ 9 (the SCI) ... */
	put32(e + 4, 9);                                /* ... on GSI 9, */
	put16(e + 8, 0x000d);                           /* active high, level-triggered */
	e += 10;
	e[0] = 4, e[1] = 6, e[2] = 0xff;                /* NMI on LINT1 of every processor */
	put16(e + 3, 0);
	e[5] = 1;
	e += 6;
	header(t, "APIC", (uint32_t)(e - t), 5);
	finish(t);
}

static void fadt_write(uint8_t *t)
{
	header(t, "FACP", FADT_LEN, 6);
	put32(t + 36, (uint32_t)FACS_AT);
	put32(t + 40, (uint32_t)DSDT_AT);
	put16(t + 46, 9);                       /* SCI_INT */
	put32(t + 56, IOVM_ACPI_PM1_EVT);       /* PM1a_EVT_BLK */
	put32(t + 64, IOVM_ACPI_PM1_CNT);       /* PM1a_CNT_BLK */
	t[88] = 4;                              /* PM1_EVT_LEN */
	t[89] = 2;                              /* PM1_CNT_LEN */
	put16(t + 96, 101);                     /* P_LVL2_LAT > 100: no C2 */
	put16(t + 98, 1001);                    /* P_LVL3_LAT > 1000: no C3 */
	put16(t + 109, 1 << 2 | 1 << 5);        /* IAPC_BOOT_ARCH: no VGA, no CMOS RTC; no 8042 */
	/* Flags: WBINVD, power and sleep buttons not fixed features, RESET_REG_SUP. */
	put32(t + 112, 1u << 0 | 1u << 4 | 1u << 5 | 1u << 10);
	gas_io(t + 116, IOVM_ACPI_RESET_PORT, 8);
	t[128] = IOVM_ACPI_RESET_VALUE;
	put64(t + 132, FACS_AT);                /* X_FIRMWARE_CTRL */
	put64(t + 140, DSDT_AT);                /* X_DSDT */
	gas_io(t + 148, IOVM_ACPI_PM1_EVT, 32); /* X_PM1a_EVT_BLK */
	gas_io(t + 172, IOVM_ACPI_PM1_CNT, 16); /* X_PM1a_CNT_BLK */
	memcpy(t + 268, "IOVKIT  ", 8);         /* hypervisor vendor identity */
	finish(t);
}

void acpi_write(struct vm *vm)
{
	uint8_t *ram = vm->ram, *rsdp = ram + RSDP_AT, *xsdt = ram + XSDT_AT, *facs = ram + FACS_AT;

	memset(ram + IOVM_ACPI, 0, IOVM_ACPI_SIZE);
	memcpy(facs, "FACS", 4);
	put32(facs + 4, 64);
	facs[32] = 2;                           /* version */
	fadt_write(ram + FADT_AT);
	madt_write(vm, ram + MADT_AT);
	dsdt_write(ram + DSDT_AT);

	header(xsdt, "XSDT", 36 + 2 * 8, 1);
	put64(xsdt + 36, FADT_AT);
	put64(xsdt + 44, MADT_AT);
	finish(xsdt);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "IOVKIT", 6);
	rsdp[15] = 2;                           /* revision: ACPI 2.0+, the XSDT */
	put32(rsdp + 20, 36);                   /* length */
	put64(rsdp + 24, XSDT_AT);
	rsdp[8] = checksum8(rsdp, 20);           /* the ACPI 1.0 part */
	rsdp[32] = checksum8(rsdp, 36);          /* the whole */
}

uint64_t acpi_rsdp(void)
{
	return RSDP_AT;
}

/*
 * Port 0xcf9 by the byte is a PC chipset's reset control register (RST_CNT in Intel's ICH9
 * datasheet; a dword at 0xcf8 is still PCI's CONFIG_ADDRESS): setting RST_CPU (bit 2) resets
 * the machine whatever comes with it: ACPI's RESET_VALUE 6, or Linux's reboot=pci, which
 * writes 2 and then 0xe (0x6 for a warm reset). SYS_RST (bit 1) and FULL_RST (bit 3) only
 * choose the kind of reset; they read back as written. RST_CPU never reads as set: the write
 * that sets it is the last the machine sees.
 */
#define RST_CNT_SYS_RST 0x02
#define RST_CNT_RST_CPU 0x04
#define RST_CNT_FULL_RST 0x08

bool acpi_io(struct vm *vm, uint16_t port, unsigned int len, bool write, uint32_t *val)
{
	if (port == IOVM_ACPI_RESET_PORT && len == 1) {
		if (write && (*val & RST_CNT_RST_CPU)) {
			if ((*val & 0xff) == IOVM_ACPI_RESET_VALUE)
				fprintf(stderr, "iovm: the guest reset the machine (ACPI reset register)\n");
			else
				fprintf(stderr, "iovm: the guest reset the machine (reset control register, port 0xcf9)\n");
			vm_stop(vm, VM_STOP_SHUTDOWN);
		} else if (write) {
			vm->rst_cnt = (uint8_t)(*val & (RST_CNT_SYS_RST | RST_CNT_FULL_RST));
		} else {
			*val = vm->rst_cnt;
		}
		return true;
	}
	if (port >= IOVM_ACPI_PM1_EVT && port < IOVM_ACPI_PM1_EVT + 4) {
		/* PM1_STS (+0, +1): no event is ever pending. PM1_EN (+2, +3): kept, as ACPICA reads
		 * back what it enabled (the global lock's GBL_EN). */
		unsigned int at = port - IOVM_ACPI_PM1_EVT;

		for (unsigned int i = 0; i < len && at + i < 4; i++) {
			unsigned int shift = 8 * (at + i - 2);

			if (at + i < 2) {
				if (!write)
					*val &= ~(0xffu << 8 * i);
			} else if (write) {
				vm->acpi_pm1_en = (uint16_t)((vm->acpi_pm1_en & ~(0xffu << shift)) |
							     ((*val >> 8 * i) & 0xff) << shift);
			} else {
				*val = (*val & ~(0xffu << 8 * i)) | (uint32_t)((vm->acpi_pm1_en >> shift) & 0xff) << 8 * i;
			}
		}
		return true;
	}
	if (port >= IOVM_ACPI_PM1_CNT && port < IOVM_ACPI_PM1_CNT + 2) {
		if (!write) {
			*val = port == IOVM_ACPI_PM1_CNT ? PM1_SCI_EN : 0;
		} else {
			uint32_t cnt = port == IOVM_ACPI_PM1_CNT ? *val : *val << 8;

			if ((cnt & PM1_SLP_EN) && ((cnt >> 10) & 7) == SLP_TYP_S5) {
				fprintf(stderr, "iovm: the guest powered off (ACPI S5)\n");
				vm_stop(vm, VM_STOP_POWEROFF);
			}
		}
		return true;
	}
	return false;
}
