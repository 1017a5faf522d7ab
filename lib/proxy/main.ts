// The network proxy process of one sandbox (docs/policy.md, network domains).
// The helper (native/helper/ops_proxy.cc) starts it outside the sandbox's
// network namespace, confined (no capabilities, read-only files, no TCP
// bind), with the listening sockets it made on the sandbox's loopback:
//   fd 3: HTTP proxy (plain requests and CONNECT), fd 4: SOCKS5,
//   fd 5: the events pipe (report.ts), fd 6: the control socket to the
//   monitor, whose end means the sandbox is gone, fd 7: the status pipe it
//   closes once its seccomp program is on (lockdown.ts).
// argv[2]: the rules as JSON ({ allowed, denied, hosts }); argv[3]: the addon
// file to confine itself with (the caller's). It parses what the
// sandbox sends, decides by rules.ts, resolves a name once and connects to
// the address it checked.
import dns from 'dns';
import fs from 'fs';
import http from 'http';
import net from 'net';
import os from 'os';
import type { Binding } from '../native';
import { MAX_CONNECT_HEAD, readConnectHead } from './connect-head';
import { chooseAddress, Decision, decideHost, DomainPattern, DomainRules, parsePattern } from './rules';
import { Reporter } from './report';
import { LOOKUP_CACHE_MAX, reusingLookups } from './lookups';

const HTTP_FD = 3,
  SOCKS_FD = 4,
  EVENTS_FD = 5,
  CONTROL_FD = 6;

export interface ProxyConfig {
  allowed: string[] | null;
  denied: string[];
  /** Test only (SBX_NATIVE_TEST_HOSTS): names resolved from this map and never by DNS. */
  hosts?: Record<string, string[]>;
}

type Target = { ok: true; address: string; rule: string } | { ok: false; rule: string };

function patterns(list: string[]): DomainPattern[] {
  return list.map((t) => {
    const p = parsePattern(t);
    if (typeof p === 'string') throw new Error(`bad pattern ${JSON.stringify(t)}: ${p}`);
    return p;
  });
}

export function startProxy(config: ProxyConfig, addonPath: string): void {
  addonFile = addonPath;
  const rules: DomainRules = { allowed: config.allowed ? patterns(config.allowed) : undefined, denied: patterns(config.denied) };
  const reporter = new Reporter(EVENTS_FD);
  const system = reusingLookups(
    (host, cb) => dns.lookup(host, { all: true, verbatim: true }, (err, list) => cb(err, err ? [] : list.map((a) => a.address))),
    () => performance.now(),
  );
  const lookup = (host: string, cb: (addresses: string[]) => void) => {
    if (config.hosts) return cb(config.hosts[host.toLowerCase().replace(/\.$/, '')] ?? []);
    system(host, cb);
  };

  // The rules never change in a proxy's life, and a reused lookup answer is the
  // same array (lookups.ts): a host and port's decision is kept with the answer
  // it was made from, and made again for any other answer. Both are pure
  // functions of what they are kept by (rules.ts); this only saves their cost.
  const decisions = new Map<string, { first: Decision; addresses?: string[]; target?: Target }>();
  const decision = (bare: string, port: number) => {
    const key = `${bare}\0${port}`;
    let d = decisions.get(key);
    if (!d) {
      if (decisions.size >= LOOKUP_CACHE_MAX) decisions.delete(decisions.keys().next().value as string);
      decisions.set(key, (d = { first: decideHost(rules, bare, port) }));
    }
    return d;
  };

  /** Decides, resolves once, reports: the address to connect to, or why not. */
  const resolveTarget = (host: string, port: number, cb: (t: Target) => void) => {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const d = decision(bare, port);
    const first = d.first;
    const done = (t: Target) => {
      reporter.report(t.ok, bare, port, t.rule);
      cb(t);
    };
    if (!first.allowed) return done({ ok: false, rule: first.rule });
    if (net.isIP(bare)) return done({ ok: true, address: bare, rule: first.rule });
    lookup(bare, (addresses) => {
      if (d.addresses !== addresses || !d.target) {
        const chosen = chooseAddress(rules, bare, port, addresses);
        d.addresses = addresses;
        d.target = 'address' in chosen ? { ok: true, address: chosen.address, rule: first.rule } : { ok: false, rule: chosen.refused };
      }
      done(d.target);
    });
  };

  const server = http.createServer({ requireHostHeader: false, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) =>
    forward(req, res, resolveTarget),
  );
  // A CONNECT the proxy reads itself (connect-head.ts) never reaches the server's 'connect' event; this is for the rest.
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => tunnel(req.url ?? '', socket, head, resolveTarget));
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  // Loaded here, not at the top: the HTTP proxy serves without it.
  const { Socks5Server } = require('@pondwader/socks5-server') as typeof import('@pondwader/socks5-server');
  const socks = new Socks5Server();
  socks.setConnectionHandler((conn, sendStatus) => {
    conn.socket.on('error', () => {});
    resolveTarget(conn.destAddress, conn.destPort, (t) => {
      if (!t.ok) return sendStatus('CONNECTION_NOT_ALLOWED');
      if (spliceTunnel(conn.socket as net.Socket, Buffer.alloc(0), t.address, conn.destPort, SOCKS_GRANTED, SOCKS_FAILED)) return;
      const up = net.connect({ host: t.address, port: conn.destPort });
      up.setNoDelay(true);
      let open = false;
      up.on('error', (e: NodeJS.ErrnoException) => {
        if (!open)
          sendStatus(
            e.code === 'ECONNREFUSED' ? 'CONNECTION_REFUSED' : e.code === 'ENETUNREACH' ? 'NETWORK_UNREACHABLE' : 'HOST_UNREACHABLE',
          );
        else conn.socket.destroy();
      });
      up.on('connect', () => {
        open = true;
        sendStatus('REQUEST_GRANTED');
        conn.socket.pipe(up).pipe(conn.socket);
      });
      conn.socket.on('close', () => up.destroy());
    });
  });

  let listening = 0;
  const ready = () => {
    if (++listening < 2) return;
    const control = new net.Socket({ fd: CONTROL_FD, readable: true, writable: false });
    control.on('data', () => {});
    // The monitor's end closes when the sandbox ends, however it ends.
    control.on('close', () => process.exit(0));
    control.on('error', () => process.exit(0));
  };
  // The addon's tunnel thread accepts on the HTTP port and reads each request head (native/tunnel_heads.cc).
  const err = addon().tunnelListen(HTTP_FD, MAX_CONNECT_HEAD, (id, bytes) => onHead(id, bytes, server, resolveTarget));
  if (err !== 0) throw new Error(`the tunnel thread cannot accept on the HTTP proxy port: ${errnoName(err)}`);
  ready();
  socks.listen({ fd: SOCKS_FD }, ready);
}

