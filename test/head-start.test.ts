// Head starts (lib/head-start.ts): the first spawn of a new policy begins in
// a helper started ahead with only the namespaces no policy decides. It must
// give the command exactly the sandbox a fresh spawn gives, hold nothing of a
// policy while it waits, be used only while what it was started from holds,
// fail closed with the same reports, honour the pool's off switches, and
// leave nothing behind.
import { spawn as cpSpawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { configurePool, prepare, SandboxedProcess, SETUP_FAILED, spawn, SpawnOptions } from '../lib';
import type { Step } from '../lib/plan';
import { poolState } from '../lib/pool';
import { headPids, splitHead, withHead } from '../lib/head-start';
import { isRoot, repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';
import { FINGERPRINT } from './fingerprint';

interface Ran {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
  head: boolean;
  pooled: boolean;
}

function go(file: string, args: string[], opts: SpawnOptions): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, opts);
    const head = c.plan.steps.some((s) => s.op === 'head_wait');
    const pooled = c.plan.steps.some((s) => s.op === 'pool_wait');
    let out = '',
      err = '';
    c.stdout?.on('data', (d) => (out += d));
    c.stderr?.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code, signal) => resolve({ code, signal, out, err, head, pooled }));
  });
}

const sh = (script: string, opts: SpawnOptions) => go('/bin/sh', ['-c', script], opts);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until a head start waits in head_wait. */
async function headReady(): Promise<void> {
  for (let i = 0; i < 300 && poolState().heads.ready === 0; i++) await sleep(10);
  expect(poolState().heads.ready).toBe(1);
}

const status = (pid: number) => fs.readFileSync(`/proc/${pid}/status`, 'utf8');
const ppidOf = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};
/** The processes whose parent is `pid`. */
const kids = (pid: number) =>
  fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((p) => {
      try {
        return ppidOf(p) === pid;
      } catch {
        return false;
      }
    });
/** The ones still running (not gone, not a zombie). */
const alive = (pids: number[]) =>
  pids.filter((p) => {
    try {
      return !/^State:\s+Z/m.test(status(p));
    } catch {
      return false; // gone
    }
  });

