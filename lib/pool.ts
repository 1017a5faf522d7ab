// The warm pool: for the policies this process used recently, a few sandboxes
// are built ahead (namespaces, mounts, Landlock, supervisor, and the command's
// process itself up to its seccomp filter) and wait in that process's
// pool_wait step (native/helper/ops_pool.cc) for one command: its stdio fds
// and the plan's last steps (cwd, environment, exec) come over a socket. A pooled sandbox serves one command and
// is gone with it. docs/design.md "Warm pool" says what is checked first.
// A spawn no pooled sandbox serves (the first of a new policy) may still
// begin in a head start (lib/head-start.ts): the namespaces no policy
// decides, made ahead.
import fs from 'fs';
import { native } from './native';
import { FsView, Observation, realView, recording } from './fsview';
import { commandSteps, Plan, Step } from './plan';
import type { ResolvedPolicy } from './policy';
import type { Enforcement } from './host';
import { dedupe, stillHolds } from './pool-check';
import { mountGeneration } from './mount-watch';
import { checkedPlanInput } from './plan-input';
import { envSnapshot, planKey, PoolSpawnOptions, recordingEnv, stdioShape, StdioShape } from './pool-key';
import { discard, hasExited, isBuilt, setReaper, startWarm, Warm } from './warm';
import { dropHeads, headable, headState, withHead } from './head-start';

export type { PoolSpawnOptions } from './pool-key';
export type { Warm } from './warm';

/** Limits of the pool (`configurePool`). */
export interface PoolConfig {
  /** Sandboxes kept ready per policy; 0 turns the pool off. */
  size: number;
  /** Policies (distinct plan inputs) kept at once; the least recently used is dropped. */
  policies: number;
  /** A policy unused this long (ms) has its sandboxes discarded. */
  idleMs: number;
}

const DEFAULTS: PoolConfig = { size: 2, policies: 4, idleMs: 30_000 };
let config: PoolConfig = { ...DEFAULTS };

/** What spawn() prepared (lib/spawn.ts PreparedSpawn). */
export interface Prepared {
  plan: Plan;
  enforcement: Enforcement;
  policy: ResolvedPolicy;
  file: string;
  args: string[];
}

/** What the plan was built from, beyond the key: to be checked before a sandbox built from it is handed out. */
interface Recorded {
  prepared: Prepared;
  /** The steps up to init's fork of the command, the command process's AHEAD steps, then pool_wait. */
  prefix: Step[];
  /** The steps between command_fork and the command's own (plan.ts commandSteps) that are per command: its cwd. */
  fixed: Step[];
  /** The command-environment variables the policy read, with their values; 'all' when it enumerated them. */
  envReads: Map<string, string | undefined> | 'all';
  envAll?: string;
  observations: Observation[];
  /** mountGeneration() when the plan was built, or when the mount table was last compared equal. */
  mountGen: number;
  stdioCount: number;
  shape: string;
  ownProcessGroup: boolean;
}

interface Entry {
  uses: number;
  recorded?: Recorded;
  warm: Warm[];
  starting: boolean;
  broken: boolean;
  timer?: NodeJS.Timeout;
}

// Insertion order is recency: a use moves the entry to the end.
const entries = new Map<string, Entry>();

/** Deps from lib/spawn.ts (passed in, so this file does not import it). */
export interface PoolDeps {
  prepareWith(view: FsView, file: string, args: readonly string[], options: PoolSpawnOptions, policyEnv?: NodeJS.ProcessEnv): Prepared;
  /** Reaps a discarded helper without keeping the event loop alive. */
  reap(pidfd: number, errorFd: number, eventsFd: number): void;
}

/**
 * Sets the pool's limits, or turns it off (`false`, or `size: 0`): its
 * sandboxes are discarded at once. Returns the configuration in force.
 */
