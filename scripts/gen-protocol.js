#!/usr/bin/env node
// Generates both sides of the TypeScript/C++ seam from the tables in
// protocol/: the plan steps, the error report, the events and the syscalls,
// and the seccomp programs assembled from the syscalls.
// The tables are the only hand-written place for each name, number and
// layout; lib/gen/ and native/**/gen/ are what the code includes.
//   node scripts/gen-protocol.js          write the generated files
//   node scripts/gen-protocol.js --check  exit 1 if any is missing or stale (test/protocol.test.ts)
// Deterministic: the output depends on the tables only (and, for
// lib/gen/seccomp-programs.ts, on the assembler in lib/seccomp.ts).
'use strict';
const fs = require('fs');
const path = require('path');
const { planStepFiles } = require('./protocol/plan-steps');
const { errorReportFiles } = require('./protocol/error-report');
const { syscallFiles } = require('./protocol/syscalls');
const { eventFiles } = require('./protocol/events');
const { seccompProgramFiles } = require('./protocol/seccomp-programs');

const root = path.join(__dirname, '..');
const table = (name) => JSON.parse(fs.readFileSync(path.join(root, 'protocol', name), 'utf8'));

function outputs() {
  const files = {
    ...planStepFiles(table('plan-steps.json')),
    ...errorReportFiles(table('error-report.json')),
    ...syscallFiles(table('syscalls.json')),
    ...eventFiles(table('events.json')),
  };
  // Assembled by lib/seccomp.ts from the syscall numbers just generated.
  return { ...files, ...seccompProgramFiles(files['lib/gen/syscalls.ts']) };
}

function main() {
  const check = process.argv.includes('--check');
  const stale = [];
  for (const [rel, text] of Object.entries(outputs())) {
    const file = path.join(root, rel);
    const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    if (old === text) continue;
    if (check) {
      stale.push(rel);
    } else {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      console.log(`wrote ${rel}`);
    }
  }
  if (stale.length) {
    console.error(`stale generated files (run \`node scripts/gen-protocol.js\`): ${stale.join(', ')}`);
    process.exit(1);
  }
}

if (require.main === module) main();
module.exports = { outputs };
