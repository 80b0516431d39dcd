// Errors raised by the addon, shaped as src/errors.ts expects: OS errors like
// Node's fs errors, pagewise's own with a stable ERR_PAGEWISE_* code. Also the
// argument readers every binding shares.
#include "pagewise.h"

#include <cerrno>
#include <cstring>

#include <unistd.h>

namespace pagewise {

// A table, not glibc's strerrorname_np: that is GLIBC_2.32, newer than the
// baseline the prebuilt addons keep (see scripts/prebuild.mjs).
const char* ErrnoName(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EEXIST: return "EEXIST";
    case EISDIR: return "EISDIR";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENODEV: return "ENODEV";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOTDIR: return "ENOTDIR";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EBUSY: return "EBUSY";
    case EFAULT: return "EFAULT";
    case EFBIG: return "EFBIG";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case ENOTSUP: return "ENOTSUP";
    case ENXIO: return "ENXIO";
    case EOVERFLOW: return "EOVERFLOW";
    case EROFS: return "EROFS";
    case ESPIPE: return "ESPIPE";
    case ETXTBSY: return "ETXTBSY";
    case EDQUOT: return "EDQUOT";
    default: return "EUNKNOWN";
  }
}

// Message "CODE: text, syscall 'path'", as Node's fs errors read.
Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const std::string& path) {
  std::string message = std::string(ErrnoName(err)) + ": " + strerror(err) + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  return e;
}

Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i) {
  // Offsets are 64-bit; JavaScript numbers carry them exactly up to 2^53.
  return static_cast<uint64_t>(info[i].As<Napi::Number>().Int64Value());
}

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Uint32Value(); }

uint64_t PageSize() {
  static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace pagewise
