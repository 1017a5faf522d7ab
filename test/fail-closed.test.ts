// Behaviour 8: if any plan step fails, the command never runs; the error
// names the step, errno and syscall and carries a hint. Faults are injected
// through the plan (the seam between policy and executor), against the real
// kernel.
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare, SandboxedProcess, SETUP_FAILED } from '../lib';
import type { Step } from '../lib/plan';
import { native } from '../lib/native';
import { rmTree, tempDir, userLabel } from './helpers';

describe(`fail closed (as ${userLabel})`, () => {
  let dir: string, marker: string;
  beforeAll(() => {
    dir = tempDir();
    marker = path.join(dir, 'ran');
  });
  afterAll(() => rmTree(dir));

  // Each case breaks one step of a real plan; the command would create `marker`.
  const cases: [string, string, (s: Step) => Step | null, string][] = [
    ['namespace', 'unshare', (s) => (s.op === 'unshare' ? { op: 'unshare', args: ['0x80000000'] } : s), 'EINVAL'],
    ['id map', 'map_ids', (s) => (s.op === 'map_ids' ? { op: 'map_ids', args: ['0', '12345678', '0', '12345678'] } : s), 'EPERM'],
    [
      'mount',
      'move_slot',
      (s) => (s.op === 'move_slot' && s.args[1].startsWith('/dev/') ? { op: 'move_slot', args: [s.args[0], '/nonexistent/dev/null'] } : s),
      'ENOENT',
    ],
    [
      'read-only pass',
      'setattr',
      (s) => (s.op === 'setattr' && s.args[0] === '/' ? { op: 'setattr', args: ['/nonexistent', s.args[1], '1'] } : s),
      'ENOENT',
    ],
    ['proc', 'proc', (s) => (s.op === 'proc' ? { op: 'proc', args: ['/nonexistent-proc', s.args[1]] } : s), 'ENOENT'],
    [
      'landlock rule',
      'landlock_path',
      (s) => (s.op === 'landlock_path' && s.args[0] === '/dev' ? { op: 'landlock_path', args: ['/nonexistent', s.args[1]] } : s),
      'ENOENT',
    ],
    [
      'landlock ruleset',
      'landlock_create',
      (s) => (s.op === 'landlock_create' ? { op: 'landlock_create', args: ['0', '0', '0'] } : s),
      'ENOMSG',
    ],
    // A missing cwd is child_process's ENOENT spawn error (exit-status tests); not a directory is a setup failure.
    ['chdir', 'chdir', (s) => (s.op === 'chdir' ? { op: 'chdir', args: ['/etc/passwd'] } : s), 'ENOTDIR'],
  ];

  for (const [label, step, mutate, code] of cases) {
    it(`a failing ${label} step (${step}) stops the command: ${code}`, async () => {
      const prepared = prepare('/bin/sh', ['-c', `touch ${marker}`], { sandbox: { writableRoots: [dir], tmp: 'none' } });
      prepared.plan.steps = prepared.plan.steps.map(mutate).filter((s): s is Step => s !== null);
      const child = new SandboxedProcess(prepared, { stdio: 'ignore' });
      const closed = new Promise((res) => child.on('close', res));
      const err = await new Promise<any>((res) => child.on('error', res));
      expect(err.code).toBe(SETUP_FAILED);
      expect(err.step).toBe(step);
      expect(err.errno).toBe(-require('os').constants.errno[code]);
      expect(typeof err.syscall).toBe('string');
      expect(err.syscall.length).toBeGreaterThan(0);
      expect(err.hint.length).toBeGreaterThan(10);
      await closed;
      expect(fs.existsSync(marker)).toBe(false);
    });
  }

  it('a helper that cannot start is a setup failure too', async () => {
    const prepared = prepare('/bin/true', [], { sandbox: { writableRoots: [dir], tmp: 'none' } });
    const real = native();
    const saved = real.helper;
    real.helper = '/nonexistent/sbx-helper';
    try {
      const child = new SandboxedProcess(prepared, {});
      const err = await new Promise<any>((res) => child.on('error', res));
      expect(err).toMatchObject({ code: SETUP_FAILED, step: 'start-helper', errno: -2 });
    } finally {
      real.helper = saved;
    }
  });

  it('refuses an invalid policy synchronously, naming the key and value', () => {
    expect(() => prepare('/bin/true', [], { sandbox: { writableRoots: ['relative/path'], tmp: 'none' } })).toThrow(
      /writableRoots\[0\] = "relative\/path": path must be absolute/,
    );
    expect(() => prepare('/bin/true', [], { sandbox: { writableRoots: ['/tmp/a\0b'], tmp: 'none' } })).toThrow(/NUL/);
    expect(() => prepare('/bin/true', [], { sandbox: { writableRoots: [''], tmp: 'none' } })).toThrow(/empty path/);
    expect(() => prepare('/bin/true', [], { sandbox: { network: 'yes' } as any })).toThrow(
      /network = "yes": expected true, false or \{ allowedDomains, deniedDomains \}/,
    );
    expect(() => prepare('/bin/true', [], { sandbox: { writeableRoots: [] } as any })).toThrow(/writeableRoots.*unknown key/);
    expect(() => prepare('/bin/true', [], { sandbox: { writableRoots: ['/etc/passwd'], tmp: 'none' } })).toThrow(/not a directory/);
  });
});
