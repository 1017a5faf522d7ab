// The addon file of a local build, found as node-gyp-build would find it,
// without loading node-gyp-build: its resolve starts with
// `require(package.json)` (only to read the name for its SBX_NATIVE_PREBUILD
// override), and a process's first JSON require costs ~2 ms, a few percent of
// a CLI start (benchmark/cli-phases.js). Whatever this does not settle (an
// override, PREBUILDS_ONLY, no build/Release, no .node in it) is left to
// node-gyp-build, so its choice and its errors stay the same.
import fs from 'fs';
import path from 'path';

/**
 * build/Release's first `.node` file in readdir order, as node-gyp-build
 * picks it before it looks anywhere else; undefined when node-gyp-build must
 * decide.
 */
export function localBuild(root: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SBX_NATIVE_PREBUILD || env.PREBUILDS_ONLY) return undefined;
  const dir = path.join(root, 'build', 'Release');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  const first = names.find((n) => /\.node$/.test(n));
  return first === undefined ? undefined : path.join(dir, first);
}
