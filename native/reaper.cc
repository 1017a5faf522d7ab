#include "reaper.h"
#include "gen/error_report.h"
#include "gen/events.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>
#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct ReaperEvent {
  enum { kExit, kExec, kEvent } kind;
  uint32_t id;
  int code = -1;     // exit: exit code, or -1
  int signal = 0;    // exit: terminating signal, or 0
  std::string data;  // exec: the report (empty: EOF, the command was exec'd); event: one record
  ReaperEvent(decltype(kind) k, uint32_t i) : kind(k), id(i) {}
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
  ReapEnded();
  for (auto &f : fds_) close(f.first);  // the pipes and the reaper's own pidfds
  close(epfd_);
  close(stopfd_);
}

namespace {

// Helpers whose command still ran when their environment ended (a worker
// thread's: their parent-death signal follows that thread, so they are
// ending too). Nobody else would reap them, and each stayed a zombie for the
// life of the process: one thread for the whole process waits on their
// pidfds and reaps each as it ends, then ends itself with its eventfd, so
// nothing of it is left once the last one is gone.
// Never destroyed: the detached thread may still wake while the process exits.
std::mutex &orphans_mu = *new std::mutex;
std::vector<int> &orphans = *new std::vector<int>;  // pidfds
// eventfd: one more to wait for; -1 when no thread runs
int orphans_wake = -1;

void ReapOrphans() {
  for (;;) {
    std::vector<struct pollfd> p;
    {
      std::lock_guard<std::mutex> lock(orphans_mu);
      if (orphans.empty()) {
        close(orphans_wake);
        orphans_wake = -1;
        return;
      }
      p.push_back({orphans_wake, POLLIN, 0});
      for (int fd : orphans) p.push_back({fd, POLLIN, 0});
    }
    if (poll(p.data(), p.size(), -1) < 0) continue;  // EINTR
    std::lock_guard<std::mutex> lock(orphans_mu);
    uint64_t n;
    if (p[0].revents & POLLIN) (void)!read(orphans_wake, &n, sizeof n);
    for (size_t i = 1; i < p.size(); i++) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      siginfo_t info = {};
      waitid((idtype_t)P_PIDFD, (id_t)p[i].fd, &info, WEXITED | WNOHANG);
      close(p[i].fd);
      orphans.erase(std::find(orphans.begin(), orphans.end(), p[i].fd));
    }
  }
}

// Takes the pidfd over; false when no thread could be started (the caller keeps it).
bool Adopt(int pidfd) {
  std::lock_guard<std::mutex> lock(orphans_mu);
  if (orphans_wake < 0) {
    int wake = eventfd(0, EFD_CLOEXEC);
    if (wake < 0) return false;
    try {
      std::thread(ReapOrphans).detach();
    } catch (...) {
      close(wake);
      return false;
    }
    orphans_wake = wake;  // the thread takes the lock before it looks
  }
  orphans.push_back(pidfd);
  uint64_t one = 1;
  (void)!write(orphans_wake, &one, sizeof one);
  return true;
}

}  // namespace

// The environment ends (a worker thread exits or is terminated) with helpers
// whose command has ended (its 'exit' was posted) but that are still tearing
// their namespaces down: nobody would reap them once this reaper is gone, and
// each would stay a zombie for the life of the process. Each is about to exit,
// so wait for them, for at most kEndedWaitMs in all. One whose command still
// ran goes to the process's orphan thread instead.
void Reaper::ReapEnded() {
  constexpr int kEndedWaitMs = 2000;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (auto &entry : children_) {
    Child &c = entry.second;
    if (!c.exited && c.pidfd >= 0 && Adopt(c.pidfd)) {
      fds_.erase(c.pidfd);  // the orphan thread's now: not closed with the rest
      c.pidfd = -1;
      continue;
    }
    if (!c.exited || c.pidfd < 0) continue;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    struct pollfd p = {c.pidfd, POLLIN, 0};
    int n;
    do n = poll(&p, 1, (int)std::max(0L, kEndedWaitMs - spent));
    while (n < 0 && errno == EINTR);
    siginfo_t info = {};
    if (n > 0) waitid((idtype_t)P_PIDFD, (id_t)c.pidfd, &info, WEXITED | WNOHANG);
  }
}

