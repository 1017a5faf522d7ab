// Procfs mounts in the sandbox other than its own /proc: a view of the host's
// /proc (bubblewrap's `--ro-bind /proc DEST`) or a host procfs mounted outside
// /proc that the read-only root shows. In one, "self" and the numbered
// entries name processes as another pid namespace sees them, init among
// them, and the checks that keep the caller to its own /proc entries
// (requester.cc) only know the sandbox's /proc. A supervised call that would
// make init look a path up in one is refused (EACCES): such a call is never
// one a tool needs (nothing is created on procfs), and done by init it would
// open init's own entries (its memory, its status) for the caller.
#pragma once
#include <string>

// Whether `path` (absolute, spelled without "." or "..") lies on or below a
// foreign procfs mount point. The mount points are read from init's
// mountinfo at the first call, once the layout is complete: the command
// cannot mount, so they stay as they are for the sandbox's life.
bool under_foreign_procfs(const std::string &path);

// Whether a directory init found on some procfs (fstatfs said so) is on the
// sandbox's own /proc: the one procfs the requester's checks understand.
bool on_sandbox_proc(int dirfd);
