// sendto(2) with an address, sendmsg(2) and sendmmsg(2) for the command. A
// datagram with a pathname unix address reaches a socket as a connect does,
// and the filter cannot see msghdr's msg_name, so init performs every
// sendmsg: it copies the message once (data, address, control; the fds of
// SCM_RIGHTS taken from the caller), checks a unix address like a connect's
// (unix_peers.cc) and sends on the caller's own socket. Differences a caller
// can see are in docs/supervisor.md ("Unix sockets").
#include "call.h"
#include "../procfs.h"
#include <errno.h>
#include <fcntl.h>
#include <memory>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

namespace {

const size_t kMaxData = 4u << 20;      // per call; a stream send beyond it is a short write
const size_t kMaxControl = 64u << 10;  // the kernel's optmem limit is lower: ENOBUFS either way
const size_t kMaxIov = 1024;           // UIO_MAXIOV

// One message, copied from the caller.
struct Outgoing {
  struct sockaddr_storage name;
  socklen_t namelen = 0;
  std::string data;
  std::vector<char> control;
  std::vector<Fd> fds;  // what SCM_RIGHTS carries, as our fds
  Fd pin;               // the unix socket file a pathname address was checked to
};

struct Target {
  pid_t tgid, tid;
  Fd sock;
  bool stream;
};

int write_memory(pid_t tid, uint64_t addr, const void *buf, size_t len) {
  struct iovec local = {const_cast<void *>(buf), len};
  struct iovec remote = {(void *)(uintptr_t)addr, len};
  ssize_t n = process_vm_writev(tid, &local, 1, &remote, 1, 0);
  return n == (ssize_t)len ? 0 : EFAULT;
}

// The caller's fds in SCM_RIGHTS become ours; SCM_CREDENTIALS naming the
// caller names us (the kernel allows only the sender's own pid).
int translate_control(const Call &c, Outgoing &m) {
  struct msghdr h;
  memset(&h, 0, sizeof h);
  h.msg_control = m.control.data();
  h.msg_controllen = m.control.size();
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&h); cm; cm = CMSG_NXTHDR(&h, cm)) {
    if (cm->cmsg_level != SOL_SOCKET) continue;
    if (cm->cmsg_type == SCM_RIGHTS) {
      size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int *fds = reinterpret_cast<int *>(CMSG_DATA(cm));
      for (size_t i = 0; i < n; i++) {
        Fd ours;
        if (take_fd(c.r, fds[i], ours)) return EBADF;
        fds[i] = ours.fd;
        m.fds.push_back(std::move(ours));
      }
    } else if (cm->cmsg_type == SCM_CREDENTIALS && cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      auto *cred = reinterpret_cast<struct ucred *>(CMSG_DATA(cm));
      if (cred->pid == c.r.tgid()) cred->pid = getpid();
    }
  }
  return 0;
}

// Reads the message `h` describes (in the caller's memory) into `m`.
int read_message(const Call &c, const Target &t, const struct msghdr &h, Outgoing &m, size_t room) {
  if (h.msg_name && h.msg_namelen) {
    if (int err = read_sockaddr(c, (uint64_t)(uintptr_t)h.msg_name, h.msg_namelen, m.name)) return err;
    m.namelen = h.msg_namelen;
    if (int err = pin_unix_target(c, t.sock.fd, m.name, m.namelen, m.pin)) return err;
  }
  if (h.msg_iovlen > kMaxIov) return EMSGSIZE;
  std::vector<struct iovec> iov(h.msg_iovlen);
  if (int err =
          read_memory(c.r, (uint64_t)(uintptr_t)h.msg_iov, iov.data(), iov.size() * sizeof(struct iovec)))
    return err;
  size_t total = 0;
  for (const auto &v : iov) total += v.iov_len;
  if (total > room && !t.stream) return EMSGSIZE;
  m.data.resize(total < room ? total : room);
  size_t at = 0;
  for (const auto &v : iov) {
    size_t n = v.iov_len < m.data.size() - at ? v.iov_len : m.data.size() - at;
    if (int err = read_memory(c.r, (uint64_t)(uintptr_t)v.iov_base, &m.data[at], n)) return err;
    at += n;
    if (at == m.data.size()) break;
  }
  if (h.msg_controllen) {
    if (h.msg_controllen > kMaxControl) return ENOBUFS;
    m.control.resize(h.msg_controllen);
    if (int err = read_memory(c.r, (uint64_t)(uintptr_t)h.msg_control, m.control.data(), m.control.size()))
      return err;
    if (int err = translate_control(c, m)) return err;
  }
  return 0;
}

