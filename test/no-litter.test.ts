// Behaviour 9: after any run (normal, killed, Node parent killed) nothing new
// exists on the host outside the roots, and no mount is left behind.
import { spawn as cpSpawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, run } from '../lib';
import { repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';

const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');
// Other test files run sandboxes at the same time: look only for our own, by
// markers in their command lines (argv0 of the shell, a unique sleep length).
const MARK = `sbx-litter-${process.pid}`;
const SLEEP = `1000.${process.pid}`;
const ours = () =>
  fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return cmd.includes(MARK) || cmd.includes(SLEEP);
      } catch {
        return false;
      }
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
    for (let i = 0; i < 100 && ours().length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(ours()).toEqual([]);
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
    const r = await run('/bin/sh', ['-c', `echo x > ${root}/f; echo y > ${H}/other/g`], {
      argv0: MARK,
      sandbox: { writableRoots: [root], tmp: 'none' },
    });
    expect(r.code).toBe(2); // the second write fails
    await check();
  });

  it('after the command is killed', async () => {
    const c = spawn('/bin/sh', ['-c', `touch ${root}/started; sleep ${SLEEP}`], {
      argv0: MARK,
      sandbox: { writableRoots: [root], tmp: 'none' },
    });
    for (let i = 0; i < 200 && !fs.existsSync(path.join(root, 'started')); i++) await new Promise((r) => setTimeout(r, 10));
    c.kill('SIGKILL');
    await new Promise((res) => c.on('close', res));
    await check();
  });

  it('after the Node parent is killed, with background processes inside', async () => {
    const parent = cpSpawn(
      process.execPath,
      [
        '-e',
        `
      const c = require(${JSON.stringify(path.join(repoRoot, 'dist'))}).spawn('/bin/sh', ['-c', 'sleep ${SLEEP} & sleep ${SLEEP} & touch ${root}/bg; wait'], { argv0: '${MARK}', sandbox: { writableRoots: [${JSON.stringify(root)}], tmp: 'none' } });
      c.on('spawn', () => console.log(c.pid));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const helperPid = Number(await new Promise<string>((res) => parent.stdout!.once('data', (d) => res(String(d)))));
    for (let i = 0; i < 200 && !fs.existsSync(path.join(root, 'bg')); i++) await new Promise((r) => setTimeout(r, 10));
    const inside = () => ours().filter((p) => Number(p) !== parent.pid); // the parent's own command line names the markers
    for (let i = 0; i < 100 && inside().length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    const seen = inside().length;
    parent.kill('SIGKILL');
    expect(seen).toBe(3); // the shell and its two sleeps
    await new Promise((res) => parent.on('exit', res));
    await check();
    for (let i = 0; i < 100 && fs.existsSync(`/proc/${helperPid}`); i++) await new Promise((r) => setTimeout(r, 20));
    expect(fs.existsSync(`/proc/${helperPid}`)).toBe(false);
  });
});
