// Head starts: the part of a sandbox no policy decides, started ahead, so
// the first spawn of a new policy does not pay for it. A head start is a
// helper that has been exec'd, has unshared the user, ipc, uts and pid
// namespaces (and the network one for network: false, its loopback up),
// mapped the caller's ids and forked init, which waits in the head_wait step
// (native/helper/ops_pool.cc) for the rest of a plan. It holds no mount
// namespace of its own yet and nothing of a policy: the plan's remaining
// steps (a new mount namespace, copied from the host's as it is at the
// hand-out, the layout, /proc, Landlock, the supervisor, the command) and
// the stdio fds come over its socket. lib/pool.ts decides when one is used;
// docs/design.md "Head starts" says why this split is the same sandbox.
import fs from 'fs';
import { native } from './native';
import type { Plan, Step } from './plan';
import { CLONE } from './uapi';
import { STEP_HINT } from './gen/plan-steps';
import { namespaceSteps } from './namespace-steps';
import { discard, hasExited, isBuilt, startWarm, Warm } from './warm';

// Where the head start's socket is: fd 3, after three /dev/null placeholders.
const CTL_FD = 3;
// Head starts kept at once: one per distinct head (in practice network off and on).
const MAX_HEADS = 2;

interface Head {
  steps: Step[];
  ownProcessGroup: boolean;
  warm?: Warm;
  timer?: NodeJS.Timeout;
  starting?: boolean;
}

// Insertion order is recency.
const heads = new Map<string, Head>();

/**
 * A plan split at its head: `head` is what a head start runs (from /, the
 * namespaces no policy decides, the ids, the loopback, init's fork, then
 * head_wait), `tail` the rest, starting with the mount namespace. Undefined
 * for a plan a head start cannot begin: no user and pid namespaces, a
 * network proxy forked first, a hostname, a terminal, bwrap's info-fd, or
 * anything before init's fork that is not a mount step (or the ids and
 * hidden directories the layout checks and holds).
 */
export function splitHead(steps: readonly Step[]): { head: Step[]; tail: Step[] } | undefined {
  if (steps[0]?.op !== 'unshare' || steps[1]?.op !== 'map_ids') return undefined;
  const flags = Number(steps[0].args[0]);
  if (!Number.isSafeInteger(flags) || !(flags & CLONE.NEWUSER) || !(flags & CLONE.NEWPID)) return undefined;
  const k = steps[2]?.op === 'loopback_up' ? 3 : 2;
  const fork = steps.findIndex((s) => s.op === 'pidns_fork');
  if (fork < k || steps[fork].args.length) return undefined;
  for (let i = k; i < fork; i++) {
    const op = steps[i].op;
    if (op !== 'expect_ids' && op !== 'hold_tree' && (STEP_HINT[op] !== 'mount' || op.startsWith('tty_'))) return undefined;
  }
  if (steps.some((s) => s.op === 'pool_wait' || s.op === 'head_wait' || (s.op === 'pidns_fork' && s !== steps[fork]))) return undefined;
  const head: Step[] = [
    { op: 'chdir', args: ['/'] }, // a waiting helper keeps none of this process's directories busy
    { op: 'unshare', args: [String(flags & ~CLONE.NEWNS)] },
    ...steps.slice(1, k),
    { op: 'pidns_fork', args: [] },
    { op: 'head_wait', args: [String(CTL_FD)] },
  ];
  const tail: Step[] = [
    ...(flags & CLONE.NEWNS ? [{ op: 'unshare' as const, args: [String(CLONE.NEWNS)] }] : []),
    ...steps.slice(k, fork),
    ...steps.slice(fork + 1),
  ];
  return { head, tail };
}

// Everything a head start's state comes from: its steps, and the ids,
// helper and process group it was started with. The rest it inherited
// (processState) is compared at the hand-out.
function headKey(head: Step[], ownProcessGroup: boolean): string {
  return JSON.stringify([
    head,
    process.getuid!(),
    process.getgid!(),
    process.geteuid!(),
    process.getegid!(),
    process.getgroups!(),
    native().helper,
    ownProcessGroup,
  ]);
}

/**
 * For a fresh plan: a head start to run it in (the plan then carries the
 * head start's steps, head_wait, and its own after it, so a failing step is
 * reported by its index as always), and what starts the next head start for
 * its head (the caller calls it once the spawn has had its moment).
 */
export function withHead(
  plan: Plan,
  ownProcessGroup: boolean,
  limits: { idleMs: number },
): { plan: Plan; warm?: Warm; refill?: () => void } {
  const split = splitHead(plan.steps);
  if (!split) return { plan };
  const key = headKey(split.head, ownProcessGroup);
  let h = heads.get(key);
  if (h) heads.delete(key);
  h ??= { steps: split.head, ownProcessGroup };
  heads.set(key, h);
  while (heads.size > MAX_HEADS) dropHead(heads.keys().next().value as string);
  if (h.timer) clearTimeout(h.timer);
  h.timer = setTimeout(() => dropHead(key), limits.idleMs).unref();
  const refill = () => fillHead(key, h);
  let warm = h.warm;
  h.warm = undefined;
  // Died waiting, or this process's rlimits, umask, nice, affinity or cgroup changed since it started.
  if (warm && (hasExited(warm) || warm.state !== native().binding.processState!())) {
    discard(warm);
    warm = undefined;
  }
  if (!warm) return { plan, refill };
  return { plan: { ...plan, steps: [...split.head, ...split.tail] }, warm, refill };
}

