// wrap(): the sandbox under a spawner of the caller's choice: real node-pty
// (a terminal), child_process; what the helper reports reaches the caller;
// a plan that is not handed over by the helper's parent is refused.
import { spawn as cpSpawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { beforeAll, describe, expect, it } from 'vitest';
import { wrap, WrappedCommand } from '../lib';
import { installNpmPackage, nodePty } from './clients';
import { rmTree, snapshot, tempDir, userLabel } from './helpers';

const exitOf = (c: ReturnType<typeof cpSpawn>) =>
  new Promise<[number | null, string | null]>((res) => c.on('exit', (code, sig) => res([code, sig])));
const eventsOf = (w: WrappedCommand) => {
  const seen: string[] = [];
  for (const e of ['started', 'spawn', 'error']) w.on(e, (x?: any) => seen.push(e === 'error' ? `error ${x.code}` : e));
  return seen;
};

describe(`wrap() under child_process (as ${userLabel})`, () => {
  it('confines writes, reports spawn, and the exit status reaches the spawner', async () => {
    const root = tempDir();
    const outside = tempDir();
    try {
      const before = snapshot(outside);
      const w = wrap('/bin/sh', ['-c', `echo in > ${root}/f; echo x > ${outside}/g; echo "$SBX_NATIVE_SANDBOX"; exit 3`], {
        sandbox: { writableRoots: [root], tmp: 'none' },
      });
      const seen = eventsOf(w);
      const c = cpSpawn(w.file, w.args, { env: w.env, cwd: w.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout!.on('data', (d) => {
        out += d;
      });
      c.stderr!.on('data', (d) => {
        err += d;
      });
      expect(await exitOf(c)).toEqual([3, null]);
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual(['started', 'spawn']);
      expect(w.pid).toBe(c.pid);
      expect(out).toBe('1\n');
      expect(err).toMatch(/Read-only file system/);
      expect(fs.readFileSync(path.join(root, 'f'), 'utf8')).toBe('in\n');
      expect(snapshot(outside)).toEqual(before);
    } finally {
      rmTree(root);
      rmTree(outside);
    }
  });

  it('a missing command: an ENOENT error event, exit status 127, no spawn', async () => {
    const w = wrap('no-such-command-sbx', [], { sandbox: { writableRoots: [] }, env: { PATH: '/usr/bin:/bin' } });
    const seen = eventsOf(w);
    const c = cpSpawn(w.file, w.args, { env: w.env, stdio: 'ignore' });
    expect(await exitOf(c)).toEqual([127, null]);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(['started', 'error ENOENT']);
  });

  // The helper's command fork resets only the handlers the helper installs
  // (native/helper/ops_fork.cc): what a spawner left ignored must be reset as
  // the helper starts, or an exec would hand it on to the command.
  it('a command under a spawner that ignores signals starts with none ignored', async () => {
    const ignoring = (file: string, args: string[]) =>
      cpSpawn('/bin/sh', ['-c', `trap '' XCPU PROF URG HUP; exec "$@"`, 'sh', file, ...args], {
        env: { ...process.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const statusOf = async (c: ReturnType<typeof cpSpawn>) => {
      let out = '';
      c.stdout!.on('data', (d) => (out += d));
      expect(await exitOf(c)).toEqual([0, null]);
      const field = (k: string) => out.match(new RegExp(`^${k}:\\s*(\\S+)`, 'm'))?.[1];
      return { ign: field('SigIgn'), cgt: field('SigCgt') };
    };
    // Unsandboxed, the shell's ignored signals do reach cat: the setup can tell.
    expect((await statusOf(ignoring('/bin/cat', ['/proc/self/status']))).ign).not.toBe('0000000000000000');
    const w = wrap('/bin/cat', ['/proc/self/status'], { sandbox: { writableRoots: [] } });
    expect(await statusOf(ignoring(w.file, w.args))).toEqual({ ign: '0000000000000000', cgt: '0000000000000000' });
  });

  it("a plan not handed over by the helper's own parent is refused (EPERM, exit 125, nothing runs)", () => {
    const dir = tempDir();
    try {
      const marker = path.join(dir, 'ran');
      const w = wrap('/bin/sh', ['-c', `touch ${marker}`], { sandbox: { writableRoots: [dir] } });
      // A grandchild: the helper's parent is the shell, not the process holding the plan.
      const r = spawnSync('/bin/sh', ['-c', `"$@"; echo "status $?"`, 'sh', w.file, ...w.args], { encoding: 'utf8' });
      expect(r.stdout).toBe('status 125\n');
      // The shell's own fd 7 is a plain file holding a plan: not a sealed memfd.
      const forged = path.join(dir, 'forged-plan');
      fs.writeFileSync(forged, fs.readFileSync(`/proc/self/fd/${w.args[2]}`));
      const f = spawnSync('/bin/sh', ['-c', `exec 7<${forged}; exec 8>${dir}/report; "$0" --handoff $$ 7 8; echo "status $?"`, w.file], {
        encoding: 'utf8',
      });
      expect(f.stdout).toBe('status 125\n');
      expect(fs.existsSync(marker)).toBe(false);
      w.close();
    } finally {
      rmTree(dir);
    }
  });

  it('close() frees what a wrapped command that never ran held', () => {
    const count = () => fs.readdirSync('/proc/self/fd').length;
    const before = count();
    const ws = Array.from({ length: 5 }, () => wrap('true', [], { sandbox: { writableRoots: [] } }));
    expect(count()).toBeGreaterThan(before);
    for (const w of ws) w.close();
    expect(count()).toBe(before);
  });

  it('refuses options that belong to the spawner, naming them', () => {
    expect(() => wrap('true', [], { stdio: 'inherit' } as any)).toThrow(/"stdio" option belongs to the spawner/);
    expect(() => wrap('true', [], { uid: 0 } as any)).toThrow(/"uid" option is not supported/);
  });
});

describe(`wrap() under node-pty (as ${userLabel})`, () => {
  let pty: any;
  let why = '';
  beforeAll(() => {
    const r = nodePty();
    if ('why' in r) why = r.why;
    else pty = r.pty;
  }, 300_000);

  it("the terminal has its name inside (tty, ttyname), and only it: the user's other terminals stay out of sight", async (ctx) => {
    if (!pty) ctx.skip(`node-pty is missing: ${why}`);
    // Another terminal of the user's, open on the host while the sandbox runs.
    const other = pty.spawn('/bin/sh', ['-c', 'tty; sleep 30'], { cwd: '/', env: { PATH: '/usr/bin:/bin' } });
    let otherName = '';
    await new Promise<void>((res) =>
      other.onData((d: string) => {
        otherName += d;
        if (otherName.includes('\n')) res();
      }),
    );
    otherName = otherName.trim();
    try {
      const script =
        'tty; ls /dev/pts | tr "\\n" " "; echo; python3 -c "import os, pty; m, s = pty.openpty(); print(os.ttyname(0), os.ttyname(s))"';
      const w = wrap('/bin/sh', ['-c', script], { interactive: true, sandbox: { writableRoots: [] } });
      const term = pty.spawn(w.file, w.args, { cwd: w.cwd, env: w.env });
      let out = '';
      term.onData((d: string) => {
        out += d;
      });
      expect(await new Promise<number>((res) => term.onExit((e: { exitCode: number }) => res(e.exitCode)))).toBe(0);
      const [name, listing, pyNames] = out.split(/\r?\n/);
      expect(name).toMatch(/^\/dev\/pts\/\d+$/);
      const n = name.slice('/dev/pts/'.length);
      // Its own node and the instance's ptmx; a pty made inside gets a free index of the sandbox's own instance.
      expect(listing.trim().split(' ').sort()).toEqual([n, 'ptmx'].sort());
      expect(otherName).toMatch(/^\/dev\/pts\/\d+$/);
      expect(listing.split(' ')).not.toContain(otherName.slice('/dev/pts/'.length));
      const [own, inner] = pyNames.split(' ');
      expect(own).toBe(name);
      expect(inner).toMatch(/^\/dev\/pts\/\d+$/);
      expect(inner).not.toBe(name);
    } finally {
      other.kill();
    }
  });

  it('runs the command sandboxed on a real terminal, and its exit status reaches node-pty', async (ctx) => {
    if (!pty) ctx.skip(`node-pty is missing: ${why}`);
    const root = tempDir();
    try {
      const w = wrap(
        '/bin/sh',
        [
          '-c',
          `test -t 0 && test -t 1 && echo on-a-tty; echo "$SBX_NATIVE_SANDBOX"; touch /etc/sbx-x || echo refused; echo in > ${root}/f; exit 4`,
        ],
        { interactive: true, sandbox: { writableRoots: [root], tmp: 'none' } },
      );
      const seen = eventsOf(w);
      const term = pty.spawn(w.file, w.args, { name: 'xterm', cols: 80, rows: 24, cwd: w.cwd, env: w.env });
      let out = '';
      term.onData((d: string) => {
        out += d;
      });
      const code = await new Promise<number>((res) => term.onExit((e: { exitCode: number }) => res(e.exitCode)));
      expect(code).toBe(4);
      expect(out).toMatch(/on-a-tty\r?\n1\r?\n/);
      expect(out).toMatch(/Read-only file system/);
      expect(out).toContain('refused');
      expect(fs.readFileSync(path.join(root, 'f'), 'utf8')).toBe('in\n');
      expect(fs.existsSync('/etc/sbx-x')).toBe(false);
      expect(seen).toEqual(['started', 'spawn']);
    } finally {
      rmTree(root);
    }
  });
});

describe(`wrap() under execa (as ${userLabel})`, () => {
  let execa: any;
  let why = '';
  beforeAll(async () => {
    const r = installNpmPackage('execa', '9.6.0');
    if ('why' in r) why = r.why;
    else execa = (await import(path.join(r.dir, 'node_modules', 'execa', 'index.js'))).execa;
  }, 300_000);

  it('execa runs the wrapped command: output, exit code and errors come back as execa reports them', async (ctx) => {
    if (!execa) ctx.skip(`execa is missing: ${why}`);
    const root = tempDir();
    try {
      const ok = wrap('/bin/sh', ['-c', `echo hi; echo in > ${root}/f`], { sandbox: { writableRoots: [root], tmp: 'none' } });
      const r = await execa(ok.file, ok.args, { env: ok.env, extendEnv: false, cwd: ok.cwd });
      expect(r.stdout).toBe('hi');
      expect(fs.readFileSync(path.join(root, 'f'), 'utf8')).toBe('in\n');
      const bad = wrap('/bin/sh', ['-c', 'echo x > /etc/sbx-execa; exit 3'], { sandbox: { writableRoots: [root] } });
      const e = await execa(bad.file, bad.args, { env: bad.env, extendEnv: false, reject: false });
      expect(e.exitCode).toBe(3);
      expect(e.stderr).toMatch(/Read-only file system/);
      expect(fs.existsSync('/etc/sbx-execa')).toBe(false);
    } finally {
      rmTree(root);
    }
  });
});
