// Behaviour 8, step by step: SBX_NATIVE_TEST_FAIL_STEP=k (test only, see
// docs/design.md) makes the helper fail plan step k with EIO. For every k of a
// realistic plan, through the CLI: the command never runs, the error names
// step k's op, the CLI exits 125, and no file, mount or process is left.
import { spawn as cpSpawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare, SandboxedProcess, SETUP_FAILED } from '../lib';
import { leftovers, repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');
const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');

describe(`fault injection at every plan step (as ${userLabel})`, () => {
  let H: string, run: string, marker: string;
  let args: string[];
  let steps: { op: string }[];
  let before: { tree: Record<string, string>; mounts: string };

  beforeAll(() => {
    H = tempDir('sbx-fault-');
    run = path.join(H, 'cwd');
    for (const d of ['a/.git', 'b', 'secret', 'cwd']) fs.mkdirSync(path.join(H, d), { recursive: true });
    fs.writeFileSync(path.join(H, 'a/.git/HEAD'), 'ref: refs/heads/main\n');
    fs.writeFileSync(path.join(H, 'a/.git/config'), ''); // pinned (the repository model)
    fs.writeFileSync(path.join(H, 'secret/key'), 'k\n');
    marker = path.join(H, 'b', `ran-${process.pid}-${Date.now()}`);
    args = [
      'exec',
      '-w',
      path.join(H, 'a'),
      '-w',
      path.join(H, 'b'),
      '--deny-read',
      path.join(H, 'secret'),
      '--tmp',
      'none',
      '--clear-env',
      '--env',
      'PATH=/usr/bin:/bin',
      '--env',
      'LANG=C',
      '--',
      '/bin/sh',
      '-c',
      `touch ${marker}`,
    ];
    const dry = spawnSync(process.execPath, [bin, ...args.slice(0, 1), '--dry-run', ...args.slice(1)], { cwd: run, encoding: 'utf8' });
    expect(dry.status, dry.stderr).toBe(0);
    steps = JSON.parse(dry.stdout).plan.steps;
    before = { tree: snapshot(H), mounts: mounts() };
  });
  afterAll(() => rmTree(H));

  const cli = (k?: number) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const env = { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin' };
      if (k === undefined) delete env.SBX_NATIVE_TEST_FAIL_STEP;
      else env.SBX_NATIVE_TEST_FAIL_STEP = String(k);
      const c = cpSpawn(process.execPath, [bin, ...args], { cwd: run, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      c.stderr.on('data', (d) => {
        stderr += d;
      });
      c.on('close', (status) => resolve({ status, stderr }));
    });

  it('the plan is realistic: two roots in one mount, a mask, a pinned .git, Landlock, seccomp, exec', () => {
    const ops = steps.map((s) => s.op);
    for (const op of [
      'unshare',
      'map_ids',
      'clone_tree',
      'setattr',
      'move_slot',
      'seal',
      'mask',
      'pin',
      'pidns_fork',
      'proc',
      'command_fork',
      'chdir',
      'landlock_create',
      'landlock_path',
      'landlock_restrict',
      'drop_caps',
      'seccomp',
      'env',
      'exec',
    ])
      expect(ops).toContain(op);
    expect(steps.length).toBeGreaterThan(50);
  });

  it('without the switch the command runs (so the marker proves it ran)', async () => {
    const r = await cli();
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(marker)).toBe(true);
    fs.rmSync(marker);
    before = { tree: snapshot(H), mounts: mounts() }; // b's mtime changed
  });

  it('the leftover scan sees a live sandbox started from the same cwd (so it can fail)', async () => {
    const c = cpSpawn(process.execPath, [bin, 'exec', '--tmp', 'none', '-w', path.join(H, 'a'), '--', '/bin/sleep', '30'], {
      cwd: run,
      stdio: 'ignore',
    });
    let left: string[] = [];
    for (let i = 0; i < 200 && left.length < 2; i++) {
      await new Promise((res) => setTimeout(res, 20));
      left = leftovers(run, marker);
    }
    expect(left.length).toBeGreaterThanOrEqual(2); // the monitor and init
    c.kill('SIGTERM');
    await new Promise((res) => c.on('close', res));
    for (let i = 0; i < 100 && leftovers(run, marker).length; i++) await new Promise((res) => setTimeout(res, 20));
    expect(leftovers(run, marker)).toEqual([]);
  });

  it('every step k, injected: exit 125 naming step k, the command never runs, nothing left behind', async () => {
    const failures: string[] = [];
    const one = async (k: number) => {
      const op = steps[k].op;
      const r = await cli(k);
      const problems: string[] = [];
      if (r.status !== 125) problems.push(`exit ${r.status}`);
      if (!r.stderr.startsWith(`sbx-native: ${op}: injected failure: EIO`))
        problems.push(`stderr ${JSON.stringify(r.stderr.slice(0, 200))}`);
      if (fs.existsSync(marker)) problems.push('the command ran');
      let left = leftovers(run, marker);
      for (let i = 0; i < 50 && left.length; i++) {
        await new Promise((res) => setTimeout(res, 20));
        left = leftovers(run, marker);
      }
      if (left.length) problems.push(`processes left: ${left.join(', ')}`);
      if (problems.length) failures.push(`step ${k} (${op}): ${problems.join('; ')}`);
    };
    // Four CLIs at a time; every one of them must fail, so the host state is checked after each batch.
    for (let k = 0; k < steps.length; k += 4) {
      await Promise.all([k, k + 1, k + 2, k + 3].filter((i) => i < steps.length).map(one));
      expect(snapshot(H)).toEqual(before.tree);
      expect(mounts()).toBe(before.mounts);
    }
    expect(failures).toEqual([]);
  }, 60000);

  it('the exec step, injected through the library: SBX_SETUP_FAILED with step exec, not ENOENT', async () => {
    const saved = process.env.SBX_NATIVE_TEST_FAIL_STEP;
    let prepared;
    try {
      process.env.SBX_NATIVE_TEST_FAIL_STEP = String(steps.length - 1);
      prepared = prepare('/bin/sh', ['-c', `touch ${marker}`], {
        cwd: run,
        env: { PATH: '/usr/bin:/bin', LANG: 'C' },
        sandbox: { writableRoots: [path.join(H, 'a'), path.join(H, 'b')], denyRead: [path.join(H, 'secret')], tmp: 'none' },
      });
    } finally {
      if (saved === undefined) delete process.env.SBX_NATIVE_TEST_FAIL_STEP;
      else process.env.SBX_NATIVE_TEST_FAIL_STEP = saved;
    }
    expect(prepared.plan.steps.at(-1)).toEqual({ op: 'fail_injected', args: ['exec'] });
    const child = new SandboxedProcess(prepared, { stdio: 'ignore' });
    const err = await new Promise<any>((res) => child.on('error', res));
    expect(err).toMatchObject({ code: SETUP_FAILED, step: 'exec', errno: -5, syscall: 'injected failure' });
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('ignores a value that is not a step index', async () => {
    for (const v of ['-1', 'x', '1e3', String(10 ** 6)]) {
      process.env.SBX_NATIVE_TEST_FAIL_STEP = v;
      try {
        const p = prepare('/bin/true', [], { cwd: run, sandbox: { writableRoots: [path.join(H, 'b')], tmp: 'none' } });
        expect(p.plan.steps.map((s) => s.op)).not.toContain('fail_injected');
      } finally {
        delete process.env.SBX_NATIVE_TEST_FAIL_STEP;
      }
    }
  });
});
