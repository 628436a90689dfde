/* percall: the per-call loop of the nopyc benchmark (scripts/bench/).
 *
 *   percall OP PATH N        process mode
 *   percall OP PATH N ab     in-process A/B mode
 *
 * Process mode calls OP on PATH N times in a loop and prints one line:
 *   ns_per_call=<wall> cpu_ns_per_call=<process CPU time> maxrss_kb=<int>
 * A/B mode (run it with the shim preloaded) alternates batches of calls
 * through the normal, interposed symbol (A: the shim, then libc) and through
 * libc's own definition found with dlopen(libc.so.6, RTLD_NOLOAD) + dlsym
 * (B: libc directly), which first goes A and which B changing every pair,
 * and prints, over the batch pairs (CPU time; medians):
 *   a_ns=<ns per call via the shim> b_ns=<ns per call direct>
 *   added_ns=<median of (A - B) per call> ratio=<median of A / B>
 * Both sides share one process, one cache state and one moment of machine
 * load, which makes this the precise time measurement of the shim's cost.
 * OP is the libc name Python uses for the operation:
 *   stat    stat64(PATH, &st)
 *   open    open64(PATH, O_RDONLY|O_CLOEXEC) then close(fd)
 *           (close is not wrapped, so the shim's cost is that of one open)
 *   access  access(PATH, R_OK)
 *   write   write(fd, "x", 1), fd PATH opened once for writing (/dev/null:
 *           the shim's cost on a descriptor, wrapped for its write watch)
 * The first call must succeed (exit 1 otherwise), so a benchmark cannot
 * time a failing call by mistake.
 *
 * PERCALL_OFFSET=K (0 to 63) in the environment: PATH is first copied to
 * K bytes past a 64-byte boundary, so the cost of a path's place in memory
 * (a filter that reads aligned blocks) can be measured at every offset.
 *
 * The loop is the function bench_loop, kept out of line so that
 * `valgrind --tool=callgrind --toggle-collect=bench_loop` counts exactly the
 * loop; running with N and 2N and taking the difference cancels the one-off
 * costs of the first call (lazy binding, the shim's first-use set-up).
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum op { OP_STAT, OP_OPEN, OP_ACCESS, OP_WRITE };

/* OP_WRITE's descriptor, opened once (main). */
static int write_fd = -1;

