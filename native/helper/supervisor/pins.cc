// Pins the host detached. A read-only pin is a bind mount on a name, and the
// kernel detaches it in every other mount namespace when the host renames
// something over that name or removes it (an editor's atomic save while a
// command runs): what the host put there would be writable inside. Every
// such detach changes this namespace's mount table, which poll(2) on
// /proc/self/mountinfo tells without reading it; only then are the pins
// looked at again (is each name still the root of a mount?), so a request
// pays one poll while nothing has moved. Below a pinned path the poll is
// made after the request's directory was looked up: a lookup made before the
// detach holds the old, read-only mount, and one made after finds the detach
// told (the kernel detaches before it moves the new name in). At the pinned
// name itself the request acts by name, later than any poll, so making a name
// there or renaming onto or away from it is refused whatever the poll said.
#include "call.h"
#include "../../gen/events.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

// Still the root of a mount. A name init cannot look at counts as detached:
// refusing below it costs nothing, as the command cannot reach it by that name either.
bool still_pinned(const std::string &path) {
  struct statx sx;
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, STATX_TYPE, &sx) != 0)
    return false;
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
  // 0: nothing changed. A change, or a poll that failed, is looked at.
  struct pollfd p = {w->mountinfo, POLLPRI, 0};
  if (w->mountinfo >= 0 && poll(&p, 1, 0) == 0) return w->detached;
  look_again(w, c.cfg());
  return w->detached;
}

int detached_pin_refused(const Call &c, const std::string &path) {
  const auto &detached = detached_pins(c);
  if (detached.empty()) return 0;
  if (path.empty()) return refused(c, EROFS, kViolationRulePinnedFile, "(a file init cannot place)");
  for (const auto &d : detached)
    if (under_or_at(path, d)) return refused(c, EROFS, kViolationRulePinnedFile, path);
  return 0;
}

namespace {
bool mount_root(int fd) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_TYPE, &sx) != 0) return false;
  return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}
}  // namespace

int pinned_fd_refused(const Call &c, int fd, const std::string &where, const Place *at) {
  const SupervisorConfig &cfg = c.cfg();
  if (!c.srv.pins) return 0;
  bool maybe_at = at ? cfg.pinned_names.count(at->name) > 0
                     : where.empty() || cfg.pinned_names.count(last_component(where)) > 0;
  if (!maybe_at && detached_pins(c).empty()) return 0;
  std::string path = !where.empty() ? where : fd_path(fd);
  // The file a racing rename replaced: its name as it was, for what it was.
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() &&
      path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
    path.resize(path.size() - deleted.size());
  if (cfg.pinned.count(path) && !mount_root(fd)) return refused(c, EROFS, kViolationRulePinnedFile, path);
  return detached_pin_refused(c, path);
}

int at_pinned_name(const Call &c, const Place &place) {
  const SupervisorConfig &cfg = c.cfg();
  if (!cfg.pinned_names.count(place.name)) return 0;
  std::string dir = dir_path(place);
  if (dir.empty()) return -1;
  return cfg.pinned.count((dir == "/" ? "" : dir) + "/" + place.name) ? 1 : 0;
}

int pinned_name_refused(const Call &c, const Place &place, int attached) {
  int at = at_pinned_name(c, place);
  if (at == 0) return 0;
  std::string dir = dir_path(place);
  std::string full = (dir == "/" ? "" : dir) + "/" + place.name;
  if (at < 0) return refused(c, EROFS, kViolationRulePinnedFile, place.name);
  for (const auto &d : detached_pins(c))
    if (d == full) return refused(c, EROFS, kViolationRulePinnedFile, full);
  return attached;
}
