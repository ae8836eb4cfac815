/* SPDX-License-Identifier: MIT */
/*
 * The modern virtio-pci transport against virtio 1.2 section 4.1: the capabilities a driver
 * walks, feature negotiation and FEATURES_OK, the queue registers (writable only while the
 * queue is disabled), DRIVER_OK starting the backend once, reset stopping it, and MSI-X: table,
 * masks, function mask and enable deciding where each queue's interrupt goes; the PCI
 * configuration access capability reaching BAR 0 through configuration space.
 */
#include "../helpers/unit.h"
#include "vmm-internal.h"

static struct {
	int starts, stops, start_result, notified[VIRTIO_MAX_QUEUES];
	bool deliver[VIRTIO_MAX_QUEUES], held[VIRTIO_MAX_QUEUES];
	uint64_t addr[VIRTIO_MAX_QUEUES], notify_at[VIRTIO_MAX_QUEUES];
	uint32_t data[VIRTIO_MAX_QUEUES];
} seen;

static int start(struct virtio_pci *v)
{
	seen.starts++;
	return seen.start_result;
}

static void stop(struct virtio_pci *v)
{
	seen.stops++;
}

static void config_read(struct virtio_pci *v, unsigned int off, void *buf, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(0xc0 + off + i);
}

static void route(struct virtio_pci *v, unsigned int q, bool deliver, uint64_t addr, uint32_t data)
{
	seen.deliver[q] = deliver;
	seen.addr[q] = addr;
	seen.data[q] = data;
}

static void notify_moved(struct virtio_pci *v, unsigned int q, uint64_t addr)
{
	seen.notify_at[q] = addr;
}

static void notify(struct virtio_pci *v, unsigned int q)
{
	seen.notified[q]++;
}

static bool pending(struct virtio_pci *v, unsigned int q)
{
	return seen.held[q];
}

static const struct virtio_pci_ops ops = {
	.start = start, .stop = stop, .config_read = config_read, .route = route,
	.notify_moved = notify_moved, .notify = notify, .pending = pending,
};

static struct virtio_pci v;
static struct pci_bus bus;

static void setup(void)
{
	memset(&seen, 0, sizeof(seen));
	virtio_pci_init(&v, 1, 0x020000, 2, 256, 1ULL << 5 | 1ULL << 15, &ops, NULL);
	pci_bus_init(&bus);
	ASSERT_OK(pci_bus_add(&bus, &v.pci));
}

static uint64_t rd(uint64_t off, unsigned int len)
{
	return v.pci.ops->bar_read(&v.pci, 0, off, len);
}

static void wr(uint64_t off, unsigned int len, uint64_t val)
{
	v.pci.ops->bar_write(&v.pci, 0, off, len, val);
}

static uint64_t device_features(void)
{
	wr(0x00, 4, 0);
	uint64_t f = rd(0x04, 4);
	wr(0x00, 4, 1);
	return f | rd(0x04, 4) << 32;
}

static void driver_features(uint64_t f)
{
	wr(0x08, 4, 0);
	wr(0x0c, 4, (uint32_t)f);
	wr(0x08, 4, 1);
	wr(0x0c, 4, (uint32_t)(f >> 32));
}

/* The virtio capability of @type: its BAR offset and length. */
static int find_cap(uint8_t type, uint32_t *off, uint32_t *len)
{
	for (uint8_t c = (uint8_t)pci_cfg_read(&v.pci, 0x34, 1); c; c = (uint8_t)pci_cfg_read(&v.pci, c + 1u, 1))
		if (pci_cfg_read(&v.pci, c, 1) == 0x09 && pci_cfg_read(&v.pci, c + 3u, 1) == type) {
			ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 4u, 1), 0);     /* BAR 0 */
			*off = pci_cfg_read(&v.pci, c + 8u, 4);
			*len = pci_cfg_read(&v.pci, c + 12u, 4);
			return c;
		}
	return -1;
}

