// The supervisor's view of one intercepted syscall's caller: reading its
// memory and finding the files its path arguments name, the way the kernel
// would have found them for it. See docs/supervisor.md.
#pragma once
#include <stdint.h>
#include <string>
#include <sys/types.h>
#include <unistd.h>

// An fd that closes itself.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  Fd(Fd &&o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd &operator=(Fd &&o) noexcept {
    reset(o.fd);
    o.fd = -1;
    return *this;
  }
  ~Fd() { reset(); }
  void reset(int f = -1) {
    if (fd >= 0) close(fd);
    fd = f;
  }
  bool ok() const { return fd >= 0; }
};

#include <memory>

class FsCache;

struct Requester {
  pid_t tid = 0;             // the calling thread (seccomp_notif.pid)
  FsCache *cache = nullptr;  // what init remembers of callers (fscache.h)
  bool thread_pidfd = true;  // PIDFD_THREAD (6.9): the plan says (fscache=off before)
  // Its process and umask: remembered, or read from /proc/TID/status the
  // first time one is asked for (reading it costs more than the call).
  pid_t tgid() const;
  mode_t umask() const;
  bool tgid_unknown() const { return tgid() == tid && !status_read_; }
  // Its cwd (O_PATH: remembered, or opened once per request), or -errno.
  int cwd() const;

 private:
  void load() const;
  mutable bool loaded_ = false, status_read_ = false, umask_read_ = false;
  mutable pid_t tgid_ = 0;
  mutable mode_t umask_ = 0777;  // if it cannot be read: the most restrictive
  mutable bool known_ = false;   // the cache remembers the thread
  mutable std::shared_ptr<Fd> cwd_;
  mutable int cwd_err_ = 0;
};

// A name about to be created, changed or followed: the directory that holds
// it (opened by us) and the last component of the path.
struct Place {
  Fd dir;
  std::string name;  // "." when the path names a directory itself ("/", "a/.")
  bool trailing_slash = false;
  bool in_proc = false;  // dir is on procfs: its symlinks are the kernel's magic links
  // dir's path as the kernel prints it, when the lookup proves it (dir_path); else "".
  std::string path;
};

// Each returns 0 or an errno.
int read_memory(const Requester &r, uint64_t addr, void *buf, size_t len);
int read_string(const Requester &r, uint64_t addr, size_t max, std::string &out);
// Two strings, as read_string would read them one after the other.
int read_strings(const Requester &r, uint64_t a1, uint64_t a2, size_t max, std::string &s1, std::string &s2);
// The requester's fd `fd`, the same open file (pidfd_getfd).
int take_fd(const Requester &r, int fd, Fd &out);
// Where `path`, relative to the requester's `dirfd` (AT_FDCWD: its cwd), leads.
int locate(const Requester &r, int dirfd, const std::string &path, Place &out);
// Both paths of a rename or link, as two locate calls would find them; when
// they name one directory spelled the same way from the same base (a rename
// within a directory), it is opened once: `second.dir` then holds
// `first.dir`'s fd, and `shared` says the caller must let go of it (fd = -1)
// before `first` is destroyed.
int locate_pair(const Requester &r, int d1, const std::string &p1, int d2, const std::string &p2,
                Place &first, Place &second, bool &shared);
// The same for a path found in a symlink: a relative one starts at `dir`, ours.
int locate_from(const Requester &r, int dir, const std::string &path, Place &out);
// Whether a metadata target may be opened in one openat2 (with
// RESOLVE_NO_MAGICLINKS) from an fd of ours: `base` is then the caller's dirfd
// or cwd (held in `holder`), or AT_FDCWD for an absolute path (our root is the
// caller's). Not for paths into /proc or /dev, where "self" would mean us:
// those go through locate. `err` is set when the caller's dirfd is unusable.
bool direct_base(const Requester &r, int dirfd, const std::string &path, Fd &holder, int &base, int &err);
// An absolute path spelled plainly ("/a/b/c": no ".", "..", "//" or trailing
// slash, nothing under /proc or /dev), opened (O_PATH | flags, from our root,
// which is the caller's) without following any symlink: then `where` is the
// path the kernel would print for it, and it is not on the sandbox's procfs.
// False (nothing opened) otherwise, or on any error: the caller looks it up
// its usual way, which gives the caller's errno.
bool open_spelled(const std::string &path, int flags, Fd &out, std::string &where);
// The same for a file an open reopens, with /dev allowed (but /dev/fd and
// /dev/std*, which lead to /proc/self): O_PATH | O_NOFOLLOW, so a final
// symlink is opened itself (the caller follows it its usual way). The sandbox
// has no procfs under /dev (the plan mounts its own /dev, no binds below it).
bool open_spelled_file(const std::string &path, Fd &out);
// Opens (O_PATH) what a Place names, following a final symlink or not.
int open_place(const Place &p, bool follow, Fd &out);
// The path of an fd of ours, as the kernel prints it ("" if it has none).
std::string fd_path(int fd);
// The path of a Place's directory: the one its lookup proved, or fd_path.
std::string dir_path(const Place &p);
// The file an fd of ours holds, opened anew (through /proc/self/fd, so it is
// exactly that inode), or -1 with errno set.
int reopen_fd(int fd, int flags);
