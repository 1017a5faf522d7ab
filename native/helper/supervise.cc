// The supervisor: init (pid 1) answers the syscalls the seccomp filter hands
// it (SECCOMP_RET_USER_NOTIF) by performing them itself on fds it resolved,
// after one check the plan asked for:
// - a metadata change (chmod, chown, utimes, xattrs, inode flags) on a file
//   under one of the `meta-deny` prefixes but under no `meta-allow` prefix is
//   refused with EROFS: the directories between a shared mount and the roots
//   live in a read-write mount and Landlock does not cover these syscalls;
// - creating, renaming or linking onto a `protect` path (a protected name that
//   did not exist when the sandbox started) is refused with EROFS, and so is
//   renaming or symlinking onto a `protect-dir` (a directory the plan says
//   leads to a protected path) or renaming one away; bind(2) of a unix
//   socket is a creation too.
// Everything else is performed as asked. Init runs with the command's uid,
// gids and Landlock domain and no capability but CAP_SYS_PTRACE (to read the
// memory and fds of callers that made themselves non-dumpable), so what it
// does for a caller is what the caller could have done, or fails the same
// way. Performing, not SECCOMP_USER_NOTIF_FLAG_CONTINUE, is what makes the
// check sound: with CONTINUE the kernel would read the path again, after the
// caller had time to change it. See docs/supervisor.md.
#include "helper.h"
#include "gen/step_dispatch.h"
#include "requester.h"
#include "gen/supervised_syscalls.h"
#include "../uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <map>
#include <stdio.h>
#include <poll.h>
#include <set>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <atomic>
#include <signal.h>
#include <thread>
#include <time.h>

namespace {

// The names and their order are protocol/syscalls.json's.
using Op = SupervisedOp;

struct Config {
  std::map<uint32_t, Op> syscalls;  // this architecture's numbers -> what they do
  std::vector<std::string> meta_deny, meta_allow;
  std::set<std::string> protect;
  std::set<std::string> protect_dirs;   // directories on the way to protected paths
  std::set<std::string> protect_names;  // the last component of each of those paths
  int parent_sock = -1, child_sock = -1;  // the command sends its listener fd to init
  int listener = -1;
  bool active = false;
} cfg;

const size_t kPathMax = 4096;
const long kProcSuperMagic = 0x9fa0;
const size_t kXattrNameMax = 255, kXattrSizeMax = 65536;

bool under(const std::string &p, const std::string &prefix) {
  if (prefix == "/") return true;
  return p.compare(0, prefix.size(), prefix) == 0 && (p.size() == prefix.size() || p[prefix.size()] == '/');
}

// EROFS when the plan keeps this file's metadata as it is.
int meta_refused(int fd) {
  if (cfg.meta_deny.empty()) return 0;
  std::string p = fd_path(fd);
  if (p.empty()) {  // no path: a pipe or socket is fine; a file or directory we cannot place is refused
    struct stat st;
    return fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) ? 0 : EROFS;
  }
  for (const auto &deny : cfg.meta_deny) {
    if (!under(p, deny)) continue;
    for (const auto &allow : cfg.meta_allow)
      if (under(p, allow)) return 0;
    return EROFS;
  }
  return 0;
}

// EROFS when creating this name would create a protected path, or (for
// renames and symlinks, which can bring a whole tree, and for a rename's
// source) a directory on the way to one.
int create_refused(const Place &place, bool brings_tree) {
  // Most names are nobody's last component: no need to ask for the directory's path.
  if (!cfg.protect_names.count(place.name)) return 0;
  std::string dir = fd_path(place.dir.fd);
  if (dir.empty()) return EROFS;  // a directory we cannot place: refuse rather than guess
  std::string full = (dir == "/" ? "" : dir) + "/" + place.name;
  if (cfg.protect.count(full)) return EROFS;
  if (brings_tree && cfg.protect_dirs.count(full)) return EROFS;
  return 0;
}

std::string name_of(const Place &p) { return p.trailing_slash ? p.name + "/" : p.name; }

