// The two forks that leave a monitor (outside the pid namespace) and an init
// (pid 1) behind, and what those two do until the command ends.
#include "helper.h"
#include "terminal.h"
#include "supervisor/tick.h"
#include "gen/step_dispatch.h"
#include "../gen/events.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// Signals the monitor and init pass on to the command. Job-control stops are
// not forwarded: the command runs in its own session.
const int kForwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGUSR1, SIGUSR2,
                          SIGPIPE, SIGALRM, SIGTERM, SIGCONT, SIGWINCH};

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

// The command's dispositions before it is unblocked: the handlers the helper
// installed (the forwarded signals, the supervisor's tick) go back to the
// default, so a signal before the exec ends it as it would the command. Every
// other signal is at its default already: the helper starts with none ignored
// (main.cc; the addon's child resets them before the exec), and an exec keeps
// only the ignored ones. One sigaction per signal the helper touches, not 64.
void reset_signals() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig : kForwarded) sigaction(sig, &sa, nullptr);
  sigaction(supervisor_tick_signal(), &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Ends this process the way `status` says the command ended, so whoever waits
// for us sees the same exit code or signal.
[[noreturn]] void exit_like(const Run &run, int status) {
  restore_terminal(run.tty);
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

// What the monitor sends init on its socket instead of a bare SIGCONT.
const char kContinueForeground = 'F', kContinueBackground = 'B';

// Tells the caller the command has ended (protocol/events.json `exited`):
// its 'exit' comes now instead of once the namespaces are torn down, which
// the kernel does as the monitor and init exit and which costs a spawn
// milliseconds. By then nothing of the sandbox runs (init killed and reaped
// everything first) and the terminal is the caller's again.
void send_exited(int events_fd, int status) {
  EventExited r = {{sizeof r, kEventExited}, status};
  ssize_t ignored = write(events_fd, &r, sizeof r);
  (void)ignored;
}

// Tells the caller the sandbox runs (protocol/events.json `started`), for
// bwrap's --info-fd: only the monitor can say it, since the caller cannot read
// the namespaces' ids once the sandbox has ended, as a short command may have
// by the time the caller looks. The monitor is in every new namespace but the
// pid one, which its children are in.
void send_started(int events_fd, int ns_dir_fd, pid_t init) {
  EventStarted r = {};
  r.h = {sizeof r, kEventStarted};
  r.init = init;
  const struct {
    const char *link;
    uint32_t *id;
  } ns[] = {{"cgroup", &r.cgroup},        {"ipc", &r.ipc}, {"mnt", &r.mnt}, {"net", &r.net},
            {"pid_for_children", &r.pid}, {"uts", &r.uts}};
  for (const auto &n : ns) {
    struct stat st;
    if (fstatat(ns_dir_fd, n.link, &st, 0) == 0) *n.id = (uint32_t)st.st_ino;
  }
  ssize_t ignored = write(events_fd, &r, sizeof r);
  (void)ignored;
}

// Who sends it: the monitor when it has a terminal to give back first, else
// init itself, which saves the caller's 'exit' the wait for the monitor to
// be woken and scheduled (a hop of its own on a busy machine).
bool monitor_restores_terminal(const Run &run) { return run.tty.fd >= 0 && run.tty.owner > 0; }

// The monitor stays outside the pid namespace: it forwards signals to init and
// ends like the command, whose wait status init sends through `status_fd` (a
// socket: SIGCONT goes the other way, saying whether the caller has the
// terminal, so init can hand it to a command it resumes).
[[noreturn]] void monitor(const Run &run, pid_t init, int status_fd, int events_fd) {
  sigset_t set = handled_set();
  int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (sigfd < 0) {
    kill(init, SIGKILL);  // a monitor that cannot hear init's end would wait for ever
    _exit(125);
  }
  const int pool_ctl = pool_socket(run);
  bool have_status = false;
  int status = 0;
  for (;;) {
    struct pollfd p[2] = {{sigfd, POLLIN, 0}, {have_status ? -1 : status_fd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) continue;
    if (p[1].revents) {
      ssize_t n = read(status_fd, &status, sizeof status);
      if (n == sizeof status) {
        have_status = true;
        restore_terminal(run.tty);
        if (events_fd >= 0 && monitor_restores_terminal(run)) send_exited(events_fd, status);
      } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        p[1].fd = -1;  // init is gone without a word: its own end tells
        have_status = true;
        status = -1;
      }
    }
    if (!(p[0].revents & POLLIN)) continue;
    struct signalfd_siginfo info;
    if (read(sigfd, &info, sizeof info) != sizeof info) continue;
    int sig = (int)info.ssi_signo;
    // A pooled sandbox has no command yet: a signal now (a Ctrl-C to this
    // process group) was meant for none, and must not reach the next one.
    if (sig != SIGCHLD && pool_ctl >= 0 && !pool_handed_over(pool_ctl)) continue;
    if (sig == SIGCONT) {
      char c = caller_in_foreground(run.tty) ? kContinueForeground : kContinueBackground;
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
    if (!have_status || status == -1) {
      ssize_t n = read(status_fd, &status, sizeof status);
      if (n != sizeof status) exit_like(run, init_status);
    }
    exit_like(run, status);
  }
}

// Tells the caller the command was stopped, so it can stop too (a shell then
// says Stopped); a SIGCONT from it resumes the command.
void send_stopped(int events_fd, int sig) {
  EventStopped r = {{sizeof r, kEventStopped}, sig};
  ssize_t ignored = write(events_fd, &r, sizeof r);
  (void)ignored;
}

// On the caller's SIGCONT: when the caller has the terminal again (fg, not
// bg), it goes to the command's group, then the whole group continues.
void resume_stopped(const Run &run, pid_t command, bool foreground) {
  if (foreground && run.tty.fd >= 0) set_foreground(run.tty.fd, command);
  kill(-command, SIGCONT);
}

// The command has ended: everything else in the pid namespace goes now and
// is reaped, so that once the monitor tells the caller, nothing of the
// sandbox runs or writes any more (the kernel would kill them too, but only
// as init exits, after the caller was told). Only as pid 1, whose kill(-1)
// reaches its own namespace and nothing outside it.
void end_namespace() {
  if (getpid() != 1) return;
  kill(-1, SIGKILL);
  while (waitpid(-1, nullptr, __WALL) > 0 || errno == EINTR) {}
}

// Init is pid 1 of the new pid namespace: it reaps orphans, forwards signals
// to the command, answers the syscalls the seccomp filter sends it
// (supervisor/) and reports the command's wait status to the monitor. When
// it exits the kernel kills everything left in the namespace.
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
        if (stopped)
          resume_stopped(run, command, c == kContinueForeground);
        else
          kill(command, SIGCONT);
        stopped = false;
      }
    }
    if (!(p[0].revents & POLLIN)) continue;
    struct signalfd_siginfo info;
    if (read(sigfd, &info, sizeof info) != sizeof info) continue;
    int sig = (int)info.ssi_signo;
    if (sig == SIGCONT && stopped) {  // no pid namespace: we are the monitor and can tell ourselves
      stopped = false;
      resume_stopped(run, command, caller_in_foreground(run.tty));
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
      if (status_fd < 0) {  // no pid namespace: we are the monitor too
        violations_flush();
        exit_like(run, status);
      }
      end_namespace();
      violations_flush();  // before the exit that lets the caller's 'exit' come
      if (events_fd >= 0 && !monitor_restores_terminal(run)) send_exited(events_fd, status);
      ssize_t ignored = write(status_fd, &status, sizeof status);
      (void)ignored;
      // The pipe writes woke their readers on this CPU (a sync wake-up: the
      // kernel expects the writer to sleep), but this exit tears the pid
      // namespace down first, a few hundred microseconds during which the
      // caller's reaper thread would wait for the CPU. Let them run first.
      sched_yield();
      _exit(0);
    }
  }
}

