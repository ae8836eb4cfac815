/* SPDX-License-Identifier: MIT */
/*
 * PCI passthrough: a device reached through vfio-core — over vfio-user (--vfio-user SOCK, any
 * server speaking QEMU's docs/interop/vfio-user.rst) or kernel VFIO (--vfio BDF) — appears in
 * the guest as a PCI function on iovm's bus.
 *
 *   - Guest RAM is mapped for the device's DMA at IOVA = guest-physical address (the memfd
 *     goes to a vfio-user server, which maps it itself).
 *   - Configuration space is the device's: a write the model does not virtualize is forwarded
 *     and the bytes read back, so the device's own read-only bits stay read-only, and a read
 *     of the device's bytes comes from the device (status bits change by themselves).
 *     Virtualized: the BARs (iovm places them; the sizing protocol is answered from the
 *     region sizes), the expansion ROM (absent), the interrupt pin and line (INTx, below),
 *     and the MSI capability, which becomes a KVM MSI route fed by an irqfd that the
 *     device's MSI eventfd signals: no exit per interrupt. MSI-X too: the
 *     capability's control word and the table are iovm's (the table's pages are never in a
 *     memory slot), each vector the guest uses an eventfd VFIO signals and, while the
 *     guest has it unmasked, an irqfd on a KVM MSI route with the guest's address and data;
 *     a masked vector's interrupt waits in its eventfd and KVM delivers it on unmask; VFIO
 *     is given the vectors up to the highest the guest has unmasked, the whole table if it
 *     uses it (msix_vfio_set). The PBA is read from the device. Extended capabilities are
 *     hidden from the guest.
 *   - INTx, while neither MSI nor MSI-X is on: the device's pin on IOAPIC pin (GSI) 16 + (slot
 *     + pin - 1) % 8, written to the interrupt line register as firmware would. VFIO's
 *     trigger eventfd is a level-triggered KVM irqfd whose resample eventfd (the guest's EOI)
 *     is VFIO's unmask eventfd: the line is asserted, acknowledged and re-armed with no exit.
 *   - What the device lets this process mmap of a memory BAR (kernel VFIO's BARs, whole or in
 *     sparse areas; a vfio-user server's regions with a file) is mapped straight into the
 *     guest with KVM memory slots wherever the guest places the BAR while memory decoding is
 *     on, less the pages of an MSI-X table in it: accesses there never leave the guest. The
 *     rest — the table's pages, BARs that cannot be mapped, a part whose slot KVM refuses (a
 *     guest that overlaps BARs) — is trapped: each access is a region read or write on the
 *     device. I/O BARs (ports, 4 to 256 of them) are always trapped; iovm's firmware places
 *     them from port 0xc000.
 *
 * Threat model: the device (or the vfio-user server behind it) is trusted as much as the guest
 * that owns it: it can write all of the guest's RAM, nothing else. A server that fails or
 * disappears makes accesses read as all ones and drops writes, as a surprise-removed device
 * does; iovm keeps running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iovkit/vfio.h"
#include "vmm-internal.h"

#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_BAR0 0x10
#define PCI_ROM 0x30
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3c
#define PCI_INT_PIN 0x3d
#define CAP_MSI 0x05
#define CAP_MSIX 0x11
#define MSI_64BIT 0x0080
#define MSI_MASKABLE 0x0100
#define MSIX_ENABLE 0x8000
#define MSIX_MASKALL 0x4000
#define VFIO_MAPS 8                     /* memory slots for mapped parts of BARs, per device */

/* A part of a BAR mapped into this process, for a memory slot. */
struct bar_slot {
	int bar;
	uint64_t off;                   /* where in the BAR */
	void *map;
	size_t len;
	int slot;
	uint64_t gpa;                   /* where the slot maps it now; 0: unmapped (trapped) */
};

