// A call that may block for long (a connect to a listener whose backlog is
// full, a TCP handshake, a send into a full buffer) is performed on a thread
// of its own, so the rest of the sandbox keeps being served. A timer
// interrupts it every 100 ms so the thread can see that the caller is gone.
// Threads wait for the next such call for a while before they end: starting
// one costs more than the call.
#include "call.h"
#include "tick.h"
#include <chrono>
#include <condition_variable>
#include <deque>
#include <errno.h>
#include <mutex>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <thread>
#include <time.h>
#include <unistd.h>

namespace {

const int kMaxBlockingThreads = 256;
const auto kIdleLinger = std::chrono::seconds(5);

struct Job {
  int listener;
  uint64_t id;
  BlockingWork work;
};

struct Pool {
  std::mutex mu;
  std::condition_variable ready;
  std::deque<Job> jobs;
  int threads = 0, idle = 0;
};

Pool &pool() {
  static Pool *p = new Pool;  // never destroyed: workers may still run while init exits
  return *p;
}

void run_job(Job &job, timer_t timer, bool timed) {
  struct itimerspec every = {{0, 100000000}, {0, 100000000}}, off = {{0, 0}, {0, 0}};
  if (timed) timer_settime(timer, 0, &every, nullptr);
  const int listener = job.listener;
  const uint64_t id = job.id;
  auto gone = [listener, id] { return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0; };
  Outcome r = job.work(gone);
  if (timed) timer_settime(timer, 0, &off, nullptr);
  struct seccomp_notif_resp resp;
  memset(&resp, 0, sizeof resp);
  resp.id = id;
  resp.val = r.err ? 0 : r.val;
  resp.error = r.err ? -r.err : 0;
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

void worker() {
  timer_t timer;
  bool timed = make_tick_timer(timer);
  Pool &p = pool();
  std::unique_lock<std::mutex> lock(p.mu);
  for (;;) {
    while (p.jobs.empty()) {
      p.idle++;
      bool woke = p.ready.wait_for(lock, kIdleLinger) == std::cv_status::no_timeout;
      p.idle--;
      if (!woke && p.jobs.empty()) {
        p.threads--;
        if (timed) timer_delete(timer);
        return;
      }
    }
    Job job = std::move(p.jobs.front());
    p.jobs.pop_front();
    lock.unlock();
    run_job(job, timer, timed);
    lock.lock();
  }
}

}  // namespace

void answer_on_thread(const Server &srv, uint64_t id, BlockingWork work, Outcome &o) {
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  // Every queued call has a waiting thread of its own, or a new one: a call
  // that blocks for ever never holds up another.
  bool spawn = p.idle < (int)p.jobs.size() + 1;
  if (spawn && p.threads >= kMaxBlockingThreads) {
    o = fail_with(EAGAIN);
    return;
  }
  try {
    p.jobs.push_back(Job{srv.listener, id, std::move(work)});
    if (spawn) {
      std::thread(worker).detach();
      p.threads++;
    } else {
      p.ready.notify_one();
    }
    o.send_fd = -2;  // answered by the thread
  } catch (const std::exception &) {
    if (!p.jobs.empty() && p.jobs.back().id == id) p.jobs.pop_back();
    o = fail_with(EAGAIN);
  }
}
