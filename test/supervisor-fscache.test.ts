// Init remembers each caller thread's umask and cwd between requests
// (native/helper/supervisor/fscache.h). A stale one would create a file with
// the wrong mode or in the wrong directory, past the protected-name check:
// these tests change them every way a process can (umask, chdir, fchdir, from
// another thread, in a thread that unshared its fs_struct, in a process that
// shares its parent's, across execve from such a thread) and check, on the
// host, where each creation landed and with which mode.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, tempDir, userLabel } from './helpers';
import { j, py, pyRaw } from './security/lib';

const mode = (p: string) => `0o${(fs.lstatSync(p).mode & 0o777).toString(8)}`;

describe(`the umask and cwd init remembers are always the caller's (as ${userLabel})`, () => {
  let P: string;
  beforeEach(() => {
    P = tempDir('sbx-fscache-');
    for (const d of ['d1', 'd2']) fs.mkdirSync(path.join(P, d), { mode: 0o777 });
    fs.chmodSync(path.join(P, 'd1'), 0o777);
    fs.chmodSync(path.join(P, 'd2'), 0o777);
  });
  afterEach(() => rmTree(P));
  const sandbox = () => ({ writableRoots: [P], tmp: 'none' as const });
  const at = (...p: string[]) => path.join(P, ...p);

  it('umask: each change applies to the next creation, also one made by another thread, also while that thread waits', async () => {
    const out = await py(
      `
import stat, threading
os.umask(0o022); os.mkdir('a'); os.close(os.open('fa', os.O_CREAT | os.O_WRONLY, 0o666))
os.umask(0o077); os.mkdir('b'); os.close(os.open('fb', os.O_CREAT | os.O_WRONLY, 0o666)); os.mkfifo('nb', 0o666)
t = threading.Thread(target=lambda: os.umask(0o002)); t.start(); t.join()
os.mkdir('c')
hold, go = threading.Event(), threading.Event()
def waiter():
    os.umask(0o007); hold.set(); go.wait()  # changed, and no request of its own after it
t = threading.Thread(target=waiter); t.start(); hold.wait()
os.mkdir('d'); os.mkdir('e')
go.set(); t.join()
os.umask(0o027)
pid = os.fork()
if pid == 0:
    os.mkdir('child'); os.umask(0o000); os.mkdir('child2'); os._exit(0)
os.waitpid(pid, 0)
os.mkdir('parent')
out['done'] = True`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ done: true });
    expect([mode(at('a')), mode(at('fa')), mode(at('b')), mode(at('fb')), mode(at('nb'))]).toEqual([
      '0o755',
      '0o644',
      '0o700',
      '0o600',
      '0o600',
    ]);
    expect(mode(at('c'))).toBe('0o775');
    expect([mode(at('d')), mode(at('e'))]).toEqual(['0o770', '0o770']);
    expect([mode(at('child')), mode(at('child2')), mode(at('parent'))]).toEqual(['0o750', '0o777', '0o750']);
  });

  it('a thread that changed the umask and then waits or keeps running: each creation of another thread has the new one, also after a second change', async () => {
    // Init stops holding the change pending once it sees the changing thread
    // blocked outside umask (/proc/TID/syscall); one that keeps running is
    // never taken as done.
    const out = await py(
      `
import threading, time
hold, step, again, go = threading.Event(), threading.Event(), threading.Event(), threading.Event()
def waiter():
    os.umask(0o007); hold.set(); step.wait()
    os.umask(0o077); again.set(); go.wait()
t = threading.Thread(target=waiter); t.start(); hold.wait()
for i in range(12): os.mkdir('w%d' % i)
step.set(); again.wait()
for i in range(12): os.mkdir('x%d' % i)
go.set(); t.join()
def spinner():
    os.umask(0o027); hold2.set()
    while not go2.is_set(): pass
hold2, go2 = threading.Event(), threading.Event()
t = threading.Thread(target=spinner); t.start(); hold2.wait()
for i in range(12): os.mkdir('r%d' % i)
go2.set(); t.join()
out['done'] = True`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ done: true });
    for (let i = 0; i < 12; i++) {
      expect([mode(at(`w${i}`)), mode(at(`x${i}`)), mode(at(`r${i}`))]).toEqual(['0o770', '0o700', '0o750']);
    }
  });

  it('chdir and fchdir: relative creations land in the new cwd, also after another thread moved it', async () => {
    const out = await py(
      `
import threading
os.chdir('d1'); os.mkdir('x'); os.close(os.open('f', os.O_CREAT | os.O_WRONLY))
os.chdir('../d2'); os.mkdir('x2'); os.symlink('t', 's2'); os.link('../d1/f', 'l2')
fd = os.open('../d1', os.O_RDONLY); os.fchdir(fd); os.mkdir('y'); os.rename('x', 'x-renamed')
t = threading.Thread(target=lambda: os.chdir(${j(at('d2'))})); t.start(); t.join()
os.mkdir('z'); os.chmod('z', 0o700)
out['cwd'] = os.getcwd()`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ cwd: at('d2') });
    for (const p of ['d1/f', 'd2/x2', 'd2/l2', 'd1/y', 'd1/x-renamed', 'd2/z']) expect(fs.existsSync(at(p)), p).toBe(true);
    expect(fs.readlinkSync(at('d2/s2'))).toBe('t');
    expect(mode(at('d2/z'))).toBe('0o700');
    for (const p of ['x', 'y', 'z', 'x2', 'd1/x', 'd2/y']) expect(fs.existsSync(at(p)), p).toBe(false);
  });

  it('a protected name is refused where the cwd is now, not where it was', async () => {
    const out = await py(
      `
os.chdir('d1'); os.mkdir('warm')
os.chdir('..')
out['codex'] = attempt(lambda: os.mkdir('.codex'))
out['open'] = attempt(lambda: os.close(os.open('.codex', os.O_CREAT | os.O_WRONLY)))`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ codex: 'EROFS', open: 'EROFS' });
    expect(fs.existsSync(at('.codex'))).toBe(false);
    expect(fs.existsSync(at('d1', '.codex'))).toBe(false);
  });

  it('a thread that unshared its fs_struct keeps its own umask and cwd, and so does the rest of the process', async () => {
    const out = await py(
      `
import threading
os.chdir('d1'); os.umask(0o022); os.mkdir('m0')
ready, go = threading.Event(), threading.Event()
res = {}
def worker():
    res['unshare'] = sc('unshare', 0x200)
    os.chdir(${j(at('d2'))}); os.umask(0o077); os.mkdir('t0'); ready.set(); go.wait(); os.mkdir('t1')
t = threading.Thread(target=worker); t.start(); ready.wait()
os.mkdir('m1'); go.set(); t.join(); os.mkdir('m2')
out.update(res)`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ unshare: 'ok' });
    expect([mode(at('d1/m0')), mode(at('d1/m1')), mode(at('d1/m2'))]).toEqual(['0o755', '0o755', '0o755']);
    expect([mode(at('d2/t0')), mode(at('d2/t1'))]).toEqual(['0o700', '0o700']);
  });

  it("a process made with CLONE_FS shares its parent's umask and cwd: its changes apply to the parent", async () => {
    const out = await py(
      `
os.chdir('d1'); os.umask(0o022); os.mkdir('p0')
pid = sc('clone', 0x200 | 17, 0, 0, 0, 0, ret=True)  # CLONE_FS | SIGCHLD, no new stack: returns twice, like fork
if pid == 0:
    os.chdir(${j(at('d2'))}); os.umask(0o077); os._exit(0)
os.waitpid(pid, 0)
os.mkdir('p1')
out['cwd'] = os.getcwd()`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ cwd: at('d2') });
    expect(fs.existsSync(at('d1/p0'))).toBe(true);
    expect(mode(at('d2/p1'))).toBe('0o700');
    expect(fs.existsSync(at('d1/p1'))).toBe(false);
  });

  it("execve from a thread with an fs_struct of its own takes the process's TID with that thread's cwd and umask", async () => {
    const r = await pyRaw(
      `
import threading, time
os.chdir('d1'); os.umask(0o022); os.mkdir('leader')
ready, go = threading.Event(), threading.Event()
def worker():
    sc('unshare', 0x200); os.chdir(${j(at('d2'))}); os.umask(0o077)
    os.mkdir('thread'); ready.set(); go.wait()  # both threads served since their last change
    os.execv('/bin/mkdir', ['mkdir', 'after-exec'])
threading.Thread(target=worker).start()
ready.wait(); os.mkdir('leader2'); go.set()
time.sleep(30)`,
      sandbox(),
      { cwd: P },
    );
    expect(r.code).toBe(0);
    expect([mode(at('d1/leader')), mode(at('d1/leader2')), mode(at('d2/thread'))]).toEqual(['0o755', '0o755', '0o700']);
    expect(mode(at('d2/after-exec'))).toBe('0o700');
    expect(fs.existsSync(at('d1/after-exec'))).toBe(false);
  });

  it('many short-lived processes, each with its own umask and cwd, all get theirs', async () => {
    const out = await py(
      `
for i in range(60):
    pid = os.fork()
    if pid == 0:
        os.chdir('d1' if i % 2 else 'd2'); os.umask(0o077 if i % 3 else 0o022)
        os.mkdir('k%d' % i); os._exit(0)
    os.waitpid(pid, 0)
out['done'] = True`,
      sandbox(),
      { cwd: P },
    );
    expect(out).toEqual({ done: true });
    for (let i = 0; i < 60; i++) expect(mode(at(i % 2 ? 'd1' : 'd2', `k${i}`)), `k${i}`).toBe(i % 3 ? '0o700' : '0o755');
  });

  it('with few fds to spare (RLIMIT_NOFILE 700) init keeps serving: the cache makes room, never EMFILE', () => {
    const script = [
      'for i in $(seq 150); do',
      '  case $((i % 3)) in 0) u=022;; 1) u=077;; 2) u=027;; esac',
      '  (cd d$((i % 2 + 1)) && umask $u && mkdir k$i) || echo "failed $i"',
      'done',
      'echo done',
    ].join('\n');
    const r = spawnSync(
      'prlimit',
      ['--nofile=700:700', process.execPath, path.join(repoRoot, 'bin', 'sbx-native.js'), 'exec', '-w', P, '--', 'sh', '-c', script],
      { cwd: P, encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('done\n');
    for (let i = 1; i <= 150; i++) expect(mode(at(`d${(i % 2) + 1}`, `k${i}`)), `k${i}`).toBe(['0o755', '0o700', '0o750'][i % 3]);
  });
});
