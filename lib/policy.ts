// The sandbox policy a caller gives, its validation, and its resolution into
// one list of path rules with precedence. No enforcement decisions here: see
// layout.ts for how rules become mounts, plan.ts for the steps and Landlock rights.
import path from 'path';
import { FsView, realResolver, realView, statOrThrow } from './fsview';
import { cacheGuards, EXTRA_GUARDS, Guard, selfGuards } from './guards';
import { EXTRA_SCRATCH, Scratch } from './scratch';
import { EXTRA_VIEWS, View } from './views';
import { EXTRA_NO_MARKER } from './marker';
import { DataFile, EXTRA_DATA_FILES, MAX_DATA_BYTES } from './data-files';
import { EXTRA_FRESH_NODES, FreshNode } from './fresh-nodes';
import { EXTRA_MOVED_ROOTS, MovedRoot, overlaps } from './moved-roots';
import { isUnder } from './mountinfo';
import { NetworkDomains, ResolvedDomains, resolveDomains } from './proxy/policy';
import { masksAllowed, resolveAllowUnixSockets } from './unix-sockets';
import { DEFAULT_SCAN_BUDGET } from './repository-scan';

export { EXTRA_GUARDS };
export type { Guard, NetworkDomains, ResolvedDomains };

export type Access = 'read' | 'write' | 'none';
export type Mode = 'read-only' | 'workspace-write' | 'full';
export type TmpMode = 'host' | 'private' | 'none';

export interface SandboxPolicy {
  /** 'workspace-write' (default): the writable roots; 'read-only': nothing; 'full': no filesystem restriction. */
  mode?: Mode;
  /** Directories the command may write beneath. Default in workspace-write: the command's cwd (unless `rules` grant writes). */
  writableRoots?: string[];
  /** Paths kept read-only inside writable roots. */
  readOnly?: string[];
  /** Paths that look empty and cannot be written: a directory shows no entries, a file reads as empty. */
  denyRead?: string[];
  /** Path -> access; the most specific path wins; on a tie none beats write beats read. */
  rules?: Record<string, Access>;
  /**
   * Allow network access. Default false: a new network namespace with only
   * loopback. `{ allowedDomains, deniedDomains }`: that namespace plus a proxy
   * that reaches only the names the lists allow (docs/policy.md).
   */
  network?: boolean | NetworkDomains;
  /** 'host' (default in workspace-write): /tmp and $TMPDIR writable; 'private': a fresh /tmp that vanishes; 'none': read-only. */
  tmp?: TmpMode;
  /** Names kept read-only at the top of every writable root (and of $HOME when it is writable), in addition to the defaults. */
  protect?: string[];
  /** Lift the protection of `.git` (the repository model: config and hooks read-only, no new repository; docs/policy.md). */
  allowGitWrites?: boolean;
  /**
   * Pathname unix sockets the command may connect or send datagrams to (a
   * directory allows the sockets below it). Any other socket the sandbox did
   * not bind itself is refused with EACCES, whatever `network` says.
   */
  allowUnixSockets?: string[];
  /**
   * Entries the walk of the writable roots for nested repositories reads at
   * most per spawn, all roots together (default DEFAULT_SCAN_BUDGET; docs/policy.md).
   * A root whose walk passes it is named in `child.enforcement.notScanned`.
   */
  repositoryScanBudget?: number;
  /** Refuse to start when a writable root's walk for nested repositories did not cover it all (fail closed). */
  requireRepositoryScan?: boolean;
}

/** Names protected by default (Codex's and sandbox-runtime's lists, and the config names the CLI discovers). */
export const DEFAULT_PROTECT = [
  '.git',
  '.codex',
  '.agents',
  '.bashrc',
  '.bash_profile',
  '.zshrc',
  '.zprofile',
  '.profile',
  '.gitconfig',
  '.gitmodules',
  '.mcp.json',
  '.vscode',
  '.idea',
  '.claude/commands',
  '.claude/agents',
  '.sbx-native.json',
  'sbx-native.json',
];

