// `sbx-native bwrap [OPTIONS] [--] COMMAND [ARGS]`: bubblewrap's command line
// run on sbx-native. Parse (args.ts) -> map (policy.ts) -> prepare the plan as
// `exec` does -> run, with bubblewrap's messages and exit statuses.
import fs from 'fs';
import os from 'os';
import { BwrapArgs, BwrapError, parseBwrapArgs } from './args';
import { extraUnshareOf, mapBwrap, Mapped } from './policy';
import { HELP, VERSION } from './help';
import { inheritedFds } from './fds';
import { restoreStashed } from './shim-env';
import { realOrUndefined, realView } from '../fsview';
import type { PreparedSpawn, SpawnOptions } from '../spawn';
import type { EarlyHead } from '../head-start';

const OWN_ENV = ['SBX_BWRAP_FDS', 'SBX_BWRAP_SELF', 'SBX_BWRAP_PARENT'];

let levelPrefix = false;

function die(message: string): never {
  process.stderr.write(`${levelPrefix ? '<3>' : ''}bwrap: ${message}\n`);
  process.exit(1);
}

function warn(message: string): void {
  process.stderr.write(`${levelPrefix ? '<4>' : ''}bwrap: ${message}\n`);
}

/** Reads an fd to its end without closing it (bubblewrap's load_file_data). */
export function readFdFully(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

export interface Prepared {
  args: BwrapArgs;
  mapped: Mapped;
  prepared: PreparedSpawn;
  options: SpawnOptions;
  fds: number[];
  /** The helper started while the plan was made (`headStart`), if one was. */
  early?: EarlyHead;
}

/**
 * Argv -> everything needed to run it; throws BwrapError. Exported for tests
 * and --sbx-dry-run. `headStart`: the argv is to be run, so the helper's
 * start may begin before the plan (lib/head-start.ts).
 */
export function prepareBwrap(argv: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), headStart = false): Prepared {
  const cleanEnv: Record<string, string | undefined> = { ...env };
  for (const k of OWN_ENV) delete cleanEnv[k];
  restoreStashed(cleanEnv);
  const uid = process.getuid!();
  const args = parseBwrapArgs(argv, { readFd: readFdFully, env: cleanEnv, uid, gid: process.getgid!() });
  if (args.action) return { args } as Prepared;
  for (const fd of args.consumedFds) fs.closeSync(fd); // bubblewrap closes what it read
  // The fds bubblewrap itself writes to or waits on must be open: failing later would be after the command started.
  for (const [opt, fd] of [
    ['--info-fd', args.fds.info],
    ['--json-status-fd', args.fds.jsonStatus],
    ['--block-fd', args.fds.block],
    ['--sync-fd', args.fds.sync],
  ] as const) {
    if (fd === undefined) continue;
    try {
      fs.fstatSync(fd);
    } catch {
      throw new BwrapError(`Can't use ${opt} ${fd}: Bad file descriptor`);
    }
  }
  // The helper's exec, namespaces, id maps and init, while the argv is mapped
  // and planned: it holds nothing of the policy, and a plan that does not
  // begin with its head (a hostname, --uid, an info fd...) discards it.
  const inherited = inheritedFds();
  let early: EarlyHead | undefined;
  if (headStart) {
    const { headable, startEarlyHead } = require('../head-start') as typeof import('../head-start');
    const { stdioFor } = require('./spawn-options') as typeof import('./spawn-options');
    if (headable(stdioFor(args, inherited).stdio)) early = startEarlyHead(!args.unshare.net, true, extraUnshareOf(args));
  }
  const mapped = mapBwrap(args, { cwd, uid });
  // What runs the next sandbox stays read-only in this one: the installed script and the Node it names.
  for (const [p, why] of [
    [env.SBX_BWRAP_SELF, 'the installed bwrap'],
    [process.execPath, 'the Node that runs the installed bwrap'],
  ] as const) {
    if (!p || !p.startsWith('/')) continue;
    const real = realOrUndefined(realView, p); // undefined when gone: nothing to keep
    if (real) mapped.guards.push({ path: real, why });
  }
  const { spawnable } = require('./spawn-options') as typeof import('./spawn-options');
  const { options, fds } = spawnable(args, mapped, inherited);
  const { prepare } = require('../spawn') as typeof import('../spawn');
  const { PolicyError } = require('../policy') as typeof import('../policy');
  let prepared: PreparedSpawn;
  try {
    prepared = prepare(mapped.file, mapped.args, options);
  } catch (e) {
    if (e instanceof PolicyError) throw new BwrapError(`${e.message} (from the bwrap arguments)`);
    if ((e as { code?: string }).code === 'SBX_SETUP_FAILED')
      throw new BwrapError(`${(e as Error).message}${(e as { hint?: string }).hint ? `; ${(e as { hint?: string }).hint}` : ''}`);
    throw e;
  }
  if (mapped.uid !== undefined || mapped.gid !== undefined) {
    // bubblewrap's --uid/--gid: the caller's one id is mapped to another inside (the map_ids step's inside ids).
    const step = prepared.plan.steps.find((s) => s.op === 'map_ids');
    if (!step) throw new BwrapError('Specifying --uid or --gid: this host gives no user namespace (run `sbx-native doctor`)');
    if (mapped.uid !== undefined) step.args[0] = String(mapped.uid);
    if (mapped.gid !== undefined) step.args[2] = String(mapped.gid);
  }
  if (mapped.hostname !== undefined) {
    const at = prepared.plan.steps.findIndex((s) => s.op === 'map_ids');
    if (at < 0)
      throw new BwrapError(`Can't set hostname to ${mapped.hostname}: this host gives no UTS namespace (run \`sbx-native doctor\`)`);
    prepared.plan.steps.splice(at + 1, 0, { op: 'sethostname', args: [mapped.hostname] });
  }
  // --info-fd, --json-status-fd: the monitor tells the ids (lib/bwrap/status.ts) while the sandbox surely exists.
  if (args.fds.info !== undefined || args.fds.jsonStatus !== undefined) {
    const at = prepared.plan.steps.findIndex((s) => s.op === 'unshare');
    if (at >= 0) prepared.plan.steps.splice(at + 1, 0, { op: 'report_started', args: [] });
  }
  if (mapped.lockFiles.length) {
    // Init takes them once the sandbox's mounts are done, as bubblewrap's pid 1 does, and holds them until it ends.
    const at = prepared.plan.steps.findIndex((s) => s.op === 'make_rprivate');
    if (at < 0)
      throw new BwrapError(`Unable to lock file ${mapped.lockFiles[0]}: this host gives no pid namespace (run \`sbx-native doctor\`)`);
    prepared.plan.steps.splice(at + 1, 0, ...mapped.lockFiles.map((f) => ({ op: 'lock_file' as const, args: [f] })));
  }
  if (mapped.extraUnshare) {
    const step = prepared.plan.steps.find((s) => s.op === 'unshare');
    if (step) step.args[0] = String(Number(step.args[0]) | mapped.extraUnshare);
  }
  return { args, mapped, prepared, options, fds, early };
}

