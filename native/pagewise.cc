// pagewise native addon: map a file once per process, hand out zero-copy views
// of it to any thread, pass advice to the kernel, and run the few byte kernels
// JavaScript cannot do fast. No job logic lives here; argument checks happen in
// TypeScript (src/native.ts) before these functions are called.
//
// Lifetime model: a Mapping is shared by every thread of the process (worker
// threads share the address space). It is keyed by (device, inode) and has two
// counters under one mutex: `opens` (handles held by JavaScript) and `views`
// (external ArrayBuffers not yet finalized). The memory is unmapped only when
// both reach zero, so no view reachable from JavaScript can point at freed
// memory; detach() empties a view at once so the engine can drop its count
// without waiting for the garbage collector.

#include <napi.h>

#include "kernels.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

// ---------------------------------------------------------------- registry --

struct Mapping {
  uint32_t id = 0;
  int fd = -1;
  uint8_t* base = nullptr;  // nullptr for a 0-byte file: nothing is mapped
  uint64_t size = 0;        // size at open time; the mapping's length
  uint64_t dev = 0;
  uint64_t ino = 0;
  std::string path;
  uint32_t opens = 0;
  uint64_t views = 0;
  int slot = -1;  // index into g_fault_slots, or -1
};

std::mutex g_mutex;
std::unordered_map<uint32_t, Mapping*> g_by_id;
std::uint32_t g_next_id = 1;

// The SIGBUS handler must not take locks or allocate, so the address ranges it
// checks live in a fixed table of atomics, written under g_mutex and read
// lock-free by the handler.
constexpr int kMaxSlots = 4096;
struct FaultSlot {
  std::atomic<uintptr_t> start{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<uint64_t> faults{0};
};
FaultSlot g_fault_slots[kMaxSlots];
long g_page_size = 0;

struct sigaction g_previous_sigbus;
std::once_flag g_sigbus_once;

// A read from a page of a mapped file past the file's current end raises
// SIGBUS (the file shrank after it was mapped). For addresses inside one of our
// mappings we map an anonymous zero page over the faulting page and count the
// fault; the faulting load is then retried and reads zeros. The engine sees the
// count and fails the run with ERR_PAGEWISE_FILE_TRUNCATED, so the zeros are
// never reported as data. Nothing here longjmps across V8 frames.
void OnSigbus(int sig, siginfo_t* info, void* context) {
  uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (int i = 0; i < kMaxSlots; i++) {
    uintptr_t start = g_fault_slots[i].start.load(std::memory_order_acquire);
    if (start == 0 || addr < start) continue;
    uintptr_t end = g_fault_slots[i].end.load(std::memory_order_acquire);
    if (addr >= end) continue;
    uintptr_t page = addr & ~static_cast<uintptr_t>(g_page_size - 1);
    void* p = mmap(reinterpret_cast<void*>(page), static_cast<size_t>(g_page_size), PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) break;  // cannot repair: fall through to the default action
    g_fault_slots[i].faults.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Not ours: hand it to whoever was installed before us.
  if (g_previous_sigbus.sa_flags & SA_SIGINFO) {
    if (g_previous_sigbus.sa_sigaction != nullptr) {
      g_previous_sigbus.sa_sigaction(sig, info, context);
      return;
    }
  } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
    g_previous_sigbus.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting access repeats and
  // the process dies of SIGBUS as it would have without us.
  signal(SIGBUS, SIG_DFL);
}

void InstallSigbusHandler() {
  std::call_once(g_sigbus_once, [] {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &g_previous_sigbus);
  });
}

// ------------------------------------------------------------------ errors --

// A table, not glibc's strerrorname_np: that is GLIBC_2.32, newer than the
// baseline the prebuilt addons keep (see scripts/prebuild.mjs).
const char* ErrnoName(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
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
    default: return "EUNKNOWN";
  }
}

// An Error shaped like Node's fs errors: message "CODE: text, syscall 'path'",
// with code, errno (negative, as Node reports it), syscall and path.
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

// ---------------------------------------------------------------- helpers --

uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i) {
  // Offsets are 64-bit; JavaScript numbers carry them exactly up to 2^53.
  return static_cast<uint64_t>(info[i].As<Napi::Number>().Int64Value());
}

// Caller holds g_mutex.
Mapping* FindLocked(Napi::Env env, uint32_t id) {
  auto it = g_by_id.find(id);
  if (it == g_by_id.end()) throw CodedError(env, "ERR_PAGEWISE_CLOSED", "mapping " + std::to_string(id) + " is closed");
  return it->second;
}

// Caller holds g_mutex. Unmaps and forgets a mapping nobody uses any more.
void ReleaseIfUnusedLocked(Mapping* m) {
  if (m->opens != 0 || m->views != 0) return;
  if (m->slot >= 0) {
    // Clear the slot before munmap so the handler never claims a range that
    // the kernel may hand to someone else.
    g_fault_slots[m->slot].start.store(0, std::memory_order_release);
    g_fault_slots[m->slot].end.store(0, std::memory_order_release);
  }
  if (m->base != nullptr) munmap(m->base, static_cast<size_t>(m->size));
  if (m->fd >= 0) close(m->fd);
  g_by_id.erase(m->id);
  delete m;
}

// Holds a mapping in place (as a view would) while native code reads it
// without the mutex, so a concurrent close() cannot unmap it mid-call.
class Pin {
 public:
  Pin(Napi::Env env, uint32_t id) : id_(id) {
    std::lock_guard<std::mutex> lock(g_mutex);
    Mapping* m = FindLocked(env, id);
    base = m->base;
    size = m->size;
    opens = m->opens;
    m->views++;
  }
  ~Pin() {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_by_id.find(id_);
    if (it != g_by_id.end()) {
      it->second->views--;
      ReleaseIfUnusedLocked(it->second);
    }
  }
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;
  uint8_t* base = nullptr;
  uint64_t size = 0;
  uint32_t opens = 0;  // handles at pin time; 0: only views keep it mapped

 private:
  uint32_t id_;
};

struct ViewHint {
  uint32_t id;
};

void FinalizeView(Napi::Env, void*, ViewHint* hint) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_by_id.find(hint->id);
  if (it != g_by_id.end()) {
    Mapping* m = it->second;
    if (m->views > 0) m->views--;
    ReleaseIfUnusedLocked(m);
  }
  delete hint;
}

Napi::Object Describe(Napi::Env env, const Mapping* m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", Napi::Number::New(env, m->id));
  o.Set("size", Napi::Number::New(env, static_cast<double>(m->size)));
  o.Set("dev", Napi::Number::New(env, static_cast<double>(m->dev)));
  o.Set("ino", Napi::Number::New(env, static_cast<double>(m->ino)));
  o.Set("opens", Napi::Number::New(env, m->opens));
  return o;
}

// ------------------------------------------------------------- functions --

// open(path) -> { id, size, dev, ino, opens }
// Opens a regular file read-only and maps it whole, or shares the mapping
// this process already has for the same (device, inode).
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw SystemError(env, errno, "open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    throw SystemError(env, err, "fstat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    Napi::Error e = CodedError(env, "ERR_PAGEWISE_NOT_REGULAR_FILE", "not a regular file: '" + path + "'");
    e.Set("path", Napi::String::New(env, path));
    e.Set("isDirectory", Napi::Boolean::New(env, S_ISDIR(st.st_mode)));
    throw e;
  }

  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& kv : g_by_id) {
    Mapping* m = kv.second;
    if (m->opens > 0 && m->dev == static_cast<uint64_t>(st.st_dev) && m->ino == static_cast<uint64_t>(st.st_ino)) {
      close(fd);
      m->opens++;
      return Describe(env, m);
    }
  }

  Mapping* m = new Mapping();
  m->fd = fd;
  m->size = static_cast<uint64_t>(st.st_size);
  m->dev = static_cast<uint64_t>(st.st_dev);
  m->ino = static_cast<uint64_t>(st.st_ino);
  m->path = path;
  // A 0-byte file is not mapped: mmap(len = 0) fails with EINVAL, and there
  // is nothing to view. Views of it have length 0.
  if (m->size > 0) {
    void* p = mmap(nullptr, static_cast<size_t>(m->size), PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      close(fd);
      delete m;
      throw SystemError(env, err, "mmap", path);
    }
    m->base = static_cast<uint8_t*>(p);
    for (int i = 0; i < kMaxSlots; i++) {
      if (g_fault_slots[i].start.load(std::memory_order_relaxed) == 0) {
        g_fault_slots[i].faults.store(0, std::memory_order_relaxed);
        g_fault_slots[i].end.store(reinterpret_cast<uintptr_t>(m->base) + m->size, std::memory_order_release);
        g_fault_slots[i].start.store(reinterpret_cast<uintptr_t>(m->base), std::memory_order_release);
        m->slot = i;
        break;
      }
    }
  }
  m->id = g_next_id++;
  m->opens = 1;
  g_by_id[m->id] = m;
  return Describe(env, m);
}

