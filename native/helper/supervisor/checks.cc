// The checks the plan asked for (docs/supervisor.md): which metadata changes
// and which new names init refuses.
#include "call.h"
#include "../../gen/events.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

namespace {

bool under(const std::string &p, const std::string &prefix) {
  if (prefix == "/") return true;
  return p.compare(0, prefix.size(), prefix) == 0 && (p.size() == prefix.size() || p[prefix.size()] == '/');
}

}  // namespace

// EROFS when the plan keeps this file's metadata as it is (and the caller is
// told). `known`: its path when the lookup proved it (open_spelled).
int meta_refused(const Call &c, int fd, const std::string &known) {
  const SupervisorConfig &cfg = c.cfg();
  if (cfg.meta_deny.empty()) return 0;
  std::string p = known.empty() ? fd_path(fd) : known;
  if (p.empty()) {  // no path: a pipe or socket is fine; a file or directory we cannot place is refused
    struct stat st;
    return fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)
               ? 0
               : refused(c, EROFS, kViolationRuleChainMetadata, "(a file init cannot place)");
  }
  for (const auto &deny : cfg.meta_deny) {
    if (!under(p, deny)) continue;
    for (const auto &allow : cfg.meta_allow)
      if (under(p, allow)) return 0;
    return refused(c, EROFS, kViolationRuleChainMetadata, p);
  }
  return 0;
}

// EROFS when a write or chmod would reach a protected file by another name:
// a hard link made before the sandbox, outside its read-only bind. Only a
// file with more than one name can be one.
int linked_refused(const Call &c, int fd, const struct stat *known) {
  const SupervisorConfig &cfg = c.cfg();
  if (cfg.protect_inodes.empty() && cfg.protect_trees.empty() && cfg.held_trees.empty()) return 0;
  struct stat st;
  if (known)
    st = *known;
  else if (fstat(fd, &st) != 0)
    return refused(c, EROFS, kViolationRuleProtectedPath, "(a file init cannot place)");
  if (!S_ISREG(st.st_mode) || st.st_nlink < 2) return 0;
  std::pair<uint64_t, uint64_t> id{(uint64_t)st.st_dev, (uint64_t)st.st_ino};
  if (cfg.protect_inodes.count(id)) return refused(c, EROFS, kViolationRuleProtectedLink, fd_path(fd));
  int in_tree =
      cfg.protect_trees.empty() && cfg.held_trees.empty() ? 0 : in_guard_tree(cfg, id.first, id.second);
  if (in_tree == 0) return 0;
  return refused(c, EROFS, in_tree > 0 ? kViolationRuleProtectedLink : kViolationRuleUnseenLink, fd_path(fd));
}

// EROFS when creating this name would create a protected path, or (for
// renames and symlinks, which can bring a whole tree, and for a rename's
// source) a directory on the way to one; or when it is what git reads as
// config or runs (git_control.cc).
int create_refused(const Call &c, const Place &place, bool brings_tree, Naming how) {
  const SupervisorConfig &cfg = c.cfg();
  if (int err = git_control_refused(c, place, brings_tree && how == Naming::make, how != Naming::source,
                                    how == Naming::make_file))
    return err;
  // A pin the host detached (pins.cc): nothing is made at or below it, nor renamed onto it or out of it.
  if (!detached_pins(c).empty()) {
    std::string dir = dir_path(place);
    if (dir.empty()) return refused(c, EROFS, kViolationRulePinnedFile, place.name);
    if (int err = detached_pin_refused(c, (dir == "/" ? "" : dir) + "/" + place.name)) return err;
  }
  // Most names are nobody's last component: no need to ask for the directory's path.
  if (!cfg.protect_names.count(place.name)) return 0;
  std::string dir = dir_path(place);
  if (dir.empty())
    return refused(c, EROFS, kViolationRuleProtectedPath,
                   place.name);  // a directory we cannot place: refuse rather than guess
  std::string full = (dir == "/" ? "" : dir) + "/" + place.name;
  if (cfg.protect.count(full)) return refused(c, EROFS, kViolationRuleProtectedPath, full);
  if (brings_tree && cfg.protect_dirs.count(full)) return refused(c, EROFS, kViolationRuleProtectedDir, full);
  if (how != Naming::source && cfg.new_names.count(place.name) && !cfg.new_allow.count(full) &&
      !(how == Naming::make_file && cfg.new_file_allow.count(full))) {
    // A name that exists already is no new repository: replacing it (a
    // rename onto HEAD) or reopening it is the command's, and any other call
    // fails on it as the kernel says (EEXIST). One we cannot see is refused.
    struct stat st;
    if (fstatat(place.dir.fd, place.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 &&
        !(cfg.git_control && place.name == cfg.git.head && reflog_head(cfg, place.dir.fd)))
      return refused(c, EROFS, kViolationRuleNewRepository, full);
  }
  return 0;
}

// EROFS when a rename would move a directory that holds a `new-name` entry
// (a HEAD or a .git: a repository) to another place: a repository that
// exists cannot be made anew, and must not be moved where git would find it
// (the command could have changed its config). A place we cannot look into
// is left to the kernel: renaming what is not there fails anyway.
int moves_repository(const Call &c, const Place &from) {
  const SupervisorConfig &cfg = c.cfg();
  if (cfg.new_names.empty()) return 0;
  Fd dir(openat(from.dir.fd, from.name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.ok()) return 0;  // not a directory (or gone)
  struct stat st;
  for (const auto &n : cfg.new_names) {
    if (fstatat(dir.fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    std::string at = fd_path(from.dir.fd);
    return refused(c, EROFS, kViolationRuleNewRepository, (at == "/" ? "" : at) + "/" + from.name);
  }
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
// directories resolve to: bind creates exactly its last component. A name of
// the repository model counts too: a socket named `objects` beside a HEAD
// would help make a git directory (git_control.cc); so does a pinned name
// (a socket there is refused whether or not its pin holds: pins.cc).
bool may_be_protected(const SupervisorConfig &cfg, const std::string &path) {
  std::string last = last_component(path);
  if (cfg.protect_names.count(last) || cfg.pinned_names.count(last)) return true;
  if (!cfg.git_control) return false;
  for (const auto *names : {&cfg.git.becoming, &cfg.git.control, &cfg.git.trees})
    for (const auto &n : *names)
      if (n == last) return true;
  return cfg.git.state_names.count(last) || cfg.git.state_dirs.count(last);
}
