// `--bind SRC DEST` of different paths through the installed front end,
// against the kernel: DEST shows the host's SRC, writable, a mount of its own,
// with exec's protections at DEST. Run as root and as nobody.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmTree, snapshot, tempDir } from './helpers';
import { installFrontEnd, runBwrap } from './bwrap/fixtures';

const made: string[] = [];
afterAll(() => made.forEach(rmTree));
const { binDir, shim } = installFrontEnd('sbx-bwrap-moved-');
made.push(binDir);

/** H with src (a repository with a file), dest (empty), a (another root), outside (a file). */
function tree() {
  const H = tempDir('sbx-moved-');
  made.push(H);
  for (const d of ['src', 'dest', 'a', 'outside']) fs.mkdirSync(path.join(H, d));
  expect(spawnSync('git', ['init', '-q', path.join(H, 'src')]).status).toBe(0);
  fs.writeFileSync(path.join(H, 'src', 'f'), 'data');
  fs.writeFileSync(path.join(H, 'src', 'g'), 'g');
  fs.writeFileSync(path.join(H, 'outside', 'conf'), 'conf');
  return { H, src: `${H}/src`, dest: `${H}/dest`, A: `${H}/a`, outside: `${H}/outside` };
}

// Each syscall once, its errno code (or ok): link, rename, write (O_CREAT|O_WRONLY|O_APPEND), mkdir.
const OPS = `const fs = require('fs');
for (const a of process.argv.slice(1)) {
  const [op, p, q] = a.split(':');
  let r = 'ok';
  try {
    if (op === 'link') fs.linkSync(p, q);
    else if (op === 'rename') fs.renameSync(p, q);
    else if (op === 'write') fs.appendFileSync(p, 'x');
    else if (op === 'mkdir') fs.mkdirSync(p);
    else if (op === 'read') r = fs.readFileSync(p, 'utf8');
  } catch (e) { r = e.code; }
  console.log(a + ' ' + r);
}`;

const realBwrap = '/usr/bin/bwrap';

