// What the files of the supervisor share: one intercepted syscall (Call),
// what init answers (Outcome), and the functions each file offers the others.
#pragma once
#include "requester.h"
#include "supervisor.h"
#include <atomic>
#include <functional>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

const size_t kPathMax = 4096;
const size_t kXattrNameMax = 255, kXattrSizeMax = 65536;

// The pinned paths whose pins the host detached, as last seen, and the
// mount table's fd that tells when to look again (pins.cc).
struct PinWatch {
  int mountinfo = -1;
  std::vector<std::string> detached;
};

// Init's serving thread: the configuration it was handed and the listener it answers on.
struct Server {
  SupervisorConfig cfg;
  int listener = -1;
  mutable std::atomic<int> fifo_threads{0};  // FIFO opens waiting on threads of their own (fifo.cc)
  FsCache *cache = nullptr;                  // the serving thread's alone (fscache.h)
  PinWatch *pins = nullptr;                  // the same (pins.cc); none when nothing is pinned
};

// One intercepted syscall.
struct Call {
  const Server &srv;
  const struct seccomp_notif &n;
  Requester r;
  // The registers; gen/supervised_syscalls.h's <name>_args reads them by role.
  const uint64_t *raw() const { return reinterpret_cast<const uint64_t *>(n.data.args); }
  bool truncating = false;  // truncate(2): the open looks for a regular file to truncate (open.cc)
  const SupervisorConfig &cfg() const { return srv.cfg; }
  // The caller is still blocked in this syscall: the pid we read is its pid.
  bool valid() const { return ioctl(srv.listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n.id) == 0; }
};

struct Outcome {
  int64_t val = 0;
  int err = 0;
  int send_fd = -1;  // install in the caller and return its number; -2: a thread answers
  bool cloexec = false;
  bool cont = false;  // let the kernel perform it (fs-state calls only, fscache.cc)
};

inline Outcome fail_with(int err) {
  Outcome o;
  o.err = err;
  return o;
}

Outcome done(long rc);  // rc, or errno when rc < 0

// checks.cc: each returns 0 or EROFS (a refusal is reported: violations.cc).
// `known`: the file's path when its lookup proved it (requester.h open_spelled).
int meta_refused(const Call &c, int fd, const std::string &known = std::string());
// `known`: fd's fstat, taken after it was opened (saves taking it again).
int linked_refused(const Call &c, int fd, const struct stat *known = nullptr);
// pins.cc: EROFS when `path` is at or below a pin the host detached.
int detached_pin_refused(const Call &c, const std::string &path);
const std::vector<std::string> &detached_pins(const Call &c);
// Writing, chmod or a hard link through `fd` (its other name could be
// written): EROFS when it is at or below a detached pin, or at a pinned path
// but not the pin itself (a lookup that raced the host's rename holds the
// file it replaced, or the new one before the poll could tell). `where`: its
// path when the lookup proved it; `at`: the directory and name it was opened from.
int pinned_fd_refused(const Call &c, int fd, const std::string &where = std::string(),
                      const Place *at = nullptr);
// Making a name at a pinned path itself, or renaming onto or away from it,
// attached or not: `attached` (what the kernel answers for a mount point
// there) while the pin holds, EROFS (reported) once the host detached it.
int pinned_name_refused(const Call &c, const Place &place, int attached);
// 1 when `place` is a pinned path itself, 0 not, -1 when its directory cannot be placed.
int at_pinned_name(const Call &c, const Place &place);
void watch_pins(Server *srv);
// guard_trees.cc: 1 below a protect-tree= directory, 0 not, -1 cannot tell.
int in_guard_tree(const SupervisorConfig &cfg, uint64_t dev, uint64_t ino);
// `how`: the call makes the name (a regular file, with an O_CREAT open), or
// moves it away (a rename's source), which makes nothing new.
enum class Naming { make, make_file, source };
int create_refused(const Call &c, const Place &place, bool brings_tree, Naming how = Naming::make);
int moves_repository(const Call &c, const Place &from);

// git_control.cc: EROFS (reported) when the plan gave the repository model
// and the call would make, move or (`replaces`: a rename onto an existing
// `.git`) replace what git reads as config or runs, or (`makes`: not a
// rename's source) make what turns a directory that holds a HEAD into a git
// directory; or opens for writing (or chmods) such a file or an existing
// `.git` file (`fd`: the file about to be reopened or changed).
// `known`: dir's path when its lookup proved it (Place::path), else "".
bool git_control(const SupervisorConfig &cfg, int dir, const std::string &name,
                 const std::string &known = std::string());
// `writes_file`: an O_CREAT open, which makes a regular file or opens one for writing.
int git_control_refused(const Call &c, const Place &place, bool replaces, bool makes, bool writes_file);
// Whether `dir` is the logs/ of a git directory and a HEAD there keeps it no
// git directory: its HEAD (the reflog) then starts no repository.
bool reflog_head(const SupervisorConfig &cfg, int dir);
// `known`: fd's fstat, taken after it was opened; `where`: its path when the lookup proved it.
int git_write_refused(const Call &c, int fd, const struct stat *known = nullptr,
                      const std::string &where = std::string());