// close(id) -> boolean: true when this was the last handle. The memory goes
// away once the last view is detached or collected as well.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_by_id.find(id);
  if (it == g_by_id.end() || it->second->opens == 0) return Napi::Boolean::New(env, false);
  Mapping* m = it->second;
  m->opens--;
  bool last = m->opens == 0;
  ReleaseIfUnusedLocked(m);
  return Napi::Boolean::New(env, last);
}

// view(id, offset, length) -> Uint8Array over the mapping's own pages.
Napi::Value View(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  uint64_t offset = ArgU64(info, 1);
  uint64_t length = ArgU64(info, 2);
  uint8_t* data = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    Mapping* m = FindLocked(env, id);
    if (m->opens == 0) throw CodedError(env, "ERR_PAGEWISE_CLOSED", "mapping " + std::to_string(id) + " is closed");
    if (offset > m->size || length > m->size - offset) {
      throw Napi::RangeError::New(env, "view [" + std::to_string(offset) + ", " + std::to_string(offset + length) +
                                           ") is outside the mapping of " + std::to_string(m->size) + " bytes");
    }
    if (length == 0) {
      Napi::ArrayBuffer empty = Napi::ArrayBuffer::New(env, 0);
      return Napi::Uint8Array::New(env, 0, empty, 0);
    }
    data = m->base + offset;
    m->views++;
  }
  ViewHint* hint = new ViewHint{id};
  Napi::ArrayBuffer ab;
  try {
    ab = Napi::ArrayBuffer::New(env, data, static_cast<size_t>(length), FinalizeView, hint);
  } catch (...) {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_by_id.find(id);
    if (it != g_by_id.end()) {
      it->second->views--;
      ReleaseIfUnusedLocked(it->second);
    }
    delete hint;
    throw;
  }
  return Napi::Uint8Array::New(env, static_cast<size_t>(length), ab, 0);
}

// detach(u8): empties a view (byteLength becomes 0) so that nothing kept by a
// job can read the mapping after its task. The view's count is dropped by
// its finalizer, which Node runs once the backing store is released.
Napi::Value Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer ab = info[0].As<Napi::TypedArray>().ArrayBuffer();
  if (!ab.IsDetached() && ab.ByteLength() > 0) ab.Detach();
  return env.Undefined();
}

// Shared by advise/fadvise/residency: clamp [offset, offset + length) to the
// mapping and widen it to whole pages.
bool PageRange(const Pin& pin, uint64_t offset, uint64_t length, uint64_t* start, uint64_t* len) {
  if (pin.base == nullptr || offset >= pin.size) return false;
  if (length > pin.size - offset) length = pin.size - offset;
  uint64_t page = static_cast<uint64_t>(g_page_size);
  uint64_t s = offset & ~(page - 1);
  uint64_t e = offset + length;
  *start = s;
  *len = e - s;
  return *len > 0;
}

