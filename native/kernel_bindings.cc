// The byte kernels (kernels.cc) as synchronous JavaScript functions over any
// Uint8Array: the N-API wrappers only, no kernel logic.
#include "pagewise.h"

#include "kernels.h"

#include <cstring>

namespace pagewise {
namespace {

struct Bytes {
  const uint8_t* data;
  size_t length;
};

Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i) {
  Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(info.Env(), "expected a Uint8Array");
  Napi::Uint8Array u8 = ta.As<Napi::Uint8Array>();
  return Bytes{u8.Data(), u8.ElementLength()};
}

// [start, end) clamped to the array, from optional arguments at i and i + 1.
void ArgRange(const Napi::CallbackInfo& info, size_t i, size_t length, size_t* start, size_t* end) {
  *start = 0;
  *end = length;
  if (info.Length() > i && info[i].IsNumber()) {
    int64_t s = info[i].As<Napi::Number>().Int64Value();
    *start = s < 0 ? 0 : static_cast<size_t>(s) > length ? length : static_cast<size_t>(s);
  }
  if (info.Length() > i + 1 && info[i + 1].IsNumber()) {
    int64_t e = info[i + 1].As<Napi::Number>().Int64Value();
    *end = e < 0 ? 0 : static_cast<size_t>(e) > length ? length : static_cast<size_t>(e);
  }
  if (*end < *start) *end = *start;
}

// countByte(u8, value[, start, end]) -> number
Napi::Value JsCountByte(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  uint8_t value = static_cast<uint8_t>(info[1].As<Napi::Number>().Uint32Value());
  size_t start, end;
  ArgRange(info, 2, b.length, &start, &end);
  return Napi::Number::New(info.Env(), static_cast<double>(pagewise::CountByte(b.data + start, end - start, value)));
}

// indexOfByte(u8, value[, from, end]) -> index or -1 (memchr)
Napi::Value JsIndexOfByte(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  int value = static_cast<int>(info[1].As<Napi::Number>().Uint32Value() & 0xff);
  size_t start, end;
  ArgRange(info, 2, b.length, &start, &end);
  // An empty array may have no memory at all (data == nullptr), and memchr's
  // pointer must not be null even for 0 bytes (UBSan reports it).
  if (end == start) return Napi::Number::New(info.Env(), -1.0);
  const void* hit = memchr(b.data + start, value, end - start);
  double r = hit == nullptr ? -1.0 : static_cast<double>(static_cast<const uint8_t*>(hit) - b.data);
  return Napi::Number::New(info.Env(), r);
}

// indexOf(u8, needle[, from, end]) -> index or -1 (memmem)
Napi::Value JsIndexOf(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  Bytes needle = ArgBytes(info, 1);
  size_t start, end;
  ArgRange(info, 2, b.length, &start, &end);
  // The empty needle is found where the search starts (as Buffer#indexOf
  // says), even in an array with no memory, where FindBytes would say nullptr.
  if (needle.length == 0) return Napi::Number::New(info.Env(), static_cast<double>(start));
  const uint8_t* hit = pagewise::FindBytes(b.data + start, end - start, needle.data, needle.length);
  return Napi::Number::New(info.Env(), hit == nullptr ? -1.0 : static_cast<double>(hit - b.data));
}

// countLinesContaining(u8, needle, terminator) -> number of records (ended by
// `terminator`, the last one possibly not) that contain `needle`: the grep -c
// kernel. The needle must not contain the terminator (checked in TypeScript).
Napi::Value JsCountLinesContaining(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  Bytes needle = ArgBytes(info, 1);
  uint8_t term = static_cast<uint8_t>(info[2].As<Napi::Number>().Uint32Value() & 0xff);
  if (b.length == 0) return Napi::Number::New(info.Env(), 0);
  uint64_t count = pagewise::CountRecordsContaining(b.data, b.length, needle.data, needle.length, term);
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

// copyLinesContaining(u8, needle, terminator, out) -> [bytes, records]: the
// records of u8 that contain needle, copied into out (at least u8.length + 1
// bytes), each ended by the terminator: grep's line output in one call.
Napi::Value JsCopyLinesContaining(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  Bytes needle = ArgBytes(info, 1);
  uint8_t term = static_cast<uint8_t>(info[2].As<Napi::Number>().Uint32Value() & 0xff);
  Bytes out = ArgBytes(info, 3);
  if (out.length < b.length + 1) throw Napi::RangeError::New(info.Env(), "copyLinesContaining: out must hold the input's length + 1 bytes");
  uint64_t records = 0;
  size_t written = b.length == 0 ? 0 : pagewise::CopyRecordsContaining(b.data, b.length, needle.data, needle.length, term, const_cast<uint8_t*>(out.data), &records);
  Napi::Array r = Napi::Array::New(info.Env(), 2);
  r.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(written)));
  r.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(records)));
  return r;
}

