// structLayout(): sizeof/offsetof of the kernel structs the TypeScript codecs lay out by hand.
#pragma once

#include <napi.h>

namespace ikegate {

Napi::Value StructLayout(const Napi::CallbackInfo& info);

}  // namespace ikegate
