// A directory kept read-only inside a writable root (a readOnly carve-out,
// a protected name such as .vscode) is a read-only bind: its names cannot be
// written. A hard link to one of its files made before the sandbox, elsewhere
// in the root, is the same inode: writing through that name changed the
// "read-only" file (VS Code runs .vscode/tasks.json). Init refuses writing
// or chmod of a file with more than one name when its inode lies below such
// a directory (EROFS, rule protected_link); files with one name, and second
// names of files outside those directories, are written as before.
import { execFileSync, spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRoot, repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');

/** `sbx-native exec` of `node -e src` with the writable roots given, R/config read-only, from R. */
function execIn(R: string, writable: string[], src: string, flags: string[] = []) {
  const args = ['exec', '--no-config', '--tmp', 'none', ...flags, ...writable.flatMap((w) => ['-w', w])];
  return spawnSync(process.execPath, [bin, ...args, '-r', path.join(R, 'config'), '--cwd', R, '--', process.execPath, '-e', src], {
    encoding: 'utf8',
    cwd: R,
  });
}

describe(`second names of files in read-only directories of a root (as ${userLabel})`, () => {
  let R: string;
  beforeEach(() => {
    R = tempDir('sbx-carve-links-');
    fs.mkdirSync(path.join(R, 'config', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(R, 'config', 'deep', 'settings.json'), '{"safe":true}');
    fs.mkdirSync(path.join(R, '.vscode'));
    fs.writeFileSync(path.join(R, '.vscode', 'tasks.json'), '{"tasks":[]}');
    fs.mkdirSync(path.join(R, 'backup'));
    fs.linkSync(path.join(R, 'config', 'deep', 'settings.json'), path.join(R, 'backup', 'settings.json'));
    fs.linkSync(path.join(R, '.vscode', 'tasks.json'), path.join(R, 'backup', 'tasks.json'));
    fs.writeFileSync(path.join(R, 'plain'), 'p');
    fs.linkSync(path.join(R, 'plain'), path.join(R, 'backup', 'plain'));
  });
  afterEach(() => rmTree(R));

  for (const flags of [[], ['--allow-git-writes']])
    it(`writing or chmod through the second name gives EROFS${flags.length ? ` (${flags.join(' ')})` : ''}; other files are writable; the host unchanged`, () => {
      const guarded = ['settings.json', 'tasks.json'];
      const before = Object.fromEntries(guarded.map((n) => [n, snapshot(path.join(R, 'backup', n))]));
      const q = JSON.stringify;
      const src = `const fs = require('fs'); const out = {};
        for (const n of ${q(guarded)}) {
          const f = ${q(path.join(R, 'backup'))} + '/' + n;
          for (const [label, fn] of [['append', () => fs.appendFileSync(f, 'evil')], ['truncate', () => fs.writeFileSync(f, 'evil')], ['chmod', () => fs.chmodSync(f, 0o777)]])
            try { fn(); out[n + ' ' + label] = 'ok'; } catch (e) { out[n + ' ' + label] = e.code || String(e); }
        }
        fs.appendFileSync(${q(path.join(R, 'backup', 'plain'))}, '+'); out.plain = fs.readFileSync(${q(path.join(R, 'plain'))}, 'utf8');
        fs.writeFileSync(${q(path.join(R, 'new'))}, 'n'); out.new = fs.readFileSync(${q(path.join(R, 'new'))}, 'utf8');
        process.stdout.write(JSON.stringify(out));`;
      const r = execIn(R, [R], src, flags);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        'settings.json append': 'EROFS',
        'settings.json truncate': 'EROFS',
        'settings.json chmod': 'EROFS',
        'tasks.json append': 'EROFS',
        'tasks.json truncate': 'EROFS',
        'tasks.json chmod': 'EROFS',
        plain: 'p+',
        new: 'n',
      });
      expect(r.stderr).toMatch(/blocked: .*backup\/settings\.json.*second name of a protected file/s);
      expect(r.stderr).toMatch(/blocked: .*backup\/tasks\.json.*second name of a protected file/s);
      for (const n of guarded) expect(snapshot(path.join(R, 'backup', n))).toEqual(before[n]);
      expect(fs.readFileSync(path.join(R, 'config', 'deep', 'settings.json'), 'utf8')).toBe('{"safe":true}');
      expect(fs.readFileSync(path.join(R, '.vscode', 'tasks.json'), 'utf8')).toBe('{"tasks":[]}');
    });
});

