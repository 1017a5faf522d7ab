'use strict';
// Item 3: setup time per sandbox as the policy grows: 1/10/100/1000 writable
// roots and 1000 read-only carve-outs (sandbox.readOnly), each spawning
// /bin/true; bwrap with the same number of binds for comparison.
const fs = require('fs');
const path = require('path');
const { interleave, ratios } = require('../lib/interleave');
const { bwrapArgs } = require('../lib/bwrap');
const { target } = require('../lib/target');
const { timeCp, timeSbx, sbx } = require('../lib/proc');

module.exports = async function policySize(ctx) {
  const base = ctx.dir('policy-size');
  const mk = (p) => (fs.mkdirSync(p, { recursive: true }), p);
  // Each size gets its own parent directory, so no unrelated siblings need sealing.
  const rootsOf = (n) => Array.from({ length: n }, (_, i) => mk(path.join(base, `roots-${n}`, `r${String(i).padStart(4, '0')}`)));
  const carveRoot = mk(path.join(base, 'carve'));
  const carves = Array.from({ length: 1000 }, (_, i) => mk(path.join(carveRoot, `ro${String(i).padStart(4, '0')}`)));
  const hasReadOnly = fs.readFileSync(path.join(__dirname, '..', '..', 'lib', 'policy.ts'), 'utf8').includes('readOnly?:');
  const sizes = ctx.quick ? [1, 10, 100] : [1, 10, 100, 1000];
  const TRUE = '/bin/true';
  const rootSets = Object.fromEntries(sizes.map((n) => [n, rootsOf(n)]));
  const variants = {};
  const policies = {};
  for (const n of sizes) policies[`sbx ${n} roots`] = { writableRoots: rootSets[n] };
  if (hasReadOnly)
    policies[`sbx 1 root + ${ctx.quick ? 100 : 1000} read-only`] = {
      writableRoots: [carveRoot],
      readOnly: carves.slice(0, ctx.quick ? 100 : 1000),
    };
  // Set-up cost, so no warm pool: a pooled policy would be refilled in the
  // background (1000 roots: a 200 ms prepare()) while the next variant runs.
  const fresh = { cwd: base, pool: false };
  for (const [name, pol] of Object.entries(policies)) variants[name] = () => timeSbx(TRUE, [], pol, fresh);
  // --peer: the carve-out case and its 1-root baseline with the other checkout's sbx, in the same rounds.
  const carveName = `sbx 1 root + ${ctx.quick ? 100 : 1000} read-only`;
  if (ctx.peer && policies[carveName]) {
    variants['sbx 1 roots (peer)'] = () => timeSbx(TRUE, [], policies['sbx 1 roots'], fresh, ctx.peer);
    variants[`${carveName} (peer)`] = () => timeSbx(TRUE, [], policies[carveName], fresh, ctx.peer);
  }
  if (ctx.bwrap.path) {
    for (const n of sizes) variants[`bwrap ${n} binds`] = () => timeCp(ctx.bwrap.path, bwrapArgs({ roots: rootSets[n] }, [TRUE]));
    const nc = ctx.quick ? 100 : 1000;
    variants[`bwrap 1 bind + ${nc} ro-binds`] = () =>
      timeCp(ctx.bwrap.path, bwrapArgs({ roots: [carveRoot], readOnly: carves.slice(0, nc) }, [TRUE]));
  }
  const samples = ctx.rounds || (ctx.quick ? 3 : 15);
  ctx.log(`policy size: ${Object.keys(variants).length} variants x ${samples} rounds`);
  const r = await interleave({ variants, warmup: ctx.quick ? 1 : 2, samples, log: ctx.quick ? () => {} : ctx.log });
  // JS-side share: policy resolution + plan building (prepare()), timed alone.
  r.prepareMs = {};
  for (const [name, pol] of Object.entries(policies)) {
    const t = [];
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      const p = sbx().prepare(TRUE, [], { cwd: base, sandbox: pol });
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
      r.planSteps ??= {};
      r.planSteps[name] = countSteps(p.plan);
    }
    r.prepareMs[name] = Math.round(t.sort((a, b) => a - b)[2] * 100) / 100;
  }
  const big = ctx.quick ? 100 : 1000;
  r.ratios = ratios(r, [
    [`bwrap ${big} binds`, `sbx ${big} roots`],
    [`bwrap 1 bind + ${big} ro-binds`, `sbx 1 root + ${big} read-only`],
  ]);
  const v = r.variants;
  const added = v[`sbx 1 root + ${big} read-only`]
    ? Math.round((v[`sbx 1 root + ${big} read-only`].median - v['sbx 1 roots'].median) * 100) / 100
    : undefined;
  const addedPeer = v[`${carveName} (peer)`]
    ? Math.round((v[`${carveName} (peer)`].median - v['sbx 1 roots (peer)'].median) * 100) / 100
    : undefined;
  r.addedMs = {
    [`${big} read-only carve-outs`]: added,
    ...(addedPeer === undefined ? {} : { [`${big} read-only carve-outs (peer)`]: addedPeer }),
    [`${big} roots`]: Math.round((v[`sbx ${big} roots`].median - v['sbx 1 roots'].median) * 100) / 100,
  };
  ctx.log(
    `  medians: ${Object.entries(v)
      .map(([k, x]) => `${k} ${x.median} ms`)
      .join(', ')}`,
  );
  ctx.log(`  added: ${JSON.stringify(r.addedMs)} prepare: ${JSON.stringify(r.prepareMs)}`);
  return {
    title: 'Policy size: setup time per sandbox (spawn to exit of /bin/true)',
    unit: 'ms',
    cases: { 'policy size': r },
    readOnlyAvailable: hasReadOnly,
    targets: hasReadOnly
      ? [target(`${big} read-only carve-outs add <= 30 ms`, added, (x) => x <= 30)]
      : [{ name: '1000 read-only carve-outs add <= 30 ms', pending: 'sandbox.readOnly not in lib/policy.ts yet' }],
  };
};

function countSteps(plan) {
  const o = {};
  for (const [k, val] of Object.entries(plan)) if (Array.isArray(val)) o[k] = val.length;
  return o;
}
