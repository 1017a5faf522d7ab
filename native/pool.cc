// A pooled sandbox waits in pool_wait for one message on its socket; this file
// sends it, and tells whether a pooled helper is still alive and would still
// inherit what a fresh one would.
#include "pool.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

int plan_memfd(const std::string &plan) {
  int fd = memfd_create("sbx-plan", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t off = 0;
  while (off < plan.size()) {
    ssize_t n = write(fd, plan.data() + off, plan.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    off += (size_t)n;
  }
  return fd;
}

int send_all(int ctl, const std::vector<int> &fds) {
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()), 0);
  char byte = 'C';
  struct iovec iov = {&byte, 1};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * fds.size());
  ssize_t n;
  do n = sendmsg(ctl, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == 1 ? 0 : -1;
}

// The start of a small procfs file, or only its line starting with `line`.
std::string read_small(const char *path, const char *line) {
  std::string out;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[8192];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) return out;
  out.assign(buf, (size_t)n);
  if (!line) return out;
  size_t at = out.find(std::string("\n") + line);
  if (at == std::string::npos) return std::string();
  size_t end = out.find('\n', at + 1);
  return out.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

}  // namespace

int sbx_pool_send(int ctl, const std::string &plan, const std::vector<int> &fds, SpawnResult *out,
                  const char **syscall_name) {
  std::vector<int> src(fds), child_ends;
  int err = sbx_make_channels(src, out, child_ends, syscall_name);
  int memfd = -1;
  if (!err) {
    memfd = plan_memfd(plan);
    if (memfd < 0) {
      err = errno;
      *syscall_name = "memfd_create";
    }
  }
  if (!err) {
    std::vector<int> all;
    all.push_back(memfd);
    all.insert(all.end(), src.begin(), src.end());
    if (send_all(ctl, all) != 0) {
      err = errno;
      *syscall_name = "sendmsg";
    }
  }
  for (int fd : child_ends) close(fd);
  if (memfd >= 0) close(memfd);
  if (err) {
    for (int &fd : out->pipes) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
    for (int &fd : out->sockets) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
  }
  return err;
}

bool sbx_pool_ready(int ctl) {
  struct pollfd p = {ctl, POLLIN, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

bool sbx_pidfd_exited(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return poll(&p, 1, 0) != 0;  // readable once exited; an error counts as gone
}

std::string sbx_process_state() {
  std::string s;
  for (int r = 0; r < RLIM_NLIMITS; r++) {
    struct rlimit l;
    if (getrlimit(r, &l) != 0) l = {0, 0};
    s += std::to_string((unsigned long long)l.rlim_cur) + "/" +
         std::to_string((unsigned long long)l.rlim_max) + ",";
  }
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  s += ";nice=" + std::to_string(nice);
  // The umask from procfs: umask(2) can only read it by changing it, which
  // other threads creating files at that moment would see. And this
  // process's own confinement (a filter or no_new_privs it set on itself
  // later): a helper started before would lack it.
  std::string status = read_small("/proc/self/status", nullptr);
  for (const char *line : {"Umask:", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:"}) {
    size_t at = status.find(std::string("\n") + line);
    size_t end = at == std::string::npos ? at : status.find('\n', at + 1);
    s += ";" + (at == std::string::npos ? std::string() : status.substr(at + 1, end - at - 1));
  }
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) {
    s += ";cpus=";
    for (int c = 0; c < CPU_SETSIZE; c++)
      if (CPU_ISSET(c, &cpus)) s += std::to_string(c) + " ";
  }
  s += ";cgroup=" + read_small("/proc/self/cgroup", nullptr);
  return s;
}

int sbx_mount_watch() { return open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC); }

bool sbx_mounts_changed(int fd) {
  struct pollfd p = {fd, POLLPRI, 0};
  int n = poll(&p, 1, 0);
  return n != 0 || fd < 0;
}