// advise(id, offset, length, advice, step) -> 0 or an errno.
// advice: 0 normal, 1 random, 2 sequential, 3 willneed, 4 dontneed,
// 5 populate-read, 6 hugepage. With step > 0 the range is advised in pieces of
// `step` bytes: MADV_WILLNEED reads at most one readahead window per call.
Napi::Value Advise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  uint64_t offset = ArgU64(info, 1), length = ArgU64(info, 2);
  int which = info[3].As<Napi::Number>().Int32Value();
  uint64_t step = info.Length() > 4 ? ArgU64(info, 4) : 0;
  int advice;
  switch (which) {
    case 0: advice = MADV_NORMAL; break;
    case 1: advice = MADV_RANDOM; break;
    case 2: advice = MADV_SEQUENTIAL; break;
    case 3: advice = MADV_WILLNEED; break;
    case 4: advice = MADV_DONTNEED; break;
#if defined(__linux__)
    case 5: advice = 22; break;  // MADV_POPULATE_READ (Linux 5.14+); older kernels say EINVAL
    case 6: advice = 14; break;  // MADV_HUGEPAGE
#endif
    default: return Napi::Number::New(env, EINVAL);
  }
  Pin pin(env, id);
  uint64_t start, len;
  if (!PageRange(pin, offset, length, &start, &len)) return Napi::Number::New(env, 0);
  int err = 0;
  if (step == 0) step = len;
  step = (step + g_page_size - 1) & ~static_cast<uint64_t>(g_page_size - 1);
  for (uint64_t at = 0; at < len && err == 0; at += step) {
    uint64_t n = len - at < step ? len - at : step;
    if (madvise(pin.base + start + at, static_cast<size_t>(n), advice) != 0) err = errno;
  }
  return Napi::Number::New(env, err);
}

// fadvise(id, offset, length, advice) -> 0 or an errno.
// advice: 0 normal, 1 sequential, 2 random, 3 willneed, 4 dontneed, 5 noreuse.
Napi::Value Fadvise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  uint64_t offset = ArgU64(info, 1), length = ArgU64(info, 2);
  int which = info[3].As<Napi::Number>().Int32Value();
#if defined(POSIX_FADV_NORMAL) && !defined(__APPLE__)
  int advice;
  switch (which) {
    case 0: advice = POSIX_FADV_NORMAL; break;
    case 1: advice = POSIX_FADV_SEQUENTIAL; break;
    case 2: advice = POSIX_FADV_RANDOM; break;
    case 3: advice = POSIX_FADV_WILLNEED; break;
    case 4: advice = POSIX_FADV_DONTNEED; break;
    case 5: advice = POSIX_FADV_NOREUSE; break;
    default: return Napi::Number::New(env, EINVAL);
  }
  int fd;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    fd = FindLocked(env, id)->fd;
    // posix_fadvise on the fd is safe without pinning: close() happens only
    // under the mutex after every user is gone, and we hold no pointer.
    int err = posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(length), advice);
    return Napi::Number::New(env, err);
  }
#else
  (void)id; (void)offset; (void)length; (void)which;
  return Napi::Number::New(env, ENOSYS);
#endif
}

// residency(id, offset, length) -> { resident, pages }: how many of the pages
// covering the range are in memory (mincore).
Napi::Value Residency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  uint64_t offset = ArgU64(info, 1), length = ArgU64(info, 2);
  Pin pin(env, id);
  uint64_t start, len;
  if (!PageRange(pin, offset, length, &start, &len)) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("resident", Napi::Number::New(env, 0));
    o.Set("pages", Napi::Number::New(env, 0));
    return o;
  }
  uint64_t pages = (len + g_page_size - 1) / g_page_size;
  uint64_t resident = 0;
  int err = 0;
  // mincore in bounded pieces so a huge range does not need a huge vector.
  const uint64_t kBatch = 1 << 16;
  std::vector<unsigned char> vec(static_cast<size_t>(pages < kBatch ? pages : kBatch));
  for (uint64_t p = 0; p < pages && err == 0; p += kBatch) {
    uint64_t n = pages - p < kBatch ? pages - p : kBatch;
#if defined(__APPLE__)
    char* vp = reinterpret_cast<char*>(vec.data());
#else
    unsigned char* vp = vec.data();
#endif
    if (mincore(pin.base + start + p * g_page_size, static_cast<size_t>(n * g_page_size), vp) != 0) {
      err = errno;
      break;
    }
    for (uint64_t i = 0; i < n; i++) resident += vec[i] & 1;
  }
  if (err != 0) throw SystemError(env, err, "mincore", "");
  Napi::Object o = Napi::Object::New(env);
  o.Set("resident", Napi::Number::New(env, static_cast<double>(resident)));
  o.Set("pages", Napi::Number::New(env, static_cast<double>(pages)));
  return o;
}

