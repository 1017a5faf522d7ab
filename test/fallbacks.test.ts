// Older kernels get older interfaces (lib/features.ts): the plan picks them
// from the kernel's version and says so in child.enforcement.fallbacks; the
// helper never falls back on its own. This kernel needs none of them, so each
// is forced here (SBX_NATIVE_TEST_HOST=kernel=...) and run for real.
import { execFileSync, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepare, SandboxedProcess } from '../lib';
import type { PreparedSpawn } from '../lib/spawn';
import { isRoot, rmTree, tempDir, userLabel } from './helpers';

function run(prepared: PreparedSpawn): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = new SandboxedProcess(prepared, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe(`kernel-interface fallbacks, forced (as ${userLabel})`, () => {
  let T: string, A: string, B: string;
  const saved = process.env.SBX_NATIVE_TEST_HOST;
  beforeEach(() => {
    T = tempDir('sbx-fallback-');
    A = path.join(T, 'a');
    B = path.join(T, 'b');
    fs.mkdirSync(A);
    fs.mkdirSync(B);
    fs.writeFileSync(path.join(A, 'f'), 'x', { mode: 0o644 });
    fs.writeFileSync(path.join(T, 'outside'), 'x', { mode: 0o644 });
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.SBX_NATIVE_TEST_HOST;
    else process.env.SBX_NATIVE_TEST_HOST = saved;
    rmTree(T);
  });
  // Two roots below T: T is a chain directory, so chmod is supervised.
  const sandbox = () => ({ writableRoots: [A, B], tmp: 'none' as const });
  const script = () => `chmod 600 ${A}/f; chmod 600 ${T}/outside 2>/dev/null; echo outside=$?; mkdir ${A}/.git 2>/dev/null; echo git=$?`;

  it('this kernel uses none: killable listener, fchmodat2, sync wake-up', () => {
    const p = prepare('/bin/sh', ['-c', script()], { sandbox: sandbox(), cwd: A });
    expect(p.enforcement.fallbacks).toEqual([]);
    expect(p.plan.steps.find((s) => s.op === 'seccomp')!.args[1]).toBe('listen-killable');
    const sup = p.plan.steps.find((s) => s.op === 'supervise')!.args;
    expect(sup).not.toContain('chmod=proc-link');
    expect(sup).not.toContain('sync-wake=off');
    expect(sup).not.toContain('fscache=off');
  });

  it('a 5.15 kernel: plain listener, chmod through /proc/self/fd, no sync wake-up; the rules hold the same', async () => {
    process.env.SBX_NATIVE_TEST_HOST = 'kernel=5.15';
    const p = prepare('/bin/sh', ['-c', script()], { sandbox: sandbox(), cwd: A });
    expect(p.enforcement.fallbacks).toHaveLength(4);
    expect(p.enforcement.fallbacks!.join('\n')).toMatch(/WAIT_KILLABLE_RECV[\s\S]*fchmodat2[\s\S]*SYNC_WAKE_UP/);
    expect(p.plan.steps.find((s) => s.op === 'seccomp')!.args[1]).toBe('listen');
    const sup = p.plan.steps.find((s) => s.op === 'supervise')!.args;
    expect(sup).toEqual(expect.arrayContaining(['chmod=proc-link', 'sync-wake=off', 'fscache=off']));
    const r = await run(p);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Inside a root the chmod was performed (through the /proc link); outside it was refused (EPERM: status 1).
    expect(fs.statSync(path.join(A, 'f')).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain('outside=1');
    expect(fs.statSync(path.join(T, 'outside')).mode & 0o777).toBe(0o644);
    expect(r.stdout).toContain('git=1');
    expect(fs.existsSync(path.join(A, '.git'))).toBe(false);
  });

  it('-v names the fallbacks', () => {
    const cli = path.join(__dirname, '..', 'bin', 'sbx-native.js');
    const args = [cli, 'exec', '-v', '--tmp', 'none', '-w', A, '-w', B, '--', 'true'];
    const old = spawnSync(process.execPath, args, {
      cwd: A,
      env: { ...process.env, SBX_NATIVE_TEST_HOST: 'kernel=6.1' },
      encoding: 'utf8',
    });
    expect(old.status).toBe(0);
    const said = old.stderr.split('\n').filter((l) => l.includes('older kernel:'));
    expect(said).toHaveLength(3); // 6.1 has WAIT_KILLABLE_RECV, not fchmodat2, SYNC_WAKE_UP or PIDFD_THREAD
    expect(said.join('\n')).toMatch(/fchmodat2[\s\S]*SYNC_WAKE_UP/);
    const now = spawnSync(process.execPath, args, { cwd: A, encoding: 'utf8' });
    expect(now.status).toBe(0);
    expect(now.stderr).toMatch(/enforcement: level full/);
    expect(now.stderr).not.toMatch(/older kernel/);
  });

  it.skipIf(!isRoot)(
    'an entry of a chain directory that is a mount point of its own is named in the seal step (ro_below made it read-only)',
    async () => {
      const m = path.join(T, 'mnt');
      fs.mkdirSync(m);
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', m]);
      try {
        const p = prepare('/bin/sh', ['-c', `touch ${m}/x`], { sandbox: sandbox(), cwd: A });
        const seal = p.plan.steps.find((s) => s.op === 'seal' && s.args[0] === T)!;
        const nkeep = Number(seal.args[1]);
        expect(seal.args.slice(2, 2 + nkeep).sort()).toEqual(['a', 'b']);
        expect(seal.args.slice(2 + nkeep)).toEqual(['mnt']);
        const r = await run(p);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/Read-only file system/);
        expect(fs.readdirSync(m)).toEqual([]);
      } finally {
        execFileSync('umount', [m]);
      }
    },
  );
});
