// /dev/tty opened for the caller: its controlling terminal, not init's.
#include "call.h"
#include "../procfs.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace {

// The controlling terminal (field 7 of /proc/PID/stat) of a thread, 0 for none.
unsigned long tty_of(pid_t tid) {
  char buf[1024];
  ProcPath path = proc_tid(tid, "stat");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *p = strrchr(buf, ')');  // the command name may hold spaces
  unsigned long tty = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %lu", &tty) != 1) return 0;
  return tty;
}

}  // namespace

// /dev/tty means the opener's controlling terminal. Init's is the caller's
// unless the caller made a session of its own on a pty (tmux, script): then
// its /dev/pts entry is opened instead.
Outcome open_tty(Call &c, int flags) {
  unsigned long tty = tty_of(c.r.tid);
  if (tty == 0) return fail_with(ENXIO);
  int reopen = (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY;
  Outcome o;
  o.cloexec = flags & O_CLOEXEC;
  unsigned major = (unsigned)((tty >> 8) & 0xfff), minor = (unsigned)((tty & 0xff) | ((tty >> 12) & 0xfff00));
  int fd = -1;
  if (tty == tty_of(0)) {
    fd = open("/dev/tty", reopen);
  } else if (major >= 136 && major <= 143) {  // Unix98 ptys
    char pts[64];
    snprintf(pts, sizeof pts, "/dev/pts/%u", (major - 136) * 256 + minor);
    fd = open(pts, reopen);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || major(st.st_rdev) != major || minor(st.st_rdev) != minor)) {
      close(fd);
      fd = -1;
      errno = ENXIO;
    }
  } else {
    errno = ENXIO;
  }
  if (fd < 0) return fail_with(errno);
  o.send_fd = fd;
  return o;
}
