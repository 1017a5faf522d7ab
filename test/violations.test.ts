// Being told what was blocked: every refusal the sandbox itself decides
// (protected paths, directories on the way to them, metadata outside the
// roots) reaches the caller once per distinct op and path, with a count,
// bounded; the kernel's own refusals are explain()'s to tell.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, spawn, spawnSync as sbxSpawnSync } from '../lib';
import { repoRoot, rmTree, snapshot, tempDir, twoRoots, userLabel } from './helpers';

const cli = path.join(repoRoot, 'bin', 'sbx-native.js');

describe(`violations (as ${userLabel})`, () => {
  let R: string;
  beforeEach(() => {
    R = tempDir();
  });
  afterEach(() => rmTree(R));

  it('a protected path: one entry with its count, the errno and the rule; the host is unchanged', async () => {
    const before = snapshot(R);
    const seen: unknown[] = [];
    const c = spawn('/bin/sh', ['-c', 'mkdir .codex; mkdir .codex; mkdir .codex; true > .vscode; echo end'], {
      cwd: R,
      sandbox: { writableRoots: [R], tmp: 'none' },
    });
    c.on('violation', (v) => seen.push(v));
    let err = '';
    c.stderr!.on('data', (d) => {
      err += d;
    });
    const code = await new Promise((res) => c.on('close', res));
    expect(code).toBe(0);
    expect(err.match(/Read-only file system/g)).toHaveLength(4);
    const rule = 'protected path (it does not exist; creating it is refused)';
    expect(c.violations).toEqual([
      { op: 'mkdir', path: path.join(R, '.codex'), errno: 'EROFS', rule, count: 3 },
      { op: expect.stringMatching(/^(open|openat|creat)$/), path: path.join(R, '.vscode'), errno: 'EROFS', rule, count: 1 },
    ]);
    // The event comes once per distinct refusal, as it happens.
    expect(seen.map((v: any) => [v.op, v.count])).toEqual([
      ['mkdir', 1],
      [expect.any(String), 1],
    ]);
    expect(c.violationsDropped).toBe(0);
    expect(snapshot(R)).toEqual(before);
  });

  it('a directory on the way to a protected path, and metadata outside the roots: each with its rule', async () => {
    fs.mkdirSync(path.join(R, '.claude', 'commands'), { recursive: true });
    const { H, A } = twoRoots();
    try {
      const before = [snapshot(R), snapshot(H)];
      const r = await run('/bin/sh', ['-c', `mv .claude .claude.old; chmod 700 ${H}; echo end`], {
        cwd: R,
        sandbox: { writableRoots: [R, A], tmp: 'none' },
      });
      expect(r.stdout).toBe('end\n');
      expect(r.violations).toEqual([
        {
          op: expect.stringMatching(/^rename/),
          path: path.join(R, '.claude'),
          errno: 'EROFS',
          rule: 'leads to a protected path (renaming it away, or anything onto it, is refused)',
          count: 1,
        },
        {
          op: expect.stringMatching(/chmod/),
          path: H,
          errno: 'EROFS',
          rule: 'outside the writable roots in their shared mount (metadata is kept as it is)',
          count: 1,
        },
      ]);
      expect([snapshot(R), snapshot(H)]).toEqual(before);
    } finally {
      rmTree(H);
    }
  });

  it('bounded: at most 64 distinct refusals are listed, the rest counted, and the command is not held up', async () => {
    // 200 missing protected names, each refused once.
    const names = Array.from({ length: 200 }, (_, i) => `.p${i}`);
    const r = await run('/bin/sh', ['-c', `for n in ${names.join(' ')}; do mkdir $n 2>/dev/null; done; echo end`], {
      cwd: R,
      sandbox: { writableRoots: [R], tmp: 'none', protect: names },
    });
    expect(r.stdout).toBe('end\n');
    expect(r.violations).toHaveLength(64);
    expect(fs.readdirSync(R)).toEqual([]);
    const c = spawn('/bin/sh', ['-c', `for n in ${names.join(' ')}; do mkdir $n 2>/dev/null; done`], {
      cwd: R,
      stdio: 'ignore',
      sandbox: { writableRoots: [R], tmp: 'none', protect: names },
    });
    await new Promise((res) => c.on('close', res));
    expect([c.violations.length, c.violationsDropped]).toEqual([64, 136]);
  });

  it('spawnSync reports them the same way: violations on its result, bounded, the host unchanged', () => {
    const before = snapshot(R);
    const r = sbxSpawnSync('/bin/sh', ['-c', 'mkdir .codex; mkdir .codex; echo end'], {
      cwd: R,
      sandbox: { writableRoots: [R], tmp: 'none' },
      encoding: 'utf8',
    });
    expect([r.status, r.stdout]).toEqual([0, 'end\n']);
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(r.violations).toEqual([
      {
        op: 'mkdir',
        path: path.join(R, '.codex'),
        errno: 'EROFS',
        rule: 'protected path (it does not exist; creating it is refused)',
        count: 2,
      },
    ]);
    expect(r.violationsDropped).toBe(0);
    expect(snapshot(R)).toEqual(before);
    const names = Array.from({ length: 100 }, (_, i) => `.p${i}`);
    const many = sbxSpawnSync('/bin/sh', ['-c', `for n in ${names.join(' ')}; do mkdir $n 2>/dev/null; done; true`], {
      cwd: R,
      sandbox: { writableRoots: [R], tmp: 'none', protect: names },
    });
    expect([many.status, many.violations.length, many.violationsDropped]).toEqual([0, 64, 36]);
    expect(fs.readdirSync(R)).toEqual([]);
  });

  it("the kernel's own refusals are not violations (explain() tells them)", async () => {
    const r = await run('/bin/sh', ['-c', 'echo x > /etc/sbx-violation-test; echo end'], {
      cwd: R,
      sandbox: { writableRoots: [R], tmp: 'none' },
    });
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(r.violations).toEqual([]);
    expect(fs.existsSync('/etc/sbx-violation-test')).toBe(false);
  });

  it('the CLI prints a short summary at exit', () => {
    const r = spawnSync(
      process.execPath,
      [cli, 'exec', '--tmp', 'none', '--', '/bin/sh', '-c', 'mkdir .codex 2>/dev/null; mkdir .codex 2>/dev/null; exit 3'],
      { cwd: R, encoding: 'utf8' },
    );
    expect(r.status).toBe(3);
    expect(r.stderr).toBe(
      `sbx-native: blocked: mkdir ${path.join(R, '.codex')} (2 times): EROFS, protected path (it does not exist; creating it is refused)\n`,
    );
    expect(fs.readdirSync(R)).toEqual([]);
  });
});
