// Whether the host still answers the planner's questions as it did when a
// pooled sandbox's plan was built (lib/pool.ts). Must cost far less than
// planning, or the pool gains nothing: each distinct question once, the
// first difference ends it.
import { FsView, Observation, realView, recording } from './fsview';

function ask(view: FsView, o: Observation): void {
  const p = o.path!;
  switch (o.op) {
    case 'lstat': view.lstat(p); break;
    case 'stat': view.stat(p); break;
    case 'realpath': view.realpath(p); break;
    case 'readlink': view.readlink(p); break;
    case 'readdir': view.readdir(p); break;
    case 'readFile': view.readFile(p); break;
    case 'exists': view.exists(p); break;
    case 'identity': view.identity(p); break;
    case 'mounts': view.mounts(); break;
    case 'arch': view.arch(); break;
    case 'env': view.env(p); break;
    case 'uid': view.uid(); break;
    case 'packageDir': view.packageDir(); break;
    case 'mainScript': view.mainScript(); break;
  }
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** True when every observation gets the same answer from the host now. */
export function stillHolds(observations: readonly Observation[], view: FsView = realView): boolean {
  const again = recording(view);
  for (const o of observations) {
    try { ask(again.view, o); } catch { /* noted as { error } */ }
    if (!same(again.observations[again.observations.length - 1].result, o.result)) return false;
  }
  return true;
}

/** Each question once; undefined when the planner got two answers to one question (the host changed meanwhile). */
export function dedupe(observations: Observation[]): Observation[] | undefined {
  const seen = new Map<string, string>();
  const out: Observation[] = [];
  for (const o of observations) {
    const k = `${o.op}\0${o.path ?? ''}`;
    const r = JSON.stringify(o.result);
    const before = seen.get(k);
    if (before === undefined) {
      seen.set(k, r);
      out.push(o);
    } else if (before !== r) return undefined;
  }
  return out;
}
