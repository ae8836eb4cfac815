/* SPDX-License-Identifier: MIT */
/*
 * The modern virtio-pci transport (virtio 1.2 section 4.1): the capabilities that tell the
 * driver where its structures are, and the structures, all in BAR 0:
 *
 *   0x0000 common configuration   0x1000 ISR status    0x2000 device configuration
 *   0x3000 notifications (queue q at 4 * q)           0x3800 MSI-X table, 0x3c00 its PBA
 *
 * The common configuration is the device's state machine (feature negotiation, status, the
 * queues); notifications normally never reach this file (an ioeventfd per queue takes them in
 * the kernel), and interrupts are MSI-X only (no INTx: the ISR stays 0).
 *
 * BAR 0 can also be reached through configuration space alone: the PCI configuration access
 * capability (section 4.1.4.9) is a window the driver points at a BAR offset and length, whose
 * data bytes read and write there (firmware uses it before it has mapped the BAR).
 */
#include <string.h>

#include "vmm-internal.h"

enum {
	CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4, CAP_PCI_CFG = 5,
};

/* In a virtio capability: the BAR, offset and length fields; the access window's data. */
#define CAP_BAR 4
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_PCI_CFG_DATA 16

#define PCI_CAP_VNDR 0x09
#define PCI_CAP_MSIX 0x11
#define MSIX_ENABLE 0x8000
#define MSIX_MASKALL 0x4000

/* A virtio capability; the notify and PCI-access ones are 4 bytes longer. Its offset. */
static uint8_t add_virtio_cap(struct virtio_pci *v, uint8_t type, uint32_t off, uint32_t len)
{
	bool longer = type == CAP_NOTIFY || type == CAP_PCI_CFG;
	uint8_t cap[20] = { PCI_CAP_VNDR, 0, longer ? 20 : 16, type, 0 /* BAR */ };

	memcpy(cap + CAP_OFFSET, &off, 4);
	memcpy(cap + CAP_LENGTH, &len, 4);
	if (type == CAP_NOTIFY) {
		uint32_t mult = VPCI_NOTIFY_MULT;

		memcpy(cap + 16, &mult, 4);
	}
	return pci_add_cap(&v->pci, cap, cap[2]);
}

static uint16_t msix_control(const struct virtio_pci *v)
{
	uint16_t c;

	memcpy(&c, v->pci.cfg + v->msix_cap + 2, 2);
	return c;
}

bool virtio_pci_vector(const struct virtio_pci *v, uint16_t vec, uint64_t *addr, uint32_t *data)
{
	uint16_t c = msix_control(v);

	if (!(c & MSIX_ENABLE) || (c & MSIX_MASKALL) || vec >= VIRTIO_MSIX_VECTORS || (v->msix[vec].ctrl & 1))
		return false;
	*addr = v->msix[vec].addr;
	*data = v->msix[vec].data;
	return true;
}

void virtio_pci_update_routes(struct virtio_pci *v)
{
	for (unsigned int q = 0; q < v->num_queues; q++) {
		uint64_t addr = 0;
		uint32_t data = 0;
		bool on = virtio_pci_vector(v, v->queues[q].msix_vector, &addr, &data);

		if (v->ops->route)
			v->ops->route(v, q, on, addr, data);
	}
}

static void reset_state(struct virtio_pci *v)
{
	v->driver_features = 0;
	v->device_feature_select = v->driver_feature_select = 0;
	v->status = 0;
	v->isr = 0;
	v->queue_select = 0;
	v->config_vector = VIRTIO_NO_VECTOR;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct virtio_queue *vq = &v->queues[q];

		*vq = (struct virtio_queue){ .max_size = vq->max_size, .size = vq->max_size, .msix_vector = VIRTIO_NO_VECTOR };
	}
	v->started = false;
}

static void bar_moved(struct pci_dev *d, int bar)
{
	struct virtio_pci *v = (struct virtio_pci *)d;

	if (bar != 0 || !v->ops->notify_moved)
		return;
	for (unsigned int q = 0; q < v->num_queues; q++)
		v->ops->notify_moved(v, q, pci_mem_enabled(d) ? d->bars[0].addr + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * q : 0);
}

