#pragma once
#include <string>
#include <vector>

// The warm pool's re-check of what a plan was built from (lib/pool-check.ts),
// for the questions that are one syscall each: asked in one call instead of
// one JavaScript fs call apiece.
//
// ops[i] says what to ask of paths[i]: 'l' lstat, 's' stat, 'r' realpath(3),
// 'k' readlink, 'i' identity (lstat's dev:ino), 'x' access(F_OK). The answer
// is encoded as lib/pool-check.ts encodes the planner's: a file type
// ("d", "f", "l", "o"), "n" for a path that is not there (where fs returns
// undefined), "t"/"f" for exists, "s" and the string for realpath, readlink
// and identity, "e" and the errno for an error fs would throw.
//
// Returns the index of the first answer that differs from expected[i], or -1.
int sbx_recheck(const std::string &ops, const std::vector<std::string> &paths,
                const std::vector<std::string> &expected);

// One lstat as the planner's per-plan view uses it (lib/fsview.ts
// onePlanView): "n" (absent), "e" and the errno, or a type letter ("d", "f",
// "l", "o") followed by "dev:ino". One call instead of fs.lstatSync, which
// builds a Stats object with four Dates per path.
std::string sbx_lstat_answer(const std::string &path);
