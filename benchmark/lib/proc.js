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

// CPU time of this process's reaped children (/proc/self/stat: cutime and cstime, in clock ticks),
// so a variant's CPU time is the sum of its runs' deltas: what a command and everything it waited for
// used, which the other sessions on a shared machine move far less than its wall time.
const CLK_TCK = Number(cp.spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
function childCpuMs() {
  const stat = require('fs').readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK; // fields 16 and 17
}

/** Like timeCp, resolving { value: ms to exit, cpuMs: the CPU time it and its waited-for children used }. */
async function timeCpCpu(file, args, opts = {}) {
  const c0 = childCpuMs();
  const value = await timeCp(file, args, opts);
  return { value, cpuMs: childCpuMs() - c0 };
}

/** Mean CPU ms per run of each variant of an interleave() result whose variants returned timeCpCpu's objects. */
function cpuMeans(result) {
  const out = {};
  for (const [n, v] of Object.entries(result.variants)) {
    if (!v.extra?.length || v.extra[0].cpuMs === undefined) continue;
    out[n] = Math.round((v.extra.reduce((a, e) => a + e.cpuMs, 0) / v.extra.length) * 100) / 100;
  }
  return out;
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

module.exports = { ROOT, sbx, timeCp, timeCpCpu, cpuMeans, timeSbx, timeCpDetailed, timeSbxDetailed, sh, runJson, waitExit };
