// Shared pieces of the attack suite: a fixture tree with a shared ancestor, a
// Python runner that makes raw syscalls inside the sandbox and reports errno
// names, and host-side checks that nothing changed.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { run, SpawnOptions, RunResult } from '../../lib';
import { SYSCALLS, hostSeccompArch } from '../../lib/seccomp';
import { expect } from 'vitest';
import { repoRoot, rmTree, snapshot, tempDir } from '../helpers';

export const PY = '/usr/bin/python3'; // /root (and so pyenv shims) is not readable by nobody
export const arch = hostSeccompArch();
export const NR = SYSCALLS[arch];
export const j = (x: unknown) => JSON.stringify(x);

/**
 * H/                    shared ancestor (in the read-write mount)
 *   sibling             sealed file next to the chain
 *   sibdir/inner        sealed directory
 *   .cache/             chain directory
 *     cache/            root 1
 *   repo/               root 2
 * O/secret              another tree (a different directory under /tmp, read-only)
 */
export interface Fixture {
  H: string;
  O: string;
  repo: string;
  cache: string;
  sandbox: SpawnOptions['sandbox'];
  /** Snapshots of H and O and the host's mount table. */
  state(): unknown;
  cleanup(): void;
}

export function fixture(): Fixture {
  const H = tempDir('sbx-sec-');
  const O = tempDir('sbx-sec-other-');
  const repo = path.join(H, 'repo');
  const cache = path.join(H, '.cache', 'cache');
  fs.mkdirSync(repo);
  fs.mkdirSync(cache, { recursive: true });
  fs.chmodSync(path.join(H, '.cache'), 0o755);
  fs.writeFileSync(path.join(H, 'sibling'), 'sibling');
  fs.mkdirSync(path.join(H, 'sibdir'));
  fs.writeFileSync(path.join(H, 'sibdir', 'inner'), 'inner');
  fs.writeFileSync(path.join(O, 'secret'), 'secret');
  fs.writeFileSync(path.join(repo, 'mine'), 'mine');
  fs.writeFileSync(path.join(cache, 'blob'), 'blob');
  return {
    H,
    O,
    repo,
    cache,
    sandbox: { writableRoots: [repo, cache], tmp: 'none' },
    // The roots' own entries change (mtime) when an attack makes and removes
    // its tools there; everything else, including what is inside them, must not.
    state: () => {
      const h = snapshot(H);
      delete h.repo;
      delete h['.cache/cache'];
      return { H: h, O: snapshot(O), mounts: hostMounts() };
    },
    cleanup: () => {
      rmTree(H);
      rmTree(O);
    },
  };
}

/** The host's mount table as this process sees it (ids and options; no counters). */
export function hostMounts(): string {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8');
}

/**
 * Python prelude: `sc(name_or_nr, *args)` makes a raw syscall and returns 'ok'
 * (or the result with ret=True) or the errno name; `attempt(fn)` returns 'ok'
 * or the errno name of an OSError; `out` is printed as JSON at the end.
 */
export function pyPrelude(): string {
  return `
import ctypes, errno, json, os, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = json.loads(${j(j(NR))})
def sc(nr, *args, ret=False):
    nr = NR[nr] if isinstance(nr, str) else nr
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_ulong(a & 0xffffffffffffffff) if isinstance(a, int) else a for a in args])
    if r < 0: return errno.errorcode[ctypes.get_errno()]
    return r if ret else 'ok'
def attempt(fn):
    try:
        r = fn()
        return 'ok' if r is None or not isinstance(r, str) else r
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
out = {}
`;
}

/** Runs Python `body` (after the prelude) in the sandbox; it fills `out`, printed as JSON. */
export async function py(body: string, sandbox: SpawnOptions['sandbox'], opts: SpawnOptions = {}): Promise<Record<string, unknown>> {
  const src = `${pyPrelude()}\n${body}\nsys.stdout.write(json.dumps(out))\n`;
  const r = await run(PY, ['-c', src], { ...opts, sandbox });
  if (r.code !== 0) throw new Error(`python failed (${r.code} ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Runs Python `body` and returns the raw result (for attacks that end in a signal). */
export function pyRaw(body: string, sandbox: SpawnOptions['sandbox'], opts: SpawnOptions = {}): Promise<RunResult> {
  return run(PY, ['-c', `${pyPrelude()}\n${body}\n`], { ...opts, sandbox });
}

/**
 * Runs `script` (a Python file's text) in the sandbox on a pseudo-terminal
 * (script -qc gives one), so fds 0-2 are a tty; returns what it printed.
 */
export function onPty(script: string, sandbox: SpawnOptions['sandbox']): string {
  const dir = tempDir('sbx-sec-pty-');
  try {
    const file = path.join(dir, 't.py');
    fs.writeFileSync(file, `${pyPrelude()}\n${script}\nsys.stdout.write('\\nRESULT ' + json.dumps(out) + '\\n')\n`);
    fs.chmodSync(file, 0o644);
    const runner = `require(${j(path.join(repoRoot, 'dist'))}).spawn(${j(PY)}, [${j(file)}], { stdio: 'inherit', sandbox: ${j(sandbox)} })`;
    return execFileSync('script', ['-qc', `${process.execPath} -e "${runner.replace(/"/g, '\\"')}"`, '/dev/null'], { encoding: 'utf8' });
  } finally {
    rmTree(dir);
  }
}

export function ptyResult(output: string): Record<string, unknown> {
  const line = output
    .replace(/\r/g, '')
    .split('\n')
    .find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no result in: ${output}`);
  return JSON.parse(line.slice(7));
}

/** Runs Python `body` in the fixture's sandbox from its repo and checks the host tree did not change. */
export function attacker(f: () => Fixture): (body: string) => Promise<Record<string, unknown>> {
  return async (body: string) => {
    const fx = f();
    const before = fx.state();
    const out = await py(body, fx.sandbox, { cwd: fx.repo });
    expect(fx.state()).toEqual(before);
    return out;
  };
}
