// The network proxy's process (docs/policy.md, network domains): forked
// before the namespaces so it stays on the host's network, it waits for the
// listening sockets the monitor makes inside the sandbox's network namespace,
// confines itself and execs the proxy (lib/proxy/main.ts). The sockets are
// the only way in: nothing listens on the host and no socket file exists.
#include "helper.h"
#include "caps.h"
#include "fdpass.h"
#include "proxy_jail.h"
#include "gen/step_dispatch.h"
#include "../uapi.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <vector>
#include <unistd.h>

namespace {

// The fds the proxy finds (lib/proxy/main.ts reads the same numbers).
const int kHttpFd = 3, kSocksFd = 4, kEventsFd = 5, kControlFd = 6, kReadyFd = 7;

// The child cannot use the error pipe (the monitor goes on with the plan):
// it tells the monitor on its status pipe, and proxy_ready fails the step.
// The pipe stays open across the exec as fd 7: the proxy writes "R" there
// once it has installed its own seccomp program (lib/proxy/lockdown.ts), or
// why it could not; EOF before that means it ended unconfined.
int g_status_fd = -1;

[[noreturn]] void child_fail(int, int err, const std::string &what) {
  std::string msg = "E" + std::to_string(err) + " " + what;
  ssize_t ignored = write(g_status_fd, msg.data(), msg.size());
  (void)ignored;
  _exit(125);
}

// Read access beneath `path` (a file: read and execute of it). A path that
// does not exist on this host is skipped: the list names every usual place.
int add_read_rule(int ruleset, const std::string &path, uint64_t dir_rights, uint64_t file_rights) {
  int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return -1;
  }
  struct sbx_landlock_path_beneath_attr attr = {S_ISDIR(st.st_mode) ? dir_rights : file_rights, fd};
  int r = (int)syscall(SBX_NR_landlock_add_rule, ruleset, SBX_LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
  close(fd);
  return r;
}

// No capabilities, no new privileges, and Landlock: reads only beneath the
// plan's read= paths, no writes, no TCP bind (ABI 4), no signals or
// abstract sockets outside (ABI 6).
void confine(int control, uint64_t fs, uint64_t net, uint64_t scoped, uint64_t dir_rights,
             uint64_t file_rights, const std::vector<std::string> &paths) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(control, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  const char *what = "";
  if (int err = drop_capabilities(false, true, -1, &what)) child_fail(control, err, what);
  if (!fs) return;  // no Landlock on this host (level mount-only)
  struct sbx_landlock_ruleset_attr attr = {fs, net, scoped};
  size_t size = scoped ? sizeof attr : (net ? 16 : 8);
  int ruleset = (int)syscall(SBX_NR_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0) child_fail(control, errno, "landlock_create_ruleset");
  for (const auto &p : paths) {
    if (add_read_rule(ruleset, p, dir_rights, file_rights) != 0)
      child_fail(control, errno, "landlock_add_rule " + p);
  }
  if (syscall(SBX_NR_landlock_restrict_self, ruleset, 0) != 0)
    child_fail(control, errno, "landlock_restrict_self");
  close(ruleset);
}

[[noreturn]] void proxy_child(Run &run, int control, pid_t parent, const Step &s) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
    _exit(125);                                            // the monitor is gone already
  g_status_fd = fcntl(g_status_fd, F_DUPFD_CLOEXEC, 100);  // out of the way of the fds placed below
  // The monitor sends the two listening sockets once the namespace exists;
  // nothing (EOF) means it failed before.
  int http = recv_fd(control), socks = http >= 0 ? recv_fd(control) : -1;
  if (socks < 0) _exit(125);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) child_fail(control, errno, "open /dev/null");
  // The events pipe reopened as its own open file description, non-blocking:
  // the proxy writes a record before it answers the connection (so the record
  // is in the pipe by the time the command can exit), and a caller that does
  // not read must not stall it; init's description stays blocking.
  int events = devnull;
  if (run.events_fd >= 0) {
    events =
        open(("/proc/self/fd/" + std::to_string(run.events_fd)).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (events < 0) child_fail(control, errno, "open /proc/self/fd/N (the events pipe, non-blocking)");
  }
  // Above the fds it lands on, so no dup2 below overwrites a source.
  int src[] = {devnull, devnull, http, socks, events, control};
  int high[6];
  for (int i = 0; i < 6; i++) {
    high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 100);
    if (high[i] < 0) child_fail(control, errno, "fcntl(F_DUPFD)");
  }
  const int at[] = {0, 1, kHttpFd, kSocksFd, kEventsFd, kControlFd};
  for (int i = 0; i < 6; i++) {
    if (dup2(high[i], at[i]) < 0) child_fail(high[5], errno, "dup2");
  }
  control = kControlFd;
  // fd 2 stays the helper's stderr: a proxy that crashes says why there.
  // Everything else goes at exec; the status pipe stays open until then.
  for (int fd : high) close(fd);
  syscall(SBX_NR_close_range, kControlFd + 1, ~0U, SBX_CLOSE_RANGE_CLOEXEC);
  std::vector<std::string> reads;
  size_t i = 6;
  bool jail = i < s.args.size() && s.args[i] == "jail";
  if (jail) i++;
  for (; i < s.args.size() && s.args[i].rfind("read=", 0) == 0; i++) reads.push_back(s.args[i].substr(5));
  std::string what;
  if (jail)
    if (int err = proxy_jail(reads, &what))
      child_fail(control, err, what + " (the network proxy's own root)");
  confine(control, parse_num(run, s.args[0]), parse_num(run, s.args[1]), parse_num(run, s.args[2]),
          parse_num(run, s.args[3]), parse_num(run, s.args[4]), reads);
  std::vector<char *> argv;
  for (; i < s.args.size(); i++) argv.push_back(const_cast<char *>(s.args[i].c_str()));
  argv.push_back(nullptr);
  char *envp[] = {nullptr};
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (dup2(g_status_fd, kReadyFd) < 0) child_fail(control, errno, "dup2 (ready fd)");
  execve(s.args[5].c_str(), argv.data(), envp);
  child_fail(control, errno, "execve " + s.args[5]);
}

