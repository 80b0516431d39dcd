// pagewise native addon: the declarations its files share. Each .cc holds one
// concern and registers its own functions (Register* below); addon.cc calls
// them from the module's init, once per Node-API environment (the main
// thread and every worker thread). No job logic lives here; argument checks
// happen in TypeScript (src/native.ts) before these functions are called.
//
// Lifetime model: a Mapping is shared by every thread of the process (worker
// threads share the address space) and lives in one registry under g_mutex.
// It has three counts: `opens` (handles held by JavaScript), `views` (views
// not yet released) and `pins` (native calls reading it without the lock).
// Its fd and fault counter live until all three are zero. Each view is a
// mapping of its own (views.cc), so releasing one unmaps only its pages.
#pragma once

#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace pagewise {

// ------------------------------------------------------------- errors.cc --

const char* ErrnoName(int err);
// An Error shaped like Node's fs errors: code, errno (negative), syscall, path.
Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const std::string& path);
Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message);

uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i);
uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i);
uint64_t PageSize();
inline uint64_t PageDown(uint64_t x) { return x & ~(PageSize() - 1); }
inline uint64_t PageUp(uint64_t x) { return (x + PageSize() - 1) & ~(PageSize() - 1); }

// ------------------------------------------------------------ counter.cc --

// A count under a mutex that threads wait on, and the most it ever held: the
// one primitive behind the scan gate and the threadpool probe.
class Counter {
 public:
  // Waits until the count is below `limit`, then adds one.
  void Enter(int limit);
  // Subtracts one and wakes the waiters.
  void Leave();
  // Waits, at most `timeout`, until the most ever held reaches `target`.
  void WaitForPeak(int target, std::chrono::milliseconds timeout);
  int Peak();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_ = 0;
  int peak_ = 0;
};

// ------------------------------------------------------------- sigbus.cc --

// Fault slots: address ranges the SIGBUS handler repairs (a page past a
// shrunken file's end becomes a zero page) and the fault counters it bumps.
// Slots live in slabs that are never freed, published with release stores,
// so the handler reads them without locks. Every function but
// InstallSigbusHandler and FaultCount is called with g_mutex held.
namespace faults {
constexpr int kNone = -1;
void InstallSigbusHandler();
// A free slot counting for itself, or kNone when the limit is reached.
int Reserve();
// Covers [start, end) with `slot`, counting into `owner`'s counter.
void Publish(int slot, uintptr_t start, uintptr_t end, bool writable, int owner);
// Stops covering any range (before the range is unmapped).
void Clear(int slot);
void Free(int slot);
uint64_t FaultCount(int slot);
size_t InUse();
size_t Limit();
void SetLimit(size_t limit);  // test hook
}  // namespace faults

// ----------------------------------------------------------- registry.cc --

enum class Access { kRead, kWrite };

struct Mapping {
  uint32_t id = 0;
  int fd = -1;
  Access access = Access::kRead;
  uint8_t* base = nullptr;  // nullptr for a 0-byte file: nothing is mapped
  uint64_t size = 0;        // the mapping's length (the size at open, or resize)
  uint64_t dev = 0, ino = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;  // at open: a changed file gets a new mapping
  std::string path;
  uint32_t opens = 0;
  uint64_t views = 0;
  uint64_t pins = 0;
  int slot = faults::kNone;  // covers base..base+size and holds the file's fault count
  int view_advice = 0;       // madvise value every new view gets (0: none)
  bool view_hugepage = false;
  bool resizing = false;     // resize() runs without the lock: no new views or pins
};

// Per-environment (thread) bookkeeping, so that a terminated worker's
// handles and views are released by its cleanup hook.
struct EnvState {
  napi_env env = nullptr;
  std::unordered_map<uint32_t, uint32_t> opens;  // mapping id -> handles held here
  std::unordered_set<uint64_t> views;            // view ids made here
};

extern std::mutex g_mutex;
// Each function below: the caller holds g_mutex.
Mapping* FindLocked(Napi::Env env, uint32_t id);  // throws ERR_PAGEWISE_CLOSED
Napi::Error BusyError(Napi::Env env, const Mapping* m);
Mapping* LookupLocked(uint32_t id);                // nullptr if gone
void ReleaseIfUnusedLocked(Mapping* m);
EnvState* EnvLocked(napi_env env);                 // nullptr once cleaned up

// Maps the regular file open on `fd` whole and registers it; owns `fd`
// (closed on failure). Returns open()'s description of the mapping.
Napi::Value MapFile(Napi::Env env, int fd, const std::string& path, Access access);

// Holds a mapping in place while native code reads it without the mutex,
// so a concurrent close() cannot unmap it mid-call.
class Pin {
 public:
  Pin(Napi::Env env, uint32_t id);
  ~Pin();
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;
  uint8_t* base = nullptr;
  uint64_t size = 0;
  uint32_t opens = 0;  // handles at pin time; 0: only views keep it
  int fd = -1;
  bool writable = false;

 private:
  uint32_t id_;
};

// -------------------------------------------------------------- views.cc --

// A view's own mapping, to be unmapped once the view is unregistered.
struct ViewRange {
  void* start = nullptr;
  size_t length = 0;
};
// Each function below: the caller holds g_mutex.
// Releases every view `env` made (its cleanup hook), unmapping them.
void ReleaseEnvViewsLocked(napi_env env);
// The live views of `m` (ids and weak references), or false if one of them
// was made in another environment than `env` (resize cannot detach those).
bool ViewsOfLocked(napi_env env, const Mapping* m, std::vector<std::pair<uint64_t, napi_ref>>* out);
// Unregisters view `id` if it still is, from `env`'s thread; unmap the
// result with UnmapView after unlocking.
ViewRange ForgetViewLocked(uint64_t id, napi_env env);
void UnmapView(ViewRange range);

// ------------------------------------------------------------ CSV glue --

struct CsvFirstPass;
// The nine numbers of a CsvFirstPass in SUMMARY's order (src/csv/scan.ts),
// offsets moved by `base` (-1 stays -1): what csvSummaryChecked and the scan
// op of that name give JavaScript.
constexpr size_t kCsvFirstPassNumbers = 9;
void CsvFirstPassNumbers(const CsvFirstPass& s, double base, double* out);

// ------------------------------------------------------ per-file register --

void RegisterRegistry(Napi::Env env, Napi::Object exports, Napi::Object testing);
void RegisterViews(Napi::Env env, Napi::Object exports, Napi::Object testing);
void RegisterWritable(Napi::Env env, Napi::Object exports);
void RegisterAdvice(Napi::Env env, Napi::Object exports, Napi::Object constants);
void RegisterKernels(Napi::Env env, Napi::Object exports);
void RegisterScan(Napi::Env env, Napi::Object exports, Napi::Object constants, Napi::Object testing);
void RegisterProbe(Napi::Env env, Napi::Object exports);
void RegisterSignals(Napi::Env env, Napi::Object exports);

}  // namespace pagewise
