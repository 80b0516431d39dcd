// threadpoolConcurrency: how many tasks libuv's threadpool really runs at
// once. `pagewise info` and the tests use it to see the pool a process got.
#include "pagewise.h"

#include <memory>

namespace pagewise {
namespace {

// One of n tasks that each wait (up to timeoutMs) until all n run at once;
// the promise resolves with the most that ran together: n when the pool has
// at least n threads, the pool size otherwise.
class ProbeWorker : public Napi::AsyncWorker {
 public:
  ProbeWorker(Napi::Env env, std::shared_ptr<Counter> meeting, int n, int timeout_ms, std::shared_ptr<int> left,
              Napi::Promise::Deferred deferred)
      : Napi::AsyncWorker(env, "pagewise.rendezvous"),
        meeting_(std::move(meeting)),
        n_(n),
        timeout_ms_(timeout_ms),
        left_(std::move(left)),
        deferred_(deferred) {}
  void Execute() override {
    meeting_->Enter(n_);
    meeting_->WaitForPeak(n_, std::chrono::milliseconds(timeout_ms_));
    meeting_->Leave();
  }
  void OnOK() override {
    // Settled by the last of the n tasks to come back (all on the main thread).
    if (--*left_ == 0) deferred_.Resolve(Napi::Number::New(Env(), meeting_->Peak()));
  }

 private:
  std::shared_ptr<Counter> meeting_;
  int n_;
  int timeout_ms_;
  std::shared_ptr<int> left_;
  Napi::Promise::Deferred deferred_;
};

// threadpoolConcurrency(n, timeoutMs) -> Promise<number>
Napi::Value ThreadpoolConcurrency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = info[0].As<Napi::Number>().Int32Value();
  int timeout_ms = info[1].As<Napi::Number>().Int32Value();
  if (n < 1 || n > 1024) throw Napi::RangeError::New(env, "n must be from 1 to 1024");
  auto meeting = std::make_shared<Counter>();
  auto left = std::make_shared<int>(n);
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  for (int i = 0; i < n; i++) (new ProbeWorker(env, meeting, n, timeout_ms, left, deferred))->Queue();
  return deferred.Promise();
}

}  // namespace

void RegisterProbe(Napi::Env env, Napi::Object exports) {
  exports.Set("threadpoolConcurrency", Napi::Function::New(env, ThreadpoolConcurrency, "threadpoolConcurrency"));
}

}  // namespace pagewise
