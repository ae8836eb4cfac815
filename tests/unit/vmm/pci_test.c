/* SPDX-License-Identifier: MIT */
/*
 * iovm's PCI bus against PCI Local Bus 3.0: mechanism #1 (0xcf8/0xcfc with byte lanes),
 * read-only fields, the BAR sizing protocol, moves reported once, the capability list.
 */
#include "../helpers/unit.h"
#include "vmm-internal.h"

static unsigned int moved[6], n_moved;

static uint64_t bar_read(struct pci_dev *d, int bar, uint64_t off, unsigned int len)
{
	return 0x1000 * (uint64_t)bar + off + len;
}

static uint64_t last_write;

static void bar_write(struct pci_dev *d, int bar, uint64_t off, unsigned int len, uint64_t val)
{
	last_write = val ^ off;
}

static void bar_moved(struct pci_dev *d, int bar)
{
	moved[bar]++;
	n_moved++;
}

static const struct pci_dev_ops ops = { .bar_read = bar_read, .bar_write = bar_write, .bar_moved = bar_moved };

static void cfg_addr(struct pci_bus *bus, unsigned int slot, unsigned int off)
{
	pci_bus_io_write(bus, 0xcf8, 4, 0x80000000u | slot << 11 | off);
}

static void test_mechanism1(void)
{
	struct pci_bus bus;
	struct pci_dev d;

	pci_bus_init(&bus);
	pci_dev_init(&d, 0x1af4, 0x1041, 0x02000001, 0x1af4, 0x40);
	d.ops = &ops;
	ASSERT_OK(pci_bus_add(&bus, &d));
	ASSERT_INT_EQ(d.slot, 1);

	cfg_addr(&bus, 0, 0);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfc, 4), 0x12378086);     /* the host bridge */
	cfg_addr(&bus, 1, 0);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfc, 4), 0x10411af4);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfe, 2), 0x1041);           /* byte lanes */
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfd, 1), 0x1a);
	cfg_addr(&bus, 1, 8);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfc, 4), 0x02000001);
	/* The address register reads back what was written, with the reserved bits clear. */
	pci_bus_io_write(&bus, 0xcf8, 4, 0x80000803u);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcf8, 4), 0x80000800);

	/* Nothing there: empty slots, other buses, functions other than 0, decoding off. */
	cfg_addr(&bus, 7, 0);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfc, 4), 0xffffffffu);
	pci_bus_io_write(&bus, 0xcf8, 4, 0x80010800u);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfc, 4), 0xffffffffu);
	pci_bus_io_write(&bus, 0xcf8, 4, 0x80000900u);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfc, 4), 0xffffffffu);
	pci_bus_io_write(&bus, 0xcf8, 4, 0x00000800u);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfc, 4), 0xffffffffu);
	pci_bus_io_write(&bus, 0xcfc, 4, 0);                               /* ignored */
	cfg_addr(&bus, 1, 0);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfc, 4), 0x10411af4);
}

static void test_read_only_fields(void)
{
	struct pci_dev d;

	pci_dev_init(&d, 0x1af4, 0x1042, 0x01000001, 0x1af4, 0x40);
	pci_cfg_write(&d, 0, 4, 0xdeadbeef);                    /* IDs */
	pci_cfg_write(&d, 8, 4, 0);                             /* class */
	pci_cfg_write(&d, 0x34, 1, 0x80);                       /* capability pointer */
	ASSERT_INT_EQ(pci_cfg_read(&d, 0, 4), 0x10421af4);
	ASSERT_INT_EQ(pci_cfg_read(&d, 8, 4), 0x01000001);
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x34, 1), 0);
	/* Command: memory, I/O, bus master, INTx disable are writable; nothing else is. */
	pci_cfg_write(&d, 4, 2, 0xffff);
	ASSERT_INT_EQ(pci_cfg_read(&d, 4, 2), 0x0407);
	pci_cfg_write(&d, 0x3c, 1, 11);
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x3c, 1), 11);
	/* Out of range or odd sizes: all ones, nothing written. */
	ASSERT_INT_EQ(pci_cfg_read(&d, 256, 4), 0xffffffffu);
	ASSERT_INT_EQ(pci_cfg_read(&d, 254, 4), 0xffffffffu);
	pci_cfg_write(&d, 0x3c, 3, 0);
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x3c, 1), 11);
	pci_cfg_write(&d, 300, 4, 0);
}

