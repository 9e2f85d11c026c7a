// NetlinkSocket: an AF_NETLINK raw socket bound to a kernel-assigned port id, read by the
// libuv loop. See native/index.d.ts for the JS surface.
#pragma once

#include <napi.h>

#include <cstdint>

#include "polled_fd.h"

namespace ikegate {

class NetlinkSocket : public FdObject<NetlinkSocket> {
 public:
  static Napi::Function Init(Napi::Env env);

  // new NetlinkSocket(protocol, groups = 0)
  explicit NetlinkSocket(const Napi::CallbackInfo& info);

 private:
  Napi::Value PortId(const Napi::CallbackInfo& info);
  void Send(const Napi::CallbackInfo& info);
  void OnMessage(const Napi::CallbackInfo& info);
  void OnError(const Napi::CallbackInfo& info);
  void AddMembership(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  void OnReadable(int status) override;

  uint32_t portId_ = 0;
};

}  // namespace ikegate
