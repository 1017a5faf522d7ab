// Mount steps. They run in the helper's new mount namespace, built with the
// new mount API so each bind is one clone + attribute change + move, with no
// re-reading of /proc/self/mountinfo per bind (the reason bwrap is quadratic).
#include "helper.h"
#include "gen/step_dispatch.h"
#include "procfs.h"
#include "supervisor/call.h"
#include "../uapi.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <set>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace {

int open_tree_fd(int fd, unsigned flags) {
  return (int)syscall(SBX_NR_open_tree, fd, "", flags | SBX_AT_EMPTY_PATH);
}

int open_tree(const char *path, unsigned flags) {
  return (int)syscall(SBX_NR_open_tree, AT_FDCWD, path, flags);
}

int mount_setattr(int dfd, const char *path, unsigned flags, uint64_t set) {
  struct sbx_mount_attr attr = {set, 0, 0, 0};
  return (int)syscall(SBX_NR_mount_setattr, dfd, path, flags, &attr, sizeof attr);
}

// Moves the detached tree `fd` onto the place the O_PATH fd `target` names.
int move_mount_fd(int fd, int target) {
  return (int)syscall(SBX_NR_move_mount, fd, "", target, "",
                      SBX_MOVE_MOUNT_F_EMPTY_PATH | SBX_MOVE_MOUNT_T_EMPTY_PATH);
}

const uint64_t kReadOnly = SBX_MOUNT_ATTR_RDONLY | SBX_MOUNT_ATTR_NOSUID | SBX_MOUNT_ATTR_NODEV;

