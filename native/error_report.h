// What a failed plan step writes on the error pipe: one record, written with
// a single write(2) so it arrives whole. Read by lib/spawn.ts.
#pragma once
#include <stdint.h>

// step of the record a handed-over helper (--handoff) writes first: it holds
// the plan and the pipe; err is its pid. Not a failure.
const int32_t kReportStarted = -2;

struct ErrorReport {
  int32_t step;       // index of the failed plan step; -1: the helper itself could not start; kReportStarted
  int32_t err;        // errno
  char detail[248];   // what was being done, e.g. "open_tree /home/u"
};
