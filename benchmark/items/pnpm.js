'use strict';
// Item 5: pnpm offline install from a warm store, store and project in
// separate writable roots: unsandboxed vs sbx vs bwrap (one bind per root).
// Time and disk growth (du of store + project together, so hard links count once).
const fs = require('fs');
const path = require('path');
const { interleave, ratios } = require('../lib/interleave');
const { bwrapArgs } = require('../lib/bwrap');
const { target } = require('../lib/target');
const { ROOT, sh, timeCp, timeSbx } = require('../lib/proc');

const FULL_DEPS = { jest: '29.7.0', eslint: '8.57.0', webpack: '5.91.0', express: '4.19.2' };
const QUICK_DEPS = { chalk: '4.1.2', 'is-number': '7.0.0' };

function pnpmJs() {
  const p = path.join(ROOT, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
  if (!fs.existsSync(p)) throw new Error('node_modules/pnpm missing (a devDependency): run npm ci');
  return p;
}

function duKb(paths) {
  return Number(
    sh('du', ['-skc', ...paths])
      .trim()
      .split('\n')
      .pop()
      .split(/\s/)[0],
  );
}

module.exports = async function pnpm(ctx) {
  const base = ctx.dir('pnpm');
  const store = ctx.dir('pnpm/store');
  const state = ctx.dir('pnpm/state');
  const template = ctx.dir('pnpm/template');
  const deps = ctx.quick ? QUICK_DEPS : FULL_DEPS;
  const env = {
    ...process.env,
    CI: '1',
    npm_config_update_notifier: 'false',
    XDG_CACHE_HOME: `${state}/cache`,
    XDG_STATE_HOME: `${state}/state`,
    XDG_DATA_HOME: `${state}/data`,
    XDG_CONFIG_HOME: `${state}/config`,
  };
  const node = process.execPath;
  const pj = pnpmJs();
  const pkg = JSON.stringify({ name: 'bench-project', version: '1.0.0', private: true, dependencies: deps });
  let warmSeconds;
  if (!fs.existsSync(path.join(template, 'ready')) || fs.readFileSync(path.join(template, 'package.json'), 'utf8') !== pkg) {
    ctx.log(`warming the store: online pnpm install of ${Object.keys(deps).join(', ')}`);
    fs.writeFileSync(path.join(template, 'package.json'), pkg);
    const t0 = Date.now();
    sh(node, [pj, 'install', '--store-dir', store, '--reporter=silent'], { cwd: template, env });
    warmSeconds = (Date.now() - t0) / 1000;
    fs.rmSync(path.join(template, 'node_modules'), { recursive: true, force: true });
    fs.writeFileSync(path.join(template, 'ready'), '');
  }
  const lock = fs.readFileSync(path.join(template, 'pnpm-lock.yaml'), 'utf8');
  const packages = countPackages(lock);
  const args = [pj, 'install', '--offline', '--frozen-lockfile', '--store-dir', store, '--reporter=silent'];

  const fresh = (name) => {
    const p = path.join(base, 'projects', name);
    fs.rmSync(p, { recursive: true, force: true });
    fs.mkdirSync(p, { recursive: true });
    fs.copyFileSync(path.join(template, 'package.json'), path.join(p, 'package.json'));
    fs.copyFileSync(path.join(template, 'pnpm-lock.yaml'), path.join(p, 'pnpm-lock.yaml'));
    return p;
  };
  const measure = async (name, run) => {
    const p = fresh(name);
    const before = duKb([store, p]);
    const ms = await run(p);
    const growth = duKb([store, p]) - before;
    const linked = nlinkShare(path.join(p, 'node_modules', '.pnpm'));
    return { value: ms, diskGrowthMb: Math.round(growth / 10.24) / 100, linkedShare: linked };
  };
  const variants = {
    unsandboxed: () => measure('unsandboxed', (p) => timeCp(node, args, { cwd: p, env })),
    sbx: () => measure('sbx', (p) => timeSbx(node, args, { writableRoots: [store, p, state] }, { cwd: p, env })),
  };
  if (ctx.peer)
    variants['sbx (peer)'] = () =>
      measure('sbx-peer', (p) => timeSbx(node, args, { writableRoots: [store, p, state] }, { cwd: p, env }, ctx.peer));
  if (ctx.bwrap.path)
    variants['bwrap (bind per root)'] = () =>
      measure('bwrap', (p) => timeCp(ctx.bwrap.path, bwrapArgs({ roots: [store, p, state], cwd: p }, [node, ...args]), { env }));
  const samples = ctx.quick ? 1 : ctx.rounds || 6;
  ctx.log(`pnpm offline install, ${packages} packages: ${samples} rounds`);
  const r = await interleave({ variants, warmup: 1, samples, log: ctx.log });
  for (const v of Object.values(r.variants)) {
    const g = v.extra.map((e) => e.diskGrowthMb).sort((a, b) => a - b);
    v.diskGrowthMb = g[Math.floor(g.length / 2)];
    v.hardLinkedShare = v.extra.at(-1).linkedShare;
    delete v.extra;
  }
  r.ratios = ratios(r, [
    ['sbx', 'unsandboxed'],
    ['sbx (peer)', 'unsandboxed'],
    ['sbx', 'sbx (peer)'],
    ['bwrap (bind per root)', 'sbx'],
  ]);
  const V = r.variants;
  r.diskRatios = V['bwrap (bind per root)']
    ? {
        'sbx/unsandboxed': rd(V.sbx.diskGrowthMb / V.unsandboxed.diskGrowthMb),
        'bwrap/unsandboxed': rd(V['bwrap (bind per root)'].diskGrowthMb / V.unsandboxed.diskGrowthMb),
      }
    : { 'sbx/unsandboxed': rd(V.sbx.diskGrowthMb / V.unsandboxed.diskGrowthMb) };
  r.packages = packages;
  r.deps = deps;
  r.pnpm = sh(node, [pj, '--version'], { env }).trim();
  r.command = `pnpm ${args.slice(1).join(' ')}`;
  if (warmSeconds) r.storeWarmSeconds = warmSeconds;
  ctx.log(
    `  medians: ${Object.entries(V)
      .map(([k, v]) => `${k} ${v.median} ms / +${v.diskGrowthMb} MB`)
      .join(', ')}; ratios ${JSON.stringify(r.ratios)} disk ${JSON.stringify(r.diskRatios)}`,
  );
  const tg = [
    target('sbx within 10% of unsandboxed', r.ratios['sbx/unsandboxed'], (x) => x <= 1.1),
    target('sbx disk growth <= 2x unsandboxed', r.diskRatios['sbx/unsandboxed'], (x) => x <= 2),
  ];
  if (r.ratios['bwrap (bind per root)/sbx'] !== undefined)
    tg.push(target('bwrap layout >= 2x slower than sbx', r.ratios['bwrap (bind per root)/sbx'], (x) => x >= 2));
  return { title: `pnpm offline install, ${packages} packages, warm store`, unit: 'ms', cases: { pnpm: r }, targets: tg };
};

function rd(x) {
  return Math.round(x * 100) / 100;
}

function countPackages(lock) {
  const m = lock.split(/\n(?=\S)/).find((s) => s.startsWith('packages:'));
  return m ? m.split('\n').filter((l) => /^ {2}\S/.test(l)).length : 0;
}

/** Share of regular files under dir whose link count is > 1 (hard-linked from the store). */
function nlinkShare(dir) {
  let files = 0;
  let linked = 0;
  const walk = (d, depth) => {
    let ents;
    try {
      ents = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && depth < 8) walk(p, depth + 1);
      else if (e.isFile()) {
        files++;
        if (fs.lstatSync(p).nlink > 1) linked++;
      }
    }
  };
  walk(dir, 0);
  return files ? rd(linked / files) : null;
}
