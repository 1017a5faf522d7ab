#include "fdpass.h"
#include <string.h>
#include <sys/socket.h>

namespace {

union Control {
  struct cmsghdr align;
  char buf[CMSG_SPACE(sizeof(int))];
};

void point_at(struct msghdr &msg, struct iovec &iov, char &byte, Control &u) {
  iov = {&byte, 1};
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
}

}  // namespace

int send_fd(int sock, int fd) {
  char byte = 'L';
  struct iovec iov;
  struct msghdr msg;
  Control u;
  memset(&u, 0, sizeof u);
  point_at(msg, iov, byte, u);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int recv_fd(int sock) {
  char byte;
  struct iovec iov;
  struct msghdr msg;
  Control u;
  point_at(msg, iov, byte, u);
  ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  struct cmsghdr *cm = n == 1 ? CMSG_FIRSTHDR(&msg) : nullptr;
  int fd = -1;
  if (cm && cm->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(cm), sizeof(int));
  return fd;
}
