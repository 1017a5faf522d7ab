#include "foreign_procfs.h"
#include "mountinfo.h"
#include <sys/stat.h>
#include <vector>

namespace {

struct Mounts {
  std::vector<std::string> foreign;  // procfs mount points outside /proc
  bool unreadable = false;           // no mountinfo: every path counts as foreign (fail closed)
};

Mounts read_mounts() {
  Mounts m;
  std::vector<MountLine> lines;
  if (!read_mountinfo(lines)) m.unreadable = true;
  for (const MountLine &l : lines)
    if (l.type == "proc" && !at_or_below(l.point, "/proc")) m.foreign.push_back(l.point);
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
