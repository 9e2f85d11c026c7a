// TunDevice: open("/dev/net/tun") + TUNSETIFF, then read()/write() of whole IP packets.
// The device is not persistent: it disappears when close() closes the fd. Addresses, MTU,
// link state and routes are configured from TypeScript (rtnetlink), not here.
#include "tun_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "addon.h"

namespace ikegate {

Napi::Function TunDevice::Init(Napi::Env env) {
  return DefineClass(env, "TunDevice",
                     {
                         InstanceAccessor<&TunDevice::Name>("name", napi_enumerable),
                         InstanceMethod<&TunDevice::OnPacket>("onPacket"),
                         InstanceMethod<&TunDevice::Write>("write"),
                         InstanceMethod<&TunDevice::Close>("close"),
                     });
}

TunDevice::TunDevice(const Napi::CallbackInfo& info) : FdObject<TunDevice>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) ThrowTypeError(env, "The \"name\" argument must be of type string");
  std::string requested = info[0].As<Napi::String>().Utf8Value();
  if (requested.size() >= IFNAMSIZ || requested.find('\0') != std::string::npos) {
    ThrowRangeError(env, "The value of \"name\" is out of range. It must be an interface name of at most " +
                             std::to_string(IFNAMSIZ - 1) + " bytes");
  }

  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) ThrowErrno(env, errno, "open", "/dev/net/tun");

  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, requested.data(), requested.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    ::close(fd);
    ThrowErrno(env, err, "ioctl", "TUNSETIFF " + requested);
  }
  name_.assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  Open(fd, "ikegate:TunDevice");
}

Napi::Value TunDevice::Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

void TunDevice::OnPacket(const Napi::CallbackInfo& info) { SetDataCallback(FunctionArg(info, 0, "callback")); }

void TunDevice::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView packet = BytesArg(info, 0, "packet");
  int fd = FdOrThrow("write");
  ssize_t n;
  do {
    n = ::write(fd, packet.data, packet.length);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "write", name_);
  if (size_t(n) != packet.length) ThrowErrno(env, EMSGSIZE, "write", "short write to " + name_);
}

void TunDevice::Close(const Napi::CallbackInfo& /*info*/) { CloseFd(); }

void TunDevice::OnReadable(int status) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (status < 0) {
    StopReading();
    ReportError(ErrnoError(env, -status, "uv_poll", name_));
    return;
  }
  // One packet per read; 64 KiB holds the largest IP packet a TUN device can carry.
  std::vector<uint8_t>& buffer = Addon::Of(env).ReadBuffer();
  for (int i = 0; i < kMaxReadsPerWakeup && IsOpen(); i++) {
    Napi::HandleScope packetScope(env);
    ssize_t n = ::read(Fd(), buffer.data(), buffer.size());
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      // No onError in the TUN surface: a read failure stops reading and is raised as an
      // uncaught exception (FdObject::ReportError without an error callback).
      StopReading();
      ReportError(ErrnoError(env, err, "read", name_));
      return;
    }
    if (n == 0) return;
    if (!Deliver(Napi::Buffer<uint8_t>::Copy(env, buffer.data(), size_t(n)))) return;
  }
}

}  // namespace ikegate
