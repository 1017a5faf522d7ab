// N-API glue only: argument conversion and error objects. The syscalls live in
// spawn.cc, reaper.cc and fsops.cc; the sandbox logic lives in lib/.
#include <napi.h>
#include <memory>
#include <set>
#include <unistd.h>
#include "die_with_parent.h"
#include "fsops.h"
#include "git_walk.h"
#include "git_watch.h"
#include "handoff.h"
#include "pool.h"
#include "reaper.h"
#include "recheck.h"
#include "seccomp_self.h"
#include "spawn.h"
#include "spawn_sync.h"
#include "tunnel.h"

namespace {

// The first four arguments of spawn and spawnSync: helper, plan, fds, ownProcessGroup.
SpawnRequest Request(const Napi::CallbackInfo &info) {
  SpawnRequest req;
  req.helper = info[0].As<Napi::String>().Utf8Value();
  auto plan = info[1].As<Napi::Buffer<char>>();
  req.plan.assign(plan.Data(), plan.Length());
  auto fds = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < fds.Length(); i++) req.fds.push_back(fds.Get(i).As<Napi::Number>().Int32Value());
  req.own_process_group = info[3].ToBoolean().Value();
  return req;
}

// The parent's ends of the pipes (fds 0-2) and sockets (fd 3 and up) the addon made for a command.
void SetStdio(Napi::Env env, Napi::Object out, const SpawnResult &res) {
  Napi::Array pipes = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; i++) pipes.Set(i, res.pipes[i]);
  out.Set("pipes", pipes);
  Napi::Array sockets = Napi::Array::New(env, res.sockets.size());
  for (uint32_t i = 0; i < res.sockets.size(); i++) sockets.Set(i, res.sockets[i]);
  out.Set("sockets", sockets);
}

Napi::Error ErrnoError(Napi::Env env, int err, const char *syscall_name) {
  Napi::Error e = Napi::Error::New(env, std::string(syscall_name) + " failed");
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall_name));
  return e;
}

