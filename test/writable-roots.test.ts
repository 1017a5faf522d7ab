// Behaviour 1: writes inside every writable root work; everything else is
// readable and read-only, and metadata changes outside the roots give EROFS.
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, rmTree, snapshot, tempDir, userLabel, sh } from './helpers';

describe(`writable roots (as ${userLabel})`, () => {
  let base: string, a: string, b: string, elsewhere: string;
  beforeAll(() => {
    base = tempDir();
    a = path.join(base, 'a');
    b = path.join(base, 'b');
    for (const d of [a, b, path.join(base, 'sibling')]) fs.mkdirSync(d);
    fs.writeFileSync(path.join(a, 'old'), 'old');
    fs.writeFileSync(path.join(base, 'sibling', 'file'), 'keep');
    fs.writeFileSync(path.join(base, 'top-file'), 'keep');
    elsewhere = tempDir();
    fs.writeFileSync(path.join(elsewhere, 'file'), 'keep');
  });
  afterAll(() => {
    rmTree(base);
    rmTree(elsewhere);
  });

  it('allows write, create, mkdir, rename, unlink and rmdir inside each root', async () => {
    const ops = `[
      ['write a', () => fs.writeFileSync(${JSON.stringify(path.join(a, 'new'))}, 'x')],
      ['append a', () => fs.appendFileSync(${JSON.stringify(path.join(a, 'old'))}, 'y')],
      ['truncate a', () => fs.truncateSync(${JSON.stringify(path.join(a, 'old'))}, 1)],
      ['mkdir b', () => fs.mkdirSync(${JSON.stringify(path.join(b, 'd'))})],
      ['rename in b', () => fs.renameSync(${JSON.stringify(path.join(b, 'd'))}, ${JSON.stringify(path.join(b, 'e'))})],
      ['rmdir b', () => fs.rmdirSync(${JSON.stringify(path.join(b, 'e'))})],
      ['symlink a', () => fs.symlinkSync('new', ${JSON.stringify(path.join(a, 'ln'))})],
      ['chmod a', () => fs.chmodSync(${JSON.stringify(path.join(a, 'new'))}, 0o600)],
      ['unlink a', () => fs.unlinkSync(${JSON.stringify(path.join(a, 'ln'))})],
    ]`;
    const r = await probe(ops, { writableRoots: [a, b], tmp: 'none' });
    expect(r).toEqual({
      'write a': 'ok',
      'append a': 'ok',
      'truncate a': 'ok',
      'mkdir b': 'ok',
      'rename in b': 'ok',
      'rmdir b': 'ok',
      'symlink a': 'ok',
      'chmod a': 'ok',
      'unlink a': 'ok',
    });
    expect(fs.readFileSync(path.join(a, 'new'), 'utf8')).toBe('x');
    expect(fs.readFileSync(path.join(a, 'old'), 'utf8')).toBe('o');
    expect(fs.statSync(path.join(a, 'new')).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(b, 'e'))).toBe(false);
  });

  it('refuses writes outside the roots and leaves the host unchanged', async () => {
    const before = [snapshot(base), snapshot(elsewhere)];
    const j = (p: string) => JSON.stringify(p);
    const sib = path.join(base, 'sibling', 'file');
    const far = path.join(elsewhere, 'file');
    const ops = `[
      ['write sealed sibling', () => fs.writeFileSync(${j(sib)}, 'x')],
      ['create in sealed sibling', () => fs.writeFileSync(${j(path.join(base, 'sibling', 'new'))}, 'x')],
      ['create in ancestor', () => fs.writeFileSync(${j(path.join(base, 'new'))}, 'x')],
      ['mkdir in ancestor', () => fs.mkdirSync(${j(path.join(base, 'newdir'))})],
      ['unlink in ancestor', () => fs.unlinkSync(${j(path.join(base, 'top-file'))})],
      ['write elsewhere', () => fs.writeFileSync(${j(far)}, 'x')],
      ['create elsewhere', () => fs.writeFileSync(${j(path.join(elsewhere, 'new'))}, 'x')],
      ['unlink elsewhere', () => fs.unlinkSync(${j(far)})],
      ['rename elsewhere', () => fs.renameSync(${j(far)}, ${j(far + '2')})],
      ['link elsewhere', () => fs.linkSync(${j(far)}, ${j(far + '3')})],
      ['create in /etc', () => fs.writeFileSync('/etc/sbx-native-test', 'x')],
    ]`;
    const r = await probe(ops, { writableRoots: [a, b], tmp: 'none' });
    expect(r).toEqual({
      'write sealed sibling': 'EROFS',
      'create in sealed sibling': 'EROFS',
      'create in ancestor': 'EACCES', // the ancestor is in the read-write mount: Landlock refuses
      'mkdir in ancestor': 'EACCES',
      'unlink in ancestor': 'EACCES', // Landlock refuses before the VFS sees the sealing bind (EBUSY)
      'write elsewhere': 'EROFS',
      'create elsewhere': 'EROFS',
      'unlink elsewhere': 'EROFS',
      'rename elsewhere': 'EROFS',
      'link elsewhere': 'EROFS',
      'create in /etc': 'EROFS',
    });
    expect([snapshot(base), snapshot(elsewhere)]).toEqual(before);
    expect(fs.existsSync('/etc/sbx-native-test')).toBe(false);
  });

  it('refuses chmod, chown, utimes and setxattr outside the roots with EROFS', async () => {
    const before = [snapshot(base), snapshot(elsewhere)];
    const targets = { sealed: path.join(base, 'sibling', 'file'), elsewhere: path.join(elsewhere, 'file'), etc: '/etc/hostname' };
    const lines = Object.entries(targets).map(([k, p]) => {
      const j = JSON.stringify(p);
      return `['chmod ${k}', () => fs.chmodSync(${j}, 0o777)],
        ['chown ${k}', () => fs.chownSync(${j}, process.getuid(), process.getgid())],
        ['utimes ${k}', () => fs.utimesSync(${j}, 1, 1)],`;
    });
    const r = await probe(`[${lines.join('\n')}]`, { writableRoots: [a, b], tmp: 'none' });
    for (const k of Object.keys(targets)) {
      expect(r[`chmod ${k}`], `chmod ${k}`).toBe('EROFS');
      expect(r[`chown ${k}`], `chown ${k}`).toBe('EROFS');
      expect(r[`utimes ${k}`], `utimes ${k}`).toBe('EROFS');
    }
    // setxattr: Node has no binding, so use setfattr-like Python inside the sandbox.
    const x = await sh(
      `/usr/bin/python3 -c '
import os, sys
for p in sys.argv[1:]:
    try:
        os.setxattr(p, "user.sbx", b"1"); print("ok")
    except OSError as e:
        print(os.strerror(e.errno))' ${targets.sealed} ${targets.elsewhere}`,
      { writableRoots: [a, b], tmp: 'none' },
    );
    expect(x.stdout.trim().split('\n')).toEqual(['Read-only file system', 'Read-only file system']);
    expect([snapshot(base), snapshot(elsewhere)]).toEqual(before);
  });

  it('reads everything outside the roots', async () => {
    const r = await sh(`cat ${path.join(elsewhere, 'file')} ${path.join(base, 'sibling', 'file')}; head -c 4 /etc/passwd`, {
      writableRoots: [a],
      tmp: 'none',
    });
    expect(r.stdout).toBe('keepkeeproot');
  });

  it('defaults the writable root to the cwd and reports missing roots without creating them', async () => {
    const missing = path.join(base, 'missing-root');
    const r = await sh('echo here > inside.txt', { tmp: 'none' }, { cwd: a });
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(a, 'inside.txt'), 'utf8')).toBe('here\n');
    const { spawn } = await import('../lib');
    const child = spawn('/bin/true', [], { sandbox: { writableRoots: [a, missing], tmp: 'none' } });
    expect(child.missingRoots).toEqual([missing]);
    const code = await new Promise((res) => child.on('exit', res));
    expect(code).toBe(0);
    expect(fs.existsSync(missing)).toBe(false);
  });
});
