'use strict';
// The walk of the writable roots for repositories below their tops
// (lib/repository-scan.ts, native/git_walk.cc): what it adds to a spawn of
// /bin/true whose root is a real tree (this checkout with its node_modules),
// fresh and pooled (a pooled spawn walks again to check the plan still
// holds), against an empty root and against --peer (a checkout without the
// walk); and the walk alone, timed in this process (ms and entries/ms).
const fs = require('fs');
const path = require('path');
const { interleave, ratios } = require('../lib/interleave');
const { timeSbx, ROOT } = require('../lib/proc');

module.exports = async function repositoryScan(ctx) {
  const empty = ctx.dir('repository-scan-empty');
  const tree = ROOT;
  const TRUE = '/bin/true';
  const pol = (root) => ({ writableRoots: [root], tmp: 'none' });
  const fresh = { cwd: empty, pool: false };
  const pooled = { cwd: empty };
  const variants = {
    'fresh, empty root': () => timeSbx(TRUE, [], pol(empty), fresh),
    'fresh, checkout root': () => timeSbx(TRUE, [], pol(tree), fresh),
    'pooled, checkout root': () => timeSbx(TRUE, [], pol(tree), pooled),
  };
  if (ctx.peer) {
    variants['fresh, empty root (peer)'] = () => timeSbx(TRUE, [], pol(empty), fresh, ctx.peer);
    variants['fresh, checkout root (peer)'] = () => timeSbx(TRUE, [], pol(tree), fresh, ctx.peer);
    variants['pooled, checkout root (peer)'] = () => timeSbx(TRUE, [], pol(tree), pooled, ctx.peer);
  }
  // A pooled spawn refills the pool in the background: a pause before every sample keeps that out of the next one.
  const settle = () => new Promise((r) => setTimeout(r, 60));
  for (const [k, f] of Object.entries(variants)) variants[k] = () => settle().then(f);
  const samples = ctx.rounds || (ctx.quick ? 3 : 21);
  ctx.log(`repository scan: ${Object.keys(variants).length} variants x ${samples} rounds, tree ${tree}`);
  const r = await interleave({ variants, warmup: ctx.quick ? 1 : 3, samples, log: ctx.quick ? () => {} : ctx.log });
  r.ratios = ratios(r, [
    ['fresh, checkout root', 'fresh, checkout root (peer)'],
    ['pooled, checkout root', 'pooled, checkout root (peer)'],
    ['fresh, checkout root', 'fresh, empty root'],
  ]);
  // The walk alone, in this process, the tree in the page cache (the warm-up rounds read it).
  const b = require(path.join(ROOT, 'dist', 'native')).native().binding;
  const walks = [];
  let seen = 0;
  for (let i = 0; i < (ctx.quick ? 5 : 41); i++) {
    const t0 = process.hrtime.bigint();
    const w = b.gitWalk(tree, 1e9);
    walks.push(Number(process.hrtime.bigint() - t0) / 1e6);
    seen = w.seen;
  }
  walks.sort((x, y) => x - y);
  const ms = walks[walks.length >> 1];
  r.walk = { tree, entries: seen, medianMs: Math.round(ms * 100) / 100, entriesPerMs: Math.round(seen / ms) };
  const v = r.variants;
  r.addedMs = {
    'walk, fresh spawn (checkout root - empty root)':
      Math.round((v['fresh, checkout root'].median - v['fresh, empty root'].median) * 100) / 100,
    ...(ctx.peer
      ? {
          'this build - peer, fresh, checkout root':
            Math.round((v['fresh, checkout root'].median - v['fresh, checkout root (peer)'].median) * 100) / 100,
          'this build - peer, pooled, checkout root':
            Math.round((v['pooled, checkout root'].median - v['pooled, checkout root (peer)'].median) * 100) / 100,
        }
      : {}),
  };
  ctx.log(
    `  medians: ${Object.entries(v)
      .map(([k, x]) => `${k} ${x.median} ms`)
      .join(', ')}`,
  );
  ctx.log(`  walk alone: ${JSON.stringify(r.walk)}; added: ${JSON.stringify(r.addedMs)}`);
  fs.rmSync(empty, { recursive: true, force: true });
  return {
    title: 'Repository scan: the walk of the writable roots per spawn (/bin/true, spawn to exit)',
    unit: 'ms',
    cases: { 'repository scan': r },
  };
};
