// The mapping registry: one read-only MAP_SHARED mapping per file (device,
// inode, size and times) per process, shared by every thread and used only by
// native code (scan, find, advice, residency); JavaScript sees views
// (views.cc). Each environment's handles are tracked so that its cleanup
// hook closes what a terminated worker left open.
#include "pagewise.h"

#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pagewise {

std::mutex g_mutex;

namespace {

std::unordered_map<uint32_t, Mapping*> g_by_id;
std::unordered_map<napi_env, EnvState*> g_envs;
uint32_t g_next_id = 1;

int64_t Nanos(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }
#if defined(__APPLE__)
int64_t MtimeNs(const struct stat& st) { return Nanos(st.st_mtimespec); }
int64_t CtimeNs(const struct stat& st) { return Nanos(st.st_ctimespec); }
#else
int64_t MtimeNs(const struct stat& st) { return Nanos(st.st_mtim); }
int64_t CtimeNs(const struct stat& st) { return Nanos(st.st_ctim); }
#endif

Napi::Object Describe(Napi::Env env, const Mapping* m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", Napi::Number::New(env, m->id));
  o.Set("size", Napi::Number::New(env, static_cast<double>(m->size)));
  o.Set("dev", Napi::Number::New(env, static_cast<double>(m->dev)));
  o.Set("ino", Napi::Number::New(env, static_cast<double>(m->ino)));
  o.Set("opens", Napi::Number::New(env, m->opens));
  o.Set("writable", Napi::Boolean::New(env, m->access == Access::kWrite));
  o.Set("mtimeNs", Napi::BigInt::New(env, m->mtime_ns));
  o.Set("ctimeNs", Napi::BigInt::New(env, m->ctime_ns));
  return o;
}

void NoteOpenLocked(napi_env env, uint32_t id) {
  EnvState* state = EnvLocked(env);
  if (state != nullptr) state->opens[id]++;
}

// Forgets one handle of `id` held by `env`, or else by any environment (a
// handle may be closed by a thread other than the one that opened it).
void ForgetOpenLocked(napi_env env, uint32_t id) {
  auto drop = [id](EnvState* state) {
    auto it = state->opens.find(id);
    if (it == state->opens.end()) return false;
    if (--it->second == 0) state->opens.erase(it);
    return true;
  };
  EnvState* mine = EnvLocked(env);
  if (mine != nullptr && drop(mine)) return;
  for (auto& kv : g_envs) {
    if (drop(kv.second)) return;
  }
}

void CloseFd(int fd) {
  if (fd >= 0) close(fd);
}

void CleanupEnv(void* arg) {
  napi_env env = static_cast<napi_env>(arg);
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_envs.find(env);
  if (it == g_envs.end()) return;
  std::unique_ptr<EnvState> state(it->second);
  ReleaseEnvViewsLocked(env);
  for (auto& kv : state->opens) {
    Mapping* m = LookupLocked(kv.first);
    if (m == nullptr) continue;
    m->opens -= kv.second < m->opens ? kv.second : m->opens;
    ReleaseIfUnusedLocked(m);
  }
  g_envs.erase(it);
}

}  // namespace

Mapping* LookupLocked(uint32_t id) {
  auto it = g_by_id.find(id);
  return it == g_by_id.end() ? nullptr : it->second;
}

Mapping* FindLocked(Napi::Env env, uint32_t id) {
  Mapping* m = LookupLocked(id);
  if (m == nullptr) throw CodedError(env, "ERR_PAGEWISE_CLOSED", "mapping " + std::to_string(id) + " is closed");
  return m;
}

Napi::Error BusyError(Napi::Env env, const Mapping* m) {
  return CodedError(env, "ERR_PAGEWISE_BUSY", "'" + m->path + "' is being resized");
}

EnvState* EnvLocked(napi_env env) {
  auto it = g_envs.find(env);
  return it == g_envs.end() ? nullptr : it->second;
}

void ReleaseIfUnusedLocked(Mapping* m) {
  if (m->opens != 0 || m->views != 0 || m->pins != 0) return;
  faults::Free(m->slot);
  if (m->base != nullptr) munmap(m->base, static_cast<size_t>(m->size));
  CloseFd(m->fd);
  g_by_id.erase(m->id);
  delete m;
}

Pin::Pin(Napi::Env env, uint32_t id) : id_(id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Mapping* m = FindLocked(env, id);
  if (m->resizing) throw BusyError(env, m);
  base = m->base;
  size = m->size;
  opens = m->opens;
  fd = m->fd;
  writable = m->access == Access::kWrite;
  m->pins++;
}

