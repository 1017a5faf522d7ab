// The fork/exec discipline of libuv's uv_spawn and node-pty: everything is
// prepared before clone; the child only calls async-signal-safe functions and
// raw syscalls on memory prepared here, and reports a failure through the
// error pipe as one ErrorReport.
#include "spawn.h"
#include "gen/error_report.h"
#include "uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace {

struct ChildContext {
  const char *helper;
  char *const *argv;
  char *const *envp;
  const int *src;  // child fd i <- src[i]
  int *tmp;        // scratch, same length
  int nfds;
  int error_fd;  // index in src of the error pipe's write end
  pid_t parent;
  bool own_process_group;
};

// Raw syscall: glibc's pthread_sigmask would raise the glibc floor to 2.32.
int set_sigmask(const sigset_t *set, sigset_t *old) {
  return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, set, old, 8);
}

[[noreturn]] void child_fail(int fd, int err, const char *what) {
  ErrorReport r;
  memset(&r, 0, sizeof r);
  r.step = kReportHelperFailed;
  r.err = err;
  for (size_t i = 0; what[i] && i < sizeof r.detail - 1; i++) r.detail[i] = what[i];
  ssize_t ignored = write(fd, &r, sizeof r);
  (void)ignored;
  _exit(127);
}

const int kClosedFd = -3;

int child_main(void *arg) {
  const ChildContext *c = static_cast<const ChildContext *>(arg);
  int report_fd = c->src[c->error_fd];
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  // Node ignores SIGPIPE and SIGXFSZ; ignored dispositions survive execve.
  for (int sig = 1; sig < 65; sig++) sigaction(sig, &dfl, nullptr);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(report_fd, errno, "prctl(PR_SET_PDEATHSIG)");
  if (getppid() != c->parent) _exit(127);  // the parent died before prctl
  if (c->own_process_group && setpgid(0, 0) != 0) child_fail(report_fd, errno, "setpgid");

  // Move every source above the target range first, then into place: dup2
  // onto itself would keep O_CLOEXEC, and sources may overlap targets.
  for (int i = 0; i < c->nfds; i++) {
    if (c->src[i] == kClosedFd) continue;
    c->tmp[i] = fcntl(c->src[i], F_DUPFD, c->nfds);
    if (c->tmp[i] < 0) child_fail(report_fd, errno, "fcntl(F_DUPFD)");
  }
  report_fd = c->tmp[c->error_fd];
  for (int i = 0; i < c->nfds; i++) {
    // A slot left closed (child_process's 'ignore' on fd 3 and up): nothing there at exec.
    if (c->src[i] == kClosedFd) {
      close(i);
      continue;
    }
    if (dup2(c->tmp[i], i) < 0) child_fail(report_fd, errno, "dup2");
  }
  report_fd = c->error_fd;
  // Like libuv: inherited stdio may be non-blocking because Node's own streams
  // set it so (the flag lives on the open file description, shared with the
  // parent). Programs expect blocking stdio and fail with EAGAIN otherwise.
  for (int i = 0; i < 3 && i < c->nfds; i++) {
    int fl = fcntl(i, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK) && fcntl(i, F_SETFL, fl & ~O_NONBLOCK) != 0)
      child_fail(report_fd, errno, "fcntl(F_SETFL) on stdio");
  }
  // Every other descriptor (including ones other threads opened without
  // O_CLOEXEC) goes away at exec; a leaked writable fd would bypass Landlock.
  if (syscall(SBX_NR_close_range, c->nfds, ~0U, SBX_CLOSE_RANGE_CLOEXEC) != 0)
    child_fail(report_fd, errno, "close_range");
  // Every signal stays blocked through execve (the helper unblocks them first
  // thing): a job-control stop (Ctrl-Z) delivered here, before the exec, would
  // stop this child while the parent waits in vfork, uninterruptibly, for good.
  execve(c->helper, c->argv, c->envp);
  child_fail(report_fd, errno, "execve sbx-helper");
}

void close_if(int fd) {
  if (fd >= 0) close(fd);
}

}  // namespace