// Binds what the O_PATH fd `at` names read-only onto itself (recursively,
// keeping its submounts). A symlink is bound as itself, not followed: that
// pins the name (EBUSY on unlink or rename) without touching its target.
int bind_self_ro(int at) {
  int fd = open_tree_fd(at, SBX_OPEN_TREE_CLONE | SBX_OPEN_TREE_CLOEXEC | SBX_AT_RECURSIVE);
  if (fd < 0) return -1;
  int rc = mount_setattr(fd, "", SBX_AT_EMPTY_PATH | SBX_AT_RECURSIVE, kReadOnly);
  if (rc == 0) rc = move_mount_fd(fd, at);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(const char *s) {
  std::string out;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
      out.push_back((char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0')));
      s += 3;
    } else {
      out.push_back(*s);
    }
  }
  return out;
}

std::vector<std::string> mount_points_below(const std::string &dir) {
  std::vector<std::string> out;
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return out;
  char *line = nullptr;
  size_t cap = 0;
  std::string prefix = dir == "/" ? "/" : dir + "/";
  while (getline(&line, &cap, f) > 0) {
    char mp[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
    std::string point = unescape_mountinfo(mp);
    if (point.size() > prefix.size() && point.compare(0, prefix.size(), prefix) == 0) out.push_back(point);
  }
  free(line);
  fclose(f);
  return out;
}

void need(Run &run, bool ok, const std::string &what) {
  if (!ok) fail(run, errno, what);
}

// slot numbers are the plan's: clone_tree SLOT PATH names the tree the
// setattr_slot / move_slot steps of that number use.
int slot_fd(Run &run, const std::string &slot) {
  auto it = run.slots.find(parse_num(run, slot));
  if (it == run.slots.end()) fail(run, EINVAL, "no cloned tree in slot " + slot);
  return it->second;
}

void set_propagation(Run &run, unsigned long prop) {
  need(run, mount(nullptr, "/", nullptr, MS_REC | prop, nullptr) == 0, "mount(/, MS_REC)");
}

}  // namespace

void step_make_rslave(Run &run, const Step &) { set_propagation(run, MS_SLAVE); }
void step_make_rprivate(Run &run, const Step &) { set_propagation(run, MS_PRIVATE); }

// clone_tree SLOT PATH: remember a detached rw copy
void step_clone_tree(Run &run, const Step &s) {
  const auto &a = s.args;
  unsigned long long slot = parse_num(run, a[0]);
  if (run.slots.count(slot)) fail(run, EINVAL, "slot " + a[0] + " is taken");
  int at = open_plan_path(run, a[1], false, true);
  int fd = open_tree_fd(at, SBX_OPEN_TREE_CLONE | SBX_OPEN_TREE_CLOEXEC | SBX_AT_RECURSIVE);
  need(run, fd >= 0, "open_tree " + a[1]);
  close(at);
  run.slots[slot] = fd;
  run.read_only_slots.erase(slot);  // a new tree: writable until a setattr_slot says otherwise
}

// setattr PATH ATTRS RECURSIVE
void step_setattr(Run &run, const Step &s) {
  const auto &a = s.args;
  unsigned flags = SBX_AT_SYMLINK_NOFOLLOW | (a[2] == "1" ? SBX_AT_RECURSIVE : 0);
  need(run, mount_setattr(AT_FDCWD, a[0].c_str(), flags, parse_num(run, a[1])) == 0, "mount_setattr " + a[0]);
}

// setattr_slot SLOT ATTRS
void step_setattr_slot(Run &run, const Step &s) {
  int fd = slot_fd(run, s.args[0]);
  uint64_t attrs = parse_num(run, s.args[1]);
  need(run, mount_setattr(fd, "", SBX_AT_EMPTY_PATH | SBX_AT_RECURSIVE, attrs) == 0,
       "mount_setattr on cloned tree");
  if ((attrs & kReadOnly) == kReadOnly) run.read_only_slots.insert(parse_num(run, s.args[0]));
}

// move_slot SLOT PATH
void step_move_slot(Run &run, const Step &s) {
  const auto &a = s.args;
  int fd = slot_fd(run, a[0]);
  int target = open_plan_path(run, a[1], false, false);  // may be a mount point made in a mask: no id
  need(run, move_mount_fd(fd, target) == 0, "move_mount " + a[1]);
  close(target);
  if (a[1] == "/") {
    // A mount on top of "/" is only seen from a root that is inside it.
    need(run, fchdir(fd) == 0 && chroot(".") == 0 && chdir("/") == 0, "chroot into the new /");
  }
  close(fd);
  run.slots.erase(parse_num(run, a[0]));
  run.read_only_slots.erase(parse_num(run, a[0]));
}

// ro_below DIR: every mount strictly below DIR read-only
void step_ro_below(Run &run, const Step &s) {
  for (const std::string &p : mount_points_below(s.args[0])) {
    if (mount_setattr(AT_FDCWD, p.c_str(), SBX_AT_RECURSIVE | SBX_AT_SYMLINK_NOFOLLOW, kReadOnly) != 0 &&
        errno != ENOENT)  // covered by a later mount: not reachable by path
      fail(run, errno, "mount_setattr " + p);
  }
}

// seal DIR NKEEP KEEP... MOUNTED...: bind every entry of DIR but KEEP
// read-only; a MOUNTED entry (a mount point ro_below made read-only) may
// refuse to be cloned (nsfs) if it is still read-only.
void step_seal(Run &run, const Step &s) {
  const auto &a = s.args;
  size_t nkeep = (size_t)parse_num(run, a[1]);
  if (nkeep > a.size() - 2) fail(run, EINVAL, "seal: keep count " + a[1] + " exceeds the arguments");
  std::set<std::string> keep(a.begin() + 2, a.begin() + 2 + nkeep), mounted(a.begin() + 2 + nkeep, a.end());
  int dirfd = open_plan_path(run, a[0], false, true);
  int listfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = listfd >= 0 ? fdopendir(listfd) : nullptr;
  need(run, d != nullptr, "opendir " + a[0]);
  while (struct dirent *e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || keep.count(name)) continue;
    int at = openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (at < 0) continue;  // gone: nothing to protect
    int rc = bind_self_ro(at);
    int saved = errno;
    if (rc != 0 && saved == ENOENT) {  // removed since it was opened: gone as one removed before the listing
      close(at);
      continue;
    }
    struct statvfs vfs;
    bool ok = rc == 0 || (mounted.count(name) && fstatvfs(at, &vfs) == 0 && (vfs.f_flag & ST_RDONLY));
    close(at);
    errno = saved;
    if (!ok) fail(run, errno, "bind read-only " + a[0] + "/" + name);
  }
  close(dirfd);
  closedir(d);
}

