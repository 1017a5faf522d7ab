// Tunnels of the domain proxy: one thread, started on the first tunnel and
// kept for the process's life, connects and splices every tunnel through a
// pipe per direction, driven by epoll. A thread (two, before) per tunnel cost
// each connection two thread starts and their wake-ups (benchmark/items/
// proxy.js, connection setup).
// A direction that ends (EOF) half-closes its destination once its pipe is
// drained; an error on either side shuts both sockets down and closes them.
#include "tunnel.h"
#include <arpa/inet.h>
#include <deque>
#include <errno.h>
#include <fcntl.h>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace {

struct Tunnel;

// What an epoll event names: one of a tunnel's two sockets.
struct Side {
  Tunnel *t;
  int fd = -1;
  bool added = false;
};

// Bytes from src to dst through a pipe.
struct Direction {
  Side *src, *dst;
  int pipe[2] = {-1, -1};
  size_t pending = 0, cap = 0;
  bool eof = false, done = false;
};

struct Tunnel {
  Side client{this}, up{this};
  Direction out{&client, &up}, in{&up, &client};  // out: client to upstream
  struct sockaddr_storage ss;
  socklen_t len = 0;
  std::string head, ok, failed;
  bool connecting = true, dead = false;
};

int g_epoll = -1, g_wake = -1;
std::mutex g_mutex;
std::deque<Tunnel *> g_queue;
// Freed after the batch of events that ended them: a later event of the batch may name them.
std::deque<Tunnel *> g_dead;
Side g_wake_side{nullptr};

bool open_pipe(Direction &d) {
  if (pipe2(d.pipe, O_CLOEXEC | O_NONBLOCK) != 0) return false;
  fcntl(d.pipe[1], F_SETPIPE_SZ, 1 << 20);  // may be refused (the user's pipe quota): the default then
  int cap = fcntl(d.pipe[1], F_GETPIPE_SZ);
  d.cap = cap > 0 ? (size_t)cap : 65536;
  return true;
}

// Bytes the tunnel must send first (the proxy's answer, the client's early bytes).
bool preload(Direction &d, const std::string &bytes) {
  if (bytes.empty()) return true;
  ssize_t w = write(d.pipe[1], bytes.data(), bytes.size());
  if (w != (ssize_t)bytes.size()) return false;
  d.pending = bytes.size();
  return true;
}

void destroy(Tunnel *t, bool error) {
  for (Side *s : {&t->client, &t->up}) {
    if (s->fd < 0) continue;
    if (error) shutdown(s->fd, SHUT_RDWR);
    // Taken out by name: a close leaves it in the set while the proxy's own
    // fd for the client is still open, and its events would name a freed tunnel.
    if (s->added) epoll_ctl(g_epoll, EPOLL_CTL_DEL, s->fd, nullptr);
    close(s->fd);
    s->fd = -1;
  }
  for (Direction *d : {&t->out, &t->in})
    for (int &fd : d->pipe)
      if (fd >= 0) close(fd), fd = -1;
  t->dead = true;
  g_dead.push_back(t);
}

// The connect failed: the client gets `failed` (a small reply to a fresh connection: it fits).
void refuse(Tunnel *t) {
  ssize_t ignored = send(t->client.fd, t->failed.data(), t->failed.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)ignored;
  destroy(t, false);
}

// Moves what it can, until a splice would block; false on an error of either socket.
bool pump(Direction &d) {
  for (;;) {
    bool moved = false;
    while (d.pending > 0) {
      ssize_t w =
          splice(d.pipe[0], nullptr, d.dst->fd, nullptr, d.pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) break;
      if (w <= 0) return false;
      d.pending -= (size_t)w;
      moved = true;
    }
    if (d.eof || d.pending >= d.cap) break;
    ssize_t n =
        splice(d.src->fd, nullptr, d.pipe[1], nullptr, d.cap - d.pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    // Nothing to read, or no free slot in the pipe (then the write above blocked: its edge resumes this).
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) return false;
    if (n == 0)
      d.eof = true;
    else
      d.pending += (size_t)n;
    if (n > 0 || moved) continue;
    break;
  }
  if (d.eof && d.pending == 0 && !d.done) {
    d.done = true;
    shutdown(d.dst->fd, SHUT_WR);
  }
  return true;
}

