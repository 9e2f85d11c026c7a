// The two socket options an IKE daemon sets on its UDP sockets (strongSwan kernel_netlink
// enable_udp_decap / bypass_socket):
//
//   setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &UDP_ENCAP_ESPINUDP)
//       the kernel takes datagrams whose first 4 bytes are a non-zero SPI as ESP (RFC 3948)
//       and passes those starting with the 4-byte zero non-ESP marker up to the socket.
//
//   setsockopt(fd, SOL_IP | SOL_IPV6, IP_XFRM_POLICY | IPV6_XFRM_POLICY, &xfrm_userpolicy_info)
//       twice, dir OUT then IN, action XFRM_POLICY_ALLOW, selector all-zero but for the
//       family: a socket policy that overrides the SPD, so IKE traffic is never tunnelled
//       by the SAs it negotiates.
#include "sockopt.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
// after netinet/in.h, so linux/in6.h (via xfrm.h) defers to the libc definitions
#include <linux/xfrm.h>

#include <cerrno>
#include <cstring>

#include "errors.h"

namespace ikegate {

void SetUdpEncap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = int(IntegerArg(info, 0, "fd", 0, INT32_MAX));
  int type = int(IntegerArg(info, 1, "type", 0, INT32_MAX));
  if (::setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof(type)) < 0) {
    ThrowErrno(env, errno, "setsockopt", "UDP_ENCAP " + std::to_string(type));
  }
}

void SetIpsecBypass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = int(IntegerArg(info, 0, "fd", 0, INT32_MAX));
  int family = int(IntegerArg(info, 1, "family", 4, 6));
  if (family != 4 && family != 6) ThrowRangeError(env, "The value of \"family\" is out of range. It must be 4 or 6");

  int level = family == 4 ? SOL_IP : SOL_IPV6;
  int option = family == 4 ? IP_XFRM_POLICY : IPV6_XFRM_POLICY;
  const char* optionName = family == 4 ? "IP_XFRM_POLICY" : "IPV6_XFRM_POLICY";

  xfrm_userpolicy_info policy;
  std::memset(&policy, 0, sizeof(policy));
  policy.action = XFRM_POLICY_ALLOW;
  policy.sel.family = family == 4 ? AF_INET : AF_INET6;
  for (uint8_t dir : {uint8_t(XFRM_POLICY_OUT), uint8_t(XFRM_POLICY_IN)}) {
    policy.dir = dir;
    if (::setsockopt(fd, level, option, &policy, sizeof(policy)) < 0) {
      ThrowErrno(env, errno, "setsockopt",
                 std::string(optionName) + (dir == XFRM_POLICY_OUT ? " out" : " in"));
    }
  }
}

}  // namespace ikegate
