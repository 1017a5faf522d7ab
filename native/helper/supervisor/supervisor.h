// The supervisor: init (pid 1) answers the syscalls the seccomp filter hands
// it (SECCOMP_RET_USER_NOTIF) by performing them itself on fds it resolved,
// after one check the plan asked for:
// - a metadata change (chmod, chown, utimes, xattrs, inode flags) on a file
//   under one of the `meta-deny` prefixes but under no `meta-allow` prefix is
//   refused with EROFS: the directories between a shared mount and the roots
//   live in a read-write mount and Landlock does not cover these syscalls;
// - creating, renaming or linking onto a `protect` path (a protected name that
//   did not exist when the sandbox started) is refused with EROFS, and so is
//   renaming or symlinking onto a `protect-dir` (a directory the plan says
//   leads to a protected path) or renaming one away; bind(2) of a unix
//   socket is a creation too;
// - making a `new-name` (a name that would start a new git repository) in a
//   directory that has none is refused with EROFS, but at the paths the plan
//   allows;
// - with the plan's `git-*` model, opening for writing, making, replacing,
//   linking, moving or chmod-ing what git reads as config or runs, in any
//   git directory (HEAD with objects/ and refs/, or a commondir: git's own
//   test), is refused with EROFS, and so is writing or replacing an existing
//   `.git` file, and making what would turn a directory that holds a HEAD
//   into a git directory.
// Everything else is performed as asked. Init runs with the command's uid,
// gids and Landlock domain and no capability but CAP_SYS_PTRACE (to read the
// memory and fds of callers that made themselves non-dumpable), so what it
// does for a caller is what the caller could have done, or fails the same
// way. Performing, not SECCOMP_USER_NOTIF_FLAG_CONTINUE, is what makes the
// check sound: with CONTINUE the kernel would read the path again, after the
// caller had time to change it. See docs/supervisor.md.
//
// The files of this folder, one concern each: listener.cc (the supervise step
// and the hand-off of the command's listener to init), serve.cc (the serving
// loop), decode.cc (each syscall's arguments), checks.cc (the plan's checks),
// metadata.cc, names.cc (mkdir, links, renames, bind), open.cc (O_CREAT
// opens, and opens for writing with git-control), fifo.cc, tty.cc (/dev/tty), requester.cc (the caller's
// memory, fds and paths), fscache.cc (what init remembers of callers: umask, cwd).
#pragma once
#include "../gen/supervised_syscalls.h"
#include <map>
#include <utility>
#include <set>
#include <stdint.h>
#include <string>
#include <vector>

// What the plan's supervise step asks init to check; read-only once serving.
// What init found below the protect-tree= directories (guard_trees.cc).
struct GuardTrees {
  bool walked = false;
  bool complete = true;  // every directory read: `inodes` is all there is
  std::set<std::pair<uint64_t, uint64_t>> inodes;
  // Not complete: the devices (filesystems) on which the inodes init could
  // not see may lie; `unbounded`: those cannot be told either.
  std::set<uint64_t> unseen_devs;
  bool unbounded = false;
};

struct SupervisorConfig {
  std::map<uint32_t, SupervisedOp> syscalls;  // this architecture's numbers -> what they do
  std::vector<std::string> meta_deny, meta_allow;
  std::set<std::string> protect;
  std::set<std::string> protect_dirs;   // directories on the way to protected paths
  std::set<std::string> protect_names;  // the last component of each of those paths (and the new_names)
  // What the plan pinned read-only (pin, pin_from): a host rename over one,
  // or its removal, detaches the pin here; init then refuses writing, making
  // and renaming onto anything at or below it (pins.cc).
  std::set<std::string> pinned;
  std::set<std::string> pinned_names;  // their last components: most names made are none of them
  // Names no directory may gain (`new-name`), but at the `new-allow` paths
  // and, as a regular file made by an O_CREAT open, at the `new-file-allow` paths.
  std::set<std::string> new_names, new_allow, new_file_allow;
  // The repository model in every git directory, found by the layout or not
  // (git_control.cc). Every name comes from the plan (lib/repository.ts).
  struct Git {
    std::vector<std::string> control;     // git-control=NAME: what git reads as config or follows
    std::vector<std::string> trees;       // git-control=NAME/: run, with all below it (hooks)
    std::vector<std::string> tree_marks;  // "/NAME" of each tree: the path test before a walk
    std::string head;                     // git-head=NAME: what every git directory holds
    // git-dir=A+B: with the head, names that make a directory a git
    // directory (setup.c is_git_directory); `becoming`, all of them.
    std::vector<std::vector<std::string>> dirs;
    std::vector<std::string> becoming;
    std::string entry;  // git-entry=NAME: a work tree's entry, a `gitdir:` pointer when a file
    std::string logs;   // git-logs=NAME: where a git directory's reflog of its head is (NAME/HEAD)
    // git-state=DIR/NAME:CHECK: a file git's sequencer reads to decide what
    // it runs, never written in place, checked when renamed onto (git_state.cc).
    struct State {
      std::string dir, name;
      enum Check { commands, value, keyed } check;
      std::string key;  // key=K: the config key whose value is checked
    };
    std::vector<State> state;
    std::set<std::string> state_dirs, state_names;
    std::set<std::string> state_words;   // git-state-word=W: a to-do line may start with W
    std::set<std::string> state_values;  // git-state-value=V: what a value or key may be
    size_t state_max = 0;                // git-state-max=N: the most init reads of one
    // git-state-at=DIR: a git directory the layout found, whose state files
    // are kept whatever it holds meanwhile (a HEAD it could re-make).
    std::set<std::string> state_at;
  } git;
  bool git_control = false;  // the plan gave the model (read_config checks it whole)
  // protect-inode=DEV:INO: protected files (read-only binds) a second name
  // made before the sandbox would let be written past their bind (checks.cc linked_refused).
  std::set<std::pair<uint64_t, uint64_t>> protect_inodes;
  // protect-tree=DIR: every file below is guarded like a protect-inode one
  // (guard_trees.cc); the inodes are read the first time they are needed.
  std::vector<std::string> protect_trees;
  // hold_tree DIR SKIP...: a hidden (deny-read) directory, held from before
  // its mask covered it, whose files are guarded the same way; the SKIP
  // directories below it (writable again) are not walked.
  struct Held {
    std::string path;
    int fd;
    std::vector<std::string> skip;
  };
  std::vector<Held> held_trees;
  size_t held_budget = SIZE_MAX;  // held-budget=N: entries read of all held trees together, at most
  mutable GuardTrees guard_trees;
  bool chmod_via_proc = false;  // no fchmodat2 (before 6.6): the plan says so (lib/features.ts)
  bool no_sync_wake = false;    // no SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (before 6.6)
  bool no_fscache = false;  // no PIDFD_THREAD (before 6.9): nothing of a caller is remembered (fscache.cc)
  std::vector<std::string>
      unix_allow;  // pathname unix sockets the policy lets the command reach (unix_peers.cc)
};

// The supervise step's part of the helper's state (Run::supervisor).
struct Supervisor {
  SupervisorConfig config;
  int parent_sock = -1, child_sock = -1;  // the command sends its listener fd to init
  bool active = false;                    // a supervise step ran; init's poll loop has the socket to watch
};
