#pragma once
#include <string>
#include <vector>

// Starts the helper executable with a vfork-style clone + execve, so the cost
// does not grow with the Node heap, and hands it the plan and an error pipe.
struct SpawnRequest {
  std::string helper;    // absolute path of sbx-helper
  std::string plan;      // encoded plan (see native/helper/main.cc)
  std::vector<int> fds;  // child fd i <- fds[i]; -1 on 0..2: make a pipe; -2: make a socketpair (any i); -3:
                         // closed (i > 2)
  bool own_process_group = false;  // setpgid(0, 0) in the child
};

struct SpawnResult {
  int pid = -1;
  int pidfd = -1;
  int error_fd = -1;   // read end of the error pipe, non-blocking; complete once the helper has exited
  int events_fd = -1;  // read end of the events pipe (protocol/events.json), non-blocking
  int pipes[3] = {-1, -1, -1};  // parent ends of the stdio pipes that were made
  std::vector<int> sockets;     // parent ends of the socketpairs, by child fd (-1: none)
};

// Returns 0, or an errno with *syscall naming the call that failed.
int sbx_spawn(const SpawnRequest &req, SpawnResult *out, const char **syscall_name);

// The pipes (-1 on 0..2) and socketpairs (-2) `src` asks for: src[i] becomes
// the child's end (also pushed on child_ends), out->pipes / out->sockets the
// parent's. 0, or an errno with *syscall naming the call; on failure the
// caller closes what was made.
int sbx_make_channels(std::vector<int> &src, SpawnResult *out, std::vector<int> &child_ends,
                      const char **syscall_name);
