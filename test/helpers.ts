// Shared test fixtures: temp trees readable by every user, a snapshot of a
// tree to prove the host is unchanged, and a probe that runs Node inside the
// sandbox and reports the errno code of each filesystem operation.
import fs from 'fs';
import os from 'os';
import path from 'path';
import { run, SpawnOptions, RunResult } from '../lib';

export const repoRoot = path.join(__dirname, '..');

/** A fresh directory under /tmp, mode 0755, owned by the test user. */
export function tempDir(prefix = 'sbx-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return fs.realpathSync(dir);
}

/** A temp dir H holding two empty sibling roots A and B on one filesystem. */
export function twoRoots(): { H: string; A: string; B: string } {
  const H = tempDir();
  const A = path.join(H, 'a');
  const B = path.join(H, 'b');
  fs.mkdirSync(A);
  fs.mkdirSync(B);
  return { H, A, B };
}

export function rmTree(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Every entry under `dir` with type, mode, owner, size, mtime, link count and inode: any change shows. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    out[path.relative(dir, p) || '.'] = [st.mode, st.uid, st.gid, st.size, st.mtimeMs, st.nlink, st.ino].join(':');
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
  };
  walk(dir);
  return out;
}

export function sh(script: string, sandbox: SpawnOptions['sandbox'], opts: SpawnOptions = {}): Promise<RunResult> {
  return run('/bin/sh', ['-c', script], { ...opts, sandbox });
}

/**
 * Runs `ops` (JS source of an array of [label, () => void]) in Node inside the
 * sandbox and returns label -> 'ok' | error code, e.g. { link: 'EXDEV' }.
 */
export async function probe(ops: string, sandbox: SpawnOptions['sandbox'], opts: SpawnOptions = {}): Promise<Record<string, string>> {
  const src = `
    const fs = require('fs');
    const sbx = require(${JSON.stringify(path.join(repoRoot, 'dist'))});
    const native = require(${JSON.stringify(path.join(repoRoot, 'dist', 'native'))}).native().binding;
    const rename2 = (a, b, flags) => { const e = native.renameat2(a, b, flags); if (e) { const err = new Error('renameat2'); err.code = require('os').constants.errno && Object.entries(require('os').constants.errno).find(([, n]) => n === e)[0]; throw err; } };
    const out = {};
    for (const [label, fn] of ${ops}) {
      try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); }
    }
    process.stdout.write(JSON.stringify(out));`;
  const r = await run(process.execPath, ['-e', src], { ...opts, sandbox });
  if (r.code !== 0) throw new Error(`probe failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export const isRoot = process.getuid?.() === 0;
export const userLabel = isRoot ? 'root' : `uid ${process.getuid?.()}`;

/** bubblewrap, when installed: the baseline with one bind per root that real tools are compared against. */
export function bwrapPath(): string | undefined {
  for (const p of ['/usr/bin/bwrap', '/usr/local/bin/bwrap']) if (fs.existsSync(p)) return p;
  return undefined;
}

/** Runs a shell script under bwrap with a separate bind per writable root (Codex's and sandbox-runtime's layout). */
export function bwrapSh(
  script: string,
  roots: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): { status: number | null; stdout: string; stderr: string } {
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const args = [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--unshare-user',
    '--unshare-pid',
    '--unshare-net',
    '--die-with-parent',
  ];
  for (const r of roots) args.push('--bind', r, r);
  args.push('--chdir', cwd, '/bin/sh', '-c', script);
  const r = spawnSync(bwrapPath()!, args, { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Processes whose cmdline carries `marker`, and sandbox helpers whose cwd is under `cwd`: what a test left running. */
export function leftovers(cwd: string, marker: string): string[] {
  // Helpers started from `cwd` (the monitor keeps it; init works from /, so
  // it is found as the monitor's child), and anything running the marker.
  const procs = new Map<string, { cmd: string; ppid: string }>();
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      procs.set(p, { cmd: fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'), ppid: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] });
    } catch {
      /* gone, or not ours */
    }
  }
  const found = new Set<string>();
  for (const [p, { cmd }] of procs) {
    try {
      if (cmd.includes(marker) || (cmd.startsWith('sbx-helper') && fs.readlinkSync(`/proc/${p}/cwd`).startsWith(cwd))) found.add(p);
    } catch {
      /* gone */
    }
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, { cmd, ppid }] of procs) {
      if (!found.has(p) && found.has(ppid) && cmd.startsWith('sbx-helper')) {
        found.add(p);
        grew = true;
      }
    }
  }
  return [...found].map((p) => `${p} ${procs.get(p)!.cmd}`);
}
