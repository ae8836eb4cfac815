/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue iovm serves itself (vmm/vq.c, virtio-net's control queue) against
 * virtio 1.2 section 2.7, on a guest RAM the test writes as a driver, hostile ones included:
 * chains and their copied-out bytes, the writable buffer last, indirect tables, used entries
 * and index, avail_event for EVENT_IDX, and refusals — rings or buffers outside RAM, bad indexes, loops, readable after
 * writable, malformed or nested indirect tables.
 */
#include "../helpers/unit.h"
#include "vmm-internal.h"

#define RAM (64u << 10)
#define QSIZE 8
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000

static uint8_t ram[RAM];
static const struct virtio_queue q = { .size = QSIZE, .enabled = true, .desc = DESC, .driver = AVAIL, .device = USED };

/* Descriptor @i of the table at @table. */
static void desc_at(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + table + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc_at(DESC, i, addr, len, flags, next);
}

/* Makes head @head available as the ring's next entry. */
static void make_avail(uint16_t head)
{
	uint16_t idx;

	memcpy(&idx, ram + AVAIL + 2, 2);
	memcpy(ram + AVAIL + 4 + 2 * (idx % QSIZE), &head, 2);
	idx++;
	memcpy(ram + AVAIL + 2, &idx, 2);
}

static void test_chains(void)
{
	struct vq_chain c;
	uint16_t last = 0, used_idx;
	uint32_t id, len;

	memset(ram, 0, sizeof(ram));
	ASSERT_INT_EQ(vq_pop(ram, RAM, &q, &last, &c), 0);                     /* nothing yet */
	/* A control command as Linux sends it: {class, cmd} | data | ack. */
	memcpy(ram + 0x5000, "\x04\x00", 2);
	memcpy(ram + 0x5100, "\x02\x00", 2);
	desc(3, 0x5000, 2, 1, 5);
	desc(5, 0x5100, 2, 1, 0);
	desc(0, 0x5200, 1, 2, 0);
	make_avail(3);
	ASSERT_INT_EQ(vq_pop(ram, RAM, &q, &last, &c), 1);
	ASSERT_INT_EQ(last, 1);
	ASSERT_INT_EQ(c.head, 3);
	ASSERT_INT_EQ(c.out_len, 4);
	ASSERT_TRUE(!memcmp(c.out, "\x04\x00\x02\x00", 4));
	ASSERT_TRUE(c.in == ram + 0x5200 && c.in_len == 1);
	ASSERT_OK(vq_push(ram, RAM, &q, c.head, 1));
	memcpy(&used_idx, ram + USED + 2, 2);
	memcpy(&id, ram + USED + 4, 4);
	memcpy(&len, ram + USED + 8, 4);
	ASSERT_INT_EQ(used_idx, 1);
	ASSERT_INT_EQ(id, 3);
	ASSERT_INT_EQ(len, 1);
	ASSERT_INT_EQ(vq_pop(ram, RAM, &q, &last, &c), 0);

	/* More readable bytes than 64 are cut at 64; the chain still completes. */
	desc(1, 0x6000, 200, 1, 2);
	desc(2, 0x5200, 1, 2, 0);
	make_avail(1);
	ASSERT_INT_EQ(vq_pop(ram, RAM, &q, &last, &c), 1);
	ASSERT_INT_EQ(c.out_len, 64);
	ASSERT_TRUE(c.in != NULL);
}

static void test_hostile(void)
{
	struct vq_chain c;
	uint16_t last = 0;
	struct virtio_queue outside = q;

	memset(ram, 0, sizeof(ram));
	/* A loop: 1 -> 2 -> 1. Consumed, refused, its head known. */
	desc(1, 0x5000, 2, 1, 2);
	desc(2, 0x5000, 2, 1, 1);
	make_avail(1);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	ASSERT_INT_EQ(c.head, 1);
	ASSERT_INT_EQ(last, 1);
	/* A next index past the ring. */
	desc(1, 0x5000, 2, 1, QSIZE);
	make_avail(1);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	/* A head index past the ring. */
	make_avail(QSIZE + 3);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	/* A buffer running past the end of RAM, and one wrapping the address space. */
	desc(1, RAM - 1, 2, 0, 0);
	make_avail(1);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	desc(1, UINT64_MAX - 1, 4, 0, 0);
	make_avail(1);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	/* Readable after writable, and two writable buffers. */
	desc(1, 0x5200, 1, 2 | 1, 2);
	desc(2, 0x5000, 2, 0, 0);
	make_avail(1);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	desc(2, 0x5300, 1, 2, 0);
	make_avail(1);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	ASSERT_INT_EQ(last, 7);                         /* every one consumed */
	/* Rings outside RAM: nothing read, nothing written. */
	outside.device = RAM - 8;
	ASSERT_ERR(vq_push(ram, RAM, &outside, 0, 0), EFAULT);
	outside = q;
	outside.driver = RAM;
	ASSERT_ERR(vq_pop(ram, RAM, &outside, &last, &c), EFAULT);
	ASSERT_INT_EQ(last, 7);
}

/* One indirect descriptor holding the chain, as Linux sends every control command. */
static void test_indirect(void)
{
	struct vq_chain c;
	uint16_t last = 0;

	memset(ram, 0, sizeof(ram));
	memcpy(ram + 0x5000, "\x04\x00", 2);
	memcpy(ram + 0x5100, "\x02\x00", 2);
	desc_at(0x7000, 0, 0x5000, 2, 1, 1);
	desc_at(0x7000, 1, 0x5100, 2, 1, 2);
	desc_at(0x7000, 2, 0x5200, 1, 2, 0);
	desc(4, 0x7000, 48, 4, 0);
	make_avail(4);
	ASSERT_INT_EQ(vq_pop(ram, RAM, &q, &last, &c), 1);
	ASSERT_INT_EQ(c.head, 4);
	ASSERT_INT_EQ(c.out_len, 4);
	ASSERT_TRUE(!memcmp(c.out, "\x04\x00\x02\x00", 4));
	ASSERT_TRUE(c.in == ram + 0x5200 && c.in_len == 1);

	/* Refused: a table that is not whole descriptors, an indirect one with NEXT, one after a
	 * direct descriptor, one inside a table, a loop inside the table, a next past its end. */
	desc(4, 0x7000, 40, 4, 0);
	make_avail(4);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	desc(4, 0x7000, 48, 4 | 1, 5);
	make_avail(4);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	desc(3, 0x5000, 2, 1, 4);
	desc(4, 0x7000, 48, 4, 0);
	make_avail(3);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	desc_at(0x7000, 1, 0x7000, 48, 4, 0);
	make_avail(4);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	desc_at(0x7000, 1, 0x5100, 2, 1, 0);            /* 0 -> 1 -> 0 */
	make_avail(4);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	desc_at(0x7000, 1, 0x5100, 2, 1, 3);            /* the table has 3 */
	make_avail(4);
	ASSERT_ERR(vq_pop(ram, RAM, &q, &last, &c), EINVAL);
	ASSERT_INT_EQ(last, 7);
}

/* The driver's test before it kicks (virtio 1.2 §2.7.10, Linux's vring_need_event). */
static bool driver_kicks(uint16_t old_idx, uint16_t new_idx)
{
	uint16_t event;

	memcpy(&event, ram + USED + 4 + 8 * QSIZE, 2);
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/*
 * EVENT_IDX: a device that never publishes avail_event leaves it 0, and a driver that posts its
 * second chain then does not kick. vq_kick_at publishes where the device stands, and says
 * whether something came in meanwhile; it stays inside the used ring it was given.
 */
static void test_kick_at(void)
{
	struct vq_chain c;
	uint16_t last = 0;
	struct virtio_queue outside = q;

	memset(ram, 0, sizeof(ram));
	desc(0, 0x5000, 2, 1, 1);
	desc(1, 0x5200, 1, 2, 0);
	make_avail(0);
	ASSERT_TRUE(driver_kicks(0, 1));
	ASSERT_INT_EQ(vq_pop(ram, RAM, &q, &last, &c), 1);
	ASSERT_OK(vq_push(ram, RAM, &q, c.head, 1));
	ASSERT_TRUE(!driver_kicks(1, 2));          /* the bug: avail_event still 0 */
	ASSERT_INT_EQ(vq_kick_at(ram, RAM, &q, last), 0);
	ASSERT_TRUE(driver_kicks(1, 2));           /* published: 1 */
	make_avail(0);
	/* Made available before the device published: it is told to look again. */
	ASSERT_INT_EQ(vq_kick_at(ram, RAM, &q, last), 1);
	ASSERT_INT_EQ(vq_pop(ram, RAM, &q, &last, &c), 1);
	ASSERT_INT_EQ(vq_kick_at(ram, RAM, &q, last), 0);
	ASSERT_TRUE(driver_kicks(2, 3));
	/* The used ring's last 2 bytes must be RAM too. */
	outside.device = RAM - (4 + 8 * QSIZE);
	ASSERT_ERR(vq_kick_at(ram, RAM, &outside, last), EFAULT);
	outside.device = RAM - (6 + 8 * QSIZE);
	ASSERT_INT_EQ(vq_kick_at(ram, RAM, &outside, last), 0);
}

UNIT_MAIN("vmm/vq",
	  UNIT_TEST(test_chains),
	  UNIT_TEST(test_hostile),
	  UNIT_TEST(test_indirect),
	  UNIT_TEST(test_kick_at))
