#!/usr/bin/env node
// npm's install hook: use a shipped prebuild when one loads, otherwise build
// from source. (npm 11 skips this hook for dependencies by default, so the
// package must never need it when a prebuild exists.)
'use strict';
const path = require('path');
const root = path.join(__dirname, '..');
try {
  const file = require('node-gyp-build').resolve(root);
  require(file);
  process.exit(0);
} catch {
  require('./build-native.js');
}
