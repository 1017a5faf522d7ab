#include "spawn_sync.h"
#include "fsops.h"
#include "gen/events.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <map>
#include <stddef.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace {

long now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

// Refusals (init's violation and dropped records, the proxy's refused
// connections) are kept for the result, bounded: a refused host and port is
// one record, its latest (the count is cumulative); allowed connections and
// stops are not reported by spawnSync.
const size_t kMaxNetworkKeys = 1024;

struct EventSink {
  std::string pending;
  std::vector<std::string> *kept;
  std::map<std::string, size_t> network;  // host, NUL, port -> index in kept
  int *dropped;

  void take(const char *p, size_t n) {
    pending.append(p, n);
    while (pending.size() >= sizeof(EventHeader)) {
      EventHeader h;
      memcpy(&h, pending.data(), sizeof h);
      if (h.size < sizeof h || h.size > kMaxEventSize) {  // cannot happen: init and the proxy write them
        pending.clear();
        return;
      }
      if (pending.size() < h.size) return;
      keep(pending.substr(0, h.size));
      pending.erase(0, h.size);
    }
  }

  void keep(std::string r) {
    EventHeader h;
    memcpy(&h, r.data(), sizeof h);
    if (h.type == kEventViolation || h.type == kEventDropped) return kept->push_back(std::move(r));
    if (h.type != kEventNetwork || r.size() < kEventNetworkTextOffset) return;
    int32_t allowed, port;
    memcpy(&allowed, r.data() + offsetof(EventNetwork, allowed), sizeof allowed);
    if (allowed) return;
    memcpy(&port, r.data() + offsetof(EventNetwork, port), sizeof port);
    std::string text = r.substr(kEventNetworkTextOffset);
    std::string key = text.substr(0, text.find('\0')) + '\0' + std::to_string(port);
    auto at = network.find(key);
    if (at != network.end()) {
      (*kept)[at->second] = std::move(r);
    } else if (network.size() < kMaxNetworkKeys) {
      network.emplace(key, kept->size());
      kept->push_back(std::move(r));
    } else
      ++*dropped;
  }
};

}  // namespace

int sbx_spawn_sync(const SpawnRequest &req, const SyncOptions &opt, SyncResult *out,
                   const char **syscall_name) {
  SpawnResult sp;
  int err = sbx_spawn(req, &sp, syscall_name);
  if (err) return err;
  out->pid = sp.pid;
  for (int fd : sp.sockets)
    if (fd >= 0) close(fd);  // spawnSync refuses extra channels; none is ever read
  // Events are drained as they come, so init and the proxy never block on them.
  int events = sp.events_fd;
  EventSink sink{{}, &out->events, {}, &out->events_dropped};
  int *pipes = sp.pipes;
  size_t written = 0;
  if (pipes[0] >= 0) {
    set_nonblock(pipes[0]);
    if (opt.input.empty()) {
      close(pipes[0]);
      pipes[0] = -1;
    }
  }
  for (int i = 1; i < 3; i++)
    if (pipes[i] >= 0) set_nonblock(pipes[i]);
  long deadline = opt.timeout_ms > 0 ? now_ms() + opt.timeout_ms : -1;
  bool exited = false, killed = false;
  auto kill_once = [&]() {
    if (!killed && !exited) sbx_pidfd_send_signal(sp.pidfd, opt.kill_signal);
    killed = true;
  };
  char buf[65536];
  // Until the helper has exited and both output pipes are at EOF (the pid
  // namespace's end closes every copy the command's children held).
  while (!exited || pipes[1] >= 0 || pipes[2] >= 0) {
    struct pollfd p[5];
    int n = 0, which[5];
    for (int i = 0; i < 3; i++) {
      if (pipes[i] < 0) continue;
      p[n] = {pipes[i], (short)(i == 0 ? POLLOUT : POLLIN), 0};
      which[n++] = i;
    }
    if (!exited) {
      p[n] = {sp.pidfd, POLLIN, 0};
      which[n++] = 3;
    }
    if (events >= 0) {
      p[n] = {events, POLLIN, 0};
      which[n++] = 4;
    }
    int wait = -1;
    if (deadline >= 0 && !killed) wait = (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0);
    int r = poll(p, n, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      kill_once();
      break;
    }
    if (r == 0) {
      out->timed_out = true;
      kill_once();
      continue;
    }
    for (int k = 0; k < n; k++) {
      if (!p[k].revents) continue;
      int i = which[k];
      if (i == 4) {
        ssize_t got = read(events, buf, sizeof buf);
        if (got > 0) sink.take(buf, (size_t)got);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          close(events);
          events = -1;
        }
      } else if (i == 3) {
        siginfo_t info = {};
        if (waitid((idtype_t)P_PIDFD, (id_t)sp.pidfd, &info, WEXITED | WNOHANG) == 0 && info.si_pid != 0) {
          exited = true;
          if (info.si_code == CLD_EXITED)
            out->code = info.si_status;
          else
            out->signal = info.si_status;
        }
      } else if (i == 0) {
        ssize_t w = write(pipes[0], opt.input.data() + written, opt.input.size() - written);
        if (w > 0) written += (size_t)w;
        if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
            written == opt.input.size()) {  // EPIPE: it stopped reading
          close(pipes[0]);
          pipes[0] = -1;
        }
      } else {
        ssize_t got = read(pipes[i], buf, sizeof buf);
        if (got > 0) {
          out->out[i].append(buf, (size_t)got);
          if (opt.max_buffer > 0 && (double)out->out[i].size() > opt.max_buffer) {
            out->out[i].resize((size_t)opt.max_buffer);
            out->too_much = true;
            kill_once();
          }
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
          close(pipes[i]);
          pipes[i] = -1;
        }
      }
    }
  }
  for (int i = 0; i < 3; i++)
    if (pipes[i] >= 0) close(pipes[i]);
  if (events >= 0) close(events);
  if (!exited) {  // poll itself failed: the helper was killed above; reap it
    siginfo_t info = {};
    while (waitid((idtype_t)P_PIDFD, (id_t)sp.pidfd, &info, WEXITED) != 0 && errno == EINTR) {}
    if (info.si_code == CLD_EXITED)
      out->code = info.si_status;
    else
      out->signal = info.si_status;
  }
  ssize_t got;
  do got = read(sp.error_fd, &out->report, sizeof out->report);
  while (got < 0 && errno == EINTR);
  out->has_report = got == (ssize_t)sizeof out->report;
  close(sp.error_fd);
  close(sp.pidfd);
  return 0;
}
