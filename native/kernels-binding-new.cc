// Node-API bindings for the kernels added to native/kernels.h (UTF-8 wc
// counts, CSV quote parity). Not built yet: binding.gyp does not list this
// file. To wire it in, add "native/kernels-binding-new.cc" to the target's
// sources and call pagewise_binding::RegisterKernelBindings(env, exports)
// from the module's Init. The functions take the same argument shapes as the
// existing countByte/countWords bindings; arguments are checked in
// TypeScript first (src/native.ts), as for the others.
//
// The async scan (ScanWorker in pagewise.cc) should gain these ops, each
// appending its results to the counts array in order (so an op may yield
// more than one number; today every op yields one):
//   3 countWcUtf8       -> lines, words, chars   (CountWcUtf8)
//   4 countWordsUtf8    -> words                 (CountWordsUtf8)
//   5 countCharsUtf8    -> chars                 (CountCharsUtf8)
//   6 csvChunkSummary   -> quotes, firstNewlineEven, firstNewlineOdd  (byte = quote)
//   7 csvCheckQuotes    -> offset, kind          (byte = quote, needle[0] = delimiter)
#include <napi.h>

#include "kernels.h"

namespace pagewise_binding {
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

uint8_t ArgByte(const Napi::CallbackInfo& info, size_t i, uint8_t fallback) {
  if (info.Length() <= i || !info[i].IsNumber()) return fallback;
  return static_cast<uint8_t>(info[i].As<Napi::Number>().Uint32Value() & 0xff);
}

Napi::Number Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }
Napi::Number Num(Napi::Env env, int64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

// countWcUtf8(u8) -> { lines, words, chars }: GNU wc 9.1's -l -w -m in C.UTF-8.
Napi::Value CountWcUtf8(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  pagewise::WcCounts c = pagewise::CountWcUtf8(b.data, b.length);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("lines", Num(info.Env(), c.lines));
  out.Set("words", Num(info.Env(), c.words));
  out.Set("chars", Num(info.Env(), c.chars));
  return out;
}

// countWordsUtf8(u8) -> number
Napi::Value CountWordsUtf8(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  return Num(info.Env(), pagewise::CountWordsUtf8(b.data, b.length));
}

// countCharsUtf8(u8) -> number
Napi::Value CountCharsUtf8(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  return Num(info.Env(), pagewise::CountCharsUtf8(b.data, b.length));
}

// csvChunkSummary(u8[, quote = 0x22]) -> { quotes, firstNewlineEven, firstNewlineOdd }
Napi::Value CsvChunkSummary(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  pagewise::CsvSummary s = pagewise::CsvChunkSummary(b.data, b.length, ArgByte(info, 1, '"'));
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("quotes", Num(info.Env(), s.quotes));
  out.Set("firstNewlineEven", Num(info.Env(), s.first_newline_even));
  out.Set("firstNewlineOdd", Num(info.Env(), s.first_newline_odd));
  return out;
}

// csvRecordStart(u8, quote, odd, from) -> offset or -1
Napi::Value CsvRecordStart(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  bool odd = info.Length() > 2 && info[2].ToBoolean().Value();
  int64_t from = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : 0;
  if (from < 0) from = 0;
  return Num(info.Env(), pagewise::CsvRecordStart(b.data, b.length, ArgByte(info, 1, '"'), odd, static_cast<size_t>(from)));
}

// csvCountRecords(u8, quote, odd) -> number of '\n' outside quotes
Napi::Value CsvCountRecords(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  bool odd = info.Length() > 2 && info[2].ToBoolean().Value();
  return Num(info.Env(), pagewise::CsvCountRecords(b.data, b.length, ArgByte(info, 1, '"'), odd));
}

// csvCheckQuotes(u8[, quote = 0x22, delimiter = 0x2c]) -> { offset, kind }
Napi::Value CsvCheckQuotes(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  pagewise::CsvQuoteError e = pagewise::CsvCheckQuotes(b.data, b.length, ArgByte(info, 1, '"'), ArgByte(info, 2, ','));
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("offset", Num(info.Env(), e.offset));
  out.Set("kind", Napi::Number::New(info.Env(), static_cast<int>(e.kind)));
  return out;
}

// utf8TableSource() -> e.g. "glibc 2.36 C.UTF-8 (Unicode 14.0.0)", for `pagewise info`.
Napi::Value Utf8TableSource(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), pagewise::Utf8TableSource()); }

}  // namespace

void RegisterKernelBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("countWcUtf8", Napi::Function::New(env, CountWcUtf8, "countWcUtf8"));
  exports.Set("countWordsUtf8", Napi::Function::New(env, CountWordsUtf8, "countWordsUtf8"));
  exports.Set("countCharsUtf8", Napi::Function::New(env, CountCharsUtf8, "countCharsUtf8"));
  exports.Set("csvChunkSummary", Napi::Function::New(env, CsvChunkSummary, "csvChunkSummary"));
  exports.Set("csvRecordStart", Napi::Function::New(env, CsvRecordStart, "csvRecordStart"));
  exports.Set("csvCountRecords", Napi::Function::New(env, CsvCountRecords, "csvCountRecords"));
  exports.Set("csvCheckQuotes", Napi::Function::New(env, CsvCheckQuotes, "csvCheckQuotes"));
  exports.Set("utf8TableSource", Napi::Function::New(env, Utf8TableSource, "utf8TableSource"));
}

}  // namespace pagewise_binding
