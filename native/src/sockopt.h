// Socket options Node's dgram cannot set: UDP_ENCAP and the per-socket IPsec bypass policy.
#pragma once

#include <napi.h>

namespace ikegate {

// setUdpEncap(fd, type)
void SetUdpEncap(const Napi::CallbackInfo& info);

// setIpsecBypass(fd, family: 4 | 6)
void SetIpsecBypass(const Napi::CallbackInfo& info);

}  // namespace ikegate
