// Kernel interfaces we use, defined here because Debian 12's headers stop at
// Landlock ABI 2 and lack the new mount API. Values are from the kernel uapi;
// the syscall numbers below are identical on x86_64 and aarch64 (they were
// allocated after the tables were unified in 5.x).
#pragma once
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#define SBX_NR_open_tree 428
#define SBX_NR_move_mount 429
#define SBX_NR_pidfd_open 434
#define SBX_NR_close_range 436
#define SBX_NR_openat2 437
#define SBX_NR_pidfd_getfd 438
#define SBX_NR_fchmodat2 452
#define SBX_NR_setxattrat 463
#define SBX_NR_removexattrat 466
#define SBX_NR_mount_setattr 442
#define SBX_NR_landlock_create_ruleset 444
#define SBX_NR_landlock_add_rule 445
#define SBX_NR_landlock_restrict_self 446

// open_tree / move_mount / mount_setattr
#define SBX_OPEN_TREE_CLONE 1
#define SBX_OPEN_TREE_CLOEXEC 02000000
#define SBX_AT_RECURSIVE 0x8000
#define SBX_AT_EMPTY_PATH 0x1000
#define SBX_AT_SYMLINK_NOFOLLOW 0x100
#define SBX_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define SBX_MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#define SBX_MOUNT_ATTR_RDONLY 0x00000001
#define SBX_MOUNT_ATTR_NOSUID 0x00000002
#define SBX_MOUNT_ATTR_NODEV 0x00000004
#define SBX_MOUNT_ATTR_NOEXEC 0x00000008

struct sbx_mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

// openat2 (linux/openat2.h)
struct sbx_open_how {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
#define SBX_RESOLVE_NO_XDEV 0x01
#define SBX_RESOLVE_NO_MAGICLINKS 0x02
#define SBX_RESOLVE_NO_SYMLINKS 0x04  // implies RESOLVE_NO_MAGICLINKS
#define SBX_RESOLVE_BENEATH 0x08
inline int sbx_openat2(int dir, const char *path, uint64_t flags, uint64_t resolve) {
  struct sbx_open_how how = {flags, 0, resolve};
  return (int)syscall(SBX_NR_openat2, dir, path, &how, sizeof how);
}
// statfs f_type (linux/magic.h)
#define SBX_PROC_SUPER_MAGIC 0x9fa0
#define SBX_DEVPTS_SUPER_MAGIC 0x1cd1
// close_range
#define SBX_CLOSE_RANGE_CLOEXEC (1U << 2)

// Landlock
#define SBX_LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#define SBX_LANDLOCK_CREATE_RULESET_ERRATA (1U << 1)
#define SBX_LANDLOCK_RULE_PATH_BENEATH 1

struct sbx_landlock_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct __attribute__((packed)) sbx_landlock_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
};

// renameat2 flags
#define SBX_RENAME_NOREPLACE (1 << 0)
#define SBX_RENAME_EXCHANGE (1 << 1)

// seccomp (linux/seccomp.h, linux/filter.h)
#define SBX_SECCOMP_SET_MODE_FILTER 1
#define SBX_SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#define SBX_SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#define SBX_SECCOMP_IOCTL_NOTIF_SET_FLAGS 0x40082104  // _IOW('!', 4, __u64), 6.6
#define SBX_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#define SBX_BPF_MAXINSNS 4096
#if defined(__x86_64__)
#define SBX_NR_seccomp 317
#elif defined(__aarch64__)
#define SBX_NR_seccomp 277
#endif

struct sbx_sock_filter {
  uint16_t code;
  uint8_t jt;
  uint8_t jf;
  uint32_t k;
};

struct sbx_sock_fprog {
  unsigned short len;
  struct sbx_sock_filter *filter;
};

// setxattrat / removexattrat (6.13)
struct sbx_xattr_args {
  uint64_t value;
  uint32_t size;
  uint32_t flags;
};
