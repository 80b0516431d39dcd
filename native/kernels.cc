#include "kernels.h"

#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PAGEWISE_X86_DISPATCH 1
#include <immintrin.h>
#endif

namespace pagewise {
namespace {

// ------------------------------------------------------------- portable --

uint64_t CountBytePortable(const uint8_t* p, size_t n, uint8_t value) {
  // Blocks of at most 255 steps with byte-wide counters, so the compiler
  // vectorizes it with whatever the baseline ISA offers (SSE2 on x86-64).
  uint64_t total = 0;
  size_t i = 0;
  constexpr size_t kBlock = 255 * 64;
  while (n - i >= kBlock) {
    uint8_t acc[64] = {0};
    for (size_t k = 0; k < 255; k++) {
      const uint8_t* q = p + i + k * 64;
      for (size_t j = 0; j < 64; j++) acc[j] += q[j] == value;
    }
    for (size_t j = 0; j < 64; j++) total += acc[j];
    i += kBlock;
  }
  for (; i < n; i++) total += p[i] == value;
  return total;
}

const uint8_t* FindPortable(const uint8_t* hay, size_t n, const uint8_t* needle, size_t m) {
#if defined(__GLIBC__) || defined(__APPLE__)
  return static_cast<const uint8_t*>(memmem(hay, n, needle, m));
#else
  const uint8_t* end = hay + n - m + 1;
  for (const uint8_t* p = hay; p < end; p++) {
    p = static_cast<const uint8_t*>(memchr(p, needle[0], static_cast<size_t>(end - p)));
    if (p == nullptr) return nullptr;
    if (memcmp(p, needle, m) == 0) return p;
  }
  return nullptr;
#endif
}

inline bool IsSpace(uint8_t b) { return b == ' ' || (b >= '\t' && b <= '\r'); }

uint64_t CountWordsPortable(const uint8_t* p, size_t n, bool prev_space) {
  uint64_t words = 0;
  uint8_t prev = prev_space ? 1 : 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t s = IsSpace(p[i]) ? 1 : 0;
    words += prev & (s ^ 1);
    prev = s;
  }
  return words;
}

#if PAGEWISE_X86_DISPATCH

// ----------------------------------------------------------------- AVX2 --

__attribute__((target("avx2"))) uint64_t CountByteAvx2(const uint8_t* p, size_t n, uint8_t value) {
  const __m256i needle = _mm256_set1_epi8(static_cast<char>(value));
  const __m256i zero = _mm256_setzero_si256();
  uint64_t total = 0;
  size_t i = 0;
  // Four independent byte counters, each flushed (psadbw) before it can wrap.
  while (n - i >= 128) {
    __m256i a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    size_t steps = (n - i) / 128;
    if (steps > 255) steps = 255;
    for (size_t k = 0; k < steps; k++, i += 128) {
      a0 = _mm256_sub_epi8(a0, _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)), needle));
      a1 = _mm256_sub_epi8(a1, _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)), needle));
      a2 = _mm256_sub_epi8(a2, _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 64)), needle));
      a3 = _mm256_sub_epi8(a3, _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 96)), needle));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(_mm256_sad_epu8(a0, zero), _mm256_sad_epu8(a1, zero)),
                                 _mm256_add_epi64(_mm256_sad_epu8(a2, zero), _mm256_sad_epu8(a3, zero)));
    total += static_cast<uint64_t>(_mm256_extract_epi64(s, 0)) + static_cast<uint64_t>(_mm256_extract_epi64(s, 1)) +
             static_cast<uint64_t>(_mm256_extract_epi64(s, 2)) + static_cast<uint64_t>(_mm256_extract_epi64(s, 3));
  }
  for (; i < n; i++) total += p[i] == value;
  return total;
}

