/* timer: an interleaving timer for the nopyc benchmark (scripts/bench/).
 *
 *   timer [-r ROUNDS] [-w WARMUP] [-s SEED] [-o RAWFILE] -- SCENARIO [:: SCENARIO]...
 *   SCENARIO := NAME [prep=SHELL-COMMAND] [-u VAR]... [VAR=VALUE]... COMMAND [ARG]...
 *
 * Every round runs each scenario once, in a freshly shuffled order, so each
 * scenario is interleaved with the first one (the baseline): A B A B ...
 * A scenario's prep command (sh -c, untimed) runs right before each of its
 * runs, for cold starts.  WARMUP rounds run first and are not recorded.
 * The child gets its own environment (the timer's, with -u and VAR=VALUE
 * applied, as env(1) would, but without an extra exec), stdout on /dev/null,
 * stderr inherited.  A run that exits non-zero aborts the benchmark.
 *
 * Wall time is taken from just before posix_spawn to just after wait4; CPU
 * time (user + system) and peak RSS come from wait4's rusage.  Output, one
 * line per scenario:
 *   NAME n=R median_ms=M p25_ms=A p75_ms=B ratio=X ratio_p25=Y ratio_p75=Z
 *        cpu_ms=C cpu_ratio=X cpu_ratio_p25=Y cpu_ratio_p75=Z maxrss_kb=K
 * where ratio is the median over rounds of (this run / the baseline's run in
 * the same round), robust against load that drifts during the benchmark.
 * The raw file gets one line per scenario: NAME wall_ms/cpu_ms/rss_kb ...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct scenario {
	const char *name;
	const char *prep;
	char **argv;
	char **envp;
	double *ms;
	double *cpu;
	long *rss;
};

static void die(const char *msg)
{
	fprintf(stderr, "timer: %s\n", msg);
	exit(2);
}

static int is_assignment(const char *s)
{
	const char *eq = strchr(s, '=');
	if (!eq || eq == s)
		return 0;
	for (const char *p = s; p < eq; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (p > s && *p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

static int same_var(const char *entry, const char *name, size_t len)
{
	return strncmp(entry, name, len) == 0 && entry[len] == '=';
}

static void env_unset(char **env, size_t *n, const char *name, size_t len)
{
	size_t j = 0;
	for (size_t i = 0; i < *n; i++)
		if (!same_var(env[i], name, len))
			env[j++] = env[i];
	*n = j;
	env[j] = NULL;
}

/* Parse argv[from..to) into *s. */
static void parse(struct scenario *s, char **argv, int from, int to)
{
	if (from >= to)
		die("empty scenario");
	s->name = argv[from++];
	size_t envc = 0;
	while (environ[envc])
		envc++;
	char **env = calloc(envc + (size_t)(to - from) + 1, sizeof *env);
	if (!env)
		die("out of memory");
	memcpy(env, environ, envc * sizeof *env);
	size_t n = envc;
	for (; from < to; from++) {
		const char *a = argv[from];
		if (strncmp(a, "prep=", 5) == 0) {
			s->prep = a + 5;
		} else if (strcmp(a, "-u") == 0 && from + 1 < to) {
			const char *v = argv[++from];
			env_unset(env, &n, v, strlen(v));
		} else if (is_assignment(a)) {
			env_unset(env, &n, a, (size_t)(strchr(a, '=') - a));
			env[n++] = (char *)a;
			env[n] = NULL;
		} else {
			break;
		}
	}
	if (from >= to)
		die("scenario without a command");
	s->envp = env;
	s->argv = calloc((size_t)(to - from) + 1, sizeof *s->argv);
	if (!s->argv)
		die("out of memory");
	memcpy(s->argv, argv + from, (size_t)(to - from) * sizeof *s->argv);
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Spawn argv with envp, stdout on /dev/null; wait.  Returns wall ms. */
static double run(const char *name, char **argv, char **envp, long *rss, double *cpu)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	double t0 = now_ms();
	int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	if (err) {
		fprintf(stderr, "timer: %s: %s: %s\n", name, argv[0], strerror(err));
		exit(2);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4 failed");
	double t1 = now_ms();
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "timer: scenario %s: %s failed (status %d)\n",
		        name, argv[0], status);
		exit(2);
	}
	if (rss)
		*rss = ru.ru_maxrss;
	if (cpu)
		*cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	return t1 - t0;
}