// state(id) -> { size, currentSize, faults, views, opens }: the size now
// (fstat), and how many truncated pages were read (SIGBUS repairs).
Napi::Value State(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  std::lock_guard<std::mutex> lock(g_mutex);
  Mapping* m = FindLocked(env, id);
  struct stat st;
  if (fstat(m->fd, &st) != 0) throw SystemError(env, errno, "fstat", m->path);
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", Napi::Number::New(env, static_cast<double>(m->size)));
  o.Set("currentSize", Napi::Number::New(env, static_cast<double>(st.st_size)));
  uint64_t faults = m->slot >= 0 ? g_fault_slots[m->slot].faults.load(std::memory_order_relaxed) : 0;
  o.Set("faults", Napi::Number::New(env, static_cast<double>(faults)));
  o.Set("views", Napi::Number::New(env, static_cast<double>(m->views)));
  o.Set("opens", Napi::Number::New(env, m->opens));
  return o;
}

// find(id, byte, from, limit) -> first offset in [from, limit) of the mapping
// holding `byte`, or -1 (memchr). Lets workers find record boundaries without
// making a view for the search window.
Napi::Value FindInMapping(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  int byte = static_cast<int>(info[1].As<Napi::Number>().Uint32Value() & 0xff);
  uint64_t from = ArgU64(info, 2), limit = ArgU64(info, 3);
  Pin pin(env, id);
  if (limit > pin.size) limit = pin.size;
  if (pin.base == nullptr || from >= limit) return Napi::Number::New(env, -1);
  const uint8_t* base = pin.base;
  const void* hit = memchr(base + from, byte, static_cast<size_t>(limit - from));
  double r = hit == nullptr ? -1.0 : static_cast<double>(static_cast<const uint8_t*>(hit) - base);
  return Napi::Number::New(env, r);
}

// faults(id) -> number of truncated pages read so far. Cheap: one atomic load.
Napi::Value Faults(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  std::lock_guard<std::mutex> lock(g_mutex);
  Mapping* m = FindLocked(env, id);
  uint64_t faults = m->slot >= 0 ? g_fault_slots[m->slot].faults.load(std::memory_order_relaxed) : 0;
  return Napi::Number::New(env, static_cast<double>(faults));
}

// stats() -> { mappings, views }: process-wide counts, for leak tests.
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(g_mutex);
  uint64_t views = 0;
  for (auto& kv : g_by_id) views += kv.second->views;
  Napi::Object o = Napi::Object::New(env);
  o.Set("mappings", Napi::Number::New(env, static_cast<double>(g_by_id.size())));
  o.Set("views", Napi::Number::New(env, static_cast<double>(views)));
  return o;
}

// ---------------------------------------------------------- byte kernels --

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
Napi::Value CountByte(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  uint8_t value = static_cast<uint8_t>(info[1].As<Napi::Number>().Uint32Value());
  size_t start, end;
  ArgRange(info, 2, b.length, &start, &end);
  return Napi::Number::New(info.Env(), static_cast<double>(pagewise::CountByte(b.data + start, end - start, value)));
}

