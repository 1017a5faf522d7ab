// What this host can enforce, and the enforcement level that follows. Facts
// come from cheap syscalls, a per-boot cache, or (test only) the
// SBX_NATIVE_TEST_HOST variable, e.g. "landlock=1,userns=0".
//
// The cache ($XDG_CACHE_HOME/sbx-native/host.json) is kept read-only in every
// sandbox (policy.ts guards), and it can only make a sandbox stronger: a
// cached "user namespaces work" skips the probe; a cached "they do not" is
// probed again before it is believed, so a forged or stale answer never
// lowers the enforcement level.
import { parseRelease } from './features';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { native } from './native';

export type Level = 'full' | 'mount-only' | 'landlock-only' | 'none';

export interface HostFacts {
  landlockAbi: number; // <= 0: unavailable
  landlockErrata: number;
  /** Can we create a user namespace and mount inside it? undefined: not probed yet. */
  userns: { ok: boolean; detail: string } | undefined;
  wsl1: boolean;
  /** The kernel's major and minor version (which kernel interfaces the plan uses: lib/features.ts). */
  kernel: [number, number];
}

export interface Enforcement {
  level: Level;
  /** What this level does not enforce compared with 'full'; empty at 'full'. */
  missing: string[];
  /** Older kernel interfaces this sandbox uses and what they give up (lib/features.ts); empty on a current kernel. */
  fallbacks?: string[];
  /**
   * Writable roots the walk for nested repositories did not cover, and why
   * (its budget spent, a directory it could not read): a repository there
   * that the layout does not find at a root's top is not protected
   * (docs/policy.md). Absent when every root was covered.
   */
  notScanned?: { root: string; why: string }[];
}

function bootKey(): string {
  let boot = 'unknown';
  try {
    boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    /* masked */
  }
  return `${boot}-${os.release()}-${process.getuid?.()}`;
}

/** Where the per-boot host facts are cached (guarded read-only in every sandbox). */
export function cacheFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, '.cache') : undefined);
  return base && path.isAbsolute(base) ? path.join(base, 'sbx-native', 'host.json') : undefined;
}

/**
 * Makes the directory of a file in sbx-native's cache (`<base>/sbx-native/`),
 * and the cache base when missing, but only below a directory that exists: a
 * HOME that does not exist (nobody's /nonexistent) is never made.
 */
export function makeCacheDir(file: string): boolean {
  const own = path.dirname(file);
  const base = path.dirname(own);
  if (!fs.existsSync(path.dirname(base))) return false;
  try {
    fs.mkdirSync(base, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
  }
  try {
    fs.mkdirSync(own, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
  }
  return true;
}

function readCache(): HostFacts['userns'] {
  const file = cacheFile();
  if (!file) return undefined;
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (c.key !== bootKey() || typeof c.userns !== 'object' || c.userns === null) return undefined;
    // Only "works" is taken from the cache: anything weaker is probed again (hostFacts).
    return c.userns.ok === true ? { ok: true, detail: String(c.userns.detail ?? 'user namespace with mounts works') } : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(userns: HostFacts['userns']): void {
  const file = cacheFile();
  if (!file) return;
  if (!makeCacheDir(file)) return;
  try {
    // A new file renamed into place: a reader never sees half an answer.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ key: bootKey(), userns }), { mode: 0o600 });
    try {
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true }); // inside a sandbox host.json is read-only (EBUSY): leave nothing behind
      throw e;
    }
  } catch {
    /* an unwritable cache only costs a probe next time */
  }
}

/** Runs the helper's user-namespace probe (a few ms) and caches the answer for this boot. */
export function probeUserns(): { ok: boolean; detail: string } {
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const r = spawnSync(native().helper, ['--probe-userns'], { encoding: 'utf8', env: {} });
  const out = (r.stdout || '').trim();
  const result =
    out === 'ok'
      ? { ok: true, detail: 'user namespace with mounts works' }
      : { ok: false, detail: out ? describeProbeFailure(out) : `probe failed to run (${r.error?.message ?? r.status})` };
  writeCache(result);
  return result;
}

function describeProbeFailure(out: string): string {
  const [stage, errno] = out.split(' ');
  const name = Object.entries(os.constants.errno).find(([, n]) => n === Number(errno))?.[0] ?? `errno ${errno}`;
  return `${stage} failed with ${name}`;
}

interface TestHost {
  landlock?: number;
  userns?: number;
  kernel?: [number, number];
}

function testOverrides(): TestHost | undefined {
  const spec = process.env.SBX_NATIVE_TEST_HOST;
  if (!spec) return undefined;
  const out: TestHost = {};
  for (const part of spec.split(',')) {
    const [k, v] = part.split('=');
    if ((k === 'landlock' || k === 'userns') && /^\d+$/.test(v)) out[k] = Number(v);
    else if (k === 'kernel' && /^\d+\.\d+$/.test(v)) out.kernel = parseRelease(v);
    else throw new Error(`SBX_NATIVE_TEST_HOST: cannot parse ${JSON.stringify(part)} (expected landlock=N,userns=0|1,kernel=MAJOR.MINOR)`);
  }
  return out;
}

// The kernel's answers do not change while this process lives: ask once per
// process, not on every spawn (test overrides are read every time).
let known: HostFacts | undefined;

/**
 * Host facts for planning. The user-namespace answer: a cached "works", or
 * else the probe when `probe` is set or the last answer was "unusable" (a
 * weaker answer is never taken on trust); otherwise unknown (then tried, and
 * a failure fails closed).
 */
export function hostFacts(probe: boolean): HostFacts {
  const t = testOverrides();
  if (!t && known && (known.userns || !probe)) return known;
  const facts = kernelFacts(t);
  facts.userns = t?.userns !== undefined ? { ok: t.userns === 1, detail: 'set by SBX_NATIVE_TEST_HOST' } : readCache();
  if (!facts.userns && (probe || cachedUnusable())) facts.userns = probeUserns();
  if (!t) known = facts;
  return facts;
}

function kernelFacts(t: ReturnType<typeof testOverrides>): HostFacts {
  const ll = native().binding.landlockAbi();
  const release = os.release();
  return {
    landlockAbi: t?.landlock ?? ll.abi,
    landlockErrata: t?.landlock !== undefined ? 0 : ll.errata,
    userns: undefined,
    wsl1: /Microsoft/.test(release) && !/microsoft-standard/i.test(release),
    kernel: t?.kernel ?? parseRelease(release),
  };
}

/** The cache holds a (weaker) "unusable" answer for this boot: it must be probed again, not believed. */
function cachedUnusable(): boolean {
  const file = cacheFile();
  if (!file) return false;
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8'));
    return c?.key === bootKey() && c?.userns?.ok === false;
  } catch {
    return false;
  }
}

