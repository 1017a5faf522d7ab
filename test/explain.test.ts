// explain(path, access) must say what the kernel then does: each answer is
// checked against a real attempt inside the sandbox (errno and all), and the
// host stays unchanged.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain } from '../lib';
import { probe, rmTree, snapshot, tempDir, userLabel } from './helpers';

describe(`explain() agrees with the kernel (as ${userLabel})`, () => {
  let H: string;
  let sandbox: any;
  beforeAll(() => {
    H = tempDir();
    for (const d of ['a', 'b', 'a/vendor', 'a/secret']) fs.mkdirSync(path.join(H, d));
    fs.writeFileSync(path.join(H, 'a', 'secret', 'key'), 'k');
    fs.writeFileSync(path.join(H, 'other.txt'), 'o');
    spawnSync('git', ['init', '-q', path.join(H, 'a')]);
    sandbox = {
      writableRoots: [path.join(H, 'a'), path.join(H, 'b')],
      readOnly: [path.join(H, 'a', 'vendor')],
      denyRead: [path.join(H, 'a', 'secret')],
      tmp: 'none',
    };
  });
  afterAll(() => rmTree(H));

  const writes = [
    'a/new.txt',
    'b/new.txt',
    'a/vendor/x',
    'a/.git/config',
    'a/.codex',
    'b/HEAD',
    'a/secret/x',
    'other.txt',
    'new-in-ancestor.txt',
    '/etc/sbx-explain',
    '/tmp/sbx-explain-x',
  ];
  it('write: allowed or refused with the errno the command then gets', async () => {
    const before = snapshot(H);
    const ops = `[${writes.map((w) => `[${JSON.stringify(w)}, () => fs.writeFileSync(${JSON.stringify(path.resolve(H, w))}, 'x', { flag: 'a' })]`).join(',')}]`;
    const got = await probe(ops, sandbox, { cwd: H });
    const said: Record<string, string> = {};
    for (const w of writes) {
      const e = explain(w, 'write', { sandbox, cwd: H });
      said[w] = e.allowed ? 'ok' : e.errno!;
      expect(e.rule.length).toBeGreaterThan(0);
    }
    expect(said).toEqual(got);
    for (const w of writes) if (got[w] === 'ok') fs.rmSync(path.resolve(H, w));
    // Only the allowed writes changed anything (the two roots' mtimes: a file made and removed there).
    const strip = (s: Record<string, string>) => {
      const rest = { ...s };
      delete rest.a;
      delete rest.b;
      return rest;
    };
    expect(strip(snapshot(H))).toEqual(strip(before));
    expect(said).toMatchObject({
      'a/new.txt': 'ok',
      'a/vendor/x': 'EROFS',
      'a/.codex': 'EROFS',
      'b/HEAD': 'EROFS',
      '/etc/sbx-explain': 'EROFS',
    });
  });

  it('read: a hidden path is refused, the rest readable; the rule names the policy', async () => {
    const reads = ['a/secret/key', 'other.txt', 'a/vendor'];
    const ops = `[${reads.map((r) => `[${JSON.stringify(r)}, () => { const p = ${JSON.stringify(path.resolve(H, r))}; fs.statSync(p).isDirectory() ? fs.readdirSync(p) : fs.readFileSync(p); }]`).join(',')}]`;
    const got = await probe(ops, sandbox, { cwd: H });
    const secret = explain('a/secret/key', 'read', { sandbox, cwd: H });
    expect(secret).toMatchObject({ allowed: false, by: 'mount' });
    expect(secret.rule).toMatch(/hidden: .*a\/secret/);
    expect(got['a/secret/key']).not.toBe('ok');
    expect(got['other.txt']).toBe('ok');
    expect(explain('other.txt', 'read', { sandbox, cwd: H }).allowed).toBe(true);
    expect(explain('a/vendor/x', 'write', { sandbox, cwd: H }).rule).toMatch(/read-only: .*vendor/);
    expect(explain('a/.git/config', 'write', { sandbox, cwd: H }).rule).toMatch(/protect \.git/);
    expect(() => explain('x', 'exec' as any, { sandbox })).toThrow(/access must be 'read' or 'write'/);
  });
});
