// A hidden (deny-read) path is covered by an empty read-only mask, so its
// names cannot be written. A hard link to one of its files made before the
// sandbox, in a writable root, is the same inode: writing through that name
// changed the hidden file. Init holds each hidden directory on a writable
// area's filesystem from before its mask covers it (hold_tree) and refuses
// writing or chmod of a file with more than one name whose inode lies below
// it (EROFS, rule protected_link); a hidden file's inode is guarded like a
// protected file's. Files with two names both in a writable area shown again
// below a hidden directory, and files with one name, are written as before.
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hiddenGuards, HELD_BUDGET } from '../lib/plan';
import { prepare, SandboxedProcess } from '../lib';
import type { Layout } from '../lib/layout';
import { repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');

/** `sbx-native exec` of `node -e src` from R, with these flags. */
function execIn(R: string, flags: string[], src: string) {
  const args = ['exec', '--no-config', '--tmp', 'none', ...flags, '--cwd', R, '--', process.execPath, '-e', src];
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: R });
}

const q = JSON.stringify;
/** Node source: tries each write on each file, prints {"NAME LABEL": "ok" | code}. */
const attempts = (files: string[], extra = '') => `const fs = require('fs'); const out = {};
  const tryIt = (label, fn) => { try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); } };
  for (const f of ${q(files)}) {
    const n = require('path').basename(f);
    tryIt(n + ' append', () => fs.appendFileSync(f, 'evil'));
    tryIt(n + ' truncate', () => fs.writeFileSync(f, 'evil'));
    tryIt(n + ' chmod', () => fs.chmodSync(f, 0o777));
  }
  ${extra}
  process.stdout.write(JSON.stringify(out));`;

const refused = (names: string[]) =>
  Object.fromEntries(names.flatMap((n) => ['append', 'truncate', 'chmod'].map((l) => [`${n} ${l}`, 'EROFS'])));

