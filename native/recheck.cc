// The answers lib/fsview.ts's realView gives, computed as Node computes them
// (libuv's lstat/stat are statx, its realpath is realpath(3), existsSync is
// access(F_OK)), so the planner's recorded answers can be compared with them.
#include "recheck.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace {

std::string error(int err) { return "e" + std::to_string(err); }

std::string stat_type(const char *path, bool follow) {
  struct statx st;
  if (statx(AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, STATX_TYPE, &st) != 0)
    return errno == ENOENT ? "n" : error(errno);  // fs's throwIfNoEntry: false spares ENOENT only
  switch (st.stx_mode & S_IFMT) {
    case S_IFLNK: return "l";
    case S_IFDIR: return "d";
    case S_IFREG: return "f";
    default: return "o";
  }
}

std::string identity(const char *path) {
  struct statx st;
  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_INO, &st) != 0)
    return errno == ENOENT ? "n" : error(errno);
  // As libuv composes st_dev from statx's major and minor.
  unsigned long long dev = makedev(st.stx_dev_major, st.stx_dev_minor);
  return "s" + std::to_string(dev) + ":" + std::to_string((unsigned long long)st.stx_ino);
}

std::string real(const char *path) {
  char *r = realpath(path, nullptr);
  if (!r) return error(errno);
  std::string out = "s" + std::string(r);
  free(r);
  return out;
}

std::string link(const char *path) {
  char buf[PATH_MAX + 1];
  ssize_t n = readlink(path, buf, sizeof buf);
  if (n < 0) return error(errno);
  if ((size_t)n == sizeof buf) return error(ENAMETOOLONG);  // truncated: cannot be compared
  return "s" + std::string(buf, (size_t)n);
}

// The type and identity of one lstat, for the planner's per-plan view: "n" if
// absent, "e" and the errno for an error fs would throw, else the type letter
// followed by dev:ino (libuv's composition, as identity() gives it).
std::string lstat_answer(const char *path) {
  struct statx st;
  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_INO, &st) != 0)
    return errno == ENOENT ? "n" : error(errno);
  char type;
  switch (st.stx_mode & S_IFMT) {
    case S_IFLNK: type = 'l'; break;
    case S_IFDIR: type = 'd'; break;
    case S_IFREG: type = 'f'; break;
    default: type = 'o';
  }
  unsigned long long dev = makedev(st.stx_dev_major, st.stx_dev_minor);
  return type + std::to_string(dev) + ":" + std::to_string((unsigned long long)st.stx_ino);
}

std::string answer(char op, const char *path) {
  switch (op) {
    case 'l': return stat_type(path, false);
    case 's': return stat_type(path, true);
    case 'r': return real(path);
    case 'k': return link(path);
    case 'i': return identity(path);
    case 'x': return access(path, F_OK) == 0 ? "t" : "f";
    default: return "?";  // never equal to an encoded answer
  }
}

}  // namespace

std::string sbx_lstat_answer(const std::string &path) { return lstat_answer(path.c_str()); }

int sbx_recheck(const std::string &ops, const std::vector<std::string> &paths,
                const std::vector<std::string> &expected) {
  for (size_t i = 0; i < ops.size(); i++) {
    if (i >= paths.size() || i >= expected.size()) return (int)i;
    if (answer(ops[i], paths[i].c_str()) != expected[i]) return (int)i;
  }
  return -1;
}
