// Records the sandbox's init sends while the command runs (protocol/events.json),
// as JavaScript values.
import { signalName } from './signals';
import { EVENT_STOPPED, EVENT_STOPPED_SIG_OFFSET, EVENT_TYPE_OFFSET } from './gen/events';

export type SandboxEvent = { type: 'stopped'; signal: NodeJS.Signals } | { type: 'unknown'; code: number };

export function decodeEvent(record: Buffer): SandboxEvent {
  const type = record.readInt32LE(EVENT_TYPE_OFFSET);
  if (type === EVENT_STOPPED) return { type: 'stopped', signal: signalName(record.readInt32LE(EVENT_STOPPED_SIG_OFFSET)) };
  return { type: 'unknown', code: type };
}
