// The fds a bubblewrap caller leaves open for the command (Codex's data and
// proxy sockets at 3, 4 and 6; sandbox-runtime's --args fd): every fd this
// process inherited without close-on-exec. Node opens its own with O_CLOEXEC,
// so the flag tells them apart, whatever their numbers.
import fs from 'fs';

const O_CLOEXEC = 0o2000000;

export function inheritedFds(): number[] {
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
