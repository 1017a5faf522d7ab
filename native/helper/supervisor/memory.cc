// Reading the caller's memory (process_vm_readv, one page at a time for
// strings) and taking its fds (pidfd_getfd): what every supervised call needs
// before it can look at its arguments.
#include "requester.h"
#include "../../uapi.h"
#include <algorithm>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int read_memory(const Requester &r, uint64_t addr, void *buf, size_t len) {
  if (len == 0) return 0;
  struct iovec local = {buf, len};
  struct iovec remote = {(void *)(uintptr_t)addr, len};
  ssize_t n = process_vm_readv(r.tid, &local, 1, &remote, 1, 0);
  if (n < 0) return errno == ESRCH ? ESRCH : EFAULT;
  return (size_t)n == len ? 0 : EFAULT;
}

namespace {

// Reads on from addr + out.size() until the NUL (out holds what was read).
int continue_string(const Requester &r, uint64_t addr, size_t max, std::string &out) {
  char chunk[512];
  while (out.size() < max) {
    // Never read across a page boundary in one go: the next page may be unmapped.
    size_t room = 4096 - (size_t)((addr + out.size()) % 4096);
    size_t want = room < sizeof chunk ? room : sizeof chunk;
    int err = read_memory(r, addr + out.size(), chunk, want);
    if (err) return err;
    void *nul = memchr(chunk, 0, want);
    if (nul) {
      out.append(chunk, (const char *)nul - chunk);
      return 0;
    }
    out.append(chunk, want);
  }
  return ENAMETOOLONG;
}

}  // namespace

int read_string(const Requester &r, uint64_t addr, size_t max, std::string &out) {
  out.clear();
  if (addr == 0) return EFAULT;
  return continue_string(r, addr, max, out);
}

int read_strings(const Requester &r, uint64_t a1, uint64_t a2, size_t max, std::string &s1, std::string &s2) {
  // The first piece of each in one process_vm_readv (a second call costs
  // about what the rest of a link does); what is not in it is read as usual.
  if (a1 == 0 || a2 == 0) {
    if (int err = read_string(r, a1, max, s1)) return err;
    return read_string(r, a2, max, s2);
  }
  char c1[512], c2[512];
  size_t w1 = std::min(sizeof c1, 4096 - (size_t)(a1 % 4096)),
         w2 = std::min(sizeof c2, 4096 - (size_t)(a2 % 4096));
  struct iovec local[2] = {{c1, w1}, {c2, w2}};
  struct iovec remote[2] = {{(void *)(uintptr_t)a1, w1}, {(void *)(uintptr_t)a2, w2}};
  ssize_t n = process_vm_readv(r.tid, local, 2, remote, 2, 0);
  if (n != (ssize_t)(w1 + w2)) {
    if (int err = read_string(r, a1, max, s1)) return err;
    return read_string(r, a2, max, s2);
  }
  // A string that goes on past its piece (a long path that crosses a page)
  // is read on from there, the other kept: each page is read once.
  const char *z1 = (const char *)memchr(c1, 0, w1), *z2 = (const char *)memchr(c2, 0, w2);
  s1.assign(c1, z1 ? z1 - c1 : w1);
  s2.assign(c2, z2 ? z2 - c2 : w2);
  if (!z1)
    if (int err = continue_string(r, a1, max, s1)) return err;
  if (!z2)
    if (int err = continue_string(r, a2, max, s2)) return err;
  return 0;
}

int take_fd(const Requester &r, int fd, Fd &out) {
  if (fd < 0) return EBADF;
  // A thread's own pidfd (PIDFD_THREAD, 6.9) spares reading its tgid.
  Fd pidfd(r.thread_pidfd ? (int)syscall(SBX_NR_pidfd_open, r.tid, O_EXCL)
                          : (int)syscall(SBX_NR_pidfd_open, r.tgid(), 0));
  if (!pidfd.ok()) return errno;
  int got = (int)syscall(SBX_NR_pidfd_getfd, pidfd.fd, fd, 0);
  if (got < 0) return errno;
  out.reset(got);
  return 0;
}