type Resolve = (host: string, port: number, cb: (t: Target) => void) => void;

let binding: Binding | undefined;
/** The addon the proxy confined itself with (argv[3]): its tunnel thread carries every byte. */
function addon(): Binding {
  return (binding ??= require(addonFile) as Binding);
}
let addonFile = '';

/**
 * Hands a checked connection to the addon's tunnel thread (native/tunnel.cc):
 * the bytes then go kernel to kernel, off this event loop. False when it
 * cannot (no fd, or the addon's errno): the caller pipes in JavaScript instead.
 * Synchronous from the read of what is buffered to the destroy, so the event
 * loop never reads the connection again.
 */
function spliceTunnel(socket: net.Socket, head: Buffer, address: string, port: number, ok: Buffer, failed: Buffer): boolean {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return false;
  socket.pause();
  const buffered: Buffer[] = [head];
  for (let b: Buffer | null; (b = socket.read() as Buffer | null) !== null;) buffered.push(b);
  if (addon().tunnel(fd, address, port, Buffer.concat(buffered), ok, failed) !== 0) return false;
  socket.destroy();
  return true;
}

const CONNECTED = Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\n');
const SOCKS_GRANTED = Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
const SOCKS_FAILED = Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);

function refuse(socket: net.Socket, status: number, why: string): void {
  const body = `sbx-native: ${why}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Bad Gateway'}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** host:port of a CONNECT, or undefined. */
function authority(s: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(s);
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

/** An errno as its name (EMFILE), for messages. */
function errnoName(err: number): string {
  return Object.entries(os.constants.errno).find(([, n]) => n === err)?.[0] ?? `errno ${err}`;
}

/** Connection `id` of the tunnel thread as a socket of this event loop. */
function adopt(id: number): net.Socket | undefined {
  const fd = addon().tunnelTake(id);
  if (fd < 0) return undefined;
  const socket = new net.Socket({ fd, readable: true, writable: true });
  socket.on('error', () => {});
  return socket;
}

function refuseId(id: number, status: number, why: string): void {
  const socket = adopt(id);
  if (socket) refuse(socket, status, why);
}

/**
 * The first bytes of a connection to the HTTP proxy (native/tunnel_heads.cc):
 * a CONNECT is decided here and its tunnel started by the addon; anything
 * else goes to the HTTP server, with the bytes read so far.
 */
function onHead(id: number, bytes: Buffer, server: http.Server, resolve: Resolve): void {
  const head = readConnectHead(bytes);
  if (head.kind === 'other') {
    const socket = adopt(id);
    if (!socket) return;
    server.emit('connection', socket);
    socket.emit('data', bytes);
    return;
  }
  if (head.kind !== 'connect') return refuseId(id, 400, head.kind === 'bad' ? head.why : 'the request head ended early');
  const to = authority(head.target);
  if (!to) return refuseId(id, 400, `CONNECT needs host:port, got ${JSON.stringify(head.target)}`);
  resolve(to.host, to.port, (t) => {
    if (!t.ok) return refuseId(id, 403, `${to.host}:${to.port} refused: ${t.rule}`);
    const err = addon().tunnelStart(id, t.address, to.port, bytes.subarray(head.end), CONNECTED, badGateway(to.host, to.port));
    if (err !== 0) refuseId(id, 502, `${to.host}:${to.port}: ${errnoName(err)}`);
  });
}

function badGateway(host: string, port: number): Buffer {
  const body = `sbx-native: ${host}:${port}: connection failed\n`;
  return Buffer.from(
    `HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function tunnel(target: string, socket: net.Socket, head: Buffer, resolve: Resolve): void {
  socket.on('error', () => {});
  const to = authority(target);
  if (!to) return refuse(socket, 400, `CONNECT needs host:port, got ${JSON.stringify(target)}`);
  resolve(to.host, to.port, (t) => {
    if (!t.ok) return refuse(socket, 403, `${to.host}:${to.port} refused: ${t.rule}`);
    if (spliceTunnel(socket, head, t.address, to.port, CONNECTED, badGateway(to.host, to.port))) return;
    const up = net.connect({ host: t.address, port: to.port });
    up.setNoDelay(true);
    let open = false;
    up.on('error', (e) => (open ? socket.destroy() : refuse(socket, 502, `${to.host}:${to.port}: ${e.message}`)));
    up.on('connect', () => {
      open = true;
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    socket.on('close', () => up.destroy());
  });
}

const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/** Raw headers without the hop-by-hop ones (and those Connection names). */
function endToEnd(raw: string[]): [string, string][] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'connection') for (const n of raw[i + 1].split(',')) named.add(n.trim().toLowerCase());
  }
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (!HOP_BY_HOP.has(k) && !named.has(k)) out.push([raw[i], raw[i + 1]]);
  }
  return out;
}

