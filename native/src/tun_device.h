// TunDevice: a TUN interface (IFF_TUN | IFF_NO_PI: bare IP packets, no packet-info header)
// read by the libuv loop. See native/index.d.ts for the JS surface.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "polled_fd.h"

namespace ikegate {

class TunDevice : public FdObject<TunDevice> {
 public:
  static Napi::Function Init(Napi::Env env);

  // new TunDevice(name)  ('' lets the kernel pick tunN)
  explicit TunDevice(const Napi::CallbackInfo& info);

 private:
  Napi::Value Name(const Napi::CallbackInfo& info);
  void OnPacket(const Napi::CallbackInfo& info);
  void Write(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  void OnReadable(int status) override;

  std::string name_;
};

}  // namespace ikegate
