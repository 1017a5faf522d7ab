// bwrap's --die-with-parent for the front end's own Node process: bubblewrap's
// launcher dies with its parent, so a client killed with SIGKILL (Codex,
// sandbox-runtime) takes its sandboxes with it (lib/bwrap/run.ts).
#pragma once
#include <sys/types.h>

// PR_SET_PDEATHSIG(SIGKILL) on this process, then whether the parent it was
// started by still is: 0, ESRCH when that parent died before the prctl (this
// process was reparented already, so no signal would ever come), or an errno.
int sbx_die_with_parent(pid_t parent);