// findLinesContaining(u8, needle, terminator, out, from) -> [records, next]:
// FindRecordsContaining into a Float64Array, three numbers per record.
Napi::Value JsFindLinesContaining(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  Bytes needle = ArgBytes(info, 1);
  uint8_t term = static_cast<uint8_t>(info[2].As<Napi::Number>().Uint32Value() & 0xff);
  Napi::TypedArray ta = info[3].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_float64_array) throw Napi::TypeError::New(info.Env(), "findLinesContaining: out must be a Float64Array");
  Napi::Float64Array out = ta.As<Napi::Float64Array>();
  size_t from, end;
  ArgRange(info, 4, b.length, &from, &end);
  if (needle.length == 0 || memchr(needle.data, term, needle.length) != nullptr) throw Napi::RangeError::New(info.Env(), "findLinesContaining: the needle must be non-empty and hold no terminator");
  size_t next = from;
  size_t records = from >= b.length ? 0 : pagewise::FindRecordsContaining(b.data, b.length, from, needle.data, needle.length, term, out.Data(), out.ElementLength() / 3, &next);
  if (from >= b.length) next = b.length;
  Napi::Array r = Napi::Array::New(info.Env(), 2);
  r.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(records)));
  r.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(next)));
  return r;
}

// countWords(u8) -> number of maximal runs of bytes other than the six ASCII
// white-space bytes (space, \t, \n, \v, \f, \r): the words of `wc` in the C
// locale. The caller passes whole records so no word spans two calls.
Napi::Value JsCountWords(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  return Napi::Number::New(info.Env(), static_cast<double>(pagewise::CountWords(b.data, b.length)));
}

Napi::Value Flavor(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), pagewise::KernelFlavor()); }

uint8_t ArgByte(const Napi::CallbackInfo& info, size_t i, uint8_t fallback) {
  if (info.Length() <= i || !info[i].IsNumber()) return fallback;
  return static_cast<uint8_t>(info[i].As<Napi::Number>().Uint32Value() & 0xff);
}

Napi::Number Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }
Napi::Number Num(Napi::Env env, int64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

// countWcUtf8(u8) -> { lines, words, chars }: GNU wc 9.1's -l -w -m in C.UTF-8.
Napi::Value JsCountWcUtf8(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  pagewise::WcCounts c = pagewise::CountWcUtf8(b.data, b.length);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("lines", Num(info.Env(), c.lines));
  out.Set("words", Num(info.Env(), c.words));
  out.Set("chars", Num(info.Env(), c.chars));
  return out;
}

// countWordsUtf8(u8) -> number
Napi::Value JsCountWordsUtf8(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  return Num(info.Env(), pagewise::CountWordsUtf8(b.data, b.length));
}

// countCharsUtf8(u8) -> number
Napi::Value JsCountCharsUtf8(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  return Num(info.Env(), pagewise::CountCharsUtf8(b.data, b.length));
}

}  // namespace

void CsvFirstPassNumbers(const CsvFirstPass& s, double base, double* out) {
  auto at = [base](int64_t v) { return v < 0 ? -1.0 : base + static_cast<double>(v); };
  out[0] = static_cast<double>(s.quotes);
  out[1] = at(s.newline_even);
  out[2] = at(s.newline_odd);
  out[3] = at(s.bad_even);
  out[4] = static_cast<double>(s.bad_even_kind);
  out[5] = at(s.bad_odd);
  out[6] = static_cast<double>(s.bad_odd_kind);
  out[7] = at(s.open_even);
  out[8] = at(s.open_odd);
}

