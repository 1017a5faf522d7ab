// The command's terminal under its own name inside: when stdin is a host
// pty (/dev/pts/N), that one node is bound at /dev/pts/N of the sandbox's
// own devpts instance, so tty(1), ttyname(3) and password prompts work and
// the user's other terminals stay out of sight.
#include "helper.h"
#include "gen/step_dispatch.h"
#include "../uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <vector>

namespace {

const unsigned kPtySlaveMajor = 136;  // UNIX98_PTY_SLAVE_MAJOR, 8 majors of 256 minors
const int kMaxIndex = 4096;

}  // namespace

// tty_clone: remember stdin's pty node, if stdin is a host pty
void step_tty_clone(Run &run, const Step &) {
  struct stat st;
  struct statfs fs;
  if (!isatty(0) || fstat(0, &st) != 0 || !S_ISCHR(st.st_mode) || fstatfs(0, &fs) != 0 ||
      fs.f_type != SBX_DEVPTS_SUPER_MAGIC)
    return;
  unsigned maj = major(st.st_rdev);
  if (maj < kPtySlaveMajor || maj >= kPtySlaveMajor + 8) return;
  int index = (int)((maj - kPtySlaveMajor) * 256 + minor(st.st_rdev));
  // fd 0's own mount belongs to the namespace we left (open_tree says
  // EINVAL): clone our copy of /dev/pts/N, if it is that very node. A pty
  // of another devpts instance (a container's) just keeps no name.
  std::string name = "/dev/pts/" + std::to_string(index);
  int at = open(name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat mine;
  if (at < 0 || fstat(at, &mine) != 0 || mine.st_ino != st.st_ino || mine.st_dev != st.st_dev ||
      mine.st_rdev != st.st_rdev) {
    if (at >= 0) close(at);
    return;
  }
  run.tty.tree =
      (int)syscall(SBX_NR_open_tree, at, "", SBX_OPEN_TREE_CLONE | SBX_OPEN_TREE_CLOEXEC | SBX_AT_EMPTY_PATH);
  close(at);
  if (run.tty.tree < 0) fail(run, errno, "open_tree " + name);
  run.tty.index = index;
}

// tty_place DEVPTS_DIR: bind it at DIR/N
void step_tty_place(Run &run, const Step &s) {
  const auto &a = s.args;
  if (run.tty.tree < 0) return;
  if (run.tty.index > kMaxIndex)
    fail(run, EOVERFLOW, "terminal index too large to reserve: " + std::to_string(run.tty.index));
  // A new instance hands out the lowest free index: open masters until ours
  // exists, keep that one, give the others back.
  std::vector<int> spare;
  std::string ptmx = a[0] + "/ptmx";
  for (;;) {
    int m = open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) fail(run, errno, "open " + ptmx);
    unsigned n = 0;
    if (ioctl(m, TIOCGPTN, &n) != 0) fail(run, errno, "TIOCGPTN");
    if ((int)n == run.tty.index) {
      run.tty.master = m;
      break;
    }
    if ((int)n > run.tty.index)
      fail(run, EEXIST, "terminal index already taken: " + std::to_string(run.tty.index));
    spare.push_back(m);
  }
  for (int m : spare) close(m);
  std::string name = a[0] + "/" + std::to_string(run.tty.index);
  int target = open_plan_path(run, name, true, false);
  int rc = (int)syscall(SBX_NR_move_mount, run.tty.tree, "", target, "",
                        SBX_MOVE_MOUNT_F_EMPTY_PATH | SBX_MOVE_MOUNT_T_EMPTY_PATH);
  if (rc != 0) fail(run, errno, "move_mount the terminal onto " + name);
  close(target);
  close(run.tty.tree);
  run.tty.tree = -1;
}
