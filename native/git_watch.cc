#include "git_watch.h"
#include <errno.h>
#include <initializer_list>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace {

const uint32_t kEvents = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;

bool names_matter(const char *name) {
  for (const char *n : {".git", "HEAD", "objects", "refs", "commondir"})
    if (strcmp(name, n) == 0) return true;
  return false;
}

}  // namespace

bool sbx_git_watch_covers(int dirfd) {
  struct statfs fs;
  if (fstatfs(dirfd, &fs) != 0) return false;
  switch ((unsigned long)fs.f_type) {
    case 0xEF53UL:      // ext2/3/4
    case 0x58465342UL:  // xfs
    case 0x9123683EUL:  // btrfs
    case 0x01021994UL:  // tmpfs
    case 0xF2F52010UL:  // f2fs
    case 0xCA451A4EUL:  // bcachefs
      return true;
    default: return false;
  }
}

GitWalk sbx_git_walk_watched(const std::string &root, uint64_t budget, int *watch, const WalkLimits &limits) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  GitWalk w = sbx_git_walk(root, budget, true, fd, limits);
  if (fd >= 0 && (w.watch_failed || w.exhausted || w.error || !w.unreadable.empty())) {
    close(fd);
    fd = -1;
  }
  *watch = fd;
  return w;
}

bool sbx_git_watch_add(int watch_fd, int dirfd) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
  return inotify_add_watch(watch_fd, link, kEvents | IN_ONLYDIR) >= 0;
}

bool sbx_git_watch_holds(int watch_fd) {
  alignas(struct inotify_event) char buf[1 << 14];
  for (;;) {
    ssize_t n = read(watch_fd, buf, sizeof buf);
    if (n < 0) return errno == EAGAIN;  // all read
    if (n == 0) return false;
    for (ssize_t off = 0; off < n;) {
      const auto *e = reinterpret_cast<const struct inotify_event *>(buf + off);
      off += sizeof(struct inotify_event) + e->len;
      if (e->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_UNMOUNT | IN_DELETE_SELF | IN_MOVE_SELF | IN_ISDIR))
        return false;
      if (e->len && names_matter(e->name)) return false;
    }
  }
}
