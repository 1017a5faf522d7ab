// Writable roots in /dev/shm (TMPDIR=/dev/shm on CI machines, scratch
// trees on a tmpfs). The sandbox has its own /dev, built after the host's
// paths are in place, so roots there are placed in it afterwards: one deeper
// in /dev/shm is mounted on a directory made in the sandbox's fresh
// /dev/shm; roots that share /dev/shm as their ancestor bring the host's
// /dev/shm. Either way only the roots are writable there: the directories
// above a root cannot be renamed (that would move its protected paths away
// from their names). Roots elsewhere under /dev are refused, naming them.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, snapshot, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');
const cli = (args: string[], cwd: string) => spawnSync(process.execPath, [bin, 'exec', '--no-config', ...args], { encoding: 'utf8', cwd });

describe(`writable roots in /dev/shm (as ${userLabel})`, () => {
  let top: string;
  let top2: string;
  beforeEach(() => {
    top = fs.mkdtempSync('/dev/shm/sbx-shm-');
    top2 = fs.mkdtempSync('/dev/shm/sbx-shm-');
    fs.chmodSync(top, 0o755);
  });
  afterEach(() => {
    rmTree(top);
    rmTree(top2);
  });

  it('a root deep in /dev/shm is writable, nothing above it in /dev/shm can be renamed or made (EACCES)', () => {
    const ws = path.join(top, 'x', 'ws');
    fs.mkdirSync(ws, { recursive: true });
    const before = snapshot(top);
    const stray = `${top2}-stray`;
    const r = cli(
      [
        '-w',
        ws,
        '--cwd',
        ws,
        '--',
        'python3',
        '-c',
        `
import os
open('f', 'w').write('inside')
for a, b in [(${JSON.stringify(top)}, ${JSON.stringify(top + '-moved')}), (${JSON.stringify(path.join(top, 'x'))}, ${JSON.stringify(path.join(top, 'y'))})]:
    try:
        os.rename(a, b); print('rename ok')
    except OSError as e:
        print('rename', e.errno)
try:
    open(${JSON.stringify(stray)}, 'w').write('stray'); print('stray ok')
except OSError as e:
    print('stray', e.errno)
`,
      ],
      ws,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`rename 13\nrename 13\nstray 13\n`);
    expect(fs.readFileSync(path.join(ws, 'f'), 'utf8')).toBe('inside');
    // The host: the root's new file (which changed the root's mtime), nothing renamed, nothing made in the host's /dev/shm.
    const after = snapshot(top);
    expect(Object.keys(after).sort()).toEqual(['.', 'x', 'x/ws', 'x/ws/f']);
    expect([after['.'], after.x]).toEqual([before['.'], before.x]);
    expect(fs.existsSync(top + '-moved')).toBe(false);
    expect(fs.existsSync(stray)).toBe(false);
  });

  it('two roots in one directory of /dev/shm: a hard link between them keeps the inode; their parent is read-only (EACCES)', () => {
    const [a, b] = [path.join(top, 'a'), path.join(top, 'b')];
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    const r = cli(
      ['-w', a, '-w', b, '--', 'sh', '-c', `echo hi > ${a}/f && ln ${a}/f ${b}/f && stat -c %h ${b}/f; echo x > ${top}/c || echo refused`],
      top,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('2\nrefused\n');
    expect(r.stderr).toMatch(/Permission denied/);
    expect(fs.statSync(path.join(b, 'f')).ino).toBe(fs.statSync(path.join(a, 'f')).ino);
    expect(fs.readdirSync(top).sort()).toEqual(['a', 'b']);
  });

  it("roots whose shared ancestor is /dev/shm: the host's /dev/shm, writable only in the roots (EACCES elsewhere)", () => {
    const stray = path.join('/dev/shm', `${path.basename(top)}-stray`);
    const r = cli(
      [
        '-w',
        top,
        '-w',
        top2,
        '--',
        'sh',
        '-c',
        `echo hi > ${top}/f && ln ${top}/f ${top2}/f && stat -c %h ${top2}/f; echo x > ${stray} || echo refused`,
      ],
      top,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('2\nrefused\n');
    expect(r.stderr).toMatch(/Permission denied/);
    expect(fs.statSync(path.join(top2, 'f')).nlink).toBe(2);
    expect(fs.existsSync(stray)).toBe(false);
  });

  it('carve-outs inside a root in /dev/shm hold: read-only (EROFS), deny-read (empty, EROFS); the host unchanged', () => {
    const ws = path.join(top, 'ws');
    fs.mkdirSync(path.join(ws, 'ro'), { recursive: true });
    fs.mkdirSync(path.join(ws, 'secret'));
    fs.writeFileSync(path.join(ws, 'secret', 'key'), 'k');
    fs.writeFileSync(path.join(ws, 'token'), 't');
    const before = snapshot(ws);
    const r = cli(
      [
        '-w',
        ws,
        '-r',
        path.join(ws, 'ro'),
        '--deny-read',
        path.join(ws, 'secret'),
        '--deny-read',
        path.join(ws, 'token'),
        '--cwd',
        ws,
        '--',
        'sh',
        '-c',
        'ls -A secret; echo "token=[$(cat token)]"; echo x > ro/y || echo ro refused; echo x > secret/y || echo secret refused; echo ok > new && cat new',
      ],
      ws,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('token=[]\nro refused\nsecret refused\nok\n');
    expect(r.stderr.match(/Read-only file system/g)).toHaveLength(2);
    fs.rmSync(path.join(ws, 'new'));
    const after = snapshot(ws);
    delete after['.'];
    delete before['.']; // the root's mtime: `new` came and went
    expect(after).toEqual(before);
  });

  it('the bwrap front end: --bind of a directory in /dev/shm after --dev is a writable root there; before --dev, refused (exit 1)', () => {
    const ws = path.join(top, 'ws');
    fs.mkdirSync(ws);
    const stray = `${top2}-stray`;
    const bwrap = (args: string[]) => spawnSync(process.execPath, [bin, 'bwrap', ...args], { encoding: 'utf8', cwd: top });
    const r = bwrap([
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--bind',
      ws,
      ws,
      '--',
      'sh',
      '-c',
      `echo in > ${ws}/f && cat ${ws}/f; echo x > ${stray} || echo refused`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('in\nrefused\n');
    expect(r.stderr).toMatch(/Permission denied/);
    expect(fs.readFileSync(path.join(ws, 'f'), 'utf8')).toBe('in\n');
    expect(fs.existsSync(stray)).toBe(false);
    const marker = path.join(ws, 'ran');
    const late = bwrap(['--ro-bind', '/', '/', '--bind', ws, ws, '--dev', '/dev', '--', 'touch', marker]);
    expect(late.status).toBe(1);
    expect(late.stderr).toContain(`bwrap: --bind ${ws} ${ws}: not supported`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a writable root elsewhere under /dev is refused, naming it; nothing runs', () => {
    const marker = path.join(top, 'ran');
    const r = cli(['-w', '/dev', '--', 'sh', '-c', `touch ${marker}`], top);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/dev');
    expect(r.stderr).toMatch(/must be in \/dev\/shm/);
    expect(fs.existsSync(marker)).toBe(false);
  });
});
