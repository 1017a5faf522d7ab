// The files git's sequencer reads to decide what it runs at `git rebase
// --continue` (a to-do list's exec lines, a merge strategy that names a
// program), in every git directory: the plan names them and what their
// contents may hold (lib/repository.ts GIT_MODEL.state); this file applies it.
//
// Git writes a to-do list by renaming NAME.lock onto it, and so does `sed
// -i` (a sequence editor): a rename onto a state file is performed here as a
// check of the source's contents and a copy init writes itself, renamed into
// place, so an fd the command kept to the source cannot change what was
// checked. Every other way to write one (an open for writing, a new name
// made, a hard link to it or onto it, an exchange) is refused, but for a
// file that is no commands list (the strategy, which git writes in place)
// while no commands list is beside it: installing one checks and copies
// those first. A state directory cannot be brought into a git directory by
// a rename or a symlink, which would bring its files unchecked.
#include "call.h"
#include "../../gen/events.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

using Git = SupervisorConfig::Git;

std::string join(const std::string &dir, const std::string &name) {
  return (dir == "/" ? "" : dir) + "/" + name;
}

// The lines of `s`, as git splits them (on newlines only).
template <typename F>
bool each_line(const std::string &s, F ok) {
  for (size_t at = 0; at < s.size();) {
    size_t eol = s.find('\n', at);
    if (eol == std::string::npos) eol = s.size();
    if (!ok(s.substr(at, eol - at))) return false;
    at = eol + 1;
  }
  return true;
}

// A to-do list: a line whose first character after blanks (git skips spaces
// and tabs) is a letter is a command, or a line git refuses; its first word
// must be a listed one. Any other line git takes for a comment or refuses.
// The word ends where git's does (a space, tab or CR); anything else in it
// (a NUL, a `;`) makes it no listed word, so the check is never narrower
// than git's parse.
bool todo_ok(const Git &g, const std::string &s) {
  return each_line(s, [&](const std::string &line) {
    size_t p = line.find_first_not_of(" \t");
    if (p == std::string::npos || !isalpha((unsigned char)line[p])) return true;
    size_t end = line.find_first_of(" \t\r", p);
    return g.state_words.count(line.substr(p, end == std::string::npos ? std::string::npos : end - p)) > 0;
  });
}

// A one-line file: one listed value, with or without its newline.
bool value_ok(const Git &g, const std::string &s) {
  std::string v = !s.empty() && s.back() == '\n' ? s.substr(0, s.size() - 1) : s;
  return g.state_values.count(v) > 0;
}

// A config file (git_config_from_file): every line that holds the key
// (case-insensitively, anywhere) must set exactly it, at the line's start,
// to a listed value with nothing else on the line; the key inside a longer
// name at the start (`strategy-option`) is another key. Stricter than git's
// syntax (quotes, comments, `[section] key = v` on one line are refused).
bool key_ok(const Git &g, const std::string &s, const std::string &key) {
  return each_line(s, [&](const std::string &line) {
    std::string low = line;
    for (auto &ch : low) ch = (char)tolower((unsigned char)ch);
    size_t p = low.find_first_not_of(" \t");
    if (p == std::string::npos) return true;
    size_t name_end = p;
    while (name_end < low.size() && (isalnum((unsigned char)low[name_end]) || low[name_end] == '-'))
      name_end++;
    // The key anywhere but inside the line's leading name.
    for (size_t at = low.find(key); at != std::string::npos; at = low.find(key, at + 1))
      if (at < p || at + key.size() > name_end) return false;
    if (low.compare(p, name_end - p, key) != 0) return true;  // another key, or no key
    size_t eq = low.find_first_not_of(" \t", name_end);
    if (eq == std::string::npos || low[eq] != '=') return false;
    size_t v = low.find_first_not_of(" \t", eq + 1);
    size_t v_end = line.find_last_not_of(" \t\r");
    if (v == std::string::npos || v_end == std::string::npos || v_end < v) return false;
    return g.state_values.count(line.substr(v, v_end - v + 1)) > 0;
  });
}

bool contents_ok(const Git &g, const Git::State &st, const std::string &s) {
  switch (st.check) {
    case Git::State::commands: return todo_ok(g, s);
    case Git::State::value: return value_ok(g, s);
    case Git::State::keyed: return key_ok(g, s, st.key);
  }
  return false;
}