// indexOfByte(u8, value[, from, end]) -> index or -1 (memchr)
Napi::Value IndexOfByte(const Napi::CallbackInfo& info) {
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
Napi::Value IndexOf(const Napi::CallbackInfo& info) {
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
Napi::Value CountLinesContaining(const Napi::CallbackInfo& info) {
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
Napi::Value CountWords(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 0);
  return Napi::Number::New(info.Env(), static_cast<double>(pagewise::CountWords(b.data, b.length)));
}

// ------------------------------------------------------------ async scan --

// At most `n` scans of one run read at a time. The engine queues one chunk
// more per lane than can run, so a pool thread that finishes a chunk starts
// the next at once instead of waiting for the main thread to wake up and
// dispatch it (on a busy 2-core machine that wake-up took long enough to cost
// 5-10% of a warm scan); the gate keeps a pool larger than the run's threads
// from running the queued chunks too.
class Gate {
 public:
  explicit Gate(int n) : free_(n) {}
  void Acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return free_ > 0; });
    free_--;
    active_++;
    if (active_ > most_active_) most_active_ = active_;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      free_++;
      active_--;
    }
    cv_.notify_one();
  }
  // The most scans that held the gate at once so far (for tests and stats).
  int MostActive() {
    std::lock_guard<std::mutex> lock(mutex_);
    return most_active_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int free_;
  int active_ = 0;
  int most_active_ = 0;
};

using GateRef = std::shared_ptr<Gate>;

// One count over a range of a mapping (see scan() below).
struct ScanOp {
  enum Kind { kCountByte = 0, kCountRecordsContaining = 1, kCountWords = 2 } kind;
  uint8_t byte = 0;        // the byte to count, or the records' terminator
  std::string needle;      // copied: the caller's array may move or die
};

// Runs a list of byte kernels over [offset, offset + length) of a mapping on
// one of libuv's threadpool threads, and resolves a promise with one count per
// op. The Pin holds the mapping in place until the work is done, even if the
// engine closes its handle (an aborted run) meanwhile. A page past a shrunken
// file's end reads as zeros through the SIGBUS handler, on this thread as on
// any other; the engine checks the fault count after every chunk.
class ScanWorker : public Napi::AsyncWorker {
 public:
  ScanWorker(Napi::Env env, std::unique_ptr<Pin> pin, uint64_t offset, uint64_t length, std::vector<ScanOp> ops, GateRef gate,
             bool drop)
      : Napi::AsyncWorker(env, "pagewise.scan"),
        deferred_(Napi::Promise::Deferred::New(env)),
        gate_(std::move(gate)),
        pin_(std::move(pin)),
        offset_(offset),
        length_(length),
        ops_(std::move(ops)),
        counts_(ops_.size(), 0),
        drop_(drop) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    if (length_ == 0) return;
    struct Turn {
      Gate* gate;
      explicit Turn(Gate* g) : gate(g) {
        if (gate != nullptr) gate->Acquire();
      }
      ~Turn() {
        if (gate != nullptr) gate->Release();
      }
    } turn(gate_.get());
    const uint8_t* p = pin_->base + offset_;
    size_t n = static_cast<size_t>(length_);
    for (size_t i = 0; i < ops_.size(); i++) {
      const ScanOp& op = ops_[i];
      switch (op.kind) {
        case ScanOp::kCountByte: counts_[i] = pagewise::CountByte(p, n, op.byte); break;
        case ScanOp::kCountRecordsContaining:
          counts_[i] = pagewise::CountRecordsContaining(p, n, reinterpret_cast<const uint8_t*>(op.needle.data()),
                                                        op.needle.size(), op.byte);
          break;
        case ScanOp::kCountWords: counts_[i] = pagewise::CountWords(p, n); break;
      }
    }
    if (drop_) {
      // Drop this range's page-table entries now, on this thread, while the
      // other lanes still read: the pages stay in the page cache, but the
      // munmap at close no longer tears down every entry of the file alone
      // on the main thread (2.76 GB: ~110 ms serial; in parallel here it
      // costs the lanes ~25 ms each). A later read just faults the page in
      // again from the cache. Advice failing changes no count.
      uint64_t start = offset_ - offset_ % g_page_size;
      uint64_t end = offset_ + length_;
      madvise(pin_->base + start, static_cast<size_t>(end - start), MADV_DONTNEED);
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, counts_.size());
    for (size_t i = 0; i < counts_.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(counts_[i])));
    pin_.reset();
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override {
    pin_.reset();
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  GateRef gate_;
  std::unique_ptr<Pin> pin_;
  uint64_t offset_;
  uint64_t length_;
  std::vector<ScanOp> ops_;
  std::vector<uint64_t> counts_;
  bool drop_;
};

