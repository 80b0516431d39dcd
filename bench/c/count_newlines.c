/*
 * The physical limit for a newline count over a warm file: mmap the whole
 * file, split it into one byte range per thread, and count 0x0a bytes with
 * AVX2 (_mm256_cmpeq_epi8 + movemask + popcnt), 128 bytes per iteration.
 * No record logic, no allocation, no copy: nothing a JavaScript framework can
 * beat, so pagewise's figures are reported as a fraction of this one.
 *
 *   cc -O3 -pthread -o count_newlines count_newlines.c
 *   ./count_newlines FILE [THREADS]        -> prints the count
 *
 * Each thread asks the kernel to populate its range's page tables first
 * (MADV_POPULATE_READ, Linux >= 5.14; ignored where unsupported), as a page
 * fault per 4 KiB would otherwise dominate; set COUNT_NEWLINES_NO_POPULATE=1
 * to measure plain faulting instead. Falls back to a scalar loop when the CPU
 * has no AVX2.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define BLOCK (4u << 20) /* populate + count in 4 MiB steps, page aligned */

struct range {
  const uint8_t *base;
  size_t start, end;
  int populate;
  uint64_t count;
};

static uint64_t count_scalar(const uint8_t *p, size_t n) {
  uint64_t c = 0;
  for (size_t i = 0; i < n; i++) c += p[i] == '\n';
  return c;
}

__attribute__((target("avx2,popcnt"))) static uint64_t count_avx2(const uint8_t *p, size_t n) {
  const __m256i nl = _mm256_set1_epi8('\n');
  uint64_t c = 0;
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    uint32_t m0 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + i)), nl));
    uint32_t m1 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + i + 32)), nl));
    uint32_t m2 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + i + 64)), nl));
    uint32_t m3 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + i + 96)), nl));
    c += (uint64_t)_mm_popcnt_u64(((uint64_t)m1 << 32) | m0) + (uint64_t)_mm_popcnt_u64(((uint64_t)m3 << 32) | m2);
  }
  for (; i + 32 <= n; i += 32) {
    c += (uint64_t)_mm_popcnt_u32((uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + i)), nl)));
  }
  return c + count_scalar(p + i, n - i);
}

static int have_avx2;

static void *worker(void *arg) {
  struct range *r = arg;
  uint64_t c = 0;
  for (size_t at = r->start; at < r->end; at += BLOCK) {
    size_t len = r->end - at < BLOCK ? r->end - at : BLOCK;
    if (r->populate) madvise((void *)(r->base + at), len, MADV_POPULATE_READ);
    c += have_avx2 ? count_avx2(r->base + at, len) : count_scalar(r->base + at, len);
  }
  r->count = c;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE [THREADS]\n", argv[0]);
    return 2;
  }
  int threads = argc > 2 ? atoi(argv[2]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;
  if (threads > 1024) threads = 1024;
  const char *no_pop = getenv("COUNT_NEWLINES_NO_POPULATE");
  int populate = !(no_pop && *no_pop && strcmp(no_pop, "0") != 0);
  __builtin_cpu_init();
  have_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");

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
  if (size == 0) {
    printf("0\n");
    return 0;
  }
  const uint8_t *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  madvise((void *)base, size, MADV_SEQUENTIAL);

  /* Ranges on BLOCK boundaries so populate calls stay page aligned. */
  size_t blocks = (size + BLOCK - 1) / BLOCK;
  if ((size_t)threads > blocks) threads = (int)blocks;
  pthread_t tid[1024];
  struct range ranges[1024];
  for (int t = 0; t < threads; t++) {
    size_t b0 = blocks * (size_t)t / (size_t)threads, b1 = blocks * (size_t)(t + 1) / (size_t)threads;
    ranges[t] = (struct range){base, b0 * BLOCK, b1 * BLOCK < size ? b1 * BLOCK : size, populate, 0};
    if (pthread_create(&tid[t], NULL, worker, &ranges[t]) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  uint64_t total = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    total += ranges[t].count;
  }
  printf("%llu\n", (unsigned long long)total);
  munmap((void *)base, size);
  close(fd);
  return 0;
}
