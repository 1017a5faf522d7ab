// A symlink swapped during setup (docs/threat-model.md, path escapes): while
// sandboxes are being set up in a loop, another process swaps the writable
// root's parent directory H/p with a symlink to a directory outside the roots
// (H/outside, which has a `root` subdirectory too, so the path resolves either
// way), with atomic renameat2(RENAME_EXCHANGE). No write may ever land
// outside: each run either works on the real directory or fails closed
// (SBX_SETUP_FAILED), and H/outside stays unchanged.
//
// The helper opens every plan path with openat2(RESOLVE_NO_SYMLINKS) and
// checks the inode the planner recorded, then works on the fd: a parent
// swapped for a symlink (ELOOP) or for another directory (ESTALE) after
// prepare() fails the setup instead of moving the root's rights.
import { spawn as cpSpawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare, SandboxedProcess, SETUP_FAILED } from '../lib';
import { repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';

const DURATION_MS = 8000;
const PARALLEL = 4;

describe(`symlink swap during setup (as ${userLabel})`, () => {
  let H: string, p: string, alt: string, outside: string, realRoot: string;
  beforeAll(() => {
    H = tempDir('sbx-swap-');
    p = path.join(H, 'p');
    alt = path.join(H, 'p-alt');
    outside = path.join(H, 'outside');
    fs.mkdirSync(path.join(p, 'root'), { recursive: true });
    fs.mkdirSync(path.join(outside, 'root'), { recursive: true });
    fs.writeFileSync(path.join(outside, 'root', 'keep'), 'outside\n');
    fs.symlinkSync(outside, alt);
    realRoot = path.join(p, 'root');
  });
  afterAll(() => rmTree(H));

  it('deterministic: H/p swapped for the symlink between prepare() and setup: refused, nothing written outside', async () => {
    const before = snapshot(outside);
    const b = require(path.join(repoRoot, 'dist', 'native')).native().binding;
    const prepared = prepare('/bin/sh', ['-c', `echo x > ${outside}/root/escaped`], {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin' },
      sandbox: { writableRoots: [realRoot], tmp: 'none' },
    });
    expect(b.renameat2(p, alt, 2)).toBe(0); // H/p is now the symlink to H/outside
    try {
      const child = new SandboxedProcess(prepared, { stdio: 'ignore' });
      const r = await new Promise<any>((res) => {
        child.on('error', (err) => res({ err }));
        child.on('exit', (code) => res({ code }));
      });
      expect(snapshot(outside)).toEqual(before);
      expect(r.err?.code ?? r.code).toBe(SETUP_FAILED); // or a command that could not write (then relax this)
    } finally {
      expect(b.renameat2(p, alt, 2)).toBe(0);
      fs.rmSync(path.join(outside, 'root', 'escaped'), { force: true });
    }
  });

  it('deterministic: H/p swapped for another real directory: refused with ESTALE, nothing written there', async () => {
    const other = path.join(H, 'other');
    fs.mkdirSync(path.join(other, 'root'), { recursive: true });
    const before = snapshot(other);
    const b = require(path.join(repoRoot, 'dist', 'native')).native().binding;
    const prepared = prepare('/bin/sh', ['-c', `echo x > ${realRoot}/escaped`], {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin' },
      sandbox: { writableRoots: [realRoot], tmp: 'none' },
    });
    expect(b.renameat2(p, other, 2)).toBe(0); // H/p/root is now the other directory's root
    try {
      const child = new SandboxedProcess(prepared, { stdio: 'ignore' });
      const err = await new Promise<any>((res) => {
        child.on('error', res);
        child.on('exit', () => res(undefined));
      });
      expect(err).toMatchObject({ code: SETUP_FAILED, step: 'clone_tree', errno: -116 }); // ESTALE
      expect(err.syscall).toMatch(/path changed since the plan was made/);
    } finally {
      expect(b.renameat2(p, other, 2)).toBe(0);
    }
    expect(snapshot(other)).toEqual(before);
    rmTree(other);
  });

  it('race: writes land only in the real root, or setup fails closed', async () => {
    const before = snapshot(outside);
    const realIno = fs.statSync(p).ino; // the real directory, whichever name it has
    // The swapper: exchanges H/p and H/p-alt as fast as it can.
    const swapper = cpSpawn(
      process.execPath,
      [
        '-e',
        `
      const b = require(${JSON.stringify(path.join(repoRoot, 'dist', 'native'))}).native().binding;
      const end = Date.now() + ${DURATION_MS + 2000};
      let n = 0;
      while (Date.now() < end) { const e = b.renameat2(${JSON.stringify(p)}, ${JSON.stringify(alt)}, 2 /* RENAME_EXCHANGE */); if (e) { console.error('renameat2', e); process.exit(1); } n++; }
      console.log(n);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let swaps = '';
    swapper.stdout!.on('data', (d) => {
      swaps += d;
    });
    const swapperDone = new Promise<number | null>((res) => swapper.on('exit', res));

    const outcomes = { ran: 0, setupFailed: 0, skipped: 0, commandFailed: 0 };
    const other: string[] = [];
    const expectFiles: string[] = [];
    let n = 0;
    const end = Date.now() + DURATION_MS;
    const worker = async () => {
      while (Date.now() < end) {
        const id = n++;
        // Each file is named by the run; a write that lands in H/outside shows in its snapshot.
        const script = `for t in 1 2 3 4 5; do echo ${id} > ${realRoot}/f-${id}-$t 2>/dev/null; done; echo x > ${outside}/root/direct-${id} 2>/dev/null; exit 0`;
        let prepared;
        try {
          prepared = prepare('/bin/sh', ['-c', script], {
            cwd: '/',
            env: { PATH: '/usr/bin:/bin' },
            sandbox: { writableRoots: [realRoot], tmp: 'none' },
          });
        } catch {
          outcomes.skipped++; // H/p vanished mid-realpath: nothing was asked
          continue;
        }
        // Only runs whose policy named the real path (H/p was the directory when the caller resolved it):
        // when H/p was the symlink, the caller itself asked for H/outside/root.
        if (prepared.policy.writableRoots[0] !== realRoot) {
          outcomes.skipped++;
          continue;
        }
        const child = new SandboxedProcess(prepared, { stdio: 'ignore' });
        const result = await new Promise<{ err?: any; code?: number | null }>((res) => {
          child.on('error', (err) => res({ err }));
          child.on('exit', (code) => res({ code }));
        });
        if (result.err) {
          if (result.err.code === SETUP_FAILED) outcomes.setupFailed++;
          else other.push(`#${id}: ${result.err.code} ${result.err.message}`);
        } else if (result.code === 0) {
          outcomes.ran++;
          expectFiles.push(String(id));
        } else {
          outcomes.commandFailed++;
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    expect(await swapperDone).toBe(0);
    // Put the real directory back at H/p.
    if (fs.lstatSync(p).isSymbolicLink()) {
      fs.renameSync(p, path.join(H, 'tmp-link'));
      fs.renameSync(alt, p);
      fs.renameSync(path.join(H, 'tmp-link'), alt);
    }
    expect(fs.statSync(p).ino).toBe(realIno);
    console.log(`swap race: ${Number(swaps)} swaps; ${JSON.stringify(outcomes)}`);

    const escaped = Object.keys(snapshot(outside)).filter((k) => !(k in before));
    console.log(`swap race: ${escaped.length} files landed in H/outside: ${escaped.slice(0, 5).join(', ')}`);
    expect(other).toEqual([]);
    // Nothing landed outside the roots.
    expect(snapshot(outside)).toEqual(before);
    // Every file that exists in the real root was written by a run that started: no stray names.
    for (const f of fs.readdirSync(realRoot)) expect(f).toMatch(/^f-\d+-[1-5]$/);
    // The race is real: runs happened while the swapper ran, and most worked.
    expect(Number(swaps)).toBeGreaterThan(1000);
    expect(outcomes.ran + outcomes.setupFailed + outcomes.commandFailed).toBeGreaterThan(50);
    expect(fs.readdirSync(realRoot).length).toBeGreaterThan(0);
  }, 60000);
});
