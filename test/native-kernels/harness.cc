// Unit and fuzz tests of native/kernels.cc without Node: every kernel against
// a plain reference written here, on random and edge-case inputs at every
// alignment. The UTF-8 reference asks glibc itself (mbrtowc, iswprint_l,
// iswspace_l in C.UTF-8), not the generated table. Built twice by
// test/native-kernels.test.ts: once as shipped (AVX2 where the CPU has it),
// once with -DPAGEWISE_PORTABLE_ONLY.
//
//   harness selftest [seed] [rounds]   exit 0 when everything agrees
//   harness count FILE...              one JSON line of kernel results per file
//   harness csv-ranges FILE A B [A B]...  CSV kernels over byte ranges of FILE (JSON)
//   harness bench-words FILE reps      time CountWords vs CountWordsUtf8 (alternating)
//   harness bench-wc FILE threads MiB reps   `wc` as the kernel path runs it: the file
//                                      mapped per run, chunks cut after a '\n', a pool
//                                      of threads; CountByte + CountWords (two passes)
//                                      against CountWcUtf8 (one), alternating
#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <cwctype>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <locale.h>
#include <memory>
#include <random>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "kernels.h"

using pagewise::CsvFirstPass;

namespace {

// What the CSV tests compare (test/csv-kernels.test.ts): the quote parity
// part of a summary, and the strict checks of whole records (the first bad
// quote, or a quoted field open at the end), both from CsvSummaryChecked.
struct CsvSummary {
  uint64_t quotes;
  int64_t first_newline_even;
  int64_t first_newline_odd;
};
struct CsvQuoteError {
  int64_t offset;
  int kind;
};

CsvSummary SummaryOf(const uint8_t* p, size_t n, uint8_t quote) {
  CsvFirstPass s = pagewise::CsvSummaryChecked(p, n, 0, n, quote, ',');
  return {s.quotes, s.newline_even, s.newline_odd};
}

// Whole records: the input starts outside quotes.
CsvQuoteError CheckOf(const uint8_t* p, size_t n, uint8_t quote, uint8_t delim) {
  CsvFirstPass s = pagewise::CsvSummaryChecked(p, n, 0, n, quote, delim);
  if (s.bad_even >= 0) return {s.bad_even, s.bad_even_kind};
  if (s.quotes % 2 != 0) return {s.open_even, pagewise::kCsvUnterminatedQuote};
  return {-1, pagewise::kCsvQuotesOk};
}

int failures = 0;

void Fail(const char* what, const std::string& input, const std::string& detail) {
  if (++failures > 20) return;
  std::fprintf(stderr, "FAIL %s: %s; input (%zu bytes):", what, detail.c_str(), input.size());
  for (size_t i = 0; i < input.size() && i < 200; i++) std::fprintf(stderr, " %02x", static_cast<uint8_t>(input[i]));
  std::fprintf(stderr, "\n");
}

// ------------------------------------------------------- UTF-8 reference --

locale_t g_utf8;

struct RefCounts {
  uint64_t words = 0, chars = 0;
};

// wc 9.1's rule, character by character through glibc: mbrtowc from a fresh
// state at each position (a failed decode skips one byte), iswprint_l and
// iswspace_l for the class, wc's four extra non-breaking spaces.
RefCounts RefUtf8(const uint8_t* p, size_t n) {
  RefCounts r;
  bool in_word = false;
  size_t i = 0;
  while (i < n) {
    mbstate_t st;
    std::memset(&st, 0, sizeof st);
    wchar_t wc = 0;
    size_t len = mbrtowc(&wc, reinterpret_cast<const char*>(p + i), n - i, &st);
    if (len == static_cast<size_t>(-1) || len == static_cast<size_t>(-2)) {
      i++;
      continue;
    }
    if (len == 0) len = 1;
    i += len;
    r.chars++;
    wint_t c = static_cast<wint_t>(wc);
    bool sep = c == ' ' || (c >= '\t' && c <= '\r');
    bool word = false;
    if (!sep && iswprint_l(c, g_utf8)) {
      sep = iswspace_l(c, g_utf8) || c == 0xA0 || c == 0x2007 || c == 0x202F || c == 0x2060;
      word = !sep;
    }
    if (word && !in_word) r.words++;
    if (word) in_word = true;
    if (sep) in_word = false;
  }
  return r;
}

uint64_t RefCountWordsAscii(const uint8_t* p, size_t n) {
  uint64_t words = 0;
  bool in = false;
  for (size_t i = 0; i < n; i++) {
    bool space = p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r');
    if (!space && !in) words++;
    in = !space;
  }
  return words;
}

// --------------------------------------------------------- CSV reference --

struct RefCsv {
  CsvSummary summary;
  std::vector<size_t> even_newlines;  // offsets of '\n' at even parity (from an even start)
  std::vector<size_t> odd_newlines;   // ... from an odd start
  CsvQuoteError error;
};

// A byte-at-a-time RFC 4180 state machine with the walker's strict rules,
// independent of the kernels' parity masks.
CsvQuoteError RefCsvCheck(const uint8_t* p, size_t n, uint8_t quote, uint8_t delim) {
  enum { kFieldStart, kUnquoted, kQuoted, kAfterQuote, kAfterQuoteCr } state = kFieldStart;
  size_t open = 0, closing = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t b = p[i];
    switch (state) {
      case kFieldStart:
        if (b == quote) {
          state = kQuoted;
          open = i;
        } else if (b != delim && b != '\n') {
          state = kUnquoted;
        }
        break;
      case kUnquoted:
        if (b == quote) return {static_cast<int64_t>(i), pagewise::kCsvQuoteInUnquotedField};
        if (b == delim || b == '\n') state = kFieldStart;
        break;
      case kQuoted:
        if (b == quote) {
          state = kAfterQuote;
          closing = i;
        }
        break;
      case kAfterQuote:
        if (b == quote) {
          state = kQuoted;  // a doubled quote
        } else if (b == delim || b == '\n') {
          state = kFieldStart;
        } else if (b == '\r') {
          state = kAfterQuoteCr;
        } else {
          return {static_cast<int64_t>(closing), pagewise::kCsvTextAfterClosingQuote};
        }
        break;
      case kAfterQuoteCr:
        if (b != '\n') return {static_cast<int64_t>(closing), pagewise::kCsvTextAfterClosingQuote};
        state = kFieldStart;
        break;
    }
  }
  if (state == kQuoted) return {static_cast<int64_t>(open), pagewise::kCsvUnterminatedQuote};
  return {-1, pagewise::kCsvQuotesOk};
}