// The same for a file opened by its name in `at` (`checked`: git_control_refused saw that name).
int git_write_refused_at(const Call &c, const Place &at, bool checked);
// The same for a hard link's source: a control file or a `.git` gets no second name.
int git_link_refused(const Call &c, const Place &from);
// git setup.c is_git_directory, with the plan's names: a head and one of the `git-dir` sets.
bool git_directory(const SupervisorConfig::Git &g, int dir);

// git_state.cc: the sequencer's files (git-state=). The state file `name` in
// `dir` is, or null; one that cannot be told counts as one.
const SupervisorConfig::Git::State *git_state_file(const SupervisorConfig &cfg, int dir,
                                                   const std::string &name);
// `name` in `dir` is a state file's directory of a git directory.
bool git_state_dir(const SupervisorConfig &cfg, int dir, const std::string &name);
// EROFS (reported) for making a state file (any way but a checked rename;
// `writes_file`, an O_CREAT open, while it may be written in place), or
// (`brings_tree`: a rename, symlink or link) a state directory.
int git_state_refused(const Call &c, const Place &place, bool brings_tree, bool writes_file);
// `name` in `dir` is a state file that cannot be written in place now.
bool git_state_locked(const SupervisorConfig &cfg, int dir, const std::string &name);
// A rename onto a state file (or an exchange with one): performed as a
// check of the source and a copy init writes; true when it answered (`out`).
bool git_state_rename(Call &c, const Place &from, const Place &to, unsigned flags, Outcome &out);

// violations.cc: tells the caller (bounded) and returns err.
int refused(const Call &c, int err, int rule, const std::string &path);
bool may_be_protected(const SupervisorConfig &cfg, const std::string &path);
std::string last_component(const std::string &p);
std::string name_of(const Place &p);

// metadata.cc
Outcome change_mode(Call &c, int dirfd, uint64_t path, mode_t mode, bool follow, bool empty_path);
Outcome change_owner(Call &c, int dirfd, uint64_t path, uid_t uid, gid_t gid, bool follow, bool empty_path);
Outcome change_times(Call &c, int dirfd, uint64_t path, const struct timespec *times, bool follow,
                     bool empty_path);
int read_times_timeval(Call &c, uint64_t addr, struct timespec ts[2], bool &now);
Outcome change_xattr(Call &c, int dirfd, uint64_t path, uint64_t name_addr, const std::string *value,
                     int xflags, bool follow, bool empty_path);
int read_value(Call &c, uint64_t addr, uint64_t size, std::string &out);
Outcome change_inode_flags(Call &c, const IoctlArgs &x);

// open.cc, fifo.cc, tty.cc
Outcome open_create(Call &c, int dirfd, uint64_t path_addr, int flags, mode_t mode);
Outcome truncate_file(Call &c, int dirfd, uint64_t path_addr, int64_t length);
void open_fifo_on_thread(const Server &srv, uint64_t id, int opath, int flags, bool cloexec, Outcome &o);
Outcome open_tty(Call &c, int flags);

// names.cc
Outcome make_node(Call &c, int dirfd, uint64_t path_addr, mode_t mode, dev_t dev, bool dir);
Outcome make_symlink(Call &c, uint64_t target_addr, int dirfd, uint64_t path_addr);
Outcome make_link(Call &c, int olddir, uint64_t old_addr, int newdir, uint64_t new_addr, int flags);
Outcome do_rename(Call &c, int olddir, uint64_t old_addr, int newdir, uint64_t new_addr, unsigned flags);
Outcome do_bind(Call &c, const BindArgs &x);

// unix_peers.cc, connect.cc, send.cc: pathname unix sockets reach only this
// sandbox's own sockets and the allowed ones.
void note_bound(int sock, const char *path);
int unix_target(const Call &c, const std::string &path, Fd &out);
int read_sockaddr(const Call &c, uint64_t addr, uint64_t len, struct sockaddr_storage &out);
int pin_unix_target(const Call &c, int sock, struct sockaddr_storage &addr, socklen_t &len, Fd &pin);
Outcome do_connect(Call &c, const ConnectArgs &x);
Outcome do_sendto(Call &c, const SendtoArgs &x);
Outcome do_sendmsg(Call &c, const SendmsgArgs &x);
Outcome do_sendmmsg(Call &c, const SendmmsgArgs &x);

// blocking.cc: `work` runs on a thread of its own, which answers request `id`
// with its outcome; `gone` says whether the caller is still waiting.
using BlockingWork = std::function<Outcome(const std::function<bool()> &gone)>;
void answer_on_thread(const Server &srv, uint64_t id, BlockingWork work, Outcome &o);

// fscache.cc: umask, chdir, fchdir, and clone/unshare with the flags the filter picks.
Outcome fs_state_change(Call &c, SupervisedOp op, uint64_t flag_arg);

// decode.cc: unpacks the arguments of `op` and performs it.
Outcome handle(Call &c, SupervisedOp op);

// serve.cc: answers requests on srv->listener from a thread of its own, for as long as the filter is in use.
void start_serving(Server *srv);
