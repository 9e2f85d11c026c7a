// PolledFd: a non-blocking fd driven by a uv_poll_t on the environment's own loop.
#include "polled_fd.h"

#include <unistd.h>

namespace ikegate {

PolledFd::PolledFd(Napi::Env env, int fd, Target* target) : env_(env), fd_(fd), target_(target) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    ::close(fd_);
    fd_ = -1;
    throw Napi::Error::New(env, "ikegate: no libuv loop for this environment");
  }
  poll_ = new uv_poll_t;
  int r = uv_poll_init(loop, poll_, fd_);
  if (r < 0) {
    delete poll_;
    poll_ = nullptr;
    ::close(fd_);
    fd_ = -1;
    ThrowErrno(env, -r, "uv_poll_init");
  }
  poll_->data = this;
  r = uv_poll_start(poll_, UV_READABLE, OnPoll);
  if (r < 0) {
    Close();
    ThrowErrno(env, -r, "uv_poll_start");
  }
  if (napi_add_env_cleanup_hook(env_, OnEnvCleanup, this) == napi_ok) cleanupHookAdded_ = true;
}

PolledFd::~PolledFd() { Close(); }

void PolledFd::StopReading() {
  if (poll_) uv_poll_stop(poll_);
}

void PolledFd::Close() {
  if (poll_) {
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), OnHandleClosed);
    poll_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (cleanupHookAdded_) {
    cleanupHookAdded_ = false;
    napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
  }
}

void PolledFd::OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  auto* self = static_cast<PolledFd*>(handle->data);
  if (self != nullptr) self->target_->OnReadable(status);
}

void PolledFd::OnHandleClosed(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

void PolledFd::OnEnvCleanup(void* arg) {
  auto* self = static_cast<PolledFd*>(arg);
  self->cleanupHookAdded_ = false;  // being run: do not remove it
  self->Close();
}

}  // namespace ikegate