struct vfio_dev {
	struct pci_dev pci;             /* first: the PCI callbacks get this */
	struct vm *vm;
	char name[128];
	struct iov_ctx *ctx;
	struct iov_vfio_container *c;
	struct iov_vfio_device *dev;
	bool virt[256];                 /* this byte is iovm's, not the device's */
	uint8_t msi;                    /* the MSI capability's offset; 0: none */
	int msi_efd, msi_gsi;
	bool msi_on;
	uint8_t msix;                   /* the MSI-X capability's offset; 0: none */
	unsigned int msix_n;            /* its table's entries */
	int msix_bar;                   /* where the table is: BAR and offset */
	uint32_t msix_off;
	struct msix_entry *msix_tab;    /* the table as the guest programmed it */
	struct msix_vec {               /* each vector's plumbing, made when the guest first uses it */
		int efd, gsi;           /* -1: none yet */
		bool routed;            /* the irqfd is assigned */
	} *msix_vec;
	unsigned int msix_nvec;         /* vectors VFIO signals; 0: MSI-X is off there */
	int msix_grow;                  /* VFIO adds vectors while MSI-X is on: 1 yes, 0 no, -1 untried */
	bool msix_warned;
	uint8_t intx_pin;               /* INTA..INTD (1-4); 0: no INTx */
	int intx_gsi, intx_efd, intx_unmask_efd;
	bool intx_on;
	bool dead;                      /* the device stopped answering: logged once */
	struct bar_slot map[VFIO_MAPS];
	unsigned int n_maps;
	bool refused[6];                /* KVM refused a slot of this BAR: logged once */
};

static void gone(struct vfio_dev *v, const char *what, ssize_t r)
{
	if (v->dead)
		return;
	v->dead = true;
	fprintf(stderr, "iovm: %s: %s failed (%s); its accesses now read all ones\n", v->name, what,
		strerror((int)-r));
}

static bool in_msix_table(const struct vfio_dev *v, int bar, uint64_t off)
{
	return v->msix && bar == v->msix_bar && off >= v->msix_off && off < v->msix_off + 16ull * v->msix_n;
}

static void msix_update(struct vfio_dev *v);

/* INTx on while neither MSI nor MSI-X is (VFIO takes one kind at a time), off otherwise. */
static void intx_update(struct vfio_dev *v)
{
	bool want = v->intx_pin && !v->msi_on && !v->msix_nvec;
	int r = 0;

	if (want == v->intx_on)
		return;
	if (want) {
		r = iov_vfio_irq_set_eventfds(v->dev, IOV_VFIO_IRQ_INTX, 0, 1, &v->intx_efd);
		if (r == 0)
			r = iov_vfio_irq_unmask_eventfd(v->dev, IOV_VFIO_IRQ_INTX, 0, v->intx_unmask_efd);
	} else {
		r = iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_INTX);
	}
	if (r < 0)
		fprintf(stderr, "iovm: %s: %s its INTx: %s\n", v->name, want ? "enabling" : "disabling", strerror(-r));
	else
		v->intx_on = want;
}

static uint64_t bar_read(struct pci_dev *d, int bar, uint64_t off, unsigned int len)
{
	struct vfio_dev *v = (struct vfio_dev *)d;
	uint64_t val = 0;
	ssize_t r;

	if (in_msix_table(v, bar, off))
		return msix_table_read(v->msix_tab, v->msix_n, off - v->msix_off, len);
	r = iov_vfio_region_read(v->dev, (uint32_t)bar, off, &val, len);

	if (r != (ssize_t)len) {
		gone(v, "a BAR read", r < 0 ? r : -EIO);
		return ~0ull;
	}
	return val;
}

static void bar_write(struct pci_dev *d, int bar, uint64_t off, unsigned int len, uint64_t val)
{
	struct vfio_dev *v = (struct vfio_dev *)d;
	ssize_t r;

	if (in_msix_table(v, bar, off)) {
		if (msix_table_write(v->msix_tab, v->msix_n, off - v->msix_off, len, val) >= 0)
			msix_update(v);
		return;
	}
	r = iov_vfio_region_write(v->dev, (uint32_t)bar, off, &val, len);

	if (r != (ssize_t)len)
		gone(v, "a BAR write", r < 0 ? r : -EIO);
}

