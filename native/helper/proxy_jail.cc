// Where Landlock is missing (level mount-only) the network proxy still reads
// only what it needs: before it confines itself it moves into a user and
// mount namespace of its own whose root is a tmpfs holding just the plan's
// read= paths, bound from the host at the same names. It keeps the host's
// network (no network namespace). The plan asks for it (proxy_fork `jail`).
#include "proxy_jail.h"
#include <algorithm>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

const char kRoot[] = "/tmp";  // the new root's mount point (its contents are hidden, never read)

bool write_file(const char *path, const std::string &text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == (ssize_t)text.size();
  close(fd);
  return ok;
}

// mkdir -p of `path` below the new root (every component a directory).
bool make_dirs(const std::string &path) {
  std::string at;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    at += "/" + path.substr(i, j - i);
    if (mkdir((kRoot + at).c_str(), 0755) != 0 && errno != EEXIST) return false;
    i = j + 1;
  }
  return true;
}

// The host's symlinks on the way to `path` (/lib -> usr/lib), made again
// below the new root, so the name resolves there as on the host.
bool copy_links(const std::string &path) {
  std::string at;
  size_t i = 1;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string next = at + "/" + path.substr(i, j - i);
    struct stat st;
    if (lstat(next.c_str(), &st) != 0) return true;
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlink(next.c_str(), target, sizeof target - 1);
      if (n < 0) return false;
      target[n] = 0;
      if (!make_dirs(at.empty() ? "/" : at) && !at.empty()) return false;
      if (symlink(target, (kRoot + next).c_str()) != 0 && errno != EEXIST) return false;
      char real[PATH_MAX];
      if (!realpath(next.c_str(), real)) return true;
      return copy_links(std::string(real) + path.substr(j));
    }
    at = next;
    i = j + 1;
  }
  return true;
}

struct Source {
  std::string name;  // where it appears in the new root (its real path, or /proc/PID for /proc/self)
  int fd;            // O_PATH, opened before the tmpfs hides anything
  bool dir;
};

}  // namespace

int proxy_jail(const std::vector<std::string> &reads, std::string *what) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  std::vector<Source> sources;
  std::vector<std::string> links;
  std::string pid = std::to_string(getpid());
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return *what = "unshare(CLONE_NEWUSER|CLONE_NEWNS)", errno;
  if (!write_file("/proc/self/setgroups", "deny") ||
      !write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1") ||
      !write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1"))
    return *what = "write the proxy's id maps", errno;
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return *what = "mount(MS_PRIVATE) /", errno;
  // Opened in the new namespace (a bind's source must be one of its mounts), before the tmpfs hides any.
  for (const auto &p : reads) {
    std::string from = p == "/proc/self" ? "/proc/" + pid : p;
    char real[PATH_MAX];
    if (!realpath(from.c_str(), real)) {
      if (errno == ENOENT || errno == ENOTDIR) continue;  // the list names every usual place
      *what = "realpath " + p;
      return errno;
    }
    int fd = open(real, O_PATH | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
      *what = "open " + std::string(real);
      return errno;
    }
    sources.push_back({real, fd, S_ISDIR(st.st_mode)});
    if (p != "/proc/self" && p != real) links.push_back(p);
  }
  if (mount("sbx-proxy", kRoot, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    return *what = std::string("mount tmpfs on ") + kRoot, errno;
  // Parents first; a path inside one already bound is there with it.
  std::sort(sources.begin(), sources.end(),
            [](const Source &a, const Source &b) { return a.name.size() < b.name.size(); });
  std::vector<std::string> bound;
  for (const Source &s : sources) {
    bool inside = false;
    for (const auto &b : bound)
      inside = inside || b == "/" || s.name == b || s.name.compare(0, b.size() + 1, b + "/") == 0;
    if (inside) {
      close(s.fd);
      continue;
    }
    if (s.dir) bound.push_back(s.name);
    size_t slash = s.name.rfind('/');
    if (!make_dirs(slash == 0 ? "/" : s.name.substr(0, slash))) return *what = "mkdir for " + s.name, errno;
    std::string at = kRoot + s.name;
    if (s.dir ? mkdir(at.c_str(), 0755) != 0 && errno != EEXIST
              : close(open(at.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644)) != 0)
      return *what = "mount point for " + s.name, errno;
    std::string fd = "/proc/self/fd/" + std::to_string(s.fd);
    if (mount(fd.c_str(), at.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      return *what = "bind " + s.name, errno;
    close(s.fd);
  }
  for (const auto &l : links)
    if (!copy_links(l)) return *what = "symlinks on the way to " + l, errno;
  if (symlink(pid.c_str(), (std::string(kRoot) + "/proc/self").c_str()) != 0 && errno != EEXIST)
    return *what = "symlink /proc/self", errno;
  if (mkdir((std::string(kRoot) + "/.old").c_str(), 0700) != 0)
    return *what = "mkdir the old root's place", errno;
  if (syscall(SYS_pivot_root, kRoot, (std::string(kRoot) + "/.old").c_str()) != 0)
    return *what = "pivot_root", errno;
  if (chdir("/") != 0) return *what = "chdir /", errno;
  if (umount2("/.old", MNT_DETACH) != 0) return *what = "umount the old root", errno;
  if (rmdir("/.old") != 0) return *what = "rmdir the old root's place", errno;
  return 0;
}
