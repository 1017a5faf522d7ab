// A repository below a root found by the plan, then removed before the
// sandbox is set up (a parallel test suite deleting its temporary clone):
// its pins used to fail the run at `pin` (ENOENT, exit 125). Where init
// supervises creation, a pinned path gone by then is refused making instead
// (EROFS, rule protected_path), as a protected path missing at planning is,
// and the command runs. A read-only carve-out removed meanwhile is the same.
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepare, SandboxedProcess } from '../lib';
import { rmTree, tempDir, userLabel } from './helpers';

const hasGit = (() => {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let W: string;

function run(prepared: ReturnType<typeof prepare>): Promise<{ code: number | null; out: string; err: string; violations: string[] }> {
  return new Promise((resolve, reject) => {
    const c = new SandboxedProcess(prepared, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out, err, violations: c.violations.map((v) => `${v.op} ${v.path} ${v.errno} ${v.rule}`) }));
  });
}

/** W with a read-only carve-out W/keep, planned for `touch ran` (nothing may run). */
function keepPlan() {
  W = tempDir('sbx-gone-');
  fs.mkdirSync(path.join(W, 'keep'));
  return prepare('/bin/sh', ['-c', 'touch ran'], {
    cwd: W,
    sandbox: { writableRoots: [W], readOnly: [path.join(W, 'keep')], tmp: 'none' },
    pool: false,
  });
}

/** The set-up error of `steps` once W/keep is gone. */
function setupError(prepared: ReturnType<typeof prepare>, steps: ReturnType<typeof prepare>['plan']['steps']): Promise<any> {
  fs.rmdirSync(path.join(W, 'keep'));
  return new Promise((resolve) => {
    const c = new SandboxedProcess({ ...prepared, plan: { ...prepared.plan, steps } }, { stdio: 'ignore' });
    c.on('error', resolve);
  });
}

describe(`a repository removed between planning and set-up (as ${userLabel})`, () => {
  afterEach(() => rmTree(W));

  it.skipIf(!hasGit)(
    `${hasGit ? '' : '(skipped: needs git) '}the command runs; making the repository or the carve-out again gives EROFS; the host is unchanged`,
    async () => {
      W = tempDir('sbx-gone-');
      execFileSync('git', ['init', '-q', path.join(W, 'sub')]);
      fs.mkdirSync(path.join(W, 'keep'));
      fs.writeFileSync(path.join(W, 'keep', 'settings.json'), '{}');
      const src = `const fs = require('fs'); const out = {};
        const tryIt = (label, fn) => { try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); } };
        out.gone = !fs.existsSync('sub/.git') && !fs.existsSync('keep');
        tryIt('repository', () => fs.mkdirSync('sub/.git'));
        tryIt('carve-out dir', () => fs.mkdirSync('keep'));
        tryIt('carve-out file', () => fs.writeFileSync('keep', 'evil'));
        tryIt('other', () => fs.writeFileSync('sub/notes', 'n'));
        process.stdout.write(JSON.stringify(out));`;
      const prepared = prepare(process.execPath, ['-e', src], {
        cwd: W,
        sandbox: { writableRoots: [W], readOnly: [path.join(W, 'keep')], tmp: 'none' },
        pool: false,
      });
      const pins = prepared.plan.steps.filter((s) => s.op === 'pin' || s.op === 'pin_from').map((s) => s.args);
      expect(pins).toContainEqual([path.join(W, 'sub', '.git', 'config'), 'gone-ok']);
      expect(pins).toContainEqual([path.join(W, 'keep'), 'gone-ok']);
      rmTree(path.join(W, 'sub', '.git'));
      rmTree(path.join(W, 'keep'));
      const r = await run(prepared);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toEqual({
        gone: true,
        repository: 'EROFS',
        'carve-out dir': 'EROFS',
        'carve-out file': 'EROFS',
        other: 'ok',
      });
      expect(r.violations).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/sub\/\.git EROFS .*new git repository/),
          expect.stringMatching(/keep EROFS protected path \(it does not exist; creating it is refused\)/),
        ]),
      );
      expect(fs.readdirSync(path.join(W, 'sub')).sort()).toEqual(['notes']);
      expect(fs.existsSync(path.join(W, 'keep'))).toBe(false);
    },
  );

  it('without gone-ok a gone pin still fails the run closed (exit 125 at pin, ENOENT), and nothing runs', async () => {
    const prepared = keepPlan();
    const steps = prepared.plan.steps.map((s) => (s.op === 'pin' ? { ...s, args: s.args.slice(0, 1) } : s));
    expect(steps.some((s) => s.op === 'pin' && s.args[0] === path.join(W, 'keep'))).toBe(true);
    const err = await setupError(prepared, steps);
    expect([err.step, err.errno]).toEqual(['pin', -os.constants.errno.ENOENT]);
    expect(fs.readdirSync(W)).toEqual([]);
  });

  it('gone-ok in a plan whose init does not supervise creation fails closed at command_fork, and nothing runs', async () => {
    const prepared = keepPlan();
    // The supervise step without mkdirat: the helper must not trust the pin's word alone.
    const steps = prepared.plan.steps.map((s) =>
      s.op === 'supervise' ? { ...s, args: s.args.filter((a) => !/^sys=\d+:mkdirat$/.test(a)) } : s,
    );
    expect(steps.some((s) => s.op === 'pin' && s.args[0] === path.join(W, 'keep') && s.args[1] === 'gone-ok')).toBe(true);
    const err = await setupError(prepared, steps);
    expect(err.step).toBe('command_fork');
    expect(err.message).toMatch(/does not supervise creation/);
    expect(fs.readdirSync(W)).toEqual([]);
  });
});
