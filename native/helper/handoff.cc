// `sbx-helper --handoff PID PLAN_FD REPORT_FD`: started by a spawner other
// than the addon (lib/wrap.ts). The plan and the report pipe belong to our
// parent, PID; we open them through its /proc entry, which no other sandbox
// can reach (each has its own pid namespace), and take a plan only from a
// sealed memfd, whose content cannot change after we checked it.
#include "helper.h"
#include "../gen/error_report.h"
#include "../uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

bool parse_int(const char *s, long *out) {
  char *end = nullptr;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno || v < 0) return false;
  *out = v;
  return true;
}

}  // namespace

int open_handoff(char **argv, int *plan_fd, int *report_fd, std::string *why) {
  long pid, plan, report;
  if (!parse_int(argv[0], &pid) || !parse_int(argv[1], &plan) || !parse_int(argv[2], &report)) {
    *why = "--handoff: expected PID PLAN_FD REPORT_FD";
    return EINVAL;
  }
  // Whatever the spawner leaked stays out of the sandbox (a writable fd would bypass Landlock).
  if (syscall(SBX_NR_close_range, 3, ~0U, SBX_CLOSE_RANGE_CLOEXEC) != 0) {
    *why = "close_range";
    return errno;
  }
  // Die with the process that holds the plan, like a helper the addon starts.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    *why = "prctl(PR_SET_PDEATHSIG)";
    return errno;
  }
  if (getppid() != (pid_t)pid) {
    *why = "--handoff: the plan must come from the helper's parent process";
    return EPERM;
  }
  std::string base = "/proc/" + std::to_string(pid) + "/fd/";
  *plan_fd = open((base + std::to_string(plan)).c_str(), O_RDONLY | O_CLOEXEC);
  if (*plan_fd < 0) {
    *why = "open the handed-over plan";
    return errno;
  }
  int seals = fcntl(*plan_fd, F_GET_SEALS);
  const int want = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;
  if (seals < 0 || (seals & want) != want) {
    *why = "--handoff: the plan is not a sealed memfd";
    return EPERM;
  }
  *report_fd = open((base + std::to_string(report)).c_str(), O_WRONLY | O_CLOEXEC);
  struct stat st;
  if (*report_fd < 0 || fstat(*report_fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
    *why = "--handoff: the report channel is not a pipe";
    return *report_fd < 0 ? errno : EPERM;
  }
  // Like libuv for inherited stdio: the spawner's descriptors may be non-blocking.
  for (int fd = 0; fd < 3; fd++) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }
  // Tell the parent we hold both: it closes its copies (its write end, so
  // EOF means the command was exec'd, as with the addon's own helpers).
  ErrorReport r;
  memset(&r, 0, sizeof r);
  r.step = kReportStarted;
  r.err = (int32_t)getpid();
  if (write(*report_fd, &r, sizeof r) != (ssize_t)sizeof r) {
    *why = "write the start report";
    return errno;
  }
  return 0;
}