describe(`head starts (as ${userLabel})`, () => {
  const dirs: string[] = [];
  const workspace = () => {
    const d = tempDir('sbx-head-');
    dirs.push(d);
    return d;
  };
  /** Options for a policy never used before. */
  const fresh = (extra: object = {}): SpawnOptions => {
    const W = workspace();
    return { cwd: W, sandbox: { writableRoots: [W], ...extra } };
  };
  afterEach(() => {
    configurePool(false); // each test starts with no pool and no head start
    configurePool({ size: 2, policies: 4 });
    delete process.env.SBX_NATIVE_POOL;
    process.umask(0o022);
  });
  afterAll(() => {
    for (const d of dirs) rmTree(d);
  });

  it('none is started before the first spawn; one is after it, and the next new policy begins in it', async () => {
    await sleep(50);
    expect(poolState().heads).toEqual({ ready: 0, building: 0 });
    const first = await sh('echo one', fresh());
    expect([first.head, first.out, first.code]).toEqual([false, 'one\n', 0]);
    await headReady();
    const [pid] = headPids();
    const second = await sh('echo two', fresh());
    expect([second.head, second.pooled, second.out, second.code]).toEqual([true, false, 'two\n', 0]);
    for (let i = 0; i < 200 && alive([pid]).length; i++) await sleep(10);
    expect(alive([pid])).toEqual([]); // the head start ran that command and is gone with it
    await headReady(); // refilled in the background
    expect(headPids()).not.toContain(pid);
  });

  it('gives the command what a fresh sandbox gives it', async () => {
    await sh('true', fresh());
    await headReady();
    const opts = fresh();
    const inHead = await sh(FINGERPRINT, { ...opts, env: { ...process.env, FOO: 'one' } });
    const fresher = await sh(FINGERPRINT, { ...opts, env: { ...process.env, FOO: 'one' }, pool: false });
    expect([inHead.head, fresher.head]).toEqual([true, false]);
    expect(inHead.err).toBe('');
    expect(inHead.out.split('\n')).toEqual(fresher.out.split('\n'));
    expect(inHead.out).toMatch(/^\s*lo$/m); // network: false, the loopback only
    expect(inHead.out).toMatch(/NoNewPrivs:\s+1/);
    expect(inHead.out).toMatch(/Seccomp:\s+2/);
  });

  it('with network: true too (its own head start: no network namespace of its own)', async () => {
    await sh('true', fresh({ network: true }));
    await headReady();
    const opts = fresh({ network: true });
    const inHead = await sh(FINGERPRINT, opts);
    const fresher = await sh(FINGERPRINT, { ...opts, pool: false });
    expect([inHead.head, fresher.head]).toEqual([true, false]);
    expect(inHead.out.split('\n')).toEqual(fresher.out.split('\n'));
  });

  it('enforces the same: a write outside the roots fails with EROFS, a protected file with EACCES or EROFS, the host is unchanged', async () => {
    await sh('true', fresh());
    await headReady();
    const W = workspace();
    const outside = workspace();
    fs.writeFileSync(path.join(W, '.bashrc'), 'x\n');
    const before = { out: snapshot(outside), w: snapshot(W) };
    const r = await go(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); const r = [];
         for (const f of [${JSON.stringify(path.join(outside, 'x'))}, ${JSON.stringify(path.join(W, '.bashrc'))}, '/etc/sbx-head-test'])
           try { fs.writeFileSync(f, 'y'); r.push('written'); } catch (e) { r.push(e.code); }
         console.log(r.join(' '));`,
      ],
      { cwd: W, sandbox: { writableRoots: [W], tmp: 'none' } },
    );
    expect(r.head).toBe(true);
    const [outsideCode, protectedCode, etcCode] = r.out.trim().split(' ');
    expect(outsideCode).toBe('EROFS');
    expect(['EACCES', 'EROFS', 'EPERM']).toContain(protectedCode);
    expect(etcCode).toBe('EROFS');
    expect(snapshot(outside)).toEqual(before.out);
    expect(snapshot(W)).toEqual(before.w);
    expect(fs.existsSync('/etc/sbx-head-test')).toBe(false);
  });

  it('while it waits it holds nothing of a policy: the host mount namespace, no Landlock, no filter, from /, only its own fds', async () => {
    await sh('true', fresh());
    await headReady();
    const [monitor] = headPids();
    const [init] = kids(monitor);
    expect(kids(init)).toEqual([]); // no command process yet
    const ns = (pid: number, n: string) => fs.readlinkSync(`/proc/${pid}/ns/${n}`);
    for (const p of [monitor, init]) {
      expect(ns(p, 'mnt')).toBe(ns(process.pid, 'mnt'));
      for (const n of ['user', 'net', 'ipc', 'uts']) expect(ns(p, n)).not.toBe(ns(process.pid, n));
      expect(fs.readlinkSync(`/proc/${p}/cwd`)).toBe('/');
      expect(status(p)).toMatch(/^NoNewPrivs:\s+0$/m);
      expect(status(p)).toMatch(/^Seccomp:\s+0$/m);
    }
    expect(ns(init, 'pid')).not.toBe(ns(process.pid, 'pid'));
    expect(status(init)).toMatch(/^NSpid:\s+\d+\s+1$/m); // pid 1 of its namespace
    // Its fds: the /dev/null placeholders, its socket, the error and events pipes, the monitor's socket,
    // and the signalfd that drops signals sent to it while it waits.
    const fds = fs.readdirSync(`/proc/${init}/fd`).map(Number);
    const targets = fds.map((fd) => fs.readlinkSync(`/proc/${init}/fd/${fd}`));
    expect(targets.slice(0, 3)).toEqual(['/dev/null', '/dev/null', '/dev/null']);
    const rest = targets.slice(3).sort();
    expect(rest.filter((t) => /^(socket|pipe):\[\d+\]$/.test(t))).toHaveLength(4);
    expect(rest.filter((t) => t === 'anon_inode:[signalfd]')).toHaveLength(1);
    expect(fds.length).toBe(8);
  });

  describe('used only while its key holds', () => {
    it("this process's umask changed: discarded, fresh, with the new umask", async () => {
      await sh('true', fresh());
      await headReady();
      const [pid] = headPids();
      process.umask(0o027);
      const r = await sh('umask', fresh());
      expect([r.head, r.out.trim()]).toEqual([false, '0027']);
      for (let i = 0; i < 200 && alive([pid]).length; i++) await sleep(10);
      expect(alive([pid])).toEqual([]);
    });

    // setgroups needs root (the key is the same code for every user).
    it.runIf(isRoot)('its supplementary groups changed: not used; used again once they are back', async () => {
      await sh('true', fresh());
      await headReady();
      const [pid] = headPids();
      const old = process.getgroups!();
      // Unmapped in the sandbox's user namespace, an extra group shows as the overflow gid: one more group.
      const count = (r: Ran) => r.out.trim().split(' ').length;
      process.setgroups!([...old, 4242]);
      let r: Ran;
      try {
        r = await sh('id -G', fresh());
        expect(r.head).toBe(false);
      } finally {
        process.setgroups!(old);
      }
      expect(headPids()).toContain(pid);
      const back = await sh('id -G', fresh());
      expect(back.head).toBe(true);
      expect(count(back)).toBe(count(r) - 1);
    });

    it('the network choice is part of the head: one for network: false is not used for network: true', async () => {
      await sh('true', fresh());
      await headReady();
      const [off] = headPids();
      const on = await sh('cat /proc/net/dev | cut -d: -f1 | tr -d " " | grep -c .', fresh({ network: true }));
      expect(on.head).toBe(false);
      expect(Number(on.out.trim())).toBeGreaterThan(2); // the host's interfaces (two header lines, lo, ...)
      expect(headPids()).toContain(off);
      const r = await sh('cat /proc/net/dev | cut -d: -f1 | tr -d " " | tail -n +3', fresh());
      expect([r.head, r.out]).toEqual([true, 'lo\n']);
    });

    it('a process group of its own (detached) is part of the key', async () => {
      await sh('true', fresh());
      await headReady();
      const [attached] = headPids();
      const r = await sh('true', { ...fresh(), detached: true });
      expect([r.head, r.code]).toEqual([false, 0]);
      expect(headPids()).toContain(attached); // still waits, beside the detached one started now
      const again = await sh('true', fresh());
      expect([again.head, again.code]).toEqual([true, 0]);
    });

    it('a head start that died while waiting is not used', async () => {
      await sh('true', fresh());
      await headReady();
      const [monitor] = headPids();
      const [init] = kids(monitor);
      for (const p of [monitor, init]) process.kill(p, 'SIGKILL');
      for (let i = 0; i < 300 && alive([monitor, init]).length; i++) await sleep(10);
      const r = await sh('echo ran', fresh());
      expect([r.head, r.out, r.code]).toEqual([false, 'ran\n', 0]);
    });

    it('a signal to a waiting head start (its monitor, or its init directly) does not reach its later command', async () => {
      await sh('true', fresh());
      await headReady();
      const [monitor] = headPids();
      const [init] = kids(monitor);
      for (const sig of ['SIGINT', 'SIGHUP', 'SIGTERM', 'SIGUSR1'] as const) {
        process.kill(monitor, sig);
        process.kill(init, sig);
      }
      // Init drops each as it comes: none is left pending for the command.
      for (let i = 0; i < 300 && !/^ShdPnd:\s+0+$/m.test(status(init)); i++) await sleep(10);
      expect(status(init)).toMatch(/^ShdPnd:\s+0+$/m);
      await sleep(50); // the monitor reads and drops its own
      expect(alive([monitor, init])).toHaveLength(2);
      const r = await sh('sleep 0.2; echo ran', fresh());
      expect([r.head, r.out, r.code, r.signal]).toEqual([true, 'ran\n', 0, null]);
    });

    it('a kill right after the hand-over reaches the command, however late init takes its plan', async () => {
      await sh('true', fresh());
      await headReady();
      const [monitor] = headPids();
      const [init] = kids(monitor);
      process.kill(init, 'SIGSTOP'); // it takes its plan only once continued
      const c = spawn('/bin/sh', ['-c', 'sleep 5; echo ran'], fresh());
      expect(c.plan.steps.some((s) => s.op === 'head_wait')).toBe(true);
      let out = '';
      c.stdout?.on('data', (d) => (out += d));
      const closed = new Promise((resolve) => c.on('close', (code, signal) => resolve([code, signal])));
      expect(c.kill('SIGTERM')).toBe(true);
      for (let i = 0; i < 300 && !/^ShdPnd:\s+0*4000$/m.test(status(init)); i++) await sleep(10);
      expect(status(init)).toMatch(/^ShdPnd:\s+0*4000$/m); // the monitor passed it on: SIGTERM waits at init
      process.kill(init, 'SIGCONT');
      expect(await closed).toEqual([null, 'SIGTERM']);
      expect(out).toBe('');
    });

    it("stdio of any shape: an 'ipc' channel and a pipe on fd 4; a closed fd 3 is not head-started", async () => {
      await sh('true', fresh());
      await headReady();
      const opts = fresh();
      const r = await new Promise<{ head: boolean; message: unknown; fd4: string; code: number | null }>((resolve, reject) => {
        const c = spawn(
          process.execPath,
          ['-e', `process.on('message', (m) => { require('fs').writeSync(4, 'four'); process.send({ echo: m }); process.disconnect(); });`],
          { ...opts, stdio: ['pipe', 'pipe', 'pipe', 'ipc', 'pipe'] },
        );
        let message: unknown;
        let fd4 = '';
        c.on('message', (m) => (message = m));
        (c.stdio[4] as NodeJS.ReadableStream).on('data', (d) => (fd4 += d));
        c.on('error', reject);
        c.on('close', (code) => resolve({ head: c.plan.steps.some((s) => s.op === 'head_wait'), message, fd4, code }));
        c.send('hi');
      });
      expect(r).toEqual({ head: true, message: { echo: 'hi' }, fd4: 'four', code: 0 });
      await headReady();
      const closed = await go('/bin/sh', ['-c', 'ls /proc/self/fd | tr "\\n" " "'], {
        ...fresh(),
        stdio: ['ignore', 'pipe', 'pipe', 'ignore'],
      });
      expect([closed.head, closed.out.trim(), closed.code]).toEqual([false, '0 1 2 3', 0]);
    });
  });

  describe('fails closed with the same reports', () => {
    // Each mutation makes a plan step after the head fail in the kernel (no injection): the report must be a fresh sandbox's.
    const cases: [string, (s: Step) => Step][] = [
      [
        'mount (a tmpfs on a missing path)',
        (s) => (s.op === 'tmpfs' && s.args[0] === '/dev' ? { op: 'tmpfs', args: ['/nonexistent-sbx', ...s.args.slice(1)] } : s),
      ],
      [
        'landlock_path',
        (s) => (s.op === 'landlock_path' && s.args[0] === '/dev' ? { op: 'landlock_path', args: ['/nonexistent', s.args[1]] } : s),
      ],
      ['chdir', (s) => (s.op === 'chdir' ? { op: 'chdir', args: ['/etc/passwd'] } : s)],
    ];
    for (const [label, mutate] of cases) {
      it(`a failing ${label} step in a head start: the command never runs, the same error as a fresh sandbox's`, async () => {
        const W = workspace();
        const marker = path.join(W, 'ran');
        await sh('true', fresh());
        await headReady();
        const run = async (useHead: boolean) => {
          const prepared = prepare('/bin/sh', ['-c', `touch ${marker}`], { cwd: W, sandbox: { writableRoots: [W] } });
          prepared.plan.steps = prepared.plan.steps.map(mutate);
          let warm;
          if (useHead) {
            const h = withHead(prepared.plan, false, { idleMs: 30_000 });
            expect(h.warm).toBeDefined();
            prepared.plan = h.plan;
            warm = h.warm;
          }
          const child = new SandboxedProcess(prepared, { stdio: 'ignore' }, warm, () => {
            throw new Error('no fresh fallback expected');
          });
          const closed = new Promise<[number | null, string | null]>((res) => child.on('close', (c, s) => res([c, s])));
          const err = await new Promise<any>((res) => child.on('error', res));
          await closed;
          return { err, inHead: child.plan.steps.some((s) => s.op === 'head_wait') };
        };
        const a = await run(true);
        const b = await run(false);
        expect([a.inHead, b.inHead]).toEqual([true, false]);
        expect(a.err.code).toBe(SETUP_FAILED);
        for (const k of ['message', 'step', 'errno', 'syscall', 'hint']) expect(a.err[k]).toEqual(b.err[k]);
        expect(fs.existsSync(marker)).toBe(false);
      });
    }

    it('a plan changed on the host between planning and the hand-out (a root replaced): stopped as a fresh sandbox stops it', async () => {
      await sh('true', fresh());
      await headReady();
      const W = workspace();
      const root = path.join(W, 'root');
      fs.mkdirSync(root);
      // tmp: 'none': the root is a group of its own, whose identity the helper checks as it binds it.
      const prepared = prepare('/bin/sh', ['-c', 'touch ran'], { cwd: root, sandbox: { writableRoots: [root], tmp: 'none' } });
      fs.renameSync(root, path.join(W, 'old'));
      fs.mkdirSync(root);
      const failure = async (useHead: boolean) => {
        const h = useHead ? withHead(prepared.plan, false, { idleMs: 30_000 }) : { plan: prepared.plan, warm: undefined };
        expect(!!h.warm).toBe(useHead);
        const child = new SandboxedProcess({ ...prepared, plan: h.plan }, { stdio: 'ignore' }, h.warm);
        const err = await new Promise<any>((res) => child.on('error', res));
        await new Promise((res) => child.on('close', res));
        return err;
      };
      const a = await failure(true);
      const b = await failure(false);
      expect(a.code).toBe(SETUP_FAILED);
      expect(['expect_ids', 'clone_tree']).toContain(a.step);
      for (const k of ['message', 'step', 'errno', 'syscall', 'hint']) expect(a[k]).toEqual(b[k]);
      expect(fs.readdirSync(root)).toEqual([]);
      expect(fs.readdirSync(path.join(W, 'old'))).toEqual([]);
    });
  });

  it('splits only plans it can begin: not landlock-only, a network proxy, a hostname, or an interactive run', () => {
    const W = workspace();
    const plan = prepare('/bin/true', [], { cwd: W, sandbox: { writableRoots: [W] } }).plan;
    const split = splitHead(plan.steps)!;
    expect(split.head.map((s) => s.op)).toEqual(['chdir', 'unshare', 'map_ids', 'loopback_up', 'pidns_fork', 'head_wait']);
    expect(split.tail[0]).toEqual({ op: 'unshare', args: [String(0x20000)] }); // the mount namespace, at the hand-out
    expect(Number(split.head[1].args[0]) & 0x20000).toBe(0);
    // Every step of the plan is in one of the two, once, in order.
    expect([...split.head.slice(1, 4), ...split.tail.slice(1)].map((s) => s.op)).toEqual(
      plan.steps.filter((s) => s.op !== 'pidns_fork').map((s) => s.op),
    );
    const without = (op: string, at = 1): Step[] => [
      ...plan.steps.slice(0, at),
      { op: op as Step['op'], args: [] },
      ...plan.steps.slice(at),
    ];
    expect(splitHead(plan.steps.filter((s) => s.op !== 'unshare'))).toBeUndefined();
    expect(splitHead([{ op: 'proxy_fork', args: [] }, ...plan.steps])).toBeUndefined();
    expect(splitHead(without('sethostname', 2))).toBeUndefined();
    expect(splitHead(without('tty_save', 5))).toBeUndefined();
    expect(splitHead(without('report_started', 5))).toBeUndefined();
    const interactive = plan.steps.map((s) => (s.op === 'pidns_fork' ? { op: s.op, args: ['keep-session'] } : s));
    expect(splitHead(interactive)).toBeUndefined();
  });

  describe('switched off', () => {
    it('configurePool(false) discards the waiting head start and starts none', async () => {
      await sh('true', fresh());
      await headReady();
      const [monitor] = headPids();
      const [init] = kids(monitor);
      configurePool(false);
      expect(poolState().heads).toEqual({ ready: 0, building: 0 });
      for (let i = 0; i < 200 && alive([monitor, init]).length; i++) await sleep(10);
      expect(alive([monitor, init])).toEqual([]);
      for (let i = 0; i < 2; i++) expect((await sh('true', fresh())).head).toBe(false);
      await sleep(200);
      expect(poolState().heads).toEqual({ ready: 0, building: 0 });
      expect(kids(process.pid).filter((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sbx-helper'))).toEqual([]);
    });

    it('pool: false and SBX_NATIVE_POOL=0: not used, none started', async () => {
      expect((await sh('true', { ...fresh(), pool: false })).head).toBe(false);
      await sleep(200);
      expect(poolState().heads).toEqual({ ready: 0, building: 0 });
      process.env.SBX_NATIVE_POOL = '0';
      expect((await sh('true', fresh())).head).toBe(false);
      await sleep(200);
      expect(poolState().heads).toEqual({ ready: 0, building: 0 });
      delete process.env.SBX_NATIVE_POOL;
      expect((await sh('true', fresh())).head).toBe(false); // the first spawn with the pool on starts one
      await headReady();
      expect((await sh('true', { ...fresh(), pool: false })).head).toBe(false);
      expect(poolState().heads.ready).toBe(1);
    });
  });

  it("a command that cannot start in a head start, with no 'error' listener, crashes the process as child_process does", () => {
    const W = workspace();
    const script = `
      const sbx = require(${JSON.stringify(path.join(repoRoot, 'dist'))});
      const pool = require(${JSON.stringify(path.join(repoRoot, 'dist', 'pool.js'))});
      sbx.spawn('/bin/true', [], { cwd: ${JSON.stringify(W)}, sandbox: { writableRoots: [${JSON.stringify(W)}] } }).on('close', async () => {
        while (pool.poolState().heads.ready < 1) await new Promise((r) => setTimeout(r, 10));
        const c = sbx.spawn('no-such-command-sbx', [], { cwd: '/', env: { PATH: '/usr/bin:/bin' }, sandbox: { writableRoots: [] } });
        console.log(c.plan.steps.some((s) => s.op === 'head_wait'));
      });`;
    const r = require('child_process').spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect([r.status, r.stdout.trim()]).toEqual([1, 'true']);
    expect(r.stderr).toMatch(/spawn no-such-command-sbx ENOENT/);
  });

  describe('nothing outlives this process', () => {
    for (const [how, end] of [
      ['exits by itself', 'setTimeout(() => {}, 300);'],
      ['is killed with SIGKILL', 'setInterval(() => {}, 1000);'],
    ] as const) {
      it(`when the Node process ${how}, its head start ends with it (ps and /proc)`, async () => {
        const W = workspace();
        const script = `
          const sbx = require(${JSON.stringify(path.join(repoRoot, 'dist'))});
          const pool = require(${JSON.stringify(path.join(repoRoot, 'dist', 'pool.js'))});
          const heads = require(${JSON.stringify(path.join(repoRoot, 'dist', 'head-start.js'))});
          sbx.spawn('/bin/true', [], { cwd: ${JSON.stringify(W)}, sandbox: { writableRoots: [${JSON.stringify(W)}] } }).on('close', async () => {
            while (pool.poolState().heads.ready < 1) await new Promise((r) => setTimeout(r, 10));
            console.log(JSON.stringify(heads.headPids()));
            ${end}
          });`;
        const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');
        const before = { tree: snapshot(W), mounts: mounts() };
        const parent = cpSpawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        const [monitor] = await new Promise<number[]>((res) => parent.stdout!.on('data', (d) => res(JSON.parse(String(d)))));
        const [init] = kids(monitor);
        expect(alive([monitor, init])).toHaveLength(2);
        const exited = new Promise((res) => parent.on('exit', (code, signal) => res([code, signal])));
        const kill = end.startsWith('setInterval');
        if (kill) parent.kill('SIGKILL');
        expect(await exited).toEqual(kill ? [null, 'SIGKILL'] : [0, null]); // a head start keeps no event loop alive
        for (let i = 0; i < 300 && [monitor, init].some((p) => fs.existsSync(`/proc/${p}`)); i++) await sleep(10);
        expect(alive([monitor, init])).toEqual([]);
        // ps lists them no more, or only as dead (a zombie: reparented to pid 1, which collects it when it gets to it).
        const ps = require('child_process').execFileSync('ps', ['-eo', 'pid=,stat='], { encoding: 'utf8' }) as string;
        const listed = ps
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .filter(([p]) => Number(p) === monitor || Number(p) === init);
        expect(listed.filter(([, stat]) => !stat.startsWith('Z'))).toEqual([]);
        expect(snapshot(W)).toEqual(before.tree);
        expect(mounts()).toBe(before.mounts);
      });
    }
  });
});
