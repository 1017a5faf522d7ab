// Finding what an intercepted syscall's path names, from the supervisor.
//
// The supervisor shares the caller's mount namespace, root, uid, gids and
// Landlock domain, so the kernel resolves a path for it as for the caller,
// with three exceptions this file deals with:
// - a relative path starts at the caller's cwd or dirfd, not ours: we start
//   from /proc/TID/cwd or /proc/TID/fd/N;
// - /proc/self, /proc/thread-self and /dev/{fd,stdin,stdout,stderr} (links to
//   /proc/self) would mean the supervisor: they are rewritten to the caller's
//   /proc/PID entries;
// - any other magic link (a symlink the caller made to /proc/self/fd/N) would
//   also lead into the supervisor, so paths are resolved with
//   RESOLVE_NO_MAGICLINKS; only the last component in a /proc/PID directory of
//   the caller's own process is followed through the kernel's magic link.
// Nothing is looked up twice: the caller's syscall is performed on the fds
// found here, so a symlink swapped afterwards changes nothing.
#include "requester.h"
#include "fscache.h"
#include "foreign_procfs.h"
#include "../procfs.h"
#include "../../uapi.h"
#include <algorithm>
#include <climits>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>

namespace {

int openat_no_magic(int dir, const char *path, int flags) {
  int fd = sbx_openat2(dir, path, flags | O_CLOEXEC, SBX_RESOLVE_NO_MAGICLINKS);
  return fd < 0 ? -errno : fd;
}

// A directory looked up without following any symlink: -ELOOP if there is one.
int openat_spelled(int dir, const char *path) {
  int fd = sbx_openat2(dir, path, O_PATH | O_DIRECTORY | O_CLOEXEC,
                       SBX_RESOLVE_NO_MAGICLINKS | SBX_RESOLVE_NO_SYMLINKS);
  return fd < 0 ? -errno : fd;
}

bool has_dotdot(const std::string &p) {
  for (size_t i = 0; (i = p.find("..", i)) != std::string::npos; i += 2)
    if ((i == 0 || p[i - 1] == '/') && (i + 2 == p.size() || p[i + 2] == '/')) return true;
  return false;
}

bool starts_with(const std::string &s, const std::string &prefix) {
  return s.compare(0, prefix.size(), prefix) == 0 && (s.size() == prefix.size() || s[prefix.size()] == '/');
}

// "//a/./b//" -> "/a/b/": the same lookup, spelled one way (a last "." stays,
// it means "must be a directory"), so the prefixes below cannot be dodged.
// Most paths are spelled that way already (absolute, no "//", no "/./"):
// returned as they are. Building it anew took two strings per component
// (1.2 us for a 13-component path of pnpm's, in a loop), and a link or
// rename tidies three paths: most of init's own user-space time per request.
bool spelled_tidy(const std::string &p) {
  size_t n = p.size();
  if (n == 0 || p[0] != '/') return false;
  for (size_t i = 0; i != std::string::npos && i + 1 < n; i = p.find('/', i + 1))
    if (p[i + 1] == '/' || (p[i + 1] == '.' && i + 2 < n && p[i + 2] == '/')) return false;
  return true;
}

std::string tidy(const std::string &p) {
  if (spelled_tidy(p)) return p;
  std::string out;
  out.reserve(p.size() + 1);
  size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == '/') i++;
    size_t end = p.find('/', i);
    if (end == std::string::npos) end = p.size();
    size_t len = end - i;
    bool last = p.find_first_not_of('/', end) == std::string::npos;
    if (len != 0 && (len != 1 || p[i] != '.' || last)) {
      out += '/';
      out.append(p, i, len);
    }
    i = end;
  }
  if (out.empty()) out = "/";
  if (p.size() > 1 && p.back() == '/' && out != "/") out += '/';
  return out;
}

