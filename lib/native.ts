// Loads the addon (a prebuild, or build/Release after a source build) and
// finds the helper executable shipped beside it. When that fails, the error
// says why and what to do, in the manner of sharp: not Linux, unsupported
// architecture, musl, glibc too old, missing prebuild, helper not executable.
import fs from 'fs';
import path from 'path';
import { localBuild } from './addon-file';
import { readMountInfo } from './mountinfo';

export interface SpawnResult {
  pid: number;
  pidfd: number;
  errorFd: number;
  eventsFd: number;
  pipes: [number, number, number];
  /** Parent ends of the socketpairs asked for with -2, by child fd; -1 elsewhere. */
  sockets: number[];
}

export interface SyncResult {
  pid: number;
  code: number;
  signal: number;
  stdout: Buffer | null;
  stderr: Buffer | null;
  report: Buffer | null;
  timedOut: boolean;
  tooMuch: boolean;
  /** The refusals' event records, in order (native/spawn_sync.cc keeps a refused host and port's latest only). */
  events: Buffer[];
  /** Refused hosts and ports past the ones kept. */
  eventsDropped: number;
}

/** The addon's surface; see native/binding.cc. Errors carry `errno` and `syscall`. */
export interface Binding {
  spawn(helper: string, plan: Buffer, fds: number[], ownProcessGroup: boolean): SpawnResult;
  /** Blocks until the helper has exited and its output pipes closed (native/spawn_sync.cc). */
  spawnSync(
    helper: string,
    plan: Buffer,
    fds: number[],
    ownProcessGroup: boolean,
    input: Buffer | null,
    timeoutMs: number,
    killSignal: number,
    maxBuffer: number,
  ): SyncResult;
  /** A sealed memfd holding the plan and a report pipe, for a helper another spawner starts (native/handoff.h). */
  handoff(plan: Buffer): { planFd: number; readFd: number; writeFd: number };
  /** 'exec' comes first: the helper's error report, or null once the command was exec'd; then 'exit'. */
  setExitHandler(fn: (id: number, event: 'exit' | 'exec' | 'event', a: number | Buffer | null, signal?: number) => void): void;
  /** Watches the pidfd and both pipes; the pipes become the reaper's, which closes them. */
  watch(pidfd: number, errorFd: number, eventsFd: number, id: number, earlyExit?: boolean): void;
  ref(): void;
  unref(): void;
  kill(pidfd: number, signal: number): number;
  close(fd: number): void;
  renameat2(from: string, to: string, flags: number): number;
  landlockAbi(): { abi: number; errata: number };
  /** The domain proxy's byte path: dups fd, connects, answers `ok` or `failed`, splices both ways on a thread of its own (native/tunnel.h). 0 or an errno. */
  tunnel(fd: number, address: string, port: number, head: Buffer, ok: Buffer, failed: Buffer): number;
  /** The tunnel thread accepts on the proxy's HTTP port and hands over each connection's first bytes (at most maxHead + 1) by id (native/tunnel.h). 0 or an errno. */
  tunnelListen(fd: number, maxHead: number, onHead: (id: number, bytes: Buffer) => void): number;
  /** Starts connection `id`'s tunnel as tunnel() does; `head`: the bytes after its request head. 0 or an errno (then it can still be taken). */
  tunnelStart(id: number, address: string, port: number, head: Buffer, ok: Buffer, failed: Buffer): number;
  /** Connection `id`'s fd, now the caller's, or -errno. */
  tunnelTake(id: number): number;
  /** no_new_privs and the seccomp program on every thread of this process (native/seccomp_self.h): 0, an errno, or -tid. */
  seccompSelf(prog: Buffer): number;
  /** PR_SET_PDEATHSIG(SIGKILL) on this process (bwrap --die-with-parent, native/die_with_parent.h): 0, ESRCH when `parent` is gone already, or an errno. */
  dieWithParent(parent: number): number;
  // The warm pool (lib/pool.ts, native/pool.h); absent from an addon built before it, which then has no pool.
  /** Makes the pipes `fds` asks for and sends the plan and every stdio fd to a pooled sandbox's init. */
  poolSend?(ctlFd: number, plan: Buffer, fds: number[]): { pipes: number[]; sockets: number[] };
  pidfdExited?(pidfd: number): boolean;
  poolReady?(ctlFd: number): boolean;
  /** rlimits, umask, nice, CPU affinity and cgroup: what a helper inherits and a pooled one fixed at its start. */
  processState?(): string;
  /** The environment's fd on /proc/self/mountinfo for mountsChanged (-1: could not open); the addon closes it when the environment (a worker thread's included) ends. */
  mountWatch?(): number;
  /** Whether the mount table changed since the last call on this fd (true on any doubt). */
  mountsChanged?(fd: number): boolean;
  /** Asks each (op, path) again in one call, answers encoded as lib/pool-check.ts does (native/recheck.h): the first index whose answer differs, or -1. */
  recheck?(ops: string, paths: string[], expected: string[]): number;
  /** One lstat's type and identity (native/recheck.h): "n" absent, "e" + errno, or a type letter (d f l o) + "dev:ino". */
  lstatAnswer?(p: string): string;
  /** One walk of a tree for its git directories, at most `budget` entries read (native/git_walk.h). */
  gitWalk?(
    root: string,
    budget: number,
    stamps?: boolean,
    watch?: boolean,
    maxDepth?: number,
    ownOnly?: boolean,
  ): import('./repository-scan').GitWalk;
  /** Whether a walk's inotify watch saw nothing that could change its answer (native/git_watch.h). */
  gitWatchHolds?(fd: number): boolean;
  /** Whether each directory still has the stamp a walk with `stamps` gave it (native/git_walk.h). */
  gitStampsHold?(dirs: string[], stamps: string[]): boolean;
}

