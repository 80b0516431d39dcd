#include "kernels.h"

#include <cstring>

#include "utf8-wc-table.h"

// PAGEWISE_PORTABLE_ONLY builds without the AVX2 versions, so that the kernel
// tests can check the portable ones on an AVX2 machine too.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(PAGEWISE_PORTABLE_ONLY)
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

// ------------------------------------------------- UTF-8 words and chars --
// GNU wc 9.1's -w and -m in C.UTF-8 (docs/decisions.md, "wc"): a character
// is what glibc's mbrtowc decodes; a byte that starts no complete, well-formed
// sequence is skipped, neither a character nor part of a word. A decoded
// character is a separator, a word character or transparent (the table from
// scripts/gen-utf8-wc-table.py); a word is counted where a word character
// follows a separator (or the start) with only transparent ones between.

enum : uint64_t { kTransparent = 0, kSeparator = 1, kWordChar = 2 };

inline uint64_t ClassOf(uint32_t cp) {
  if (cp >= 0x110000) return kTransparent;
  uint32_t block = utf8wc::kStage1[cp >> 8];
  return (utf8wc::kStage2[block * 64 + ((cp & 255) >> 2)] >> ((cp & 3) * 2)) & 3;
}

// Length (1 to 6) of the character at p, whose code point goes to *cp, as
// glibc 2.36 decodes UTF-8: 5- and 6-byte forms and code points past U+10FFFF
// are characters; overlong forms, UTF-16 surrogates, 0xc0, 0xc1, 0xfe, 0xff,
// a stray continuation byte or a sequence cut short (by a byte that does not
// continue it, or by the end at p + avail) are not: 0.
inline size_t DecodeUtf8(const uint8_t* p, size_t avail, uint32_t* cp) {
  uint32_t c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  if (c < 0xc2) return 0;
  if (c < 0xe0) {
    len = 2;
    c &= 0x1f;
  } else if (c < 0xf0) {
    len = 3;
    c &= 0x0f;
  } else if (c < 0xf8) {
    len = 4;
    c &= 0x07;
  } else if (c < 0xfc) {
    len = 5;
    c &= 0x03;
  } else if (c < 0xfe) {
    len = 6;
    c &= 0x01;
  } else {
    return 0;
  }
  if (len > avail) return 0;
  for (size_t k = 1; k < len; k++) {
    uint32_t t = p[k];
    if ((t & 0xc0) != 0x80) return 0;
    c = (c << 6) | (t & 0x3f);
  }
  if (len > 2 && (c >> (5 * len - 4)) == 0) return 0;  // overlong
  if (c - 0xd800 < 0x800) return 0;                    // surrogate
  *cp = c;
  return len;
}

struct WcState {
  uint64_t lines = 0;
  uint64_t words = 0;
  uint64_t chars = 0;
  uint64_t in_word = 0;  // 1 when the last separator or word character was a word character
};

// One character (or one skipped byte) at p[i]; returns the next position.
template <bool kWords, bool kLines>
inline size_t WcStep(const uint8_t* p, size_t i, size_t n, WcState& s) {
  uint32_t cp;
  size_t len = DecodeUtf8(p + i, n - i, &cp);
  if (len == 0) return i + 1;
  s.chars++;
  if (kLines) s.lines += cp == '\n';
  if (kWords) {
    uint64_t c = ClassOf(cp);
    s.words += (c >> 1) & (s.in_word ^ 1);
    s.in_word = (c >> 1) | (s.in_word & static_cast<uint64_t>(c == kTransparent));
  }
  return i + len;
}

// The first `valid` bits of a 64-byte block, given as bit masks of its
// separator bytes and its word bytes (the rest are transparent: control bytes,
// DEL, bytes of non-printable characters, skipped bytes). A word starts at a
// word byte whose nearest earlier non-transparent byte is a separator: adding
// the transparent mask to "the byte before is a separator" carries that fact
// through each run of transparent bytes to the byte after it. A multibyte
// character is as many bytes of its class: that changes no count.
inline void WcBlock(uint64_t space, uint64_t word, uint64_t valid, WcState& s) {
  space &= valid;
  word &= valid;
  uint64_t transparent = ~(space | word) & valid;
  uint64_t after_space = (space << 1) | (s.in_word ^ 1);
  s.words += static_cast<uint64_t>(__builtin_popcountll((after_space + transparent) & word));
  uint64_t seen = space | word;
  if (seen != 0) s.in_word = (word >> (63 - __builtin_clzll(seen))) & 1;
}

// The 2- and 3-byte leads (bit b - 0xc0, bit b - 0xe0) whose every sequence
// is a valid character: all but 0xc0, 0xc1, 0xe0 (overlong forms) and 0xed
// (surrogates). utf8wc::kWordLeads* are those whose every sequence is a word
// character.
constexpr uint32_t kCharLeads2 = 0xfffffffc, kCharLeads3 = 0xdffe;

