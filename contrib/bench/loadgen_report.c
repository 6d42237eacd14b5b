/*
 * loadgen_report.c -- what the load generator measured: the latency
 * histogram, and the summary it prints at the end.
 *
 * Histogram: a value v >= 64 ns with highest set bit m falls in one of 32 equal
 * buckets between 2^m and 2^(m+1): index 64 + (m - 6) * 32 + the five
 * bits below the top one.  Values below 64 ns have a bucket each.  Adding
 * a sample is a few instructions and no allocation, which matters in the
 * client's hot loop.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "loadgen.h"

static const char *const err_names[ERR_MAX] = {
	[ERR_REFUSED] = "refused", [ERR_ADDR] = "addrnotavail",
	[ERR_RESET] = "reset", [ERR_EOF] = "early_eof",
	[ERR_MISMATCH] = "mismatch", [ERR_TIMEOUT] = "timeout",
	[ERR_OTHER] = "other",
};

static size_t
hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < 64)
		return (size_t)v;
	msb = 63U - (unsigned)__builtin_clzll(v);
	shift = msb - 5;	/* v >> shift is in [32, 64) */
	return 64 + (size_t)(shift - 1) * 32 + (size_t)((v >> shift) - 32);
}

/* The midpoint of bucket i, in ns. */
static double
hist_value(size_t i)
{
	unsigned shift;
	uint64_t low;

	if (i < 64)
		return (double)i;
	shift = (unsigned)((i - 64) / 32) + 1;
	low = (uint64_t)((i - 64) % 32 + 32) << shift;
	return (double)low + (double)(1ULL << shift) / 2.0;
}

void
hist_add(struct hist *h, uint64_t ns)
{
	h->b[hist_index(ns)]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

void
hist_merge(struct hist *into, const struct hist *from)
{
	size_t i;

	for (i = 0; i < HIST_BUCKETS; i++)
		into->b[i] += from->b[i];
	into->count += from->count;
	if (from->max > into->max)
		into->max = from->max;
}

double
hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0;
	double v;
	size_t i;

	if (h->count == 0)
		return 0.0;
	/* The smallest value with at least q of the samples at or below. */
	rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			v = hist_value(i);
			/* A midpoint may overshoot the true maximum. */
			return v > (double)h->max ? (double)h->max : v;
		}
	}
	return (double)h->max;
}

/* ------------------------------------------------------------ report */

static double
tv_secs(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Sums of every worker's counters. */
struct totals {
	struct hist h;
	uint64_t ops, conns, verified, nerr, errs[ERR_MAX], end, abandoned;
	int first_errno;
};

static void
totals_add(struct totals *t, const struct worker *ws, size_t nw)
{
	size_t i, j;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < nw; i++) {
		const struct worker *w = &ws[i];

		t->ops += w->ops;
		t->conns += w->conns;
		t->abandoned += w->abandoned;
		if (w->end > t->end)
			t->end = w->end;
		if (t->first_errno == 0)
			t->first_errno = w->first_errno;
		hist_merge(&t->h, &w->hist);
		for (j = 0; j < w->nclients; j++)
			t->verified += w->clients[j].verified;
		for (j = 0; j < ERR_MAX; j++) {
			t->errs[j] += w->errors[j];
			t->nerr += w->errors[j];
		}
	}
}

int
report(const struct options *opt, const struct worker *ws, size_t nw,
    uint64_t start, const struct rusage *ru0, const struct rusage *ru1)
{
	static struct totals t;		/* 15 KiB: not on the stack */
	char target[PT_ADDRSTRLEN];
	double secs, cpu, rate, p50, p99;
	size_t j;

	totals_add(&t, ws, nw);
	pt_addr_format(&opt->target, target, sizeof(target));
	secs = (double)(t.end - start) / 1e9;
	cpu = tv_secs(&ru1->ru_utime) - tv_secs(&ru0->ru_utime) +
	    tv_secs(&ru1->ru_stime) - tv_secs(&ru0->ru_stime);
	rate = secs > 0 ? (double)t.ops / secs : 0.0;
	p50 = hist_quantile(&t.h, 0.50) / 1e3;
	p99 = hist_quantile(&t.h, 0.99) / 1e3;

	printf("mode=%s target=%s clients=%u threads=%u size=%zu close=%s "
	    "tls=%d secs=%.3f ops=%llu rate=%.1f errors=%llu",
	    opt->persistent ? "persistent" : "conn", target, opt->clients,
	    opt->threads, opt->size, opt->persistent ? "none" :
	    opt->rst ? "rst" : "fin", opt->tls, secs, (unsigned long long)t.ops, rate,
	    (unsigned long long)t.nerr);
	for (j = 0; j < ERR_MAX; j++)
		printf(" err_%s=%llu", err_names[j],
		    (unsigned long long)t.errs[j]);
	printf(" conns=%llu abandoned=%llu verified_bytes=%llu p50_us=%.1f "
	    "p99_us=%.1f max_us=%.1f cpu_s=%.3f cpu_pct=%.1f "
	    "cpu_us_per_op=%.2f\n",
	    (unsigned long long)t.conns, (unsigned long long)t.abandoned,
	    (unsigned long long)t.verified, p50, p99, (double)t.h.max / 1e3, cpu,
	    secs > 0 ? 100.0 * cpu / secs : 0.0,
	    t.ops > 0 ? cpu * 1e6 / (double)t.ops : 0.0);
	fflush(stdout);

	if (!opt->quiet) {
		fprintf(stderr, "loadgen: %s, %u clients, %zu B: %llu %s in "
		    "%.2f s = %.0f/s, %llu errors", target, opt->clients,
		    opt->size, (unsigned long long)t.ops, opt->persistent ?
		    "round trips" : "connections", secs, rate,
		    (unsigned long long)t.nerr);
		if (t.first_errno > 0)
			fprintf(stderr, " (first: %s)", strerror(t.first_errno));
		fprintf(stderr, "\nloadgen: latency p50 %.1f us, p99 %.1f us, "
		    "max %.1f us; client CPU %.0f%%\n", p50, p99,
		    (double)t.h.max / 1e3, secs > 0 ? 100.0 * cpu / secs : 0.0);
	}
	return t.nerr == 0 && t.ops > 0 ? 0 : 1;
}