// summarizeCsv's definition (src/csv/scan.ts), a byte at a time, for
// [from, to) of p[0, n): no masks, no memchr.
CsvFirstPass RefFirstPass(const uint8_t* p, size_t n, size_t from, size_t to, uint8_t quote, uint8_t delim) {
  CsvFirstPass s{0, -1, -1, -1, pagewise::kCsvQuotesOk, -1, pagewise::kCsvQuotesOk, -1, -1};
  for (size_t i = from; i < to; i++) {
    bool even = s.quotes % 2 == 0;
    if (p[i] == '\n') {
      int64_t& nl = even ? s.newline_even : s.newline_odd;
      if (nl < 0) nl = static_cast<int64_t>(i);
    }
    if (p[i] != quote) continue;
    uint8_t before = i == 0 ? '\n' : p[i - 1];
    bool starts = before == delim || before == '\n';
    bool open_ok = starts || before == quote;
    bool close_ok = i + 1 >= n || p[i + 1] == delim || p[i + 1] == '\n' || p[i + 1] == quote ||
                    (p[i + 1] == '\r' && (i + 2 >= n || p[i + 2] == '\n'));
    // Quote number 0, 2, 4, ... of the range opens if it starts outside quotes; the others close.
    bool ok_even = even ? open_ok : close_ok, ok_odd = even ? close_ok : open_ok;
    if (!ok_even && s.bad_even < 0) {
      s.bad_even = static_cast<int64_t>(i);
      s.bad_even_kind = even ? pagewise::kCsvQuoteInUnquotedField : pagewise::kCsvTextAfterClosingQuote;
    }
    if (!ok_odd && s.bad_odd < 0) {
      s.bad_odd = static_cast<int64_t>(i);
      s.bad_odd_kind = even ? pagewise::kCsvTextAfterClosingQuote : pagewise::kCsvQuoteInUnquotedField;
    }
    if (starts) (even ? s.open_even : s.open_odd) = static_cast<int64_t>(i);
    s.quotes++;
  }
  return s;
}

std::string FirstPassText(const CsvFirstPass& s) {
  return std::to_string(s.quotes) + " nl " + std::to_string(s.newline_even) + "/" + std::to_string(s.newline_odd) + " bad " +
         std::to_string(s.bad_even) + ":" + std::to_string(s.bad_even_kind) + "/" + std::to_string(s.bad_odd) + ":" +
         std::to_string(s.bad_odd_kind) + " open " + std::to_string(s.open_even) + "/" + std::to_string(s.open_odd);
}

