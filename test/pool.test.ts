// The warm pool (lib/pool.ts): a pooled sandbox runs a command exactly as a
// fresh one would, and is handed out only while everything its plan was
// built from still holds; a change between warm-up and use gets a fresh one.
import { spawn as cpSpawn, execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { configurePool, landlockAbi, spawn, SpawnOptions } from '../lib';
import { poolPids, poolState, preparePooled } from '../lib/pool';
import { headPids } from '../lib/head-start';
import { prepareWith } from '../lib/spawn';
import { isRoot, repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';
import { FINGERPRINT } from './fingerprint';

interface Ran {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
  pooled: boolean;
  /** Begun in a head start (lib/head-start.ts). */
  head: boolean;
  events: string[];
}

function go(file: string, args: string[], opts: SpawnOptions, input?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, opts);
    const pooled = c.plan.steps.some((s) => s.op === 'pool_wait');
    const head = c.plan.steps.some((s) => s.op === 'head_wait');
    let out = '',
      err = '';
    const events: string[] = [];
    c.stdout?.on('data', (d) => {
      out += d;
    });
    c.stderr?.on('data', (d) => {
      err += d;
    });
    c.on('spawn', () => events.push('spawn'));
    c.on('exit', () => events.push('exit'));
    c.on('error', (e) => (events.includes('spawn') ? events.push(`error:${(e as NodeJS.ErrnoException).code}`) : reject(e)));
    c.on('close', (code, signal) => {
      events.push('close');
      resolve({ code, signal, out, err, pooled, head, events });
    });
    if (input !== undefined) c.stdin!.end(input);
  });
}

const sh = (script: string, opts: SpawnOptions, input?: string) => go('/bin/sh', ['-c', script], opts, input);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Uses a policy twice (the second use records it and fills the pool), then waits until a sandbox is ready. */
async function warm(opts: SpawnOptions): Promise<void> {
  const before = poolState().ready;
  for (let i = 0; i < 2; i++) expect((await sh('true', opts)).pooled).toBe(false);
  for (let i = 0; i < 300 && poolState().ready <= before; i++) await sleep(10);
  expect(poolState().ready).toBeGreaterThan(before);
}

/** Waits until a sandbox is ready, so a fresh spawn after it is the host change's doing, not an empty pool. */
async function ready(): Promise<void> {
  for (let i = 0; i < 300 && poolState().ready === 0; i++) await sleep(10);
  expect(poolState().ready).toBeGreaterThan(0);
}

/** The children of `ppid` that are sbx-helper processes (not yet a command's exec). */
function helperKids(ppid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((p) => {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        return (
          Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid &&
          fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sbx-helper')
        );
      } catch {
        return false;
      }
    });
}

/** The helpers that wait in the pool, and their inits: not the head starts (test/head-start.test.ts), nor a command's still ending. */
function poolProcesses(): number[] {
  const pooled = poolPids();
  const helpers = helperKids(process.pid).filter((p) => pooled.includes(p));
  return [...helpers, ...helpers.flatMap(helperKids)];
}

/** Every helper this process started (pooled sandboxes and head starts) and their inits. */
function allHelpers(parent = process.pid): number[] {
  const helpers = helperKids(parent);
  return [...helpers, ...helpers.flatMap(helperKids)];
}

const NO_HEADS = { ready: 0, building: 0 };

/**
 * A pool of one sandbox for `opts`' policy, built and waiting (its monitor and
 * init), once the other policies' sandboxes are gone.
 */
async function oneWaiting(opts: SpawnOptions): Promise<void> {
  configurePool({ size: 1, policies: 1 });
  for (let i = 0; i < 200 && poolProcesses().length; i++) await sleep(10);
  await warm(opts);
  for (let i = 0; i < 300 && poolProcesses().length < 2; i++) await sleep(10);
}

