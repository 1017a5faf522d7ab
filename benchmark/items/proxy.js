'use strict';
// Network domain lists (lib/proxy/): connection setup through the sandbox's
// proxy vs a direct loopback connection, one large download through it vs a
// direct loopback stream (the same client script, benchmark/workers/
// proxy-client.js, on the host and inside a sandbox; the origin is this
// process), and sandbox start with a domain list vs network: false.
const cp = require('child_process');
const net = require('net');
const path = require('path');
const { interleave, ratios } = require('../lib/interleave');
const { sbx, timeSbx } = require('../lib/proc');

const CLIENT = path.join(__dirname, '..', 'workers', 'proxy-client.js');

/** setup: greets each connection with one byte. stream: on 'go', sends `size` bytes. */
function origin(size) {
  const chunk = Buffer.alloc(1 << 20, 120);
  const server = net.createServer((c) => {
    c.on('error', () => {});
    c.write('x');
    c.once('data', () => {
      let left = size;
      const more = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!c.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void c.once('drain', more);
        }
        c.end();
      };
      more();
    });
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

/**
 * mode: direct (on the host), sandbox-direct (inside a sandbox with
 * network: true, straight to the origin: what the sandbox itself adds, its
 * supervised connect), proxy (inside a sandbox with a domain list).
 * `mod`: another build's dist (ctx.peer) for the sandbox.
 */
function sample(mode, op, port, count, ws, mod = sbx()) {
  const args = [CLIENT, mode === 'proxy' ? 'proxy' : 'direct', op, 'localhost', String(port), String(count)];
  const child =
    mode === 'direct'
      ? cp.spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
      : mod.spawn(process.execPath, args, {
          stdio: ['ignore', 'pipe', 'inherit'],
          sandbox: { writableRoots: [ws], network: mode === 'proxy' ? { allowedDomains: ['localhost'] } : true },
        });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out).value) : reject(new Error(`proxy-client ${mode} ${op}: exit ${code}`)),
    );
  });
}

module.exports = async function proxy(ctx) {
  const ws = ctx.dir('workspace');
  const out = { title: 'Network domain lists: the proxy', cases: {} };
  const samples = ctx.quick ? 2 : 9;
  const size = ctx.quick ? 256 << 20 : 1 << 30;
  const server = await origin(size);
  const port = server.address().port;
  try {
    const conns = ctx.quick ? 50 : 300;
    ctx.log(`proxy: connection setup, ${samples} rounds of ${conns} sequential connections`);
    const setup = await interleave({
      variants: {
        proxy: () => sample('proxy', 'setup', port, conns, ws),
        direct: () => sample('direct', 'setup', port, conns, ws),
        'sandbox-direct': () => sample('sandbox-direct', 'setup', port, conns, ws),
        // Another built checkout (--peer), in the same rounds, with the same client.
        ...(ctx.peer ? { 'proxy (peer)': () => sample('proxy', 'setup', port, conns, ws, ctx.peer) } : {}),
      },
      warmup: 1,
      samples,
      log: ctx.quick ? () => {} : ctx.log,
    });
    setup.unit = 'ms per connection';
    setup.ratios = ratios(setup, [['proxy', 'direct'], ['proxy', 'sandbox-direct'], ...(ctx.peer ? [['proxy', 'proxy (peer)']] : [])]);
    const extra = (peer) => Math.round((setup.variants.proxy.median - setup.variants[peer].median) * 1000) / 1000;
    setup.extraMs = extra('direct');
    // The proxy's own share: over the same client in a sandbox that connects straight out.
    setup.extraOverSandboxMs = extra('sandbox-direct');
    out.cases['connection setup'] = setup;
    ctx.log(
      `  medians: proxy ${setup.variants.proxy.median} ms, direct ${setup.variants.direct.median} ms, sandbox-direct ${setup.variants['sandbox-direct'].median} ms: ${setup.extraMs} ms extra (${setup.extraOverSandboxMs} over sandbox-direct)`,
    );

    ctx.log(`proxy: one download of ${size >> 20} MiB, ${samples} rounds`);
    const stream = await interleave({
      variants: {
        proxy: () => sample('proxy', 'stream', port, size, ws),
        direct: () => sample('direct', 'stream', port, size, ws),
        ...(ctx.peer ? { 'proxy (peer)': () => sample('proxy', 'stream', port, size, ws, ctx.peer) } : {}),
      },
      warmup: 1,
      samples,
      log: ctx.quick ? () => {} : ctx.log,
    });
    stream.unit = 'MB/s';
    stream.higherIsBetter = true;
    stream.ratios = ratios(stream, [['proxy', 'direct'], ...(ctx.peer ? [['proxy', 'proxy (peer)']] : [])]);
    out.cases['download'] = stream;
    ctx.log(
      `  medians: proxy ${stream.variants.proxy.median} MB/s, direct ${stream.variants.direct.median} MB/s; ratio ${stream.ratios['proxy/direct']}`,
    );
  } finally {
    server.close();
  }
  const starts = ctx.quick ? 5 : 40;
  ctx.log(`proxy: sandbox start (/bin/true to exit), ${samples} rounds of ${starts}`);
  const batch = async (sandbox, mod) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < starts; i++) await timeSbx('/bin/true', [], sandbox, { cwd: ws }, mod);
    return Number(process.hrtime.bigint() - t0) / 1e6 / starts;
  };
  const start = await interleave({
    variants: {
      domains: () => batch({ writableRoots: [ws], network: { allowedDomains: ['example.com'] } }),
      'network-false': () => batch({ writableRoots: [ws], network: false }),
      // Another built checkout (--peer), in the same rounds.
      ...(ctx.peer
        ? { 'domains (peer)': () => batch({ writableRoots: [ws], network: { allowedDomains: ['example.com'] } }, ctx.peer) }
        : {}),
    },
    warmup: 1,
    samples,
    log: ctx.quick ? () => {} : ctx.log,
  });
  start.unit = 'ms per sandbox';
  start.ratios = ratios(start, [
    ['domains', 'network-false'],
    ['domains', 'domains (peer)'],
  ]);
  out.cases['sandbox start'] = start;
  ctx.log(`  medians: domains ${start.variants.domains.median} ms, network false ${start.variants['network-false'].median} ms`);
  const dl = out.cases.download;
  out.targets = [
    {
      what: 'connection setup under 1 ms extra',
      value: out.cases['connection setup'].extraMs,
      met: out.cases['connection setup'].extraMs < 1,
    },
    {
      what: 'download at least 1 GB/s or half of direct, whichever is lower',
      value: dl.variants.proxy.median,
      met: dl.variants.proxy.median >= Math.min(1000, dl.variants.direct.median / 2),
    },
  ];
  return out;
};
