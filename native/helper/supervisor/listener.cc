// The supervise step and the hand-off: the command makes the seccomp filter
// (and so the listener) and sends the listener to init over a socket pair
// made here; init then serves it from a thread (serve.cc).
#include "call.h"
#include "../helper.h"
#include "../gen/step_dispatch.h"
#include "../../uapi.h"
#include <ctype.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

// supervise ARG...: sys=NR:NAME, meta-deny=DIR, meta-allow=DIR, protect=PATH, protect-dir=DIR,
// unix-allow=PATH, protect-inode=DEV:INO, protect-tree=DIR, held-budget=N, new-name=NAME, new-allow=PATH,
// new-file-allow=PATH, chmod=proc-link, sync-wake=off, fscache=off, and the repository model:
// git-control=NAME[/], git-head=NAME, git-dir=NAME[+NAME...], git-entry=NAME, git-logs=NAME,
// git-state=DIR/NAME:commands|value|key=K, git-state-word=W, git-state-value=V, git-state-max=N,
// git-state-at=DIR
// (lib/repository.ts GIT_MODEL)
void read_config(Run &run, const Step &s, SupervisorConfig &cfg) {
  for (const auto &arg : s.args) {
    size_t eq = arg.find('=');
    std::string key = arg.substr(0, eq), value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (key == "sys") {
      size_t colon = value.find(':');
      const SupervisedSpec *op =
          colon == std::string::npos ? nullptr : find_supervised(value.substr(colon + 1));
      if (!op) fail(run, EINVAL, "supervise: unknown syscall " + value);
      cfg.syscalls[(uint32_t)parse_num(run, value.substr(0, colon))] = op->op;
    } else if (key == "meta-deny") {
      cfg.meta_deny.push_back(value);
    } else if (key == "meta-allow") {
      cfg.meta_allow.push_back(value);
    } else if (key == "unix-allow") {
      cfg.unix_allow.push_back(value);
    } else if (key == "protect" || key == "protect-dir") {
      (key == "protect" ? cfg.protect : cfg.protect_dirs).insert(value);
      cfg.protect_names.insert(last_component(value));
    } else if (key == "new-name") {
      cfg.new_names.insert(value);
      cfg.protect_names.insert(value);
    } else if (key == "new-allow" || key == "new-file-allow") {
      (key == "new-allow" ? cfg.new_allow : cfg.new_file_allow).insert(value);
    } else if (key == "git-control" && !value.empty()) {
      bool tree = value.back() == '/';
      std::string name = tree ? value.substr(0, value.size() - 1) : value;
      if (name.empty() || name.find('/') != std::string::npos) fail(run, EINVAL, "supervise: bad " + arg);
      (tree ? cfg.git.trees : cfg.git.control).push_back(name);
      if (tree) cfg.git.tree_marks.push_back("/" + name);
      cfg.git_control = true;
    } else if (key == "held-budget") {
      cfg.held_budget = (size_t)parse_num(run, value);
    } else if (key == "protect-inode") {
      size_t colon = value.find(':');
      if (colon == std::string::npos) fail(run, EINVAL, "supervise: bad " + arg);
      cfg.protect_inodes.insert(
          {parse_num(run, value.substr(0, colon)), parse_num(run, value.substr(colon + 1))});
    } else if (key == "protect-tree" && !value.empty() && value[0] == '/') {
      cfg.protect_trees.push_back(value);
    } else if (key == "git-head" && !value.empty()) {
      cfg.git.head = value;
    } else if (key == "git-entry" && !value.empty()) {
      cfg.git.entry = value;
    } else if (key == "git-logs" && !value.empty()) {
      cfg.git.logs = value;
    } else if (key == "git-dir" && !value.empty()) {
      std::vector<std::string> all;
      for (size_t at = 0;;) {
        size_t plus = value.find('+', at);
        all.push_back(value.substr(at, plus == std::string::npos ? std::string::npos : plus - at));
        if (all.back().empty()) fail(run, EINVAL, "supervise: bad " + arg);
        cfg.git.becoming.push_back(all.back());
        if (plus == std::string::npos) break;
        at = plus + 1;
      }
      cfg.git.dirs.push_back(all);
    } else if (key == "git-state") {
      size_t slash = value.find('/'), colon = value.find(':');
      SupervisorConfig::Git::State st;
      if (slash == std::string::npos || colon == std::string::npos || slash == 0 || colon < slash + 2)
        fail(run, EINVAL, "supervise: bad " + arg);
      st.dir = value.substr(0, slash);
      st.name = value.substr(slash + 1, colon - slash - 1);
      std::string check = value.substr(colon + 1);
      if (st.name.find('/') != std::string::npos) fail(run, EINVAL, "supervise: bad " + arg);
      if (check == "commands") {
        st.check = SupervisorConfig::Git::State::commands;
      } else if (check == "value") {
        st.check = SupervisorConfig::Git::State::value;
      } else if (check.compare(0, 4, "key=") == 0 && check.size() > 4) {
        st.check = SupervisorConfig::Git::State::keyed;
        st.key = check.substr(4);
        for (auto &ch : st.key) ch = (char)tolower((unsigned char)ch);
      } else {
        fail(run, EINVAL, "supervise: bad " + arg);
      }
      cfg.git.state_dirs.insert(st.dir);
      cfg.git.state_names.insert(st.name);
      cfg.git.state.push_back(st);
    } else if (key == "git-state-word" && !value.empty()) {
      cfg.git.state_words.insert(value);
    } else if (key == "git-state-value" && !value.empty()) {
      cfg.git.state_values.insert(value);
    } else if (key == "git-state-at" && !value.empty() && value[0] == '/') {
      cfg.git.state_at.insert(value);
    } else if (key == "git-state-max") {
      cfg.git.state_max = (size_t)parse_num(run, value);
    } else if (arg == "chmod=proc-link") {
      cfg.chmod_via_proc = true;
    } else if (arg == "sync-wake=off") {
      cfg.no_sync_wake = true;
    } else if (arg == "fscache=off") {
      cfg.no_fscache = true;
    } else {
      fail(run, EINVAL, "supervise: unknown argument " + arg);
    }
  }
  // Half a model would let through what the other half refuses.
  const auto &g = cfg.git;
  bool any = cfg.git_control || !g.head.empty() || !g.dirs.empty() || !g.entry.empty() || !g.logs.empty() ||
             !g.state.empty() || !g.state_words.empty() || !g.state_values.empty() || g.state_max;
  if (any && (!cfg.git_control || g.head.empty() || g.dirs.empty() || g.entry.empty() || g.logs.empty() ||
              g.state.empty() || g.state_words.empty() || g.state_values.empty() || !g.state_max))
    fail(run, EINVAL,
         "supervise: the repository model needs git-control, git-head, git-dir, git-entry, git-logs, "
         "git-state, git-state-word, git-state-value and git-state-max");
}

