// Byte kernels: the few hot scans JavaScript cannot do fast. Each has a
// portable version and, on x86-64, an AVX2 version chosen at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pagewise {

// Number of bytes equal to `value` in [p, p + n).
uint64_t CountByte(const uint8_t* p, size_t n, uint8_t value);

// First occurrence of needle[0, m) in hay[0, n), or nullptr. m == 0 → hay.
const uint8_t* FindBytes(const uint8_t* hay, size_t n, const uint8_t* needle, size_t m);

// Number of maximal runs of bytes other than the six ASCII white-space bytes
// (space, \t, \n, \v, \f, \r). Kept until `wc` uses CountWcUtf8.
uint64_t CountWords(const uint8_t* p, size_t n);

// GNU wc 9.1's counts in the C.UTF-8 locale (docs/decisions.md, "wc"), for
// whole records (no character or word spans two calls when the caller cuts
// after a '\n'). Characters (-m): what glibc's UTF-8 decoder accepts, 5- and
// 6-byte forms included; a byte that starts no complete, well-formed sequence
// is not one. Words (-w): a word starts at a printable non-space character
// that follows a separator (an ASCII space, a printable Unicode space or one
// of U+00A0 U+2007 U+202F U+2060) or the start, with only non-printable
// characters or skipped bytes between: those neither start nor end a word.
uint64_t CountWordsUtf8(const uint8_t* p, size_t n);
uint64_t CountCharsUtf8(const uint8_t* p, size_t n);
// Lines ('\n' bytes), words and characters in one pass: `wc` needs one read
// of each chunk instead of one per count.
struct WcCounts {
  uint64_t lines;
  uint64_t words;
  uint64_t chars;
};
WcCounts CountWcUtf8(const uint8_t* p, size_t n);
// Where the character classes come from, e.g. "glibc 2.36 C.UTF-8 (Unicode 14.0.0)".
const char* Utf8TableSource();

// CSV record boundaries by quote parity (docs/decisions.md, "CSV"): a '\n'
// ends a record when an even number of `quote` bytes precede it in the file.
// The strict rules the CSV field walker applies: a quote opens a field only
// as the field's first byte (or as the second of a doubled quote); a closing
// quote is followed by the delimiter, another quote (a doubled quote), '\n',
// "\r\n", or the end (bare or after '\r').
enum CsvQuoteErrorKind : int {
  kCsvQuotesOk = 0,
  kCsvQuoteInUnquotedField = 1,   // offset: the quote
  kCsvTextAfterClosingQuote = 2,  // offset: the closing quote
  kCsvUnterminatedQuote = 3,      // offset: the opening quote
};

// The first pass's summary of one range (src/csv/scan.ts, SUMMARY, same
// order): parity and the strict checks under both states the range may start
// in, in one read. Whether a quote obeys the rules depends on its neighbours
// and on whether it opens or closes; the quotes that open under one state
// close under the other. Offsets are from p; -1 means none.
struct CsvFirstPass {
  uint64_t quotes;       // quote bytes in the range
  int64_t newline_even;  // first '\n' with an even number of the range's quotes before it
  int64_t newline_odd;   // first '\n' with an odd number
  int64_t bad_even;      // first quote that breaks the rules if the range starts outside quotes
  CsvQuoteErrorKind bad_even_kind;
  int64_t bad_odd;  // the same if it starts inside a quoted field
  CsvQuoteErrorKind bad_odd_kind;
  int64_t open_even;  // the range's last quote that opens a field (not a doubled one) under the even state
  int64_t open_odd;   // under the odd state
};

// CsvFirstPass of [from, to) in p[0, n), as summarizeCsv makes it: p[from - 1]
// is the byte before the range (from == 0: the start of the input, where a
// field starts), and p[to, n) the bytes after it, at least two unless the
// input ends at n (what follows a closing quote at the range's end).
CsvFirstPass CsvSummaryChecked(const uint8_t* p, size_t n, size_t from, size_t to, uint8_t quote, uint8_t delimiter);

// The first record start x with max(from, 1) <= x <= n: p[x - 1] is a '\n'
// outside quotes, given `odd`, the quote parity at p (true: inside a quoted
// field). -1 when there is none.
int64_t CsvRecordStart(const uint8_t* p, size_t n, uint8_t quote, bool odd, size_t from);

// Number of '\n' outside quotes in [p, p + n), given the parity at p.
uint64_t CsvCountRecords(const uint8_t* p, size_t n, uint8_t quote, bool odd);

// Number of records (each ended by `terminator`, the last one possibly not)
// in [p, p + n) that contain needle[0, m): the grep -c kernel. Find the next
// hit, count it, skip past its record's end. The needle must not contain the
// terminator; an empty needle counts every record.
uint64_t CountRecordsContaining(const uint8_t* p, size_t n, const uint8_t* needle, size_t m, uint8_t terminator);

// Copies the records of [p, p + n) that contain needle[0, m) to `out`, in
// order, each ended by `terminator` (one is added to a last record without
// it): grep's line output. `out` must hold n + 1 bytes. Returns the bytes
// written; `*records` gets how many records were copied. Runs of adjacent
// records are copied at once. The needle must not contain the terminator.
size_t CopyRecordsContaining(const uint8_t* p, size_t n, const uint8_t* needle, size_t m, uint8_t terminator, uint8_t* out, uint64_t* records);

// The records of [p + from, p + n) that contain needle[0, m), at most `cap` of
// them: for the k-th, out[3k] its start, out[3k + 1] its end (past its
// terminator), out[3k + 2] the terminators in [p + from, start) (its line
// index from `from`). `*next` gets where to go on. Returns how many: grep -n
// and context lines, without a call per line. The needle must not be empty
// nor contain the terminator.
size_t FindRecordsContaining(const uint8_t* p, size_t n, size_t from, const uint8_t* needle, size_t m, uint8_t terminator, double* out, size_t cap, size_t* next);

// Which versions of the kernels run on this CPU: "avx2" or "portable".
const char* KernelFlavor();

}  // namespace pagewise
