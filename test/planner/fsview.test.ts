// The planner's view of the host (lib/fsview.ts): a recording view notes
// every question the planner asks, as data, and a re-check of those notes
// finds what changed since. Also: arch and identities come from the view.
import { describe, expect, it } from 'vitest';
import { loadDiscoveredConfig, refuseReexposure } from '../../lib/config-trust';
import { changedObservations, recording } from '../../lib/fsview';
import { buildPlan } from '../../lib/plan';
import { resolvePolicy } from '../../lib/policy';
import { CASES } from './cases';
import { DIR, memView } from './memfs';
import { render } from './render';

const byName = (n: string) => CASES.find((c) => c.name === n)!;

describe('recording view', () => {
  it('plans exactly as the view it wraps, and records every case as plain JSON', () => {
    for (const c of CASES) {
      const rec = recording(memView(c.host));
      expect(render(c, rec.view), c.name).toEqual(render(c, memView(c.host)));
      expect(rec.observations.length, c.name).toBeGreaterThan(0);
      expect(JSON.parse(JSON.stringify(rec.observations))).toEqual(rec.observations);
    }
  });

  it('a re-check of an unchanged host finds nothing; a new or removed protected name is found', () => {
    const c = byName('two-roots-under-home');
    const host = memView(c.host);
    const rec = recording(host);
    render(c, rec.view);
    expect(changedObservations(rec.observations, host)).toEqual([]);

    host.put('/home/u/a/.codex', DIR);
    expect(changedObservations(rec.observations, host)).toContainEqual(expect.objectContaining({ op: 'names', path: '/home/u/a' }));
    host.remove('/home/u/a/.codex');
    expect(changedObservations(rec.observations, host)).toEqual([]);
    // A name nobody asked about (a project file) is no fact the plan rests on.
    host.put('/home/u/a/notes.txt', 'x');
    host.put('/home/u/a/build', DIR);
    expect(changedObservations(rec.observations, host)).toEqual([]);

    host.remove('/home/u/b/.vscode');
    const changed = changedObservations(rec.observations, host);
    expect(changed).toContainEqual(expect.objectContaining({ op: 'names', path: '/home/u/b' }));
    expect(changed).toContainEqual(expect.objectContaining({ op: 'lstat', path: '/home/u/b/.vscode', result: 'dir' }));
  });

  it('a symlink retargeted after planning is found (readlink), and errors are recorded as codes', () => {
    const c = byName('symlinked-protected-name');
    const host = memView(c.host);
    const rec = recording(host);
    render(c, rec.view);
    expect(rec.observations).toContainEqual({ op: 'readlink', path: '/home/u/proj/.vscode', result: 'shared/vscode' });
    expect(rec.observations.some((o) => typeof o.result === 'object' && o.result !== null && 'error' in o.result)).toBe(true);
    host.put('/home/u/proj/.vscode', { symlink: '/etc' });
    expect(changedObservations(rec.observations, host)).toContainEqual(
      expect.objectContaining({ op: 'readlink', path: '/home/u/proj/.vscode' }),
    );
  });

  it('buildPlan takes the architecture, mounts, existence and identities from the view', () => {
    const c = byName('two-roots-under-home');
    const plan = (arch: string) => {
      const rec = recording(memView({ ...c.host, arch }));
      const policy = resolvePolicy(c.policy, c.cwd, c.env, rec.view);
      const steps = buildPlan({
        policy,
        file: '/bin/true',
        argv: ['true'],
        env: [],
        cwd: c.cwd,
        uid: 1000,
        gid: 1000,
        landlockAbi: 6,
        mounts: rec.view.mounts(),
        exists: rec.view.exists,
        identity: rec.view.identity,
        view: rec.view,
      }).steps;
      return { steps, ops: new Set(rec.observations.map((o) => o.op)), observations: rec.observations };
    };
    const x64 = plan('x64');
    const arm = plan('arm64');
    for (const op of ['arch', 'mounts', 'exists', 'identity', 'names', 'realpath', 'env', 'uid', 'packageDir'])
      expect(x64.ops.has(op as never), op).toBe(true);
    expect(arm.observations).toContainEqual({ op: 'arch', result: 'arm64' });
    expect(JSON.stringify(arm.steps)).not.toBe(JSON.stringify(x64.steps)); // the seccomp program is per architecture
    expect(() => plan('riscv64')).toThrow(/no seccomp filter for architecture riscv64/);
  });

  it('config trust reads a discovered file and resolves hidden paths through the view', () => {
    const host = memView({
      tree: {
        '/home/u/proj/sbx-native.json': JSON.stringify({ readOnly: ['/home/u/via-link/public'] }),
        '/home/u/secret/public': DIR,
        '/home/u/via-link': { symlink: 'secret' },
      },
    });
    const rec = recording(host);
    const found = loadDiscoveredConfig('sbx-native.json', '/home/u/proj', undefined, {}, rec.view);
    expect(found.policy.readOnly).toEqual(['/home/u/via-link/public']);
    // Only the view knows that via-link leads into the hidden directory.
    expect(() => refuseReexposure([found], { denyRead: ['/home/u/secret'], network: true }, {}, rec.view)).toThrow(
      /hidden by a deny-read path/,
    );
    expect(rec.observations).toContainEqual({ op: 'realpath', path: '/home/u/via-link/public', result: '/home/u/secret/public' });
    expect(rec.observations[0]).toMatchObject({ op: 'readFile', path: '/home/u/proj/sbx-native.json' });
  });
});
