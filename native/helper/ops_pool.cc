// A pooled sandbox (lib/pool.ts): init has done every step up to the
// command's fork ahead of time, and so has the command's own process up to
// its seccomp filter (setsid, the capability drop, the filter and its
// listener handed to init: what is the same for every command of the plan).
// That process waits here for the one command it will run: its stdio fds and
// the plan's last steps (cwd, environment, exec) come over the pool socket,
// straight from the caller, so a hand-out wakes no process but this one.
//
// A head start (lib/head-start.ts) waits earlier, in init right after its
// fork, with only the namespaces no policy decides (user, ipc, uts, pid, and
// the network one when the network is off): the rest of any plan with that
// head comes the same way, mount namespace and layout included.
#include "helper.h"
#include "gen/step_dispatch.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>
#include <vector>

namespace {

// The most stdio fds a pooled command may have (lib/pool.ts pools no more).
const int kMaxStdio = 64;

// One message: a byte, and SCM_RIGHTS with the plan memfd then each stdio fd
// (`want` of them, or when -1 from 1 to kMaxStdio). Returns the fds (empty:
// the caller closed the socket, the sandbox is discarded).
std::vector<int> receive(Run &run, int ctl, int want) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * (kMaxStdio + 1))];
  } u;
  char byte;
  struct iovec iov = {&byte, 1};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  ssize_t n;
  do n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) fail(run, errno, "recvmsg on the pool socket");
  std::vector<int> fds;
  if (n == 0) return fds;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      fds.push_back(fd);
    }
  }
  bool count_ok = want >= 0 ? (int)fds.size() == want + 1 : fds.size() >= 2;
  if ((msg.msg_flags & MSG_CTRUNC) || !count_ok)
    fail(run, EPROTO,
         "pool socket: expected the plan and " + (want >= 0 ? std::to_string(want) : std::string("some")) +
             " stdio fds, got " + std::to_string(fds.size()) + " fds");
  return fds;
}

// Built: lib/pool.ts hands out a sandbox that says so before one still
// building. A closed peer is no discard yet: a command handed over while
// this sandbox was building waits in the socket, and the receive tells.
// write, not send: in a pooled command process the filter is in force and
// sends are supervised; with SIGPIPE ignored for the call, as MSG_NOSIGNAL
// would (the command's dispositions are the defaults by now, and go back to them).
// A command handed over before this says so has closed its end already (EPIPE).
void say_ready(Run &run, int ctl) {
  struct sigaction ign, old;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  ssize_t sent;
  do sent = write(ctl, "R", 1);
  while (sent < 0 && errno == EINTR);
  int sent_errno = errno;
  // Where SIGPIPE is blocked (init of a head start), the write's own SIGPIPE
  // is queued rather than ignored: ignoring it again discards it, or the
  // command would get it.
  if (sent < 0 && sent_errno == EPIPE) sigaction(SIGPIPE, &ign, nullptr);
  sigaction(SIGPIPE, &old, nullptr);
  if (sent < 0 && sent_errno != EPIPE && sent_errno != ECONNRESET)
    fail(run, sent_errno, "write on the pool socket");
}

// The command's steps come after the waiting step, numbered on from it, so
// a failing step is reported by its index in the plan lib/pool.ts holds.
void append_tail(Run &run, int plan_fd, bool may_fork) {
  std::string tail = read_all(plan_fd);
  close(plan_fd);
  size_t at = run.current;
  if (at + 1 != run.steps.size())
    fail(run, EINVAL, std::string(spec_of(run.steps[at].op).name) + " must be the last step of its plan");
  bool parsed = parse_plan(run, tail, run.steps);
  run.current = at;
  if (!parsed) fail(run, EINVAL, "malformed command plan on the pool socket");
  if (run.steps.size() == at + 1) fail(run, EINVAL, "empty command plan on the pool socket");
  for (size_t i = at + 1; i < run.steps.size(); i++) {
    StepOp op = run.steps[i].op;
    if (op == StepOp::pool_wait || op == StepOp::head_wait || op == StepOp::pidns_fork ||
        (!may_fork && op == StepOp::command_fork))
      fail(run, EINVAL,
           may_fork ? "a head start's plan cannot fork init or wait again"
                    : "a pooled command's plan cannot fork or wait again");
  }
}

// As native/spawn.cc does for a fresh sandbox: programs expect blocking stdio.
void blocking_stdio(Run &run, int count) {
  for (int i = 0; i < 3 && i < count; i++) {
    int fl = fcntl(i, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK) && fcntl(i, F_SETFL, fl & ~O_NONBLOCK) != 0)
      fail(run, errno, "fcntl(F_SETFL) on stdio");
  }
}

// A copy of `fd` at `floor` or above, and `fd` closed.
int lift(Run &run, int fd, int floor, bool cloexec) {
  int moved = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, floor);
  if (moved < 0) fail(run, errno, "fcntl(F_DUPFD) on the head start's fds");
  close(fd);
  return moved;
}

// dup2 that keeps no close-on-exec flag, the source closed.
void place(Run &run, int fd, int target) {
  if (dup2(fd, target) < 0) fail(run, errno, "dup2 of a received stdio fd");
  close(fd);
}

