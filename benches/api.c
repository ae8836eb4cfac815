/* SPDX-License-Identifier: MIT */
/*
 * iovkitd API benchmark: requests per second and p50/p99 latency of host.info and pci.list
 * with 1 and 50 clients for SECONDS each, two ways:
 *   saturated  each client a connection calling back to back: the most calls/s; with 50
 *              clients each call waits for the 49 ahead of it, so p50 is about 50 service times
 *   paced      each of 50 clients calls once every 20 ms (2,500 calls/s in all, at a random
 *              phase): the latency a client sees while 49 others are busy too
 * The peer is what a script does without the daemon: run a program per query (`lspci -D -k`
 * for the PCI list, `iovctl host --json` for the host report); the ratio is the peer's median
 * time over the daemon's p50 (above 1: the daemon answers faster). Target (issue 8): p99
 * under 1 ms for read-only calls with 50 clients, judged on the paced runs (a saturated run
 * measures throughput, and its p99 is queueing by construction).
 *
 *   api-bench SOCK IOVCTL [SECONDS]     prints a table, then one JSON line
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iovkit/client.h"

extern char **environ;

struct worker {
	const char *sock, *method;
	double until;
	double period;          /* paced: seconds between calls; 0: back to back */
	double *lat;
	size_t n, cap;
	int errors;
	pthread_t th;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct iov_client *c;
	struct iov_rpc_error e;

	if (iov_client_open(w->sock, &c) < 0) {
		w->errors++;
		return NULL;
	}
	double next = now() + (w->period ? w->period * (double)(rand_r(&(unsigned int){ (unsigned int)(uintptr_t)w }) % 1000) / 1000 : 0);

	while (now() < w->until) {
		json_t *res = NULL;
		double t0;

		if (w->period) {
			double wait = next - now();

			if (wait > 0)
				usleep((useconds_t)(wait * 1e6));
			next += w->period;
		}
		t0 = now();

		if (iov_client_call(c, w->method, NULL, &res, &e) < 0)
			w->errors++;
		json_decref(res);
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 4096;
			w->lat = realloc(w->lat, w->cap * sizeof(double));
			if (!w->lat)
				abort();
		}
		w->lat[w->n++] = now() - t0;
	}
	iov_client_free(c);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double rps, p50_us, p99_us;
	size_t calls;
	int errors;
};

static struct result run(const char *sock, const char *method, int clients, double seconds, double period)
{
	struct worker *w = calloc((size_t)clients, sizeof(*w));
	struct result r = { 0 };
	double *all, start = now();
	size_t n = 0;

	if (!w)
		abort();
	for (int i = 0; i < clients; i++) {
		w[i] = (struct worker){ .sock = sock, .method = method, .until = start + seconds, .period = period };
		pthread_create(&w[i].th, NULL, work, &w[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].th, NULL);
		r.calls += w[i].n;
		r.errors += w[i].errors;
	}
	all = malloc((r.calls ? r.calls : 1) * sizeof(double));
	for (int i = 0; i < clients; i++) {
		memcpy(all + n, w[i].lat, w[i].n * sizeof(double));
		n += w[i].n;
		free(w[i].lat);
	}
	qsort(all, n, sizeof(double), cmp_double);
	if (n) {
		r.p50_us = all[n / 2] * 1e6;
		r.p99_us = all[n * 99 / 100] * 1e6;
	}
	r.rps = (double)r.calls / (now() - start);
	free(all);
	free(w);
	return r;
}

/* Median wall time of running @argv @runs times, in µs. */
static double peer_us(char *const argv[], int runs)
{
	double t[64];

	for (int i = 0; i < runs; i++) {
		posix_spawn_file_actions_t fa;
		double t0 = now();
		pid_t pid;
		int st;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
		if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
			posix_spawn_file_actions_destroy(&fa);
			return 0;
		}
		waitpid(pid, &st, 0);
		posix_spawn_file_actions_destroy(&fa);
		t[i] = (now() - t0) * 1e6;
	}
	qsort(t, (size_t)runs, sizeof(double), cmp_double);
	return t[runs / 2];
}

int main(int argc, char **argv)
{
	static const char *const methods[] = { "host.info", "pci.list" };
	static const int clients[] = { 1, 50 };
	struct result res[2][2], paced[2];
	double seconds = argc > 3 ? atof(argv[3]) : 3, peer[2], worst_p99 = 0;
	char *lspci[] = { "lspci", "-D", "-k", NULL };
	char *host[] = { argv[2], "host", "--json", NULL };
	int errors = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: api-bench SOCK IOVCTL [SECONDS]\n");
		return 2;
	}
	for (int m = 0; m < 2; m++)
		for (int c = 0; c < 2; c++) {
			res[m][c] = run(argv[1], methods[m], clients[c], seconds, 0);
			errors += res[m][c].errors;
		}
	for (int m = 0; m < 2; m++) {
		paced[m] = run(argv[1], methods[m], 50, seconds, 0.020);
		errors += paced[m].errors;
		if (paced[m].p99_us > worst_p99)
			worst_p99 = paced[m].p99_us;
	}
	peer[0] = peer_us(host, 21);
	peer[1] = peer_us(lspci, 21);

	printf("%-10s %-10s %7s %10s %10s %10s %14s %10s\n", "method", "load", "clients", "calls/s", "p50 us", "p99 us",
	       "peer", "peer/p50");
	for (int m = 0; m < 2; m++) {
		for (int c = 0; c < 2; c++)
			printf("%-10s %-10s %7d %10.0f %10.1f %10.1f %14s %10.1f\n", methods[m], "saturated", clients[c],
			       res[m][c].rps, res[m][c].p50_us, res[m][c].p99_us, m ? "lspci -D -k" : "iovctl host",
			       peer[m] / res[m][c].p50_us);
		printf("%-10s %-10s %7d %10.0f %10.1f %10.1f %14s %10.1f\n", methods[m], "paced", 50, paced[m].rps,
		       paced[m].p50_us, paced[m].p99_us, m ? "lspci -D -k" : "iovctl host", peer[m] / paced[m].p50_us);
	}
	printf("peer medians: iovctl host --json %.0f us, lspci -D -k %.0f us (a process per query)\n", peer[0], peer[1]);
	printf("target: p99 under 1000 us with 50 paced clients: worst %.0f us: %s; errors: %d\n", worst_p99,
	       worst_p99 < 1000 ? "met" : "NOT met", errors);
	printf("{\"bench\":\"api\",\"seconds\":%.1f", seconds);
	for (int m = 0; m < 2; m++)
		for (int c = 0; c < 2; c++)
			printf(",\"%s_%d\":{\"calls_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"ratio_peer_p50\":%.2f}",
			       methods[m], clients[c], res[m][c].rps, res[m][c].p50_us, res[m][c].p99_us,
			       peer[m] / res[m][c].p50_us);
	for (int m = 0; m < 2; m++)
		printf(",\"%s_50_paced\":{\"calls_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f}", methods[m], paced[m].rps,
		       paced[m].p50_us, paced[m].p99_us);
	printf(",\"peer_iovctl_host_us\":%.0f,\"peer_lspci_us\":%.0f,\"errors\":%d,\"target_met\":%s}\n", peer[0], peer[1],
	       errors, worst_p99 < 1000 && !errors ? "true" : "false");
	return errors ? 1 : 0;
}
