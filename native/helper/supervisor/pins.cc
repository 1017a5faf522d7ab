// Pins the host detached. A read-only pin is a bind mount on a name, and the
// kernel detaches it in every other mount namespace when the host renames
// something over that name or removes it (an editor's atomic save while a
// command runs): what the host put there would be writable inside. Every
// such detach changes this namespace's mount table, which poll(2) on
// /proc/self/mountinfo tells without reading it; only then are the pins
// looked at again (is each name still the root of a mount?), so a request
// pays one poll while nothing has moved, and the check is made before the
// request is answered: a command that saw the detach cannot be faster.
#include "call.h"
#include "../../gen/events.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

// Still the root of a mount, or a name init cannot look at (the command,
// with init's uid and less, cannot reach it either).
bool still_pinned(const std::string &path) {
  struct statx sx;
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, STATX_TYPE, &sx) != 0)
    return errno != ENOENT && errno != ENOTDIR;
  return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

bool under_or_at(const std::string &p, const std::string &dir) {
  return p == dir || (p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 && p[dir.size()] == '/');
}

}  // namespace

namespace {
void look_again(PinWatch *w, const SupervisorConfig &cfg) {
  w->detached.clear();
  for (const auto &path : cfg.pinned)
    if (!still_pinned(path)) w->detached.push_back(path);
}
}  // namespace

void watch_pins(Server *srv) {
  if (srv->cfg.pinned.empty()) return;
  srv->pins = new PinWatch;
  srv->pins->mountinfo = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);  // -1: look at every request
  // The fd tells of changes after its open; one made since the pins were set up is found now.
  look_again(srv->pins, srv->cfg);
}

const std::vector<std::string> &detached_pins(const Call &c) {
  static const std::vector<std::string> none;
  PinWatch *w = c.srv.pins;
  if (!w) return none;
  struct pollfd p = {w->mountinfo, POLLPRI, 0};
  if (w->mountinfo >= 0 && (poll(&p, 1, 0) != 1 || !(p.revents & (POLLPRI | POLLERR)))) return w->detached;
  look_again(w, c.cfg());
  return w->detached;
}

int detached_pin_refused(const Call &c, const std::string &path) {
  for (const auto &d : detached_pins(c))
    if (under_or_at(path, d)) return refused(c, EROFS, kViolationRulePinnedFile, path);
  return 0;
}

int detached_link_refused(const Call &c, int fd) {
  return detached_pins(c).empty() ? 0 : detached_pin_refused(c, fd_path(fd));
}
