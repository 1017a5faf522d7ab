// The pool's re-check asks the one-syscall questions (lstat, stat, realpath,
// readlink, identity, exists) in one native call (native/recheck.cc). It
// must give exactly the answers the planner's view gives, before and after
// every kind of host change: same answer, the plan holds; another, it does not.
import fs from 'fs';
import path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { changedObservations, Observation, realView, recording } from '../lib/fsview';
import { native } from '../lib/native';
import { stillHolds } from '../lib/pool-check';
import { isRoot, rmTree, tempDir, userLabel } from './helpers';

const OPS = ['lstat', 'stat', 'realpath', 'readlink', 'identity', 'exists'] as const;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) {
    for (const p of [d, path.join(d, 'locked')]) if (fs.existsSync(p)) fs.chmodSync(p, 0o755);
    rmTree(d);
  }
});

/** A tree with one of each kind of answer: a directory, a file, symlinks (to each, dangling, a loop), a path through a file, a locked directory. */
function tree(): string {
  const d = tempDir('sbx-recheck-');
  dirs.push(d);
  fs.mkdirSync(path.join(d, 'dir'));
  fs.writeFileSync(path.join(d, 'file'), 'x');
  fs.symlinkSync('dir', path.join(d, 'to-dir'));
  fs.symlinkSync('file', path.join(d, 'to-file'));
  fs.symlinkSync('missing', path.join(d, 'dangling'));
  fs.symlinkSync('loop', path.join(d, 'loop'));
  fs.mkdirSync(path.join(d, 'locked'));
  fs.writeFileSync(path.join(d, 'locked', 'inside'), 'x');
  fs.chmodSync(path.join(d, 'locked'), 0);
  return d;
}

const NAMES = ['dir', 'file', 'to-dir', 'to-file', 'dangling', 'loop', 'missing', 'file/below', 'locked/inside', 'dir/.', 'to-dir/..'];

/** Every question of every name, answered by the planner's view, as the pool records them. */
function observe(d: string): Observation[] {
  const rec = recording(realView);
  const ask: Record<(typeof OPS)[number], (p: string) => unknown> = {
    lstat: (p) => rec.view.lstat(p),
    stat: (p) => rec.view.stat(p),
    realpath: (p) => rec.view.realpath(p),
    readlink: (p) => rec.view.readlink(p),
    identity: (p) => rec.view.identity(p),
    exists: (p) => rec.view.exists(p),
  };
  for (const name of NAMES)
    for (const op of OPS) {
      try {
        ask[op](path.join(d, name));
      } catch {
        /* noted as { error } */
      }
    }
  rec.view.identity('/dev/null'); // a character device: 'other' for lstat
  rec.view.lstat('/dev/null');
  return rec.observations;
}

// Host changes that change some answers and not others.
const CHANGES: [string, (d: string) => void][] = [
  ['a file replaced by a directory', (d) => (fs.rmSync(path.join(d, 'file')), fs.mkdirSync(path.join(d, 'file')))],
  ['a directory replaced by a symlink', (d) => (fs.rmdirSync(path.join(d, 'dir')), fs.symlinkSync('file', path.join(d, 'dir')))],
  ['a symlink retargeted', (d) => (fs.rmSync(path.join(d, 'to-file')), fs.symlinkSync('dir', path.join(d, 'to-file')))],
  ['a dangling symlink given its target', (d) => fs.writeFileSync(path.join(d, 'missing'), 'y')],
  [
    'a file renamed over (same type, new inode)',
    (d) => (fs.writeFileSync(path.join(d, 'new'), 'z'), fs.renameSync(path.join(d, 'new'), path.join(d, 'file'))),
  ],
  ['a file removed', (d) => fs.rmSync(path.join(d, 'file'))],
  // Root reads a locked directory anyway: the change is one only for others.
  ...(isRoot
    ? []
    : ([['a locked directory opened', (d: string) => fs.chmodSync(path.join(d, 'locked'), 0o755)]] as [string, (d: string) => void][])),
];

describe(`the pool's native re-check (${userLabel})`, () => {
  it('is in the addon', () => {
    expect(typeof native().binding.recheck).toBe('function');
  });

  it('gives the planner view its own answers on an unchanged host, each kind of answer included', () => {
    const d = tree();
    const obs = observe(d);
    const results = obs.map((o) => JSON.stringify(o.result));
    // Every kind the encoding knows is among them (as nobody the locked directory answers EACCES; root reads it anyway).
    for (const kind of [
      '"dir"',
      '"file"',
      '"symlink"',
      '"other"',
      'null',
      'true',
      'false',
      '{"error":"ENOENT"}',
      '{"error":"ENOTDIR"}',
      '{"error":"ELOOP"}',
      '{"error":"EINVAL"}',
    ])
      expect(results).toContain(kind);
    if (!isRoot) expect(results).toContain('{"error":"EACCES"}');
    for (const o of obs) expect([o, stillHolds([o])]).toEqual([o, true]);
  });

  for (const [what, change] of CHANGES) {
    it(`after ${what}, says of each question what the planner's view says`, () => {
      const d = tree();
      const obs = observe(d);
      change(d);
      const changed = new Set(changedObservations(obs, realView));
      expect(changed.size).toBeGreaterThan(0); // the change changes something
      expect(changed.size).toBeLessThan(obs.length); // and not everything
      for (const o of obs) expect([o, stillHolds([o])]).toEqual([o, !changed.has(o)]);
      expect(stillHolds(obs)).toBe(false);
    });
  }

  it('finds the first difference in one call, and -1 when there is none', () => {
    const d = tree();
    const b = native().binding;
    const file = path.join(d, 'file');
    expect(b.recheck!('lsx', [file, path.join(d, 'to-dir'), path.join(d, 'missing')], ['f', 'd', 'f'])).toBe(-1);
    expect(b.recheck!('lsx', [file, path.join(d, 'to-dir'), path.join(d, 'missing')], ['f', 'l', 'f'])).toBe(1);
    expect(b.recheck!('k', [path.join(d, 'to-dir')], ['sdir'])).toBe(-1);
    expect(b.recheck!('?', [file], ['f'])).toBe(0); // an op it does not know never matches
    expect(b.recheck!('ll', [file], ['f', 'f'])).toBe(1); // fewer paths than ops: a difference
  });
});
