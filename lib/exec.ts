// execFile and its promisified form, and the collector run() shares with it:
// output gathered up to maxBuffer, decoded with `encoding`, errors shaped like
// child_process's (code, signal, killed, cmd, stdout, stderr).
import util from 'util';
import { SandboxedProcess, spawn, SpawnOptions } from './spawn';
import { SETUP_FAILED } from './errors';
import { outputOptions } from './options';
import { reprobeAfterFailure } from './host';
import type { Violation } from './events';

export interface ExecFileOptions extends SpawnOptions {
  /** 'buffer' gives Buffers; default 'utf8'. */
  encoding?: BufferEncoding | 'buffer' | null;
  /** Bytes allowed on stdout or stderr; then the command is killed (default 1 MiB, as child_process). */
  maxBuffer?: number;
}

export type Output = string | Buffer;
export type ExecFileCallback = (error: ExecFileError | null, stdout: Output, stderr: Output) => void;

export interface ExecFileError extends Error {
  code?: number | string | null;
  signal?: NodeJS.Signals | null;
  killed?: boolean;
  cmd?: string;
  stdout?: Output;
  stderr?: Output;
  /** What the sandbox refused (child.violations): why the command may have failed. */
  violations?: Violation[];
}

const DEFAULT_MAX_BUFFER = 1024 * 1024;

/** Gathers a child's output; `done` gets a spawn/maxBuffer error or null, then the exit. */
export function collect(
  child: SandboxedProcess,
  options: ExecFileOptions,
  done: (err: Error | null, stdout: Output, stderr: Output, code: number | null, signal: NodeJS.Signals | null) => void,
): void {
  const { maxBuffer, encoding } = outputOptions(options, { maxBuffer: DEFAULT_MAX_BUFFER, encoding: 'utf8' });
  const chunks: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
  const sizes = { stdout: 0, stderr: 0 };
  let failure: Error | null = null;
  let finished = false;
  const decode = (name: 'stdout' | 'stderr'): Output => {
    const b = Buffer.concat(chunks[name]);
    return encoding ? b.toString(encoding) : b;
  };
  const finish = (code: number | null, signal: NodeJS.Signals | null) => {
    if (finished) return;
    finished = true;
    done(failure, decode('stdout'), decode('stderr'), code, signal);
  };
  for (const name of ['stdout', 'stderr'] as const) {
    child[name]?.on('data', (d: Buffer) => {
      if (failure) return;
      const room = maxBuffer - sizes[name];
      chunks[name].push(d.length > room ? d.subarray(0, Math.max(room, 0)) : d);
      sizes[name] += d.length;
      if (sizes[name] > maxBuffer) {
        const e = new RangeError(`${name} maxBuffer length exceeded`) as RangeError & { code: string };
        e.code = 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
        failure = e;
        child.kill(options.killSignal ?? 'SIGTERM');
      }
    });
  }
  child.on('error', (e) => {
    // An AbortError or a spawn error; the command may still exit (abort), or never ran.
    failure = failure ?? e;
    if (child.pid === undefined || child.exitCode !== null) finish(child.exitCode, child.signalCode);
  });
  child.on('close', (code: number | null, signal: NodeJS.Signals | null) => finish(code, signal));
}

/** Like child_process.execFile: the callback gets an error for a non-zero exit, a signal, a spawn error or maxBuffer. */
export function execFile(
  file: string,
  args?: readonly string[] | ExecFileOptions | ExecFileCallback | null,
  options?: ExecFileOptions | ExecFileCallback | null,
  callback?: ExecFileCallback,
): SandboxedProcess {
  if (typeof args === 'function') {
    callback = args;
    args = [];
    options = {};
  } else if (!Array.isArray(args)) {
    if (typeof options === 'function') callback = options;
    options = (args as ExecFileOptions | null) ?? {};
    args = [];
  } else if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  const opts: ExecFileOptions = (options as ExecFileOptions | null) ?? {};
  const argv = [...(args as string[])];
  const child = spawn(file, argv, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
  const cmd = [file, ...argv].join(' ');
  collect(child, opts, (failure, stdout, stderr, code, signal) => {
    if (!callback) return;
    if (!failure && code === 0 && signal === null) return callback(null, stdout, stderr);
    const e: ExecFileError = failure ?? new Error(`Command failed: ${cmd}\n${stderr.toString()}`);
    if (!failure) {
      e.code = code;
      e.killed = child.killed;
      e.signal = signal;
    }
    e.cmd = cmd;
    e.stdout = stdout;
    e.stderr = stderr;
    e.violations = child.violations;
    callback(e, stdout, stderr);
  });
  return child;
}

// util.promisify(execFile) resolves { stdout, stderr } and rejects with them on the error, as child_process's.
Object.defineProperty(execFile, util.promisify.custom, {
  enumerable: false,
  value: (file: string, args?: readonly string[] | ExecFileOptions, options?: ExecFileOptions) => {
    let child: SandboxedProcess | undefined;
    const p = new Promise<{ stdout: Output; stderr: Output }>((resolve, reject) => {
      child = execFile(file, args as readonly string[], options ?? null, (err, stdout, stderr) =>
        err ? reject(err) : resolve({ stdout, stderr }),
      );
    }) as Promise<{ stdout: Output; stderr: Output }> & { child: SandboxedProcess };
    p.child = child!;
    return p;
  },
});

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** What the sandbox refused (child.violations). */
  violations: Violation[];
}

export interface RunOptions extends SpawnOptions {
  input?: string | Buffer;
  /** Decodes the output (default 'utf8'). */
  encoding?: BufferEncoding;
  /** Bytes allowed on stdout or stderr (default: no limit); past it the command is killed and run() rejects with ERR_CHILD_PROCESS_STDIO_MAXBUFFER. */
  maxBuffer?: number;
}

/** Runs a command to completion and collects its output. Resolves for any exit; rejects when it could not be started (or on maxBuffer, or an abort). */
export function run(file: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
  return runOnce(file, args, options, false);
}

function runOnce(file: string, args: readonly string[], options: RunOptions, retried: boolean): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const { input, ...rest } = options;
    let child: SandboxedProcess;
    try {
      child = spawn(file, args, { ...rest, stdio: ['pipe', 'pipe', 'pipe'] });
      collect(child, { ...rest, maxBuffer: rest.maxBuffer ?? Infinity }, (err, stdout, stderr, code, signal) => {
        // allowDegraded: the set-up failed although user namespaces were taken to work (a cached answer): probe again, degrade if they do not.
        if (
          err &&
          (err as NodeJS.ErrnoException).code === SETUP_FAILED &&
          rest.allowDegraded &&
          !retried &&
          child.plan.level !== 'landlock-only' &&
          reprobeAfterFailure()
        ) {
          runOnce(file, args, options, true).then(resolve, reject);
        } else if (err) reject(err);
        else resolve({ code, signal, stdout: stdout as string, stderr: stderr as string, violations: child.violations });
      });
    } catch (e) {
      reject(e);
      return;
    }
    child.stdin?.on('error', () => {}); // EPIPE when the command does not read its input
    child.stdin?.end(input);
  });
}
