// Records the sandbox's init sends while the command runs (native/events.h),
// as JavaScript values.
import { signalName } from './signals';

export type SandboxEvent = { type: 'stopped'; signal: NodeJS.Signals } | { type: 'unknown'; code: number };

const EVENT_STOPPED = 1;

export function decodeEvent(record: Buffer): SandboxEvent {
  const type = record.readInt32LE(4);
  if (type === EVENT_STOPPED) return { type: 'stopped', signal: signalName(record.readInt32LE(8)) };
  return { type: 'unknown', code: type };
}
