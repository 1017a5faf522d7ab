// Many read-only carve-outs in one root: from 16 on, the plan pins them with
// clones of a copy of the root's mount (pin_from) instead of the mount itself
// (cloning from it scans every pin already attached: quadratic). The same
// enforcement either way: each carve-out is read-only (EROFS), the rest of the
// root writable, and a carve-out swapped after planning fails the setup.
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare, run, SandboxedProcess, SETUP_FAILED } from '../lib';
import { probe, repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';

const N = 40;

describe(`${N} read-only carve-outs in one root (as ${userLabel})`, () => {
  let H: string, W: string, carves: string[];
  beforeAll(() => {
    H = tempDir('sbx-carve-');
    W = path.join(H, 'w');
    carves = Array.from({ length: N }, (_, i) => path.join(W, `c${String(i).padStart(2, '0')}`));
    for (const c of carves) {
      fs.mkdirSync(path.join(c, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(c, 'f'), 'host\n');
    }
  });
  afterAll(() => rmTree(H));
  const sandbox = () => ({ writableRoots: [W], readOnly: carves, tmp: 'none' as const });

  it('are pinned from a copy of the root mount, one pin_from each, the copy dropped before /dev', () => {
    const ops = prepare('/bin/true', [], { cwd: W, sandbox: sandbox() }).plan.steps;
    const from = ops.filter((s) => s.op === 'pin_from');
    expect(from.map((s) => s.args[2]).sort()).toEqual([...carves].sort());
    expect(from.every((s) => s.args[1] === path.relative(W, s.args[2]))).toBe(true);
    const slot = from[0].args[0];
    const names = ops.map((s) => `${s.op} ${s.args[0]}`);
    expect(names.indexOf(`clone_tree ${slot}`)).toBeLessThan(names.indexOf(`setattr_slot ${slot}`));
    expect(names.indexOf(`setattr_slot ${slot}`)).toBeLessThan(names.indexOf(`pin_from ${slot}`));
    expect(names.indexOf(`close_slot ${slot}`)).toBeGreaterThan(names.lastIndexOf(`pin_from ${slot}`));
    expect(names.indexOf(`close_slot ${slot}`)).toBeLessThan(names.indexOf('tmpfs /dev'));
  });

  it('each is read-only inside (EROFS for write, create, unlink, mkdir, rename), the root around them writable, the host unchanged', async () => {
    const before = carves.map(snapshot);
    const ops = `[
      ...${JSON.stringify(carves)}.flatMap((c) => [
        ['write ' + c, () => fs.writeFileSync(c + '/f', 'x')],
        ['create ' + c, () => fs.writeFileSync(c + '/new', 'x')],
        ['unlink ' + c, () => fs.unlinkSync(c + '/f')],
        ['mkdir ' + c, () => fs.mkdirSync(c + '/d')],
        ['rename ' + c, () => fs.renameSync(c + '/sub', c + '/moved')],
      ]),
      ['root write', () => fs.writeFileSync(${JSON.stringify(W)} + '/ok', 'x')],
      ['root unlink', () => fs.unlinkSync(${JSON.stringify(W)} + '/ok')],
    ]`;
    const r = await probe(ops, sandbox(), { cwd: W });
    const refused = Object.entries(r).filter(([k]) => !k.startsWith('root'));
    expect(refused).toHaveLength(N * 5);
    expect(refused.filter(([, v]) => v !== 'EROFS')).toEqual([]);
    expect(r['root write']).toBe('ok');
    expect(r['root unlink']).toBe('ok');
    expect(carves.map(snapshot)).toEqual(before); // the root itself changed: ok written and removed
    expect(fs.existsSync(path.join(W, 'ok'))).toBe(false);
  });

  it('each is its own mount, read-only, nosuid and nodev (the flags of the read-only copy it is cloned from)', async () => {
    const r = await run('/bin/cat', ['/proc/self/mountinfo'], { cwd: W, sandbox: sandbox() });
    expect(r.code).toBe(0);
    const opts = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const f = line.split(' ');
      if (f.length > 5) opts.set(f[4], f[5]);
    }
    const flags = carves.map((c) => (opts.get(c) ?? 'not a mount point').split(','));
    expect(flags.filter((f) => !(f.includes('ro') && f.includes('nosuid') && f.includes('nodev')))).toEqual([]);
    expect(opts.get(W)?.split(',')).toContain('rw');
  });

  it('a plan that pins from a copy it never made read-only is refused at pin_from (EINVAL); the command never runs', async () => {
    const marker = path.join(W, 'ran-writable');
    const prepared = prepare('/bin/sh', ['-c', `echo x > ${marker}`], { cwd: W, env: { PATH: '/usr/bin:/bin' }, sandbox: sandbox() });
    const steps = prepared.plan.steps;
    const slot = steps.find((s) => s.op === 'pin_from')!.args[0];
    const at = steps.findIndex((s) => s.op === 'setattr_slot' && s.args[0] === slot);
    expect(at).toBeGreaterThan(0);
    steps.splice(at, 1); // the group's own setattr_slot stays: the step order still holds
    const child = new SandboxedProcess(prepared, { stdio: 'ignore' });
    const err = await new Promise<any>((res) => {
      child.on('error', res);
      child.on('exit', (code) => res({ code }));
    });
    expect(err).toMatchObject({ code: SETUP_FAILED, step: 'pin_from', errno: -22 });
    expect(err.syscall).toMatch(/was not made read-only/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a carve-out swapped for another directory after planning: the one found there is pinned, and the command runs', async () => {
    // (A symlink there, or the pins of a pooled sandbox, still fail with ESTALE: test/gone-at-setup.test.ts.)
    const victim = carves[7];
    const other = path.join(H, 'other');
    fs.mkdirSync(other, { recursive: true });
    const marker = path.join(W, 'ran');
    const prepared = prepare('/bin/sh', ['-c', `echo x > ${marker}; echo evil > ${victim}/new || exit 3`], {
      cwd: W,
      env: { PATH: '/usr/bin:/bin' },
      sandbox: sandbox(),
    });
    expect(prepared.plan.steps.some((s) => s.op === 'pin_from' && s.args[2] === victim)).toBe(true);
    const b = require(path.join(repoRoot, 'dist', 'native')).native().binding;
    expect(b.renameat2(victim, other, 2)).toBe(0); // RENAME_EXCHANGE
    try {
      const child = new SandboxedProcess(prepared, { stdio: 'ignore' });
      const code = await new Promise<any>((res, rej) => {
        child.on('error', rej);
        child.on('exit', res);
      });
      expect(code).toBe(3);
    } finally {
      expect(b.renameat2(victim, other, 2)).toBe(0);
    }
    expect(fs.existsSync(marker)).toBe(true);
    expect(fs.readdirSync(other)).toEqual([]);
    expect(fs.readdirSync(victim).sort()).toEqual(['f', 'sub']); // the planned carve-out, back in place, unchanged
    rmTree(other);
  });
});
