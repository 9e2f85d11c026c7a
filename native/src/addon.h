// Per-environment state of the addon (Napi::Addon instance data): one per main thread or
// worker that loads it, never static.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

namespace ikegate {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);

  // Scratch buffer every socket and TUN device of this environment reads into before copying
  // the datagram into a Buffer. Reads only happen on this environment's loop thread, and
  // each datagram is copied out before any JS runs, so one buffer serves them all.
  static constexpr size_t kReadBufferSize = 65536;
  std::vector<uint8_t>& ReadBuffer() {
    if (readBuffer_.empty()) readBuffer_.resize(kReadBufferSize);
    return readBuffer_;
  }

  static Addon& Of(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

 private:
  Napi::Value SetUdpEncap(const Napi::CallbackInfo& info);
  Napi::Value SetIpsecBypass(const Napi::CallbackInfo& info);
  Napi::Value StructLayout(const Napi::CallbackInfo& info);

  std::vector<uint8_t> readBuffer_;
};

}  // namespace ikegate
