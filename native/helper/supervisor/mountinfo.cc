#include "mountinfo.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <unistd.h>

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

}  // namespace

bool at_or_below(const std::string &path, const std::string &dir) {
  if (dir == "/") return true;
  return path.compare(0, dir.size(), dir) == 0 && (path.size() == dir.size() || path[dir.size()] == '/');
}

bool read_mountinfo(std::vector<MountLine> &out) {
  int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool whole = true;
  std::string text;
  char buf[8192];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      whole = false;
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
    if (k < 5 || pos == std::string::npos || dash == std::string::npos) {
      whole = false;
      continue;
    }
    char *rest = nullptr;
    unsigned long major = strtoul(line.c_str() + f[2], &rest, 10);
    unsigned long minor = rest && *rest == ':' ? strtoul(rest + 1, nullptr, 10) : 0;
    if (!rest || *rest != ':') whole = false;
    size_t type_at = dash + 3;
    size_t type_end = line.find(' ', type_at);
    MountLine m;
    m.dev = makedev(major, minor);
    m.point = unescape(line.data() + f[4], pos - 1 - f[4]);
    m.type = line.substr(type_at, type_end == std::string::npos ? std::string::npos : type_end - type_at);
    out.push_back(std::move(m));
  }
  return whole;
}