RefCsv RefCsvAll(const uint8_t* p, size_t n, uint8_t quote, uint8_t delim) {
  RefCsv r;
  r.summary = {0, -1, -1};
  bool odd = false;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == quote) {
      r.summary.quotes++;
      odd = !odd;
    } else if (p[i] == '\n') {
      (odd ? r.odd_newlines : r.even_newlines).push_back(i);
    }
  }
  // even_newlines holds those at even parity counted from an even start; from
  // an odd start the roles swap.
  r.summary.first_newline_even = r.even_newlines.empty() ? -1 : static_cast<int64_t>(r.even_newlines[0]);
  r.summary.first_newline_odd = r.odd_newlines.empty() ? -1 : static_cast<int64_t>(r.odd_newlines[0]);
  r.error = RefCsvCheck(p, n, quote, delim);
  return r;
}

// --------------------------------------------------------------- inputs --

std::string Encode(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xc0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xe0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x200000) {
    s += static_cast<char>(0xf0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x4000000) {
    s += static_cast<char>(0xf8 | (cp >> 24));
    for (int k = 18; k >= 0; k -= 6) s += static_cast<char>(0x80 | ((cp >> k) & 0x3f));
  } else {
    s += static_cast<char>(0xfc | (cp >> 30));
    for (int k = 24; k >= 0; k -= 6) s += static_cast<char>(0x80 | ((cp >> k) & 0x3f));
  }
  return s;
}

// Text whose pieces are chosen to meet every path: ASCII runs long enough for
// whole 64-byte blocks, control bytes, Unicode spaces, CJK, invalid and
// truncated sequences, CRLF, overlong and surrogate forms, 5- and 6-byte forms.
std::string RandomText(std::mt19937_64& rng, size_t target, int flavour) {
  static const char* const pieces[] = {
      "hello", "world", " ", "  ", "\t", "\n", "\r\n", "\v", "\f", "\r", "x", "a,b", "$@`~",
      "\xc2\xa0", "\xe2\x80\x83", "\xe2\x80\x87", "\xe2\x80\xaf", "\xe2\x81\xa0", "\xe3\x80\x80", "\xe1\x9a\x80",
      "\xe2\x80\xa8", "\xc2\x85", "\xe2\x80\x8b", "\xef\xbb\xbf", "\xe6\x97\xa5\xe6\x9c\xac", "\xd0\x9f\xd1\x80",
      "\xf0\x9f\x98\x80", "\xc3\xa9", "\xff", "\xfe", "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80",
      "\xed\xa0\x80", "\xed\x9f\xbf", "\xf4\x90\x80\x80", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80",
      "\xfc\x84\x80\x80\x80\x80", "\xe2\x82", "\xf0\x9f\x98", "\xc3", "\x01", "\x1b[0m", "\x7f", "\x1c",
      "\x1f", "\x0e",
  };
  constexpr size_t kPieces = sizeof pieces / sizeof pieces[0];
  std::string s;
  std::uniform_int_distribution<int> byte(0, 255);
  while (s.size() < target) {
    uint64_t r = rng();
    switch (flavour) {
      case 0:  // mostly ASCII words
        if (r % 10 < 8) {
          s += pieces[r % 13];
        } else {
          s += pieces[(r >> 8) % kPieces];
        }
        break;
      case 1:  // pieces only
        s += pieces[r % kPieces];
        break;
      case 2:  // random bytes
        s += static_cast<char>(byte(rng));
        break;
      case 3:  // random code points, any plane, sometimes cut short
      {
        uint32_t cp = static_cast<uint32_t>((r >> 8) % 0x110000);
        if (r % 7 == 0) cp = static_cast<uint32_t>((r >> 8) % 0x80);
        std::string e = Encode(cp);
        if (r % 23 == 0 && e.size() > 1) e.resize(e.size() - 1 - (r >> 40) % (e.size() - 1));
        s += e;
        if (r % 5 == 0) s += ' ';
        break;
      }
      default:  // long ASCII stretches with rare non-ASCII
        s += std::string(static_cast<size_t>(r % 90), static_cast<char>('a' + (r >> 8) % 26));
        s += pieces[(r >> 16) % kPieces];
        break;
    }
  }
  s.resize(target);
  return s;
}

