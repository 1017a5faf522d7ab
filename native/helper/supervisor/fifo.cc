// Opening a FIFO for the caller without blocking the supervisor.
#include "call.h"
#include "tick.h"
#include "../procfs.h"
#include <atomic>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <thread>
#include <time.h>
#include <unistd.h>

namespace {

const int kMaxFifoThreads = 256;

}  // namespace

// Answers `id` from a thread of its own: opening a FIFO blocks until the other
// end opens, and must not stop the supervisor. A timer interrupts the open
// every 100 ms so the thread can see that the caller is gone (then it ends).
void open_fifo_on_thread(const Server &srv, uint64_t id, int opath, int flags, bool cloexec, Outcome &o) {
  std::atomic<int> &fifo_threads = srv.fifo_threads;
  const int listener = srv.listener;
  if (fifo_threads.fetch_add(1) >= kMaxFifoThreads) {
    fifo_threads--;
    close(opath);
    o = fail_with(EAGAIN);
    return;
  }
  try {
    std::thread([&fifo_threads, listener, id, opath, flags, cloexec] {
      timer_t timer;
      bool timed = make_tick_timer(timer);
      struct itimerspec every = {{0, 100000000}, {0, 100000000}};
      if (timed) timer_settime(timer, 0, &every, nullptr);
      ProcPath link = proc_self_fd(opath);
      int fd;
      while ((fd = open(link, flags)) < 0 && errno == EINTR) {
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) break;  // the caller is gone
      }
      int err = errno;
      if (timed) timer_delete(timer);
      close(opath);
      if (fd >= 0) {
        struct seccomp_notif_addfd add;
        memset(&add, 0, sizeof add);
        add.id = id;
        add.flags = SECCOMP_ADDFD_FLAG_SEND;
        add.srcfd = (uint32_t)fd;
        add.newfd_flags = cloexec ? O_CLOEXEC : 0;
        ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
        close(fd);
      } else {
        struct seccomp_notif_resp resp;
        memset(&resp, 0, sizeof resp);
        resp.id = id;
        resp.error = -err;
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
      }
      fifo_threads--;
    }).detach();
    o.send_fd = -2;  // answered by the thread
  } catch (const std::exception &) {
    fifo_threads--;
    close(opath);
    o = fail_with(EAGAIN);
  }
}
