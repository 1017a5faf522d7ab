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
const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
const r = spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
