// The proxy's reports to the caller: 'network' records on the events pipe
// (protocol/events.json), which the sandbox's init writes to as well. Each
// record is one write(2) of at most PIPE_BUF bytes, so records never mix.
// A caller that does not read (its loop blocked) fills the pipe; then the
// proxy keeps serving, queues reports and drops them past a bound instead of
// stalling (the drops are counted).
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
  private retry: NodeJS.Timeout | undefined;
  private counts = new Map<string, number>();
  dropped = 0;

  /** `fd` is non-blocking (its own open file description: native/helper/ops_proxy.cc). */
  constructor(private fd: number) {}

  /**
   * Written before the caller answers the connection, so the record is in the
   * pipe by the time the command can exit and the CLI prints its summary.
   */
  report(allowed: boolean, host: string, port: number, rule: string): void {
    const key = `${allowed ? 1 : 0}\0${host}\0${port}`;
    const count = (this.counts.get(key) ?? 0) + 1;
    if (this.counts.size < 100000 || this.counts.has(key)) this.counts.set(key, count);
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped++;
      return;
    }
    this.queue.push(encodeNetworkRecord(allowed, host, port, rule, count));
    this.flush();
  }

  private flush(): void {
    while (this.queue.length && !this.retry) {
      try {
        fs.writeSync(this.fd, this.queue[0]); // one record, at most PIPE_BUF: whole or EAGAIN
        this.queue.shift();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
          this.queue = []; // the caller is gone: nothing to tell
          return;
        }
        // The caller is not reading (its loop is blocked): keep serving, try again later.
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.flush();
        }, 5);
        this.retry.unref();
      }
    }
  }
}
