#include "seccomp_self.h"
#include "uapi.h"
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace {
const unsigned long kTsync = 1;  // SECCOMP_FILTER_FLAG_TSYNC
}

int sbx_seccomp_self(const std::string &prog) {
  if (prog.empty() || prog.size() % sizeof(sbx_sock_filter) != 0 ||
      prog.size() / sizeof(sbx_sock_filter) > SBX_BPF_MAXINSNS)
    return EINVAL;
  std::vector<sbx_sock_filter> insns(prog.size() / sizeof(sbx_sock_filter));
  for (size_t i = 0; i < insns.size(); i++) {
    const unsigned char *b = reinterpret_cast<const unsigned char *>(prog.data()) + i * 8;
    insns[i].code = (uint16_t)(b[0] | b[1] << 8);
    insns[i].jt = b[2];
    insns[i].jf = b[3];
    insns[i].k = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
  }
  struct sbx_sock_fprog fprog;
  memset(&fprog, 0, sizeof fprog);
  fprog.len = (unsigned short)insns.size();
  fprog.filter = insns.data();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  long r = syscall(SBX_NR_seccomp, SBX_SECCOMP_SET_MODE_FILTER, kTsync, &fprog);
  if (r < 0) return errno;
  return r > 0 ? -(int)r : 0;  // TSYNC: the id of a thread that could not take it
}
