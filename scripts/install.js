#!/usr/bin/env node
// npm's install hook: use a shipped prebuild when one loads, otherwise build
// from source. (npm 11 skips this hook for dependencies by default, so the
// package must never need it when a prebuild exists.)
'use strict';
const path = require('path');
const root = path.join(__dirname, '..');
// --build-from-source (npm sets npm_config_build_from_source) skips the
// prebuilds, and so does a clone of the repository (npm ci there must build
// the current sources, not reuse prebuilds/ from an earlier build:prebuilds).
const fromSource =
  /^(true|1|sbx-native)$/.test(process.env.npm_config_build_from_source || '') || !root.split(path.sep).includes('node_modules');
try {
  if (fromSource) throw new Error('build from source requested');
  const file = require('node-gyp-build').resolve(root);
  require(file);
  process.exit(0);
} catch {
  require('./build-native.js');
}
