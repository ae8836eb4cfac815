/* SPDX-License-Identifier: MIT */
/* The host-root layer against a tree built in a temporary directory. */
#include <fcntl.h>
#include <sys/stat.h>

#include "../helpers/unit.h"
#include "iovkit/common.h"
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <unistd.h>

static struct fixture *fx;
static struct iov_ctx *ctx;

static void setup(void)
{
	fx = fx_new();
	fx_write(fx, "sys/class/net/eth0/mtu", "1500\n");
	fx_write(fx, "sys/bus/pci/devices/0000:00:01.0/vendor", "0x8086\n");
	fx_write(fx, "sys/bus/pci/devices/0000:00:01.0/numa_node", "-1\n");
	fx_write(fx, "sys/bus/pci/devices/0000:00:01.0/label", "  padded  \n\n");
	fx_write(fx, "sys/bus/pci/devices/0000:00:01.0/garbage", "12abc\n");
	fx_write(fx, "sys/bus/pci/devices/0000:00:01.0/huge", "99999999999999999999999\n");
	fx_write(fx, "sys/bus/pci/devices/0000:00:01.0/sriov_numvfs", "0\n");
	fx_symlink(fx, "sys/bus/pci/devices/0000:00:01.0/driver", "../../../bus/pci/drivers/ixgbe");
	fx_symlink(fx, "sys/bus/pci/devices/0000:00:01.0/absolute", "/sys/class/net/eth0");
	fx_symlink(fx, "sys/bus/pci/devices/0000:00:01.0/escape", "../../../../../../../../etc");
	fx_mkdir(fx, "etc");
	fx_write(fx, "etc/marker", "inside\n");
	for (int i = 0; i < 12; i++) {
		char p[128];

		snprintf(p, sizeof(p), "sys/bus/pci/devices/0000:00:01.0/virtfn%d/x", i);
		fx_write(fx, p, "%d\n", i);
	}
	ASSERT_OK(iov_ctx_new(fx->root, &ctx));
}

static void teardown(void)
{
	iov_ctx_free(ctx);
	fx_free(fx);
	ctx = NULL;
	fx = NULL;
}

static void test_attr_read_trims(void)
{
	char buf[64];

	setup();
	ASSERT_INT_EQ(iov_attr_read(ctx, buf, sizeof(buf), "sys/class/net/%s/mtu", "eth0"), 4);
	ASSERT_STR_EQ(buf, "1500");
	ASSERT_INT_EQ(iov_attr_read(ctx, buf, sizeof(buf), "/sys/bus/pci/devices/0000:00:01.0/label"), 8);
	ASSERT_STR_EQ(buf, "  padded");
	teardown();
}

static void test_attr_read_errors(void)
{
	char buf[4];
	char longpath[PATH_MAX + 16];

	setup();
	ASSERT_ERR(iov_attr_read(ctx, buf, sizeof(buf), "sys/class/net/eth1/mtu"), ENOENT);
	/* "1500" needs 5 bytes with its NUL. */
	ASSERT_ERR(iov_attr_read(ctx, buf, sizeof(buf), "sys/class/net/eth0/mtu"), ENOBUFS);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	ASSERT_ERR(iov_attr_read(ctx, buf, sizeof(buf), "%s", longpath), ENAMETOOLONG);
	teardown();
}

static void test_attr_read_numbers(void)
{
	const char *dev = "sys/bus/pci/devices/0000:00:01.0";
	uint64_t u = 7;
	int64_t s = 7;

	setup();
	ASSERT_OK(iov_attr_read_u64(ctx, &u, "%s/vendor", dev));
	ASSERT_INT_EQ(u, 0x8086);
	ASSERT_OK(iov_attr_read_s64(ctx, &s, "%s/numa_node", dev));
	ASSERT_INT_EQ(s, -1);
	/* Failures leave the output untouched. */
	u = 7;
	ASSERT_ERR(iov_attr_read_u64(ctx, &u, "%s/numa_node", dev), EINVAL);
	ASSERT_ERR(iov_attr_read_u64(ctx, &u, "%s/garbage", dev), EINVAL);
	ASSERT_ERR(iov_attr_read_u64(ctx, &u, "%s/huge", dev), ERANGE);
	ASSERT_ERR(iov_attr_read_u64(ctx, &u, "%s/label", dev), EINVAL);
	ASSERT_INT_EQ(u, 7);
	teardown();
}

