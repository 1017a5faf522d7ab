// Process steps: namespaces and id maps, the loopback interface, privilege
// dropping, and the final exec. The forks are in ops_fork.cc, the terminal
// steps in terminal.cc.
#include "helper.h"
#include "caps.h"
#include "procfs.h"
#include "gen/step_dispatch.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

// unshare FLAGS
void step_unshare(Run &run, const Step &s) {
  if (unshare((int)parse_num(run, s.args[0])) != 0) fail(run, errno, "unshare");
}

// sethostname NAME: in the new UTS namespace (bwrap --hostname)
void step_sethostname(Run &run, const Step &s) {
  const std::string &name = s.args[0];
  if (sethostname(name.c_str(), name.size()) != 0) fail(run, errno, "sethostname " + name);
}

// map_ids INSIDE_UID OUTSIDE_UID INSIDE_GID OUTSIDE_GID
void step_map_ids(Run &run, const Step &s) {
  const auto &a = s.args;
  if (const char *failed = write_id_maps(a[0], a[1], a[2], a[3]))
    fail(run, errno,
         failed == std::string("setgroups") ? "write /proc/self/setgroups" : std::string("write ") + failed);
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
    if (arg == "keep-bounding")
      keep_bounding = true;
    else if (arg.rfind("keep=", 0) == 0)
      keep = (int)parse_num(run, arg.substr(5));
    else
      fail(run, EINVAL, "drop_caps: unknown argument " + arg);
  }
  const char *what = "";
  if (int err = drop_capabilities(keep_bounding, false, keep, &what)) fail(run, err, what);
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