// Decodes the characters of a 64-byte block at p[i] that start at its bytes
// >= 0x80 (`high`) and adds their bytes to *space or *word by class. Returns
// the mask of the bytes it covers: all 64, or those before a character that
// runs past the block (the next block starts there); *chars gets the number
// of characters in them.
template <bool kWords>
inline uint64_t WcDecodeBlock(const uint8_t* p, size_t i, size_t n, uint64_t high, uint64_t* space, uint64_t* word,
                              uint64_t* chars) {
  uint64_t valid = ~0ull;
  uint64_t decoded = 0;
  for (uint64_t rest = high; rest != 0;) {
    unsigned at = static_cast<unsigned>(__builtin_ctzll(rest));
    // Most non-ASCII text in mostly-ASCII files: a 2-byte character from a
    // lead whose every sequence is a word character (or, counting characters
    // only, a valid one), with no table to read.
    uint32_t lead = p[i + at];
    if (at < 63 && lead - 0xc0 < 32 && ((kWords ? utf8wc::kWordLeads2 : kCharLeads2) >> (lead - 0xc0) & 1) != 0 &&
        (p[i + at + 1] & 0xc0) == 0x80) {
      *word |= 3ull << at;
      decoded++;
      rest &= ~(3ull << at);
      continue;
    }
    // A well-formed 3-byte character (CJK, kana, Hangul, most punctuation
    // and symbols): decoded without the general loop.
    if (at < 62 && lead - 0xe0 < 16) {
      uint32_t b1 = p[i + at + 1], b2 = p[i + at + 2];
      uint32_t cp3 = ((lead & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
      if (((b1 & 0xc0) | ((b2 & 0xc0) >> 2)) == 0xa0 && cp3 >= 0x800 && cp3 - 0xd800 >= 0x800) {
        uint64_t bytes = 7ull << at;
        decoded++;
        if (kWords) {
          uint64_t c = (utf8wc::kWordLeads3 >> (lead - 0xe0) & 1) != 0 ? kWordChar : ClassOf(cp3);
          if (c == kWordChar) *word |= bytes;
          if (c == kSeparator) *space |= bytes;
        }
        rest &= ~bytes;
        continue;
      }
    }
    uint32_t cp;
    size_t len = DecodeUtf8(p + i + at, n - i - at, &cp);
    if (len == 0) {
      rest &= rest - 1;  // skipped: transparent, not a character
      continue;
    }
    if (at + len > 64) {
      valid = (1ull << at) - 1;
      break;
    }
    uint64_t bytes = ((1ull << len) - 1) << at;
    decoded++;
    if (kWords) {
      uint64_t c = ClassOf(cp);
      if (c == kWordChar) *word |= bytes;
      if (c == kSeparator) *space |= bytes;
    }
    rest &= ~bytes;
  }
  *chars = decoded + static_cast<uint64_t>(__builtin_popcountll(~high & valid));
  return valid;
}

// Bit k of the result is bit 7 of byte k of m (the other bits of m are 0).
inline uint64_t Gather8(uint64_t m) { return ((m >> 7) * 0x0102040810204080ull) >> 56; }

inline uint64_t Load64(const uint8_t* p) {
  uint64_t x;
  memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  x = __builtin_bswap64(x);
#endif
  return x;
}

// Masks of a 64-byte block without SIMD: 8 bytes at a time, each flag in
// bit 7 of its byte (exact: no byte carries into the next), then gathered.
struct AsciiMasks {
  uint64_t high;     // bytes >= 0x80
  uint64_t space;    // the six ASCII spaces
  uint64_t word;     // 0x21..0x7e
  uint64_t newline;  // '\n'
};

inline AsciiMasks AsciiMasksSwar(const uint8_t* p) {
  constexpr uint64_t k01 = 0x0101010101010101ull, k7f = 0x7f7f7f7f7f7f7f7full, k80 = 0x8080808080808080ull;
  AsciiMasks m{0, 0, 0, 0};
  for (int j = 0; j < 8; j++) {
    uint64_t x = Load64(p + 8 * j);
    uint64_t high = x & k80;
    uint64_t a = x & k7f;
    uint64_t sp = ~((a ^ (0x20 * k01)) + k7f) & k80;                             // 0x20
    uint64_t nl = ~((a ^ (0x0a * k01)) + k7f) & k80;                             // 0x0a
    uint64_t ctl = (a + (0x80 - 0x09) * k01) & ~(a + (0x80 - 0x0e) * k01) & k80;  // 0x09..0x0d
    uint64_t wd = (a + (0x80 - 0x21) * k01) & ~(a + (0x80 - 0x7f) * k01) & k80;   // 0x21..0x7e
    m.high |= Gather8(high) << (8 * j);
    m.space |= Gather8((sp | ctl) & ~high) << (8 * j);
    m.word |= Gather8(wd & ~high) << (8 * j);
    m.newline |= Gather8(nl & ~high) << (8 * j);
  }
  return m;
}

template <bool kWords, bool kLines>
WcState CountUtf8Portable(const uint8_t* p, size_t n) {
  WcState s;
  size_t i = 0;
  while (i + 64 <= n) {
    AsciiMasks m = AsciiMasksSwar(p + i);
    uint64_t valid = ~0ull, chars = 64;
    if (m.high != 0) valid = WcDecodeBlock<kWords>(p, i, n, m.high, &m.space, &m.word, &chars);
    if (kWords) WcBlock(m.space, m.word, valid, s);
    if (kLines) s.lines += static_cast<uint64_t>(__builtin_popcountll(m.newline & valid));
    s.chars += chars;
    i += valid == ~0ull ? 64 : static_cast<size_t>(__builtin_popcountll(valid));
  }
  while (i < n) i = WcStep<kWords, kLines>(p, i, n, s);
  return s;
}

// ----------------------------------------------------- CSV record bounds --
// Quote parity: a '\n' ends a record when an even number of quote bytes
// precede it (docs/decisions.md, "CSV"). The portable versions jump from
// quote to newline with memchr: CSV has few quotes per newline.

inline const uint8_t* Find(const uint8_t* p, const uint8_t* end, uint8_t c) {
  if (p >= end) return end;
  const void* hit = memchr(p, c, static_cast<size_t>(end - p));
  return hit == nullptr ? end : static_cast<const uint8_t*>(hit);
}

// First '\n' at or after p + i at even parity, given the parity there.
int64_t CsvEvenNewlinePortable(const uint8_t* p, size_t n, size_t i, uint8_t quote, bool odd) {
  const uint8_t* end = p + n;
  const uint8_t* at = p + i;
  while (at < end) {
    if (odd) {
      at = Find(at, end, quote);
      if (at == end) return -1;
      at++;
      odd = false;
      continue;
    }
    const uint8_t* q = Find(at, end, quote);
    const uint8_t* nl = Find(at, q, '\n');
    if (nl < q) return nl - p;
    if (q == end) return -1;
    at = q + 1;
    odd = true;
  }
  return -1;
}

uint64_t CsvCountRecordsPortable(const uint8_t* p, size_t n, uint8_t quote, bool odd) {
  const uint8_t* end = p + n;
  const uint8_t* at = p;
  uint64_t records = 0;
  while (at < end) {
    const uint8_t* q = Find(at, end, quote);
    if (!odd) records += CountBytePortable(at, static_cast<size_t>(q - at), '\n');
    if (q == end) break;
    at = q + 1;
    odd = !odd;
  }
  return records;
}

inline bool CsvEndsField(uint8_t b, uint8_t delimiter) { return b == delimiter || b == '\n'; }

// What may follow a closing quote at p[q]: the delimiter, the record's end
// ('\n', "\r\n", or the end of the input, bare or after '\r') or a quote (the
// second of a doubled quote).
inline bool CsvCloseOk(const uint8_t* p, size_t n, size_t q, uint8_t quote, uint8_t delimiter) {
  if (q + 1 == n) return true;
  uint8_t b = p[q + 1];
  if (b == delimiter || b == '\n' || b == quote) return true;
  return b == '\r' && (q + 2 == n || p[q + 2] == '\n');
}

// Continues `s` over p[i, to) from quote to quote (memchr), as summarizeCsv
// does: the portable kernel, and the AVX2 one's tail. The parity at i is that
// of s.quotes.
void CsvSummaryFrom(const uint8_t* p, size_t n, size_t i, size_t to, uint8_t quote, uint8_t delimiter, CsvFirstPass& s) {
  for (;;) {
    size_t q = static_cast<size_t>(Find(p + i, p + to, quote) - p);
    // [i, q) lies between two quotes: one parity all along.
    bool even = (s.quotes & 1) == 0;
    int64_t& newline = even ? s.newline_even : s.newline_odd;
    if (newline < 0) {
      const uint8_t* nl = Find(p + i, p + q, '\n');
      if (nl < p + q) newline = nl - p;
    }
    if (q == to) return;
    uint8_t before = q == 0 ? '\n' : p[q - 1];
    bool starts_field = CsvEndsField(before, delimiter);
    bool open_ok = starts_field || before == quote;
    bool close_ok = CsvCloseOk(p, n, q, quote, delimiter);
    // Under the even state the range's quotes 0, 2, 4, ... open.
    if (starts_field) (even ? s.open_even : s.open_odd) = static_cast<int64_t>(q);
    if (s.bad_even < 0 && !(even ? open_ok : close_ok)) {
      s.bad_even = static_cast<int64_t>(q);
      s.bad_even_kind = even ? kCsvQuoteInUnquotedField : kCsvTextAfterClosingQuote;
    }
    if (s.bad_odd < 0 && !(even ? close_ok : open_ok)) {
      s.bad_odd = static_cast<int64_t>(q);
      s.bad_odd_kind = even ? kCsvTextAfterClosingQuote : kCsvQuoteInUnquotedField;
    }
    s.quotes++;
    i = q + 1;
  }
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

inline uint64_t PrefixXor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

// The same by one carry-less multiply by all ones (PCLMULQDQ: every AVX2 CPU has it).
__attribute__((target("pclmul"))) inline uint64_t PrefixXorClmul(uint64_t x) {
  return static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<int64_t>(x)), _mm_set1_epi8(-1), 0)));
}