int listen_on(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4096) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

}  // namespace

// proxy_fork FS_RIGHTS NET_RIGHTS SCOPED DIR_READ FILE_READ NODE [jail] [read=PATH]... ARGV...
void step_proxy_fork(Run &run, const Step &s) {
  int fds[2], status[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    fail(run, errno, "socketpair (network proxy)");
  if (pipe2(status, O_CLOEXEC) != 0) fail(run, errno, "pipe2 (network proxy)");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) fail(run, errno, "fork (network proxy)");
  if (pid == 0) {
    close(fds[0]);
    close(status[0]);
    g_status_fd = status[1];
    proxy_child(run, fds[1], parent, s);
  }
  close(fds[1]);
  close(status[1]);
  run.proxy_fd = fds[0];
  run.proxy_status_fd = status[0];
}

// proxy_listen HTTP_PORT SOCKS_PORT: inside the new network namespace, on its loopback
void step_proxy_listen(Run &run, const Step &s) {
  for (const auto &arg : s.args) {
    unsigned long long port = parse_num(run, arg);
    int fd = listen_on((uint16_t)port);
    if (fd < 0) fail(run, errno, "listen on 127.0.0.1:" + arg + " (network proxy)");
    if (send_fd(run.proxy_fd, fd) != 0) fail(run, errno, "pass the proxy its socket");
    close(fd);
  }
}

// proxy_ready TIMEOUT_MS: the proxy process is exec'd and has confined
// itself (Landlock here, its seccomp program once its runtime is up), or the
// setup fails saying why. Until it serves, the sockets queue connections.
void step_proxy_ready(Run &run, const Step &s) {
  int timeout = (int)parse_num(run, s.args[0]);
  struct pollfd p = {run.proxy_status_fd, POLLIN, 0};
  int r;
  do r = poll(&p, 1, timeout);
  while (r < 0 && errno == EINTR);
  if (r == 0) fail(run, ETIMEDOUT, "the network proxy was not started within " + s.args[0] + " ms");
  char buf[512];
  ssize_t n;
  do n = read(run.proxy_status_fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  close(run.proxy_status_fd);
  run.proxy_status_fd = -1;
  if (n == 1 && buf[0] == 'R')
    return;  // confined: the proxy keeps its end of the control socket; ours ends with the monitor
  if (n == 0)
    fail(run, ECHILD, "the network proxy ended before it confined itself (its error, if any, is on stderr)");
  if (n > 1 && buf[0] == 'E') {
    buf[n] = 0;
    char *rest = nullptr;
    long err = strtol(buf + 1, &rest, 10);
    fail(run, (int)err, std::string("network proxy: ") + (rest && *rest ? rest + 1 : "failed"));
  }
  fail(run, n < 0 ? errno : EIO, "the network proxy did not start");
}