std::string RandomCsv(std::mt19937_64& rng, size_t target, bool valid) {
  static const char* const fields[] = {"", "a", "12.5", "-3", "\"\"", "\"a,b\"", "\"x\"\"y\"", "\"\"\"\"",
                                       "\"line\nbreak\"", "\"crlf\r\nin\"", "\",,,\"", "\"\"\"\"\"\"", "caf\xc3\xa9",
                                       "\"\xe6\x97\xa5\"", "plain text", "\"\n\"", "\"\r\"", "x\ry"};
  static const char* const broken[] = {"a\"b", "\"a\"b", "\"a\"\rb", "\"open", "\"", "ab\"", "\"a\" ", "\"a\"\r\r\n"};
  std::string s;
  while (s.size() < target) {
    uint64_t r = rng();
    int nf = 1 + static_cast<int>(r % 6);
    for (int f = 0; f < nf; f++) {
      uint64_t k = rng();
      if (f) s += ',';
      if (!valid && k % 40 == 0) {
        s += broken[(k >> 8) % (sizeof broken / sizeof broken[0])];
      } else if (k % 97 == 0) {
        s += '"' + std::string(300, 'w') + '"';
      } else {
        s += fields[(k >> 8) % (sizeof fields / sizeof fields[0])];
      }
    }
    s += (r >> 20) % 3 == 0 ? "\r\n" : "\n";
  }
  if ((rng() & 1) != 0) s.resize(target);  // sometimes cut anywhere
  return s;
}

std::string RandomBytesOf(std::mt19937_64& rng, size_t n, const char* alphabet) {
  std::string s;
  size_t m = std::strlen(alphabet);
  for (size_t i = 0; i < n; i++) s += alphabet[rng() % m];
  return s;
}

// ---------------------------------------------------------------- checks --

// The input in an allocation of exactly shift + size bytes, so that a sanitizer
// build sees any read past its end (a std::string may have spare capacity).
std::unique_ptr<uint8_t[]> Exact(const std::string& input, size_t shift) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[shift + input.size() + (shift + input.size() == 0 ? 1 : 0)]);
  std::memset(buf.get(), 'z', shift);
  std::memcpy(buf.get() + shift, input.data(), input.size());
  return buf;
}

// The kernels on `input` at several alignments (they read 64 bytes at a
// time) against `ref`, or against RefUtf8 of the input when ref is null.
void CheckUtf8(const std::string& input, const RefCounts* expected = nullptr, size_t shifts = 3) {
  for (size_t shift = 0; shift < shifts; shift++) {
    std::unique_ptr<uint8_t[]> buf = Exact(input, shift);
    const uint8_t* p = buf.get() + shift;
    size_t n = input.size();
    RefCounts ref = expected != nullptr ? *expected : RefUtf8(p, n);
    uint64_t w = pagewise::CountWordsUtf8(p, n), c = pagewise::CountCharsUtf8(p, n);
    pagewise::WcCounts both = pagewise::CountWcUtf8(p, n);
    uint64_t lines = 0;
    for (size_t k = 0; k < n; k++) lines += p[k] == '\n';
    if (both.lines != lines) {
      Fail("CountWcUtf8 lines", input, std::to_string(both.lines) + " != " + std::to_string(lines));
      return;
    }
    if (w != ref.words || both.words != ref.words) {
      Fail("CountWordsUtf8", input, std::to_string(w) + "/" + std::to_string(both.words) + " != " + std::to_string(ref.words));
      return;
    }
    if (c != ref.chars || both.chars != ref.chars) {
      Fail("CountCharsUtf8", input, std::to_string(c) + "/" + std::to_string(both.chars) + " != " + std::to_string(ref.chars));
      return;
    }
  }
}

void CheckOld(std::mt19937_64& rng, const std::string& input) {
  std::unique_ptr<uint8_t[]> buf = Exact(input, 0);
  const uint8_t* p = buf.get();
  size_t n = input.size();
  uint8_t v = static_cast<uint8_t>(n ? p[rng() % n] : 'a');
  uint64_t ref = 0;
  for (size_t i = 0; i < n; i++) ref += p[i] == v;
  if (pagewise::CountByte(p, n, v) != ref) Fail("CountByte", input, "");
  if (pagewise::CountWords(p, n) != RefCountWordsAscii(p, n)) Fail("CountWords", input, "");
  size_t m = 1 + rng() % 4;
  if (m <= n) {
    size_t at = rng() % (n - m + 1);
    std::string needle = input.substr(at, m);
    const uint8_t* hit = pagewise::FindBytes(p, n, reinterpret_cast<const uint8_t*>(needle.data()), m);
    size_t want = input.find(needle);
    if (hit == nullptr || static_cast<size_t>(hit - p) != want) Fail("FindBytes", input, needle);
    if (needle.find('\n') == std::string::npos) {
      uint64_t records = 0;
      size_t start = 0;
      while (start < n) {
        size_t end = input.find('\n', start);
        if (end == std::string::npos) end = n;
        if (input.substr(start, end - start).find(needle) != std::string::npos) records++;
        start = end + 1;
      }
      uint64_t got = pagewise::CountRecordsContaining(p, n, reinterpret_cast<const uint8_t*>(needle.data()), m, '\n');
      if (got != records) Fail("CountRecordsContaining", input, needle);
    }
  }
}

