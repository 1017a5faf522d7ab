// Reads the mount table (the only /proc/self/mountinfo parser in lib/) so the
// planner can group writable roots by the mount they live in (roots in one
// mount share one read-write bind), and doctor and the loader can look at
// mount options and filesystem types.
import fs from 'fs';

export interface MountEntry {
  id: number;
  parent: number;
  mountPoint: string;
  /** major:minor of the filesystem (field 3). */
  dev?: string;
  /** The path of the mount's root inside its filesystem (field 4). */
  root?: string;
  /** Per-mount options (field 6), e.g. ['rw', 'noexec']. */
  options?: string[];
  /** The filesystem type (after the " - " separator). */
  fsType?: string;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const dash = f.indexOf('-', 6);
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      mountPoint: unescape(f[4]),
      dev: f[2],
      root: unescape(f[3]),
      options: f[5] === undefined ? [] : f[5].split(','),
      fsType: dash > 0 ? f[dash + 1] : undefined,
    });
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
