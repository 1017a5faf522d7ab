// The terminal steps (tty_save, tty_foreground) and the foreground hand-overs
// the monitor and init make for job control.
#include "helper.h"
#include "terminal.h"
#include "gen/step_dispatch.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

int set_foreground(int fd, pid_t pgrp) {
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_BLOCK, &ttou, &old);
  int rc = tcsetpgrp(fd, pgrp);
  int saved = errno;
  sigprocmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return rc;
}

void restore_terminal(const Terminal &tty) {
  if (tty.fd >= 0 && tty.owner > 0) set_foreground(tty.fd, tty.owner);
}

bool caller_in_foreground(const Terminal &tty) {
  return tty.fd >= 0 && tty.owner > 0 && tcgetpgrp(tty.fd) == tty.owner;
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
  // Fails (ENOTTY) when stdin is a terminal of another session: the command then just has no job control.
  if (isatty(0)) set_foreground(0, getpgrp());
}
