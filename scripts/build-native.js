#!/usr/bin/env node
// Builds the addon and the helper with node-gyp. Node's headers come from the
// system when it has them (Debian's nodejs-dev layout), since node-gyp would
// otherwise try to download them.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const args = ['rebuild'];
for (const dir of [process.env.npm_config_nodedir, '/usr', path.join(path.dirname(process.execPath), '..')]) {
  if (dir && fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${dir}`);
    break;
  }
}
// node-gyp: the project's (a devDependency), else npm's bundled copy, which npm
// names in npm_config_node_gyp for lifecycle scripts (npm rebuild sbx-native).
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
} catch {
  gyp = process.env.npm_config_node_gyp;
  if (!gyp || !fs.existsSync(gyp)) {
    console.error(
      'sbx-native: node-gyp not found: run this through npm (`npm rebuild sbx-native --build-from-source`) or install node-gyp',
    );
    process.exit(1);
  }
}
const r = spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
