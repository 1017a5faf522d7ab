#pragma once
#include <napi.h>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

// Watches this environment's helpers from one epoll thread and posts to
// JavaScript through a ThreadSafeFunction (pure Node-API, so prebuilds survive
// Node upgrades): each helper's events pipe (protocol/events.json), its error pipe
// (a report, or EOF once the command has exec'd: every other holder closed
// its copy) and its pidfd (the exit). Whatever a helper wrote reaches
// JavaScript before its exit. No SIGCHLD handler, no waitpid(-1): both would
// steal Node's own children.
class Reaper {
 public:
  explicit Reaper(Napi::Env env, Napi::Function on_event);
  ~Reaper();
  // The pipes become the reaper's (closed once drained); the pidfd stays
  // JavaScript's (it kills through it) and the reaper watches a copy.
  // `early_exit`: take the monitor's `exited` record as the exit (only where no
  // other process writes the events pipe: the plan says, lib/spawn.ts).
  int Watch(int pidfd, int error_fd, int events_fd, uint32_t id, bool early_exit);  // 0 or errno
  void Ref(Napi::Env env);
  void Unref(Napi::Env env);

 private:
  enum Kind { kPidfd, kErrorPipe, kEventsPipe };
  struct Child {
    int pidfd = -1, error_fd = -1, events_fd = -1;
    std::string pending;      // events bytes not yet a whole record
    bool early_exit = false;  // an `exited` record may stand for the exit
    bool exited = false;      // its 'exit' was posted before the reap (Exited)
  };
  static void CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t *, struct ReaperEvent *ev);
  void Loop();
  void Post(struct ReaperEvent *ev);
  void Forget(int fd);
  void ReadReport(Child &c, uint32_t id);
  void ReadEvents(Child &c, uint32_t id, bool final);
  void Reap(Child &c, uint32_t id);
  void Exited(Child &c, uint32_t id, int status);
  void ReapEnded();
  int epfd_ = -1;
  int stopfd_ = -1;
  int refs_ = 0;
  std::mutex mu_;
  std::unordered_map<int, std::pair<uint32_t, Kind>> fds_;  // watched fd -> child id, what it is
  std::unordered_map<uint32_t, Child> children_;
  Napi::TypedThreadSafeFunction<std::nullptr_t, struct ReaperEvent, &Reaper::CallJs> tsfn_;
  std::thread thread_;
};
