/* SPDX-License-Identifier: MIT */
/*
 * GPU passthrough benchmark: runs the same way on a host and inside a guest, so the guest/host
 * ratio of its figures is what passthrough costs. Through the CUDA driver API loaded at run time
 * (dlopen "libcuda.so.1", or $IOVKIT_CUDA_LIBRARY): host->device and device->host copy bandwidth
 * from pageable and from pinned memory, 4 KiB to 1 GiB; small-transfer latency; device-to-device
 * bandwidth. Each GPU's figures are set against its PCIe link's rate (current_link_speed x
 * current_link_width, the kernel's reading of the LnkSta register), so "80% of the link" means
 * the same on a host and in a guest.
 *
 * No GPU (no driver library, no device): says so and exits 77. Prints a table, then one JSON line.
 *   gpu-bench [--max-mib N] [--seconds S]
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int curesult;
typedef int cudevice;
typedef void *cucontext;
typedef unsigned long long cudeviceptr;

struct cuda {
	void *lib;
	curesult (*init)(unsigned int);
	curesult (*count)(int *);
	curesult (*get)(cudevice *, int);
	curesult (*name)(char *, int, cudevice);
	curesult (*pci_bus_id)(char *, int, cudevice);
	curesult (*ctx_create)(cucontext *, unsigned int, cudevice);
	curesult (*ctx_destroy)(cucontext);
	curesult (*alloc)(cudeviceptr *, size_t);
	curesult (*free)(cudeviceptr);
	curesult (*host_alloc)(void **, size_t, unsigned int);
	curesult (*host_free)(void *);
	curesult (*htod)(cudeviceptr, const void *, size_t);
	curesult (*dtoh)(void *, cudeviceptr, size_t);
	curesult (*dtod)(cudeviceptr, cudeviceptr, size_t);
	curesult (*sync)(void);
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int load(struct cuda *c, const char *path, char *why, size_t len)
{
	static const struct {
		const char *sym;
		size_t off;
	} syms[] = {
		{ "cuInit", offsetof(struct cuda, init) },
		{ "cuDeviceGetCount", offsetof(struct cuda, count) },
		{ "cuDeviceGet", offsetof(struct cuda, get) },
		{ "cuDeviceGetName", offsetof(struct cuda, name) },
		{ "cuDeviceGetPCIBusId", offsetof(struct cuda, pci_bus_id) },
		{ "cuCtxCreate_v2", offsetof(struct cuda, ctx_create) },
		{ "cuCtxDestroy_v2", offsetof(struct cuda, ctx_destroy) },
		{ "cuMemAlloc_v2", offsetof(struct cuda, alloc) },
		{ "cuMemFree_v2", offsetof(struct cuda, free) },
		{ "cuMemHostAlloc", offsetof(struct cuda, host_alloc) },
		{ "cuMemFreeHost", offsetof(struct cuda, host_free) },
		{ "cuMemcpyHtoD_v2", offsetof(struct cuda, htod) },
		{ "cuMemcpyDtoH_v2", offsetof(struct cuda, dtoh) },
		{ "cuMemcpyDtoD_v2", offsetof(struct cuda, dtod) },
		{ "cuCtxSynchronize", offsetof(struct cuda, sync) },
	};

	c->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!c->lib) {
		snprintf(why, len, "%s cannot be loaded (no NVIDIA driver): %s", path, dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(c->lib, syms[i].sym);

		if (!f) {
			snprintf(why, len, "%s lacks %s", path, syms[i].sym);
			return -ENOSYS;
		}
		memcpy((char *)c + syms[i].off, &f, sizeof(f));
	}
	return 0;
}

/* The link's rate in GB/s: GT/s x lanes x encoding (8b/10b up to 5 GT/s, 128b/130b after). */
static double link_gbps(const char *bdf, char *desc, size_t len)
{
	char path[256], speed[64] = "", width[16] = "";
	double gts, lanes;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/current_link_speed", bdf);
	if ((f = fopen(path, "re"))) {
		if (!fgets(speed, sizeof(speed), f))
			speed[0] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/current_link_width", bdf);
	if ((f = fopen(path, "re"))) {
		if (!fgets(width, sizeof(width), f))
			width[0] = '\0';
		fclose(f);
	}
	gts = atof(speed);
	lanes = atof(width);
	if (gts <= 0 || lanes <= 0) {
		snprintf(desc, len, "unknown (no link attributes for %s)", bdf);
		return 0;
	}
	snprintf(desc, len, "%.1f GT/s x%.0f", gts, lanes);
	return gts * lanes * (gts <= 5.0 ? 0.8 : 128.0 / 130.0) / 8.0;
}

/* GB/s of @op moving @size bytes, repeated for about @seconds (at least 3 times). */
static double bandwidth(struct cuda *c, int op, void *host, cudeviceptr dev, cudeviceptr dev2, size_t size, double seconds)
{
	unsigned int reps = 0;
	double t0 = now(), t;

	do {
		curesult r = op == 0 ? c->htod(dev, host, size) : op == 1 ? c->dtoh(host, dev, size) : c->dtod(dev2, dev, size);

		if (r != 0)
			return -1;
		if (op == 2)
			c->sync();
		reps++;
		t = now() - t0;
	} while (t < seconds || reps < 3);
	return (double)size * reps / t / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-mib", required_argument, NULL, 'm' }, { "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *lib = getenv("IOVKIT_CUDA_LIBRARY") ? getenv("IOVKIT_CUDA_LIBRARY") : "libcuda.so.1";
	size_t max = (size_t)1 << 30;
	double seconds = 0.2;
	struct cuda c;
	char why[512], *json = NULL;
	size_t json_len = 0;
	FILE *js;
	int n = 0, opt;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'm')
			max = (size_t)strtoul(optarg, NULL, 10) << 20;
		else if (opt == 's')
			seconds = atof(optarg);
		else {
			fputs("usage: gpu-bench [--max-mib N] [--seconds S]\n", opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (max < 4096 || seconds <= 0) {
		fputs("gpu-bench: --max-mib at least 1, --seconds above 0\n", stderr);
		return 2;
	}
	memset(&c, 0, sizeof(c));
	if (load(&c, lib, why, sizeof(why)) < 0) {
		printf("SKIP: no GPU here: %s\n", why);
		return 77;
	}
	if (c.init(0) != 0 || c.count(&n) != 0 || n == 0) {
		printf("SKIP: no GPU here: the CUDA driver sees no device\n");
		return 77;
	}
	printf("%-4s %-10s %12s %12s %12s %12s %10s\n", "GPU", "size", "H2D pageable", "D2H pageable", "H2D pinned",
	       "D2H pinned", "D2D");
	js = open_memstream(&json, &json_len);
	if (!js)
		return 1;
	fprintf(js, "{\"bench\":\"gpu\",\"gpus\":[");
	for (int g = 0; g < n; g++) {
		char name[128] = "", bdf[32] = "", link[64];
		cudevice dev;
		cucontext ctx;
		cudeviceptr d1 = 0, d2 = 0;
		void *pinned = NULL, *pageable;
		double lat, peak_h2d = 0, rate;

		c.get(&dev, g);
		c.name(name, sizeof(name), dev);
		c.pci_bus_id(bdf, sizeof(bdf), dev);
		for (char *p = bdf; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
		rate = link_gbps(bdf, link, sizeof(link));
		if (c.ctx_create(&ctx, 0, dev) != 0 || c.alloc(&d1, max) != 0 || c.alloc(&d2, max) != 0 ||
		    c.host_alloc(&pinned, max, 0) != 0 || !(pageable = malloc(max))) {
			fprintf(stderr, "gpu-bench: GPU %d: cannot allocate %zu MiB on the device and the host\n", g, max >> 20);
			return 1;
		}
		memset(pageable, 1, max);
		memset(pinned, 1, max);
		/* Latency: a 4-byte round trip, host -> device -> host, from pinned memory. */
		{
			unsigned int reps = 0;
			double t0 = now();

			while (now() - t0 < seconds || reps < 100) {
				c.htod(d1, pinned, 4);
				c.dtoh(pinned, d1, 4);
				reps++;
			}
			lat = (now() - t0) / reps / 2 * 1e6;
		}
		fprintf(js, "%s{\"index\":%d,\"name\":\"%s\",\"bdf\":\"%s\",\"link\":\"%s\",\"link_gbps\":%.2f,\"latency_us\":%.2f,"
		       "\"sizes\":[", g ? "," : "", g, name, bdf, link, rate, lat);
		for (size_t size = 4096; size <= max; size *= 4) {
			double v[5] = {
				bandwidth(&c, 0, pageable, d1, d2, size, seconds), bandwidth(&c, 1, pageable, d1, d2, size, seconds),
				bandwidth(&c, 0, pinned, d1, d2, size, seconds), bandwidth(&c, 1, pinned, d1, d2, size, seconds),
				bandwidth(&c, 2, NULL, d1, d2, size, seconds),
			};

			if (v[2] > peak_h2d)
				peak_h2d = v[2];
			fprintf(js, "%s{\"bytes\":%zu,\"h2d_pageable_gbps\":%.3f,\"d2h_pageable_gbps\":%.3f,\"h2d_pinned_gbps\":%.3f,"
			       "\"d2h_pinned_gbps\":%.3f,\"d2d_gbps\":%.3f}", size == 4096 ? "" : ",", size, v[0], v[1], v[2],
			       v[3], v[4]);
			printf("%-4d %7zu KiB %9.2f GB/s %9.2f GB/s %9.2f GB/s %9.2f GB/s %7.1f GB/s\n", g, size >> 10,
				v[0], v[1], v[2], v[3], v[4]);
		}
		fprintf(js, "],\"peak_h2d_pinned_gbps\":%.3f,\"peak_of_link\":%.3f}", peak_h2d, rate > 0 ? peak_h2d / rate : 0);
		printf("GPU %d: %s at %s, link %s (%.1f GB/s): pinned host->device peaks at %.1f GB/s (%.0f%% of the link); "
				"4-byte copy latency %.1f us\n", g, name, bdf, link, rate, peak_h2d,
			rate > 0 ? 100 * peak_h2d / rate : 0, lat);
		free(pageable);
		c.host_free(pinned);
		c.free(d1);
		c.free(d2);
		c.ctx_destroy(ctx);
	}
	fprintf(js, "]}");
	fclose(js);
	printf("%s\n", json);
	free(json);
	return 0;
}
