// The repository model's check for every git directory, found by the plan's
// layout or not (a nested clone below a root, a bare cache): what git reads
// as config or runs cannot be written, made, replaced, linked or moved
// (docs/policy.md "The repository model"). A git directory is told by the
// file system at the time of the call: it holds a HEAD. That covers a work
// tree's `.git`, a bare repository, a submodule's under modules/ and a
// linked worktree's entry; and a HEAD cannot be removed and made again
// (no new HEAD: checks.cc), so emptying one to lift the check leaves a
// directory git does not take for a repository.
#include "call.h"
#include "../../gen/events.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

namespace {

// In a git directory: read as config (config, config.worktree), followed to
// another git directory (commondir, a worktree entry's gitdir), run (hooks).
const char *const kControl[] = {"config", "config.worktree", "commondir", "gitdir", "hooks"};

bool holds_head(int dir) {
  struct stat st;
  return fstatat(dir, "HEAD", &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool same(const struct stat &a, const struct stat &b) { return a.st_ino == b.st_ino && a.st_dev == b.st_dev; }

// Whether `dir` is a git directory's hooks/ or lies below it. Walked up by
// fds (`..`), each step compared by inode, so a rename meanwhile cannot
// mislead it; the path only says whether a walk is needed. That is sound
// because nothing can be moved into a hooks/ or hooks/ out of its git
// directory (both are refused here), so a directory below one has
// "/hooks" in its path (`path`: dir's, dir_path). Unsure (an fd that fails) counts as below.
bool under_hooks(int dir, const std::string &path) {
  if (path.find("/hooks") == std::string::npos) return false;
  struct stat child;
  if (fstat(dir, &child) != 0) return true;
  Fd cur(fcntl(dir, F_DUPFD_CLOEXEC, 0));
  for (int depth = 0; depth < 1024 && cur.ok(); depth++) {
    Fd up(openat(cur.fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat parent, hooks;
    if (!up.ok() || fstat(up.fd, &parent) != 0) return true;
    if (same(parent, child)) return false;  // the root
    if (fstatat(up.fd, "hooks", &hooks, AT_SYMLINK_NOFOLLOW) == 0 && same(hooks, child) && holds_head(up.fd))
      return true;
    cur = std::move(up);
    child = parent;
  }
  return true;
}

std::string join(const std::string &dir, const std::string &name) {
  return (dir == "/" ? "" : dir) + "/" + name;
}

}  // namespace

bool git_control(int dir, const std::string &dir_path, const std::string &name) {
  for (const char *n : kControl)
    if (name == n) {
      if (holds_head(dir)) return true;
      break;
    }
  return under_hooks(dir, dir_path);
}

bool reflog_head(int dir) {
  Fd up(openat(dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat self, logs;
  return up.ok() && fstat(dir, &self) == 0 && fstatat(up.fd, "logs", &logs, AT_SYMLINK_NOFOLLOW) == 0 &&
         same(self, logs) && holds_head(up.fd);
}

int git_control_refused(const Call &c, const Place &place, bool replaces) {
  const SupervisorConfig &cfg = c.cfg();
  if (!cfg.git_control) return 0;
  std::string at = dir_path(place);
  bool control = git_control(place.dir.fd, at, place.name);
  // Replacing an existing `.git` (a rename onto it) could turn it into a
  // `gitdir:` pointer; making a new one is the new-name rule's (checks.cc).
  struct stat st;
  if (!control && replaces && place.name == ".git" &&
      fstatat(place.dir.fd, ".git", &st, AT_SYMLINK_NOFOLLOW) == 0) {
    std::string full = join(at, place.name);
    if (!cfg.new_file_allow.count(full)) return refused(c, EROFS, kViolationRuleGitControl, full);
  }
  if (!control) return 0;
  return refused(c, EROFS, kViolationRuleGitControl, join(at, place.name));
}

int git_link_refused(const Call &c, const Place &from) {
  if (!c.cfg().git_control) return 0;
  // A second name for it would be a way to write it that no check sees.
  std::string at = dir_path(from);
  if (from.name == ".git" || git_control(from.dir.fd, at, from.name))
    return refused(c, EROFS, kViolationRuleGitControl, join(at, from.name));
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
  std::string dir = checked ? std::string() : dir_path(at);
  if (!checked && git_control(at.dir.fd, dir, name))
    return refused(c, EROFS, kViolationRuleGitControl, join(dir, name));
  if (name != ".git") return 0;
  std::string full = join(dir_path(at), name);
  return cfg.new_file_allow.count(full) ? 0 : refused(c, EROFS, kViolationRuleGitControl, full);
}

int git_write_refused(const Call &c, int fd) {
  const SupervisorConfig &cfg = c.cfg();
  if (!cfg.git_control) return 0;
  struct stat file;
  if (fstat(fd, &file) != 0) return refused(c, EROFS, kViolationRuleGitControl, "(a file init cannot place)");
  if (!S_ISREG(file.st_mode)) return 0;  // devices, FIFOs, sockets: nothing git reads as config or runs
  // The file's name and directory, from the path the kernel keeps for the fd,
  // checked against the inode (a rename meanwhile: look again).
  for (int tries = 0; tries < 3; tries++) {
    std::string p = fd_path(fd);
    if (file.st_nlink == 0) return 0;  // unlinked: no name git could find it by
    size_t slash = p.rfind('/');
    if (p.empty() || p[0] != '/' || slash == std::string::npos) break;
    std::string name = p.substr(slash + 1);
    Fd dir(open(slash == 0 ? "/" : p.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat there;
    if (!dir.ok() || fstatat(dir.fd, name.c_str(), &there, AT_SYMLINK_NOFOLLOW) != 0 || !same(there, file)) {
      if (fstat(fd, &file) != 0) break;
      continue;
    }
    // An existing `.git` file would become a `gitdir:` pointer; uv's marker
    // (new-file-allow) is the command's to reopen.
    if ((name == ".git" && !cfg.new_file_allow.count(p)) ||
        git_control(dir.fd, slash == 0 ? "/" : p.substr(0, slash), name))
      return refused(c, EROFS, kViolationRuleGitControl, p);
    return 0;
  }
  return refused(c, EROFS, kViolationRuleGitControl, "(a file init cannot place)");
}
