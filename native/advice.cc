// Advice and residency: madvise over the shared mapping, posix_fadvise over
// the file, mincore. The advice names are defined here once and exported as
// constants.madvise / constants.fadvise ({ name: number }); JavaScript passes
// the numbers back. A name the platform lacks maps to -1 and is refused with
// EINVAL, as a bad number is.
#include "pagewise.h"

#include <cerrno>

#include <fcntl.h>
#include <sys/mman.h>

namespace pagewise {
namespace {

struct Named {
  const char* name;
  int value;
};

const Named kMadvise[] = {
    {"normal", MADV_NORMAL},
    {"random", MADV_RANDOM},
    {"sequential", MADV_SEQUENTIAL},
    {"willneed", MADV_WILLNEED},
    {"dontneed", MADV_DONTNEED},
#if defined(__linux__)
    {"populateRead", 22},  // MADV_POPULATE_READ (Linux 5.14+); older kernels say EINVAL
    {"hugepage", 14},      // MADV_HUGEPAGE
#else
    {"populateRead", -1},
    {"hugepage", -1},
#endif
};

#if defined(POSIX_FADV_NORMAL) && !defined(__APPLE__)
const Named kFadvise[] = {
    {"normal", POSIX_FADV_NORMAL},     {"sequential", POSIX_FADV_SEQUENTIAL}, {"random", POSIX_FADV_RANDOM},
    {"willneed", POSIX_FADV_WILLNEED}, {"dontneed", POSIX_FADV_DONTNEED},     {"noreuse", POSIX_FADV_NOREUSE},
};
#else
const Named kFadvise[] = {{"normal", -1}, {"sequential", -1}, {"random", -1}, {"willneed", -1}, {"dontneed", -1}, {"noreuse", -1}};
#endif

template <size_t N>
int Lookup(const Named (&table)[N], int index) {
  return index >= 0 && static_cast<size_t>(index) < N ? table[index].value : -1;
}

template <size_t N>
Napi::Object Table(Napi::Env env, const Named (&table)[N]) {
  Napi::Object o = Napi::Object::New(env);
  for (size_t i = 0; i < N; i++) o.Set(table[i].name, Napi::Number::New(env, static_cast<double>(i)));
  return o;
}

// Clamps [offset, offset + length) to the mapping and widens it to whole pages.
bool PageRange(const Pin& pin, uint64_t offset, uint64_t length, uint64_t* start, uint64_t* len) {
  if (pin.base == nullptr || offset >= pin.size) return false;
  if (length > pin.size - offset) length = pin.size - offset;
  *start = PageDown(offset);
  *len = offset + length - *start;
  return *len > 0;
}

// Advice that lasts (how to read, not what to do now), given for the whole
// mapping, is given to every view made after it as well: each view is a
// mapping of its own.
void RememberForViews(uint32_t id, int advice, uint64_t offset, uint64_t length) {
  bool lasting = advice == MADV_NORMAL || advice == MADV_RANDOM || advice == MADV_SEQUENTIAL || advice == 14;
  if (!lasting || offset != 0) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  Mapping* m = LookupLocked(id);
  if (m == nullptr || length < m->size) return;
#if defined(__linux__)
  if (advice == 14) {
    m->view_hugepage = true;
    return;
  }
#endif
  m->view_advice = advice == MADV_NORMAL ? 0 : advice;
}

// advise(id, offset, length, advice[, step]) -> 0 or an errno. With step > 0
// the range is advised in pieces of `step` bytes: MADV_WILLNEED reads at most
// one readahead window per call.
Napi::Value Advise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0);
  uint64_t offset = ArgU64(info, 1), length = ArgU64(info, 2);
  int advice = Lookup(kMadvise, info[3].As<Napi::Number>().Int32Value());
  uint64_t step = info.Length() > 4 ? ArgU64(info, 4) : 0;
  if (advice < 0) return Napi::Number::New(env, EINVAL);
  int err = 0;
  {
    Pin pin(env, id);
    uint64_t start, len;
    if (!PageRange(pin, offset, length, &start, &len)) return Napi::Number::New(env, 0);
    if (step == 0) step = len;
    step = PageUp(step);
    for (uint64_t at = 0; at < len && err == 0; at += step) {
      uint64_t n = len - at < step ? len - at : step;
      if (madvise(pin.base + start + at, static_cast<size_t>(n), advice) != 0) err = errno;
    }
  }
  if (err == 0) RememberForViews(id, advice, offset, length);
  return Napi::Number::New(env, err);
}

// fadvise(id, offset, length, advice) -> 0 or an errno (ENOSYS where the
// platform has no posix_fadvise).
Napi::Value Fadvise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(POSIX_FADV_NORMAL) && !defined(__APPLE__)
  uint32_t id = ArgU32(info, 0);
  uint64_t offset = ArgU64(info, 1), length = ArgU64(info, 2);
  int advice = Lookup(kFadvise, info[3].As<Napi::Number>().Int32Value());
  if (advice < 0) return Napi::Number::New(env, EINVAL);
  Pin pin(env, id);  // keeps the fd open
  return Napi::Number::New(env, posix_fadvise(pin.fd, static_cast<off_t>(offset), static_cast<off_t>(length), advice));
#else
  return Napi::Number::New(env, ENOSYS);
#endif
}

Napi::Object Residents(Napi::Env env, uint64_t resident, uint64_t pages) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("resident", Napi::Number::New(env, static_cast<double>(resident)));
  o.Set("pages", Napi::Number::New(env, static_cast<double>(pages)));
  return o;
}

// residency(id, offset, length) -> { resident, pages }: how many of the pages
// covering the range are in memory (mincore).
Napi::Value Residency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0);
  uint64_t offset = ArgU64(info, 1), length = ArgU64(info, 2);
  Pin pin(env, id);
  uint64_t start, len;
  if (!PageRange(pin, offset, length, &start, &len)) return Residents(env, 0, 0);
  uint64_t page = PageSize();
  uint64_t pages = (len + page - 1) / page;
  uint64_t resident = 0;
  // mincore in bounded pieces so a huge range does not need a huge vector.
  const uint64_t kBatch = 1 << 16;
  std::vector<unsigned char> vec(static_cast<size_t>(pages < kBatch ? pages : kBatch));
  for (uint64_t p = 0; p < pages; p += kBatch) {
    uint64_t n = pages - p < kBatch ? pages - p : kBatch;
#if defined(__APPLE__)
    char* vp = reinterpret_cast<char*>(vec.data());
#else
    unsigned char* vp = vec.data();
#endif
    if (mincore(pin.base + start + p * page, static_cast<size_t>(n * page), vp) != 0) throw SystemError(env, errno, "mincore", "");
    for (uint64_t i = 0; i < n; i++) resident += vec[i] & 1;
  }
  return Residents(env, resident, pages);
}

}  // namespace

void RegisterAdvice(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  exports.Set("advise", Napi::Function::New(env, Advise, "advise"));
  exports.Set("fadvise", Napi::Function::New(env, Fadvise, "fadvise"));
  exports.Set("residency", Napi::Function::New(env, Residency, "residency"));
  constants.Set("madvise", Table(env, kMadvise));
  constants.Set("fadvise", Table(env, kFadvise));
}

}  // namespace pagewise
