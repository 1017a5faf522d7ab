// wrap(): the sandbox as a command line for any spawner (node-pty, execa,
// child_process). The helper is started by the caller's spawner and takes
// its plan from this process (native/helper/handoff.cc); what it reports
// comes back here as events.
import { EventEmitter } from 'events';
import net from 'net';
import path from 'path';
import { native } from './native';
import { encodePlan, Plan } from './plan';
import { applyShell, checkOptions } from './options';
import { REPORT_SIZE, reportError } from './report';
import { REPORT_ERR_OFFSET, REPORT_STEP_OFFSET, REPORT_STEP_STARTED } from './gen/error-report';
import { Enforcement } from './host';
import { prepare, SpawnOptions } from './spawn';

export type WrapOptions = Omit<SpawnOptions, 'stdio' | 'timeout' | 'signal' | 'killSignal' | 'detached' | 'ownProcessGroup'>;

/**
 * What to hand a spawner: `spawner(w.file, w.args, { env: w.env, cwd: w.cwd })`.
 * Events: 'started' (the helper holds the plan), 'spawn' (the command was
 * exec'd), 'error' (the sandbox or the command could not be started; the
 * spawner sees exit status 125, 126 or 127). Use it for one spawn; close()
 * frees the plan if it is never used.
 */
export class WrappedCommand extends EventEmitter {
  readonly file: string;
  readonly args: string[];
  /** The helper's own environment: empty (the command's is in the plan). */
  readonly env: Record<string, string> = {};
  readonly cwd: string;
  readonly plan: Plan;
  readonly enforcement: Enforcement;
  readonly missingRoots: string[];
  /** The helper's pid once it has started (a spawner's pid for its child is the same). */
  pid: number | undefined;

  private fds: number[];
  private reports: net.Socket | undefined;

  constructor(file: string, args: readonly string[], options: WrapOptions) {
    super();
    checkOptions(options);
    const cmd = applyShell(file, args, options.shell);
    const prepared = prepare(cmd.file, cmd.args, options);
    this.plan = prepared.plan;
    this.enforcement = prepared.enforcement;
    this.missingRoots = prepared.policy.missingRoots;
    const { binding, helper } = native();
    const h = binding.handoff(encodePlan(prepared.plan));
    this.fds = [h.planFd, h.writeFd];
    this.file = helper;
    this.args = ['--handoff', String(process.pid), String(h.planFd), String(h.writeFd)];
    this.cwd = path.resolve(options.cwd ?? process.cwd());
    let pending = Buffer.alloc(0);
    let failed = false;
    // Not a reason to keep Node alive: the spawner's child is.
    this.reports = new net.Socket({ fd: h.readFd, readable: true, writable: false }).unref();
    this.reports.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= REPORT_SIZE) {
        const record = pending.subarray(0, REPORT_SIZE);
        pending = pending.subarray(REPORT_SIZE);
        if (record.readInt32LE(REPORT_STEP_OFFSET) === REPORT_STEP_STARTED) {
          this.pid = record.readInt32LE(REPORT_ERR_OFFSET);
          this.closeHeld(); // the helper holds its own copies now: EOF will mean exec'd
          this.emit('started', this.pid);
        } else if (!failed) {
          failed = true;
          this.emit('error', reportError(record, this.plan, cmd.file, cmd.args, 'spawn'));
        }
      }
    });
    this.reports.on('end', () => {
      if (this.pid !== undefined && !failed) this.emit('spawn');
    });
  }

  private closeHeld(): void {
    for (const fd of this.fds) native().binding.close(fd);
    this.fds = [];
  }

  /** Frees the plan and the report pipe (a wrapped command that never ran). */
  close(): void {
    this.closeHeld();
    this.reports?.destroy();
    this.reports = undefined;
  }
}

/** The sandbox for a spawner of the caller's choice; see WrappedCommand. */
export function wrap(file: string, args: readonly string[] = [], options: WrapOptions = {}): WrappedCommand {
  for (const key of ['stdio', 'timeout', 'signal', 'killSignal', 'detached', 'ownProcessGroup'] as const) {
    if ((options as Record<string, unknown>)[key] !== undefined)
      throw new TypeError(`wrap(): the "${key}" option belongs to the spawner you hand the command to, not to wrap()`);
  }
  return new WrappedCommand(file, args, options);
}
