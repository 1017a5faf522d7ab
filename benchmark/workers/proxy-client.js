'use strict';
// One sample of the proxy benchmark (benchmark/items/proxy.js), run on the
// host (direct) or inside a sandbox with a domain list (through its proxy).
// argv: direct|proxy setup|stream HOST PORT COUNT. setup: COUNT sequential
// connections, each until the origin's first byte: prints ms per connection.
// stream: one connection reading COUNT bytes: prints MB/s (10^6 bytes).
const net = require('net');
const [mode, op, host, port, count] = process.argv.slice(2);

function open() {
  return new Promise((resolve, reject) => {
    if (mode === 'direct') {
      const s = net.connect(Number(port), host === 'localhost' ? '127.0.0.1' : host);
      s.once('error', reject);
      return s.once('connect', () => resolve(s));
    }
    const s = net.connect(3128, '127.0.0.1');
    s.once('error', reject);
    s.once('connect', () => s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    let head = Buffer.alloc(0);
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.removeListener('data', onData);
      if (!/^HTTP\/1\.1 200/.test(head.toString('latin1', 0, 12))) return reject(new Error(head.toString()));
      s.pause();
      const rest = head.subarray(end + 4);
      if (rest.length) s.unshift(rest);
      resolve(s);
    };
    s.on('data', onData);
  });
}

async function main() {
  if (op === 'setup') {
    const n = Number(count);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const s = await open();
      await new Promise((res) => {
        s.once('data', res);
        s.resume();
      });
      s.destroy();
    }
    return console.log(JSON.stringify({ value: Number(process.hrtime.bigint() - t0) / 1e6 / n }));
  }
  const want = Number(count);
  const s = await open();
  let got = 0,
    t0;
  await new Promise((res, rej) => {
    s.on('data', (d) => {
      if (t0 === undefined) t0 = process.hrtime.bigint();
      got += d.length;
      if (got >= want) res();
    });
    s.on('error', rej);
    s.resume();
    s.write('go');
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  s.destroy();
  console.log(JSON.stringify({ value: got / secs / 1e6 }));
}
main().catch((e) => {
  console.error(e.stack);
  process.exit(1);
});
