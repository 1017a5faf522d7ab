// --info-fd and --json-status-fd: what bubblewrap writes about the running
// sandbox (its pid 1 as the host sees it, the namespace ids) and, on the
// status fd, the exit code.
import fs from 'fs';
import type { BwrapArgs } from './args';

const NS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts', 'user'];

function initPid(monitor: number): number | undefined {
  try {
    const kids = fs.readFileSync(`/proc/${monitor}/task/${monitor}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

function info(monitor: number): Record<string, number> {
  // The helper (the monitor) made every namespace but the pid one, which its
  // children are in: its own links stay readable for as long as the sandbox lives.
  const out: Record<string, number> = { 'child-pid': initPid(monitor) ?? monitor };
  for (const ns of NS) {
    try {
      out[`${ns}-namespace`] = Number(fs.statSync(`/proc/${monitor}/ns/${ns === 'pid' ? 'pid_for_children' : ns}`, { bigint: true }).ino);
    } catch {
      /* not visible: left out, as bubblewrap leaves out what it cannot stat */
    }
  }
  return out;
}

function write(fd: number, text: string): void {
  try {
    fs.writeSync(fd, text);
  } catch {
    /* the reader went away: bubblewrap ignores that too */
  }
}

export function started(a: BwrapArgs, monitor: number): void {
  if (a.fds.info === undefined && a.fds.jsonStatus === undefined) return;
  const i = info(monitor);
  if (a.fds.info !== undefined) {
    write(
      a.fds.info,
      `{\n${Object.entries(i)
        .map(([k, v]) => `    "${k}": ${v}`)
        .join(',\n')}\n}\n`,
    );
    try {
      fs.closeSync(a.fds.info);
    } catch {
      /* closed already */
    }
  }
  // bubblewrap's spacing: `{ "child-pid": 123, ... }`, one document per line.
  if (a.fds.jsonStatus !== undefined)
    write(
      a.fds.jsonStatus,
      `{ ${Object.entries(i)
        .map(([k, v]) => `"${k}": ${v}`)
        .join(', ')} }\n`,
    );
}

export function exited(a: BwrapArgs, code: number): void {
  if (a.fds.jsonStatus !== undefined) write(a.fds.jsonStatus, `{ "exit-code": ${code} }\n`);
}
