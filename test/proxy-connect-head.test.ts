// The proxy's reading of a CONNECT head (lib/proxy/connect-head.ts): what is
// tunneled, what goes to the HTTP server, and what is refused, byte by byte.
import { describe, expect, it } from 'vitest';
import { MAX_CONNECT_HEAD, readConnectHead } from '../lib/proxy/connect-head';

const read = (s: string) => readConnectHead(Buffer.from(s, 'latin1'));

describe('a CONNECT head', () => {
  it('is whole at its blank line; what follows is the tunnel’s', () => {
    const head = 'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nProxy-Connection: keep-alive\r\n\r\n';
    expect(read(head)).toEqual({ kind: 'connect', target: 'a.test:443', end: head.length });
    expect(read(`${head}\x16\x03\x01early`)).toEqual({ kind: 'connect', target: 'a.test:443', end: head.length });
    expect(read('CONNECT [::1]:22 HTTP/1.0\r\n\r\n')).toEqual({ kind: 'connect', target: '[::1]:22', end: 29 });
  });

  it('asks for more while it is a prefix of one, in any split', () => {
    const head = 'CONNECT a.test:443 HTTP/1.1\r\nHost: a\r\n\r\n';
    for (let i = 1; i < head.length; i++) expect(read(head.slice(0, i))).toEqual({ kind: 'more' });
  });

  it('leaves everything else to the HTTP server, from the first byte that differs', () => {
    for (const s of ['G', 'GET http://a.test/ HTTP/1.1\r\n\r\n', 'CONNECTX', 'connect a.test:443 HTTP/1.1\r\n\r\n', 'CONNECT\t'])
      expect(read(s)).toEqual({ kind: 'other' });
  });

  it('refuses a request line or header field that is not one, naming it', () => {
    expect(read('CONNECT a.test:443\r\n\r\n')).toEqual({ kind: 'bad', why: 'not a CONNECT request line: "CONNECT a.test:443"' });
    expect(read('CONNECT a.test:443 HTTP/2.0\r\n\r\n').kind).toBe('bad');
    expect(read('CONNECT  a.test:443 HTTP/1.1\r\n\r\n').kind).toBe('bad');
    expect(read('CONNECT a.test:443 HTTP/1.1\r\nno colon\r\n\r\n')).toEqual({ kind: 'bad', why: 'not a header field: "no colon"' });
    expect(read('CONNECT a.test:443 HTTP/1.1\r\nBad Name: x\r\n\r\n').kind).toBe('bad');
    expect(read('CONNECT a.test:443 HTTP/1.1\r\nX: a\nb\r\n\r\n').kind).toBe('bad'); // a bare LF inside a field
    expect(read('CONNECT a.test:443 HTTP/1.1\r\nX: a\rb\r\n\r\n').kind).toBe('bad');
    expect(read('CONNECT a.test:443 HTTP/1.1\r\n folded\r\n\r\n').kind).toBe('bad'); // obsolete line folding
  });

  it('refuses a head over the limit, whole or not', () => {
    const big = `CONNECT a.test:443 HTTP/1.1\r\nX: ${'a'.repeat(MAX_CONNECT_HEAD)}`;
    expect(read(big)).toEqual({ kind: 'bad', why: `the request head is over ${MAX_CONNECT_HEAD} bytes` });
    expect(read(`${big}\r\n\r\n`).kind).toBe('bad');
    const fits = `CONNECT a.test:443 HTTP/1.1\r\nX: ${'a'.repeat(MAX_CONNECT_HEAD - 36)}\r\n\r\n`;
    expect(fits.length).toBe(MAX_CONNECT_HEAD);
    expect(read(fits).kind).toBe('connect');
  });
});