export interface Rule {
  path: string; // resolved, absolute
  access: Access;
  /** Where the rule came from, for messages and --dry-run. */
  from: string;
}

export interface ResolvedPolicy {
  mode: Mode;
  /** After precedence: one rule per path, sorted by path. */
  rules: Rule[];
  writableRoots: string[];
  /** Writable roots that did not exist: reported, not created, not fatal. */
  missingRoots: string[];
  /** Whether the command shares the host's network (false with domain lists: they go through the proxy). */
  network: boolean;
  /** The domain lists when `network` gave them: the command reaches the network only through its proxy. */
  domains?: ResolvedDomains;
  tmp: TmpMode;
  protect: string[];
  /** $HOME, resolved: its dotfiles are protected too when it is writable. */
  home: string | undefined;
  /**
   * uv's caches (the command's UV_CACHE_DIR, else $XDG_CACHE_HOME/uv or
   * ~/.cache/uv; logical paths): uv makes an empty `.git` marker in their
   * sdists bucket, which is the one new `.git` a command may make (layout.ts).
   */
  gitMarkerDirs: string[];
  /** Paths kept read-only in the sandbox wherever they fall in a writable area (empty in mode 'full'). */
  guards: Guard[];
  /** Unix sockets (or directories of them) the command may reach besides its own, resolved (unix-sockets.ts). */
  allowUnixSockets: string[];
  /** The walk for the repositories below the roots' tops (lib/repository-scan.ts): its budget of entries, and whether a root it did not cover refuses the spawn. */
  repositoryScan: { budget: number; required: boolean };
  /** Private tmpfs directories (bubblewrap's `--tmpfs P`, lib/scratch.ts): writable, empty, gone with the sandbox. */
  scratch: Scratch[];
  /** Read-only views of one path at another (bubblewrap's `--ro-bind SRC DEST`, lib/views.ts), mounted after the layout. */
  views: View[];
  /** Private files of given data bound over existing paths (bubblewrap's `--bind-data`/`--ro-bind-data`, lib/data-files.ts). */
  dataFiles: DataFile[];
  /** Nodes made inside a fresh tmpfs once it is mounted (bubblewrap's `--dir`/`--file`/`--symlink` there, lib/fresh-nodes.ts). */
  freshNodes: FreshNode[];
  /** Writable roots showing the host's SRC at DEST (bubblewrap's `--bind SRC DEST`, lib/moved-roots.ts); each DEST is also a write rule. */
  movedRoots: MovedRoot[];
  /** Set by the bwrap front end after --clearenv: the command's environment gets no SBX_NATIVE_SANDBOX (lib/marker.ts). */
  noMarker?: true;
}

export class PolicyError extends Error {
  code = 'SBX_INVALID_POLICY';
  constructor(
    public key: string,
    public value: unknown,
    reason: string,
  ) {
    super(`invalid sandbox policy: ${key} = ${JSON.stringify(value)}: ${reason}`);
    this.name = 'PolicyError';
  }
}

const KEYS: Record<keyof SandboxPolicy, string> = {
  mode: 'string',
  writableRoots: 'array',
  readOnly: 'array',
  denyRead: 'array',
  rules: 'object',
  network: 'network',
  tmp: 'string',
  protect: 'array',
  allowGitWrites: 'boolean',
  allowUnixSockets: 'array',
  repositoryScanBudget: 'number',
  requireRepositoryScan: 'boolean',
};
const RANK: Record<Access, number> = { read: 0, write: 1, none: 2 };

export function checkPath(key: string, p: unknown): string {
  if (typeof p !== 'string') throw new PolicyError(key, p, 'expected a string path');
  if (p === '') throw new PolicyError(key, p, 'empty path');
  if (p.includes('\0')) throw new PolicyError(key, p, 'path contains a NUL byte');
  if (!path.isAbsolute(p)) throw new PolicyError(key, p, 'path must be absolute');
  if (Buffer.byteLength(p) >= 4096) throw new PolicyError(key, `${p.slice(0, 40)}...`, 'path longer than PATH_MAX');
  // Not normalized: `a/link/../b` must mean what the kernel makes of it (realpath resolves it).
  return p;
}