Pin::~Pin() {
  std::lock_guard<std::mutex> lock(g_mutex);
  Mapping* m = LookupLocked(id_);
  if (m != nullptr) {
    m->pins--;
    ReleaseIfUnusedLocked(m);
  }
}

// Maps the regular file open on `fd` whole and registers it (owning fd).
// Read-only mappings of an unchanged file are shared; writable ones never.
Napi::Value MapFile(Napi::Env env, int fd, const std::string& path, Access access) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    CloseFd(fd);
    throw SystemError(env, err, "fstat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    CloseFd(fd);
    Napi::Error e = CodedError(env, "ERR_PAGEWISE_NOT_REGULAR_FILE", "not a regular file: '" + path + "'");
    e.Set("path", Napi::String::New(env, path));
    e.Set("isDirectory", Napi::Boolean::New(env, S_ISDIR(st.st_mode)));
    throw e;
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  if (access == Access::kRead) {
    // A file that changed since it was mapped (grew, or was rewritten) gets a
    // mapping of its own: handles of the old one keep it, new ones see the
    // file as it is now.
    for (auto& kv : g_by_id) {
      Mapping* m = kv.second;
      if (m->opens > 0 && m->access == Access::kRead && m->dev == static_cast<uint64_t>(st.st_dev) &&
          m->ino == static_cast<uint64_t>(st.st_ino) && m->size == static_cast<uint64_t>(st.st_size) &&
          m->mtime_ns == MtimeNs(st) && m->ctime_ns == CtimeNs(st)) {
        CloseFd(fd);
        m->opens++;
        NoteOpenLocked(env, m->id);
        return Describe(env, m);
      }
    }
  }
  // Never map without SIGBUS protection: refuse when no fault slot is left.
  int slot = faults::Reserve();
  if (slot == faults::kNone) {
    CloseFd(fd);
    throw CodedError(env, "ERR_PAGEWISE_NO_FAULT_SLOT",
                     "cannot map '" + path + "': all " + std::to_string(faults::Limit()) + " fault slots are in use");
  }
  auto m = std::make_unique<Mapping>();
  m->fd = fd;
  m->access = access;
  m->size = static_cast<uint64_t>(st.st_size);
  m->dev = static_cast<uint64_t>(st.st_dev);
  m->ino = static_cast<uint64_t>(st.st_ino);
  m->mtime_ns = MtimeNs(st);
  m->ctime_ns = CtimeNs(st);
  m->path = path;
  m->slot = slot;
  // A 0-byte file is not mapped: mmap(len = 0) fails with EINVAL, and there
  // is nothing to view. Views of it have length 0.
  if (m->size > 0) {
    int prot = access == Access::kWrite ? PROT_READ | PROT_WRITE : PROT_READ;
    void* p = mmap(nullptr, static_cast<size_t>(m->size), prot, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      faults::Free(slot);
      CloseFd(fd);
      throw SystemError(env, err, "mmap", path);
    }
    m->base = static_cast<uint8_t*>(p);
    faults::Publish(slot, reinterpret_cast<uintptr_t>(m->base), reinterpret_cast<uintptr_t>(m->base) + m->size,
                    access == Access::kWrite, slot);
  }
  m->id = g_next_id++;
  m->opens = 1;
  Mapping* raw = m.release();
  g_by_id[raw->id] = raw;
  NoteOpenLocked(env, raw->id);
  return Describe(env, raw);
}

namespace {

// open(path[, write]) -> { id, size, dev, ino, opens, writable, mtimeNs, ctimeNs }
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  // open(2) would stop at the NUL and open another file than the one named.
  if (path.find('\0') != std::string::npos) throw CodedError(env, "ERR_PAGEWISE_INVALID_OPTION", "path must not contain NUL bytes");
  bool write = info.Length() > 1 && info[1].ToBoolean().Value();
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  int fd = open(path.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw SystemError(env, errno, "open", path);
  return MapFile(env, fd, path, write ? Access::kWrite : Access::kRead);
}

// close(id) -> boolean: true when this was the last handle. The fd and the
// fault counter stay until the last view is released as well.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0);
  std::lock_guard<std::mutex> lock(g_mutex);
  Mapping* m = LookupLocked(id);
  if (m == nullptr || m->opens == 0) return Napi::Boolean::New(env, false);
  ForgetOpenLocked(env, id);
  m->opens--;
  bool last = m->opens == 0;
  ReleaseIfUnusedLocked(m);
  return Napi::Boolean::New(env, last);
}