__attribute__((target("avx2"))) inline uint64_t Eq64(__m256i lo, __m256i hi, __m256i c) {
  return static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, c))) |
         (static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, c)))) << 32);
}

__attribute__((target("avx2"))) inline uint64_t High64(__m256i lo, __m256i hi) {
  return static_cast<uint32_t>(_mm256_movemask_epi8(lo)) | (static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(hi))) << 32);
}

// Lead-byte flags by low nibble, bit 0 for 0xcN, bit 1 for 0xdN, bit 2 for
// 0xeN, from masks of the 2-byte leads (bit b - 0xc0) and the 3-byte leads
// (bit b - 0xe0) to accept.
constexpr char LeadFlags(uint32_t leads2, uint32_t leads3, int low) {
  return static_cast<char>(((leads2 >> low) & 1) | (((leads2 >> (16 + low)) & 1) << 1) | (((leads3 >> low) & 1) << 2));
}

// Whether every byte >= 0x80 of the block belongs to a 2- or 3-byte character
// that starts and ends in it and whose lead byte is one of `leads`: then the
// block needs no decoding. With the word leads (most of Latin, Cyrillic,
// Arabic, CJK ideographs, Hangul) those bytes are word bytes.
template <uint32_t kLeads2, uint32_t kLeads3>
__attribute__((target("avx2,popcnt"))) inline bool CommonMultibyte(__m256i lo, __m256i hi, uint64_t high, uint64_t* chars) {
#define PAGEWISE_LEADS(l) LeadFlags(kLeads2, kLeads3, l)
#define PAGEWISE_ROW                                                                                               \
  PAGEWISE_LEADS(0), PAGEWISE_LEADS(1), PAGEWISE_LEADS(2), PAGEWISE_LEADS(3), PAGEWISE_LEADS(4), PAGEWISE_LEADS(5), \
      PAGEWISE_LEADS(6), PAGEWISE_LEADS(7), PAGEWISE_LEADS(8), PAGEWISE_LEADS(9), PAGEWISE_LEADS(10),              \
      PAGEWISE_LEADS(11), PAGEWISE_LEADS(12), PAGEWISE_LEADS(13), PAGEWISE_LEADS(14), PAGEWISE_LEADS(15)
  const __m256i by_low = _mm256_setr_epi8(PAGEWISE_ROW, PAGEWISE_ROW);
#undef PAGEWISE_ROW
#undef PAGEWISE_LEADS
  const __m256i by_high = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 0,  //
                                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 0);
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i two = _mm256_set1_epi8(3), three = _mm256_set1_epi8(4), zero = _mm256_setzero_si256();
  const __m256i below_c0 = _mm256_set1_epi8(static_cast<char>(0xc0));
  __m256i f0 = _mm256_and_si256(_mm256_shuffle_epi8(by_low, _mm256_and_si256(lo, nibble)),
                                _mm256_shuffle_epi8(by_high, _mm256_and_si256(_mm256_srli_epi16(lo, 4), nibble)));
  __m256i f1 = _mm256_and_si256(_mm256_shuffle_epi8(by_low, _mm256_and_si256(hi, nibble)),
                                _mm256_shuffle_epi8(by_high, _mm256_and_si256(_mm256_srli_epi16(hi, 4), nibble)));
  uint64_t lead2 = ~High64(_mm256_cmpeq_epi8(_mm256_and_si256(f0, two), zero), _mm256_cmpeq_epi8(_mm256_and_si256(f1, two), zero));
  uint64_t lead3 = ~High64(_mm256_cmpeq_epi8(_mm256_and_si256(f0, three), zero), _mm256_cmpeq_epi8(_mm256_and_si256(f1, three), zero));
  // 0x80..0xbf are the signed bytes below -64.
  uint64_t cont = High64(_mm256_cmpgt_epi8(below_c0, lo), _mm256_cmpgt_epi8(below_c0, hi));
  if ((lead2 >> 63) != 0 || (lead3 >> 62) != 0) return false;
  if (cont != ((lead2 << 1) | (lead3 << 1) | (lead3 << 2)) || high != (lead2 | lead3 | cont)) return false;
  *chars = 64 - static_cast<uint64_t>(__builtin_popcountll(cont));
  return true;
}