// /proc/self & co. -> the caller's own /proc entries.
std::string rewrite(const Requester &r, std::string p) {
  if (p.empty() || p[0] != '/') return p;
  if (!spelled_tidy(p)) p = tidy(p);
  if (!starts_with(p, "/proc") && !starts_with(p, "/dev")) return p;  // the usual case: no tgid needed
  // Nor for the rest of /dev (/dev/null, a tty): only the names below lead to /proc/self.
  if (starts_with(p, "/dev") && !starts_with(p, "/dev/fd") && !starts_with(p, "/dev/stdin") &&
      !starts_with(p, "/dev/stdout") && !starts_with(p, "/dev/stderr"))
    return p;
  const std::string pid = "/proc/" + std::to_string(r.tgid());
  const std::pair<std::string, std::string> table[] = {
      {"/proc/self", pid},
      {"/proc/thread-self", pid + "/task/" + std::to_string(r.tid)},
      {"/dev/fd", pid + "/fd"},
      {"/dev/stdin", pid + "/fd/0"},
      {"/dev/stdout", pid + "/fd/1"},
      {"/dev/stderr", pid + "/fd/2"},
  };
  for (const auto &t : table) {
    if (starts_with(p, t.first)) return t.second + p.substr(t.first.size());
  }
  const std::string thread = "/proc/" + std::to_string(r.tid);  // a thread's own /proc/TID
  if (r.tid != r.tgid() && starts_with(p, thread))
    return pid + "/task/" + std::to_string(r.tid) + p.substr(thread.size());
  return p;
}

// /proc/PID of another process: we could reach more of it than the caller
// (we hold CAP_SYS_PTRACE, and PID 1 is us), so we do not go there for it.
// Returns 0, or the errno the caller gets (ENOENT when there is no such process).
int other_process(const Requester &r, const std::string &p) {
  if (p.compare(0, 6, "/proc/") != 0) return 0;
  size_t end = p.find('/', 6);
  std::string num = p.substr(6, end == std::string::npos ? std::string::npos : end - 6);
  if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) return 0;
  if (num == std::to_string(r.tgid()) || num == std::to_string(r.tid)) return 0;
  struct stat st;
  return stat(("/proc/" + num).c_str(), &st) != 0 ? errno : EACCES;
}

// "/proc/PID/fd/N/rest", "/proc/PID/cwd/rest", "/proc/PID/root/rest" (also
// under task/TID) of the caller itself: the magic prefix is opened through the
// kernel, the rest resolved beneath it. Returns the prefix length, or 0.
size_t magic_prefix(const Requester &r, const std::string &p) {
  if (p.compare(0, 6, "/proc/") != 0) return 0;
  std::string base = "/proc/" + std::to_string(r.tgid());
  std::string task = base + "/task/" + std::to_string(r.tid);
  for (const std::string &b : {task, base}) {
    if (!starts_with(p, b) || p.size() == b.size()) continue;
    size_t at = b.size() + 1;
    size_t end = p.find('/', at);
    std::string first = p.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (first == "cwd" || first == "root") return end == std::string::npos ? 0 : end;
    if (first != "fd" || end == std::string::npos) return 0;
    size_t num_end = p.find('/', end + 1);
    if (num_end == std::string::npos) return 0;  // /proc/PID/fd/N itself: the last component
    std::string num = p.substr(end + 1, num_end - end - 1);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) return 0;
    return num_end;
  }
  return 0;
}

}  // namespace

static int resolve(const Requester &r, int dirfd, int ours, const std::string &raw, Place &out);

// The thread's tgid and umask from /proc/TID/status; false if unreadable.
static bool read_status(pid_t tid, pid_t &tgid, mode_t &mask) {
  ProcPath path = proc_tid(tid, "status");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  const char *t = strstr(buf, "\nTgid:");
  const char *m = strstr(buf, "\nUmask:");
  if (!t || !m) return false;
  tgid = (pid_t)strtol(t + 6, nullptr, 10);
  mask = (mode_t)strtol(m + 7, nullptr, 8);
  return true;
}

void Requester::load() const {
  loaded_ = true;
  tgid_ = tid;
  if (cache) {
    FsView v = cache->find(tid);
    if (v.known) {
      known_ = status_read_ = true;
      tgid_ = v.tgid;
      if (v.umask_known) umask_ = v.umask, umask_read_ = true;
      cwd_ = std::move(v.cwd);
      return;
    }
  }
  // The pidfd before the read: alive after it, both are the same thread's.
  uint64_t gen = cache ? cache->generation() : 0;
  Fd pidfd = cache ? cache->thread_pidfd(tid) : Fd();
  if (!read_status(tid, tgid_, umask_)) {
    tgid_ = tid;
    umask_ = 0777;  // the most restrictive
    return;
  }
  status_read_ = umask_read_ = true;
  if (pidfd.ok()) {
    cache->remember(tid, std::move(pidfd), tgid_, umask_, gen);
    known_ = true;  // or refused: keep_* then finds no entry and keeps nothing
  }
}

