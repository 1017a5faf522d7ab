'use strict';
// The warm pool (lib/pool.ts): /bin/true from Node served by a pooled sandbox,
// against a fresh sandbox, the first spawn of a new policy, child_process and
// bwrap, interleaved in one process; as root and, when root, as nobody.
const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const { ratios } = require('../lib/interleave');
const { target } = require('../lib/target');
const { ROOT } = require('../lib/proc');

const PAIRS = [
  ['pooled', 'child_process'],
  ['fresh', 'child_process'],
  ['first spawn', 'child_process'],
  ['bwrap', 'pooled'],
  ['fresh', 'pooled'],
  ['first spawn', 'first spawn, pool off'],
  ['pooled', 'pooled (peer)'],
  ['pooled (peer)', 'child_process'],
  ['first spawn (peer)', 'child_process'],
  ['first spawn', 'first spawn (peer)'],
];

module.exports = async function pool(ctx) {
  const out = { title: 'Warm pool: spawn of /bin/true to exit, pooled vs fresh vs child_process vs bwrap', unit: 'ms', cases: {} };
  const users = process.getuid() === 0 ? ['root', 'nobody'] : ['self'];
  for (const user of users) {
    const workspace = ctx.dir(`pool-${user}`);
    const firstDir = ctx.dir(`pool-${user}-first`);
    if (user === 'nobody') for (const d of [workspace, firstDir]) fs.chownSync(d, 65534, 65534);
    const samples = ctx.quick ? 8 : 80;
    const opt = { root: ROOT, peer: ctx.peerRoot, workspace, firstDir, bwrap: ctx.bwrap.path, warmup: ctx.quick ? 3 : 10, samples };
    ctx.log(`pool, as ${user}: ${samples} rounds`);
    const r = await runWorker(opt, user);
    r.ratios = ratios(r, PAIRS);
    out.cases[`as ${user}`] = r;
    ctx.log(
      `  medians: ${Object.entries(r.variants)
        .map(([k, v]) => `${k} ${v.median} ms`)
        .join(
          ', ',
        )}; ratios ${JSON.stringify(r.ratios)}; pooled hits ${r.pooledHits}; head starts ${r.headStartHits}; ${JSON.stringify(r.breakdown)}`,
    );
  }
  out.targets = [];
  for (const [name, r] of Object.entries(out.cases)) {
    out.targets.push(target(`${name}: pooled <= 1.0x child_process`, r.ratios['pooled/child_process'], (x) => x <= 1.0));
    out.targets.push(
      target(`${name}: first spawn of a policy <= 1.5x child_process`, r.ratios['first spawn/child_process'], (x) => x <= 1.5),
    );
    out.targets.push(
      target(
        `${name}: a first spawn costs no more with the pool on (<= 1.05x)`,
        r.ratios['first spawn/first spawn, pool off'],
        (x) => x <= 1.05,
      ),
    );
    if (r.ratios['bwrap/pooled'] !== undefined)
      out.targets.push(target(`${name}: bwrap >= 4x pooled`, r.ratios['bwrap/pooled'], (x) => x >= 4));
  }
  return out;
};

function runWorker(opt, user) {
  return new Promise((resolve, reject) => {
    const worker = [path.join(__dirname, '..', 'workers', 'pool.js'), JSON.stringify(opt)];
    const [file, args] =
      user === 'nobody'
        ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...worker]]
        : [process.execPath, worker];
    const child = cp.spawn(file, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, HOME: user === 'nobody' ? opt.workspace : process.env.HOME },
    });
    let s = '';
    child.stdout.on('data', (d) => {
      s += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(s)) : reject(new Error(`pool worker (${user}) exit ${code}`))));
  });
}
