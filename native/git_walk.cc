// getdents64 over the tree, one buffer per directory read, no stat per entry:
// the cost is one open, one statx of the open directory (for the mount check) and the reads per
// directory, so it grows with the directories and entries of the tree.
#include "git_walk.h"
#include "git_watch.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace {

struct Dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

bool is(const char *name, const char *want) { return strcmp(name, want) == 0; }

// statx, not fstat/lstat: those are symbols of glibc 2.33 (the addon's floor is 2.28,
// scripts/check-glibc.js).
bool statOf(int dirfd, const char *path, int flags, struct statx *st) {
  return statx(dirfd, path, flags, STATX_TYPE | STATX_INO | STATX_CTIME | STATX_UID, st) == 0;
}

std::string stamp(const struct statx &st) {
  return std::to_string(st.stx_dev_major) + "," + std::to_string(st.stx_dev_minor) + ":" +
         std::to_string(st.stx_ino) + ":" + std::to_string(st.stx_ctime.tv_sec) + "." +
         std::to_string(st.stx_ctime.tv_nsec);
}

}  // namespace

GitWalk sbx_git_walk(const std::string &root, uint64_t budget, bool stamps, int watch_fd,
                     const WalkLimits &limits) {
  GitWalk out;
  struct timespec start;
  clock_gettime(CLOCK_REALTIME, &start);
  bool trusted = stamps;
  const uid_t me = geteuid();
  std::vector<std::pair<std::string, uint32_t>> todo{{root, 0}};
  std::vector<std::string> subdirs;
  uint64_t dev = 0;
  bool first = true;
  alignas(8) static thread_local char buf[1 << 16];
  while (!todo.empty()) {
    std::string dir = std::move(todo.back().first);
    const uint32_t depth = todo.back().second;
    todo.pop_back();
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (first) {
        out.error = err;
        return out;
      }
      struct statx ds;
      if (limits.own_only && statOf(AT_FDCWD, dir.c_str(), AT_SYMLINK_NOFOLLOW, &ds) && ds.stx_uid != me)
        continue;
      // Gone or replaced by a non-directory since its parent was read: nothing there now.
      if (err != ENOENT && err != ENOTDIR && err != ELOOP) out.unreadable.push_back(dir);
      continue;
    }
    struct statx st;
    if (!statOf(fd, "", AT_EMPTY_PATH, &st)) {
      out.unreadable.push_back(dir);
      close(fd);
      continue;
    }
    const uint64_t stdev = (uint64_t(st.stx_dev_major) << 32) | st.stx_dev_minor;
    // The walk enters no other mount, so the root's file system is every directory's.
    if (first && watch_fd >= 0 && !sbx_git_watch_covers(fd)) out.watch_failed = true;
    if (first) dev = stdev;
    const bool top = first;
    first = false;
    // Another mount: read-only in the sandbox (a root of its own is walked on its own).
    if (stdev != dev || (limits.own_only && !top && st.stx_uid != me)) {
      close(fd);
      continue;
    }
    if (watch_fd >= 0 && !out.watch_failed && !sbx_git_watch_add(watch_fd, fd)) out.watch_failed = true;
    if (trusted) {
      const int64_t ns = 1000000000;
      if (st.stx_ctime.tv_sec * ns + st.stx_ctime.tv_nsec >= (start.tv_sec - 1) * ns + start.tv_nsec)
        trusted = false;
      out.dirs.push_back(dir);
      out.stamps.push_back(stamp(st));
    }
    bool head = false, objects = false, refs = false, commondir = false;
    subdirs.clear();
    const std::string prefix = dir == "/" ? "" : dir;
    for (;;) {
      long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n < 0) {
        out.unreadable.push_back(dir);
        break;
      }
      if (n == 0) break;
      for (long off = 0; off < n;) {
        auto *d = reinterpret_cast<Dirent64 *>(buf + off);
        off += d->d_reclen;
        const char *name = d->d_name;
        if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
        if (++out.seen > budget) {
          out.exhausted = true;
          out.dirs.clear();
          out.stamps.clear();
          close(fd);
          return out;
        }
        if (is(name, ".git")) {
          out.entries.push_back(prefix + "/" + name);
          continue;  // its inside is the repository model's
        }
        if (is(name, "HEAD"))
          head = true;
        else if (is(name, "objects"))
          objects = true;
        else if (is(name, "refs"))
          refs = true;
        else if (is(name, "commondir"))
          commondir = true;
        unsigned char type = d->d_type;
        if (type == DT_UNKNOWN) {
          struct statx es;
          if (statOf(fd, name, AT_SYMLINK_NOFOLLOW, &es) && S_ISDIR(es.stx_mode)) type = DT_DIR;
        }
        if (type == DT_DIR) subdirs.push_back(prefix + "/" + name);
      }
    }
    close(fd);
    // As git's is_git_directory: any entry of these names counts.
    if (head && ((objects && refs) || commondir)) {
      out.bare.push_back(dir);
      continue;
    }
    if (depth < limits.max_depth)
      for (auto &s : subdirs) todo.emplace_back(std::move(s), depth + 1);
  }
  if (!trusted || !out.unreadable.empty()) {
    out.dirs.clear();
    out.stamps.clear();
  }
  return out;
}

bool sbx_git_stamps_hold(const std::vector<std::string> &dirs, const std::vector<std::string> &stamps) {
  if (dirs.size() != stamps.size() || dirs.empty()) return false;
  for (size_t i = 0; i < dirs.size(); i++) {
    struct statx st;
    if (!statOf(AT_FDCWD, dirs[i].c_str(), AT_SYMLINK_NOFOLLOW, &st) || !S_ISDIR(st.stx_mode)) return false;
    if (stamp(st) != stamps[i]) return false;
  }
  return true;
}
