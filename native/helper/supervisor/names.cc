// Syscalls that make a name: mknod/mkdir, symlink, link, rename, and bind of a
// unix socket; each checked against the protected names first.
#include "call.h"
#include "fscache.h"
#include "../procfs.h"
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

// The second Place of a locate_pair that shares the first's directory fd
// lets go of it before the first closes it (declared after both Places).
struct Released {
  Place &p;
  bool shared;
  ~Released() {
    if (shared) p.dir.fd = -1;
  }
};

}  // namespace

Outcome make_node(Call &c, int dirfd, uint64_t path_addr, mode_t mode, dev_t dev, bool dir) {
  std::string path;
  if (int err = read_string(c.r, path_addr, kPathMax, path)) return fail_with(err);
  Place place;
  if (int err = locate(c.r, dirfd, path, place)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = create_refused(c, place, false)) return fail_with(err);
  if (int err = pinned_name_refused(c, place, EEXIST)) return fail_with(err);
  use_umask(c.r.umask());
  std::string name = name_of(place);
  return done(dir ? mkdirat(place.dir.fd, name.c_str(), mode)
                  : mknodat(place.dir.fd, name.c_str(), mode, dev));
}

Outcome make_symlink(Call &c, uint64_t target_addr, int dirfd, uint64_t path_addr) {
  std::string target, path;
  if (int err = read_strings(c.r, target_addr, path_addr, kPathMax, target, path)) return fail_with(err);
  Place place;
  if (int err = locate(c.r, dirfd, path, place)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = create_refused(c, place, true)) return fail_with(err);
  if (int err = pinned_name_refused(c, place, EEXIST)) return fail_with(err);
  return done(symlinkat(target.c_str(), place.dir.fd, name_of(place).c_str()));
}

Outcome make_link(Call &c, int olddir, uint64_t old_addr, int newdir, uint64_t new_addr, int flags) {
  std::string oldpath, newpath;
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
  if (int err = read_strings(c.r, old_addr, new_addr, kPathMax, oldpath, newpath)) return fail_with(err);
  Place to;
  if (oldpath.empty() && (flags & AT_EMPTY_PATH)) {
    if (int err = locate(c.r, newdir, newpath, to)) return fail_with(err);
    // Through /proc/self/fd with AT_SYMLINK_FOLLOW, as the caller could do
    // itself: AT_EMPTY_PATH would want the file opened with our credentials.
    Fd file;
    if (int err = take_fd(c.r, olddir, file)) return fail_with(err);
    if (!c.valid()) return fail_with(ESRCH);
    if (int err = create_refused(c, to, true)) return fail_with(err);
    if (int err = pinned_name_refused(c, to, EEXIST)) return fail_with(err);
    if (int err = git_write_refused(c, file.fd)) return fail_with(err);
    if (int err = pinned_fd_refused(c, file.fd)) return fail_with(err);
    ProcPath link = proc_self_fd(file.fd);
    return done(linkat(AT_FDCWD, link, to.dir.fd, name_of(to).c_str(), AT_SYMLINK_FOLLOW));
  }
  Place from;
  bool shared;
  if (int err = locate_pair(c.r, newdir, newpath, olddir, oldpath, to, from, shared)) return fail_with(err);
  Released release{from, shared};
  if (!c.valid()) return fail_with(ESRCH);
  // A hard link to a symlink can bring a tree too (to a directory above a protected name).
  if (int err = create_refused(c, to, true)) return fail_with(err);
  if (int err = pinned_name_refused(c, to, EEXIST)) return fail_with(err);
  if (flags & AT_SYMLINK_FOLLOW) {
    // Followed by us (no magic links but the caller's own), then linked
    // through /proc/self/fd as the caller could: the kernel following a
    // symlink to /proc/self/fd/N would take our fd N.
    Fd file;
    if (int err = open_place(from, true, file)) return fail_with(err);
    if (int err = git_write_refused(c, file.fd)) return fail_with(err);
    if (int err = pinned_fd_refused(c, file.fd)) return fail_with(err);
    ProcPath link = proc_self_fd(file.fd);
    return done(linkat(AT_FDCWD, link, to.dir.fd, name_of(to).c_str(), AT_SYMLINK_FOLLOW));
  }
  if (int err = git_link_refused(c, from)) return fail_with(err);
  // From a pinned name itself: the kernel's EXDEV out of its mount, given whether or not it holds.
  if (int err = pinned_name_refused(c, from, EXDEV)) return fail_with(err);
  if (!detached_pins(c).empty()) {
    std::string dir = dir_path(from);
    if (int err = detached_pin_refused(c, (dir == "/" ? "" : dir) + "/" + from.name)) return fail_with(err);
  }
  return done(linkat(from.dir.fd, name_of(from).c_str(), to.dir.fd, name_of(to).c_str(), 0));
}

