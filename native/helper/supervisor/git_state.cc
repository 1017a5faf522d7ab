// The files git's sequencer reads to decide what it runs at `git rebase
// --continue` (a to-do list's exec lines, a merge strategy that names a
// program), in every git directory: the plan names them and what their
// contents may hold (lib/repository.ts GIT_MODEL.state); this file applies it.
//
// Git writes each by renaming NAME.lock onto it, and so does `sed -i` (a
// sequence editor): a rename onto one is performed here as a check of the
// source's contents and a copy init writes itself, renamed into place, so an
// fd the command kept to the source cannot change what was checked. Every
// other way to write one (an open for writing, a new name made, a hard link
// to it or onto it, an exchange) is refused, and its directory cannot be
// brought into a git directory by a rename or a symlink, which would bring
// its files unchecked.
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
    case Git::State::todo: return todo_ok(g, s);
    case Git::State::value: return value_ok(g, s);
    case Git::State::keyed: return key_ok(g, s, st.key);
  }
  return false;
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
        there.st_ino == self.st_ino && there.st_dev == self.st_dev && git_directory(cfg.git, up.fd))
      return &st;
  }
  return nullptr;
}

bool git_state_dir(const SupervisorConfig &cfg, int dir, const std::string &name) {
  return cfg.git_control && cfg.git.state_dirs.count(name) && git_directory(cfg.git, dir);
}

int git_state_refused(const Call &c, const Place &place, bool brings_tree) {
  const SupervisorConfig &cfg = c.cfg();
  if (git_state_file(cfg, place.dir.fd, place.name) ||
      (brings_tree && git_state_dir(cfg, place.dir.fd, place.name)))
    return refused(c, EROFS, kViolationRuleGitState, join(fd_path(place.dir.fd), place.name));
  return 0;
}

bool git_state_rename(Call &c, const Place &from, const Place &to, unsigned flags, Outcome &out) {
  const SupervisorConfig &cfg = c.cfg();
  if (!cfg.git_control) return false;
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
  std::string from_name = name_of(from), to_name = name_of(to);
  Fd src(openat(from.dir.fd, from_name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat sst;
  if (!src.ok() || fstat(src.fd, &sst) != 0) {
    out = fail_with(errno);
    return true;
  }
  // Only a regular file can be read and copied; a symlink or directory there would be followed unchecked.
  if (!S_ISREG(sst.st_mode) || (size_t)sst.st_size > cfg.git.state_max) {
    out = fail_with(refused(c, EPERM, kViolationRuleGitState, where));
    return true;
  }
  Fd in(reopen_fd(src.fd, O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!in.ok()) {
    out = fail_with(errno);
    return true;
  }
  // Read once, bounded (it may grow while read): what is checked is what is written.
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(in.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out = fail_with(errno);
      return true;
    }
    if (n == 0) break;
    data.append(buf, (size_t)n);
    if (data.size() > cfg.git.state_max) break;
  }
  if (data.size() > cfg.git.state_max || !contents_ok(cfg.git, *st, data)) {
    out = fail_with(refused(c, EPERM, kViolationRuleGitState, where));
    return true;
  }
  if (!c.valid()) {
    out = fail_with(ESRCH);
    return true;
  }
  // The copy, under a name of its own in the destination's directory; a
  // failure on the way leaves the source and destination as they were.
  static unsigned long long serial = 0;
  char tmp[96];
  snprintf(tmp, sizeof tmp, ".sbx-state-%d-%llu", (int)getpid(), ++serial);
  Fd outf(openat(to.dir.fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!outf.ok()) {
    out = fail_with(errno);
    return true;
  }
  int err = 0;
  for (size_t off = 0; off < data.size() && !err;) {
    ssize_t n = write(outf.fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      err = errno;
    else
      off += (size_t)n;
  }
  if (!err && fchmod(outf.fd, sst.st_mode & 0777) != 0) err = errno;
  if (!err &&
      syscall(SYS_renameat2, to.dir.fd, tmp, to.dir.fd, to_name.c_str(), flags & RENAME_NOREPLACE) != 0)
    err = errno;
  if (err) {
    unlinkat(to.dir.fd, tmp, 0);
    out = fail_with(err);
    return true;
  }
  // The source's name goes, as a rename takes it; only if it is still the file that was read.
  struct stat now;
  if (fstatat(from.dir.fd, from_name.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == sst.st_ino &&
      now.st_dev == sst.st_dev)
    unlinkat(from.dir.fd, from_name.c_str(), 0);
  out = done(0);
  return true;
}