// Marks the externals that are gates, so that no other addon's External is
// ever read as one.
const napi_type_tag kGateTag = {0x70616765776973e1ULL, 0x6761746500000001ULL};

GateRef* GateOf(const Napi::Value& value) {
  if (!value.IsExternal()) return nullptr;
  Napi::External<GateRef> external = value.As<Napi::External<GateRef>>();
  if (!external.CheckTypeTag(&kGateTag)) return nullptr;
  return external.Data();
}

// gate(n) -> an opaque handle: scans given it read at most n at a time.
Napi::Value CreateGate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(env, "a gate needs at least one slot");
  Napi::External<GateRef> external =
      Napi::External<GateRef>::New(env, new GateRef(std::make_shared<Gate>(n)), [](Napi::Env, GateRef* g) { delete g; });
  external.TypeTag(&kGateTag);
  return external;
}

// gateMostActive(gate) -> the most scans that read through it at once so far.
Napi::Value GateMostActive(const Napi::CallbackInfo& info) {
  GateRef* gate = GateOf(info[0]);
  if (gate == nullptr) throw Napi::TypeError::New(info.Env(), "expected a gate from gate(n)");
  return Napi::Number::New(info.Env(), (*gate)->MostActive());
}

// Meets `n` tasks on libuv's threadpool: each waits (up to timeoutMs) until
// all n are running at once. Resolves with the most that were running
// together: n when the pool has at least n threads, the pool size otherwise.
// `pagewise info` and the tests use it to see the pool a process really got.
class Rendezvous {
 public:
  explicit Rendezvous(int n) : n_(n) {}
  void Arrive(int timeout_ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    here_++;
    if (here_ > most_) most_ = here_;
    if (here_ >= n_) cv_.notify_all();
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return most_ >= n_; });
    here_--;
  }
  int Most() {
    std::lock_guard<std::mutex> lock(mutex_);
    return most_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int n_;
  int here_ = 0;
  int most_ = 0;
};

class RendezvousWorker : public Napi::AsyncWorker {
 public:
  RendezvousWorker(Napi::Env env, std::shared_ptr<Rendezvous> meeting, int timeout_ms, std::shared_ptr<int> left,
                   Napi::Promise::Deferred deferred)
      : Napi::AsyncWorker(env, "pagewise.rendezvous"),
        meeting_(std::move(meeting)),
        timeout_ms_(timeout_ms),
        left_(std::move(left)),
        deferred_(deferred) {}
  void Execute() override { meeting_->Arrive(timeout_ms_); }
  void OnOK() override {
    // Settled by the last of the n tasks to come back (all on the main thread).
    if (--*left_ == 0) deferred_.Resolve(Napi::Number::New(Env(), meeting_->Most()));
  }

 private:
  std::shared_ptr<Rendezvous> meeting_;
  int timeout_ms_;
  std::shared_ptr<int> left_;
  Napi::Promise::Deferred deferred_;
};

// threadpoolConcurrency(n, timeoutMs) -> Promise<number> (see Rendezvous).
Napi::Value ThreadpoolConcurrency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = info[0].As<Napi::Number>().Int32Value();
  int timeout_ms = info[1].As<Napi::Number>().Int32Value();
  if (n < 1 || n > 1024) throw Napi::RangeError::New(env, "n must be from 1 to 1024");
  auto meeting = std::make_shared<Rendezvous>(n);
  auto left = std::make_shared<int>(n);
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  for (int i = 0; i < n; i++) (new RendezvousWorker(env, meeting, timeout_ms, left, deferred))->Queue();
  return deferred.Promise();
}

