// spawn() and run(): a ChildProcess-like object around the helper. Exit comes
// from the addon's pidfd watcher, setup failures from the error pipe.
import { AsyncResource } from 'async_hooks';
import { EventEmitter } from 'events';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Readable, Writable } from 'stream';
import { native } from './native';
import { readMountInfo } from './mountinfo';
import { buildPlan, encodePlan, Plan } from './plan';
import { resolvePolicy, ResolvedPolicy, SandboxPolicy } from './policy';
import { errnoName, hintFor, SandboxSetupError, SETUP_FAILED } from './errors';
import { chooseLevel, Enforcement, hostFacts, reprobeAfterFailure } from './host';

export type StdioOption = 'pipe' | 'inherit' | 'ignore' | number | null | undefined | { fd: number };

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdio?: 'pipe' | 'inherit' | 'ignore' | StdioOption[];
  argv0?: string;
  sandbox?: SandboxPolicy;
  /** Run with less than full enforcement when the host cannot do better (Landlock-only: no user namespaces). Never silent: see `enforcement`. */
  allowDegraded?: boolean;
  /**
   * The command takes the terminal on stdin as its controlling terminal and
   * foreground process group, so shells get job control and Ctrl-C goes to
   * it directly; the terminal is handed back when it ends. Needs stdin to be
   * this process's controlling terminal (stdio 'inherit' from a terminal).
   */
  interactive?: boolean;
  /** Put the helper in its own process group, so terminal signals reach the command only when forwarded (the CLI does this). */
  ownProcessGroup?: boolean;
}

const REPORT_SIZE = 256; // sizeof(ErrorReport) in native/error_report.h

/** The kernel's Landlock ABI (<= 0: unavailable) and errata bitmask. */
export function landlockAbi(): { abi: number; errata: number } {
  return native().binding.landlockAbi();
}

export interface PreparedSpawn {
  plan: Plan;
  enforcement: Enforcement;
  policy: ResolvedPolicy;
  file: string;
  args: string[];
}

/** Resolves the policy and builds the plan without running anything (used by --dry-run too). */
export function prepare(file: string, args: readonly string[], options: SpawnOptions = {}): PreparedSpawn {
  if (typeof file !== 'string' || file === '') throw new TypeError(`The "file" argument must be a non-empty string, got ${JSON.stringify(file)}`);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new TypeError('The "args" argument must be an array of strings');
  for (const s of [file, ...args]) if (s.includes('\0')) throw new TypeError(`argument contains a NUL byte: ${JSON.stringify(s)}`);
  // Every string ends up in the NUL-separated plan: a NUL would forge plan steps.
  for (const [key, v] of [['cwd', options.cwd], ['argv0', options.argv0]] as const) {
    if (v !== undefined && (typeof v !== 'string' || v.includes('\0'))) throw new TypeError(`The "${key}" option must be a string without NUL bytes, got ${JSON.stringify(v)}`);
  }
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const policy = resolvePolicy(options.sandbox, cwd, options.env ?? process.env);
  const env: string[] = [];
  for (const [k, v] of Object.entries(options.env ?? process.env)) {
    if (v === undefined) continue;
    if (k.includes('=') || k.includes('\0') || String(v).includes('\0')) throw new TypeError(`invalid environment entry ${JSON.stringify(k)}`);
    env.push(`${k}=${v}`);
  }
  const facts = hostFacts(!!options.allowDegraded);
  const enforcement = chooseLevel(facts, !!options.allowDegraded);
  if (enforcement.refused) {
    const e = new SandboxSetupError('probe', -95, 'host capabilities', enforcement.refused);
    e.message = `probe: this host cannot enforce the sandbox (level ${enforcement.level})`;
    throw e;
  }
  const abi = facts.landlockAbi;
  const plan = buildPlan({
    policy, file, argv: [options.argv0 ?? file, ...args], env, cwd,
    uid: process.getuid!(), gid: process.getgid!(), landlockAbi: abi, mounts: readMountInfo(), exists: fs.existsSync, identity,
    level: enforcement.level, interactive: !!options.interactive,
  });
  // Test only (docs/design.md): SBX_NATIVE_TEST_FAIL_STEP=k makes the helper fail step k with EIO.
  const inject = process.env.SBX_NATIVE_TEST_FAIL_STEP;
  if (inject !== undefined && /^\d+$/.test(inject) && Number(inject) < plan.steps.length) {
    const k = Number(inject);
    plan.steps[k] = { op: 'fail_injected', args: [plan.steps[k].op] };
  }
  const { level, missing } = enforcement;
  return { plan, enforcement: { level, missing }, policy, file, args: [...args] };
}

