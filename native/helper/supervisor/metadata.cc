// Metadata changes (chmod, chown, utimes, xattrs, inode flags), performed on
// the file the caller named after the meta-deny check.
#include "call.h"
#include "../procfs.h"
#include "../../gen/events.h"
#include "../../uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

namespace {

// What a metadata change applies to: the file a path names (O_PATH), or with
// a NULL path the caller's fd itself. `by_fd` tells the caller which;
// `followed`, that we opened it following a last symlink (so it is none);
// `where`, its path when the lookup proved it (open_spelled), else "".
int meta_target(Call &c, int dirfd, uint64_t path_addr, bool follow, bool empty_path, Fd &target, bool &by_fd,
                std::string &where, bool *followed = nullptr) {
  by_fd = path_addr == 0;
  if (followed) *followed = false;
  if (by_fd) return take_fd(c.r, dirfd, target);
  std::string path;
  if (int err = read_string(c.r, path_addr, kPathMax, path)) return err;
  if (path.empty() && empty_path) {
    if (dirfd == AT_FDCWD) {
      ProcPath link = proc_tid(c.r.tid, "cwd");
      target.reset(open(link, O_PATH | O_CLOEXEC));
      return target.ok() ? 0 : errno;
    }
    return take_fd(c.r, dirfd, target);
  }
  // Opened below following a last symlink, with no magic link on the way (a
  // magic link to an O_PATH fd of a symlink would give the symlink itself).
  if (followed) *followed = follow;
  if (path[0] == '/' && open_spelled(path, follow ? 0 : O_NOFOLLOW, target, where)) return 0;
  Fd holder;
  int base, err;
  if (direct_base(c.r, dirfd, path, holder, base, err)) {
    if (err) return err;
    int fd = sbx_openat2(base, path.c_str(), O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
                         SBX_RESOLVE_NO_MAGICLINKS);
    struct statfs fs;
    if (fd >= 0 && fstatfs(fd, &fs) == 0 && fs.f_type != SBX_PROC_SUPER_MAGIC) {
      target.reset(fd);
      return 0;
    }
    if (fd >= 0)
      close(fd);  // on procfs: the careful way below decides whose entry it is
    else if (errno != ELOOP)
      return errno;  // ELOOP: a magic link on the way, the careful way below
  }
  Place place;
  if (int err = locate(c.r, dirfd, path, place)) return err;
  if (followed) *followed = follow && !place.in_proc;
  return open_place(place, follow, target);
}

// The filter refuses set-user-ID modes and sends set-group-ID ones here: on a
// directory it only makes new entries take the directory's group (git's
// shared repositories set it); a set-group-ID file made in a writable root
// would run as the sandbox's group for whoever runs it on the host.
int setid_refused(const Call &c, int fd, mode_t mode, const std::string &where, const struct stat *known) {
  if (!(mode & (S_ISUID | S_ISGID))) return 0;
  struct stat st;
  if (!(mode & S_ISUID) && (known || fstat(fd, &st) == 0) && S_ISDIR((known ? *known : st).st_mode)) return 0;
  return refused(c, EPERM, kViolationRuleSetidFile, where.empty() ? fd_path(fd) : where);
}

// What refuses a mode change of an existing file, by chmod or by an access
// ACL: an existing hook made executable runs at git's next call outside; a
// second name of a protected file, or a pin the host replaced, is not the
// command's to change.
int mode_change_refused(const Call &c, int fd, const struct stat *known, const std::string &where) {
  if (int err = git_write_refused(c, fd, known, where)) return err;
  if (int err = linked_refused(c, fd, known)) return err;
  return pinned_fd_refused(c, fd, where);
}

}  // namespace

Outcome change_mode(Call &c, int dirfd, uint64_t path, mode_t mode, bool follow, bool empty_path) {
  Fd t;
  std::string where;
  bool by_fd, followed;
  if (int err = meta_target(c, dirfd, path, follow, empty_path, t, by_fd, where, &followed))
    return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = meta_refused(c, t.fd, where)) return fail_with(err);
  // One fstat for the checks below and the symlink test: each took its own.
  struct stat st;
  bool stated = fstat(t.fd, &st) == 0;
  if (int err = mode_change_refused(c, t.fd, stated ? &st : nullptr, where)) return fail_with(err);
  if (int err = setid_refused(c, t.fd, mode, where, stated ? &st : nullptr)) return fail_with(err);
  if (by_fd) return done(fchmod(t.fd, mode));
  if (!followed && stated && S_ISLNK(st.st_mode))
    return fail_with(EOPNOTSUPP);  // links have no mode of their own
  if (c.cfg().chmod_via_proc) return done(chmod(proc_self_fd(t.fd), mode));  // as glibc does before 6.6
  return done(syscall(SBX_NR_fchmodat2, t.fd, "", mode, AT_EMPTY_PATH));
}