// scan(id, offset, length, ops[, gate]) -> Promise<number[]>, one count per op, each
// op an object { op: 0 | 1 | 2, byte?, needle? }:
//   0 count `byte`; 1 count records ended by `byte` that contain `needle`;
//   2 count words (as countWords).
// The range must lie inside the mapping and hold whole records (TypeScript
// cuts it). Runs on libuv's threadpool: the engine keeps at most one call per
// pool thread in flight.
Napi::Value Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  uint64_t offset = ArgU64(info, 1);
  uint64_t length = ArgU64(info, 2);
  Napi::Array list = info[3].As<Napi::Array>();
  std::vector<ScanOp> ops;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object o = list.Get(i).As<Napi::Object>();
    ScanOp op;
    int kind = o.Get("op").As<Napi::Number>().Int32Value();
    if (kind < 0 || kind > 2) throw Napi::RangeError::New(env, "unknown scan op " + std::to_string(kind));
    op.kind = static_cast<ScanOp::Kind>(kind);
    Napi::Value byte = o.Get("byte");
    if (byte.IsNumber()) op.byte = static_cast<uint8_t>(byte.As<Napi::Number>().Uint32Value() & 0xff);
    Napi::Value needle = o.Get("needle");
    if (needle.IsTypedArray()) {
      Napi::Uint8Array u8 = needle.As<Napi::Uint8Array>();
      op.needle.assign(reinterpret_cast<const char*>(u8.Data()), u8.ElementLength());
    }
    ops.push_back(std::move(op));
  }
  GateRef gate;
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    GateRef* given = GateOf(info[4]);
    if (given == nullptr) throw Napi::TypeError::New(env, "scan: the fifth argument must be a gate from gate(n)");
    gate = *given;
  }
  bool drop = info.Length() > 5 && info[5].ToBoolean().Value();
  std::unique_ptr<Pin> pin(new Pin(env, id));
  if (pin->opens == 0) throw CodedError(env, "ERR_PAGEWISE_CLOSED", "mapping " + std::to_string(id) + " is closed");
  if (offset > pin->size || length > pin->size - offset) {
    throw Napi::RangeError::New(env, "scan [" + std::to_string(offset) + ", " + std::to_string(offset + length) +
                                         ") is outside the mapping of " + std::to_string(pin->size) + " bytes");
  }
  ScanWorker* worker = new ScanWorker(env, std::move(pin), offset, length, std::move(ops), std::move(gate), drop);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value KernelFlavor(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), pagewise::KernelFlavor());
}

Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_page_size));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  g_page_size = sysconf(_SC_PAGESIZE);
  InstallSigbusHandler();
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("view", Napi::Function::New(env, View, "view"));
  exports.Set("detach", Napi::Function::New(env, Detach, "detach"));
  exports.Set("advise", Napi::Function::New(env, Advise, "advise"));
  exports.Set("fadvise", Napi::Function::New(env, Fadvise, "fadvise"));
  exports.Set("residency", Napi::Function::New(env, Residency, "residency"));
  exports.Set("state", Napi::Function::New(env, State, "state"));
  exports.Set("find", Napi::Function::New(env, FindInMapping, "find"));
  exports.Set("faults", Napi::Function::New(env, Faults, "faults"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("countByte", Napi::Function::New(env, CountByte, "countByte"));
  exports.Set("indexOfByte", Napi::Function::New(env, IndexOfByte, "indexOfByte"));
  exports.Set("indexOf", Napi::Function::New(env, IndexOf, "indexOf"));
  exports.Set("countLinesContaining", Napi::Function::New(env, CountLinesContaining, "countLinesContaining"));
  exports.Set("countWords", Napi::Function::New(env, CountWords, "countWords"));
  exports.Set("scan", Napi::Function::New(env, Scan, "scan"));
  exports.Set("gate", Napi::Function::New(env, CreateGate, "gate"));
  exports.Set("gateMostActive", Napi::Function::New(env, GateMostActive, "gateMostActive"));
  exports.Set("threadpoolConcurrency", Napi::Function::New(env, ThreadpoolConcurrency, "threadpoolConcurrency"));
  exports.Set("pageSize", Napi::Function::New(env, PageSize, "pageSize"));
  exports.Set("kernelFlavor", Napi::Function::New(env, KernelFlavor, "kernelFlavor"));
  return exports;
}

}  // namespace

NODE_API_MODULE(pagewise, Init)
