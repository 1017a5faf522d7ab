'use strict';
// Item 1: spawn latency from Node at ~50 MB and ~1 GB of heap.
const cp = require('child_process');
const path = require('path');
const { ratios } = require('../lib/interleave');
const { target } = require('../lib/target');

module.exports = async function spawnLatency(ctx) {
  const out = { title: 'Spawn latency from Node (spawn() to exit of /bin/true)', unit: 'ms', cases: {} };
  for (const heapMb of [50, 1024]) {
    const samples = ctx.quick ? 8 : heapMb > 100 ? 60 : 100;
    const opt = { heapMb, workspace: ctx.dir('workspace'), bwrap: ctx.bwrap.path, warmup: ctx.quick ? 2 : 10, samples };
    ctx.log(`spawn latency, heap ${heapMb} MB: ${samples} rounds`);
    const r = await runWorker(opt, heapMb);
    r.ratios = ratios(r, [
      ['sbx', 'child_process'],
      ['bwrap', 'sbx'],
    ]);
    out.cases[`heap ${heapMb} MB`] = r;
    ctx.log(
      `  medians: ${Object.entries(r.variants)
        .map(([k, v]) => `${k} ${v.median} ms`)
        .join(', ')}; ratios ${JSON.stringify(r.ratios)}`,
    );
  }
  out.targets = [];
  const small = out.cases['heap 50 MB'],
    big = out.cases['heap 1024 MB'];
  out.targets.push(target('sbx <= 1.2x child_process at 50 MB', small.ratios['sbx/child_process'], (x) => x <= 1.2));
  out.targets.push(target('sbx <= 1.0x child_process at 1 GB', big.ratios['sbx/child_process'], (x) => x <= 1.0));
  if (small.ratios['bwrap/sbx'] !== undefined) {
    out.targets.push(target('bwrap >= 3x sbx at 50 MB', small.ratios['bwrap/sbx'], (x) => x >= 3));
    out.targets.push(target('bwrap >= 3x sbx at 1 GB', big.ratios['bwrap/sbx'], (x) => x >= 3));
  }
  return out;
};

function runWorker(opt, heapMb) {
  return new Promise((resolve, reject) => {
    const args = [
      `--max-old-space-size=${heapMb * 2 + 512}`,
      path.join(__dirname, '..', 'workers', 'spawn-latency.js'),
      JSON.stringify(opt),
    ];
    const child = cp.spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    child.stdout.on('data', (d) => {
      s += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(s)) : reject(new Error(`spawn-latency worker exit ${code}`))));
  });
}
