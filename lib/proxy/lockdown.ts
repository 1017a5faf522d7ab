// The proxy process confines itself before it serves (lib/proxy/seccomp.ts),
// then says so on its ready fd: the monitor's proxy_ready step waits for
// that "R", so a proxy that could not confine itself fails the sandbox's setup
// (native/helper/ops_proxy.cc) and the command never runs.
import fs from 'fs';
import { proxyProgram } from './program';

/** Where the proxy finds the write end of the monitor's status pipe (ops_proxy.cc kReadyFd). */
export const READY_FD = 7;

/** Installs the proxy's program on every thread with `addon` (the caller's addon file, lib/proxy/plan.ts); throws saying what failed. */
export function lockdown(addon: string): void {
  const binding = require(addon) as { seccompSelf(prog: Buffer): number };
  const prog = proxyProgram(process.pid);
  const r = binding.seccompSelf(prog);
  if (r < 0) throw Object.assign(new Error(`seccomp(SECCOMP_FILTER_FLAG_TSYNC): thread ${-r} could not take the filter`), { errno: 11 });
  if (r > 0) throw Object.assign(new Error('seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)'), { errno: r });
}

/** Tells the monitor: `err` undefined once confined, or why not (then the setup fails with it). */
export function reportReady(err?: Error & { errno?: number }): void {
  try {
    fs.writeSync(READY_FD, err ? `E${err.errno ?? 1} ${err.message}` : 'R');
    fs.closeSync(READY_FD);
  } catch {
    /* the monitor is gone: nothing waits */
  }
}