Outcome change_owner(Call &c, int dirfd, uint64_t path, uid_t uid, gid_t gid, bool follow, bool empty_path) {
  Fd t;
  std::string where;
  bool by_fd;
  if (int err = meta_target(c, dirfd, path, follow, empty_path, t, by_fd, where)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = meta_refused(c, t.fd, where)) return fail_with(err);
  if (by_fd) return done(fchown(t.fd, uid, gid));
  return done(fchownat(t.fd, "", uid, gid, AT_EMPTY_PATH));
}

// times: NULL for "now", or two timespecs (utime/utimes callers converted).
Outcome change_times(Call &c, int dirfd, uint64_t path, const struct timespec *times, bool follow,
                     bool empty_path) {
  Fd t;
  std::string where;
  bool by_fd;
  if (int err = meta_target(c, dirfd, path, follow, empty_path, t, by_fd, where)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = meta_refused(c, t.fd, where)) return fail_with(err);
  if (by_fd) return done(syscall(SYS_utimensat, t.fd, nullptr, times, 0));  // glibc refuses a NULL path
  return done(utimensat(t.fd, "", times, AT_EMPTY_PATH));
}

int read_times_timeval(Call &c, uint64_t addr, struct timespec ts[2], bool &now) {
  now = addr == 0;
  if (now) return 0;
  struct timeval tv[2];
  if (int err = read_memory(c.r, addr, tv, sizeof tv)) return err;
  for (int i = 0; i < 2; i++) {
    if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) return EINVAL;
    ts[i].tv_sec = tv[i].tv_sec;
    ts[i].tv_nsec = tv[i].tv_usec * 1000;
  }
  return 0;
}

// set (value != nullptr) or remove an extended attribute.
Outcome change_xattr(Call &c, int dirfd, uint64_t path, uint64_t name_addr, const std::string *value,
                     int xflags, bool follow, bool empty_path) {
  std::string name;
  if (int err = read_string(c.r, name_addr, kXattrNameMax + 1, name))
    return fail_with(err == ENAMETOOLONG ? ERANGE : err);
  Fd t;
  std::string where;
  bool by_fd;
  if (int err = meta_target(c, dirfd, path, follow, empty_path, t, by_fd, where)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = meta_refused(c, t.fd, where)) return fail_with(err);
  // The access ACL's owner, group-or-mask and other entries are the mode's
  // bits: setting or removing it is a chmod (the default ACL, a directory's
  // modes to come, too).
  if (name == "system.posix_acl_access" || name == "system.posix_acl_default")
    if (int err = mode_change_refused(c, t.fd, nullptr, where)) return fail_with(err);
  if (by_fd) {
    return done(value ? fsetxattr(t.fd, name.c_str(), value->data(), value->size(), xflags)
                      : fremovexattr(t.fd, name.c_str()));
  }
  // setxattrat(AT_EMPTY_PATH) wants a real open file, not our O_PATH fd: go
  // through its /proc/self/fd link, which leads to exactly this inode. A
  // symlink itself takes no user.* attribute (and the rest need capabilities).
  struct stat st;
  if (fstat(t.fd, &st) != 0) return fail_with(errno);
  if (S_ISLNK(st.st_mode)) return fail_with(EPERM);
  ProcPath link = proc_self_fd(t.fd);
  return done(value ? setxattr(link, name.c_str(), value->data(), value->size(), xflags)
                    : removexattr(link, name.c_str()));
}

int read_value(Call &c, uint64_t addr, uint64_t size, std::string &out) {
  if (size > kXattrSizeMax) return E2BIG;
  out.assign(size, '\0');
  return size ? read_memory(c.r, addr, &out[0], size) : 0;
}

// The filter sends only the _IO/_IOW inode ioctls of lib/seccomp.ts INODE_FLAG_IOCTLS
// here (FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR's 28 bytes, the SETVERSIONs, ...):
// their argument is read in whole, and nothing is written back.
Outcome change_inode_flags(Call &c, const IoctlArgs &x) {
  unsigned int cmd = (unsigned int)x.ioctl_cmd;
  size_t size = (cmd >> 16) & 0x3fff;  // _IOC_SIZE
  if (size > 64) return fail_with(ENOTTY);
  unsigned char arg[64];
  if (int err = read_memory(c.r, x.in_buffer, arg, size)) return fail_with(err);
  Fd t;
  if (int err = take_fd(c.r, x.fd, t)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = meta_refused(c, t.fd)) return fail_with(err);
  return done(ioctl(t.fd, cmd, arg));
}