/** Why loading failed: `err.reason` on an `SBX_LOAD_FAILED` error. */
export type LoadFailure = 'platform' | 'arch' | 'musl' | 'glibc' | 'no-prebuild' | 'load' | 'noexec' | 'helper-missing' | 'helper-mode';

/** Architectures with prebuilt binaries in the package (scripts/build-prebuilds.js). */
export const PREBUILT_ARCHES = ['x64', 'arm64'];
/** The oldest glibc the prebuilt addon runs with (scripts/check-glibc.js enforces it). */
export const GLIBC_FLOOR = '2.28';

const root = path.join(__dirname, '..');
let loaded: { binding: Binding; helper: string; addon: string } | undefined;

/** Is the package installed as a dependency (node_modules/...) rather than a clone of the repository? */
const installed = root.split(path.sep).includes('node_modules');

/** The command that compiles the addon and the helper here (npm 11 blocks install scripts until approved). */
function sourceCommand(): string {
  return installed ? '`npm install-scripts approve sbx-native && npm rebuild sbx-native --build-from-source`' : '`npm run build:native`';
}

function buildFromSource(): string {
  return `build from source (needs g++, make, python3): ${sourceCommand()}`;
}

function loadError(reason: LoadFailure, what: string, fix: string, facts = true): Error {
  const lines = [`sbx-native could not load its native part: ${what}`];
  if (facts) lines.push(`  found: ${describeHost()}`);
  lines.push(`  fix: ${fix}`);
  const err = new Error(lines.join('\n')) as NodeJS.ErrnoException & { reason: LoadFailure };
  err.code = 'SBX_LOAD_FAILED';
  err.reason = reason;
  return err;
}

function describeHost(): string {
  const libc = libcFamily();
  const glibc = libc === 'glibc' ? glibcVersion() : undefined;
  return `platform=${process.platform} arch=${process.arch} libc=${libc}${glibc ? ` ${glibc}` : ''} node=${process.versions.node} package=${root}`;
}

let family: 'glibc' | 'musl' | 'unknown' | undefined;

/** The C library this Node process runs on, from the shared objects it has mapped (cheap, no report). */
export function libcFamily(): 'glibc' | 'musl' | 'unknown' {
  if (family) return family;
  let maps = '';
  try {
    maps = fs.readFileSync('/proc/self/maps', 'latin1');
  } catch {
    /* no /proc: fall back to the report */
  }
  if (/\/(ld-musl-[^/\s]*|libc\.musl-[^/\s]*)$/m.test(maps)) family = 'musl';
  else if (/\/(libc\.so\.6|libc-2\.[0-9]+\.so)$/m.test(maps)) family = 'glibc';
  else if (glibcVersion()) family = 'glibc';
  else family = fs.existsSync('/etc/alpine-release') ? 'musl' : 'unknown';
  return family;
}

/** glibc's version at run time (e.g. '2.36'), or undefined on another libc. */
export function glibcVersion(): string | undefined {
  try {
    const report = process.report?.getReport() as unknown as { header?: { glibcVersionRuntime?: string } } | undefined;
    return report?.header?.glibcVersionRuntime;
  } catch {
    return undefined;
  }
}

function versionBelow(v: string, floor: string): boolean {
  const a = v.split('.').map(Number),
    b = floor.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) < (b[i] || 0);
  }
  return false;
}

function isPrebuild(file: string): boolean {
  return file.split(path.sep).includes('prebuilds');
}

/** The mount that holds `file` and whether it is mounted noexec, from /proc/self/mountinfo. */
function mountOf(file: string): { point: string; noexec: boolean } | undefined {
  let real = file;
  try {
    real = fs.realpathSync(file);
  } catch {
    /* keep the path */
  }
  let best: { point: string; noexec: boolean } | undefined;
  try {
    for (const m of readMountInfo()) {
      const point = m.mountPoint;
      const inside = point === '/' || real === point || real.startsWith(point + '/');
      if (inside && (!best || point.length >= best.point.length)) best = { point, noexec: !!m.options?.includes('noexec') };
    }
  } catch {
    /* no /proc */
  }
  return best;
}