// CsvSummaryChecked of ranges of `input` as the first pass gives them: in an
// exact-size copy of the range with the byte before it and the two after it
// (where the input has them), at two alignments, against RefFirstPass over
// the whole input. Ranges at the start and the end, empty, tiny, and random.
void CheckFirstPass(std::mt19937_64& rng, const std::string& input, uint8_t quote, uint8_t delim) {
  size_t n = input.size();
  const uint8_t* whole = reinterpret_cast<const uint8_t*>(input.data());
  std::vector<std::pair<size_t, size_t>> ranges = {{0, n}, {0, 0}, {n, n}};
  for (int t = 0; t < 6; t++) {
    size_t from = rng() % (n + 1);
    size_t len = t < 2 ? rng() % 4 : rng() % (n - from + 1);
    ranges.push_back({from, std::min(n, from + len)});
  }
  if (n > 0) ranges.push_back({rng() % n, n});
  for (auto [from, to] : ranges) {
    size_t vs = from > 0 ? from - 1 : 0, ve = std::min(n, to + 2);
    CsvFirstPass want = RefFirstPass(whole, n, from, to, quote, delim);
    auto moved = [vs](int64_t v) { return v < 0 ? v : v - static_cast<int64_t>(vs); };
    want.newline_even = moved(want.newline_even);
    want.newline_odd = moved(want.newline_odd);
    want.bad_even = moved(want.bad_even);
    want.bad_odd = moved(want.bad_odd);
    want.open_even = moved(want.open_even);
    want.open_odd = moved(want.open_odd);
    for (size_t shift = 0; shift < 2; shift++) {
      std::unique_ptr<uint8_t[]> buf = Exact(input.substr(vs, ve - vs), shift);
      CsvFirstPass got = pagewise::CsvSummaryChecked(buf.get() + shift, ve - vs, from - vs, to - vs, quote, delim);
      if (FirstPassText(got) != FirstPassText(want)) {
        Fail("CsvSummaryChecked", input,
             "range " + std::to_string(from) + ".." + std::to_string(to) + ": " + FirstPassText(got) + " != " + FirstPassText(want));
        return;
      }
    }
  }
}

void CheckCsv(std::mt19937_64& rng, const std::string& input, uint8_t quote, uint8_t delim) {
  for (size_t shift = 0; shift < 2; shift++) {
    std::unique_ptr<uint8_t[]> buf = Exact(input, shift);
    const uint8_t* p = buf.get() + shift;
    size_t n = input.size();
    RefCsv ref = RefCsvAll(p, n, quote, delim);
    CsvSummary s = SummaryOf(p, n, quote);
    if (s.quotes != ref.summary.quotes || s.first_newline_even != ref.summary.first_newline_even ||
        s.first_newline_odd != ref.summary.first_newline_odd) {
      Fail("CsvSummaryChecked (parity)", input,
           std::to_string(s.quotes) + " " + std::to_string(s.first_newline_even) + " " + std::to_string(s.first_newline_odd) +
               " != " + std::to_string(ref.summary.quotes) + " " + std::to_string(ref.summary.first_newline_even) + " " +
               std::to_string(ref.summary.first_newline_odd));
      return;
    }
    for (int odd = 0; odd < 2; odd++) {
      const std::vector<size_t>& outside = odd ? ref.odd_newlines : ref.even_newlines;
      if (pagewise::CsvCountRecords(p, n, quote, odd != 0) != outside.size()) {
        Fail("CsvCountRecords", input, "odd=" + std::to_string(odd));
        return;
      }
      for (int t = 0; t < 4; t++) {
        size_t from = n ? rng() % (n + 2) : rng() % 2;
        int64_t want = -1;
        for (size_t nl : outside) {
          if (nl + 1 >= (from == 0 ? 1 : from)) {
            want = static_cast<int64_t>(nl + 1);
            break;
          }
        }
        int64_t got = pagewise::CsvRecordStart(p, n, quote, odd != 0, from);
        if (got != want) {
          Fail("CsvRecordStart", input, "odd=" + std::to_string(odd) + " from=" + std::to_string(from) + ": " +
                                            std::to_string(got) + " != " + std::to_string(want));
          return;
        }
      }
    }
    CsvQuoteError e = CheckOf(p, n, quote, delim);
    if (e.offset != ref.error.offset || e.kind != ref.error.kind) {
      Fail("CsvSummaryChecked (whole records)", input, std::to_string(e.offset) + "/" + std::to_string(e.kind) + " != " +
                                                           std::to_string(ref.error.offset) + "/" + std::to_string(ref.error.kind));
      return;
    }
  }
  CheckFirstPass(rng, input, quote, delim);
}

