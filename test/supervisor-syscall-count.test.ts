// What init's serving thread does per request, counted with strace on the
// real kernel: the syscalls from one SECCOMP_IOCTL_NOTIF_RECV to the next,
// the receive included (docs/supervisor.md "Cost"). A cut in that count is a
// cut in every supervised call; these pin the ones made so far, so a change
// that brings a syscall back shows here. Each case also checks the call did
// what the kernel would have done (the file opened for writing, the link
// made). As root and as nobody.
import cp from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmTree, tempDir, userLabel } from './helpers';

const bin = path.join(__dirname, '..', 'bin', 'sbx-native.js');

// The serving thread is the one that receives; a request is what it does from one receive to the next.
function requests(log: string): { path: string; calls: string[]; lines: string[] }[] {
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  const byPid = new Map<string, string[]>();
  for (const l of lines) {
    const m = /^(\d+)\s+(.*)$/.exec(l);
    if (!m || m[2].startsWith('<...') || m[2].startsWith('+++') || m[2].startsWith('---')) continue;
    if (!byPid.has(m[1])) byPid.set(m[1], []);
    byPid.get(m[1])!.push(m[2]);
  }
  const server = [...byPid.values()].find((ls) => ls.some((l) => l.includes('SECCOMP_IOCTL_NOTIF_RECV')));
  if (!server) throw new Error(`no serving thread in ${log}`);
  const out: { path: string; calls: string[]; lines: string[] }[] = [];
  for (const l of server) {
    if (l.includes('SECCOMP_IOCTL_NOTIF_RECV')) out.push({ path: '', calls: [], lines: [] });
    const cur = out.at(-1);
    if (!cur) continue;
    cur.calls.push(l.slice(0, l.indexOf('(')));
    cur.lines.push(l);
    const read = /^process_vm_readv\(\d+, \[\{iov_base="([^"\\]*)/.exec(l);
    if (read && !cur.path) cur.path = read[1];
  }
  return out;
}

function traced(log: string, root: string, script: string) {
  return cp.spawnSync(
    'strace',
    ['-f', '-qq', '-s', '4096', '-o', log, process.execPath, bin, 'exec', '-w', root, '--tmp', 'none', '--', 'python3', '-c', script],
    { encoding: 'utf8', timeout: 60000 },
  );
}

describe(`init's syscalls per request (as ${userLabel})`, () => {
  let T: string;
  beforeEach(() => {
    T = tempDir('sbx-count-');
  });
  afterEach(() => rmTree(T));

  it('an open for writing of an existing file, /dev/null and `> /dev/null`: 9 each; a link whose path crosses a page: each page read once', () => {
    const root = path.join(T, 'root');
    // Long names, so that two paths do not fit in the first piece each read takes.
    const deep = path.join(root, 'd'.repeat(200), 'e'.repeat(200));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(root, 'f'), 'x');
    const log = path.join(T, 'strace.log');
    const script = `
import ctypes, mmap, os
f = ${JSON.stringify(path.join(root, 'f'))}
deep = ${JSON.stringify(deep)}
os.close(os.open(f, os.O_WRONLY))  # init opens its /proc/self/fd at its first reopen: not counted
for i in range(5):
    os.close(os.open(f, os.O_WRONLY))
    os.close(os.open('/dev/null', os.O_RDWR))
    os.close(os.open('/dev/null', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
# link(2) with its first path 40 bytes before a page's end (it goes on into
# the next page) and its second in another page: each page read once.
libc = ctypes.CDLL(None, use_errno=True)
page = mmap.mmap(-1, 3 * 4096)
base = ctypes.addressof(ctypes.c_char.from_buffer(page))
src = (deep + '/src').encode() + b'\\0'
open(deep + '/src', 'w').close()
page[4096 - 40:4096 - 40 + len(src)] = src
for i in range(5):
    dst = (deep + '/l%d' % i).encode() + b'\\0'
    page[2 * 4096 + 100:2 * 4096 + 100 + len(dst)] = dst
    if libc.link(ctypes.c_void_p(base + 4096 - 40), ctypes.c_void_p(base + 2 * 4096 + 100)) != 0:
        raise OSError(ctypes.get_errno(), 'link')
os.write(1, b'done')
`;
    const r = traced(log, root, script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('done');
    const reqs = requests(log);
    const count = (p: string) => reqs.filter((q) => q.path === p).map((q) => q.calls.length);
    const links = reqs.filter((q) => q.calls.includes('linkat'));
    expect(links.map((q) => path.join(deep, 'src').startsWith(q.path) && q.path.length === 40)).toEqual(Array(5).fill(true));
    // one read for the first piece of both, one for the rest of the first
    expect(links.map((q) => q.calls.filter((c) => c === 'process_vm_readv').length)).toEqual([2, 2, 2, 2, 2]);
    // receive, read the path, look it up whole, ID_VALID, fstat, reopen, close, install and answer, close
    expect(count(path.join(root, 'f')).slice(-5)).toEqual([9, 9, 9, 9, 9]);
    // the last ten are the loop's (the shell that starts the command opens it too)
    expect(count('/dev/null').slice(-10)).toEqual(Array(10).fill(9));
    expect(fs.readdirSync(deep).sort()).toEqual(['l0', 'l1', 'l2', 'l3', 'l4', 'src']);
    expect(fs.statSync(path.join(deep, 'src')).nlink).toBe(6);
  });
  it("a thread that changed the umask and then waits: the other thread's creations read /proc once, not each time", () => {
    const root = path.join(T, 'root');
    fs.mkdirSync(root);
    const log = path.join(T, 'strace.log');
    const script = `
import os, threading
os.chdir(${JSON.stringify(root)})
hold, go = threading.Event(), threading.Event()
def waiter():
    os.umask(0o007); hold.set(); go.wait()  # changed, then no request of its own
t = threading.Thread(target=waiter); t.start(); hold.wait()
for i in range(10):
    os.mkdir(${JSON.stringify(root)} + '/m%d' % i)
go.set(); t.join()
os.write(1, b'done')
`;
    const r = traced(log, root, script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('done');
    const mkdirs = requests(log).filter((q) => q.calls.includes('mkdirat'));
    expect(mkdirs.length).toBe(10);
    const statusReads = mkdirs.map((q) => q.lines.filter((l) => /^openat\(AT_FDCWD, "\/proc\/\d+\/status"/.test(l)).length);
    expect(statusReads.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);
    for (let i = 0; i < 10; i++) expect(fs.statSync(path.join(root, `m${i}`)).mode & 0o777).toBe(0o770);
  });
});
