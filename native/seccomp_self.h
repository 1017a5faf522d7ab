// The network proxy's own confinement (lib/proxy/seccomp.ts): it installs its
// seccomp program on every thread of its process before it reads anything
// the sandbox sends. The program comes from TypeScript; this knows no policy.
#pragma once
#include <string>

// no_new_privs, then seccomp(SET_MODE_FILTER, TSYNC) with `prog` (struct
// sock_filter[], little-endian). 0, an errno, or -tid of a thread that could
// not be synchronized.
int sbx_seccomp_self(const std::string &prog);