int SelfTest(uint64_t seed, int rounds) {
  std::mt19937_64 rng(seed);
  // Every code point, between word characters and between spaces, and every
  // 1- and 2-byte sequence.
  // Short inputs take the scalar tail; long ones the 64-byte blocks, with the
  // character at the start, the middle and the end of a block.
  for (uint32_t cp = 0; cp < 0x110000 && failures == 0; cp++) {
    std::string e = Encode(cp);
    CheckUtf8("x" + e + "y");
    CheckUtf8(" " + e + " ");
    // A run of x counts as one x: the reference need not walk 130 bytes.
    for (size_t at : {size_t{0}, size_t{31}, 64 - e.size()}) {
      std::string shortened = (at ? "x" : "") + e + "y";
      RefCounts ref = RefUtf8(reinterpret_cast<const uint8_t*>(shortened.data()), shortened.size());
      ref.chars += 130 - 1 + (at ? at - 1 : 0);
      CheckUtf8(std::string(at, 'x') + e + std::string(130, 'y'), &ref, 1);
      shortened = (at ? " " : "") + e + " ";
      ref = RefUtf8(reinterpret_cast<const uint8_t*>(shortened.data()), shortened.size());
      ref.chars += 130 - 1 + (at ? at - 1 : 0);
      CheckUtf8(std::string(at, ' ') + e + std::string(130, ' '), &ref, 1);
    }
  }
  for (uint32_t a = 0; a < 256; a++) {
    for (uint32_t b = 0; b < 256; b++) {
      std::string s = {'q', static_cast<char>(a), static_cast<char>(b), 'q'};
      CheckUtf8(s);
      CheckUtf8(s.substr(1, 2));
    }
  }
  // Every 3-byte sequence whose lead is 0xe0..0xff, with continuation bytes
  // sampled at their edges.
  const uint8_t edges[] = {0x00, 0x20, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
  for (uint32_t a = 0xe0; a < 256; a++) {
    for (uint8_t b : edges) {
      for (uint8_t c : edges) {
        for (uint8_t d : edges) {
          std::string s = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c), static_cast<char>(d), 'q'};
          CheckUtf8(s);
          CheckUtf8(s + "\x80\x80");
        }
      }
    }
  }
  for (uint64_t cp = 0x110000; cp < 0x80000000u; cp = cp * 3 / 2 + 7) CheckUtf8("a" + Encode(static_cast<uint32_t>(cp)) + "b");
  // Every ASCII byte in every position of a 64-byte block.
  for (int b = 0; b < 128; b++) {
    for (size_t at = 0; at < 130; at += 1) {
      std::string s(130, 'w');
      s[at] = static_cast<char>(b);
      if (at + 1 < s.size()) s[at + 1] = ' ';
      CheckUtf8(s);
    }
  }
  // Quotes, doubled quotes, "\r\n" and lone '\r' after a quote, at every
  // position around the first 64-byte block edges.
  const char* const edge_pieces[] = {"\"", "\"\"", ",\"a\",", "\"\r\n", "\"\r", "\"\rx", "a\"b", "\"\n\"", ",\"\"\"\","};
  for (const char* piece : edge_pieces) {
    for (size_t at = 0; at < 140 && failures == 0; at++) {
      std::string text(200, 'a');
      for (size_t k = 0; k < text.size(); k += 7) text[k] = ',';
      text[150] = '\n';
      text.replace(at, std::strlen(piece), piece);
      CheckCsv(rng, text, '"', ',');
    }
  }
  for (int r = 0; r < rounds && failures == 0; r++) {
    size_t len = static_cast<size_t>(rng() % (r % 10 == 0 ? 2000 : 260));
    CheckUtf8(RandomText(rng, len, r % 5));
    CheckOld(rng, RandomText(rng, len, r % 5));
    CheckCsv(rng, RandomCsv(rng, len, r % 3 != 0), '"', ',');
    CheckCsv(rng, RandomBytesOf(rng, len, r % 2 ? "\"\",\n\ra" : "\",\nxxxxxxxxxxxxxxxxxxxxxxxx"), '"', ',');
    CheckCsv(rng, RandomBytesOf(rng, len, "''\t\n\r\"b"), '\'', '\t');
  }
  std::printf("%s: %s (%d failures), kernels %s\n", failures ? "FAIL" : "ok", pagewise::Utf8TableSource(), failures,
              pagewise::KernelFlavor());
  return failures ? 1 : 0;
}

