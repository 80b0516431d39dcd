// Views: what JavaScript reads. Each view is a mapping of its own of the
// page-aligned range covering it. Of a read-only file it is MAP_PRIVATE and
// writable: a job may write into its bytes, and the write changes that view
// only (copy on write), never the file nor any other reader. Of a writable
// file it is MAP_SHARED: writes reach the file. Releasing a view (detach, its
// finalizer, or its thread's cleanup) unmaps it, so its page-table entries go
// with it and memory stays bounded by the views alive. Each view has its own
// SIGBUS slot; its faults count for its file. Only views made here can be
// detached: they are recognized by their data pointer.
#include "pagewise.h"

#include <cerrno>

#include <sys/mman.h>

namespace pagewise {
namespace {

struct View {
  uint32_t mapping = 0;
  napi_env env = nullptr;
  uint8_t* start = nullptr;  // its own mapping
  size_t map_length = 0;
  size_t length = 0;         // the ArrayBuffer's
  uintptr_t data = 0;
  int slot = faults::kNone;
  napi_ref ref = nullptr;    // weak, views of writable files only: resize detaches through it
};

std::unordered_map<uint64_t, View> g_views;
std::unordered_map<uintptr_t, uint64_t> g_by_data;
uint64_t g_next_view = 1;

void* HintOf(uint64_t id) { return reinterpret_cast<void*>(static_cast<uintptr_t>(id)); }

void FinalizeView(napi_env env, void*, void* hint) {
  ViewRange range;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    range = ForgetViewLocked(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(hint)), env);
  }
  UnmapView(range);
}

// The ArrayBuffer behind a typed array, a DataView or itself; empty otherwise.
Napi::ArrayBuffer BufferOf(const Napi::Value& value) {
  if (value.IsTypedArray()) return value.As<Napi::TypedArray>().ArrayBuffer();
  if (value.IsDataView()) return value.As<Napi::DataView>().ArrayBuffer();
  if (value.IsArrayBuffer()) return value.As<Napi::ArrayBuffer>();
  return Napi::ArrayBuffer();
}

Napi::Error NotAView(Napi::Env env) {
  return CodedError(env, "ERR_PAGEWISE_NOT_A_VIEW", "only views made by pagewise can be detached");
}

// view(id, offset, length[, populate]) -> Uint8Array over a mapping of its
// own; with populate, its pages are mapped at once when they are cached.
Napi::Value MakeView(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0);
  uint64_t offset = ArgU64(info, 1);
  uint64_t length = ArgU64(info, 2);
  bool populate = info.Length() > 3 && info[3].ToBoolean().Value();
  int fd, advice, slot, owner;
  bool hugepage, shared;
  std::string path;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    Mapping* m = FindLocked(env, id);
    if (m->opens == 0) throw CodedError(env, "ERR_PAGEWISE_CLOSED", "mapping " + std::to_string(id) + " is closed");
    if (m->resizing) throw BusyError(env, m);
    if (offset > m->size || length > m->size - offset) {
      throw Napi::RangeError::New(env, "view [" + std::to_string(offset) + ", " + std::to_string(offset + length) +
                                           ") is outside the mapping of " + std::to_string(m->size) + " bytes");
    }
    if (length == 0) return Napi::Uint8Array::New(env, 0, Napi::ArrayBuffer::New(env, 0), 0);
    // Never map without SIGBUS protection.
    slot = faults::Reserve();
    if (slot == faults::kNone) {
      throw CodedError(env, "ERR_PAGEWISE_NO_FAULT_SLOT",
                       "cannot map a view of '" + m->path + "': all " + std::to_string(faults::Limit()) + " fault slots are in use");
    }
    m->views++;  // keeps fd and the fault counter while we map without the lock
    fd = m->fd;
    owner = m->slot;
    advice = m->view_advice;
    hugepage = m->view_hugepage;
    shared = m->access == Access::kWrite;
    path = m->path;
  }
  uint64_t start = PageDown(offset);
  size_t map_length = static_cast<size_t>(offset + length - start);
  // MAP_NORESERVE: a private writable mapping is otherwise charged to the
  // commit limit in full, and a view of a file larger than memory would fail.
  int flags = shared ? MAP_SHARED : MAP_PRIVATE | MAP_NORESERVE;
  void* p = mmap(nullptr, map_length, PROT_READ | PROT_WRITE, flags, fd, static_cast<off_t>(start));
  auto undo = [&](ViewRange range) {
    std::lock_guard<std::mutex> lock(g_mutex);
    faults::Free(slot);
    if (range.start != nullptr) munmap(range.start, range.length);
    Mapping* m = LookupLocked(id);
    if (m != nullptr) {
      m->views--;
      ReleaseIfUnusedLocked(m);
    }
  };
  if (p == MAP_FAILED) {
    int err = errno;
    undo(ViewRange());
    throw SystemError(env, err, "mmap", path);
  }
  uint8_t* base = static_cast<uint8_t*>(p);
  if (advice != 0) madvise(base, map_length, advice);
