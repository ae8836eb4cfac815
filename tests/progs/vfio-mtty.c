/* SPDX-License-Identifier: MIT */
/*
 * vfio-mtty: a mediated device opened through vfio-core by its UUID, against the real kernel
 * (lab). The instance is one of the kernel's mtty sample (a virtual PCI serial card): its
 * group joins a type1 container, its config space reads back mtty's IDs, bytes written to its
 * UART's transmit register come back from the receive register (mtty loops them), its IRQs are
 * counted, and a second container cannot take the group while the first holds it.
 *
 *   vfio-mtty UUID
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "iovkit/iommu.h"
#include "iovkit/vfio.h"
#include "prog.h"

#define MTTY_ID 0x32534348u             /* vendor 0x4348, device 0x3253 (the sample's) */
#define UART_TX 0                       /* transmit holding / receive buffer */

int main(int argc, char **argv)
{
	static const char msg[] = "iovkit mdev";
	struct iov_vfio_container *c = NULL, *c2 = NULL;
	struct iov_vfio_device *d = NULL, *d2 = NULL;
	struct iov_vfio_device_info info;
	struct iov_vfio_region bar0;
	char back[sizeof(msg)] = { 0 };
	uint32_t id = 0;
	int e;

	if (argc != 2) {
		fprintf(stderr, "usage: vfio-mtty UUID\n");
		return 2;
	}
	iov_ctx_new(NULL, &ctx);
	if (iov_vfio_container_new(ctx, &c) < 0 || iov_vfio_device_open(c, argv[1], NULL, &d) < 0)
		fail("opening mdev %s", argv[1]);
	if (iov_vfio_device_info(d, &info) < 0)
		fail("device info");
	if (!info.pci || info.num_regions < IOV_VFIO_CONFIG + 1)
		fail("mdev %s: pci %d, %u regions; expected a PCI device with a config region", argv[1], info.pci,
		     info.num_regions);
	printf("  ok: mdev %s open in group %d: a PCI device, %u regions, %u IRQ indexes\n", argv[1],
	       iov_device_group(ctx, argv[1]), info.num_regions, info.num_irqs);

	if (iov_vfio_region_read(d, IOV_VFIO_CONFIG, 0, &id, sizeof(id)) != (ssize_t)sizeof(id))
		fail("reading its config space");
	if (id != MTTY_ID)
		fail("config space IDs 0x%08x, expected mtty's 0x%08x", id, MTTY_ID);
	printf("  ok: config space: vendor 0x%04x device 0x%04x\n", id & 0xffff, id >> 16);

	if (iov_vfio_region_info(d, IOV_VFIO_BAR0, &bar0) < 0)
		fail("BAR0 info");
	if (bar0.size != 8 || !bar0.readable || !bar0.writable)
		fail("BAR0: size %llu r%d w%d, expected an 8-byte UART window", (unsigned long long)bar0.size, bar0.readable,
		     bar0.writable);
	/* One byte per access, as a UART is driven; mtty keeps 16 in its loop-back FIFO. */
	for (size_t i = 0; i < strlen(msg); i++)
		if (iov_vfio_region_write(d, IOV_VFIO_BAR0, UART_TX, &msg[i], 1) != 1)
			fail("writing byte %zu to the UART", i);
	for (size_t i = 0; i < strlen(msg); i++)
		if (iov_vfio_region_read(d, IOV_VFIO_BAR0, UART_TX, &back[i], 1) != 1)
			fail("reading byte %zu from the UART", i);
	if (strcmp(back, msg))
		fail("the UART gave back \"%s\", expected \"%s\"", back, msg);
	printf("  ok: \"%s\" through the UART's registers and back\n", back);

	e = iov_vfio_irq_count(d, IOV_VFIO_IRQ_INTX);
	if (e != 1)
		fail("INTx vectors: %d, expected 1", e);
	e = iov_vfio_irq_count(d, IOV_VFIO_IRQ_MSI);
	if (e < 1)
		fail("MSI vectors: %d, expected at least 1", e);
	printf("  ok: INTx 1 vector, MSI %d\n", e);

	/* The group is this container's while the device is open. */
	if (iov_vfio_container_new(ctx, &c2) < 0)
		fail("second container");
	e = iov_vfio_device_open(c2, argv[1], NULL, &d2);
	if (e != -EBUSY)
		fail("a second container opened the held mdev: %d, expected -EBUSY", e);
	printf("  ok: a second container is refused (%s)\n", iov_ctx_reason(ctx));
	iov_vfio_container_free(c2);

	iov_vfio_device_close(d);
	iov_vfio_container_free(c);
	iov_ctx_free(ctx);
	return 0;
}