pid_t Requester::tgid() const {
  if (!loaded_) load();
  return tgid_;
}

mode_t Requester::umask() const {
  if (!loaded_) load();
  if (umask_read_) return umask_;
  // The thread is remembered, its umask is not (it changed since).
  umask_read_ = true;
  uint64_t gen = cache->generation();
  pid_t tgid;
  mode_t mask;
  if (!read_status(tid, tgid, mask) || tgid != tgid_) return umask_ = 0777;
  umask_ = mask;
  cache->keep_umask(tid, tgid_, mask, gen);
  return umask_;
}

int Requester::cwd() const {
  if (cache && cache->enabled() && !loaded_) load();
  if (cwd_ && cwd_->ok()) return cwd_->fd;
  if (!cwd_ && !cwd_err_) {
    uint64_t gen = known_ ? cache->generation() : 0;
    ProcPath link = proc_tid(tid, "cwd");
    cwd_ = std::make_shared<Fd>(open(link, O_PATH | O_CLOEXEC));
    if (!cwd_->ok()) cwd_err_ = errno;
    // Kept when the thread is still the entry's (its pidfd alive after the
    // open) and no change of its process's cwd was noted since.
    else if (known_)
      cache->keep_cwd(tid, tgid_, cwd_, gen);
  }
  return cwd_->ok() ? cwd_->fd : -cwd_err_;
}

// Init's /proc/self/fd, opened once: a readlink or reopen by the fd's number
// in it skips walking /proc and following "self" each time (about 1.5 of the
// 4 us a readlink of /proc/self/fd/N takes on the 2-CPU VM). Opened at the
// first request, when /proc is the sandbox's and init is its pid 1.
static int self_fds() {
  static int dir = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return dir;
}

std::string fd_path(int fd) {
  char buf[4097];
  char num[16];
  snprintf(num, sizeof num, "%d", fd);
  int dir = self_fds();
  ssize_t n =
      dir >= 0 ? readlinkat(dir, num, buf, sizeof buf - 1) : readlink(proc_self_fd(fd), buf, sizeof buf - 1);
  if (n <= 0 || buf[0] != '/') return "";
  return std::string(buf, n);
}

std::string dir_path(const Place &p) { return p.path.empty() ? fd_path(p.dir.fd) : p.path; }

int reopen_fd(int fd, int flags) {
  char num[16];
  snprintf(num, sizeof num, "%d", fd);
  int dir = self_fds();
  return dir >= 0 ? openat(dir, num, flags) : open(proc_self_fd(fd), flags);
}

int locate(const Requester &r, int dirfd, const std::string &raw, Place &out) {
  if (dirfd < 0 && dirfd != AT_FDCWD && !raw.empty() && raw[0] != '/') return EBADF;
  return resolve(r, dirfd, -1, raw, out);
}

int locate_from(const Requester &r, int ours, const std::string &raw, Place &out) {
  return resolve(r, AT_FDCWD, ours, raw, out);
}

