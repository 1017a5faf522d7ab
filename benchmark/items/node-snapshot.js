'use strict';
// Would a Node user-land start-up snapshot (`node --build-snapshot`) make the
// bwrap front end start faster than its bundle and code cache do? Built in
// the run's own directory: an empty snapshot (what any snapshot costs Node's
// start) and one of dist/bwrap.bundle.js with its top levels run
// (benchmark/workers/snapshot-entry.js). Interleaved with `node FILE` and the
// front end as it starts today (`node dist/cli-entry.js bwrap ARGV`, bundle
// and code cache), without NODE_EXTRA_CA_CERTS as the installed script starts
// it. docs/bwrap.md has the outcome.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { interleave, ratios } = require('../lib/interleave');
const { timeCp, ROOT } = require('../lib/proc');

module.exports = async function nodeSnapshot(ctx) {
  const dir = ctx.dir('node-snapshot');
  const ws = ctx.dir('node-snapshot-ws');
  const node = process.execPath;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const empty = path.join(dir, 'empty.js');
  fs.writeFileSync(empty, '');
  const emptyEntry = path.join(dir, 'empty-entry.js');
  fs.writeFileSync(emptyEntry, "require('v8').startupSnapshot.setDeserializeMainFunction(() => {});\n");
  const frontEntry = path.join(dir, 'front-entry.js');
  const w = spawnSync(node, [path.join(__dirname, '..', 'workers', 'snapshot-entry.js'), path.join(ROOT, 'dist'), frontEntry], {
    encoding: 'utf8',
  });
  if (w.status !== 0) throw new Error(`snapshot-entry: ${w.stderr}`);
  const blobs = {};
  for (const [name, entry] of Object.entries({ empty: emptyEntry, front: frontEntry })) {
    blobs[name] = path.join(dir, `${name}.blob`);
    const b = spawnSync(node, ['--snapshot-blob', blobs[name], '--build-snapshot', entry], { cwd: dir, env, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`node --build-snapshot ${entry}: ${b.stderr}`);
  }
  // The bwrap-frontend item's argv without --die-with-parent (the snapshot froze the parent's pid: see the worker).
  const argv = ['--ro-bind', '/', '/', '--dev', '/dev', '--bind', ws, ws, '--unshare-user', '--unshare-pid', '--unshare-net'];
  argv.push('--proc', '/proc', '--new-session', '--cap-drop', 'ALL', '--', 'true');
  const entry = path.join(ROOT, 'dist', 'cli-entry.js');
  const opts = { cwd: ws, env };
  const variants = {
    'node FILE (empty)': () => timeCp(node, [empty], opts),
    'node --snapshot-blob (empty snapshot)': () => timeCp(node, ['--snapshot-blob', blobs.empty, 'x'], opts),
    'front end, bundle and code cache': () => timeCp(node, [entry, 'bwrap', ...argv], opts),
    'front end, snapshot': () => timeCp(node, ['--snapshot-blob', blobs.front, 'bwrap', ...argv], opts),
  };
  const samples = ctx.rounds ?? (ctx.quick ? 5 : 40);
  ctx.log(`node snapshot: ${samples} rounds`);
  const r = await interleave({ variants, warmup: ctx.quick ? 1 : 5, samples, log: ctx.quick ? () => {} : ctx.log });
  r.ratios = ratios(r, [
    ['node --snapshot-blob (empty snapshot)', 'node FILE (empty)'],
    ['front end, snapshot', 'front end, bundle and code cache'],
  ]);
  r.sizes = Object.fromEntries(Object.entries(blobs).map(([k, f]) => [k, fs.statSync(f).size]));
  ctx.log(
    `  medians: ${Object.entries(r.variants)
      .map(([k, v]) => `${k} ${v.median} ms`)
      .join(', ')}; ratios ${JSON.stringify(r.ratios)}; blob bytes ${JSON.stringify(r.sizes)}`,
  );
  return { title: 'Node start-up snapshot vs bundle and code cache (bwrap front end)', unit: 'ms', cases: { snapshot: r }, targets: [] };
};
