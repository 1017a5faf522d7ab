// Behaviours 6 and 7: exit reporting, signals and spawn errors match
// child_process.
import fs from 'fs';
import path from 'path';
import { describe, expect, it } from 'vitest';
import { spawn, run, SandboxedProcess } from '../lib';
import { rmTree, tempDir, userLabel } from './helpers';

const none = { writableRoots: [] as string[] };
const exitOf = (c: SandboxedProcess) => new Promise<[number | null, string | null]>((res) => c.on('exit', (code, sig) => res([code, sig])));
const started = (c: SandboxedProcess, out: { s: string }) =>
  new Promise<void>((res) =>
    c.stdout!.on('data', (d) => {
      out.s += d;
      if (out.s.includes('ready')) res();
    }),
  );

describe(`exit status and signals (as ${userLabel})`, () => {
  it('reports an exit code as (7, null)', async () => {
    expect(await exitOf(spawn('/bin/sh', ['-c', 'exit 7'], { sandbox: none }))).toEqual([7, null]);
    expect(await exitOf(spawn('/bin/true', [], { sandbox: none }))).toEqual([0, null]);
  });

  it('reports a command killed by SIGKILL as (null, "SIGKILL"), and run() resolves the same', async () => {
    expect(await exitOf(spawn('/bin/sh', ['-c', 'kill -KILL $$'], { sandbox: none }))).toEqual([null, 'SIGKILL']);
    const r = await run('/bin/sh', ['-c', 'kill -SEGV $$'], { sandbox: none });
    expect([r.code, r.signal]).toEqual([null, 'SIGSEGV']);
  });

  it('delivers kill("SIGTERM") to the command', async () => {
    const c = spawn('/bin/sh', ['-c', 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.05; done'], { sandbox: none });
    const out = { s: '' };
    await started(c, out);
    expect(c.kill('SIGTERM')).toBe(true);
    expect(await exitOf(c)).toEqual([42, null]);
    expect(out.s).toContain('got-term');
    expect(c.killed).toBe(true);
  });

  it('reports a command that dies of the forwarded SIGTERM as (null, "SIGTERM")', async () => {
    const c = spawn('/bin/sh', ['-c', 'echo ready; exec sleep 100'], { sandbox: none });
    await started(c, { s: '' });
    c.kill();
    expect(await exitOf(c)).toEqual([null, 'SIGTERM']);
  });

  it('still kills a command that ignores SIGTERM with SIGKILL', async () => {
    const c = spawn('/bin/sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'], { sandbox: none });
    await started(c, { s: '' });
    c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.exitCode).toBe(null);
    c.kill('SIGKILL');
    expect(await exitOf(c)).toEqual([null, 'SIGKILL']);
    expect(c.kill('SIGKILL')).toBe(false); // gone: no signal to a recycled pid
  });

  it('emits "error" with ENOENT for a missing command, like child_process', async () => {
    // A PATH that `nobody` can search entirely: otherwise execvp reports EACCES, as child_process does.
    const c = spawn('no-such-command-sbx', ['a'], { sandbox: none, env: { PATH: '/usr/bin:/bin' } });
    const err = await new Promise<NodeJS.ErrnoException>((res) => c.on('error', res));
    expect(err.code).toBe('ENOENT');
    expect(err.errno).toBe(-2);
    expect(err.syscall).toBe('spawn no-such-command-sbx');
    expect(err.path).toBe('no-such-command-sbx');
    await expect(run('/nonexistent/bin', [], { sandbox: none })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('emits "error" with EACCES for a file that is not executable', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'script.sh');
    fs.writeFileSync(f, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    await expect(run(f, [], { sandbox: none })).rejects.toMatchObject({ code: 'EACCES', errno: -13 });
    rmTree(dir);
  });

  it('finds commands on the PATH of the given env', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'mytool'), '#!/bin/sh\necho from-mytool\n', { mode: 0o755 });
    const r = await run('mytool', [], { sandbox: none, env: { PATH: `${dir}:/usr/bin:/bin` } });
    expect(r.stdout).toBe('from-mytool\n');
    rmTree(dir);
  });

  it('pipes stdin, stdout and stderr', async () => {
    const r = await run('/bin/sh', ['-c', 'cat; echo err >&2'], { sandbox: none, input: 'hello' });
    expect(r).toEqual({ code: 0, signal: null, stdout: 'hello', stderr: 'err\n', violations: [] });
  });

  // The 'exit' comes as soon as the command has ended, before the kernel tears
  // the sandbox's namespaces down (protocol/events.json `exited`): by then
  // init has killed and reaped everything else in it, so nothing started
  // inside writes on, and the helper is still reaped afterwards.
  it('at the exit nothing started inside runs any more, and the helper is reaped after', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'ticks');
    const c = spawn('/bin/sh', ['-c', `(while :; do echo x >> ${f}; done) & sleep 0.2; exit 3`], {
      sandbox: { writableRoots: [dir] },
    });
    expect(await exitOf(c)).toEqual([3, null]);
    const at = fs.statSync(f).size;
    expect(at).toBeGreaterThan(0); // the writer ran, so its stop below means something
    await new Promise((r) => setTimeout(r, 300));
    expect(fs.statSync(f).size).toBe(at);
    // Not left a zombie: the reaper still waits for it once its teardown ends.
    let state = '';
    for (let i = 0; i < 200; i++) {
      try {
        state = fs.readFileSync(`/proc/${c.pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      } catch {
        state = 'gone';
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(state).toBe('gone');
    rmTree(dir);
  });

  it('the exit comes from init: a monitor that is not scheduled (stopped here) does not delay it', async () => {
    const c = spawn('/bin/sh', ['-c', 'echo ready; read x; exit 5'], { sandbox: none, stdio: ['pipe', 'pipe', 'pipe'] });
    await started(c, { s: '' });
    const stateOf = () => {
      try {
        return fs.readFileSync(`/proc/${c.pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      } catch {
        return 'gone';
      }
    };
    process.kill(c.pid!, 'SIGSTOP'); // the monitor: the helper this process started
    try {
      for (let i = 0; i < 200 && stateOf() !== 'T'; i++) await new Promise((r) => setTimeout(r, 10));
      expect(stateOf()).toBe('T');
      let exited: [number | null, string | null] | undefined;
      exitOf(c).then((e) => (exited = e));
      c.stdin!.end('go\n');
      for (let i = 0; i < 500 && !exited; i++) await new Promise((r) => setTimeout(r, 10));
      expect([exited, stateOf()]).toEqual([[5, null], 'T']); // told while the monitor was still stopped
    } finally {
      process.kill(c.pid!, 'SIGCONT');
    }
    for (let i = 0; i < 300 && stateOf() !== 'gone'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stateOf()).toBe('gone'); // and reaped once it ran again
  });
});
