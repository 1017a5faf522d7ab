// spawn() and run(): a ChildProcess-like object around the helper. Exit comes
// from the addon's pidfd watcher, setup failures from the error pipe.
import { AsyncResource } from 'async_hooks';
import { EventEmitter } from 'events';
import fs from 'fs';
import os from 'os';
import { Readable, Writable } from 'stream';
import { native } from './native';
import { encodePlan, Plan } from './plan';
import { hintFor, SandboxSetupError } from './errors';
import { reportError } from './report';
import { decodeEvent } from './events';
import { ViolationLog } from './violations';
import { IpcChannel } from './ipc';
import { signalName, signalNumber } from './signals';
import type { Enforcement } from './host';
import { abortError, commandOf, cwdNotDirectory } from './options';
import { preparePooled, PoolDeps } from './pool';
import { discard, handOff, setReaper, Warm } from './warm';
import { EarlyHead, headable, inEarlyHead } from './head-start';
import { prepare, prepareWith, PreparedSpawn } from './prepare';
import type { SpawnOptions } from './spawn-options';
import { checkTerminal, childFds } from './stdio';
import { unwatch, watchExit } from './exit-watch';

// Where callers have always found them.
export { landlockAbi, prepare, prepareWith } from './prepare';
export type { PreparedSpawn } from './prepare';
export type { SpawnOptions, StdioOption } from './spawn-options';
export { childFds } from './stdio';

const poolDeps: PoolDeps = {
  prepareWith: (view, file, args, options, policyEnv) => prepareWith(view, file, args, options as SpawnOptions, policyEnv),
  reap(pidfd, errorFd, eventsFd) {
    const { binding } = native();
    const id = watchExit(
      {
        _onExec() {},
        _onEvent() {},
        _onExit() {
          unwatch(id);
          binding.close(pidfd);
        },
      },
      pidfd,
      errorFd,
      eventsFd,
      false,
    );
  },
};

/** Behaves like child_process.ChildProcess: 'spawn', 'error', 'exit', 'close'. */
export class SandboxedProcess extends EventEmitter {
  pid: number | undefined;
  stdin: Writable | null = null;
  stdout: Readable | null = null;
  stderr: Readable | null = null;
  /** stdin, stdout, stderr, then fd 3 and up: a duplex socket where stdio said 'pipe' (or 'ipc'), else null. */
  stdio: [Writable | null, Readable | null, Readable | null, ...(import('net').Socket | null)[]];
  /** The 'ipc' channel, when stdio has one: send(), 'message', disconnect(), as with child_process.fork. */
  channel: IpcChannel | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killed = false;
  readonly spawnfile: string;
  readonly spawnargs: string[];
  /** Writable roots that did not exist (not created, not fatal). */
  readonly missingRoots: string[];
  /**
   * Refusals the sandbox itself decided (protected paths, directories on the
   * way to them, metadata outside the roots), each distinct one once with how
   * often it was tried; also a 'violation' event as each first happens. At
   * most 64 distinct ones; `violationsDropped` counts the rest.
   */
  private readonly log = new ViolationLog();
  get violations(): import('./events').Violation[] {
    return this.log.violations;
  }
  /** Distinct refusals past the 64 listed. */
  get violationsDropped(): number {
    return this.log.dropped;
  }
  /** The enforcement level used, and what it leaves out compared with 'full'. */
  readonly enforcement: Enforcement;
  readonly plan: Plan;

  private pidfd = -1;
  private exited = false;
  private closeEmitted = false;
  private watchId = 0;
  private jobControl = false;
  private onContinue: (() => void) | undefined;
  /** The 'error' already emitted for a report (a setup failure, or a spawn error like ENOENT). */
  private failed: Error | undefined;
  private openStreams = 0;
  private refed = true;
  private readonly scope = new AsyncResource('SBX_SANDBOXED_PROCESS');
  private startError: unknown;
  /** Internal (spawn()): called once the helper has exited, after 'exit' (or the failure's 'error'). */
  _afterExit: (() => void) | undefined;

