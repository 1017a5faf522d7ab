#pragma once
#include <napi.h>
#include <thread>

// Watches the pidfds of this environment's helpers from one epoll thread and
// posts each exit to JavaScript through a ThreadSafeFunction (pure Node-API,
// so prebuilds survive Node upgrades). No SIGCHLD handler, no waitpid(-1):
// both would steal Node's own children.
class Reaper {
 public:
  explicit Reaper(Napi::Env env, Napi::Function on_exit);
  ~Reaper();
  int Watch(int pidfd, uint32_t id);   // 0 or errno
  void Ref(Napi::Env env);
  void Unref(Napi::Env env);

 private:
  static void CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t *, struct ExitEvent *ev);
  void Loop();
  int epfd_ = -1;
  int stopfd_ = -1;
  int refs_ = 0;
  Napi::TypedThreadSafeFunction<std::nullptr_t, struct ExitEvent, &Reaper::CallJs> tsfn_;
  std::thread thread_;
};