static int one(enum op op, const char *path)
{
	struct stat64 st;
	int fd;
	switch (op) {
	case OP_STAT:
		return stat64(path, &st);
	case OP_OPEN:
		fd = open64(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		return close(fd);
	case OP_ACCESS:
		return access(path, R_OK);
	case OP_WRITE:
		return write(write_fd, "x", 1) == 1 ? 0 : -1;
	}
	return -1;
}

/* libc's own definitions, for the B side of A/B mode */
static int (*direct_stat64)(const char *, struct stat64 *);
static int (*direct_open64)(const char *, int, ...);
static int (*direct_access)(const char *, int);
static ssize_t (*direct_write)(int, const void *, size_t);

static int one_direct(enum op op, const char *path)
{
	struct stat64 st;
	int fd;
	switch (op) {
	case OP_STAT:
		return direct_stat64(path, &st);
	case OP_OPEN:
		fd = direct_open64(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		return close(fd);
	case OP_ACCESS:
		return direct_access(path, R_OK);
	case OP_WRITE:
		return direct_write(write_fd, "x", 1) == 1 ? 0 : -1;
	}
	return -1;
}

__attribute__((noinline)) static long loop_direct(enum op op, const char *path, long n)
{
	long failures = 0;
	for (long i = 0; i < n; i++)
		failures += one_direct(op, path) != 0;
	return failures;
}

__attribute__((noinline)) long bench_loop(enum op op, const char *path, long n);
__attribute__((noinline)) long bench_loop(enum op op, const char *path, long n)
{
	long failures = 0;
	for (long i = 0; i < n; i++)
		failures += one(op, path) != 0;
	return failures;
}

static double cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, long n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define BATCH 500

static int ab(enum op op, const char *path, long n)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	if (!libc) {
		fprintf(stderr, "percall: libc.so.6 not loaded: %s\n", dlerror());
		return 1;
	}
	direct_stat64 = (int (*)(const char *, struct stat64 *))dlsym(libc, "stat64");
	direct_open64 = (int (*)(const char *, int, ...))dlsym(libc, "open64");
	direct_access = (int (*)(const char *, int))dlsym(libc, "access");
	direct_write = (ssize_t (*)(int, const void *, size_t))dlsym(libc, "write");
	if (!direct_stat64 || !direct_open64 || !direct_access || !direct_write) {
		fprintf(stderr, "percall: libc symbols not found\n");
		return 1;
	}
	long pairs = n / BATCH < 1 ? 1 : n / BATCH;
	double *a = calloc((size_t)pairs, sizeof *a), *b = calloc((size_t)pairs, sizeof *b);
	double *d = calloc((size_t)pairs, sizeof *d), *r = calloc((size_t)pairs, sizeof *r);
	if (!a || !b || !d || !r)
		return 1;
	long failures = 0;
	for (long i = 0; i < pairs; i++) {
		double t0, t1, t2;
		if (i % 2) {
			t0 = cpu_ns();
			failures += bench_loop(op, path, BATCH);
			t1 = cpu_ns();
			failures += loop_direct(op, path, BATCH);
			t2 = cpu_ns();
			a[i] = (t1 - t0) / BATCH;
			b[i] = (t2 - t1) / BATCH;
		} else {
			t0 = cpu_ns();
			failures += loop_direct(op, path, BATCH);
			t1 = cpu_ns();
			failures += bench_loop(op, path, BATCH);
			t2 = cpu_ns();
			b[i] = (t1 - t0) / BATCH;
			a[i] = (t2 - t1) / BATCH;
		}
		d[i] = a[i] - b[i];
		r[i] = a[i] / b[i];
	}
	if (failures) {
		fprintf(stderr, "percall: %ld calls failed\n", failures);
		return 1;
	}
	printf("a_ns=%.2f b_ns=%.2f added_ns=%.2f ratio=%.4f\n",
	       median(a, pairs), median(b, pairs), median(d, pairs), median(r, pairs));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4 && !(argc == 5 && strcmp(argv[4], "ab") == 0)) {
		fprintf(stderr, "usage: %s stat|open|access|write PATH N [ab]\n", argv[0]);
		return 2;
	}
	enum op op;
	if (strcmp(argv[1], "stat") == 0)
		op = OP_STAT;
	else if (strcmp(argv[1], "open") == 0)
		op = OP_OPEN;
	else if (strcmp(argv[1], "access") == 0)
		op = OP_ACCESS;
	else if (strcmp(argv[1], "write") == 0)
		op = OP_WRITE;
	else {
		fprintf(stderr, "%s: unknown op %s\n", argv[0], argv[1]);
		return 2;
	}
	const char *path = argv[2];
	static char placed[64 + 4096] __attribute__((aligned(64)));
	const char *offset = getenv("PERCALL_OFFSET");
	if (offset) {
		int k = atoi(offset);
		if (k < 0 || k > 63 || strlen(path) >= sizeof placed - 64) {
			fprintf(stderr, "%s: PERCALL_OFFSET must be 0 to 63, PATH under 4 KiB\n", argv[0]);
			return 2;
		}
		path = strcpy(placed + k, path);
	}
	if (op == OP_WRITE && (write_fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], path, strerror(errno));
		return 1;
	}
	long n = atol(argv[3]);
	if (n < 1) {
		fprintf(stderr, "%s: N must be positive\n", argv[0]);
		return 2;
	}
	if (one(op, path) != 0) {
		fprintf(stderr, "%s: %s %s: %s\n", argv[0], argv[1], path, strerror(errno));
		return 1;
	}

	if (argc == 5)
		return ab(op, path, n);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double c0 = cpu_ns();
	long failures = bench_loop(op, path, n);
	double c1 = cpu_ns();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (failures) {
		fprintf(stderr, "%s: %ld of %ld calls failed\n", argv[0], failures, n);
		return 1;
	}
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("ns_per_call=%.2f cpu_ns_per_call=%.2f maxrss_kb=%ld\n",
	       ns / (double)n, (c1 - c0) / (double)n, ru.ru_maxrss);
	return 0;
}