// Any block but a plain one (see CountUtf8Avx2), given the masks the loop
// made of it: returns where the next block starts.
template <bool kWords, bool kLines>
__attribute__((target("avx2,popcnt"), always_inline)) inline size_t WcMixedBlockAvx2(const uint8_t* p, size_t i, size_t n, __m256i lo,
                                                                                      __m256i hi, uint64_t space, uint64_t word,
                                                                                      WcState& s) {
  uint64_t high = High64(lo, hi);
  uint64_t valid = ~0ull, chars = 64;
  if (high != 0) {
    // Many non-ASCII bytes: try the vector check before decoding one by one.
    if (__builtin_popcountll(high) > 8 &&
        (kWords ? CommonMultibyte<utf8wc::kWordLeads2, utf8wc::kWordLeads3>(lo, hi, high, &chars)
                : CommonMultibyte<kCharLeads2, kCharLeads3>(lo, hi, high, &chars))) {
      word |= high;
    } else {
      valid = WcDecodeBlock<kWords>(p, i, n, high, &space, &word, &chars);
    }
  }
  if (kWords) WcBlock(space, word, valid, s);
  if (kLines) s.lines += static_cast<uint64_t>(__builtin_popcountll(Eq64(lo, hi, _mm256_set1_epi8('\n')) & valid));
  s.chars += chars;
  return i + (valid == ~0ull ? 64 : static_cast<size_t>(__builtin_popcountll(valid)));
}