namespace {

// pin ... gone-ok: a path gone since the plan was made (a repository a
// parallel test suite removed) is no failure. Nothing is bound, and init
// refuses making it, as it refuses a protected path that was missing when
// the plan was made (the directories on the way are kept already). The plan
// says gone-ok only where init supervises creation; command_fork checks it.
// pin ... replaced-ok: a file or directory put in its place since (git
// writes its config by rename, an editor saves that way) is pinned instead:
// it is what the name holds when the sandbox starts, as protected as the
// one planned for, and its inode is guarded like the planned one's. A
// symlink or any other kind there still fails the step (ESTALE). A pool's
// sandbox, built long before its use, is planned without these words.
struct PinWords {
  bool gone_ok = false, replaced_ok = false;
};

PinWords pin_words(Run &run, const Step &s, size_t at) {
  PinWords w;
  for (size_t i = at; i < s.args.size(); i++) {
    if (s.args[i] == "gone-ok")
      w.gone_ok = true;
    else if (s.args[i] == "replaced-ok")
      w.replaced_ok = true;
    else
      fail(run, EINVAL, "unknown pin option: " + s.args[i]);
  }
  return w;
}

void refuse_making(Run &run, const std::string &path) {
  run.supervisor.config.protect.insert(path);
  run.supervisor.config.protect_names.insert(last_component(path));
  run.pins_gone = true;
}

// The fd is what the plan saw at `path`, or (replaced-ok) a file or
// directory put there since, whose inode is then guarded too.
// Every pinned regular file's inode is guarded here, not only a replaced
// one's: the plan knows no identity for a path in a moved root (its ids are
// the host's paths), and the planned one's is there already otherwise.
void check_pinned(Run &run, int fd, const std::string &path, const PinWords &w) {
  struct stat st;
  if (!plan_id_holds(run, fd, path, &st) && (!w.replaced_ok || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))))
    fail(run, ESTALE, "path changed since the plan was made: " + path);
  if (S_ISREG(st.st_mode)) run.supervisor.config.protect_inodes.insert({st.st_dev, st.st_ino});
}

// Init watches each pin for the host detaching it: SupervisorConfig::pinned.
void pinned(Run &run, const std::string &path) {
  run.supervisor.config.pinned.insert(path);
  run.supervisor.config.pinned_names.insert(last_component(path));
}

// A name removed or renamed over between its open and its bind (ENOENT:
// nothing mounts on an unlinked file) is looked up again (a bounded number of times: a host renaming in a
// loop), for gone-ok and replaced-ok judge what it holds then.
bool retry_pin(const PinWords &w, int err, int tries) {
  return err == ENOENT && (w.gone_ok || w.replaced_ok) && tries < 50;
}

}  // namespace

// pin PATH [gone-ok] [replaced-ok]: read-only bind onto itself
void step_pin(Run &run, const Step &s) {
  PinWords w = pin_words(run, s, 1);
  for (int tries = 0;; tries++) {
    int at = open_plan_path_or_gone(run, s.args[0], true, false, w.gone_ok);
    if (at < 0) return refuse_making(run, s.args[0]);
    check_pinned(run, at, s.args[0], w);
    int rc = bind_self_ro(at), saved = errno;
    if (rc == 0) pinned(run, s.args[0]);
    close(at);
    if (rc == 0) return;
    if (!retry_pin(w, saved, tries)) fail(run, saved, "bind read-only " + s.args[0]);
  }
}

