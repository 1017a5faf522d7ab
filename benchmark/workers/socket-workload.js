'use strict';
// Timed inside the process (spawn cost excluded), for benchmark/items/unix-sockets.js:
//   connect DIR N PORT: N non-blocking connects to a unix listener this process
//     bound in DIR (the supervised path: init checks the socket is the
//     sandbox's own) and N to a TCP listener on 127.0.0.1:PORT; µs per connect.
//   tcp MB: MB megabytes through a TCP connection on 127.0.0.1 (write(2),
//     never supervised); MB/s.
// Prints one JSON line.
const net = require('net');
const path = require('path');

async function connects(n, opts) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    await new Promise((res, rej) => {
      const c = net.connect(opts, () => {
        c.destroy();
        res();
      });
      c.on('error', rej);
    });
  }
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

async function main() {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === 'connect') {
    const n = Number(b);
    const sock = path.join(a, `bench-${process.pid}.sock`);
    const srv = net.createServer((s) => s.on('error', () => {}).end()).listen(sock);
    await new Promise((res) => srv.on('listening', res));
    const unix = await connects(n, { path: sock });
    const tcp = await connects(n, { host: '127.0.0.1', port: Number(c) });
    srv.close();
    process.stdout.write(JSON.stringify({ unix, tcp }) + '\n');
  } else if (mode === 'tcp') {
    const total = Number(a) << 20;
    const chunk = Buffer.alloc(1 << 16, 7);
    let got = 0;
    let t0;
    const done = new Promise((res) => {
      const srv = net
        .createServer((s) =>
          s.on('data', (d) => {
            got += d.length;
            if (got >= total) {
              s.destroy();
              srv.close();
              res();
            }
          }),
        )
        .listen(0, '127.0.0.1', () => {
          const cl = net.connect(srv.address().port, '127.0.0.1', () => {
            t0 = process.hrtime.bigint();
            let sent = 0;
            const pump = () => {
              while (sent < total) {
                sent += chunk.length;
                if (!cl.write(chunk)) return cl.once('drain', pump);
              }
            };
            pump();
          });
          cl.on('error', () => {});
        });
    });
    await done;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(JSON.stringify({ mbps: total / (1 << 20) / s }) + '\n');
  }
}
main();
