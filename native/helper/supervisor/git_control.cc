// The repository model's check for every git directory, found by the plan's
// layout or not (a nested clone below a root, a bare cache): what git reads
// as config or runs cannot be written, made, replaced, linked, moved or made
// executable (docs/policy.md "The repository model"). Every name comes from
// the plan (lib/repository.ts GIT_MODEL); this file only applies them.
//
// A git directory is told by the file system at the time of the call, as git
// itself tells one (setup.c is_git_directory): it holds the head (HEAD) and
// one of the plan's `git-dir` sets (objects and refs, or a commondir). Any
// entry counts, whatever its type or content, so this is never narrower than
// git's test. A directory that holds a HEAD but is no git directory (a
// remote's refs/remotes/NAME, logs/) can never become one: making the last
// missing name of one of those sets there is refused, and no HEAD can be
// made where none is (checks.cc, and reflog_head below).
#include "call.h"
#include "../../gen/events.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

namespace {

using Git = SupervisorConfig::Git;

bool holds(int dir, const std::string &name) {
  struct stat st;
  return fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool one_of(const std::vector<std::string> &names, const std::string &name) {
  for (const auto &n : names)
    if (n == name) return true;
  return false;
}

// One of the `git-dir` sets is all there (without the head).
bool has_git_set(const Git &g, int dir) {
  for (const auto &set : g.dirs) {
    bool all = true;
    for (const auto &n : set)
      if (!holds(dir, n)) {
        all = false;
        break;
      }
    if (all) return true;
  }
  return false;
}

// Whether making `name` in `dir` (beside a head) would complete a `git-dir`
// set: refusing the last missing name of each set is enough, so logs/ still
// gets its refs/ (a first commit) and refs/remotes/NAME/ a branch `refs/x`
// while objects/ is not there. Checks and creations are init's one serving
// thread's, so two names cannot be made at once past the check.
bool completes_git_set(const Git &g, int dir, const std::string &name) {
  if (!one_of(g.becoming, name) || !holds(dir, g.head) || holds(dir, name)) return false;
  for (const auto &set : g.dirs) {
    bool member = false, rest = true;
    for (const auto &n : set)
      if (n == name)
        member = true;
      else if (!holds(dir, n))
        rest = false;
    if (member && rest) return true;
  }
  return false;
}

bool same(const struct stat &a, const struct stat &b) { return a.st_ino == b.st_ino && a.st_dev == b.st_dev; }

// Whether `dir` is a git directory's tree entry (hooks/) or lies below it.
// Walked up by fds (`..`), each step compared by inode, so a rename meanwhile
// cannot mislead it; the path only says whether a walk is needed. That is
// sound because nothing can be moved into a tree or a tree out of its git
// directory (both are refused here), so a directory below one has "/NAME" in
// its path. Unsure (an fd that fails) counts as below. `known`: dir's path
// when its lookup proved it (Place::path), which a readlink now would print
// too: renames are made by this thread alone, none came between.
bool under_tree(const Git &g, int dir, const std::string &known) {
  if (g.trees.empty()) return false;
  std::string p = known.empty() ? fd_path(dir) : known;
  bool maybe = false;
  for (const auto &mark : g.tree_marks) maybe = maybe || p.find(mark) != std::string::npos;
  if (!maybe) return false;
  struct stat child;
  if (fstat(dir, &child) != 0) return true;
  Fd cur(fcntl(dir, F_DUPFD_CLOEXEC, 0));
  for (int depth = 0; depth < 1024 && cur.ok(); depth++) {
    Fd up(openat(cur.fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat parent, tree;
    if (!up.ok() || fstat(up.fd, &parent) != 0) return true;
    if (same(parent, child)) return false;  // the root
    for (const auto &t : g.trees)
      if (fstatat(up.fd, t.c_str(), &tree, AT_SYMLINK_NOFOLLOW) == 0 && same(tree, child) &&
          git_directory(g, up.fd))
        return true;
    cur = std::move(up);
    child = parent;
  }
  return true;
}

// Whether the file at `p` (named `name`) could be a control file or an entry.
bool candidate(const Git &g, const std::string &p, const std::string &name) {
  if (name == g.entry || one_of(g.control, name) || one_of(g.trees, name) || g.state_names.count(name))
    return true;
  for (const auto &mark : g.tree_marks)
    if (p.find(mark) != std::string::npos) return true;
  return false;
}

std::string join(const std::string &dir, const std::string &name) {
  return (dir == "/" ? "" : dir) + "/" + name;
}

}  // namespace

bool git_directory(const Git &g, int dir) { return holds(dir, g.head) && has_git_set(g, dir); }

bool git_control(const SupervisorConfig &cfg, int dir, const std::string &name, const std::string &known) {
  const Git &g = cfg.git;
  if ((one_of(g.control, name) || one_of(g.trees, name)) && git_directory(g, dir)) return true;
  return under_tree(g, dir, known);
}

bool reflog_head(const SupervisorConfig &cfg, int dir) {
  const Git &g = cfg.git;
  Fd up(openat(dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat self, logs;
  // Its HEAD must not make logs/ a git directory (it holds refs/ already).
  return up.ok() && fstat(dir, &self) == 0 &&
         fstatat(up.fd, g.logs.c_str(), &logs, AT_SYMLINK_NOFOLLOW) == 0 && same(self, logs) &&
         git_directory(g, up.fd) && !has_git_set(g, dir);
}

int git_control_refused(const Call &c, const Place &place, bool replaces, bool makes, bool writes_file) {
  const SupervisorConfig &cfg = c.cfg();
  if (!cfg.git_control) return 0;
  const Git &g = cfg.git;
  // What would turn a directory that holds a HEAD into a git directory.
  if (makes && completes_git_set(g, place.dir.fd, place.name))
    return refused(c, EROFS, kViolationRuleNewRepository, join(fd_path(place.dir.fd), place.name));
  if (makes)
    if (int err = git_state_refused(c, place, replaces, writes_file)) return err;
  bool control = git_control(cfg, place.dir.fd, place.name, place.path);
  // Replacing an existing `.git` (a rename onto it) could turn it into a
  // `gitdir:` pointer; making a new one is the new-name rule's (checks.cc).
  if (!control && replaces && place.name == g.entry && holds(place.dir.fd, g.entry)) {
    std::string full = join(fd_path(place.dir.fd), place.name);
    if (!cfg.new_file_allow.count(full)) return refused(c, EROFS, kViolationRuleGitControl, full);
  }
  if (!control) return 0;
  return refused(c, EROFS, kViolationRuleGitControl, join(fd_path(place.dir.fd), place.name));
}

int git_link_refused(const Call &c, const Place &from) {
  const SupervisorConfig &cfg = c.cfg();
  if (!cfg.git_control) return 0;
  // A second name for it would be a way to write it that no check sees.
  if (from.name == cfg.git.entry || git_control(cfg, from.dir.fd, from.name, from.path))
    return refused(c, EROFS, kViolationRuleGitControl, join(fd_path(from.dir.fd), from.name));
  if (git_state_file(cfg, from.dir.fd, from.name))
    return refused(c, EROFS, kViolationRuleGitState, join(fd_path(from.dir.fd), from.name));
  return 0;
}

// The file was opened (O_PATH, no following) as `at`'s name in `at`'s
// directory, and stays there: a control name cannot be moved away and
// nothing can be moved onto one or into hooks/, so the name it was opened by
// is the one to check.
int git_write_refused_at(const Call &c, const Place &at, bool checked) {
  const SupervisorConfig &cfg = c.cfg();
  if (!cfg.git_control) return 0;
  const std::string &name = at.name;
  if (!checked && git_control(cfg, at.dir.fd, name, at.path))
    return refused(c, EROFS, kViolationRuleGitControl, join(fd_path(at.dir.fd), name));
  if (!checked && git_state_locked(cfg, at.dir.fd, name))
    return refused(c, EROFS, kViolationRuleGitState, join(fd_path(at.dir.fd), name));
  if (name != cfg.git.entry) return 0;
  std::string full = join(fd_path(at.dir.fd), name);
  return cfg.new_file_allow.count(full) ? 0 : refused(c, EROFS, kViolationRuleGitControl, full);
}

int git_write_refused(const Call &c, int fd, const struct stat *known, const std::string &where) {
  const SupervisorConfig &cfg = c.cfg();
  if (!cfg.git_control) return 0;
  struct stat file;
  if (known)
    file = *known;
  else if (fstat(fd, &file) != 0)
    return refused(c, EROFS, kViolationRuleGitControl, "(a file init cannot place)");
  if (!S_ISREG(file.st_mode)) return 0;  // devices, FIFOs, sockets: nothing git reads as config or runs
  // The file's name and directory, from the path the kernel keeps for the fd
  // (first try: the one its lookup proved, the same string), checked against
  // the inode (a rename meanwhile: look again).
  for (int tries = 0; tries < 3; tries++) {
    std::string p = tries == 0 && !where.empty() ? where : fd_path(fd);
    if (file.st_nlink == 0) return 0;  // unlinked: no name git could find it by
    size_t slash = p.rfind('/');
    if (p.empty() || p[0] != '/' || slash == std::string::npos) break;
    std::string name = p.substr(slash + 1);
    // Most files are no candidate, and a file cannot become one meanwhile
    // (nothing is moved onto a control name or into a tree): no need to
    // open the directory and compare.
    if (!candidate(cfg.git, p, name)) return 0;
    Fd dir(open(slash == 0 ? "/" : p.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat there;
    if (!dir.ok() || fstatat(dir.fd, name.c_str(), &there, AT_SYMLINK_NOFOLLOW) != 0 || !same(there, file)) {
      if (fstat(fd, &file) != 0) break;
      continue;
    }
    // An existing `.git` file would become a `gitdir:` pointer; uv's marker
    // (new-file-allow) is the command's to reopen.
    if ((name == cfg.git.entry && !cfg.new_file_allow.count(p)) || git_control(cfg, dir.fd, name))
      return refused(c, EROFS, kViolationRuleGitControl, p);
    if (git_state_locked(cfg, dir.fd, name)) return refused(c, EROFS, kViolationRuleGitState, p);
    return 0;
  }
  return refused(c, EROFS, kViolationRuleGitControl, "(a file init cannot place)");
}