function run(bwrap: string, argv: string[], ops: string[]) {
  return runBwrap(bwrap, [...argv, '--', process.execPath, '-e', OPS, ...ops], { env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' } });
}

describe('--bind SRC DEST (another path)', () => {
  it('DEST shows SRC, writable (the write lands in SRC); everything else stays read-only (EROFS); links and renames to another root are EXDEV, as under bubblewrap; the host is otherwise unchanged', () => {
    const shape = (t: ReturnType<typeof tree>) => ({
      argv: ['--ro-bind', '/', '/', '--bind', t.A, t.A, '--bind', t.src, t.dest, '--unshare-pid'],
      ops: [
        `read:${t.dest}/f`,
        `write:${t.dest}/new`,
        `mkdir:${t.dest}/d`,
        `rename:${t.dest}/g:${t.dest}/d/g`,
        `write:${t.src}/x`,
        `write:${t.outside}/conf`,
        `write:${t.outside}/x`,
        `link:${t.dest}/f:${t.A}/l`,
        `rename:${t.dest}/f:${t.A}/f`,
        `link:${t.dest}/f:${t.dest}/l`,
      ],
    });
    // Real bubblewrap, on a tree of its own: the same answer for each syscall.
    const theirs = tree();
    const b = shape(theirs);
    const bw = run(realBwrap, b.argv, b.ops);
    const t = tree();
    const { src, dest, A, outside } = t;
    const before = { outside: snapshot(outside), dest: snapshot(dest), a: snapshot(A) };
    const r = run(shim, shape(t).argv, shape(t).ops);
    expect(r.stdout).toBe(bw.stdout.replaceAll(theirs.H, t.H));
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual([
      `read:${dest}/f data`,
      `write:${dest}/new ok`,
      `mkdir:${dest}/d ok`,
      `rename:${dest}/g:${dest}/d/g ok`,
      `write:${src}/x EROFS`,
      `write:${outside}/conf EROFS`,
      `write:${outside}/x EROFS`,
      `link:${dest}/f:${A}/l EXDEV`, // its own mount, as under bubblewrap
      `rename:${dest}/f:${A}/f EXDEV`,
      `link:${dest}/f:${dest}/l ok`,
      '',
    ]);
    expect(r.code).toBe(0);
    // The writes are SRC's; DEST on the host, the other root and the outside are as they were.
    expect(fs.readFileSync(`${src}/new`, 'utf8')).toBe('x');
    expect(fs.readFileSync(`${src}/d/g`, 'utf8')).toBe('g');
    expect(fs.statSync(`${src}/f`).nlink).toBe(2);
    expect(fs.existsSync(`${src}/x`)).toBe(false);
    expect({ outside: snapshot(outside), dest: snapshot(dest), a: snapshot(A) }).toEqual(before);
  });

  it("exec's protections hold at DEST: git's control files, a missing protected name, a new repository, the host-facts cache inside SRC", () => {
    const { src, dest } = tree();
    // HOME=H/src: the host-facts cache of this command is SRC/.cache/sbx-native/host.json, guarded wherever it is shown.
    fs.mkdirSync(`${src}/.cache/sbx-native`, { recursive: true });
    fs.writeFileSync(`${src}/.cache/sbx-native/host.json`, '{}');
    fs.writeFileSync(`${src}/.git/hooks/pre-commit`, '#!/bin/sh\n');
    const before = snapshot(src);
    const r = runBwrap(
      shim,
      [
        '--ro-bind',
        '/',
        '/',
        '--bind',
        src,
        dest,
        '--',
        process.execPath,
        '-e',
        OPS,
        `write:${dest}/.git/hooks/pre-commit`,
        `write:${dest}/.git/hooks/post-checkout`,
        `write:${dest}/.git/config`,
        `write:${dest}/.bashrc`,
        `mkdir:${dest}/.vscode`,
        `mkdir:${dest}/sub`,
        `mkdir:${dest}/sub/.git`,
        `write:${dest}/.cache/sbx-native/host.json`,
        `write:${dest}/.cache/sbx-native/repositories.json`,
        `rename:${dest}/.cache:${dest}/cache2`,
      ],
      { env: { PATH: '/usr/bin:/bin', HOME: src } },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual([
      `write:${dest}/.git/hooks/pre-commit EROFS`,
      `write:${dest}/.git/hooks/post-checkout EROFS`,
      `write:${dest}/.git/config EROFS`,
      `write:${dest}/.bashrc EROFS`, // missing: init refuses making it
      `mkdir:${dest}/.vscode EROFS`,
      `mkdir:${dest}/sub ok`,
      `mkdir:${dest}/sub/.git EROFS`, // no new repository
      `write:${dest}/.cache/sbx-native/host.json EROFS`,
      `write:${dest}/.cache/sbx-native/repositories.json EROFS`,
      `rename:${dest}/.cache:${dest}/cache2 EROFS`, // the directory on the way to a guarded file stays
      '',
    ]);
    expect(r.code).toBe(0);
    const after = snapshot(src);
    expect(Object.keys(after).sort()).toEqual([...Object.keys(before), 'sub'].sort());
    for (const k of Object.keys(before)) if (k !== '.') expect([k, after[k]]).toEqual([k, before[k]]);
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it('a moved root that shares files with another writable root is refused, nothing run; a missing DEST in a writable root is not made', () => {
    const { H, src, dest, A } = tree();
    const marker = `${H}/ran`;
    const cases: [string[], RegExp][] = [
      [['--bind', src, src, '--bind', src, dest], /^bwrap: .*shares files with the writable root/],
      [['--bind', H, H, '--bind', src, dest], /^bwrap: .*shares files with the writable root/],
      [['--bind', A, A, '--bind', A, dest], /^bwrap: .*shares files with the writable root/],
      [['--bind', '/', dest], /^bwrap: .*the source must not hold or lie in \/proc or \/dev/],
      [['--bind', '/proc/self', dest], /^bwrap: .*the source must not hold or lie in \/proc or \/dev/],
      [['--bind', A, A, '--bind', src, `${A}/new`], /^bwrap: --bind \S+ \S+\/a\/new: not supported.*makes no mount points on the host/],
    ];
    for (const [argv, re] of cases) {
      const r = runBwrap(shim, ['--ro-bind', '/', '/', ...argv, 'sh', '-c', `touch ${marker}`]);
      expect([argv, r.code]).toEqual([argv, 1]);
      expect(r.stderr).toMatch(re);
      expect(fs.existsSync(marker)).toBe(false);
    }
    expect(fs.readdirSync(A)).toEqual([]);
    expect(fs.readdirSync(dest)).toEqual([]);
  });
});
