/*
 * The machine's own scaling on the scaling bench's work: bench/jobs/cpu-bound.mjs
 * written in C (the same per-byte murmur-style mixing, the same per-line
 * finalizer, the same answer), over an mmap of the file split into one range
 * per thread at line boundaries.
 *
 * On a VM two busy vCPUs can each run slower than one busy vCPU (host
 * contention, shared physical cores), and no framework can scale better than
 * the machine does. Run at 1 and 2 threads alongside pagewise in the same
 * bench, its wall(1)/wall(2) is the ceiling for pagewise's figure.
 *
 *   cc -O2 -pthread -o cpu_bound cpu_bound.c
 *   ./cpu_bound FILE [THREADS]   -> {"lines":N,"xor":X,"sum":S}
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct range {
  const uint8_t *base;
  size_t start, end;
  uint64_t lines;
  uint32_t xor_, sum;
};

static inline uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static void *work(void *arg) {
  struct range *r = arg;
  uint32_t h = 0x811c9dc5u, xor_ = 0, sum = 0;
  uint32_t j = 0;
  uint64_t lines = 0;
  for (size_t i = r->start; i < r->end; i++) {
    uint32_t b = r->base[i];
    if (b == 0x0a) {
      h ^= h >> 16;
      h *= 0x85ebca6bu;
      h ^= h >> 13;
      h *= 0xc2b2ae35u;
      h ^= h >> 16;
      xor_ ^= h;
      sum += h;
      lines++;
      h = 0x811c9dc5u;
      j = 0;
    } else {
      uint32_t k = (b + j++) * 0xcc9e2d51u;
      k = rotl(k, 15);
      k *= 0x1b873593u;
      h ^= k;
      h = rotl(h, 13);
      h = h * 5 + 0xe6546b64u;
    }
  }
  r->lines = lines;
  r->xor_ = xor_;
  r->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: cpu_bound FILE [THREADS]\n");
    return 2;
  }
  int threads = argc > 2 ? atoi(argv[2]) : 1;
  if (threads < 1 || threads > 256) threads = 1;
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    perror("fstat");
    return 1;
  }
  size_t size = (size_t)st.st_size;
  const uint8_t *base = NULL;
  if (size > 0) {
    base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
  }
  struct range rs[256];
  pthread_t th[256];
  size_t at = 0;
  for (int t = 0; t < threads; t++) {
    size_t end = t == threads - 1 ? size : size / (size_t)threads * (size_t)(t + 1);
    if (end < at) end = at;
    // Cut after a newline, so that every line is hashed whole by one thread.
    while (end < size && end > 0 && base[end - 1] != 0x0a) end++;
    rs[t] = (struct range){ .base = base, .start = at, .end = end };
    at = end;
  }
  for (int t = 0; t < threads; t++) pthread_create(&th[t], NULL, work, &rs[t]);
  uint64_t lines = 0;
  uint32_t xor_ = 0, sum = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(th[t], NULL);
    lines += rs[t].lines;
    xor_ ^= rs[t].xor_;
    sum += rs[t].sum;
  }
  printf("{\"lines\":%llu,\"xor\":%u,\"sum\":%u}\n", (unsigned long long)lines, xor_, sum);
  return 0;
}
