// The same scenarios through child_process and through sbx-native: events,
// their order, codes, output and errors must match. Differences are listed in
// docs/api.md ("Differences from child_process"), each with its reason.
import * as cp from 'child_process';
import path from 'path';
import { describe, expect, it } from 'vitest';
import * as sbx from '../lib';
import { leftovers, repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';
import fs from 'fs';

type Spawner = (file: string, args: string[], options: Record<string, unknown>) => any;
const spawners: Record<string, Spawner> = {
  child_process: (f, a, o) => cp.spawn(f, a, o),
  'sbx-native': (f, a, o) => sbx.spawn(f, a, { ...o, sandbox: { writableRoots: [] } }),
};
// A PATH that `nobody` can search entirely (else execvp's answer is EACCES, for both).
const env = { PATH: '/usr/bin:/bin' };

const describeError = (e: NodeJS.ErrnoException & { spawnargs?: string[] }) => ({
  message: e.message,
  code: e.code,
  errno: e.errno,
  syscall: e.syscall,
  path: e.path,
  spawnargs: e.spawnargs,
});

/** Every event with its arguments, in order, and the pid as seen at each; stdout collected. */
function record(
  spawner: Spawner,
  file: string,
  args: string[],
  options: Record<string, unknown> = {},
): Promise<{ events: unknown[]; stdout: string; spawnargs: string[] }> {
  return new Promise((resolve) => {
    const c = spawner(file, args, { env, ...options });
    const events: unknown[] = [];
    let stdout = '';
    c.stdout?.on('data', (d: Buffer) => {
      stdout += d;
    });
    c.on('spawn', () => events.push(['spawn', typeof c.pid]));
    c.on('error', (e: NodeJS.ErrnoException) => events.push(['error', describeError(e), typeof c.pid]));
    c.on('exit', (code: number | null, sig: string | null) => events.push(['exit', code, sig, c.exitCode, c.signalCode]));
    c.on('close', (code: number | null, sig: string | null) => {
      events.push(['close', code, sig, c.exitCode]);
      resolve({ events, stdout, spawnargs: c.spawnargs });
    });
  });
}

async function both(file: string, args: string[], options: Record<string, unknown> = {}) {
  const [a, b] = [await record(spawners.child_process, file, args, options), await record(spawners['sbx-native'], file, args, options)];
  expect(b).toEqual(a);
  return a;
}

describe(`child_process parity: events, order, codes (as ${userLabel})`, () => {
  it('a command that succeeds: spawn, exit, close, with its output', async () => {
    const r = await both('/bin/sh', ['-c', 'echo out; exit 0']);
    expect(r.events).toEqual([
      ['spawn', 'number'],
      ['exit', 0, null, 0, null],
      ['close', 0, null, 0],
    ]);
    expect(r.stdout).toBe('out\n');
  });

  it('an exit code and a signal', async () => {
    expect((await both('/bin/sh', ['-c', 'exit 3'])).events.at(-1)).toEqual(['close', 3, null, 3]);
    expect((await both('/bin/sh', ['-c', 'kill -TERM $$'])).events.at(-1)).toEqual(['close', null, 'SIGTERM', null]);
  });

  it('a missing command: error ENOENT, no spawn, no pid, close with -2', async () => {
    const r = await both('no-such-command-sbx', ['a']);
    expect(r.events.map((e) => (e as string[])[0])).toEqual(['error', 'close']);
    expect(r.events[0]).toMatchObject([
      'error',
      { code: 'ENOENT', errno: -2, syscall: 'spawn no-such-command-sbx', path: 'no-such-command-sbx', spawnargs: ['a'] },
      'undefined',
    ]);
  });

  it('a command that is not executable: EACCES', async () => {
    const r = await both('/etc/passwd', []);
    expect(r.events[0]).toMatchObject(['error', { code: 'EACCES' }, 'undefined']);
  });

  it('a missing cwd: ENOENT as a spawn error', async () => {
    const r = await both('true', [], { cwd: '/nonexistent-sbx-cwd' });
    expect(r.events[0]).toMatchObject(['error', { code: 'ENOENT', syscall: 'spawn true' }, 'undefined']);
  });

  it('a cwd that is not a directory throws ENOTDIR', () => {
    const thrown = (s: Spawner) => {
      try {
        s('true', [], { cwd: '/etc/passwd' });
        return undefined;
      } catch (e) {
        return describeError(e as NodeJS.ErrnoException);
      }
    };
    const a = thrown(spawners.child_process);
    expect(a?.code).toBe('ENOTDIR');
    expect(thrown(spawners['sbx-native'])).toEqual(a);
  });

  it('argv0 is the first of spawnargs and what the command sees as $0', async () => {
    const r = await both('/bin/sh', ['-c', 'echo "$0"'], { argv0: 'my-shell' });
    expect(r.spawnargs).toEqual(['my-shell', '-c', 'echo "$0"']);
    expect(r.stdout).toBe('my-shell\n');
  });
});

describe(`child_process parity: exceptions in listeners are not swallowed (as ${userLabel})`, () => {
  const impl = { child_process: 'require("child_process")', 'sbx-native': `require(${JSON.stringify(path.join(repoRoot, 'dist'))})` };
  const cases: [string, string][] = [
    ['thrown in an exit listener', `c.on('exit', () => { throw new Error('boom-exit'); });`],
    ['thrown in a close listener', `c.on('close', () => { throw new Error('boom-close'); });`],
    ['an unhandled error event', `/* no error listener */`],
  ];
  for (const [label, listener] of cases) {
    it(`${label}: the process crashes with exit 1`, () => {
      const results = Object.entries(impl).map(([name, req]) => {
        const file = label.includes('unhandled') ? 'no-such-command-sbx' : 'true';
        const src = `const c = ${req}.spawn(${JSON.stringify(file)}, [], { env: { PATH: '/usr/bin:/bin' }, sandbox: { writableRoots: [] } }); ${listener}`;
        const r = cp.spawnSync(process.execPath, ['-e', src], { encoding: 'utf8', cwd: '/' });
        return { name, status: r.status, boom: /boom-(exit|close)|ENOENT/.test(r.stderr), deprecation: r.stderr.includes('DEP0168') };
      });
      expect(results[0]).toEqual({ name: 'child_process', status: 1, boom: true, deprecation: false });
      expect(results[1]).toEqual({ name: 'sbx-native', status: 1, boom: true, deprecation: false });
    });
  }

  it("an uncaughtException handler sees the listener's own error, and the process carries on", () => {
    const src = `process.on('uncaughtException', (e) => { console.log('caught', e.message); });
      const c = ${impl['sbx-native']}.spawn('true', [], { sandbox: { writableRoots: [] } });
      c.on('exit', () => { throw new Error('boom-exit'); });`;
    const r = cp.spawnSync(process.execPath, ['-e', src], { encoding: 'utf8', cwd: '/' });
    expect(r.stdout).toBe('caught boom-exit\n');
    expect(r.status).toBe(0);
  });
});

describe(`child_process parity: execFile, options (as ${userLabel})`, () => {
  const util = require('util') as typeof import('util');
  const none = { writableRoots: [] as string[] };
  const cpExecFile = util.promisify(cp.execFile);
  const sbxExecFile = util.promisify(sbx.execFile);
  /** The promisified call's outcome, with the fields child_process gives. */
  const outcome = async (p: Promise<{ stdout: unknown; stderr: unknown }>) => {
    try {
      const r = await p;
      return { ok: true, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as NodeJS.ErrnoException & Record<string, unknown>;
      const out = x.stdout as string | Buffer | undefined;
      return {
        ok: false,
        name: x.name,
        message: x.message,
        code: x.code,
        signal: x.signal,
        killed: x.killed,
        cmd: x.cmd,
        stdoutLength: out?.length,
      };
    }
  };
  const cases: [string, string, string[], Record<string, unknown>][] = [
    ['success', '/bin/sh', ['-c', 'echo out; echo err >&2'], {}],
    ['a non-zero exit', '/bin/sh', ['-c', 'echo o; echo bad >&2; exit 3'], {}],
    ['a signal', '/bin/sh', ['-c', 'kill -TERM $$'], {}],
    ['maxBuffer exceeded', 'head', ['-c', '2000000', '/dev/zero'], {}],
    ['a small maxBuffer on stderr', '/bin/sh', ['-c', 'echo 0123456789 >&2; sleep 5'], { maxBuffer: 4 }],
    ['a timeout', 'sleep', ['5'], { timeout: 200 }],
    ['a timeout with killSignal', 'sleep', ['5'], { timeout: 200, killSignal: 'SIGKILL' }],
    ['a missing command', 'no-such-command-sbx', [], {}],
    ['shell: true', 'echo "$0" hi', [], { shell: true }],
    ['encoding buffer', '/bin/sh', ['-c', 'printf abc'], { encoding: 'buffer' }],
    ['encoding hex', '/bin/sh', ['-c', 'printf abc'], { encoding: 'hex' }],
  ];
  for (const [label, file, args, options] of cases) {
    it(`execFile (promisified): ${label}`, async () => {
      const a = await outcome(cpExecFile(file, args, { env, ...options } as any) as any);
      const b = await outcome(sbxExecFile(file, args, { env, ...options, sandbox: none } as any) as any);
      expect(b).toEqual(a);
    });
  }

  it('execFile with a callback, and an AbortSignal', async () => {
    const via = (impl: typeof cp.execFile | typeof sbx.execFile) =>
      new Promise((res) => {
        const ac = new AbortController();
        (impl as any)('sleep', ['5'], { env, signal: ac.signal, sandbox: none }, (err: any, stdout: string) =>
          res({ name: err?.name, code: err?.code, stdout }),
        );
        setTimeout(() => ac.abort(), 100);
      });
    const a = await via(cp.execFile);
    expect(a).toEqual({ name: 'AbortError', code: 'ABORT_ERR', stdout: '' });
    expect(await via(sbx.execFile)).toEqual(a);
  });

  it('an already aborted signal: error, then exit by killSignal', async () => {
    const a = await record(spawners.child_process, 'sleep', ['5'], { signal: AbortSignal.abort() });
    const b = await record(spawners['sbx-native'], 'sleep', ['5'], { signal: AbortSignal.abort() });
    expect(b).toEqual(a);
    expect(a.events.map((e) => (e as string[])[0])).toEqual(['spawn', 'error', 'exit', 'close']);
  });

  it('refuses uid and gid, naming them, instead of ignoring them (nothing runs)', () => {
    for (const key of ['uid', 'gid']) {
      expect(() => sbx.spawn('true', [], { [key]: 0, sandbox: none })).toThrow(new RegExp(`"${key}" option is not supported`));
    }
    expect(() => sbx.spawn('true', [], { killSignal: 'SIGNOPE' as any, sandbox: none })).toThrow(/Unknown signal: SIGNOPE/);
    expect(() => cp.spawn('true', [], { killSignal: 'SIGNOPE' as any })).toThrow(/Unknown signal: SIGNOPE/);
  });

  it('detached: the helper has its own process group; the command still ends with this process', async () => {
    const c = sbx.spawn('sleep', ['5'], { detached: true, stdio: 'ignore', sandbox: none });
    await new Promise((res) => c.on('spawn', res));
    const pgid = Number(require('fs').readFileSync(`/proc/${c.pid}/stat`, 'utf8').split(') ')[1].split(' ')[2]);
    expect(pgid).toBe(c.pid);
    expect(pgid).not.toBe(process.pid);
    c.kill('SIGKILL');
    await new Promise((res) => c.on('close', res));
  });

  it('the command sees SBX_NATIVE_SANDBOX=1, and a caller cannot unset or forge it', async () => {
    const r = await sbx.run('/bin/sh', ['-c', 'echo "$SBX_NATIVE_SANDBOX"'], { env: { ...env, SBX_NATIVE_SANDBOX: 'no' }, sandbox: none });
    expect(r.stdout).toBe('1\n');
  });
});

describe(`disposal (as ${userLabel})`, () => {
  it('Symbol.dispose kills the sandbox with SIGTERM, like ChildProcess; asyncDispose waits for close', async () => {
    const none = { writableRoots: [] as string[] };
    const c = sbx.spawn('sleep', ['5'], { stdio: 'ignore', sandbox: none });
    await new Promise((res) => c.on('spawn', res));
    const exited = new Promise((res) => c.on('exit', (code, sig) => res([code, sig])));
    (c as any)[(Symbol as any).dispose]();
    expect(await exited).toEqual([null, 'SIGTERM']);
    const d = sbx.spawn('sleep', ['5'], { stdio: 'ignore', sandbox: none });
    await new Promise((res) => d.on('spawn', res));
    await (d as any)[(Symbol as any).asyncDispose]();
    expect([d.exitCode, d.signalCode]).toEqual([null, 'SIGTERM']);
  });
});

describe(`child_process parity: spawnSync and execFileSync (as ${userLabel})`, () => {
  const none = { writableRoots: [] as string[] };
  /** The result with pid reduced to its type and errors to their fields. */
  const shape = (r: cp.SpawnSyncReturns<Buffer | string>) => ({
    ...r,
    pid: r.pid > 0 ? 'pid' : r.pid,
    output: r.output?.map((x) => (x === null ? null : x.toString())) ?? null,
    stdout: r.stdout?.toString() ?? null,
    stderr: r.stderr?.toString() ?? null,
    error: r.error && describeError(r.error as NodeJS.ErrnoException),
  });
  const cases: [string, string, string[], Record<string, unknown>][] = [
    ['output and an exit code', '/bin/sh', ['-c', 'echo hi; echo e >&2; exit 3'], {}],
    ['input, decoded output', 'cat', [], { input: 'abc', encoding: 'utf8' }],
    ['a missing command', 'no-such-command-sbx', ['a'], {}],
    ['a missing cwd', 'true', [], { cwd: '/nonexistent-sbx-cwd' }],
    ['a cwd that is not a directory', 'true', [], { cwd: '/etc/passwd' }],
    ['a signal', '/bin/sh', ['-c', 'kill -KILL $$'], {}],
    ['a timeout', 'sleep', ['5'], { timeout: 200 }],
    ['a timeout with killSignal', 'sleep', ['5'], { timeout: 200, killSignal: 'SIGKILL' }],
    ['maxBuffer', '/bin/sh', ['-c', 'echo 0123456789; exec sleep 5'], { maxBuffer: 4 }],
    ['stdout inherited', '/bin/sh', ['-c', 'echo e >&2'], { stdio: ['pipe', 'inherit', 'pipe'] }],
    ['shell', 'echo "$0" hi', [], { shell: true }],
  ];
  for (const [label, file, args, options] of cases) {
    it(`spawnSync: ${label}`, () => {
      const a = shape(cp.spawnSync(file, args, { env, ...options } as any));
      const b = shape(sbx.spawnSync(file, args, { env, ...options, sandbox: none } as any));
      if (label === 'maxBuffer') {
        // How much of the first chunk child_process keeps is libuv's detail; the error and the kill are the contract.
        for (const r of [a, b]) Object.assign(r, { output: null, stdout: null });
      }
      expect(b).toEqual(a);
    });
  }

  it('execFileSync: stdout back, and the error child_process throws', () => {
    expect(sbx.execFileSync('/bin/sh', ['-c', 'echo out'], { env, sandbox: none }).toString()).toBe('out\n');
    const thrown = (f: () => unknown) => {
      try {
        f();
        return undefined;
      } catch (e) {
        const x = e as any;
        return {
          message: x.message,
          status: x.status,
          signal: x.signal,
          stdout: x.stdout?.toString(),
          stderr: x.stderr?.toString(),
          code: x.code,
        };
      }
    };
    const script = ['-c', 'echo o; echo bad >&2; exit 2'];
    const a = thrown(() => cp.execFileSync('/bin/sh', script, { env, stdio: 'pipe' }));
    expect(a?.status).toBe(2);
    expect(thrown(() => sbx.execFileSync('/bin/sh', script, { env, stdio: 'pipe', sandbox: none }))).toEqual(a);
    const b = thrown(() => cp.execFileSync('no-such-command-sbx', [], { env }));
    expect(b?.code).toBe('ENOENT');
    expect(thrown(() => sbx.execFileSync('no-such-command-sbx', [], { env, sandbox: none }))).toEqual(b);
  });

  it('spawnSync leaves no process behind and writes only in its roots', () => {
    const root = tempDir();
    const outside = tempDir();
    try {
      const before = snapshot(outside);
      const r = sbx.spawnSync('/bin/sh', ['-c', `echo in > ${root}/f; echo x > ${outside}/g; (sleep 30.4242 &) ; echo done`], {
        encoding: 'utf8',
        sandbox: { writableRoots: [root], tmp: 'none' },
      });
      expect(r.stdout).toBe('done\n');
      expect(r.stderr).toMatch(/Read-only file system/);
      expect(fs.readFileSync(`${root}/f`, 'utf8')).toBe('in\n');
      expect(snapshot(outside)).toEqual(before);
      expect(leftovers(process.cwd(), '30.4242')).toEqual([]); // the orphan ended with the sandbox
    } finally {
      rmTree(root);
      rmTree(outside);
    }
  });
});

describe(`child_process parity: extra fds and 'ipc' (as ${userLabel})`, () => {
  const child = `
    const fs = require('fs');
    process.on('message', (m) => {
      process.send({ echo: m });
      if (m === 'bye') process.disconnect();
    });
    fs.writeSync(4, 'to the parent on fd 4\\n');
    let got = '';
    const s = new (require('net').Socket)({ fd: 4, readable: true, writable: false });
    s.on('data', (d) => { got += d; if (got.includes('\\n')) { process.send({ fd4: got.trim() }); s.destroy(); } });`;
  const through = (impl: Spawner) =>
    new Promise<{ events: unknown[]; fd4: string }>((resolve) => {
      const c = impl(process.execPath, ['-e', child], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'] });
      const events: unknown[] = [];
      let fd4 = '';
      c.stdio[4].on('data', (d: Buffer) => {
        fd4 += d;
      });
      c.on('spawn', () => {
        c.stdio[4].write('from the parent on fd 4\n');
        c.send('hello');
      });
      c.on('message', (m: any) => {
        events.push(['message', m]);
        if (m.fd4) c.send('bye');
      });
      c.on('disconnect', () => events.push(['disconnect', c.connected]));
      c.on('close', (code: number) => {
        events.push(['close', code]);
        resolve({ events, fd4 });
      });
    });

  it("a Node command talks back over 'ipc', and fd 4 is a duplex 'pipe'", async () => {
    const a = await through(spawners.child_process);
    expect(a.events).toContainEqual(['message', { echo: 'hello' }]);
    const b = await through(spawners['sbx-native']);
    // Message order is the command's; 'disconnect' and 'close' come last in both.
    expect(b).toEqual(a);
  });

  it("refuses handles on send, a second 'ipc', advanced serialization, and extra channels in spawnSync", () => {
    const none = { writableRoots: [] as string[] };
    expect(() => sbx.spawn('true', [], { stdio: ['pipe', 'pipe', 'pipe', 'ipc', 'ipc'], sandbox: none })).toThrow(/only one 'ipc' entry/);
    expect(() =>
      sbx.spawn('true', [], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' as any, sandbox: none }),
    ).toThrow(/only 'json'/);
    expect(() => sbx.spawnSync('true', [], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], sandbox: none })).toThrow(/need spawn/);
    const c = sbx.spawn('sleep', ['5'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], sandbox: none });
    const errs: string[] = [];
    c.send({ a: 1 }, require('net').createServer(), (e) => errs.push((e as any)?.code));
    return new Promise<void>((res) =>
      setTimeout(() => {
        expect(errs).toEqual(['ERR_INVALID_HANDLE_TYPE']);
        c.kill('SIGKILL');
        c.on('close', () => res());
      }, 50),
    );
  });
});
