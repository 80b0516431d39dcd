// SIGBUS repair. A read (or write) of a page of a mapped file past the file's
// current end raises SIGBUS: the file shrank after it was mapped, or, for a
// writable mapping, the file system could not allocate the page. For an
// address inside one of our ranges the handler maps an anonymous zero page
// over the faulting page and counts the fault for the file; the faulting
// access is then retried and reads zeros. The engine sees the count and fails
// the run with ERR_PAGEWISE_FILE_TRUNCATED, so the zeros are never reported
// as data. Nothing here longjmps across V8 frames.
//
// The handler may not lock or allocate, so the ranges live in slabs of
// atomics that are never freed: a slab is published (release store) before
// the count of slots in use covers it, and the handler scans only that many.
#include "pagewise.h"

#include <csignal>
#include <cstring>
#include <vector>

#include <sys/mman.h>

namespace pagewise {
namespace faults {
namespace {

constexpr size_t kSlabSlots = 4096;
constexpr size_t kMaxSlabs = 256;  // a million slots: far past vm.max_map_count

struct Slot {
  std::atomic<uintptr_t> start{0};  // 0: covers nothing
  std::atomic<uintptr_t> end{0};
  std::atomic<int> prot{PROT_READ};
  std::atomic<int> owner{0};  // the slot whose counter this range's faults go to
  std::atomic<uint64_t> faults{0};
};

std::atomic<Slot*> g_slabs[kMaxSlabs];
std::atomic<size_t> g_used{0};  // slots ever handed out: the handler scans these
size_t g_limit = kSlabSlots * kMaxSlabs;
size_t g_in_use = 0;
std::vector<int> g_free;

struct sigaction g_previous;
std::once_flag g_once;

Slot* At(size_t i) {
  Slot* slab = g_slabs[i / kSlabSlots].load(std::memory_order_acquire);
  return slab == nullptr ? nullptr : slab + i % kSlabSlots;
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  size_t used = g_used.load(std::memory_order_acquire);
  for (size_t i = 0; i < used; i++) {
    Slot* s = At(i);
    if (s == nullptr) break;
    uintptr_t start = s->start.load(std::memory_order_acquire);
    if (start == 0 || addr < start || addr >= s->end.load(std::memory_order_acquire)) continue;
    uintptr_t page = addr & ~static_cast<uintptr_t>(PageSize() - 1);
    void* p = mmap(reinterpret_cast<void*>(page), static_cast<size_t>(PageSize()), s->prot.load(std::memory_order_relaxed),
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) break;  // cannot repair: fall through to the default action
    Slot* owner = At(static_cast<size_t>(s->owner.load(std::memory_order_relaxed)));
    (owner != nullptr ? owner : s)->faults.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Not ours: hand it to whoever was installed before us.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting access repeats and
  // the process dies of SIGBUS as it would have without us.
  signal(SIGBUS, SIG_DFL);
}

}  // namespace

void InstallSigbusHandler() {
  std::call_once(g_once, [] {
    PageSize();  // the handler must not be the first to ask
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &g_previous);
  });
}

int Reserve() {
  if (g_in_use >= g_limit) return kNone;
  int slot;
  if (!g_free.empty()) {
    slot = g_free.back();
    g_free.pop_back();
  } else {
    size_t next = g_used.load(std::memory_order_relaxed);
    if (next >= kSlabSlots * kMaxSlabs) return kNone;
    if (next % kSlabSlots == 0) g_slabs[next / kSlabSlots].store(new Slot[kSlabSlots], std::memory_order_release);
    g_used.store(next + 1, std::memory_order_release);
    slot = static_cast<int>(next);
  }
  Slot* s = At(static_cast<size_t>(slot));
  s->faults.store(0, std::memory_order_relaxed);
  s->owner.store(slot, std::memory_order_relaxed);
  g_in_use++;
  return slot;
}

void Publish(int slot, uintptr_t start, uintptr_t end, bool writable, int owner) {
  Slot* s = At(static_cast<size_t>(slot));
  // A write into a writable range's repaired page must not fault again.
  s->prot.store(writable ? PROT_READ | PROT_WRITE : PROT_READ, std::memory_order_relaxed);
  s->owner.store(owner, std::memory_order_relaxed);
  s->end.store(end, std::memory_order_release);
  s->start.store(start, std::memory_order_release);
}

void Clear(int slot) {
  if (slot == kNone) return;
  // Before munmap, so the handler never claims a range that the kernel may
  // hand to someone else.
  Slot* s = At(static_cast<size_t>(slot));
  s->start.store(0, std::memory_order_release);
  s->end.store(0, std::memory_order_release);
}

void Free(int slot) {
  if (slot == kNone) return;
  Clear(slot);
  g_free.push_back(slot);
  g_in_use--;
}

uint64_t FaultCount(int slot) {
  if (slot == kNone) return 0;
  return At(static_cast<size_t>(slot))->faults.load(std::memory_order_relaxed);
}

size_t InUse() { return g_in_use; }
size_t Limit() { return g_limit; }
void SetLimit(size_t limit) { g_limit = limit == 0 || limit > kSlabSlots * kMaxSlabs ? kSlabSlots * kMaxSlabs : limit; }

}  // namespace faults
}  // namespace pagewise