static void run_scenario(struct scenario *s, int round)
{
	if (s->prep) {
		char *sh[] = { "/bin/sh", "-c", (char *)s->prep, NULL };
		run(s->name, sh, environ, NULL, NULL);
	}
	long rss = 0;
	double cpu = 0;
	double ms = run(s->name, s->argv, s->envp, &rss, &cpu);
	if (round >= 0) {
		s->ms[round] = ms;
		s->cpu[round] = cpu;
		s->rss[round] = rss;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Quantile q of v[0..n) (sorts v), linear interpolation. */
static double quantile(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	double pos = q * (n - 1);
	int i = (int)pos;
	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

int main(int argc, char **argv)
{
	int rounds = 10, warmup = 1;
	unsigned seed = 1;
	const char *rawfile = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "+r:w:s:o:")) != -1) {
		switch (opt) {
		case 'r': rounds = atoi(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 's': seed = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'o': rawfile = optarg; break;
		default: die("usage: timer [-r ROUNDS] [-w WARMUP] [-s SEED] [-o RAW] -- SCENARIO [:: SCENARIO]...");
		}
	}
	if (rounds < 1)
		die("ROUNDS must be positive");
	int ns = 0;
	struct scenario sc[64];
	memset(sc, 0, sizeof sc);
	for (int i = optind, start = optind; i <= argc; i++) {
		if (i == argc || strcmp(argv[i], "::") == 0) {
			if (ns == 64)
				die("too many scenarios");
			parse(&sc[ns++], argv, start, i);
			start = i + 1;
		}
	}
	if (ns < 1)
		die("no scenario");
	for (int s = 0; s < ns; s++) {
		sc[s].ms = calloc((size_t)rounds, sizeof *sc[s].ms);
		sc[s].cpu = calloc((size_t)rounds, sizeof *sc[s].cpu);
		sc[s].rss = calloc((size_t)rounds, sizeof *sc[s].rss);
		if (!sc[s].ms || !sc[s].cpu || !sc[s].rss)
			die("out of memory");
	}

	int order[64];
	for (int s = 0; s < ns; s++)
		order[s] = s;
	for (int round = -warmup; round < rounds; round++) {
		for (int i = ns - 1; i > 0; i--) {        /* Fisher-Yates */
			int j = rand_r(&seed) % (i + 1);
			int t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < ns; i++)
			run_scenario(&sc[order[i]], round);
	}

	FILE *raw = rawfile ? fopen(rawfile, "a") : NULL;
	double *tmp = calloc((size_t)rounds, sizeof *tmp);
	for (int s = 0; s < ns; s++) {
		struct scenario *x = &sc[s];
		if (raw) {
			fprintf(raw, "%s", x->name);
			for (int r = 0; r < rounds; r++)
				fprintf(raw, " %.3f/%.3f/%ld", x->ms[r], x->cpu[r], x->rss[r]);
			fputc('\n', raw);
		}
		for (int r = 0; r < rounds; r++)
			tmp[r] = x->ms[r] / sc[0].ms[r];
		double rmed = quantile(tmp, rounds, 0.5);
		double r25 = quantile(tmp, rounds, 0.25);
		double r75 = quantile(tmp, rounds, 0.75);
		for (int r = 0; r < rounds; r++)
			tmp[r] = (double)x->rss[r];
		double rss = quantile(tmp, rounds, 0.5);
		for (int r = 0; r < rounds; r++)
			tmp[r] = x->cpu[r] / sc[0].cpu[r];
		double cmed = quantile(tmp, rounds, 0.5);
		double c25 = quantile(tmp, rounds, 0.25);
		double c75 = quantile(tmp, rounds, 0.75);
		memcpy(tmp, x->cpu, (size_t)rounds * sizeof *tmp);
		double cpu = quantile(tmp, rounds, 0.5);
		memcpy(tmp, x->ms, (size_t)rounds * sizeof *tmp);
		double med = quantile(tmp, rounds, 0.5);
		double p25 = quantile(tmp, rounds, 0.25);
		double p75 = quantile(tmp, rounds, 0.75);
		printf("%s n=%d median_ms=%.2f p25_ms=%.2f p75_ms=%.2f ratio=%.4f "
		       "ratio_p25=%.4f ratio_p75=%.4f cpu_ms=%.2f cpu_ratio=%.4f "
		       "cpu_ratio_p25=%.4f cpu_ratio_p75=%.4f maxrss_kb=%.0f\n",
		       x->name, rounds, med, p25, p75, rmed, r25, r75,
		       cpu, cmed, c25, c75, rss);
	}
	if (raw)
		fclose(raw);
	return 0;
}
