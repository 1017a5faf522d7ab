// Behaviour 5: what the command finds inside: no privileges, its own pid
// namespace and /proc, a minimal /dev, only the fds it was given, default
// signal state, no terminal injection, and death with its Node parent.
import { spawn as cpSpawn, execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { describe, expect, it } from 'vitest';
import { run } from '../lib';
import { repoRoot, sh, tempDir, rmTree, userLabel } from './helpers';

const none = { writableRoots: [] as string[] };

function statusField(status: string, key: string): string {
  return status
    .split('\n')
    .find((l) => l.startsWith(key + ':'))!
    .split(':')[1]
    .trim();
}

describe(`inside the sandbox (as ${userLabel})`, () => {
  it('has no_new_privs and empty capability sets', async () => {
    const r = await run('/bin/cat', ['/proc/self/status'], { sandbox: none });
    expect(statusField(r.stdout, 'NoNewPrivs')).toBe('1');
    for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(statusField(r.stdout, k), k).toBe('0000000000000000');
  });

  it('runs in a new pid namespace with a fresh /proc: host processes are invisible', async () => {
    const r = await sh('echo $$; ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "; echo; cat /proc/1/cmdline | tr "\\0" " "', none);
    const [pid, pids, init] = r.stdout.split('\n');
    expect(pid).toBe('2');
    // pid 1 is the sandbox's init, 2 the shell, the rest its own children.
    expect(
      pids
        .trim()
        .split(' ')
        .map(Number)
        .every((p) => p < 10),
    ).toBe(true);
    expect(init).toMatch(/sbx-helper/);
    expect(fs.existsSync(`/proc/${process.pid}`)).toBe(true); // but the host has it
  });

  it('has a minimal /dev with working devices', async () => {
    const r = await sh(
      'ls /dev | tr "\\n" " "; echo; echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | od -An -tx1; head -c 8 /dev/urandom | wc -c; head -c 8 /dev/random | wc -c; /bin/echo x > /dev/full || echo full-ENOSPC',
      none,
    );
    const lines = r.stdout.split('\n').map((l) => l.trim());
    expect(lines[0].split(' ').sort()).toEqual([
      'core',
      'fd',
      'full',
      'null',
      'ptmx',
      'pts',
      'random',
      'shm',
      'stderr',
      'stdin',
      'stdout',
      'tty',
      'urandom',
      'zero',
    ]);
    expect(lines.slice(1, 6)).toEqual(['null-ok', '00 00 00 00', '8', '8', 'full-ENOSPC']);
    expect(r.stderr).toMatch(/No space left on device/);
    const dev = await sh('mknod /dev/sda b 8 0; echo > /dev/newfile', none);
    expect(dev.stderr).toMatch(/Read-only file system|Operation not permitted/);
  });

  it('sees only fds 0-2, plus those passed explicitly', async () => {
    // No pipeline: the shell would briefly hold the pipe's fds while ls looks.
    const r = await sh('ls /proc/$$/fd', none);
    expect(r.stdout.split(/\s+/).filter(Boolean)).toEqual(['0', '1', '2']);
    const dir = tempDir();
    const f = path.join(dir, 'passed');
    const fd = fs.openSync(f, 'w');
    try {
      const child = (await import('../lib')).spawn('/bin/sh', ['-c', 'ls /proc/$$/fd; echo via-fd3 >&3'], {
        sandbox: none,
        stdio: ['ignore', 'pipe', 'pipe', fd],
      });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      await new Promise((res) => child.on('close', res));
      expect(out.split(/\s+/).filter(Boolean)).toEqual(['0', '1', '2', '3']);
      expect(fs.readFileSync(f, 'utf8')).toBe('via-fd3\n');
    } finally {
      fs.closeSync(fd);
      rmTree(dir);
    }
  });

  it('starts with default signal dispositions and an empty mask', async () => {
    const r = await run('/bin/cat', ['/proc/self/status'], { sandbox: none });
    expect(statusField(r.stdout, 'SigIgn')).toBe('0000000000000000'); // Node itself ignores SIGPIPE
    expect(statusField(r.stdout, 'SigBlk')).toBe('0000000000000000');
    expect(statusField(r.stdout, 'SigCgt')).toBe('0000000000000000');
  });

  it('refuses TIOCSTI on an inherited terminal (and the same ioctl works outside)', () => {
    const py = `import fcntl, termios, os
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"#"); print("ok")
except OSError as e:
    print(os.strerror(e.errno))`;
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 't.py'), py);
    fs.chmodSync(path.join(dir, 't.py'), 0o644);
    const runner = `require(${JSON.stringify(path.join(repoRoot, 'dist'))}).spawn('/usr/bin/python3', [${JSON.stringify(path.join(dir, 't.py'))}], { stdio: 'inherit', sandbox: { writableRoots: [] } })`;
    const inside = execFileSync('script', ['-qc', `${process.execPath} -e "${runner.replace(/"/g, '\\"')}"`, '/dev/null'], {
      encoding: 'utf8',
    });
    const outside = execFileSync('script', ['-qc', `/usr/bin/python3 ${path.join(dir, 't.py')}`, '/dev/null'], { encoding: 'utf8' });
    rmTree(dir);
    expect(inside.trim()).toBe('Operation not permitted');
    expect(outside).toMatch(/ok/);
  });

  it('keeps the inherited terminal usable: isatty and terminal ioctls work, /dev/tty exists', () => {
    const runner = `require(${JSON.stringify(path.join(repoRoot, 'dist'))}).spawn('/bin/sh', ['-c', 'test -t 0 && test -t 1 && stty size >/dev/null && echo tty-ok; test -c /dev/tty && echo devtty'], { stdio: 'inherit', sandbox: { writableRoots: [] } })`;
    const out = execFileSync('script', ['-qc', `${process.execPath} -e "${runner.replace(/"/g, '\\"')}"`, '/dev/null'], {
      encoding: 'utf8',
    });
    expect(out.replace(/\r/g, '').trim().split('\n')).toEqual(['tty-ok', 'devtty']);
  });

  it('dies when its Node parent dies', async () => {
    const marker = `sbx-orphan-${process.pid}-${Date.now()}`;
    const parent = cpSpawn(
      process.execPath,
      [
        '-e',
        `
      const c = require(${JSON.stringify(path.join(repoRoot, 'dist'))}).spawn('/bin/sleep', ['1000'], { argv0: ${JSON.stringify(marker)}, sandbox: { writableRoots: [] } });
      c.on('spawn', () => console.log(c.pid));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const helperPid = Number(await new Promise<string>((res) => parent.stdout!.once('data', (d) => res(String(d)))));
    const alive = () =>
      fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(marker);
          } catch {
            return false;
          }
        });
    for (let i = 0; i < 50 && alive().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive().length).toBe(1);
    parent.kill('SIGKILL');
    await new Promise((res) => parent.on('exit', res));
    for (let i = 0; i < 100 && (alive().length || fs.existsSync(`/proc/${helperPid}`)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toEqual([]);
    expect(fs.existsSync(`/proc/${helperPid}`)).toBe(false);
  });
});
