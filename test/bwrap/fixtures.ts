// The bwrap front end's test fixtures: the argv shapes Codex 0.171 and
// sandbox-runtime 0.0.83 emit (captured in docs/bwrap.md), the installed
// front end and how to run it. Shared by test/bwrap-args, -run and -compare.
import { spawnSync, SpawnSyncOptions } from 'child_process';
import path from 'path';
import { repoRoot, tempDir } from '../helpers';

export const cli = path.join(repoRoot, 'bin', 'sbx-native.js');

/** `sbx-native bwrap --install DIR` into a new temp dir, as clients run the front end. */
export function installFrontEnd(prefix: string) {
  const binDir = tempDir(prefix);
  const installed = spawnSync(process.execPath, [cli, 'bwrap', '--install', binDir], { encoding: 'utf8' });
  return { binDir, installed, shim: path.join(binDir, 'bwrap') };
}

export interface BwrapResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a bwrap (the installed front end or real bubblewrap) to its end. */
export function runBwrap(bwrap: string, args: string[], opts: SpawnSyncOptions = {}): BwrapResult {
  const r = spawnSync(bwrap, args, { encoding: 'utf8', timeout: 30_000, ...opts });
  return { code: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Codex's mask of a protected name under root R: an empty tmpfs, remounted read-only. */
export function codexProtect(R: string, names: string[], perms = '555'): string[] {
  return names.flatMap((n) => ['--perms', perms, '--tmpfs', `${R}/${n}`, '--remount-ro', `${R}/${n}`]);
}

export interface CodexShape {
  /** Protected names masked at the top of each root (Codex 0.171: .codex and .agents). */
  protect?: string[];
  /** Options before the roots (Codex masks its daemon's socket directory there). */
  beforeRoots?: string[];
  /** Options after each root's masks (per root). */
  afterRoot?: (R: string) => string[];
  /** Options after all the roots. */
  extra?: string[];
  /** --argv0 codex-linux-sandbox (bubblewrap 0.8 lacks it: Codex then leaves it out). */
  argv0?: boolean;
}

/** Codex 0.171's workspace-write argv for the given roots, network off, up to and including `--`. */
export function codexArgv(roots: string[], shape: CodexShape = {}): string[] {
  const names = shape.protect ?? ['.codex', '.agents'];
  return [
    '--as-pid-1',
    '--new-session',
    '--die-with-parent',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    ...(shape.beforeRoots ?? []),
    ...roots.flatMap((R) => ['--bind', R, R, ...codexProtect(R, names), ...(shape.afterRoot?.(R) ?? [])]),
    ...(shape.extra ?? []),
    ...CODEX_TAIL,
    ...(shape.argv0 === false ? [] : ['--argv0', 'codex-linux-sandbox']),
    '--',
  ];
}

/** The namespace and capability options every Codex argv ends with. */
export const CODEX_TAIL = ['--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-net', '--proc', '/proc', '--cap-drop', 'ALL'];

/** Codex's preflight: an empty root with the system directories bound read-only (and `binds`), up to and including `--`. */
export function preflightArgv(binds: string[] = [], asPid1 = true): string[] {
  return [
    ...(asPid1 ? ['--as-pid-1'] : []),
    '--new-session',
    '--die-with-parent',
    '--tmpfs',
    '/',
    '--dev',
    '/dev',
    ...['/bin', '/etc', '/lib', '/lib64', '/sbin', '/usr', ...binds].flatMap((d) => ['--ro-bind', d, d]),
    ...CODEX_TAIL,
    '--',
  ];
}

/** sandbox-runtime 0.0.83's argv for roots A and B (without `--`): /dev/null masks on A's .gitconfig and .bashrc. */
export function srtArgv(A: string, B: string, opts: { socket?: string; setenv?: [string, string][]; unsetenv?: string[] } = {}): string[] {
  return [
    '--new-session',
    '--die-with-parent',
    '--unshare-net',
    ...(opts.socket ? ['--bind', opts.socket, opts.socket] : []),
    ...(opts.setenv ?? [['SANDBOX_RUNTIME', '1']]).flatMap(([k, v]) => ['--setenv', k, v]),
    '--ro-bind',
    '/',
    '/',
    '--bind',
    A,
    A,
    '--bind',
    B,
    B,
    '--ro-bind',
    '/dev/null',
    `${A}/.gitconfig`,
    '--ro-bind',
    '/dev/null',
    `${A}/.bashrc`,
    '--dev',
    '/dev',
    '--unshare-pid',
    '--unshare-user',
    '--cap-drop',
    'ALL',
    '--proc',
    '/proc',
    ...(opts.unsetenv ?? []).flatMap((k) => ['--unsetenv', k]),
  ];
}
