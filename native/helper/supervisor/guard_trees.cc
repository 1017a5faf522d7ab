// The inodes of every file below the plan's protect-tree= directories
// (sbx-native's own files and dependencies). A file there may have a second
// name in a writable area (pnpm's store hard-links each installed file), and
// writing through that name would change what the next sandbox runs. The
// walk costs a few tens of milliseconds for a clone's node_modules, so it is
// made once per sandbox, the first time a file with more than one name is
// opened for writing.
#include "call.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

// Every regular file's inode below the directory `fd` names (closes it).
// False if some directory could not be read: the set is then incomplete.
bool walk(int fd, std::set<std::pair<uint64_t, uint64_t>> &out) {
  bool complete = true;
  std::vector<int> dirs{fd};
  while (!dirs.empty()) {
    int d = dirs.back();
    dirs.pop_back();
    DIR *dir = fdopendir(d);
    if (!dir) {
      close(d);
      complete = false;
      continue;
    }
    while (struct dirent *e = readdir(dir)) {
      if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
      struct stat st;
      if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        complete = false;
        continue;
      }
      if (S_ISREG(st.st_mode)) {
        out.insert({(uint64_t)st.st_dev, (uint64_t)st.st_ino});
      } else if (S_ISDIR(st.st_mode)) {
        int sub = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
          dirs.push_back(sub);
        else
          complete = false;
      }
    }
    closedir(dir);
  }
  return complete;
}

}  // namespace

// 1: the file is below a guarded tree; 0: it is not; -1: a tree could not be
// read whole, so it cannot be told (the caller refuses: fail closed).
int in_guard_tree(const SupervisorConfig &cfg, uint64_t dev, uint64_t ino) {
  GuardTrees &g = cfg.guard_trees;
  if (!g.walked) {
    g.walked = true;
    for (const auto &t : cfg.protect_trees) {
      int fd = open(t.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        if (errno != ENOENT) g.complete = false;  // gone since the plan: nothing of it to write
        continue;
      }
      if (!walk(fd, g.inodes)) g.complete = false;
    }
  }
  if (g.inodes.count({dev, ino})) return 1;
  return g.complete ? 0 : -1;
}
