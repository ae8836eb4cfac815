/* SPDX-License-Identifier: MIT */
/*
 * QEMU's edu device (docs/specs/edu.rst): the register map of BAR0 and its DMA engine, shared
 * by everything here that drives or serves one — the lab's vfio-edu, the vfio-user vfu-edu,
 * and iovm's test guest. Defines only (the test guest is freestanding).
 */
#ifndef IOVKIT_INTERNAL_EDU_H
#define IOVKIT_INTERNAL_EDU_H

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_IDENT_VALUE 0x010000edu     /* major 1, minor 0, "ed" */

#define EDU_IDENT 0x00
#define EDU_LIVENESS 0x04               /* reads back the inverse of what was written */
#define EDU_FACT 0x08                   /* write n, read n! once EDU_STATUS bit 0 clears */
#define EDU_STATUS 0x20                 /* bit 0 computing, bit 7 raise an interrupt after fact */
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_START 0x1
#define EDU_DMA_TO_RAM 0x2              /* direction: device buffer -> RAM */
#define EDU_DMA_IRQ 0x4                 /* raise an interrupt when done */
#define EDU_DMA_IRQ_STATUS 0x100        /* the DMA's bit in EDU_IRQ_STATUS */

#define EDU_BUFFER 0x40000u             /* the device's 4 KiB buffer, as DMA addresses it */
#define EDU_BUFFER_SIZE 4096u
#define EDU_DMA_LIMIT (1ull << 28)      /* edu's default DMA mask: 28 bits */
#define EDU_BAR0_SIZE (1u << 20)

#endif