  /** `warm`: a pooled sandbox or head start to run it in (lib/pool.ts); `fresh` plans again should it be gone. */
  constructor(prepared: PreparedSpawn, options: SpawnOptions, warm?: Warm, fresh?: () => PreparedSpawn) {
    super();
    let stdio;
    try {
      stdio = childFds(options.stdio);
    } catch (e) {
      if (warm) discard(warm);
      throw e;
    }
    const [fds, toClose, ipcAt] = stdio;
    let res;
    try {
      if (warm) {
        try {
          res = handOff(warm, prepared.plan, fds);
        } catch {
          discard(warm); // died meanwhile: a fresh sandbox instead
          prepared = fresh!();
        }
      }
      res ??= native().binding.spawn(native().helper, encodePlan(prepared.plan), fds, !!options.ownProcessGroup);
    } catch (e) {
      this.startError = e;
    } finally {
      for (const fd of toClose) fs.closeSync(fd);
    }
    this.plan = prepared.plan;
    this.spawnfile = prepared.file;
    this.spawnargs = [options.argv0 ?? prepared.file, ...prepared.args]; // as child_process: argv0 first
    this.missingRoots = prepared.policy.missingRoots;
    this.enforcement = prepared.enforcement;
    if (!res) {
      const err = this.startError as { errno?: number; syscall?: string };
      const failure = new SandboxSetupError(
        'start-helper',
        -(err.errno ?? 0),
        err.syscall ?? 'spawn',
        hintFor('start-helper', err.errno ?? 0),
      );
      this.stdio = [null, null, null];
      process.nextTick(() => this.emit('error', failure));
      return;
    }
    this.pid = res.pid;
    this.pidfd = res.pidfd;
    const proxied = prepared.plan.steps.some((s) => s.op === 'proxy_fork');
    this.watchId = watchExit(this, res.pidfd, res.errorFd, res.eventsFd, true, !proxied);
    this.jobControl = !!options.jobControl;
    const [inFd, outFd, errFd] = res.pipes;
    // net is loaded only when there are pipes: the CLI (stdio 'inherit') starts faster without it.
    const net =
      inFd >= 0 || outFd >= 0 || errFd >= 0 || res.sockets.some((s) => s >= 0) ? (require('net') as typeof import('net')) : undefined;
    if (inFd >= 0) this.stdin = this.track(new net!.Socket({ fd: inFd, readable: false, writable: true }));
    if (outFd >= 0) this.stdout = this.track(new net!.Socket({ fd: outFd, readable: true, writable: false }));
    if (errFd >= 0) this.stderr = this.track(new net!.Socket({ fd: errFd, readable: true, writable: false }));
    this.stdio = [this.stdin, this.stdout, this.stderr];
    for (let i = 3; i < res.sockets.length; i++) {
      const fd = res.sockets[i];
      const s = fd >= 0 ? new net!.Socket({ fd, readable: true, writable: true }) : null;
      // The channel listens first, so 'disconnect' comes before 'close', as in child_process.
      if (s && i === ipcAt) this.channel = new IpcChannel(s, this);
      if (s) this.track(s);
      this.stdio.push(i === ipcAt ? null : s);
    }
  }

  /** Whether the 'ipc' channel is open. */
  get connected(): boolean {
    return !!this.channel?.connected;
  }

  /** Sends a message on the 'ipc' channel (JSON-serializable; no handles). */
  send(message: unknown, handle?: unknown, callback?: (err: Error | null) => void): boolean {
    if (!this.channel)
      throw Object.assign(new Error("sbx-native: no IPC channel: give stdio an 'ipc' entry"), { code: 'ERR_IPC_CHANNEL_CLOSED' });
    return this.channel.send(message, handle, callback);
  }

  disconnect(): void {
    if (!this.channel) throw Object.assign(new Error('sbx-native: no IPC channel'), { code: 'ERR_IPC_DISCONNECTED' });
    this.channel.disconnect();
  }

  private track<T extends import('net').Socket>(s: T): T {
    this.openStreams++;
    s.on('close', () => {
      this.openStreams--;
      this.maybeClose();
    });
    return s;
  }

  /**
   * Called by the watcher when the error pipe was read: null once the command
   * was exec'd (every other holder had closed it), else the helper's report.
   * Always before _onExit.
   */
  _onExec(report: Buffer | null): void {
    this.scope.runInAsyncScope(() => {
      if (!report) {
        this.emit('spawn');
        return;
      }
      this.failed = this.failure(report);
      // Like child_process, a command that could not be started has no pid.
      if (!(this.failed instanceof SandboxSetupError)) this.pid = undefined;
      this.emit('error', this.failed);
    });
  }

