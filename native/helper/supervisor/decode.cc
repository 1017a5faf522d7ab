// Each supervised syscall's arguments, as the kernel would take them, turned
// into a call of the function that performs it. The cases are the rows of
// protocol/syscalls.json, and the arguments are read by the roles the table
// gives them (gen/supervised_syscalls.h: <name>_args); -Werror=switch makes a
// missing case a build error.
#include "call.h"
#include "../../uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <time.h>

using Op = SupervisedOp;

Outcome handle(Call &c, Op op) {
  const int cwd = AT_FDCWD;
  const uint64_t *raw = c.raw();
  switch (op) {
    case Op::chmod: {
      auto x = chmod_args(raw);
      return change_mode(c, cwd, x.path, x.mode, true, false);
    }
    case Op::fchmod: {
      auto x = fchmod_args(raw);
      return change_mode(c, x.fd, 0, x.mode, true, false);
    }
    case Op::fchmodat: {
      auto x = fchmodat_args(raw);
      return change_mode(c, x.dirfd, x.path, x.mode, true, false);
    }
    case Op::fchmodat2: {
      auto x = fchmodat2_args(raw);
      unsigned flags = (unsigned)x.at_flags;
      if (flags & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
      if (x.path == 0) return fail_with(EFAULT);
      return change_mode(c, x.dirfd, x.path, x.mode, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH);
    }
    case Op::chown: {
      auto x = chown_args(raw);
      return change_owner(c, cwd, x.path, x.uid, x.gid, true, false);
    }
    case Op::lchown: {
      auto x = lchown_args(raw);
      return change_owner(c, cwd, x.path, x.uid, x.gid, false, false);
    }
    case Op::fchown: {
      auto x = fchown_args(raw);
      return change_owner(c, x.fd, 0, x.uid, x.gid, true, false);
    }
    case Op::fchownat: {
      auto x = fchownat_args(raw);
      unsigned flags = (unsigned)x.at_flags;
      if (flags & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
      if (x.path == 0) return fail_with(EFAULT);
      return change_owner(c, x.dirfd, x.path, x.uid, x.gid, !(flags & AT_SYMLINK_NOFOLLOW),
                          flags & AT_EMPTY_PATH);
    }
    case Op::utime: {
      auto x = utime_args(raw);
      struct timespec ts[2];
      if (x.utimbuf) {
        struct {
          long actime, modtime;
        } ub;
        if (int err = read_memory(c.r, x.utimbuf, &ub, sizeof ub)) return fail_with(err);
        ts[0] = {ub.actime, 0};
        ts[1] = {ub.modtime, 0};
      }
      if (x.path == 0) return fail_with(EFAULT);
      return change_times(c, cwd, x.path, x.utimbuf ? ts : nullptr, true, false);
    }
    case Op::utimes: {
      auto x = utimes_args(raw);
      struct timespec ts[2];
      bool now;
      if (int err = read_times_timeval(c, x.timeval_pair, ts, now)) return fail_with(err);
      if (x.path == 0) return fail_with(EFAULT);
      return change_times(c, cwd, x.path, now ? nullptr : ts, true, false);
    }
    case Op::futimesat: {
      auto x = futimesat_args(raw);
      struct timespec ts[2];
      bool now;
      if (int err = read_times_timeval(c, x.timeval_pair, ts, now)) return fail_with(err);
      return change_times(c, x.dirfd, x.path, now ? nullptr : ts, true, false);
    }
    case Op::utimensat: {
      auto x = utimensat_args(raw);
      unsigned flags = (unsigned)x.at_flags;
      if (flags & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
      struct timespec ts[2];
      if (x.timespec_pair && read_memory(c.r, x.timespec_pair, ts, sizeof ts)) return fail_with(EFAULT);
      return change_times(c, x.dirfd, x.path, x.timespec_pair ? ts : nullptr, !(flags & AT_SYMLINK_NOFOLLOW),
                          flags & AT_EMPTY_PATH);
    }
    case Op::setxattr: {
      auto x = setxattr_args(raw);
      std::string value;
      if (int err = read_value(c, x.in_buffer, x.size, value)) return fail_with(err);
      if (x.path == 0) return fail_with(EFAULT);
      return change_xattr(c, cwd, x.path, x.xattr_name, &value, (int)x.xattr_flags, true, false);
    }
    case Op::lsetxattr: {
      auto x = lsetxattr_args(raw);
      std::string value;
      if (int err = read_value(c, x.in_buffer, x.size, value)) return fail_with(err);
      if (x.path == 0) return fail_with(EFAULT);
      return change_xattr(c, cwd, x.path, x.xattr_name, &value, (int)x.xattr_flags, false, false);
    }
    case Op::fsetxattr: {
      auto x = fsetxattr_args(raw);
      std::string value;
      if (int err = read_value(c, x.in_buffer, x.size, value)) return fail_with(err);
      return change_xattr(c, x.fd, 0, x.xattr_name, &value, (int)x.xattr_flags, true, false);
    }
    case Op::removexattr: {
      auto x = removexattr_args(raw);
      if (x.path == 0) return fail_with(EFAULT);
      return change_xattr(c, cwd, x.path, x.xattr_name, nullptr, 0, true, false);
    }
    case Op::lremovexattr: {
      auto x = lremovexattr_args(raw);
      if (x.path == 0) return fail_with(EFAULT);
      return change_xattr(c, cwd, x.path, x.xattr_name, nullptr, 0, false, false);
    }
    case Op::fremovexattr: {
      auto x = fremovexattr_args(raw);
      return change_xattr(c, x.fd, 0, x.xattr_name, nullptr, 0, true, false);
    }
    case Op::setxattrat: {
      auto x = setxattrat_args(raw);
      unsigned at = (unsigned)x.at_flags;
      if (at & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
      struct sbx_xattr_args args;
      if (x.size < sizeof args) return fail_with(EINVAL);
      if (int err = read_memory(c.r, x.xattr_args, &args, sizeof args)) return fail_with(err);
      std::string value;
      if (int err = read_value(c, args.value, args.size, value)) return fail_with(err);
      if (x.path == 0) return fail_with(EFAULT);
      return change_xattr(c, x.dirfd, x.path, x.xattr_name, &value, (int)args.flags,
                          !(at & AT_SYMLINK_NOFOLLOW), at & AT_EMPTY_PATH);
    }
    case Op::removexattrat: {
      auto x = removexattrat_args(raw);
      unsigned at = (unsigned)x.at_flags;
      if (at & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
      if (x.path == 0) return fail_with(EFAULT);
      return change_xattr(c, x.dirfd, x.path, x.xattr_name, nullptr, 0, !(at & AT_SYMLINK_NOFOLLOW),
                          at & AT_EMPTY_PATH);
    }
    case Op::ioctl: return change_inode_flags(c, ioctl_args(raw));
    case Op::open: {
      auto x = open_args(raw);
      return open_create(c, cwd, x.path, (int)x.open_flags, x.mode);
    }
    case Op::truncate: {
      auto x = truncate_args(raw);
      return truncate_file(c, cwd, x.path, (int64_t)x.length);
    }
    case Op::creat: {
      auto x = creat_args(raw);
      return open_create(c, cwd, x.path, O_CREAT | O_WRONLY | O_TRUNC, x.mode);
    }
    case Op::openat: {
      auto x = openat_args(raw);
      return open_create(c, x.dirfd, x.path, (int)x.open_flags, x.mode);
    }
    case Op::mkdir: {
      auto x = mkdir_args(raw);
      return make_node(c, cwd, x.path, x.mode, 0, true);
    }
    case Op::mkdirat: {
      auto x = mkdirat_args(raw);
      return make_node(c, x.dirfd, x.path, x.mode, 0, true);
    }
    case Op::mknod: {
      auto x = mknod_args(raw);
      return make_node(c, cwd, x.path, x.mode, x.dev, false);
    }
    case Op::mknodat: {
      auto x = mknodat_args(raw);
      return make_node(c, x.dirfd, x.path, x.mode, x.dev, false);
    }
    case Op::symlink: {
      auto x = symlink_args(raw);
      return make_symlink(c, x.string, cwd, x.path);
    }
    case Op::symlinkat: {
      auto x = symlinkat_args(raw);
      return make_symlink(c, x.string, x.dirfd, x.path);
    }
    case Op::link: {
      auto x = link_args(raw);
      return make_link(c, cwd, x.path, cwd, x.path2, 0);
    }
    case Op::linkat: {
      auto x = linkat_args(raw);
      return make_link(c, x.dirfd, x.path, x.dirfd2, x.path2, (int)x.at_flags);
    }
    case Op::rename: {
      auto x = rename_args(raw);
      return do_rename(c, cwd, x.path, cwd, x.path2, 0);
    }
    case Op::renameat: {
      auto x = renameat_args(raw);
      return do_rename(c, x.dirfd, x.path, x.dirfd2, x.path2, 0);
    }
    case Op::renameat2: {
      auto x = renameat2_args(raw);
      return do_rename(c, x.dirfd, x.path, x.dirfd2, x.path2, (unsigned)x.rename_flags);
    }
    case Op::bind: return do_bind(c, bind_args(raw));
    case Op::connect: return do_connect(c, connect_args(raw));
    case Op::sendto: return do_sendto(c, sendto_args(raw));
    case Op::sendmsg: return do_sendmsg(c, sendmsg_args(raw));
    case Op::sendmmsg: return do_sendmmsg(c, sendmmsg_args(raw));
    case Op::umask: return fs_state_change(c, op, umask_args(raw).mode);
    case Op::chdir: return fs_state_change(c, op, 0);
    case Op::fchdir: return fs_state_change(c, op, 0);
    case Op::clone: return fs_state_change(c, op, clone_args(raw).clone_flags);
    case Op::unshare: return fs_state_change(c, op, unshare_args(raw).unshare_flags);
    case Op::setns: return fs_state_change(c, op, 0);
  }
  return fail_with(ENOSYS);
}
