#pragma once
#include <string>
#include <vector>
#include "spawn.h"

// The addon's side of a warm pool (lib/pool.ts, native/helper/ops_pool.cc).

// Hands a pooled sandbox its command: makes the pipes and socketpairs `fds`
// asks for (as sbx_spawn does), puts the command's plan in a memfd and sends
// it with every stdio fd over `ctl` in one SCM_RIGHTS message. Fills
// out->pipes / out->sockets. 0, or an errno with *syscall_name.
int sbx_pool_send(int ctl, const std::string &plan, const std::vector<int> &fds, SpawnResult *out,
                  const char **syscall_name);

// Whether a pooled sandbox's command process has reached pool_wait (it writes a byte
// on `ctl` there): one built ahead is served at once, one still being built
// makes its command wait for the rest of the build.
bool sbx_pool_ready(int ctl);

// Whether the process behind `pidfd` has exited (a discarded or failed warm-up).
bool sbx_pidfd_exited(int pidfd);

// What a helper inherits from this process that a pooled one fixed at its
// start: the resource limits, the umask, the calling thread's nice value and
// CPU affinity, and the cgroup. Equal strings: a fresh helper would inherit the same.
std::string sbx_process_state();

// An fd on /proc/self/mountinfo, and whether this process's mount table
// changed since the last call with it (the kernel marks the open file with
// POLLPRI on each mount or unmount; the poll clears the mark). -1 / true on error.
int sbx_mount_watch();
bool sbx_mounts_changed(int fd);
