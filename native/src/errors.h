// Errors thrown by the addon. A failed system call becomes an Error shaped like Node's own
// system errors: `code` ('EPERM'), `errno` (negative, as in Node: -1 for EPERM), `syscall`
// ('setsockopt'), message "<syscall> <CODE>: <description>[ (<detail>)]".
// Bad arguments become TypeError / RangeError with Node's ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE.
#pragma once

#include <napi.h>

#include <string>

namespace ikegate {

// err is a positive errno value as returned by the C library.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);

[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message);

// Argument readers: throw TypeError/RangeError unless info[index] is an integer within [min, max].
int64_t IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min, int64_t max);

// Bytes of a Uint8Array (any TypedArray or DataView is accepted); throws TypeError otherwise.
struct ByteView {
  const uint8_t* data;
  size_t length;
};
ByteView BytesArg(const Napi::CallbackInfo& info, size_t index, const char* name);

Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t index, const char* name);

}  // namespace ikegate