class Binding : public Napi::Addon<Binding> {
 public:
  Binding(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceMethod("spawn", &Binding::Spawn),
                             InstanceMethod("spawnSync", &Binding::SpawnSync),
                             InstanceMethod("handoff", &Binding::HandoffPlan),
                             InstanceMethod("setExitHandler", &Binding::SetExitHandler),
                             InstanceMethod("watch", &Binding::Watch),
                             InstanceMethod("ref", &Binding::Ref),
                             InstanceMethod("unref", &Binding::Unref),
                             InstanceMethod("kill", &Binding::Kill),
                             InstanceMethod("close", &Binding::Close),
                             InstanceMethod("renameat2", &Binding::Renameat2),
                             InstanceMethod("landlockAbi", &Binding::LandlockAbi),
                             InstanceMethod("tunnel", &Binding::Tunnel),
                             InstanceMethod("tunnelListen", &Binding::TunnelListen),
                             InstanceMethod("tunnelStart", &Binding::TunnelStart),
                             InstanceMethod("tunnelTake", &Binding::TunnelTake),
                             InstanceMethod("seccompSelf", &Binding::SeccompSelf),
                             InstanceMethod("poolSend", &Binding::PoolSend),
                             InstanceMethod("pidfdExited", &Binding::PidfdExited),
                             InstanceMethod("poolReady", &Binding::PoolReady),
                             InstanceMethod("processState", &Binding::ProcessState),
                             InstanceMethod("mountWatch", &Binding::MountWatch),
                             InstanceMethod("mountsChanged", &Binding::MountsChanged),
                             InstanceMethod("recheck", &Binding::Recheck),
                             InstanceMethod("lstatAnswer", &Binding::LstatAnswer),
                             InstanceMethod("gitWalk", &Binding::GitWalkOf),
                             InstanceMethod("gitStampsHold", &Binding::GitStampsHold),
                             InstanceMethod("gitWatchHolds", &Binding::GitWatchHolds),
                             InstanceMethod("dieWithParent", &Binding::DieWithParent),
                         });
  }

  // Runs when the environment ends (the main thread's at exit, a worker's when it exits or is
  // terminated): Napi::Addon is the environment's instance data.
  ~Binding() {
    if (mount_watch_ >= 0) close(mount_watch_);
    for (int fd : pidfds_) close(fd);
  }

 private:
  // dieWithParent(parentPid) -> 0 or errno (native/die_with_parent.h)
  Napi::Value DieWithParent(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), sbx_die_with_parent(info[0].As<Napi::Number>().Int32Value()));
  }

  // tunnel(fd, address, port, head, ok, failed: Buffer) -> 0 or errno (native/tunnel.h)
  Napi::Value Tunnel(const Napi::CallbackInfo &info) {
    auto str = [&](int i) {
      auto b = info[i].As<Napi::Buffer<char>>();
      return std::string(b.Data(), b.Length());
    };
    int err = sbx_tunnel(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::String>().Utf8Value(),
                         info[2].As<Napi::Number>().Int32Value(), str(3), str(4), str(5));
    return Napi::Number::New(info.Env(), err);
  }

  // tunnelListen(fd, maxHead, onHead(id, bytes: Buffer)) -> 0 or errno (native/tunnel.h). onHead
  // runs on the event loop; the thread-safe function keeps the loop alive.
  Napi::Value TunnelListen(const Napi::CallbackInfo &info) {
    auto tsfn = Napi::ThreadSafeFunction::New(info.Env(), info[2].As<Napi::Function>(),
                                              "sbx-native proxy heads", 0, 1);
    size_t max_head = info[1].As<Napi::Number>().Uint32Value();
    int err = sbx_tunnel_listen(
        info[0].As<Napi::Number>().Int32Value(), max_head, [tsfn](uint64_t id, std::string bytes) mutable {
          auto *head = new std::pair<uint64_t, std::string>(id, std::move(bytes));
          auto call = [](Napi::Env env, Napi::Function fn, std::pair<uint64_t, std::string> *h) {
            auto buf = Napi::Buffer<char>::Copy(env, h->second.data(), h->second.size());
            double id = (double)h->first;
            delete h;
            fn.Call({Napi::Number::New(env, id), buf});
          };
          if (tsfn.NonBlockingCall(head, call) != napi_ok) delete head;
        });
    if (err) tsfn.Release();
    return Napi::Number::New(info.Env(), err);
  }

  // tunnelStart(id, address, port, head, ok, failed: Buffer) -> 0 or errno (native/tunnel.h)
  Napi::Value TunnelStart(const Napi::CallbackInfo &info) {
    auto str = [&](int i) {
      auto b = info[i].As<Napi::Buffer<char>>();
      return std::string(b.Data(), b.Length());
    };
    int err = sbx_tunnel_start((uint64_t)info[0].As<Napi::Number>().Int64Value(),
                               info[1].As<Napi::String>().Utf8Value(),
                               info[2].As<Napi::Number>().Int32Value(), str(3), str(4), str(5));
    return Napi::Number::New(info.Env(), err);
  }

  // tunnelTake(id) -> fd, or -errno
  Napi::Value TunnelTake(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), sbx_tunnel_take((uint64_t)info[0].As<Napi::Number>().Int64Value()));
  }

  // seccompSelf(prog: Buffer) -> 0 | errno | -tid (native/seccomp_self.h)
  Napi::Value SeccompSelf(const Napi::CallbackInfo &info) {
    auto b = info[0].As<Napi::Buffer<char>>();
    return Napi::Number::New(info.Env(), sbx_seccomp_self(std::string(b.Data(), b.Length())));
  }

  // poolSend(ctlFd, plan: Buffer, fds: number[]) -> { pipes, sockets } (lib/pool.ts)
  Napi::Value PoolSend(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int ctl = info[0].As<Napi::Number>().Int32Value();
    auto plan = info[1].As<Napi::Buffer<char>>();
    auto list = info[2].As<Napi::Array>();
    std::vector<int> fds;
    for (uint32_t i = 0; i < list.Length(); i++) fds.push_back(list.Get(i).As<Napi::Number>().Int32Value());
    SpawnResult res;
    const char *syscall_name = "";
    int err = sbx_pool_send(ctl, std::string(plan.Data(), plan.Length()), fds, &res, &syscall_name);
    if (err) {
      ErrnoError(env, err, syscall_name).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object out = Napi::Object::New(env);
    SetStdio(env, out, res);
    return out;
  }

  Napi::Value PoolReady(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), sbx_pool_ready(info[0].As<Napi::Number>().Int32Value()));
  }

  Napi::Value PidfdExited(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), sbx_pidfd_exited(info[0].As<Napi::Number>().Int32Value()));
  }

  // mountWatch() -> the environment's fd on /proc/self/mountinfo (-1: could not open). One per
  // environment, owned here and closed when the environment ends: a worker thread's copy of
  // lib/mount-watch.ts dies with the thread and never closes it.
  Napi::Value MountWatch(const Napi::CallbackInfo &info) {
    if (mount_watch_ < 0) mount_watch_ = sbx_mount_watch();
    return Napi::Number::New(info.Env(), mount_watch_);
  }

  Napi::Value MountsChanged(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), sbx_mounts_changed(info[0].As<Napi::Number>().Int32Value()));
  }

  // recheck(ops: string, paths: string[], expected: string[]) -> index of the first difference, or -1
  Napi::Value Recheck(const Napi::CallbackInfo &info) {
    std::string ops = info[0].As<Napi::String>().Utf8Value();
    auto strings = [](Napi::Array a) {
      std::vector<std::string> out(a.Length());
      for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::String>().Utf8Value();
      return out;
    };
    int at = sbx_recheck(ops, strings(info[1].As<Napi::Array>()), strings(info[2].As<Napi::Array>()));
    return Napi::Number::New(info.Env(), at);
  }

  // lstatAnswer(path) -> "n" | "e<errno>" | "<type><dev>:<ino>" (native/recheck.h)
  Napi::Value LstatAnswer(const Napi::CallbackInfo &info) {
    return Napi::String::New(info.Env(), sbx_lstat_answer(info[0].As<Napi::String>().Utf8Value()));
  }

  // gitWalk(root, budget, stamps?, watch?, maxDepth?, ownOnly?) -> { entries, bare, unreadable: string[],
  // seen, exhausted, error, dirs?, stamps?, watch? } (native/git_walk.h; watch: an inotify fd the caller
  // closes, native/git_watch.h; maxDepth < 0: no limit)
  Napi::Value GitWalkOf(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    double budget = info[1].As<Napi::Number>().DoubleValue();
    bool stamps = info.Length() > 2 && info[2].ToBoolean().Value();
    bool watched = info.Length() > 3 && info[3].ToBoolean().Value();
    std::string root = info[0].As<Napi::String>().Utf8Value();
    uint64_t limit = budget > 0 ? static_cast<uint64_t>(budget) : 0;
    WalkLimits limits;
    if (info.Length() > 4 && info[4].IsNumber() && info[4].As<Napi::Number>().DoubleValue() >= 0)
      limits.max_depth = info[4].As<Napi::Number>().Uint32Value();
    limits.own_only = info.Length() > 5 && info[5].ToBoolean().Value();
    int watch = -1;
    GitWalk w = watched ? sbx_git_walk_watched(root, limit, &watch, limits)
                        : sbx_git_walk(root, limit, stamps, -1, limits);
    auto list = [&](const std::vector<std::string> &v) {
      Napi::Array a = Napi::Array::New(env, v.size());
      for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, v[i]));
      return a;
    };
    Napi::Object out = Napi::Object::New(env);
    out.Set("entries", list(w.entries));
    out.Set("bare", list(w.bare));
    out.Set("unreadable", list(w.unreadable));
    out.Set("seen", Napi::Number::New(env, static_cast<double>(w.seen)));
    out.Set("exhausted", Napi::Boolean::New(env, w.exhausted));
    out.Set("error", Napi::Number::New(env, w.error));
    if ((stamps || watched) && !w.dirs.empty()) {
      out.Set("dirs", list(w.dirs));
      out.Set("stamps", list(w.stamps));
    }
    if (watch >= 0) out.Set("watch", Napi::Number::New(env, watch));
    return out;
  }

  // gitWatchHolds(fd) -> boolean (native/git_watch.h)
  Napi::Value GitWatchHolds(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), sbx_git_watch_holds(info[0].As<Napi::Number>().Int32Value()));
  }

  // gitStampsHold(dirs: string[], stamps: string[]) -> boolean (native/git_walk.h)
  Napi::Value GitStampsHold(const Napi::CallbackInfo &info) {
    auto strings = [](Napi::Array a) {
      std::vector<std::string> out(a.Length());
      for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::String>().Utf8Value();
      return out;
    };
    return Napi::Boolean::New(info.Env(), sbx_git_stamps_hold(strings(info[0].As<Napi::Array>()),
                                                              strings(info[1].As<Napi::Array>())));
  }

  Napi::Value ProcessState(const Napi::CallbackInfo &info) {
    return Napi::String::New(info.Env(), sbx_process_state());
  }

  // spawn(helper, plan: Buffer, fds: number[], ownProcessGroup) -> { pid, pidfd, errorFd, pipes }
  Napi::Value Spawn(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    SpawnRequest req = Request(info);
    SpawnResult res;
    const char *syscall_name = "";
    int err = sbx_spawn(req, &res, &syscall_name);
    if (err) {
      ErrnoError(env, err, syscall_name).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (res.pidfd >= 0) pidfds_.insert(res.pidfd);
    Napi::Object out = Napi::Object::New(env);
    out.Set("pid", res.pid);
    out.Set("pidfd", res.pidfd);
    out.Set("errorFd", res.error_fd);
    out.Set("eventsFd", res.events_fd);
    SetStdio(env, out, res);
    return out;
  }

  // spawnSync(helper, plan, fds, ownProcessGroup, input | null, timeoutMs, killSignal, maxBuffer)
  //   -> { pid, code, signal, stdout, stderr, report, timedOut, tooMuch, events, eventsDropped }
  Napi::Value SpawnSync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    SpawnRequest req = Request(info);
    SyncOptions opt;
    if (info[4].IsBuffer()) {
      auto input = info[4].As<Napi::Buffer<char>>();
      opt.input.assign(input.Data(), input.Length());
    }
    opt.timeout_ms = (long)info[5].As<Napi::Number>().Int64Value();
    opt.kill_signal = info[6].As<Napi::Number>().Int32Value();
    opt.max_buffer = info[7].As<Napi::Number>().DoubleValue();
    SyncResult res;
    const char *syscall_name = "";
    int err = sbx_spawn_sync(req, opt, &res, &syscall_name);
    if (err) {
      ErrnoError(env, err, syscall_name).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("pid", res.pid);
    out.Set("code", res.code);
    out.Set("signal", res.signal);
    for (int i = 1; i < 3; i++) {
      out.Set(i == 1 ? "stdout" : "stderr",
              req.fds.size() > (size_t)i && req.fds[i] == -1
                  ? Napi::Buffer<char>::Copy(env, res.out[i].data(), res.out[i].size()).As<Napi::Value>()
                  : env.Null());
    }
    out.Set("report", res.has_report
                          ? Napi::Buffer<char>::Copy(env, reinterpret_cast<const char *>(&res.report),
                                                     sizeof res.report)
                                .As<Napi::Value>()
                          : env.Null());
    out.Set("timedOut", res.timed_out);
    out.Set("tooMuch", res.too_much);
    Napi::Array events = Napi::Array::New(env, res.events.size());
    for (size_t i = 0; i < res.events.size(); i++)
      events.Set((uint32_t)i, Napi::Buffer<char>::Copy(env, res.events[i].data(), res.events[i].size()));
    out.Set("events", events);
    out.Set("eventsDropped", res.events_dropped);
    return out;
  }

  // handoff(plan: Buffer) -> { planFd, readFd, writeFd } (native/handoff.h)
  Napi::Value HandoffPlan(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    auto plan = info[0].As<Napi::Buffer<char>>();
    Handoff h;
    const char *syscall_name = "";
    int err = sbx_handoff(std::string(plan.Data(), plan.Length()), &h, &syscall_name);
    if (err) {
      ErrnoError(env, err, syscall_name).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("planFd", h.plan_fd);
    out.Set("readFd", h.read_fd);
    out.Set("writeFd", h.write_fd);
    return out;
  }

  // setExitHandler(fn(id, 'exit', code, signal) | fn(id, 'exec', report | null) | fn(id, 'event', record)):
  // once per environment
  Napi::Value SetExitHandler(const Napi::CallbackInfo &info) {
    reaper_ = std::make_unique<Reaper>(info.Env(), info[0].As<Napi::Function>());
    return info.Env().Undefined();
  }

  Napi::Value Watch(const Napi::CallbackInfo &info) {
    int err =
        reaper_->Watch(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                       info[2].As<Napi::Number>().Int32Value(), info[3].As<Napi::Number>().Uint32Value(),
                       info.Length() > 4 && info[4].ToBoolean().Value());
    if (err) ErrnoError(info.Env(), err, "epoll_ctl").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }

  Napi::Value Ref(const Napi::CallbackInfo &info) {
    reaper_->Ref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo &info) {
    reaper_->Unref(info.Env());
    return info.Env().Undefined();
  }

  // kill(pidfd, signal) -> 0 or errno
  Napi::Value Kill(const Napi::CallbackInfo &info) {
    int err = sbx_pidfd_send_signal(info[0].As<Napi::Number>().Int32Value(),
                                    info[1].As<Napi::Number>().Int32Value());
    return Napi::Number::New(info.Env(), err);
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    int fd = info[0].As<Napi::Number>().Int32Value();
    pidfds_.erase(fd);
    close(fd);
    return info.Env().Undefined();
  }

  // renameat2(from, to, flags) -> 0 or errno
  Napi::Value Renameat2(const Napi::CallbackInfo &info) {
    std::string from = info[0].As<Napi::String>().Utf8Value();
    std::string to = info[1].As<Napi::String>().Utf8Value();
    int err = sbx_renameat2(from.c_str(), to.c_str(), info[2].As<Napi::Number>().Uint32Value());
    return Napi::Number::New(info.Env(), err);
  }

  // landlockAbi() -> { abi, errata } (abi is -errno when Landlock is unavailable)
  Napi::Value LandlockAbi(const Napi::CallbackInfo &info) {
    int errata = 0;
    int abi = sbx_landlock_abi(&errata);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("abi", abi);
    out.Set("errata", errata);
    return out;
  }

  std::unique_ptr<Reaper> reaper_;
  int mount_watch_ = -1;
  // The pidfds spawn() gave JavaScript that it has not closed yet: a child still running when a
  // worker thread ends never reaches its 'exit', where JavaScript would close it.
  std::set<int> pidfds_;
};

}  // namespace

NODE_API_ADDON(Binding)
