#pragma once
#include <string>

// wrap(): the plan for a helper that another spawner starts (node-pty,
// execa, ...). The plan goes in a sealed memfd and the reports come back on
// a pipe, both held by this process; the helper, our child, opens them
// through /proc/<our pid>/fd/N (native/helper/handoff.cc), so no file in a
// shared directory can be read or forged by another sandbox.
struct Handoff {
  int plan_fd = -1;   // sealed memfd (write, grow, shrink, seal)
  int read_fd = -1;   // reports: ours to read, non-blocking
  int write_fd = -1;  // reports: the helper opens it; we close ours once it has
};

// 0, or an errno with *syscall naming the call that failed.
int sbx_handoff(const std::string &plan, Handoff *out, const char **syscall_name);
