// The inodes of every file below the plan's protect-tree= directories
// (sbx-native's own files and dependencies, read-only carve-outs, protected
// directories). A file there may have a second name in a writable area
// (pnpm's store hard-links each installed file), and writing through that
// name would change what the next sandbox runs or what the carve-out keeps.
// The walk costs a few tens of milliseconds for a clone's node_modules, so it
// is made once per sandbox, the first time a file with more than one name is
// opened for writing. A hidden (deny-read) directory is walked through the fd
// hold_tree took before its mask covered it.
//
// A directory init cannot read (mode 000, another user's) hides its inodes.
// A hard link never leaves its filesystem, so those inodes lie on the
// directory's filesystem or on one mounted below it; a file on any other
// filesystem cannot be one of them. Init bounds that set of devices from its
// mount table, and only where a filesystem gives each of its inodes the one
// st_dev its mount line shows (the types below); anything else (btrfs
// subvolumes, overlayfs, network and automounted filesystems, an unreadable
// table) leaves it unbounded: every file with more than one name is refused.
#include "call.h"
#include "mountinfo.h"
#include <algorithm>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

// A directory (or an entry) the walk could not see into, and the device its
// stat gave (or its parent's, when the entry itself could not be stat-ed).
struct Unseen {
  std::string path;
  uint64_t dev;
};

struct Dir {
  int fd;
  std::string path;
};

std::string join(const std::string &dir, const char *name) { return (dir == "/" ? "" : dir) + "/" + name; }

// Every regular file's inode below the directory `fd` names (closes it);
// what could not be read goes to `unseen` (`unbounded` when not even its
// device is known), and so does every directory left once `budget` entries
// have been read.
void walk(int fd, const std::string &path, const std::vector<std::string> &skip,
          std::set<std::pair<uint64_t, uint64_t>> &out, std::vector<Unseen> &unseen, bool &unbounded,
          size_t &budget) {
  std::vector<Dir> dirs{{fd, path}};
  while (!dirs.empty()) {
    Dir d = dirs.back();
    dirs.pop_back();
    struct stat self;
    if (fstat(d.fd, &self) != 0) {
      close(d.fd);
      unbounded = true;
      continue;
    }
    if (budget == 0) {
      close(d.fd);
      unseen.push_back({d.path, (uint64_t)self.st_dev});
      continue;
    }
    DIR *dir = fdopendir(d.fd);
    if (!dir) {
      close(d.fd);
      unseen.push_back({d.path, (uint64_t)self.st_dev});
      continue;
    }
    for (;;) {
      errno = 0;
      struct dirent *e = readdir(dir);
      if (!e) {
        if (errno != 0) unseen.push_back({d.path, (uint64_t)self.st_dev});  // read in part
        break;
      }
      if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
      if (budget > 0) budget--;
      struct stat st;
      if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        // The name may be a file of this directory's filesystem or a mount point (the table tells).
        unseen.push_back({join(d.path, e->d_name), (uint64_t)self.st_dev});
        continue;
      }
      if (S_ISREG(st.st_mode)) {
        out.insert({(uint64_t)st.st_dev, (uint64_t)st.st_ino});
      } else if (S_ISDIR(st.st_mode)) {
        if (!skip.empty() && std::find(skip.begin(), skip.end(), join(d.path, e->d_name)) != skip.end())
          continue;
        int sub = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
          dirs.push_back({sub, join(d.path, e->d_name)});
        else
          unseen.push_back({join(d.path, e->d_name), (uint64_t)st.st_dev});
      }
    }
    closedir(dir);
  }
}

// Filesystems that give every inode of a mount the device its mountinfo line
// shows, so a device read there bounds where a hidden inode can be.
bool one_dev_per_mount(const std::string &type) {
  return type == "ext2" || type == "ext3" || type == "ext4" || type == "xfs" || type == "tmpfs" ||
         type == "f2fs";
}

// The devices the inodes below each unseen path may be on: the filesystem
// the path is on (the device its stat gave, as the table shows it) and every
// filesystem mounted at or below it. Found by device, not by the mount point
// above the path: a held tree's path is covered by its mask in this table,
// while its own mount line is still there. False: they cannot be bounded.
bool bound(const std::vector<Unseen> &unseen, std::set<uint64_t> &devs) {
  std::vector<MountLine> mounts;
  if (!read_mountinfo(mounts)) return false;
  for (const Unseen &u : unseen) {
    bool dev_is_a_mounts = false;
    for (const MountLine &m : mounts) {
      bool holds = (uint64_t)m.dev == u.dev;
      if (!holds && !at_or_below(m.point, u.path)) continue;
      if (!one_dev_per_mount(m.type)) return false;
      devs.insert((uint64_t)m.dev);
      if (holds) dev_is_a_mounts = true;
    }
    // The device stat gave is not one the table shows: the table cannot be trusted for it.
    if (!dev_is_a_mounts) return false;
  }
  return true;
}

}  // namespace

// 1: the file is below a guarded tree; 0: it is not; -1: a tree could not be
// read whole and the file may be one of the inodes init could not see, so it
// cannot be told (the caller refuses: fail closed).
int in_guard_tree(const SupervisorConfig &cfg, uint64_t dev, uint64_t ino) {
  GuardTrees &g = cfg.guard_trees;
  if (!g.walked) {
    g.walked = true;
    std::vector<Unseen> unseen;
    for (const auto &t : cfg.protect_trees) {
      int fd = open(t.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        if (errno == ENOENT) continue;  // gone since the plan: nothing of it to write
        // A directory it may not open, or a symlink (O_NOFOLLOW) to one: where it really is bounds it.
        struct stat st;
        char *real = realpath(t.c_str(), nullptr);
        if (real && lstat(real, &st) == 0 && S_ISDIR(st.st_mode))
          unseen.push_back({real, (uint64_t)st.st_dev});
        else
          g.unbounded = true;
        free(real);
        continue;
      }
      // The paths are matched against mount points: spelled as the kernel spells them (no symlink on the
      // way).
      std::string real = fd_path(fd);
      if (real.empty()) g.unbounded = true;
      size_t unlimited = SIZE_MAX;  // sbx-native's own files and the carve-outs: walked whole, as before
      walk(fd, real.empty() ? t : real, {}, g.inodes, unseen, g.unbounded, unlimited);
    }
    // A hidden directory may be a whole home (--deny-read ~): past the plan's
    // budget the rest counts as unseen, so the requests that wait on this
    // walk are not held up for long, and what it did not read is refused.
    size_t held_budget = cfg.held_budget;
    for (const auto &h : cfg.held_trees) {
      int fd = openat(h.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd >= 0) {
        walk(fd, h.path, h.skip, g.inodes, unseen, g.unbounded, held_budget);
        continue;
      }
      struct stat st;
      if (fstat(h.fd, &st) == 0)
        unseen.push_back({h.path, (uint64_t)st.st_dev});
      else
        g.unbounded = true;
    }
    if (!unseen.empty() || g.unbounded) g.complete = false;
    if (!unseen.empty() && !g.unbounded && !bound(unseen, g.unseen_devs)) g.unbounded = true;
  }
  if (g.inodes.count({dev, ino})) return 1;
  if (g.complete) return 0;
  return g.unbounded || g.unseen_devs.count(dev) ? -1 : 0;
}
