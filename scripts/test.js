#!/usr/bin/env node
// The test command (npm test): runs the vitest suite as the current user and,
// when that is root, again as `nobody` (users of sbx-native are not root), then
// prints one plain closing line "N passed, N failed" for CI.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const extra = process.argv.slice(2);

function runAs(label, prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-report-'));
  fs.chmodSync(dir, 0o777);
  const report = path.join(dir, 'report.json');
  const cmd = [
    ...prefix,
    process.execPath,
    vitest,
    'run',
    '--configLoader',
    'native',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...extra,
  ];
  console.log(`\n=== vitest as ${label} ===`);
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: root, stdio: 'inherit', env: { ...process.env, SBX_TEST_AS: label } });
  let passed = 0;
  let failed;
  try {
    const j = JSON.parse(fs.readFileSync(report, 'utf8'));
    passed = j.numPassedTests;
    failed = j.numFailedTests + (j.numRuntimeErrorTestSuites || 0) + (j.success === false && j.numFailedTests === 0 ? 1 : 0);
  } catch {
    failed = 1; // no report: the run itself broke
  }
  if (r.status !== 0 && failed === 0) failed = 1;
  fs.rmSync(dir, { recursive: true, force: true });
  return { passed, failed };
}

const results = [runAs(process.getuid() === 0 ? 'root' : 'user', [])];
if (process.getuid() === 0 && !process.env.SBX_TEST_ROOT_ONLY) {
  results.push(runAs('nobody', ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']));
}
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
