// Init's own mount table, as /proc/self/mountinfo lists it (mount points
// relative to init's root: the sandbox's paths).
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

struct MountLine {
  dev_t dev;          // field 3, major:minor
  std::string point;  // field 5, unescaped
  std::string type;   // the field after " - "
};

// False when the table could not be read whole (`out` then holds what was).
bool read_mountinfo(std::vector<MountLine> &out);

// Whether `path` is `dir` or lies below it (both absolute, without "." or "..").
bool at_or_below(const std::string &path, const std::string &dir);
