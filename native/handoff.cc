#include "handoff.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int sbx_handoff(const std::string &plan, Handoff *out, const char **syscall_name) {
  int err = 0;
  auto failed = [&](const char *name) {
    err = errno;
    *syscall_name = name;
  };
  out->plan_fd = memfd_create("sbx-plan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (out->plan_fd < 0) failed("memfd_create");
  for (size_t off = 0; !err && off < plan.size();) {
    ssize_t n = write(out->plan_fd, plan.data() + off, plan.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      failed("write");
    else
      off += (size_t)n;
  }
  if (!err && fcntl(out->plan_fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
    failed("fcntl(F_ADD_SEALS)");
  int p[2] = {-1, -1};
  if (!err && pipe2(p, O_CLOEXEC) != 0) failed("pipe2");
  if (!err && fcntl(p[0], F_SETFL, O_NONBLOCK) != 0) failed("fcntl(O_NONBLOCK)");
  out->read_fd = p[0];
  out->write_fd = p[1];
  if (err) {
    for (int fd : {out->plan_fd, out->read_fd, out->write_fd})
      if (fd >= 0) close(fd);
    *out = Handoff();
  }
  return err;
}
