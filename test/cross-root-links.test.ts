// Behaviours 2 and 3: the point of the project. Roots on one filesystem share
// one read-write mount, so links and renames between them keep the inode;
// nothing from a read-only place can be linked or moved into a root.
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { probe, rmTree, snapshot, tempDir, userLabel, sh } from './helpers';
import { spawn } from '../lib';

const j = (p: string) => JSON.stringify(p);

describe(`links and renames between roots (as ${userLabel})`, () => {
  let H: string, cache: string, repo: string;
  beforeEach(() => {
    H = tempDir();
    cache = path.join(H, '.cache', 'uvlike');
    repo = path.join(H, 'repo');
    fs.mkdirSync(cache, { recursive: true });
    fs.mkdirSync(path.join(repo, '.venv'), { recursive: true });
    fs.writeFileSync(path.join(cache, 'f'), 'wheel');
    fs.mkdirSync(path.join(cache, 'pkg'));
    fs.writeFileSync(path.join(cache, 'pkg', 'mod.py'), 'x = 1');
    fs.writeFileSync(path.join(cache, 'x'), 'X');
    fs.writeFileSync(path.join(repo, 'y'), 'Y');
    fs.mkdirSync(path.join(cache, 'dx'));
    fs.mkdirSync(path.join(repo, 'dy'));
  });
  afterEach(() => rmTree(H));

  it('hard-links a cache file into the project: nlink 2, same inode (ln)', async () => {
    const r = await sh(`ln ${cache}/f ${repo}/.venv/f && stat -c %h ${repo}/.venv/f`, { writableRoots: [repo, cache], tmp: 'none' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('2');
    expect(fs.statSync(path.join(repo, '.venv', 'f')).ino).toBe(fs.statSync(path.join(cache, 'f')).ino);
    expect(fs.statSync(path.join(cache, 'f')).nlink).toBe(2);
  });

  it('renames files and directories between roots, keeping the inode', async () => {
    const fileIno = fs.statSync(path.join(cache, 'f')).ino;
    const dirIno = fs.statSync(path.join(cache, 'pkg')).ino;
    const r = await probe(
      `[
      ['rename file', () => fs.renameSync(${j(path.join(cache, 'f'))}, ${j(path.join(repo, 'f'))})],
      ['rename dir', () => fs.renameSync(${j(path.join(cache, 'pkg'))}, ${j(path.join(repo, '.venv', 'pkg'))})],
      ['rename back', () => fs.renameSync(${j(path.join(repo, 'y'))}, ${j(path.join(cache, 'y'))})],
    ]`,
      { writableRoots: [repo, cache], tmp: 'none' },
    );
    expect(r).toEqual({ 'rename file': 'ok', 'rename dir': 'ok', 'rename back': 'ok' });
    expect(fs.statSync(path.join(repo, 'f')).ino).toBe(fileIno);
    expect(fs.statSync(path.join(repo, '.venv', 'pkg')).ino).toBe(dirIno);
    expect(fs.readFileSync(path.join(repo, '.venv', 'pkg', 'mod.py'), 'utf8')).toBe('x = 1');
    expect(fs.existsSync(path.join(cache, 'f'))).toBe(false);
  });

  it('supports renameat2 RENAME_NOREPLACE and RENAME_EXCHANGE between roots', async () => {
    const xi = fs.statSync(path.join(cache, 'x')).ino;
    const yi = fs.statSync(path.join(repo, 'y')).ino;
    const dxi = fs.statSync(path.join(cache, 'dx')).ino;
    const r = await probe(
      `[
      ['noreplace file', () => rename2(${j(path.join(cache, 'f'))}, ${j(path.join(repo, 'f'))}, 1)],
      ['noreplace onto existing', () => rename2(${j(path.join(cache, 'x'))}, ${j(path.join(repo, 'y'))}, 1)],
      ['noreplace dir', () => rename2(${j(path.join(cache, 'pkg'))}, ${j(path.join(repo, 'pkg'))}, 1)],
      ['exchange files', () => rename2(${j(path.join(cache, 'x'))}, ${j(path.join(repo, 'y'))}, 2)],
      ['exchange dirs', () => rename2(${j(path.join(cache, 'dx'))}, ${j(path.join(repo, 'dy'))}, 2)],
    ]`,
      { writableRoots: [repo, cache], tmp: 'none' },
    );
    expect(r).toEqual({
      'noreplace file': 'ok',
      'noreplace onto existing': 'EEXIST',
      'noreplace dir': 'ok',
      'exchange files': 'ok',
      'exchange dirs': 'ok',
    });
    expect(fs.statSync(path.join(repo, 'y')).ino).toBe(xi);
    expect(fs.statSync(path.join(cache, 'x')).ino).toBe(yi);
    expect(fs.statSync(path.join(repo, 'dy')).ino).toBe(dxi);
    expect(fs.readFileSync(path.join(repo, 'pkg', 'mod.py'), 'utf8')).toBe('x = 1');
  });

  it('refuses links and renames from read-only places into a root, leaving the source unchanged', async () => {
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, 'secret'), 's');
    fs.writeFileSync(path.join(H, 'sibling-file'), 's');
    const before = [snapshot(outside), snapshot(H)];
    const r = await probe(
      `[
      ['link from another mount', () => fs.linkSync(${j(path.join(outside, 'secret'))}, ${j(path.join(repo, 'secret'))})],
      ['rename from another mount', () => fs.renameSync(${j(path.join(outside, 'secret'))}, ${j(path.join(repo, 'secret'))})],
      ['link sealed sibling', () => fs.linkSync(${j(path.join(H, 'sibling-file'))}, ${j(path.join(repo, 'sf'))})],
      ['rename sealed sibling', () => fs.renameSync(${j(path.join(H, 'sibling-file'))}, ${j(path.join(repo, 'sf'))})],
      ['rename chain dir into root', () => fs.renameSync(${j(path.join(H, '.cache'))}, ${j(path.join(repo, 'stolen'))})],
      ['link /etc/passwd', () => fs.linkSync('/etc/passwd', ${j(path.join(repo, 'passwd'))})],
    ]`,
      { writableRoots: [repo, cache], tmp: 'none' },
    );
    expect(r).toEqual({
      'link from another mount': 'EXDEV',
      'rename from another mount': 'EXDEV',
      'link sealed sibling': 'EXDEV',
      'rename sealed sibling': 'EACCES', // Landlock (no REMOVE_FILE in the ancestor) answers before the VFS
      'rename chain dir into root': 'EACCES',
      'link /etc/passwd': 'EXDEV',
    });
    expect([snapshot(outside), snapshot(H)]).toEqual(before);
    rmTree(outside);
  });

  it('refuses a file that appears in the shared mount outside the roots: link EXDEV, rename EACCES', async () => {
    // A file created on the host in an ancestor directory after the sandbox
    // started lives in the shared read-write mount; only Landlock stops it.
    const late = path.join(H, '.cache', 'late');
    const go = path.join(repo, 'go');
    const script = `const fs = require('fs');
      while (!fs.existsSync(${j(go)})) {}
      const out = {};
      for (const [k, f] of [['link', () => fs.linkSync(${j(late)}, ${j(path.join(repo, 'l'))})],
                            ['rename', () => fs.renameSync(${j(late)}, ${j(path.join(repo, 'r'))})]]) {
        try { f(); out[k] = 'ok'; } catch (e) { out[k] = e.code; }
      }
      process.stdout.write(JSON.stringify(out));`;
    const child = spawn(process.execPath, ['-e', script], { sandbox: { writableRoots: [repo, cache], tmp: 'none' } });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await new Promise((res) => child.on('spawn', res));
    await new Promise((res) => setTimeout(res, 200));
    fs.writeFileSync(late, 'late');
    const before = snapshot(H);
    fs.writeFileSync(go, '');
    await new Promise((res) => child.on('close', res));
    expect(JSON.parse(out)).toEqual({ link: 'EXDEV', rename: 'EACCES' });
    expect(fs.readFileSync(late, 'utf8')).toBe('late');
    const after = snapshot(H);
    delete before['repo/go'];
    delete after['repo/go'];
    delete before['repo'];
    delete after['repo'];
    expect(after).toEqual(before);
  });
});