/* The guest's MSI capability, as it stands: enabled, and where it points. */
static void msi_update(struct vfio_dev *v)
{
	uint8_t *cap = v->pci.cfg + v->msi;
	uint16_t ctrl = (uint16_t)(cap[2] | cap[3] << 8);
	bool on = ctrl & 1, is64 = ctrl & MSI_64BIT;
	uint64_t addr = get32(cap + 4) | (is64 ? (uint64_t)get32(cap + 8) << 32 : 0);
	uint32_t data = (uint16_t)get32(cap + (is64 ? 12 : 8));
	int r;

	if (on) {
		/* Multiple Message Enable: iovm gives one vector, whatever the guest asked. */
		cap[2] &= (uint8_t)~0x70;
		if (vm_msi_route_set(v->vm, v->msi_gsi, addr, data) < 0)
			fprintf(stderr, "iovm: %s: cannot route its MSI\n", v->name);
	}
	if (on == v->msi_on)
		return;
	if (on && v->msix_nvec && iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_MSIX) == 0)
		v->msix_nvec = 0;       /* one kind at a time, as VFIO requires */
	if (on && v->intx_on && iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_INTX) == 0)
		v->intx_on = false;
	r = on ? iov_vfio_irq_set_eventfds(v->dev, IOV_VFIO_IRQ_MSI, 0, 1, &v->msi_efd)
	       : iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_MSI);
	if (r < 0)
		fprintf(stderr, "iovm: %s: %s its MSI: %s\n", v->name, on ? "enabling" : "disabling", strerror(-r));
	else
		v->msi_on = on;
	intx_update(v);
}

/* Bytes [off, off + len) the guest wrote: the device's go to the device and are read back. */
static void cfg_written(struct pci_dev *d, unsigned int off, unsigned int len)
{
	struct vfio_dev *v = (struct vfio_dev *)d;
	bool msi = false, msix = false;

	for (unsigned int i = off; i < off + len;) {
		unsigned int run = 0;

		if (v->virt[i]) {
			msi |= v->msi && i >= v->msi && i < v->msi + 24u;
			msix |= v->msix && (i == v->msix + 2u || i == v->msix + 3u);
			i++;
			continue;
		}
		/* The device's bytes in one write and one read back, however many are adjacent. */
		while (i + run < off + len && !v->virt[i + run])
			run++;
		if (iov_vfio_region_write(v->dev, IOV_VFIO_CONFIG, i, &d->cfg[i], run) != (ssize_t)run ||
		    iov_vfio_region_read(v->dev, IOV_VFIO_CONFIG, i, &d->cfg[i], run) != (ssize_t)run)
			gone(v, "a configuration write", -EIO);
		i += run;
	}
	if (msi)
		msi_update(v);
	if (msix)
		msix_update(v);
}

/* Before a read: the device's own bytes of [off, off + len) as they are now (its status, a
 * capability's state bits), in one read per run of them; iovm's bytes as iovm keeps them. */
static void cfg_read(struct pci_dev *d, unsigned int off, unsigned int len)
{
	struct vfio_dev *v = (struct vfio_dev *)d;

	for (unsigned int i = off; i < off + len && !v->dead;) {
		unsigned int run = 0;

		while (i + run < off + len && !v->virt[i + run])
			run++;
		if (run && iov_vfio_region_read(v->dev, IOV_VFIO_CONFIG, i, &d->cfg[i], run) != (ssize_t)run)
			gone(v, "a configuration read", -EIO);
		i += run ? run : 1;
	}
}

/* A mapped BAR follows the guest: its slots point at the BAR's address while decoding is on. */
static void bar_moved(struct pci_dev *d, int bar)
{
	struct vfio_dev *v = (struct vfio_dev *)d;
	uint64_t base = pci_mem_enabled(d) ? d->bars[bar].addr : 0;

	for (unsigned int i = 0; i < v->n_maps; i++) {
		struct bar_slot *m = &v->map[i];
		uint64_t gpa = base ? base + m->off : 0;
		int r;

		if (m->bar != bar || gpa == m->gpa)
			continue;
		if (m->gpa)
			vm_memslot_set(v->vm, m->slot, 0, 0, NULL);
		m->gpa = 0;
		if (!gpa)
			continue;
		r = vm_memslot_set(v->vm, m->slot, gpa, m->len, m->map);
		if (r == 0) {
			m->gpa = gpa;
		} else if (!v->refused[bar]) {
			v->refused[bar] = true;
			fprintf(stderr, "iovm: %s: BAR %d at 0x%llx: KVM refused its memory slot (%s); its accesses are trapped\n",
				v->name, bar, (unsigned long long)base, strerror(-r));
		}
	}
}

static const struct pci_dev_ops vfio_ops = {
	.bar_read = bar_read,
	.bar_write = bar_write,
	.bar_moved = bar_moved,
	.cfg_written = cfg_written,
	.cfg_read = cfg_read,
};