export function configurePool(c: Partial<PoolConfig> | false): PoolConfig {
  if (c === false) c = { size: 0 };
  if (typeof c !== 'object' || c === null) throw new TypeError(`configurePool: expected an object or false, got ${JSON.stringify(c)}`);
  const next = { ...config };
  for (const [k, v] of Object.entries(c)) {
    if (!(k in DEFAULTS))
      throw new TypeError(`configurePool: unknown key ${JSON.stringify(k)} (known: ${Object.keys(DEFAULTS).join(', ')})`);
    const max = k === 'size' ? 16 : k === 'policies' ? 64 : 24 * 3600_000;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
      throw new TypeError(`configurePool: ${k} must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
    (next as Record<string, number>)[k] = v;
  }
  if (next.policies === 0) next.size = 0;
  config = next;
  if (config.size === 0) {
    for (const key of [...entries.keys()]) drop(key);
    dropHeads();
  } else {
    while (entries.size > config.policies) drop(entries.keys().next().value as string);
    for (const e of entries.values()) while (e.warm.length > config.size) discard(e.warm.pop()!);
  }
  return { ...config };
}

/**
 * How many sandboxes are kept (tests and the benchmark look): `ready` have
 * been built and wait for a command, `building` are still being set up;
 * `heads`, the same of the head starts.
 */
export function poolState(): { policies: number; ready: number; building: number; heads: { ready: number; building: number } } {
  let ready = 0,
    building = 0;
  for (const e of entries.values())
    for (const w of e.warm) {
      if (isBuilt(w)) ready++;
      else building++;
    }
  return { policies: entries.size, ready, building, heads: headState() };
}

/** The helper pids of the waiting sandboxes (tests tell them from head starts and running commands). */
export function poolPids(): number[] {
  return [...entries.values()].flatMap((e) => e.warm.map((w) => w.pid));
}

function enabled(options: PoolSpawnOptions): boolean {
  if (config.size === 0 || options.pool === false || options.interactive) return false;
  // A worker thread's module state and timers end with it, and nothing would
  // then discard what it started ahead: pooled sandboxes and head starts
  // belong to the main thread only. Required here, not at the top: loading
  // worker_threads loads Node's streams (26 builtin modules, a few ms),
  // which a process that never spawns through the pool (the CLI, the bwrap
  // front end) should not pay for.
  if (process.env.SBX_NATIVE_POOL === '0') return false;
  if (process.env.SBX_NATIVE_TEST_FAIL_STEP !== undefined) return false; // test only: the plan is rewritten
  if (!(require('worker_threads') as typeof import('worker_threads')).isMainThread) return false;
  return typeof native().binding.poolSend === 'function';
}

type Pooled = { prepared: Prepared; warm?: Warm; refill?: () => void };

/**
 * The plan for this spawn and, when a pooled sandbox can run it, that
 * sandbox. Else a fresh plan: recorded (and the pool filled after it) from
 * the second use of the same plan inputs, so a single spawn pays nothing;
 * a fresh plan begins in a head start when one waits for its head (and
 * one is started for the next, once this spawn has had its moment).
 */
export function preparePooled(deps: PoolDeps, file: string, args: readonly string[], options: PoolSpawnOptions): Pooled {
  setReaper(deps.reap); // spawn.ts's, the same on every call
  if (!enabled(options)) return { prepared: deps.prepareWith(realView, file, args, options) };
  const r = poolOrFresh(deps, file, args, options);
  if (r.warm || !headable(options.stdio)) return r;
  const h = withHead(r.prepared.plan, !!options.ownProcessGroup, config);
  const refill = r.refill && h.refill ? () => (r.refill!(), h.refill!()) : (r.refill ?? h.refill);
  return { prepared: h.warm ? { ...r.prepared, plan: h.plan } : r.prepared, warm: h.warm, refill };
}

function poolOrFresh(deps: PoolDeps, file: string, args: readonly string[], options: PoolSpawnOptions): Pooled {
  const stdio = stdioShape(options.stdio);
  const key = stdio && planKey(options, stdio);
  if (!key || !stdio) return { prepared: deps.prepareWith(realView, file, args, options) };
  const env = options.env ?? process.env;
  let entry = entries.get(key);
  if (entry) {
    entries.delete(key);
    entries.set(key, entry);
  } else {
    entry = { uses: 0, warm: [], starting: false, broken: false };
    entries.set(key, entry);
    while (entries.size > config.policies) drop(entries.keys().next().value as string);
  }
  entry.uses++;
  touch(key, entry);
  const rec = entry.recorded;
  const gen = mountGeneration();
  if (rec && envHolds(rec, env) && stillHolds(rec.observations, undefined, gen >= 0 && gen === rec.mountGen)) {
    rec.mountGen = gen; // compared equal (or unchanged) as of this generation
    let warm = takeWarm(entry);
    const refill = () => scheduleFill(key);
    if (warm && warm.state !== native().binding.processState!()) {
      // This process's rlimits, umask, nice, affinity or cgroup changed since it was started: none of them is used.
      discard(warm);
      for (const w of entry.warm.splice(0)) discard(w);
      warm = undefined;
    }
    if (warm) {
      let input;
      try {
        input = checkedPlanInput(file, args, options);
      } catch (e) {
        discard(warm); // a bad argument or env entry: nothing runs, nothing waits for it
        throw e;
      }
      const tail = [...rec.fixed, ...commandSteps(rec.prepared.policy, input.env, file, [options.argv0 ?? file, ...args])];
      const plan: Plan = { ...rec.prepared.plan, steps: [...rec.prefix, ...tail] };
      return { prepared: { ...rec.prepared, plan, file, args: [...args] }, warm, refill };
    }
    return { prepared: deps.prepareWith(realView, file, args, options), refill };
  }
  // Gone stale (or never recorded): what waits was built for another host.
  if (rec) {
    for (const w of entry.warm.splice(0)) discard(w);
    entry.recorded = undefined;
  }
  if (entry.uses < 2 || entry.broken) return { prepared: deps.prepareWith(realView, file, args, options) };
  const r = recording(realView);
  const envLog = recordingEnv(env);
  const prepared = deps.prepareWith(r.view, file, args, options, envLog.env);
  entry.recorded = record(prepared, r.observations, envLog, stdio, !!options.ownProcessGroup, gen);
  return { prepared, refill: entry.recorded ? () => scheduleFill(key) : undefined };
}

function envHolds(rec: Recorded, env: NodeJS.ProcessEnv): boolean {
  if (rec.envReads === 'all') return envSnapshot(env) === rec.envAll;
  for (const [k, v] of rec.envReads) {
    const now = env[k];
    if ((now === undefined ? undefined : String(now)) !== v) return false;
  }
  return true;
}

// What the command's process does before it waits for its command: the same
// for every command of the plan (its session, the capability drop, the
// seccomp filter with its listener handed to init), so a hand-out starts at
// the cwd. The cwd is per command: resolved at the hand-out, as a fresh
// sandbox resolves it, it finds a directory replaced or made unreadable since.
const AHEAD: ReadonlySet<Step['op']> = new Set(['setsid', 'drop_caps', 'seccomp']);

function record(
  prepared: Prepared,
  observations: Observation[],
  envLog: ReturnType<typeof recordingEnv>,
  stdio: StdioShape,
  ownProcessGroup: boolean,
  mountGen: number,
): Recorded | undefined {
  const steps = prepared.plan.steps;
  const fork = steps.findIndex((s) => s.op === 'command_fork');
  const own = steps.findIndex((s, i) => i > fork && s.op === 'env');
  // A pooled init waits after its pid namespace exists (no namespaces: nothing to build ahead).
  if (fork < 0 || own < 0 || !steps.slice(0, fork).some((s) => s.op === 'pidns_fork')) return undefined;
  const between = steps.slice(fork + 1, own);
  // Only the cwd is per command among these; a step of another kind there is not pooled.
  if (!between.every((s) => AHEAD.has(s.op) || s.op === 'chdir')) return undefined;
  const deduped = dedupe(observations);
  if (!deduped || !stillHolds(deduped)) return undefined; // the host moved while planning, or an answer the check cannot reproduce
  return {
    prepared,
    // From / : a waiting sandbox must not keep the directory this process was in busy (an unmount, a removal).
    prefix: [
      { op: 'chdir', args: ['/'] },
      // Built ahead, maybe long before its use: every pin must hold (a path gone by then fails the build,
      // which is discarded), for the check at the hand-out cannot tell a path made anew on a reused inode.
      ...steps
        .slice(0, fork + 1)
        .map((s) => (s.op === 'pin' ? { ...s, args: s.args.slice(0, 1) } : s.op === 'pin_from' ? { ...s, args: s.args.slice(0, 3) } : s)),
      ...between.filter((s) => AHEAD.has(s.op)),
      { op: 'pool_wait', args: [String(stdio.count)] },
    ],
    fixed: between.filter((s) => !AHEAD.has(s.op)),
    envReads: envLog.all ? 'all' : new Map(envLog.reads),
    envAll: envLog.all ? envSnapshot(envLog.env) : undefined,
    observations: deduped,
    mountGen,
    stdioCount: stdio.count,
    shape: stdio.shape,
    ownProcessGroup,
  };
}

// A built sandbox first: one still being built makes the command wait for
// the rest of its build (less than a fresh one's, which also plans).
function takeWarm(entry: Entry): Warm | undefined {
  for (const w of [...entry.warm]) {
    if (!hasExited(w)) continue;
    entry.warm.splice(entry.warm.indexOf(w), 1);
    discard(w); // failed to set up, or was killed: a fresh one is built instead
  }
  const at = entry.warm.findIndex(isBuilt);
  return entry.warm.splice(at < 0 ? 0 : at, 1)[0];
}

function touch(key: string, entry: Entry): void {
  if (entry.timer) clearTimeout(entry.timer);
  entry.timer = setTimeout(() => drop(key), config.idleMs);
  entry.timer.unref();
}

function scheduleFill(key: string): void {
  const entry = entries.get(key);
  if (!entry || entry.starting || !entry.recorded || entry.warm.length >= config.size) return;
  entry.starting = true;
  // After the current spawn has returned: the command it starts goes first.
  setImmediate(() => {
    entry.starting = false;
    if (entries.get(key) !== entry || !entry.recorded) return;
    while (entry.warm.length < config.size && !entry.broken) {
      const w = startPooled(entry.recorded);
      if (!w)
        entry.broken = true; // cannot start helpers now: fresh spawns report why
      else entry.warm.push(w);
    }
  }).unref();
}

function startPooled(rec: Recorded): Warm | undefined {
  const toClose: number[] = [];
  const fds: number[] = [];
  try {
    for (let i = 0; i < rec.stdioCount; i++) {
      if (i < 3 && rec.shape[i] === 'n') {
        const fd = fs.openSync('/dev/null', i === 0 ? 'r' : 'w');
        toClose.push(fd);
        fds.push(fd);
      } else fds.push(i < 3 ? -1 : -2);
    }
    fds.push(-2); // the pool socket, at fd stdioCount
    return startWarm({ ...rec.prepared.plan, steps: rec.prefix }, fds, rec.stdioCount, rec.ownProcessGroup);
  } catch {
    return undefined;
  } finally {
    for (const fd of toClose) fs.closeSync(fd);
  }
}

function drop(key: string): void {
  const entry = entries.get(key);
  if (!entry) return;
  entries.delete(key);
  if (entry.timer) clearTimeout(entry.timer);
  for (const w of entry.warm.splice(0)) discard(w);
}