// pin_from SLOT REL PATH [gone-ok] [replaced-ok]: pin PATH with a clone of REL in the tree of SLOT (a
// copy of the mount PATH lies in, made read-only by setattr_slot). Cloning
// scans every mount attached below the source mount, and each pin attaches
// one below PATH's mount: many pins cloned from that mount itself cost
// quadratic time, from the copy not. A clone keeps its source's flags, so
// the copy is made read-only once instead of each pin (a mount_setattr each);
// a copy that was not is refused, so a plan cannot pin writable.
void step_pin_from(Run &run, const Step &s) {
  const auto &a = s.args;
  int from = slot_fd(run, a[0]);
  if (!run.read_only_slots.count(parse_num(run, a[0])))
    fail(run, EINVAL, "pin_from " + a[2] + ": slot " + a[0] + " was not made read-only (setattr_slot)");
  PinWords w = pin_words(run, s, 3);
  for (int tries = 0;; tries++) {
    int src = sbx_openat2(from, a[1].c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW,
                          SBX_RESOLVE_NO_SYMLINKS | SBX_RESOLVE_BENEATH);
    if (src < 0 && w.gone_ok && (errno == ENOENT || errno == ENOTDIR)) return refuse_making(run, a[2]);
    if (src < 0)
      fail(run, errno,
           (errno == ELOOP ? "refusing a symlink in " : "open ") + a[2] + " (in the copy of its mount)");
    check_pinned(run, src, a[2], w);
    int target = open_plan_path_or_gone(run, a[2], true, false, w.gone_ok);
    if (target < 0) {
      close(src);
      return refuse_making(run, a[2]);
    }
    // The name must still hold what was cloned (the copy shares the host's directories: it does, but for a
    // race).
    struct stat want, got;
    bool same = fstat(src, &want) == 0 && fstat(target, &got) == 0 && want.st_dev == got.st_dev &&
                want.st_ino == got.st_ino;
    int fd = same ? open_tree_fd(src, SBX_OPEN_TREE_CLONE | SBX_OPEN_TREE_CLOEXEC | SBX_AT_RECURSIVE) : -1;
    int rc = fd >= 0 ? move_mount_fd(fd, target) : -1, saved = same ? errno : ENOENT;
    if (rc == 0) pinned(run, a[2]);
    if (fd >= 0) close(fd);
    close(target);
    close(src);
    if (rc == 0) return;
    if (!retry_pin(w, saved, tries))
      fail(run, same ? saved : ESTALE,
           (same ? "bind read-only " : "path changed while it was pinned: ") + a[2]);
  }
}

// close_slot SLOT: drop a detached tree no step moves (a pin_from source)
void step_close_slot(Run &run, const Step &s) {
  close(slot_fd(run, s.args[0]));
  run.slots.erase(parse_num(run, s.args[0]));
  run.read_only_slots.erase(parse_num(run, s.args[0]));
}

// scratch_begin DIR FLAGS OPTIONS: a tmpfs to build masks in, never visible afterwards
void step_scratch_begin(Run &run, const Step &s) {
  need(run, mount("tmpfs", s.args[0].c_str(), "tmpfs", parse_num(run, s.args[1]), s.args[2].c_str()) == 0,
       "mount scratch tmpfs " + s.args[0]);
  run.scratch_dir = s.args[0];
}

void step_scratch_end(Run &run, const Step &) {
  need(run, umount2(run.scratch_dir.c_str(), MNT_DETACH) == 0, "umount scratch " + run.scratch_dir);
}

// mask PATH file|dir|tmpfs FLAGS MODE SIZE INNER...: hide PATH under an empty
// node of MODE (a tmpfs mounted with MS_* FLAGS, limited to SIZE bytes unless
// SIZE is 0, or a file or directory made in the scratch tmpfs and bound with
// MOUNT_ATTR_* FLAGS); INNER ("d:rel" / "f:rel") become mount points for
// later steps.
void step_mask(Run &run, const Step &s) {
  const auto &a = s.args;
  const std::string &target = a[0], &kind = a[1];
  uint64_t flags = parse_num(run, a[2]);
  mode_t mode = (mode_t)parse_num(run, a[3]);
  std::string base;
  int at = open_plan_path(run, target, false, true);
  if (kind == "tmpfs") {
    // Through the fd's magic link: exactly the directory that was checked.
    ProcPath via = proc_self_fd(at);
    uint64_t size = parse_num(run, a[4]);
    char options[64];
    if (size)
      snprintf(options, sizeof options, "mode=%04o,size=%llu", (unsigned)mode, (unsigned long long)size);
    else
      snprintf(options, sizeof options, "mode=%04o", (unsigned)mode);
    need(run, mount("tmpfs", via, "tmpfs", flags, options) == 0, "mount tmpfs " + target);
    base = target;
  } else {
    base = run.scratch_dir + "/m" + std::to_string(run.scratch_count++);
    if (kind == "file") {
      int fd = open(base.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
      need(run, fd >= 0, "create mask file");
      close(fd);
    } else {
      need(run, mkdir(base.c_str(), mode) == 0, "create mask directory");
    }
  }
  for (size_t i = 5; i < a.size(); i++) {
    std::string rel = a[i].substr(2), cur = base;
    size_t pos = 0;
    while ((pos = rel.find('/', pos)) != std::string::npos) {
      std::string dir = base + "/" + rel.substr(0, pos++);
      if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) fail(run, errno, "mkdir " + dir);
    }
    std::string leaf = base + "/" + rel;
    bool ok = a[i][0] == 'd' ? (mkdir(leaf.c_str(), 0755) == 0 || errno == EEXIST)
                             : (close(open(leaf.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0444)) == 0);
    need(run, ok, "create mount point " + leaf);
  }
  if (kind != "tmpfs") {
    int fd = open_tree(base.c_str(), SBX_OPEN_TREE_CLONE | SBX_OPEN_TREE_CLOEXEC);
    need(run, fd >= 0, "open_tree mask for " + target);
    need(run, mount_setattr(fd, "", SBX_AT_EMPTY_PATH, flags) == 0, "mount_setattr mask");
    need(run, move_mount_fd(fd, at) == 0, "move_mount mask onto " + target);
    close(fd);
  }
  close(at);
  run.expected.erase(target);  // replaced on purpose: later steps find the mask there
}