static void test_bar_sizing_and_moves(void)
{
	struct pci_bus bus;
	struct pci_dev d;
	uint64_t v = 0;

	memset(moved, 0, sizeof(moved));
	n_moved = 0;
	pci_bus_init(&bus);
	pci_dev_init(&d, 0x1af4, 0x1041, 0x02000001, 0x1af4, 0x40);
	d.ops = &ops;
	pci_dev_set_bar(&d, 0, 0x4000, 0);
	ASSERT_OK(pci_bus_add(&bus, &d));
	/* Firmware's placement: in the window, aligned, decoding on, reported once. */
	ASSERT_INT_EQ(d.bars[0].addr, IOVM_MMIO_BASE);
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x10, 4), (uint32_t)IOVM_MMIO_BASE);
	ASSERT_TRUE(pci_mem_enabled(&d));
	ASSERT_INT_EQ(moved[0], 1);

	/* Sizing: all ones reads back the size mask and moves nothing; restoring is not a move. */
	pci_cfg_write(&d, 0x10, 4, 0xffffffffu);
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x10, 4), 0xffffc000u);
	ASSERT_INT_EQ(moved[0], 1);
	pci_cfg_write(&d, 0x10, 4, (uint32_t)IOVM_MMIO_BASE);
	ASSERT_INT_EQ(moved[0], 1);
	/* An unimplemented BAR stays 0. */
	pci_cfg_write(&d, 0x14, 4, 0xffffffffu);
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x14, 4), 0);
	/* A partial BAR write is ignored. */
	pci_cfg_write(&d, 0x10, 2, 0x1234);
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x10, 4), (uint32_t)IOVM_MMIO_BASE);

	/* A move: low bits dropped, reported, and accesses follow it. */
	pci_cfg_write(&d, 0x10, 4, 0xe0104567u);
	ASSERT_INT_EQ(d.bars[0].addr, 0xe0104000u);
	ASSERT_INT_EQ(moved[0], 2);
	ASSERT_FALSE(pci_bus_mmio(&bus, IOVM_MMIO_BASE, 4, false, &v));
	ASSERT_TRUE(pci_bus_mmio(&bus, 0xe0104010u, 4, false, &v));
	ASSERT_INT_EQ(v, 0x10 + 4);
	/* An access straddling the BAR's end is not the BAR's. */
	ASSERT_FALSE(pci_bus_mmio(&bus, 0xe0104000u + 0x4000 - 2, 4, false, &v));
	v = 0x55;
	ASSERT_TRUE(pci_bus_mmio(&bus, 0xe0104008u, 4, true, &v));
	ASSERT_INT_EQ(last_write, 0x55 ^ 8);

	/* Memory decoding off: the BAR answers nothing, and its users hear about it. */
	pci_cfg_write(&d, 4, 2, 0);
	ASSERT_INT_EQ(moved[0], 3);
	ASSERT_FALSE(pci_bus_mmio(&bus, 0xe0104010u, 4, false, &v));
}

/* An I/O BAR beside a memory BAR: firmware places it in port space, sizing answers with bit 0
 * set and 16 address bits, ports reach it only while I/O decoding is on, memory never does. */