  /** An event from the sandbox's init (lib/events.ts). */
  _onEvent(record: Buffer): void {
    this.scope.runInAsyncScope(() => {
      const ev = decodeEvent(record);
      // Only when the plan asked (the bwrap front end's --info-fd, lib/bwrap/status.ts).
      if (ev.type === 'started') return void this.emit('sandbox-started', ev.started);
      const told = this.log.take(ev);
      if (told && 'violation' in told) return void this.emit('violation', { ...told.violation });
      if (told) return void this.emit('network', { ...told.network });
      if (ev.type !== 'stopped') return;
      this.emit('stop', ev.signal);
      if (!this.jobControl) return;
      // Like a shell job: this process stops too (its shell says Stopped);
      // its SIGCONT (fg) resumes the command.
      if (!this.onContinue) {
        this.onContinue = () => this.kill('SIGCONT');
        process.on('SIGCONT', this.onContinue);
      }
      process.kill(process.pid, 'SIGSTOP');
    });
  }

  /** Called by the exit watcher once the helper has exited (its wait status mirrors the command's). */
  _onExit(code: number, signal: number): void {
    this.scope.runInAsyncScope(() => {
      this.exited = true;
      const spawnError = this.failed && !(this.failed instanceof SandboxSetupError) ? (this.failed as NodeJS.ErrnoException) : undefined;
      // child_process reports a command it could not start as exit code -errno.
      this.exitCode = spawnError ? spawnError.errno! : signal ? null : code;
      this.signalCode = signal && !spawnError ? signalName(signal) : null;
      if (this.refed) native().binding.unref();
      unwatch(this.watchId);
      native().binding.close(this.pidfd);
      if (this.onContinue) process.removeListener('SIGCONT', this.onContinue);
      if (!this.failed) this.emit('exit', this.exitCode, this.signalCode);
      this._afterExit?.();
      // Like child_process: stdin is destroyed at exit, and output nobody
      // listens to is drained, so 'close' can come.
      this.stdin?.destroy();
      for (const s of [this.stdout, this.stderr]) {
        if (s && s.readable && !s.readableFlowing && s.listenerCount('data') === 0 && s.listenerCount('readable') === 0) s.resume();
      }
      this.maybeClose();
    });
  }

  /** 'close' comes once, after exit and after every stdio stream has closed. */
  private maybeClose(): void {
    if (!this.exited || this.openStreams > 0 || this.closeEmitted) return;
    this.closeEmitted = true;
    process.nextTick(() => this.emit('close', this.exitCode, this.signalCode));
  }

  private failure(report: Buffer): Error {
    return reportError(report, this.plan, this.spawnfile, this.spawnargs.slice(1), 'spawn');
  }

  kill(signal?: NodeJS.Signals | number): boolean {
    const n = signalNumber(signal);
    if (this.exited || this.pidfd < 0) return false;
    const err = native().binding.kill(this.pidfd, n);
    if (err === 0) this.killed = true;
    return err === 0;
  }

  ref(): void {
    if (!this.refed && !this.exited) native().binding.ref();
    this.refed = true;
  }

  unref(): void {
    if (this.refed && !this.exited) native().binding.unref();
    this.refed = false;
  }
}

// `using child = spawn(...)` (Node >= 20.4 has the symbols): leaving the scope
// kills the sandbox, as ChildProcess[Symbol.dispose] does.
const disposeSymbol = (Symbol as unknown as { dispose?: symbol }).dispose;
const asyncDisposeSymbol = (Symbol as unknown as { asyncDispose?: symbol }).asyncDispose;
if (disposeSymbol) {
  Object.defineProperty(SandboxedProcess.prototype, disposeSymbol, {
    value(this: SandboxedProcess) {
      if (this.exitCode === null && this.signalCode === null) this.kill();
    },
  });
}
if (asyncDisposeSymbol) {
  Object.defineProperty(SandboxedProcess.prototype, asyncDisposeSymbol, {
    value(this: SandboxedProcess): Promise<void> {
      if (this.exitCode !== null || this.signalCode !== null) return Promise.resolve();
      const closed = new Promise<void>((resolve) => this.once('close', () => resolve()));
      this.kill();
      return closed;
    },
  });
}