const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 16 });

/** A plain HTTP request in proxy form (GET http://host/path): every request on a kept-alive connection is checked. */
function forward(req: http.IncomingMessage, res: http.ServerResponse, resolve: Resolve): void {
  let url: URL | undefined;
  try {
    url = new URL(req.url ?? '');
  } catch {
    /* not absolute */
  }
  const send = (status: number, why: string) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
    res.end(`sbx-native: ${why}\n`);
  };
  if (!url || url.protocol !== 'http:') return send(400, `a proxy request needs an absolute http:// URL, got ${JSON.stringify(req.url)}`);
  const target = url;
  const port = target.port ? Number(target.port) : 80;
  resolve(target.hostname, port, (t) => {
    if (!t.ok) return send(403, `${target.hostname}:${port} refused: ${t.rule}`);
    // Host is the URL's: the checked name is the one the server sees.
    const headers = [...endToEnd(req.rawHeaders), ['Host', target.host]].flat();
    const up = http.request({
      host: t.address,
      port,
      method: req.method,
      path: `${target.pathname}${target.search}`,
      headers,
      agent,
      setHost: false,
    });
    up.on('response', (r) => {
      res.writeHead(r.statusCode ?? 502, r.statusMessage, endToEnd(r.rawHeaders).flat());
      r.pipe(res);
    });
    up.on('error', (e) => (res.headersSent ? res.destroy() : send(502, `${target.host}: ${e.message}`)));
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
}

if (require.main === module) {
  process.on('uncaughtException', (e) => {
    try {
      fs.writeSync(2, `sbx-native network proxy: ${e.stack ?? e}\n`);
    } catch {
      /* nowhere to say it */
    }
    process.exit(70);
  });
  // Confined before it reads a byte from the sandbox; the monitor waits for this (lockdown.ts).
  const { lockdown, reportReady } = require('./lockdown') as typeof import('./lockdown');
  try {
    lockdown(process.argv[3]);
  } catch (e) {
    reportReady(e as Error);
    process.exit(70);
  }
  reportReady();
  startProxy(JSON.parse(process.argv[2]) as ProxyConfig, process.argv[3]);
}
