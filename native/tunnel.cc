// Tunnels of the domain proxy: one thread, started on the first tunnel and
// kept for the process's life, splices every tunnel through a pipe per
// direction, driven by epoll. A thread (two, before) per tunnel cost each
// connection two thread starts and their wake-ups (benchmark/items/proxy.js,
// connection setup). The caller's thread opens the upstream connection itself
// and hands the tunnel over by adding that socket to the epoll set: a queue
// and a wake-up of the thread per tunnel cost about 0.2 ms of each set-up on
// two busy CPUs, the woken thread taking the caller's CPU.
// A direction that ends (EOF) half-closes its destination once its pipe is
// drained; an error on either side shuts both sockets down and closes them.
#include "tunnel.h"
#include "tunnel_engine.h"
#include <arpa/inet.h>
#include <deque>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace {

struct Tunnel;
void step(Tunnel *t, uint32_t events);

// What an epoll event names: one of a tunnel's two sockets.
struct Side : TunnelWatched {
  explicit Side(Tunnel *tunnel) : t(tunnel) {}
  void on_event(uint32_t events) override { step(t, events); }
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

// Watched through its sides only; a TunnelWatched so that it is retired (freed after the batch) like them.
struct Tunnel : TunnelWatched {
  void on_event(uint32_t) override {}
  Side client{this}, up{this};
  Direction out{&client, &up}, in{&up, &client};  // out: client to upstream
  struct sockaddr_storage ss;
  socklen_t len = 0;
  std::string head, ok, failed;
  bool connecting = true, dead = false;
};

int g_epoll = -1;
// Freed after the batch of events that ended them: a later event of the batch may name them.
std::deque<TunnelWatched *> g_dead;

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
  tunnel_retire(t);
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
  struct epoll_event ev = {mask, {static_cast<TunnelWatched *>(&s)}};
  if (epoll_ctl(g_epoll, s.added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s.fd, &ev) != 0) return false;
  s.added = true;
  return true;
}

// The upstream is connected: the client gets `ok` and the upstream `head`,
// sent at once where they fit (both directions are empty yet), the rest
// through the pipes.
bool opened(Tunnel *t) {
  t->connecting = false;
  int one = 1;
  setsockopt(t->up.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  for (auto *p : {&t->in, &t->out}) {
    const std::string &bytes = p == &t->in ? t->ok : t->head;
    size_t sent = 0;
    if (!bytes.empty()) {
      ssize_t w = send(p->dst->fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && errno != EAGAIN) return false;
      if (w > 0) sent = (size_t)w;
    }
    if (!preload(*p, bytes.substr(sent))) return false;
  }
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
    if (!opened(t) || !watch(t->up, kEvents)) return destroy(t, true);
  } else if (events & EPOLLERR) {
    return destroy(t, true);  // a reset: the other side is ended too
  }
  // The client is watched from the tunnel's first event on, here: the
  // caller's thread adds one socket only, as the last thing it does.
  if (!t->client.added && !watch(t->client, kEvents)) return destroy(t, true);
  if (!pump(t->out) || !pump(t->in)) return destroy(t, true);
  if (t->out.done && t->in.done) destroy(t, false);
}

void run() {
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(g_epoll, evs, 64, -1);
    for (int i = 0; i < n; i++) static_cast<TunnelWatched *>(evs[i].data.ptr)->on_event(evs[i].events);
    for (TunnelWatched *w : g_dead) delete w;
    g_dead.clear();
  }
}

// The thread and its epoll set, once. std::thread, not pthread_create: the
// addon must load with the libstdc++ and glibc of older distributions
// (scripts/check-glibc.js).
int start_engine() {
  g_epoll = epoll_create1(EPOLL_CLOEXEC);
  if (g_epoll < 0) return errno;
  try {
    std::thread(run).detach();
  } catch (const std::system_error &) { return EAGAIN; }
  return 0;
}

}  // namespace

// A function-local static, not std::call_once: that one needs pthread_once
// from glibc 2.34 (scripts/check-glibc.js).
int tunnel_epoll() {
  static int err = start_engine();
  return err ? -err : g_epoll;
}

void tunnel_retire(TunnelWatched *w) { g_dead.push_back(w); }

int sbx_tunnel(int client, const std::string &address, int port, const std::string &head,
               const std::string &ok, const std::string &failed) {
  int fd = fcntl(client, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return errno;
  int err = tunnel_begin(fd, address, port, head, ok, failed);
  if (err) close(fd);
  return err;
}

int tunnel_begin(int client, const std::string &address, int port, const std::string &head,
                 const std::string &ok, const std::string &failed) {
  int epfd = tunnel_epoll();
  if (epfd < 0) return -epfd;
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
  t->head = head;
  t->ok = ok;
  t->failed = failed;
  // Until the socket is in the epoll set the tunnel is this thread's alone;
  // from then on only the tunnel thread touches it (step runs there).
  int err = 0;
  if (!open_pipe(t->out) || !open_pipe(t->in)) err = errno;
  t->client.fd = client;
  if (!err && (t->up.fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
    err = errno;
  int r = err ? 0 : connect(t->up.fd, (struct sockaddr *)&t->ss, t->len);
  if (!err && r != 0 && errno != EINPROGRESS) {
    // Refused at once: the client gets `failed` here, as the thread would send it.
    ssize_t ignored = send(t->client.fd, t->failed.data(), t->failed.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)ignored;
    err = -1;
  }
  // A connect that is done already (a local origin, often) is answered here,
  // without a wake-up of the thread before the client hears back.
  bool connected = !err && r == 0;
  if (!err && !connected) {
    struct pollfd p = {t->up.fd, POLLOUT, 0};
    int so = 0;
    socklen_t len = sizeof so;
    connected = poll(&p, 1, 0) == 1 && p.revents == POLLOUT &&
                getsockopt(t->up.fd, SOL_SOCKET, SO_ERROR, &so, &len) == 0 && so == 0;
  }
  if (connected && !opened(t)) err = -1;  // the client is gone: nothing to tell
  // Watched for the end of the connect (writable, or an error) or, once
  // connected, for everything; an edge-triggered add reports the state it
  // finds. `added` is set first: the thread may take an event (and read it)
  // before epoll_ctl returns here, and from then on the tunnel is the thread's.
  t->up.added = true;
  struct epoll_event ev = {connected ? kEvents : EPOLLOUT | EPOLLET, {static_cast<TunnelWatched *>(&t->up)}};
  if (!err && epoll_ctl(g_epoll, EPOLL_CTL_ADD, t->up.fd, &ev) != 0) err = errno;
  if (err < 0) close(client);  // answered: the connection is done
  if (err) {
    for (int fd : {t->up.fd, t->out.pipe[0], t->out.pipe[1], t->in.pipe[0], t->in.pipe[1]})
      if (fd >= 0) close(fd);
    delete t;
    return err < 0 ? 0 : err;
  }
  return 0;
}
