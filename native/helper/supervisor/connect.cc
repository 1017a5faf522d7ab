// connect(2) for the command. The filter cannot see a sockaddr's family (it
// lives in the caller's memory), so every connect comes here, and init
// performs it on the caller's own socket (pidfd_getfd) with the address it
// read once: answering CONTINUE would let the kernel read the address again,
// after another thread rewrote it. A pathname unix address is resolved here in
// the caller's view and reached through /proc/self/fd/N of the file found, so
// the inode checked (unix_peers.cc) is the inode connected to.
#include "call.h"
#include "../procfs.h"
#include <errno.h>
#include <fcntl.h>
#include <memory>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

// A blocking connect, waiting for as long as the caller's would (its
// SO_SNDTIMEO applies: init uses the same socket). Interrupted by the
// thread's timer, a TCP handshake goes on in the kernel (EALREADY), a unix
// connect is simply tried again.
Outcome connect_blocking(int sock, const struct sockaddr *addr, socklen_t len,
                         const std::function<bool()> &gone) {
  for (;;) {
    if (connect(sock, addr, len) == 0) return Outcome{};
    int err = errno;
    if (err == EISCONN) return Outcome{};  // the handshake an earlier try started completed
    if (err != EINTR && err != EALREADY && err != EINPROGRESS) return fail_with(err);
    if (gone()) return fail_with(EINTR);
    if (err == EINTR) continue;
    struct pollfd p = {sock, POLLOUT, 0};
    if (poll(&p, 1, -1) <= 0) continue;  // the timer's tick, or spurious
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) return fail_with(errno);
    return soerr ? fail_with(soerr) : Outcome{};
  }
}

}  // namespace

int read_sockaddr(const Call &c, uint64_t addr, uint64_t len, struct sockaddr_storage &out) {
  if (len > sizeof out) return EINVAL;  // as the kernel's move_addr_to_kernel
  memset(&out, 0, sizeof out);
  return read_memory(c.r, addr, &out, (size_t)len);
}

// When `sock` is a unix socket and `addr` a pathname: the checked target, and
// the address rewritten to /proc/self/fd/N of it (`pin` holds the fd). 0
// otherwise too (the address then goes to the kernel as it is).
int pin_unix_target(const Call &c, int sock, struct sockaddr_storage &addr, socklen_t &len, Fd &pin) {
  auto *un = reinterpret_cast<struct sockaddr_un *>(&addr);
  size_t path_len =
      len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
  if (addr.ss_family != AF_UNIX || path_len == 0 || un->sun_path[0] == 0)
    return 0;  // unnamed, abstract or not unix
  int domain = 0;
  socklen_t dl = sizeof domain;
  if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &domain, &dl) != 0) return errno;
  if (domain != AF_UNIX) return 0;  // the kernel refuses the family
  if (path_len > sizeof un->sun_path) return EINVAL;
  std::string path(un->sun_path, strnlen(un->sun_path, path_len));
  if (int err = unix_target(c, path, pin)) return err;
  ProcPath link = proc_self_fd(pin.fd);
  memset(un->sun_path, 0, sizeof un->sun_path);
  memcpy(un->sun_path, link.s, strlen(link.s));
  len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(link.s) + 1);
  return 0;
}

Outcome do_connect(Call &c, const ConnectArgs &x) {
  struct sockaddr_storage addr;
  if ((int)x.size < 0) return fail_with(EINVAL);  // the kernel takes an int
  socklen_t len = (socklen_t)x.size;
  if (int err = read_sockaddr(c, x.sockaddr, len, addr)) return fail_with(err);
  Fd sock;
  if (int err = take_fd(c.r, x.fd, sock)) return fail_with(err);
  Fd pin;
  if (int err = pin_unix_target(c, sock.fd, addr, len, pin)) return fail_with(err);
  if (!c.valid()) return fail_with(ESRCH);
  int fl = fcntl(sock.fd, F_GETFL);
  if (fl < 0) return fail_with(ENOTSOCK);
  if (fl & O_NONBLOCK) return done(connect(sock.fd, reinterpret_cast<struct sockaddr *>(&addr), len));
  // Blocking: on a thread, holding the socket and the target.
  auto held = std::make_shared<std::pair<Fd, Fd>>(std::move(sock), std::move(pin));
  Outcome o;
  answer_on_thread(
      c.srv, c.n.id,
      [held, addr, len](const std::function<bool()> &gone) {
        return connect_blocking(held->first.fd, reinterpret_cast<const struct sockaddr *>(&addr), len, gone);
      },
      o);
  return o;
}
