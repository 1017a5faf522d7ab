'use strict';
// Item 4: work inside the sandbox vs outside: a metadata-heavy workload
// (create/stat/chmod/rename/delete N files, timed inside the process, so spawn
// cost is excluded) and `git status` on an N-file repo (wall time, spawn
// included). In the sandbox, creating and renaming go through init (missing
// protected names are guarded: docs/supervisor.md); in "inside (shared
// ancestor)" the root has a sibling root, so chmod is supervised too.
const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const { interleave, ratios } = require('../lib/interleave');
const { target } = require('../lib/target');
const { runJson, sbx, sh, timeCp, timeSbx } = require('../lib/proc');

function makeRepo(repo, n, log) {
  if (fs.existsSync(path.join(repo, '.git', 'bench-ready'))) return;
  log(`creating a git repo with ${n} files in ${repo}`);
  fs.rmSync(repo, { recursive: true, force: true });
  for (let i = 0; i < n; i++) {
    const d = path.join(repo, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, `f${i}.txt`), `file ${i}\n`);
  }
  const g = (...a) => sh('git', ['-C', repo, '-c', 'user.name=b', '-c', 'user.email=b@b', ...a]);
  g('init', '-q');
  g('add', '-A');
  g('commit', '-qm', 'files');
  fs.writeFileSync(path.join(repo, '.git', 'bench-ready'), '');
}

module.exports = async function metadata(ctx) {
  const n = ctx.quick ? 2000 : 20000;
  const dir = ctx.dir('metadata');
  const sibling = ctx.dir('metadata-sibling'); // with `dir`: one group whose ancestor is the bench work dir
  const wl = path.join(__dirname, '..', 'workers', 'metadata-workload.js');
  const node = process.execPath;
  const out = { title: `Work inside vs outside the sandbox (${n} files)`, unit: 'ms', cases: {} };

  const samples = ctx.quick ? 2 : 6;
  ctx.log(`metadata workload, ${n} files: ${samples} rounds`);
  const r = await interleave({
    variants: {
      inside: () =>
        runJson(sbx().spawn(node, [wl, dir, String(n)], { stdio: ['ignore', 'pipe', 'pipe'], sandbox: { writableRoots: [dir] } })).then(
          (x) => ({ value: x.ms, phases: x.phases }),
        ),
      'inside (shared ancestor)': () =>
        runJson(
          sbx().spawn(node, [wl, dir, String(n)], { stdio: ['ignore', 'pipe', 'pipe'], sandbox: { writableRoots: [dir, sibling] } }),
        ).then((x) => ({ value: x.ms, phases: x.phases })),
      outside: () =>
        runJson(cp.spawn(node, [wl, dir, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] })).then((x) => ({
          value: x.ms,
          phases: x.phases,
        })),
      // The sandbox's init calls setsid(); with sched_autogroup a new session is
      // a new CPU scheduling group, which on a loaded machine changes the share.
      'outside (setsid)': () =>
        runJson(cp.spawn(node, [wl, dir, String(n)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })).then((x) => ({
          value: x.ms,
          phases: x.phases,
        })),
    },
    warmup: 1,
    samples,
    alternate: true,
    log: ctx.quick ? () => {} : ctx.log,
  });
  r.ratios = ratios(r, [
    ['inside', 'outside'],
    ['inside', 'outside (setsid)'],
    ['inside (shared ancestor)', 'outside'],
  ]);
  for (const v of Object.values(r.variants)) {
    const ph = {};
    for (const e of v.extra || []) for (const [k, x] of Object.entries(e.phases)) (ph[k] ??= []).push(x);
    v.phaseMedians = Object.fromEntries(
      Object.entries(ph).map(([k, xs]) => [k, Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)])]),
    );
    delete v.extra;
  }
  out.cases[`create/stat/chmod/rename/delete ${n} files`] = r;
  ctx.log(
    `  medians: ${Object.entries(r.variants)
      .map(([k, v]) => `${k} ${v.median} ms`)
      .join(', ')}; ratios ${JSON.stringify(r.ratios)}`,
  );

  const repo = path.join(ctx.dir('metadata-repo'), 'repo');
  makeRepo(repo, n, ctx.log);
  sh('git', ['-C', repo, 'status', '--porcelain']); // refresh the index once, outside, so neither side has to write it
  const gs = await interleave({
    variants: {
      inside: () => timeSbx('git', ['status', '--porcelain'], { writableRoots: [repo] }, { cwd: repo }),
      outside: () => timeCp('git', ['status', '--porcelain'], { cwd: repo }),
      'outside (setsid)': () => timeCp('git', ['status', '--porcelain'], { cwd: repo, detached: true }),
    },
    warmup: 2,
    samples: ctx.quick ? 3 : 30,
    alternate: true,
    log: ctx.quick ? () => {} : ctx.log,
  });
  gs.ratios = ratios(gs, [
    ['inside', 'outside'],
    ['inside', 'outside (setsid)'],
  ]);
  out.cases[`git status, ${n}-file repo (wall, spawn included)`] = gs;
  ctx.log(
    `  git status medians: ${Object.entries(gs.variants)
      .map(([k, v]) => `${k} ${v.median} ms`)
      .join(', ')}; ratios ${JSON.stringify(gs.ratios)}`,
  );
  out.targets = [
    target('metadata workload inside <= 1.03x outside', r.ratios['inside/outside'], (x) => x <= 1.03),
    target('metadata workload inside <= 1.03x outside (setsid)', r.ratios['inside/outside (setsid)'], (x) => x <= 1.03),
    target(
      'metadata workload with a shared ancestor (chmod supervised too) <= 1.03x outside',
      r.ratios['inside (shared ancestor)/outside'],
      (x) => x <= 1.03,
    ),
    target('git status inside <= 1.03x outside', gs.ratios['inside/outside'], (x) => x <= 1.03),
    target('git status inside <= 1.03x outside (setsid)', gs.ratios['inside/outside (setsid)'], (x) => x <= 1.03),
  ];
  return out;
};
