#!/usr/bin/env node
'use strict';
// Where a CLI start's time goes: `node bin/sbx-native.js exec -w WS -- true`
// run ROUNDS times (default 30) with benchmark/workers/cli-marks.js preloaded,
// interleaved with `node -e 0`, and the median length of each phase (ms).
// Each argument is a package directory (default: this checkout); with two,
// both are measured in the same rounds. NODE_EXTRA_CA_CERTS is dropped (Node
// parses that bundle before any script runs; see benchmark/notes/cli.md).
//   node benchmark/cli-phases.js [DIR...]        (ROUNDS=N, WS=workspace dir)
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const dirs = process.argv.length > 2 ? process.argv.slice(2).map((d) => path.resolve(d)) : [path.resolve(__dirname, '..')];
const rounds = Number(process.env.ROUNDS || 30);
const ws = process.env.WS || fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-cli-phases-'));
if (!process.env.WS) process.on('exit', () => fs.rmSync(ws, { recursive: true, force: true }));
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const marks = path.join(__dirname, 'workers', 'cli-marks.js');

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const wall = (cmd, args, opts) => {
  const t = process.hrtime.bigint();
  const r = cp.spawnSync(cmd, args, { cwd: ws, env, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status} ${r.stderr}`);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, r };
};

const phases = dirs.map(() => new Map());
const walls = dirs.map(() => []);
const bare = [];
for (let i = 0; i < rounds + 2; i++) {
  const b = wall(process.execPath, ['-e', '0'], { stdio: 'ignore' }).ms;
  if (i >= 2) bare.push(b);
  dirs.forEach((dir, k) => {
    const args = ['-r', marks, path.join(dir, 'bin', 'sbx-native.js'), 'exec', '-w', ws, '--', 'true'];
    const { ms, r } = wall(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    if (i < 2) return;
    walls[k].push(ms);
    let prev = 0;
    for (const [name, t] of JSON.parse(r.output[3].toString())) {
      phases[k].set(name, [...(phases[k].get(name) ?? []), t - prev]);
      prev = t;
    }
  });
}
console.log(
  `rounds ${rounds}, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; node -e 0: ${median(bare).toFixed(1)} ms`,
);
dirs.forEach((dir, k) => {
  console.log(`${dir}: whole run ${median(walls[k]).toFixed(1)} ms (${(median(walls[k]) / median(bare)).toFixed(2)}x node -e 0)`);
  for (const [name, list] of phases[k])
    console.log(`  ${median(list).toFixed(1).padStart(6)}  ${name}${list.length < rounds ? ` (${list.length} rounds)` : ''}`);
});
