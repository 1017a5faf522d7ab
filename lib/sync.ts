// spawnSync and execFileSync: the same sandbox, run to completion on this
// thread by the addon (native/spawn_sync.cc), with child_process's results.
import os from 'os';
import { native } from './native';
import { encodePlan } from './plan';
import { commandOf, cwdNotDirectory, outputOptions } from './options';
import { reportError, spawnError } from './report';
import { signalName } from './signals';
import { hintFor, SandboxSetupError } from './errors';
import { childFds, prepare, SpawnOptions } from './spawn';
import { decodeEvent, Violation } from './events';
import { ViolationLog } from './violations';

export interface SpawnSyncOptions extends SpawnOptions {
  input?: string | Buffer | NodeJS.TypedArray | DataView;
  /** Decodes stdout and stderr; default 'buffer' (Buffers), as child_process. */
  encoding?: BufferEncoding | 'buffer' | null;
  /** Bytes allowed on stdout or stderr; past it the command is killed and `error` is ENOBUFS (default 1 MiB). */
  maxBuffer?: number;
}

export interface SpawnSyncReturns<T = Buffer | string> {
  pid: number;
  output: [null, T | null, T | null] | null;
  stdout: T | null;
  stderr: T | null;
  status: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
  /** What the sandbox refused, as spawn()'s child.violations: each distinct refusal once, with its count (at most 64). Not enumerable. */
  violations: Violation[];
  /** Distinct refusals past the 64 listed. */
  violationsDropped: number;
}

const DEFAULT_MAX_BUFFER = 1024 * 1024;

/**
 * The result with `violations` and `violationsDropped`, not enumerable: the
 * object prints, spreads and compares as child_process's does.
 */
function withViolations(r: Omit<SpawnSyncReturns, 'violations' | 'violationsDropped'>, log: ViolationLog): SpawnSyncReturns {
  return Object.defineProperties(r, {
    violations: { value: log.violations, enumerable: false },
    violationsDropped: { value: log.dropped, enumerable: false },
  }) as SpawnSyncReturns;
}

/** Like child_process.spawnSync: blocks until the command has ended; failures are in `error`, never thrown (except bad arguments). */
export function spawnSync(file: string, args?: readonly string[] | SpawnSyncOptions, options?: SpawnSyncOptions): SpawnSyncReturns {
  if (!Array.isArray(args)) {
    options = args as SpawnSyncOptions | undefined;
    args = [];
  }
  const opts = options ?? {};
  if (opts.signal !== undefined)
    throw new TypeError('The "signal" option is not supported by spawnSync (nothing can abort a blocked thread); use spawn');
  if (opts.interactive) throw new TypeError('The "interactive" option needs spawn: a terminal\'s job control needs the event loop');
  const cmd = commandOf(file, args as string[], opts);
  // Never pooled (a blocked thread cannot wait for a refill); `pool` is still checked.
  if (opts.pool !== undefined && typeof opts.pool !== 'boolean')
    throw new TypeError(`The "pool" option must be a boolean, got ${JSON.stringify(opts.pool)}`);
  const killSignal = cmd.killSignal;
  const { maxBuffer, encoding } = outputOptions(opts, { maxBuffer: DEFAULT_MAX_BUFFER, encoding: undefined });
  const spawnargs = [...cmd.args];
  const fail = (error: Error, pid = 0): SpawnSyncReturns =>
    withViolations({ error, status: null, signal: null, output: null, pid, stdout: null, stderr: null }, new ViolationLog());
  // A cwd that is not a directory: child_process's spawnSync reports it in `error`.
  if (cwdNotDirectory(opts.cwd)) return fail(spawnError('ENOTDIR', -os.constants.errno.ENOTDIR, cmd.file, spawnargs, 'spawnSync'));
  const prepared = prepare(cmd.file, cmd.args, opts);
  const [fds, toClose] = childFds(opts.stdio ?? 'pipe');
  if (fds.includes(-2)) {
    for (const fd of toClose) require('fs').closeSync(fd);
    throw new TypeError("spawnSync: 'pipe' on fd 3 and up and 'ipc' need spawn (a blocked thread cannot serve them)");
  }
  const input =
    opts.input === undefined
      ? null
      : typeof opts.input === 'string'
        ? Buffer.from(opts.input, encoding ?? 'utf8')
        : Buffer.from(opts.input.buffer, opts.input.byteOffset, opts.input.byteLength);
  const { binding, helper } = native();
  let r;
  try {
    r = binding.spawnSync(
      helper,
      encodePlan(prepared.plan),
      fds,
      !!(opts.ownProcessGroup || opts.detached),
      input,
      opts.timeout ?? 0,
      killSignal,
      maxBuffer === Infinity ? 0 : maxBuffer,
    );
  } catch (e) {
    const err = e as { errno?: number; syscall?: string };
    return fail(new SandboxSetupError('start-helper', -(err.errno ?? 0), err.syscall ?? 'spawn', hintFor('start-helper', err.errno ?? 0)));
  } finally {
    for (const fd of toClose) require('fs').closeSync(fd);
  }
  if (r.report) {
    const error = reportError(r.report, prepared.plan, cmd.file, spawnargs, 'spawnSync');
    return fail(error, error instanceof SandboxSetupError ? r.pid : 0);
  }
  const log = new ViolationLog();
  for (const record of r.events ?? []) log.take(decodeEvent(record));
  log.dropped += r.eventsDropped ?? 0;
  const decode = (b: Buffer | null) => (b && encoding ? b.toString(encoding) : b);
  const stdout = decode(r.stdout);
  const stderr = decode(r.stderr);
  const out = withViolations(
    {
      pid: r.pid,
      output: [null, stdout, stderr],
      stdout,
      stderr,
      status: r.signal ? null : r.code,
      signal: r.signal ? signalName(r.signal) : null,
    },
    log,
  );
  if (r.timedOut) out.error = spawnError('ETIMEDOUT', -os.constants.errno.ETIMEDOUT, cmd.file, spawnargs, 'spawnSync');
  else if (r.tooMuch) out.error = spawnError('ENOBUFS', -os.constants.errno.ENOBUFS, cmd.file, spawnargs, 'spawnSync');
  return out;
}

/**
 * Like child_process.execFileSync: returns stdout; throws the spawn error, or
 * an Error with status, signal, output, stdout and stderr for a non-zero
 * exit or a signal. stderr goes to this process's stderr unless `stdio` says.
 */
export function execFileSync(file: string, args?: readonly string[] | SpawnSyncOptions, options?: SpawnSyncOptions): Buffer | string {
  if (!Array.isArray(args)) {
    options = args as SpawnSyncOptions | undefined;
    args = [];
  }
  const opts = options ?? {};
  const inheritStderr = opts.stdio === undefined;
  const r = spawnSync(file, args as string[], { ...opts, stdio: opts.stdio ?? 'pipe' });
  if (inheritStderr && r.stderr && r.stderr.length) process.stderr.write(r.stderr);
  const failed =
    r.error ??
    (r.status !== 0
      ? new Error(`Command failed: ${[file, ...(args as string[])].join(' ')}${r.stderr?.length ? `\n${r.stderr.toString()}` : ''}`)
      : undefined);
  if (failed) {
    Object.assign(failed, {
      status: r.status,
      signal: r.signal,
      output: r.output,
      pid: r.pid,
      stdout: r.stdout,
      stderr: r.stderr,
      violations: r.violations,
    });
    throw failed;
  }
  return r.stdout!;
}
