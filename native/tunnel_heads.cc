// Connections to the domain proxy's HTTP port, accepted by the tunnel thread
// and read until their request head is whole; the proxy (lib/proxy/main.ts)
// parses the head, decides, and starts or refuses the tunnel by id. Node's own
// accept, socket object, streams and HTTP parser cost the proxy's main thread
// about 0.4 ms of CPU per tunnel on the benchmark's VM (benchmark/items/
// proxy.js, connection setup). This file only frames bytes: what a head asks
// for is the caller's to read (lib/proxy/connect-head.ts).
#include <errno.h>
#include <fcntl.h>
#include <mutex>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include "tunnel.h"
#include "tunnel_engine.h"

namespace {

// The caller's limit (lib/proxy/connect-head.ts MAX_CONNECT_HEAD); one byte
// more is read, so that "too large" is the caller's to say.
size_t g_max_head = 0;
const char kConnect[] = "CONNECT ";
const size_t kConnectLen = sizeof kConnect - 1;

TunnelHeadSink g_sink;
int g_epfd = -1;
std::mutex g_mu;
std::unordered_map<uint64_t, int> g_heads;  // handed to the caller, not yet started or taken
uint64_t g_next_id = 1;

bool add(int fd, TunnelWatched *w) {
  struct epoll_event ev = {EPOLLIN | EPOLLRDHUP, {w}};
  return epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

// A connection whose head is being read (level-triggered: a partial head waits for the next bytes).
struct Reading : TunnelWatched {
  explicit Reading(int c) : fd(c) {}
  int fd;
  std::string bytes;

  // Whole enough for the caller: not a CONNECT (then the HTTP server reads
  // on), a CONNECT head up to its blank line, or too large.
  bool enough() const {
    size_t n = bytes.size() < kConnectLen ? bytes.size() : kConnectLen;
    if (memcmp(bytes.data(), kConnect, n) != 0) return true;
    return bytes.find("\r\n\r\n") != std::string::npos || bytes.size() > g_max_head;
  }

  bool added = false;

  void on_event(uint32_t) override { read_head(); }

  // Reads what has come; false while the head is not whole enough yet. At
  // its end the connection goes to the caller (or is closed) and this is retired.
  bool read_head() {
    char buf[4096];
    for (;;) {
      size_t room = g_max_head + 1 - bytes.size();
      ssize_t n = recv(fd, buf, room < sizeof buf ? room : sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return false;
      if (n <= 0) {  // gone before its head was whole: nothing to ask about
        if (added) epoll_ctl(g_epfd, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        tunnel_retire(this);
        return true;
      }
      bytes.append(buf, (size_t)n);
      if (enough()) break;
    }
    if (added) epoll_ctl(g_epfd, EPOLL_CTL_DEL, fd, nullptr);
    uint64_t id;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      id = g_next_id++;
      g_heads[id] = fd;
    }
    g_sink(id, std::move(bytes));
    tunnel_retire(this);
    return true;
  }
};

// The listening socket. A spare fd is kept so that at the fd limit a
// connection can still be accepted and closed, instead of the level-triggered
// event firing forever.
struct Listener : TunnelWatched {
  int fd = -1, spare = -1;
  void on_event(uint32_t) override {
    for (;;) {
      int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if ((errno == EMFILE || errno == ENFILE) && spare >= 0) {
          close(spare);
          int dropped = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (dropped >= 0) close(dropped);
          spare = dup(fd);
          continue;
        }
        return;  // EAGAIN, or nothing left to shed: the next event retries
      }
      // The head often came with the connection: read it now, and wait for it only if it has not.
      auto *r = new Reading(c);
      if (r->read_head()) continue;
      if (!add(c, r)) {
        close(c);
        tunnel_retire(r);
        continue;
      }
      r->added = true;
    }
  }
};

}  // namespace

int sbx_tunnel_listen(int listen_fd, size_t max_head, TunnelHeadSink sink) {
  int epfd = tunnel_epoll();
  if (epfd < 0) return -epfd;
  if (g_sink) return EBUSY;
  // Accepted in a loop until EAGAIN (libuv made it non-blocking when Node listened on it).
  int flags = fcntl(listen_fd, F_GETFL);
  if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0) return errno;
  g_epfd = epfd;
  g_max_head = max_head;
  g_sink = std::move(sink);
  auto *l = new Listener;
  l->fd = listen_fd;
  l->spare = dup(listen_fd);
  if (!add(listen_fd, l)) return errno;
  return 0;
}

static int take_fd(uint64_t id) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_heads.find(id);
  if (it == g_heads.end()) return -1;
  int fd = it->second;
  g_heads.erase(it);
  return fd;
}

int sbx_tunnel_start(uint64_t id, const std::string &address, int port, const std::string &head,
                     const std::string &ok, const std::string &failed) {
  int fd = take_fd(id);
  if (fd < 0) return ENOENT;
  int err = tunnel_begin(fd, address, port, head, ok, failed);
  if (err) {
    std::lock_guard<std::mutex> lock(g_mu);
    g_heads[id] = fd;  // still the caller's: it may take it and answer
  }
  return err;
}

int sbx_tunnel_take(uint64_t id) {
  int fd = take_fd(id);
  return fd < 0 ? -ENOENT : fd;
}
