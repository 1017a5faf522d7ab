// renameNoReplace / renameNoReplaceSync against the real kernel: a move that
// never replaces dst. On one filesystem it is renameat2(RENAME_NOREPLACE);
// across filesystems (two tmpfs mounts, a lower directory of an overlayfs) it
// is a copy beside dst, published without clobbering, then src is removed.
//
// Mounting needs root. The mounts live in a private mount namespace (MountNs)
// and are reached through /proc/<pid>/root, so they never show up in the
// host's mount table, which other test files compare before and after.
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renameNoReplace, renameNoReplaceSync } from '../lib';
import { native } from '../lib/native';
import { isRoot, repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';

const dist = path.join(repoRoot, 'dist');
const EXDEV = 18;
const RENAME_NOREPLACE = 1;
const needsRoot = 'root only: mounting needs CAP_SYS_ADMIN';

/** The raw syscall: 0 or an errno. */
const renameat2 = (src: string, dst: string) => native().binding.renameat2(src, dst, RENAME_NOREPLACE);

/** 'ok', or the thrown error's code. */
function outcome(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

/** Entries in `dir` named like the copy fallback's temp copies (`.<dst>.sbx-<pid>-<hex>`). */
const tempLeftovers = (dir: string) => fs.readdirSync(dir).filter((n) => n.includes('.sbx-'));

/** Every entry under `dir` with type, mode, owner, mtime and content or link target; no inode, so copies compare equal. */
function describeTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    const what = st.isSymbolicLink()
      ? `-> ${fs.readlinkSync(p)}`
      : st.isFile()
        ? fs.readFileSync(p, 'utf8')
        : st.isDirectory()
          ? 'dir'
          : 'other';
    out[path.relative(dir, p) || '.'] = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${what}`;
    if (st.isDirectory()) for (const n of fs.readdirSync(p).sort()) walk(path.join(p, n));
  };
  walk(dir);
  return out;
}

/**
 * A package-like tree at `dir`: a nested file, a symlink, modes the umask
 * would eat (0777, setgid, setuid), a read-only directory, fixed mtimes and,
 * as root, a file owned by nobody.
 */
function makeTree(dir: string): void {
  const mk = (rel: string, mode: number) => {
    fs.mkdirSync(path.join(dir, rel));
    fs.chmodSync(path.join(dir, rel), mode);
  };
  const put = (rel: string, body: string, mode: number) => {
    fs.writeFileSync(path.join(dir, rel), body);
    fs.chmodSync(path.join(dir, rel), mode);
  };
  mk('', 0o750);
  mk('bin', 0o755);
  put('bin/tool', '#!/bin/sh\necho tool\n', 0o755);
  mk('lib', 0o777);
  mk('lib/nested', 0o2775);
  put('lib/nested/mod.js', 'module.exports = 42;\n', 0o640);
  put('lib/nested/big.bin', 'x'.repeat(256 * 1024), 0o600);
  fs.symlinkSync('../bin/tool', path.join(dir, 'lib', 'tool-link'));
  if (isRoot) {
    put('bin/suid', 'suid\n', 0o644);
    fs.chownSync(path.join(dir, 'bin', 'suid'), 65534, 65534);
    fs.chmodSync(path.join(dir, 'bin', 'suid'), 0o4755); // after chown, which clears set-id bits
  }
  mk('ro', 0o755);
  put('ro/note', 'read only\n', 0o444);
  fs.chmodSync(path.join(dir, 'ro'), 0o555);
  stampTimes(dir);
}

/**
 * Gives every entry under `dir` a distinct whole-second mtime (children first,
 * so creating entries doesn't bump them afterwards). Whole seconds because a
 * copy made from Node keeps times only to about a microsecond.
 */
function stampTimes(dir: string): void {
  let t = 1_000_000_000;
  const stamp = (p: string) => {
    if (fs.lstatSync(p).isDirectory()) for (const n of fs.readdirSync(p)) stamp(path.join(p, n));
    fs.lutimesSync(p, t, t);
    t += 60;
  };
  stamp(dir);
}

/** rmTree that also gets through directories without write permission (ro/ above, as non-root). */
function rmTreeForce(dir: string): void {
  const openUp = (p: string) => {
    if (!fs.lstatSync(p).isDirectory()) return;
    fs.chmodSync(p, 0o700);
    for (const n of fs.readdirSync(p)) openUp(path.join(p, n));
  };
  if (fs.existsSync(dir)) openUp(dir);
  rmTree(dir);
}

/**
 * A private mount namespace held open by a sleeping child (`unshare --mount`).
 * Its mounts are reached through /proc/<pid>/root, never appear in the host's
 * mount table, and are all unmounted when the child is killed in close().
 */
class MountNs {
  private constructor(private readonly child: ChildProcess) {}

  static async open(): Promise<MountNs> {
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', 'infinity'], { stdio: 'ignore' });
    const own = fs.readlinkSync('/proc/self/ns/mnt');
    for (let i = 0; i < 500; i++) {
      try {
        // comm is "sleep" once unshare has made the namespace private and exec'd.
        if (fs.readlinkSync(`/proc/${child.pid}/ns/mnt`) !== own && fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep') {
          return new MountNs(child);
        }
      } catch {
        /* not started yet */
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    throw new Error('unshare --mount did not start');
  }

  mount(...args: string[]): void {
    execFileSync('nsenter', [`--target=${this.child.pid}`, '--mount', 'mount', ...args]);
  }

  /** `p` as seen inside the namespace. */
  path(p: string): string {
    return `/proc/${this.child.pid}/root${p}`;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}

const RACERS = 16;
const PARTS = 8;
const racerContent = (id: number) => `racer ${id}\n`.repeat(8192);

/**
 * Starts RACERS processes; each prepares srcDir/racer-<id> (PARTS files whose
 * content names it), then, all at once, publishes it at `dst` with
 * renameNoReplaceSync. Returns each racer's outcome ('ok' or an error code).
 */
async function race(srcDir: string, dst: string): Promise<string[]> {
  const script = `
    const fs = require('fs'), path = require('path');
    const { renameNoReplaceSync } = require(${JSON.stringify(dist)});
    const [srcDir, dst, id] = process.argv.slice(1);
    const src = path.join(srcDir, 'racer-' + id);
    fs.mkdirSync(src);
    for (let i = 0; i < ${PARTS}; i++) fs.writeFileSync(path.join(src, 'part-' + i), ('racer ' + id + '\\n').repeat(8192));
    process.stdout.write('ready\\n');
    process.stdin.once('data', () => {
      let r = 'ok';
      try { renameNoReplaceSync(src, dst); } catch (e) { r = e.code || String(e); }
      process.stdout.write(r + '\\n');
      process.exit(0);
    });`;
  const racers = Array.from({ length: RACERS }, (_, id) => {
    const child = spawn(process.execPath, ['-e', script, srcDir, dst, String(id)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => out.includes('ready\n') && resolve());
      child.on('close', () => reject(new Error(`racer ${id} exited before it was ready: ${err}`)));
    });
    // 'close', not 'exit': output can still be in flight when 'exit' fires.
    const done = new Promise<string>((resolve) =>
      child.on('close', (code) => resolve(code === 0 ? out.replace('ready\n', '').trim() : `exit ${code}: ${err}`)),
    );
    return { child, ready, done };
  });
  try {
    await Promise.all(racers.map((r) => r.ready));
  } catch (e) {
    for (const r of racers) r.child.kill('SIGKILL');
    throw e;
  }
  for (const r of racers) r.child.stdin.end('go\n');
  return Promise.all(racers.map((r) => r.done));
}

/** One winner, everyone else EEXIST, dst is exactly the winner's tree, losers keep theirs, no temp copies. */
function expectOneWinner(results: string[], srcDir: string, dst: string): void {
  expect(results.filter((r) => r !== 'ok')).toEqual(Array(RACERS - 1).fill('EEXIST'));
  const winner = results.indexOf('ok');
  const parts = Array.from({ length: PARTS }, (_, i) => `part-${i}`).sort();
  expect(fs.readdirSync(dst).sort()).toEqual(parts);
  for (const p of parts) expect(fs.readFileSync(path.join(dst, p), 'utf8')).toBe(racerContent(winner));
  expect(fs.existsSync(path.join(srcDir, `racer-${winner}`))).toBe(false);
  for (let id = 0; id < RACERS; id++) {
    if (id === winner) continue;
    for (const p of parts) expect(fs.readFileSync(path.join(srcDir, `racer-${id}`, p), 'utf8')).toBe(racerContent(id));
  }
  expect(tempLeftovers(path.dirname(dst))).toEqual([]);
}

describe(`renameNoReplace on one filesystem (as ${userLabel})`, () => {
  let H: string;
  beforeEach(() => {
    H = tempDir();
  });
  afterEach(() => rmTreeForce(H));

  it('moves a file, keeping its inode; src is gone', () => {
    const src = path.join(H, 'f'),
      dst = path.join(H, 'g');
    fs.writeFileSync(src, 'content');
    const ino = fs.statSync(src).ino;
    renameNoReplaceSync(src, dst);
    expect(fs.statSync(dst).ino).toBe(ino);
    expect(fs.readFileSync(dst, 'utf8')).toBe('content');
    expect(fs.existsSync(src)).toBe(false);
  });

  it('moves a directory tree, keeping its inode and contents (promise form)', async () => {
    const src = path.join(H, 'pkg'),
      dst = path.join(H, 'store', 'pkg');
    makeTree(src);
    fs.mkdirSync(path.join(H, 'store'));
    const ino = fs.statSync(src).ino;
    const before = describeTree(src);
    await renameNoReplace(src, dst);
    expect(fs.statSync(dst).ino).toBe(ino);
    expect(describeTree(dst)).toEqual(before);
    expect(fs.existsSync(src)).toBe(false);
  });

  const dstKinds: Record<string, (p: string) => void> = {
    file: (p) => fs.writeFileSync(p, 'already here'),
    'non-empty directory': (p) => {
      fs.mkdirSync(p);
      fs.writeFileSync(path.join(p, 'x'), 'already here');
    },
    'empty directory': (p) => fs.mkdirSync(p), // plain rename(2) would replace this one with a directory
    'dangling symlink': (p) => fs.symlinkSync('/nonexistent', p),
  };
  const srcKinds: Record<string, (p: string) => void> = {
    file: (p) => fs.writeFileSync(p, 'new'),
    directory: (p) => {
      fs.mkdirSync(p);
      fs.writeFileSync(path.join(p, 'y'), 'new');
    },
  };
  for (const [dstKind, makeDst] of Object.entries(dstKinds)) {
    for (const [srcKind, makeSrc] of Object.entries(srcKinds)) {
      it(`refuses to replace an existing ${dstKind} with a ${srcKind}: EEXIST, both unchanged`, async () => {
        const src = path.join(H, 'src'),
          dst = path.join(H, 'dst');
        makeSrc(src);
        makeDst(dst);
        const before = snapshot(H);
        expect(outcome(() => renameNoReplaceSync(src, dst))).toBe('EEXIST');
        await expect(renameNoReplace(src, dst)).rejects.toMatchObject({ code: 'EEXIST', path: src, dest: dst });
        expect(snapshot(H)).toEqual(before);
      });
    }
  }

  it('refuses to move a directory into itself with EINVAL, copying nothing', () => {
    const src = path.join(H, 'pkg');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'sub', 'f'), 'f');
    const before = snapshot(H);
    expect(outcome(() => renameNoReplaceSync(src, path.join(src, 'sub', 'inner')))).toBe('EINVAL');
    expect(snapshot(H)).toEqual(before);
  });

  it('fails with ENOENT when src does not exist', () => {
    expect(outcome(() => renameNoReplaceSync(path.join(H, 'missing'), path.join(H, 'dst')))).toBe('ENOENT');
    expect(fs.readdirSync(H)).toEqual([]);
  });

  it(`${RACERS} processes publishing at one dst: exactly one wins, the rest get EEXIST, no mixing`, async () => {
    const dst = path.join(H, 'published');
    const results = await race(H, dst);
    expectOneWinner(results, H, dst);
  });
});

// The copy fallback as any user: os.tmpdir() and /dev/shm are usually different
// filesystems. As non-root this is the case where permissions matter: copying
// into a read-only directory and removing a read-only src.
const shm = '/dev/shm';
const shmIsOtherFs = (() => {
  try {
    fs.accessSync(shm, fs.constants.W_OK);
    return fs.statSync(shm).dev !== fs.statSync(os.tmpdir()).dev;
  } catch {
    return false;
  }
})();

describe.skipIf(!shmIsOtherFs)(
  `renameNoReplace from ${os.tmpdir()} to ${shm} (as ${userLabel}; skipped if not another writable filesystem)`,
  () => {
    let H: string, S: string;
    beforeEach(() => {
      H = tempDir();
      S = fs.realpathSync(fs.mkdtempSync(path.join(shm, 'sbx-test-')));
    });
    afterEach(() => {
      rmTreeForce(H);
      rmTreeForce(S);
    });

    it('moves a tree holding a read-only directory: copied exactly, src removed, no temp copies', () => {
      const src = path.join(H, 'pkg'),
        dst = path.join(S, 'pkg');
      makeTree(src);
      expect(renameat2(src, dst)).toBe(EXDEV);
      const before = describeTree(src);
      renameNoReplaceSync(src, dst);
      expect(describeTree(dst)).toEqual(before);
      expect(fs.existsSync(src)).toBe(false);
      expect(fs.readdirSync(S)).toEqual(['pkg']);
    });
  },
);

describe.skipIf(!isRoot)(`renameNoReplace across two tmpfs mounts (${needsRoot})`, () => {
  let ns: MountNs | undefined, base: string, A: string, B: string;
  beforeAll(async () => {
    base = tempDir();
    ns = await MountNs.open();
    for (const m of ['a', 'b']) {
      fs.mkdirSync(path.join(base, m));
      ns.mount('-t', 'tmpfs', '-o', 'mode=0755', `sbx-test-${m}`, path.join(base, m));
    }
    A = ns.path(path.join(base, 'a'));
    B = ns.path(path.join(base, 'b'));
    expect(fs.statSync(A).dev).not.toBe(fs.statSync(B).dev);
  });
  afterAll(async () => {
    await ns?.close(); // unmounts both: the namespace dies with its last process
    if (base) rmTree(base);
  });
  afterEach(() => {
    for (const d of [A, B]) for (const n of fs.readdirSync(d)) rmTree(path.join(d, n));
  });

  it('moves a file: content, mode and mtime kept, src removed, no temp copy beside dst', () => {
    const src = path.join(A, 'f'),
      dst = path.join(B, 'f');
    fs.writeFileSync(src, 'x'.repeat(100_000));
    fs.chmodSync(src, 0o751);
    fs.utimesSync(src, 1_000_000_000, 1_000_000_000);
    expect(renameat2(src, dst)).toBe(EXDEV);
    const before = describeTree(src);
    renameNoReplaceSync(src, dst);
    expect(describeTree(dst)).toEqual(before);
    expect(fs.existsSync(src)).toBe(false);
    expect(fs.readdirSync(B)).toEqual(['f']);
  });

  it('moves a directory tree: nested file, symlink, modes, owners and mtimes kept; src removed; no temp copy', () => {
    const src = path.join(A, 'pkg'),
      dst = path.join(B, 'pkg');
    makeTree(src);
    expect(renameat2(src, dst)).toBe(EXDEV);
    const before = describeTree(src);
    expect(before['lib/tool-link']).toMatch(/-> \.\.\/bin\/tool$/);
    renameNoReplaceSync(src, dst);
    expect(describeTree(dst)).toEqual(before);
    expect(fs.existsSync(src)).toBe(false);
    expect(fs.readdirSync(B)).toEqual(['pkg']);
  });

  for (const kind of ['file', 'empty directory', 'dangling symlink']) {
    it(`refuses to replace an existing ${kind} at dst: EEXIST, both unchanged, no temp copy`, () => {
      const src = path.join(A, 'pkg'),
        dst = path.join(B, 'pkg');
      makeTree(src);
      if (kind === 'file') fs.writeFileSync(dst, 'already here');
      else if (kind === 'empty directory') fs.mkdirSync(dst);
      else fs.symlinkSync('/nonexistent', dst);
      const before = { a: snapshot(A), b: snapshot(B) };
      const err = (() => {
        try {
          renameNoReplaceSync(src, dst);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toMatchObject({ code: 'EEXIST', path: src, dest: dst });
      expect({ a: snapshot(A), b: snapshot(B) }).toEqual(before);
    });
  }

  // A FIFO would make a naive copy block forever, so the call runs in a child
  // with a timeout: a hang fails the test instead of stalling the suite.
  for (const kind of ['fifo', 'socket']) {
    it(`refuses a tree holding a ${kind} with ENOTSUP: partial copy removed, src untouched`, async () => {
      const src = path.join(A, 'pkg'),
        dst = path.join(B, 'pkg');
      makeTree(src);
      const special = path.join(src, 'lib', 'nested', kind);
      let server: net.Server | undefined;
      if (kind === 'fifo') execFileSync('mkfifo', [special]);
      else
        await new Promise<void>((resolve) => {
          server = net.createServer().listen(special, resolve);
        });
      try {
        const before = snapshot(src);
        const r = spawnSync(
          process.execPath,
          [
            '-e',
            `
          try { require(${JSON.stringify(dist)}).renameNoReplaceSync(process.argv[1], process.argv[2]); console.log('ok'); }
          catch (e) { console.log(e.code); }`,
            src,
            dst,
          ],
          { encoding: 'utf8', timeout: 10_000 },
        );
        expect(r.signal, 'renameNoReplaceSync hung').toBeNull();
        expect(r.stdout.trim()).toBe('ENOTSUP');
        expect(snapshot(src)).toEqual(before);
        expect(fs.readdirSync(B)).toEqual([]);
      } finally {
        server?.close();
      }
    });
  }

  it(`${RACERS} processes publishing copies at one dst: exactly one wins, the rest get EEXIST, no mixing`, async () => {
    const dst = path.join(B, 'published');
    const results = await race(A, dst);
    expectOneWinner(results, A, dst);
  });
});

describe.skipIf(!isRoot)(`renameNoReplace inside an overlayfs mount (${needsRoot})`, () => {
  let ns: MountNs | undefined, base: string, M: string;
  beforeAll(async () => {
    base = tempDir();
    for (const d of ['lower/pkg/sub', 'upper', 'work', 'merged']) fs.mkdirSync(path.join(base, d), { recursive: true });
    fs.writeFileSync(path.join(base, 'lower/pkg/a.txt'), 'A');
    fs.writeFileSync(path.join(base, 'lower/pkg/sub/b.txt'), 'B');
    fs.writeFileSync(path.join(base, 'lower/file.txt'), 'F');
    stampTimes(path.join(base, 'lower'));
    ns = await MountNs.open();
    // redirect_dir=off: renaming a lower directory is EXDEV whatever the kernel's default.
    const opts = ['lower', 'upper', 'work'].map((d) => `${d}dir=${path.join(base, d)}`).join(',');
    ns.mount('-t', 'overlay', '-o', `${opts},redirect_dir=off`, 'sbx-test-ovl', path.join(base, 'merged'));
    M = ns.path(path.join(base, 'merged'));
  });
  afterAll(async () => {
    await ns?.close(); // unmounts the overlay
    if (base) rmTree(base);
  });

  it('renameat2 of a lower-layer directory is EXDEV; renameNoReplaceSync still moves it (by copy)', () => {
    const src = path.join(M, 'pkg'),
      dst = path.join(M, 'moved');
    expect(native().binding.renameat2(src, dst, RENAME_NOREPLACE)).toBe(EXDEV);
    const before = describeTree(src);
    renameNoReplaceSync(src, dst);
    expect(describeTree(dst)).toEqual(before);
    expect(fs.existsSync(src)).toBe(false);
    expect(fs.readdirSync(M).sort()).toEqual(['file.txt', 'moved']);
    expect(fs.readFileSync(path.join(base, 'lower/pkg/sub/b.txt'), 'utf8')).toBe('B'); // the lower layer is never written
  });

  it('refuses to replace a lower-layer file at dst with EEXIST', () => {
    const src = path.join(M, 'new.txt'),
      dst = path.join(M, 'file.txt');
    fs.writeFileSync(src, 'N');
    expect(outcome(() => renameNoReplaceSync(src, dst))).toBe('EEXIST');
    expect(fs.readFileSync(dst, 'utf8')).toBe('F');
    expect(fs.readFileSync(src, 'utf8')).toBe('N');
  });
});
