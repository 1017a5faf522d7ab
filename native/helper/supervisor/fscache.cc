// The cache of callers' umask and cwd (fscache.h), and the fs-state syscalls
// (umask, chdir, fchdir, clone, unshare) that keep it exact.
#include "fscache.h"
#include "call.h"
#include "../procfs.h"
#include "../../uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <algorithm>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

// Each entry holds up to two fds (pidfd, cwd) and a split process one: a
// quarter of what init may open beyond 512 (its own requests need fds; the
// FIFO threads hold up to 256), at most 4096 entries. Full: dead threads'
// entries go, then all; never EMFILE for init's own work.
size_t fd_budget() {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < 512 + 64) return 0;
  return std::min<size_t>((lim.rlim_cur - 512) / 4, 4096);
}

// A pidfd's task still exists (EPERM: it does, we may not signal it).
bool alive(int pidfd) { return syscall(__NR_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0 || errno == EPERM; }

}  // namespace

FsCache::FsCache(bool notified)
    : max_(fd_budget()),
      enabled_(notified && max_ >= 16) {}  // PIDFD_THREAD: the plan says (fscache=off before 6.9)

void FsCache::disable_locked() {
  enabled_ = false;
  entries_.clear();
  pending_.clear();
  split_.clear();
}

void FsCache::disable() {
  std::lock_guard<std::mutex> lock(mu_);
  disable_locked();
}

void FsCache::sweep() {
  for (auto it = entries_.begin(); it != entries_.end();)
    it = alive(it->second.pidfd.fd) ? std::next(it) : entries_.erase(it);
  if (entries_.size() >= max_) entries_.clear();
}

FsView FsCache::find(pid_t tid) {
  FsView v;
  if (!enabled_) return v;
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= max_) sweep();
  auto it = entries_.find(tid);
  if (it == entries_.end()) return v;
  if (!alive(it->second.pidfd.fd)) {
    entries_.erase(it);  // that thread is gone: the TID is someone else's now
    return v;
  }
  const Entry &e = it->second;
  v.known = true;
  v.tgid = e.tgid;
  v.umask_known = e.umask_known;
  v.umask = e.umask;
  v.cwd = e.cwd;
  return v;
}

// Whether the pending thread has left the syscalls of its changes: blocked
// in another one, or in none (/proc/TID/syscall: "NR args...", "-1 ..."; a
// running thread says "running" and may still be in one). Its syscall is
// then over, so the kernel has made the change. Asked on the first request
// after the change and every 8th after it, not on each: a thread that keeps
// running costs a little, one that waits (pnpm's main thread, between the
// umask calls Node makes at its start, and its file work on other threads)
// stops being pending at once.
bool FsCache::left_change(pid_t tid, Pending &p) {
  if (p.looks++ % 8 != 0) return false;
  char buf[64];
  ProcPath path = proc_tid(tid, "syscall");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  char *end;
  long nr = strtol(buf, &end, 10);
  if (end == buf || (*end != ' ' && *end != '\n')) return false;  // "running", or what we cannot read
  for (long change : p.nrs)
    if (nr == change) return false;
  return alive(p.pidfd.fd);  // what was read is that thread's
}

uint64_t FsCache::generation() {
  std::lock_guard<std::mutex> lock(mu_);
  // Before the caller reads a value: a change seen over now is in what it reads.
  for (auto it = pending_.begin(); it != pending_.end();)
    it = left_change(it->first, it->second) ? pending_.erase(it) : std::next(it);
  return gen_;
}

Fd FsCache::thread_pidfd(pid_t tid) const {
  return Fd(enabled_ ? (int)syscall(SBX_NR_pidfd_open, tid, O_EXCL) : -1);
}

bool FsCache::may_keep(pid_t tid, pid_t tgid, FsField field, uint64_t gen) {
  if (!enabled_ || gen != gen_ || split_.count(tgid)) return false;
  for (auto it = pending_.begin(); it != pending_.end();) {
    // A request of the changing thread: its change is done (or it is gone,
    // and this is another thread with its number).
    bool over = it->first == tid || !alive(it->second.pidfd.fd);
    it = over ? pending_.erase(it) : std::next(it);
  }
  for (const auto &p : pending_)
    if ((p.second.fields & field) && (shared_ || p.second.tgid == tgid)) return false;
  return true;
}

void FsCache::remember(pid_t tid, Fd pidfd, pid_t tgid, mode_t umask, uint64_t gen) {
  // Alive after what was read: the pidfd and the values are one thread's.
  if (!pidfd.ok() || !alive(pidfd.fd)) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!enabled_ || split_.count(tgid)) return;
  if (entries_.size() >= max_) sweep();
  Entry &e = entries_[tid];
  e.pidfd = std::move(pidfd);
  e.tgid = tgid;
  e.umask_known = may_keep(tid, tgid, kFsUmask, gen);
  e.umask = umask;
  e.cwd.reset();
}

