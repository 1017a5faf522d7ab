// The head of an HTTP CONNECT request, read by the proxy itself (main.ts).
// Node's HTTP server spends a parser, an IncomingMessage and a chain of events
// on every tunnel: about 0.3 ms of each connection's set-up on the benchmark's
// VM (benchmark/items/proxy.js). Anything that is not a CONNECT goes to that
// server unchanged, so plain proxy requests keep its parsing and keep-alive.
// After the blank line every byte belongs to the tunnel: nothing behind the
// proxy reads these headers, so they are only checked for shape.

/** Node's own default limit for a request head (--max-http-header-size). */
export const MAX_CONNECT_HEAD = 16 * 1024;

export type ConnectHead =
  /** A prefix of a CONNECT head: read on. */
  | { kind: 'more' }
  /** Not a CONNECT: for the HTTP server, with every byte read so far. */
  | { kind: 'other' }
  | { kind: 'bad'; why: string }
  /** `target` as the request line gave it; the tunnel's first bytes start at `end`. */
  | { kind: 'connect'; target: string; end: number };

const METHOD = Buffer.from('CONNECT ', 'latin1');
const REQUEST_LINE = /^CONNECT ([^\s]+) HTTP\/1\.[01]$/;
// A header field as RFC 9110 spells it: a token, a colon, visible characters, spaces and tabs.
const FIELD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t \x21-\x7e\x80-\xff]*$/;

export function readConnectHead(buf: Buffer): ConnectHead {
  const n = Math.min(buf.length, METHOD.length);
  if (buf.compare(METHOD, 0, n, 0, n) !== 0) return { kind: 'other' };
  const blank = buf.indexOf('\r\n\r\n', 0, 'latin1');
  if (blank < 0) {
    return buf.length > MAX_CONNECT_HEAD ? { kind: 'bad', why: `the request head is over ${MAX_CONNECT_HEAD} bytes` } : { kind: 'more' };
  }
  if (blank + 4 > MAX_CONNECT_HEAD) return { kind: 'bad', why: `the request head is over ${MAX_CONNECT_HEAD} bytes` };
  const lines = buf.toString('latin1', 0, blank).split('\r\n');
  const line = REQUEST_LINE.exec(lines[0]);
  if (!line) return { kind: 'bad', why: `not a CONNECT request line: ${JSON.stringify(lines[0].slice(0, 200))}` };
  for (const field of lines.slice(1)) {
    if (!FIELD.test(field)) return { kind: 'bad', why: `not a header field: ${JSON.stringify(field.slice(0, 200))}` };
  }
  return { kind: 'connect', target: line[1], end: blank + 4 };
}