// Edge-triggered, both ways, for the tunnel's life: pump() always goes on
// until a splice would block, so each wait ends with the edge that resumes
// it, and no epoll_ctl is needed per event.
const uint32_t kEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

bool watch(Side &s, uint32_t mask) {
  struct epoll_event ev = {mask, {&s}};
  if (epoll_ctl(g_epoll, s.added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s.fd, &ev) != 0) return false;
  s.added = true;
  return true;
}

// Runs a tunnel as far as it can go; it is freed when both directions are done or one fails.
void step(Tunnel *t, uint32_t events) {
  if (t->dead) return;
  if (t->connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(t->up.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0 && (events & (EPOLLERR | EPOLLHUP))) err = ECONNREFUSED;
    if (err != 0) return refuse(t);
    t->connecting = false;
    int one = 1;
    setsockopt(t->up.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!preload(t->in, t->ok) || !preload(t->out, t->head)) return destroy(t, true);
    if (!watch(t->up, kEvents) || !watch(t->client, kEvents)) return destroy(t, true);
  } else if (events & EPOLLERR) {
    return destroy(t, true);  // a reset: the other side is ended too
  }
  if (!pump(t->out) || !pump(t->in)) return destroy(t, true);
  if (t->out.done && t->in.done) destroy(t, false);
}

void start(Tunnel *t) {
  if (!open_pipe(t->out) || !open_pipe(t->in)) return destroy(t, true);
  t->up.fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (t->up.fd < 0) return refuse(t);
  int r = connect(t->up.fd, (struct sockaddr *)&t->ss, t->len);
  if (r != 0 && errno != EINPROGRESS) return refuse(t);
  if (r == 0) return step(t, 0);
  // Only the upstream is watched until the connect ends: nothing is read from the client before.
  if (!watch(t->up, EPOLLOUT | EPOLLET)) refuse(t);
}

void run() {
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(g_epoll, evs, 64, -1);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == &g_wake_side) {
        uint64_t v;
        ssize_t ignored = read(g_wake, &v, sizeof v);
        (void)ignored;
        std::deque<Tunnel *> fresh;
        {
          std::lock_guard<std::mutex> lock(g_mutex);
          fresh.swap(g_queue);
        }
        for (Tunnel *t : fresh) start(t);
        continue;
      }
      step(static_cast<Side *>(evs[i].data.ptr)->t, evs[i].events);
    }
    for (Tunnel *t : g_dead) delete t;
    g_dead.clear();
  }
}

// The thread and its epoll set, once. std::thread, not pthread_create: the
// addon must load with the libstdc++ and glibc of older distributions
// (scripts/check-glibc.js).
int start_engine() {
  g_epoll = epoll_create1(EPOLL_CLOEXEC);
  g_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (g_epoll < 0 || g_wake < 0) return errno;
  struct epoll_event ev = {EPOLLIN, {&g_wake_side}};
  if (epoll_ctl(g_epoll, EPOLL_CTL_ADD, g_wake, &ev) != 0) return errno;
  try {
    std::thread(run).detach();
  } catch (const std::system_error &) { return EAGAIN; }
  return 0;
}

// A function-local static, not std::call_once: that one needs pthread_once
// from glibc 2.34 (scripts/check-glibc.js).
int engine() {
  static int err = start_engine();
  return err;
}

}  // namespace

int sbx_tunnel(int client, const std::string &address, int port, const std::string &head,
               const std::string &ok, const std::string &failed) {
  if (int err = engine()) return err;
  auto *t = new Tunnel;
  memset(&t->ss, 0, sizeof t->ss);
  auto *a4 = (struct sockaddr_in *)&t->ss;
  auto *a6 = (struct sockaddr_in6 *)&t->ss;
  if (inet_pton(AF_INET, address.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    t->len = sizeof *a4;
  } else if (inet_pton(AF_INET6, address.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    t->len = sizeof *a6;
  } else {
    delete t;
    return EINVAL;
  }
  t->client.fd = fcntl(client, F_DUPFD_CLOEXEC, 3);
  if (t->client.fd < 0) {
    int err = errno;
    delete t;
    return err;
  }
  t->head = head;
  t->ok = ok;
  t->failed = failed;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_queue.push_back(t);
  }
  uint64_t one = 1;
  ssize_t ignored = write(g_wake, &one, sizeof one);
  (void)ignored;
  return 0;
}
