// What the sandbox's init tells its caller while the command runs, on the
// events pipe (the helper's third descriptor): records of at most PIPE_BUF
// bytes, each written with one write(2) so it arrives whole. Read by the
// addon's reaper and decoded in lib/events.ts.
#pragma once
#include <stdint.h>

enum SandboxEventType : int32_t {
  kEventStopped = 1,    // payload: int32 signal. The command was stopped (job control).
};

struct EventHeader {
  uint32_t size;  // of the whole record, header included
  int32_t type;   // SandboxEventType
};

const uint32_t kMaxEventSize = 4096;  // PIPE_BUF: a write this small is atomic