int sbx_make_channels(std::vector<int> &src, SpawnResult *out, std::vector<int> &child_ends,
                      const char **syscall_name) {
  int nuser = (int)src.size();
  int err = 0;
  auto failed = [&](const char *name) {
    err = errno;
    *syscall_name = name;
    return err;
  };
  for (int i = 0; i < 3 && i < nuser; i++) {
    if (src[i] != -1) continue;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
      failed("pipe2");
      break;
    }
    bool child_reads = i == 0;
    src[i] = child_reads ? p[0] : p[1];
    out->pipes[i] = child_reads ? p[1] : p[0];
    child_ends.push_back(src[i]);
  }
  // Extra channels (stdio 'pipe' on fd 3 and up, 'ipc'): a socketpair, as libuv makes them.
  out->sockets.assign(nuser, -1);
  for (int i = 0; i < nuser && !err; i++) {
    if (src[i] != -2) continue;
    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0) {
      failed("socketpair");
      break;
    }
    src[i] = s[1];
    out->sockets[i] = s[0];
    child_ends.push_back(s[1]);
  }
  return err;
}

int sbx_spawn(const SpawnRequest &req, SpawnResult *out, const char **syscall_name) {
  int nuser = (int)req.fds.size();
  std::vector<int> src(req.fds);
  std::vector<int> child_ends;  // closed in the parent after clone
  int err = 0;
  auto failed = [&](const char *name) {
    err = errno;
    *syscall_name = name;
    return err;
  };
  err = sbx_make_channels(src, out, child_ends, syscall_name);
  int plan_fd = -1, err_pipe[2] = {-1, -1};
  if (!err) {
    plan_fd = memfd_create("sbx-plan", MFD_CLOEXEC);
    if (plan_fd < 0) failed("memfd_create");
  }
  if (!err) {
    size_t off = 0;
    while (off < req.plan.size()) {
      ssize_t n = write(plan_fd, req.plan.data() + off, req.plan.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        failed("write");
        break;
      }
      off += (size_t)n;
    }
  }
  // Non-blocking: JavaScript reads it once, after the helper has exited.
  if (!err && pipe2(err_pipe, O_CLOEXEC | O_NONBLOCK) != 0) failed("pipe2");
  int ev_pipe[2] = {-1, -1};
  if (!err && pipe2(ev_pipe, O_CLOEXEC | O_NONBLOCK) != 0) failed("pipe2");
  // The helper's end blocks: init's writes must not fail because the reader is slow.
  if (!err && fcntl(ev_pipe[1], F_SETFL, 0) != 0) failed("fcntl");

  if (!err) {
    src.push_back(plan_fd);
    src.push_back(err_pipe[1]);
    src.push_back(ev_pipe[1]);
    std::string plan_arg = std::to_string(nuser), err_arg = std::to_string(nuser + 1),
                ev_arg = std::to_string(nuser + 2);
    char *argv[] = {const_cast<char *>("sbx-helper"), &plan_arg[0], &err_arg[0], &ev_arg[0], nullptr};
    char *envp[] = {nullptr};
    std::vector<int> tmp(src.size());
    ChildContext ctx = {req.helper.c_str(), argv,      envp,     src.data(),           tmp.data(),
                        (int)src.size(),    nuser + 1, getpid(), req.own_process_group};
    const size_t stack_size = 256 * 1024;
    void *stack =
        mmap(nullptr, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
      failed("mmap");
    } else {
      sigset_t all, old;
      sigfillset(&all);
      set_sigmask(&all, &old);
      int pidfd = -1;
      pid_t pid = clone(child_main, static_cast<char *>(stack) + stack_size,
                        CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &ctx, &pidfd);
      if (pid < 0) failed("clone");
      set_sigmask(&old, nullptr);
      munmap(stack, stack_size);
      out->pid = pid;
      out->pidfd = pidfd;
    }
  }

  for (int fd : child_ends) close(fd);
  close_if(plan_fd);
  close_if(err_pipe[1]);
  close_if(ev_pipe[1]);
  if (err) {
    close_if(err_pipe[0]);
    close_if(ev_pipe[0]);
    for (int &fd : out->pipes) {
      close_if(fd);
      fd = -1;
    }
    for (int &fd : out->sockets) {
      close_if(fd);
      fd = -1;
    }
    return err;
  }
  out->error_fd = err_pipe[0];
  out->events_fd = ev_pipe[0];
  return 0;
}
