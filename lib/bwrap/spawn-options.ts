// The mapped bwrap argv as spawn options for prepare() (the same path as
// `sbx-native exec`), and what --sbx-dry-run prints.
import type { BwrapArgs } from './args';
import type { Mapped } from './policy';
import type { SpawnOptions, StdioOption } from '../spawn';
import type { Prepared } from './run';
import { EXTRA_GUARDS, Guard } from '../guards';
import { EXTRA_SCRATCH, Scratch } from '../scratch';
import { EXTRA_VIEWS, View } from '../views';
import { DataFile, EXTRA_DATA_FILES } from '../data-files';
import { initDuties } from './pid1';
import { EXTRA_FRESH_NODES, FreshNode } from '../fresh-nodes';
import { EXTRA_MOVED_ROOTS, MovedRoot } from '../moved-roots';
import { EXTRA_NO_MARKER } from '../marker';

/** stdio for the helper: 0-2 and every inherited fd at its own number, minus those bubblewrap itself uses. */
export function spawnable(a: BwrapArgs, m: Mapped, inherited: number[]): { options: SpawnOptions; fds: number[] } {
  const { stdio, fds } = stdioFor(a, inherited);
  const sandbox = { ...m.sandbox } as SandboxPolicy & {
    [EXTRA_GUARDS]?: Guard[];
    [EXTRA_SCRATCH]?: Scratch[];
    [EXTRA_VIEWS]?: View[];
    [EXTRA_DATA_FILES]?: DataFile[];
    [EXTRA_FRESH_NODES]?: FreshNode[];
    [EXTRA_MOVED_ROOTS]?: MovedRoot[];
    [EXTRA_NO_MARKER]?: boolean;
  };
  if (m.unixSockets.length) {
    // Issue 13's policy key: a socket bound in by its own --bind may be connected to.
    if (policyKnows('allowUnixSockets')) (sandbox as Record<string, unknown>).allowUnixSockets = m.unixSockets;
  }
  sandbox[EXTRA_GUARDS] = m.guards;
  if (m.scratch.length) sandbox[EXTRA_SCRATCH] = m.scratch;
  if (m.views.length) sandbox[EXTRA_VIEWS] = m.views;
  if (m.dataFiles.length) sandbox[EXTRA_DATA_FILES] = m.dataFiles;
  if (m.freshNodes.length) sandbox[EXTRA_FRESH_NODES] = m.freshNodes;
  if (m.movedRoots.length) sandbox[EXTRA_MOVED_ROOTS] = m.movedRoots;
  if (a.clearedEnv) sandbox[EXTRA_NO_MARKER] = true;
  const options: SpawnOptions = { cwd: m.cwd, env: m.env, stdio, sandbox, argv0: m.argv0 };
  return { options, fds };
}

/** The command's stdio: 0-2 and the inherited fds (`fds`) at their own numbers, minus those bubblewrap itself uses. */
export function stdioFor(a: BwrapArgs, inherited: number[]): { stdio: StdioOption[]; fds: number[] } {
  const own = new Set([...a.consumedFds, a.fds.block, a.fds.info, a.fds.jsonStatus].filter((n): n is number => n !== undefined));
  const fds = inherited.filter((fd) => !own.has(fd));
  const stdio: StdioOption[] = ['inherit', 'inherit', 'inherit'];
  const top = fds.length ? fds[fds.length - 1] : 2;
  // A gap between passed fds gets /dev/null (the addon places fds by position).
  for (let i = 3; i <= top; i++) stdio.push(fds.includes(i) ? i : 'ignore');
  return { stdio, fds };
}

type SandboxPolicy = NonNullable<SpawnOptions['sandbox']>;

let known: Record<string, boolean> = {};
/** Whether resolvePolicy accepts a key (allowUnixSockets arrives with issue 13). */
export function policyKnows(key: string): boolean {
  if (key in known) return known[key];
  const { resolvePolicy } = require('../policy') as typeof import('../policy');
  try {
    resolvePolicy({ mode: 'read-only', [key]: [] } as SandboxPolicy, '/');
    known = { ...known, [key]: true };
  } catch (e) {
    known = { ...known, [key]: !/unknown key/.test((e as Error).message) };
  }
  return known[key];
}

export function dryRunJson(p: Prepared): unknown {
  const plan = {
    ...p.prepared.plan,
    steps: p.prepared.plan.steps.map((s) =>
      s.op === 'env'
        ? { op: 'env', args: [s.args[0].slice(0, s.args[0].indexOf('='))] }
        : s.op === 'data_file'
          ? { op: s.op, args: [...s.args.slice(0, 3), bytes(s.args[3])] }
          : s.op === 'fresh_node' && s.args[2] === 'file'
            ? { op: s.op, args: [...s.args.slice(0, 4), bytes(s.args[4])] }
            : s,
    ),
  };
  const counted = <T extends { data?: string }>(list: T[]) => list.map((d) => (d.data === undefined ? d : { ...d, data: bytes(d.data) }));
  const policy = {
    ...p.prepared.policy,
    dataFiles: counted(p.prepared.policy.dataFiles),
    freshNodes: counted(p.prepared.policy.freshNodes),
  };
  return {
    bwrap: {
      ops: p.args.ops.map((o) => ('data' in o ? { ...o, data: `${o.data.length} bytes` } : o)),
      unshare: p.args.unshare,
      command: p.args.command,
      argv0: p.args.argv0,
      chdir: p.args.chdir,
    },
    differences: p.mapped.notes,
    // --as-pid-1: what init enforces for this command, which is why the command is not pid 1 (docs/bwrap.md).
    ...(p.args.asPid1 ? { asPid1: { commandIsPid1: false, initEnforces: initDuties(p.prepared.plan) } } : {}),
    refusedNames: p.mapped.guards.filter((g) => g.why.startsWith('bwrap ')).map((g) => g.path),
    guarded: p.mapped.guards.filter((g) => !g.why.startsWith('bwrap ')),
    scratch: p.mapped.scratch,
    views: p.mapped.views,
    movedRoots: p.mapped.movedRoots,
    dataFiles: counted(p.mapped.dataFiles),
    freshNodes: counted(p.mapped.freshNodes),
    unixSockets: p.mapped.unixSockets,
    fds: p.fds,
    policy,
    plan,
  };
}

/** Data files' bytes are counted in a dry run, not printed (they may be large, and binary). */
function bytes(hex: string): string {
  return `${hex.length / 2} bytes`;
}