#if defined(__linux__)
  if (hugepage) madvise(base, map_length, 14 /* MADV_HUGEPAGE */);
  // A chunk's view of cached pages is mapped in one call (MADV_POPULATE_READ,
  // Linux 5.14+) rather than by a fault per 64 KiB of fault-around: a scan at
  // memory speed spends more on the faults than on the bytes. Not for a range
  // that must come from the disk (the call would wait for all of it).
  if (populate) {
    size_t pages = map_length / PageSize();
    unsigned char v = 0;
    bool cached = true;
    for (size_t i = 0; i < 8 && i < pages && cached; i++) {
      size_t page = (2 * i + 1) * pages / 16;
      if (mincore(base + page * PageSize(), PageSize(), &v) != 0 || (v & 1) == 0) cached = false;
    }
    if (cached) madvise(base, map_length, 22 /* MADV_POPULATE_READ */);
  }
#endif
  uint8_t* data = base + (offset - start);
  uint64_t view_id;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    faults::Publish(slot, reinterpret_cast<uintptr_t>(base), reinterpret_cast<uintptr_t>(base) + map_length, true, owner);
    view_id = g_next_view++;
  }
  napi_value ab;
  if (napi_create_external_arraybuffer(env, data, static_cast<size_t>(length), FinalizeView, HintOf(view_id), &ab) != napi_ok) {
    undo(ViewRange{base, map_length});
    throw Napi::Error::New(env);
  }
  napi_ref ref = nullptr;
  if (shared && napi_create_reference(env, ab, 0, &ref) != napi_ok) {
    // Without the reference resize could not detach it: never hand it out.
    napi_detach_arraybuffer(env, ab);
    undo(ViewRange{base, map_length});
    throw Napi::Error::New(env);
  }
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    View v;
    v.mapping = id;
    v.env = env;
    v.start = base;
    v.map_length = map_length;
    v.length = static_cast<size_t>(length);
    v.data = reinterpret_cast<uintptr_t>(data);
    v.slot = slot;
    v.ref = ref;
    g_views[view_id] = v;
    g_by_data[v.data] = view_id;
    EnvState* state = EnvLocked(env);
    if (state != nullptr) state->views.insert(view_id);
  }
  return Napi::Uint8Array::New(env, static_cast<size_t>(length), Napi::ArrayBuffer(env, ab), 0);
}

// detach(view): empties a view made by view() (byteLength becomes 0) and
// unmaps it. Detached or empty buffers are left alone; any other buffer is
// refused (detaching Node's own pool would break the process).
Napi::Value Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer ab = BufferOf(info[0]);
  if (ab.IsEmpty()) throw NotAView(env);
  if (ab.IsDetached() || ab.ByteLength() == 0) return env.Undefined();
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_by_data.find(reinterpret_cast<uintptr_t>(ab.Data()));
    if (it == g_by_data.end() || g_views.at(it->second).length != ab.ByteLength()) throw NotAView(env);
    id = it->second;
  }
  // Outside the lock: V8 may release the backing store here.
  ab.Detach();
  ViewRange range;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    range = ForgetViewLocked(id, env);
  }
  UnmapView(range);
  return env.Undefined();
}

// --------------------------------------------------------- test hooks --
// Today's and the SharedArrayBuffer designs, for the A/B in docs/design.md.

struct Held {
  uint32_t mapping;
};

void ReleaseHeld(Held* held) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Mapping* m = LookupLocked(held->mapping);
  if (m != nullptr) {
    m->views--;
    ReleaseIfUnusedLocked(m);
  }
  delete held;
}

uint8_t* HoldLocked(Napi::Env env, uint32_t id, uint64_t offset, uint64_t length) {
  Mapping* m = FindLocked(env, id);
  if (m->base == nullptr || offset > m->size || length > m->size - offset || length == 0) throw Napi::RangeError::New(env, "bad range");
  m->views++;
  return m->base + offset;
}

