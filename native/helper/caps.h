// Dropping capabilities: the bounding set, the ambient set, then every
// capability but `keep` (-1: none). The drop_caps step and the proxy process
// (ops_proxy.cc) both end here.
#pragma once
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// 0, or the errno with `what` naming the call that failed. EINVAL from the
// bounding-set drop is a capability this kernel does not have, and none above
// it has one either (the kernel's capabilities are 0..CAP_LAST_CAP), so the
// loop ends there instead of asking about every number up to 63; EPERM is
// tolerated only when `tolerate_eperm` (a process without CAP_SETPCAP, whose
// no_new_privs keeps exec from gaining what stays in the set).
inline int drop_capabilities(bool keep_bounding, bool tolerate_eperm, int keep, const char **what) {
  for (int cap = 0; cap < 64 && !keep_bounding; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
    if (errno == EINVAL) break;
    if (!(tolerate_eperm && errno == EPERM)) {
      *what = "prctl(PR_CAPBSET_DROP)";
      return errno;
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    *what = "prctl(PR_CAP_AMBIENT_CLEAR_ALL)";
    return errno;
  }
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (keep >= 0 && keep < 64) data[keep / 32].permitted = data[keep / 32].effective = 1u << (keep % 32);
  if (syscall(SYS_capset, &hdr, data) != 0) {
    *what = "capset";
    return errno;
  }
  return 0;
}