/**
 * A sandbox set-up failed at run time although user namespaces were taken to
 * work (a cached or earlier answer, e.g. the same HOME inside a container):
 * forget that answer and probe again. True when the fresh probe says they are
 * unusable, so a caller that allowed degraded enforcement can plan again at
 * the level the host really has.
 */
export function reprobeAfterFailure(): boolean {
  if (testOverrides()) return false;
  const userns = probeUserns();
  known = { ...kernelFacts(undefined), userns }; // the next hostFacts() uses the fresh answer
  return !userns.ok;
}

/** The strongest level this host supports; landlock-only needs the caller's consent. */
export function chooseLevel(f: HostFacts, allowDegraded: boolean): Enforcement & { refused?: string } {
  const landlock = f.landlockAbi >= 2;
  const userns = f.userns?.ok !== false; // unknown: try, and fail closed with a hint
  if (f.wsl1) return { level: 'none', missing: [], refused: 'WSL1 has neither user namespaces nor Landlock: use WSL2' };
  if (userns && landlock) return { level: 'full', missing: [] };
  if (userns) {
    return {
      level: 'mount-only',
      missing: [
        `Landlock ${f.landlockAbi > 0 ? `ABI ${f.landlockAbi} lacks REFER` : 'is unavailable'}: each writable root is its own mount, so links and renames between roots fail with EXDEV`,
      ],
    };
  }
  const missing = [
    `user namespaces are unusable (${f.userns?.detail})`,
    'no read-only mounts: protected paths, read-only carve-outs and deny-read inside roots are not enforced',
    "sbx-native's own files, config files and the host-facts cache inside a writable root stay writable: a command there can change what a later run does",
    'chmod/chown/utimes/setxattr outside the roots are not blocked (Landlock does not cover metadata)',
    'no pid namespace: host processes are visible',
    // The unix-socket rule needs init (lib/unix-sockets.ts); Landlock ABI 9's RESOLVE_UNIX enforces it in the kernel.
    ...(f.landlockAbi >= 9
      ? []
      : [
          'pathname unix sockets outside the sandbox (tmux, ssh-agent, X11) stay reachable (no supervisor; Landlock ABI 9 would refuse them)',
        ]),
    ...(process.getuid?.() === 0 ? [] : ['the capability bounding set stays as it is (no_new_privs still prevents gaining capabilities)']),
    f.landlockAbi >= 4
      ? 'network off blocks TCP only (Landlock TCP rules); UDP and other protocols are not blocked'
      : 'network cannot be turned off',
  ];
  if (!landlock)
    return { level: 'none', missing, refused: 'neither user namespaces nor Landlock (ABI >= 2) are available: nothing can be enforced' };
  if (!allowDegraded) {
    return {
      level: 'landlock-only',
      missing,
      refused: `only Landlock is available (${f.userns?.detail}); pass --allow-degraded / allowDegraded: true to run with: ${missing.join('; ')}`,
    };
  }
  return { level: 'landlock-only', missing };
}
