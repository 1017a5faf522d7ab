// The prebuilt addon and helper for this machine (prebuilds/linux-ARCH), as
// `npm run build:prebuilds` makes them: built once per change of native/,
// shared by the tests that need them (package, docs), one builder at a time.
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { repoRoot, userLabel } from './helpers';

export const prebuildDir = path.join(repoRoot, 'prebuilds', `linux-${process.arch}`);

/** Newest mtime among the files the prebuilds are built from. */
function newestSource(): number {
  let newest = fs.statSync(path.join(repoRoot, 'binding.gyp')).mtimeMs;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  walk(path.join(repoRoot, 'native'));
  return newest;
}

export function prebuildState(): 'missing' | 'stale' | 'fresh' {
  const helper = path.join(prebuildDir, 'sbx-helper');
  const addon = fs.existsSync(prebuildDir) ? fs.readdirSync(prebuildDir).find((f) => f.endsWith('.node')) : undefined;
  if (!addon || !fs.existsSync(helper)) return 'missing';
  const built = Math.min(fs.statSync(helper).mtimeMs, fs.statSync(path.join(prebuildDir, addon)).mtimeMs);
  return built < newestSource() ? 'stale' : 'fresh';
}

function canWrite(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Builds the prebuild when it is missing or older than native/; undefined, or why it cannot be had. */
export function ensurePrebuild(): string | undefined {
  const lock = path.join(os.tmpdir(), `sbx-native-prebuild-${process.getuid?.()}.lock`);
  for (let waited = 0; ; waited += 500) {
    if (prebuildState() === 'fresh') return undefined;
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (waited > 300_000) return `another test has been building the prebuild for 5 minutes (${lock})`;
      sleep(500);
    }
  }
  try {
    const state = prebuildState();
    if (state === 'fresh') return undefined;
    if (!canWrite(repoRoot) || (fs.existsSync(path.join(repoRoot, 'prebuilds')) && !canWrite(path.join(repoRoot, 'prebuilds')))) {
      return (
        `the linux-${process.arch} prebuild is ${state} and ${userLabel} cannot write ${path.join(repoRoot, 'prebuilds')}: ` +
        'run `npm run build:prebuilds` first (npm test builds it in the root pass)'
      );
    }
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-prebuilds.js'), '--arch', process.arch], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 240_000,
    });
    if (r.status !== 0) throw new Error(`build-prebuilds failed: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    return undefined;
  } finally {
    fs.rmdirSync(lock);
  }
}
