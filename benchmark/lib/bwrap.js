'use strict';
// bubblewrap as a comparison only: installed from Debian's packages when
// absent (as root), and argument lists equivalent to sbx-native's policies.
const cp = require('child_process');
const fs = require('fs');

function findBwrap() {
  for (const p of ['/usr/bin/bwrap', '/usr/local/bin/bwrap']) if (fs.existsSync(p)) return p;
  return undefined;
}

/** Returns { path } or { skipped: reason }. */
function ensureBwrap(log) {
  let p = findBwrap();
  if (p) return { path: p, version: version(p) };
  if (process.getuid() !== 0) return { skipped: 'bubblewrap not installed and not root: bwrap comparisons skipped' };
  log('bubblewrap absent: apt-get update && apt-get install -y bubblewrap');
  const r = cp.spawnSync(
    'sh',
    ['-c', 'apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap >/dev/null'],
    { stdio: 'inherit' },
  );
  p = findBwrap();
  if (r.status !== 0 || !p) return { skipped: `could not install bubblewrap (apt-get exit ${r.status}): bwrap comparisons skipped` };
  return { path: p, version: version(p) };
}

function version(p) {
  return cp.spawnSync(p, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/**
 * Arguments equivalent to sbx-native's workspace policy: everything read-only,
 * one bind per writable root (Codex's and sandbox-runtime's layout), /tmp
 * writable (tmp: 'host'), fresh /dev and /proc, every namespace unshared.
 * `readOnly` paths are bound read-only over themselves after the roots.
 */
function bwrapArgs({ roots = [], readOnly = [], cwd, tmp = true }, argv) {
  const a = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-all', '--die-with-parent'];
  if (tmp) a.push('--bind', '/tmp', '/tmp');
  for (const r of roots) a.push('--bind', r, r);
  for (const r of readOnly) a.push('--ro-bind', r, r);
  if (cwd) a.push('--chdir', cwd);
  return [...a, ...argv];
}

module.exports = { ensureBwrap, bwrapArgs };
