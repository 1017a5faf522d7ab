// The in-memory host answers as the real file system does: each golden case's
// tree is also made on disk (under a temporary directory), and every question
// the planner asked the in-memory view about it is asked again of the real
// one (lib/fsview.ts realView) with the same answer expected. And a plan's
// observations recorded on the real host, re-checked as the host changes.
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { changedObservations, realView, recording } from '../../lib/fsview';
import { buildPlan } from '../../lib/plan';
import { resolvePolicy } from '../../lib/policy';
import { CASES, GoldenCase } from './cases';
import { memView } from './memfs';
import { render } from './render';

const top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-planner-parity-')));
afterAll(() => fs.rmSync(top, { recursive: true, force: true }));

/** The case with its home and package moved under `prefix` (the rest of the host stays where it is, and is not compared). */
function moved(c: GoldenCase, prefix: string): GoldenCase {
  const text = JSON.stringify(c).replace(/(["\s])\/(home\/u|opt\/sbx-native)\b/g, `$1${prefix}/$2`);
  return JSON.parse(text);
}

function materialize(c: GoldenCase, prefix: string): void {
  for (const [p, e] of Object.entries(c.host.tree)) {
    if (!p.startsWith(prefix + '/')) continue;
    if (typeof e === 'object' && 'dir' in e) {
      fs.mkdirSync(p, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof e === 'string') fs.writeFileSync(p, e);
    else fs.symlinkSync(e.symlink, p);
  }
}

const FS_OPS = new Set(['lstat', 'stat', 'realpath', 'readlink', 'readdir', 'names', 'readFile', 'exists']);

describe('in-memory host vs the real file system', () => {
  for (const original of CASES) {
    it(original.name, () => {
      const prefix = path.join(top, original.name);
      const c = moved(original, prefix);
      materialize(c, prefix);
      const rec = recording(memView(c.host));
      render(c, rec.view);
      const asked = rec.observations.filter((o) => FS_OPS.has(o.op) && o.path !== undefined && o.path.startsWith(prefix + '/'));
      expect(asked.length).toBeGreaterThan(0);
      expect(changedObservations(asked, realView)).toEqual([]);
    });
  }

  it('a plan recorded on the real host re-checks clean, and notices a new protected name and a swapped directory', () => {
    const proj = path.join(top, 'recorded', 'proj');
    fs.mkdirSync(path.join(proj, 'src'), { recursive: true });
    const rec = recording(realView);
    const policy = resolvePolicy(
      { writableRoots: [proj], readOnly: [path.join(proj, 'src')], tmp: 'none' },
      proj,
      { HOME: path.join(top, 'recorded') },
      rec.view,
    );
    buildPlan({
      policy,
      file: '/bin/true',
      argv: ['true'],
      env: [],
      cwd: proj,
      uid: 1000,
      gid: 1000,
      landlockAbi: 6,
      mounts: rec.view.mounts(),
      exists: rec.view.exists,
      identity: rec.view.identity,
      view: rec.view,
    });
    expect(changedObservations(rec.observations, realView)).toEqual([]);

    fs.mkdirSync(path.join(proj, '.vscode'));
    expect(changedObservations(rec.observations, realView)).toContainEqual(expect.objectContaining({ op: 'names', path: proj }));
    fs.rmSync(path.join(proj, '.vscode'), { recursive: true });
    expect(changedObservations(rec.observations, realView)).toEqual([]);

    fs.renameSync(path.join(proj, 'src'), path.join(proj, 'src-old'));
    fs.mkdirSync(path.join(proj, 'src'));
    expect(changedObservations(rec.observations, realView)).toContainEqual(
      expect.objectContaining({ op: 'identity', path: path.join(proj, 'src') }),
    );
  });
});