/*
 * Maps what the device lets this process mmap of BAR @bar (all of it, or its sparse areas)
 * into memory slots, less the pages of an MSI-X table in it, which iovm emulates: accesses
 * there, and anywhere not mapped, are trapped.
 */
static void bar_map(struct vfio_dev *v, int bar, const struct iov_vfio_region *reg)
{
	struct bar_range areas[IOV_VFIO_MAX_SPARSE], parts[VFIO_MAPS];
	bool table = v->msix && bar == v->msix_bar;
	unsigned int n = 0, k;
	char where[256] = "";
	size_t mapped = 0;

	if (!reg->mappable)
		return;
	for (unsigned int i = 0; i < reg->n_sparse; i++)
		areas[n++] = (struct bar_range){ reg->sparse[i].offset, reg->sparse[i].size };
	if (!reg->n_sparse)
		areas[n++] = (struct bar_range){ 0, reg->size };
	k = bar_slot_ranges(areas, n, table ? v->msix_off : 0, table ? 16ull * v->msix_n : 0,
			    (uint64_t)sysconf(_SC_PAGESIZE), parts, VFIO_MAPS - v->n_maps);
	for (unsigned int i = 0; i < k; i++) {
		void *map;
		int slot;

		if (iov_vfio_region_mmap_range(v->dev, (uint32_t)bar, parts[i].off, parts[i].len, &map) < 0)
			continue;
		slot = vm_memslot_alloc(v->vm);
		if (slot < 0) {
			munmap(map, parts[i].len);
			break;
		}
		v->map[v->n_maps++] = (struct bar_slot){ .bar = bar, .off = parts[i].off, .map = map, .len = parts[i].len,
							 .slot = slot };
		mapped += parts[i].len;
		snprintf(where + strlen(where), sizeof(where) - strlen(where), "%s0x%llx-0x%llx", where[0] ? ", " : "",
			 (unsigned long long)parts[i].off, (unsigned long long)(parts[i].off + parts[i].len - 1));
	}
	if (mapped == reg->size)
		fprintf(stderr, "iovm: %s: BAR %d (%zu KiB) is mapped into the guest: its accesses do not exit\n", v->name,
			bar, mapped >> 10);
	else if (mapped)
		fprintf(stderr, "iovm: %s: BAR %d (%llu KiB): %s mapped into the guest, the rest%s trapped\n", v->name, bar,
			(unsigned long long)(reg->size >> 10), where, table ? " (its MSI-X table's pages)" : "");
}

/*
 * The capability list the guest sees: the device's standard capabilities without MSI-X
 * (relinked around it), the MSI capability virtualized. The pointers are iovm's.
 */
static void caps_filter(struct vfio_dev *v)
{
	uint8_t *cfg = v->pci.cfg, *link = &cfg[PCI_CAP_PTR];
	unsigned int hops = 0;

	v->virt[PCI_CAP_PTR] = true;
	if (!(cfg[PCI_STATUS] & 0x10)) {
		*link = 0;
		return;
	}
	while (*link && hops++ < 48) {
		uint8_t at = *link & 0xfc, id;

		if (at < 0x40) {                /* a pointer into the header: the list ends */
			*link = 0;
			break;
		}
		id = cfg[at];
		v->virt[at + 1] = true;         /* the next pointer: iovm's, read-only */
		v->pci.wmask[at + 1] = 0;
		if (id == CAP_MSIX && !v->msix && at + 12 <= 256) {
			uint16_t ctrl = get16(cfg + at + 2);

			v->msix = at;
			v->msix_n = (ctrl & 0x7ffu) + 1;
			v->msix_bar = (int)(get32(cfg + at + 4) & 7);
			v->msix_off = get32(cfg + at + 4) & ~7u;
			for (unsigned int i = at + 2; i < at + 12u; i++) {
				v->virt[i] = true;      /* control, table and PBA locations: iovm's copy */
				v->pci.wmask[i] = 0;
			}
			v->pci.wmask[at + 3] = (MSIX_ENABLE | MSIX_MASKALL) >> 8;   /* the guest's bits */
			put16(cfg + at + 2, (uint16_t)(ctrl & ~(MSIX_ENABLE | MSIX_MASKALL)));
		}
		if (id == CAP_MSI && !v->msi) {
			uint16_t ctrl = (uint16_t)(cfg[at + 2] | cfg[at + 3] << 8);
			unsigned int size = 10 + (ctrl & MSI_64BIT ? 4 : 0) + (ctrl & MSI_MASKABLE ? 10 : 0);

			v->msi = at;
			for (unsigned int i = at; i < at + size && i < 256; i++)
				v->virt[i] = true;
			/* The guest may enable it, pick its multiple-message count, point it. */
			v->pci.wmask[at + 2] = 0x71;
			for (unsigned int i = at + 4; i < at + size && i < 256; i++)
				v->pci.wmask[i] = 0xff;
			put16(cfg + at + 2, (uint16_t)(ctrl & ~0x71u));
		}
		link = &cfg[at + 1];
	}
	if (hops >= 48)
		*link = 0;
}

