// The scan gate and the threadpool probe both count threads under a mutex and
// wait on the count; Counter is that, once.
#include "pagewise.h"

namespace pagewise {

void Counter::Enter(int limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return count_ < limit; });
  count_++;
  if (count_ > peak_) peak_ = count_;
  cv_.notify_all();  // a WaitForPeak may be satisfied now
}

void Counter::Leave() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    count_--;
  }
  cv_.notify_all();
}

void Counter::WaitForPeak(int target, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return peak_ >= target; });
}

int Counter::Peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

}  // namespace pagewise