// Substring search after Wojciech Muła's "SIMD-friendly algorithms for
// substring searching": compare the needle's first and last bytes at 64
// positions at once (two 32-byte halves, one branch), and verify only where
// both match. 64 rather than 32 positions per step: 6.7 -> 8.3 GB/s on one
// core for "Hamburg" over 1BRC data (bench/micro), where the loop, not the
// verification, is the cost.
__attribute__((target("avx2"))) const uint8_t* FindAvx2(const uint8_t* hay, size_t n, const uint8_t* needle, size_t m) {
  if (m == 1) return static_cast<const uint8_t*>(memchr(hay, needle[0], n));
  const __m256i first = _mm256_set1_epi8(static_cast<char>(needle[0]));
  const __m256i last = _mm256_set1_epi8(static_cast<char>(needle[m - 1]));
  size_t i = 0;
  // Each step examines candidate starts i .. i + 63 and reads up to i + m + 62.
  while (i + m + 63 <= n) {
    const uint8_t* p = hay + i;
    __m256i e0 = _mm256_and_si256(_mm256_cmpeq_epi8(first, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))),
                                  _mm256_cmpeq_epi8(last, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + m - 1))));
    __m256i e1 = _mm256_and_si256(_mm256_cmpeq_epi8(first, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32))),
                                  _mm256_cmpeq_epi8(last, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 + m - 1))));
    __m256i any = _mm256_or_si256(e0, e1);
    if (!_mm256_testz_si256(any, any)) {
      uint64_t mask = static_cast<uint32_t>(_mm256_movemask_epi8(e0)) |
                      (static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(e1))) << 32);
      while (mask != 0) {
        unsigned bit = static_cast<unsigned>(__builtin_ctzll(mask));
        if (memcmp(p + bit + 1, needle + 1, m - 2) == 0) return p + bit;
        mask &= mask - 1;
      }
    }
    i += 64;
  }
  if (i >= n || n - i < m) return nullptr;
  return FindPortable(hay + i, n - i, needle, m);
}

__attribute__((target("avx2"))) uint64_t CountWordsAvx2(const uint8_t* p, size_t n) {
  const __m256i space = _mm256_set1_epi8(' ');
  const __m256i tab = _mm256_set1_epi8('\t');
  const __m256i four = _mm256_set1_epi8(4);
  uint64_t words = 0;
  uint64_t prev_space = 1;  // the byte before p counts as white space
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    // \t..\r are 9..13: (b - 9) <= 4 unsigned, i.e. min(b - 9, 4) == b - 9.
    __m256i shifted = _mm256_sub_epi8(v, tab);
    __m256i ctrl = _mm256_cmpeq_epi8(_mm256_min_epu8(shifted, four), shifted);
    __m256i is_space = _mm256_or_si256(ctrl, _mm256_cmpeq_epi8(v, space));
    uint64_t s = static_cast<uint32_t>(_mm256_movemask_epi8(is_space));
    uint64_t before = (s << 1) | prev_space;  // bit k: byte k - 1 is white space
    uint64_t starts = ~s & before & 0xffffffffull;
    words += static_cast<uint64_t>(__builtin_popcountll(starts));
    prev_space = (s >> 31) & 1;
  }
  return words + CountWordsPortable(p + i, n - i, prev_space != 0);
}

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

#endif  // PAGEWISE_X86_DISPATCH

}  // namespace

uint64_t CountByte(const uint8_t* p, size_t n, uint8_t value) {
#if PAGEWISE_X86_DISPATCH
  if (HasAvx2()) return CountByteAvx2(p, n, value);
#endif
  return CountBytePortable(p, n, value);
}

const uint8_t* FindBytes(const uint8_t* hay, size_t n, const uint8_t* needle, size_t m) {
  if (m == 0) return hay;
  if (m > n) return nullptr;
#if PAGEWISE_X86_DISPATCH
  if (HasAvx2()) return FindAvx2(hay, n, needle, m);
#endif
  return FindPortable(hay, n, needle, m);
}

uint64_t CountWords(const uint8_t* p, size_t n) {
#if PAGEWISE_X86_DISPATCH
  if (HasAvx2()) return CountWordsAvx2(p, n);
#endif
  return CountWordsPortable(p, n, true);
}

const char* KernelFlavor() {
#if PAGEWISE_X86_DISPATCH
  if (HasAvx2()) return "avx2";
#endif
  return "portable";
}

uint64_t CountRecordsContaining(const uint8_t* p, size_t n, const uint8_t* needle, size_t m, uint8_t terminator) {
  const uint8_t* end = p + n;
  uint64_t count = 0;
  while (p < end) {
    const uint8_t* hit = FindBytes(p, static_cast<size_t>(end - p), needle, m);
    if (hit == nullptr) break;
    count++;
    const void* t = memchr(hit, terminator, static_cast<size_t>(end - hit));
    if (t == nullptr) break;
    p = static_cast<const uint8_t*>(t) + 1;
  }
  return count;
}

}  // namespace pagewise
