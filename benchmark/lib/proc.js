'use strict';
// Timing one process from spawn() to its 'exit' event, for child_process and
// for sbx-native. Both resolve with milliseconds; a non-zero exit rejects.
const cp = require('child_process');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
let sbxModule;
function sbx() {
  sbxModule ??= require(path.join(ROOT, 'dist'));
  return sbxModule;
}

/** Resolves { value: ms to exit, syncMs: ms until spawn() returned }. */
function waitExitDetailed(child, label, t0, t1) {
  return waitExit(child, label, t0).then((ms) => ({ value: ms, syncMs: Number(t1 - t0) / 1e6 }));
}

function waitExit(child, label, t0) {
  return new Promise((resolve, reject) => {
    let err = '';
    if (child.stderr)
      child.stderr.on('data', (d) => {
        err += d;
      });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`${label}: exit ${code} ${signal || ''} ${err.slice(0, 500)}`));
    });
  });
}

/** child_process.spawn(file, args) until exit. */
function timeCp(file, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const child = cp.spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  return waitExit(child, file, t0);
}

/** sbx.spawn(file, args, { sandbox }) until exit (`mod`: another build's dist, e.g. ctx.peer). */
function timeSbx(file, args, sandbox, opts = {}, mod = sbx()) {
  const t0 = process.hrtime.bigint();
  const child = mod.spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], sandbox, ...opts });
  return waitExit(child, `sbx ${file}`, t0);
}

/** Runs a command to completion, returns stdout (throws on failure). */
function sh(cmd, args, opts = {}) {
  const r = cp.spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/** Like timeCp/timeSbx, also reporting how long the spawn() call itself blocked. */
function timeCpDetailed(file, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const child = cp.spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  return waitExitDetailed(child, file, t0, process.hrtime.bigint());
}
function timeSbxDetailed(file, args, sandbox, opts = {}) {
  const t0 = process.hrtime.bigint();
  const child = sbx().spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], sandbox, ...opts });
  return waitExitDetailed(child, `sbx ${file}`, t0, process.hrtime.bigint());
}

/** Resolves with the JSON a workload printed on stdout; a non-zero exit rejects with its stderr. */
function runJson(child) {
  return new Promise((resolve, reject) => {
    let s = '';
    let e = '';
    child.stdout.on('data', (d) => {
      s += d;
    });
    child.stderr.on('data', (d) => {
      e += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(s)) : reject(new Error(`workload exit ${code}: ${e}`))));
  });
}

module.exports = { ROOT, sbx, timeCp, timeSbx, timeCpDetailed, timeSbxDetailed, sh, runJson, waitExit };
