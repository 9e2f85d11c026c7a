// ikegate native addon: only what Node lacks (architecture.md §12 item 18, "native code is a
// socket"). A netlink socket and a TUN device driven by the libuv loop, and the two socket
// options IKE needs on its UDP sockets. Typed surface: native/index.d.ts; loader:
// src/xfrm/netlink/binding.ts.
//
// Context-aware: all state hangs off the JS objects of one environment (the classes are
// defined per instance by Napi::Addon, see addon.h); nothing is static and mutable, so the
// addon loads in worker threads and more than once.
#include "addon.h"

#include "layout.h"
#include "netlink_socket.h"
#include "sockopt.h"
#include "tun_device.h"

namespace ikegate {

Addon::Addon(Napi::Env env, Napi::Object exports) {
  DefineAddon(exports, {
                           InstanceValue("NetlinkSocket", NetlinkSocket::Init(env), napi_enumerable),
                           InstanceValue("TunDevice", TunDevice::Init(env), napi_enumerable),
                           InstanceMethod<&Addon::SetUdpEncap>("setUdpEncap", napi_enumerable),
                           InstanceMethod<&Addon::SetIpsecBypass>("setIpsecBypass", napi_enumerable),
                           InstanceMethod<&Addon::StructLayout>("structLayout", napi_enumerable),
                       });
}

Napi::Value Addon::SetUdpEncap(const Napi::CallbackInfo& info) {
  ikegate::SetUdpEncap(info);
  return info.Env().Undefined();
}

Napi::Value Addon::SetIpsecBypass(const Napi::CallbackInfo& info) {
  ikegate::SetIpsecBypass(info);
  return info.Env().Undefined();
}

Napi::Value Addon::StructLayout(const Napi::CallbackInfo& info) { return ikegate::StructLayout(info); }

}  // namespace ikegate

// NODE_API_ADDON pastes the name into an identifier: it needs an unqualified one.
using IkegateAddon = ikegate::Addon;
NODE_API_ADDON(IkegateAddon)
