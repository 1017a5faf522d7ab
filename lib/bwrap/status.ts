// --info-fd and --json-status-fd: what bubblewrap writes about the running
// sandbox (its pid 1 as the host sees it, the namespace ids) and, on the
// status fd, the exit code.
import fs from 'fs';
import type { BwrapArgs } from './args';
import type { SandboxStarted } from '../events';

// What bubblewrap tells, in its order: the namespaces it unshared (cgroup,
// ipc, net, pid and uts only when asked; sbx-native always makes ipc, pid and
// uts ones, and says so), the mount one always, never the user one.
const NS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'] as const;

function info(a: BwrapArgs, s: SandboxStarted): [string, number][] {
  const unshared = { cgroup: a.unshare.cgroup || a.unshare.cgroupTry, net: a.unshare.net } as Record<string, boolean>;
  const out: [string, number][] = [['child-pid', s.init]];
  for (const ns of NS) if (s.namespaces[ns] && unshared[ns] !== false) out.push([`${ns}-namespace`, s.namespaces[ns]]);
  return out;
}

function write(fd: number, text: string): void {
  try {
    fs.writeSync(fd, text);
  } catch {
    /* the reader went away: bubblewrap ignores that too */
  }
}

export function started(a: BwrapArgs, s: SandboxStarted): void {
  const i = info(a, s);
  if (a.fds.info !== undefined) {
    write(a.fds.info, `{\n${i.map(([k, v]) => `    "${k}": ${v}`).join(',\n')}\n}\n`);
    try {
      fs.closeSync(a.fds.info);
    } catch {
      /* closed already */
    }
  }
  // bubblewrap's spacing: `{ "child-pid": 123, ... }`, one document per line.
  if (a.fds.jsonStatus !== undefined) write(a.fds.jsonStatus, `{ ${i.map(([k, v]) => `"${k}": ${v}`).join(', ')} }\n`);
}

export function exited(a: BwrapArgs, code: number): void {
  if (a.fds.jsonStatus !== undefined) write(a.fds.jsonStatus, `{ "exit-code": ${code} }\n`);
}