int Reaper::Watch(int caller_pidfd, int error_fd, int events_fd, uint32_t id, bool early_exit) {
  std::lock_guard<std::mutex> lock(mu_);
  // A copy of its own: JavaScript closes its pidfd at the 'exit', which may
  // come before the helper can be reaped (Exited).
  int pidfd = fcntl(caller_pidfd, F_DUPFD_CLOEXEC, 0);
  if (pidfd < 0) return errno;
  Child &c = children_[id];
  c.early_exit = early_exit;
  const std::pair<int, Kind> all[] = {{events_fd, kEventsPipe}, {error_fd, kErrorPipe}, {pidfd, kPidfd}};
  for (const auto &w : all) {
    if (w.first < 0) continue;
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.fd = w.first;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, w.first, &ev) != 0) {
      int err = errno;
      for (int fd : {c.events_fd, c.error_fd})
        if (fd >= 0) Forget(fd);
      if (c.pidfd >= 0) fds_.erase(c.pidfd);
      close(pidfd);
      children_.erase(id);
      return err;
    }
    fds_[w.first] = {id, w.second};
    (w.second == kPidfd ? c.pidfd : w.second == kErrorPipe ? c.error_fd : c.events_fd) = w.first;
  }
  return 0;
}

void Reaper::Ref(Napi::Env env) {
  if (refs_++ == 0) tsfn_.Ref(env);
}

void Reaper::Unref(Napi::Env env) {
  if (refs_ > 0 && --refs_ == 0) tsfn_.Unref(env);
}

void Reaper::Post(ReaperEvent *ev) {
  if (tsfn_.NonBlockingCall(ev) != napi_ok) delete ev;
}

// With mu_ held: stop watching a pipe and close it.
void Reaper::Forget(int fd) {
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  fds_.erase(fd);
}

// With mu_ held. One read: a report is written with one write(2).
void Reaper::ReadReport(Child &c, uint32_t id) {
  ErrorReport r;
  ssize_t n;
  do n = read(c.error_fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;  // spurious wake-up: a writer is still there
  auto *ev = new ReaperEvent(ReaperEvent::kExec, id);
  if (n == (ssize_t)sizeof r) ev->data.assign(reinterpret_cast<const char *>(&r), sizeof r);
  Forget(c.error_fd);
  c.error_fd = -1;
  Post(ev);
}

// With mu_ held: every whole record read so far goes to JavaScript.
void Reaper::ReadEvents(Child &c, uint32_t id, bool final) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(c.events_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      c.pending.append(buf, (size_t)n);
      continue;
    }
    if (n == 0 || errno != EAGAIN || final) {  // EOF (init is gone), or nothing more can come
      Forget(c.events_fd);
      c.events_fd = -1;
    }
    break;
  }
  while (c.pending.size() >= sizeof(EventHeader)) {
    EventHeader h;
    memcpy(&h, c.pending.data(), sizeof h);
    if (h.size < sizeof h ||
        h.size > kMaxEventSize) {  // cannot happen: init writes them; stop reading rubbish
      c.pending.clear();
      break;
    }
    if (c.pending.size() < h.size) break;
    if (h.type == kEventExited && h.size == sizeof(EventExited)) {
      EventExited r;
      memcpy(&r, c.pending.data(), sizeof r);
      c.pending.erase(0, h.size);
      if (c.early_exit) Exited(c, id, r.status);  // else the helper's own end tells
      continue;
    }
    auto *ev = new ReaperEvent(ReaperEvent::kEvent, id);
    ev->data = c.pending.substr(0, h.size);
    c.pending.erase(0, h.size);
    Post(ev);
  }
}