// After the current event's listeners (the caller's 'exit' first): starting
// a helper blocks this thread for its vfork and exec.
function fillHead(key: string, h: Head): void {
  if (h.starting) return;
  h.starting = true;
  setImmediate(() => {
    h.starting = false;
    startHead(key, h);
  }).unref();
}

function startHead(key: string, h: Head): void {
  if (heads.get(key) !== h || h.warm) return;
  h.warm = launch(h.steps, h.ownProcessGroup);
}

/** A helper started on a head's steps, or undefined (then a fresh spawn reports what is wrong). */
function launch(steps: Step[], ownProcessGroup: boolean): Warm | undefined {
  const toClose: number[] = [];
  try {
    for (let i = 0; i < 3; i++) toClose.push(fs.openSync('/dev/null', i === 0 ? 'r' : 'w'));
    const plan: Plan = { level: 'full', landlockAbi: 0, layout: undefined, steps, fallbacks: [] };
    return startWarm(plan, [...toClose, -2], CTL_FD, ownProcessGroup);
  } catch {
    return undefined; // no /dev/null to hand it, say
  } finally {
    for (const fd of toClose) fs.closeSync(fd);
  }
}

// A stdio slot left closed (fd 3 and up: 'ignore', or nothing given, as
// lib/stdio.ts maps them) has no fd to hand a waiting helper.
export function headable(stdio: unknown): boolean {
  if (!Array.isArray(stdio)) return true;
  return stdio.every((s, i) => i < 3 || (s !== 'ignore' && s !== null && s !== undefined));
}

/** A head start begun before its process's one plan (startEarlyHead). */
export interface EarlyHead {
  steps: Step[];
  ownProcessGroup: boolean;
  warm: Warm;
}

/**
 * For a process that plans one sandbox and exits (the CLI, the bwrap front
 * end): a head start begun before that plan, so the helper's exec, its
 * namespaces, the id maps and init's fork run on another CPU while
 * JavaScript plans, instead of after it. `network` is what the policy is
 * expected to ask; the head is the one namespaceSteps gives, as buildPlan
 * writes it, and inEarlyHead compares it with the plan's own head. It holds
 * nothing of a policy (the same head a pooled process starts after its
 * first spawn) and dies with this process (the helper's parent-death
 * signal) however it ends. `extraUnshare`: namespace flags the plan's
 * unshare step will have besides namespaceSteps' (the front end's
 * --unshare-cgroup). Off where head starts are off
 * (SBX_NATIVE_POOL=0), and with the test-only step injection.
 */
export function startEarlyHead(network: boolean, ownProcessGroup: boolean, extraUnshare = 0): EarlyHead | undefined {
  if (process.env.SBX_NATIVE_POOL === '0' || process.env.SBX_NATIVE_TEST_FAIL_STEP !== undefined) return undefined;
  const steps = namespaceSteps(network, process.getuid!(), process.getgid!());
  steps[0].args[0] = String(Number(steps[0].args[0]) | extraUnshare); // the bwrap front end's cgroup namespace
  const split = splitHead([...steps, { op: 'pidns_fork', args: [] }]);
  if (!split) return undefined;
  const head = fromHere(split.head);
  const warm = launch(head, ownProcessGroup);
  return warm && { steps: head, ownProcessGroup, warm };
}

// A head start's first step takes it to / (a pooled process's may wait for
// minutes); an early one waits only for this process's plan, so it keeps
// this process's cwd, as a fresh helper does: the monitor is then found
// where a fresh one is (test/helpers.ts leftovers looks for helpers by it).
function fromHere(head: Step[]): Step[] {
  return head[0]?.op === 'chdir' && head[0].args[0] === '/' ? head.slice(1) : head;
}

/**
 * The plan to hand `early`'s helper and the helper, when the plan begins with
 * the head it runs and it still waits as it was started (the same process
 * state); else undefined, the helper discarded, and the plan runs fresh.
 */
export function inEarlyHead(early: EarlyHead, plan: Plan, ownProcessGroup: boolean): { plan: Plan; warm: Warm } | undefined {
  const split = splitHead(plan.steps);
  const { warm } = early;
  const head = split && fromHere(split.head);
  if (
    split &&
    head &&
    ownProcessGroup === early.ownProcessGroup &&
    JSON.stringify(head) === JSON.stringify(early.steps) &&
    !hasExited(warm) &&
    warm.state === native().binding.processState!()
  )
    return { plan: { ...plan, steps: [...head, ...split.tail] }, warm };
  discard(warm);
  return undefined;
}

function dropHead(key: string): void {
  const h = heads.get(key);
  if (!h) return;
  heads.delete(key);
  if (h.timer) clearTimeout(h.timer);
  if (h.warm) discard(h.warm);
  h.warm = undefined;
}

/** Discards every head start (the pool switched off). */
export function dropHeads(): void {
  for (const key of [...heads.keys()]) dropHead(key);
}

/** Head starts waiting (`ready`: init reached head_wait) and still starting. */
export function headState(): { ready: number; building: number } {
  let ready = 0,
    building = 0;
  for (const h of heads.values()) {
    if (!h.warm) continue;
    if (isBuilt(h.warm)) ready++;
    else building++;
  }
  return { ready, building };
}

/** The helper pids of the waiting head starts (tests tell them from pooled sandboxes). */
export function headPids(): number[] {
  return [...heads.values()].flatMap((h) => (h.warm ? [h.warm.pid] : []));
}
