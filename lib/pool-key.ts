// What a pooled sandbox is keyed by: the options, host facts and process
// state a plan is built from (planKey), the stdio shape a waiting sandbox was
// set up for (stdioShape), and which environment variables the policy read
// (recordingEnv). lib/pool.ts holds the sandboxes; lib/pool-check.ts re-checks
// the file-system observations.
import fs from 'fs';
import path from 'path';
import { native } from './native';
import { hostFacts } from './host';

/** The spawn options the pool looks at. */
export interface PoolSpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  sandbox?: unknown;
  allowDegraded?: boolean;
  interactive?: boolean;
  ownProcessGroup?: boolean;
  argv0?: string;
  stdio?: unknown;
  pool?: boolean;
}

/** The pooled sandbox's stdio count and, for fds 0-2, whether each is /dev/null ('n') or not a character device ('x'). */
export interface StdioShape {
  count: number;
  shape: string;
}

let devNullRdev: number | undefined;

/**
 * landlock_stdio grants rights on character devices found on fds 0-2 when
 * Landlock is set up, which a pooled sandbox did with placeholders: so a
 * command is pooled only if its fds 0-2 are /dev/null where the
 * placeholders were /dev/null, and no character device elsewhere (a
 * terminal on stdout is never pooled). Undefined: not poolable.
 */
export function stdioShape(stdio: unknown): StdioShape | undefined {
  const list: unknown[] =
    stdio === undefined || typeof stdio === 'string'
      ? [stdio ?? 'pipe', stdio ?? 'pipe', stdio ?? 'pipe']
      : Array.isArray(stdio)
        ? [...stdio]
        : [];
  if (!Array.isArray(stdio) && stdio !== undefined && typeof stdio !== 'string') return undefined;
  while (list.length < 3) list.push('pipe');
  if (list.length > 64) return undefined;
  let shape = '';
  for (let i = 0; i < 3; i++) {
    const s = list[i];
    if (s === 'pipe' || s === 'overlapped' || s === 'ipc' || s === null || s === undefined) shape += 'x';
    else if (s === 'ignore') shape += 'n';
    else {
      const fd =
        s === 'inherit'
          ? i
          : typeof s === 'number'
            ? s
            : typeof s === 'object' && typeof (s as { fd?: unknown }).fd === 'number'
              ? (s as { fd: number }).fd
              : undefined;
      if (fd === undefined || !Number.isInteger(fd) || fd < 0) return undefined;
      let st: fs.Stats;
      try {
        st = fs.fstatSync(fd);
      } catch {
        return undefined;
      }
      if (!st.isCharacterDevice()) shape += 'x';
      else {
        devNullRdev ??= fs.statSync('/dev/null').rdev;
        if (st.rdev !== devNullRdev) return undefined;
        shape += 'n';
      }
    }
  }
  return { count: list.length, shape };
}

/**
 * Everything a plan is built from besides the host's file system and the
 * command's environment (both checked separately): the policy and options,
 * the host facts, the ids and groups a helper inherits from this process
 * (Node can change them), the stdio shape. The rest a helper inherits
 * (processState) is each waiting sandbox's own, taken as it is started and
 * compared at its hand-out (lib/pool.ts): a first spawn of a policy, which
 * no sandbox waits for, does not read it.
 */
export function planKey(options: PoolSpawnOptions, stdio: StdioShape): string | undefined {
  let sandbox: string;
  try {
    sandbox = JSON.stringify(options.sandbox ?? null);
  } catch {
    return undefined;
  }
  const allowDegraded = !!options.allowDegraded;
  const facts = hostFacts(allowDegraded);
  return JSON.stringify([
    sandbox,
    path.resolve(options.cwd ?? process.cwd()),
    allowDegraded,
    !!options.ownProcessGroup,
    process.getuid!(),
    process.getgid!(),
    process.geteuid!(),
    process.getegid!(),
    process.getgroups!(),
    facts,
    native().helper,
    stdio.count,
    stdio.shape,
  ]);
}

export function recordingEnv(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; reads: Map<string, string | undefined>; all: boolean } {
  const reads = new Map<string, string | undefined>();
  const log = { env: env, reads, all: false };
  log.env = new Proxy(env, {
    get(t, k) {
      const v = Reflect.get(t, k);
      if (typeof k === 'string' && !reads.has(k)) reads.set(k, v === undefined ? undefined : String(v));
      return v;
    },
    has(t, k) {
      if (typeof k === 'string' && !reads.has(k)) reads.set(k, Reflect.get(t, k) as string | undefined);
      return Reflect.has(t, k);
    },
    ownKeys(t) {
      log.all = true;
      return Reflect.ownKeys(t);
    },
    getOwnPropertyDescriptor(t, k) {
      if (typeof k === 'string' && !reads.has(k)) reads.set(k, Reflect.get(t, k) as string | undefined);
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
  });
  return log;
}

export function envSnapshot(env: NodeJS.ProcessEnv): string {
  return JSON.stringify(
    Object.entries(env)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
