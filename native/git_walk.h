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
};

GitWalk sbx_git_walk(const std::string &root, uint64_t budget);