// The common block is plain: spaces and printable ASCII only, where every
// byte that is not a space is a word byte (the old CountWords' work). Any
// other takes WcMixedBlockAvx2.
template <bool kWords, bool kLines>
__attribute__((target("avx2,popcnt"))) WcState CountUtf8Avx2(const uint8_t* p, size_t n) {
  const __m256i tab = _mm256_set1_epi8('\t'), four = _mm256_set1_epi8(4), blank = _mm256_set1_epi8(' ');
  const __m256i one = _mm256_set1_epi8(1), nl = _mm256_set1_epi8('\n');
  WcState s;
  size_t i = 0;
  while (i + 64 <= n) {
    __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
    if (!kWords) {
      if (High64(lo, hi) != 0) {
        i = WcMixedBlockAvx2<kWords, kLines>(p, i, n, lo, hi, 0, 0, s);
        continue;
      }
      if (kLines) s.lines += static_cast<uint64_t>(__builtin_popcountll(Eq64(lo, hi, nl)));
      s.chars += 64;
      i += 64;
      continue;
    }
    // \t..\r: (b - 9) <= 4 unsigned; 0x20..0x7e: b + 1 > 0x20 signed (bytes
    // >= 0x80 are negative).
    __m256i d0 = _mm256_sub_epi8(lo, tab), d1 = _mm256_sub_epi8(hi, tab);
    __m256i c0 = _mm256_cmpeq_epi8(_mm256_min_epu8(d0, four), d0), c1 = _mm256_cmpeq_epi8(_mm256_min_epu8(d1, four), d1);
    __m256i r0 = _mm256_cmpgt_epi8(_mm256_add_epi8(lo, one), blank), r1 = _mm256_cmpgt_epi8(_mm256_add_epi8(hi, one), blank);
    __m256i b0 = _mm256_cmpeq_epi8(lo, blank), b1 = _mm256_cmpeq_epi8(hi, blank);
    uint64_t space = High64(_mm256_or_si256(c0, b0), _mm256_or_si256(c1, b1));
    __m256i plain = _mm256_and_si256(_mm256_or_si256(c0, r0), _mm256_or_si256(c1, r1));
    if (__builtin_expect(!_mm256_testc_si256(plain, _mm256_cmpeq_epi8(plain, plain)), 0)) {
      uint64_t word = High64(_mm256_andnot_si256(b0, r0), _mm256_andnot_si256(b1, r1));
      i = WcMixedBlockAvx2<kWords, kLines>(p, i, n, lo, hi, space, word, s);
      continue;
    }
    s.words += static_cast<uint64_t>(__builtin_popcountll(~space & ((space << 1) | (s.in_word ^ 1))));
    s.in_word = (~space) >> 63;
    if (kLines) s.lines += static_cast<uint64_t>(__builtin_popcountll(Eq64(lo, hi, nl)));
    s.chars += 64;
    i += 64;
  }
  while (i < n) i = WcStep<kWords, kLines>(p, i, n, s);
  return s;
}

__attribute__((target("avx2"))) int64_t CsvEvenNewlineAvx2(const uint8_t* p, size_t n, size_t i, uint8_t quote, bool odd) {
  const __m256i q = _mm256_set1_epi8(static_cast<char>(quote));
  const __m256i nl = _mm256_set1_epi8('\n');
  uint64_t parity = odd ? ~0ull : 0;
  for (; i + 64 <= n; i += 64) {
    __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
    uint64_t inside = PrefixXor(Eq64(lo, hi, q)) ^ parity;
    uint64_t even = Eq64(lo, hi, nl) & ~inside;
    if (even != 0) return static_cast<int64_t>(i + static_cast<size_t>(__builtin_ctzll(even)));
    parity = static_cast<uint64_t>(static_cast<int64_t>(inside) >> 63);
  }
  return CsvEvenNewlinePortable(p, n, i, quote, parity != 0);
}

