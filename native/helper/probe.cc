// `sbx-helper --probe-userns`: can this host give us a user namespace in
// which mounts work? (Ubuntu's AppArmor restriction creates the namespace but
// refuses mounts with EPERM.) Prints "ok" or "<stage> <errno>" and exits.
// Runs only in its own short-lived process; it changes nothing on the host.
#include "helper.h"
#include "procfs.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

namespace {

int report(const char *stage) {
  printf("%s %d\n", stage, errno);
  return 1;
}

}  // namespace

int probe_userns() {
  std::string uid = std::to_string(getuid()), gid = std::to_string(getgid());
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return report("unshare");
  if (const char *failed = write_id_maps(uid, uid, gid, gid)) return report(failed);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return report("mount");
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=4k") != 0) return report("mount");
  printf("ok\n");
  return 0;
}