// state(id) -> { size, currentSize, faults, views, opens, dev, ino, mtimeNs,
// ctimeNs }: the file as fstat sees it now, and how many pages past its end
// were read (SIGBUS repairs, in the mapping and in every view of it).
Napi::Value State(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0);
  std::lock_guard<std::mutex> lock(g_mutex);
  Mapping* m = FindLocked(env, id);
  struct stat st;
  if (fstat(m->fd, &st) != 0) throw SystemError(env, errno, "fstat", m->path);
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", Napi::Number::New(env, static_cast<double>(m->size)));
  o.Set("currentSize", Napi::Number::New(env, static_cast<double>(st.st_size)));
  o.Set("faults", Napi::Number::New(env, static_cast<double>(faults::FaultCount(m->slot))));
  o.Set("views", Napi::Number::New(env, static_cast<double>(m->views + m->pins)));
  o.Set("opens", Napi::Number::New(env, m->opens));
  o.Set("dev", Napi::Number::New(env, static_cast<double>(st.st_dev)));
  o.Set("ino", Napi::Number::New(env, static_cast<double>(st.st_ino)));
  o.Set("mtimeNs", Napi::BigInt::New(env, MtimeNs(st)));
  o.Set("ctimeNs", Napi::BigInt::New(env, CtimeNs(st)));
  return o;
}

// find(id, byte, from, limit) -> first offset in [from, limit) of the mapping
// holding `byte`, or -1 (memchr). Lets workers find record boundaries without
// making a view for the search window.
Napi::Value Find(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0);
  int byte = static_cast<int>(ArgU32(info, 1) & 0xff);
  uint64_t from = ArgU64(info, 2), limit = ArgU64(info, 3);
  Pin pin(env, id);
  if (limit > pin.size) limit = pin.size;
  if (pin.base == nullptr || from >= limit) return Napi::Number::New(env, -1);
  const void* hit = memchr(pin.base + from, byte, static_cast<size_t>(limit - from));
  double r = hit == nullptr ? -1.0 : static_cast<double>(static_cast<const uint8_t*>(hit) - pin.base);
  return Napi::Number::New(env, r);
}

// faults(id) -> pages past the end read so far. Cheap: one atomic load.
Napi::Value Faults(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(g_mutex);
  Mapping* m = FindLocked(env, ArgU32(info, 0));
  return Napi::Number::New(env, static_cast<double>(faults::FaultCount(m->slot)));
}

// stats() -> { mappings, views }: process-wide counts, for leak checks.
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(g_mutex);
  uint64_t views = 0;
  for (auto& kv : g_by_id) views += kv.second->views + kv.second->pins;
  Napi::Object o = Napi::Object::New(env);
  o.Set("mappings", Napi::Number::New(env, static_cast<double>(g_by_id.size())));
  o.Set("views", Napi::Number::New(env, static_cast<double>(views)));
  return o;
}

// testing.faultSlots([limit]) -> { inUse, limit }; a limit of 0 restores the default.
Napi::Value FaultSlots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(g_mutex);
  if (info.Length() > 0 && info[0].IsNumber()) faults::SetLimit(static_cast<size_t>(ArgU64(info, 0)));
  Napi::Object o = Napi::Object::New(env);
  o.Set("inUse", Napi::Number::New(env, static_cast<double>(faults::InUse())));
  o.Set("limit", Napi::Number::New(env, static_cast<double>(faults::Limit())));
  return o;
}

}  // namespace

void RegisterRegistry(Napi::Env env, Napi::Object exports, Napi::Object testing) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto state = std::make_unique<EnvState>();
    state->env = env;
    g_envs[env] = state.release();
  }
  // A worker terminated with handles or views still open must not leak their
  // fds and mappings: its environment's cleanup releases them.
  napi_status status = napi_add_env_cleanup_hook(env, CleanupEnv, static_cast<napi_env>(env));
  if (status != napi_ok) throw Napi::Error::New(env, "pagewise: cannot add the environment cleanup hook");
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("state", Napi::Function::New(env, State, "state"));
  exports.Set("find", Napi::Function::New(env, Find, "find"));
  exports.Set("faults", Napi::Function::New(env, Faults, "faults"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  if (!testing.IsEmpty()) testing.Set("faultSlots", Napi::Function::New(env, FaultSlots, "faultSlots"));
}

}  // namespace pagewise