function identity(p: string): string | undefined {
  const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.dev}:${st.ino}` : undefined;
}

// One exit dispatcher per environment (worker threads load their own copy).
const children = new Map<number, SandboxedProcess>();
let nextId = 1;
let handlerInstalled = false;
function watchExit(child: SandboxedProcess, pidfd: number): number {
  const { binding } = native();
  if (!handlerInstalled) {
    binding.setExitHandler((id, code, signal) => children.get(id)?._onExit(code, signal));
    handlerInstalled = true;
  }
  const id = nextId++;
  children.set(id, child);
  binding.watch(pidfd, id);
  binding.ref();
  return id;
}

function signalNumber(sig: NodeJS.Signals | number | undefined): number {
  if (sig === undefined) return os.constants.signals.SIGTERM;
  if (typeof sig === 'number') return sig;
  const n = (os.constants.signals as Record<string, number>)[sig];
  if (n === undefined) {
    const e = new TypeError(`Unknown signal: ${sig}`);
    (e as NodeJS.ErrnoException).code = 'ERR_UNKNOWN_SIGNAL';
    throw e;
  }
  return n;
}

function signalName(n: number): NodeJS.Signals {
  for (const [name, num] of Object.entries(os.constants.signals)) if (num === n) return name as NodeJS.Signals;
  return `SIG${n}` as NodeJS.Signals;
}

/** Behaves like child_process.ChildProcess: 'spawn', 'error', 'exit', 'close'. */
export class SandboxedProcess extends EventEmitter {
  pid: number | undefined;
  stdin: Writable | null = null;
  stdout: Readable | null = null;
  stderr: Readable | null = null;
  stdio: [Writable | null, Readable | null, Readable | null];
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killed = false;
  readonly spawnfile: string;
  readonly spawnargs: string[];
  /** Writable roots that did not exist (not created, not fatal). */
  readonly missingRoots: string[];
  /** The enforcement level used, and what it leaves out compared with 'full'. */
  readonly enforcement: Enforcement;
  readonly plan: Plan;

  private pidfd = -1;
  private exited = false;
  private closeEmitted = false;
  private watchId = 0;
  private errorFd = -1;
  private openStreams = 0;
  private refed = true;
  private readonly scope = new AsyncResource('SBX_SANDBOXED_PROCESS');

  constructor(prepared: PreparedSpawn, options: SpawnOptions) {
    super();
    this.plan = prepared.plan;
    this.spawnfile = prepared.file;
    this.spawnargs = [prepared.file, ...prepared.args];
    this.missingRoots = prepared.policy.missingRoots;
    this.enforcement = prepared.enforcement;
    const { binding, helper } = native();
    const [fds, toClose] = childFds(options.stdio);
    let res;
    try {
      res = binding.spawn(helper, encodePlan(prepared.plan), fds, !!options.ownProcessGroup);
    } catch (e) {
      const err = e as { errno?: number; syscall?: string };
      const failure = new SandboxSetupError('start-helper', -(err.errno ?? 0), err.syscall ?? 'spawn', hintFor('start-helper', err.errno ?? 0));
      this.stdio = [null, null, null];
      process.nextTick(() => this.emit('error', failure));
      return;
    } finally {
      for (const fd of toClose) fs.closeSync(fd);
    }
    this.pid = res.pid;
    this.pidfd = res.pidfd;
    this.watchId = watchExit(this, res.pidfd);
    const [inFd, outFd, errFd] = res.pipes;
    // net is loaded only when there are pipes: the CLI (stdio 'inherit') starts faster without it.
    const net = inFd >= 0 || outFd >= 0 || errFd >= 0 ? (require('net') as typeof import('net')) : undefined;
    if (inFd >= 0) this.stdin = this.track(new net!.Socket({ fd: inFd, readable: false, writable: true }));
    if (outFd >= 0) this.stdout = this.track(new net!.Socket({ fd: outFd, readable: true, writable: false }));
    if (errFd >= 0) this.stderr = this.track(new net!.Socket({ fd: errFd, readable: true, writable: false }));
    this.stdio = [this.stdin, this.stdout, this.stderr];
    this.errorFd = res.errorFd;
    process.nextTick(() => this.emit('spawn'));
  }

  private track<T extends import('net').Socket>(s: T): T {
    this.openStreams++;
    s.on('close', () => { this.openStreams--; this.maybeClose(); });
    return s;
  }

  /** Called by the exit watcher once the helper has exited (its wait status mirrors the command's). */
  _onExit(code: number, signal: number): void {
    this.scope.runInAsyncScope(() => {
      this.exited = true;
      this.exitCode = signal ? null : code;
      this.signalCode = signal ? signalName(signal) : null;
      if (this.refed) native().binding.unref();
      children.delete(this.watchId);
      native().binding.close(this.pidfd);
      const failure = this.failure();
      if (failure) this.emit('error', failure);
      else this.emit('exit', this.exitCode, this.signalCode);
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

  /** The first report on the error pipe. Every writer has exited by now, so the read cannot block. */
  private readReport(): Buffer | undefined {
    const buf = Buffer.alloc(REPORT_SIZE);
    let n = 0;
    try {
      n = fs.readSync(this.errorFd, buf, 0, REPORT_SIZE, null);
    } catch {
      n = 0; // EAGAIN: nothing was reported
    } finally {
      native().binding.close(this.errorFd); // opened by the addon: fs would warn in worker threads
    }
    return n === REPORT_SIZE ? buf : undefined;
  }

  private failure(): Error | undefined {
    const report = this.readReport();
    if (!report) return undefined;
    const stepIndex = report.readInt32LE(0);
    const errno = report.readInt32LE(4);
    const detail = report.subarray(8, REPORT_SIZE).toString('utf8').replace(/\0.*$/s, '');
    const failed = stepIndex < 0 ? undefined : this.plan.steps[stepIndex];
    const injected = failed?.op === 'fail_injected'; // test only: report the step it replaced, always as a setup failure
    const step = stepIndex < 0 ? 'start-helper' : injected ? failed!.args[0] : failed?.op ?? `step ${stepIndex}`;
    if (step === 'exec' && !injected) {
      // Like child_process: a missing or non-executable command is a spawn error, not a sandbox failure.
      const name = errnoName(errno);
      const e = new Error(`spawn ${this.spawnfile} ${name}`) as NodeJS.ErrnoException & { spawnargs: string[] };
      e.errno = -errno;
      e.code = name;
      e.syscall = `spawn ${this.spawnfile}`;
      e.path = this.spawnfile;
      e.spawnargs = this.spawnargs.slice(1);
      return e;
    }
    return new SandboxSetupError(step, -errno, detail, hintFor(step, errno));
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

/** Maps stdio options to the fds the helper gets; -1 asks the addon for a pipe. */
function childFds(stdio: SpawnOptions['stdio']): [number[], number[]] {
  const list: StdioOption[] = stdio === undefined || typeof stdio === 'string' ? [stdio ?? 'pipe', stdio ?? 'pipe', stdio ?? 'pipe'] : [...stdio];
  while (list.length < 3) list.push('pipe');
  const fds: number[] = [];
  const toClose: number[] = [];
  list.forEach((s, i) => {
    if (s === 'pipe' || s === null || s === undefined) {
      if (i > 2) throw new TypeError(`stdio[${i}]: 'pipe' is only supported for fds 0-2`);
      fds.push(-1);
    } else if (s === 'inherit') fds.push(i);
    else if (s === 'ignore') {
      const fd = fs.openSync('/dev/null', i === 0 ? 'r' : 'w');
      toClose.push(fd);
      fds.push(fd);
    } else if (typeof s === 'number' && Number.isInteger(s) && s >= 0) fds.push(s);
    else if (typeof s === 'object' && typeof s.fd === 'number') fds.push(s.fd);
    else throw new TypeError(`stdio[${i}]: unsupported value ${JSON.stringify(s)}`);
  });
  return [fds, toClose];
}

export function spawn(file: string, args?: readonly string[] | SpawnOptions, options?: SpawnOptions): SandboxedProcess {
  if (!Array.isArray(args)) {
    options = args as SpawnOptions | undefined;
    args = [];
  }
  const opts = options ?? {};
  return new SandboxedProcess(prepare(file, args as string[], opts), opts);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output. Rejects when it could not be started. */
export function run(file: string, args: readonly string[] = [], options: SpawnOptions & { input?: string | Buffer } = {}): Promise<RunResult> {
  return runOnce(file, args, options, false);
}

function runOnce(file: string, args: readonly string[], options: SpawnOptions & { input?: string | Buffer }, retried: boolean): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const { input, ...rest } = options;
    let child: SandboxedProcess;
    try {
      child = spawn(file, args, { ...rest, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      reject(e);
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.stdin?.on('error', () => {}); // EPIPE when the command does not read its input
    child.stdin?.end(input);
    let failed = false;
    child.on('error', (e: NodeJS.ErrnoException) => {
      failed = true;
      // allowDegraded: the set-up failed although user namespaces were taken to work (a cached answer): probe again, degrade if they do not.
      if (e.code === SETUP_FAILED && rest.allowDegraded && !retried && child.plan.level !== 'landlock-only' && reprobeAfterFailure()) {
        runOnce(file, args, options, true).then(resolve, reject);
      } else reject(e);
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (!failed) resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}
