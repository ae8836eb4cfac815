/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for libcuda.so.1 with the entry points benches/gpu.c calls: one "device" whose
 * memory is host memory, so copies are memcpy. It checks the benchmark's logic (allocation,
 * every direction and size, the JSON it prints), not any GPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cuInit(unsigned int f) { return 0; }
int cuDeviceGetCount(int *n) { *n = 1; return 0; }
int cuDeviceGet(int *d, int i) { *d = i; return i == 0 ? 0 : 101; }
int cuDeviceGetName(char *n, int len, int d) { snprintf(n, (size_t)len, "Stand-in GPU"); return 0; }
int cuDeviceGetPCIBusId(char *b, int len, int d) { snprintf(b, (size_t)len, "0000:00:00.0"); return 0; }
int cuCtxCreate_v2(void **c, unsigned int f, int d) { *c = (void *)1; return 0; }
int cuCtxDestroy_v2(void *c) { return 0; }
int cuMemAlloc_v2(unsigned long long *p, size_t n) { void *m = malloc(n); *p = (unsigned long long)(size_t)m; return m ? 0 : 2; }
int cuMemFree_v2(unsigned long long p) { free((void *)(size_t)p); return 0; }
int cuMemHostAlloc(void **p, size_t n, unsigned int f) { *p = malloc(n); return *p ? 0 : 2; }
int cuMemFreeHost(void *p) { free(p); return 0; }
int cuMemcpyHtoD_v2(unsigned long long d, const void *s, size_t n) { memcpy((void *)(size_t)d, s, n); return 0; }
int cuMemcpyDtoH_v2(void *d, unsigned long long s, size_t n) { memcpy(d, (void *)(size_t)s, n); return 0; }
int cuMemcpyDtoD_v2(unsigned long long d, unsigned long long s, size_t n) { memcpy((void *)(size_t)d, (void *)(size_t)s, n); return 0; }
int cuCtxSynchronize(void) { return 0; }