namespace {

// csvSummaryChecked(u8, from, to, quote, delimiter, base, out, at): the first
// pass's summary of u8[from, to) into out[at, at + 9) (a Float64Array), file
// offsets (base: the file offset of u8[0]); the same call as summarizeCsv
// (src/csv/scan.ts), whose rules for the bytes around the range hold.
Napi::Value JsCsvSummaryChecked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes b = ArgBytes(info, 0);
  int64_t from = info[1].As<Napi::Number>().Int64Value(), to = info[2].As<Napi::Number>().Int64Value();
  if (from < 0 || to < from || static_cast<uint64_t>(to) > b.length) throw Napi::RangeError::New(env, "csvSummaryChecked: bad range");
  Napi::TypedArray ta = info[6].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_float64_array) throw Napi::TypeError::New(env, "csvSummaryChecked: out must be a Float64Array");
  Napi::Float64Array out = ta.As<Napi::Float64Array>();
  int64_t at = info[7].As<Napi::Number>().Int64Value();
  if (at < 0 || static_cast<uint64_t>(at) + kCsvFirstPassNumbers > out.ElementLength()) throw Napi::RangeError::New(env, "csvSummaryChecked: out is too short");
  pagewise::CsvFirstPass s = pagewise::CsvSummaryChecked(b.data, b.length, static_cast<size_t>(from), static_cast<size_t>(to),
                                                         ArgByte(info, 3, '"'), ArgByte(info, 4, ','));
  CsvFirstPassNumbers(s, info[5].As<Napi::Number>().DoubleValue(), out.Data() + at);
  return env.Undefined();
}

// csvRecordStart(u8, quote, odd, from) -> offset or -1
Napi::Value JsCsvRecordStart(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  bool odd = info.Length() > 2 && info[2].ToBoolean().Value();
  int64_t from = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : 0;
  if (from < 0) from = 0;
  return Num(info.Env(), pagewise::CsvRecordStart(b.data, b.length, ArgByte(info, 1, '"'), odd, static_cast<size_t>(from)));
}

// csvCountRecords(u8, quote, odd) -> number of '\n' outside quotes
Napi::Value JsCsvCountRecords(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  bool odd = info.Length() > 2 && info[2].ToBoolean().Value();
  return Num(info.Env(), pagewise::CsvCountRecords(b.data, b.length, ArgByte(info, 1, '"'), odd));
}

// utf8TableSource() -> e.g. "glibc 2.36 C.UTF-8 (Unicode 14.0.0)", for `pagewise info`.
Napi::Value JsUtf8TableSource(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), pagewise::Utf8TableSource()); }


}  // namespace

void RegisterKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("countByte", Napi::Function::New(env, JsCountByte, "countByte"));
  exports.Set("indexOfByte", Napi::Function::New(env, JsIndexOfByte, "indexOfByte"));
  exports.Set("indexOf", Napi::Function::New(env, JsIndexOf, "indexOf"));
  exports.Set("countLinesContaining", Napi::Function::New(env, JsCountLinesContaining, "countLinesContaining"));
  exports.Set("copyLinesContaining", Napi::Function::New(env, JsCopyLinesContaining, "copyLinesContaining"));
  exports.Set("findLinesContaining", Napi::Function::New(env, JsFindLinesContaining, "findLinesContaining"));
  exports.Set("countWords", Napi::Function::New(env, JsCountWords, "countWords"));
  exports.Set("kernelFlavor", Napi::Function::New(env, Flavor, "kernelFlavor"));
  exports.Set("countWcUtf8", Napi::Function::New(env, JsCountWcUtf8, "countWcUtf8"));
  exports.Set("countWordsUtf8", Napi::Function::New(env, JsCountWordsUtf8, "countWordsUtf8"));
  exports.Set("countCharsUtf8", Napi::Function::New(env, JsCountCharsUtf8, "countCharsUtf8"));
  exports.Set("csvSummaryChecked", Napi::Function::New(env, JsCsvSummaryChecked, "csvSummaryChecked"));
  exports.Set("csvRecordStart", Napi::Function::New(env, JsCsvRecordStart, "csvRecordStart"));
  exports.Set("csvCountRecords", Napi::Function::New(env, JsCsvCountRecords, "csvCountRecords"));
  exports.Set("utf8TableSource", Napi::Function::New(env, JsUtf8TableSource, "utf8TableSource"));
}

}  // namespace pagewise