/* The device's BARs as iovm's bus models them: memory BARs 32-bit and naturally sized, I/O BARs
 * as they are. */
static int bars_init(struct vfio_dev *v, bool trap, char *why, size_t why_len)
{
	uint8_t *cfg = v->pci.cfg;

	for (int bar = 0; bar < 6; bar++) {
		struct iov_vfio_region reg;
		uint32_t bits = get32(cfg + PCI_BAR0 + 4 * bar);

		memset(cfg + PCI_BAR0 + 4 * bar, 0, 4);
		for (int i = 0; i < 4; i++)
			v->virt[PCI_BAR0 + 4 * bar + i] = true;
		if (iov_vfio_region_info(v->dev, (uint32_t)bar, &reg) < 0 || !reg.size)
			continue;
		if (bits & 1) {                         /* I/O: trapped, each access a region read/write */
			if (reg.size < 4 || reg.size > 256 || (reg.size & (reg.size - 1))) {
				snprintf(why, why_len, "%s: I/O BAR %d of %llu ports; PCI's are 4 to 256, a power of two",
					 v->name, bar, (unsigned long long)reg.size);
				return -E2BIG;
			}
			pci_dev_set_bar_io(&v->pci, bar, (uint32_t)reg.size, 0);
			continue;
		}
		if (reg.size > 0x10000000 || (reg.size & (reg.size - 1)) || reg.size < 16) {
			snprintf(why, why_len, "%s: BAR %d of %llu bytes does not fit iovm's 256 MiB PCI window",
				 v->name, bar, (unsigned long long)reg.size);
			return -E2BIG;
		}
		pci_dev_set_bar(&v->pci, bar, (uint32_t)reg.size, 0);
		if (!trap)
			bar_map(v, bar, &reg);
		if ((bits & 6) == 4 && bar < 5) {       /* 64-bit: iovm places it low; the upper half reads 0 */
			bar++;
			for (int i = 0; i < 4; i++) {
				v->virt[PCI_BAR0 + 4 * bar + i] = true;
				cfg[PCI_BAR0 + 4 * bar + i] = 0;
			}
		}
	}
	return 0;
}

/* The table and the vectors' eventfds, before the guest can see the device. */
static int msix_init(struct vfio_dev *v, char *why, size_t why_len)
{
	if (!v->msix)
		return 0;
	if (v->msix_bar > 5 || !v->pci.bars[v->msix_bar].size || v->pci.bars[v->msix_bar].io ||
	    v->msix_off + 16ull * v->msix_n > v->pci.bars[v->msix_bar].size) {
		snprintf(why, why_len, "%s: its MSI-X table (BAR %d, offset 0x%x, %u entries) is not inside a memory BAR",
			 v->name, v->msix_bar, v->msix_off, v->msix_n);
		return -EINVAL;
	}
	v->msix_tab = calloc(v->msix_n, sizeof(*v->msix_tab));
	if (!v->msix_tab)
		return -ENOMEM;
	v->msix_vec = calloc(v->msix_n, sizeof(*v->msix_vec));
	if (!v->msix_vec)
		return -ENOMEM;
	for (unsigned int i = 0; i < v->msix_n; i++) {
		v->msix_tab[i].ctrl = 1;        /* masked at reset */
		v->msix_vec[i] = (struct msix_vec){ .efd = -1, .gsi = -1 };
	}
	v->msix_grow = -1;
	return 0;
}