/* The common configuration structure as the driver reads it now (virtio 1.2 section 4.1.4.3). */
static void common_image(const struct virtio_pci *v, uint8_t img[VPCI_COMMON_LEN])
{
	const struct virtio_queue *q = v->queue_select < v->num_queues ? &v->queues[v->queue_select] : NULL;
	uint32_t feat = v->device_feature_select < 2 ? (uint32_t)(v->device_features >> (32 * v->device_feature_select)) : 0;
	uint32_t dsel = v->driver_feature_select < 2 ? (uint32_t)(v->driver_features >> (32 * v->driver_feature_select)) : 0;
	uint16_t u16;

	memset(img, 0, VPCI_COMMON_LEN);
	memcpy(img + 0x00, &v->device_feature_select, 4);
	memcpy(img + 0x04, &feat, 4);
	memcpy(img + 0x08, &v->driver_feature_select, 4);
	memcpy(img + 0x0c, &dsel, 4);
	memcpy(img + 0x10, &v->config_vector, 2);
	memcpy(img + 0x12, &v->num_queues, 2);
	img[0x14] = v->status;
	img[0x15] = v->config_generation;
	memcpy(img + 0x16, &v->queue_select, 2);
	if (!q)
		return;                 /* queue_size 0: no such queue */
	memcpy(img + 0x18, &q->size, 2);
	memcpy(img + 0x1a, &q->msix_vector, 2);
	u16 = q->enabled;
	memcpy(img + 0x1c, &u16, 2);
	u16 = v->queue_select;  /* queue_notify_off: queue q notifies at q * multiplier */
	memcpy(img + 0x1e, &u16, 2);
	memcpy(img + 0x20, &q->desc, 8);
	memcpy(img + 0x28, &q->driver, 8);
	memcpy(img + 0x30, &q->device, 8);
}

static void set_status(struct virtio_pci *v, uint8_t val)
{
	uint8_t added = (uint8_t)(val & ~v->status);

	if (val == 0) {
		bool was = v->started;

		if (was && v->ops->stop)
			v->ops->stop(v);
		reset_state(v);
		virtio_pci_update_routes(v);
		return;
	}
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		/* Only a subset of what the device offered, and only a modern driver. */
		if ((v->driver_features & ~v->device_features) || !(v->driver_features & (1ULL << VIRTIO_F_VERSION_1)))
			val &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	v->status = (uint8_t)(v->status | val);   /* bits are only cleared by a reset */
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !v->started && (v->status & VIRTIO_STATUS_FEATURES_OK)) {
		v->started = true;
		if (v->ops->start && v->ops->start(v) < 0) {
			v->status |= VIRTIO_STATUS_NEEDS_RESET;
			v->config_generation++;
		}
	}
}

static void set_u64_half(uint64_t *field, unsigned int half, uint32_t val)
{
	*field = half ? (*field & 0xffffffffULL) | (uint64_t)val << 32 : (*field & ~0xffffffffULL) | val;
}

static void common_write(struct virtio_pci *v, unsigned int off, unsigned int len, uint64_t val)
{
	struct virtio_queue *q = v->queue_select < v->num_queues ? &v->queues[v->queue_select] : NULL;
	bool features_open = !(v->status & VIRTIO_STATUS_FEATURES_OK);

	switch (off) {
	case 0x00: v->device_feature_select = (uint32_t)val; return;
	case 0x08: v->driver_feature_select = (uint32_t)val; return;
	case 0x0c:
		if (features_open && v->driver_feature_select < 2)
			set_u64_half(&v->driver_features, v->driver_feature_select, (uint32_t)val);
		return;
	case 0x10:
		v->config_vector = val < VIRTIO_MSIX_VECTORS ? (uint16_t)val : VIRTIO_NO_VECTOR;
		return;
	case 0x14: set_status(v, (uint8_t)val); return;
	case 0x16: v->queue_select = (uint16_t)val; return;
	}
	/* The rest are the selected queue's; a driver may change them only while it is disabled. */
	if (!q)
		return;
	switch (off) {
	case 0x18:
		if (!q->enabled && val && val <= q->max_size && !(val & (val - 1)))
			q->size = (uint16_t)val;
		return;
	case 0x1a:
		q->msix_vector = val < VIRTIO_MSIX_VECTORS ? (uint16_t)val : VIRTIO_NO_VECTOR;
		virtio_pci_update_routes(v);
		return;
	case 0x1c:
		if (val == 1)
			q->enabled = true;
		return;
	}
	if (q->enabled || off < 0x20 || off >= 0x38)
		return;
	{
		uint64_t *field = off < 0x28 ? &q->desc : off < 0x30 ? &q->driver : &q->device;

		if (len == 8)
			*field = val;
		else
			set_u64_half(field, (off & 4) != 0, (uint32_t)val);
	}
}

