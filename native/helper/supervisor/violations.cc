// What init refused by itself, told to the caller on the events pipe
// (protocol/events.json): each distinct op and path once as it happens, and
// at the end the final counts of those tried again and how many were beyond
// kMaxDistinctViolations. Bounded, so a command cannot flood its parent.
#include "call.h"
#include "../../gen/events.h"
#include <algorithm>
#include <errno.h>
#include <map>
#include <mutex>
#include <string.h>
#include <unistd.h>

namespace {

struct Log {
  std::mutex mu;
  int fd = -1;
  struct Tries {
    int count, err, rule;
  };
  std::map<std::pair<std::string, std::string>, Tries> seen;  // (op, path) -> how often, and why
  int dropped = 0;
};

Log &log() {
  static Log *l = new Log;  // never destroyed: the serving thread may still report while init exits
  return *l;
}

void send(int fd, const std::string &op, const std::string &path, int err, int rule, int count, bool first) {
  EventViolation r;
  memset(&r, 0, sizeof r);
  r.h.type = kEventViolation;
  r.err = err;
  r.rule = rule;
  r.count = count;
  r.first = first ? 1 : 0;
  strncpy(r.op, op.c_str(), sizeof r.op - 1);
  size_t n = std::min(path.size(), sizeof r.path - 1);
  memcpy(r.path, path.data(), n);
  r.h.size = (uint32_t)(kEventViolationPathOffset + n + 1);
  ssize_t ignored = write(fd, &r, r.h.size);  // one write of at most PIPE_BUF: arrives whole
  (void)ignored;
}

const char *op_name(const Call &c) {
  auto it = c.cfg().syscalls.find((uint32_t)c.n.data.nr);
  if (it != c.cfg().syscalls.end())
    for (const SupervisedSpec &s : kSupervisedSyscalls)
      if (s.op == it->second) return s.name;
  return "syscall";
}

}  // namespace

void violations_start(int events_fd) {
  std::lock_guard<std::mutex> lock(log().mu);
  log().fd = events_fd;
}

int refused(const Call &c, int err, int rule, const std::string &path) {
  Log &l = log();
  std::lock_guard<std::mutex> lock(l.mu);
  if (l.fd < 0) return err;
  auto key = std::make_pair(std::string(op_name(c)), path);
  auto it = l.seen.find(key);
  if (it != l.seen.end()) {
    it->second.count++;
  } else if ((int)l.seen.size() < kMaxDistinctViolations) {
    l.seen.emplace(key, Log::Tries{1, err, rule});
    send(l.fd, key.first, path, err, rule, 1, true);
  } else {
    l.dropped++;
  }
  return err;
}

void violations_flush() {
  Log &l = log();
  std::lock_guard<std::mutex> lock(l.mu);
  if (l.fd < 0) return;
  for (const auto &[key, t] : l.seen) {
    if (t.count > 1) send(l.fd, key.first, key.second, t.err, t.rule, t.count, false);
  }
  if (l.dropped) {
    EventDropped d;
    memset(&d, 0, sizeof d);
    d.h.size = sizeof d;
    d.h.type = kEventDropped;
    d.count = l.dropped;
    ssize_t ignored = write(l.fd, &d, sizeof d);
    (void)ignored;
  }
  l.seen.clear();
  l.dropped = 0;
}
