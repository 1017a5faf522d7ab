#pragma once
#include <cstdint>
#include <string>
#include <vector>

// One walk of a directory tree for the git directories in it (lib/repository-scan.ts
// decides what to protect in them; this only names them). Directories are
// told by d_type (an lstat only where the file system gives DT_UNKNOWN),
// symlinks are never followed, other mounts are not entered, and a git
// directory found is not entered.
struct GitWalk {
  std::vector<std::string> entries;  // every `.git` entry (directory, file or symlink)
  std::vector<std::string> bare;  // directories that hold HEAD beside objects and refs, or beside commondir
  std::vector<std::string> unreadable;  // directories that could not be opened or read (EACCES, EIO, ...)
  uint64_t seen = 0;                    // entries read
  bool exhausted = false;               // stopped at `budget` entries: the rest of the tree is unknown
  int error = 0;                        // errno of opening the root itself (ENOENT: nothing to walk)
  // With `stamps`: each directory read and its "dev:ino:ctime" taken before it
  // was read, for a later check that nothing in it changed (stamps_hold).
  // Empty when a stamp cannot be trusted: the walk stopped or could not read a
  // directory, or a directory changed within a second of the walk (the kernel's
  // timestamps are coarse, so a change in the same tick would leave its ctime as it was).
  std::vector<std::string> dirs, stamps;
  bool watch_failed = false;  // a directory could not be watched (native/git_watch.h)
};

// How far a walk goes, as the caller decides: directories below `max_depth`
// levels under the root are not read (their `.git` entries are still seen at
// the last level read), and with `own_only` a directory the caller's euid does
// not own is not entered, readable or not (the root itself is).
struct WalkLimits {
  uint32_t max_depth = UINT32_MAX;
  bool own_only = false;
};

// `watch_fd` (or -1): an inotify fd each directory is added to before it is read.
GitWalk sbx_git_walk(const std::string &root, uint64_t budget, bool stamps, int watch_fd = -1,
                     const WalkLimits &limits = WalkLimits{});

// Whether every directory still has the stamp a walk gave it (an entry made,
// removed or renamed in a directory changes its ctime).
bool sbx_git_stamps_hold(const std::vector<std::string> &dirs, const std::vector<std::string> &stamps);