FsCache::Entry *FsCache::live(pid_t tid, pid_t tgid) {
  auto it = entries_.find(tid);
  return it != entries_.end() && it->second.tgid == tgid && alive(it->second.pidfd.fd) ? &it->second
                                                                                       : nullptr;
}

void FsCache::keep_umask(pid_t tid, pid_t tgid, mode_t umask, uint64_t gen) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry *e = live(tid, tgid);
  if (!e || !may_keep(tid, tgid, kFsUmask, gen)) return;
  e->umask = umask;
  e->umask_known = true;
}

void FsCache::keep_cwd(pid_t tid, pid_t tgid, const std::shared_ptr<Fd> &cwd, uint64_t gen) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry *e = live(tid, tgid);
  if (e && may_keep(tid, tgid, kFsCwd, gen)) e->cwd = cwd;
}

void FsCache::forget(pid_t tgid, unsigned fields) {
  gen_++;
  for (auto &kv : entries_) {
    Entry &e = kv.second;
    if (!shared_ && e.tgid != tgid) continue;
    if (fields & kFsUmask) e.umask_known = false;
    if (fields & kFsCwd) e.cwd.reset();
  }
}

void FsCache::changing(pid_t tid, pid_t tgid, Fd pidfd, FsField field, long nr) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!pidfd.ok() || pending_.size() >= max_) return disable_locked();  // cannot tell when it is over
  forget(tgid, field);
  Pending &p = pending_[tid];
  bool same = p.pidfd.ok() && alive(p.pidfd.fd);
  p.fields = (same ? p.fields : 0) | field;
  if (!same) p.nrs.clear();
  if (std::find(p.nrs.begin(), p.nrs.end(), nr) == p.nrs.end()) p.nrs.push_back(nr);
  p.looks = 0;
  p.pidfd = std::move(pidfd);
  p.tgid = tgid;
}

void FsCache::split(pid_t tgid) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  forget(tgid, kFsAll);
  if (split_.count(tgid)) return;
  if (split_.size() >= max_) {
    for (auto it = split_.begin(); it != split_.end();)
      it = alive(it->second.fd) ? std::next(it) : split_.erase(it);
    if (split_.size() >= max_) return disable_locked();
  }
  Fd proc((int)syscall(SBX_NR_pidfd_open, tgid, 0));
  if (!proc.ok()) return disable_locked();
  split_[tgid] = std::move(proc);
}

void FsCache::shared() {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  shared_ = true;
  forget(0, kFsAll);
}

void use_umask(mode_t mask) {
  thread_local bool known = false;
  thread_local mode_t current = 0;
  if (known && mask == current) return;
  umask(mask);
  current = mask;
  known = true;
}

// umask, chdir, fchdir, setns, and clone/unshare with the flags the filter picks:
// noted, then performed by the kernel (CONTINUE: none of them makes a name,
// and what they change is the caller's own state, which only the kernel can set).
Outcome fs_state_change(Call &c, SupervisedOp op, uint64_t flag_arg) {
  Outcome o;
  o.cont = true;
  FsCache *cache = c.r.cache;
  if (!cache || !cache->enabled()) return o;
  Fd pidfd = cache->thread_pidfd(c.r.tid);
  pid_t tgid = c.r.tgid();
  // The caller still waits: the pidfd and the tgid read after it are its own.
  if (!c.valid()) return fail_with(ESRCH);
  if (c.r.tgid_unknown()) {
    cache->disable();
    return o;
  }
  unsigned long flags = (unsigned long)flag_arg;       // clone's or unshare's flags
  const unsigned long kFs = 0x200, kThread = 0x10000;  // CLONE_FS, CLONE_THREAD
  switch (op) {
    case SupervisedOp::clone:
      if ((flags & kThread) && !(flags & kFs))
        cache->split(tgid);
      else if ((flags & kFs) && !(flags & kThread))
        cache->shared();
      break;
    case SupervisedOp::unshare:
    case SupervisedOp::setns:
      cache->split(tgid);
      break;  // a mount namespace of its own has a cwd and root of its own
    case SupervisedOp::umask: cache->changing(c.r.tid, tgid, std::move(pidfd), kFsUmask, c.n.data.nr); break;
    default: cache->changing(c.r.tid, tgid, std::move(pidfd), kFsCwd, c.n.data.nr); break;  // chdir, fchdir
  }
  return o;
}
