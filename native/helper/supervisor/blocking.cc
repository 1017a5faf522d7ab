// A call that may block for long (a connect to a listener whose backlog is
// full, a TCP handshake, a send into a full buffer) is performed on a thread
// of its own, so the rest of the sandbox keeps being served. A timer
// interrupts it every 100 ms so the thread can see that the caller is gone.
#include "call.h"
#include <atomic>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <thread>
#include <time.h>
#include <unistd.h>

namespace {

const int kMaxBlockingThreads = 256;
std::atomic<int> blocking_threads{0};
void on_tick(int) {}

}  // namespace

void answer_on_thread(const Server &srv, uint64_t id, BlockingWork work, Outcome &o) {
  const int listener = srv.listener;
  if (blocking_threads.fetch_add(1) >= kMaxBlockingThreads) {
    blocking_threads--;
    o = fail_with(EAGAIN);
    return;
  }
  try {
    std::thread([listener, id, work] {
      struct sigaction sa;
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = on_tick;  // no SA_RESTART: the blocking call returns EINTR
      sigaction(SIGRTMIN + 1, &sa, nullptr);
      sigset_t tick;
      sigemptyset(&tick);
      sigaddset(&tick, SIGRTMIN + 1);
      pthread_sigmask(SIG_UNBLOCK, &tick, nullptr);
      struct sigevent ev;
      memset(&ev, 0, sizeof ev);
      ev.sigev_notify = SIGEV_THREAD_ID;
      ev.sigev_signo = SIGRTMIN + 1;
      ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
      timer_t timer;
      bool timed = timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0;
      struct itimerspec every = {{0, 100000000}, {0, 100000000}};
      if (timed) timer_settime(timer, 0, &every, nullptr);
      auto gone = [listener, id] { return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0; };
      Outcome r = work(gone);
      if (timed) timer_delete(timer);
      struct seccomp_notif_resp resp;
      memset(&resp, 0, sizeof resp);
      resp.id = id;
      resp.val = r.err ? 0 : r.val;
      resp.error = r.err ? -r.err : 0;
      ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
      blocking_threads--;
    }).detach();
    o.send_fd = -2;  // answered by the thread
  } catch (const std::exception &) {
    blocking_threads--;
    o = fail_with(EAGAIN);
  }
}