void close_stdio() {
  for (int fd = 0; fd < 3; fd++) close(fd);
}

}  // namespace

// report_started: bwrap's --info-fd wants the namespaces' ids, which the
// monitor sends once init exists (send_started). By then the layout may have
// hidden or replaced /proc, so the directory is held from here on, where /proc
// is still the host's: its links always name the process's current namespaces.
void step_report_started(Run &run, const Step &) {
  if (run.has_run(StepOp::pidns_fork))
    fail(run, EINVAL, "report_started after pidns_fork: nothing would send it");
  run.ns_dir_fd = open("/proc/self/ns", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (run.ns_dir_fd < 0) fail(run, errno, "open /proc/self/ns");
}

// lock_file PATH: bwrap's --lock-file. Init holds a read lock on PATH (as the
// sandbox sees it) for as long as the sandbox lives, so a host tool can tell
// it is in use. An open file description's lock, not a process's: init's
// other opens and closes of the same file (supervised calls) must not drop it.
void step_lock_file(Run &run, const Step &s) {
  const std::string &path = s.args[0];
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) fail(run, errno, "open lock file " + path);
  struct flock l;
  memset(&l, 0, sizeof l);
  l.l_type = F_RDLCK;
  l.l_whence = SEEK_SET;
  if (fcntl(fd, F_OFD_SETLK, &l) != 0) fail(run, errno, "lock file " + path);
  // Kept open, never closed: the lock ends with init.
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
    close_stdio();
    if (run.ns_dir_fd >= 0 && run.events_fd >= 0) send_started(run.events_fd, run.ns_dir_fd, pid);
    monitor(run, pid, fds[0], run.events_fd);
  }
  close(fds[0]);
  if (run.ns_dir_fd >= 0) close(run.ns_dir_fd);  // the monitor's to read, not init's
  run.ns_dir_fd = -1;
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
  if (run.pins_gone && !supervisor_refuses_creation(run))
    fail(run, EINVAL, "a pinned path was gone (pin gone-ok) but the plan does not supervise creation");
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
