// scan: byte kernels over a range of a mapping on libuv's threadpool, with no
// view and no JavaScript, behind an optional gate. The op numbers are defined
// here once and exported as constants.scanOps.
#include "pagewise.h"

#include "kernels.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include <sys/mman.h>

namespace pagewise {
namespace {

// One pass over the range; Kind is the number JavaScript passes. Most ops
// make one number; countWcUtf8 makes three (lines, words, chars) and
// csvSummaryChecked nine (the CSV first pass's summary, CsvFirstPassNumbers,
// offsets from the range's start). copyRecordsContaining makes one (the
// records it selected) and the bytes of those records.
struct ScanOp {
  enum Kind { kCountByte = 0, kCountRecordsContaining = 1, kCountWords = 2, kCountWcUtf8 = 3, kCsvSummaryChecked = 4, kCopyRecordsContaining = 5, kKinds } kind;
  uint8_t byte = 0;      // the byte to count, the records' terminator, or the CSV quote
  std::string needle;    // copied: the caller's array may move or die (csvSummaryChecked: the delimiter)
};
const char* const kOpNames[ScanOp::kKinds] = {"countByte", "countRecordsContaining", "countWords", "countWcUtf8", "csvSummaryChecked", "copyRecordsContaining"};

// How many numbers an op of this kind makes.
size_t Arity(ScanOp::Kind kind) {
  switch (kind) {
    case ScanOp::kCountWcUtf8: return 3;
    case ScanOp::kCsvSummaryChecked: return kCsvFirstPassNumbers;
    default: return 1;
  }
}

size_t TotalCounts(const std::vector<ScanOp>& ops) {
  size_t n = 0;
  for (const ScanOp& op : ops) n += Arity(op.kind);
  return n;
}

// At most `slots` scans of one run read at a time. The engine queues one
// chunk more per lane than can run, so a pool thread that finishes a chunk
// starts the next at once instead of waiting for the main thread to wake up
// and dispatch it; the gate keeps a pool larger than the run's threads from
// running the queued chunks too.
struct Gate {
  explicit Gate(int n) : slots(n) {}
  int slots;
  Counter readers;
};
using GateRef = std::shared_ptr<Gate>;

// Marks the externals that are gates, so that no other addon's External is
// ever read as one.
const napi_type_tag kGateTag = {0x70616765776973e1ULL, 0x6761746500000001ULL};

GateRef* GateOf(const Napi::Value& value) {
  if (!value.IsExternal()) return nullptr;
  Napi::External<GateRef> external = value.As<Napi::External<GateRef>>();
  if (!external.CheckTypeTag(&kGateTag)) return nullptr;
  return external.Data();
}

// Runs the ops over [offset, offset + length) of a mapping on a pool thread
// and resolves a promise with one count per op. The Pin holds the mapping in
// place until the work is done, even if the engine closes its handle (an
// aborted run) meanwhile. A page past a shrunken file's end reads as zeros
// through the SIGBUS handler, on this thread as on any other; the engine
// checks the fault count after every chunk.
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
        counts_(TotalCounts(ops_), 0),
        drop_(drop) {}