__attribute__((target("avx2,popcnt"))) uint64_t CsvCountRecordsAvx2(const uint8_t* p, size_t n, uint8_t quote, bool odd) {
  const __m256i q = _mm256_set1_epi8(static_cast<char>(quote));
  const __m256i nl = _mm256_set1_epi8('\n');
  uint64_t parity = odd ? ~0ull : 0;
  uint64_t records = 0;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
    uint64_t inside = PrefixXor(Eq64(lo, hi, q)) ^ parity;
    records += static_cast<uint64_t>(__builtin_popcountll(Eq64(lo, hi, nl) & ~inside));
    parity = static_cast<uint64_t>(static_cast<int64_t>(inside) >> 63);
  }
  return records + CsvCountRecordsPortable(p + i, n - i, quote, parity != 0);
}

// The strict checks of one 64-byte block of CsvSummaryBlocksAvx2, while a
// state still lacks its first bad quote (on valid CSV the wrong state finds
// one in its first quoted field); clears `checking` once both have one. The
// '\r' mask only where a quote that may close is followed by something else.
__attribute__((target("avx2,popcnt"))) inline void CheckBlock(const uint8_t* p, size_t i, uint64_t quotes, uint64_t ends, uint64_t lines, uint64_t first,
                                                              uint64_t second, uint64_t starts, uint64_t prev_open_ok, uint8_t quote, uint8_t delimiter,
                                                              CsvFirstPass& s, bool& checking) {
  uint64_t open_ok = starts | (quotes << 1) | prev_open_ok;
  uint8_t b64 = p[i + 64];
  uint64_t close_ok = ((ends | quotes) >> 1) | (static_cast<uint64_t>(CsvEndsField(b64, delimiter) || b64 == quote) << 63);
  uint64_t closing = (s.bad_even < 0 ? second : 0) | (s.bad_odd < 0 ? first : 0);
  if ((closing & ~close_ok) != 0) {
    // Or "\r\n" follows.
    const __m256i cr = _mm256_set1_epi8('\r');
    __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
    uint64_t crs = Eq64(lo, hi, cr);
    if (crs != 0 || b64 == '\r') {
      uint8_t b65 = p[i + 65];
      uint64_t cr_next = (crs >> 1) | (static_cast<uint64_t>(b64 == '\r') << 63);
      uint64_t nl_second = (lines >> 2) | (static_cast<uint64_t>(b64 == '\n') << 62) | (static_cast<uint64_t>(b65 == '\n') << 63);
      close_ok |= cr_next & nl_second;
    }
  }
  uint64_t bad_even = (first & ~open_ok) | (second & ~close_ok);
  uint64_t bad_odd = (second & ~open_ok) | (first & ~close_ok);
  if (s.bad_even < 0 && bad_even != 0) {
    unsigned k = static_cast<unsigned>(__builtin_ctzll(bad_even));
    s.bad_even = static_cast<int64_t>(i + k);
    s.bad_even_kind = ((first >> k) & 1) != 0 ? kCsvQuoteInUnquotedField : kCsvTextAfterClosingQuote;
  }
  if (s.bad_odd < 0 && bad_odd != 0) {
    unsigned k = static_cast<unsigned>(__builtin_ctzll(bad_odd));
    s.bad_odd = static_cast<int64_t>(i + k);
    s.bad_odd_kind = ((second >> k) & 1) != 0 ? kCsvQuoteInUnquotedField : kCsvTextAfterClosingQuote;
  }
  checking = (s.bad_even | s.bad_odd) < 0;
}

