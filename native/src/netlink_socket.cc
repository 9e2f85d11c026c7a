// NetlinkSocket: socket(AF_NETLINK, SOCK_RAW) + bind + sendto/recvmsg, nothing more. Framing,
// sequence numbers, ACK matching and every message layout live in TypeScript
// (src/xfrm/netlink/). Only datagrams sent by the kernel (source nl_pid 0) are delivered:
// another local process could otherwise unicast forged replies to our port id.
#include "netlink_socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "addon.h"

namespace ikegate {

Napi::Function NetlinkSocket::Init(Napi::Env env) {
  return DefineClass(env, "NetlinkSocket",
                     {
                         InstanceAccessor<&NetlinkSocket::PortId>("portId", napi_enumerable),
                         InstanceMethod<&NetlinkSocket::Send>("send"),
                         InstanceMethod<&NetlinkSocket::OnMessage>("onMessage"),
                         InstanceMethod<&NetlinkSocket::OnError>("onError"),
                         InstanceMethod<&NetlinkSocket::AddMembership>("addMembership"),
                         InstanceMethod<&NetlinkSocket::Close>("close"),
                     });
}

NetlinkSocket::NetlinkSocket(const Napi::CallbackInfo& info) : FdObject<NetlinkSocket>(info) {
  Napi::Env env = info.Env();
  int protocol = int(IntegerArg(info, 0, "protocol", 0, INT32_MAX));
  uint32_t groups = 0;
  if (info.Length() > 1 && !info[1].IsUndefined()) groups = uint32_t(IntegerArg(info, 1, "groups", 0, UINT32_MAX));

  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) ThrowErrno(env, errno, "socket", "AF_NETLINK protocol " + std::to_string(protocol));

  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_pid = 0;  // let the kernel assign a unique port id
  local.nl_groups = groups;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0) {
    int err = errno;
    ::close(fd);
    ThrowErrno(env, err, "bind");
  }
  socklen_t len = sizeof(local);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) < 0) {
    int err = errno;
    ::close(fd);
    ThrowErrno(env, err, "getsockname");
  }
  portId_ = local.nl_pid;
  Open(fd, "ikegate:NetlinkSocket");
}

Napi::Value NetlinkSocket::PortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), portId_); }

void NetlinkSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView message = BytesArg(info, 0, "message");
  int fd = FdOrThrow("sendto");
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;  // nl_pid 0: the kernel
  ssize_t n;
  do {
    n = ::sendto(fd, message.data, message.length, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "sendto");
  if (size_t(n) != message.length) ThrowErrno(env, EMSGSIZE, "sendto", "short send");
}

void NetlinkSocket::OnMessage(const Napi::CallbackInfo& info) {
  SetDataCallback(FunctionArg(info, 0, "callback"));
}

void NetlinkSocket::OnError(const Napi::CallbackInfo& info) {
  SetErrorCallback(FunctionArg(info, 0, "callback"));
}

void NetlinkSocket::AddMembership(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int group = int(IntegerArg(info, 0, "group", 1, INT32_MAX));
  int fd = FdOrThrow("setsockopt");
  if (::setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
    ThrowErrno(env, errno, "setsockopt", "NETLINK_ADD_MEMBERSHIP " + std::to_string(group));
  }
}

void NetlinkSocket::Close(const Napi::CallbackInfo& /*info*/) { CloseFd(); }

void NetlinkSocket::OnReadable(int status) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (status < 0) {
    StopReading();
    ReportError(ErrnoError(env, -status, "uv_poll"));
    return;
  }
  // 64 KiB: more than any datagram the kernel builds (dump skbs are at most 32 KiB).
  std::vector<uint8_t>& buffer = Addon::Of(env).ReadBuffer();
  for (int i = 0; i < kMaxReadsPerWakeup && IsOpen(); i++) {
    Napi::HandleScope datagramScope(env);
    sockaddr_nl from{};
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = ::recvmsg(Fd(), &msg, MSG_DONTWAIT);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == ENOBUFS) {
        // The receive queue overflowed: messages were lost, the socket is still usable.
        ReportError(ErrnoError(env, err, "recvmsg", "netlink receive buffer overflowed; messages were lost"));
        continue;
      }
      StopReading();
      ReportError(ErrnoError(env, err, "recvmsg"));
      return;
    }
    if (msg.msg_flags & MSG_TRUNC) {
      ReportError(ErrnoError(env, EMSGSIZE, "recvmsg", "netlink datagram truncated"));
      continue;
    }
    if (from.nl_pid != 0) continue;  // not from the kernel
    if (!Deliver(Napi::Buffer<uint8_t>::Copy(env, buffer.data(), size_t(n)))) return;
  }
}

}  // namespace ikegate