// The command's listener fd, taken from it (supervisor_send_listener), or -1.
int take_listener(int sock) {
  int msg[2];
  if (read(sock, msg, sizeof msg) != (ssize_t)sizeof msg) return -1;
  int pidfd = (int)syscall(SBX_NR_pidfd_open, msg[0], 0);
  int fd = pidfd < 0 ? -1 : (int)syscall(SBX_NR_pidfd_getfd, pidfd, msg[1], 0);
  if (pidfd >= 0) close(pidfd);
  char ack = 1;
  if (fd >= 0 && write(sock, &ack, 1) != 1) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

void step_supervise(Run &run, const Step &s) {
  Supervisor &sup = run.supervisor;
  read_config(run, s, sup.config);
  // Init's cwd is where Node was, on a mount the read-only pass left behind.
  // A caller's path can reach it through /proc/self/cwd (self being init when
  // init resolves the path), so make it the root, which the caller has too.
  if (chdir("/") != 0) fail(run, errno, "chdir / (supervisor)");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    fail(run, errno, "socketpair for the seccomp listener");
  sup.parent_sock = sv[0];
  sup.child_sock = sv[1];
  sup.active = true;
}

// hold_tree DIR SKIP...: before DIR's mask covers it. Init walks what it
// holds, not what the sandbox shows there (the empty mask), the first time a
// file with more than one name is opened for writing (guard_trees.cc).
void step_hold_tree(Run &run, const Step &s) {
  SupervisorConfig::Held h;
  h.path = s.args[0];
  h.fd = open_plan_path(run, h.path, true, true);
  h.skip.assign(s.args.begin() + 1, s.args.end());
  run.supervisor.config.held_trees.push_back(std::move(h));
}

void supervisor_after_fork(Run &run, bool child) {
  Supervisor &sup = run.supervisor;
  if (!sup.active) return;
  close(child ? sup.parent_sock : sup.child_sock);
  (child ? sup.parent_sock : sup.child_sock) = -1;
}

// The filter is in force by now and sendmsg is supervised (the unix-socket
// rule), so the listener cannot travel by SCM_RIGHTS: that sendmsg would wait
// for the very init it is addressed to. The command writes its pid and the
// fd's number instead, init takes the fd (pidfd_getfd) and says so.
void supervisor_send_listener(Run &run, int listener) {
  Supervisor &sup = run.supervisor;
  int msg[2] = {(int)getpid(), listener};
  char ack = 0;
  if (write(sup.child_sock, msg, sizeof msg) != (ssize_t)sizeof msg)
    fail(run, errno, "send the seccomp listener to the supervisor");
  if (read(sup.child_sock, &ack, 1) != 1)
    fail(run, errno ? errno : EPIPE, "the supervisor did not take the seccomp listener");
  close(listener);
  close(sup.child_sock);
  sup.child_sock = -1;
}

bool supervisor_refuses_creation(const Run &run) {
  if (!run.supervisor.active) return false;
  bool mkdir = false, open = false;
  for (const auto &sys : run.supervisor.config.syscalls) {
    mkdir = mkdir || sys.second == SupervisedOp::mkdirat;
    open = open || sys.second == SupervisedOp::openat;
  }
  return mkdir && open;
}

int supervisor_poll_fd(const Run &run) { return run.supervisor.active ? run.supervisor.parent_sock : -1; }

void supervisor_ready(Run &run) {
  Supervisor &sup = run.supervisor;
  int listener = take_listener(sup.parent_sock);
  // The caller sleeps until we answer: wake us on its CPU, and it on ours.
  // The plan leaves it out before 6.6 (lib/features.ts); on 6.6+ it cannot
  // fail, and it is a scheduling hint, not a rule, so its result is not checked.
  uint64_t sync_wake = SBX_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
  if (listener >= 0 && !sup.config.no_sync_wake)
    ioctl(listener, SBX_SECCOMP_IOCTL_NOTIF_SET_FLAGS, sync_wake);
  close(sup.parent_sock);
  sup.parent_sock = -1;
  sup.active = false;        // nothing more for init's poll loop
  if (listener < 0) return;  // the command failed before its filter: nothing to serve
  // The serving thread owns its copy for as long as init lives.
  violations_start(run.events_fd);
  start_serving(new Server{std::move(sup.config), listener});
}
