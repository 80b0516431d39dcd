// Module init. Node calls it once per environment (the main thread and each
// worker thread: NAPI_MODULE_INIT makes the addon context-aware); the state
// behind the functions is process-wide, under g_mutex (pagewise.h).
#include "pagewise.h"

#include <cstdlib>
#include <cstring>

namespace pagewise {
namespace {

Napi::Value JsPageSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(PageSize())); }

// Test-only entry points live on `testing`, exported only when the process
// was started with PAGEWISE_TEST_HOOKS=1.
bool TestHooksWanted() {
  const char* flag = std::getenv("PAGEWISE_TEST_HOOKS");
  return flag != nullptr && std::strcmp(flag, "1") == 0;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  faults::InstallSigbusHandler();
  Napi::Object constants = Napi::Object::New(env);
  Napi::Object testing = TestHooksWanted() ? Napi::Object::New(env) : Napi::Object();
  RegisterRegistry(env, exports, testing);
  RegisterViews(env, exports, testing);
  RegisterWritable(env, exports);
  RegisterAdvice(env, exports, constants);
  RegisterKernels(env, exports);
  RegisterScan(env, exports, constants, testing);
  RegisterProbe(env, exports);
  RegisterSignals(env, exports);
  exports.Set("pageSize", Napi::Function::New(env, JsPageSize, "pageSize"));
  exports.Set("constants", constants);
  if (!testing.IsEmpty()) exports.Set("testing", testing);
  return exports;
}

}  // namespace
}  // namespace pagewise

NAPI_MODULE_INIT() { return Napi::RegisterModule(env, exports, pagewise::Init); }
