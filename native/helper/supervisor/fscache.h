// What init remembers of each caller thread between requests: its process
// (tgid), umask and cwd, which live in the thread's fs_struct. Reading them
// from /proc for every request cost more than the requests themselves.
//
// Exactly correct, never a guess (a stale umask or cwd would create a file
// with the wrong mode or in the wrong directory):
// - an entry is the thread's own, keyed by TID and held with a pidfd of that
//   thread (PIDFD_THREAD): a live pidfd means the TID was not reused;
// - the filter sends init every change to them (lib/seccomp.ts): umask,
//   chdir and fchdir, which init lets the kernel perform (CONTINUE) after
//   dropping the entries of the caller's process and noting the change as
//   pending: nothing of that process is remembered again until the changing
//   thread makes its next request (its syscall is over by then), is gone, or
//   is seen (/proc/TID/syscall) blocked outside that syscall before a value
//   is read (a thread that changed its umask and then only waits);
// - threads of one process share one fs_struct; a process where one does not
//   (a clone with CLONE_THREAD but not CLONE_FS, unshare(CLONE_FS)) is never
//   cached, and once a process shares its parent's (CLONE_FS without
//   CLONE_THREAD) every change drops and holds every process's entries.
// Without PIDFD_THREAD (before 6.9) or without the filter's notifications,
// nothing is cached and each request reads /proc as before.
//
// Init serves from more than one thread: a request gets copies (the cwd fd
// shared, so forgetting it cannot close it under a request), and what a
// request read from /proc is kept only if no change was noted since it
// started reading (a generation count).
#pragma once
#include "requester.h"
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stdint.h>
#include <sys/types.h>
#include <unordered_map>
#include <vector>

// What a change touches (a mask).
enum FsField : unsigned { kFsUmask = 1, kFsCwd = 2, kFsAll = 3 };

// What a request gets of a remembered thread: copies.
struct FsView {
  bool known = false;  // the thread is remembered: tgid holds
  pid_t tgid = 0;
  bool umask_known = false;
  mode_t umask = 0;
  std::shared_ptr<Fd> cwd;  // O_PATH, or null
};

class FsCache {
 public:
  // `notified`: the filter sends every syscall of the fs-state class.
  explicit FsCache(bool notified);
  bool enabled() const { return enabled_; }
  FsView find(pid_t tid);
  // Taken before reading /proc: what was read is kept only if nothing changed since.
  uint64_t generation();
  // A pidfd of thread `tid` to prove an entry with (invalid when disabled).
  Fd thread_pidfd(pid_t tid) const;
  // What was read of `tid` after `pidfd` was opened: its tgid, and its umask.
  void remember(pid_t tid, Fd pidfd, pid_t tgid, mode_t umask, uint64_t gen);
  // Its umask or cwd, read again since (the entry's thread must still be alive).
  void keep_umask(pid_t tid, pid_t tgid, mode_t umask, uint64_t gen);
  void keep_cwd(pid_t tid, pid_t tgid, const std::shared_ptr<Fd> &cwd, uint64_t gen);
  // `tid` of `tgid` (alive, pidfd proves it) is about to change `field`, in syscall `nr`.
  void changing(pid_t tid, pid_t tgid, Fd pidfd, FsField field, long nr);
  // Process `tgid` has, or is about to have, a thread with an fs_struct of its own.
  void split(pid_t tgid);
  // Two processes are about to share one fs_struct.
  void shared();
  void disable();

 private:
  struct Entry {
    Fd pidfd;        // the thread
    pid_t tgid = 0;  // never changes while the thread lives
    bool umask_known = false;
    mode_t umask = 0;
    std::shared_ptr<Fd> cwd;
  };
  struct Pending {
    Fd pidfd;
    pid_t tgid;
    unsigned fields;
    std::vector<long> nrs;  // the syscalls of the changes (umask, chdir, fchdir)
    unsigned looks = 0;     // how often it was asked whether the thread has left them
  };
  bool left_change(pid_t tid, Pending &p);
  bool may_keep(pid_t tid, pid_t tgid, FsField field, uint64_t gen);
  Entry *live(pid_t tid, pid_t tgid);
  void forget(pid_t tgid, unsigned fields);
  void sweep();
  void disable_locked();
  std::mutex mu_;
  const size_t max_;  // entries, and split processes (fds: fscache.cc fd_budget)
  std::atomic<bool> enabled_;
  bool shared_ = false;
  uint64_t gen_ = 0;
  std::unordered_map<pid_t, Entry> entries_;
  std::map<pid_t, Pending> pending_;  // by TID
  std::map<pid_t, Fd> split_;         // by tgid, with a pidfd of the process
};

// The calling serving thread's umask (each has an fs_struct of its own), set
// only when it differs: init creates with the caller's.
void use_umask(mode_t mask);
