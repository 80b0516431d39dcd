// Writable mappings: create a file with its space reserved, flush written
// ranges to disk, resize. A writable handle has a MAP_SHARED read-write
// mapping of its own (never shared with read-only handles), and its views
// are MAP_SHARED too, so writes reach the file.
#include "pagewise.h"

#include <cerrno>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pagewise {
namespace {

// Space for [offset, offset + length) now, so that a full disk is ENOSPC
// here and never a SIGBUS on a later write. Returns an errno or 0.
int Reserve(int fd, uint64_t offset, uint64_t length) {
  if (length == 0) return 0;
#if defined(__APPLE__)
  (void)fd;
  (void)offset;
  return 0;  // no posix_fallocate: space is allocated as pages are written
#else
  return posix_fallocate(fd, static_cast<off_t>(offset), static_cast<off_t>(length));
#endif
}

Napi::Error ReadOnly(Napi::Env env, const std::string& path) {
  return CodedError(env, "ERR_PAGEWISE_READ_ONLY", "'" + path + "' is mapped read-only");
}

// create(path, size, overwrite) -> open()'s description of a writable mapping.
// The file must not exist unless `overwrite`; on any failure no file is left.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.find('\0') != std::string::npos) throw CodedError(env, "ERR_PAGEWISE_INVALID_OPTION", "path must not contain NUL bytes");
  uint64_t size = ArgU64(info, 1);
  bool overwrite = info.Length() > 2 && info[2].ToBoolean().Value();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL), 0666);
  if (fd < 0) throw SystemError(env, errno, "open", path);
  int err = Reserve(fd, 0, size);
  if (err == 0 && size > 0) {
    struct stat st;
    // posix_fallocate grows the file; on a system without it, ftruncate does.
    if (fstat(fd, &st) != 0) err = errno;
    else if (static_cast<uint64_t>(st.st_size) < size && ftruncate(fd, static_cast<off_t>(size)) != 0) err = errno;
  }
  if (err != 0) {
    unlink(path.c_str());
    close(fd);
    throw SystemError(env, err, "posix_fallocate", path);
  }
  try {
    return MapFile(env, fd, path, Access::kWrite);
  } catch (...) {
    unlink(path.c_str());
    throw;
  }
}

// flush(id, offset, length): msync(MS_SYNC) of the pages covering the range.
// Throws the error (EIO, ENOSPC, ...) with its code; after one, the written
// range must be taken as lost (Linux may drop pages it failed to write).
Napi::Value Flush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0);
  uint64_t offset = ArgU64(info, 1), length = ArgU64(info, 2);
  int err = 0;
  {
    Pin pin(env, id);
    if (!pin.writable) {
      std::lock_guard<std::mutex> lock(g_mutex);
      throw ReadOnly(env, FindLocked(env, id)->path);
    }
    if (pin.base == nullptr || offset >= pin.size || length == 0) return env.Undefined();
    if (length > pin.size - offset) length = pin.size - offset;
    uint64_t start = PageDown(offset);
    if (msync(pin.base + start, static_cast<size_t>(offset + length - start), MS_SYNC) != 0) err = errno;
  }
  if (err != 0) {
    std::lock_guard<std::mutex> lock(g_mutex);
    Mapping* m = LookupLocked(id);
    throw SystemError(env, err, "msync", m != nullptr ? m->path : "");
  }
  return env.Undefined();
}

// Changes the file's size and the mapping's to `size`; returns an errno or 0
// and the syscall that failed. The mapping is left as it was on failure.
int ResizeFile(int fd, uint8_t** base, uint64_t old_size, uint64_t size, const char** syscall) {
  *syscall = "ftruncate";
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) return errno;
  if (size > old_size) {
    int err = Reserve(fd, old_size, size - old_size);
    if (err != 0) {
      *syscall = "posix_fallocate";
      if (ftruncate(fd, static_cast<off_t>(old_size)) != 0) {
        // Nothing better to do: the error reported is the allocation's.
      }
      return err;
    }
  }
  *syscall = "mmap";
  if (size == 0) {
    if (*base != nullptr) munmap(*base, static_cast<size_t>(old_size));
    *base = nullptr;
    return 0;
  }
  void* p;
  if (*base == nullptr) {
    p = mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  } else {
#if defined(__linux__)
    *syscall = "mremap";
    p = mremap(*base, static_cast<size_t>(old_size), static_cast<size_t>(size), MREMAP_MAYMOVE);
#else
    p = mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) munmap(*base, static_cast<size_t>(old_size));
#endif
  }
  if (p == MAP_FAILED) return errno;
  *base = static_cast<uint8_t*>(p);
  return 0;
}

// resize(id, size): grows (reserving the space) or shrinks a writable file and
// remaps it. Every view of it made on this thread is detached first; views
// made on other threads, or a native call in flight, make it ERR_PAGEWISE_BUSY.
Napi::Value Resize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0);
  uint64_t size = ArgU64(info, 1);
  std::vector<std::pair<uint64_t, napi_ref>> views;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    Mapping* m = FindLocked(env, id);
    if (m->access != Access::kWrite) throw ReadOnly(env, m->path);
    if (m->opens == 0) throw CodedError(env, "ERR_PAGEWISE_CLOSED", "mapping " + std::to_string(id) + " is closed");
    if (m->resizing || m->pins != 0 || !ViewsOfLocked(env, m, &views)) {
      throw CodedError(env, "ERR_PAGEWISE_BUSY", "'" + m->path + "' has views on other threads or native calls in flight");
    }
  }
  // Outside the lock: V8 may release backing stores as they are detached.
  for (auto& view : views) {
    napi_value value = nullptr;
    if (view.second != nullptr && napi_get_reference_value(env, view.second, &value) == napi_ok && value != nullptr) {
      Napi::ArrayBuffer ab(env, value);
      if (!ab.IsDetached()) ab.Detach();
    }
  }
  int fd;
  uint8_t* base;
  uint64_t old_size;
  std::vector<ViewRange> ranges;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (auto& view : views) ranges.push_back(ForgetViewLocked(view.first, env));
    Mapping* m = FindLocked(env, id);
    if (m->views != 0 || m->pins != 0) {
      for (ViewRange r : ranges) UnmapView(r);
      throw CodedError(env, "ERR_PAGEWISE_BUSY", "'" + m->path + "' got views on other threads during resize");
    }
    m->resizing = true;
    m->pins++;
    faults::Clear(m->slot);  // nobody reads it meanwhile: no new pins or views
    fd = m->fd;
    base = m->base;
    old_size = m->size;
  }
  for (ViewRange r : ranges) UnmapView(r);
  const char* syscall = "";
  int err = ResizeFile(fd, &base, old_size, size, &syscall);
  std::string path;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    Mapping* m = LookupLocked(id);  // pinned: still there
    if (err == 0) {
      m->base = base;
      m->size = size;
    }
    if (m->base != nullptr) {
      faults::Publish(m->slot, reinterpret_cast<uintptr_t>(m->base), reinterpret_cast<uintptr_t>(m->base) + m->size, true, m->slot);
    }
    m->resizing = false;
    m->pins--;
    path = m->path;
    ReleaseIfUnusedLocked(m);
  }
  if (err != 0) throw SystemError(env, err, syscall, path);
  return env.Undefined();
}

}  // namespace

void RegisterWritable(Napi::Env env, Napi::Object exports) {
  exports.Set("create", Napi::Function::New(env, Create, "create"));
  exports.Set("flush", Napi::Function::New(env, Flush, "flush"));
  exports.Set("resize", Napi::Function::New(env, Resize, "resize"));
}

}  // namespace pagewise