static void test_io_bar(void)
{
	struct pci_bus bus;
	struct pci_dev d;
	uint64_t v = 0;

	pci_bus_init(&bus);
	pci_dev_init(&d, 0x4348, 0x3253, 0x07000200, 0x4348, 0x3253);
	d.ops = &ops;
	pci_dev_set_bar_io(&d, 0, 8, 0);
	pci_dev_set_bar(&d, 1, 0x1000, 0);
	ASSERT_OK(pci_bus_add(&bus, &d));
	ASSERT_TRUE(d.bars[0].io);
	ASSERT_INT_EQ(d.bars[0].addr, 0xc000);
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x10, 4), 0xc001);
	ASSERT_INT_EQ(d.bars[1].addr, IOVM_MMIO_BASE);
	ASSERT_INT_EQ(pci_cfg_read(&d, 4, 2) & 3, 3);          /* I/O and memory decoding on */

	pci_cfg_write(&d, 0x10, 4, 0xffffffffu);
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x10, 4), 0xfff9);       /* 8 ports */
	pci_cfg_write(&d, 0x10, 4, 0xd013);                     /* a move: the low bits go */
	ASSERT_INT_EQ(d.bars[0].addr, 0xd010);
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x10, 4), 0xd011);

	ASSERT_TRUE(pci_bus_pio(&bus, 0xd015, 1, false, &v));
	ASSERT_INT_EQ(v, 5 + 1);                                /* the BAR's offset 5, 1 byte */
	v = 0x41;
	ASSERT_TRUE(pci_bus_pio(&bus, 0xd010, 1, true, &v));
	ASSERT_INT_EQ(last_write, 0x41);
	ASSERT_FALSE(pci_bus_pio(&bus, 0xd018, 1, false, &v)); /* past it */
	ASSERT_FALSE(pci_bus_pio(&bus, 0xd016, 4, false, &v)); /* straddling its end */
	ASSERT_FALSE(pci_bus_pio(&bus, 0xc000, 1, false, &v)); /* where it was */
	ASSERT_FALSE(pci_bus_mmio(&bus, 0xd010, 1, false, &v)); /* not memory */
	ASSERT_TRUE(pci_bus_mmio(&bus, IOVM_MMIO_BASE, 4, false, &v));

	pci_cfg_write(&d, 4, 2, 2);                             /* I/O decoding off, memory on */
	ASSERT_FALSE(pci_bus_pio(&bus, 0xd010, 1, false, &v));
	ASSERT_TRUE(pci_bus_mmio(&bus, IOVM_MMIO_BASE, 4, false, &v));
}

/* The MSI-X table emulation the models share (PCI 3.0 6.8.2): dword and qword accesses,
 * only the mask bit of vector control kept, misaligned or outside writes ignored. */
static void test_msix_table(void)
{
	struct msix_entry t[2] = { { .ctrl = 1 }, { .ctrl = 1 } };

	ASSERT_INT_EQ(msix_table_write(t, 2, 16, 8, 0xfee00000ull), 1);
	ASSERT_INT_EQ(msix_table_write(t, 2, 24, 4, 0x4242), 1);
	ASSERT_INT_EQ(msix_table_write(t, 2, 28, 4, 0xfffffffe), 1);    /* unmask; reserved bits drop */
	ASSERT_INT_EQ(t[1].addr, 0xfee00000ull);
	ASSERT_INT_EQ(t[1].data, 0x4242);
	ASSERT_INT_EQ(t[1].ctrl, 0);
	ASSERT_INT_EQ(msix_table_read(t, 2, 16, 4), 0xfee00000u);
	ASSERT_INT_EQ(msix_table_read(t, 2, 24, 8), 0x4242);
	ASSERT_INT_EQ(msix_table_read(t, 2, 12, 4), 1);                 /* entry 0 still masked */
	ASSERT_INT_EQ(msix_table_read(t, 2, 31, 1), 0);
	ASSERT_INT_EQ(msix_table_write(t, 2, 18, 4, 0), -1);            /* misaligned */
	ASSERT_INT_EQ(msix_table_write(t, 2, 16, 2, 0), -1);            /* not a dword or qword */
	ASSERT_INT_EQ(msix_table_write(t, 2, 32, 4, 0), -1);            /* past the table */
	ASSERT_INT_EQ(msix_table_read(t, 2, 32, 4), 0);
	ASSERT_INT_EQ(t[1].addr, 0xfee00000ull);
}

