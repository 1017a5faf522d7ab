// A timer of the calling thread's own that sends it SIGRTMIN+1 (handled
// without SA_RESTART), so a call it blocks in returns EINTR now and then and
// the thread can see whether its caller is gone. Init keeps SIGRTMIN+1
// blocked elsewhere (serve.cc), so one sent from inside the sandbox
// interrupts nothing.
#pragma once
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

inline void on_supervisor_tick(int) {}

// The tick's signal; a command forked from init resets its handler (ops_fork.cc).
inline int supervisor_tick_signal() { return SIGRTMIN + 1; }

// Arms nothing yet (timer_settime does); false when no timer could be made.
inline bool make_tick_timer(timer_t &timer) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_supervisor_tick;  // no SA_RESTART: the blocking call returns EINTR
  sigaction(supervisor_tick_signal(), &sa, nullptr);
  sigset_t tick;
  sigemptyset(&tick);
  sigaddset(&tick, supervisor_tick_signal());
  pthread_sigmask(SIG_UNBLOCK, &tick, nullptr);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = supervisor_tick_signal();
  ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  return timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0;
}
