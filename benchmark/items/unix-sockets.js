'use strict';
// The cost of the unix-socket rule (docs/supervisor.md "Unix sockets"): every
// connect goes through init. A unix connect to a socket the sandbox bound and
// a TCP connect under network: true, in the sandbox vs outside (µs per
// connect, timed inside the process); and TCP throughput, which must not
// change (its write(2)s are never supervised). Interleaved, medians.
const cp = require('child_process');
const net = require('net');
const path = require('path');
const { interleave, ratios } = require('../lib/interleave');
const { target } = require('../lib/target');
const { runJson, sbx } = require('../lib/proc');

module.exports = async function unixSockets(ctx) {
  const dir = ctx.dir('unix-sockets');
  const wl = path.join(__dirname, '..', 'workers', 'socket-workload.js');
  const node = process.execPath;
  const sandbox = { writableRoots: [dir], network: true };
  const stdio = ['ignore', 'pipe', 'pipe'];
  const out = { title: 'Unix-socket rule: supervised connects, and TCP throughput', unit: 'µs', cases: {} };

  const tcp = net.createServer((s) => s.on('error', () => {}).end()).listen(0, '127.0.0.1');
  await new Promise((res) => tcp.on('listening', res));
  const port = String(tcp.address().port);
  const n = String(ctx.quick ? 200 : 2000);
  const samples = ctx.quick ? 2 : 9;
  ctx.log(`supervised connects: ${samples} rounds of ${n} unix + ${n} TCP connects`);
  const runs = {
    inside: () => runJson(sbx().spawn(node, [wl, 'connect', dir, n, port], { stdio, sandbox })),
    outside: () => runJson(cp.spawn(node, [wl, 'connect', dir, n, port], { stdio })),
  };
  const split = (key) => Object.fromEntries(Object.entries(runs).map(([k, f]) => [k, () => f().then((x) => ({ value: x[key], ...x }))]));
  const unix = await interleave({ variants: split('unix'), warmup: 1, samples, alternate: true, log: ctx.quick ? () => {} : ctx.log });
  unix.ratios = ratios(unix, [['inside', 'outside']]);
  out.cases[`unix connect to the sandbox's own socket (µs each, ${n} per sample)`] = unix;
  const tcpc = await interleave({ variants: split('tcp'), warmup: 1, samples, alternate: true, log: ctx.quick ? () => {} : ctx.log });
  tcpc.ratios = ratios(tcpc, [['inside', 'outside']]);
  out.cases[`TCP connect, network: true (µs each, ${n} per sample)`] = tcpc;
  tcp.close();
  for (const r of [unix, tcpc]) for (const v of Object.values(r.variants)) delete v.extra;

  // The connect alone, from Python: non-blocking (init answers at once) and blocking (init waits on a thread).
  const py = path.join(__dirname, '..', 'workers', 'socket-connect.py');
  const pyRuns = {
    inside: () => runJson(sbx().spawn('/usr/bin/python3', [py, dir, n], { stdio, sandbox })),
    outside: () => runJson(cp.spawn('/usr/bin/python3', [py, dir, n], { stdio })),
  };
  for (const key of ['nonblocking', 'blocking']) {
    const variants = Object.fromEntries(Object.entries(pyRuns).map(([k, f]) => [k, () => f().then((x) => x[key])]));
    const r = await interleave({ variants, warmup: 1, samples, alternate: true, log: ctx.quick ? () => {} : ctx.log });
    r.ratios = ratios(r, [['inside', 'outside']]);
    out.cases[`Python ${key} connect + accept to the sandbox's own socket (µs each, ${n} per sample)`] = r;
    ctx.log(`  python ${key}: ${r.variants.inside.median} vs ${r.variants.outside.median} µs`);
  }

  const mb = String(ctx.quick ? 64 : 512);
  ctx.log(`TCP throughput: ${samples} rounds of ${mb} MB`);
  const thr = await interleave({
    variants: {
      inside: () => runJson(sbx().spawn(node, [wl, 'tcp', mb], { stdio, sandbox })).then((x) => x.mbps),
      outside: () => runJson(cp.spawn(node, [wl, 'tcp', mb], { stdio })).then((x) => x.mbps),
    },
    warmup: 1,
    samples,
    alternate: true,
    log: ctx.quick ? () => {} : ctx.log,
  });
  thr.ratios = ratios(thr, [['inside', 'outside']]);
  thr.unit = 'MB/s';
  out.cases[`TCP throughput over 127.0.0.1, network: true (MB/s, ${mb} MB)`] = thr;
  ctx.log(
    `  medians: unix connect ${unix.variants.inside.median} vs ${unix.variants.outside.median} µs; TCP connect ${tcpc.variants.inside.median} vs ${tcpc.variants.outside.median} µs; TCP ${thr.variants.inside.median} vs ${thr.variants.outside.median} MB/s`,
  );
  out.targets = [
    target('TCP throughput inside >= 0.97x outside (no supervised call on the data path)', thr.ratios['inside/outside'], (x) => x >= 0.97),
  ];
  return out;
};