function checkTypes(p: SandboxPolicy): void {
  for (const [key, value] of Object.entries(p)) {
    const want = Object.prototype.hasOwnProperty.call(KEYS, key) ? KEYS[key as keyof SandboxPolicy] : undefined;
    if (!want) throw new PolicyError(key, value, `unknown key (known: ${Object.keys(KEYS).join(', ')})`);
    if (value === undefined) continue;
    const isObj = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (want === 'network') {
      if (typeof value !== 'boolean' && !isObj)
        throw new PolicyError(key, value, 'expected true, false or { allowedDomains, deniedDomains }');
      continue;
    }
    const ok =
      want === 'array'
        ? Array.isArray(value)
        : want === 'object'
          ? typeof value === 'object' && value !== null && !Array.isArray(value)
          : typeof value === want;
    if (!ok) throw new PolicyError(key, value, `expected ${want === 'array' ? 'an array' : want === 'object' ? 'an object' : `a ${want}`}`);
  }
  const b = p.repositoryScanBudget;
  if (b !== undefined && !(Number.isSafeInteger(b) && b >= 0))
    throw new PolicyError('repositoryScanBudget', b, 'expected a whole number of entries >= 0 (0: no walk)');
  if (p.mode !== undefined && !['read-only', 'workspace-write', 'full'].includes(p.mode)) {
    throw new PolicyError('mode', p.mode, "expected 'read-only', 'workspace-write' or 'full'");
  }
  if (p.tmp !== undefined && !['host', 'private', 'none'].includes(p.tmp))
    throw new PolicyError('tmp', p.tmp, "expected 'host', 'private' or 'none'");
  for (const [k, v] of Object.entries(p.rules ?? {})) {
    if (!['read', 'write', 'none'].includes(v as string))
      throw new PolicyError(`rules[${JSON.stringify(k)}]`, v, "expected 'read', 'write' or 'none'");
  }
  (p.protect ?? []).forEach((n, i) => {
    if (typeof n !== 'string' || n === '' || n.includes('\0') || path.isAbsolute(n) || n.split('/').includes('..')) {
      throw new PolicyError(`protect[${i}]`, n, 'expected a relative name inside a root, without ..');
    }
  });
}

