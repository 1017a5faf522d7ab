// The repositories earlier walks found (lib/repository-scan.ts), kept beside
// the host-facts cache ($XDG_CACHE_HOME/sbx-native/repositories.json) and
// guarded read-only in every sandbox like it (guards.ts). A command can fill
// a root with entries so that the next walk stops at its budget before it
// reaches a vendored clone; every repository a walk ever found that is still
// there is protected all the same. The memory only adds protection: a
// forged, stale or lost file can never leave a repository the walk finds
// unprotected, and an entry is used only while its git directory is still
// where it was (layout.ts checks it through the view).
import fs from 'fs';
import path from 'path';
import { cacheFile, makeCacheDir } from './host';

/** What the memory holds for a tree: `.git` entries and bare git directories, real paths. */
export interface Remembered {
  entries: string[];
  bare: string[];
}

// A bound on the file (a home with thousands of cargo checkouts stays far below it).
const MAX_REMEMBERED = 20_000;

/** The memory's file for an environment (next to host.json, guarded with it). */
export function memoryFile(env: { XDG_CACHE_HOME?: string; HOME?: string }): string | undefined {
  const host = cacheFile(env);
  return host && path.join(path.dirname(host), 'repositories.json');
}

interface Loaded {
  stamp: string;
  entries: string[];
  bare: string[];
}
interface State {
  loaded?: Loaded;
  // What this process wrote or read there: a walk that finds nothing new writes nothing.
  known: Set<string>;
  // A write failed (read-only in this sandbox): not tried again by this process.
  unwritable?: boolean;
}
const states = new Map<string, State>();
const stateOf = (file: string): State => {
  let s = states.get(file);
  if (!s) states.set(file, (s = { known: new Set() }));
  return s;
};

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string' && path.isAbsolute(s) && !s.includes('\0')) : [];

function load(file: string): Loaded {
  const state = stateOf(file);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file, { throwIfNoEntry: false });
  } catch {
    st = undefined;
  }
  const stamp = st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : '';
  if (state.loaded?.stamp === stamp) return state.loaded;
  let entries: string[] = [];
  let bare: string[] = [];
  if (st) {
    try {
      const j = JSON.parse(fs.readFileSync(file, 'utf8'));
      entries = strings(j?.entries).filter((e) => path.basename(e) === '.git');
      bare = strings(j?.bare);
    } catch {
      /* unreadable or not ours: nothing remembered, the walk alone decides */
    }
  }
  state.loaded = { stamp, entries, bare };
  for (const e of entries) state.known.add(`e${e}`);
  for (const b of bare) state.known.add(`b${b}`);
  return state.loaded;
}

const under = (p: string, root: string) => p.startsWith(root === '/' ? '/' : `${root}/`);

/** The remembered repositories below `root`, as the file says now (sorted). */
export function rememberedUnder(file: string | undefined, root: string): Remembered {
  if (!file) return { entries: [], bare: [] };
  const m = load(file);
  return { entries: m.entries.filter((e) => under(e, root)).sort(), bare: m.bare.filter((b) => under(b, root)).sort() };
}

const present = (p: string) => {
  try {
    return !!fs.lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return false;
  }
};

/**
 * Adds what a plan's walks found. Written only when something is new to this
 * process; entries gone from the disk are dropped then. Inside a sandbox the
 * file is read-only and nothing is written (an unwritable memory only costs
 * the protection it would have added later).
 */
export function remember(file: string | undefined, found: Remembered): void {
  if (!file) return;
  const state = stateOf(file);
  if (!state.loaded) load(file);
  const { known } = state;
  const fresh = found.entries.some((e) => !known.has(`e${e}`)) || found.bare.some((b) => !known.has(`b${b}`));
  if (!fresh || state.unwritable || !makeCacheDir(file)) return;
  state.loaded = undefined;
  const m = load(file);
  const keep = (old: string[], now: string[]) => {
    const seen = new Set(now);
    const kept = old.filter((p) => !seen.has(p) && present(p));
    // The newest finds first: over the bound, the oldest are the ones dropped.
    return [...now, ...kept].slice(0, MAX_REMEMBERED);
  };
  const entries = keep(m.entries, found.entries);
  const bare = keep(
    m.bare,
    found.bare.filter((b) => present(path.join(b, 'HEAD'))),
  );
  try {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ entries, bare }), { mode: 0o600 });
    try {
      fs.renameSync(tmp, file);
      for (const e of found.entries) known.add(`e${e}`);
      for (const b of found.bare) known.add(`b${b}`);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  } catch {
    state.unwritable = true; // read-only (inside a sandbox): nothing is kept
  }
  state.loaded = undefined;
}

/** Forgets what this process read (tests that change the file under it). */
export function forgetLoaded(): void {
  states.clear();
}
