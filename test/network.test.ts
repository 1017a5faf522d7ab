// Behaviour 4: no network by default (a new network namespace with only
// loopback up); network: true reaches the host.
import net from 'net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../lib';
import { userLabel } from './helpers';

const connect = (port: number) => `
  const s = require('net').connect(${port}, '127.0.0.1');
  s.on('connect', () => { process.stdout.write('connected'); s.destroy(); });
  s.on('error', (e) => process.stdout.write(e.code));`;

describe(`network (as ${userLabel})`, () => {
  let server: net.Server, port: number;
  beforeAll(async () => {
    server = net.createServer((c) => c.end());
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((res) => server.close(() => res())));

  it('cannot reach a listener on the host loopback by default', async () => {
    const r = await run(process.execPath, ['-e', connect(port)], { sandbox: { writableRoots: [] } });
    expect(r.stdout).toBe('ECONNREFUSED');
  });

  it('has only loopback, and it is up', async () => {
    const r = await run('/bin/cat', ['/proc/net/dev'], { sandbox: { writableRoots: [] } });
    const ifaces = r.stdout
      .split('\n')
      .slice(2)
      .filter(Boolean)
      .map((l) => l.trim().split(':')[0]);
    expect(ifaces).toEqual(['lo']);
    // Something can listen and connect on the private loopback.
    const local = await run(
      process.execPath,
      [
        '-e',
        `
      const net = require('net');
      const srv = net.createServer((c) => c.end('pong')).listen(0, '127.0.0.1', () => {
        net.connect(srv.address().port, '127.0.0.1').on('data', (d) => { process.stdout.write(String(d)); srv.close(); });
      });`,
      ],
      { sandbox: { writableRoots: [] } },
    );
    expect(local.stdout).toBe('pong');
  });

  it('reaches the host listener with network: true', async () => {
    const r = await run(process.execPath, ['-e', connect(port)], { sandbox: { writableRoots: [], network: true } });
    expect(r.stdout).toBe('connected');
  });
});