bool holds(int dir, const std::string &name) {
  struct stat st;
  return fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

// A state file that is no commands list may be written in place while its
// directory holds no commands list: git writes the strategy so (write_file),
// before the to-do list, and installing a list checks and copies every such
// file beside it (git_state_rename). Git's sequencer reads nothing it runs
// from a directory without its list (sequencer_continue stops when
// read_populate_todo cannot read it).
bool in_place_ok(const Git &g, int dir, const Git::State &st) {
  if (st.check == Git::State::commands) return false;
  for (const auto &o : g.state)
    if (o.check == Git::State::commands && o.dir == st.dir && holds(dir, o.name)) return false;
  return true;
}

// Reads `from_name` in `from_dir` (a regular file, bounded), checks it as
// `st`, and renames a copy init wrote onto `to_name` in `to_dir`; with
// `take_source`, the source's name goes, as a rename takes it. 0 or an
// errno (a refusal reported, for `where`). A failure on the way leaves both
// names as they were.
int copy_checked(const Call &c, const Git::State &st, int from_dir, const std::string &from_name, int to_dir,
                 const std::string &to_name, unsigned rename_flags, bool take_source,
                 const std::string &where) {
  const SupervisorConfig &cfg = c.cfg();
  Fd src(openat(from_dir, from_name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat sst;
  if (!src.ok() || fstat(src.fd, &sst) != 0) return errno;
  // Only a regular file can be read and copied; a symlink or directory there would be followed unchecked.
  if (!S_ISREG(sst.st_mode) || (size_t)sst.st_size > cfg.git.state_max)
    return refused(c, EPERM, kViolationRuleGitState, where);
  Fd in(reopen_fd(src.fd, O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!in.ok()) return errno;
  // Read once, bounded (it may grow while read): what is checked is what is written.
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(in.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;
    data.append(buf, (size_t)n);
    if (data.size() > cfg.git.state_max) break;
  }
  if (data.size() > cfg.git.state_max || !contents_ok(cfg.git, st, data))
    return refused(c, EPERM, kViolationRuleGitState, where);
  static unsigned long long serial = 0;
  char tmp[96];
  snprintf(tmp, sizeof tmp, ".sbx-state-%d-%llu", (int)getpid(), ++serial);
  Fd out(openat(to_dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.ok()) return errno;
  int err = 0;
  for (size_t off = 0; off < data.size() && !err;) {
    ssize_t n = write(out.fd, data.data() + off, data.size() - off);
    if (n < 0 && errno != EINTR) err = errno;
    if (n > 0) off += (size_t)n;
  }
  if (!err && fchmod(out.fd, sst.st_mode & 0777) != 0) err = errno;
  if (!err && syscall(SYS_renameat2, to_dir, tmp, to_dir, to_name.c_str(), rename_flags) != 0) err = errno;
  if (err) {
    unlinkat(to_dir, tmp, 0);
    return err;
  }
  // Only if it is still the file that was read (the command may have replaced it meanwhile).
  struct stat now;
  if (take_source && fstatat(from_dir, from_name.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0 &&
      now.st_ino == sst.st_ino && now.st_dev == sst.st_dev)
    unlinkat(from_dir, from_name.c_str(), 0);
  return 0;
}

}  // namespace

const Git::State *git_state_file(const SupervisorConfig &cfg, int dir, const std::string &name) {
  const Git &g = cfg.git;
  if (!cfg.git_control || !g.state_names.count(name)) return nullptr;
  // By inode, not by path: `dir` is the state directory of the git directory above it.
  struct stat self;
  Fd up(openat(dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!up.ok() || fstat(dir, &self) != 0) return &g.state.front();  // cannot tell: counts as one
  for (const auto &st : g.state) {
    struct stat there;
    if (st.name == name && fstatat(up.fd, st.dir.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0 &&
        there.st_ino == self.st_ino && there.st_dev == self.st_dev &&
        // A found one is one whatever it holds now: a command that removed
        // its HEAD could make it again there (the plan's new-allow).
        (git_directory(cfg.git, up.fd) || (!g.state_at.empty() && g.state_at.count(fd_path(up.fd)))))
      return &st;
  }
  return nullptr;
}

bool git_state_dir(const SupervisorConfig &cfg, int dir, const std::string &name) {
  const Git &g = cfg.git;
  return cfg.git_control && g.state_dirs.count(name) &&
         (git_directory(g, dir) || (!g.state_at.empty() && g.state_at.count(fd_path(dir))));
}

int git_state_refused(const Call &c, const Place &place, bool brings_tree, bool writes_file) {
  const SupervisorConfig &cfg = c.cfg();
  const Git::State *st = git_state_file(cfg, place.dir.fd, place.name);
  if ((st && !(writes_file && in_place_ok(cfg.git, place.dir.fd, *st))) ||
      (brings_tree && git_state_dir(cfg, place.dir.fd, place.name)))
    return refused(c, EROFS, kViolationRuleGitState, join(fd_path(place.dir.fd), place.name));
  return 0;
}

bool git_state_locked(const SupervisorConfig &cfg, int dir, const std::string &name) {
  const Git::State *st = git_state_file(cfg, dir, name);
  return st && !in_place_ok(cfg.git, dir, *st);
}

bool git_state_rename(Call &c, const Place &from, const Place &to, unsigned flags, Outcome &out) {
  const SupervisorConfig &cfg = c.cfg();
  if (!cfg.git_control) return false;
  const Git &g = cfg.git;
  const Git::State *st = git_state_file(cfg, to.dir.fd, to.name);
  if (flags & RENAME_EXCHANGE) {
    // Each side gets the other's file: neither may be a state file, nor the
    // source's place a state directory (it would get the other's tree).
    if (st || git_state_file(cfg, from.dir.fd, from.name) || git_state_dir(cfg, from.dir.fd, from.name)) {
      const Place &at = st ? to : from;
      out = fail_with(refused(c, EROFS, kViolationRuleGitState, join(fd_path(at.dir.fd), at.name)));
      return true;
    }
    return false;
  }
  if (!st) return false;
  std::string where = join(fd_path(to.dir.fd), to.name);
  if (flags & ~(unsigned)RENAME_NOREPLACE) {  // a whiteout: no file to check
    out = fail_with(refused(c, EROFS, kViolationRuleGitState, where));
    return true;
  }
  if (!c.valid()) {
    out = fail_with(ESRCH);
    return true;
  }
  // A commands list makes the files beside it locked: each is checked and
  // copied first, so no fd kept from while it was writable reaches it.
  if (st->check == Git::State::commands)
    for (const auto &o : g.state) {
      if (o.check == Git::State::commands || o.dir != st->dir || !holds(to.dir.fd, o.name)) continue;
      if (int err = copy_checked(c, o, to.dir.fd, o.name, to.dir.fd, o.name, 0, false,
                                 join(fd_path(to.dir.fd), o.name))) {
        out = fail_with(err);
        return true;
      }
    }
  int err = copy_checked(c, *st, from.dir.fd, name_of(from), to.dir.fd, name_of(to), flags, true, where);
  out = err ? fail_with(err) : done(0);
  return true;
}
