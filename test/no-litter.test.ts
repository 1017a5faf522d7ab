// Behaviour 9: after any run (normal, killed, Node parent killed) nothing new
// exists on the host outside the roots, and no mount is left behind.
import { spawn as cpSpawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, run } from '../lib';
import { repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';

const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');
const helpers = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
  try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sbx-helper'); } catch { return false; }
});

describe(`no litter (as ${userLabel})`, () => {
  let H: string, root: string;
  let before: { tree: Record<string, string>; tmp: string[]; mounts: string };
  beforeAll(() => {
    H = tempDir();
    root = path.join(H, 'proj');
    fs.mkdirSync(root);
    fs.mkdirSync(path.join(H, 'other'));
    before = { tree: snapshot(H), tmp: fs.readdirSync('/tmp'), mounts: mounts() };
  });
  afterAll(() => rmTree(H));

  const check = async () => {
    for (let i = 0; i < 100 && helpers().length; i++) await new Promise((r) => setTimeout(r, 20));
    const tree = snapshot(H);
    for (const k of Object.keys(tree)) if (k === 'proj' || k.startsWith('proj/')) delete tree[k];
    const expected = { ...before.tree };
    delete expected.proj;
    expect(tree).toEqual(expected);
    expect(mounts()).toBe(before.mounts);
    // Other test files run at the same time and make their own temp files (all
    // named sbx-*, plus npm's, pnpm's and the compiler's ccXXXXXX.*); the sandbox itself makes none.
    expect(fs.readdirSync('/tmp').filter((n) => !before.tmp.includes(n) && !/^(sbx-|npm-|pnpm|cc[A-Za-z0-9]{6}\.)/.test(n))).toEqual([]);
  };

  it('after a normal run', async () => {
    const r = await run('/bin/sh', ['-c', `echo x > ${root}/f; echo y > ${H}/other/g`], { sandbox: { writableRoots: [root], tmp: 'none' } });
    expect(r.code).toBe(2); // the second write fails
    await check();
  });

  it('after the command is killed', async () => {
    const c = spawn('/bin/sh', ['-c', `touch ${root}/started; sleep 100`], { sandbox: { writableRoots: [root], tmp: 'none' } });
    for (let i = 0; i < 200 && !fs.existsSync(path.join(root, 'started')); i++) await new Promise((r) => setTimeout(r, 10));
    c.kill('SIGKILL');
    await new Promise((res) => c.on('close', res));
    await check();
  });

  it('after the Node parent is killed, with background processes inside', async () => {
    const parent = cpSpawn(process.execPath, ['-e', `
      const c = require(${JSON.stringify(path.join(repoRoot, 'dist'))}).spawn('/bin/sh', ['-c', 'sleep 100 & sleep 100 & touch ${root}/bg; wait'], { sandbox: { writableRoots: [${JSON.stringify(root)}], tmp: 'none' } });`], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !fs.existsSync(path.join(root, 'bg')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(helpers().length).toBeGreaterThan(0);
    parent.kill('SIGKILL');
    await new Promise((res) => parent.on('exit', res));
    await check();
    expect(helpers()).toEqual([]);
  });
});
