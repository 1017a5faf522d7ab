#pragma once
#include <string>
#include <vector>

// Moves this (single-threaded) process into its own user and mount namespace
// whose root holds only `reads` (proxy_jail.cc). 0, or an errno and `what`.
int proxy_jail(const std::vector<std::string> &reads, std::string *what);
