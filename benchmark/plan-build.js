'use strict';
// Plan building alone (no helper): computeLayout and prepare() for 1000
// writable roots and for 1 root + 1000 read-only carve-outs, several builds
// interleaved in one process: medians, and with two builds the median of
// their per-round ratio (second / first). Each argument is a package directory
// with a compiled dist/ (this checkout, or a copy of another build's dist/
// next to symlinks to build/, node_modules/, package.json and bin/):
//   node benchmark/plan-build.js /path/to/before /path/to/after   (ROUNDS=60, BENCH_DIR=/var/tmp by default)
const fs = require('fs');
const path = require('path');

// Not under /tmp: with tmp 'host' /tmp is a writable root, and roots inside it need no mounts of their own.
const base = fs.mkdtempSync(path.join(process.env.BENCH_DIR || '/var/tmp', 'sbx-plan-build-'));
process.on('exit', () => fs.rmSync(base, { recursive: true, force: true }));
const mk = (p) => (fs.mkdirSync(p, { recursive: true }), p);
const dirs = (parent, prefix) =>
  Array.from({ length: 1000 }, (_, i) => mk(path.join(base, parent, `${prefix}${String(i).padStart(4, '0')}`)));
const roots = dirs('roots', 'r');
const carves = dirs('carve', 'ro');
const policies = {
  '1000 roots': { writableRoots: roots },
  '1 root + 1000 read-only': { writableRoots: [path.join(base, 'carve')], readOnly: carves },
};
const ROUNDS = Number(process.env.ROUNDS || 60);
const builds = (process.argv.length > 2 ? process.argv.slice(2) : [path.join(__dirname, '..')]).map((d) => {
  const lib = (m) => require(path.join(path.resolve(d), 'dist', m));
  return { d, spawn: lib('spawn'), policy: lib('policy'), layout: lib('layout'), mounts: lib('mountinfo').readMountInfo };
});
const times = new Map(); // build -> "what name" -> ms per round
const time = (b, key, f) => {
  const t0 = process.hrtime.bigint();
  f();
  const per = times.get(b) ?? times.set(b, {}).get(b);
  (per[key] ??= []).push(Number(process.hrtime.bigint() - t0) / 1e6);
};
for (let round = -5; round < ROUNDS; round++) {
  // 5 warm-up rounds, then alternating order
  for (const b of round % 2 ? builds : [...builds].reverse()) {
    for (const [name, sandbox] of Object.entries(policies)) {
      const resolved = b.policy.resolvePolicy(sandbox, base, process.env);
      const mounts = b.mounts();
      const layout = () => b.layout.computeLayout(resolved, mounts, {});
      const prepare = () => b.spawn.prepare('/bin/true', [], { cwd: base, sandbox });
      if (round < 0) {
        layout();
        prepare();
        continue;
      }
      time(b, `computeLayout ${name}`, layout);
      time(b, `prepare ${name}`, prepare);
    }
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const b of builds)
  for (const [key, v] of Object.entries(times.get(b)))
    console.log(`${b.d}  ${key.padEnd(40)} median ${median(v).toFixed(2)} ms (n=${v.length})`);
// Load on a shared machine drifts: the ratio of the two builds within each round is steadier than either median.
if (builds.length === 2) {
  const [a, b] = builds.map((x) => times.get(x));
  for (const key of Object.keys(a))
    console.log(
      `${builds[1].d} / ${builds[0].d}  ${key.padEnd(40)} median ratio ${median(a[key].map((x, i) => b[key][i] / x)).toFixed(3)}`,
    );
}
