#pragma once
// Small filesystem and kernel probes exposed to JavaScript.
int sbx_renameat2(const char *from, const char *to, unsigned flags);  // 0 or errno
int sbx_landlock_abi(int *errata);                                    // ABI, or -errno
int sbx_pidfd_send_signal(int pidfd, int sig);                        // 0 or errno
