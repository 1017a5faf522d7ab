'use strict';
// Item 6: spawns of /bin/true per second with 8 and 64 in flight, sbx vs
// child_process.spawn. One sample = one batch of `total` spawns.
const { interleave, ratios } = require('../lib/interleave');
const { timeCp, timeSbx } = require('../lib/proc');

async function batch(total, inFlight, one) {
  const t0 = process.hrtime.bigint();
  let started = 0;
  const lane = async () => {
    while (started < total) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return total / (Number(process.hrtime.bigint() - t0) / 1e9);
}

module.exports = async function throughput(ctx) {
  const ws = ctx.dir('workspace');
  const out = { title: 'Throughput: spawns of /bin/true per second', unit: 'spawns/s', higherIsBetter: true, cases: {} };
  for (const inFlight of [8, 64]) {
    const total = ctx.quick ? inFlight * 2 : Math.max(128, inFlight * 8);
    const samples = ctx.quick ? 2 : 9;
    ctx.log(`throughput, ${inFlight} in flight: ${samples} rounds of ${total} spawns`);
    const r = await interleave({
      variants: {
        sbx: () => batch(total, inFlight, () => timeSbx('/bin/true', [], { writableRoots: [ws] }, { cwd: ws })),
        child_process: () => batch(total, inFlight, () => timeCp('/bin/true', [], { cwd: ws })),
      },
      warmup: 1,
      samples,
      log: ctx.quick ? () => {} : ctx.log,
    });
    r.batch = total;
    r.ratios = ratios(r, [['sbx', 'child_process']]);
    out.cases[`${inFlight} in flight`] = r;
    ctx.log(
      `  medians: sbx ${r.variants.sbx.median}/s, child_process ${r.variants.child_process.median}/s; ratio ${r.ratios['sbx/child_process']}`,
    );
  }
  out.targets = [];
  return out;
};
