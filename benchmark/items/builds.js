'use strict';
// Item: this build against another one (`--baseline=DIR`: a checkout with its
// dist/ and helper built, e.g. a git worktree of an older commit), both loaded
// in this process and interleaved: spawn latency of /bin/true and the metadata
// workload with chmod supervised. It answers "did this change cost anything"
// (issue 12: behaviour and cost unchanged by the redesign). Without
// --baseline it is skipped.
const fs = require('fs');
const path = require('path');
const { interleave, ratios } = require('../lib/interleave');
const { target } = require('../lib/target');
const { ROOT } = require('../lib/proc');

function untilExit(child, label) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, out })
        : reject(new Error(`${label}: exit ${code}: ${err.slice(0, 400)}`)),
    );
  });
}

module.exports = async function builds(ctx) {
  const base = ctx.baseline;
  if (!base) return { skipped: 'no --baseline=DIR given' };
  if (!fs.existsSync(path.join(base, 'dist', 'index.js'))) throw new Error(`--baseline=${base}: no dist/index.js there (build it first)`);
  const commit = (dir) => {
    try {
      return require('child_process').execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  const builds = { new: require(path.join(ROOT, 'dist')), old: require(path.join(base, 'dist')) };
  const out = { title: `This build (${commit(ROOT)}) vs ${commit(base)}`, unit: 'ms', cases: {}, baseline: base };
  const ws = ctx.dir('builds-ws');
  const sibling = ctx.dir('builds-sibling');
  const spawnTrue = (sbx) => () =>
    untilExit(
      sbx.spawn('/bin/true', [], { stdio: ['ignore', 'ignore', 'pipe'], cwd: ws, sandbox: { writableRoots: [ws] } }),
      'spawn true',
    ).then((r) => r.ms);
  const samples = ctx.quick ? 10 : 120;
  ctx.log(`spawn /bin/true, new vs old build: ${samples} rounds`);
  const s = await interleave({
    variants: { new: spawnTrue(builds.new), old: spawnTrue(builds.old) },
    warmup: ctx.quick ? 2 : 10,
    samples,
    log: () => {},
  });
  s.ratios = ratios(s, [['new', 'old']]);
  out.cases['spawn /bin/true'] = s;
  ctx.log(`  medians: new ${s.variants.new.median} ms, old ${s.variants.old.median} ms; new/old ${s.ratios['new/old']}`);

  // A root that is a git repository: the repository model plans and pins its parts.
  const repo = ctx.dir('builds-repo');
  if (!fs.existsSync(path.join(repo, '.git'))) require('child_process').execFileSync('git', ['init', '-q', repo]);
  const spawnInRepo = (sbx) => () =>
    untilExit(
      sbx.spawn('/bin/true', [], { stdio: ['ignore', 'ignore', 'pipe'], cwd: repo, sandbox: { writableRoots: [repo] } }),
      'spawn true in a repository',
    ).then((r) => r.ms);
  ctx.log(`spawn /bin/true in a repository root, new vs old build: ${samples} rounds`);
  const sr = await interleave({
    variants: { new: spawnInRepo(builds.new), old: spawnInRepo(builds.old) },
    warmup: ctx.quick ? 2 : 10,
    samples,
    log: () => {},
  });
  sr.ratios = ratios(sr, [['new', 'old']]);
  out.cases['spawn /bin/true, the root a git repository'] = sr;
  ctx.log(`  medians: new ${sr.variants.new.median} ms, old ${sr.variants.old.median} ms; new/old ${sr.ratios['new/old']}`);

  const n = ctx.quick ? 2000 : 20000;
  const wl = path.join(__dirname, '..', 'workers', 'metadata-workload.js');
  const meta = (sbx) => () =>
    untilExit(
      sbx.spawn(process.execPath, [wl, ws, String(n)], { stdio: ['ignore', 'pipe', 'pipe'], sandbox: { writableRoots: [ws, sibling] } }),
      'metadata',
    ).then((r) => JSON.parse(r.out).ms);
  const rounds = ctx.quick ? 2 : 8;
  ctx.log(`metadata workload (${n} files, chmod supervised), new vs old build: ${rounds} rounds`);
  const m = await interleave({
    variants: { new: meta(builds.new), old: meta(builds.old) },
    warmup: 1,
    samples: rounds,
    alternate: true,
    log: () => {},
  });
  m.ratios = ratios(m, [['new', 'old']]);
  for (const v of Object.values(m.variants)) delete v.extra;
  out.cases[`metadata workload, ${n} files, shared ancestor`] = m;
  ctx.log(`  medians: new ${m.variants.new.median} ms, old ${m.variants.old.median} ms; new/old ${m.ratios['new/old']}`);
  out.targets = [
    target('spawn latency within 5% of the baseline build', s.ratios['new/old'], (x) => x <= 1.05),
    target('spawn latency in a repository root within 5% of the baseline build', sr.ratios['new/old'], (x) => x <= 1.05),
    target('metadata workload within 5% of the baseline build', m.ratios['new/old'], (x) => x <= 1.05),
  ];
  return out;
};