/**
 * Runs what prepare() returned, in `early` (a head start begun before the
 * plan, lib/head-start.ts) when the plan begins with its head and its stdio
 * can be handed to a waiting helper; else, and should it be gone by then,
 * fresh. The CLI's and the bwrap front end's one spawn.
 */
export function spawnPrepared(prepared: PreparedSpawn, options: SpawnOptions, early?: EarlyHead): SandboxedProcess {
  if (!early) return new SandboxedProcess(prepared, options);
  setReaper(poolDeps.reap);
  if (!headable(options.stdio)) {
    discard(early.warm);
    return new SandboxedProcess(prepared, options);
  }
  const h = inEarlyHead(early, prepared.plan, !!options.ownProcessGroup); // discards it when it does not fit
  if (!h) return new SandboxedProcess(prepared, options);
  return new SandboxedProcess({ ...prepared, plan: h.plan }, options, h.warm, () => prepared);
}

export function spawn(file: string, args?: readonly string[] | SpawnOptions, options?: SpawnOptions): SandboxedProcess {
  if (!Array.isArray(args)) {
    options = args as SpawnOptions | undefined;
    args = [];
  }
  const opts = options ?? {};
  const cmd = commandOf(file, args as string[], opts);
  if (opts.pool !== undefined && typeof opts.pool !== 'boolean')
    throw new TypeError(`The "pool" option must be a boolean, got ${JSON.stringify(opts.pool)}`);
  const killSignal = cmd.killSignal;
  if (opts.interactive) checkTerminal(opts.stdio);
  // child_process throws for a cwd that is not a directory (a missing one is an 'error' event).
  if (cwdNotDirectory(opts.cwd)) {
    const e = new Error('spawn ENOTDIR') as NodeJS.ErrnoException;
    Object.assign(e, { errno: -os.constants.errno.ENOTDIR, code: 'ENOTDIR', syscall: 'spawn' });
    throw e;
  }
  // 'ipc': a Node command finds its channel the way child_process.fork tells it.
  const ipcAt = Array.isArray(opts.stdio) ? opts.stdio.indexOf('ipc') : -1;
  if (opts.serialization !== undefined && opts.serialization !== 'json')
    throw new TypeError('The "serialization" option: only \'json\' is supported');
  const env =
    ipcAt >= 0 ? { ...(opts.env ?? process.env), NODE_CHANNEL_FD: String(ipcAt), NODE_CHANNEL_SERIALIZATION_MODE: 'json' } : opts.env;
  const ownProcessGroup = opts.ownProcessGroup || opts.detached;
  const planOptions = { ...opts, env, ownProcessGroup };
  const { prepared, warm, refill } = preparePooled(poolDeps, cmd.file, cmd.args, planOptions);
  const child = new SandboxedProcess(prepared, { ...opts, ownProcessGroup }, warm, () => prepare(cmd.file, cmd.args, planOptions));
  if (refill) {
    // Sandboxes for the next commands are built once this one has ended (or
    // had a moment), so building them does not slow it down.
    // Not an 'error' listener: that would make an unhandled error handled (child_process crashes the process).
    const timer = setTimeout(refill, 100).unref();
    child._afterExit = () => {
      clearTimeout(timer);
      refill();
    };
  }
  if (opts.timeout) {
    const timer = setTimeout(() => child.kill(killSignal), opts.timeout);
    child
      .once('exit', () => clearTimeout(timer))
      .once('error', () => {
        if (child.exitCode === null && child.pid === undefined) clearTimeout(timer);
      });
  }
  const signal = opts.signal;
  if (signal) {
    // Killed once started, so 'spawn' comes before the AbortError as in child_process.
    let spawned = false;
    child.once('spawn', () => {
      spawned = true;
    });
    const abort = () => {
      if (child.kill(killSignal)) child.emit('error', abortError(signal));
    };
    const onAbort = () => (spawned ? abort() : child.once('spawn', () => process.nextTick(abort)));
    if (signal.aborted) process.nextTick(onAbort);
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      child.once('exit', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return child;
}