describe(`second names of hidden (deny-read) files (as ${userLabel})`, () => {
  let R: string;
  let O: string;
  beforeEach(() => {
    R = tempDir('sbx-deny-links-');
    O = tempDir('sbx-deny-links-out-'); // outside the root, on the same filesystem
    fs.mkdirSync(path.join(R, 'config', 'hidden', 'deep'), { recursive: true });
    fs.mkdirSync(path.join(R, 'config', 'hidden', 'open'));
    fs.mkdirSync(path.join(R, 'backup'));
    fs.writeFileSync(path.join(R, 'config', 'hidden', 'x'), 'secret');
    fs.writeFileSync(path.join(R, 'config', 'hidden', 'deep', 'y'), 'deep secret');
    fs.writeFileSync(path.join(R, 'token'), 'file secret');
    fs.writeFileSync(path.join(O, 'key'), 'outside secret');
    fs.linkSync(path.join(R, 'config', 'hidden', 'x'), path.join(R, 'backup', 'x'));
    fs.linkSync(path.join(R, 'config', 'hidden', 'deep', 'y'), path.join(R, 'backup', 'y'));
    fs.linkSync(path.join(R, 'token'), path.join(R, 'backup', 'token'));
    fs.linkSync(path.join(O, 'key'), path.join(R, 'backup', 'key'));
    // Two names, both in a writable area shown again below the hidden directory.
    fs.writeFileSync(path.join(R, 'config', 'hidden', 'open', 'a'), 'a');
    fs.linkSync(path.join(R, 'config', 'hidden', 'open', 'a'), path.join(R, 'config', 'hidden', 'open', 'b'));
    fs.writeFileSync(path.join(R, 'plain'), 'p');
    fs.linkSync(path.join(R, 'plain'), path.join(R, 'backup', 'plain'));
  });
  afterEach(() => {
    rmTree(R);
    rmTree(O);
  });

  it('writing or chmod through the second name gives EROFS (directory, file, outside the root); the rest is writable; the host unchanged', () => {
    const guarded = ['x', 'y', 'token', 'key'].map((n) => path.join(R, 'backup', n));
    const before = guarded.map((f) => snapshot(f));
    const open = path.join(R, 'config', 'hidden', 'open');
    const src = attempts(
      guarded,
      `tryIt('reveal append', () => fs.appendFileSync(${q(path.join(open, 'b'))}, '+'));
       out.reveal = fs.readFileSync(${q(path.join(open, 'a'))}, 'utf8');
       tryIt('plain append', () => fs.appendFileSync(${q(path.join(R, 'backup', 'plain'))}, '+'));
       out.plain = fs.readFileSync(${q(path.join(R, 'plain'))}, 'utf8');
       tryIt('hidden listing', () => { out.listing = fs.readdirSync(${q(path.join(R, 'config', 'hidden'))}).join(','); });`,
    );
    const flags = [
      '-w',
      R,
      '-w',
      open,
      '--deny-read',
      path.join(R, 'config', 'hidden'),
      '--deny-read',
      path.join(R, 'token'),
      '--deny-read',
      O,
    ];
    const r = execIn(R, flags, src);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      ...refused(['x', 'y', 'token', 'key']),
      'reveal append': 'ok',
      reveal: 'a+',
      'plain append': 'ok',
      plain: 'p+',
      'hidden listing': 'ok',
      listing: 'open', // the mask, with the writable area's mount point
    });
    for (const n of ['x', 'y', 'token', 'key'])
      expect(r.stderr).toMatch(new RegExp(`blocked: .*backup/${n}.*second name of a protected file`, 's'));
    expect(r.stderr).not.toMatch(/open\/b|backup\/plain/);
    expect(guarded.map((f) => snapshot(f))).toEqual(before);
    expect(fs.readFileSync(path.join(R, 'config', 'hidden', 'x'), 'utf8')).toBe('secret');
    expect(fs.readFileSync(path.join(R, 'config', 'hidden', 'deep', 'y'), 'utf8')).toBe('deep secret');
    expect(fs.readFileSync(path.join(R, 'token'), 'utf8')).toBe('file secret');
    expect(fs.readFileSync(path.join(O, 'key'), 'utf8')).toBe('outside secret');
  });

  it("past the plan's budget of entries the rest of a hidden directory counts as unseen: two names on its filesystem give EROFS (unseen_link)", async () => {
    const src = `const fs = require('fs'); const out = {};
      try { fs.appendFileSync(${q(path.join(R, 'backup', 'plain'))}, 'evil'); out.plain = 'ok'; } catch (e) { out.plain = e.code; }
      process.stdout.write(JSON.stringify(out));`;
    const prepared = prepare(process.execPath, ['-e', src], {
      cwd: R,
      sandbox: { writableRoots: [R], denyRead: [path.join(R, 'config', 'hidden')], tmp: 'none' },
      pool: false,
    });
    const sup = prepared.plan.steps.find((s) => s.op === 'supervise')!;
    expect(sup.args).toContain(`held-budget=${HELD_BUDGET}`);
    const before = snapshot(path.join(R, 'plain'));
    const runWith = (budget: number) =>
      new Promise<{ out: string; rules: string[] }>((resolve, reject) => {
        const steps = prepared.plan.steps.map((s) =>
          s === sup ? { ...s, args: s.args.map((a) => (a.startsWith('held-budget=') ? `held-budget=${budget}` : a)) } : s,
        );
        const c = new SandboxedProcess({ ...prepared, plan: { ...prepared.plan, steps } }, { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        c.stdout!.on('data', (d) => (out += d));
        c.on('error', reject);
        c.on('close', () => resolve({ out, rules: c.violations.map((v) => v.rule) }));
      });
    const small = await runWith(2);
    expect(JSON.parse(small.out)).toEqual({ plain: 'EROFS' });
    expect(small.rules.join()).toMatch(/cannot read/);
    expect(snapshot(path.join(R, 'plain'))).toEqual(before);
    const whole = await runWith(HELD_BUDGET);
    expect(JSON.parse(whole.out)).toEqual({ plain: 'ok' });
  });

  const python = spawnSync('python3', ['-c', '0']).status === 0;
  it.skipIf(!python)(
    `${python ? '' : '(skipped: needs python3 for truncate(2) by name) '}truncate(2) by name of a second name gives EROFS; of a plain file, a directory, a missing name, a negative length it answers as the kernel does; the host unchanged`,
    () => {
      const before = snapshot(path.join(R, 'backup', 'x'));
      const py = `import os, json
out = {}
for label, p, n in [('linked', ${q(path.join(R, 'backup', 'x'))}, 0), ('plain', ${q(path.join(R, 'plain'))}, 0), ('dir', ${q(path.join(R, 'backup'))}, 0), ('missing', ${q(path.join(R, 'nope'))}, 0), ('negative', ${q(path.join(R, 'plain'))}, -1)]:
    try:
        os.truncate(p, n); out[label] = 'ok'
    except OSError as e:
        out[label] = __import__('errno').errorcode[e.errno]
print(json.dumps(out))`;
      const r = spawnSync(
        process.execPath,
        [
          bin,
          'exec',
          '--no-config',
          '--tmp',
          'none',
          '-w',
          R,
          '--deny-read',
          path.join(R, 'config', 'hidden'),
          '--cwd',
          R,
          '--',
          'python3',
          '-c',
          py,
        ],
        { encoding: 'utf8', cwd: R },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ linked: 'EROFS', plain: 'ok', dir: 'EISDIR', missing: 'ENOENT', negative: 'EINVAL' });
      expect(r.stderr).toMatch(/blocked: truncate .*backup\/x: EROFS, a second name of a protected file/);
      expect(snapshot(path.join(R, 'backup', 'x'))).toEqual(before);
      expect(fs.readFileSync(path.join(R, 'config', 'hidden', 'x'), 'utf8')).toBe('secret');
      expect(fs.readFileSync(path.join(R, 'plain'), 'utf8')).toBe('');
    },
  );

  // A directory init cannot read below the hidden one hides which inodes are
  // there: a file with two names on its filesystem is refused (rule
  // unseen_link), one on another filesystem is written.
  const shm = '/dev/shm';
  const twoFilesystems = fs.existsSync(shm) && fs.statSync(shm).dev !== fs.statSync(os.tmpdir()).dev;
  it.skipIf(!twoFilesystems)(
    `${twoFilesystems ? '' : '(skipped: needs /dev/shm on another filesystem than the temp dir) '}an unreadable directory below the hidden one: two names on its filesystem give EROFS, on another filesystem they are written; the host unchanged`,
    () => {
      const M = fs.mkdtempSync(path.join(shm, 'sbx-deny-links-'));
      fs.chmodSync(M, 0o755);
      const locked = path.join(R, 'config', 'hidden', 'locked');
      try {
        fs.mkdirSync(locked);
        fs.writeFileSync(path.join(M, 'store'), 's');
        fs.linkSync(path.join(M, 'store'), path.join(M, 'installed'));
        fs.chmodSync(locked, 0);
        const before = snapshot(path.join(R, 'backup', 'plain'));
        const src = `const fs = require('fs'); const out = {};
          const tryIt = (label, fn) => { try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); } };
          tryIt('plain append', () => fs.appendFileSync(${q(path.join(R, 'backup', 'plain'))}, 'evil'));
          tryIt('other filesystem append', () => fs.appendFileSync(${q(path.join(M, 'installed'))}, '+'));
          out.store = fs.readFileSync(${q(path.join(M, 'store'))}, 'utf8');
          process.stdout.write(JSON.stringify(out));`;
        const r = execIn(R, ['-w', R, '-w', M, '--deny-read', path.join(R, 'config', 'hidden')], src);
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual({ 'plain append': 'EROFS', 'other filesystem append': 'ok', store: 's+' });
        expect(r.stderr).toMatch(/blocked: .*backup\/plain.*filesystem of a protected or read-only directory init cannot read/s);
        expect(snapshot(path.join(R, 'backup', 'plain'))).toEqual(before);
        expect(fs.readFileSync(path.join(R, 'plain'), 'utf8')).toBe('p');
      } finally {
        if (fs.existsSync(locked)) fs.chmodSync(locked, 0o755);
        rmTree(M);
      }
    },
  );
});

