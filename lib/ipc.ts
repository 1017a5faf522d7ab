// The parent's end of an 'ipc' stdio entry: Node's own channel protocol in
// its 'json' serialization (one JSON text and a newline per message), so a
// Node command run inside gets process.send() and 'message' as under
// child_process.fork. Handles (sockets, servers) cannot cross the sandbox's
// boundary: send() refuses them.
import type net from 'net';

export interface IpcHost {
  emit(event: string, ...args: unknown[]): boolean;
}

export class IpcChannel {
  connected = true;
  private buffered = '';

  constructor(
    private readonly socket: net.Socket,
    private readonly host: IpcHost,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (!line) continue;
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          continue; // not a message of Node's protocol
        }
        // Node's internal messages (NODE_HANDLE, NODE_DISCONNECT, ...) are not the caller's.
        if (
          msg &&
          typeof msg === 'object' &&
          typeof (msg as { cmd?: unknown }).cmd === 'string' &&
          (msg as { cmd: string }).cmd.startsWith('NODE_')
        )
          continue;
        host.emit('message', msg);
      }
    });
    socket.on('close', () => this.disconnected());
    socket.on('error', () => {
      /* EPIPE/ECONNRESET once the command is gone: 'close' follows */
    });
  }

  send(message: unknown, handle?: unknown, callback?: (err: Error | null) => void): boolean {
    if (typeof handle === 'function') {
      callback = handle as (err: Error | null) => void;
      handle = undefined;
    }
    if (handle !== undefined && handle !== null && typeof handle !== 'object') handle = undefined;
    const fail = (e: Error & { code?: string }) => {
      if (callback) process.nextTick(callback, e);
      else process.nextTick(() => this.host.emit('error', e));
      return false;
    };
    if (handle)
      return fail(Object.assign(new TypeError('sbx-native: handles cannot be sent into a sandbox'), { code: 'ERR_INVALID_HANDLE_TYPE' }));
    if (!this.connected) return fail(Object.assign(new Error('Channel closed'), { code: 'ERR_IPC_CHANNEL_CLOSED' }));
    if (message === undefined) throw Object.assign(new TypeError('The "message" argument must be specified'), { code: 'ERR_MISSING_ARGS' });
    return this.socket.write(`${JSON.stringify(message)}\n`, () => callback?.(null));
  }

  disconnect(): void {
    if (!this.connected) {
      this.host.emit('error', Object.assign(new Error('IPC channel is already disconnected'), { code: 'ERR_IPC_DISCONNECTED' }));
      return;
    }
    this.socket.end();
    this.disconnected();
  }

  private disconnected(): void {
    if (!this.connected) return;
    this.connected = false;
    process.nextTick(() => this.host.emit('disconnect'));
  }
}
