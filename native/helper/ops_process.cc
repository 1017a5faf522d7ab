// Process steps: namespaces and id maps, the two forks that leave a monitor
// (outside the pid namespace) and an init (pid 1) behind, privilege dropping,
// and the final exec.
#include "helper.h"
#include "gen/step_dispatch.h"
#include "../uapi.h"
#include "../events.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

namespace {

// Signals the monitor and init pass on to the command. Job-control stops are
// not forwarded: the command runs in its own session.
const int kForwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGCONT, SIGWINCH};

void on_signal(int) {}  // never runs (signals stay blocked); pid 1 must have a handler to receive them

sigset_t handled_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (int sig : kForwarded) sigaddset(&set, sig);
  return set;
}

void block_handled_signals() {
  sigset_t set = handled_set();
  sigprocmask(SIG_BLOCK, &set, nullptr);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  for (int sig : kForwarded) sigaction(sig, &sa, nullptr);
}

void reset_signals() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

bool write_file(const char *path, const std::string &text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == (ssize_t)text.size();
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

// Gives the terminal back to whoever had it in the foreground (the Node
// program), so it can go on using it after an interactive command.
void restore_terminal(const Run &run) {
  if (run.tty.fd < 0 || run.tty.owner <= 0) return;
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_BLOCK, &ttou, &old);
  tcsetpgrp(run.tty.fd, run.tty.owner);
  sigprocmask(SIG_SETMASK, &old, nullptr);
}

// Ends this process the way `status` says the command ended, so whoever waits
// for us sees the same exit code or signal.
[[noreturn]] void exit_like(const Run &run, int status) {
  restore_terminal(run);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    kill(getpid(), sig);
    _exit(128 + sig);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 125);
}

// Is the terminal's foreground the caller's group (after fg, not bg)? Only
// a process outside the pid namespace can tell: inside, every group of the
// caller's reads as 0.
bool caller_in_foreground(const Run &run) {
  return run.tty.fd >= 0 && run.tty.owner > 0 && tcgetpgrp(run.tty.fd) == run.tty.owner;
}

// What the monitor sends init on its socket instead of a bare SIGCONT.
const char kContinueForeground = 'F', kContinueBackground = 'B';

// The monitor stays outside the pid namespace: it forwards signals to init and
// ends like the command, whose wait status init sends through `status_fd` (a
// socket: SIGCONT goes the other way, saying whether the caller has the
// terminal, so init can hand it to a command it resumes).
[[noreturn]] void monitor(const Run &run, pid_t init, int status_fd) {
  sigset_t set = handled_set();
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&set, &info);
    if (sig < 0) continue;
    if (sig == SIGCONT) {
      char c = caller_in_foreground(run) ? kContinueForeground : kContinueBackground;
      ssize_t ignored = write(status_fd, &c, 1);
      (void)ignored;
      continue;
    }
    if (sig != SIGCHLD) {
      kill(init, sig);
      continue;
    }
    int init_status;
    if (waitpid(init, &init_status, WNOHANG) != init) continue;
    int status;
    if (read(status_fd, &status, sizeof status) == sizeof status) exit_like(run, status);
    exit_like(run, init_status);
  }
}

// Init is pid 1 of the new pid namespace: it reaps orphans, forwards signals
// to the command, answers the syscalls the seccomp filter sends it
// (supervisor/) and reports the command's wait status to the monitor. When
// it exits the kernel kills everything left in the namespace.

// Tells the caller the command was stopped, so it can stop too (a shell then
// says Stopped); a SIGCONT from it resumes the command.
void send_stopped(int events_fd, int sig) {
  struct {
    EventHeader h;
    int32_t sig;
  } r = {{sizeof r, kEventStopped}, sig};
  ssize_t ignored = write(events_fd, &r, sizeof r);
  (void)ignored;
}

// On the caller's SIGCONT: when the caller has the terminal again (fg, not
// bg), it goes to the command's group, then the whole group continues.
void resume_stopped(const Run &run, pid_t command, bool foreground) {
  if (foreground && run.tty.fd >= 0) {
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    sigprocmask(SIG_BLOCK, &ttou, &old);
    tcsetpgrp(run.tty.fd, command);
    sigprocmask(SIG_SETMASK, &old, nullptr);
  }
  kill(-command, SIGCONT);
}