/** `env`: the command's environment; `view`: where the host is read (fsview.ts). */
export function resolvePolicy(
  policy: SandboxPolicy | undefined,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
  view: FsView = realView,
): ResolvedPolicy {
  // Resolves symlinks in an existing path; undefined when it does not exist.
  const real = realResolver(view);
  const p = policy ?? {};
  if (typeof p !== 'object' || Array.isArray(p) || p === null) throw new PolicyError('sandbox', p, 'expected an object');
  checkTypes(p);
  const mode = p.mode ?? 'workspace-write';
  if (mode === 'read-only' && p.writableRoots?.length) {
    throw new PolicyError('writableRoots', p.writableRoots, "writable roots contradict mode 'read-only'");
  }
  for (const [k, v] of Object.entries(p.rules ?? {})) {
    if (mode === 'read-only' && v === 'write')
      throw new PolicyError(`rules[${JSON.stringify(k)}]`, v, "write rules contradict mode 'read-only'");
  }
  if (mode === 'full') refuseIgnoredInFull(p);
  const tmp = p.tmp ?? (mode === 'workspace-write' ? 'host' : 'none');
  const missingRoots: string[] = [];
  const given: Rule[] = [];
  const addAll = (key: string, list: unknown[] | undefined, access: Access) => {
    (list ?? []).forEach((x, i) => given.push({ path: checkPath(`${key}[${i}]`, x), access, from: key }));
  };
  const ruleWrites = Object.values(p.rules ?? {}).includes('write');
  addAll('writableRoots', mode === 'workspace-write' ? (p.writableRoots ?? (ruleWrites ? [] : [cwd])) : [], 'write');
  addAll('readOnly', p.readOnly, 'read');
  addAll('denyRead', p.denyRead, 'none');
  for (const [k, v] of Object.entries(p.rules ?? {}))
    given.push({ path: checkPath(`rules[${JSON.stringify(k)}]`, k), access: v, from: 'rules' });
  if (tmp === 'host') {
    given.push({ path: '/tmp', access: 'write', from: 'tmp' });
    // $TMPDIR=/ (seen in broken environments) must not make everything writable.
    if (env.TMPDIR && path.isAbsolute(env.TMPDIR) && real(env.TMPDIR) !== '/')
      given.push({ path: env.TMPDIR, access: 'write', from: 'tmp' });
  }

  const domains = typeof p.network === 'object' ? resolveDomains(p.network as Record<string, unknown>) : undefined;
  if (domains && 'reason' in domains) throw new PolicyError(domains.key, domains.value, domains.reason);
  if (domains && mode === 'full')
    throw new PolicyError(
      'network',
      p.network,
      "mode 'full' shares the host's network, so domain lists cannot be enforced; use mode 'workspace-write' or 'read-only'",
    );
  const network = p.network === true;
  const allowUnixSockets = resolveAllowUnixSockets(
    (p.allowUnixSockets ?? []).map((x, i) => checkPath(`allowUnixSockets[${i}]`, x)),
    view,
  );
  if (!network && mode !== 'full') {
    for (const d of daemonSockets(env, view))
      if (!masksAllowed(d, allowUnixSockets)) given.push({ path: d, access: 'none', from: 'network-off' });
  }

  // Resolve symlinks so rules name the inodes the kernel will see.
  const byPath = new Map<string, Rule>();
  // Carve-outs in /dev/shm exist only inside the writable roots placed there.
  const shmRoots = given
    .filter((r) => r.access === 'write')
    .map((r) => real(r.path))
    .filter((p): p is string => p !== undefined && isUnderAny(p, ['/dev/shm']));
  for (const r of given) {
    const resolved = real(r.path);
    if (resolved === undefined) {
      if (r.access === 'write' && r.from !== 'tmp') missingRoots.push(r.path);
      continue; // nothing there to protect or hide
    }
    if (r.access === 'write' && !statOrThrow(view, resolved).isDirectory()) {
      throw new PolicyError(
        r.from === 'rules' ? `rules[${JSON.stringify(r.path)}]` : r.from,
        r.path,
        'not a directory (a writable root must be a directory)',
      );
    }
    if (r.access === 'write' && isUnderAny(resolved, ['/proc', '/dev']) && !isUnderAny(resolved, ['/dev/shm'])) {
      throw new PolicyError(
        r.from === 'rules' ? `rules[${JSON.stringify(r.path)}]` : r.from,
        r.path,
        'a writable root under /proc or /dev must be in /dev/shm: the sandbox gets its own /proc and a minimal /dev',
      );
    }
    if (r.access !== 'write' && isUnderAny(resolved, ['/proc', '/dev']) && !isUnderAny(resolved, shmRoots)) {
      if (r.from === 'network-off') continue;
      throw new PolicyError(
        r.from === 'rules' ? `rules[${JSON.stringify(r.path)}]` : r.from,
        r.path,
        'paths under /proc and /dev cannot be carved out (except inside a writable root in /dev/shm): the sandbox gets its own /proc and a minimal /dev',
      );
    }
    const prev = byPath.get(resolved);
    if (!prev || RANK[r.access] > RANK[prev.access]) byPath.set(resolved, { ...r, path: resolved });
  }
  const rules = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  const protect = [...new Set([...DEFAULT_PROTECT, ...(p.protect ?? [])])].filter((n) => !(p.allowGitWrites && n === '.git'));
  const home = env.HOME && path.isAbsolute(env.HOME) ? real(env.HOME) : undefined;
  const extra = (p as { [EXTRA_GUARDS]?: Guard[] })[EXTRA_GUARDS] ?? [];
  const views = resolveViews((p as { [EXTRA_VIEWS]?: View[] })[EXTRA_VIEWS] ?? [], mode, real);
  const scratch = resolveScratch((p as { [EXTRA_SCRATCH]?: Scratch[] })[EXTRA_SCRATCH] ?? [], mode, real, view);
  const fresh = [...(tmp === 'private' ? ['/tmp'] : []), ...scratch.map((s) => s.path)];
  const dataFiles = resolveDataFiles((p as { [EXTRA_DATA_FILES]?: DataFile[] })[EXTRA_DATA_FILES] ?? [], mode, real, view, fresh);
  const freshNodes = resolveFreshNodes((p as { [EXTRA_FRESH_NODES]?: FreshNode[] })[EXTRA_FRESH_NODES] ?? [], fresh);
  const movedRoots = resolveMovedRoots((p as { [EXTRA_MOVED_ROOTS]?: MovedRoot[] })[EXTRA_MOVED_ROOTS] ?? [], mode, rules, fresh, view);
  const abs = (v: string | undefined) => (v && path.isAbsolute(v) ? v : undefined);
  const cacheHome = abs(env.XDG_CACHE_HOME) ?? (abs(env.HOME) && path.join(env.HOME!, '.cache'));
  const gitMarkerDirs = [...new Set([abs(env.UV_CACHE_DIR), cacheHome && path.join(cacheHome, 'uv')].filter((d): d is string => !!d))];
  return {
    mode,
    rules,
    missingRoots,
    network,
    ...(domains ? { domains } : {}),
    tmp,
    protect: mode === 'workspace-write' ? protect : [],
    home,
    gitMarkerDirs,
    writableRoots: rules.filter((r) => r.access === 'write').map((r) => r.path),
    guards: mode === 'full' ? [] : [...selfGuards(cwd, view), ...cacheGuards(env, view), ...extra],
    allowUnixSockets,
    repositoryScan: { budget: p.repositoryScanBudget ?? DEFAULT_SCAN_BUDGET, required: !!p.requireRepositoryScan },
    scratch,
    views,
    dataFiles,
    freshNodes,
    movedRoots,
    ...((p as { [EXTRA_NO_MARKER]?: boolean })[EXTRA_NO_MARKER] ? { noMarker: true as const } : {}),
  };
}

