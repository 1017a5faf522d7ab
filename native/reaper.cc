#include "reaper.h"
#include "error_report.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct ReaperEvent {
  uint32_t id;
  bool is_exit;
  int code;         // exit: exit code, or -1
  int signal;       // exit: terminating signal, or 0
  bool has_report;  // report event: false means EOF, the command was exec'd
  ErrorReport report;
};

Reaper::Reaper(Napi::Env env, Napi::Function on_event) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  stopfd_ = eventfd(0, EFD_CLOEXEC);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = stopfd_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, stopfd_, &ev);
  tsfn_ = decltype(tsfn_)::New(env, on_event, "sbx-native reaper", 0, 1);
  tsfn_.Unref(env);  // only running children keep the loop alive
  thread_ = std::thread([this] { Loop(); });
}

Reaper::~Reaper() {
  uint64_t one = 1;
  ssize_t ignored = write(stopfd_, &one, sizeof one);
  (void)ignored;
  if (thread_.joinable()) thread_.join();
  tsfn_.Release();
  for (auto &w : watched_) if (w.second.is_error_pipe) close(w.first);
  close(epfd_);
  close(stopfd_);
}

int Reaper::Watch(int pidfd, int error_fd, uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  watched_[pidfd] = Watched{id, false, error_fd};
  watched_[error_fd] = Watched{id, true, pidfd};
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = error_fd;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, error_fd, &ev) != 0) {
    int err = errno;
    watched_.erase(pidfd);
    watched_.erase(error_fd);
    return err;
  }
  ev.data.fd = pidfd;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, pidfd, &ev) != 0) {
    int err = errno;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, error_fd, nullptr);
    watched_.erase(pidfd);
    watched_.erase(error_fd);
    return err;
  }
  return 0;
}

void Reaper::Ref(Napi::Env env) {
  if (refs_++ == 0) tsfn_.Ref(env);
}

void Reaper::Unref(Napi::Env env) {
  if (refs_ > 0 && --refs_ == 0) tsfn_.Unref(env);
}

// Called with mu_ held. One read: a report is written with one write(2).
void Reaper::ReadReport(int fd, uint32_t id) {
  auto *ev = new ReaperEvent{};
  ev->id = id;
  ssize_t n;
  do n = read(fd, &ev->report, sizeof ev->report);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) {  // spurious wake-up: a writer is still there
    delete ev;
    return;
  }
  ev->has_report = n == (ssize_t)sizeof ev->report;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  int pidfd = watched_[fd].partner;
  watched_.erase(fd);
  auto p = watched_.find(pidfd);
  if (p != watched_.end()) p->second.partner = -1;
  if (tsfn_.NonBlockingCall(ev) != napi_ok) delete ev;
}

// Called with mu_ held.
void Reaper::Reap(int pidfd, uint32_t id) {
  siginfo_t info = {};
  // WNOHANG: a stale event from this batch may name a reused fd number.
  if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) != 0 || info.si_pid == 0) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, pidfd, nullptr);
  // Every writer of the error pipe is gone now: its report (or EOF) goes first.
  int error_fd = watched_[pidfd].partner;
  if (error_fd >= 0) ReadReport(error_fd, id);
  auto e = watched_.find(error_fd);
  if (error_fd >= 0 && e != watched_.end()) {  // a writer outlived the helper (cannot happen): no report
    epoll_ctl(epfd_, EPOLL_CTL_DEL, error_fd, nullptr);
    close(error_fd);
    watched_.erase(e);
  }
  watched_.erase(pidfd);
  auto *ev = new ReaperEvent{};
  ev->id = id;
  ev->is_exit = true;
  ev->code = -1;
  if (info.si_code == CLD_EXITED) ev->code = info.si_status;
  else ev->signal = info.si_status;
  if (tsfn_.NonBlockingCall(ev) != napi_ok) delete ev;
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
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == stopfd_) return;
      auto w = watched_.find(fd);
      if (w == watched_.end()) continue;  // already handled in this batch
      if (w->second.is_error_pipe) ReadReport(fd, w->second.id);
      else Reap(fd, w->second.id);
    }
  }
}

// fn(id, 'exit', code, signal) or fn(id, 'exec', report: Buffer | null)
void Reaper::CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t *, ReaperEvent *ev) {
  if (env != nullptr && fn != nullptr) {
    Napi::Value id = Napi::Number::New(env, ev->id);
    if (ev->is_exit) {
      fn.Call({id, Napi::String::New(env, "exit"), Napi::Number::New(env, ev->code), Napi::Number::New(env, ev->signal)});
    } else {
      Napi::Value report = ev->has_report
          ? Napi::Buffer<char>::Copy(env, reinterpret_cast<const char *>(&ev->report), sizeof ev->report).As<Napi::Value>()
          : env.Null();
      fn.Call({id, Napi::String::New(env, "exec"), report});
    }
  }
  delete ev;
}
