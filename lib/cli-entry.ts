// The CLI's entry (bin/sbx-native.js), and the installed bwrap's (Node runs
// this file itself: `node dist/cli-entry.js bwrap ARGS`). A CLI start is
// mostly Node loading our code: resolving modules and compiling them. The
// build (scripts/bundle-cli.js) makes two bundles, each the modules one entry
// can reach in one file, and V8's code cache for each: dist/cli.bundle.js
// (from cli.js) with dist/cli.bundle.cache trained on `exec`, and
// dist/bwrap.bundle.js (from bwrap/run.js: no exec options, no configs) with
// dist/bwrap.bundle.cache trained on the front end. All are package files,
// guarded read-only in every sandbox like the rest of dist/, and nothing here
// ever writes one. Without them, or when a file a bundle was made from is
// newer than it (tsc ran after the bundle), the entry runs from dist/ as tsc
// left it. V8 refuses a cache made by another V8 or with other flags (then it
// compiles as usual). This file requires no other file of dist/: each one
// would be resolved, read and compiled before the bundle.
import fs from 'fs';
import path from 'path';
import vm from 'vm';

/** Each entry's bundle, its code cache, and the module it starts from (also the fallback in dist/). */
export const BUNDLES = {
  cli: { file: path.join(__dirname, 'cli.bundle.js'), cache: path.join(__dirname, 'cli.bundle.cache'), root: 'cli.js' },
  bwrap: { file: path.join(__dirname, 'bwrap.bundle.js'), cache: path.join(__dirname, 'bwrap.bundle.cache'), root: 'bwrap/run.js' },
} as const;
export type BundleKind = keyof typeof BUNDLES;

// Environment variables Node itself acts on when it starts. The installed
// bwrap shim (bwrap/install.ts) and bin/sbx-native.js move each one that is
// set to SBX_BWRAP_ENV_<NAME> before they start Node, and restoreStashed moves
// it back before the argv is read: the command's environment is the caller's,
// while the CLI's own Node neither pays for them (NODE_EXTRA_CA_CERTS makes
// every Node start parse each certificate of the bundle it names: with
// Debian's, most of a start) nor runs what they ask (NODE_OPTIONS=--require).
// One list for all of them (bwrap/shim-env.ts re-exports it).
export const NODE_START_VARS = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'] as const;

const stashed = (name: string) => `SBX_BWRAP_ENV_${name}`;

/** The shim's lines that move the variables aside (POSIX sh; a set but empty variable is kept as set). */
export function stashLines(): string {
  return NODE_START_VARS.map((v) => `if [ "\${${v}+set}" = set ]; then ${stashed(v)}=$${v}; export ${stashed(v)}; unset ${v}; fi\n`).join(
    '',
  );
}

/** Puts the stashed variables back into `env` (the command's environment to be) and drops the stash. */
export function restoreStashed(env: Record<string, string | undefined>): void {
  for (const v of NODE_START_VARS) {
    const k = stashed(v);
    if (!(k in env)) continue;
    env[v] = env[k];
    delete env[k];
  }
}

type Cli = typeof import('./cli');
type BwrapRun = typeof import('./bwrap/run');
type Root<K extends BundleKind> = K extends 'cli' ? Cli : BwrapRun;

/**
 * The bundle's text and id, unless it is missing or a source listed on its
 * second line is newer. The id (first line) is a hash of the text made by
 * the build; the cache starts with the id of the bundle it was made for,
 * since V8 only compares the source's length.
 */
export function freshBundle(kind: BundleKind = 'cli'): { text: string; id: string } | undefined {
  const file = BUNDLES[kind].file;
  let text: string, made: number;
  try {
    text = fs.readFileSync(file, 'latin1'); // ASCII (scripts/bundle-cli.js checks): no UTF-8 decoding
    made = fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  const m = /^\/\/ bundle ([0-9a-f]{16})\n\/\/ sources: (.*)\n/.exec(text.slice(0, text.indexOf('\n', text.indexOf('\n') + 1) + 1));
  if (!m) return undefined;
  // An installed copy (under node_modules) is used as packed: npm does not keep
  // file times when it unpacks, and nobody compiles there. A clone is checked.
  if (__dirname.split(path.sep).includes('node_modules')) return { text, id: m[1] };
  for (const rel of JSON.parse(m[2]) as string[]) {
    const st = fs.statSync(path.join(__dirname, rel), { throwIfNoEntry: false });
    if (!st || st.mtimeMs > made) return undefined;
  }
  return { text, id: m[1] };
}

/** The V8 data of `file` when it was made for the bundle `id`. */
function cacheFor(file: string, id: string): Buffer | undefined {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  return b.subarray(0, 17).toString('latin1') === `${id}\n` ? b.subarray(17) : undefined;
}

/** Compiles a bundle (with `cache` when given), runs its top level and returns its root module and the script. */
export function loadBundle<K extends BundleKind>(kind: K, text: string, cache?: Buffer): { root: Root<K>; script: vm.Script } {
  const script = new vm.Script(text, { filename: BUNDLES[kind].file, cachedData: cache });
  const start = script.runInThisContext() as (req: NodeRequire, dist: string, entryExports: object) => Root<K>;
  // This module's own require resolves as one made for the bundle would: both are files of dist/.
  // A bundled module that requires this one gets these exports without a second resolve.
  return { root: start(require, __dirname, exports), script };
}

function entry<K extends BundleKind>(kind: K): Root<K> {
  const b = freshBundle(kind);
  if (!b) return require(`./${BUNDLES[kind].root}`) as Root<K>;
  return loadBundle(kind, b.text, cacheFor(BUNDLES[kind].cache, b.id)).root;
}

export function main(argv: string[]): void {
  // Started by sh (bin/sbx-native.js, the bwrap shim), Node's start-up
  // variables were set aside: the command's environment is the caller's
  // again before anything reads it.
  restoreStashed(process.env);
  if (argv[0] === 'bwrap') entry('bwrap').bwrapMain(argv.slice(1));
  else entry('cli').main(argv);
}

// The installed bwrap runs this file itself, with `bwrap` first.
if (require.main === module) main(process.argv.slice(2));