bool ReadFile(const char* path, std::string* out) {
  FILE* f = std::fopen(path, "rb");
  if (f == nullptr) return false;
  char buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, got);
  std::fclose(f);
  return true;
}

int Count(int argc, char** argv) {
  for (int i = 2; i < argc; i++) {
    std::string data;
    if (!ReadFile(argv[i], &data)) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 2;
    }
    const uint8_t* p = reinterpret_cast<const uint8_t*>(data.data());
    size_t n = data.size();
    CsvSummary s = SummaryOf(p, n, '"');
    CsvQuoteError e = CheckOf(p, n, '"', ',');
    RefCounts ref = RefUtf8(p, n);
    std::printf(
        "{\"words\":%llu,\"chars\":%llu,\"refWords\":%llu,\"refChars\":%llu,\"posixWords\":%llu,\"lines\":%llu,"
        "\"csv\":{\"quotes\":%llu,\"firstNewlineEven\":%lld,\"firstNewlineOdd\":%lld,\"records\":%llu,"
        "\"error\":{\"offset\":%lld,\"kind\":%d}}}\n",
        static_cast<unsigned long long>(pagewise::CountWordsUtf8(p, n)),
        static_cast<unsigned long long>(pagewise::CountCharsUtf8(p, n)), static_cast<unsigned long long>(ref.words),
        static_cast<unsigned long long>(ref.chars), static_cast<unsigned long long>(pagewise::CountWords(p, n)),
        static_cast<unsigned long long>(pagewise::CountByte(p, n, '\n')), static_cast<unsigned long long>(s.quotes),
        static_cast<long long>(s.first_newline_even), static_cast<long long>(s.first_newline_odd),
        static_cast<unsigned long long>(pagewise::CsvCountRecords(p, n, '"', false)), static_cast<long long>(e.offset),
        static_cast<int>(e.kind));
  }
  return 0;
}

// For each range [a, b) of the file: its CSV summary, its records counted
// from either parity, and the strict checks of it as whole records.
int CsvRanges(int argc, char** argv) {
  std::string data;
  if (!ReadFile(argv[2], &data)) return 2;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(data.data());
  std::printf("[");
  for (int k = 3; k + 1 < argc; k += 2) {
    size_t a = std::strtoull(argv[k], nullptr, 10), b = std::strtoull(argv[k + 1], nullptr, 10);
    if (a > b || b > data.size()) return 2;
    CsvSummary s = SummaryOf(p + a, b - a, '"');
    CsvQuoteError e = CheckOf(p + a, b - a, '"', ',');
    std::printf("%s{\"quotes\":%llu,\"firstNewlineEven\":%lld,\"firstNewlineOdd\":%lld,\"recordsEven\":%llu,\"recordsOdd\":%llu,"
                "\"error\":{\"offset\":%lld,\"kind\":%d}}",
                k > 3 ? "," : "", static_cast<unsigned long long>(s.quotes), static_cast<long long>(s.first_newline_even),
                static_cast<long long>(s.first_newline_odd),
                static_cast<unsigned long long>(pagewise::CsvCountRecords(p + a, b - a, '"', false)),
                static_cast<unsigned long long>(pagewise::CsvCountRecords(p + a, b - a, '"', true)), static_cast<long long>(e.offset),
                static_cast<int>(e.kind));
  }
  std::printf("]\n");
  return 0;
}