static uint64_t bytes_read(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;

	memcpy(&v, p, len);
	return v;
}

/*
 * The MSI-X Pending Bit Array (PCI Local Bus 3.0): a vector's bit is set while it cannot be delivered
 * (masked, or the function masked) and a queue on it has an interrupt held. Vectors up to 64.
 */
static uint64_t pba_read(struct virtio_pci *v)
{
	uint64_t pba = 0, addr;
	uint32_t data;

	if (!v->ops->pending)
		return 0;
	for (unsigned int q = 0; q < v->num_queues; q++) {
		uint16_t vec = v->queues[q].msix_vector;

		if (vec < VIRTIO_MSIX_VECTORS && !virtio_pci_vector(v, vec, &addr, &data) && v->ops->pending(v, q))
			pba |= 1ull << vec;
	}
	return pba;
}

static uint64_t vpci_bar_read(struct pci_dev *d, int bar, uint64_t off, unsigned int len)
{
	struct virtio_pci *v = (struct virtio_pci *)d;

	if (off + len <= VPCI_COMMON_OFF + VPCI_COMMON_LEN) {
		uint8_t img[VPCI_COMMON_LEN];

		common_image(v, img);
		return bytes_read(img + off, len);
	}
	if (off == VPCI_ISR_OFF) {
		uint8_t isr = v->isr;

		v->isr = 0;     /* reading acknowledges */
		return isr;
	}
	if (off >= VPCI_DEVCFG_OFF && off + len <= VPCI_DEVCFG_OFF + VPCI_DEVCFG_LEN) {
		uint64_t val = 0;

		if (v->ops->config_read)
			v->ops->config_read(v, (unsigned int)(off - VPCI_DEVCFG_OFF), &val, len);
		return val;
	}
	if (off >= VPCI_MSIX_OFF && off + len <= VPCI_MSIX_OFF + 16 * VIRTIO_MSIX_VECTORS)
		return msix_table_read(v->msix, VIRTIO_MSIX_VECTORS, off - VPCI_MSIX_OFF, len);
	if (off >= VPCI_PBA_OFF && off + len <= VPCI_PBA_OFF + 8)
		return pba_read(v) >> (8 * (off - VPCI_PBA_OFF)) & (len == 8 ? ~0ull : (1ull << (8 * len)) - 1);
	return 0;       /* holes */
}

