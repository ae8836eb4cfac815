/* SPDX-License-Identifier: MIT */
/*
 * PCI bus 0 as configuration mechanism #1 shows it (PCI Local Bus 3.0 section 3.2.2.3.2): a
 * host bridge in slot 0 and type-0 functions after it. Configuration space is a byte array
 * with a write mask, so the guest changes only what the specification lets it change; BARs
 * answer the sizing protocol (write all ones, read back the size mask) and may be moved.
 */
#include <errno.h>
#include <string.h>

#include "vmm-internal.h"

#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_BAR_IO 0x1
#define PCI_IO_BASE 0xc000    /* firmware places I/O BARs from here, as PC firmware does */
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3c

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_rev,
		  uint16_t sub_vendor, uint16_t sub_device)
{
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->wmask, 0, sizeof(d->wmask));
	memset(d->bars, 0, sizeof(d->bars));
	pthread_mutex_init(&d->lock, NULL);
	put16(d->cfg + 0x00, vendor);
	put16(d->cfg + 0x02, device);
	put32(d->cfg + 0x08, class_rev);
	put16(d->cfg + 0x2c, sub_vendor);
	put16(d->cfg + 0x2e, sub_device);
	/* Command: I/O, memory, bus master, INTx disable are the guest's; the rest reads 0. */
	put16(d->wmask + PCI_COMMAND, 0x0407);
	d->wmask[PCI_INT_LINE] = 0xff;
	d->cfg[0x3d] = 0;       /* no INTx pin: these devices interrupt by MSI-X */
	d->next_cap = 0x40;
}

void pci_dev_set_bar(struct pci_dev *d, int bar, uint32_t size, uint64_t addr)
{
	d->bars[bar] = (struct pci_bar){ .size = size, .addr = addr };
	put32(d->cfg + PCI_BAR0 + 4 * bar, (uint32_t)addr);     /* memory, 32-bit, not prefetchable */
}

void pci_dev_set_bar_io(struct pci_dev *d, int bar, uint32_t size, uint16_t port)
{
	d->bars[bar] = (struct pci_bar){ .size = size, .addr = port, .io = true };
	put32(d->cfg + PCI_BAR0 + 4 * bar, port | PCI_BAR_IO);
}

uint8_t pci_add_cap(struct pci_dev *d, const void *body, uint8_t len)
{
	uint8_t off = d->next_cap, *link = d->cfg + PCI_CAP_PTR;

	while (*link)
		link = d->cfg + *link + 1;
	*link = off;
	memcpy(d->cfg + off, body, len);
	d->cfg[off + 1] = 0;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->next_cap = (uint8_t)((off + len + 3) & ~3u);
	return off;
}

bool pci_mem_enabled(const struct pci_dev *d)
{
	return d->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY;
}

static bool io_enabled(const struct pci_dev *d)
{
	return d->cfg[PCI_COMMAND] & PCI_COMMAND_IO;
}

uint32_t pci_cfg_read(struct pci_dev *d, unsigned int off, unsigned int len)
{
	uint32_t v = 0;

	if (off >= sizeof(d->cfg) || len > 4 || off + len > sizeof(d->cfg))
		return 0xffffffffu;
	if (d->ops && d->ops->cfg_read)
		d->ops->cfg_read(d, off, len);
	for (unsigned int i = 0; i < len; i++)
		v |= (uint32_t)d->cfg[off + i] << (8 * i);
	return v;
}

/* A write into the BAR registers: sizing (all ones) or a move; whole registers only. */
static void bar_write(struct pci_dev *d, int bar, uint32_t val)
{
	struct pci_bar *b = &d->bars[bar];
	uint32_t reg;

	if (!b->size)
		return;                 /* an unimplemented BAR is hardwired to 0 */
	/* Memory: the address bits the size leaves; I/O: the same below 64 Ki, bit 0 set. */
	reg = b->io ? (val & ~(b->size - 1) & 0xfffcu) | PCI_BAR_IO : (val & ~(b->size - 1)) & ~0xfu;
	put32(d->cfg + PCI_BAR0 + 4 * bar, reg);
	if (val == 0xffffffffu)
		return;                 /* sizing: the next read answers the mask; nothing moved */
	if ((reg & ~(uint32_t)PCI_BAR_IO) != b->addr) {
		b->addr = reg & ~(uint32_t)PCI_BAR_IO;
		if (d->ops && d->ops->bar_moved)
			d->ops->bar_moved(d, bar);
	}
}