ssize_t send_one(int sock, Outgoing &m, int flags) {
  struct iovec v = {&m.data[0], m.data.size()};
  struct msghdr h;
  memset(&h, 0, sizeof h);
  h.msg_name = m.namelen ? &m.name : nullptr;
  h.msg_namelen = m.namelen;
  h.msg_iov = &v;
  h.msg_iovlen = 1;
  h.msg_control = m.control.empty() ? nullptr : m.control.data();
  h.msg_controllen = m.control.size();
  return sendmsg(sock, &h, flags | MSG_NOSIGNAL);
}

// Sends the messages in order, as sendmmsg does: the count sent, or the
// first one's error. `results` gets each one's byte count. When `gone` is
// given, a send may block (retried after the timer's interruptions).
Outcome send_all(const Target &t, std::vector<Outgoing> &msgs, int flags, std::vector<unsigned> &results,
                 const std::function<bool()> *gone) {
  size_t sent = 0;
  int err = 0;
  for (auto &m : msgs) {
    ssize_t n;
    int f = flags;
    for (;;) {
      n = send_one(t.sock.fd, m, f);
      if (n >= 0 || !gone || (*gone)()) break;
      if (errno == EINTR) continue;
      // A TCP Fast Open handshake an interrupted try started: wait for it, then send as on a connected
      // socket.
      if (errno != EALREADY || !(f & MSG_FASTOPEN)) break;
      struct pollfd p = {t.sock.fd, POLLOUT, 0};
      if (poll(&p, 1, -1) <= 0) continue;
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      if (getsockopt(t.sock.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr) {
        errno = soerr;
        break;
      }
      f &= ~MSG_FASTOPEN;
      m.namelen = 0;
    }
    if (n < 0) {
      err = errno;
      break;
    }
    results.push_back((unsigned)n);
    sent++;
  }
  // The caller asked for SIGPIPE unless it said MSG_NOSIGNAL; we never take it ourselves.
  if (err == EPIPE && !(flags & MSG_NOSIGNAL)) syscall(SYS_tgkill, t.tgid, t.tid, SIGPIPE);
  if (sent == 0 && err) return fail_with(err);
  Outcome o;
  o.val = (int64_t)sent;
  return o;
}

// sendmsg and sendto answer with the byte count, sendmmsg with the number of
// messages (each one's count written to its msg_len).
Outcome perform(Call &c, std::shared_ptr<Target> t, std::shared_ptr<std::vector<Outgoing>> msgs, int flags,
                uint64_t lens_addr) {
  auto answer = [t, lens_addr](Outcome o, const std::vector<unsigned> &results) {
    if (o.err) return o;
    if (lens_addr == 0) {
      o.val = results.empty() ? 0 : results[0];
      return o;
    }
    for (size_t i = 0; i < results.size(); i++)
      write_memory(t->tid, lens_addr + i * sizeof(struct mmsghdr) + offsetof(struct mmsghdr, msg_len),
                   &results[i], sizeof results[i]);
    return o;
  };
  if (!c.valid()) return fail_with(ESRCH);
  int fl = fcntl(t->sock.fd, F_GETFL);
  bool blocking = fl >= 0 && !(fl & O_NONBLOCK) && !(flags & MSG_DONTWAIT);
  std::vector<unsigned> results;
  Outcome o;
  // A blocking TCP Fast Open send is a blocking connect: straight to a thread.
  if (!(blocking && (flags & MSG_FASTOPEN))) {
    o = send_all(*t, *msgs, flags | (blocking ? MSG_DONTWAIT : 0), results, nullptr);
    if (!(blocking && o.err == EAGAIN)) return answer(o, results);
  }
  // It would block: wait on a thread of its own, the rest of the sandbox is served meanwhile.
  answer_on_thread(
      c.srv, c.n.id,
      [t, msgs, flags, answer](const std::function<bool()> &gone) {
        std::vector<unsigned> r;
        return answer(send_all(*t, *msgs, flags, r, &gone), r);
      },
      o);
  return o;
}

int target(Call &c, int fd, std::shared_ptr<Target> &t) {
  t = std::make_shared<Target>();
  t->tgid = c.r.tgid();
  t->tid = c.r.tid;
  if (int err = take_fd(c.r, fd, t->sock)) return err;
  int type = 0;
  socklen_t tl = sizeof type;
  if (getsockopt(t->sock.fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0) return errno;
  t->stream = type == SOCK_STREAM;
  return 0;
}

}  // namespace

// sendto(fd, buf, len, flags, addr, addrlen): the filter sends it here only with an address.
Outcome do_sendto(Call &c, const SendtoArgs &x) {
  std::shared_ptr<Target> t;
  if (int err = target(c, x.fd, t)) return fail_with(err);
  struct iovec v = {(void *)(uintptr_t)x.in_buffer, (size_t)x.size};
  struct msghdr h;
  memset(&h, 0, sizeof h);
  h.msg_name = (void *)(uintptr_t)x.sockaddr;
  h.msg_namelen = (socklen_t)x.size2;
  if ((int)x.size2 < 0) return fail_with(EINVAL);
  h.msg_iov = &v;
  h.msg_iovlen = 1;
  auto msgs = std::make_shared<std::vector<Outgoing>>(1);
  // the iovec is ours here, not the caller's: read the data directly
  Outgoing &m = (*msgs)[0];
  if (h.msg_namelen) {
    if (int err = read_sockaddr(c, x.sockaddr, h.msg_namelen, m.name)) return fail_with(err);
    m.namelen = h.msg_namelen;
    if (int err = pin_unix_target(c, t->sock.fd, m.name, m.namelen, m.pin)) return fail_with(err);
  }
  if (v.iov_len > kMaxData && !t->stream) return fail_with(EMSGSIZE);
  m.data.resize(v.iov_len < kMaxData ? v.iov_len : kMaxData);
  if (int err = read_memory(c.r, x.in_buffer, &m.data[0], m.data.size())) return fail_with(err);
  return perform(c, t, msgs, (int)x.msg_flags, 0);
}

Outcome do_sendmsg(Call &c, const SendmsgArgs &x) {
  std::shared_ptr<Target> t;
  if (int err = target(c, x.fd, t)) return fail_with(err);
  struct msghdr h;
  if (int err = read_memory(c.r, x.msghdr, &h, sizeof h)) return fail_with(err);
  auto msgs = std::make_shared<std::vector<Outgoing>>(1);
  if (int err = read_message(c, *t, h, (*msgs)[0], kMaxData)) return fail_with(err);
  return perform(c, t, msgs, (int)x.msg_flags, 0);
}

Outcome do_sendmmsg(Call &c, const SendmmsgArgs &x) {
  std::shared_ptr<Target> t;
  if (int err = target(c, x.fd, t)) return fail_with(err);
  size_t vlen = (unsigned)x.count < kMaxIov ? (unsigned)x.count : kMaxIov;
  if (vlen == 0) return Outcome{};
  auto msgs = std::make_shared<std::vector<Outgoing>>();
  size_t room = kMaxData;
  for (size_t i = 0; i < vlen && room > 0; i++) {
    struct mmsghdr mh;
    if (int err = read_memory(c.r, x.mmsghdr_vector + i * sizeof mh, &mh, sizeof mh)) {
      if (i == 0) return fail_with(err);
      break;
    }
    Outgoing m;
    if (int err = read_message(c, *t, mh.msg_hdr, m, room)) {
      if (i == 0) return fail_with(err);
      break;  // the ones before it are sent; the caller sees how many
    }
    room -= m.data.size();
    msgs->push_back(std::move(m));
  }
  return perform(c, t, msgs, (int)x.msg_flags, x.mmsghdr_vector);
}