static void test_identity_and_caps(void)
{
	uint32_t off, len;
	int c;

	setup();
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, 0, 4), 0x10411af4);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, 8, 1), 1);                 /* revision 1: modern */
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, 9, 3), 0x020000);
	ASSERT_INT_GE(pci_cfg_read(&v.pci, 0x2e, 2), 0x40);
	ASSERT_INT_GE(find_cap(1, &off, &len), 0x40);
	ASSERT_INT_EQ(off, VPCI_COMMON_OFF);
	ASSERT_INT_GE(len, 0x38);
	ASSERT_INT_GE(find_cap(3, &off, &len), 0x40);
	ASSERT_INT_EQ(off, VPCI_ISR_OFF);
	ASSERT_INT_GE(find_cap(4, &off, &len), 0x40);
	ASSERT_INT_EQ(off, VPCI_DEVCFG_OFF);
	c = find_cap(2, &off, &len);
	ASSERT_INT_GE(c, 0x40);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 2u, 1), 20);           /* the notify capability is longer */
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 4), VPCI_NOTIFY_MULT);
	ASSERT_INT_EQ(len, 2 * VPCI_NOTIFY_MULT);
	/* MSI-X: table size 9 (N - 1 = 8), table and PBA in BAR 0. */
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, v.msix_cap, 1), 0x11);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, v.msix_cap + 2u, 2), VIRTIO_MSIX_VECTORS - 1);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, v.msix_cap + 4u, 4), VPCI_MSIX_OFF);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, v.msix_cap + 8u, 4), VPCI_PBA_OFF);
	/* Firmware placed BAR 0 and every queue's notify address is known. */
	ASSERT_INT_EQ(seen.notify_at[0], IOVM_MMIO_BASE + VPCI_NOTIFY_OFF);
	ASSERT_INT_EQ(seen.notify_at[1], IOVM_MMIO_BASE + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT);
	/* Device configuration comes from the device's hook. */
	ASSERT_INT_EQ(rd(VPCI_DEVCFG_OFF + 2, 2), 0xc3c2);
}

