// A signal always ends the process. The CLI's SIGINT/SIGTERM handlers are
// JavaScript, run by the main thread's event loop: they abort the run, clean
// up and exit within two seconds. A job's `map` running on that thread (the
// stream path: stdin, FIFOs) that never returns keeps them from ever running.
// This handler goes over libuv's (which the CLI's `process.on` installed) and
// calls it; it also counts the signals the JavaScript side has not
// acknowledged (`signalSeen`). If the first is still unacknowledged two
// seconds later, a watchdog thread ends the process with 128 + the signal
// number, the status the CLI would have given; a second signal a second
// after the first, or a third, does so at once. A CLI whose loop turns
// acknowledges each signal within milliseconds, so its own handling is never
// cut short.
#include "pagewise.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include <pthread.h>
#include <semaphore.h>

#include <unistd.h>

namespace pagewise {
namespace {

std::atomic<int> g_unseen{0};
std::atomic<int64_t> g_first_unseen_ms{0};
std::atomic<int> g_first_unseen_sig{0};
// Posted by the handler at a first unacknowledged signal (sem_post is async-signal-safe).
sem_t g_wake;
std::once_flag g_watchdog;
struct sigaction g_previous_int;
struct sigaction g_previous_term;

// CLOCK_MONOTONIC in milliseconds (clock_gettime is async-signal-safe).
int64_t NowMs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
}

void OnSignal(int sig, siginfo_t* info, void* context) {
  int saved_errno = errno;  // the interrupted code's, whatever the calls below do
  int unseen = g_unseen.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t now = NowMs();
  if (unseen == 1) {
    g_first_unseen_ms.store(now, std::memory_order_relaxed);
    g_first_unseen_sig.store(sig, std::memory_order_relaxed);
    sem_post(&g_wake);
  } else if (unseen >= 3 || now - g_first_unseen_ms.load(std::memory_order_relaxed) >= 1000) _exit(128 + sig);
  const struct sigaction& previous = sig == SIGINT ? g_previous_int : g_previous_term;
  if ((previous.sa_flags & SA_SIGINFO) != 0) {
    if (previous.sa_sigaction != nullptr) previous.sa_sigaction(sig, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    // libuv's (Guard never goes over SIG_DFL or SIG_IGN): it tells the event loop.
    previous.sa_handler(sig);
  }
  errno = saved_errno;
}

// The watchdog: after each first unacknowledged signal, waits up to two seconds for the
// JavaScript handler to see it, then ends the process.
void* Watch(void*) {
  for (;;) {
    while (sem_wait(&g_wake) != 0) {
    }
    for (;;) {
      if (g_unseen.load(std::memory_order_relaxed) == 0) break;
      if (NowMs() - g_first_unseen_ms.load(std::memory_order_relaxed) >= 2000) _exit(128 + g_first_unseen_sig.load(std::memory_order_relaxed));
      struct timespec step = {0, 50 * 1000 * 1000};
      nanosleep(&step, nullptr);
    }
  }
  return nullptr;
}

// Installs OnSignal over the handler of `sig` if that is a handler (libuv's), keeping it in `previous`.
bool Guard(int sig, struct sigaction* previous) {
  struct sigaction now;
  if (sigaction(sig, nullptr, &now) != 0) return false;
  bool is_ours = (now.sa_flags & SA_SIGINFO) != 0 && now.sa_sigaction == OnSignal;
  if (is_ours) return true;
  bool handler = (now.sa_flags & SA_SIGINFO) != 0 ? now.sa_sigaction != nullptr : now.sa_handler != SIG_DFL && now.sa_handler != SIG_IGN;
  if (!handler) return false;
  *previous = now;
  struct sigaction mine;
  std::memset(&mine, 0, sizeof mine);
  mine.sa_sigaction = OnSignal;
  mine.sa_mask = now.sa_mask;
  mine.sa_flags = (now.sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
  return sigaction(sig, &mine, nullptr) == 0;
}

// guardSignals(): true when both SIGINT and SIGTERM have a handler and OnSignal now runs first.
Napi::Value GuardSignals(const Napi::CallbackInfo& info) {
  // pthreads rather than std::thread: the prebuilt addons' glibc baseline (scripts/glibc-baseline).
  std::call_once(g_watchdog, [] {
    sem_init(&g_wake, 0, 0);
    pthread_t watchdog;
    if (pthread_create(&watchdog, nullptr, Watch, nullptr) == 0) pthread_detach(watchdog);
  });
  bool a = Guard(SIGINT, &g_previous_int);
  bool b = Guard(SIGTERM, &g_previous_term);
  return Napi::Boolean::New(info.Env(), a && b);
}

// signalSeen(): the JavaScript side has run its handler; the count starts again.
Napi::Value SignalSeen(const Napi::CallbackInfo& info) {
  g_unseen.store(0, std::memory_order_relaxed);
  return info.Env().Undefined();
}

}  // namespace

void RegisterSignals(Napi::Env env, Napi::Object exports) {
  exports.Set("guardSignals", Napi::Function::New(env, GuardSignals, "guardSignals"));
  exports.Set("signalSeen", Napi::Function::New(env, SignalSeen, "signalSeen"));
}

}  // namespace pagewise
