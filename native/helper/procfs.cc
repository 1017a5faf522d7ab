#include "procfs.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

bool write_file(const char *path, const std::string &text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == (ssize_t)text.size();
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

const char *write_id_maps(const std::string &inside_uid, const std::string &outside_uid,
                          const std::string &inside_gid, const std::string &outside_gid) {
  if (!write_file("/proc/self/setgroups", "deny")) return "setgroups";
  if (!write_file("/proc/self/uid_map", inside_uid + " " + outside_uid + " 1\n")) return "uid_map";
  if (!write_file("/proc/self/gid_map", inside_gid + " " + outside_gid + " 1\n")) return "gid_map";
  return nullptr;
}