/* Every implemented BAR's users hear that it moved (decoding switched, or firmware placed it). */
static void bars_moved(struct pci_dev *d)
{
	if (!d->ops || !d->ops->bar_moved)
		return;
	for (int bar = 0; bar < 6; bar++)
		if (d->bars[bar].size)
			d->ops->bar_moved(d, bar);
}

void pci_cfg_write(struct pci_dev *d, unsigned int off, unsigned int len, uint32_t val)
{
	bool mem_before = pci_mem_enabled(d), io_before = io_enabled(d);

	if (off >= sizeof(d->cfg) || off + len > sizeof(d->cfg) || (len != 1 && len != 2 && len != 4))
		return;
	if (off >= PCI_BAR0 && off < PCI_BAR0 + 24) {
		if (len == 4 && !(off & 3))
			bar_write(d, (int)(off - PCI_BAR0) / 4, val);
		return;
	}
	for (unsigned int i = 0; i < len; i++) {
		uint8_t m = d->wmask[off + i], b = (uint8_t)(val >> (8 * i));

		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~m) | (b & m));
	}
	if (mem_before != pci_mem_enabled(d) || io_before != io_enabled(d))
		bars_moved(d);
	if (d->ops && d->ops->cfg_written)
		d->ops->cfg_written(d, off, len);
}

void pci_bus_init(struct pci_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	/* Intel 440FX's host bridge IDs: what guests expect to find in slot 0. */
	pci_dev_init(&bus->bridge, 0x8086, 0x1237, 0x06000002, 0, 0);
	bus->devs[0] = &bus->bridge;
	bus->next_mmio = IOVM_MMIO_BASE;
	bus->next_io = PCI_IO_BASE;
}

int pci_bus_add(struct pci_bus *bus, struct pci_dev *d)
{
	for (unsigned int slot = 1; slot < PCI_MAX_DEVS; slot++) {
		if (bus->devs[slot])
			continue;
		bus->devs[slot] = d;
		d->slot = slot;
		/* As firmware does: place the BARs, naturally aligned, and turn decoding on. */
		for (int bar = 0; bar < 6; bar++) {
			uint32_t size = d->bars[bar].size;

			if (!size)
				continue;
			if (d->bars[bar].io) {
				bus->next_io = (bus->next_io + size - 1) & ~(size - 1);
				if (bus->next_io + size > 0x10000)
					continue;       /* out of ports: left unplaced, at 0 */
				pci_dev_set_bar_io(d, bar, size, (uint16_t)bus->next_io);
				bus->next_io += size;
				continue;
			}
			bus->next_mmio = (bus->next_mmio + size - 1) & ~(uint64_t)(size - 1);
			pci_dev_set_bar(d, bar, size, bus->next_mmio);
			bus->next_mmio += size;
		}
		d->cfg[PCI_COMMAND] |= PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
		bars_moved(d);
		return 0;
	}
	return -ENOSPC;
}

/* The function an 0xcf8 address selects, or NULL (bus != 0, function != 0, empty slot, disabled). */
static struct pci_dev *selected(struct pci_bus *bus)
{
	uint32_t a = bus->addr;

	if (!(a & 0x80000000u) || ((a >> 16) & 0xff) || ((a >> 8) & 7))
		return NULL;
	return bus->devs[(a >> 11) & 0x1f];
}

uint32_t pci_bus_io_read(struct pci_bus *bus, uint16_t port, unsigned int len)
{
	struct pci_dev *d;
	uint32_t v;

	if (port == 0xcf8 && len == 4)
		return bus->addr;
	if (port < 0xcfc || port + len > 0xd00)
		return 0xffffffffu;
	d = selected(bus);
	if (!d)
		return 0xffffffffu;
	pthread_mutex_lock(&d->lock);
	v = pci_cfg_read(d, (bus->addr & 0xfc) + (port & 3u), len);
	pthread_mutex_unlock(&d->lock);
	return v;
}

void pci_bus_io_write(struct pci_bus *bus, uint16_t port, unsigned int len, uint32_t val)
{
	struct pci_dev *d;

	if (port == 0xcf8 && len == 4) {
		bus->addr = val & 0x80fffffcu;
		return;
	}
	if (port < 0xcfc || port + len > 0xd00)
		return;
	d = selected(bus);
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	pci_cfg_write(d, (bus->addr & 0xfc) + (port & 3u), len, val);
	pthread_mutex_unlock(&d->lock);
}

