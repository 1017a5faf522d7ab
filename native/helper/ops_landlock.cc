// Landlock steps. Rights are computed by lib/plan.ts for the probed ABI; this
// file only opens the rule paths (after the last mount, since rules bind to
// inodes and a later mount would hide them) and hands the bits to the kernel.
#include "helper.h"
#include "gen/step_dispatch.h"
#include "../uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

int add_rule(int ruleset, int fd, uint64_t access) {
  struct sbx_landlock_path_beneath_attr attr = {access, fd};
  return (int)syscall(SBX_NR_landlock_add_rule, ruleset, SBX_LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
}

}  // namespace

// landlock_create FS NET SCOPED
void step_landlock_create(Run &run, const Step &s) {
  const auto &a = s.args;
  struct sbx_landlock_ruleset_attr attr = {parse_num(run, a[0]), parse_num(run, a[1]), parse_num(run, a[2])};
  size_t size = attr.scoped ? sizeof attr : (attr.handled_access_net ? 16 : 8);
  run.ruleset_fd = (int)syscall(SBX_NR_landlock_create_ruleset, &attr, size, 0);
  if (run.ruleset_fd < 0) fail(run, errno, "landlock_create_ruleset");
}

// landlock_path PATH ACCESS
void step_landlock_path(Run &run, const Step &s) {
  int fd = open_plan_path(run, s.args[0], false, true);
  if (add_rule(run.ruleset_fd, fd, parse_num(run, s.args[1])) != 0)
    fail(run, errno, "landlock_add_rule " + s.args[0]);
  close(fd);
}

// landlock_stdio ACCESS: terminals inherited on fds 0-2
void step_landlock_stdio(Run &run, const Step &s) {
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) continue;
    if (add_rule(run.ruleset_fd, fd, parse_num(run, s.args[0])) != 0)
      fail(run, errno, "landlock_add_rule on inherited terminal fd " + std::to_string(fd));
  }
}

void step_landlock_restrict(Run &run, const Step &) {
  if (syscall(SBX_NR_landlock_restrict_self, run.ruleset_fd, 0) != 0)
    fail(run, errno, "landlock_restrict_self");
  close(run.ruleset_fd);
  run.ruleset_fd = -1;
}