/* A vector's irqfd: assigned on a route with the guest's message while it may fire. */
static void msix_route(struct vfio_dev *v, unsigned int i, bool want)
{
	const struct msix_entry *m = &v->msix_tab[i];
	struct msix_vec *vec = &v->msix_vec[i];

	if (want && vec->gsi < 0) {
		vec->gsi = vm_msi_route_alloc(v->vm);
		if (vec->gsi < 0) {
			if (!v->msix_warned)
				fprintf(stderr, "iovm: %s: no KVM MSI route left for MSI-X vector %u; it stays silent\n",
					v->name, i);
			v->msix_warned = true;
			return;
		}
	}
	if (want) {
		if (vm_msi_route_set(v->vm, vec->gsi, m->addr, m->data) < 0)
			fprintf(stderr, "iovm: %s: cannot route MSI-X vector %u\n", v->name, i);
		else if (!vec->routed && vm_irqfd(v->vm, vec->efd, vec->gsi, true) == 0)
			vec->routed = true;
	} else if (vec->routed) {
		vm_irqfd(v->vm, vec->efd, vec->gsi, false);
		vec->routed = false;
	}
}

/* VFIO's eventfds for vectors [@from, @n). */
static int msix_vfio_signal(struct vfio_dev *v, unsigned int from, unsigned int n)
{
	int *efds = malloc((n - from) * sizeof(*efds)), r;

	if (!efds)
		return -ENOMEM;
	for (unsigned int i = from; i < n; i++)
		efds[i - from] = v->msix_vec[i].efd;
	r = iov_vfio_irq_set_eventfds(v->dev, IOV_VFIO_IRQ_MSIX, from, n - from, efds);
	free(efds);
	return r;
}

/*
 * VFIO's MSI-X with vectors [0, @n): each an eventfd (made on first use) that the device's
 * message sets and, while the guest has the vector unmasked, an irqfd delivers. VFIO's vectors
 * are host interrupts, so iovm asks for those the guest uses, not the whole table: at enable
 * the vectors up to the highest unmasked one, and more when the guest unmasks a higher one —
 * added in place where VFIO allows (Linux 6.5's dynamic MSI-X), else by enabling MSI-X again
 * with the larger count (as on older kernels; the device sees MSI-X off for that moment).
 */
static int msix_vfio_set(struct vfio_dev *v, unsigned int n)
{
	int r;

	for (unsigned int i = v->msix_nvec; i < n; i++)
		if (v->msix_vec[i].efd < 0) {
			v->msix_vec[i].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (v->msix_vec[i].efd < 0)
				return -errno;
		}
	if (v->msix_nvec && v->msix_grow != 0) {
		/* In place: the vectors past the ones VFIO has added, those untouched. */
		r = msix_vfio_signal(v, v->msix_nvec, n);
		v->msix_grow = r == 0;
		if (r == 0) {
			v->msix_nvec = n;
			return 0;
		}
	}
	if (v->msix_nvec) {
		r = iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_MSIX);
		if (r < 0)
			return r;
		v->msix_nvec = 0;
	}
	r = msix_vfio_signal(v, 0, n);
	if (r == 0)
		v->msix_nvec = n;
	return r;
}

/* After the guest changed the control word or the table: VFIO's MSI-X on or off with the
 * enable bit and sized to the vectors in use, each vector's route following its entry and the
 * masks. */
static void msix_update(struct vfio_dev *v)
{
	uint16_t ctrl = get16(v->pci.cfg + v->msix + 2);
	bool on = ctrl & MSIX_ENABLE, all_masked = ctrl & MSIX_MASKALL;
	unsigned int want = 1;
	int r;

	for (unsigned int i = 0; i < v->msix_n; i++)
		if (!(v->msix_tab[i].ctrl & 1) && v->msix_tab[i].addr)
			want = i + 1;
	if (on && !v->msix_nvec) {
		if (v->msi_on && iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_MSI) == 0)
			v->msi_on = false;      /* one kind at a time, as VFIO requires */
		if (v->intx_on && iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_INTX) == 0)
			v->intx_on = false;
	}
	if (on && want > v->msix_nvec) {
		bool growing = v->msix_nvec > 0;

		r = msix_vfio_set(v, want);
		if (r < 0)
			fprintf(stderr, "iovm: %s: %s its MSI-X (%u vectors): %s\n", v->name,
				growing ? "growing" : "enabling", want, strerror(-r));
	}
	for (unsigned int i = 0; i < v->msix_nvec; i++)
		msix_route(v, i, on && !all_masked && !(v->msix_tab[i].ctrl & 1) && v->msix_tab[i].addr);
	if (!on && v->msix_nvec) {
		r = iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_MSIX);
		if (r < 0)
			fprintf(stderr, "iovm: %s: disabling its MSI-X: %s\n", v->name, strerror(-r));
		v->msix_nvec = 0;
	}
	intx_update(v);
}

