// open, openat and creat with O_CREAT: the name is checked, created or
// reopened by init on the directory it resolved. With git-control, opens for
// writing without O_CREAT come here too: the file is found as the kernel
// would find it, checked, and reopened from the fd that was checked; and so
// does truncate(2) by name.
#include "call.h"
#include "fscache.h"
#include "../procfs.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace {

// Opens, for the caller, the existing file our O_PATH fd holds: through
// /proc/self/fd, so what was checked and what is opened are one inode.
// `at`: the directory and name it was opened from (none through /proc);
// `checked`: create_refused has looked at that name already; `known`: the
// fd's fstat when the caller made it; `where`: its path when the lookup proved it.
Outcome open_existing(Call &c, Fd &opath, int flags, const Place *at, bool checked, const struct stat *known,
                      const std::string &where = std::string()) {
  Outcome o;
  o.cloexec = flags & O_CLOEXEC;
  if ((flags & O_CREAT) && (flags & O_EXCL)) return fail_with(EEXIST);
  struct stat st;
  if (known)
    st = *known;
  else if (fstat(opath.fd, &st) != 0)
    return fail_with(errno);
  if (c.truncating && !S_ISREG(st.st_mode)) return fail_with(S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0)) return open_tty(c, flags);
  if ((flags & (O_ACCMODE | O_TRUNC)) && S_ISREG(st.st_mode)) {
    if (int err = linked_refused(c, opath.fd, &st)) return fail_with(err);
    if (int err = pinned_fd_refused(c, opath.fd, where, at)) return fail_with(err);
    if (int err = at ? git_write_refused_at(c, *at, checked) : git_write_refused(c, opath.fd, &st, where))
      return fail_with(err);
  }
  int reopen = (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY;
  if (S_ISFIFO(st.st_mode) && !(flags & O_NONBLOCK)) {
    open_fifo_on_thread(c.srv, c.n.id, opath.fd, reopen, o.cloexec, o);
    opath.fd = -1;  // the thread owns it now
    return o;
  }
  int fd = reopen_fd(opath.fd, reopen);
  if (fd < 0) return fail_with(errno);
  o.send_fd = fd;
  return o;
}

// Whether an O_CREAT open of `path` may look the whole path up first: only
// under /dev, where the name is there (a device: `> /dev/null`), and only
// when create_refused would pass the name without looking at its directory
// (no protected name, no name of the repository model, no tree on the way),
// so that skipping it for an existing file is what the kernel's O_CREAT of
// an existing file does anyway. Elsewhere most such opens make a new file:
// they create first.
bool existing_first(const SupervisorConfig &cfg, const std::string &path, int flags) {
  if (!(flags & O_CREAT)) return true;
  if ((flags & O_EXCL) || path.compare(0, 5, "/dev/") != 0) return false;
  std::string name = last_component(path);
  if (cfg.protect_names.count(name) || may_be_protected(cfg, path)) return false;
  if (name == cfg.git.entry || name == cfg.git.head || name == cfg.git.logs) return false;
  for (const auto &mark : cfg.git.tree_marks)
    if (path.find(mark) != std::string::npos) return false;
  return true;
}

}  // namespace

