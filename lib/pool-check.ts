// Whether the host still answers the planner's questions as it did when a
// pooled sandbox's plan was built (lib/pool.ts). Must cost far less than
// planning, or the pool gains nothing: each distinct question once, the
// first difference ends it.
import fs from 'fs';
import os from 'os';
import { FsView, namesHold, NamesResult, Observation, realView, recording, walkBudget, walkLimits } from './fsview';
import { native } from './native';
import { isKept } from './walk-cache';

// The host as the planner sees it, with realpath done by the C library in one
// call instead of a JavaScript walk with an lstat per component (2-3x faster
// on deep paths). Same answer for the same file system; should an error code
// ever differ, the check right after planning fails and the plan is not
// pooled (lib/pool.ts record), so a difference can only cost a pooled spawn.
const checkView: FsView = { ...realView, realpath: (p) => fs.realpathSync.native(p) };

function ask(view: FsView, o: Observation): void {
  const p = o.path!;
  switch (o.op) {
    case 'lstat':
      view.lstat(p);
      break;
    case 'stat':
      view.stat(p);
      break;
    case 'realpath':
      view.realpath(p);
      break;
    case 'readlink':
      view.readlink(p);
      break;
    case 'readdir':
      view.readdir(p);
      break;
    case 'names': // stillHolds checks these itself
      break;
    case 'readFile':
      view.readFile(p);
      break;
    case 'exists':
      view.exists(p);
      break;
    case 'identity':
      view.identity(p);
      break;
    case 'mounts':
      view.mounts();
      break;
    case 'arch':
      view.arch();
      break;
    case 'env':
      view.env(p);
      break;
    case 'uid':
      view.uid();
      break;
    case 'packageDir':
      view.packageDir();
      break;
    case 'mainScript':
      view.mainScript();
      break;
    case 'remembered':
      view.rememberedRepositories!(p);
      break;
    case 'gitWalk': // walked again: a repository made or removed anywhere in the roots since changes the plan
      view.gitWalk!(p, walkBudget(o), false, walkLimits(o));
      break;
  }
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

// The questions native/recheck.cc asks in one call, by its op letters.
const NATIVE_OPS: Partial<Record<Observation['op'], string>> = {
  lstat: 'l',
  stat: 's',
  realpath: 'r',
  readlink: 'k',
  identity: 'i',
  exists: 'x',
};
const TYPES: Record<string, string> = { dir: 'd', file: 'f', symlink: 'l', other: 'o' };

/**
 * The planner's answer to `o` as native/recheck.h encodes the host's now, or
 * undefined where it has no encoding (asked in JavaScript instead). An
 * encoding that ever differed from the host's own would only fail the check
 * right after planning (lib/pool.ts record): the plan is then not pooled.
 */
function encoded(o: Observation): string | undefined {
  const r = o.result;
  if (!NATIVE_OPS[o.op] || o.path === undefined || o.path.includes('\0')) return undefined;
  if (r !== null && typeof r === 'object') {
    const code = (r as { error?: unknown }).error;
    const errno = typeof code === 'string' ? (os.constants.errno as Record<string, number | undefined>)[code] : undefined;
    return errno === undefined ? undefined : `e${errno}`;
  }
  switch (o.op) {
    case 'lstat':
    case 'stat':
      return r === null ? 'n' : typeof r === 'string' ? TYPES[r] : undefined;
    case 'exists':
      return r === true ? 't' : r === false ? 'f' : undefined;
    case 'identity':
      return r === null ? 'n' : typeof r === 'string' ? `s${r}` : undefined;
    default: // realpath, readlink
      return typeof r === 'string' ? `s${r}` : undefined;
  }
}

interface Compiled {
  ops: string;
  paths: string[];
  expected: string[];
  /** What is asked in JavaScript: everything recheck has no encoding for. */
  rest: Observation[];
}

// Per observation list (a pooled plan's is fixed once recorded): split once.
const compiledLists = new WeakMap<readonly Observation[], Compiled>();

function compiled(observations: readonly Observation[]): Compiled {
  let c = compiledLists.get(observations);
  if (c) return c;
  c = { ops: '', paths: [], expected: [], rest: [] };
  for (const o of observations) {
    const e = encoded(o);
    if (e === undefined) {
      c.rest.push(o);
      continue;
    }
    c.ops += NATIVE_OPS[o.op];
    c.paths.push(o.path!);
    c.expected.push(e);
  }
  compiledLists.set(observations, c);
  return c;
}

/**
 * True when every observation gets the same answer from the host now.
 * `skipMounts`: the mount table is known unchanged (mountGeneration), so its
 * observation (the costliest: the kernel formats the whole table) is not re-read.
 */
export function stillHolds(observations: readonly Observation[], view: FsView = checkView, skipMounts = false): boolean {
  // The host's own view: the one-syscall questions in one native call (a
  // JavaScript fs call apiece cost more than all their syscalls together).
  const recheck = view === checkView ? native().binding.recheck : undefined;
  if (recheck) {
    const c = compiled(observations);
    if (c.ops.length > 0 && recheck.call(native().binding, c.ops, c.paths, c.expected) >= 0) return false;
    observations = c.rest;
  }
  const again = recording(view);
  const stampsHold = view === checkView ? native().binding.gitStampsHold : undefined;
  // The answers' errors are compared by code only: no stack traces to build.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const o of observations) {
      if (skipMounts && o.op === 'mounts') continue;
      if (o.op === 'names') {
        if (!namesHold(view, o.path!, o.result as NamesResult)) return false;
        continue;
      }
      // A walk's directories all as they were: it would answer the same, without walking again.
      // A walk kept under a watch is asked (one read); else each directory's stamp is checked.
      if (
        o.op === 'gitWalk' &&
        o.stamps &&
        !isKept(o.path!, walkBudget(o), walkLimits(o)) &&
        stampsHold?.call(native().binding, o.stamps.dirs, o.stamps.stamps)
      )
        continue;
      try {
        ask(again.view, o);
      } catch {
        /* noted as { error } */
      }
      if (!same(again.observations[again.observations.length - 1].result, o.result)) return false;
    }
    return true;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Each question once; undefined when the planner got two answers to one
 * question (the host changed meanwhile). The names asked of one directory
 * become one observation.
 */
export function dedupe(observations: Observation[]): Observation[] | undefined {
  const seen = new Map<string, string>();
  const names = new Map<string, { result: NamesResult; known: Map<string, boolean> }>();
  const out: Observation[] = [];
  for (const o of observations) {
    const k = `${o.op}\0${o.path ?? ''}`;
    if (o.op === 'names') {
      let n = names.get(k);
      if (!n) {
        n = { result: { present: [], absent: [] }, known: new Map() };
        names.set(k, n);
        out.push({ op: 'names', path: o.path, result: n.result });
      }
      const r = o.result as NamesResult;
      for (const [list, v] of [
        [r.present, true],
        [r.absent, false],
      ] as const) {
        for (const name of list) {
          const before = n.known.get(name);
          if (before === undefined) {
            n.known.set(name, v);
            (v ? n.result.present : n.result.absent).push(name);
          } else if (before !== v) return undefined;
        }
      }
      continue;
    }
    const r = JSON.stringify(o.result);
    const before = seen.get(k);
    if (before === undefined) {
      seen.set(k, r);
      out.push(o);
    } else if (before !== r) return undefined;
  }
  return out;
}