Outcome do_rename(Call &c, int olddir, uint64_t old_addr, int newdir, uint64_t new_addr, unsigned flags) {
  std::string oldpath, newpath;
  if (int err = read_strings(c.r, old_addr, new_addr, kPathMax, oldpath, newpath)) return fail_with(err);
  Place from, to;
  bool shared;
  if (int err = locate_pair(c.r, olddir, oldpath, newdir, newpath, from, to, shared)) return fail_with(err);
  Released release{to, shared};
  if (!c.valid()) return fail_with(ESRCH);
  // Moving a directory above a protected path away takes the protection with
  // it and frees its name (the bind pins only the protected path itself).
  if (int err = create_refused(c, from, true, Naming::source)) return fail_with(err);
  if (int err = moves_repository(c, from)) return fail_with(err);
  // Onto a sequencer's file: checked and copied (git_state.cc). Such a file
  // is in a git directory, where the plan names no protected path, and a
  // read-only bind would fail init's own rename as it fails the caller's.
  Outcome state;
  if (git_state_rename(c, from, to, flags, state)) return state;
  if (int err = create_refused(c, to, true)) return fail_with(err);
  // A pinned name, onto or away from: the kernel's EBUSY for a mount point
  // (EEXIST onto one with RENAME_NOREPLACE), given whether or not it holds,
  // after its ENOENT for a source that is not there.
  int busy = (flags & RENAME_NOREPLACE) ? EEXIST : EBUSY;
  int pinned = pinned_name_refused(c, from, EBUSY);
  if (!pinned) pinned = pinned_name_refused(c, to, busy);
  if (pinned == EBUSY || pinned == EEXIST) {
    struct stat st;
    if (fstatat(from.dir.fd, name_of(from).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail_with(errno);
  }
  if (pinned) return fail_with(pinned);
  if ((flags & RENAME_EXCHANGE) && moves_repository(c, to)) return fail_with(EROFS);
  return done(
      syscall(SYS_renameat2, from.dir.fd, name_of(from).c_str(), to.dir.fd, name_of(to).c_str(), flags));
}

// bind(2) of a unix socket to a path makes a name too. Any bind is performed
// here (the socket's family could change under a look: another thread can
// dup2 a unix socket onto the fd). A unix path is bound as the caller gave it
// (so getsockname shows it), from the caller's cwd; only a last component
// that is some protected path's name is bound from the directory we resolved.
Outcome do_bind(Call &c, const BindArgs &x) {
  struct sockaddr_storage addr;
  socklen_t len = (socklen_t)x.size;
  if (len > sizeof addr) return fail_with(EINVAL);
  memset(&addr, 0, sizeof addr);
  if (int err = read_memory(c.r, x.sockaddr, &addr, len)) return fail_with(err);
  Fd sock;
  if (int err = take_fd(c.r, x.fd, sock)) return fail_with(err);
  auto *un = reinterpret_cast<struct sockaddr_un *>(&addr);
  size_t path_len =
      len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
  if (addr.ss_family != AF_UNIX || path_len == 0 || un->sun_path[0] == 0) {
    if (!c.valid()) return fail_with(ESRCH);
    return done(bind(sock.fd, reinterpret_cast<struct sockaddr *>(&addr), len));
  }
  std::string path(un->sun_path, strnlen(un->sun_path, path_len));
  Place place;
  Fd dir;
  if (may_be_protected(c.cfg(), path)) {
    if (int err = locate(c.r, AT_FDCWD, path, place)) return fail_with(err);
    if (int err = create_refused(c, place, false)) return fail_with(err);
    if (int err = pinned_name_refused(c, place, EADDRINUSE)) return fail_with(err);
    std::string name = name_of(place);
    if (name.size() >= sizeof un->sun_path) return fail_with(ENAMETOOLONG);
    memset(un->sun_path, 0, sizeof un->sun_path);
    memcpy(un->sun_path, name.data(), name.size());
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name.size() + 1);
    dir.reset(fcntl(place.dir.fd, F_DUPFD_CLOEXEC, 0));
  } else {
    ProcPath link = proc_tid(c.r.tid, "cwd");
    dir.reset(open(link, O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  if (!dir.ok()) return fail_with(errno);
  if (!c.valid()) return fail_with(ESRCH);
  // bind resolves a relative path from the cwd: ours moves there for the call
  // (init has no other use for its cwd) and back to / after.
  if (fchdir(dir.fd) != 0) return fail_with(errno);
  use_umask(c.r.umask());
  Outcome o = done(bind(sock.fd, reinterpret_cast<struct sockaddr *>(&addr), len));
  if (!o.err) note_bound(sock.fd, un->sun_path);  // still from the directory it was bound in
  if (chdir("/") != 0) o = fail_with(errno);
  return o;
}
