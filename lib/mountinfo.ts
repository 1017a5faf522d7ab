// Reads the mount table so the planner can group writable roots by the mount
// they live in: roots in one mount share one read-write bind.
import fs from 'fs';

export interface MountEntry {
  id: number;
  parent: number;
  mountPoint: string;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    out.push({ id: Number(f[0]), parent: Number(f[1]), mountPoint: unescape(f[4]) });
  }
  return out;
}

export function readMountInfo(): MountEntry[] {
  return parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

export function isUnder(p: string, dir: string): boolean {
  return dir === '/' ? p.startsWith('/') : p === dir || p.startsWith(dir + '/');
}

/** The mount that holds `p` (a resolved absolute path): the deepest mount point above it, the last one stacked there. */
export function mountOf(p: string, mounts: MountEntry[]): MountEntry {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    if (!isUnder(p, m.mountPoint)) continue;
    if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  if (!best) throw new Error(`no mount holds ${p}`);
  return best;
}
