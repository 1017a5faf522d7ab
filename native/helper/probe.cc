// `sbx-helper --probe-userns`: can this host give us a user namespace in
// which mounts work? (Ubuntu's AppArmor restriction creates the namespace but
// refuses mounts with EPERM.) Prints "ok" or "<stage> <errno>" and exits.
// Runs only in its own short-lived process; it changes nothing on the host.
#include "helper.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

namespace {

bool write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
  close(fd);
  return ok;
}

int report(const char *stage) {
  printf("%s %d\n", stage, errno);
  return 1;
}

}  // namespace

int probe_userns() {
  char map[64];
  unsigned uid = getuid(), gid = getgid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return report("unshare");
  if (!write_text("/proc/self/setgroups", "deny")) return report("setgroups");
  snprintf(map, sizeof map, "%u %u 1\n", uid, uid);
  if (!write_text("/proc/self/uid_map", map)) return report("uid_map");
  snprintf(map, sizeof map, "%u %u 1\n", gid, gid);
  if (!write_text("/proc/self/gid_map", map)) return report("gid_map");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return report("mount");
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=4k") != 0) return report("mount");
  printf("ok\n");
  return 0;
}
