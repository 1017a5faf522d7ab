// The repository walk kept across plans under an inotify watch
// (lib/walk-cache.ts, native/git_watch.cc), against the real kernel: an
// answer is reused only while nothing that could change it happened in the
// walked tree, by anyone, and the root is still the inode walked. `seen`
// (entries read) tells a kept answer from a new walk: a new walk counts the
// file made since.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dropKeptWalks, isKept, keptWalk } from '../lib/walk-cache';
import { repoRoot, rmTree, tempDir, userLabel } from './helpers';

const BUDGET = 100000;
const fdCount = () => fs.readdirSync('/proc/self/fd').length;
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'ignore' });

describe(`kept repository walks (as ${userLabel})`, () => {
  let top: string, R: string;
  beforeEach(() => {
    dropKeptWalks();
    top = tempDir('sbx-walkcache-');
    R = path.join(top, 'p', 'root');
    fs.mkdirSync(path.join(R, 'src', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(R, 'src', 'a.txt'), 'a');
  });
  afterEach(() => {
    dropKeptWalks();
    rmTree(top);
  });

  // Walked twice: the second walk is watched and kept.
  const warm = () => {
    keptWalk(R, BUDGET, false);
    const w = keptWalk(R, BUDGET, false);
    expect(isKept(R, BUDGET)).toBe(true);
    return w;
  };

  it('a process that walks once sets up no watch; the second walk is kept and the third reuses it', () => {
    const fds = fdCount();
    const once = keptWalk(R, BUDGET, false);
    expect(isKept(R, BUDGET)).toBe(false);
    expect(fdCount()).toBe(fds);
    const w = warm();
    expect(fdCount()).toBe(fds + 1);
    expect(keptWalk(R, BUDGET, false)).toEqual(w);
    expect(w.seen).toBe(once.seen);
    dropKeptWalks();
    expect(fdCount()).toBe(fds);
  });

  it('files made, written or removed keep the answer (no walk again)', () => {
    const w = warm();
    fs.writeFileSync(path.join(R, 'src', 'deep', 'new.txt'), 'n');
    fs.appendFileSync(path.join(R, 'src', 'a.txt'), 'more');
    fs.rmSync(path.join(R, 'src', 'a.txt'));
    fs.writeFileSync(path.join(R, 'src', 'a.txt'), 'again');
    expect(keptWalk(R, BUDGET, false).seen).toBe(w.seen);
    expect(isKept(R, BUDGET)).toBe(true);
  });

  it('a new directory means a walk again, which finds a repository cloned into it, and is watched again', () => {
    const w = warm();
    git(top, 'init', '-q', path.join(R, 'src', 'deep', 'clone'));
    const again = keptWalk(R, BUDGET, false);
    expect(again.entries).toEqual([path.join(R, 'src', 'deep', 'clone', '.git')]);
    expect(again.seen).toBeGreaterThan(w.seen);
    expect(isKept(R, BUDGET)).toBe(true);
    fs.writeFileSync(path.join(R, 'x.txt'), 'x');
    expect(keptWalk(R, BUDGET, false).seen).toBe(again.seen);
  });

  it('the watch a walk again replaces is closed (off the main thread), so watches do not pile up', async () => {
    const fds = fdCount();
    warm();
    for (let i = 0; i < 5; i++) {
      fs.mkdirSync(path.join(R, `new${i}`));
      keptWalk(R, BUDGET, false);
      expect(isKept(R, BUDGET)).toBe(true);
    }
    // The old fds close on the thread pool: wait for it, then only the kept answer's watch is open.
    for (let i = 0; i < 200 && fdCount() > fds + 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fdCount()).toBe(fds + 1);
  });

  it('a .git file (a gitfile) made in a walked directory means a walk again', () => {
    warm();
    fs.writeFileSync(path.join(R, 'src', '.git'), 'gitdir: ../elsewhere\n');
    expect(keptWalk(R, BUDGET, false).entries).toEqual([path.join(R, 'src', '.git')]);
  });

  it('HEAD, objects and refs made in a walked directory (a bare repository) mean a walk again', () => {
    warm();
    fs.writeFileSync(path.join(R, 'src', 'deep', 'HEAD'), 'ref: refs/heads/main\n');
    fs.mkdirSync(path.join(R, 'src', 'deep', 'objects'));
    fs.mkdirSync(path.join(R, 'src', 'deep', 'refs'));
    expect(keptWalk(R, BUDGET, false).bare).toEqual([path.join(R, 'src', 'deep')]);
  });

  it('a walked directory moved away, and the root replaced through a renamed parent (no event on the root), mean a walk again', () => {
    warm();
    fs.renameSync(path.join(R, 'src'), path.join(top, 'src-moved'));
    expect(keptWalk(R, BUDGET, false).seen).toBe(0);
    warm();
    fs.renameSync(path.join(top, 'p'), path.join(top, 'p-old'));
    fs.mkdirSync(R, { recursive: true });
    git(top, 'init', '-q', path.join(R, 'fresh'));
    expect(keptWalk(R, BUDGET, false).entries).toEqual([path.join(R, 'fresh', '.git')]);
  });

  it('a root on overlayfs is never kept: a change to a lower layer sends no event', () => {
    // Mounted in a user and mount namespace of the test's own, so that nobody can run it and the host is untouched.
    for (const d of ['lower', 'upper', 'work', 'merged']) fs.mkdirSync(path.join(top, d));
    fs.mkdirSync(path.join(top, 'lower', 'src'));
    const probe = `const { keptWalk, isKept } = require(${JSON.stringify(path.join(repoRoot, 'dist', 'walk-cache.js'))});
      for (let i = 0; i < 3; i++) keptWalk(process.argv[1], 100000, false);
      console.log(JSON.stringify({ kept: isKept(process.argv[1], 100000), seen: keptWalk(process.argv[1], 100000, false).seen }));`;
    const out = execFileSync(
      'unshare',
      [
        '--user',
        '--map-root-user',
        '--mount',
        'sh',
        '-c',
        'mount -t overlay overlay -o "lowerdir=$1/lower,upperdir=$1/upper,workdir=$1/work" "$1/merged" && exec "$2" -e "$3" "$1/merged"',
        'sh',
        top,
        process.execPath,
        probe,
      ],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ kept: false, seen: 1 });
  });

  it('a walk that stopped at its budget is never kept', () => {
    for (let i = 0; i < 3; i++) expect(keptWalk(R, 1, false).exhausted).toBe(true);
    expect(isKept(R, 1)).toBe(false);
  });
});
