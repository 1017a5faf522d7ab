// A pooled sandbox (lib/pool.ts): init has done every step up to the
// command's fork ahead of time, and so has the command's own process up to
// its seccomp filter (setsid, the capability drop, the filter and its
// listener handed to init: what is the same for every command of the plan).
// That process waits here for the one command it will run: its stdio fds and
// the plan's last steps (cwd, environment, exec) come over the pool socket,
// straight from the caller, so a hand-out wakes no process but this one.
#include "helper.h"
#include "gen/step_dispatch.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>
#include <vector>

namespace {

// The most stdio fds a pooled command may have (lib/pool.ts pools no more).
const int kMaxStdio = 64;

// One message: a byte, and SCM_RIGHTS with the plan memfd then each stdio fd.
// Returns the fds (empty: the caller closed the socket, the sandbox is discarded).
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
  if ((msg.msg_flags & MSG_CTRUNC) || (int)fds.size() != want + 1)
    fail(run, EPROTO,
         "pool socket: expected the plan and " + std::to_string(want) + " stdio fds, got " +
             std::to_string(fds.size()) + " fds");
  return fds;
}

}  // namespace

// pool_wait CTL_FD: the helper was started with CTL_FD placeholder stdio fds
// (0 .. CTL_FD-1) and the pool's socket at CTL_FD. Runs in the command's
// process, after command_fork (init serves the filter meanwhile).
void step_pool_wait(Run &run, const Step &s) {
  int ctl = (int)parse_num(run, s.args[0]);
  if (ctl < 0 || ctl > kMaxStdio) fail(run, EINVAL, "pool_wait: bad socket fd " + s.args[0]);
  // Built: lib/pool.ts hands out a sandbox that says so before one still
  // building. A closed peer is no discard yet: a command handed over while
  // this sandbox was building waits in the socket, and the receive tells.
  // write, not send: the filter is in force and sends are supervised; with
  // SIGPIPE ignored for the call, as MSG_NOSIGNAL would (the command's
  // dispositions are the defaults by now, and go back to them).
  struct sigaction ign, dfl;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &dfl);
  ssize_t sent;
  do sent = write(ctl, "R", 1);
  while (sent < 0 && errno == EINTR);
  int sent_errno = errno;
  sigaction(SIGPIPE, &dfl, nullptr);
  if (sent < 0 && sent_errno != EPIPE && sent_errno != ECONNRESET)
    fail(run, sent_errno, "write on the pool socket");
  std::vector<int> fds = receive(run, ctl, ctl);
  if (fds.empty()) _exit(0);  // discarded unused: nobody waits for this sandbox
  close(ctl);
  // Above the target range first, then into place (sources may sit on targets).
  for (size_t i = 1; i < fds.size(); i++) {
    int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, ctl);
    if (moved < 0) fail(run, errno, "fcntl(F_DUPFD) on a received stdio fd");
    close(fds[i]);
    fds[i] = moved;
  }
  // dup2 keeps no close-on-exec flag: these are the command's stdio.
  for (int i = 0; i < ctl; i++) {
    if (dup2(fds[i + 1], i) < 0) fail(run, errno, "dup2 of a received stdio fd");
    close(fds[i + 1]);
  }
  // As native/spawn.cc does for a fresh sandbox: programs expect blocking stdio.
  for (int i = 0; i < 3 && i < ctl; i++) {
    int fl = fcntl(i, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK) && fcntl(i, F_SETFL, fl & ~O_NONBLOCK) != 0)
      fail(run, errno, "fcntl(F_SETFL) on stdio");
  }
  std::string tail = read_all(fds[0]);
  close(fds[0]);
  // The command's steps come after this one, numbered on from it, so a
  // failing step is reported by its index in the plan lib/pool.ts holds.
  size_t at = run.current;
  if (at + 1 != run.steps.size()) fail(run, EINVAL, "pool_wait must be the last step of a pooled plan");
  bool parsed = parse_plan(run, tail, run.steps);
  run.current = at;
  if (!parsed) fail(run, EINVAL, "malformed command plan on the pool socket");
  if (run.steps.size() == at + 1) fail(run, EINVAL, "empty command plan on the pool socket");
  for (size_t i = at + 1; i < run.steps.size(); i++) {
    StepOp op = run.steps[i].op;
    if (op == StepOp::pool_wait || op == StepOp::command_fork || op == StepOp::pidns_fork)
      fail(run, EINVAL, "a pooled command's plan cannot fork or wait again");
  }
}

int pool_socket(const Run &run) {
  for (const Step &s : run.steps) {
    if (s.op == StepOp::pool_wait) return atoi(s.args[0].c_str());
  }
  return -1;
}

// lib/pool.ts closes its end right after sending the command, before it can
// signal the sandbox: a hung-up socket means the command is (or is about to
// be) running. Once true, always true.
bool pool_handed_over(int ctl) {
  static bool handed = false;
  if (handed) return true;
  struct pollfd p = {ctl, POLLRDHUP, 0};
  handed = poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL));
  return handed;
}
