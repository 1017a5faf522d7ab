// Which pathname unix sockets a sandboxed process may reach: those a process
// of this sandbox bound (init performed the bind, names.cc, and noted the
// socket file's inode here) and those under the plan's `unix-allow` paths.
// Everything else is refused with EACCES before anything reaches the socket
// (docs/supervisor.md, "Unix sockets").
#include "call.h"
#include "../../gen/events.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <mutex>
#include <set>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <tuple>
#include <unistd.h>

namespace {

// A socket file: the filesystem and inode, and the birth time where the
// filesystem has one, so an inode number reused by a later host socket is not
// taken for ours.
struct SockFile {
  dev_t dev;
  uint64_t ino;
  int64_t btime_sec;
  uint32_t btime_nsec;
  bool operator<(const SockFile &o) const {
    return std::tie(dev, ino, btime_sec, btime_nsec) < std::tie(o.dev, o.ino, o.btime_sec, o.btime_nsec);
  }
};

struct Bound {
  std::mutex mu;
  std::set<SockFile> files;
};

Bound &bound() {
  static Bound *b = new Bound;  // never destroyed: threads may still ask while init exits
  return *b;
}

bool identify(int dirfd, const char *path, int flags, SockFile &out) {
  struct statx sx;
  if (statx(dirfd, path, flags | AT_STATX_SYNC_AS_STAT, STATX_INO | STATX_TYPE | STATX_BTIME, &sx) != 0)
    return false;
  if (!S_ISSOCK(sx.stx_mode)) return false;
  out.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  out.ino = sx.stx_ino;
  bool birth = sx.stx_mask & STATX_BTIME;
  out.btime_sec = birth ? sx.stx_btime.tv_sec : 0;
  out.btime_nsec = birth ? sx.stx_btime.tv_nsec : 0;
  return true;
}

// The inode of the file a bound socket made, from the kernel (unix_diag's
// UNIX_DIAG_VFS): the name may have been replaced since the bind, the socket's
// own record cannot. The kernel gives 32 bits of the inode number and its
// internal device number.
bool bound_file_of(int sock, dev_t &dev, uint32_t &ino) {
  struct stat st;
  if (fstat(sock, &st) != 0) return false;
  Fd nl(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!nl.ok()) return false;
  struct {
    struct nlmsghdr h;
    struct unix_diag_req r;
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.r.sdiag_family = AF_UNIX;
  req.r.udiag_ino = (uint32_t)st.st_ino;
  req.r.udiag_show = UDIAG_SHOW_VFS;
  req.r.udiag_cookie[0] = req.r.udiag_cookie[1] = ~0U;  // INET_DIAG_NOCOOKIE
  struct sockaddr_nl to;
  memset(&to, 0, sizeof to);
  to.nl_family = AF_NETLINK;
  if (sendto(nl.fd, &req, sizeof req, 0, reinterpret_cast<struct sockaddr *>(&to), sizeof to) < 0)
    return false;
  alignas(struct nlmsghdr) char buf[1024];
  ssize_t n = recv(nl.fd, buf, sizeof buf, 0);
  if (n <= 0) return false;
  auto *h = reinterpret_cast<struct nlmsghdr *>(buf);
  if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY) return false;
  auto *msg = reinterpret_cast<struct unix_diag_msg *>(NLMSG_DATA(h));
  int left = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *msg);
  for (auto *a = reinterpret_cast<struct rtattr *>(msg + 1); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
    if (a->rta_type != UNIX_DIAG_VFS || RTA_PAYLOAD(a) < sizeof(struct unix_diag_vfs)) continue;
    auto *v = reinterpret_cast<struct unix_diag_vfs *>(RTA_DATA(a));
    dev = makedev(v->udiag_vfs_dev >> 20,
                  v->udiag_vfs_dev & 0xfffff);  // the kernel's dev_t: 12 bits major, 20 minor
    ino = v->udiag_vfs_ino;
    return true;
  }
  return false;
}

bool under(const std::string &p, const std::string &prefix) {
  if (prefix == "/") return true;
  return p.compare(0, prefix.size(), prefix) == 0 && (p.size() == prefix.size() || p[prefix.size()] == '/');
}

}  // namespace

// After init bound `sock` to `path` (relative to init's cwd at that moment):
// the socket file is this sandbox's. Noted only when the file found at the
// path is the one the kernel says the socket made.
void note_bound(int sock, const char *path) {
  dev_t dev;
  uint32_t ino;
  SockFile f;
  if (!bound_file_of(sock, dev, ino) || !identify(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, f)) return;
  if (f.dev != dev || (uint32_t)f.ino != ino) return;
  std::lock_guard<std::mutex> lock(bound().mu);
  bound().files.insert(f);
}

// The socket file `path` (the caller's spelling, from its cwd) names, opened
// O_PATH in `out`, when the caller may reach it; otherwise an errno: the
// lookup's own (ENOENT, ENOTDIR, ELOOP, EACCES), or EACCES for a socket that is
// neither this sandbox's nor allowed. A file that is no socket is returned as
// it is: the kernel then refuses the connect (ECONNREFUSED).
int unix_target(const Call &c, const std::string &path, Fd &out) {
  Place place;
  if (int err = locate(c.r, AT_FDCWD, path, place)) return err;
  if (int err = open_place(place, true, out)) return err;
  SockFile f;
  if (!identify(out.fd, "", AT_EMPTY_PATH, f)) return 0;
  {
    std::lock_guard<std::mutex> lock(bound().mu);
    if (bound().files.count(f)) return 0;
  }
  std::string real = fd_path(out.fd);
  if (!real.empty())
    for (const auto &allow : c.cfg().unix_allow)
      if (under(real, allow)) return 0;
  out.reset();
  return refused(c, EACCES, kViolationRuleUnixSocket, real.empty() ? path : real);
}
