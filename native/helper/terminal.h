// The terminal on stdin: whose foreground it is, and handing it over.
#pragma once
#include <sys/types.h>

struct Terminal;

// Makes `pgrp` the foreground of the terminal on `fd` (tcsetpgrp) with SIGTTOU
// blocked: from a background group the call would otherwise stop us.
int set_foreground(int fd, pid_t pgrp);
// Gives the terminal back to whoever had it in the foreground (the Node
// program), so it can go on using it after an interactive command.
void restore_terminal(const Terminal &tty);
// Is the terminal's foreground the caller's group (after fg, not bg)? Only
// a process outside the pid namespace can tell: inside, every group of the
// caller's reads as 0.
bool caller_in_foreground(const Terminal &tty);