// A relative path starts at `ours` (a directory fd of ours) when it is set,
// else at the caller's `dirfd`.
static int resolve(const Requester &r, int dirfd, int ours, const std::string &raw, Place &out) {
  if (raw.empty()) return ENOENT;
  std::string p = rewrite(r, raw);
  static int root = open("/", O_PATH | O_CLOEXEC);  // init's root is the caller's, and never moves
  Fd owned;
  int base;
  bool magic_base = false;
  std::string rest;
  if (p[0] == '/') {
    if (under_foreign_procfs(p)) return EACCES;
    if (int err = other_process(r, p)) return err;
    size_t magic = magic_prefix(r, p);
    if (magic) {
      owned.reset(open(p.substr(0, magic).c_str(), O_PATH | O_CLOEXEC));
      if (!owned.ok()) return errno;
    }
    base = magic ? owned.fd : root;
    magic_base = magic != 0;
    if (base < 0) return EBADF;
    rest = p.substr(magic ? magic : 1);
  } else if (ours >= 0) {
    base = ours;
    rest = p;
  } else {
    base = dirfd == AT_FDCWD ? r.cwd() : -1;
    if (dirfd != AT_FDCWD) {
      ProcPath link = proc_tid_fd(r.tid, dirfd);
      owned.reset(open(link, O_PATH | O_CLOEXEC));
      base = owned.ok() ? owned.fd : -(errno == ENOENT ? EBADF : errno);
    }
    if (base < 0) return -base;
    rest = p;
  }
  size_t start = rest.find_first_not_of('/');
  if (start == std::string::npos)
    rest.clear();
  else if (start)
    rest.erase(0, start);
  size_t last_char = rest.find_last_not_of('/');
  out.trailing_slash = last_char != std::string::npos && last_char + 1 < rest.size();
  if (last_char == std::string::npos) {  // "/" itself, or the magic prefix itself
    out.dir.reset(fcntl(base, F_DUPFD_CLOEXEC, 0));
    if (!out.dir.ok()) return errno;
    out.name = ".";
  } else {
    rest.resize(last_char + 1);
    size_t slash = rest.rfind('/');
    std::string parent = slash == std::string::npos ? "." : rest.substr(0, slash);
    out.name = slash == std::string::npos ? rest : rest.substr(slash + 1);
    int fd = -1;
    // From our root, with no symlink and no "..", the directory opened is
    // the one the path spells, so that spelling is the path the kernel
    // would print for it (as a readlink of the fd right after the lookup:
    // a rename meanwhile changes both alike), at no syscall. A symlink on
    // the way (ELOOP), or any error, takes the usual lookup: path unknown,
    // and its errno is the caller's.
    bool spelled =
        base == root && p[0] == '/' && !magic_base && !starts_with(p, "/proc") && !has_dotdot(parent);
    if (spelled) fd = openat_spelled(base, parent.c_str());
    if (fd < 0) spelled = false, fd = openat_no_magic(base, parent.c_str(), O_PATH | O_DIRECTORY);
    if (fd < 0) return -fd;
    out.dir.reset(fd);
    if (spelled) out.path = parent == "." ? "/" : "/" + parent;
  }
  // A spelled directory outside /proc is not on the sandbox's procfs (the
  // plan mounts it at /proc alone). Were it on another procfs, taking it as
  // not on procfs is the stricter reading: no magic link is followed in it.
  struct statfs fs;
  if (!out.path.empty())
    fs.f_type = 0;
  else if (fstatfs(out.dir.fd, &fs) != 0)
    return errno;
  out.in_proc = fs.f_type == SBX_PROC_SUPER_MAGIC;
  if (out.in_proc) {
    // Reached some other way than spelling it (a symlink, "..", the caller's cwd).
    if (!on_sandbox_proc(out.dir.fd)) return EACCES;
    // Only the caller's own /proc/PID: we may reach more than it can
    // (our /proc/1, or a process it may not trace).
    std::string d = fd_path(out.dir.fd);
    if (d.compare(0, 6, "/proc/") == 0 && d.size() > 6 && d[6] >= '0' && d[6] <= '9') {
      if (!starts_with(d, "/proc/" + std::to_string(r.tgid()))) return EACCES;
    }
  }
  return 0;
}

// For a path that resolve() opens from init's root, the caller's cwd or a
// dirfd as it is spelled (nothing under /proc or /dev, so no rewriting and
// no magic prefix): which base, the directory part it opens, and the name.
static bool plain_parts(int dirfd, const std::string &raw, int &base, std::string &parent, Place &out) {
  if (raw.empty()) return false;
  std::string rest = raw[0] == '/' && !spelled_tidy(raw) ? tidy(raw) : raw;
  base = dirfd;
  if (raw[0] == '/') {
    if (starts_with(rest, "/proc") || starts_with(rest, "/dev")) return false;
    base = INT_MIN;  // init's root
  }
  size_t start = rest.find_first_not_of('/');
  if (start == std::string::npos) return false;
  rest.erase(0, start);
  size_t last_char = rest.find_last_not_of('/');
  out.trailing_slash = last_char + 1 < rest.size();
  rest.resize(last_char + 1);
  size_t slash = rest.rfind('/');
  parent = slash == std::string::npos ? "." : rest.substr(0, slash);
  out.name = slash == std::string::npos ? rest : rest.substr(slash + 1);
  return true;
}

