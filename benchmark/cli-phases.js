#!/usr/bin/env node
'use strict';
// Where a CLI start's time goes: `node bin/sbx-native.js exec -w WS -- true`
// run ROUNDS times (default 30) with benchmark/workers/cli-marks.js preloaded,
// interleaved with `node -e 0`, and the median length of each phase (ms).
// Each argument is a package directory (default: this checkout); with two,
// both are measured in the same rounds. NODE_EXTRA_CA_CERTS is dropped (Node
// parses that bundle before any script runs; see benchmark/notes/cli.md).
// FRONT=preflight or FRONT=command measures the bwrap front end instead, with
// the argv Codex 0.171 gives it for `codex sandbox -- true` (its preflight,
// then the command), started as the installed shim starts it.
//   node benchmark/cli-phases.js [DIR...]        (ROUNDS=N, WS=workspace dir, FRONT=preflight|command)
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const dirs = process.argv.length > 2 ? process.argv.slice(2).map((d) => path.resolve(d)) : [path.resolve(__dirname, '..')];
const rounds = Number(process.env.ROUNDS || 30);
const ws = process.env.WS || fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-cli-phases-'));
if (!process.env.WS) process.on('exit', () => fs.rmSync(ws, { recursive: true, force: true }));
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const marks = path.join(__dirname, 'workers', 'cli-marks.js');
const front = process.env.FRONT;
if (front && front !== 'preflight' && front !== 'command') throw new Error(`FRONT=${front}: preflight or command`);
// Codex's two argv shapes (test/bwrap-codex.test.ts has where they come from), for this workspace.
const ro = (p) => ['--ro-bind', p, p];
const masked = (root) =>
  ['.git', '.agents', '.codex', '.aws'].flatMap((n) => ['--perms', '555', '--tmpfs', `${root}/${n}`, '--remount-ro', `${root}/${n}`]);
const FRONT_ARGV = {
  preflight: [
    '--as-pid-1',
    '--new-session',
    '--die-with-parent',
    '--tmpfs',
    '/',
    '--dev',
    '/dev',
    ...['/bin', '/etc', '/lib', '/lib64', '/sbin', '/usr'].flatMap(ro),
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-net',
    '--proc',
    '/proc',
    '--cap-drop',
    'ALL',
    '--',
    '/usr/bin/true',
  ],
  command: [
    '--as-pid-1',
    '--new-session',
    '--die-with-parent',
    ...ro('/'),
    '--dev',
    '/dev',
    '--bind',
    ws,
    ws,
    ...masked(ws),
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-net',
    '--proc',
    '/proc',
    '--cap-drop',
    'ALL',
    '--argv0',
    'true',
    '--',
    'true',
  ],
};
// What the installed shim (lib/bwrap/install.ts) tells the front end.
const frontEnv = { ...env, SBX_BWRAP_FDS: '', SBX_BWRAP_SELF: process.execPath, SBX_BWRAP_PARENT: String(process.pid) };

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const wall = (cmd, args, opts) => {
  const t = process.hrtime.bigint();
  const r = cp.spawnSync(cmd, args, { cwd: ws, env, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status} ${r.stderr}`);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, r };
};

const phases = dirs.map(() => new Map());
const walls = dirs.map(() => []);
const bare = [];
for (let i = 0; i < rounds + 2; i++) {
  const b = wall(process.execPath, ['-e', '0'], { stdio: 'ignore' }).ms;
  if (i >= 2) bare.push(b);
  dirs.forEach((dir, k) => {
    const args = front
      ? ['-r', marks, path.join(dir, 'dist', 'cli-entry.js'), 'bwrap', ...FRONT_ARGV[front]]
      : ['-r', marks, path.join(dir, 'bin', 'sbx-native.js'), 'exec', '-w', ws, '--', 'true'];
    const { ms, r } = wall(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], ...(front ? { env: frontEnv } : {}) });
    if (i < 2) return;
    walls[k].push(ms);
    let prev = 0;
    for (const [name, t] of JSON.parse(r.output[3].toString())) {
      phases[k].set(name, [...(phases[k].get(name) ?? []), t - prev]);
      prev = t;
    }
  });
}
console.log(
  `rounds ${rounds}, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; node -e 0: ${median(bare).toFixed(1)} ms${front ? `; the front end with Codex's ${front} argv` : ''}`,
);
dirs.forEach((dir, k) => {
  console.log(`${dir}: whole run ${median(walls[k]).toFixed(1)} ms (${(median(walls[k]) / median(bare)).toFixed(2)}x node -e 0)`);
  for (const [name, list] of phases[k])
    console.log(`  ${median(list).toFixed(1).padStart(6)}  ${name}${list.length < rounds ? ` (${list.length} rounds)` : ''}`);
});