// With mu_ held: the monitor says the command ended and nothing of the
// sandbox runs any more, so its 'exit' goes to JavaScript now; the helper is
// reaped silently when its namespaces are torn down. The error pipe's last
// word (a report, or EOF at the command's exec) comes first, as at a reap;
// should a writer still hold it (cannot happen: every process that could is
// gone), the exit waits for the reap as before.
void Reaper::Exited(Child &c, uint32_t id, int status) {
  if (c.exited) return;
  if (c.error_fd >= 0) ReadReport(c, id);
  if (c.error_fd >= 0) return;
  auto *ev = new ReaperEvent(ReaperEvent::kExit, id);
  if (WIFEXITED(status))
    ev->code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    ev->signal = WTERMSIG(status);
  else
    ev->code = 125;
  c.exited = true;
  Post(ev);
}

// With mu_ held.
void Reaper::Reap(Child &c, uint32_t id) {
  siginfo_t info = {};
  // WNOHANG: a stale event from this batch may name a reused fd number.
  if (waitid((idtype_t)P_PIDFD, (id_t)c.pidfd, &info, WEXITED | WNOHANG) != 0 || info.si_pid == 0) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, c.pidfd, nullptr);
  fds_.erase(c.pidfd);
  close(c.pidfd);
  // Every writer of the pipes is gone now: what they wrote goes first.
  if (c.events_fd >= 0) ReadEvents(c, id, true);
  if (c.error_fd >= 0) ReadReport(c, id);
  if (c.error_fd >= 0) Forget(c.error_fd);  // a writer outlived the helper (cannot happen): no report
  if (c.exited) {                           // told already (Exited)
    children_.erase(id);
    return;
  }
  auto *ev = new ReaperEvent(ReaperEvent::kExit, id);
  if (info.si_code == CLD_EXITED)
    ev->code = info.si_status;
  else
    ev->signal = info.si_status;
  children_.erase(id);
  Post(ev);
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
      auto w = fds_.find(fd);
      if (w == fds_.end()) continue;  // already handled in this batch
      uint32_t id = w->second.first;
      Kind kind = w->second.second;
      Child &c = children_[id];
      if (kind == kEventsPipe)
        ReadEvents(c, id, false);
      else if (kind == kErrorPipe)
        ReadReport(c, id);
      else
        Reap(c, id);
    }
  }
}

// fn(id, 'exit', code, signal) | fn(id, 'exec', report: Buffer | null) | fn(id, 'event', record: Buffer)
void Reaper::CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t *, ReaperEvent *ev) {
  if (env != nullptr && fn != nullptr) {
    Napi::Value id = Napi::Number::New(env, ev->id);
    // The C call, not Napi::Buffer::Copy: while the environment is torn down
    // it fails (it may no longer run JS), and node-addon-api would turn that
    // into a C++ throw out of this callback, which aborts the process.
    bool dropped = false;
    auto bytes = [&]() -> napi_value {
      napi_value b = nullptr;
      if (napi_create_buffer_copy(env, ev->data.size(), ev->data.data(), nullptr, &b) != napi_ok)
        dropped = true;
      return b;
    };
    napi_value argv[4];
    size_t argc = 3;
    argv[0] = id;
    if (ev->kind == ReaperEvent::kExit) {
      argv[1] = Napi::String::New(env, "exit");
      argv[2] = Napi::Number::New(env, ev->code);
      argv[3] = Napi::Number::New(env, ev->signal);
      argc = 4;
    } else if (ev->kind == ReaperEvent::kExec) {
      argv[1] = Napi::String::New(env, "exec");
      argv[2] = ev->data.empty() ? env.Null() : bytes();
    } else {
      argv[1] = Napi::String::New(env, "event");
      argv[2] = bytes();
    }
    // The C call, not Napi::Function::Call: an exception the handler throws
    // stays pending for Node to report as uncaught, and while the environment
    // is being torn down (napi_cannot_run_js: pooled sandboxes ending with
    // the process) the event is dropped instead of a C++ throw that would
    // abort the process.
    if (!dropped) napi_call_function(env, env.Undefined(), fn, argc, argv, nullptr);
  }
  delete ev;
}
