// The fds a bubblewrap caller leaves open for the command (Codex's data and
// proxy sockets at 3, 4 and 6; sandbox-runtime's --args fd): those the
// installed shim lists, else (sbx-native bwrap started directly) every fd
// without close-on-exec, which misses the low ones Node marks at start-up.
import fs from 'fs';

const O_CLOEXEC = 0o2000000;

export function inheritedFds(env: NodeJS.ProcessEnv = process.env): number[] {
  // The installed shim lists them before Node starts: Node marks low inherited
  // fds close-on-exec at start-up, which makes the flag below miss them.
  const listed = env.SBX_BWRAP_FDS;
  if (listed !== undefined)
    return listed
      .split(',')
      .filter(Boolean)
      .map(Number)
      .filter((fd) => fd > 2 && isOpen(fd))
      .sort((a, b) => a - b);
  const out: number[] = [];
  let names: string[];
  try {
    names = fs.readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const name of names) {
    const fd = Number(name);
    if (!(fd > 2)) continue;
    let info: string;
    try {
      info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // the directory's own fd, closed again
    }
    const flags = /^flags:\s*([0-7]+)/m.exec(info);
    if (flags && (parseInt(flags[1], 8) & O_CLOEXEC) === 0) out.push(fd);
  }
  return out.sort((a, b) => a - b);
}

function isOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}