// Opening with O_CREAT. Each name is first created with O_EXCL (most such
// opens make a new file); an existing one is looked up once (O_PATH, no
// following) and reopened from that fd (if it went meanwhile, we create
// again), and a symlink is followed here, one link at a time, with the
// protected-name check at each step, so a dangling `x -> .codex` cannot
// create `.codex`. Without O_CREAT (an open for writing) nothing is made:
// the same lookup, and a missing name is ENOENT. Following here matters for
// it too: the kernel following `x -> /proc/self/fd/N` for us would take our
// fd N.
Outcome open_create(Call &c, int dirfd, uint64_t path_addr, int flags, mode_t mode) {
  std::string path;
  if (int err = read_string(c.r, path_addr, kPathMax, path)) return fail_with(err);
  bool create = flags & O_CREAT;
  // An existing file spelled plainly: one lookup of the whole path, without
  // following any symlink, is the file the caller names, and its spelling is
  // its path (as for a metadata target, requester.h open_spelled). A symlink
  // there, or any error, takes the usual way below, which gives the caller's
  // errno. Nothing is made here, so no umask is needed.
  Fd whole;
  if (existing_first(c.cfg(), path, flags) && open_spelled_file(path, whole)) {
    if (!c.valid()) return fail_with(ESRCH);
    struct stat st;
    if (fstat(whole.fd, &st) != 0) return fail_with(errno);
    if (!S_ISLNK(st.st_mode)) return open_existing(c, whole, flags, nullptr, false, &st, path);
    whole.reset();
  }
  Place place;
  if (int err = locate(c.r, dirfd, path, place)) return fail_with(err);
  // Read before ID_VALID, which proves it the caller's; an open that makes
  // nothing needs none (and skips the check that a remembered one is current).
  mode_t mask = create ? c.r.umask() : 0;
  if (!c.valid()) return fail_with(ESRCH);
  int open_flags = flags | O_CLOEXEC | O_NOCTTY;
  for (int tries = 0;; tries++) {
    if (tries >= 40) return fail_with(ELOOP);
    std::string name = name_of(place);
    if (place.in_proc) {  // nothing is created on procfs; its magic links lead to open files
      Fd target(openat(place.dir.fd, name.c_str(), O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW)));
      if (!target.ok()) return fail_with(errno);
      return open_existing(c, target, flags, nullptr, false, nullptr);
    }
    // A pinned name is opened as it is, never made: the host may detach its
    // pin between any look and the create (pins.cc).
    bool pinned_here = create && at_pinned_name(c, place) != 0;
    if (pinned_here && (flags & O_EXCL)) return fail_with(pinned_name_refused(c, place, EEXIST));
    if (create && !pinned_here) {
      if (int err = create_refused(c, place, false, Naming::make_file)) return fail_with(err);
      use_umask(mask);
      int fd = openat(place.dir.fd, name.c_str(), open_flags | O_EXCL | O_NOFOLLOW, mode);
      if (fd >= 0) {
        Outcome o;
        o.cloexec = flags & O_CLOEXEC;
        o.send_fd = fd;
        return o;
      }
      // EEXIST: something is there (a dangling symlink too); anything else is the answer.
      if (errno != EEXIST || (flags & O_EXCL)) return fail_with(errno);
    }
    Fd target(openat(place.dir.fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!target.ok() && errno == ENOENT && pinned_here)
      return fail_with(pinned_name_refused(c, place, EROFS));
    if (!target.ok() && errno == ENOENT && create) continue;  // gone meanwhile: create again
    if (!target.ok()) return fail_with(errno);
    struct stat st;
    if (fstat(target.fd, &st) != 0) return fail_with(errno);
    if (!S_ISLNK(st.st_mode)) return open_existing(c, target, flags, &place, create && !pinned_here, &st);
    if (flags & O_NOFOLLOW) return fail_with(ELOOP);
    char link[kPathMax + 1];
    ssize_t n = readlinkat(target.fd, "", link, kPathMax);
    if (n < 0) return fail_with(errno);
    link[n] = 0;
    Place next;
    if (int err = locate_from(c.r, place.dir.fd, link, next)) return fail_with(err);
    place = std::move(next);
  }
}

// truncate(path, length) by name, with `writes`: the file is found as an open
// for writing finds it and checked as one (a second name of a guarded file,
// the repository model), then truncated through init's reopened fd. Past the
// caller's RLIMIT_FSIZE it is EFBIG, as the kernel would say (without the
// SIGXFSZ it would send the caller).
Outcome truncate_file(Call &c, int dirfd, uint64_t path_addr, int64_t length) {
  if (length < 0) return fail_with(EINVAL);
  struct rlimit lim;
  if (prlimit(c.r.tid, RLIMIT_FSIZE, nullptr, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
      (uint64_t)length > (uint64_t)lim.rlim_cur)
    return fail_with(EFBIG);
  c.truncating = true;
  Outcome o = open_create(c, dirfd, path_addr, O_WRONLY, 0);
  if (o.send_fd < 0) return o;
  int rc = ftruncate(o.send_fd, length);
  int err = errno;
  close(o.send_fd);
  return rc == 0 ? Outcome{} : fail_with(err);
}
