// Attack class: reaching host processes: ptrace, process_vm_*, pidfd_getfd,
// signals, and their /proc files (runc CVE-2019-5736: overwrite the runtime
// binary through /proc/PID/exe). The sandbox has its own pid namespace; its
// init is the helper, which the command must not be able to touch either.
import { spawn as cpSpawn, ChildProcess } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, userLabel } from '../helpers';
import { Fixture, fixture, py } from './lib';

const sha = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');

describe(`host processes (as ${userLabel})`, () => {
  let f: Fixture;
  let victim: ChildProcess;
  beforeEach(() => {
    f = fixture();
    victim = cpSpawn('/bin/sleep', ['1000'], { stdio: 'ignore' });
  });
  afterEach(() => {
    victim.kill('SIGKILL');
    f.cleanup();
  });
  const alive = () => victim.exitCode === null && victim.signalCode === null && fs.existsSync(`/proc/${victim.pid}`);
  const attack = async (body: string) => {
    const before = f.state();
    const out = await py(body, f.sandbox);
    expect(f.state()).toEqual(before);
    expect(alive()).toBe(true);
    return out;
  };

  it('ptrace ATTACH / SEIZE of the sandbox init and of a host pid, and TRACEME (EPERM)', async () => {
    expect(
      await attack(`
out['attach init'] = sc('ptrace', 16, 1, 0, 0)
out['seize host'] = sc('ptrace', 0x4206, ${victim.pid}, 0, 0)
out['traceme'] = sc('ptrace', 0, 0, 0, 0)`),
    ).toEqual({ 'attach init': 'EPERM', 'seize host': 'EPERM', traceme: 'EPERM' });
  });

  it('process_vm_readv / process_vm_writev on the sandbox init (EPERM)', async () => {
    expect(
      await attack(`
buf = ctypes.create_string_buffer(16)
iov = struct.pack('QQ', ctypes.addressof(buf), 16)
out['readv'] = sc('process_vm_readv', 1, ctypes.c_char_p(iov), 1, ctypes.c_char_p(iov), 1, 0)
out['writev'] = sc('process_vm_writev', 1, ctypes.c_char_p(iov), 1, ctypes.c_char_p(iov), 1, 0)`),
    ).toEqual({ readv: 'EPERM', writev: 'EPERM' });
  });

  it("pidfd_getfd: stealing the sandbox init's status pipe (EPERM)", async () => {
    expect(
      await attack(`
pidfd = sc(434, 1, 0, ret=True)
fds = [int(n) for n in os.listdir('/proc/1/fd')]
out['pidfd_open'] = 'ok' if isinstance(pidfd, int) else pidfd
out['getfd'] = sorted(set(sc(438, pidfd, n, 0) for n in fds))`),
    ).toEqual({ pidfd_open: 'ok', getfd: ['EPERM'] });
  });

  it('/proc/1/exe of the helper: open for writing (EACCES), the binary unchanged', async () => {
    const helper = path.join(repoRoot, 'build', 'Release', 'sbx-helper');
    const hash = sha(helper);
    expect(
      await attack(`
out['exe w'] = attempt(lambda: os.open('/proc/1/exe', os.O_WRONLY))
out['exe r'] = attempt(lambda: os.open('/proc/1/exe', os.O_RDONLY))
out['map_files'] = attempt(lambda: os.listdir('/proc/1/map_files'))
out['mem'] = attempt(lambda: os.open('/proc/1/mem', os.O_RDWR))
out['environ'] = attempt(lambda: open('/proc/1/environ').read())`),
    ).toEqual({ 'exe w': 'EACCES', 'exe r': 'EACCES', map_files: 'EACCES', mem: 'EACCES', environ: 'EACCES' });
    expect(sha(helper)).toBe(hash);
  });

  it('signals to a host pid (ESRCH: not in this pid namespace) and kill(-1, SIGKILL) (ESRCH); the host process lives', async () => {
    expect(
      await attack(`
out['kill host'] = attempt(lambda: os.kill(${victim.pid}, 9))
out['kill -1'] = attempt(lambda: os.kill(-1, 9))
out['pidfd host'] = sc(434, ${victim.pid}, 0)`),
    ).toEqual({ 'kill host': 'ESRCH', 'kill -1': 'ESRCH', 'pidfd host': 'ESRCH' });
  });

  it('/proc of host processes: only the sandbox pids exist; environ/cmdline/cwd of a host pid (ENOENT)', async () => {
    const out = await attack(`
out['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
for k in ('environ', 'cmdline', 'cwd', 'root', 'mem'):
    out[k] = attempt(lambda: os.open('/proc/${victim.pid}/' + k, os.O_RDONLY))`);
    expect(out).toMatchObject({ environ: 'ENOENT', cmdline: 'ENOENT', cwd: 'ENOENT', root: 'ENOENT', mem: 'ENOENT' });
    expect(out.pids).toEqual([1, 2]);
  });
});