/**
 * Each DEST an existing directory with a write rule of its own, each SRC a
 * directory; no moved root shares inodes with another writable area (by path
 * or through a bind mount on the host): its protections are decided at DEST
 * only, and the Landlock rule on SRC's inode would grant writes through every
 * other writable path reaching it. The view is already movedView's.
 */
function resolveMovedRoots(list: MovedRoot[], mode: Mode, rules: Rule[], fresh: string[], view: FsView): MovedRoot[] {
  noMountLayer(
    mode,
    'movedRoots',
    list.map((m) => m.dest),
  );
  if (!list.length) return [];
  const mounts = view.mounts();
  const writes = rules.filter((r) => r.access === 'write').map((r) => r.path);
  list.forEach((m, i) => {
    const st = view.lstat(m.src);
    if (!path.isAbsolute(m.src) || !st?.isDirectory() || list.some((o) => isUnder(m.src, o.dest)))
      throw new PolicyError('movedRoots', m.src, 'the source must be a directory of the host, outside every destination');
    // Its tree is the host's: a /proc or /dev there (or SRC inside one) would be the host's, not the sandbox's own.
    if (
      ((isUnder(m.src, '/proc') || isUnder(m.src, '/dev')) && !isUnder(m.src, '/dev/shm')) ||
      isUnder('/proc', m.src) ||
      isUnder('/dev', m.src)
    )
      throw new PolicyError('movedRoots', m.src, 'the source must not hold or lie in /proc or /dev: the sandbox shows only its own');
    if (!writes.includes(m.dest)) throw new PolicyError('movedRoots', m.dest, 'the destination must be a writable root (a write rule)');
    if (m.dest === '/' || ['/proc', '/dev', ...fresh].some((d) => isUnder(m.dest, d)))
      throw new PolicyError('movedRoots', m.dest, 'not /, nor under /proc, /dev or a fresh tmpfs');
    for (const w of writes)
      if (w !== m.dest && (isUnder(w, m.dest) || isUnder(m.dest, w) || overlaps(w, m.src, mounts)))
        throw new PolicyError('movedRoots', m, `shares files with the writable root ${w}: a moved root must be a place of its own`);
    list.forEach((o, j) => {
      if (j !== i && overlaps(o.src, m.src, mounts))
        throw new PolicyError('movedRoots', m, `shares files with the moved root ${o.dest}: a moved root must be a place of its own`);
    });
  });
  return list.map((m) => ({ src: m.src, dest: m.dest }));
}