// Whether the caller has closed its end of the pool socket.
bool caller_closed(int ctl) {
  struct pollfd p = {ctl, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL));
}

// A signal that reached init while it waited for its plan (it is in no
// process group of the caller's, so only a kill aimed at it) was meant for no
// command, and is dropped as it comes. The monitor passes the caller's kills
// on only once the caller has closed its end of the socket, which it does
// right after sending the plan: a signal read while that end is still open
// came before any of those and is dropped; one read after it may be the
// caller's and goes back to pending, for the command. Waiting stops at the
// plan (or the caller's close): what is pending then stays for the command
// too, so a kill that comes while init is slow to take its plan is never lost.
void drop_waiting_signals(Run &run, int ctl) {
  sigset_t blocked;  // the forwarded signals and SIGCHLD (ops_fork.cc)
  sigprocmask(SIG_BLOCK, nullptr, &blocked);
  int sigfd = signalfd(-1, &blocked, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) fail(run, errno, "signalfd (head_wait)");
  for (;;) {
    struct pollfd p[2] = {{ctl, POLLIN | POLLRDHUP, 0}, {sigfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      fail(run, errno, "poll on the pool socket");
    }
    if (p[0].revents) break;
    struct signalfd_siginfo info;
    if (read(sigfd, &info, sizeof info) != sizeof info) continue;
    if (caller_closed(ctl)) {
      kill(getpid(), (int)info.ssi_signo);  // blocked: pending again
      break;
    }
  }
  close(sigfd);
}

}  // namespace

// pool_wait CTL_FD: the helper was started with CTL_FD placeholder stdio fds
// (0 .. CTL_FD-1) and the pool's socket at CTL_FD. Runs in the command's
// process, after command_fork (init serves the filter meanwhile).
void step_pool_wait(Run &run, const Step &s) {
  int ctl = (int)parse_num(run, s.args[0]);
  if (ctl < 0 || ctl > kMaxStdio) fail(run, EINVAL, "pool_wait: bad socket fd " + s.args[0]);
  say_ready(run, ctl);
  std::vector<int> fds = receive(run, ctl, ctl);
  if (fds.empty()) _exit(0);  // discarded unused: nobody waits for this sandbox
  close(ctl);
  // Above the target range first, then into place (sources may sit on targets).
  for (size_t i = 1; i < fds.size(); i++) fds[i] = lift(run, fds[i], ctl, true);
  for (int i = 0; i < ctl; i++) place(run, fds[i + 1], i);
  blocking_stdio(run, ctl);
  append_tail(run, fds[0], false);
}

// head_wait CTL_FD: init of a head start, right after pidns_fork, with
// placeholder stdio on 0-2 and the pool's socket at CTL_FD. The command's
// stdio may be any number of fds: they go to 0..n-1 and the error and events
// pipes to n+1 and n+2, where a fresh helper has them (native/spawn.cc).
void step_head_wait(Run &run, const Step &s) {
  int ctl = (int)parse_num(run, s.args[0]);
  if (ctl < 3 || ctl > kMaxStdio) fail(run, EINVAL, "head_wait: bad socket fd " + s.args[0]);
  if (run.has_run(StepOp::command_fork)) fail(run, EINVAL, "head_wait after command_fork");
  say_ready(run, ctl);
  drop_waiting_signals(run, ctl);
  std::vector<int> fds = receive(run, ctl, -1);
  if (fds.empty()) _exit(0);  // discarded unused
  close(ctl);
  int n = (int)fds.size() - 1;
  int floor = n + 3;
  run.error_fd = lift(run, run.error_fd, floor, true);
  if (run.events_fd >= 0) run.events_fd = lift(run, run.events_fd, floor, true);
  if (run.status_write_fd >= 0) run.status_write_fd = lift(run, run.status_write_fd, floor, true);
  for (size_t i = 0; i < fds.size(); i++) fds[i] = lift(run, fds[i], floor, true);
  for (int i = n; i < 3; i++) close(i);  // placeholders no received fd replaces
  for (int i = 0; i < n; i++) place(run, fds[i + 1], i);
  // The error pipe gets its close-on-exec flag back at exec (step_exec), as in a fresh helper.
  place(run, run.error_fd, n + 1);
  run.error_fd = n + 1;
  if (run.events_fd >= 0) {
    place(run, run.events_fd, n + 2);
    run.events_fd = n + 2;
  }
  blocking_stdio(run, n);
  append_tail(run, fds[0], true);
}

int pool_socket(const Run &run) {
  for (const Step &s : run.steps) {
    if (s.op == StepOp::pool_wait || s.op == StepOp::head_wait) return atoi(s.args[0].c_str());
  }
  return -1;
}

// lib/pool.ts closes its end right after sending the command, before it can
// signal the sandbox: a hung-up socket means the command is (or is about to
// be) running. Once true, always true.
bool pool_handed_over(int ctl) {
  static bool handed = false;
  if (!handed) handed = caller_closed(ctl);
  return handed;
}
