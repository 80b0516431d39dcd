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

// countWords(u8) -> number of maximal runs of bytes other than the six ASCII
// white-space bytes (space, \t, \n, \v, \f, \r): the words of `wc` in the C
// locale. The caller passes whole records so no word spans two calls.
Napi::Value JsCountWords(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  return Napi::Number::New(info.Env(), static_cast<double>(pagewise::CountWords(b.data, b.length)));
}

Napi::Value Flavor(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), pagewise::KernelFlavor()); }

}  // namespace

void RegisterKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("countByte", Napi::Function::New(env, JsCountByte, "countByte"));
  exports.Set("indexOfByte", Napi::Function::New(env, JsIndexOfByte, "indexOfByte"));
  exports.Set("indexOf", Napi::Function::New(env, JsIndexOf, "indexOf"));
  exports.Set("countLinesContaining", Napi::Function::New(env, JsCountLinesContaining, "countLinesContaining"));
  exports.Set("countWords", Napi::Function::New(env, JsCountWords, "countWords"));
  exports.Set("kernelFlavor", Napi::Function::New(env, Flavor, "kernelFlavor"));
}

}  // namespace pagewise