/* After the device has its slot: its INTx pin on an IOAPIC pin, an irqfd with resampling. */
static void intx_init(struct vfio_dev *v, uint8_t pin)
{
	if (pin < 1 || pin > 4 || iov_vfio_irq_count(v->dev, IOV_VFIO_IRQ_INTX) < 1)
		return;                 /* none, or VFIO offers none (vfio-user servers may not) */
	v->intx_gsi = (int)pci_intx_gsi(v->pci.slot, pin);
	v->intx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->intx_unmask_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->intx_efd < 0 || v->intx_unmask_efd < 0 ||
	    vm_irqfd_resample(v->vm, v->intx_efd, v->intx_gsi, v->intx_unmask_efd, true) < 0) {
		fprintf(stderr, "iovm: %s: no irqfd for its INTx; the guest sees no interrupt pin\n", v->name);
		return;
	}
	v->intx_pin = pin;
	v->pci.cfg[PCI_INT_PIN] = pin;
	v->pci.cfg[PCI_INT_LINE] = (uint8_t)v->intx_gsi;
	intx_update(v);
}

void vfio_dev_free(struct vfio_dev *v)
{
	for (unsigned int i = 0; i < v->n_maps; i++) {
		vm_memslot_free(v->vm, v->map[i].slot);
		munmap(v->map[i].map, v->map[i].len);
	}
	if (v->msi_on)
		iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_MSI);
	if (v->msi_efd >= 0)
		close(v->msi_efd);
	if (v->msix_nvec)
		iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_MSIX);
	if (v->intx_on)
		iov_vfio_irq_disable(v->dev, IOV_VFIO_IRQ_INTX);
	for (int *fd = (int[]){ v->intx_efd, v->intx_unmask_efd }, i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	for (unsigned int i = 0; v->msix_vec && i < v->msix_n; i++)
		if (v->msix_vec[i].efd >= 0)
			close(v->msix_vec[i].efd);
	free(v->msix_vec);
	free(v->msix_tab);
	if (v->dev)
		iov_vfio_device_close(v->dev);
	iov_vfio_container_free(v->c);
	iov_ctx_free(v->ctx);
	free(v);
}

