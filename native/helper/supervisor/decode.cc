// Each supervised syscall's arguments, as the kernel would take them, turned
// into a call of the function that performs it. The cases are the rows of
// protocol/syscalls.json (gen/supervised_syscalls.h); -Werror=switch makes a
// missing one a build error.
#include "call.h"
#include "../../uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <time.h>

using Op = SupervisedOp;

Outcome handle(Call &c, Op op) {
  const int cwd = AT_FDCWD;
  switch (op) {
    case Op::chmod: return change_mode(c, cwd, c.a(0), (mode_t)c.a(1), true, false);
    case Op::fchmod: return change_mode(c, c.fd(0), 0, (mode_t)c.a(1), true, false);
    case Op::fchmodat: return change_mode(c, c.fd(0), c.a(1), (mode_t)c.a(2), true, false);
    case Op::fchmodat2: {
      unsigned flags = (unsigned)c.a(3);
      if (flags & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
      if (c.a(1) == 0) return fail_with(EFAULT);
      return change_mode(c, c.fd(0), c.a(1), (mode_t)c.a(2), !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH);
    }
    case Op::chown: return change_owner(c, cwd, c.a(0), (uid_t)c.a(1), (gid_t)c.a(2), true, false);
    case Op::lchown: return change_owner(c, cwd, c.a(0), (uid_t)c.a(1), (gid_t)c.a(2), false, false);
    case Op::fchown: return change_owner(c, c.fd(0), 0, (uid_t)c.a(1), (gid_t)c.a(2), true, false);
    case Op::fchownat: {
      unsigned flags = (unsigned)c.a(4);
      if (flags & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
      if (c.a(1) == 0) return fail_with(EFAULT);
      return change_owner(c, c.fd(0), c.a(1), (uid_t)c.a(2), (gid_t)c.a(3), !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH);
    }
    case Op::utime: {
      struct timespec ts[2];
      if (c.a(1)) {
        struct { long actime, modtime; } ub;
        if (int err = read_memory(c.r, c.a(1), &ub, sizeof ub)) return fail_with(err);
        ts[0] = {ub.actime, 0};
        ts[1] = {ub.modtime, 0};
      }
      if (c.a(0) == 0) return fail_with(EFAULT);
      return change_times(c, cwd, c.a(0), c.a(1) ? ts : nullptr, true, false);
    }
    case Op::utimes:
    case Op::futimesat: {
      bool at = op == Op::futimesat;
      struct timespec ts[2];
      bool now;
      if (int err = read_times_timeval(c, c.a(at ? 2 : 1), ts, now)) return fail_with(err);
      if (!at && c.a(0) == 0) return fail_with(EFAULT);
      return change_times(c, at ? c.fd(0) : cwd, c.a(at ? 1 : 0), now ? nullptr : ts, true, false);
    }
    case Op::utimensat: {
      unsigned flags = (unsigned)c.a(3);
      if (flags & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
      struct timespec ts[2];
      if (c.a(2) && read_memory(c.r, c.a(2), ts, sizeof ts)) return fail_with(EFAULT);
      return change_times(c, c.fd(0), c.a(1), c.a(2) ? ts : nullptr, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH);
    }
    case Op::setxattr:
    case Op::lsetxattr:
    case Op::fsetxattr: {
      std::string value;
      if (int err = read_value(c, c.a(2), c.a(3), value)) return fail_with(err);
      if (op == Op::fsetxattr) return change_xattr(c, c.fd(0), 0, c.a(1), &value, (int)c.a(4), true, false);
      if (c.a(0) == 0) return fail_with(EFAULT);
      return change_xattr(c, cwd, c.a(0), c.a(1), &value, (int)c.a(4), op == Op::setxattr, false);
    }
    case Op::removexattr:
    case Op::lremovexattr:
      if (c.a(0) == 0) return fail_with(EFAULT);
      return change_xattr(c, cwd, c.a(0), c.a(1), nullptr, 0, op == Op::removexattr, false);
    case Op::fremovexattr: return change_xattr(c, c.fd(0), 0, c.a(1), nullptr, 0, true, false);
    case Op::setxattrat: {
      unsigned at = (unsigned)c.a(2);
      if (at & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
      struct sbx_xattr_args args;
      if (c.a(5) < sizeof args) return fail_with(EINVAL);
      if (int err = read_memory(c.r, c.a(4), &args, sizeof args)) return fail_with(err);
      std::string value;
      if (int err = read_value(c, args.value, args.size, value)) return fail_with(err);
      if (c.a(1) == 0) return fail_with(EFAULT);
      return change_xattr(c, c.fd(0), c.a(1), c.a(3), &value, (int)args.flags, !(at & AT_SYMLINK_NOFOLLOW), at & AT_EMPTY_PATH);
    }
    case Op::removexattrat: {
      unsigned at = (unsigned)c.a(2);
      if (at & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
      if (c.a(1) == 0) return fail_with(EFAULT);
      return change_xattr(c, c.fd(0), c.a(1), c.a(3), nullptr, 0, !(at & AT_SYMLINK_NOFOLLOW), at & AT_EMPTY_PATH);
    }
    case Op::ioctl: return change_inode_flags(c);
    case Op::open: return open_create(c, cwd, c.a(0), (int)c.a(1), (mode_t)c.a(2));
    case Op::creat: return open_create(c, cwd, c.a(0), O_CREAT | O_WRONLY | O_TRUNC, (mode_t)c.a(1));
    case Op::openat: return open_create(c, c.fd(0), c.a(1), (int)c.a(2), (mode_t)c.a(3));
    case Op::mkdir: return make_node(c, cwd, c.a(0), (mode_t)c.a(1), 0, true);
    case Op::mkdirat: return make_node(c, c.fd(0), c.a(1), (mode_t)c.a(2), 0, true);
    case Op::mknod: return make_node(c, cwd, c.a(0), (mode_t)c.a(1), (dev_t)c.a(2), false);
    case Op::mknodat: return make_node(c, c.fd(0), c.a(1), (mode_t)c.a(2), (dev_t)c.a(3), false);
    case Op::symlink: return make_symlink(c, c.a(0), cwd, c.a(1));
    case Op::symlinkat: return make_symlink(c, c.a(0), c.fd(1), c.a(2));
    case Op::link: return make_link(c, cwd, c.a(0), cwd, c.a(1), 0);
    case Op::linkat: return make_link(c, c.fd(0), c.a(1), c.fd(2), c.a(3), (int)c.a(4));
    case Op::rename: return do_rename(c, cwd, c.a(0), cwd, c.a(1), 0);
    case Op::renameat: return do_rename(c, c.fd(0), c.a(1), c.fd(2), c.a(3), 0);
    case Op::renameat2: return do_rename(c, c.fd(0), c.a(1), c.fd(2), c.a(3), (unsigned)c.a(4));
    case Op::bind: return do_bind(c);
    case Op::connect: return do_connect(c);
    case Op::sendto: return do_sendto(c);
    case Op::sendmsg: return do_sendmsg(c);
    case Op::sendmmsg: return do_sendmmsg(c);
    case Op::umask:
    case Op::chdir:
    case Op::fchdir:
    case Op::clone:
    case Op::unshare:
    case Op::setns: return fs_state_change(c, op);
  }
  return fail_with(ENOSYS);
}
