// The proxy's reports to the caller: 'network' records on the events pipe
// (protocol/events.json), which the sandbox's init writes to as well. Each
// record is one write(2) of at most PIPE_BUF bytes, so records never mix.
// One write at a time off the event loop: a caller that does not read (its
// loop blocked) fills the pipe, and then the proxy keeps serving and drops
// reports instead of stalling (bounded queue; the drops are counted).
import fs from 'fs';
import {
  EVENT_NETWORK,
  EVENT_NETWORK_ALLOWED_OFFSET,
  EVENT_NETWORK_COUNT_OFFSET,
  EVENT_NETWORK_PORT_OFFSET,
  EVENT_NETWORK_TEXT_OFFSET,
  EVENT_SIZE_OFFSET,
  EVENT_TYPE_OFFSET,
  MAX_EVENT_SIZE,
} from '../gen/events';

const MAX_QUEUED = 1024;

export function encodeNetworkRecord(allowed: boolean, host: string, port: number, rule: string, count: number): Buffer {
  let text = Buffer.from(`${host}\0${rule}\0`, 'utf8');
  const room = MAX_EVENT_SIZE - EVENT_NETWORK_TEXT_OFFSET;
  if (text.length > room)
    text = Buffer.concat([Buffer.from(`${host.slice(0, 253)}\0`, 'utf8'), Buffer.from(rule, 'utf8').subarray(0, 512), Buffer.from([0])]);
  const r = Buffer.alloc(EVENT_NETWORK_TEXT_OFFSET + text.length);
  r.writeUInt32LE(r.length, EVENT_SIZE_OFFSET);
  r.writeInt32LE(EVENT_NETWORK, EVENT_TYPE_OFFSET);
  r.writeInt32LE(allowed ? 1 : 0, EVENT_NETWORK_ALLOWED_OFFSET);
  r.writeInt32LE(port, EVENT_NETWORK_PORT_OFFSET);
  r.writeInt32LE(count, EVENT_NETWORK_COUNT_OFFSET);
  text.copy(r, EVENT_NETWORK_TEXT_OFFSET);
  return r;
}

export class Reporter {
  private queue: Buffer[] = [];
  private writing = false;
  private counts = new Map<string, number>();
  dropped = 0;

  constructor(private fd: number) {}

  report(allowed: boolean, host: string, port: number, rule: string): void {
    const key = `${allowed ? 1 : 0}\0${host}\0${port}`;
    const count = (this.counts.get(key) ?? 0) + 1;
    if (this.counts.size < 100000 || this.counts.has(key)) this.counts.set(key, count);
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped++;
      return;
    }
    this.queue.push(encodeNetworkRecord(allowed, host, port, rule, count));
    this.next();
  }

  private next(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    const r = this.queue.shift()!;
    fs.write(this.fd, r, 0, r.length, null, (err) => {
      this.writing = false;
      if (err) {
        this.queue = [];
        return;
      } // the caller is gone: nothing to tell
      this.next();
    });
  }
}
