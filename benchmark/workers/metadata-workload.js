'use strict';
// The metadata-heavy workload: create, stat, chmod, rename and delete N files in DIR.
// Prints {"ms": total, phases: {...}} measured inside the process.
const fs = require('fs');
const path = require('path');

const [dir, nArg] = process.argv.slice(2);
const n = Number(nArg);
const work = path.join(dir, `w${process.pid}`);
fs.mkdirSync(work);
const names = Array.from({ length: n }, (_, i) => path.join(work, `f${i}`));
const phases = {};
const t0 = process.hrtime.bigint();
let t = t0;
const lap = (name) => {
  const now = process.hrtime.bigint();
  phases[name] = Number(now - t) / 1e6;
  t = now;
};
for (const f of names) fs.closeSync(fs.openSync(f, 'w'));
lap('create');
for (const f of names) fs.statSync(f);
lap('stat');
for (const f of names) fs.chmodSync(f, 0o600);
lap('chmod');
for (const f of names) fs.renameSync(f, f + '.r');
lap('rename');
for (const f of names) fs.unlinkSync(f + '.r');
lap('delete');
fs.rmdirSync(work);
process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - t0) / 1e6, phases }));
