'use strict';
// Times, interleaved in one process: a spawn served by the warm pool, a fresh
// sandbox (pool: false), the first spawn of a policy never seen (pool on, and
// off: what the pool costs a spawn it cannot serve), child_process.spawn and bwrap, each of /bin/true to its exit. Also what the
// pool's re-check of a plan costs next to planning. One JSON result on stdout.
const fs = require('fs');
const path = require('path');
const { interleave } = require('../lib/interleave');
const { timeCp, timeSbx, sbx, waitExit } = require('../lib/proc');
const { bwrapArgs } = require('../lib/bwrap');

async function main() {
  const opt = JSON.parse(process.argv[2]);
  const TRUE = '/bin/true';
  const policy = { writableRoots: [opt.workspace], network: false };
  const pool = require(path.join(opt.root, 'dist', 'pool.js'));
  // Each round of 'first spawn' gets a policy never used before: a root of its
  // own, in a directory of its own (a new entry in the workspace would not
  // invalidate the pooled plan, but the workspace stays as it was).
  let n = 0;
  const fresh = () => {
    const d = path.join(opt.firstDir, `p${n++}`);
    fs.mkdirSync(d, { recursive: true });
    return { writableRoots: [d], network: false };
  };
  const pooled = (lib, libPool) => () =>
    new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const child = lib.spawn(TRUE, [], { stdio: ['ignore', 'ignore', 'pipe'], sandbox: policy, cwd: opt.workspace });
      const hit = child.plan.steps.some((s) => s.op === 'pool_wait');
      child.on('error', reject);
      child.on('exit', async (code) => {
        const value = Number(process.hrtime.bigint() - t0) / 1e6;
        if (code !== 0) return reject(new Error(`pooled: exit ${code}`));
        // Untimed: let the refill finish (ready counts the sandboxes whose init
        // reached pool_wait), so building the next sandbox does not slow the
        // variants that follow (an agent's commands are seconds apart).
        for (let i = 0; i < 400 && libPool.poolState().ready < 2; i++) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, 20));
        resolve({ value, hit });
      });
    });
  const variants = {
    pooled: pooled(sbx(), pool),
    // Another built checkout's pool (--peer), in the same rounds.
    ...(opt.peer ? { 'pooled (peer)': pooled(require(path.join(opt.peer, 'dist')), require(path.join(opt.peer, 'dist', 'pool.js'))) } : {}),
    fresh: () => timeSbx(TRUE, [], policy, { cwd: opt.workspace, pool: false }),
    'first spawn': async () => {
      const t0 = process.hrtime.bigint();
      const child = sbx().spawn(TRUE, [], { stdio: ['ignore', 'ignore', 'pipe'], sandbox: fresh(), cwd: opt.workspace });
      const head = child.plan.steps.some((s) => s.op === 'head_wait');
      const value = await waitExit(child, 'first spawn', t0);
      // Untimed, as for 'pooled': the next head start is started after this
      // spawn's exit; let it be ready, so its start does not slow the next variant.
      const heads = () => pool.poolState().heads;
      for (let i = 0; i < 400 && heads() && heads().ready < 1; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20));
      return { value, head };
    },
    'first spawn, pool off': () => timeSbx(TRUE, [], fresh(), { cwd: opt.workspace, pool: false }),
    // The peer's first spawn of a policy, so both sides' first spawns come from the same rounds.
    ...(opt.peer
      ? { 'first spawn (peer)': () => timeSbx(TRUE, [], fresh(), { cwd: opt.workspace }, require(path.join(opt.peer, 'dist'))) }
      : {}),
    child_process: () => timeCp(TRUE, [], { cwd: opt.workspace }),
  };
  if (opt.bwrap) variants.bwrap = () => timeCp(opt.bwrap, bwrapArgs({ roots: [opt.workspace], cwd: opt.workspace }, [TRUE]));
  const r = await interleave({ variants, warmup: opt.warmup, samples: opt.samples, log: (s) => process.stderr.write(s + '\n') });
  // How often a pooled spawn found a sandbox ready (else it ran fresh).
  r.pooledHits = r.variants.pooled.extra.filter((e) => e.hit).length / r.variants.pooled.extra.length;
  // How often a first spawn found a head start waiting (lib/head-start.ts).
  r.headStartHits = r.variants['first spawn'].extra.filter((e) => e.head).length / r.variants['first spawn'].extra.length;
  for (const v of ['pooled', 'pooled (peer)', 'first spawn']) if (r.variants[v]) delete r.variants[v].extra;
  // The pool's price: re-checking what a plan was built from, against planning it.
  const { recording, realView, changedObservations } = require(path.join(opt.root, 'dist', 'fsview.js'));
  // Also for a policy of 200 writable roots, where planning itself costs more.
  const { stillHolds, dedupe } = require(path.join(opt.root, 'dist', 'pool-check.js'));
  const { prepareWith } = require(path.join(opt.root, 'dist', 'spawn.js'));
  const many = Array.from({ length: 200 }, (_, i) => path.join(opt.firstDir, 'many', `r${i}`));
  for (const d of many) fs.mkdirSync(d, { recursive: true });
  const med = (x) => Math.round(x.sort((a, b) => a - b)[Math.floor(x.length / 2)] * 1000) / 1000;
  r.breakdown = {};
  for (const [label, sandbox] of [
    ['1 root', policy],
    ['200 roots', { writableRoots: many, network: false }],
  ]) {
    const rec = recording(realView);
    prepareWith(rec.view, TRUE, [], { cwd: opt.workspace, sandbox });
    const observations = dedupe(rec.observations);
    const prep = [],
      check = [],
      checkNoMounts = [];
    for (let i = 0; i < 41; i++) {
      let t0 = process.hrtime.bigint();
      sbx().prepare(TRUE, [], { cwd: opt.workspace, sandbox });
      prep.push(Number(process.hrtime.bigint() - t0) / 1e6);
      t0 = process.hrtime.bigint();
      if (!stillHolds(observations)) {
        const changed = changedObservations(observations, realView);
        throw new Error(
          `observations changed during the benchmark: ${JSON.stringify(changed.length ? changed : 'none by the planner view')}`,
        );
      }
      check.push(Number(process.hrtime.bigint() - t0) / 1e6);
      t0 = process.hrtime.bigint();
      stillHolds(observations, undefined, true);
      checkNoMounts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    r.breakdown[label] = {
      'prepare() (median ms)': med(prep),
      're-check, mount table re-read (median ms)': med(check),
      're-check, mount table unchanged (median ms, the usual case)': med(checkNoMounts),
      observations: observations.length,
    };
  }
  process.stdout.write(JSON.stringify(r));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