// CsvSummaryFrom's work 64 bytes at a time, while the block lies in the range
// and the two bytes after it can be read (what follows a closing quote at its
// last byte): bit masks of the block's quotes and field ends (delimiters and
// '\n'), the prefix XOR of the quotes, and the checks (CheckBlock) until both
// states have their first bad quote. Returns where the tail starts.
__attribute__((target("avx2,popcnt,pclmul"))) size_t CsvSummaryBlocksAvx2(const uint8_t* p, size_t n, size_t from, size_t to, uint8_t quote,
                                                                          uint8_t delimiter, CsvFirstPass& out) {
  const __m256i q = _mm256_set1_epi8(static_cast<char>(quote));
  const __m256i nl = _mm256_set1_epi8('\n');
  const __m256i dl = _mm256_set1_epi8(static_cast<char>(delimiter));
  uint64_t parity = 0;  // all ones after an odd number of the range's quotes
  // Bit 0 of each: the byte before the block ends a field (delimiter, '\n',
  // the start of the input); that, or it is a quote.
  uint8_t before = from == 0 ? '\n' : p[from - 1];
  uint64_t prev_starts = CsvEndsField(before, delimiter);
  uint64_t prev_open_ok = prev_starts | static_cast<uint64_t>(before == quote);
  // The summary's fields in locals the compiler can keep in registers (a
  // store through `out` could alias the bytes; in a struct they were spilled
  // to memory every block), the last field-opening quote of each state by a
  // select rather than a branch.
  uint64_t quotes_seen = out.quotes;
  int64_t newline_even = out.newline_even, newline_odd = out.newline_odd;
  int64_t open_even = out.open_even, open_odd = out.open_odd;
  CsvFirstPass s = out;  // the rarely written ones: bad quotes and their kinds
  bool checking = (s.bad_even | s.bad_odd) < 0;
  bool newlines = (newline_even | newline_odd) < 0;
  size_t limit = n < 2 ? 0 : to < n - 2 ? to : n - 2;
  size_t i = from;
  for (; i + 64 <= limit; i += 64) {
    __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
    uint64_t quotes = Eq64(lo, hi, q);
    if (quotes != 0) {
      uint64_t lines = Eq64(lo, hi, nl);
      uint64_t ends = lines | Eq64(lo, hi, dl);
      // Set at a quote: it is the range's 0th, 2nd, ... one, which opens under the even state.
      uint64_t inside = PrefixXorClmul(quotes) ^ parity;
      uint64_t first = quotes & inside, second = quotes & ~inside;
      uint64_t starts = (ends << 1) | prev_starts;
      if (checking) CheckBlock(p, i, quotes, ends, lines, first, second, starts, prev_open_ok, quote, delimiter, s, checking);
      uint64_t opens_even = first & starts, opens_odd = second & starts;
      int64_t last_even = static_cast<int64_t>(i + 63 - static_cast<size_t>(__builtin_clzll(opens_even | 1)));
      int64_t last_odd = static_cast<int64_t>(i + 63 - static_cast<size_t>(__builtin_clzll(opens_odd | 1)));
      open_even = opens_even != 0 ? last_even : open_even;
      open_odd = opens_odd != 0 ? last_odd : open_odd;
      if (newlines) {
        uint64_t even = lines & ~inside, odd = lines & inside;
        if (newline_even < 0 && even != 0) newline_even = static_cast<int64_t>(i + static_cast<size_t>(__builtin_ctzll(even)));
        if (newline_odd < 0 && odd != 0) newline_odd = static_cast<int64_t>(i + static_cast<size_t>(__builtin_ctzll(odd)));
        newlines = (newline_even | newline_odd) < 0;
      }
      quotes_seen += static_cast<uint64_t>(__builtin_popcountll(quotes));
      parity = static_cast<uint64_t>(static_cast<int64_t>(inside) >> 63);
      prev_starts = ends >> 63;
      prev_open_ok = prev_starts | (quotes >> 63);
      continue;
    }
    if (newlines) {
      uint64_t lines = Eq64(lo, hi, nl);
      int64_t& newline = parity != 0 ? newline_odd : newline_even;
      if (newline < 0 && lines != 0) newline = static_cast<int64_t>(i + static_cast<size_t>(__builtin_ctzll(lines)));
      newlines = (newline_even | newline_odd) < 0;
    }
    prev_starts = CsvEndsField(p[i + 63], delimiter);
    prev_open_ok = prev_starts;
  }
  s.quotes = quotes_seen;
  s.newline_even = newline_even;
  s.newline_odd = newline_odd;
  s.open_even = open_even;
  s.open_odd = open_odd;
  out = s;
  return i;
}

// POPCNT comes with every AVX2 CPU; checked too, as some kernels use it.
bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("pclmul");
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

uint64_t CountWordsUtf8(const uint8_t* p, size_t n) {
#if PAGEWISE_X86_DISPATCH
  if (HasAvx2()) return CountUtf8Avx2<true, false>(p, n).words;
#endif
  return CountUtf8Portable<true, false>(p, n).words;
}

uint64_t CountCharsUtf8(const uint8_t* p, size_t n) {
#if PAGEWISE_X86_DISPATCH
  if (HasAvx2()) return CountUtf8Avx2<false, false>(p, n).chars;
#endif
  return CountUtf8Portable<false, false>(p, n).chars;
}

WcCounts CountWcUtf8(const uint8_t* p, size_t n) {
  WcState s;
#if PAGEWISE_X86_DISPATCH
  if (HasAvx2()) {
    s = CountUtf8Avx2<true, true>(p, n);
    return {s.lines, s.words, s.chars};
  }
#endif
  s = CountUtf8Portable<true, true>(p, n);
  return {s.lines, s.words, s.chars};
}

const char* Utf8TableSource() { return utf8wc::kSource; }