function noexecError(file: string, point: string): Error {
  return loadError(
    'noexec',
    `${file} cannot be executed or mapped: ${point} is mounted noexec (common for /tmp, /dev/shm and some CI caches)`,
    `install node_modules on a filesystem mounted without noexec, or \`mount -o remount,exec ${point}\``,
  );
}

function checkHelper(helper: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(helper);
  } catch {
    throw loadError(
      'helper-missing',
      `the helper executable ${helper} is missing (it must ship beside the addon)`,
      installed
        ? 'reinstall sbx-native (`npm install sbx-native --force`); if you copy the addon elsewhere, copy sbx-helper with it'
        : 'rebuild: `npm run build:native` builds the addon and the helper together',
    );
  }
  if ((st.mode & 0o111) === 0) {
    throw loadError(
      'helper-mode',
      `the helper ${helper} has no execute permission (mode ${(st.mode & 0o777).toString(8)}): the package was unpacked without file modes`,
      `\`chmod 755 ${helper}\`, or reinstall with npm (npm keeps the mode)`,
    );
  }
  try {
    fs.accessSync(helper, fs.constants.X_OK);
  } catch {
    const m = mountOf(helper);
    if (m?.noexec) throw noexecError(helper, m.point);
    throw loadError(
      'helper-mode',
      `the helper ${helper} is not executable by uid ${process.getuid?.()} (mode ${(st.mode & 0o777).toString(8)})`,
      `\`chmod 755 ${helper}\` and make its directories searchable (o+x)`,
    );
  }
}

export function native(): { binding: Binding; helper: string; addon: string } {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    throw loadError(
      'platform',
      `${process.platform} is not supported: sbx-native is Linux-only (it uses user namespaces and Landlock)`,
      'on macOS use a sandbox-exec (Seatbelt) based tool such as @anthropic-ai/sandbox-runtime; on Windows run Node inside WSL2 (not WSL1)',
      false,
    );
  }
  let file = localBuild(root);
  let resolveError = '';
  if (file === undefined) {
    const gypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    try {
      file = gypBuild.resolve(root);
    } catch (e) {
      resolveError = (e as Error).message.split('\n')[0];
    }
  }
  const prebuild = file === undefined || isPrebuild(file);

  // Only a build made on this machine can be trusted on musl; the prebuilds are glibc builds.
  if (prebuild && libcFamily() === 'musl') {
    throw loadError(
      'musl',
      'musl libc (Alpine Linux and the like) is not supported by the prebuilt binaries, which are built for glibc',
      `use a glibc-based image (e.g. node:20-bookworm-slim instead of node:20-alpine), or try a source build (untested on musl): apk add g++ make python3 linux-headers, then ${sourceCommand()}`,
    );
  }
  if (file === undefined) {
    if (!PREBUILT_ARCHES.includes(process.arch)) {
      throw loadError(
        'arch',
        `no prebuilt binary for linux-${process.arch}: prebuilds exist for ${PREBUILT_ARCHES.map((a) => `linux-${a}`).join(' and ')} only`,
        buildFromSource(),
      );
    }
    throw loadError(
      'no-prebuild',
      `no prebuilt binary for linux-${process.arch} in ${path.join(root, 'prebuilds')} and no local build (${resolveError})`,
      installed
        ? `reinstall a published sbx-native (it ships linux-x64 and linux-arm64 prebuilds), or ${buildFromSource()}`
        : `${buildFromSource()}, or \`npm run build:prebuilds\``,
    );
  }

  let binding: Binding;
  try {
    binding = require(file) as Binding;
  } catch (e) {
    const msg = (e as Error).message;
    const m = mountOf(file);
    if (m?.noexec) throw noexecError(file, m.point);
    const glibc = libcFamily() === 'glibc' ? glibcVersion() : undefined;
    if (prebuild && (/GLIBC_[0-9.]+'? not found/.test(msg) || (glibc && versionBelow(glibc, GLIBC_FLOOR)))) {
      throw loadError(
        'glibc',
        `glibc ${glibc ?? '(version unknown)'} is too old: the prebuilt binaries need glibc >= ${GLIBC_FLOOR} (RHEL/Rocky/Alma 8, Debian 10, Ubuntu 18.10 or newer)\n  loader: ${msg}`,
        `upgrade the distribution, or ${buildFromSource()}`,
      );
    }
    if (/GLIBCXX_[0-9.]+'? not found|CXXABI_[0-9.]+'? not found/.test(msg)) {
      throw loadError(
        'load',
        `the system libstdc++ is older than the one ${file} was built with\n  loader: ${msg}`,
        prebuild
          ? "please report this (prebuilds target GCC 8's libstdc++); meanwhile " + buildFromSource()
          : 'rebuild on this machine: `npm run build:native`',
      );
    }
    throw loadError(
      'load',
      `${file} failed to load: ${msg}`,
      prebuild ? buildFromSource() : 'rebuild on this machine: `npm run build:native` (or remove build/ to use the prebuilds)',
    );
  }

  const helper = path.join(path.dirname(file), 'sbx-helper');
  checkHelper(helper);
  loaded = { binding, helper, addon: file };
  return loaded;
}