// The name a path would create: its last component, as the kernel takes it.
std::string last_component(const std::string &p) {
  size_t end = p.find_last_not_of('/');
  if (end == std::string::npos) return "";
  size_t slash = p.rfind('/', end);
  size_t start = slash == std::string::npos ? 0 : slash + 1;
  return p.substr(start, end - start + 1);
}

// False when binding `path` cannot make a protected path, whatever its
// directories resolve to: bind creates exactly its last component.
bool may_be_protected(const std::string &path) {
  return cfg.protect_names.count(last_component(path));
}

// One intercepted syscall.
struct Call {
  const struct seccomp_notif &n;
  Requester r;
  uint64_t a(int i) const { return n.data.args[i]; }
  int fd(int i) const { return (int)(uint32_t)n.data.args[i]; }
  // The caller is still blocked in this syscall: the pid we read is its pid.
  bool valid() const { return ioctl(cfg.listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n.id) == 0; }
};

struct Outcome {
  int64_t val = 0;
  int err = 0;
  int send_fd = -1;  // install in the caller and return its number
  bool cloexec = false;
};

Outcome fail_with(int err) {
  Outcome o;
  o.err = err;
  return o;
}

Outcome done(long rc) {
  Outcome o;
  if (rc < 0) o.err = errno;
  else o.val = rc;
  return o;
}

// What a metadata change applies to: the file a path names (O_PATH), or with
// a NULL path the caller's fd itself. `by_fd` tells the caller which.
int meta_target(Call &c, int dirfd, uint64_t path_addr, bool follow, bool empty_path, Fd &target, bool &by_fd) {
  by_fd = path_addr == 0;
  if (by_fd) return take_fd(c.r, dirfd, target);
  std::string path;
  if (int err = read_string(c.r, path_addr, kPathMax, path)) return err;
  if (path.empty() && empty_path) {
    if (dirfd == AT_FDCWD) {
      char link[64];
      snprintf(link, sizeof link, "/proc/%d/cwd", (int)c.r.tid);
      target.reset(open(link, O_PATH | O_CLOEXEC));
      return target.ok() ? 0 : errno;
    }
    return take_fd(c.r, dirfd, target);
  }
  Fd holder;
  int base, err;
  if (direct_base(c.r, dirfd, path, holder, base, err)) {
    if (err) return err;
    struct { uint64_t flags, mode, resolve; } how = {(uint64_t)(O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)), 0, 0x02 /* RESOLVE_NO_MAGICLINKS */};
    int fd = (int)syscall(SBX_NR_openat2, base, path.c_str(), &how, sizeof how);
    struct statfs fs;
    if (fd >= 0 && fstatfs(fd, &fs) == 0 && fs.f_type != kProcSuperMagic) {
      target.reset(fd);
      return 0;
    }
    if (fd >= 0) close(fd);  // on procfs: the careful way below decides whose entry it is
    else if (errno != ELOOP) return errno;  // ELOOP: a magic link on the way, the careful way below
  }
  Place place;
  if (int err = locate(c.r, dirfd, path, place)) return err;
  return open_place(place, follow, target);
}

Outcome change_mode(Call &c, int dirfd, uint64_t path, mode_t mode, bool follow, bool empty_path) {
  Fd t;
  bool by_fd;
  if (int err = meta_target(c, dirfd, path, follow, empty_path, t, by_fd)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = meta_refused(t.fd)) return fail_with(err);
  if (by_fd) return done(fchmod(t.fd, mode));
  struct stat st;
  if (fstat(t.fd, &st) == 0 && S_ISLNK(st.st_mode)) return fail_with(EOPNOTSUPP);  // links have no mode of their own
  long rc = syscall(SBX_NR_fchmodat2, t.fd, "", mode, AT_EMPTY_PATH);
  if (rc < 0 && errno == ENOSYS) {  // before 6.6: through the fd's /proc link, as glibc does
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", t.fd);
    rc = chmod(link, mode);
  }
  return done(rc);
}

