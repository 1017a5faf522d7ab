// Guards: the paths that decide what a later sandbox is (sbx-native's own
// files and dependencies, the host-facts cache, the config files in use).
// policy.ts puts them in the resolved policy; layout.ts keeps each read-only
// wherever it falls in a writable area, and refuses creating a missing one.
import path from 'path';
import { FsView, realOrUndefined, realView } from './fsview';
import { cacheFile } from './host';
import { memoryFile } from './repository-memory';

/**
 * A path that decides what a later sandbox is (sbx-native's own files, the
 * host-facts cache, the config files in use): kept read-only wherever it
 * falls in a writable area, and refused when it does not exist yet. Never
 * revealed from under a deny-read path. Logical path: layout.ts resolves it.
 */
export interface Guard {
  path: string;
  why: string;
}

/**
 * Internal: extra guards on a SandboxPolicy object (the CLI puts its config
 * files here). A symbol, so it is neither a policy key nor in JSON.
 */
export const EXTRA_GUARDS = Symbol.for('sbx-native.guards');

const RUNTIME_DEPENDENCIES = ['node-gyp-build', 'node-addon-api', 'smol-toml'];

// Per view: the real one answers the same for the life of the process; a
// recording view is new for each plan, so what it observes is all recorded.
const selfCache = new WeakMap<FsView, Guard[]>();

/**
 * What the next run of sbx-native executes or reads to decide its policy:
 * the running copy (see packageGuards) and the names that lead to it: the
 * node_modules/.bin/sbx-native entry and, when the CLI runs, the package
 * name it came through (pnpm's node_modules/sbx-native is a symlink). And
 * every other installed copy that `npx sbx-native` from `cwd` would find
 * (a node_modules/sbx-native in the cwd or above it), with its dependencies.
 */
export function selfGuards(cwd: string, view: FsView = realView): Guard[] {
  const real = (p: string) => realOrUndefined(view, p);
  let cached = selfCache.get(view);
  if (!cached) {
    const logical = view.packageDir();
    const pkg = real(logical) ?? logical;
    const out = packageGuards(pkg, view);
    const names = new Set([logical, pkg]);
    // The CLI's own entry: process.argv[1] is the path it was started by, symlinks unresolved.
    const main = view.mainScript();
    if (main && path.isAbsolute(main) && real(main) === real(path.join(pkg, 'bin', 'sbx-native.js'))) {
      if (path.basename(path.dirname(main)) === '.bin') {
        out.push({ path: main, why: "sbx-native's .bin entry" });
        names.add(path.join(path.dirname(path.dirname(main)), 'sbx-native'));
      } else names.add(path.dirname(path.dirname(main)));
    }
    for (const name of names) {
      if (path.basename(path.dirname(name)) !== 'node_modules') continue;
      if (name !== pkg) out.push({ path: name, why: "sbx-native's package name" });
      out.push({ path: path.join(path.dirname(name), '.bin', 'sbx-native'), why: "sbx-native's .bin entry" });
    }
    selfCache.set(view, out);
    cached = out;
  }
  const out = [...cached];
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    const name = path.join(dir, 'node_modules', 'sbx-native');
    const copy = real(name);
    if (copy && !out.some((g) => g.path === copy)) {
      out.push(
        { path: name, why: "sbx-native's package name" },
        { path: path.join(dir, 'node_modules', '.bin', 'sbx-native'), why: "sbx-native's .bin entry" },
      );
      out.push(...packageGuards(copy, view));
    }
    if (dir === path.dirname(dir)) return out;
  }
}

/**
 * The node_modules directories Node searches for a package required from a
 * module in `dir`, nearest first (what Module._nodeModulePaths returns;
 * test/guards-lookup.test.ts compares them): `dir`/node_modules and each
 * ancestor's, except below a directory that is itself named node_modules.
 * Written out because the 'module' builtin costs a cold CLI start ~0.6 ms.
 */
export function nodeModulePaths(dir: string): string[] {
  const out: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (path.basename(d) !== 'node_modules') out.push(path.join(d, 'node_modules'));
    if (d === path.dirname(d)) return out;
  }
}

/**
 * One copy of sbx-native (its real directory): installed (under a
 * node_modules), the whole directory; a clone: package.json, bin, dist,
 * build and prebuilds (the addon and helper), node_modules. Then its runtime
 * dependencies where Node finds them from dist/, and every node_modules
 * before that where a planted copy would be found first.
 */
function packageGuards(pkg: string, view: FsView): Guard[] {
  const why = 'sbx-native itself';
  const out: Guard[] = pkg.split(path.sep).includes('node_modules')
    ? [{ path: pkg, why }]
    : ['package.json', 'bin', 'dist', 'build', 'prebuilds', 'node_modules'].map((n) => ({ path: path.join(pkg, n), why }));
  const lookup = nodeModulePaths(path.join(pkg, 'dist'));
  for (const dep of RUNTIME_DEPENDENCIES) {
    for (const dir of lookup) {
      const p = path.join(dir, dep);
      out.push({ path: p, why: `sbx-native's dependency ${dep}` });
      let found = false;
      try {
        found = !!view.lstat(p);
      } catch {
        /* not searchable: Node cannot find it there either */
      }
      if (found) break;
    }
  }
  return out;
}

/**
 * The host-facts cache and the memory of found repositories, wherever this
 * process or a later one with the command's environment would look.
 */
export function cacheGuards(env: NodeJS.ProcessEnv, view: FsView = realView): Guard[] {
  const own = { XDG_CACHE_HOME: view.env('XDG_CACHE_HOME'), HOME: view.env('HOME') };
  const envs = [own, env, { HOME: env.HOME }, { HOME: own.HOME }];
  const out = new Map<string, string>();
  for (const e of envs) {
    const host = cacheFile(e);
    const memory = memoryFile(e);
    if (host) out.set(host, 'the host-facts cache');
    if (memory) out.set(memory, 'the memory of found repositories');
  }
  return [...out].map(([p, why]) => ({ path: p, why }));
}