int vfio_dev_add(struct vm *vm, const char *target, bool user, bool trap, char *why, size_t why_len)
{
	struct vfio_dev *v = calloc(1, sizeof(*v));
	struct iov_vfio_device_info info;
	struct iov_vfio_region cfg_reg;
	uint8_t pin;
	int r;

	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->msi_efd = v->intx_efd = v->intx_unmask_efd = -1;
	snprintf(v->name, sizeof(v->name), "%s %s", user ? "vfio-user" : "VFIO device", target);
	r = iov_ctx_new(NULL, &v->ctx);
	if (r == 0)
		r = user ? iov_vfio_container_new_user(v->ctx, target, &v->c) : iov_vfio_container_new(v->ctx, &v->c);
	if (r == 0)
		r = iov_vfio_device_open(v->c, user ? NULL : target, NULL, &v->dev);
	if (r < 0) {
		snprintf(why, why_len, "%s: %s", v->name, v->ctx && iov_ctx_reason(v->ctx)[0] ? iov_ctx_reason(v->ctx) :
			 strerror(-r));
		goto fail;
	}
	r = iov_vfio_device_info(v->dev, &info);
	if (r < 0 || !info.pci) {
		snprintf(why, why_len, "%s %s", v->name, r < 0 ? "does not describe itself" : "is not a PCI device");
		r = r < 0 ? r : -ENODEV;
		goto fail;
	}
	/* The device's DMA reaches guest RAM at its guest-physical addresses. */
	r = iov_vfio_dma_map_fd(v->c, vm->ram, vm->ram_size, 0, IOV_DMA_READ | IOV_DMA_WRITE, vm->ram_fd, 0);
	if (r < 0) {
		snprintf(why, why_len, "%s: mapping guest RAM for DMA: %s", v->name,
			 iov_ctx_reason(v->ctx)[0] ? iov_ctx_reason(v->ctx) : strerror(-r));
		goto fail;
	}
	pthread_mutex_init(&v->pci.lock, NULL);
	/* Up to 256 bytes: a mediated device may have less (the kernel's mtty sample has 255);
	 * what it lacks reads 0 and keeps the guest's writes here. */
	if (iov_vfio_region_info(v->dev, IOV_VFIO_CONFIG, &cfg_reg) < 0 || cfg_reg.size < 64 ||
	    iov_vfio_region_read(v->dev, IOV_VFIO_CONFIG, 0, v->pci.cfg, cfg_reg.size < 256 ? cfg_reg.size : 256) !=
		    (ssize_t)(cfg_reg.size < 256 ? cfg_reg.size : 256)) {
		snprintf(why, why_len, "%s: reading its configuration space failed", v->name);
		r = -EIO;
		goto fail;
	}
	for (uint64_t i = cfg_reg.size; i < 256; i++)
		v->virt[i] = true;
	if ((v->pci.cfg[0x0e] & 0x7f) != 0) {
		snprintf(why, why_len, "%s: header type %u; only endpoints (type 0) pass through", v->name,
			 v->pci.cfg[0x0e] & 0x7f);
		r = -ENOTSUP;
		goto fail;
	}
	/* Everything the device does not own is iovm's; the rest the guest writes through. */
	memset(v->pci.wmask, 0xff, sizeof(v->pci.wmask));
	for (unsigned int i = 0; i < 0x10; i++)
		v->virt[i] = i != PCI_COMMAND && i != PCI_COMMAND + 1 && i != PCI_STATUS && i != PCI_STATUS + 1 &&
			     i != 0x0c && i != 0x0d && i != 0x0f;
	for (unsigned int i = 0x0; i < 0x10; i++)
		if (v->virt[i])
			v->pci.wmask[i] = 0;
	v->virt[PCI_ROM] = v->virt[PCI_ROM + 1] = v->virt[PCI_ROM + 2] = v->virt[PCI_ROM + 3] = true;
	memset(v->pci.cfg + PCI_ROM, 0, 4);
	memset(v->pci.wmask + PCI_ROM, 0, 4);
	/* The interrupt pin and line are iovm's: no pin unless INTx is wired up (intx_init). */
	v->virt[PCI_INT_LINE] = v->virt[PCI_INT_PIN] = true;
	pin = v->pci.cfg[PCI_INT_PIN];
	v->pci.cfg[PCI_INT_PIN] = 0;
	v->pci.cfg[PCI_INT_LINE] = 0;
	v->pci.wmask[PCI_INT_PIN] = 0;
	v->pci.cfg[PCI_COMMAND] &= (uint8_t)~0x7;       /* firmware turns memory decoding on below */
	caps_filter(v);
	r = bars_init(v, trap, why, why_len);
	if (r < 0)
		goto fail;
	r = msix_init(v, why, why_len);
	if (r < 0)
		goto fail;
	v->pci.ops = &vfio_ops;
	if (v->msi) {
		v->msi_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		v->msi_gsi = vm_msi_route_alloc(vm);
		if (v->msi_efd < 0 || v->msi_gsi < 0 || vm_irqfd(vm, v->msi_efd, v->msi_gsi, true) < 0) {
			snprintf(why, why_len, "%s: no MSI route or irqfd left", v->name);
			r = -ENOSPC;
			goto fail;
		}
	}
	/* Start from a known state. A device without a reset method (edu) starts as the last user
	 * left it, which a guest driver may not expect (DMA set up by a previous guest): say so. */
	r = iov_vfio_device_reset(v->dev);
	if (r < 0)
		fprintf(stderr, "iovm: %s: not reset before the guest starts: %s\n", v->name,
			iov_ctx_reason(v->ctx)[0] ? iov_ctx_reason(v->ctx) : strerror(-r));
	r = pci_bus_add(&vm->bus, &v->pci);
	if (r < 0) {
		snprintf(why, why_len, "%s: no free PCI slot", v->name);
		goto fail;
	}
	/* Memory decoding as the firmware left it: on, as for iovm's own devices. */
	cfg_written(&v->pci, PCI_COMMAND, 2);
	intx_init(v, pin);
	vm->pt[vm->n_pt++] = v;
	return 0;
fail:
	vfio_dev_free(v);
	return r < 0 ? r : -EIO;
}

void vfio_dev_info(const struct vfio_dev *v, const char **name, unsigned int *slot, bool *msi_on)
{
	*name = v->name;
	*slot = v->pci.slot;
	*msi_on = v->msi_on;
}
