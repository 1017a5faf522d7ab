#pragma once
#include "git_walk.h"

// An inotify watch over the directories one git walk read (native/git_walk.cc
// adds each before reading it), so that a later spawn can tell in one read(2)
// whether the walk would still answer the same (lib/walk-cache.ts), instead
// of a statx of every directory or a walk again. The kernel reports every
// entry made, removed or moved in a watched directory, by any process, in
// any mount namespace.

// A walk (with stamps) whose directories are all watched: *watch is the
// inotify fd, or -1 when the walk stopped, missed a directory, or could not
// watch them all (a watch over part of a tree answers nothing later).
GitWalk sbx_git_walk_watched(const std::string &root, uint64_t budget, int *watch, const WalkLimits &limits);

// Watches the open directory `dirfd` (through its /proc/self/fd link: exactly
// that inode, whatever its path now). False when the kernel refuses (the
// user's watch limit): the walk then has no watch.
bool sbx_git_watch_add(int watch_fd, int dirfd);

// Whether the kernel sees every change to the file system `dirfd` is on,
// so a watch misses none: local disk file systems and tmpfs. Not a network
// or FUSE file system (another machine's or daemon's changes send no
// event), nor overlayfs (a change to a lower layer below it sends none).
bool sbx_git_watch_covers(int dirfd);

// Drains the events. True when none of them could change the walk's answer:
// only non-directory entries with names the walk does not look at were made,
// removed or moved. False for a directory entry made, removed or moved, an
// entry named .git, HEAD, objects, refs or commondir, a watched directory
// itself moved, removed or unmounted, a lost event (queue overflow), or a
// read error. After false the watch no longer covers the tree: close it.
bool sbx_git_watch_holds(int watch_fd);
