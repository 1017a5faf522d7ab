'use strict';
// Writes the entry a Node user-land start-up snapshot of the bwrap front end
// is built from (benchmark/items/node-snapshot.js): dist/bwrap.bundle.js with
// its module top levels run at build time, and dist/cli-entry.js (which the
// bundle requires) inlined, since a snapshot's builder can require builtins
// only. A real require is handed in after deserialization (the addon). This
// is a measurement, not a way the front end starts: a snapshot also freezes
// whatever a top level read at build time (bwrap/run.ts reads the parent's
// pid there), which the argv this item runs does not depend on.
//   node benchmark/workers/snapshot-entry.js DIST OUT.js
const fs = require('fs');
const path = require('path');

const [dist, out] = process.argv.slice(2).map((p) => path.resolve(p));
const bundle = fs.readFileSync(path.join(dist, 'bwrap.bundle.js'), 'latin1');
const entry = fs.readFileSync(path.join(dist, 'cli-entry.js'), 'latin1');
const body = bundle.slice(bundle.indexOf('\n(function (outerRequire, dist)') + 1);
const entryFile = path.join(dist, 'cli-entry.js');
fs.writeFileSync(
  out,
  `'use strict';
const v8 = require('v8');
const builtin = require;
let real;
const ce = { exports: {} };
(function (exports, require, module, __filename, __dirname) {
${entry}
})(ce.exports, builtin, ce, ${JSON.stringify(entryFile)}, ${JSON.stringify(dist)});
const outer = (spec) => (spec === ${JSON.stringify(entryFile.slice(0, -3))} ? ce.exports : real ? real(spec) : builtin(spec));
const start = ${body};
const root = start(outer, ${JSON.stringify(dist)});
v8.startupSnapshot.setDeserializeMainFunction(() => {
  real = require('module').createRequire(${JSON.stringify(entryFile)});
  ce.exports.restoreStashed(process.env);
  // argv: [node, 'bwrap', ...] (a snapshot's main has no script name).
  root.bwrapMain(process.argv.slice(2));
});
`,
);
