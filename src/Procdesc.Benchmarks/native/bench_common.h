/*
 * bench_common.h — what the C baselines of Procdesc.Benchmarks share: a monotonic clock (the same
 * CLOCK_MONOTONIC the harness reads, so times compare across processes), line-based commands on
 * stdin and answers on stdout, and a touched heap.
 *
 * Each baseline is a long-lived worker: it sets itself up, prints "ready", then answers one line
 * per command line. The harness alternates these commands with its own measurements (interleaved
 * rounds), so a baseline and its subject are measured seconds apart on the same machine state.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Reads the next command line into buf (newline stripped); 0 at end of input. */
static inline int next_command(char *buf, size_t size)
{
    if (!fgets(buf, (int)size, stdin))
        return 0;
    buf[strcspn(buf, "\n")] = 0;
    return 1;
}

static inline void answer(const char *fmt, long long value)
{
    printf(fmt, value);
    putchar('\n');
    fflush(stdout);
}

static inline void fail(const char *what)
{
    printf("error %s\n", what);
    fflush(stdout);
    exit(1);
}

/* mib MiB of private memory, every page written: resident, as a live heap would be. */
static inline char *touched_heap(long mib)
{
    if (mib <= 0)
        return NULL;
    size_t bytes = (size_t)mib << 20;
    char *heap = malloc(bytes);
    if (!heap)
        fail("malloc");
    long page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < bytes; i += (size_t)page)
        heap[i] = (char)i;
    return heap;
}

#endif