static void test_capability_list(void)
{
	struct pci_dev d;
	uint8_t a[8] = { 0x09, 0, 8, 1 }, b[12] = { 0x11, 0xee, 0xaa };
	uint8_t first, second;

	pci_dev_init(&d, 0x1af4, 0x1041, 0x02000001, 0x1af4, 0x40);
	ASSERT_INT_EQ(pci_cfg_read(&d, 6, 2) & 0x10, 0);
	first = pci_add_cap(&d, a, sizeof(a));
	second = pci_add_cap(&d, b, sizeof(b));
	ASSERT_INT_EQ(pci_cfg_read(&d, 6, 2) & 0x10, 0x10);     /* status: capabilities list */
	ASSERT_INT_EQ(pci_cfg_read(&d, 0x34, 1), first);
	ASSERT_INT_EQ(pci_cfg_read(&d, first + 1, 1), second);
	ASSERT_INT_EQ(pci_cfg_read(&d, second, 1), 0x11);
	ASSERT_INT_EQ(pci_cfg_read(&d, second + 1, 1), 0);      /* the caller's next byte is not kept */
	ASSERT_INT_EQ(pci_cfg_read(&d, second + 2, 1), 0xaa);
	ASSERT_INT_EQ(first & 3, 0);
	ASSERT_INT_EQ(second & 3, 0);
}

static void test_bus_full(void)
{
	static struct pci_dev devs[PCI_MAX_DEVS];
	struct pci_bus bus;

	pci_bus_init(&bus);
	for (int i = 1; i < PCI_MAX_DEVS; i++) {
		pci_dev_init(&devs[i], 0x1af4, 0x1041, 0x02000001, 0x1af4, 0x40);
		ASSERT_OK(pci_bus_add(&bus, &devs[i]));
	}
	pci_dev_init(&devs[0], 0x1af4, 0x1041, 0x02000001, 0x1af4, 0x40);
	ASSERT_ERR(pci_bus_add(&bus, &devs[0]), ENOSPC);
}

static unsigned int refreshes, refreshed_off, refreshed_len;

/* A model whose status register changes by itself (as a passed-through device's does). */
static void cfg_read_hook(struct pci_dev *d, unsigned int off, unsigned int len)
{
	refreshes++;
	refreshed_off = off;
	refreshed_len = len;
	d->cfg[0x06] = (uint8_t)(0x08 * (refreshes & 1));       /* Interrupt Status, toggling */
}

/* A read asks the model first, with the offset and length the guest read; what it refreshed
 * is what the guest gets. */
static void test_cfg_read_refresh(void)
{
	static const struct pci_dev_ops refreshing = { .bar_read = bar_read, .bar_write = bar_write,
						       .cfg_read = cfg_read_hook };
	struct pci_bus bus;
	struct pci_dev d;

	pci_bus_init(&bus);
	pci_dev_init(&d, 0x1b36, 0x0005, 0x00ff0010, 0x1af4, 0x1100);
	d.ops = &refreshing;
	ASSERT_OK(pci_bus_add(&bus, &d));
	refreshes = 0;
	cfg_addr(&bus, d.slot, 4);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfe, 2) & 0x08, 0x08);    /* status: first refresh */
	ASSERT_INT_EQ(refreshed_off, 6);
	ASSERT_INT_EQ(refreshed_len, 2);
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfe, 2) & 0x08, 0);       /* and the next */
	ASSERT_INT_EQ(pci_bus_io_read(&bus, 0xcfc, 4) >> 16 & 0x08, 0x08);
	ASSERT_INT_EQ(refreshed_off, 4);
	ASSERT_INT_EQ(refreshed_len, 4);
	ASSERT_INT_EQ(refreshes, 3);
	/* Out of range: answered all ones without asking the model. */
	ASSERT_INT_EQ(pci_cfg_read(&d, 254, 4), 0xffffffffu);
	ASSERT_INT_EQ(refreshes, 3);
}