static void test_feature_negotiation(void)
{
	setup();
	ASSERT_INT_EQ(device_features(), 1ULL << 32 | 1ULL << 15 | 1ULL << 5);
	ASSERT_INT_EQ(rd(0x12, 2), 2);                                 /* num_queues */
	wr(0x14, 1, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);

	/* A feature the device did not offer: FEATURES_OK does not stick. */
	driver_features(1ULL << 32 | 1ULL << 6);
	wr(0x14, 1, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	ASSERT_INT_EQ(rd(0x14, 1), VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	/* A legacy driver (no VERSION_1): refused too. */
	driver_features(1ULL << 5);
	wr(0x14, 1, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	ASSERT_INT_EQ(rd(0x14, 1) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* DRIVER_OK without FEATURES_OK starts nothing. */
	wr(0x14, 1, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	ASSERT_INT_EQ(seen.starts, 0);

	wr(0x14, 1, 0);
	ASSERT_INT_EQ(rd(0x14, 1), 0);
	driver_features(1ULL << 32 | 1ULL << 5);
	wr(0x14, 1, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	ASSERT_INT_EQ(rd(0x14, 1) & VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_FEATURES_OK);
	ASSERT_INT_EQ(v.driver_features, 1ULL << 32 | 1ULL << 5);
	/* After FEATURES_OK the features are fixed. */
	driver_features(1ULL << 32 | 1ULL << 15 | 1ULL << 5);
	ASSERT_INT_EQ(v.driver_features, 1ULL << 32 | 1ULL << 5);
	/* Status bits are not cleared by writing less (only by a reset). */
	wr(0x14, 1, VIRTIO_STATUS_ACK);
	ASSERT_INT_EQ(rd(0x14, 1), VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void negotiate(void)
{
	wr(0x14, 1, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	driver_features(1ULL << 32);
	wr(0x14, 1, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void test_queues_and_lifecycle(void)
{
	setup();
	negotiate();
	wr(0x16, 2, 1);
	ASSERT_INT_EQ(rd(0x18, 2), 256);                               /* max size by default */
	ASSERT_INT_EQ(rd(0x1e, 2), 1);                                 /* notify offset */
	wr(0x18, 2, 100);                                              /* not a power of two */
	ASSERT_INT_EQ(rd(0x18, 2), 256);
	wr(0x18, 2, 512);                                              /* above the maximum */
	ASSERT_INT_EQ(rd(0x18, 2), 256);
	wr(0x18, 2, 64);
	ASSERT_INT_EQ(rd(0x18, 2), 64);
	wr(0x20, 4, 0x10000);
	wr(0x24, 4, 0x1);
	wr(0x28, 8, 0x20000);
	wr(0x30, 4, 0x30000);
	ASSERT_INT_EQ(rd(0x20, 8), 0x100010000ULL);
	ASSERT_INT_EQ(rd(0x2c, 4), 0);
	ASSERT_INT_EQ(rd(0x28, 4), 0x20000);
	wr(0x1c, 2, 1);
	ASSERT_INT_EQ(rd(0x1c, 2), 1);
	/* Enabled: its registers are the device's now. */
	wr(0x18, 2, 32);
	wr(0x20, 4, 0xbad);
	ASSERT_INT_EQ(rd(0x18, 2), 64);
	ASSERT_INT_EQ(rd(0x20, 4), 0x10000);
	/* A queue that does not exist reads size 0 and takes nothing. */
	wr(0x16, 2, 5);
	ASSERT_INT_EQ(rd(0x18, 2), 0);
	wr(0x1c, 2, 1);
	ASSERT_INT_EQ(rd(0x1c, 2), 0);

	wr(0x14, 1, 0x0f);                                             /* DRIVER_OK */
	ASSERT_INT_EQ(seen.starts, 1);
	wr(0x14, 1, 0x0f);
	ASSERT_INT_EQ(seen.starts, 1);                                 /* once */
	/* A notification that reaches the VMM is passed on; past the last queue, ignored. */
	wr(VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT, 2, 1);
	wr(VPCI_NOTIFY_OFF + 2 * VPCI_NOTIFY_MULT, 2, 2);
	ASSERT_INT_EQ(seen.notified[1], 1);
	ASSERT_INT_EQ(seen.notified[0], 0);
	/* Reset: the backend is stopped, the queues forgotten. */
	wr(0x14, 1, 0);
	ASSERT_INT_EQ(seen.stops, 1);
	wr(0x16, 2, 1);
	ASSERT_INT_EQ(rd(0x18, 2), 256);
	ASSERT_INT_EQ(rd(0x1c, 2), 0);
	ASSERT_INT_EQ(rd(0x20, 8), 0);
	wr(0x14, 1, 0);
	ASSERT_INT_EQ(seen.stops, 1);                                  /* nothing to stop twice */

	/* A backend that refuses: DEVICE_NEEDS_RESET, and the generation moves. */
	seen.start_result = -EIO;
	negotiate();
	wr(0x14, 1, 0x0f);
	ASSERT_INT_EQ(rd(0x14, 1) & VIRTIO_STATUS_NEEDS_RESET, VIRTIO_STATUS_NEEDS_RESET);
	ASSERT_INT_EQ(rd(0x15, 1), 1);
}

static void msix_enable(uint16_t bits)
{
	pci_cfg_write(&v.pci, v.msix_cap + 2u, 2, bits);
}

static void test_msix(void)
{
	setup();
	/* Vectors: out of range reads back NO_VECTOR. */
	wr(0x16, 2, 0);
	wr(0x1a, 2, 200);
	ASSERT_INT_EQ(rd(0x1a, 2), VIRTIO_NO_VECTOR);
	wr(0x1a, 2, 3);
	ASSERT_INT_EQ(rd(0x1a, 2), 3);
	wr(0x10, 2, 8);
	ASSERT_INT_EQ(rd(0x10, 2), 8);

	/* The table: entries start masked; writes of 4 and 8 bytes; reserved control bits drop. */
	ASSERT_INT_EQ(rd(VPCI_MSIX_OFF + 16 * 3 + 12, 4), 1);
	wr(VPCI_MSIX_OFF + 16 * 3, 8, 0xfee01000ULL);
	wr(VPCI_MSIX_OFF + 16 * 3 + 8, 4, 0x4041);
	ASSERT_INT_EQ(rd(VPCI_MSIX_OFF + 16 * 3, 4), 0xfee01000u);
	ASSERT_INT_EQ(rd(VPCI_MSIX_OFF + 16 * 3 + 8, 4), 0x4041);
	ASSERT_FALSE(seen.deliver[0]);                                 /* masked, MSI-X off */
	wr(VPCI_MSIX_OFF + 16 * 3 + 12, 4, 0xfffffffe);
	ASSERT_INT_EQ(rd(VPCI_MSIX_OFF + 16 * 3 + 12, 4), 0);
	ASSERT_FALSE(seen.deliver[0]);                                 /* MSI-X still off */
	msix_enable(0x8000);
	ASSERT_TRUE(seen.deliver[0]);
	ASSERT_INT_EQ(seen.addr[0], 0xfee01000u);
	ASSERT_INT_EQ(seen.data[0], 0x4041);
	ASSERT_FALSE(seen.deliver[1]);                                 /* no vector */
	/* Function mask, entry mask, disable: each stops delivery. */
	msix_enable(0xc000);
	ASSERT_FALSE(seen.deliver[0]);
	msix_enable(0x8000);
	ASSERT_TRUE(seen.deliver[0]);
	wr(VPCI_MSIX_OFF + 16 * 3 + 12, 4, 1);
	ASSERT_FALSE(seen.deliver[0]);
	wr(VPCI_MSIX_OFF + 16 * 3 + 12, 4, 0);
	ASSERT_TRUE(seen.deliver[0]);
	/* A new message while delivering is routed at once. */
	wr(VPCI_MSIX_OFF + 16 * 3 + 8, 4, 0x55);
	ASSERT_INT_EQ(seen.data[0], 0x55);
	msix_enable(0);
	ASSERT_FALSE(seen.deliver[0]);
	/* The table size bits are read-only. */
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, v.msix_cap + 2u, 2), VIRTIO_MSIX_VECTORS - 1);

	/* Garbage: unaligned, odd sizes, past the table: ignored, nothing routed. */
	msix_enable(0x8000);
	wr(VPCI_MSIX_OFF + 16 * 3 + 2, 4, 0);
	wr(VPCI_MSIX_OFF + 16 * 3 + 8, 2, 0);
	wr(VPCI_MSIX_OFF + 16 * VIRTIO_MSIX_VECTORS, 4, 0);
	ASSERT_INT_EQ(rd(VPCI_MSIX_OFF + 16 * 3 + 8, 4), 0x55);
	ASSERT_INT_EQ(rd(VPCI_PBA_OFF, 8), 0);
	ASSERT_INT_EQ(rd(0x3ff0, 4), 0);                               /* a hole */

	/* Reset forgets the queue's vector, not the table (that is PCI's, not virtio's). */
	wr(0x14, 1, 0);
	ASSERT_FALSE(seen.deliver[0]);
	ASSERT_INT_EQ(rd(VPCI_MSIX_OFF + 16 * 3 + 8, 4), 0x55);
}

/* The PBA: a vector's bit while a queue on it holds an interrupt that cannot be delivered. */
static void test_pba(void)
{
	setup();
	wr(0x16, 2, 1);                                                 /* queue 1 on vector 5 */
	wr(0x1a, 2, 5);
	wr(VPCI_MSIX_OFF + 16 * 5, 8, 0xfee00000ULL);
	wr(VPCI_MSIX_OFF + 16 * 5 + 8, 4, 0x40);
	wr(VPCI_MSIX_OFF + 16 * 5 + 12, 4, 0);
	msix_enable(0x8000);
	ASSERT_TRUE(seen.deliver[1]);
	seen.held[1] = true;
	ASSERT_INT_EQ(rd(VPCI_PBA_OFF, 8), 0);                          /* deliverable: nothing waits */
	wr(VPCI_MSIX_OFF + 16 * 5 + 12, 4, 1);                          /* the entry masked */
	ASSERT_INT_EQ(rd(VPCI_PBA_OFF, 8), 1u << 5);
	ASSERT_INT_EQ(rd(VPCI_PBA_OFF, 4), 1u << 5);
	ASSERT_INT_EQ(rd(VPCI_PBA_OFF, 1), 1u << 5);
	ASSERT_INT_EQ(rd(VPCI_PBA_OFF + 4, 4), 0);
	seen.held[1] = false;
	ASSERT_INT_EQ(rd(VPCI_PBA_OFF, 8), 0);                          /* masked, nothing held */
	seen.held[1] = true;
	wr(VPCI_MSIX_OFF + 16 * 5 + 12, 4, 0);
	msix_enable(0xc000);                                            /* the function masked */
	ASSERT_INT_EQ(rd(VPCI_PBA_OFF, 8), 1u << 5);
	msix_enable(0x8000);
	ASSERT_INT_EQ(rd(VPCI_PBA_OFF, 8), 0);
	seen.held[0] = true;                                            /* queue 0 has no vector */
	ASSERT_INT_EQ(rd(VPCI_PBA_OFF, 8), 0);
}

static void test_isr_and_bar_move(void)
{
	setup();
	v.isr = 1;
	ASSERT_INT_EQ(rd(VPCI_ISR_OFF, 1), 1);
	ASSERT_INT_EQ(rd(VPCI_ISR_OFF, 1), 0);                          /* reading clears it */
	pci_cfg_write(&v.pci, 0x10, 4, 0xe0200000u);
	ASSERT_INT_EQ(seen.notify_at[1], 0xe0200000u + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT);
	pci_cfg_write(&v.pci, 4, 2, 0);                                 /* decoding off */
	ASSERT_INT_EQ(seen.notify_at[0], 0);
	ASSERT_INT_EQ(seen.notify_at[1], 0);
}

/* Points the PCI configuration access window (capability at @c) at BAR @bar, @off, @len. */
static void window(int c, uint8_t bar, uint32_t off, uint32_t len)
{
	pci_cfg_write(&v.pci, c + 4u, 1, bar);
	pci_cfg_write(&v.pci, c + 8u, 4, off);
	pci_cfg_write(&v.pci, c + 12u, 4, len);
}

static void test_pci_cfg_access(void)
{
	uint32_t off, len;
	int c;

	setup();
	c = find_cap(5, &off, &len);
	ASSERT_INT_GE(c, 0x40);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 2u, 1), 20);            /* the header and 4 data bytes */
	ASSERT_INT_EQ(len, 0);
	/* The header stays the device's: only BAR, offset, length and data are writable. */
	pci_cfg_write(&v.pci, c, 4, 0);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c, 1), 0x09);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 3u, 1), 5);

	/* Reads: num_queues (2 bytes), a feature word (4), through configuration space alone. */
	window(c, 0, 0x12, 2);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 4), 2);            /* the bytes past the length are 0 */
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 2), 2);
	window(c, 0, 0x00, 4);
	pci_cfg_write(&v.pci, c + 16u, 4, 1);                           /* device_feature_select = 1 */
	ASSERT_INT_EQ(rd(0x00, 4), 1);
	window(c, 0, 0x04, 4);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 4), 1);            /* VERSION_1: bit 32 */
	/* Writes: status (1 byte), queue_select (2). */
	window(c, 0, 0x14, 1);
	pci_cfg_write(&v.pci, c + 16u, 1, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	ASSERT_INT_EQ(rd(0x14, 1), VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	window(c, 0, 0x16, 2);
	pci_cfg_write(&v.pci, c + 16u, 4, 0xffff0001u);                 /* only the first 2 bytes count */
	ASSERT_INT_EQ(rd(0x16, 2), 1);
	ASSERT_INT_EQ(rd(0x18, 2), 256);                                /* queue 1 selected, not 0xffff */
	/* A notification through the window reaches the device as one through the BAR. */
	window(c, 0, VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT, 2);
	pci_cfg_write(&v.pci, c + 16u, 2, 1);
	ASSERT_INT_EQ(seen.notified[1], 1);
	ASSERT_INT_EQ(seen.notified[0], 0);
	/* Reading through the window is a read: the ISR clears. */
	v.isr = 1;
	window(c, 0, VPCI_ISR_OFF, 1);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 1), 1);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 1), 0);

	/* Windows section 4.1.4.9 forbids read zeros and write nothing: unaligned, length 3 or 8,
	 * another BAR, past the end of BAR 0. */
	window(c, 0, 0x13, 2);
	pci_cfg_write(&v.pci, c + 16u, 2, 0);
	ASSERT_INT_EQ(rd(0x16, 2), 1);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 4), 0);
	window(c, 0, 0x14, 3);
	pci_cfg_write(&v.pci, c + 16u, 4, 0);
	ASSERT_INT_EQ(rd(0x14, 1), VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	window(c, 0, 0x10, 8);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 4), 0);
	window(c, 1, 0x12, 2);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 4), 0);
	window(c, 0, VPCI_BAR_SIZE, 4);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 4), 0);
	window(c, 0, 0xfffffffcu, 4);                                   /* offset + length wraps */
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 16u, 4), 0);
	ASSERT_INT_EQ(rd(0x14, 1), VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	/* Reading the capability's other fields does not touch the BAR. */
	v.isr = 1;
	window(c, 0, VPCI_ISR_OFF, 1);
	ASSERT_INT_EQ(pci_cfg_read(&v.pci, c + 12u, 4), 1);
	ASSERT_INT_EQ(v.isr, 1);
}

UNIT_MAIN("vmm/virtio-pci",
	  UNIT_TEST(test_identity_and_caps),
	  UNIT_TEST(test_feature_negotiation),
	  UNIT_TEST(test_queues_and_lifecycle),
	  UNIT_TEST(test_msix),
	  UNIT_TEST(test_pba),
	  UNIT_TEST(test_isr_and_bar_move),
	  UNIT_TEST(test_pci_cfg_access))