bool pci_bus_mmio(struct pci_bus *bus, uint64_t addr, unsigned int len, bool write, uint64_t *val)
{
	for (unsigned int slot = 1; slot < PCI_MAX_DEVS; slot++) {
		struct pci_dev *d = bus->devs[slot];

		if (!d || !pci_mem_enabled(d) || !d->ops)
			continue;
		for (int bar = 0; bar < 6; bar++) {
			struct pci_bar *b = &d->bars[bar];

			if (!b->size || b->io || addr < b->addr || addr + len > b->addr + b->size)
				continue;
			pthread_mutex_lock(&d->lock);
			if (write)
				d->ops->bar_write(d, bar, addr - b->addr, len, *val);
			else
				*val = d->ops->bar_read(d, bar, addr - b->addr, len);
			pthread_mutex_unlock(&d->lock);
			return true;
		}
	}
	return false;
}

bool pci_bus_pio(struct pci_bus *bus, uint16_t port, unsigned int len, bool write, uint64_t *val)
{
	for (unsigned int slot = 1; slot < PCI_MAX_DEVS; slot++) {
		struct pci_dev *d = bus->devs[slot];

		if (!d || !io_enabled(d) || !d->ops)
			continue;
		for (int bar = 0; bar < 6; bar++) {
			struct pci_bar *b = &d->bars[bar];

			if (!b->size || !b->io || !b->addr || port < b->addr || port + len > b->addr + b->size)
				continue;
			pthread_mutex_lock(&d->lock);
			if (write)
				d->ops->bar_write(d, bar, port - b->addr, len, *val);
			else
				*val = d->ops->bar_read(d, bar, port - b->addr, len);
			pthread_mutex_unlock(&d->lock);
			return true;
		}
	}
	return false;
}

/* An entry as the guest sees it: address, data, vector control (only the mask bit defined). */
uint64_t msix_table_read(const struct msix_entry *t, unsigned int n, uint64_t off, unsigned int len)
{
	uint8_t e[16];
	uint64_t v = 0;

	if (off + len > 16ull * n || len > 8 || (off & 15) + len > 16)
		return 0;
	put64(e, t[off / 16].addr);
	put32(e + 8, t[off / 16].data);
	put32(e + 12, t[off / 16].ctrl);
	memcpy(&v, e + (off & 15), len);
	return v;
}

int msix_table_write(struct msix_entry *t, unsigned int n, uint64_t off, unsigned int len, uint64_t val)
{
	struct msix_entry *m;
	uint8_t e[16];

	if (off + len > 16ull * n || (len != 4 && len != 8) || (off & (len - 1)))
		return -1;
	m = &t[off / 16];
	put64(e, m->addr);
	put32(e + 8, m->data);
	put32(e + 12, m->ctrl);
	memcpy(e + (off & 15), &val, len);
	m->addr = get64(e);
	m->data = get32(e + 8);
	m->ctrl = get32(e + 12) & 1;
	return (int)(off / 16);
}

static void range_put(uint64_t lo, uint64_t hi, struct bar_range *out, unsigned int max, unsigned int *k)
{
	if (lo < hi && *k < max)
		out[(*k)++] = (struct bar_range){ lo, hi - lo };
}

unsigned int bar_slot_ranges(const struct bar_range *areas, unsigned int n, uint64_t hole, uint64_t hole_len,
			     uint64_t page, struct bar_range *out, unsigned int max)
{
	/* The hole's pages, rounded outward; the areas' pages, rounded inward. */
	uint64_t hole_lo = hole / page * page, hole_hi = hole_len ? (hole + hole_len + page - 1) / page * page : 0;
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t lo = (areas[i].off + page - 1) / page * page, hi = (areas[i].off + areas[i].len) / page * page;

		if (lo >= hi)
			continue;
		if (hole_lo >= hole_hi || hole_hi <= lo || hole_lo >= hi) {
			range_put(lo, hi, out, max, &k);
			continue;
		}
		range_put(lo, hole_lo, out, max, &k);          /* before the hole */
		range_put(hole_hi, hi, out, max, &k);          /* after it */
	}
	return k;
}