/* The parts of a passed-through BAR that memory slots map, around an MSI-X table iovm emulates. */
static void test_bar_slot_ranges(void)
{
	static const struct {
		struct bar_range areas[2];
		unsigned int n;
		uint64_t hole, hole_len;
		struct bar_range want[3];
		unsigned int n_want;
	} cases[] = {
		/* A 16 KiB BAR mappable whole, the table (16 entries) in its third page. */
		{ { { 0, 0x4000 } }, 1, 0x2000, 0x100, { { 0, 0x2000 }, { 0x3000, 0x1000 } }, 2 },
		/* No table: the whole BAR. */
		{ { { 0, 0x4000 } }, 1, 0, 0, { { 0, 0x4000 } }, 1 },
		/* The table first, last, or inside one page in the middle of it (NVMe's). */
		{ { { 0, 0x4000 } }, 1, 0, 0x100, { { 0x1000, 0x3000 } }, 1 },
		{ { { 0, 0x4000 } }, 1, 0x3f00, 0x100, { { 0, 0x3000 } }, 1 },
		{ { { 0, 0x4000 } }, 1, 0x2040, 0x40, { { 0, 0x2000 }, { 0x3000, 0x1000 } }, 2 },
		/* A table across a page boundary takes both pages. */
		{ { { 0, 0x4000 } }, 1, 0xf80, 0x100, { { 0x2000, 0x2000 } }, 1 },
		/* 2048 entries (32 KiB) from 0x1000 of a 64 KiB BAR. */
		{ { { 0, 0x10000 } }, 1, 0x1000, 0x8000, { { 0, 0x1000 }, { 0x9000, 0x7000 } }, 2 },
		/* A table filling the BAR: nothing to map. */
		{ { { 0, 0x1000 } }, 1, 0, 0x1000, { { 0 } }, 0 },
		/* Sparse areas that already leave the table out (kernel VFIO without MSIX_MAPPABLE). */
		{ { { 0, 0x2000 }, { 0x3000, 0x1000 } }, 2, 0x2000, 0x100, { { 0, 0x2000 }, { 0x3000, 0x1000 } }, 2 },
		/* Areas not on page boundaries are trimmed inward; one smaller than a page vanishes. */
		{ { { 0x100, 0x2000 }, { 0x3010, 0xf0 } }, 2, 0, 0, { { 0x1000, 0x1000 } }, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bar_range out[4];
		unsigned int k = bar_slot_ranges(cases[i].areas, cases[i].n, cases[i].hole, cases[i].hole_len, 0x1000, out, 4);

		unit_check(k == cases[i].n_want, __LINE__, __FILE__, "case %zu: %u ranges, expected %u", i, k,
			   cases[i].n_want);
		for (unsigned int j = 0; j < k && j < cases[i].n_want; j++)
			unit_check(out[j].off == cases[i].want[j].off && out[j].len == cases[i].want[j].len, __LINE__,
				   __FILE__, "case %zu range %u: 0x%llx+0x%llx, expected 0x%llx+0x%llx", i, j,
				   (unsigned long long)out[j].off, (unsigned long long)out[j].len,
				   (unsigned long long)cases[i].want[j].off, (unsigned long long)cases[i].want[j].len);
	}
	/* No more than asked for. */
	ASSERT_INT_EQ(bar_slot_ranges((struct bar_range[]){ { 0, 0x4000 } }, 1, 0x1000, 0x10, 0x1000,
				      (struct bar_range[1]){ { 0 } }, 1), 1);
}

UNIT_MAIN("vmm/pci",
	  UNIT_TEST(test_mechanism1),
	  UNIT_TEST(test_read_only_fields),
	  UNIT_TEST(test_bar_sizing_and_moves),
	  UNIT_TEST(test_io_bar),
	  UNIT_TEST(test_msix_table),
	  UNIT_TEST(test_capability_list),
	  UNIT_TEST(test_bus_full),
	  UNIT_TEST(test_bar_slot_ranges),
	  UNIT_TEST(test_cfg_read_refresh))
