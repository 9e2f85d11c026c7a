// Errno-rich errors and argument checks shared by every part of the addon.
#include "errors.h"

#include <uv.h>

#include <cstring>

namespace ikegate {

namespace {

// Symbolic name of a positive errno ("EPERM"). libuv knows the portable ones; glibc the rest.
std::string ErrnoName(int err) {
  char buf[64];
  uv_err_name_r(-err, buf, sizeof(buf));
  std::string name(buf);
#ifdef __GLIBC__
  if (name.rfind("Unknown", 0) == 0) {
    if (const char* glibcName = strerrorname_np(err)) name = glibcName;
  }
#endif
  return name;
}

std::string ErrnoDescription(int err) {
  char buf[128];
  uv_strerror_r(-err, buf, sizeof(buf));
  return buf;
}

}  // namespace

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  std::string code = ErrnoName(err);
  std::string message = std::string(syscall) + " " + code + ": " + ErrnoDescription(err);
  if (!detail.empty()) message += " (" + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("code", Napi::String::New(env, code));
  obj.Set("errno", Napi::Number::New(env, -err));
  obj.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  throw ErrnoError(env, err, syscall, detail);
}

void ThrowTypeError(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Value().Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  throw error;
}

void ThrowRangeError(Napi::Env env, const std::string& message) {
  Napi::RangeError error = Napi::RangeError::New(env, message);
  error.Value().Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  throw error;
}

int64_t IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min, int64_t max) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsNumber()) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must be of type number");
  }
  double value = info[index].As<Napi::Number>().DoubleValue();
  if (!(value >= double(min) && value <= double(max)) || value != double(int64_t(value))) {
    ThrowRangeError(env, std::string("The value of \"") + name + "\" is out of range. It must be an integer >= " +
                             std::to_string(min) + " and <= " + std::to_string(max));
  }
  return int64_t(value);
}

ByteView BytesArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Env env = info.Env();
  if (index < info.Length()) {
    Napi::Value value = info[index];
    if (value.IsTypedArray()) {
      Napi::TypedArray array = value.As<Napi::TypedArray>();
      const uint8_t* base = static_cast<const uint8_t*>(array.ArrayBuffer().Data());
      return ByteView{base + array.ByteOffset(), array.ByteLength()};
    }
    if (value.IsDataView()) {
      Napi::DataView view = value.As<Napi::DataView>();
      const uint8_t* base = static_cast<const uint8_t*>(view.ArrayBuffer().Data());
      return ByteView{base + view.ByteOffset(), view.ByteLength()};
    }
  }
  ThrowTypeError(env, std::string("The \"") + name + "\" argument must be a Uint8Array");
}

Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || !info[index].IsFunction()) {
    ThrowTypeError(info.Env(), std::string("The \"") + name + "\" argument must be of type function");
  }
  return info[index].As<Napi::Function>();
}

}  // namespace ikegate
