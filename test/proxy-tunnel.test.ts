// The domain proxy's byte path (native/tunnel.cc): the addon's tunnel thread
// connects a checked connection to its address and splices both ways.
// Against real sockets in this process: a stand-in for the proxy hands each
// connection it accepts to binding.tunnel, as lib/proxy/main.ts does after
// its checks.
import crypto from 'crypto';
import fs from 'fs';
import net from 'net';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../lib/native';

const { binding } = native();
const servers: net.Server[] = [];

function listen(server: net.Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/**
 * A proxy that hands every connection to the tunnel thread with `head`,
 * `ok` and `failed`; `keep` ms: how long it keeps its own fd for the client
 * open after the hand-over (main.ts closes it at once).
 */
async function proxyTo(port: number, opts: { head?: string; keep?: number } = {}): Promise<number> {
  const server = net.createServer({ pauseOnConnect: true }, (c) => {
    c.on('error', () => {});
    const fd = (c as unknown as { _handle: { fd: number } })._handle.fd;
    const r = binding.tunnel(fd, '127.0.0.1', port, Buffer.from(opts.head ?? ''), Buffer.from('OK\n'), Buffer.from('FAILED\n'));
    if (r !== 0) throw new Error(`tunnel: ${r}`);
    if (opts.keep) setTimeout(() => c.destroy(), opts.keep);
    else c.destroy();
  });
  return listen(server);
}

/** Connects through the proxy; resolves everything the client read until EOF, and how it ended. */
function client(port: number, drive: (s: net.Socket) => void): Promise<{ data: string; how: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let data = '';
    s.on('data', (d) => (data += d));
    s.on('end', () => resolve({ data, how: 'end' }));
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ data, how: e.code ?? e.message }));
    s.on('connect', () => drive(s));
  });
}

function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

afterAll(() => {
  for (const s of servers) s.close();
});

describe('the tunnel thread', () => {
  it("sends the answer before the origin's bytes and the early bytes before the client's; a half-close passes on and the other way stays open", async () => {
    const seen: string[] = [];
    const origin = await listen(
      net.createServer({ allowHalfOpen: true }, (c) => {
        let got = '';
        c.on('data', (d) => (got += d));
        c.on('end', () => {
          seen.push(got);
          c.end(`reply:${got}`); // after the client's half-close: the way back is still open
        });
      }),
    );
    const proxy = await proxyTo(origin, { head: 'A' });
    const r = await client(proxy, (s) => s.end('B'));
    expect(r).toEqual({ data: 'OK\nreply:AB', how: 'end' });
    expect(seen).toEqual(['AB']);
  });

  it('an origin that ends first leaves the way from the client open', async () => {
    const got: string[] = [];
    const origin = await listen(
      net.createServer({ allowHalfOpen: true }, (c) => {
        let data = '';
        c.end('bye');
        c.on('data', (d) => (data += d));
        c.on('end', () => got.push(data));
      }),
    );
    const proxy = await proxyTo(origin);
    const r = await client(proxy, (s) => s.once('end', () => s.end('late')));
    expect(r).toEqual({ data: 'OK\nbye', how: 'end' });
    await new Promise((res) => setTimeout(res, 100));
    expect(got).toEqual(['late']);
  });

  it('a refused connect answers with the failure bytes, then ends', async () => {
    const closed = net.createServer();
    const port = await listen(closed);
    await new Promise((res) => closed.close(res));
    const proxy = await proxyTo(port);
    expect(await client(proxy, () => {})).toEqual({ data: 'FAILED\n', how: 'end' });
  });

  it('an origin that resets ends the client too, instead of leaving it open', async () => {
    const origin = await listen(
      net.createServer((c) => {
        c.on('error', () => {});
        c.once('data', () => c.resetAndDestroy());
      }),
    );
    const proxy = await proxyTo(origin);
    const r = await client(proxy, (s) => s.write('x'));
    expect(r.data).toBe('OK\n');
    expect(['end', 'ECONNRESET']).toContain(r.how);
  });

  it('large transfers both ways at once arrive whole', async () => {
    const size = 24 << 20;
    const up = crypto.randomBytes(size);
    const down = crypto.randomBytes(size);
    const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    let originGot: Promise<string> = Promise.resolve('');
    const origin = await listen(
      net.createServer({ allowHalfOpen: true }, (c) => {
        const chunks: Buffer[] = [];
        originGot = new Promise((res) => {
          c.on('data', (d) => chunks.push(d));
          c.on('end', () => res(sha(Buffer.concat(chunks))));
        });
        c.end(down);
      }),
    );
    const proxy = await proxyTo(origin);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect({ port: proxy, host: '127.0.0.1', allowHalfOpen: true });
      const chunks: Buffer[] = [];
      s.on('data', (d) => chunks.push(d));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
      s.on('connect', () => s.end(up));
    });
    expect(got.subarray(0, 3).toString()).toBe('OK\n');
    expect(sha(got.subarray(3))).toBe(sha(down));
    expect(await originGot).toBe(sha(up));
  }, 60_000);

  it('leaves no fd once both ends are done, also when the caller keeps its own fd open past the end', async () => {
    const origin = await listen(
      net.createServer((c) => {
        c.on('error', () => {});
        c.end('x');
      }),
    );
    const once = await proxyTo(origin);
    const kept = await proxyTo(origin, { keep: 20 });
    await client(once, (s) => s.end()); // the first tunnel starts the thread and its epoll set
    await new Promise((res) => setTimeout(res, 100));
    const before = fdCount();
    // A kept fd's socket still reports its end after the tunnel thread is done with it: an event that must not reach a freed tunnel.
    for (let i = 0; i < 100; i++) {
      const r = await client(i % 2 ? kept : once, (s) => s.end());
      expect(r).toEqual({ data: 'OK\nx', how: 'end' });
    }
    await new Promise((res) => setTimeout(res, 200));
    expect(fdCount()).toBe(before);
  });
});
