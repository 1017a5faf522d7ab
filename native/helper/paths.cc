// Opening the paths a plan names. Nothing is followed through a symlink
// (openat2 RESOLVE_NO_SYMLINKS), and a path whose inode the planner recorded
// (expect_ids) must still be that inode: a directory swapped for a symlink
// or for another directory between planning and setup would otherwise get
// the rights or the protection meant for the original. Callers then work on
// the returned fd, so there is no second lookup to race with.
#include "helper.h"
#include "gen/step_dispatch.h"
#include "../uapi.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

// expect_ids PATH DEV:INO ...
void step_expect_ids(Run &run, const Step &s) {
  for (size_t i = 0; i + 1 < s.args.size(); i += 2) {
    const std::string &id = s.args[i + 1];
    size_t colon = id.find(':');
    if (colon == std::string::npos) fail(run, EINVAL, "bad inode id in plan: " + id);
    run.expected[s.args[i]] = {parse_num(run, id.substr(0, colon)), parse_num(run, id.substr(colon + 1))};
  }
}

bool plan_id_holds(Run &run, int fd, const std::string &path, struct stat *st) {
  if (fstat(fd, st) != 0) fail(run, errno, "fstat " + path);
  auto want = run.expected.find(path);
  return want == run.expected.end() || ((unsigned long long)st->st_dev == want->second.first &&
                                        (unsigned long long)st->st_ino == want->second.second);
}

void check_plan_id(Run &run, int fd, const std::string &path) {
  struct stat st;
  if (!plan_id_holds(run, fd, path, &st)) fail(run, ESTALE, "path changed since the plan was made: " + path);
}

int open_plan_path(Run &run, const std::string &path, bool nofollow_last, bool check_id) {
  int fd = open_plan_path_or_gone(run, path, nofollow_last, check_id, false);
  if (fd < 0) fail(run, errno, (errno == ELOOP ? "refusing a symlink in " : "open ") + path);
  return fd;
}

int open_plan_path_or_gone(Run &run, const std::string &path, bool nofollow_last, bool check_id,
                           bool gone_ok) {
  int fd = sbx_openat2(AT_FDCWD, path.c_str(), O_PATH | O_CLOEXEC | (nofollow_last ? O_NOFOLLOW : 0),
                       SBX_RESOLVE_NO_SYMLINKS);
  if (fd < 0 && gone_ok && (errno == ENOENT || errno == ENOTDIR)) return -1;
  if (fd < 0) fail(run, errno, (errno == ELOOP ? "refusing a symlink in " : "open ") + path);
  if (check_id) check_plan_id(run, fd, path);
  return fd;
}
