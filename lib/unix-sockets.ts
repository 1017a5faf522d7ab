// The unix-socket rule (docs/policy.md "Unix sockets"): a sandboxed process
// reaches a pathname unix socket (connect, or a datagram sent to an address)
// only when a process of the same sandbox bound it, or when it is at or
// below a path of `allowUnixSockets`. Init enforces it (docs/supervisor.md);
// this file resolves the policy's list and says what the plan grants.
import path from 'path';
import { FsView, realOrUndefined } from './fsview';

/**
 * `allowUnixSockets` (paths policy.ts checked) resolved: each path with its symlinks resolved (init
 * compares the real path of the socket file it found), or as given, made
 * canonical, when it does not exist yet (a socket a host daemon makes later).
 */
export function resolveAllowUnixSockets(checked: string[], view: FsView): string[] {
  return [...new Set(checked.map((p) => realOrUndefined(view, p) ?? path.normalize(p)))].sort();
}

const under = (p: string, dir: string) => dir === '/' || p === dir || p.startsWith(`${dir}/`);

/** Whether a daemon-socket mask (policy.ts daemonSockets) would hide an allowed socket: then it is not made. */
export function masksAllowed(mask: string, allowed: string[]): boolean {
  return allowed.some((a) => under(a, mask) || under(mask, a));
}
