// Whether this process's mount table may have changed: the kernel marks a
// poll on /proc/self/mountinfo at every mount, unmount and change of a
// mount's flags (mount_setattr and remount included). The pool skips
// re-reading the table by it, and a plan reuses the table a previous plan
// read by it: formatting and parsing the table is a tenth of a first spawn's
// planning, and most spawns see the table the previous one saw.
import { native } from './native';
import { MountEntry, readMountInfo } from './mountinfo';

let watchFd: number | undefined;
let generation = 0;

/**
 * A number that changes whenever this process's mount table may have
 * changed since the previous call (-1: cannot tell). Taken before a plan
 * reads the mounts, equal later: the table is the one the plan saw.
 */
export function mountGeneration(): number {
  const b = native().binding;
  if (!b.mountWatch || !b.mountsChanged) return -1;
  watchFd ??= b.mountWatch();
  if (watchFd < 0) return -1;
  if (b.mountsChanged(watchFd)) generation++;
  return generation;
}

let cached: { generation: number; mounts: readonly MountEntry[] } | undefined;

/**
 * readMountInfo(), read again only when the table may have changed since the
 * last read (always, where that cannot be told). The generation is taken
 * before the read, so a change during it makes the next call read again.
 * Each caller gets its own copy: a planner may not alter what the next one sees.
 */
export function currentMounts(): MountEntry[] {
  const gen = mountGeneration();
  if (gen < 0 || cached?.generation !== gen) {
    const mounts = readMountInfo();
    cached = gen < 0 ? undefined : { generation: gen, mounts };
    return copy(mounts);
  }
  return copy(cached.mounts);
}

function copy(mounts: readonly MountEntry[]): MountEntry[] {
  return mounts.map((m) => ({ ...m, options: m.options && [...m.options] }));
}
