// A directory kept read-only inside a writable root (a readOnly carve-out,
// a protected name such as .vscode) is a read-only bind: its names cannot be
// written. A hard link to one of its files made before the sandbox, elsewhere
// in the root, is the same inode: writing through that name changed the
// "read-only" file (VS Code runs .vscode/tasks.json). Init refuses writing
// or chmod of a file with more than one name when its inode lies below such
// a directory (EROFS, rule protected_link); files with one name, and second
// names of files outside those directories, are written as before.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');

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
      const r = spawnSync(
        process.execPath,
        [
          bin,
          'exec',
          '--no-config',
          '--tmp',
          'none',
          ...flags,
          '-w',
          R,
          '-r',
          path.join(R, 'config'),
          '--cwd',
          R,
          '--',
          process.execPath,
          '-e',
          src,
        ],
        { encoding: 'utf8', cwd: R },
      );
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