describe(`warm pool (as ${userLabel})`, () => {
  const dirs: string[] = [];
  const workspace = () => {
    const d = tempDir('sbx-pool-');
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    configurePool(false); // each test starts with an empty pool
    configurePool({ size: 2, policies: 4 });
    delete process.env.SBX_NATIVE_POOL;
    delete process.env.SBX_NATIVE_TEST_HOST;
  });
  afterAll(() => {
    for (const d of dirs) rmTree(d);
  });

  it('a pooled sandbox gives the command what a fresh one gives it', async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] }, env: { ...process.env, FOO: 'one' } };
    await warm(opts);
    const pooled = await sh(FINGERPRINT, opts);
    const fresh = await sh(FINGERPRINT, { ...opts, pool: false });
    expect(pooled.pooled).toBe(true);
    expect(fresh.pooled).toBe(false);
    expect(pooled.out.split('\n')).toEqual(fresh.out.split('\n'));
    expect(pooled.err).toBe(fresh.err);
    expect(pooled.out).toContain('FOO=one');
    expect(pooled.out).toMatch(/NoNewPrivs:\s+1/);
    expect(pooled.out).toMatch(/Seccomp:\s+2/);
  });

  it('a sandbox counts as ready only once its init has set everything up (NoNewPrivs is one of the last steps)', async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
    configurePool({ size: 2, policies: 1 });
    await sh('true', opts);
    // The second use fills the pool, once this turn of the event loop is over: the loop below starts before it.
    const second = sh('true', opts);
    const inits = () =>
      poolProcesses()
        .map((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/status`, 'utf8');
          } catch {
            return '';
          }
        })
        .filter((st) => /^NoNewPrivs:\s+1$/m.test(st)).length; // the helpers outside have not set it
    const seen: number[] = [];
    for (let i = 0; i < 2000 && poolState().ready < 2; i++) {
      const ready = poolState().ready;
      seen.push(ready);
      expect(inits()).toBeGreaterThanOrEqual(ready);
      await sleep(1);
    }
    await second;
    expect(poolState()).toMatchObject({ policies: 1, ready: 2, building: 0 });
    expect(inits()).toBe(2);
    expect(seen[0]).toBeLessThan(2); // the loop saw the build, not only its end
  });

  it("a waiting sandbox's command process is forked and confined ahead (own session, no capabilities, its filter), and runs the command", async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
    await oneWaiting(opts);
    const [, init] = poolProcesses();
    const waiting = helperKids(init);
    expect(waiting).toHaveLength(1);
    const status = fs.readFileSync(`/proc/${waiting[0]}/status`, 'utf8');
    for (const field of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(status).toMatch(new RegExp(`^${field}:\\s+0+$`, 'm'));
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    const stat = fs.readFileSync(`/proc/${waiting[0]}/stat`, 'utf8');
    const [, , pgrp, session] = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    expect([pgrp, session]).toEqual([waiting[0], waiting[0]]); // setsid ran: a session of its own
    // The command runs in that very process: its exec replaces the waiting helper.
    const c = spawn('/bin/sleep', ['5'], opts);
    expect(c.plan.steps.some((s) => s.op === 'pool_wait')).toBe(true);
    let cmdline = '';
    for (let i = 0; i < 300 && !cmdline.startsWith('/bin/sleep'); i++) {
      await sleep(10);
      cmdline = fs.readFileSync(`/proc/${waiting[0]}/cmdline`, 'utf8');
    }
    expect(cmdline).toBe('/bin/sleep\u00005\u0000');
    const closed = new Promise((r) => c.on('close', r));
    c.kill('SIGTERM');
    await closed;
  });

  it('the cwd is resolved at the hand-out: a cwd replaced while a sandbox waits is the new directory, as in a fresh sandbox', async () => {
    const W = workspace();
    const cwd = path.join(W, 'sub');
    fs.mkdirSync(cwd);
    const opts: SpawnOptions = { cwd, sandbox: { writableRoots: [W] } };
    await warm(opts);
    fs.renameSync(cwd, path.join(W, 'old'));
    fs.mkdirSync(cwd);
    fs.writeFileSync(path.join(cwd, 'marker'), '');
    const script = 'ls; /bin/pwd -P; echo made > here';
    const pooled = await sh(script, opts);
    const fresh = await sh(script, { ...opts, pool: false });
    expect([pooled.pooled, fresh.pooled]).toEqual([true, false]);
    expect([pooled.code, pooled.out, pooled.err]).toEqual([0, `marker\n${cwd}\n`, '']);
    expect(fresh.out).toBe(`here\nmarker\n${cwd}\n`);
    expect(fs.readdirSync(path.join(W, 'old'))).toEqual([]); // nothing was made in the directory that was there at warm-up
    expect(fs.readdirSync(cwd).sort()).toEqual(['here', 'marker']);
  });

  it('a command handed to a sandbox still being built runs there once it is built', async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
    configurePool({ size: 1, policies: 1 });
    let caught = 0;
    for (let round = 0; round < 20 && caught < 3; round++) {
      configurePool(false);
      configurePool({ size: 1, policies: 1 });
      for (let i = 0; i < 2; i++) await sh('true', opts); // the second use starts the build
      for (let i = 0; i < 500 && poolState().building === 0 && poolState().ready === 0; i++) await sleep(0);
      if (poolState().building !== 1) continue; // built before we looked: try again
      const r = await sh('echo ran > out; cat out', opts);
      expect([r.pooled, r.code, r.out]).toEqual([true, 0, 'ran\n']);
      expect(fs.readFileSync(path.join(W, 'out'), 'utf8')).toBe('ran\n');
      fs.rmSync(path.join(W, 'out'));
      caught++;
    }
    expect(caught).toBeGreaterThan(0); // the case was met at least once
  });

  it('runs each command in a sandbox of its own: nothing a command left is seen by the next', async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W], tmp: 'private' } };
    await warm(opts);
    const first = await sh('echo left > /tmp/mark; sleep 30 & echo $!', opts);
    expect(first.pooled).toBe(true);
    for (let i = 0; i < 300 && poolState().ready === 0; i++) await sleep(10);
    // The processes of this sandbox by name (a count would race with the pipeline's own processes starting).
    const second = await sh('cat /tmp/mark 2>&1; for p in /proc/[0-9]*; do cat $p/comm 2>/dev/null; done | grep -cx sleep', opts);
    expect(second.pooled).toBe(true);
    expect(second.out).toMatch(/No such file/);
    expect(second.out.trim().split('\n').pop()).toBe('0'); // the first command's sleep is not here
  });

  it('exit codes, signals, stdin, env and the spawn/exit/close order are those of a fresh sandbox', async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
    await warm(opts);
    const r = await sh('read x; echo "got $x $BAR"; exit 3', { ...opts, env: { ...process.env, BAR: 'new' } }, '');
    expect(r.pooled).toBe(true);
    expect(r.out).toBe('got  new\n'); // stdin: a pipe at EOF
    expect([r.code, r.signal]).toEqual([3, null]);
    expect(r.events).toEqual(['spawn', 'exit', 'close']);
    for (let i = 0; i < 300 && poolState().ready === 0; i++) await sleep(10);
    const withInput = await go('/bin/cat', [], opts, 'hello');
    expect([withInput.pooled, withInput.out, withInput.code]).toEqual([true, 'hello', 0]);
    for (let i = 0; i < 300 && poolState().ready === 0; i++) await sleep(10);
    const killed = await new Promise<Ran>((resolve) => {
      const c = spawn('/bin/sleep', ['30'], opts);
      c.on('spawn', () => c.kill('SIGTERM'));
      c.on('close', (code, signal) =>
        resolve({ code, signal, out: '', err: '', pooled: c.plan.steps.some((s) => s.op === 'pool_wait'), head: false, events: [] }),
      );
    });
    expect([killed.pooled, killed.code, killed.signal]).toEqual([true, null, 'SIGTERM']);
    for (let i = 0; i < 300 && poolState().ready === 0; i++) await sleep(10);
    const missing = (o: SpawnOptions) =>
      new Promise<{ code: string; exitCode: number | null; pooled: boolean }>((resolve) => {
        const c = spawn('no-such-command-sbx', [], o);
        c.on('error', (e) =>
          c.on('close', () =>
            resolve({
              code: (e as NodeJS.ErrnoException).code!,
              exitCode: c.exitCode,
              pooled: c.plan.steps.some((s) => s.op === 'pool_wait'),
            }),
          ),
        );
      });
    const pooledMissing = await missing(opts);
    // ENOENT, or EACCES for nobody when PATH has a directory it cannot search (as execvp reports it).
    expect(pooledMissing).toEqual({ ...(await missing({ ...opts, pool: false })), pooled: true });
    expect(pooledMissing.code).toMatch(/^(ENOENT|EACCES)$/);
  });

  it("an 'ipc' channel and an extra pipe on fd 4 work in a pooled sandbox", async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] }, stdio: ['pipe', 'pipe', 'pipe', 'ipc', 'pipe'] };
    const once = () =>
      new Promise<{ pooled: boolean; message: unknown; fd4: string; code: number | null }>((resolve, reject) => {
        const c = spawn(
          process.execPath,
          ['-e', `process.on('message', (m) => { require('fs').writeSync(4, 'four'); process.send({ echo: m }); process.disconnect(); });`],
          opts,
        );
        let message: unknown,
          fd4 = '';
        (c.stdio[4] as import('net').Socket).on('data', (d) => {
          fd4 += d;
        });
        c.on('message', (m) => {
          message = m;
        });
        c.on('error', reject);
        c.on('close', (code) => resolve({ pooled: c.plan.steps.some((s) => s.op === 'pool_wait'), message, fd4, code }));
        c.send('hi');
      });
    const results = [];
    for (let i = 0; i < 3; i++) {
      results.push(await once());
      for (let k = 0; k < 300 && i === 1 && poolState().ready === 0; k++) await sleep(10);
    }
    expect(results.map((r) => r.pooled)).toEqual([false, false, true]);
    for (const r of results) expect([r.message, r.fd4, r.code]).toEqual([{ echo: 'hi' }, 'four', 0]);
  });

  it('a signal to a waiting sandbox (a Ctrl-C to the process group) does not reach its later command', async () => {
    const W = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
    await oneWaiting(opts);
    const [monitor] = poolProcesses();
    for (const sig of ['SIGINT', 'SIGHUP', 'SIGTERM', 'SIGCONT'] as const) process.kill(monitor, sig);
    await sleep(100);
    const r = await sh('sleep 0.2; echo ran', opts);
    expect([r.pooled, r.out, r.code, r.signal]).toEqual([true, 'ran\n', 0, null]);
    // and a signal after the hand-off does reach it
    for (let i = 0; i < 300 && poolState().ready === 0; i++) await sleep(10);
    const killed = await new Promise<[boolean, string | null]>((resolve) => {
      // sleep itself, not sh: a shell waiting for a child acts on SIGINT only once the child has ended.
      const c = spawn('/bin/sleep', ['30'], opts);
      c.kill('SIGINT');
      c.on('close', (_code, signal) => resolve([c.plan.steps.some((s) => s.op === 'pool_wait'), signal]));
    });
    expect(killed).toEqual([true, 'SIGINT']);
  });

  it('enforces the same: a write outside the roots fails with EROFS, the host is unchanged', async () => {
    const W = workspace();
    const outside = workspace();
    const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W], tmp: 'none' } };
    await warm(opts);
    const before = snapshot(outside);
    const r = await go(
      process.execPath,
      [
        '-e',
        `
      const fs = require('fs');
      fs.writeFileSync(${JSON.stringify(path.join(W, 'in'))}, 'x');
      try { fs.writeFileSync(${JSON.stringify(path.join(outside, 'out'))}, 'x'); console.log('ok'); } catch (e) { console.log(e.code); }`,
      ],
      opts,
    );
    expect(r.pooled).toBe(true);
    expect(r.out.trim()).toBe('EROFS');
    expect(fs.readFileSync(path.join(W, 'in'), 'utf8')).toBe('x');
    expect(snapshot(outside)).toEqual(before);
  });

  describe('a change between warm-up and use gets a fresh sandbox', () => {
    it('an environment variable the planner reads (TMPDIR): the new one is writable', async () => {
      const W = workspace();
      const T1 = workspace(),
        T2 = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] }, env: { ...process.env, TMPDIR: T1 } };
      await warm(opts);
      const control = await sh('true', opts);
      expect(control.pooled).toBe(true);
      const r = await sh('echo x > "$TMPDIR/f" && echo written', { ...opts, env: { ...process.env, TMPDIR: T2 } });
      expect(r.pooled).toBe(false);
      expect(r.out.trim()).toBe('written');
      expect(fs.readFileSync(path.join(T2, 'f'), 'utf8')).toBe('x\n');
    });

    it('a variable the planner does not read changes nothing: still pooled, and the command sees the new value', async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] }, env: { ...process.env, SOMETHING: 'a' } };
      await warm(opts);
      const r = await sh('echo $SOMETHING', { ...opts, env: { ...process.env, SOMETHING: 'b' } });
      expect([r.pooled, r.out]).toEqual([true, 'b\n']);
    });

    it('a protected name created (.git): fresh, and it is read-only', async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      fs.mkdirSync(path.join(W, '.git'));
      const r = await sh('(echo x > .git/config) 2>&1; echo $?', opts);
      expect(r.pooled).toBe(false);
      expect(r.out).toMatch(/Read-only file system\n2\n$/);
      expect(fs.readdirSync(path.join(W, '.git'))).toEqual([]);
    });

    it('a protected file removed (.bashrc): fresh, and it cannot be created', async () => {
      const W = workspace();
      fs.writeFileSync(path.join(W, '.bashrc'), 'old');
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      fs.rmSync(path.join(W, '.bashrc'));
      const r = await go(
        process.execPath,
        ['-e', `try { require('fs').writeFileSync('.bashrc', 'x'); console.log('ok'); } catch (e) { console.log(e.code); }`],
        opts,
      );
      expect(r.pooled).toBe(false);
      expect(r.out.trim()).toMatch(/^(EACCES|EPERM|EROFS)$/);
      expect(fs.existsSync(path.join(W, '.bashrc'))).toBe(false);
    });

    it('a watched directory renamed: fresh', async () => {
      const W = workspace();
      fs.mkdirSync(path.join(W, '.git'));
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      fs.renameSync(path.join(W, '.git'), path.join(W, 'git-old'));
      const r = await sh('echo x > git-old/f && echo written', opts);
      expect(r.pooled).toBe(false);
      expect(r.out.trim()).toBe('written');
    });

    // The layout asks a root's listing about its protected names only: an
    // agent's new files between commands keep the pool, each protected name
    // made, removed or moved does not (above and below).
    it('a new entry at the top of a root that is no protected name: still pooled, and the command sees it', async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      fs.writeFileSync(path.join(W, 'notes.txt'), 'n');
      fs.mkdirSync(path.join(W, 'build'));
      const r = await sh('cat notes.txt; echo x > build/out && echo written', opts);
      expect([r.pooled, r.out]).toEqual([true, 'nwritten\n']);
      expect(fs.readFileSync(path.join(W, 'build', 'out'), 'utf8')).toBe('x\n');
    });

    it('in a repository: a new object or ORIG_HEAD keeps the pool; a hooks directory made: fresh, and it is read-only', async () => {
      const W = workspace();
      fs.mkdirSync(path.join(W, '.git', 'objects'), { recursive: true });
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      fs.writeFileSync(path.join(W, '.git', 'ORIG_HEAD'), 'x');
      fs.mkdirSync(path.join(W, '.git', 'objects', 'ab'));
      expect((await sh('true', opts)).pooled).toBe(true);
      await ready();
      fs.mkdirSync(path.join(W, '.git', 'hooks'));
      const r = await sh('(echo x > .git/hooks/pre-commit) 2>&1; echo $?', opts);
      expect(r.pooled).toBe(false);
      expect(r.out).toMatch(/Read-only file system\n2\n$/);
      expect(fs.readdirSync(path.join(W, '.git', 'hooks'))).toEqual([]);
    });

    it('a linked worktree added to .git/worktrees: fresh, and its gitdir is read-only', async () => {
      const W = workspace();
      fs.mkdirSync(path.join(W, '.git', 'worktrees'), { recursive: true });
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      await ready();
      fs.mkdirSync(path.join(W, '.git', 'worktrees', 'wt1'));
      fs.writeFileSync(path.join(W, '.git', 'worktrees', 'wt1', 'gitdir'), '/elsewhere/.git\n');
      const r = await sh('(echo x > .git/worktrees/wt1/gitdir) 2>&1; echo $?', opts);
      expect(r.pooled).toBe(false);
      expect(r.out).toMatch(/Read-only file system\n2\n$/);
      expect(fs.readFileSync(path.join(W, '.git', 'worktrees', 'wt1', 'gitdir'), 'utf8')).toBe('/elsewhere/.git\n');
    });

    it("a .gitmodules made beside .git: fresh, and the submodule's .git is read-only", async () => {
      const W = workspace();
      fs.mkdirSync(path.join(W, '.git'));
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      await ready();
      fs.mkdirSync(path.join(W, 's'));
      fs.writeFileSync(path.join(W, 's', '.git'), 'gitdir: ../.git/modules/s\n');
      fs.writeFileSync(path.join(W, '.gitmodules'), '[submodule "s"]\n\tpath = s\n');
      const r = await sh('(echo x > s/.git) 2>&1; echo $?', opts);
      expect(r.pooled).toBe(false);
      expect(r.out).toMatch(/Read-only file system\n2\n$/);
      expect(fs.readFileSync(path.join(W, 's', '.git'), 'utf8')).toBe('gitdir: ../.git/modules/s\n');
    });

    it("a protected file's inode replaced by a rename over it: fresh, and the command sees the new file read-only", async () => {
      const W = workspace();
      fs.writeFileSync(path.join(W, '.gitconfig'), 'old');
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      fs.writeFileSync(path.join(W, 'new'), 'new');
      fs.renameSync(path.join(W, 'new'), path.join(W, '.gitconfig'));
      const r = await go(
        process.execPath,
        [
          '-e',
          `
        const fs = require('fs');
        let w; try { fs.writeFileSync('.gitconfig', 'x'); w = 'ok'; } catch (e) { w = e.code; }
        console.log(fs.readFileSync('.gitconfig', 'utf8'), w);`,
        ],
        opts,
      );
      expect(r.pooled).toBe(false);
      expect(r.out.trim()).toBe('new EROFS');
      expect(fs.readFileSync(path.join(W, '.gitconfig'), 'utf8')).toBe('new');
    });

    it.runIf(isRoot)('the mount table (a host mount appears): fresh, and the new mount is read-only', async () => {
      const W = workspace();
      const M = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'sbx-pool-test', M]);
      try {
        const r = await sh(`grep -c sbx-pool-test /proc/self/mountinfo; (echo x > ${M}/f) 2>&1; echo $?`, opts);
        expect(r.pooled).toBe(false);
        expect(r.out).toMatch(/^[1-9]\n.*Read-only file system\n2\n$/s);
      } finally {
        execFileSync('umount', [M]);
      }
    });

    it('host facts (a lower Landlock ABI): fresh', async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      const abi = landlockAbi().abi;
      process.env.SBX_NATIVE_TEST_HOST = `landlock=${abi - 1},userns=1`;
      const r = await sh('true', opts);
      expect(r.pooled).toBe(false);
      expect(r.code).toBe(0);
    });

    it("this process's umask: fresh, with the new umask", async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      const old = process.umask(0o077);
      try {
        const r = await sh('umask', opts);
        expect([r.pooled, r.out.trim()]).toEqual([false, '0077']);
      } finally {
        process.umask(old);
      }
    });

    it("a sandbox started after this process's umask changed is not handed out once it is changed back", async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      const before = process.umask();
      expect((await sh('true', opts)).pooled).toBe(false);
      const second = sh('true', opts); // records the plan; the pool is filled once it has ended
      process.umask(0o077);
      let r: Ran;
      try {
        expect((await second).pooled).toBe(false);
        await ready(); // built with umask 077
      } finally {
        process.umask(before);
      }
      r = await sh('umask', opts);
      expect([r.pooled, r.out.trim()]).toEqual([false, `0${before.toString(8).padStart(3, '0')}`]);
      await ready(); // and the ones built now, with this umask, are used
      r = await sh('umask', opts);
      expect([r.pooled, r.out.trim()]).toEqual([true, `0${before.toString(8).padStart(3, '0')}`]);
    });

    it.runIf(isRoot)("this process's supplementary groups: fresh", async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      const old = process.getgroups!();
      process.setgroups!([...old, 4242]);
      try {
        const r = await sh('true', opts);
        expect([r.pooled, r.code]).toEqual([false, 0]);
      } finally {
        process.setgroups!(old);
      }
    });

    it('a pooled helper that died while waiting is not used', async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await oneWaiting(opts);
      const waiting = poolProcesses();
      expect(waiting.length).toBe(2); // one helper (monitor) and its init
      for (const p of waiting) process.kill(p, 'SIGKILL');
      // Dead means a zombie or gone: its cmdline empties earlier (the kernel
      // drops its memory before its fds), and until its fds close it can
      // still take a hand-off.
      const dead = (p: number) => {
        try {
          const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
        } catch {
          return true;
        }
      };
      for (let i = 0; i < 300 && !waiting.every(dead); i++) await sleep(10);
      expect(waiting.every(dead)).toBe(true);
      const r = await sh('echo ran', opts);
      expect([r.pooled, r.out, r.code]).toEqual([false, 'ran\n', 0]);
    });
  });

  describe('switched off', () => {
    it('configurePool(false) discards the waiting sandboxes and pools nothing', async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      configurePool({ size: 2, policies: 1 });
      for (let i = 0; i < 200 && poolProcesses().length; i++) await sleep(10);
      await warm(opts);
      expect(poolProcesses().length).toBeGreaterThan(0);
      for (let i = 0; i < 300 && poolState().heads.ready === 0; i++) await sleep(10);
      expect(headPids()).toHaveLength(1); // and a head start for the next new policy
      expect(configurePool(false).size).toBe(0);
      expect(poolState()).toEqual({ policies: 0, ready: 0, building: 0, heads: NO_HEADS });
      for (let i = 0; i < 200 && allHelpers().length; i++) await sleep(10);
      expect(allHelpers()).toEqual([]);
      for (let i = 0; i < 3; i++) {
        const r = await sh('true', opts);
        expect([r.pooled, r.head]).toEqual([false, false]);
      }
      await sleep(150);
      expect(allHelpers()).toEqual([]);
      expect(poolState()).toEqual({ policies: 0, ready: 0, building: 0, heads: NO_HEADS });
    });

    it('SBX_NATIVE_POOL=0 and the pool: false option', async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      expect((await sh('true', { ...opts, pool: false })).pooled).toBe(false);
      process.env.SBX_NATIVE_POOL = '0';
      expect((await sh('true', opts)).pooled).toBe(false);
      delete process.env.SBX_NATIVE_POOL;
      expect((await sh('true', opts)).pooled).toBe(true);
    });

    it('a command refused for a bad env entry leaves no waiting sandbox behind', async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await oneWaiting(opts);
      const waiting = poolProcesses();
      expect(waiting.length).toBe(2);
      expect(() => spawn('/bin/true', [], { ...opts, env: { ...process.env, BAD: 'a\0b' } })).toThrow(/invalid environment entry "BAD"/);
      expect(poolState().ready).toBe(0);
      for (let i = 0; i < 200 && waiting.some((p) => fs.existsSync(`/proc/${p}`)); i++) await sleep(10);
      expect(waiting.filter((p) => fs.existsSync(`/proc/${p}`))).toEqual([]);
    });

    it('bad configuration is refused, naming the value', () => {
      expect(() => configurePool({ size: -1 })).toThrow(/size must be an integer from 0 to 16, got -1/);
      expect(() => configurePool({ sise: 1 } as never)).toThrow(/unknown key "sise"/);
      expect(() => spawn('true', [], { pool: 'yes' as never })).toThrow(/"pool" option must be a boolean, got "yes"/);
    });

    it('interactive runs are never pooled', async () => {
      const W = workspace();
      const opts: SpawnOptions = { cwd: W, sandbox: { writableRoots: [W] } };
      await warm(opts);
      // Every sandbox built: one finishing its build meanwhile would change `ready` by itself.
      for (let i = 0; i < 300 && poolState().building > 0; i++) await sleep(10);
      const ready = poolState().ready;
      const deps = {
        prepareWith,
        reap: () => {
          throw new Error('nothing is discarded');
        },
      };
      const r = preparePooled(deps, '/bin/sh', ['-c', 'true'], { ...opts, stdio: 'pipe', interactive: true });
      expect(r.warm).toBeUndefined();
      expect(r.prepared.plan.steps.some((s) => s.op === 'pool_wait')).toBe(false);
      expect(poolState().ready).toBe(ready);
    });
  });

  describe('nothing outlives this process', () => {
    const script = (W: string, end: string) => `
      const sbx = require(${JSON.stringify(path.join(repoRoot, 'dist'))});
      const pool = require(${JSON.stringify(path.join(repoRoot, 'dist', 'pool.js'))});
      const run = () => new Promise((r) => sbx.spawn('/bin/true', [], { cwd: ${JSON.stringify(W)}, sandbox: { writableRoots: [${JSON.stringify(W)}] } }).on('close', r));
      (async () => {
        await run(); await run();
        while (pool.poolState().ready < 2 || pool.poolState().heads.ready < 1) await new Promise((r) => setTimeout(r, 10));
        console.log('ready');
        ${end}
      })();`;
    const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');

    for (const [how, end] of [
      ['exits by itself', 'setTimeout(() => {}, 1500);'],
      ['is killed with SIGKILL', 'setInterval(() => {}, 1000);'],
    ] as const) {
      it(`when the Node process ${how}, its pooled sandboxes and head start end with it`, async () => {
        const W = workspace();
        const before = { tree: snapshot(W), mounts: mounts() };
        const parent = cpSpawn(process.execPath, ['-e', script(W, end)], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise<void>((res) => parent.stdout!.on('data', (d) => String(d).includes('ready') && res()));
        for (let i = 0; i < 300 && allHelpers(parent.pid!).length < 6; i++) await sleep(10);
        const waiting = allHelpers(parent.pid);
        expect(waiting.length).toBe(6); // two pooled helpers and a head start, and their inits
        const exited = new Promise((res) => parent.on('exit', (code, signal) => res([code, signal])));
        const kill = end.startsWith('setInterval');
        if (kill) parent.kill('SIGKILL');
        expect(await exited).toEqual(kill ? [null, 'SIGKILL'] : [0, null]); // the pool keeps no event loop alive
        const alive = () => waiting.filter((p) => fs.existsSync(`/proc/${p}`));
        for (let i = 0; i < 200 && alive().length; i++) await sleep(10);
        expect(alive()).toEqual([]);
        expect(snapshot(W)).toEqual(before.tree);
        expect(mounts()).toBe(before.mounts);
      });
    }
  });
});