static void test_attr_write(void)
{
	setup();
	ASSERT_OK(iov_attr_write(ctx, "4", "sys/bus/pci/devices/0000:00:01.0/sriov_numvfs"));
	ASSERT_STR_EQ(fx_read(fx, "sys/bus/pci/devices/0000:00:01.0/sriov_numvfs"), "4");
	/* Never creates a file that is not there. */
	ASSERT_ERR(iov_attr_write(ctx, "1", "sys/bus/pci/devices/0000:00:01.0/new_attr"), ENOENT);
	ASSERT_INT_EQ(iov_path_exists(ctx, "sys/bus/pci/devices/0000:00:01.0/new_attr"), 0);
	teardown();
}

static void test_links(void)
{
	char buf[256];

	setup();
	ASSERT_INT_EQ(iov_link_basename(ctx, buf, sizeof(buf), "sys/bus/pci/devices/0000:00:01.0/driver"), 5);
	ASSERT_STR_EQ(buf, "ixgbe");
	ASSERT_OK(iov_link_read(ctx, buf, sizeof(buf), "sys/bus/pci/devices/0000:00:01.0/driver"));
	ASSERT_STR_EQ(buf, "../../../bus/pci/drivers/ixgbe");
	ASSERT_ERR(iov_link_read(ctx, buf, sizeof(buf), "sys/class/net/eth0/mtu"), EINVAL);
	ASSERT_ERR(iov_link_basename(ctx, buf, sizeof(buf), "sys/bus/pci/devices/0000:00:01.0/nolink"), ENOENT);
	ASSERT_ERR(iov_link_basename(ctx, buf, 3, "sys/bus/pci/devices/0000:00:01.0/driver"), ENOBUFS);
	teardown();
}

static void test_resolution_stays_inside_root(void)
{
	char buf[64];

	setup();
	/* An absolute link resolves inside the tree, as it would on the host it came from. */
	ASSERT_INT_EQ(iov_attr_read(ctx, buf, sizeof(buf), "sys/bus/pci/devices/0000:00:01.0/absolute/mtu"), 4);
	ASSERT_STR_EQ(buf, "1500");
	/* ".." past the root stops at the root: this reads the tree's etc/marker, not the host's. */
	ASSERT_INT_EQ(iov_attr_read(ctx, buf, sizeof(buf), "sys/bus/pci/devices/0000:00:01.0/escape/marker"), 6);
	ASSERT_STR_EQ(buf, "inside");
	ASSERT_INT_EQ(iov_attr_read(ctx, buf, sizeof(buf), "../../../../../../etc/marker"), 6);
	ASSERT_ERR(iov_attr_read(ctx, buf, sizeof(buf), "../../../../../../etc/hostname"), ENOENT);
	teardown();
}

static void test_dir_list_natural_order(void)
{
	char **names = NULL;
	int n;

	setup();
	n = iov_dir_list(ctx, &names, "sys/bus/pci/devices/%s", "0000:00:01.0");
	ASSERT_INT_EQ(n, 21);
	if (n == 21) {
		ASSERT_STR_EQ(names[0], "absolute");
		/* virtfn2 before virtfn10, as a person reads them */
		int i2 = -1, i10 = -1;
		for (int i = 0; names[i]; i++) {
			if (!strcmp(names[i], "virtfn2"))
				i2 = i;
			if (!strcmp(names[i], "virtfn10"))
				i10 = i;
		}
		ASSERT_TRUE(i2 >= 0 && i10 > i2);
		ASSERT_TRUE(names[21] == NULL);
	}
	iov_strv_free(names);
	names = NULL;
	ASSERT_ERR(iov_dir_list(ctx, &names, "sys/nonexistent"), ENOENT);
	ASSERT_TRUE(names == NULL);
	ASSERT_ERR(iov_dir_list(ctx, &names, "sys/class/net/eth0/mtu"), ENOTDIR);
	fx_mkdir(fx, "empty");
	ASSERT_INT_EQ(iov_dir_list(ctx, &names, "empty"), 0);
	ASSERT_TRUE(names && names[0] == NULL);
	iov_strv_free(names);
	teardown();
}

