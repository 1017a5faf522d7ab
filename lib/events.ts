// Records the sandbox's init sends while the command runs (native/events.h),
// as JavaScript values.
import os from 'os';
import { signalName } from './signals';

/** A refusal the sandbox itself decided (the kernel's own EROFS/EACCES tell nobody: see explain()). */
export interface Violation {
  /** The syscall refused, e.g. 'mkdir', 'rename', 'chmod'. */
  op: string;
  path: string;
  /** The errno the command got, e.g. 'EROFS'. */
  errno: string;
  /** Which rule refused it, in the policy's words. */
  rule: string;
  /** How many times the command tried it. */
  count: number;
}

export type SandboxEvent =
  | { type: 'stopped'; signal: NodeJS.Signals }
  | { type: 'violation'; violation: Violation; first: boolean }
  | { type: 'dropped'; count: number }
  | { type: 'unknown'; code: number };

const EVENT_STOPPED = 1;
const EVENT_VIOLATION = 2;
const EVENT_DROPPED = 3;

// Why init refused (kViolation* in native/events.h).
const RULES: Record<number, string> = {
  1: 'protected path (it does not exist; creating it is refused)',
  2: 'leads to a protected path (renaming it away, or anything onto it, is refused)',
  3: 'outside the writable roots in their shared mount (metadata is kept as it is)',
};

function errnoName(n: number): string {
  for (const [name, num] of Object.entries(os.constants.errno)) if (num === n) return name;
  return `errno ${n}`;
}

export function decodeEvent(record: Buffer): SandboxEvent {
  const type = record.readInt32LE(4);
  if (type === EVENT_STOPPED) return { type: 'stopped', signal: signalName(record.readInt32LE(8)) };
  if (type === EVENT_VIOLATION) {
    // header(8), errno, rule, count, first, op[16], path (NUL-terminated)
    const err = record.readInt32LE(8);
    const rule = record.readInt32LE(12);
    const count = record.readInt32LE(16);
    const first = record.readInt32LE(20) !== 0;
    const op = record.subarray(24, 40).toString('utf8').replace(/\0.*$/s, '');
    const p = record.subarray(40).toString('utf8').replace(/\0.*$/s, '');
    return { type: 'violation', first, violation: { op, path: p, errno: errnoName(err), rule: RULES[rule] ?? `rule ${rule}`, count } };
  }
  if (type === EVENT_DROPPED) return { type: 'dropped', count: record.readInt32LE(8) };
  return { type: 'unknown', code: type };
}