  ~ScanWorker() override { std::free(copied_); }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    if (length_ == 0) {
      // Nothing to read; a CSV summary of nothing still says "none" (-1).
      for (size_t k = 0, at = 0; k < ops_.size(); at += Arity(ops_[k].kind), k++) {
        if (ops_[k].kind == ScanOp::kCsvSummaryChecked) CsvFirstPassNumbers(CsvSummaryChecked(nullptr, 0, 0, 0, 0, 0), 0, &counts_[at]);
      }
      return;
    }
    if (gate_) gate_->readers.Enter(gate_->slots);
    const uint8_t* p = pin_->base + offset_;
    size_t n = static_cast<size_t>(length_);
    PopulateIfCached();
    size_t at = 0;
    for (const ScanOp& op : ops_) {
      switch (op.kind) {
        case ScanOp::kCountByte: counts_[at] = static_cast<double>(CountByte(p, n, op.byte)); break;
        case ScanOp::kCountRecordsContaining:
          counts_[at] = static_cast<double>(CountRecordsContaining(p, n, reinterpret_cast<const uint8_t*>(op.needle.data()), op.needle.size(), op.byte));
          break;
        case ScanOp::kCountWords: counts_[at] = static_cast<double>(CountWords(p, n)); break;
        case ScanOp::kCountWcUtf8: {
          WcCounts c = CountWcUtf8(p, n);
          counts_[at] = static_cast<double>(c.lines);
          counts_[at + 1] = static_cast<double>(c.words);
          counts_[at + 2] = static_cast<double>(c.chars);
          break;
        }
        case ScanOp::kCopyRecordsContaining: {
          // Room for every byte and a terminator after an unended last
          // record. Only the pages written are ever touched; what is left
          // over goes back at once (a shrinking realloc of a block this large
          // is an mremap).
          uint8_t* out = static_cast<uint8_t*>(std::malloc(n + 1));
          if (out == nullptr) {
            SetError("copyRecordsContaining: out of memory for " + std::to_string(n + 1) + " bytes");
            break;
          }
          uint64_t records = 0;
          size_t written = CopyRecordsContaining(p, n, reinterpret_cast<const uint8_t*>(op.needle.data()), op.needle.size(), op.byte, out, &records);
          counts_[at] = static_cast<double>(records);
          if (written == 0) {
            std::free(out);
          } else {
            uint8_t* shrunk = static_cast<uint8_t*>(std::realloc(out, written));
            copied_ = shrunk != nullptr ? shrunk : out;
            copied_length_ = written;
          }
          break;
        }
        case ScanOp::kCsvSummaryChecked: {
          // The strict checks look at the byte before the range and the two
          // after it, where the mapping has them.
          uint8_t delimiter = op.needle.empty() ? ',' : static_cast<uint8_t>(op.needle[0]);
          size_t before = offset_ > 0 ? 1 : 0;
          size_t after = static_cast<size_t>(std::min<uint64_t>(2, pin_->size - offset_ - length_));
          CsvFirstPass c = CsvSummaryChecked(p - before, before + n + after, before, before + n, op.byte, delimiter);
          CsvFirstPassNumbers(c, -static_cast<double>(before), &counts_[at]);
          break;
        }
        default: break;
      }
      at += Arity(op.kind);
    }
    if (gate_) gate_->readers.Leave();
    if (drop_) {
      // Drop this range's page-table entries now, on this thread, while the
      // other lanes still read: the pages stay in the page cache, and the
      // munmap at close no longer tears them all down alone on the main
      // thread. A later read faults the page in again from the cache.
      uint64_t start = PageDown(offset_), end = offset_ + length_;
      if (HasCsvOp()) {
        // The CSV summary also read the byte before the range and the two
        // after it, and each of those faults mapped the fault-around window
        // (64 KiB) or the PMD-mapped folio (2 MiB) around it: the whole 2 MiB
        // blocks holding them go too, or each chunk left that much mapped.
        // A neighbour still scanning there faults its pages back.
        const uint64_t kBlock = 2 << 20;
        start = offset_ > 0 ? (offset_ - 1) & ~(kBlock - 1) : 0;
        end = std::min<uint64_t>(pin_->size, (end + 2 + kBlock - 1) & ~(kBlock - 1));
      }
      madvise(pin_->base + start, static_cast<size_t>(end - start), MADV_DONTNEED);
    }
  }

  // The byte counts (and the CSV summary, since its kernel runs at 4 GB/s)
  // run at memory speed, where a page fault per 64 KiB of fault-around costs
  // more than the count: when the range is in the page cache, map it in one
  // call first (MADV_POPULATE_READ, Linux 5.14+), as the C limit program
  // does. Not for a range that must come from the disk (a synchronous read of
  // the whole chunk would stop the lane until it is in). An error (an old
  // kernel, a range past a shrunken end) leaves the faults to happen.
  void PopulateIfCached() const {
#if defined(__linux__)
    uint64_t start = PageDown(offset_);
    size_t len = static_cast<size_t>(PageUp(offset_ + length_) - start);
    size_t pages = len / PageSize();
    unsigned char v = 0;
    for (size_t i = 0; i < 8 && i < pages; i++) {
      size_t page = (2 * i + 1) * pages / 16;
      if (mincore(pin_->base + start + page * PageSize(), PageSize(), &v) != 0 || (v & 1) == 0) return;
    }
    madvise(pin_->base + start, len, 22 /* MADV_POPULATE_READ */);
#endif
  }

