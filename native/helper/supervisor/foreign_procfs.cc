#include "foreign_procfs.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const char *s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out += (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool at_or_below(const std::string &path, const std::string &dir) {
  if (dir == "/") return true;
  return path.compare(0, dir.size(), dir) == 0 && (path.size() == dir.size() || path[dir.size()] == '/');
}

struct Mounts {
  std::vector<std::string> foreign;  // procfs mount points outside /proc
  bool unreadable = false;           // no mountinfo: every path counts as foreign (fail closed)
};

Mounts read_mounts() {
  Mounts m;
  int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    m.unreadable = true;
    return m;
  }
  std::string text;
  char buf[8192];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      m.unreadable = true;
      break;
    }
    text.append(buf, (size_t)n);
  }
  close(fd);
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    // Fields: id parent major:minor root mountpoint options... - fstype source super
    size_t f[5];
    size_t pos = 0;
    int k = 0;
    for (; k < 5 && pos != std::string::npos; k++) {
      f[k] = pos;
      pos = line.find(' ', pos);
      if (pos != std::string::npos) pos++;
    }
    size_t dash = line.find(" - ");
    if (k < 5 || pos == std::string::npos || dash == std::string::npos) continue;
    size_t type_at = dash + 3;
    size_t type_end = line.find(' ', type_at);
    std::string type =
        line.substr(type_at, type_end == std::string::npos ? std::string::npos : type_end - type_at);
    if (type != "proc") continue;
    std::string point = unescape(line.data() + f[4], pos - 1 - f[4]);
    if (!at_or_below(point, "/proc")) m.foreign.push_back(point);
  }
  return m;
}

const Mounts &mounts() {
  static const Mounts m = read_mounts();  // thread-safe once: init serves from several threads
  return m;
}

}  // namespace

bool under_foreign_procfs(const std::string &path) {
  const Mounts &m = mounts();
  if (m.unreadable) return true;
  for (const std::string &p : m.foreign)
    if (at_or_below(path, p)) return true;
  return false;
}

bool on_sandbox_proc(int dirfd) {
  static dev_t proc_dev = [] {
    struct stat st;
    return stat("/proc", &st) == 0 ? st.st_dev : (dev_t)-1;
  }();
  struct stat st;
  return fstat(dirfd, &st) == 0 && st.st_dev == proc_dev;
}