// The parent this process was started by (--die-with-parent checks it is still there): the
// installed script's own parent, which it says, or else Node's when this module loads.
const parent = Number(process.env.SBX_BWRAP_PARENT) || process.ppid;

export function bwrapMain(argv: string[]): void {
  let dryRun = false;
  if (argv[0] === '--install') {
    const { installMain } = require('./install') as typeof import('./install');
    return installMain(argv.slice(1));
  }
  if (argv[0] === '--sbx-dry-run') {
    dryRun = true;
    argv = argv.slice(1);
  }
  levelPrefix = argv.includes('--level-prefix');
  if (argv.length === 0) {
    process.stderr.write(HELP('bwrap'));
    process.exit(1);
  }
  let p: Prepared;
  try {
    p = prepareBwrap(argv, process.env, process.cwd(), !dryRun);
  } catch (e) {
    if (e instanceof BwrapError) {
      if (e.message === 'usage') {
        process.stderr.write(HELP('bwrap'));
        process.exit(1);
      }
      die(e.message);
    }
    throw e;
  }
  if (p.args.action === 'help') return void process.stdout.write(HELP('bwrap'));
  if (p.args.action === 'version') return void process.stdout.write(VERSION);
  for (const w of p.args.warnings) warn(w);
  if (p.prepared.enforcement.level !== 'full')
    die(`this host cannot enforce a full sandbox (${p.prepared.enforcement.missing.join('; ')}); run \`sbx-native doctor\``);
  if (dryRun) {
    const { dryRunJson } = require('./spawn-options') as typeof import('./spawn-options');
    process.stdout.write(JSON.stringify(dryRunJson(p), null, 2) + '\n');
    return;
  }
  if (p.args.fds.block !== undefined) blockOn(p.args.fds.block);
  if (p.mapped.setup.length) {
    const { runSetup } = require('./setup') as typeof import('./setup');
    const failed = runSetup(p.mapped.setup, p.options as import('../sync').SpawnSyncOptions);
    if (failed) die(failed);
  }
  run(p);
}

/** --block-fd: wait until there is something to read (or EOF) before the command starts. */
function blockOn(fd: number): void {
  try {
    fs.readSync(fd, Buffer.alloc(1), 0, 1, null);
  } catch (e) {
    die(`Can't read from --block-fd ${fd}: ${(e as Error).message}`);
  }
}

/** --die-with-parent: bubblewrap's launcher dies with its own parent too, so a client killed with SIGKILL takes the sandbox along. */
function dieWithParent(parent: number): void {
  const { native } = require('../native') as typeof import('../native');
  const err = native().binding.dieWithParent(parent);
  if (err === os.constants.errno.ESRCH) process.kill(process.pid, 'SIGKILL'); // the parent is gone already: no signal will come
  if (err) die(`prctl: ${(require('../errors') as typeof import('../errors')).errnoName(err)}`);
}

function run(p: Prepared): void {
  if (p.args.dieWithParent) dieWithParent(parent);
  const { spawnPrepared } = require('../spawn') as typeof import('../spawn');
  const child = spawnPrepared(p.prepared, { ...p.options, ownProcessGroup: true }, p.early);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, () => child.kill(sig));
  const status = require('./status') as typeof import('./status');
  child.on('sandbox-started', (s: import('../events').SandboxStarted) => status.started(p.args, s));
  child.on('error', (e: NodeJS.ErrnoException & { step?: string; hint?: string }) => {
    if (e.code === 'SBX_SETUP_FAILED') die(`${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'ENOEXEC' || e.code === 'EISDIR') {
      die(
        `execvp ${p.mapped.file}: ${os.constants.errno[e.code as keyof typeof os.constants.errno] !== undefined ? describeErrno(e.code) : e.message}`,
      );
    }
    die(e.message);
  });
  child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
    const exit = code ?? 128 + (os.constants.signals[signal!] ?? 0);
    status.exited(p.args, exit);
    process.exit(exit);
  });
}

function describeErrno(code: string): string {
  return (
    (
      {
        ENOENT: 'No such file or directory',
        EACCES: 'Permission denied',
        ENOEXEC: 'Exec format error',
        EISDIR: 'Is a directory',
      } as Record<string, string>
    )[code] ?? code
  );
}
