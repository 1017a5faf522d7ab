'use strict';
// Item: what one supervised syscall costs. The worker times each call on its
// own inside the sandbox (names and chain metadata supervised: the root has a
// sibling root, so chmod goes through init too) and outside, interleaved; per
// syscall: the medians, their ratio and their difference in µs.
const cp = require('child_process');
const path = require('path');
const { interleave } = require('../lib/interleave');
const { target } = require('../lib/target');
const { runJson, sbx, sh } = require('../lib/proc');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

module.exports = async function syscalls(ctx) {
  // As root, the item's directories are on a tmpfs mounted at the work dir's
  // `syscalls` for the item's length: on disk a plain mkdir takes ~800 µs and
  // its noise hides init's own cost. Unprivileged they stay on the work dir's
  // filesystem; the result says which.
  const top = ctx.dir('syscalls');
  const tmpfs = process.getuid() === 0;
  ctx.log(`syscalls: directories on ${tmpfs ? 'a tmpfs' : "the work dir's filesystem (not root: no tmpfs)"}`);
  if (tmpfs) sh('mount', ['-t', 'tmpfs', '-o', 'size=256m,mode=0755', 'sbx-bench-syscalls', top]);
  try {
    return { ...(await measure(ctx)), workDirFs: tmpfs ? 'tmpfs' : 'work dir (no tmpfs unless root)' };
  } finally {
    if (tmpfs) sh('umount', [top]);
  }
};

async function measure(ctx) {
  const n = ctx.quick ? 300 : 2000;
  // Two roots side by side: their shared parent is a chain directory.
  const dir = ctx.dir('syscalls/root');
  const sibling = ctx.dir('syscalls/sibling');
  const wl = path.join(__dirname, '..', 'workers', 'syscall-workload.js');
  const node = process.execPath;
  const rounds = ctx.rounds || (ctx.quick ? 3 : 9);
  ctx.log(`syscall workload, ${n} calls of each: ${rounds} rounds`);
  const per = (x) => ({ value: Object.values(x).reduce((a, b) => a + b, 0), ops: x });
  const r = await interleave({
    variants: {
      supervised: () =>
        runJson(
          sbx().spawn(node, [wl, dir, String(n)], { stdio: ['ignore', 'pipe', 'pipe'], sandbox: { writableRoots: [dir, sibling] } }),
        ).then(per),
      // One root: no chain metadata, so chmod goes to init only for the repository model (an existing hook made executable).
      'one root': () =>
        runJson(sbx().spawn(node, [wl, dir, String(n)], { stdio: ['ignore', 'pipe', 'pipe'], sandbox: { writableRoots: [dir] } })).then(
          per,
        ),
      plain: () => runJson(cp.spawn(node, [wl, dir, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] })).then(per),
      ...(ctx.peer
        ? {
            'supervised (peer)': () =>
              runJson(
                ctx.peer.spawn(node, [wl, dir, String(n)], {
                  stdio: ['ignore', 'pipe', 'pipe'],
                  sandbox: { writableRoots: [dir, sibling] },
                }),
              ).then(per),
            'one root (peer)': () =>
              runJson(
                ctx.peer.spawn(node, [wl, dir, String(n)], { stdio: ['ignore', 'pipe', 'pipe'], sandbox: { writableRoots: [dir] } }),
              ).then(per),
          }
        : {}),
    },
    warmup: 1,
    samples: rounds,
    alternate: true,
    log: ctx.quick ? () => {} : ctx.log,
  });
  const ops = {};
  for (const op of Object.keys(r.variants.plain.extra[0].ops)) {
    const s = median(r.variants.supervised.extra.map((e) => e.ops[op]));
    const p = median(r.variants.plain.extra.map((e) => e.ops[op]));
    ops[op] = { supervisedUs: s, plainUs: p, overUs: Math.round((s - p) * 100) / 100, ratio: Math.round((s / p) * 100) / 100 };
    const one = median(r.variants['one root'].extra.map((e) => e.ops[op]));
    Object.assign(ops[op], { oneRootUs: one, oneRootOverUs: Math.round((one - p) * 100) / 100 });
    if (r.variants['supervised (peer)']) {
      const q = median(r.variants['supervised (peer)'].extra.map((e) => e.ops[op]));
      const q1 = median(r.variants['one root (peer)'].extra.map((e) => e.ops[op]));
      Object.assign(ops[op], {
        peerUs: q,
        peerOverUs: Math.round((q - p) * 100) / 100,
        peerOneRootUs: q1,
        peerOneRootOverUs: Math.round((q1 - p) * 100) / 100,
      });
    }
    const o = ops[op];
    ctx.log(
      `  ${op}: supervised ${s} µs, plain ${p} µs: +${o.overUs} µs (${o.ratio}x); one root +${o.oneRootOverUs} µs${o.peerUs !== undefined ? `; peer +${o.peerOverUs} µs, peer one root +${o.peerOneRootOverUs} µs` : ''}`,
    );
  }
  for (const v of Object.values(r.variants)) delete v.extra;
  return {
    title: `One supervised syscall vs the plain call (median µs of ${n} calls, medians of ${rounds} rounds)`,
    unit: 'µs',
    ops,
    run: r,
    targets: Object.entries(ops).map(([op, o]) => target(`${op}: supervised <= 10 µs over the plain call`, o.overUs, (x) => x <= 10)),
  };
}
