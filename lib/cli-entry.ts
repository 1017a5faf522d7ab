// The CLI's entry (bin/sbx-native.js). A CLI start is mostly Node loading our
// code: resolving some 30 modules and compiling them. The build
// (scripts/bundle-cli.js) makes dist/cli.bundle.js, all of dist/ and
// node-gyp-build in one file, and V8's code caches for it: dist/cli.bundle.cache
// trained on `exec`, dist/cli.bundle.bwrap.cache on the bwrap front end (V8
// deserializes all of a cache at every start, so each entry takes only what
// it runs). All are package files, guarded read-only in every sandbox like the rest
// of dist/, and nothing here ever writes one. Without them, or when a file the
// bundle was made from is newer than it (tsc ran after the bundle), the CLI runs
// from dist/cli.js as tsc left it. V8 refuses a cache made by another V8 or
// with other flags (then it compiles as usual).
import fs from 'fs';
import path from 'path';
import vm from 'vm';
import { restoreStashed } from './bwrap/shim-env';

export const BUNDLE = path.join(__dirname, 'cli.bundle.js');
export const CACHE = path.join(__dirname, 'cli.bundle.cache');
export const BWRAP_CACHE = path.join(__dirname, 'cli.bundle.bwrap.cache');

/** The code cache made for the command `argv` starts (scripts/bundle-cli.js trains one per entry). */
export function cacheFile(argv: string[]): string {
  return argv[0] === 'bwrap' ? BWRAP_CACHE : CACHE;
}

type Cli = typeof import('./cli');

/**
 * The bundle's text and id, unless it is missing or a source listed on its
 * second line is newer. The id (first line) is a hash of the text made by
 * the build; the cache starts with the id of the bundle it was made for,
 * since V8 only compares the source's length.
 */
export function freshBundle(): { text: string; id: string } | undefined {
  let text: string, made: number;
  try {
    text = fs.readFileSync(BUNDLE, 'latin1'); // ASCII (scripts/bundle-cli.js checks): no UTF-8 decoding
    made = fs.statSync(BUNDLE).mtimeMs;
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

/** Compiles the bundle (with `cache` when given), runs its top level and returns the CLI module and the script. */
export function loadBundle(text: string, cache?: Buffer): { cli: Cli; script: vm.Script } {
  const script = new vm.Script(text, { filename: BUNDLE, cachedData: cache });
  const start = script.runInThisContext() as (req: NodeRequire, dist: string) => Cli;
  // This module's own require resolves as one made for BUNDLE would: both are files of dist/.
  return { cli: start(require, __dirname), script };
}

function cli(argv: string[]): Cli {
  const b = freshBundle();
  if (!b) return require('./cli') as Cli;
  return loadBundle(b.text, cacheFor(cacheFile(argv), b.id)).cli;
}

export function main(argv: string[]): void {
  // bin/sbx-native.js run by sh set Node's start-up variables aside: the
  // command's environment is the caller's again before anything reads it.
  restoreStashed(process.env);
  cli(argv).main(argv);
}
