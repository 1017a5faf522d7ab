// Tunnels of the domain proxy: splice(2) through a pipe in each direction.
// A direction that ends (EOF) half-closes its destination; one that fails
// shuts both sockets down, so the other direction wakes and ends too.
#include "tunnel.h"
#include <arpa/inet.h>
#include <atomic>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace {

// A counted struct, not shared_ptr, and std::thread, not pthread_create: the
// addon must load with the libstdc++ and glibc of older distributions
// (scripts/check-glibc.js).
struct Ends {
  int client = -1, up = -1;
  std::atomic<int> refs{1};
  std::string address, head, ok, failed;
  int port = 0;
  ~Ends() {
    if (client >= 0) close(client);
    if (up >= 0) close(up);
  }
};

void release(Ends *e) {
  if (e->refs.fetch_sub(1) == 1) delete e;
}

bool start(void *(*fn)(void *), Ends *e) {
  try {
    std::thread(fn, e).detach();
    return true;
  } catch (const std::system_error &) { return false; }
}

void wait_for(int fd, short events) {
  struct pollfd p = {fd, events, 0};
  while (poll(&p, 1, -1) < 0 && errno == EINTR) {}
}

bool write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && (errno == EINTR)) continue;
    if (w < 0 && errno == EAGAIN) {
      wait_for(fd, POLLOUT);
      continue;
    }
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

// false: an error (not an end of stream) on either side.
bool pump(int src, int dst) {
  int pipe[2];
  if (pipe2(pipe, O_CLOEXEC | O_NONBLOCK) != 0) return false;
  fcntl(pipe[1], F_SETPIPE_SZ, 1 << 20);
  bool ok = true;
  for (;;) {
    ssize_t n = splice(src, nullptr, pipe[1], nullptr, 1 << 20, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        wait_for(src, POLLIN);
        continue;
      }
      ok = false;
      break;
    }
    while (n > 0 && ok) {
      ssize_t w = splice(pipe[0], nullptr, dst, nullptr, (size_t)n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) {
        wait_for(dst, POLLOUT);
        continue;
      }
      if (w <= 0)
        ok = false;
      else
        n -= w;
    }
    if (!ok) break;
  }
  close(pipe[0]);
  close(pipe[1]);
  return ok;
}

void direction(Ends *t, int src, int dst) {
  if (pump(src, dst))
    shutdown(dst, SHUT_WR);
  else {
    shutdown(t->client, SHUT_RDWR);
    shutdown(t->up, SHUT_RDWR);
  }
}

void *downstream(void *arg) {
  auto *e = static_cast<Ends *>(arg);
  direction(e, e->up, e->client);
  release(e);
  return nullptr;
}

void connect_and_pump(Ends *e) {
  const std::string &address = e->address, &head = e->head, &ok = e->ok, &failed = e->failed;
  int port = e->port;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  auto *a4 = (struct sockaddr_in *)&ss;
  auto *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, address.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, address.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    len = sizeof *a6;
  } else {
    write_all(e->client, failed.data(), failed.size());
    return;
  }
  e->up = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (e->up < 0 || connect(e->up, (struct sockaddr *)&ss, len) != 0) {
    write_all(e->client, failed.data(), failed.size());
    return;
  }
  int one = 1;
  setsockopt(e->up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!write_all(e->client, ok.data(), ok.size()) || !write_all(e->up, head.data(), head.size())) return;
  e->refs++;
  if (!start(downstream, e)) {
    e->refs--;
    return;
  }
  direction(e, e->client, e->up);
}

void *upstream(void *arg) {
  auto *e = static_cast<Ends *>(arg);
  connect_and_pump(e);
  release(e);
  return nullptr;
}

}  // namespace

int sbx_tunnel(int client, const std::string &address, int port, const std::string &head,
               const std::string &ok, const std::string &failed) {
  int fd = fcntl(client, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return errno;
  auto *e = new Ends;
  e->client = fd;
  e->address = address;
  e->port = port;
  e->head = head;
  e->ok = ok;
  e->failed = failed;
  if (!start(upstream, e)) {
    delete e;
    return EAGAIN;
  }
  return 0;
}