[[noreturn]] void init_loop(Run &run, pid_t command, int sigfd) {
  const int status_fd = run.status_write_fd, events_fd = run.events_fd;
  bool stopped = false;
  for (;;) {
    struct pollfd p[3] = {{sigfd, POLLIN, 0}, {status_fd, POLLIN, 0}, {supervisor_poll_fd(run), POLLIN, 0}};
    if (poll(p, 3, -1) < 0) continue;
    if (p[2].fd >= 0 && p[2].revents) supervisor_ready(run);
    if (p[1].revents & POLLIN) {  // the monitor's SIGCONT
      char c = 0;
      if (read(status_fd, &c, 1) == 1) {
        if (stopped) resume_stopped(run, command, c == kContinueForeground);
        else kill(command, SIGCONT);
        stopped = false;
      }
    }
    if (!(p[0].revents & POLLIN)) continue;
    struct signalfd_siginfo info;
    if (read(sigfd, &info, sizeof info) != sizeof info) continue;
    int sig = (int)info.ssi_signo;
    if (sig == SIGCONT && stopped) {  // no pid namespace: we are the monitor and can tell ourselves
      stopped = false;
      resume_stopped(run, command, caller_in_foreground(run));
      continue;
    }
    if (sig != SIGCHLD) {
      kill(command, sig);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG | WUNTRACED)) > 0) {
      if (pid != command) continue;
      if (WIFSTOPPED(status)) {
        if (run.forward_stops && events_fd >= 0) {
          stopped = true;
          send_stopped(events_fd, WSTOPSIG(status));
        } else {
          // Nobody would resume it (and it may hold the terminal): carry on.
          kill(command, SIGCONT);
        }
        continue;
      }
      if (status_fd < 0) exit_like(run, status);  // no pid namespace: we are the monitor too
      ssize_t ignored = write(status_fd, &status, sizeof status);
      (void)ignored;
      _exit(0);
    }
  }
}

void close_stdio() {
  for (int fd = 0; fd < 3; fd++) close(fd);
}

}  // namespace

// unshare FLAGS
void step_unshare(Run &run, const Step &s) {
  if (unshare((int)parse_num(run, s.args[0])) != 0) fail(run, errno, "unshare");
}

// map_ids INSIDE_UID OUTSIDE_UID INSIDE_GID OUTSIDE_GID
void step_map_ids(Run &run, const Step &s) {
  const auto &a = s.args;
  if (!write_file("/proc/self/setgroups", "deny")) fail(run, errno, "write /proc/self/setgroups");
  if (!write_file("/proc/self/uid_map", a[0] + " " + a[1] + " 1\n")) fail(run, errno, "write uid_map");
  if (!write_file("/proc/self/gid_map", a[2] + " " + a[3] + " 1\n")) fail(run, errno, "write gid_map");
}

void step_loopback_up(Run &run, const Step &) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) fail(run, errno, "socket for loopback");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) fail(run, errno, "SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) fail(run, errno, "SIOCSIFFLAGS lo");
  close(sock);
}

// pidns_fork [keep-session]
void step_pidns_fork(Run &run, const Step &s) {
  const auto &a = s.args;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) fail(run, errno, "socketpair");
  block_handled_signals();
  pid_t pid = fork();
  if (pid < 0) fail(run, errno, "fork init");
  if (pid > 0) {
    close(fds[1]);
    close(run.error_fd);
    if (run.events_fd >= 0) close(run.events_fd);  // init writes them
    close_stdio();
    monitor(run, pid, fds[0]);
  }
  close(fds[0]);
  run.status_write_fd = fds[1];
  // Die with the monitor; the poll catches a monitor that died before prctl.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(run, errno, "prctl(PR_SET_PDEATHSIG)");
  struct pollfd p = {run.status_write_fd, 0, 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP))) _exit(125);
  // Leave the terminal's session: a Ctrl-C reaches the monitor, which
  // forwards it once. An interactive command (keep-session) takes the
  // terminal's foreground instead, so Ctrl-C reaches it directly.
  bool keep_session = a.size() == 1 && a[0] == "keep-session";
  if (!keep_session && setsid() < 0) fail(run, errno, "setsid (init)");
}