  bool HasCsvOp() const {
    for (const ScanOp& op : ops_) if (op.kind == ScanOp::kCsvSummaryChecked) return true;
    return false;
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, counts_.size());
    for (size_t i = 0; i < counts_.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, counts_[i]));
    if (copied_ != nullptr) {
      // Handed over, not copied again: the array owns the block and frees it when collected.
      Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, copied_, copied_length_, [](Napi::Env, void* data) { std::free(data); });
      copied_ = nullptr;
      out.Set("bytes", Napi::Uint8Array::New(env, copied_length_, buffer, 0));
    }
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
  std::vector<double> counts_;  // every count and offset fits a double exactly (< 2^53)
  bool drop_;
  uint8_t* copied_ = nullptr;  // copyRecordsContaining's records (malloc'd), until OnOK hands them over
  size_t copied_length_ = 0;
};

// scan(id, offset, length, ops[, gate, drop]) -> Promise<number[]>, the
// counts of the ops { op, byte?, needle? } (op: constants.scanOps) in order,
// three for countWcUtf8, nine for csvSummaryChecked and one for each other.
// With a copyRecordsContaining op (at most one), the array's `bytes` holds
// the records it selected, each ended by the terminator (absent: none).
// The range must lie inside the mapping and hold whole records (TypeScript
// cuts it; a CSV summary's range need not). With `drop` the pool thread then
// drops the range's page-table entries (MADV_DONTNEED).
Napi::Value Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0);
  uint64_t offset = ArgU64(info, 1);
  uint64_t length = ArgU64(info, 2);
  Napi::Array list = info[3].As<Napi::Array>();
  std::vector<ScanOp> ops;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object o = list.Get(i).As<Napi::Object>();
    ScanOp op;
    int kind = o.Get("op").As<Napi::Number>().Int32Value();
    if (kind < 0 || kind >= ScanOp::kKinds) throw Napi::RangeError::New(env, "unknown scan op " + std::to_string(kind));
    op.kind = static_cast<ScanOp::Kind>(kind);
    Napi::Value byte = o.Get("byte");
    if (byte.IsNumber()) op.byte = static_cast<uint8_t>(byte.As<Napi::Number>().Uint32Value() & 0xff);
    Napi::Value needle = o.Get("needle");
    if (needle.IsTypedArray()) {
      Napi::Uint8Array u8 = needle.As<Napi::Uint8Array>();
      op.needle.assign(reinterpret_cast<const char*>(u8.Data()), u8.ElementLength());
    }
    if (op.kind == ScanOp::kCopyRecordsContaining) {
      for (const ScanOp& other : ops) {
        if (other.kind == ScanOp::kCopyRecordsContaining) throw Napi::RangeError::New(env, "scan: at most one copyRecordsContaining op");
      }
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

// testing.gateMostActive(gate) -> the most scans that read through it at once so far.
Napi::Value GateMostActive(const Napi::CallbackInfo& info) {
  GateRef* gate = GateOf(info[0]);
  if (gate == nullptr) throw Napi::TypeError::New(info.Env(), "expected a gate from gate(n)");
  return Napi::Number::New(info.Env(), (*gate)->readers.Peak());
}

}  // namespace

void RegisterScan(Napi::Env env, Napi::Object exports, Napi::Object constants, Napi::Object testing) {
  exports.Set("scan", Napi::Function::New(env, Scan, "scan"));
  exports.Set("gate", Napi::Function::New(env, CreateGate, "gate"));
  Napi::Object ops = Napi::Object::New(env);
  for (int i = 0; i < ScanOp::kKinds; i++) ops.Set(kOpNames[i], Napi::Number::New(env, i));
  constants.Set("scanOps", ops);
  if (!testing.IsEmpty()) testing.Set("gateMostActive", Napi::Function::New(env, GateMostActive, "gateMostActive"));
}

}  // namespace pagewise