static void vpci_bar_write(struct pci_dev *d, int bar, uint64_t off, unsigned int len, uint64_t val)
{
	struct virtio_pci *v = (struct virtio_pci *)d;

	if (off + len <= VPCI_COMMON_OFF + VPCI_COMMON_LEN) {
		common_write(v, (unsigned int)off, len, val);
	} else if (off >= VPCI_NOTIFY_OFF && off < VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * (uint64_t)v->num_queues) {
		if (v->ops->notify)
			v->ops->notify(v, (unsigned int)(off - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT);
	} else if (off >= VPCI_MSIX_OFF && off < VPCI_MSIX_OFF + 16 * VIRTIO_MSIX_VECTORS) {
		if (msix_table_write(v->msix, VIRTIO_MSIX_VECTORS, off - VPCI_MSIX_OFF, len, val) >= 0)
			virtio_pci_update_routes(v);
	}
	/* Device configuration is read-only here; ISR and PBA writes are ignored, as specified. */
}

/*
 * Where the PCI configuration access window points, if the driver set it up as section
 * 4.1.4.9 allows: BAR 0, a length of 1, 2 or 4, an offset aligned to it, inside the BAR. A
 * window set otherwise reads as zeros and writes nothing.
 */
static bool pci_cfg_window(const struct virtio_pci *v, uint32_t *off, uint32_t *len)
{
	const uint8_t *cap = v->pci.cfg + v->pci_cfg_cap;

	memcpy(off, cap + CAP_OFFSET, 4);
	memcpy(len, cap + CAP_LENGTH, 4);
	return cap[CAP_BAR] == 0 && (*len == 1 || *len == 2 || *len == 4) && *off % *len == 0 &&
	       *off <= VPCI_BAR_SIZE - *len;
}

static bool touches_window_data(const struct virtio_pci *v, unsigned int off, unsigned int len)
{
	unsigned int data = v->pci_cfg_cap + CAP_PCI_CFG_DATA;

	return off < data + 4 && off + len > data;
}

static void cfg_written(struct pci_dev *d, unsigned int off, unsigned int len)
{
	struct virtio_pci *v = (struct virtio_pci *)d;
	uint32_t at, n;

	if (off < v->msix_cap + 4u && off + len > v->msix_cap + 2u)
		virtio_pci_update_routes(v);
	if (touches_window_data(v, off, len) && pci_cfg_window(v, &at, &n))
		vpci_bar_write(d, 0, at, n, bytes_read(d->cfg + v->pci_cfg_cap + CAP_PCI_CFG_DATA, n));
}

static void cfg_read(struct pci_dev *d, unsigned int off, unsigned int len)
{
	struct virtio_pci *v = (struct virtio_pci *)d;
	uint8_t *data = d->cfg + v->pci_cfg_cap + CAP_PCI_CFG_DATA;
	uint32_t at, n;

	if (!touches_window_data(v, off, len))
		return;
	memset(data, 0, 4);
	if (pci_cfg_window(v, &at, &n)) {
		uint64_t val = vpci_bar_read(d, 0, at, n);

		memcpy(data, &val, n);  /* little-endian, as the BAR */
	}
}

static const struct pci_dev_ops vpci_ops = {
	.bar_read = vpci_bar_read,
	.bar_write = vpci_bar_write,
	.bar_moved = bar_moved,
	.cfg_written = cfg_written,
	.cfg_read = cfg_read,
};

void virtio_pci_init(struct virtio_pci *v, unsigned int type, uint32_t class_code, uint16_t num_queues,
		     uint16_t queue_max, uint64_t features, const struct virtio_pci_ops *ops, void *opaque)
{
	uint8_t msix[12] = { PCI_CAP_MSIX };
	uint16_t ctl = VIRTIO_MSIX_VECTORS - 1;
	uint32_t table = VPCI_MSIX_OFF, pba = VPCI_PBA_OFF;    /* both in BAR 0 */

	memset(v, 0, sizeof(*v));
	/* Modern-only IDs: 0x1040 + type, revision 1 (virtio 1.2 section 4.1.2.1). */
	pci_dev_init(&v->pci, 0x1af4, (uint16_t)(0x1040 + type), class_code << 8 | 1, 0x1af4, 0x40);
	v->pci.ops = &vpci_ops;
	v->ops = ops;
	v->opaque = opaque;
	v->device_features = features | 1ULL << VIRTIO_F_VERSION_1;
	v->num_queues = num_queues > VIRTIO_MAX_QUEUES ? VIRTIO_MAX_QUEUES : num_queues;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		v->queues[q].max_size = queue_max;
	for (unsigned int i = 0; i < VIRTIO_MSIX_VECTORS; i++)
		v->msix[i].ctrl = 1;    /* masked at reset (PCI 3.0 section 6.8.2.9) */
	reset_state(v);
	pci_dev_set_bar(&v->pci, 0, VPCI_BAR_SIZE, 0);
	v->pci.wmask[0x04] |= 0x04;     /* bus master */

	add_virtio_cap(v, CAP_COMMON, VPCI_COMMON_OFF, VPCI_COMMON_LEN);
	add_virtio_cap(v, CAP_ISR, VPCI_ISR_OFF, 1);
	add_virtio_cap(v, CAP_DEVICE, VPCI_DEVCFG_OFF, VPCI_DEVCFG_LEN);
	add_virtio_cap(v, CAP_NOTIFY, VPCI_NOTIFY_OFF, VPCI_NOTIFY_MULT * v->num_queues);
	/* The access window: its BAR, offset, length and data are the driver's to write. */
	v->pci_cfg_cap = add_virtio_cap(v, CAP_PCI_CFG, 0, 0);
	v->pci.wmask[v->pci_cfg_cap + CAP_BAR] = 0xff;
	memset(v->pci.wmask + v->pci_cfg_cap + CAP_OFFSET, 0xff, 12);
	memcpy(msix + 2, &ctl, 2);
	memcpy(msix + 4, &table, 4);
	memcpy(msix + 8, &pba, 4);
	v->msix_cap = pci_add_cap(&v->pci, msix, sizeof(msix));
	v->pci.wmask[v->msix_cap + 3] = 0xc0;  /* MSI-X enable and function mask */
}
