// child_process's spawn options that change what runs, where or as whom:
// applied (shell, argv0, detached), or refused with a clear error (uid, gid).
// None is accepted and dropped; those child_process itself ignores on Linux
// (windowsHide, windowsVerbatimArguments) stay accepted.

/** The options of child_process.spawn that sbx-native understands beyond the sandbox's own. */
export interface ChildProcessOptions {
  /** Run `file` (and args) through a shell: true means /bin/sh, a string names the shell. */
  shell?: boolean | string;
  /** Kill the command with `killSignal` after this many milliseconds. */
  timeout?: number;
  /** The signal for `timeout` and `signal` (default 'SIGTERM'). */
  killSignal?: NodeJS.Signals | number;
  /** Aborting it kills the command and emits an AbortError, as in child_process. */
  signal?: AbortSignal;
  /**
   * The helper gets its own process group, so signals to the caller's group
   * (a terminal's Ctrl-C) do not reach it. Unlike child_process it does not
   * outlive this Node process: the sandbox ends with it.
   */
  detached?: boolean;
  /** With an 'ipc' stdio entry: 'json' (the default) only. */
  serialization?: 'json';
  /** Refused: the sandbox runs as the caller (its user namespace maps the caller only). */
  uid?: number;
  /** Refused, like uid. */
  gid?: number;
  /** Accepted and ignored, as child_process does on Linux. */
  windowsHide?: boolean;
  windowsVerbatimArguments?: boolean;
}

import fs from 'fs';
import { signalNumber } from './signals';

export class OptionError extends TypeError {
  code = 'ERR_INVALID_ARG_VALUE';
}

/** Applies `shell` the way child_process does: the command line is args joined by spaces. */
export function applyShell(
  file: string,
  args: readonly string[],
  shell: ChildProcessOptions['shell'],
): { file: string; args: string[]; argv0?: string } {
  if (shell === undefined || shell === false) return { file, args: [...args] };
  if (shell !== true && (typeof shell !== 'string' || shell === ''))
    throw new OptionError(`The "shell" option must be a boolean or a non-empty string, got ${JSON.stringify(shell)}`);
  const sh = shell === true ? '/bin/sh' : shell;
  const line = [file, ...args].join(' ');
  return { file: sh, args: ['-c', line] };
}

/** Throws for options that would change who the command runs as, or that are malformed. */
export function checkOptions(o: ChildProcessOptions): void {
  for (const key of ['uid', 'gid'] as const) {
    if (o[key] !== undefined) {
      throw new OptionError(
        `The "${key}" option is not supported: a sandboxed command runs as the calling user (its user namespace maps only that user); run the caller as that ${key === 'uid' ? 'user' : 'group'} instead`,
      );
    }
  }
  if (o.timeout !== undefined && (typeof o.timeout !== 'number' || !(o.timeout >= 0) || !Number.isFinite(o.timeout))) {
    throw new OptionError(`The "timeout" option must be a finite number >= 0, got ${JSON.stringify(o.timeout)}`);
  }
  if (o.signal !== undefined && (typeof o.signal !== 'object' || o.signal === null || typeof o.signal.aborted !== 'boolean')) {
    throw new OptionError('The "signal" option must be an AbortSignal');
  }
  if (o.detached !== undefined && typeof o.detached !== 'boolean')
    throw new OptionError(`The "detached" option must be a boolean, got ${JSON.stringify(o.detached)}`);
}

/** The error child_process emits when its AbortSignal fires. */
export function abortError(signal: AbortSignal): Error {
  const e = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

/** What spawn and spawnSync both do first: check the options, the kill signal (unknown names throw, as in child_process), the shell. */
export function commandOf(
  file: string,
  args: readonly string[],
  o: ChildProcessOptions,
): { file: string; args: string[]; killSignal: number } {
  checkOptions(o);
  const killSignal = signalNumber(o.killSignal ?? 'SIGTERM');
  return { ...applyShell(file, args, o.shell), killSignal };
}

/** child_process refuses a cwd that exists but is not a directory (ENOTDIR); a missing one is the command's ENOENT. */
export function cwdNotDirectory(cwd: unknown): boolean {
  return typeof cwd === 'string' && fs.statSync(cwd, { throwIfNoEntry: false })?.isDirectory() === false;
}

/** maxBuffer and encoding of the collecting call forms, checked; encoding undefined means Buffers. */
export function outputOptions(
  o: { maxBuffer?: number; encoding?: BufferEncoding | 'buffer' | null },
  defaults: { maxBuffer: number; encoding: BufferEncoding | undefined },
): { maxBuffer: number; encoding: BufferEncoding | undefined } {
  const maxBuffer = o.maxBuffer ?? defaults.maxBuffer;
  if (typeof maxBuffer !== 'number' || !(maxBuffer >= 0))
    throw new OptionError(`The "maxBuffer" option must be a number >= 0, got ${JSON.stringify(maxBuffer)}`);
  const encoding = o.encoding === 'buffer' || o.encoding === null ? undefined : (o.encoding ?? defaults.encoding);
  if (encoding !== undefined && !Buffer.isEncoding(encoding))
    throw new OptionError(`The "encoding" option must be a Buffer encoding or 'buffer', got ${JSON.stringify(o.encoding)}`);
  return { maxBuffer, encoding };
}
