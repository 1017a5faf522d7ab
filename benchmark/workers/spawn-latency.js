'use strict';
// Runs inside a Node process whose heap is first grown to --heap-mb, then
// times sbx.spawn('true') vs child_process.spawn('true') vs spawning bwrap
// interleaved. Prints one JSON result on stdout, progress on stderr.
const { interleave } = require('../lib/interleave');
const { timeCp, timeCpDetailed, timeSbxDetailed, sbx } = require('../lib/proc');
const { bwrapArgs } = require('../lib/bwrap');

async function main() {
  const opt = JSON.parse(process.argv[2]);
  const ballast = [];
  // Arrays of doubles live on the V8 heap; fill() touches every page.
  while (process.memoryUsage().heapUsed < opt.heapMb * 1048576) ballast.push(new Array(1 << 17).fill(1.5));
  global.__ballast = ballast;
  const mem = process.memoryUsage();
  const TRUE = '/bin/true';
  const policy = { writableRoots: [opt.workspace], network: false };
  const variants = {
    sbx: () => timeSbxDetailed(TRUE, [], policy, { cwd: opt.workspace }),
    child_process: () => timeCpDetailed(TRUE, [], { cwd: opt.workspace }),
  };
  if (opt.bwrap) variants.bwrap = () => timeCp(opt.bwrap, bwrapArgs({ roots: [opt.workspace], cwd: opt.workspace }, [TRUE]));
  const r = await interleave({ variants, warmup: opt.warmup, samples: opt.samples, log: (s) => process.stderr.write(s + '\n') });
  // Where the time goes: how long spawn() blocks the event loop, and the JS
  // share of it (policy resolution, mount table read, plan building).
  r.breakdown = {};
  for (const name of ['sbx', 'child_process']) {
    const x = r.variants[name].extra.map((e) => e.syncMs).sort((a, b) => a - b);
    r.breakdown[`${name} spawn() call blocks (median ms)`] = round(x[Math.floor(x.length / 2)]);
    delete r.variants[name].extra;
  }
  const prep = [];
  for (let i = 0; i < 21; i++) {
    const t0 = process.hrtime.bigint();
    sbx().prepare(TRUE, [], { cwd: opt.workspace, sandbox: policy });
    prep.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  r.breakdown['sbx prepare(): policy + mountinfo + plan (median ms)'] = round(prep.sort((a, b) => a - b)[10]);
  r.memory = { heapUsedMb: Math.round(mem.heapUsed / 1048576), rssMb: Math.round(mem.rss / 1048576) };
  process.stdout.write(JSON.stringify(r));
}

function round(x) {
  return Math.round(x * 1000) / 1000;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
