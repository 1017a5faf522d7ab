#include "fsops.h"
#include "uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int sbx_renameat2(const char *from, const char *to, unsigned flags) {
  return syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags) == 0 ? 0 : errno;
}

int sbx_landlock_abi(int *errata) {
  long abi = syscall(SBX_NR_landlock_create_ruleset, nullptr, 0, SBX_LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) return -errno;
  long e = syscall(SBX_NR_landlock_create_ruleset, nullptr, 0, SBX_LANDLOCK_CREATE_RULESET_ERRATA);
  *errata = e < 0 ? 0 : (int)e;  // errata queries arrived after ABI 6; older kernels say EINVAL
  return (int)abi;
}

int sbx_pidfd_send_signal(int pidfd, int sig) {
  return syscall(__NR_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0 ? 0 : errno;
}
