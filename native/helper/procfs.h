// /proc paths and files the helper and the supervisor use.
#pragma once
#include <stdio.h>
#include <string>
#include <sys/types.h>

// A /proc path built without allocating (the supervisor builds one per
// request); it converts to const char * so it goes straight into open(2) & co.
struct ProcPath {
  char s[64];
  operator const char *() const { return s; }
};

// /proc/self/fd/FD: the magic link to an fd of ours, which reaches exactly its inode.
inline ProcPath proc_self_fd(int fd) {
  ProcPath p;
  snprintf(p.s, sizeof p.s, "/proc/self/fd/%d", fd);
  return p;
}

// /proc/TID/LEAF of another thread, or /proc/self/LEAF for tid 0.
inline ProcPath proc_tid(pid_t tid, const char *leaf) {
  ProcPath p;
  if (tid)
    snprintf(p.s, sizeof p.s, "/proc/%d/%s", (int)tid, leaf);
  else
    snprintf(p.s, sizeof p.s, "/proc/self/%s", leaf);
  return p;
}

// /proc/TID/fd/FD: another thread's fd.
inline ProcPath proc_tid_fd(pid_t tid, int fd) {
  ProcPath p;
  snprintf(p.s, sizeof p.s, "/proc/%d/fd/%d", (int)tid, fd);
  return p;
}

// Writes `text` to an existing file in one write(2); false with errno set.
bool write_file(const char *path, const std::string &text);

// Maps one id each way in a new user namespace: setgroups "deny", then
// uid_map and gid_map. nullptr, or the file that could not be written (errno set).
const char *write_id_maps(const std::string &inside_uid, const std::string &outside_uid,
                          const std::string &inside_gid, const std::string &outside_gid);
