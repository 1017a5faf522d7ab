// The serving loop: receive a request, answer it (a value, an error, or an
// fd installed in the caller).
#include "call.h"
#include "fscache.h"
#include "../../uapi.h"
#include <algorithm>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <thread>
#include <vector>
#include <unistd.h>

Outcome done(long rc) {
  Outcome o;
  if (rc < 0)
    o.err = errno;
  else
    o.val = rc;
  return o;
}

namespace {

// Serves one request; false when receiving failed (errno says why).
bool serve_one(const Server &srv) {
  // One serving thread: the buffers live as long as it does. (Two threads,
  // each with an fs_struct of its own, served 4 threads of links no faster
  // on the loaded 2-CPU VM; the cache would allow it, fscache.h.)
  static struct seccomp_notif_sizes sizes;
  static std::vector<char> nbuf, rbuf;
  if (sizes.seccomp_notif == 0) {
    if (syscall(SBX_NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
      sizes.seccomp_notif = sizeof(struct seccomp_notif);
      sizes.seccomp_notif_resp = sizeof(struct seccomp_notif_resp);
    }
    nbuf.resize(std::max<size_t>(sizes.seccomp_notif, sizeof(struct seccomp_notif)));
    rbuf.resize(std::max<size_t>(sizes.seccomp_notif_resp, sizeof(struct seccomp_notif_resp)));
  }
  std::fill(nbuf.begin(), nbuf.end(), 0);  // RECV wants it zeroed
  auto *n = reinterpret_cast<struct seccomp_notif *>(nbuf.data());
  if (ioctl(srv.listener, SECCOMP_IOCTL_NOTIF_RECV, n) != 0)
    return false;  // EINTR, or the caller is gone (ENOENT)

  Outcome o;
  auto it = srv.cfg.syscalls.find((uint32_t)n->data.nr);
  Call c{srv, *n, Requester{}};
  c.r.tid = (pid_t)n->pid;
  c.r.cache = srv.cache;
  c.r.thread_pidfd = !srv.cfg.no_fscache;
  o = it == srv.cfg.syscalls.end() ? fail_with(ENOSYS) : handle(c, it->second);

  if (o.send_fd == -2) return true;  // a thread answers
  if (o.send_fd >= 0) {
    // Installed and answered in one ioctl. (ADDFD alone, then NOTIF_SEND,
    // would keep the synchronous wake-up for the answer, but ADDFD alone
    // wakes the caller to install the fd with the same plain wake-up as
    // SEND's (the kernel has no synchronous one for ADDFD) and waits for it:
    // three wake-ups instead of two, measured slower twice, last in an A/B
    // of the two builds: 30-41 against 22-32 us per open, docs/supervisor.md
    // "Cost".) Nothing reaches the caller half done: when the install fails
    // (EMFILE), the kernel installs nothing and leaves the request to answer,
    // below, with that error.
    struct seccomp_notif_addfd add;
    memset(&add, 0, sizeof add);
    add.id = n->id;
    add.flags = SECCOMP_ADDFD_FLAG_SEND;
    add.srcfd = (uint32_t)o.send_fd;
    add.newfd_flags = o.cloexec ? O_CLOEXEC : 0;
    int rc = ioctl(srv.listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
    int saved = errno;
    close(o.send_fd);
    if (rc >= 0 || saved == ENOENT) return true;
    o = fail_with(saved);  // e.g. EMFILE in the caller
  }
  std::fill(rbuf.begin(), rbuf.end(), 0);
  auto *resp = reinterpret_cast<struct seccomp_notif_resp *>(rbuf.data());
  resp->id = n->id;
  resp->val = o.err ? 0 : o.val;
  resp->error = o.err ? -o.err : 0;
  resp->flags =
      o.cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;  // only for calls that change no name (fscache.cc)
  ioctl(srv.listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
  return true;
}

}  // namespace

void start_serving(Server *srv) {
  // Callers' umask and cwd are remembered only when the filter tells init of
  // every change to them (lib/seccomp.ts sends the whole fs-state class).
  bool notified = true;
  for (SupervisedOp op : {SupervisedOp::umask, SupervisedOp::chdir, SupervisedOp::fchdir, SupervisedOp::clone,
                          SupervisedOp::unshare, SupervisedOp::setns}) {
    bool found = false;
    for (const auto &kv : srv->cfg.syscalls) found = found || kv.second == op;
    notified = notified && found;
  }
  srv->cache = new FsCache(notified && !srv->cfg.no_fscache);
  watch_pins(srv);
  // SIGRTMIN+1 wakes FIFO threads (their timers); everyone else keeps it
  // blocked, so one sent to init from inside the sandbox interrupts nothing.
  sigset_t tick;
  sigemptyset(&tick);
  sigaddset(&tick, SIGRTMIN + 1);
  pthread_sigmask(SIG_BLOCK, &tick, nullptr);
  // Requests are served by a thread of their own, so init's loop stays free
  // for signals and exits (init's exit ends it). It waits in RECV itself:
  // since 6.6 RECV sleeps on the queue the synchronous wake-up (listener.cc)
  // wakes, so a poll first would only add a syscall to every request.
  std::thread([srv] {
    for (;;) {
      if (serve_one(*srv)) continue;
      if (errno == EINTR) continue;
      // ENOENT: the caller went (a signal) before we took its request, or
      // no process uses the filter any more (RECV says so since 6.6): then stop.
      struct pollfd p = {srv->listener, POLLIN, 0};
      if (errno != ENOENT || (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))) return;
    }
  }).detach();
}
