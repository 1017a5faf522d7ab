#pragma once
#include "gen/error_report.h"
#include "spawn.h"
#include <string>
#include <vector>

// spawnSync: starts the helper like sbx_spawn, then blocks this thread (as
// libuv's spawnSync runs a private loop) feeding `input`, collecting stdout
// and stderr, until the helper has exited and the pipes have closed.
struct SyncOptions {
  std::string input;    // written to the stdin pipe, which is then closed
  long timeout_ms = 0;  // 0: none; then kill_signal, and timed_out
  int kill_signal = 15;
  double max_buffer = 0;  // bytes per stream; 0 or less: no limit; past it kill_signal, and too_much
};

struct SyncResult {
  int pid = -1;
  int code = -1;            // exit code, or -1
  int signal = 0;           // terminating signal, or 0
  std::string out[3];       // [1] stdout, [2] stderr (what was piped)
  bool has_report = false;  // the helper's report: the sandbox or the exec failed
  ErrorReport report;
  bool timed_out = false;
  bool too_much = false;
  std::vector<std::string> events;  // the refusals' event records (protocol/events.json), in order
  int events_dropped = 0;           // refused hosts and ports past the ones kept
};

// 0, or an errno with *syscall naming the call that failed (nothing ran).
int sbx_spawn_sync(const SpawnRequest &req, const SyncOptions &opt, SyncResult *out,
                   const char **syscall_name);
