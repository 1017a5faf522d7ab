#!/usr/bin/env node
// npm run lint: eslint for TS/JS, prettier for their layout, clang-format for
// native/. `--fix` (npm run format) rewrites instead of checking. Generated
// files are left to scripts/gen-protocol.js --check.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const fix = process.argv.includes('--fix');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function cxxSources(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'gen') cxxSources(p, out);
    } else if (/\.(cc|h)$/.test(e.name)) out.push(path.relative(root, p));
  }
  return out;
}

function run(label, cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error && r.error.code === 'ENOENT') {
    console.error(`lint: ${label}: ${cmd} not found` + (label === 'clang-format' ? ' (apt-get install clang-format)' : ' (npm ci)'));
    return false;
  }
  if (r.status !== 0) console.error(`lint: ${label} failed` + (fix ? '' : ` (npm run format fixes layout)`));
  return r.status === 0;
}

const cxx = cxxSources(path.join(root, 'native'));
const ok = [
  run('eslint', bin('eslint'), fix ? ['--fix', '.'] : ['.']),
  run('prettier', bin('prettier'), [fix ? '--write' : '--check', '--log-level', 'warn', '.']),
  run('clang-format', 'clang-format', fix ? ['-i', ...cxx] : ['--dry-run', '--Werror', ...cxx]),
].every(Boolean);
if (ok && !fix) console.log(`lint: eslint, prettier and clang-format (${cxx.length} C++ files) pass`);
process.exit(ok ? 0 : 1);