// command_fork [forward-stops]
void step_command_fork(Run &run, const Step &s) {
  const auto &a = s.args;
  run.forward_stops = a.size() == 1 && a[0] == "forward-stops";
  if (!run.has_run(StepOp::pidns_fork)) block_handled_signals();  // no pid namespace: set up here
  sigset_t set = handled_set();
  int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (sigfd < 0) fail(run, errno, "signalfd (init)");
  pid_t pid = fork();
  if (pid < 0) fail(run, errno, "fork command");
  supervisor_after_fork(run, pid == 0);
  if (pid > 0) {
    close(run.error_fd);
    close_stdio();
    init_loop(run, pid, sigfd);
  }
  close(sigfd);
  if (run.events_fd >= 0) close(run.events_fd);
  if (run.status_write_fd >= 0) close(run.status_write_fd);
  run.status_write_fd = -1;
  reset_signals();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(run, errno, "prctl(PR_SET_PDEATHSIG)");
}

// tty_save: remember the terminal on stdin and its foreground group
void step_tty_save(Run &run, const Step &) {
  if (isatty(0)) {
    run.tty.fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
    run.tty.owner = tcgetpgrp(0);
  }
}

// tty_foreground: own process group, in the terminal's foreground (job control)
void step_tty_foreground(Run &run, const Step &) {
  if (setpgid(0, 0) != 0) fail(run, errno, "setpgid");
  if (isatty(0)) {
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    sigprocmask(SIG_BLOCK, &ttou, &old);
    // Fails (ENOTTY) when stdin is a terminal of another session: the command then just has no job control.
    tcsetpgrp(0, getpgrp());
    sigprocmask(SIG_SETMASK, &old, nullptr);
  }
}

void step_setsid(Run &run, const Step &) {
  if (setsid() < 0) fail(run, errno, "setsid");
}

// chdir PATH
void step_chdir(Run &run, const Step &s) {
  if (chdir(s.args[0].c_str()) != 0) fail(run, errno, "chdir " + s.args[0]);
}

void step_no_new_privs(Run &run, const Step &) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(run, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
}

void step_drop_caps(Run &run, const Step &s) {
  const auto &a = s.args;
  // drop_caps [keep-bounding] [keep=CAP]: the bounding set needs CAP_SETPCAP
  // to clear (so a second drop keeps it); keep=CAP stays permitted and effective.
  bool keep_bounding = false;
  int keep = -1;
  for (const auto &arg : a) {
    if (arg == "keep-bounding") keep_bounding = true;
    else if (arg.rfind("keep=", 0) == 0) keep = (int)parse_num(run, arg.substr(5));
    else fail(run, EINVAL, "drop_caps: unknown argument " + arg);
  }
  for (int cap = 0; cap < 64 && !keep_bounding; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail(run, errno, "prctl(PR_CAPBSET_DROP)");
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail(run, errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (keep >= 0 && keep < 64) {
    data[keep / 32].permitted = data[keep / 32].effective = 1u << (keep % 32);
  }
  if (syscall(SYS_capset, &hdr, data) != 0) fail(run, errno, "capset");
}

// env K=V
void step_env(Run &run, const Step &s) { run.env.push_back(s.args[0]); }

// exec FILE ARG0 ARGS...
void step_exec(Run &run, const Step &s) {
  const auto &a = s.args;
  std::vector<char *> argv, envp;
  for (size_t i = 1; i < a.size(); i++) argv.push_back(const_cast<char *>(a[i].c_str()));
  argv.push_back(nullptr);
  for (auto &e : run.env) envp.push_back(const_cast<char *>(e.c_str()));
  envp.push_back(nullptr);
  fcntl(run.error_fd, F_SETFD, FD_CLOEXEC);
  environ = envp.data();  // execvp searches the command's PATH, not ours
  execvp(a[0].c_str(), argv.data());
  int err = errno;
  fail_exit(run, err, "execvp " + a[0], err == ENOENT ? 127 : 126);
}
