// A non-blocking file descriptor watched for readability by the libuv loop (uv_poll_t), and
// FdObject<T>, the JS-object half shared by NetlinkSocket and TunDevice: callbacks invoked
// through MakeCallback (so promises and nextTicks run after each datagram), a strong
// reference while open (an open socket keeps the loop alive and cannot be collected, like
// a net.Socket), and a clean close that stops the poll, closes the fd and drops the callbacks.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

#include "errors.h"

namespace ikegate {

class PolledFd {
 public:
  class Target {
   public:
    // status < 0 is a libuv error (negative errno) from the poll itself.
    virtual void OnReadable(int status) = 0;

   protected:
    ~Target() = default;
  };

  // Takes ownership of fd (closed even if this throws). Starts polling for UV_READABLE.
  PolledFd(Napi::Env env, int fd, Target* target);
  ~PolledFd();
  PolledFd(const PolledFd&) = delete;
  PolledFd& operator=(const PolledFd&) = delete;

  int fd() const { return fd_; }
  bool IsOpen() const { return fd_ >= 0; }
  // Stops watching the fd (after a fatal read error); the fd stays open until Close().
  void StopReading();
  // Idempotent. No poll callback runs after this returns.
  void Close();

 private:
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnHandleClosed(uv_handle_t* handle);
  // Runs when the environment (main thread or worker) shuts down with the fd still open,
  // so a worker's loop is never closed with our handle still active.
  static void OnEnvCleanup(void* arg);

  napi_env env_;
  int fd_;
  uv_poll_t* poll_ = nullptr;  // heap-allocated: freed by OnHandleClosed, possibly after we are gone
  Target* target_;
  bool cleanupHookAdded_ = false;
};

template <typename T>
class FdObject : public Napi::ObjectWrap<T>, public PolledFd::Target {
 public:
  explicit FdObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {}

  ~FdObject() { fd_.reset(); }

 protected:
  // Maximum datagrams/packets read per wakeup before yielding to the loop; the poll is
  // level-triggered, so anything left is read on the next turn.
  static constexpr int kMaxReadsPerWakeup = 256;

  // Adopts an open non-blocking fd: starts polling and pins the JS object until Close().
  void Open(int fd, const char* resourceName) {
    Napi::Env env = this->Env();
    async_ = std::make_unique<Napi::AsyncContext>(env, resourceName, Napi::Object::New(env));
    fd_ = std::make_unique<PolledFd>(env, fd, this);
    this->Ref();
    pinned_ = true;
  }

  bool IsOpen() const { return fd_ && fd_->IsOpen(); }

  int Fd() const { return fd_ ? fd_->fd() : -1; }

  // Throws EBADF (shaped like every other native error) when used after close().
  int FdOrThrow(const char* syscall) const {
    if (!IsOpen()) ThrowErrno(this->Env(), EBADF, syscall, "closed");
    return fd_->fd();
  }

  void StopReading() {
    if (fd_) fd_->StopReading();
  }

  void CloseFd() {
    if (fd_) fd_->Close();
    dataCallback_.Reset();
    errorCallback_.Reset();
    if (pinned_) {
      pinned_ = false;
      this->Unref();
    }
  }

  void SetDataCallback(Napi::Function fn) { dataCallback_ = Napi::Persistent(fn); }
  void SetErrorCallback(Napi::Function fn) { errorCallback_ = Napi::Persistent(fn); }

  // Calls the data callback with one value. Returns false if the callback threw (the
  // exception has then been raised as an uncaught exception) or the object was closed.
  bool Deliver(Napi::Value value) { return Invoke(dataCallback_, value); }

  // Reports an error to the error callback; without one, raises it as an uncaught exception
  // (as an EventEmitter does with an unhandled 'error').
  void ReportError(const Napi::Error& error) {
    if (errorCallback_.IsEmpty()) {
      napi_fatal_exception(this->Env(), error.Value());
      return;
    }
    Invoke(errorCallback_, error.Value());
  }

 private:
  bool Invoke(Napi::FunctionReference& callback, Napi::Value value) {
    if (callback.IsEmpty()) return IsOpen();
    Napi::Env env = this->Env();
    try {
      callback.MakeCallback(this->Value(), {value}, *async_);
    } catch (const Napi::Error& error) {
      napi_fatal_exception(env, error.Value());
      return false;
    }
    return IsOpen();
  }

  std::unique_ptr<PolledFd> fd_;
  std::unique_ptr<Napi::AsyncContext> async_;
  Napi::FunctionReference dataCallback_;
  Napi::FunctionReference errorCallback_;
  bool pinned_ = false;
};

}  // namespace ikegate