// Alternates the old kernel and the new one over the same bytes (the file's
// pages stay in memory), best of `reps` each, in GB/s.
int BenchWords(const char* path, int reps) {
  std::string data;
  if (!ReadFile(path, &data)) return 2;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  double best[5] = {1e99, 1e99, 1e99, 1e99, 1e99};
  uint64_t sink = 0;
  for (int r = 0; r < reps; r++) {
    for (int k = 0; k < 5; k++) {
      auto t0 = std::chrono::steady_clock::now();
      if (k == 0) sink += pagewise::CountWords(p, n);
      if (k == 1) sink += pagewise::CountWordsUtf8(p, n);
      if (k == 2) sink += pagewise::CountCharsUtf8(p, n);
      if (k == 3) sink += pagewise::CountByte(p, n, '\n');
      if (k == 4) sink += pagewise::CountWcUtf8(p, n).words;
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (s < best[k]) best[k] = s;
    }
  }
  std::printf(
      "{\"bytes\":%zu,\"countWords\":%.3f,\"countWordsUtf8\":%.3f,\"countCharsUtf8\":%.3f,\"countByte\":%.3f,"
      "\"countWcUtf8\":%.3f,\"countByteThenWords\":%.3f,\"sink\":%llu}\n",
      n, n / best[0] / 1e9, n / best[1] / 1e9, n / best[2] / 1e9, n / best[3] / 1e9, n / best[4] / 1e9,
      n / (best[0] + best[3]) / 1e9, static_cast<unsigned long long>(sink));
  return 0;
}

// One run of `wc` over a fresh mapping: each thread takes the next chunk.
double WcRun(const char* path, int threads, size_t chunk, bool one_pass, uint64_t* check) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  fstat(fd, &st);
  size_t n = static_cast<size_t>(st.st_size);
  auto t0 = std::chrono::steady_clock::now();
  void* map = mmap(nullptr, n, PROT_READ, MAP_PRIVATE, fd, 0);
  const uint8_t* p = static_cast<const uint8_t*>(map);
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> total{0};
  auto cut = [&](size_t at) -> size_t {  // the first record start at or after `at`
    if (at == 0 || at >= n) return at >= n ? n : 0;
    const void* nl = memchr(p + at - 1, '\n', n - at + 1);
    return nl == nullptr ? n : static_cast<size_t>(static_cast<const uint8_t*>(nl) - p) + 1;
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; t++) {
    pool.emplace_back([&] {
      uint64_t sum = 0;
      for (;;) {
        size_t k = next.fetch_add(1);
        if (k * chunk >= n) break;
        size_t a = cut(k * chunk), b = cut((k + 1) * chunk);
        if (b <= a) continue;
        if (one_pass) {
          pagewise::WcCounts c = pagewise::CountWcUtf8(p + a, b - a);
          sum += c.lines * 1000003 + c.words;
        } else {
          sum += pagewise::CountByte(p + a, b - a, '\n') * 1000003 + pagewise::CountWords(p + a, b - a);
        }
      }
      total += sum;
    });
  }
  for (std::thread& t : pool) t.join();
  munmap(map, n);
  close(fd);
  *check = total;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int BenchWc(const char* path, int threads, size_t chunk, int reps) {
  std::vector<double> times[2];
  uint64_t check[2];
  for (int r = 0; r < reps; r++) {
    for (int k = 0; k < 2; k++) times[k].push_back(WcRun(path, threads, chunk, k == 1, &check[k]));
  }
  for (auto& t : times) std::sort(t.begin(), t.end());
  std::printf("{\"twoPassMedian\":%.4f,\"onePassMedian\":%.4f,\"twoPassBest\":%.4f,\"onePassBest\":%.4f,\"ratio\":%.3f}\n",
              times[0][reps / 2], times[1][reps / 2], times[0][0], times[1][0], times[1][reps / 2] / times[0][reps / 2]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  g_utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", static_cast<locale_t>(0));
  if (g_utf8 == static_cast<locale_t>(0)) {
    std::fprintf(stderr, "no C.UTF-8 locale\n");
    return 2;
  }
  uselocale(g_utf8);  // mbrtowc in RefUtf8
  std::string mode = argc > 1 ? argv[1] : "selftest";
  if (mode == "selftest") return SelfTest(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1, argc > 3 ? std::atoi(argv[3]) : 20000);
  if (mode == "count") return Count(argc, argv);
  if (mode == "csv-ranges" && argc > 2) return CsvRanges(argc, argv);
  if (mode == "bench-words" && argc > 2) return BenchWords(argv[2], argc > 3 ? std::atoi(argv[3]) : 5);
  if (mode == "bench-wc" && argc > 5) {
    return BenchWc(argv[2], std::atoi(argv[3]), static_cast<size_t>(std::atoi(argv[4])) << 20, std::atoi(argv[5]));
  }
  std::fprintf(stderr, "usage: harness selftest [seed] [rounds] | count FILE... | bench-words FILE [reps]\n");
  return 2;
}
