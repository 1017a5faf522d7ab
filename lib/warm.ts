// A helper started ahead that waits on a socket for the rest of its plan:
// a pooled sandbox (lib/pool.ts, the pool_wait step) or a head start
// (lib/head-start.ts, head_wait). Starting one, telling whether it is ready,
// handing it its steps and stdio, and discarding it are the same for both.
import fs from 'fs';
import { native } from './native';
import { encodePlan, Plan } from './plan';

/** A helper waiting for its steps: the helper (monitor) and what spawn() watches it by. */
export interface Warm {
  pid: number;
  pidfd: number;
  errorFd: number;
  eventsFd: number;
  ctl: number;
  /** processState() as it was started: what it inherited besides the key's ids. */
  state: string;
  /** It has reached its waiting step (isBuilt). */
  built?: boolean;
}

/** Reaps a discarded helper without keeping the event loop alive (lib/spawn.ts's, set once). */
let reap: ((pidfd: number, errorFd: number, eventsFd: number) => void) | undefined;

export function setReaper(fn: (pidfd: number, errorFd: number, eventsFd: number) => void): void {
  reap ??= fn;
}

/**
 * Starts the helper on `plan`, whose last step waits: `fds` as binding.spawn
 * takes them, one of them (-2) the socket it waits on, at index `ctlAt`.
 * Undefined when no helper can be started now.
 */
export function startWarm(plan: Plan, fds: number[], ctlAt: number, ownProcessGroup: boolean): Warm | undefined {
  const { binding, helper } = native();
  try {
    const state = binding.processState!();
    const res = binding.spawn(helper, encodePlan(plan), fds, ownProcessGroup);
    for (const fd of res.pipes) if (fd >= 0) fs.closeSync(fd);
    res.sockets.forEach((fd, i) => i !== ctlAt && fd >= 0 && fs.closeSync(fd));
    return { pid: res.pid, pidfd: res.pidfd, errorFd: res.errorFd, eventsFd: res.eventsFd, ctl: res.sockets[ctlAt], state };
  } catch {
    return undefined;
  }
}

/** Whether it has reached its waiting step (it writes one byte on its socket there). */
export function isBuilt(w: Warm): boolean {
  if (!w.built && w.ctl >= 0) w.built = native().binding.poolReady!(w.ctl);
  return !!w.built;
}

/** Found dead (failed to set up, or killed). */
export function hasExited(w: Warm): boolean {
  return native().binding.pidfdExited!(w.pidfd);
}

/** An unused helper goes: its waiting process reads EOF and exits, then the rest of it. */
export function discard(w: Warm): void {
  if (w.ctl >= 0) fs.closeSync(w.ctl);
  w.ctl = -1;
  reap!(w.pidfd, w.errorFd, w.eventsFd);
}

/**
 * Gives the helper the plan's steps after its waiting step (pool_wait or
 * head_wait) and the stdio fds (-1 / -2: make a pipe / socketpair, as
 * binding.spawn does).
 */
export function handOff(
  w: Warm,
  plan: Plan,
  fds: number[],
): { pid: number; pidfd: number; errorFd: number; eventsFd: number; pipes: number[]; sockets: number[] } {
  const at = plan.steps.findIndex((s) => s.op === 'pool_wait' || s.op === 'head_wait');
  try {
    // A slot left closed (stdio 'ignore' on fd 3 and up) has no fd to send.
    if (at < 0 || fds.includes(-3)) throw new Error('handOff: not a plan for a waiting helper, or a closed stdio slot');
    const sent = native().binding.poolSend!(w.ctl, encodePlan({ ...plan, steps: plan.steps.slice(at + 1) }), fds);
    return { pid: w.pid, pidfd: w.pidfd, errorFd: w.errorFd, eventsFd: w.eventsFd, ...sent };
  } finally {
    fs.closeSync(w.ctl);
    w.ctl = -1;
  }
}
