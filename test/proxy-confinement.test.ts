// The network proxy's own confinement (lib/proxy/seccomp.ts, lockdown.ts):
// the process that parses what the sandbox sends cannot run programs, touch
// other processes, write files or reach unix sockets, at every enforcement
// level (Landlock narrows its reads only where the host has it). Against the
// real kernel: the proxy's start as the plan runs it, with a probe in place
// of the proxy's script, and the same program installed in a Python process
// that tries what Node cannot call (execve, ptrace).
import { spawn as cpSpawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { describe, expect, it } from 'vitest';
import { prepare, SandboxedProcess, spawn } from '../lib';
import { encodeFilter } from '../lib/bpf';
import { hostSeccompArch } from '../lib/seccomp';
import { buildProxyFilter } from '../lib/proxy/seccomp';
import { proxyScript } from '../lib/proxy/plan';
import { proxyProgram } from '../lib/proxy/program';
import { leftovers, rmTree, tempDir, userLabel } from './helpers';

const allow = { allowedDomains: ['allowed.test'] };
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** Runs the plan's proxy_fork step with `probe` (node -e) in place of the proxy script; resolves what it printed. */
async function probeProxy(dir: string, probe: string, host?: string): Promise<Record<string, string>> {
  const saved = process.env.SBX_NATIVE_TEST_HOST;
  if (host) process.env.SBX_NATIVE_TEST_HOST = host;
  let prepared;
  try {
    prepared = prepare('/bin/sh', ['-c', 'sleep 1'], { sandbox: { writableRoots: [dir], network: allow } });
  } finally {
    if (saved === undefined) delete process.env.SBX_NATIVE_TEST_HOST;
    else process.env.SBX_NATIVE_TEST_HOST = saved;
  }
  if (host) expect(prepared.enforcement.level).toBe('mount-only');
  const fork = prepared.plan.steps.find((s) => s.op === 'proxy_fork')!;
  const at = fork.args.findIndex((a) => a.endsWith(path.join('proxy', 'main.js')));
  fork.args.splice(at, 2, '-e', probe);
  const child = new SandboxedProcess(prepared, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  child.on('error', () => {});
  await new Promise((res) => child.on('close', res));
  return JSON.parse(/PROBE(\{.*\})/.exec(err)?.[1] ?? JSON.stringify({ stderr: err }));
}

describe(`the network proxy's confinement (as ${userLabel})`, () => {
  // What the proxy loads is the precomputed program with its pid filled in
  // (lib/gen/proxy-programs.ts): the same bytes the assembler gives for that pid.
  it('the precomputed program is the assembled one, for any pid, on every architecture', () => {
    for (const arch of ['x64', 'arm64'] as const)
      for (const pid of [1, 2, 4242, 65535, 4194304, process.pid])
        expect(proxyProgram(pid, arch).toString('hex')).toBe(encodeFilter(buildProxyFilter(arch, pid)).toString('hex'));
    expect(() => proxyProgram(1, 'ia32')).toThrow(/no seccomp filter for architecture ia32/);
  });

  for (const level of ['full', 'mount-only'] as const) {
    it(`at level ${level}: no programs, no other processes, no writes, no unix sockets, no bind; it still serves`, async () => {
      const dir = tempDir();
      const secret = path.join(dir, 'secret');
      fs.writeFileSync(secret, 'token');
      fs.chmodSync(secret, 0o644);
      const lockdown = path.join(path.dirname(proxyScript()), 'lockdown.js');
      try {
        const probe = await probeProxy(
          dir,
          `
          const fs = require('fs'), net = require('net'), out = {};
          const { lockdown, reportReady } = require(${JSON.stringify(lockdown)});
          lockdown(process.argv[process.argv.length - 1]);
          reportReady();
          const t = (k, f) => { try { f(); out[k] = 'ok'; } catch (e) { out[k] = e.code; } };
          t('read', () => fs.readFileSync(${JSON.stringify(secret)}));
          t('otherProcess', () => fs.readFileSync('/proc/' + process.ppid + '/environ'));
          t('write', () => fs.writeFileSync(${JSON.stringify(path.join(dir, 'planted'))}, 'x'));
          t('spawn', () => { const r = require('child_process').spawnSync('/bin/true'); if (r.error) throw r.error; });
          t('signalOther', () => process.kill(process.ppid, 0));
          t('signalSelf', () => process.kill(process.pid, 0));
          t('caps', () => { if (!/^CapEff:\\s*0+$/m.test(fs.readFileSync('/proc/self/status', 'utf8'))) throw Object.assign(new Error(), { code: 'HAS_CAPS' }); });
          out.seccomp = /^Seccomp:\\s*(\\d)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
          const unix = net.connect('/run/sbx-native-no-such.sock');
          unix.on('error', (e) => {
            out.unix = e.code;
            const srv = net.createServer().listen(0, '127.0.0.1');
            srv.on('listening', () => { out.bind = 'ok'; done(); });
            srv.on('error', (e) => { out.bind = e.code; done(); });
          });
          // An outgoing TCP connection is its job: refused by nobody listening, not by the filter.
          function done() {
            const c = net.connect(1, '127.0.0.1');
            c.on('error', (e) => { out.connect = e.code; fs.writeSync(2, 'PROBE' + JSON.stringify(out) + String.fromCharCode(10)); process.exit(0); });
          }`,
          level === 'mount-only' ? 'landlock=0' : undefined,
        );
        expect(probe).toEqual({
          // Reads: Landlock's at full; at mount-only (no Landlock) a root of its own
          // that holds only what it reads (native/helper/proxy_jail.cc).
          read: level === 'full' ? 'EACCES' : 'ENOENT',
          otherProcess: level === 'full' ? 'EACCES' : 'ENOENT',
          write: 'EACCES',
          spawn: 'EPERM',
          signalOther: 'EPERM',
          signalSelf: 'ok',
          caps: 'ok',
          seccomp: '2',
          unix: 'EAFNOSUPPORT',
          bind: 'EPERM',
          connect: 'ECONNREFUSED',
        });
        expect(fs.readdirSync(dir)).toEqual(['secret']);
      } finally {
        rmTree(dir);
      }
    });
  }

  it.skipIf(!has('python3'))(
    'the same program refuses execve, ptrace, fork, writes and unix sockets (a Python process under it)',
    async () => {
      const dir = tempDir();
      const planted = path.join(dir, 'planted');
      const nr = { x64: 317, arm64: 277 }[hostSeccompArch()];
      const script = `
import ctypes, errno, json, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
print(os.getpid(), flush=True)
prog = bytes.fromhex(sys.stdin.readline().strip())
class Fprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
buf = ctypes.create_string_buffer(prog, len(prog))
fp = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.syscall(${nr}, 1, 0, ctypes.byref(fp)) != 0:
    sys.exit('cannot install: %s' % os.strerror(ctypes.get_errno()))
out = {}
def t(k, f):
    try:
        f()
        out[k] = 'ok'
    except OSError as e:
        out[k] = errno.errorcode[e.errno]
def check(r):
    if r != 0:
        raise OSError(ctypes.get_errno(), 'call')
def fork():
    if os.fork() == 0:
        os._exit(0)
t('execve', lambda: os.execv('/bin/true', ['true']))
t('ptrace', lambda: check(libc.ptrace(16, os.getppid(), None, None)))
t('fork', fork)
t('write', lambda: open(${JSON.stringify(planted)}, 'w'))
t('mkdir', lambda: os.mkdir(${JSON.stringify(planted)}))
t('unix', lambda: socket.socket(socket.AF_UNIX))
t('signalOther', lambda: os.kill(os.getppid(), 0))
t('signalSelf', lambda: os.kill(os.getpid(), 0))
t('inet', lambda: socket.socket(socket.AF_INET).close())
t('read', lambda: open('/proc/self/status').read())
print(json.dumps(out), flush=True)
`;
      try {
        const py = cpSpawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
        let out = '';
        py.stdout!.on('data', (d) => {
          out += d;
          const first = out.split('\n')[0];
          if (out.includes('\n') && !py.stdin!.writableEnded) {
            py.stdin!.end(`${proxyProgram(Number(first)).toString('hex')}\n`);
          }
        });
        const code = await new Promise((res) => py.on('close', res));
        expect(code).toBe(0);
        expect(JSON.parse(out.split('\n')[1])).toEqual({
          execve: 'EPERM',
          ptrace: 'EPERM',
          fork: 'EPERM',
          write: 'EACCES',
          mkdir: 'EACCES',
          unix: 'EAFNOSUPPORT',
          signalOther: 'EPERM',
          signalSelf: 'ok',
          inet: 'ok',
          read: 'ok',
        });
        expect(fs.readdirSync(dir)).toEqual([]);
      } finally {
        rmTree(dir);
      }
    },
  );

  // The proxy writes the events pipe too: a record it forges must not end the
  // caller's wait (lib/exit-watch.ts earlyExit), whatever a parser bug lets it write.
  it("an 'exited' record the proxy writes is not taken for the command's exit", async () => {
    const dir = tempDir();
    try {
      const prepared = prepare('/bin/sh', ['-c', 'sleep 0.5; exit 3'], { sandbox: { writableRoots: [dir], network: allow } });
      const fork = prepared.plan.steps.find((s) => s.op === 'proxy_fork')!;
      const at = fork.args.findIndex((a) => a.endsWith(path.join('proxy', 'main.js')));
      const lockdown = path.join(path.dirname(proxyScript()), 'lockdown.js');
      // Once the command runs: size 12, type 5 (exited), the wait status of exit(42); then it stays.
      const forge = `const fs = require('fs');
        const { lockdown, reportReady } = require(${JSON.stringify(lockdown)});
        lockdown(process.argv[process.argv.length - 1]); reportReady();
        const b = Buffer.alloc(12); b.writeUInt32LE(12, 0); b.writeInt32LE(5, 4); b.writeInt32LE(42 << 8, 8);
        setTimeout(() => fs.writeSync(5, b), 200); setInterval(() => {}, 1000);`;
      fork.args.splice(at, 2, '-e', forge);
      const child = new SandboxedProcess(prepared, { stdio: 'ignore' });
      const t0 = Date.now();
      const [code, signal] = await new Promise<[number | null, string | null]>((res) => child.on('exit', (c, s) => res([c, s])));
      expect([code, signal]).toEqual([3, null]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    } finally {
      rmTree(dir);
    }
  });

  it('the real proxy runs under it, and a proxy that ends before confining itself fails the setup: the command never runs', async () => {
    const marker = `sbx-confined-${process.pid}-${Date.now()}.test`;
    const child = spawn('/bin/sh', ['-c', 'echo up; sleep 30'], { sandbox: { writableRoots: [], network: { allowedDomains: [marker] } } });
    await new Promise<void>((res) => child.stdout!.once('data', () => res()));
    const [proxy] = leftovers('/nonexistent', marker);
    const status = fs.readFileSync(`/proc/${proxy.split(' ')[0]}/status`, 'utf8');
    child.kill('SIGKILL');
    await new Promise((res) => child.on('close', res));
    expect(/^Seccomp:\s*(\d)/m.exec(status)?.[1]).toBe('2');
    expect(/^NoNewPrivs:\s*(\d)/m.exec(status)?.[1]).toBe('1');

    const dir = tempDir();
    const flag = path.join(dir, 'ran');
    try {
      const prepared = prepare('/bin/sh', ['-c', `touch ${flag}`], { sandbox: { writableRoots: [dir], network: allow } });
      const fork = prepared.plan.steps.find((s) => s.op === 'proxy_fork')!;
      const at = fork.args.findIndex((a) => a.endsWith(path.join('proxy', 'main.js')));
      fork.args.splice(at, 2, '-e', 'process.exit(0)');
      const c = new SandboxedProcess(prepared, { stdio: 'ignore' });
      const err = await new Promise<NodeJS.ErrnoException & { step?: string }>((res) => c.on('error', res));
      expect([err.code, err.step, err.message]).toEqual([
        'SBX_SETUP_FAILED',
        'proxy_ready',
        expect.stringContaining('the network proxy ended before it confined itself'),
      ]);
      await new Promise((res) => c.on('close', res));
      expect(fs.existsSync(flag)).toBe(false);
    } finally {
      rmTree(dir);
    }
  });
});
