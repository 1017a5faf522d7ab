'use strict';
// Item 2: the CLI. `sbx-native exec -w WS -- true` vs `node -e 0` vs bwrap, and the
// floors any Node CLI that runs a command has: `node -e` spawning `true`, and,
// since a CLI is a file, `node FILE` for an empty file and for one that spawns
// `true` (Node resolves, reads and wraps a main module, which `-e` skips).
const fs = require('fs');
const path = require('path');
const { interleave, ratios } = require('../lib/interleave');
const { bwrapArgs } = require('../lib/bwrap');
const { target } = require('../lib/target');
const { timeCpCpu: timeCp, cpuMeans, ROOT } = require('../lib/proc');

const FLOOR = "require('child_process').spawnSync('true')";

module.exports = async function cli(ctx) {
  const ws = ctx.dir('workspace');
  const cliJs = path.join(ROOT, 'bin', 'sbx-native.js');
  const node = process.execPath;
  const empty = path.join(ctx.dir('cli-floor'), 'empty.js');
  const spawner = path.join(ctx.dir('cli-floor'), 'spawn-true.js');
  fs.writeFileSync(empty, '');
  fs.writeFileSync(spawner, `${FLOOR};\n`);
  const variants = {
    'sbx-native exec': () => timeCp(node, [cliJs, 'exec', '-w', ws, '--', 'true'], { cwd: ws }),
    // As npx and PATH run it: sh first (bin/sbx-native.js sets Node's start-up variables aside).
    'sbx-native exec, bin run directly': () => timeCp(cliJs, ['exec', '-w', ws, '--', 'true'], { cwd: ws }),
    'node -e 0': () => timeCp(node, ['-e', '0'], { cwd: ws }),
    'node spawnSync true': () => timeCp(node, ['-e', FLOOR], { cwd: ws }),
    'node FILE (empty)': () => timeCp(node, [empty], { cwd: ws }),
    'node FILE spawnSync true': () => timeCp(node, [spawner], { cwd: ws }),
  };
  // --peer: the other checkout's CLI in the same rounds.
  if (ctx.peerRoot)
    variants['sbx-native exec (peer)'] = () =>
      timeCp(node, [path.join(ctx.peerRoot, 'bin', 'sbx-native.js'), 'exec', '-w', ws, '--', 'true'], { cwd: ws });
  if (ctx.bwrap.path) variants['bwrap true'] = () => timeCp(ctx.bwrap.path, bwrapArgs({ roots: [ws], cwd: ws }, ['true']), { cwd: ws });
  const samples = ctx.quick ? 5 : 60;
  ctx.log(`CLI: ${samples} rounds`);
  const r = await interleave({ variants, warmup: ctx.quick ? 1 : 5, samples, log: ctx.quick ? () => {} : ctx.log });
  r.ratios = ratios(r, [
    ['sbx-native exec', 'node -e 0'],
    ['sbx-native exec, bin run directly', 'node -e 0'],
    ['node spawnSync true', 'node -e 0'],
    ['node FILE (empty)', 'node -e 0'],
    ['node FILE spawnSync true', 'node -e 0'],
    ['sbx-native exec', 'node FILE spawnSync true'],
    ['bwrap true', 'node -e 0'],
    ['sbx-native exec', 'bwrap true'],
    ...(ctx.peerRoot ? [['sbx-native exec', 'sbx-native exec (peer)']] : []),
  ]);
  // CPU time per run (mean; the process tree each variant waited for), for the same pairs.
  r.cpuMs = cpuMeans(r);
  r.cpuRatios = Object.fromEntries(
    Object.keys(r.ratios)
      .map((k) => [k, k.split('/')])
      .filter(([, [a, b]]) => r.cpuMs[a] && r.cpuMs[b])
      .map(([k, [a, b]]) => [k, Math.round((r.cpuMs[a] / r.cpuMs[b]) * 1000) / 1000]),
  );
  r.commands = {
    'sbx-native exec': `node bin/sbx-native.js exec -w ${ws} -- true`,
    'sbx-native exec, bin run directly': `bin/sbx-native.js exec -w ${ws} -- true`,
    'node -e 0': 'node -e 0',
    'node spawnSync true': `node -e "${FLOOR}"`,
    'node FILE (empty)': `node ${empty}`,
    'node FILE spawnSync true': `node ${spawner}`,
    'bwrap true': `bwrap ${bwrapArgs({ roots: [ws], cwd: ws }, ['true']).join(' ')}`,
  };
  ctx.log(
    `  medians: ${Object.entries(r.variants)
      .map(([k, v]) => `${k} ${v.median} ms`)
      .join(', ')}; ratios ${JSON.stringify(r.ratios)}; CPU ms ${JSON.stringify(r.cpuMs)}, CPU ratios ${JSON.stringify(r.cpuRatios)}`,
  );
  return {
    title: 'CLI: sbx-native exec -- true vs node -e 0 vs bwrap',
    unit: 'ms',
    cases: { cli: r },
    targets: [
      target('sbx-native exec <= 1.15x node -e 0', r.ratios['sbx-native exec/node -e 0'], (x) => x <= 1.15),
      target('bin run directly <= 1.15x node -e 0', r.ratios['sbx-native exec, bin run directly/node -e 0'], (x) => x <= 1.15),
    ],
  };
};