CsvFirstPass CsvSummaryChecked(const uint8_t* p, size_t n, size_t from, size_t to, uint8_t quote, uint8_t delimiter) {
  CsvFirstPass s{0, -1, -1, -1, kCsvQuotesOk, -1, kCsvQuotesOk, -1, -1};
  size_t i = from;
#if PAGEWISE_X86_DISPATCH
  if (HasAvx2()) i = CsvSummaryBlocksAvx2(p, n, from, to, quote, delimiter, s);
#endif
  CsvSummaryFrom(p, n, i, to, quote, delimiter, s);
  return s;
}

int64_t CsvRecordStart(const uint8_t* p, size_t n, uint8_t quote, bool odd, size_t from) {
  if (from == 0) from = 1;
  if (from > n) return -1;
  bool parity = odd ^ ((CountByte(p, from - 1, quote) & 1) != 0);
  int64_t nl;
#if PAGEWISE_X86_DISPATCH
  if (HasAvx2()) {
    nl = CsvEvenNewlineAvx2(p, n, from - 1, quote, parity);
    return nl < 0 ? -1 : nl + 1;
  }
#endif
  nl = CsvEvenNewlinePortable(p, n, from - 1, quote, parity);
  return nl < 0 ? -1 : nl + 1;
}

uint64_t CsvCountRecords(const uint8_t* p, size_t n, uint8_t quote, bool odd) {
#if PAGEWISE_X86_DISPATCH
  if (HasAvx2()) return CsvCountRecordsAvx2(p, n, quote, odd);
#endif
  return CsvCountRecordsPortable(p, n, quote, odd);
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

namespace {
// Just after the last `terminator` in [from, to), or `from` when there is none.
const uint8_t* LastRecordStart(const uint8_t* from, const uint8_t* to, uint8_t terminator) {
#if defined(__GLIBC__)
  const void* t = to > from ? memrchr(from, terminator, static_cast<size_t>(to - from)) : nullptr;  // a GNU extension
  return t == nullptr ? from : static_cast<const uint8_t*>(t) + 1;
#else
  while (to > from && to[-1] != terminator) to--;
  return to;
#endif
}
}  // namespace

size_t CopyRecordsContaining(const uint8_t* p, size_t n, const uint8_t* needle, size_t m, uint8_t terminator, uint8_t* out, uint64_t* records) {
  const uint8_t* end = p + n;
  const uint8_t* at = p;
  const uint8_t* run = nullptr;  // [run, run_end): selected records not copied yet
  const uint8_t* run_end = nullptr;
  size_t written = 0;
  uint64_t count = 0;
  while (at < end) {
    const uint8_t* hit = FindBytes(at, static_cast<size_t>(end - at), needle, m);
    if (hit == nullptr) break;
    // The record's start: after the last terminator between `at` and the hit.
    const uint8_t* start = LastRecordStart(at, hit, terminator);
    const void* t = memchr(hit, terminator, static_cast<size_t>(end - hit));
    const uint8_t* stop = t == nullptr ? end : static_cast<const uint8_t*>(t) + 1;
    count++;
    if (run != nullptr && start == run_end) {
      run_end = stop;
    } else {
      if (run != nullptr) {
        memcpy(out + written, run, static_cast<size_t>(run_end - run));
        written += static_cast<size_t>(run_end - run);
      }
      run = start;
      run_end = stop;
    }
    at = stop;
  }
  if (run != nullptr) {
    memcpy(out + written, run, static_cast<size_t>(run_end - run));
    written += static_cast<size_t>(run_end - run);
    if (out[written - 1] != terminator) out[written++] = terminator;
  }
  *records = count;
  return written;
}

size_t FindRecordsContaining(const uint8_t* p, size_t n, size_t from, const uint8_t* needle, size_t m, uint8_t terminator, double* out, size_t cap, size_t* next) {
  const uint8_t* end = p + n;
  const uint8_t* at = p + from;
  const uint8_t* counted = at;
  uint64_t lines = 0;
  size_t k = 0;
  while (k < cap && at < end) {
    const uint8_t* hit = FindBytes(at, static_cast<size_t>(end - at), needle, m);
    if (hit == nullptr) {
      at = end;
      break;
    }
    const uint8_t* start = LastRecordStart(at, hit, terminator);
    lines += CountByte(counted, static_cast<size_t>(start - counted), terminator);
    counted = start;
    const void* t = memchr(hit, terminator, static_cast<size_t>(end - hit));
    const uint8_t* stop = t == nullptr ? end : static_cast<const uint8_t*>(t) + 1;
    out[3 * k] = static_cast<double>(start - p);
    out[3 * k + 1] = static_cast<double>(stop - p);
    out[3 * k + 2] = static_cast<double>(lines);
    k++;
    at = stop;
  }
  *next = static_cast<size_t>(at - p);
  return k;
}

}  // namespace pagewise
