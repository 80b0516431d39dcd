// Force-included (-include) into every file of a prebuilt addon, never into a
// build from source. Debian 12's glibc 2.36 and libstdc++ (GCC 12) headers
// bind a few calls to symbol versions newer than the baseline the prebuilds
// promise (GLIBC_2.28 and GLIBCXX_3.4.21, what Node's own linux binaries
// need): this binds them to the older versions that every newer glibc and
// libstdc++ still export. scripts/prebuild.mjs checks the result with objdump.
#pragma once

#if defined(__x86_64__)
#define PAGEWISE_GLIBC_BASE "GLIBC_2.2.5"
#define PAGEWISE_STAT_VER 1
#elif defined(__aarch64__)
#define PAGEWISE_GLIBC_BASE "GLIBC_2.17"
#define PAGEWISE_STAT_VER 0
#else
#error "no glibc baseline for this architecture"
#endif

#ifdef __cplusplus
// The steady_clock waits use pthread_cond_clockwait (glibc 2.30) when this is
// set; without it libstdc++ converts to the system clock and uses
// pthread_cond_timedwait, as it did before 2.30.
#include <bits/c++config.h>
#undef _GLIBCXX_USE_PTHREAD_COND_CLOCKWAIT
#endif

#include <pthread.h>
#include <sys/stat.h>

// glibc 2.34 moved libpthread into libc under new versions; the old ones stay.
#include <semaphore.h>
__asm__(".symver pthread_once,pthread_once@" PAGEWISE_GLIBC_BASE);
__asm__(".symver pthread_create,pthread_create@" PAGEWISE_GLIBC_BASE);
__asm__(".symver pthread_detach,pthread_detach@" PAGEWISE_GLIBC_BASE);
__asm__(".symver sem_init,sem_init@" PAGEWISE_GLIBC_BASE);
__asm__(".symver sem_post,sem_post@" PAGEWISE_GLIBC_BASE);
__asm__(".symver sem_wait,sem_wait@" PAGEWISE_GLIBC_BASE);

// GCC 12 versioned this GLIBCXX_3.4.30; the GCC 4.6 version is the same call.
__asm__(".symver _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE,"
        "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");

// glibc 2.33 made fstat a function (fstat64@GLIBC_2.33); before, the header
// called __fxstat64, which glibc still exports for old binaries.
#ifdef __cplusplus
extern "C" {
#endif
int __fxstat64(int ver, int fd, struct stat64* buf);
#ifdef __cplusplus
}
#endif
__asm__(".symver __fxstat64,__fxstat64@" PAGEWISE_GLIBC_BASE);
static inline int pagewise_baseline_fstat(int fd, struct stat* st) {
  return __fxstat64(PAGEWISE_STAT_VER, fd, reinterpret_cast<struct stat64*>(st));
}
#define fstat(fd, st) pagewise_baseline_fstat(fd, st)
