#include "reaper.h"
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct ExitEvent {
  uint32_t id;
  int code;    // exit code, or -1
  int signal;  // terminating signal, or 0
};

Reaper::Reaper(Napi::Env env, Napi::Function on_exit) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  stopfd_ = eventfd(0, EFD_CLOEXEC);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = ~0ULL;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, stopfd_, &ev);
  tsfn_ = decltype(tsfn_)::New(env, on_exit, "sbx-native reaper", 0, 1);
  tsfn_.Unref(env);  // only running children keep the loop alive
  thread_ = std::thread([this] { Loop(); });
}

Reaper::~Reaper() {
  uint64_t one = 1;
  ssize_t ignored = write(stopfd_, &one, sizeof one);
  (void)ignored;
  if (thread_.joinable()) thread_.join();
  tsfn_.Release();
  close(epfd_);
  close(stopfd_);
}

int Reaper::Watch(int pidfd, uint32_t id) {
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = ((uint64_t)id << 32) | (uint32_t)pidfd;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, pidfd, &ev) == 0 ? 0 : errno;
}

void Reaper::Ref(Napi::Env env) {
  if (refs_++ == 0) tsfn_.Ref(env);
}

void Reaper::Unref(Napi::Env env) {
  if (refs_ > 0 && --refs_ == 0) tsfn_.Unref(env);
}

void Reaper::Loop() {
  // Keep every signal away from this thread: they belong to Node's handlers.
  sigset_t all;
  sigfillset(&all);
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, nullptr, 8);
  for (;;) {
    struct epoll_event events[16];
    int n = epoll_wait(epfd_, events, 16, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int i = 0; i < n; i++) {
      if (events[i].data.u64 == ~0ULL) return;
      int pidfd = (int)(uint32_t)events[i].data.u64;
      siginfo_t info = {};
      if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) != 0) continue;
      epoll_ctl(epfd_, EPOLL_CTL_DEL, pidfd, nullptr);
      auto *ev = new ExitEvent{(uint32_t)(events[i].data.u64 >> 32), -1, 0};
      if (info.si_code == CLD_EXITED) ev->code = info.si_status;
      else ev->signal = info.si_status;
      if (tsfn_.NonBlockingCall(ev) != napi_ok) delete ev;
    }
  }
}

void Reaper::CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t *, ExitEvent *ev) {
  if (env != nullptr && fn != nullptr) {
    fn.Call({Napi::Number::New(env, ev->id), Napi::Number::New(env, ev->code), Napi::Number::New(env, ev->signal)});
  }
  delete ev;
}
