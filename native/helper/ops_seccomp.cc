// The seccomp step: `seccomp HEX` installs the classic-BPF program that
// lib/seccomp.ts assembled (HEX is its struct sock_filter array). The helper
// knows nothing of what it filters. The plan runs it after no_new_privs and
// drop_caps and immediately before exec, so nothing the helper still does is
// affected but execve itself (which the program allows).
#include "helper.h"
#include "gen/step_dispatch.h"
#include "../uapi.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

void step_seccomp(Run &run, const Step &s) {
  // seccomp HEX [listen|listen-killable]: with a listener, the filter's
  // notifications go to init (the supervise step), through a listener fd sent
  // to it before exec. listen-killable (5.19) means only a fatal signal
  // interrupts a call init has taken, so a call init performed is never
  // restarted; the plan picks it from the kernel's version (lib/features.ts).
  const std::string mode = s.args.size() == 2 ? s.args[1] : "";
  bool listen = mode == "listen" || mode == "listen-killable";
  if (s.args.size() != 1 && !listen) fail(run, EINVAL, "seccomp: expected HEX [listen|listen-killable]");
  const std::string &hex = s.args[0];
  const size_t insn_hex = 2 * sizeof(sbx_sock_filter);
  if (hex.empty() || hex.size() % insn_hex != 0)
    fail(run, EINVAL, "seccomp: program length is not a whole number of instructions");
  size_t count = hex.size() / insn_hex;
  if (count > SBX_BPF_MAXINSNS) fail(run, EINVAL, "seccomp: program too long");
  std::string raw = hex_bytes(run, hex, "seccomp: the program");
  const unsigned char *bytes = reinterpret_cast<const unsigned char *>(raw.data());
  // The wire format is little-endian (both supported architectures are).
  std::vector<sbx_sock_filter> prog(count);
  for (size_t i = 0; i < count; i++) {
    const unsigned char *b = &bytes[i * 8];
    prog[i].code = (uint16_t)(b[0] | b[1] << 8);
    prog[i].jt = b[2];
    prog[i].jf = b[3];
    prog[i].k = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
  }
  struct sbx_sock_fprog fprog;
  memset(&fprog, 0, sizeof fprog);
  fprog.len = (unsigned short)count;
  fprog.filter = prog.data();
  // seccomp(2) exists since 3.17 and Landlock needs 5.13: no prctl fallback.
  if (listen) {
    unsigned long flags = SBX_SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (mode == "listen-killable") flags |= SBX_SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    int fd = (int)syscall(SBX_NR_seccomp, SBX_SECCOMP_SET_MODE_FILTER, flags, &fprog);
    if (fd < 0)
      fail(run, errno,
           "seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER" +
               std::string(mode == "listen-killable" ? " | WAIT_KILLABLE_RECV)" : ")"));
    supervisor_send_listener(run, fd);
    return;
  }
  if (syscall(SBX_NR_seccomp, SBX_SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0)
    fail(run, errno, "seccomp(SECCOMP_SET_MODE_FILTER)");
}