// Which hidden directories init holds, and what it skips there: only what is
// writable again as the host holds it (a writable path shown again, a moved
// root's source), never scratch or a private /tmp, whose host directory is
// hidden under a fresh tmpfs; a hidden file's inode whatever its device.
describe('hiddenGuards (the plan)', () => {
  const ids: Record<string, string> = {
    '/home': '1:10',
    '/home/u/proj': '1:11',
    '/home/u/.cache': '1:12',
    '/home/u/open': '1:13',
    '/work': '9:1', // the moved root's mount point: no host inode of its own
    '/home/u/token': '7:14', // a file reporting another device (a non-directory on overlayfs)
    '/srv/other': '2:20', // a hidden directory on a filesystem nothing writable is on
    '/tmp': '3:1',
  };
  const layout = {
    writable: ['/work', '/home/u/open', '/home/u/.cache', '/tmp'],
    groups: [{ ancestor: '/work', roots: ['/work'], chain: [], source: '/home/u/proj' }],
    actions: [
      { kind: 'mask', path: '/home', type: 'dir', inner: [] },
      { kind: 'mask', path: '/home/u/token', type: 'file', inner: [] },
      { kind: 'mask', path: '/srv/other', type: 'dir', inner: [] },
      { kind: 'mask', path: '/home/u/.cache', type: 'tmpfs', inner: [] },
      { kind: 'mask', path: '/tmp', type: 'tmpfs', inner: [] },
      { kind: 'reveal', path: '/home/u/open', writable: true },
    ],
  } as unknown as Layout;
  const moved = [{ src: '/home/u/proj', dest: '/work' }];

  it('holds /home skipping the revealed path and the moved source only; guards the file; leaves the other filesystem', () => {
    const h = hiddenGuards(layout, (p) => ids[p], moved as never);
    expect([...h.trees]).toEqual([['/home', ['/home/u/open', '/home/u/proj']]]);
    expect(h.inodes).toEqual(['7:14']);
  });

  it('nothing writable: nothing held or guarded', () => {
    const h = hiddenGuards(
      { ...layout, writable: [], groups: [], actions: layout.actions.filter((a) => a.kind === 'mask') },
      (p) => ids[p],
      [],
    );
    expect([h.trees.size, h.inodes.length]).toEqual([0, 0]);
  });
});
