#pragma once
#include <napi.h>
#include <mutex>
#include <thread>
#include <unordered_map>

// Watches this environment's helpers from one epoll thread and posts to
// JavaScript through a ThreadSafeFunction (pure Node-API, so prebuilds survive
// Node upgrades): each helper's error pipe (a report, or EOF once the command
// has exec'd: every other holder closed its copy) and its pidfd (the exit).
// A helper's report always reaches JavaScript before its exit. No SIGCHLD
// handler, no waitpid(-1): both would steal Node's own children.
class Reaper {
 public:
  explicit Reaper(Napi::Env env, Napi::Function on_event);
  ~Reaper();
  // Both fds become the reaper's: it closes the error pipe once read; the
  // pidfd stays JavaScript's (it kills through it).
  int Watch(int pidfd, int error_fd, uint32_t id);   // 0 or errno
  void Ref(Napi::Env env);
  void Unref(Napi::Env env);

 private:
  struct Watched {
    uint32_t id;
    bool is_error_pipe;
    int partner;  // the pidfd's error pipe, or -1 once it has been read
  };
  static void CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t *, struct ReaperEvent *ev);
  void Loop();
  void ReadReport(int fd, uint32_t id);
  void Reap(int pidfd, uint32_t id);
  int epfd_ = -1;
  int stopfd_ = -1;
  int refs_ = 0;
  std::mutex mu_;
  std::unordered_map<int, Watched> watched_;
  Napi::TypedThreadSafeFunction<std::nullptr_t, struct ReaperEvent, &Reaper::CallJs> tsfn_;
  std::thread thread_;
};