int locate_pair(const Requester &r, int d1, const std::string &p1, int d2, const std::string &p2,
                Place &first, Place &second, bool &shared) {
  shared = false;
  if (int err = locate(r, d1, p1, first)) return err;
  int b1, b2;
  std::string parent1, parent2;
  Place probe;
  if (plain_parts(d1, p1, b1, parent1, probe) && plain_parts(d2, p2, b2, parent2, second) && b1 == b2 &&
      parent1 == parent2) {
    second.dir.fd = first.dir.fd;  // the caller releases it before `first` goes (names.cc)
    second.in_proc = first.in_proc;
    second.path = first.path;
    shared = true;
    return 0;
  }
  second = Place();
  return locate(r, d2, p2, second);
}

bool direct_base(const Requester &r, int dirfd, const std::string &path, Fd &holder, int &base, int &err) {
  err = 0;
  size_t lead = path.find_first_not_of('/');
  if (lead != 0) {  // absolute (or all slashes)
    if (lead != std::string::npos &&
        (path.compare(lead, 4, "proc") == 0 || path.compare(lead, 3, "dev") == 0))
      return false;
    base = AT_FDCWD;
    return true;
  }
  if (dirfd < 0 && dirfd != AT_FDCWD) {
    err = EBADF;
    return true;
  }
  if (dirfd == AT_FDCWD) {
    base = r.cwd();
    if (base < 0) err = -base;
    return true;
  }
  ProcPath link = proc_tid_fd(r.tid, dirfd);
  holder.reset(open(link, O_PATH | O_CLOEXEC));
  if (!holder.ok()) err = errno == ENOENT ? EBADF : errno;
  base = holder.fd;
  return true;
}

// "/a/b/c": absolute, every component a name (no "", ".", ".."), not under
// /proc, and not under /dev unless `dev` (then not its links to /proc/self).
static bool plain_spelling(const std::string &p, bool dev = false) {
  if (p.size() < 2 || p[0] != '/' || p.back() == '/' || starts_with(p, "/proc") || under_foreign_procfs(p))
    return false;
  if (starts_with(p, "/dev") && (!dev || starts_with(p, "/dev/fd") || starts_with(p, "/dev/stdin") ||
                                 starts_with(p, "/dev/stdout") || starts_with(p, "/dev/stderr")))
    return false;
  for (size_t i = 1; i < p.size();) {
    size_t end = p.find('/', i);
    if (end == std::string::npos) end = p.size();
    size_t len = end - i;  // "", "." and ".." are no names
    if (len == 0 || (p[i] == '.' && (len == 1 || (len == 2 && p[i + 1] == '.')))) return false;
    i = end + 1;
  }
  return true;
}

bool open_spelled(const std::string &path, int flags, Fd &out, std::string &where) {
  if (!plain_spelling(path)) return false;
  int fd = sbx_openat2(AT_FDCWD, path.c_str(), O_PATH | O_CLOEXEC | flags, SBX_RESOLVE_NO_SYMLINKS);
  if (fd < 0) return false;
  out.reset(fd);
  where = path;
  return true;
}

bool open_spelled_file(const std::string &path, Fd &out) {
  if (!plain_spelling(path, true)) return false;
  int fd = sbx_openat2(AT_FDCWD, path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC, SBX_RESOLVE_NO_SYMLINKS);
  if (fd < 0) return false;
  out.reset(fd);
  return true;
}

int open_place(const Place &p, bool follow, Fd &out) {
  std::string name = p.trailing_slash ? p.name + "/" : p.name;
  int flags = O_PATH | (follow ? 0 : O_NOFOLLOW);
  int fd = p.in_proc ? openat(p.dir.fd, name.c_str(), flags | O_CLOEXEC)
                     : openat_no_magic(p.dir.fd, name.c_str(), flags);
  if (fd < 0) return p.in_proc ? errno : -fd;
  out.reset(fd);
  return 0;
}
