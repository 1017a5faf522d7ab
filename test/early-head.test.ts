// Early head starts (lib/head-start.ts startEarlyHead): the CLI and the bwrap
// front end plan one sandbox and exit, so they start the helper (its exec,
// the namespaces no policy decides, the id maps, init) before they plan and
// hand it the plan once it is made. The command must get exactly the
// sandbox a fresh spawn gives it; a plan that does not begin with the
// predicted head runs fresh and the early helper goes; the off switches
// hold; and a run refused after the early start leaves no helper behind.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { prepare, SpawnOptions } from '../lib';
import { spawnPrepared } from '../lib/spawn';
import { startEarlyHead } from '../lib/head-start';
// The front end lazily requires its modules, which only dist/ (built JavaScript) can give.

const dist = {
  run: require('../dist/bwrap/run') as typeof import('../lib/bwrap/run'),
  spawn: require('../dist/spawn') as typeof import('../lib/spawn'),
};
import { repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';
import { FINGERPRINT } from './fingerprint';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statOf = (pid: number) => {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
};
/** Still running (not gone, not a zombie). */
const alive = (pid: number) => {
  try {
    return statOf(pid)[0] !== 'Z';
  } catch {
    return false;
  }
};
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 300 && alive(pid); i++) await sleep(10);
  return !alive(pid);
}

interface Ran {
  code: number | null;
  out: string;
  err: string;
  head: boolean;
  pid?: number;
}

function run(
  prepared: ReturnType<typeof prepare>,
  opts: SpawnOptions,
  early?: ReturnType<typeof startEarlyHead>,
  spawnWith = spawnPrepared,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const c = spawnWith(prepared, { ...opts, ownProcessGroup: true }, early);
    const head = c.plan.steps.some((s) => s.op === 'head_wait');
    let out = '',
      err = '';
    c.stdout?.on('data', (d) => (out += d));
    c.stderr?.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out, err, head, pid: c.pid }));
  });
}