static void test_exists_and_open(void)
{
	int fd;

	setup();
	ASSERT_INT_EQ(iov_path_exists(ctx, "sys/class/net/eth0"), 1);
	ASSERT_INT_EQ(iov_path_exists(ctx, "sys/class/net/eth9"), 0);
	ASSERT_INT_EQ(iov_path_exists(ctx, "sys/class/net/eth0/mtu/below_a_file"), 0);
	fx_symlink(fx, "dangling", "nowhere");
	ASSERT_INT_EQ(iov_path_exists(ctx, "dangling"), 1);
	fd = iov_path_open(ctx, O_RDONLY, "sys/class/net/eth0/mtu");
	ASSERT_OK(fd);
	if (fd >= 0) {
		ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
	teardown();
}

static void test_path_abs(void)
{
	struct iov_ctx *host;
	char buf[PATH_MAX], want[PATH_MAX], tiny[8];

	setup();
	snprintf(want, sizeof(want), "%s/dev/vfio/vfio", fx->root);
	ASSERT_INT_EQ(iov_path_abs(ctx, buf, sizeof(buf), "dev/vfio/%s", "vfio"), (int)strlen(want));
	ASSERT_STR_EQ(buf, want);
	ASSERT_INT_EQ(iov_path_abs(ctx, buf, sizeof(buf), "/sys/bus/pci"), (int)strlen(fx->root) + 12);
	ASSERT_ERR(iov_path_abs(ctx, tiny, sizeof(tiny), "dev/vfio/vfio"), ENAMETOOLONG);
	teardown();
	ASSERT_OK(iov_ctx_new("/", &host));
	ASSERT_INT_EQ(iov_path_abs(host, buf, sizeof(buf), "dev/vfio/vfio"), 14);
	ASSERT_STR_EQ(buf, "/dev/vfio/vfio");
	iov_ctx_free(host);
}

static void test_ctx_errors(void)
{
	struct iov_ctx *c = (struct iov_ctx *)0x1;

	ASSERT_ERR(iov_ctx_new("/nonexistent/iovkit-root", &c), ENOENT);
	ASSERT_TRUE(c == (struct iov_ctx *)0x1);   /* not written on failure */
	ASSERT_ERR(iov_ctx_new("/etc/hostname", &c), ENOTDIR);
	ASSERT_OK(iov_ctx_new(NULL, &c));
	ASSERT_STR_EQ(iov_ctx_root(c), "/");
	ASSERT_STR_EQ(iov_ctx_reason(c), "");
	ASSERT_STR_EQ(iov_errno_name(-ENOENT), "ENOENT");
	ASSERT_STR_EQ(iov_strerror(-ENOENT), "No such file or directory");
	iov_ctx_free(c);
	iov_ctx_free(NULL);
}

static void test_parse_ulong(void)
{
	unsigned long v = 7;

	ASSERT_OK(iov_parse_ulong("42", 10, 0, 100, &v));
	ASSERT_INT_EQ(v, 42);
	ASSERT_OK(iov_parse_ulong("0", 10, 0, 0, &v));
	ASSERT_INT_EQ(v, 0);
	ASSERT_OK(iov_parse_ulong("0x1f", 0, 0, 100, &v));
	ASSERT_INT_EQ(v, 31);
	ASSERT_OK(iov_parse_ulong("ffff", 16, 0, 0xffff, &v));
	ASSERT_INT_EQ(v, 0xffff);
	v = 7;
	/* Not numbers: nothing is written. */
	ASSERT_ERR(iov_parse_ulong("", 10, 0, 100, &v), EINVAL);
	ASSERT_ERR(iov_parse_ulong(NULL, 10, 0, 100, &v), EINVAL);
	ASSERT_ERR(iov_parse_ulong("-1", 10, 0, ULONG_MAX, &v), EINVAL);   /* strtoul would wrap it */
	ASSERT_ERR(iov_parse_ulong("+1", 10, 0, 100, &v), EINVAL);
	ASSERT_ERR(iov_parse_ulong(" 1", 10, 0, 100, &v), EINVAL);
	ASSERT_ERR(iov_parse_ulong("1 ", 10, 0, 100, &v), EINVAL);
	ASSERT_ERR(iov_parse_ulong("12abc", 10, 0, 100, &v), EINVAL);
	ASSERT_ERR(iov_parse_ulong("0x", 16, 0, 100, &v), EINVAL);
	/* Out of bounds, and past what an unsigned long holds. */
	ASSERT_ERR(iov_parse_ulong("101", 10, 0, 100, &v), ERANGE);
	ASSERT_ERR(iov_parse_ulong("63", 10, 64, 65536, &v), ERANGE);
	ASSERT_ERR(iov_parse_ulong("99999999999999999999999", 10, 0, ULONG_MAX, &v), ERANGE);
	ASSERT_INT_EQ(v, 7);
	ASSERT_OK(iov_parse_ulong("18446744073709551615", 10, 0, ULONG_MAX, &v));
	ASSERT_TRUE(v == ULONG_MAX);
}

static void test_file_replace(void)
{
	char **names = NULL;
	struct stat st;
	char p[PATH_MAX + 64];

	setup();
	/* Parents are created; the file appears whole, with the mode asked for. */
	ASSERT_OK(iov_file_replace(ctx, "first\n", 6, 0600, "var/lib/iovkit/%s", "state.json"));
	ASSERT_STR_EQ(fx_read(fx, "var/lib/iovkit/state.json"), "first");
	snprintf(p, sizeof(p), "%s/var/lib/iovkit/state.json", fx->root);
	ASSERT_OK(stat(p, &st));
	ASSERT_INT_EQ(st.st_mode & 0777, 0600);
	/* Replacing a longer file with a shorter one leaves nothing of the old. */
	ASSERT_OK(iov_file_replace(ctx, "2", 1, 0600, "var/lib/iovkit/state.json"));
	ASSERT_STR_EQ(fx_read(fx, "var/lib/iovkit/state.json"), "2");
	/* No temporary file is left beside it. */
	ASSERT_INT_EQ(iov_dir_list(ctx, &names, "var/lib/iovkit"), 1);
	iov_strv_free(names);
	/* A parent that is a file, or a path naming a directory, fails and changes nothing. */
	ASSERT_ERR(iov_file_replace(ctx, "x", 1, 0600, "sys/class/net/eth0/mtu/below"), ENOTDIR);
	ASSERT_ERR(iov_file_replace(ctx, "x", 1, 0600, "var/lib/iovkit/"), EISDIR);
	ASSERT_STR_EQ(fx_read(fx, "sys/class/net/eth0/mtu"), "1500");
	teardown();
}

static atomic_bool renaming;

static void *rename_storm(void *arg)
{
	char a[4200], b[4200];

	snprintf(a, sizeof(a), "%s/storm.a", (const char *)arg);
	snprintf(b, sizeof(b), "%s/storm.b", (const char *)arg);
	close(open(a, O_CREAT | O_WRONLY, 0600));
	while (atomic_load(&renaming)) {
		rename(a, b);
		rename(b, a);
	}
	return NULL;
}

/*
 * RESOLVE_IN_ROOT answers EAGAIN for a lookup through ".." while any rename happens anywhere on
 * the system (state files are replaced by rename all the time): the layer retries, so a
 * lookup through a sysfs link never fails because of what another process did.
 */
static void test_lookup_survives_renames(void)
{
	char buf[64];
	pthread_t t;
	int failed = 0, last = 0;

	setup();
	atomic_store(&renaming, true);
	ASSERT_INT_EQ(pthread_create(&t, NULL, rename_storm, fx->root), 0);
	for (int i = 0; i < 20000; i++) {
		int r = iov_attr_read(ctx, buf, sizeof(buf), "sys/bus/pci/devices/0000:00:01.0/escape/marker");

		if (r != 6) {
			failed++;
			last = r;
		}
	}
	atomic_store(&renaming, false);
	pthread_join(t, NULL);
	ASSERT_INT_EQ(last, 0);
	ASSERT_INT_EQ(failed, 0);
	teardown();
}

UNIT_MAIN("common/hostroot",
	  UNIT_TEST(test_file_replace),
	  UNIT_TEST(test_attr_read_trims),
	  UNIT_TEST(test_attr_read_errors),
	  UNIT_TEST(test_attr_read_numbers),
	  UNIT_TEST(test_attr_write),
	  UNIT_TEST(test_links),
	  UNIT_TEST(test_resolution_stays_inside_root),
	  UNIT_TEST(test_lookup_survives_renames),
	  UNIT_TEST(test_dir_list_natural_order),
	  UNIT_TEST(test_exists_and_open),
	  UNIT_TEST(test_path_abs),
	  UNIT_TEST(test_parse_ulong),
	  UNIT_TEST(test_ctx_errors))
