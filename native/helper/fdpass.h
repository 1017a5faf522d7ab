// Passing one fd over a unix socket (SCM_RIGHTS) with a one-byte message.
#pragma once

// 0, or -1 with errno set.
int send_fd(int sock, int fd);
// The fd received (O_CLOEXEC), or -1: nothing, or not an fd.
int recv_fd(int sock);
