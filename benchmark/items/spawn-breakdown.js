'use strict';
// Where sbx.spawn's time goes, by switching one policy knob at a time
// (interleaved, parent heap small): the default workspace policy mounts the
// common ancestor of the root and /tmp (tmp: 'host'), which on one
// filesystem is `/`, and seals every entry on the way; tmp 'none'/'private'
// drop /tmp from the group; network: true skips the new network namespace.
const { interleave, ratios } = require('../lib/interleave');
const { timeCp, timeSbx, sbx } = require('../lib/proc');

module.exports = async function spawnBreakdown(ctx) {
  const ws = ctx.dir('workspace');
  const T = '/bin/true';
  const pol = {
    'sbx default (tmp host)': { writableRoots: [ws] },
    "sbx tmp 'none'": { writableRoots: [ws], tmp: 'none' },
    "sbx tmp 'private'": { writableRoots: [ws], tmp: 'private' },
    'sbx network: true': { writableRoots: [ws], network: true },
    "sbx tmp 'none' + network: true": { writableRoots: [ws], tmp: 'none', network: true },
  };
  const variants = {};
  for (const [k, p] of Object.entries(pol)) variants[k] = () => timeSbx(T, [], p, { cwd: ws });
  variants.child_process = () => timeCp(T, [], { cwd: ws });
  const samples = ctx.quick ? 4 : 60;
  ctx.log(`spawn breakdown: ${samples} rounds`);
  const r = await interleave({ variants, warmup: ctx.quick ? 1 : 5, samples, log: ctx.quick ? () => {} : ctx.log });
  r.ratios = ratios(
    r,
    Object.keys(pol).map((k) => [k, 'child_process']),
  );
  r.planSteps = {};
  for (const [k, p] of Object.entries(pol)) {
    const plan = sbx().prepare(T, [], { cwd: ws, sandbox: p }).plan;
    r.planSteps[k] = Object.fromEntries(
      Object.entries(plan)
        .filter(([, v]) => Array.isArray(v))
        .map(([n, v]) => [n, v.length]),
    );
  }
  ctx.log(
    `  medians: ${Object.entries(r.variants)
      .map(([k, v]) => `${k} ${v.median} ms`)
      .join(', ')}`,
  );
  return {
    title: 'Spawn breakdown: one policy knob at a time (spawn to exit of /bin/true, heap small)',
    unit: 'ms',
    cases: { 'policy knobs': r },
    targets: [],
  };
};