// testing.sliceView(id, offset, length): a slice of the shared read-only mapping.
Napi::Value SliceView(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0);
  uint64_t offset = ArgU64(info, 1), length = ArgU64(info, 2);
  uint8_t* data;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    data = HoldLocked(env, id, offset, length);
  }
  napi_value ab;
  napi_create_external_arraybuffer(env, data, static_cast<size_t>(length),
                                   [](napi_env, void*, void* hint) { ReleaseHeld(static_cast<Held*>(hint)); }, new Held{id}, &ab);
  return Napi::Uint8Array::New(env, static_cast<size_t>(length), Napi::ArrayBuffer(env, ab), 0);
}

// testing.detachAny(u8): detaches without asking whose buffer it is.
Napi::Value DetachAny(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer ab = BufferOf(info[0]);
  if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
  return info.Env().Undefined();
}

// Node 24.16+ (experimental): weak, so the addon still loads where it is missing.
extern "C" napi_status node_api_create_external_sharedarraybuffer(napi_env, void*, size_t, void (*)(void*, void*), void*,
                                                                   napi_value*) __attribute__((weak));

// testing.sharedBuffer(id): one SharedArrayBuffer over the whole shared mapping.
Napi::Value SharedBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (node_api_create_external_sharedarraybuffer == nullptr) {
    throw CodedError(env, "ERR_PAGEWISE_NO_ADDON", "this Node has no external SharedArrayBuffer");
  }
  uint32_t id = ArgU32(info, 0);
  uint8_t* data;
  uint64_t size;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    size = FindLocked(env, id)->size;
    data = HoldLocked(env, id, 0, size);
  }
  napi_value sab;
  // Its finalizer may run on any thread, once the last agent drops it.
  node_api_create_external_sharedarraybuffer(env, data, static_cast<size_t>(size), [](void*, void* hint) { ReleaseHeld(static_cast<Held*>(hint)); }, new Held{id}, &sab);
  return Napi::Value(env, sab);
}

}  // namespace

ViewRange ForgetViewLocked(uint64_t id, napi_env env) {
  auto it = g_views.find(id);
  if (it == g_views.end()) return ViewRange();
  View& v = it->second;
  faults::Free(v.slot);
  g_by_data.erase(v.data);
  EnvState* state = EnvLocked(v.env);
  if (state != nullptr) state->views.erase(id);
  // A reference is deleted on its own thread only; one left behind goes with
  // its environment.
  if (v.ref != nullptr && v.env == env) napi_delete_reference(env, v.ref);
  Mapping* m = LookupLocked(v.mapping);
  if (m != nullptr) {
    m->views--;
    ReleaseIfUnusedLocked(m);
  }
  ViewRange range{v.start, v.map_length};
  g_views.erase(it);
  return range;
}

// On the releasing thread: a reaper thread was measured to fall behind under
// load, leaving unmapped views' pages mapped (docs/design.md, "Views").
void UnmapView(ViewRange range) {
  if (range.start != nullptr) munmap(range.start, range.length);
}

void ReleaseEnvViewsLocked(napi_env env) {
  EnvState* state = EnvLocked(env);
  if (state == nullptr) return;
  std::vector<uint64_t> ids(state->views.begin(), state->views.end());
  // JavaScript no longer runs on this thread: nothing can read these views.
  for (uint64_t id : ids) UnmapView(ForgetViewLocked(id, env));
}

bool ViewsOfLocked(napi_env env, const Mapping* m, std::vector<std::pair<uint64_t, napi_ref>>* out) {
  for (auto& kv : g_views) {
    if (kv.second.mapping != m->id) continue;
    if (kv.second.env != env) return false;
    out->emplace_back(kv.first, kv.second.ref);
  }
  return true;
}

void RegisterViews(Napi::Env env, Napi::Object exports, Napi::Object testing) {
  exports.Set("view", Napi::Function::New(env, MakeView, "view"));
  exports.Set("detach", Napi::Function::New(env, Detach, "detach"));
  if (testing.IsEmpty()) return;
  testing.Set("sliceView", Napi::Function::New(env, SliceView, "sliceView"));
  testing.Set("detachAny", Napi::Function::New(env, DetachAny, "detachAny"));
  testing.Set("sharedBuffer", Napi::Function::New(env, SharedBuffer, "sharedBuffer"));
}

}  // namespace pagewise