// A read-only directory holding a directory init cannot read (mode 000: as
// root too, init holds no capability to read past it) hides which inodes
// are there. Their second names can only be on the same filesystem (or one
// mounted below it), so init refuses files with more than one name there
// (EROFS, rule unseen_link) and writes the others: a second name on another
// filesystem cannot be one of those files.
describe(`second names when a read-only directory holds one init cannot read (as ${userLabel})`, () => {
  const shm = '/dev/shm';
  const twoFilesystems = fs.existsSync(shm) && fs.statSync(shm).dev !== fs.statSync(os.tmpdir()).dev;
  let T: string;
  let M: string;
  beforeEach(() => {
    T = tempDir('sbx-unseen-links-');
    M = fs.mkdtempSync(path.join(shm, 'sbx-unseen-links-'));
    fs.chmodSync(M, 0o755);
  });
  afterEach(() => {
    for (const d of [T, M]) {
      if (fs.existsSync(path.join(d, 'config', 'locked'))) fs.chmodSync(path.join(d, 'config', 'locked'), 0o755);
      rmTree(d);
    }
  });

  for (const where of ['tmp', 'shm'] as const)
    it.skipIf(!twoFilesystems)(
      `${twoFilesystems ? '' : '(skipped: needs /dev/shm on another filesystem than the temp dir) '}carve-out on ${where === 'tmp' ? 'the temp dir' : '/dev/shm'}: a second name into it, or any file with two names on its filesystem, gives EROFS; one on the other filesystem is written; the host unchanged`,
      () => {
        // R holds the carve-out, O is a writable root on the other filesystem.
        const [R, O] = where === 'tmp' ? [T, M] : [M, T];
        fs.mkdirSync(path.join(R, 'config', 'locked'), { recursive: true });
        fs.mkdirSync(path.join(R, 'backup'));
        fs.writeFileSync(path.join(R, 'config', 'locked', 'secret'), 'kept');
        fs.writeFileSync(path.join(R, 'config', 'settings.json'), '{"safe":true}');
        fs.linkSync(path.join(R, 'config', 'locked', 'secret'), path.join(R, 'backup', 'secret'));
        fs.linkSync(path.join(R, 'config', 'settings.json'), path.join(R, 'backup', 'settings.json'));
        fs.writeFileSync(path.join(R, 'plain'), 'p');
        fs.linkSync(path.join(R, 'plain'), path.join(R, 'backup', 'plain'));
        fs.writeFileSync(path.join(O, 'store'), 's');
        fs.linkSync(path.join(O, 'store'), path.join(O, 'installed'));
        fs.chmodSync(path.join(R, 'config', 'locked'), 0);
        const kept = ['secret', 'settings.json', 'plain'].map((n) => path.join(R, 'backup', n));
        const before = kept.map((f) => snapshot(f));
        const q = JSON.stringify;
        const src = `const fs = require('fs'); const out = {};
          const tryIt = (label, fn) => { try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); } };
          tryIt('readdir locked', () => fs.readdirSync(${q(path.join(R, 'config', 'locked'))}));
          for (const f of ${q(kept)}) {
            tryIt(require('path').basename(f) + ' append', () => fs.appendFileSync(f, 'evil'));
            tryIt(require('path').basename(f) + ' chmod', () => fs.chmodSync(f, 0o777));
          }
          tryIt('other filesystem append', () => fs.appendFileSync(${q(path.join(O, 'installed'))}, '+'));
          tryIt('other filesystem chmod', () => fs.chmodSync(${q(path.join(O, 'installed'))}, 0o600));
          out.store = fs.readFileSync(${q(path.join(O, 'store'))}, 'utf8');
          process.stdout.write(JSON.stringify(out));`;
        const r = execIn(R, [R, O], src);
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual({
          'readdir locked': 'EACCES',
          'secret append': 'EROFS',
          'secret chmod': 'EROFS',
          'settings.json append': 'EROFS',
          'settings.json chmod': 'EROFS',
          'plain append': 'EROFS',
          'plain chmod': 'EROFS',
          'other filesystem append': 'ok',
          'other filesystem chmod': 'ok',
          store: 's+',
        });
        expect(r.stderr).toMatch(/blocked: .*backup\/settings\.json.*second name of a protected file/s);
        expect(r.stderr).toMatch(/blocked: .*backup\/secret.*filesystem of a protected or read-only directory init cannot read/s);
        expect(r.stderr).toMatch(/blocked: .*backup\/plain.*filesystem of a protected or read-only directory init cannot read/s);
        expect(r.stderr).not.toMatch(/installed/);
        expect(kept.map((f) => snapshot(f))).toEqual(before);
        fs.chmodSync(path.join(R, 'config', 'locked'), 0o755);
        expect(fs.readFileSync(path.join(R, 'config', 'locked', 'secret'), 'utf8')).toBe('kept');
        expect(fs.statSync(path.join(O, 'store')).mode & 0o777).toBe(0o600);
      },
    );

  // A filesystem mounted below the unreadable directory holds inodes too: a
  // second name of one on that filesystem, elsewhere, may be one of them.
  it.skipIf(!isRoot)(
    `${isRoot ? '' : '(skipped: mounting needs root) '}a filesystem mounted below the unreadable directory: a file with two names on it gives EROFS; the host unchanged`,
    () => {
      const F = path.join(T, 'fs');
      const R = path.join(T, 'root');
      fs.mkdirSync(F);
      fs.mkdirSync(path.join(R, 'config', 'locked', 'sub'), { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'sbx-unseen', F]);
      try {
        fs.mkdirSync(path.join(F, 'hidden'));
        fs.mkdirSync(path.join(F, 'work'));
        fs.writeFileSync(path.join(F, 'hidden', 'secret'), 'kept');
        fs.linkSync(path.join(F, 'hidden', 'secret'), path.join(F, 'work', 'secret'));
        execFileSync('mount', ['--bind', path.join(F, 'hidden'), path.join(R, 'config', 'locked', 'sub')]);
        fs.chmodSync(path.join(R, 'config', 'locked'), 0);
        const before = snapshot(path.join(F, 'work', 'secret'));
        const q = JSON.stringify;
        const target = path.join(F, 'work', 'secret');
        const src = `const fs = require('fs'); const out = {};
          try { fs.appendFileSync(${q(target)}, 'evil'); out.append = 'ok'; } catch (e) { out.append = e.code; }
          process.stdout.write(JSON.stringify(out));`;
        const r = execIn(R, [R, path.join(F, 'work')], src);
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual({ append: 'EROFS' });
        expect(r.stderr).toMatch(/blocked: .*work\/secret.*filesystem of a protected or read-only directory init cannot read/s);
        expect(snapshot(path.join(F, 'work', 'secret'))).toEqual(before);
        expect(fs.readFileSync(path.join(F, 'hidden', 'secret'), 'utf8')).toBe('kept');
      } finally {
        fs.chmodSync(path.join(R, 'config', 'locked'), 0o755);
        spawnSync('umount', [path.join(R, 'config', 'locked', 'sub')]);
        spawnSync('umount', [F]);
      }
    },
  );
});