Outcome change_owner(Call &c, int dirfd, uint64_t path, uid_t uid, gid_t gid, bool follow, bool empty_path) {
  Fd t;
  bool by_fd;
  if (int err = meta_target(c, dirfd, path, follow, empty_path, t, by_fd)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = meta_refused(t.fd)) return fail_with(err);
  if (by_fd) return done(fchown(t.fd, uid, gid));
  return done(fchownat(t.fd, "", uid, gid, AT_EMPTY_PATH));
}

// times: NULL for "now", or two timespecs (utime/utimes callers converted).
Outcome change_times(Call &c, int dirfd, uint64_t path, const struct timespec *times, bool follow, bool empty_path) {
  Fd t;
  bool by_fd;
  if (int err = meta_target(c, dirfd, path, follow, empty_path, t, by_fd)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = meta_refused(t.fd)) return fail_with(err);
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
Outcome change_xattr(Call &c, int dirfd, uint64_t path, uint64_t name_addr, const std::string *value, int xflags, bool follow, bool empty_path) {
  std::string name;
  if (int err = read_string(c.r, name_addr, kXattrNameMax + 1, name)) return fail_with(err == ENAMETOOLONG ? ERANGE : err);
  Fd t;
  bool by_fd;
  if (int err = meta_target(c, dirfd, path, follow, empty_path, t, by_fd)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = meta_refused(t.fd)) return fail_with(err);
  if (by_fd) {
    return done(value ? fsetxattr(t.fd, name.c_str(), value->data(), value->size(), xflags) : fremovexattr(t.fd, name.c_str()));
  }
  // setxattrat(AT_EMPTY_PATH) wants a real open file, not our O_PATH fd: go
  // through its /proc/self/fd link, which leads to exactly this inode. A
  // symlink itself takes no user.* attribute (and the rest need capabilities).
  struct stat st;
  if (fstat(t.fd, &st) != 0) return fail_with(errno);
  if (S_ISLNK(st.st_mode)) return fail_with(EPERM);
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", t.fd);
  return done(value ? setxattr(link, name.c_str(), value->data(), value->size(), xflags) : removexattr(link, name.c_str()));
}

int read_value(Call &c, uint64_t addr, uint64_t size, std::string &out) {
  if (size > kXattrSizeMax) return E2BIG;
  out.assign(size, '\0');
  return size ? read_memory(c.r, addr, &out[0], size) : 0;
}

// The filter sends only the _IO/_IOW inode ioctls of lib/seccomp.ts INODE_FLAG_IOCTLS
// here (FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR's 28 bytes, the SETVERSIONs, ...):
// their argument is read in whole, and nothing is written back.
Outcome change_inode_flags(Call &c) {
  unsigned int cmd = (unsigned int)c.a(1);
  size_t size = (cmd >> 16) & 0x3fff;  // _IOC_SIZE
  if (size > 64) return fail_with(ENOTTY);
  unsigned char arg[64];
  if (int err = read_memory(c.r, c.a(2), arg, size)) return fail_with(err);
  Fd t;
  if (int err = take_fd(c.r, c.fd(0), t)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = meta_refused(t.fd)) return fail_with(err);
  return done(ioctl(t.fd, cmd, arg));
}

// Answers `id` from a thread of its own: opening a FIFO blocks until the other
// end opens, and must not stop the supervisor. A timer interrupts the open
// every 100 ms so the thread can see that the caller is gone (then it ends).
std::atomic<int> fifo_threads{0};
const int kMaxFifoThreads = 256;
void on_fifo_tick(int) {}

void open_fifo_on_thread(uint64_t id, int opath, int flags, bool cloexec, Outcome &o) {
  if (fifo_threads.fetch_add(1) >= kMaxFifoThreads) {
    fifo_threads--;
    close(opath);
    o = fail_with(EAGAIN);
    return;
  }
  try {
    std::thread([id, opath, flags, cloexec] {
      struct sigaction sa;
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = on_fifo_tick;  // no SA_RESTART: the open returns EINTR
      sigaction(SIGRTMIN + 1, &sa, nullptr);
      sigset_t tick;
      sigemptyset(&tick);
      sigaddset(&tick, SIGRTMIN + 1);
      pthread_sigmask(SIG_UNBLOCK, &tick, nullptr);
      struct sigevent ev;
      memset(&ev, 0, sizeof ev);
      ev.sigev_notify = SIGEV_THREAD_ID;
      ev.sigev_signo = SIGRTMIN + 1;
      ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
      timer_t timer;
      bool timed = timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0;
      struct itimerspec every = {{0, 100000000}, {0, 100000000}};
      if (timed) timer_settime(timer, 0, &every, nullptr);
      char link[64];
      snprintf(link, sizeof link, "/proc/self/fd/%d", opath);
      int fd;
      while ((fd = open(link, flags)) < 0 && errno == EINTR) {
        if (ioctl(cfg.listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) break;  // the caller is gone
      }
      int err = errno;
      if (timed) timer_delete(timer);
      close(opath);
      if (fd >= 0) {
        struct seccomp_notif_addfd add;
        memset(&add, 0, sizeof add);
        add.id = id;
        add.flags = SECCOMP_ADDFD_FLAG_SEND;
        add.srcfd = (uint32_t)fd;
        add.newfd_flags = cloexec ? O_CLOEXEC : 0;
        ioctl(cfg.listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
        close(fd);
      } else {
        struct seccomp_notif_resp resp;
        memset(&resp, 0, sizeof resp);
        resp.id = id;
        resp.error = -err;
        ioctl(cfg.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
      }
      fifo_threads--;
    }).detach();
    o.send_fd = -2;  // answered by the thread
  } catch (const std::exception &) {
    fifo_threads--;
    close(opath);
    o = fail_with(EAGAIN);
  }
}

// The controlling terminal (field 7 of /proc/PID/stat) of a thread, 0 for none.
unsigned long tty_of(pid_t tid) {
  char path[64], buf[1024];
  if (tid) snprintf(path, sizeof path, "/proc/%d/stat", (int)tid);
  else snprintf(path, sizeof path, "/proc/self/stat");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *p = strrchr(buf, ')');  // the command name may hold spaces
  unsigned long tty = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %lu", &tty) != 1) return 0;
  return tty;
}

// /dev/tty means the opener's controlling terminal. Init's is the caller's
// unless the caller made a session of its own on a pty (tmux, script): then
// its /dev/pts entry is opened instead.
Outcome open_tty(Call &c, int flags) {
  unsigned long tty = tty_of(c.r.tid);
  if (tty == 0) return fail_with(ENXIO);
  int reopen = (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY;
  Outcome o;
  o.cloexec = flags & O_CLOEXEC;
  unsigned major = (unsigned)((tty >> 8) & 0xfff), minor = (unsigned)((tty & 0xff) | ((tty >> 12) & 0xfff00));
  int fd = -1;
  if (tty == tty_of(0)) {
    fd = open("/dev/tty", reopen);
  } else if (major >= 136 && major <= 143) {  // Unix98 ptys
    char pts[64];
    snprintf(pts, sizeof pts, "/dev/pts/%u", (major - 136) * 256 + minor);
    fd = open(pts, reopen);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || major(st.st_rdev) != major || minor(st.st_rdev) != minor)) {
      close(fd);
      fd = -1;
      errno = ENXIO;
    }
  } else {
    errno = ENXIO;
  }
  if (fd < 0) return fail_with(errno);
  o.send_fd = fd;
  return o;
}

// Opens, for the caller, the existing file our O_PATH fd holds: through
// /proc/self/fd, so what was checked and what is opened are one inode.
Outcome open_existing(Call &c, Fd &opath, int flags) {
  Outcome o;
  o.cloexec = flags & O_CLOEXEC;
  if ((flags & O_CREAT) && (flags & O_EXCL)) return fail_with(EEXIST);
  struct stat st;
  if (fstat(opath.fd, &st) != 0) return fail_with(errno);
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0)) return open_tty(c, flags);
  int reopen = (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY;
  if (S_ISFIFO(st.st_mode) && !(flags & O_NONBLOCK)) {
    open_fifo_on_thread(c.n.id, opath.fd, reopen, o.cloexec, o);
    opath.fd = -1;  // the thread owns it now
    return o;
  }
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", opath.fd);
  int fd = open(link, reopen);
  if (fd < 0) return fail_with(errno);
  o.send_fd = fd;
  return o;
}

// Opening with O_CREAT. Each name is looked up once (O_PATH, no following):
// an existing file is reopened from that fd, a missing one is created with
// O_EXCL (if it appeared meanwhile, we look again), and a symlink is
// followed here, one link at a time, with the protected-name check at each
// step, so a dangling `x -> .codex` cannot create `.codex`.
Outcome open_create(Call &c, int dirfd, uint64_t path_addr, int flags, mode_t mode) {
  std::string path;
  if (int err = read_string(c.r, path_addr, kPathMax, path)) return fail_with(err);
  Place place;
  if (int err = locate(c.r, dirfd, path, place)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  int open_flags = flags | O_CLOEXEC | O_NOCTTY;
  for (int tries = 0;; tries++) {
    if (tries >= 40) return fail_with(ELOOP);
    std::string name = name_of(place);
    if (place.in_proc) {  // nothing is created on procfs; its magic links lead to open files
      Fd target(openat(place.dir.fd, name.c_str(), O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW)));
      if (!target.ok()) return fail_with(errno);
      return open_existing(c, target, flags);
    }
    if (int err = create_refused(place, false)) return fail_with(err);
    Fd target(openat(place.dir.fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!target.ok() && errno == ENOENT) {
      umask(c.r.umask());
      int fd = openat(place.dir.fd, name.c_str(), open_flags | O_EXCL | O_NOFOLLOW, mode);
      if (fd < 0 && errno == EEXIST && !(flags & O_EXCL)) continue;  // made meanwhile: look again
      if (fd < 0) return fail_with(errno);
      Outcome o;
      o.cloexec = flags & O_CLOEXEC;
      o.send_fd = fd;
      return o;
    }
    if (!target.ok()) return fail_with(errno);
    struct stat st;
    if (fstat(target.fd, &st) != 0) return fail_with(errno);
    if (!S_ISLNK(st.st_mode)) return open_existing(c, target, flags);
    if (flags & (O_EXCL | O_NOFOLLOW)) return fail_with(flags & O_EXCL ? EEXIST : ELOOP);
    char link[kPathMax + 1];
    ssize_t n = readlinkat(target.fd, "", link, kPathMax);
    if (n < 0) return fail_with(errno);
    link[n] = 0;
    Place next;
    if (int err = locate_from(c.r, place.dir.fd, link, next)) return fail_with(err);
    place = std::move(next);
  }
}

Outcome make_node(Call &c, int dirfd, uint64_t path_addr, mode_t mode, dev_t dev, bool dir) {
  std::string path;
  if (int err = read_string(c.r, path_addr, kPathMax, path)) return fail_with(err);
  Place place;
  if (int err = locate(c.r, dirfd, path, place)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = create_refused(place, false)) return fail_with(err);
  umask(c.r.umask());
  std::string name = name_of(place);
  return done(dir ? mkdirat(place.dir.fd, name.c_str(), mode) : mknodat(place.dir.fd, name.c_str(), mode, dev));
}

Outcome make_symlink(Call &c, uint64_t target_addr, int dirfd, uint64_t path_addr) {
  std::string target, path;
  if (int err = read_string(c.r, target_addr, kPathMax, target)) return fail_with(err);
  if (int err = read_string(c.r, path_addr, kPathMax, path)) return fail_with(err);
  Place place;
  if (int err = locate(c.r, dirfd, path, place)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = create_refused(place, true)) return fail_with(err);
  return done(symlinkat(target.c_str(), place.dir.fd, name_of(place).c_str()));
}

Outcome make_link(Call &c, int olddir, uint64_t old_addr, int newdir, uint64_t new_addr, int flags) {
  std::string oldpath, newpath;
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return fail_with(EINVAL);
  if (int err = read_string(c.r, old_addr, kPathMax, oldpath)) return fail_with(err);
  if (int err = read_string(c.r, new_addr, kPathMax, newpath)) return fail_with(err);
  Place to;
  if (int err = locate(c.r, newdir, newpath, to)) return fail_with(err);
  if (oldpath.empty() && (flags & AT_EMPTY_PATH)) {
    // Through /proc/self/fd with AT_SYMLINK_FOLLOW, as the caller could do
    // itself: AT_EMPTY_PATH would want the file opened with our credentials.
    Fd file;
    if (int err = take_fd(c.r, olddir, file)) return fail_with(err);
    if (!c.valid()) return fail_with(ESRCH);
    if (int err = create_refused(to, true)) return fail_with(err);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", file.fd);
    return done(linkat(AT_FDCWD, link, to.dir.fd, name_of(to).c_str(), AT_SYMLINK_FOLLOW));
  }
  Place from;
  if (int err = locate(c.r, olddir, oldpath, from)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  // A hard link to a symlink can bring a tree too (to a directory above a protected name).
  if (int err = create_refused(to, true)) return fail_with(err);
  if (flags & AT_SYMLINK_FOLLOW) {
    // Followed by us (no magic links but the caller's own), then linked
    // through /proc/self/fd as the caller could: the kernel following a
    // symlink to /proc/self/fd/N would take our fd N.
    Fd file;
    if (int err = open_place(from, true, file)) return fail_with(err);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", file.fd);
    return done(linkat(AT_FDCWD, link, to.dir.fd, name_of(to).c_str(), AT_SYMLINK_FOLLOW));
  }
  return done(linkat(from.dir.fd, name_of(from).c_str(), to.dir.fd, name_of(to).c_str(), 0));
}

Outcome do_rename(Call &c, int olddir, uint64_t old_addr, int newdir, uint64_t new_addr, unsigned flags) {
  std::string oldpath, newpath;
  if (int err = read_string(c.r, old_addr, kPathMax, oldpath)) return fail_with(err);
  if (int err = read_string(c.r, new_addr, kPathMax, newpath)) return fail_with(err);
  Place from, to;
  if (int err = locate(c.r, olddir, oldpath, from)) return fail_with(err);
  if (int err = locate(c.r, newdir, newpath, to)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  if (int err = create_refused(to, true)) return fail_with(err);
  // Moving a directory above a protected path away takes the protection with
  // it and frees its name (the bind pins only the protected path itself).
  if (int err = create_refused(from, true)) return fail_with(err);
  return done(syscall(SYS_renameat2, from.dir.fd, name_of(from).c_str(), to.dir.fd, name_of(to).c_str(), flags));
}

// bind(2) of a unix socket to a path makes a name too. Any bind is performed
// here (the socket's family could change under a look: another thread can
// dup2 a unix socket onto the fd). A unix path is bound as the caller gave it
// (so getsockname shows it), from the caller's cwd; only a last component
// that is some protected path's name is bound from the directory we resolved.
Outcome do_bind(Call &c) {
  struct sockaddr_storage addr;
  socklen_t len = (socklen_t)c.a(2);
  if (len > sizeof addr) return fail_with(EINVAL);
  memset(&addr, 0, sizeof addr);
  if (int err = read_memory(c.r, c.a(1), &addr, len)) return fail_with(err);
  Fd sock;
  if (int err = take_fd(c.r, c.fd(0), sock)) return fail_with(err);
  auto *un = reinterpret_cast<struct sockaddr_un *>(&addr);
  size_t path_len = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
  if (addr.ss_family != AF_UNIX || path_len == 0 || un->sun_path[0] == 0) {
    if (!c.valid()) return fail_with(ESRCH);
    return done(bind(sock.fd, reinterpret_cast<struct sockaddr *>(&addr), len));
  }
  std::string path(un->sun_path, strnlen(un->sun_path, path_len));
  Place place;
  Fd dir;
  if (may_be_protected(path)) {
    if (int err = locate(c.r, AT_FDCWD, path, place)) return fail_with(err);
    if (int err = create_refused(place, false)) return fail_with(err);
    std::string name = name_of(place);
    if (name.size() >= sizeof un->sun_path) return fail_with(ENAMETOOLONG);
    memset(un->sun_path, 0, sizeof un->sun_path);
    memcpy(un->sun_path, name.data(), name.size());
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name.size() + 1);
    dir.reset(fcntl(place.dir.fd, F_DUPFD_CLOEXEC, 0));
  } else {
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/cwd", (int)c.r.tid);
    dir.reset(open(link, O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  if (!dir.ok()) return fail_with(errno);
  if (!c.valid()) return fail_with(ESRCH);
  // bind resolves a relative path from the cwd: ours moves there for the call
  // (init has no other use for its cwd) and back to / after.
  if (fchdir(dir.fd) != 0) return fail_with(errno);
  umask(c.r.umask());
  Outcome o = done(bind(sock.fd, reinterpret_cast<struct sockaddr *>(&addr), len));
  if (chdir("/") != 0) o = fail_with(errno);
  return o;
}

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
  }
  return fail_with(ENOSYS);
}

// Serves one request; false when receiving failed (errno says why).
bool serve_one() {
  static struct seccomp_notif_sizes sizes;
  if (sizes.seccomp_notif == 0 && syscall(SBX_NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
    sizes.seccomp_notif = sizeof(struct seccomp_notif);
    sizes.seccomp_notif_resp = sizeof(struct seccomp_notif_resp);
  }
  std::vector<char> nbuf(std::max<size_t>(sizes.seccomp_notif, sizeof(struct seccomp_notif)), 0);
  auto *n = reinterpret_cast<struct seccomp_notif *>(nbuf.data());
  if (ioctl(cfg.listener, SECCOMP_IOCTL_NOTIF_RECV, n) != 0) return false;  // EINTR, or the caller is gone (ENOENT)

  Outcome o;
  auto it = cfg.syscalls.find((uint32_t)n->data.nr);
  Call c{*n, Requester{}};
  c.r.tid = (pid_t)n->pid;
  o = it == cfg.syscalls.end() ? fail_with(ENOSYS) : handle(c, it->second);

  if (o.send_fd == -2) return true;  // a thread answers
  if (o.send_fd >= 0) {
    struct seccomp_notif_addfd add;
    memset(&add, 0, sizeof add);
    add.id = n->id;
    add.flags = SECCOMP_ADDFD_FLAG_SEND;
    add.srcfd = (uint32_t)o.send_fd;
    add.newfd_flags = o.cloexec ? O_CLOEXEC : 0;
    int rc = ioctl(cfg.listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
    int saved = errno;
    close(o.send_fd);
    if (rc >= 0 || saved == ENOENT) return true;
    o = fail_with(saved);  // e.g. EMFILE in the caller
  }
  std::vector<char> rbuf(std::max<size_t>(sizes.seccomp_notif_resp, sizeof(struct seccomp_notif_resp)), 0);
  auto *resp = reinterpret_cast<struct seccomp_notif_resp *>(rbuf.data());
  resp->id = n->id;
  resp->val = o.err ? 0 : o.val;
  resp->error = o.err ? -o.err : 0;
  ioctl(cfg.listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
  return true;
}

}  // namespace

void step_supervise(Run &run, const Step &s) {
  for (const auto &arg : s.args) {
    size_t eq = arg.find('=');
    std::string key = arg.substr(0, eq), value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (key == "sys") {  // sys=NR:NAME
      size_t colon = value.find(':');
      const SupervisedSpec *op = colon == std::string::npos ? nullptr : find_supervised(value.substr(colon + 1));
      if (!op) fail(run, EINVAL, "supervise: unknown syscall " + value);
      cfg.syscalls[(uint32_t)parse_num(run, value.substr(0, colon))] = op->op;
    } else if (key == "meta-deny") {
      cfg.meta_deny.push_back(value);
    } else if (key == "meta-allow") {
      cfg.meta_allow.push_back(value);
    } else if (key == "protect" || key == "protect-dir") {
      (key == "protect" ? cfg.protect : cfg.protect_dirs).insert(value);
      cfg.protect_names.insert(last_component(value));
    } else {
      fail(run, EINVAL, "supervise: unknown argument " + arg);
    }
  }
  // Init's cwd is where Node was, on a mount the read-only pass left behind.
  // A caller's path can reach it through /proc/self/cwd (self being init when
  // init resolves the path), so make it the root, which the caller has too.
  if (chdir("/") != 0) fail(run, errno, "chdir / (supervisor)");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) fail(run, errno, "socketpair for the seccomp listener");
  cfg.parent_sock = sv[0];
  cfg.child_sock = sv[1];
  cfg.active = true;
}

void supervisor_after_fork(bool child) {
  if (!cfg.active) return;
  close(child ? cfg.parent_sock : cfg.child_sock);
  (child ? cfg.parent_sock : cfg.child_sock) = -1;
}

bool supervisor_wanted() { return cfg.active; }

void supervisor_send_listener(Run &run, int listener) {
  char dummy = 'L';
  struct iovec iov = {&dummy, 1};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &listener, sizeof(int));
  if (sendmsg(cfg.child_sock, &msg, MSG_NOSIGNAL) != 1) fail(run, errno, "send the seccomp listener to the supervisor");
  close(listener);
  close(cfg.child_sock);
  cfg.child_sock = -1;
}

int supervisor_poll_fd() {
  if (!cfg.active) return -1;
  return cfg.listener >= 0 ? cfg.listener : cfg.parent_sock;
}

void supervisor_ready(short) {
  char dummy;
  struct iovec iov = {&dummy, 1};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  ssize_t n = recvmsg(cfg.parent_sock, &msg, MSG_CMSG_CLOEXEC);
  struct cmsghdr *cm = n == 1 ? CMSG_FIRSTHDR(&msg) : nullptr;
  if (cm && cm->cmsg_type == SCM_RIGHTS) memcpy(&cfg.listener, CMSG_DATA(cm), sizeof(int));
  // The caller sleeps until we answer: wake us on its CPU, and it on ours (6.6+; a hint only).
  uint64_t sync_wake = SBX_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
  if (cfg.listener >= 0) ioctl(cfg.listener, SBX_SECCOMP_IOCTL_NOTIF_SET_FLAGS, sync_wake);
  close(cfg.parent_sock);
  cfg.parent_sock = -1;
  cfg.active = false;  // nothing more for init's poll loop
  if (cfg.listener < 0) return;  // the command failed before its filter: nothing to serve
  // SIGRTMIN+1 wakes FIFO threads (their timers); everyone else keeps it
  // blocked, so one sent to init from inside the sandbox interrupts nothing.
  sigset_t tick;
  sigemptyset(&tick);
  sigaddset(&tick, SIGRTMIN + 1);
  pthread_sigmask(SIG_BLOCK, &tick, nullptr);
  // Requests are served by a thread of their own, so init's loop stays free
  // for signals and exits (init's exit ends it). It waits in poll, not in
  // RECV: the kernel's synchronous wake-up (above) reaches poll waiters only.
  std::thread([] {
    struct pollfd p = {cfg.listener, POLLIN, 0};
    for (;;) {
      if (poll(&p, 1, -1) < 0) continue;
      if (p.revents & POLLIN) serve_one();
      else if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return;  // no process uses the filter any more
    }
  }).detach();
}