// data_file PATH FLAGS MODE HEX: bubblewrap's --bind-data/--ro-bind-data. A
// file of MODE holding the bytes HEX encodes, bound onto PATH with
// MOUNT_ATTR_* FLAGS. It is made in a tmpfs of its own (the kernel's default
// size, as bubblewrap's tmpfs root: a writable one may grow) mounted inside
// the scratch tmpfs: the scratch goes away with scratch_end, the file's own
// mount keeps its tmpfs alive, and nothing reaches the host.
void step_data_file(Run &run, const Step &s) {
  const auto &a = s.args;
  const std::string &target = a[0], &hex = a[3];
  uint64_t flags = parse_num(run, a[1]);
  mode_t mode = (mode_t)parse_num(run, a[2]);
  std::string data = hex_bytes(run, hex, "data for " + target);
  std::string dir = run.scratch_dir + "/d" + std::to_string(run.scratch_count++);
  need(run, mkdir(dir.c_str(), 0700) == 0, "create the data directory for " + target);
  need(run, mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") == 0,
       "mount the data tmpfs for " + target);
  std::string file = dir + "/f";
  int fd = open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  need(run, fd >= 0, "create the data file for " + target);
  for (size_t off = 0; off < data.size();) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    need(run, n > 0, "write the data for " + target);
    off += (size_t)n;
  }
  need(run, fchmod(fd, mode) == 0, "chmod the data file for " + target);  // exactly MODE, whatever the umask
  close(fd);
  int at = open_plan_path(run, target, false, true);
  int tree = open_tree(file.c_str(), SBX_OPEN_TREE_CLONE | SBX_OPEN_TREE_CLOEXEC);
  need(run, tree >= 0, "open_tree the data file for " + target);
  need(run, mount_setattr(tree, "", SBX_AT_EMPTY_PATH, flags) == 0,
       "mount_setattr the data file for " + target);
  need(run, move_mount_fd(tree, at) == 0, "move_mount the data file onto " + target);
  close(tree);
  close(at);
  run.expected.erase(target);  // replaced on purpose, as a mask
}