/** The bwrap front end's mount entries need the mount layer, which mode 'full' does not build. */
function noMountLayer(mode: Mode, key: string, paths: string[]): void {
  if (paths.length && mode === 'full') throw new PolicyError(key, paths, "mode 'full' has no mount layer");
}

/** Both ends exist and resolve (the helper refuses a symlink at DEST); never onto / or into /proc and /dev, which the sandbox makes itself. */
function resolveViews(list: View[], mode: Mode, real: (p: string) => string | undefined): View[] {
  noMountLayer(
    mode,
    'views',
    list.map((v) => v.dest),
  );
  return list.map((v) => {
    const src = real(v.src);
    const dest = real(v.dest);
    if (src === undefined) throw new PolicyError('views', v.src, 'the source does not exist');
    if (dest === undefined) throw new PolicyError('views', v.dest, 'the destination does not exist (no mount point is made on the host)');
    if (dest === '/' || isUnderAny(dest, ['/proc', '/dev'])) throw new PolicyError('views', v.dest, 'not / nor under /proc or /dev');
    return { src, dest };
  });
}

/** Scratch directories must exist and be directories: the tmpfs covers one, and nothing is made on the host. */
function resolveScratch(list: Scratch[], mode: Mode, real: (p: string) => string | undefined, view: FsView): Scratch[] {
  noMountLayer(
    mode,
    'scratch',
    list.map((s) => s.path),
  );
  return list.map((s) => {
    const resolved = real(s.path);
    if (resolved === undefined || !statOrThrow(view, resolved).isDirectory())
      throw new PolicyError('scratch', s.path, 'a scratch tmpfs covers an existing directory');
    if (resolved === '/' || isUnderAny(resolved, ['/proc', '/dev']))
      throw new PolicyError('scratch', s.path, 'not / nor under /proc or /dev');
    return { ...s, path: resolved };
  });
}

/**
 * A data file covers an existing path that is not a directory, or one inside
 * a fresh tmpfs (`fresh`), where the helper makes its mount point: nothing is
 * made on the host. Its data fits in a plan.
 */
function resolveDataFiles(
  list: DataFile[],
  mode: Mode,
  real: (p: string) => string | undefined,
  view: FsView,
  fresh: string[],
): DataFile[] {
  noMountLayer(
    mode,
    'dataFiles',
    list.map((d) => d.path),
  );
  return list.map((d) => {
    const inFresh = path.isAbsolute(d.path) && fresh.some((f) => isUnderAny(path.normalize(d.path), [f]) && path.normalize(d.path) !== f);
    const resolved = inFresh ? path.normalize(d.path) : real(d.path);
    if (resolved === undefined)
      throw new PolicyError('dataFiles', d.path, 'the path must exist, or lie in a fresh tmpfs (no file is made on the host)');
    if (!inFresh && statOrThrow(view, resolved).isDirectory())
      throw new PolicyError('dataFiles', d.path, 'a data file cannot cover a directory');
    if (isUnderAny(resolved, ['/proc', '/dev'])) throw new PolicyError('dataFiles', d.path, 'not under /proc or /dev');
    if (!/^([0-9a-f]{2})*$/.test(d.data)) throw new PolicyError('dataFiles', d.path, 'data must be hex');
    if (d.data.length / 2 > MAX_DATA_BYTES) throw new PolicyError('dataFiles', d.path, `more than ${MAX_DATA_BYTES} bytes of data`);
    if (!Number.isInteger(d.mode) || d.mode < 0 || d.mode > 0o7777) throw new PolicyError('dataFiles', d.path, 'mode must be <= 07777');
    return { ...d, path: resolved, ...(inFresh ? { fresh: true } : {}) };
  });
}