describe(`early head starts (as ${userLabel})`, () => {
  const dirs: string[] = [];
  const workspace = () => {
    const d = tempDir('sbx-early-');
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    delete process.env.SBX_NATIVE_POOL;
    delete process.env.SBX_NATIVE_TEST_FAIL_STEP;
    delete process.env.SBX_BWRAP_FDS;
  });
  afterAll(() => {
    for (const d of dirs) rmTree(d);
  });

  it('runs the command in the helper started before the plan, and gives it what a fresh spawn gives', async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
    const early = startEarlyHead(false, true);
    expect(early).toBeDefined();
    const inHead = await run(prepare('/bin/sh', ['-c', FINGERPRINT], opts), opts, early);
    const fresh = await run(prepare('/bin/sh', ['-c', FINGERPRINT], opts), opts);
    expect([inHead.head, fresh.head]).toEqual([true, false]);
    expect(inHead.pid).toBe(early!.warm.pid); // the early helper ran it
    expect(inHead.out).toContain(`${W}\n`); // pwd: the command's cwd, as in a fresh sandbox
    expect(inHead.err).toBe('');
    expect(inHead.out.split('\n')).toEqual(fresh.out.split('\n'));
    expect(inHead.out).toMatch(/^\s*lo$/m); // network off: the loopback only
    expect(inHead.out).toMatch(/NoNewPrivs:\s+1/);
    expect(inHead.out).toMatch(/Seccomp:\s+2/);
  });

  it("its monitor works from this process's cwd, as a fresh helper's does (not from / as a pooled head start's)", async () => {
    const W = workspace();
    const early = startEarlyHead(false, true)!;
    expect(fs.readlinkSync(`/proc/${early.warm.pid}/cwd`)).toBe(process.cwd());
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
    const r = await run(prepare('/bin/sh', ['-c', 'pwd'], opts), opts, early);
    expect([r.head, r.out, r.code]).toEqual([true, `${W}\n`, 0]);
  });

  it('enforces the same: a write outside the roots fails with EROFS, a protected file with EACCES or EROFS, the host is unchanged', async () => {
    const W = workspace();
    const outside = workspace();
    fs.writeFileSync(path.join(W, '.bashrc'), 'x\n');
    const before = { out: snapshot(outside), w: snapshot(W) };
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W], tmp: 'none' } };
    const early = startEarlyHead(false, true);
    const script = `const fs = require('fs'); const r = [];
      for (const f of [${JSON.stringify(path.join(outside, 'x'))}, ${JSON.stringify(path.join(W, '.bashrc'))}, '/etc/sbx-early-test'])
        try { fs.writeFileSync(f, 'y'); r.push('written'); } catch (e) { r.push(e.code); }
      console.log(r.join(' '));`;
    const r = await run(prepare(process.execPath, ['-e', script], opts), opts, early);
    expect(r.head).toBe(true);
    const [outsideCode, protectedCode, etcCode] = r.out.trim().split(' ');
    expect(outsideCode).toBe('EROFS');
    expect(['EACCES', 'EROFS', 'EPERM']).toContain(protectedCode);
    expect(etcCode).toBe('EROFS');
    expect(snapshot(outside)).toEqual(before.out);
    expect(snapshot(W)).toEqual(before.w);
    expect(fs.existsSync('/etc/sbx-early-test')).toBe(false);
  });

  it('a plan with another head (network on, the head made for network off) runs fresh, and the early helper goes', async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W], network: true } };
    const early = startEarlyHead(false, true)!;
    const r = await run(prepare('/bin/sh', ['-c', 'cat /proc/net/dev | cut -d: -f1'], opts), opts, early);
    expect([r.head, r.code]).toEqual([false, 0]);
    expect(r.pid).not.toBe(early.warm.pid);
    expect(r.out).toMatch(/^\s*lo$/m);
    expect(r.out.trim().split('\n').length).toBeGreaterThan(3); // the host's interfaces: no namespace of its own
    expect(await gone(early.warm.pid)).toBe(true);
  });

  it('a stdio slot left closed (nothing to hand a waiting helper) runs fresh, and the early helper goes', async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] }, stdio: ['pipe', 'pipe', 'pipe', 'ignore', 'pipe'] };
    const early = startEarlyHead(false, true)!;
    const r = await run(prepare('/bin/sh', ['-c', 'echo ok'], opts), opts, early);
    expect([r.head, r.out, r.code]).toEqual([false, 'ok\n', 0]);
    expect(await gone(early.warm.pid)).toBe(true);
  });

  it('is off with SBX_NATIVE_POOL=0 and with the test-only step injection', () => {
    process.env.SBX_NATIVE_POOL = '0';
    expect(startEarlyHead(false, true)).toBeUndefined();
    delete process.env.SBX_NATIVE_POOL;
    process.env.SBX_NATIVE_TEST_FAIL_STEP = '3';
    expect(startEarlyHead(false, true)).toBeUndefined();
  });

  it('the front end starts none for a dry run, one for a run, and one that a --hostname plan discards runs fresh', async () => {
    const W = workspace();
    const argv = ['--ro-bind', '/', '/', '--dev', '/dev', '--bind', W, W, '--unshare-all', '--proc', '/proc', '--', 'true'];
    // As the installed shim says: no fds passed (this worker's own inherited ones would leave gaps: no head start).
    process.env.SBX_BWRAP_FDS = '';
    expect(dist.run.prepareBwrap(argv, process.env, W).early).toBeUndefined();
    const p = dist.run.prepareBwrap(argv, process.env, W, true);
    expect(p.early).toBeDefined();
    const r = await run(p.prepared, { ...p.options, stdio: 'pipe' }, p.early, dist.spawn.spawnPrepared);
    expect([r.head, r.code, r.pid]).toEqual([true, 0, p.early!.warm.pid]);
    const named = dist.run.prepareBwrap(
      ['--hostname', 'sbxearly', ...argv.slice(0, -1), 'cat', '/proc/sys/kernel/hostname'],
      process.env,
      W,
      true,
    );
    const n = await run(named.prepared, { ...named.options, stdio: 'pipe' }, named.early, dist.spawn.spawnPrepared);
    expect([n.head, n.out, n.code]).toEqual([false, 'sbxearly\n', 0]);
    expect(await gone(named.early!.warm.pid)).toBe(true);
  });

  it('a CLI run refused after its helper was started leaves no helper behind', async () => {
    const W = workspace();
    // Preloaded into the CLI: the pids of the helpers the addon spawned, written at exit.
    const preload = path.join(W, 'spawned.js');
    fs.writeFileSync(
      preload,
      `const dlopen = process.dlopen; const pids = [];
       process.dlopen = function (m, ...rest) {
         const r = dlopen.call(this, m, ...rest); const b = m.exports; const copy = {};
         for (const k of Object.getOwnPropertyNames(b)) copy[k] = typeof b[k] === 'function' ? b[k].bind(b) : b[k];
         copy.spawn = (...a) => { const out = b.spawn(...a); pids.push(out.pid); return out; };
         m.exports = copy; return r;
       };
       process.on('exit', () => process.stderr.write('\\n' + JSON.stringify(pids) + '\\n'));`,
    );
    const r = spawnSync(
      process.execPath,
      ['-r', preload, path.join(repoRoot, 'bin', 'sbx-native.js'), 'exec', '-w', '/proc', '--', 'true'],
      {
        cwd: W,
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/writableRoots = "\/proc"/);
    const pids = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as number[];
    expect(pids).toHaveLength(1); // the early head start: the plan was refused before any other spawn
    expect(await gone(pids[0])).toBe(true); // died with the CLI (its parent-death signal)
  });
});