// fresh_node ROOT REL dir|file|symlink MODE ARG: make REL inside the tmpfs
// just mounted at ROOT (bubblewrap's --dir, --file, --symlink there): parents
// as 0755 directories, then a directory of MODE, a file of MODE holding the
// bytes ARG encodes (hex), or a symlink to ARG. Each name is resolved beneath
// ROOT without following symlinks or crossing a mount, so an earlier
// --symlink cannot lead the helper, which is not yet confined, out of the
// tmpfs. An existing directory (or the same symlink) is kept, as bubblewrap does.
void step_fresh_node(Run &run, const Step &s) {
  const auto &a = s.args;
  const std::string &root = a[0], &rel = a[1], &kind = a[2], &arg = a[4];
  mode_t mode = (mode_t)parse_num(run, a[3]);
  const std::string what = root + "/" + rel;
  const uint64_t beneath = SBX_RESOLVE_NO_SYMLINKS | SBX_RESOLVE_NO_XDEV | SBX_RESOLVE_BENEATH;
  int dir = open_plan_path(run, root, true, false);
  size_t start = 0;
  for (size_t slash; (slash = rel.find('/', start)) != std::string::npos; start = slash + 1) {
    std::string name = rel.substr(start, slash - start);
    if (name.empty() || name == "." || name == "..")
      fail(run, EINVAL, "make " + what + ": a bad name on the way");
    if (mkdirat(dir, name.c_str(), 0755) != 0 && errno != EEXIST)
      fail(run, errno, "mkdir parents of " + what);
    int next = sbx_openat2(dir, name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, beneath);
    if (next < 0) fail(run, errno, "open parents of " + what);
    close(dir);
    dir = next;
  }
  std::string leaf = rel.substr(start);
  if (leaf.empty() || leaf == "." || leaf == "..") fail(run, EINVAL, "make " + what + ": a bad name");
  if (kind == "dir") {
    if (mkdirat(dir, leaf.c_str(), mode) == 0) {
      int fd = sbx_openat2(dir, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, beneath);
      need(run, fd >= 0 && fchmod(fd, mode) == 0, "chmod " + what);  // exactly MODE, whatever the umask
      close(fd);
    } else {
      int fd =
          errno == EEXIST ? sbx_openat2(dir, leaf.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, beneath) : -1;
      need(run, fd >= 0, "mkdir " + what);
      close(fd);
    }
  } else if (kind == "file") {
    std::string data = hex_bytes(run, arg, "data for " + what);
    int fd = openat(dir, leaf.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    need(run, fd >= 0, "create " + what);
    for (size_t off = 0; off < data.size();) {
      ssize_t n = write(fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      need(run, n > 0, "write " + what);
      off += (size_t)n;
    }
    need(run, fchmod(fd, mode) == 0, "chmod " + what);
    close(fd);
  } else if (kind == "symlink") {
    if (symlinkat(arg.c_str(), dir, leaf.c_str()) != 0) {
      char buf[4096];
      ssize_t n = errno == EEXIST ? readlinkat(dir, leaf.c_str(), buf, sizeof buf) : -1;
      if (n < 0 || std::string(buf, (size_t)n) != arg) fail(run, n < 0 ? errno : EEXIST, "symlink " + what);
    }
  } else {
    fail(run, EINVAL, "fresh_node " + what + ": unknown kind " + kind);
  }
  close(dir);
}

// bind SRC DST ATTRS
void step_bind(Run &run, const Step &s) {
  const auto &a = s.args;
  int fd = open_tree(a[0].c_str(), SBX_OPEN_TREE_CLONE | SBX_OPEN_TREE_CLOEXEC | SBX_AT_RECURSIVE);
  need(run, fd >= 0, "open_tree " + a[0]);
  uint64_t attrs = parse_num(run, a[2]);
  if (attrs)
    need(run, mount_setattr(fd, "", SBX_AT_EMPTY_PATH | SBX_AT_RECURSIVE, attrs) == 0,
         "mount_setattr " + a[0]);
  int target = open_plan_path(run, a[1], false, false);
  need(run, move_mount_fd(fd, target) == 0, "move_mount " + a[1]);
  close(target);
  close(fd);
}

// tmpfs PATH FLAGS OPTIONS
void step_tmpfs(Run &run, const Step &s) {
  need(run, mount("tmpfs", s.args[0].c_str(), "tmpfs", parse_num(run, s.args[1]), s.args[2].c_str()) == 0,
       "mount tmpfs " + s.args[0]);
}

// devpts PATH FLAGS OPTIONS
void step_devpts(Run &run, const Step &s) {
  need(run, mount("devpts", s.args[0].c_str(), "devpts", parse_num(run, s.args[1]), s.args[2].c_str()) == 0,
       "mount devpts " + s.args[0]);
}

// proc PATH FLAGS
void step_proc(Run &run, const Step &s) {
  need(run, mount("proc", s.args[0].c_str(), "proc", parse_num(run, s.args[1]), nullptr) == 0,
       "mount proc " + s.args[0]);
}

// mkdir PATH MODE
void step_mkdir(Run &run, const Step &s) {
  need(run, mkdir(s.args[0].c_str(), (mode_t)parse_num(run, s.args[1])) == 0, "mkdir " + s.args[0]);
}

// touch PATH MODE
void step_touch(Run &run, const Step &s) {
  int fd =
      open(s.args[0].c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, (mode_t)parse_num(run, s.args[1]));
  need(run, fd >= 0, "create " + s.args[0]);
  close(fd);
}

// symlink TARGET PATH
void step_symlink(Run &run, const Step &s) {
  need(run, symlink(s.args[0].c_str(), s.args[1].c_str()) == 0, "symlink " + s.args[1]);
}