/** Fresh nodes lie strictly inside a fresh tmpfs of this policy; their fields are what the helper step takes. */
function resolveFreshNodes(list: FreshNode[], fresh: string[]): FreshNode[] {
  return list.map((n) => {
    const p = path.isAbsolute(n.path) ? path.normalize(n.path) : undefined;
    if (!p || !fresh.some((f) => isUnderAny(p, [f]) && p !== f))
      throw new PolicyError('freshNodes', n.path, 'not inside a private /tmp or a scratch tmpfs of this policy');
    if (!['dir', 'file', 'symlink'].includes(n.kind)) throw new PolicyError('freshNodes', n.kind, 'dir, file or symlink');
    if (n.mode !== undefined && !(Number.isInteger(n.mode) && n.mode >= 0 && n.mode <= 0o7777))
      throw new PolicyError('freshNodes', n.path, 'mode must be <= 07777');
    if (n.kind === 'file' && !/^([0-9a-f]{2})*$/.test(n.data ?? '')) throw new PolicyError('freshNodes', n.path, 'data must be hex');
    if (n.kind === 'symlink' && !n.target) throw new PolicyError('freshNodes', n.path, 'a symlink needs a target');
    return { ...n, path: p };
  });
}

function isUnderAny(p: string, dirs: string[]): boolean {
  return dirs.some((d) => p === d || p.startsWith(`${d}/`));
}

/**
 * Mode 'full' has no filesystem layer: read-only carve-outs, deny-read paths,
 * protected names and a private or read-only /tmp would be dropped without a
 * word (a deny-read secret would be readable). Refused instead.
 */
function refuseIgnoredInFull(p: SandboxPolicy): void {
  const why = "mode 'full' has no filesystem restriction, so this cannot be enforced; use mode 'workspace-write' or 'read-only'";
  for (const key of ['denyRead', 'readOnly', 'protect'] as const) {
    if (p[key]?.length) throw new PolicyError(key, p[key], why);
  }
  for (const [k, v] of Object.entries(p.rules ?? {})) if (v !== 'write') throw new PolicyError(`rules[${JSON.stringify(k)}]`, v, why);
  if (p.tmp === 'private' || p.tmp === 'none') throw new PolicyError('tmp', p.tmp, why);
}

/**
 * Where host daemons listen on pathname unix sockets (ssh-agent, the D-Bus
 * buses, docker/podman/containerd). A network namespace does not cover
 * them and Landlock only does from ABI 9, so with networking off they are
 * hidden like deny-read paths. A socket elsewhere stays connectable on older
 * kernels (docs/threat-model.md).
 */
export function daemonSockets(env: NodeJS.ProcessEnv, view: FsView = realView): string[] {
  const out = ['/run/dbus', '/run/docker.sock', '/var/run/docker.sock', '/run/podman', '/run/containerd', '/run/snapd.socket'];
  const uid = view.uid();
  if (uid !== undefined) out.push(`/run/user/${uid}`);
  if (env.XDG_RUNTIME_DIR) out.push(env.XDG_RUNTIME_DIR);
  const unixPath = (v: string | undefined, re: RegExp) => (v ? re.exec(v)?.[1] : undefined);
  for (const sock of [
    env.SSH_AUTH_SOCK,
    unixPath(env.DBUS_SESSION_BUS_ADDRESS, /unix:path=([^,;]+)/),
    unixPath(env.DOCKER_HOST, /^unix:\/\/(\/.+)$/),
  ]) {
    // ssh-agent keeps its socket in a private directory (/tmp/ssh-XXXX): hide that; otherwise the socket itself.
    if (sock && path.isAbsolute(sock)) out.push(/\/ssh-[^/]+$/.test(path.dirname(sock)) ? path.dirname(sock) : sock);
  }
  return out.map((p) => path.normalize(p));
}
